package ledger

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"
	bolt "go.etcd.io/bbolt"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
)

// View is the ledger as rating, settlement, deadlines and invoice reconciliation read it, as
// of one Raft index. It is read in one bbolt transaction, so it is consistent while later
// entries apply, and every node that has applied the same entries reads the same data. Its
// tables are read by the same declarations that load the state at open (tables.go).
type View struct {
	Head        Head      // the chain head and Raft index the data is as of
	Clock       time.Time // the leader's clock of the last applied entry
	Departments map[string]*Department
	Providers   map[string]*Provider
	Projects    map[string]*Project
	Items       map[string]*CatalogItem
	Evaluations map[string]*ProviderScores
	BandTables  []BandTable        // sorted by EffectiveFrom
	Resources   []*ResourceHistory // sorted by ID

	ClosedMonths    map[calendar.Month]bool
	Settlements     map[int]*Settlement
	WindowEndMonth  int // the last month of a settlement window (SetSettlementWindow)
	Reconciliations map[string]*ProviderReconciliations

	// Kept, in a view without Resources, is what rating keeps current of the line items
	// (rating.Kept): rating reads it in their place. The ledger never sets it.
	Kept any
}

// ResourceHistory is one resource and the operations that change what it holds or used,
// in ledger order (which is time order per resource: see the out_of_order rule).
type ResourceHistory struct {
	ID, Department, Project, Provider, Item string
	Kind                                    ResourceKind
	Ops                                     []ResourceOp
	// Expires is the expiry of a time-limited resource (its allocate's, moved by extends),
	// zero for none. The expire line item is written when the leader next ticks, with the
	// expiry as its time; until then rating needs the expiry itself (SPEC: Ledger, expire).
	Expires time.Time
}

// ResourceOp is one quantity-changing operation: allocate, expand, reduce, reclaim,
// expire or usage.
type ResourceOp struct {
	Time     time.Time
	Op       Op
	Quantity decimal.Decimal
}

// ViewFilter narrows what View reads; zero values read everything.
type ViewFilter struct {
	Before     time.Time // operations at or after this instant are left out
	Department string
	Provider   string
	// MasterDataOnly skips the line items: no resources are read.
	MasterDataOnly bool
	// OnRatingEvent, with MasterDataOnly, is called with the view's master data for every
	// operation that matters to rating (RatingEvent) of the line items after sequence
	// RatingEventsAfter, in chain order, up to the view's head: in the same read
	// transaction, so the events and the master data are of one state (rating.Kept).
	OnRatingEvent     func(d *View, e *RatingEvent) error
	RatingEventsAfter uint64
}

// RatingEvent is one line item's resource operation as rating reads it: what changes a
// quantity held or used, or an expiry (extend).
type RatingEvent struct {
	Seq                                           uint64
	Resource, Department, Project, Provider, Item string
	Kind                                          ResourceKind
	Op                                            Op
	Time, Expires                                 time.Time
	Quantity                                      decimal.Decimal
}

