package rating

import (
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/ledger"
)

// resourceHist is one resource's own units by day, for a statement's rows: for allocation
// billing its steps (the changes of what it counts, as series keep them summed), for metered
// billing what it used on each day. What can no longer change — steps before the day of its
// last operation, and every use — is packed into bytes (a few per entry); the steps that can
// still change stay decoded (live).
type resourceHist struct {
	packed []byte // entries: day (zigzag varint, from the previous entry's day), then a value
	last   int    // the day of the last packed entry
	live   []step // allocation: the steps from the day of the last operation on, by day
}

// Value encoding: a tag byte, then for tagWhole a zigzag varint, for tagDecimal the
// decimal's text with its length.
const (
	tagWhole   = 0
	tagDecimal = 1
)

func (h *resourceHist) pack(day int, q decimal.Decimal) {
	h.packed = binary.AppendVarint(h.packed, int64(day-h.last))
	h.last = day
	if q.Exponent() == 0 && q.NumDigits() <= 15 {
		h.packed = append(h.packed, tagWhole)
		h.packed = binary.AppendVarint(h.packed, q.IntPart())
		return
	}
	s := q.String()
	h.packed = append(h.packed, tagDecimal)
	h.packed = binary.AppendUvarint(h.packed, uint64(len(s)))
	h.packed = append(h.packed, s...)
}

// eachPacked calls fn with every packed entry, in the order packed.
func (h *resourceHist) eachPacked(fn func(day int, q qty)) {
	b, day := h.packed, 0
	for len(b) > 0 {
		dd, n := binary.Varint(b)
		b = b[n:]
		day += int(dd)
		tag := b[0]
		b = b[1:]
		switch tag {
		case tagWhole:
			v, n := binary.Varint(b)
			b = b[n:]
			fn(day, qty{n: v})
		case tagDecimal:
			l, n := binary.Uvarint(b)
			b = b[n:]
			fn(day, qty{f: decimal.RequireFromString(string(b[:l]))})
			b = b[l:]
		default:
			panic("rating: a resource's kept history is damaged") // only pack writes it
		}
	}
}

func (h *resourceHist) addUsed(day int, q decimal.Decimal) { h.pack(day, q) }

// change replaces the steps before with after (both from one day on) and packs the steps
// before frozen, which nothing can change any more.
func (h *resourceHist) change(before, after []step, frozen int) {
	add := func(day int, q decimal.Decimal) {
		i, found := slices.BinarySearchFunc(h.live, day, func(st step, day int) int { return st.day - day })
		if found {
			h.live[i].delta = h.live[i].delta.Add(q)
			return
		}
		h.live = slices.Insert(h.live, i, step{day, q})
	}
	for _, st := range before {
		add(st.day, st.delta.Neg())
	}
	for _, st := range after {
		add(st.day, st.delta)
	}
	h.live = slices.DeleteFunc(h.live, func(st step) bool { return st.delta.IsZero() })
	n := 0
	for n < len(h.live) && h.live[n].day < frozen {
		h.pack(h.live[n].day, h.live[n].delta)
		n++
	}
	h.live = slices.Delete(h.live, 0, n)
}

// heldOn calls fn with what the resource counts on each day of month m from day from to day
// to (allocation billing).
func (h *resourceHist) heldOn(m calendar.Month, from, to int, fn func(day int, q qty)) {
	first := dayOfDate(m.First())
	var v qty
	var days [31]qty // the changes on each day of the month
	var any [31]bool
	add := func(day int, q qty) {
		switch {
		case day < first:
			v = v.plus(q)
		case day < first+31:
			days[day-first] = days[day-first].plus(q)
			any[day-first] = true
		}
	}
	h.eachPacked(add)
	for _, st := range h.live {
		add(st.day, qty{}.add(st.delta))
	}
	for day := 1; day <= to; day++ {
		if any[day-1] {
			v = v.plus(days[day-1])
		}
		if day >= from {
			fn(day, v)
		}
	}
}

// usedOn calls fn with what the resource used on each day of month m from day from to day
// to (metered billing).
func (h *resourceHist) usedOn(m calendar.Month, from, to int, fn func(day int, q qty)) {
	first := dayOfDate(m.First())
	var days [31]qty
	h.eachPacked(func(day int, q qty) {
		if day >= first && day < first+31 {
			days[day-first] = days[day-first].plus(q)
		}
	})
	for day := from; day <= to; day++ {
		fn(day, days[day-1])
	}
}

// ResourceCharge is one resource's charges over a range: a statement's row.
type ResourceCharge struct {
	Resource, Department, Project, Provider, Item string
	Kind                                          ledger.ResourceKind
	// Quantity, BaseAmount and Amount are the sums of its charge lines (Lines of them); a
	// test resource has none.
	Quantity, BaseAmount, Amount decimal.Decimal
	Lines                        int
	// MostHeld is, for a test resource, the most it held at any instant of the month of the
	// range's start (what a statement lists of it).
	MostHeld decimal.Decimal
}

