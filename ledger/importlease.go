package ledger

import (
	"slices"
	"time"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
)

// Import leases (issue 22; version 5): an import is validated whole, then applied in many
// requests; a month closed between them used to leave the file half applied (21,000 of
// 200,000 rows), and a re-run could never finish. The import runner holds the months its
// file writes into with a lease before the first batch and renews it with each: a month
// close is refused (import_in_progress) while an unexpired lease holds the month, and the
// lease is refused if a month it asks for is closed already, before anything is applied.
// Other rules that change meanwhile (a quota lowered) may still stop an import; a re-run
// finishes what is left (its keys make the applied rows no-ops).
const TypeImportLease CommandType = 37

func init() {
	register(TypeImportLease, "import_lease", noLineItem, func() Body { return new(ImportLease) })
}

// Limits of a lease.
const (
	ImportLeaseTTL       = 10 * time.Minute // a lease not renewed for this long ends by itself
	MaxImportLeaseMonths = 240
)

// ImportLease holds (or, with Release, lets go of) the months of an import.
type ImportLease struct {
	ID      string
	Months  []calendar.Month // sorted, each once
	Release bool
}

// Lease is a held lease.
type Lease struct {
	ID     string           `json:"id"`
	Holder string           `json:"holder"` // the account importing
	Months []calendar.Month `json:"months"`
	Until  time.Time        `json:"until"`
}

func (*ImportLease) Type() CommandType { return TypeImportLease }

func (b *ImportLease) encode(e *encoder) {
	e.str(b.ID)
	e.uvarint(uint64(len(b.Months)))
	for _, m := range b.Months {
		e.varint(int64(m.Year))
		e.u8(uint8(m.Month))
	}
	e.boolean(b.Release)
}

func (b *ImportLease) decode(d *decoder) {
	b.ID = d.str(MaxIDLen)
	n := d.uvarint()
	if n > MaxImportLeaseMonths {
		d.fail("months")
		return
	}
	b.Months = make([]calendar.Month, n)
	for i := range b.Months {
		y, m := d.varint(), d.u8()
		if d.err == nil && (y < MinYear || y > MaxYear || m < 1 || m > 12) {
			d.fail("bad month")
			return
		}
		b.Months[i] = calendar.Month{Year: int(y), Month: time.Month(m)}
	}
	b.Release = d.boolean()
}

func (b *ImportLease) validate(rl rules) *Error {
	if !rl.separation {
		return Errf(errcode.Malformed, "", "import leases arrived with proposal version 5")
	}
	if err := rl.id("lease", b.ID, true); err != nil {
		return err
	}
	for i, m := range b.Months {
		if i > 0 && !b.Months[i-1].Before(m) {
			return Errf(errcode.InvalidValue, "months", "months sorted and each once")
		}
	}
	return nil
}

func (b *ImportLease) apply(t *txn, ctx applyContext) *Error {
	old, held := t.leases.get(b.ID)
	if held && old.Holder != ctx.actor && ctx.recordedAt.Before(old.Until) {
		return Errf(errcode.PermissionDenied, "lease", "lease %s is %s's", b.ID, old.Holder)
	}
	if b.Release {
		if held {
			n := *old
			n.Until = ctx.recordedAt // ended: kept, as every state is, but holding nothing
			t.leases.put(b.ID, &n)
		}
		return nil
	}
	for _, m := range b.Months {
		if t.isClosed(m) {
			return Errf(errcode.PeriodClosed, "month", "%s is closed: the file's rows dated in it cannot be applied (correct them into an open month)", m)
		}
	}
	t.leases.put(b.ID, &Lease{ID: b.ID, Holder: ctx.actor, Months: slices.Clone(b.Months), Until: ctx.recordedAt.Add(ImportLeaseTTL)})
	return nil
}

// leaseOn is an unexpired lease holding month m, or nil.
func (t *txn) leaseOn(m calendar.Month, now time.Time) *Lease {
	var found *Lease
	t.leases.each(func(_ string, l *Lease) {
		if found == nil && now.Before(l.Until) && slices.Contains(l.Months, m) {
			found = l
		}
	})
	return found
}