// View reads the ledger's view. It flushes what changed the state first, then reads without
// holding the ledger's lock, so applying goes on while a large year is read.
func (l *Ledger) View(f ViewFilter) (*View, error) {
	l.flushForState()
	l.mu.RLock()
	db := l.db
	l.mu.RUnlock()
	if db == nil {
		return nil, fmt.Errorf("ledger: closed")
	}
	var d *View
	err := db.View(func(tx *bolt.Tx) error {
		st := newRootTxn(nil)
		applied := readChainMeta(tx, st)
		head := Head{Seq: st.seq, Hash: st.head, AppliedIndex: stateIndexOf(tx, applied)}
		if f.MasterDataOnly {
			if d = l.master.get(head); d != nil {
				d.Clock = st.clock // the clock moves with access records too: always read
				if f.OnRatingEvent != nil {
					return readRatingEvents(tx, f.RatingEventsAfter, func(e *RatingEvent) error { return f.OnRatingEvent(d, e) })
				}
				return nil
			}
		}
		for _, tb := range tables {
			if tb.inView() {
				if err := tb.load(tx, st); err != nil {
					return err
				}
			}
		}
		d = &View{Head: Head{Seq: st.seq, Hash: st.head, AppliedIndex: stateIndexOf(tx, applied)}, Clock: st.clock,
			Departments: st.departments.m, Providers: st.providers.m, Projects: st.projects.m, Items: st.items.m,
			Evaluations: st.evaluations.m, ClosedMonths: st.closed.m, Settlements: st.settlements.m,
			WindowEndMonth: st.windowEndMonth(), Reconciliations: st.reconciled.m}
		for _, t := range st.bandTables.m {
			d.BandTables = append(d.BandTables, *t)
		}
		slices.SortFunc(d.BandTables, func(a, b BandTable) int { return a.EffectiveFrom.Compare(b.EffectiveFrom) })
		if f.MasterDataOnly {
			l.master.put(d)
			if f.OnRatingEvent != nil {
				return readRatingEvents(tx, f.RatingEventsAfter, func(e *RatingEvent) error { return f.OnRatingEvent(d, e) })
			}
			return nil
		}
		var err error
		d.Resources, err = readResourceHistories(tx, f)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// masterCache keeps the master data of the last state read: pages read it several times
// a second, and decoding every table each time cost more than what they do with it. A state
// is its head (line items, and the state index that moves with every change but the access
// trail's). Views handed out share its maps, which no reader changes.
type masterCache struct {
	mu   sync.Mutex
	view *View
}

// get returns a copy of the cached view if it is of head (nil otherwise).
func (c *masterCache) get(head Head) *View {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.view == nil || c.view.Head != head {
		return nil
	}
	cp := *c.view
	return &cp
}

func (c *masterCache) put(d *View) {
	cp := *d
	c.mu.Lock()
	c.view = &cp
	c.mu.Unlock()
}

// readResourceHistories scans the line items once and groups the resource operations.
// A year holds millions of events of a few hundred thousand resources, so each event is
// decoded lean (ratingEvent): its strings are only copied for the first event of a resource.
func readResourceHistories(tx *bolt.Tx, f ViewFilter) ([]*ResourceHistory, error) {
	byID := map[string]*ResourceHistory{}
	skipped := map[string]bool{} // resources the filter leaves out
	unordered := map[*ResourceHistory]bool{}
	var rd ratingEventReader
	var e ratingEvent
	c := tx.Bucket(bucketLineItems).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if ok, err := rd.decodeStored(k, v, &e); err != nil {
			return nil, err
		} else if !ok {
			continue
		}
		if !f.Before.IsZero() && !e.time.Before(f.Before) {
			continue
		}
		h := byID[string(e.resource)]
		if h == nil {
			if skipped[string(e.resource)] {
				continue
			}
			if f.Department != "" && string(e.department) != f.Department || f.Provider != "" && string(e.provider) != f.Provider {
				skipped[string(e.resource)] = true
				continue
			}
			h = &ResourceHistory{ID: string(e.resource), Department: rd.intern(e.department), Project: rd.intern(e.project),
				Provider: rd.intern(e.provider), Item: rd.intern(e.item), Kind: ResourceKind(rd.intern(e.kind))}
			byID[h.ID] = h
		}
		switch e.ratingOp {
		case OpExtend:
			h.Expires = e.expires // an extend changes no quantity
			continue
		case OpAllocate:
			h.Expires = e.expires
		}
		q, err := rd.quantity(e.quantity)
		if err != nil {
			return nil, fmt.Errorf("line item %x: %w", k, err)
		}
		if n := len(h.Ops); n > 0 && e.time.Before(h.Ops[n-1].Time) {
			unordered[h] = true
		}
		h.Ops = append(h.Ops, ResourceOp{Time: e.time, Op: e.ratingOp, Quantity: q})
	}
	out := make([]*ResourceHistory, 0, len(byID))
	for _, h := range byID {
		if unordered[h] {
			// Late history (issue 12): an operation dated before an expire written earlier.
			// Rating takes operations by their effective time; those of one instant keep
			// their chain order.
			slices.SortStableFunc(h.Ops, func(a, b ResourceOp) int { return a.Time.Compare(b.Time) })
		}
		h.Ops = slices.DeleteFunc(h.Ops, func(op ResourceOp) bool {
			// An expire counts only at the resource's final expiry: one written before a
			// late extension re-opened the resource is void.
			return op.Op == OpExpire && !op.Time.Equal(h.Expires)
		})
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b *ResourceHistory) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// readRatingEvents calls fn for every rating event of the line items after sequence after.
func readRatingEvents(tx *bolt.Tx, after uint64, fn func(*RatingEvent) error) error {
	var rd ratingEventReader
	var e ratingEvent
	c := tx.Bucket(bucketLineItems).Cursor()
	for k, v := c.Seek(binary.BigEndian.AppendUint64(nil, after+1)); k != nil; k, v = c.Next() {
		if ok, err := rd.decodeStored(k, v, &e); err != nil {
			return err
		} else if !ok {
			continue
		}
		out := &RatingEvent{Seq: binary.BigEndian.Uint64(k), Resource: string(e.resource), Department: rd.intern(e.department),
			Project: rd.intern(e.project), Provider: rd.intern(e.provider), Item: rd.intern(e.item), Kind: ResourceKind(rd.intern(e.kind)),
			Op: e.ratingOp, Time: e.time, Expires: e.expires}
		if e.ratingOp != OpExtend {
			q, err := rd.quantity(e.quantity)
			if err != nil {
				return fmt.Errorf("line item %x: %w", k, err)
			}
			out.Quantity = q
		}
		if err := fn(out); err != nil {
			return err
		}
	}
	return nil
}

// decodeStored decodes the stored line item k, v into e; ok is false for a line item that
// is not a resource operation rating reads (an event that changes no quantity and no
// expiry, or another command).
func (rd *ratingEventReader) decodeStored(k, v []byte, e *ratingEvent) (ok bool, err error) {
	body, err := storedBody(v)
	if err != nil {
		return false, fmt.Errorf("line item %x: %w", k, err)
	}
	if len(body) == 0 || CommandType(body[0]) != TypeEvent {
		return false, nil
	}
	*e = ratingEvent{}
	if err := rd.decode(body[1:], e); err != nil {
		return false, fmt.Errorf("line item %x: %w", k, err)
	}
	return e.ratingOp != "", nil
}

// ratingEvent is an Event as readResourceHistories needs it: the fields as stored (valid for
// the read transaction only) and ratingOp, "" for operations that do not matter to rating.
type ratingEvent struct {
	eventFields
	ratingOp Op
}

// ratingEventReader decodes events lean and shares what repeats: department, project,
// provider, item and kind strings, and the decimal of each distinct quantity (up to a bound).
type ratingEventReader struct {
	strs  map[string]string
	quant map[string]decimal.Decimal
}

// maxCachedQuantities bounds the quantity cache (metered use may differ every time).
const maxCachedQuantities = 1 << 16

// ratingOps are the operations that change a quantity held or used, or an expiry.
var ratingOps = []Op{OpAllocate, OpExpand, OpReduce, OpReclaim, OpExpire, OpUsage, OpExtend}

// decode reads an encoded Event (Event.encode's layout, as Event.decode does).
func (rd *ratingEventReader) decode(b []byte, e *ratingEvent) error {
	d := decoder{b: b}
	e.eventFields.decode(&d)
	e.eventFields.decodeTail(&d)
	for _, o := range ratingOps {
		if string(e.op) == string(o) {
			e.ratingOp = o
		}
	}
	if d.err != nil {
		return d.err
	}
	return nil
}

func (rd *ratingEventReader) intern(b []byte) string {
	if s, ok := rd.strs[string(b)]; ok {
		return s
	}
	if rd.strs == nil {
		rd.strs = map[string]string{}
	}
	s := string(b)
	rd.strs[s] = s
	return s
}

// quantity parses a stored quantity as Event.decode does (ParseDecimal), once per distinct
// text while the cache has room. Decimals are values that operations never modify, so
// sharing one is safe.
func (rd *ratingEventReader) quantity(b []byte) (decimal.Decimal, error) {
	if q, ok := rd.quant[string(b)]; ok {
		return q, nil
	}
	q, err := ParseDecimal(string(b))
	if err != nil {
		return decimal.Zero, Errf(errcode.Malformed, "", "bad decimal")
	}
	if rd.quant == nil {
		rd.quant = map[string]decimal.Decimal{}
	}
	if len(rd.quant) < maxCachedQuantities {
		rd.quant[string(b)] = q
	}
	return q, nil
}

// storedBody returns the command body of a stored line item without decoding the rest.
func storedBody(p []byte) ([]byte, error) {
	_, _, body, err := storedKeyBody(p)
	return body, err
}

// storedKeyBody returns the idempotency key, the actor and the command body of a stored
// line item.
func storedKeyBody(p []byte) (key, actor string, body []byte, err error) {
	if len(p) < len(Hash{}) {
		return "", "", nil, Errf(errcode.Malformed, "", "stored line item too short")
	}
	d := decoder{b: p[:len(p)-len(Hash{})]}
	d.uvarint()
	d.uvarint()
	k := d.raw(MaxKeyLen)
	a := d.raw(MaxTextLen)
	d.tm()
	body = d.raw(MaxBatchEncodedBytes)
	if d.err != nil {
		return "", "", nil, d.err
	}
	return string(k), string(a), body, nil
}