// RateResources rates the range of opt resource by resource, as Rate would rate each alone,
// in resource order: the resources with a charge line in the range, and the test resources
// that held something in its month. Over a view from Kept.Read it reads the kept histories.
func RateResources(d *ledger.View, opt Options) ([]ResourceCharge, error) {
	if err := check(d, opt); err != nil {
		return nil, err
	}
	month := calendar.MonthOf(opt.From)
	if k, ok := d.Kept.(*Kept); ok && d.Resources == nil {
		return k.rateResources(d, opt, month), nil
	}
	var out []ResourceCharge
	one := *d
	for _, h := range d.Resources {
		if opt.Department != "" && h.Department != opt.Department || opt.Provider != "" && h.Provider != opt.Provider {
			continue
		}
		c := ResourceCharge{Resource: h.ID, Department: h.Department, Project: h.Project, Provider: h.Provider, Item: h.Item, Kind: h.Kind}
		if h.Kind == ledger.KindTest {
			if c.MostHeld = MostHeldIn(EffectiveOps(h), month); c.MostHeld.IsPositive() {
				out = append(out, c)
			}
			continue
		}
		one.Resources = []*ledger.ResourceHistory{h}
		rr, err := Rate(&one, opt)
		if err != nil {
			return nil, err
		}
		if len(rr.Lines) == 0 {
			continue
		}
		for _, l := range rr.Lines {
			c.Quantity = c.Quantity.Add(l.Quantity)
		}
		c.BaseAmount, c.Amount, c.Lines = rr.Total.BaseAmount, rr.Total.Amount, len(rr.Lines)
		out = append(out, c)
	}
	return out, nil
}

// MostHeldIn is the most a resource held at any instant of month m.
func MostHeldIn(ops []ledger.ResourceOp, m calendar.Month) decimal.Decimal {
	start, end := m.First().Start(), m.Next().First().Start()
	best := HeldAt(ops, start)
	for _, op := range ops {
		if !op.Time.Before(start) && op.Time.Before(end) {
			if q := HeldAt(ops, op.Time); q.GreaterThan(best) {
				best = q
			}
		}
	}
	return best
}

// rateResources is RateResources from the kept histories; the caller holds the lock.
func (k *Kept) rateResources(d *ledger.View, opt Options, month calendar.Month) []ResourceCharge {
	var out []ResourceCharge
	r := newRater(d, opt)
	for id, kr := range k.res {
		key := kr.key
		if kr.ignored || opt.Department != "" && key.department != opt.Department || opt.Provider != "" && key.provider != opt.Provider {
			continue
		}
		item := d.Items[key.item]
		if item == nil {
			continue
		}
		c := ResourceCharge{Resource: id, Department: key.department, Project: key.project, Provider: key.provider, Item: key.item, Kind: kr.kind}
		if kr.kind == ledger.KindTest {
			// q_d is the most held at any instant of day d: the month's most is the most of
			// its days'.
			kr.hist.heldOn(month, 1, month.Days(), func(_ int, q qty) {
				if d := q.decimal(); d.GreaterThan(c.MostHeld) {
					c.MostHeld = d
				}
			})
			if c.MostHeld.IsPositive() {
				out = append(out, c)
			}
			continue
		}
		units := kr.hist.heldOn
		if kr.policy == policyMetered {
			units = kr.hist.usedOn
		}
		r.lines = map[Key]*accumulator{}
		r.addUnits(key, item, kr.policy, units)
		for lk, a := range r.lines {
			if l, ok := r.line(lk, a); ok {
				c.Quantity, c.BaseAmount, c.Amount = c.Quantity.Add(l.Quantity), c.BaseAmount.Add(l.BaseAmount), c.Amount.Add(l.Amount)
				c.Lines++
			}
		}
		if c.Lines > 0 {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b ResourceCharge) int { return strings.Compare(a.Resource, b.Resource) })
	return out
}

// Allocation is what one resource billed by allocation holds at an instant.
type Allocation struct {
	Resource, Department, Project, Provider, Item string
	Held                                          decimal.Decimal
}

// ErrBeforeKept says that an instant asked for is before what Kept keeps of a resource (one
// with operations dated after it): read a full view instead.
var ErrBeforeKept = errors.New("rating: the instant is before the operations kept of a resource")

