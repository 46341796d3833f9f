package ledger

import (
	"sort"
	"time"

	"github.com/shopspring/decimal"
)

// TypeTick carries the leader's clock; applying it writes the expire line items that are due.
const TypeTick CommandType = 10

func init() {
	register(TypeTick, "tick", noLineItem, func() Body { return new(Tick) })
}

// Tick carries the leader's clock; applying it raises the expiry notices that are due and
// writes the expire items that are due.
type Tick struct{}

func (*Tick) Type() CommandType { return TypeTick }

func (b *Tick) encode(*encoder) {}

func (b *Tick) decode(*decoder) {}

func (*Tick) validate(rl rules) *Error { return nil }

// apply expires what is due. Only an explicit tick (or a month close) expires resources, never
// an ordinary write: a bulk import of history must not see its resources expire between batches.
func (*Tick) apply(t *txn, ctx applyContext) *Error {
	t.raiseExpiryNotices(ctx)
	t.expireDue(ctx.recordedAt, ctx.raftIndex, ctx.rules)
	t.findingsTick(ctx)
	return nil
}

// expireDue writes an expire line item for every open time-limited resource whose expiry
// is at or before now, in (expiry, resource) order. The item's effective time is the expiry
// itself (SPEC: Ledger), so when it is written does not change rating.
//
// By version 3's rules the resource keeps its last operation time and what it held (an
// operation dated before the expiry may still arrive: late history); a second expire of a
// resource (re-opened by a late extension) has the expiry in its key.
func (t *txn) expireDue(now time.Time, raftIndex uint64, rl rules) int {
	var list []timeLimitedDue
	for _, d := range t.openTimeLimited() {
		if !d.at.After(now) {
			list = append(list, d)
		}
	}
	for _, d := range list {
		r := must(t.resources, d.id, "time-limited resource")
		n := *r
		n.Closed = true
		n.Quantity = decimal.Zero
		key := "expire/" + r.ID
		if rl.lateHistory {
			n.Expired, n.HeldAtExpiry = true, r.Quantity
			if _, _, used := t.lookupKey(key); used { // expiring again after a late extension
				key += "/" + r.Expires.UTC().Format(time.RFC3339)
			}
		} else {
			n.LastTime = r.Expires
		}
		t.resources.put(n.ID, &n)
		t.addHeld(r, r.Quantity.Neg())
		t.timeLimited.put(n.ID, time.Time{})
		body := &Event{Op: OpExpire, Time: r.Expires, Department: r.Department, Project: r.Project, Provider: r.Provider,
			Resource: r.ID, Item: r.Item, Kind: r.Kind, Quantity: r.Quantity}
		t.appendItem(key, "system", now, raftIndex, body)
	}
	return len(list)
}

// timeLimitedDue is an open time-limited resource and its expiry.
type timeLimitedDue struct {
	id string
	at time.Time
}

// openTimeLimited lists the open time-limited resources in (expiry, resource) order.
func (t *txn) openTimeLimited() []timeLimitedDue {
	var list []timeLimitedDue
	t.timeLimited.each(func(id string, at time.Time) {
		if !at.IsZero() {
			list = append(list, timeLimitedDue{id, at})
		}
	})
	sort.Slice(list, func(i, j int) bool {
		if !list[i].at.Equal(list[j].at) {
			return list[i].at.Before(list[j].at)
		}
		return list[i].id < list[j].id
	})
	return list
}

// NextExpiry is the earliest expiry of an open time-limited resource (zero if none); the
// leader proposes a tick when it has passed.
func (t *txn) nextExpiry() time.Time {
	var next time.Time
	for id, at := range t.timeLimited.m {
		_ = id
		if !at.IsZero() && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	return next
}