// AllocationsAt lists what each resource billed by allocation (not a test resource) holds
// at t, where it holds something, in resource order. Over a view from Kept.Read it reads the
// kept operations, or answers ErrBeforeKept.
func AllocationsAt(d *ledger.View, t time.Time) ([]Allocation, error) {
	var out []Allocation
	if k, ok := d.Kept.(*Kept); ok && d.Resources == nil {
		for id, kr := range k.res {
			if kr.ignored || kr.kind == ledger.KindTest || kr.policy == policyMetered {
				continue
			}
			if t.Before(kr.baseTime) {
				return nil, ErrBeforeKept
			}
			if held := kr.heldAt(t); held.IsPositive() {
				out = append(out, Allocation{Resource: id, Department: kr.key.department, Project: kr.key.project, Provider: kr.key.provider, Item: kr.key.item, Held: held})
			}
		}
		slices.SortFunc(out, func(a, b Allocation) int { return strings.Compare(a.Resource, b.Resource) })
		return out, nil
	}
	for _, h := range d.Resources {
		item := d.Items[h.Item]
		if h.Kind == ledger.KindTest || item == nil || item.Billing != ledger.BillingAllocation {
			continue
		}
		if held := HeldAt(EffectiveOps(h), t); held.IsPositive() {
			out = append(out, Allocation{Resource: h.ID, Department: h.Department, Project: h.Project, Provider: h.Provider, Item: h.Item, Held: held})
		}
	}
	return out, nil
}

// heldAt is HeldAt(kr.effectiveOps(), t) for t at or after baseTime, without building the
// operations: the base, the tail up to t, and the expiry in force if it closes them by t
// (a budget's estimate asks it of every resource).
func (kr *keptResource) heldAt(t time.Time) decimal.Decimal {
	held := kr.base
	last := ledger.ResourceOp{Time: kr.baseTime, Op: ledger.OpAllocate}
	for _, op := range kr.tail {
		if !op.Time.After(t) {
			held = applyOp(held, op)
		}
		last = op
	}
	if !kr.expires.IsZero() && last.Op != ledger.OpReclaim && last.Op != ledger.OpExpire && !last.Time.After(kr.expires) && !kr.expires.After(t) {
		return decimal.Zero
	}
	return held
}

// LineKey is a charge line's key without its month: where a budget's estimate is summed.
type LineKey struct{ Department, Project, Provider, Item string }

// HeldByLine sums, per line, what the resources billed by allocation (not test resources)
// hold at t — AllocationsAt summed by line, without listing every resource: over a view from
// Kept.Read each kept resource adds to its series' sum. ErrBeforeKept as AllocationsAt.
func HeldByLine(d *ledger.View, t time.Time) (map[LineKey]decimal.Decimal, error) {
	out := map[LineKey]decimal.Decimal{}
	if k, ok := d.Kept.(*Kept); ok && d.Resources == nil {
		return k.heldByLine(t)
	}
	held, err := AllocationsAt(d, t)
	if err != nil {
		return nil, err
	}
	for _, a := range held {
		k := LineKey{a.Department, a.Project, a.Provider, a.Item}
		out[k] = out[k].Add(a.Held)
	}
	return out, nil
}

// heldMemo is the last HeldByLine answer: the same at every instant from from until until
// (the next operation or expiry of any resource) while no line item is read.
type heldMemo struct {
	seq         uint64
	from, until time.Time // until zero: nothing changes after from
	lines       map[LineKey]decimal.Decimal
}

// heldByLine is HeldByLine over what is kept; the caller holds the read lock. The answer is
// shared by the readers of one state: callers must not change it.
func (k *Kept) heldByLine(t time.Time) (map[LineKey]decimal.Decimal, error) {
	k.heldMu.Lock()
	m := k.held
	k.heldMu.Unlock()
	if m != nil && m.seq == k.seq && !t.Before(m.from) && (m.until.IsZero() || t.Before(m.until)) {
		return m.lines, nil
	}
	type sum struct {
		key seriesKey
		q   qty
	}
	sums := map[*series]*sum{}
	var until time.Time
	changesAt := func(at time.Time) {
		if at.After(t) && (until.IsZero() || at.Before(until)) {
			until = at
		}
	}
	for _, kr := range k.res {
		if kr.ignored || kr.kind == ledger.KindTest || kr.policy == policyMetered {
			continue
		}
		if t.Before(kr.baseTime) {
			return nil, ErrBeforeKept
		}
		for _, op := range kr.tail {
			changesAt(op.Time)
		}
		if !kr.expires.IsZero() {
			changesAt(kr.expires)
		}
		if held := kr.heldAt(t); held.IsPositive() {
			s := sums[kr.series]
			if s == nil {
				s = &sum{key: kr.key}
				sums[kr.series] = s
			}
			s.q = s.q.add(held)
		}
	}
	out := make(map[LineKey]decimal.Decimal, len(sums))
	for _, s := range sums {
		out[LineKey{s.key.department, s.key.project, s.key.provider, s.key.item}] = s.q.decimal()
	}
	k.heldMu.Lock()
	k.held = &heldMemo{seq: k.seq, from: t, until: until, lines: out}
	k.heldMu.Unlock()
	return out, nil
}
