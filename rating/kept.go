package rating

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/ledger"
)

// Kept keeps what the charge lines are made of current as the ledger grows (issue 28): for
// every charge key — department, project, provider, item — the units held (allocation) or
// used (metered) on each day, summed over the key's resources. Rating a range from it reads
// the days of the range's months, whatever the ledger holds; prices, scores and band tables
// are applied at rating time, so a late score or a new band table changes nothing kept.
//
// It is a function of the line items alone, fed in chain order (ViewFilter.OnRatingEvent)
// and caught up to the ledger's head at every read, so every node holding the same line
// items rates the same lines. Rate over a full view stays the reference: the property test
// compares the two line for line.
type Kept struct {
	mu     sync.RWMutex
	seq    uint64      // the last line item read
	head   ledger.Hash // its chain hash (Save names it)
	res    map[string]*keptResource
	series map[seriesKey]*series
	// changed are the series whose starts the catch-up under way is to sum again.
	changed map[*series]struct{}
	// rated are the results of the ranges rated at seq: pages ask for the same year again
	// and again while nothing is written (rating depends on the line items and the master
	// data only, and every change of either is a line item).
	ratedMu sync.Mutex
	rated   map[Options]*Result
	ratedAt uint64
	// held is the budget's last sum of what is held (heldByLine): asked again and again at
	// instants where nothing changes.
	heldMu sync.Mutex
	held   *heldMemo
	// lastRead is when Read was last called (unix nanoseconds): a node keeps up ahead of
	// reads only while it is read (server.keptLoop).
	lastRead atomic.Int64
	// broken is why Kept stopped keeping (a line item it cannot take): reads get full views.
	brokenMu sync.Mutex
	broken   error
}

// Broken says why Kept stopped keeping the charges (nil while it keeps them).
func (k *Kept) Broken() error {
	k.brokenMu.Lock()
	defer k.brokenMu.Unlock()
	return k.broken
}

// maxRated bounds the results kept for one state.
const maxRated = 64

// NewKept returns an empty Kept; its first read catches up with every line item.
func NewKept() *Kept {
	return &Kept{res: map[string]*keptResource{}, series: map[seriesKey]*series{}, changed: map[*series]struct{}{}}
}

// Source is what Kept reads: a ledger's views (ledger.Ledger).
type Source interface {
	View(ledger.ViewFilter) (*ledger.View, error)
}

// keptAttempts bounds the reads of a state Kept is not at (other readers catching up in
// between); after them a reader rates from a full view, the reference.
const keptAttempts = 3

// Rate rates the range of opt as Rate would over a full view of src, reading only the
// master data and the line items since the last read.
func (k *Kept) Rate(src Source, opt Options) (res *Result, err error) {
	err = k.Read(src, func(d *ledger.View) error {
		res, err = Rate(d, opt)
		return err
	})
	return res, err
}

// Read calls fn with a view of src's head whose line items are Kept's (ledger.View.Kept): the
// package's Rate rates it from the kept units, as it would a full view; it has no
// Resources. fn must not keep the view. Readers of a state Kept has caught up with share a
// read lock; the first reader after new line items catches up under the write lock, then
// reads like the others. If Kept cannot read the line items (broken), fn gets a full view.
func (k *Kept) Read(src Source, fn func(d *ledger.View) error) error {
	k.lastRead.Store(time.Now().UnixNano())
	for attempt := 1; ; attempt++ {
		if k.Broken() != nil {
			d, err := src.View(ledger.ViewFilter{})
			if err != nil {
				return err
			}
			return fn(d) // the reference: rating reads the resources' histories
		}
		if attempt > keptAttempts {
			// Writes move the head between every view and catch-up: catch up and read
			// under the write lock, at the state the catch-up read its master data and line
			// items from (one transaction). A full view here held gigabytes at 10,000,000
			// line items under a soak of writes and reads.
			k.mu.Lock()
			d, err := k.catchUp(src)
			if err == nil {
				err = k.readLocked(d, fn)
			}
			k.mu.Unlock()
			if err != nil && k.Broken() != nil {
				continue // Kept could not take a line item: the reference, above
			}
			return err
		}
		d, err := src.View(ledger.ViewFilter{MasterDataOnly: true})
		if err != nil {
			return err
		}
		k.mu.RLock()
		if k.seq == d.Head.Seq {
			err := k.readLocked(d, fn)
			k.mu.RUnlock()
			return err
		}
		behind := k.seq < d.Head.Seq
		k.mu.RUnlock()
		if behind {
			k.mu.Lock()
			_, err := k.catchUp(src)
			k.mu.Unlock()
			if err != nil && k.Broken() == nil {
				return err
			}
		}
		// Read again: Kept and the master data are now of one state, or a later one.
	}
}

// readLocked calls fn with d standing for Kept's state; d cannot rate from Kept afterwards.
func (k *Kept) readLocked(d *ledger.View, fn func(d *ledger.View) error) error {
	d.Kept = k
	defer func() { d.Kept = nil }()
	return fn(d)
}

// catchUp applies the line items written since the last read, up to src's head, and returns
// the master data of that state (read in the same transaction); the caller holds the lock.
func (k *Kept) catchUp(src Source) (*ledger.View, error) {
	var addErr error
	read := 0
	d, err := src.View(ledger.ViewFilter{MasterDataOnly: true, RatingEventsAfter: k.seq, OnRatingEvent: func(d *ledger.View, e *ledger.RatingEvent) error {
		read++
		if addErr = k.add(d, e); addErr != nil {
			return addErr
		}
		return nil
	}})
	for s := range k.changed {
		s.fix()
	}
	clear(k.changed)
	switch {
	case addErr != nil:
		// A line item Kept cannot take would fail every read again: stop keeping (reads get
		// full views, the reference) and say so loudly.
		k.reset()
		k.brokenMu.Lock()
		k.broken = addErr
		k.brokenMu.Unlock()
		return nil, addErr
	case err != nil && read > 0:
		k.reset() // a feed cut half way: start again from the first line item
		return nil, err
	case err != nil:
		return nil, err // nothing was read: what is kept stands
	}
	if d.Head.Seq < k.seq { // another ledger (a restore): read it from the start
		k.reset()
		return k.catchUp(src)
	}
	k.seq, k.head = d.Head.Seq, d.Head.Hash
	return d, nil
}

func (k *Kept) reset() {
	k.heldMu.Lock()
	k.held = nil
	k.heldMu.Unlock()
	k.seq, k.head, k.res, k.series = 0, ledger.Hash{}, map[string]*keptResource{}, map[seriesKey]*series{}
	clear(k.changed)
}

// LastRead is when charges were last read through Kept (zero: never).
func (k *Kept) LastRead() time.Time {
	if n := k.lastRead.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// Seq is the last line item Kept has read.
func (k *Kept) Seq() uint64 {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.seq
}

// CatchUp reads the line items written since the last read (a node warms Kept at start).
func (k *Kept) CatchUp(src Source) error {
	if err := k.Broken(); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	_, err := k.catchUp(src)
	return err
}

type seriesKey struct{ department, project, provider, item string }

type policy uint8

const (
	policyDaily policy = iota
	policyMonthly
	policyMetered
)

// keptResource is what Kept needs of one resource: its key and, for allocation billing, a
// summary of its operations that gives its units from the day of its last operation on.
//
// The line items of a resource's quantity arrive in time order (the out_of_order rule), so
// only the last day's operations (the last month's, monthly) can still change what it
// counts: those are kept (tail) over what it held at that day's start (base, at baseTime).
// An expire line item is not kept: it is written at the expiry, and the expiry in force
// closes the operations instead (as EffectiveOps does before the expire is written, and as
// readResourceHistories voids an expire that a late extension moved).
type keptResource struct {
	key      seriesKey
	kind     ledger.ResourceKind
	ignored  bool    // an item the catalog lacks, or a test resource billed by use: nothing to keep
	series   *series // nil: never charged (a test resource)
	policy   policy
	hist     resourceHist // its own units by day (kept_resource.go): a statement's rows
	opened   time.Time    // the first operation's time
	baseTime time.Time    // a day's start (a month's, monthly)
	base     decimal.Decimal
	tail     []ledger.ResourceOp // the operations after baseTime, in time order
	expires  time.Time
}

func (k *Kept) add(d *ledger.View, e *ledger.RatingEvent) error {
	if e.Seq <= k.seq {
		return fmt.Errorf("rating: line item %d read twice (kept up to %d)", e.Seq, k.seq)
	}
	kr := k.res[e.Resource]
	if kr == nil {
		kr = &keptResource{opened: e.Time, key: seriesKey{e.Department, e.Project, e.Provider, e.Item}, kind: e.Kind}
		item := d.Items[e.Item]
		switch {
		case item == nil:
			kr.ignored = true
		case e.Kind == ledger.KindTest: // SPEC: test resources are never charged; a statement lists the most they held
			kr.policy = policyDaily
			kr.ignored = item.Billing == ledger.BillingMetered
		default:
			kr.policy = policyOf(item)
			kr.series = k.series[kr.key]
			if kr.series == nil {
				kr.series = &series{metered: kr.policy == policyMetered}
				k.series[kr.key] = kr.series
			}
		}
		kr.baseTime = kr.periodStart(e.Time)
		k.res[e.Resource] = kr
	}
	if kr.ignored {
		return nil
	}
	if kr.series != nil {
		k.changed[kr.series] = struct{}{}
	}
	if kr.policy == policyMetered {
		if e.Op == ledger.OpUsage {
			kr.series.addUsed(dayOf(e.Time), e.Quantity)
			kr.hist.addUsed(dayOf(e.Time), e.Quantity)
		}
		return nil
	}
	if e.Op == ledger.OpExpire {
		return nil // the expiry in force closes the operations (effectiveOps)
	}
	// What changes: the days from the operation on; for an extension, from the expiry it
	// moves (later: extensions only lengthen).
	from := e.Time
	if e.Op == ledger.OpExtend {
		from = kr.expires
	}
	if from.Before(kr.baseTime) || e.Op != ledger.OpExtend && len(kr.tail) > 0 && e.Time.Before(kr.tail[len(kr.tail)-1].Time) {
		return fmt.Errorf("rating: resource %q: operation at %s before its last (line item %d): the out_of_order rule was broken", e.Resource, e.Time, e.Seq)
	}
	lo := dayOf(from)
	if kr.policy == policyMonthly {
		lo = dayOfDate(calendar.MonthOf(dateOf(lo)).First()) // a month is charged whole
	}
	before := kr.steps(lo)
	switch e.Op {
	case ledger.OpExtend:
		kr.expires = e.Expires
	case ledger.OpAllocate:
		kr.expires = e.Expires
		fallthrough
	default:
		if start := kr.periodStart(e.Time); start.After(kr.baseTime) {
			kr.base = HeldAt(kr.baseOps(), start)
			kr.baseTime, kr.tail = start, nil
		}
		kr.tail = append(kr.tail, ledger.ResourceOp{Time: e.Time, Op: e.Op, Quantity: e.Quantity})
	}
	after := kr.steps(lo)
	if kr.series != nil {
		kr.series.addHeldChange(before, after)
	}
	kr.hist.change(before, after, dayOf(kr.baseTime))
	return nil
}

// periodStart is the start of the day of t (of its month, monthly): what can still change.
func (kr *keptResource) periodStart(t time.Time) time.Time {
	d := calendar.DateOf(t)
	if kr.policy == policyMonthly {
		d = calendar.MonthOf(d).First()
	}
	return d.Start()
}

// baseOps are the base as an operation and the tail.
func (kr *keptResource) baseOps() []ledger.ResourceOp {
	return append([]ledger.ResourceOp{{Time: kr.baseTime, Op: ledger.OpAllocate, Quantity: kr.base}}, kr.tail...)
}

func policyOf(item *ledger.CatalogItem) policy {
	switch {
	case item.Billing == ledger.BillingMetered:
		return policyMetered
	case item.Proration == ledger.ProrationMonthly:
		return policyMonthly
	}
	return policyDaily
}

// effectiveOps are the operations from baseTime on as rating reads them: closed at the
// expiry in force unless reclaimed (EffectiveOps).
func (kr *keptResource) effectiveOps() []ledger.ResourceOp {
	return EffectiveOps(&ledger.ResourceHistory{Ops: kr.baseOps(), Expires: kr.expires})
}

// step is a change of the units a resource counts towards its key: from day on, by delta.
type step struct {
	day   int
	delta decimal.Decimal
}

// steps are the units the resource counts on the days from lo on, as changes from nothing
// before lo: the rater's q_d (daily), or the paying month's highest quantity (monthly).
func (kr *keptResource) steps(lo int) []step {
	ops := kr.effectiveOps()
	if len(kr.tail) == 0 && kr.base.IsZero() {
		return nil // a resource not allocated yet
	}
	var out []step
	prev := decimal.Zero
	emit := func(i int, q decimal.Decimal) {
		if !q.Equal(prev) {
			out = append(out, step{i, q.Sub(prev)})
			prev = q
		}
	}
	last := dayOf(ops[len(ops)-1].Time)
	final := HeldAt(ops, ops[len(ops)-1].Time) // held after the last operation, for ever
	opened := dayOf(kr.opened)
	if kr.policy == policyDaily {
		start := max(lo, opened)
		end := start - 1
		sweep(epochNs, ops, start, max(start, last+1), func(i int, q decimal.Decimal, _ bool) {
			emit(i, q)
			end = i
		})
		emit(end+1, final) // the sweep stops once nothing is held and nothing is left
		return out
	}
	// Monthly: whole months from lo's (a month start), through the month after the last
	// operation and the first paying month.
	firstPaying := firstPayingMonth([]ledger.ResourceOp{{Time: kr.opened}})
	hiMonth := calendar.MonthOf(dateOf(last)).Next()
	if hiMonth.Before(firstPaying) {
		hiMonth = firstPaying
	}
	hi := dayOfDate(hiMonth.Last())
	start := max(lo, opened)
	maxQ := map[calendar.Month]decimal.Decimal{}
	sweep(epochNs, ops, start, hi, func(i int, q decimal.Decimal, _ bool) {
		m := calendar.MonthOf(dateOf(i))
		if q.GreaterThan(maxQ[m]) {
			maxQ[m] = q
		}
	})
	for m := calendar.MonthOf(dateOf(lo)); !m.After(hiMonth); m = m.Next() {
		q := decimal.Zero
		if !m.Before(firstPaying) {
			q = maxQ[m]
		}
		emit(dayOfDate(m.First()), q)
	}
	emit(hi+1, final)
	return out
}

// series is one charge key's units by day, in records of one month from the first month
// with a change to the last.
type series struct {
	metered bool
	first   calendar.Month
	months  []*monthUnits
	// stale is the first record whose start is to be summed again (fix): a change moves the
	// start of every later month, which is summed once per catch-up, not once per change.
	stale int
}

// monthUnits holds, for allocation billing, the units held at the month's start and their
// changes on each day; for metered billing, the units used on each day. Whole units are
// int64s (no pointers for the collector to follow); anything else is in frac, rarely used.
type monthUnits struct {
	start, sum qty // allocation: held at the start; the sum of the changes
	whole      [31]int64
	frac       map[int8]decimal.Decimal
}

func (r *monthUnits) dayValue(i int) qty { return qty{n: r.whole[i], f: r.frac[int8(i)]} }

func (r *monthUnits) addDay(i int, d decimal.Decimal) {
	v := r.dayValue(i).add(d)
	r.whole[i] = v.n
	switch {
	case !v.f.IsZero():
		if r.frac == nil {
			r.frac = map[int8]decimal.Decimal{}
		}
		r.frac[int8(i)] = v.f
	case r.frac != nil:
		delete(r.frac, int8(i))
	}
}

func (s *series) last() calendar.Month { return addMonths(s.first, len(s.months)-1) }

// at returns the record of month m, making the records up to it.
func (s *series) at(m calendar.Month) *monthUnits {
	if len(s.months) == 0 {
		s.first, s.months, s.stale = m, []*monthUnits{{}}, 1
	}
	for m.Before(s.first) {
		s.first = s.first.Prev()
		s.months = slices.Insert(s.months, 0, &monthUnits{})
		s.stale = 1
	}
	for s.last().Before(m) {
		s.months = append(s.months, &monthUnits{})
		s.stale = min(s.stale, len(s.months)-1)
	}
	return s.months[monthsBetween(s.first, m)]
}

// fix sums the starts again from the first stale record.
func (s *series) fix() {
	if s.metered {
		s.stale = len(s.months)
		return
	}
	for i := max(1, s.stale); i < len(s.months); i++ {
		s.months[i].start = s.months[i-1].start.plus(s.months[i-1].sum)
	}
	s.stale = len(s.months)
}

// carried is what the last record passes to the months after it: the units held at its
// end (allocation); nothing (metered).
func (s *series) carried() qty {
	if s.metered || len(s.months) == 0 {
		return qty{}
	}
	r := s.months[len(s.months)-1]
	return r.start.plus(r.sum)
}

func (s *series) addUsed(day int, q decimal.Decimal) {
	date := dateOf(day)
	s.at(calendar.MonthOf(date)).addDay(date.Day-1, q)
}

// addHeldChange replaces a resource's steps before with after.
func (s *series) addHeldChange(before, after []step) {
	for _, st := range before {
		s.addHeld(st.day, st.delta.Neg())
	}
	for _, st := range after {
		s.addHeld(st.day, st.delta)
	}
}

func (s *series) addHeld(day int, delta decimal.Decimal) {
	if delta.IsZero() {
		return
	}
	date := dateOf(day)
	m := calendar.MonthOf(date)
	r := s.at(m)
	r.addDay(date.Day-1, delta)
	r.sum = r.sum.add(delta)
	s.stale = min(s.stale, monthsBetween(s.first, m)+1)
}

// unitsOn calls fn with the units of each day of month m from day from to day to (1–31).
func (s *series) unitsOn(m calendar.Month, from, to int, fn func(day int, q qty)) {
	if s.stale < len(s.months) {
		panic("rating: kept units read before their starts were summed") // catchUp fixes every series it changed
	}
	if len(s.months) == 0 || m.Before(s.first) {
		return
	}
	if s.last().Before(m) {
		if q := s.carried(); q.positive() {
			for day := from; day <= to; day++ {
				fn(day, q)
			}
		}
		return
	}
	r := s.months[monthsBetween(s.first, m)]
	if s.metered {
		for day := from; day <= to; day++ {
			fn(day, r.dayValue(day-1))
		}
		return
	}
	q := r.start
	for day := 1; day <= to; day++ {
		if r.whole[day-1] != 0 || r.frac != nil {
			q = q.plus(r.dayValue(day - 1))
		}
		if day >= from {
			fn(day, q)
		}
	}
}

// qty is an exact quantity: whole units in n, the rest (fractions, or what would pass
// ±10¹⁵) in f. Kept sums millions of them; most are whole.
type qty struct {
	n int64
	f decimal.Decimal
}

const wholeLimit = 1_000_000_000_000_000

func (q qty) add(d decimal.Decimal) qty {
	if d.Exponent() == 0 && d.NumDigits() <= 15 {
		if v := q.n + d.IntPart(); v < wholeLimit && v > -wholeLimit {
			q.n = v
			return q
		}
	}
	q.f = q.f.Add(d)
	return q
}

func (q qty) plus(o qty) qty {
	if v := q.n + o.n; v < wholeLimit && v > -wholeLimit {
		q.n = v
	} else {
		q.f = q.f.Add(decimal.NewFromInt(o.n))
	}
	if !o.f.IsZero() {
		q.f = q.f.Add(o.f)
	}
	return q
}

func (q qty) decimal() decimal.Decimal {
	if q.f.IsZero() {
		return decimal.NewFromInt(q.n)
	}
	return q.f.Add(decimal.NewFromInt(q.n))
}

func (q qty) positive() bool {
	if q.f.IsZero() {
		return q.n > 0
	}
	return q.decimal().IsPositive()
}

func (q qty) equal(o qty) bool {
	if q.f.IsZero() && o.f.IsZero() {
		return q.n == o.n
	}
	return q.decimal().Equal(o.decimal())
}

// rate is Rate with the kept units standing in for the resources' histories; the caller
// holds the lock and checked opt. The result is shared: callers must not change it.
func (k *Kept) rate(d *ledger.View, opt Options) *Result {
	k.ratedMu.Lock()
	if k.rated == nil || k.ratedAt != k.seq { // nil: nothing rated yet, at any sequence (0 too)
		k.rated, k.ratedAt = map[Options]*Result{}, k.seq
	}
	res, ok := k.rated[opt]
	k.ratedMu.Unlock()
	if ok && res.Head == d.Head {
		return res
	}
	res = k.rateNow(d, opt)
	k.ratedMu.Lock()
	if k.ratedAt == k.seq && len(k.rated) < maxRated {
		k.rated[opt] = res
	}
	k.ratedMu.Unlock()
	return res
}

func (k *Kept) rateNow(d *ledger.View, opt Options) *Result {
	r := newRater(d, opt)
	for key, s := range k.series {
		if opt.Department != "" && key.department != opt.Department || opt.Provider != "" && key.provider != opt.Provider {
			continue
		}
		if item := d.Items[key.item]; item != nil {
			r.addUnits(key, item, policyOf(item), s.unitsOn)
		}
	}
	return r.result()
}

// addUnits adds to the lines of key the units of each day of the range, as units gives them
// month by month, at each day's price and multiplier (the month's first day's price,
// monthly): what rateDaily, rateMonthly and rateMetered add, summed across resources.
func (r *rater) addUnits(key seriesKey, item *ledger.CatalogItem, pol policy, units func(m calendar.Month, from, to int, fn func(day int, q qty))) {
	prices, mults := r.priceTable(item, key.provider), r.multTable(key.provider)
	for mi, m := range r.months {
		lo, hi := max(m.first, r.fi), min(m.last, r.ti)
		if lo > hi {
			continue
		}
		divisor := m.daysInMonth
		if pol == policyMetered {
			divisor = 1
		}
		var a *accumulator
		var ru run
		flush := func() {
			if ru.active {
				a.add(ru.price, ru.mult, ru.q, ru.qWhole, ru.qIsWhole, ru.day-m.first+1, ru.n)
				ru.active = false
			}
		}
		var runQ qty
		units(m.month, lo-m.first+1, hi-m.first+1, func(day int, q qty) {
			if !q.positive() {
				flush()
				return
			}
			if a == nil {
				a = r.keyAcc(Key{Month: m.month, Department: key.department, Project: key.project, Provider: key.provider, Item: key.item}, item, divisor)
			}
			i := m.first + day - 1
			price := prices[i]
			if pol == policyMonthly {
				price = prices[m.first] // the month's price is its first day's
			}
			if pol != policyMetered && ru.active && ru.price == price && ru.mult == mults[i] && runQ.equal(q) {
				ru.n++
				return
			}
			flush()
			runQ = q
			ru = run{active: true, day: i, n: 1, q: q.decimal(), price: price, mult: mults[i], mnth: int32(mi)}
			ru.qWhole, ru.qIsWhole = smallWhole(ru.q)
		})
		flush()
	}
}

// keyAcc is the accumulator of the line k (rater.acc without a resource).
func (r *rater) keyAcc(k Key, item *ledger.CatalogItem, divisor int64) *accumulator {
	a := r.lines[k]
	if a == nil {
		a = &accumulator{billing: item.Billing, unit: QuantityUnit(item), divisor: divisor}
		r.lines[k] = a
	}
	return a
}

// Days are numbered from 1 January 2000 (ledger.MinYear), Asia/Shanghai.
var (
	epoch   = calendar.NewDate(2000, time.January, 1)
	epochNs = epoch.Start().UnixNano()
)

func dayOf(t time.Time) int {
	ns := t.UnixNano() - epochNs
	if ns < 0 {
		return int((ns - dayNanos + 1) / dayNanos)
	}
	return int(ns / dayNanos)
}

// dayOfDate and dateOf convert with integer arithmetic (the proleptic Gregorian calendar's
// civil-from-days), not through time.Date: Kept converts a few times per line item.
func dayOfDate(d calendar.Date) int {
	y, m := d.Year, int(d.Month)
	if m <= 2 {
		y--
	}
	era := y / 400 // years are 2000 and later (ledger.MinYear): no negative division
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d.Day - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - daysTo2000
}

func dateOf(day int) calendar.Date {
	z := day + daysTo2000
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	y := yoe + era*400
	if m <= 2 {
		y++
	}
	return calendar.Date{Year: y, Month: time.Month(m), Day: d}
}

// daysTo2000 is the day number of 2000-01-01 counted from 0000-03-01.
const daysTo2000 = 730425

func addMonths(m calendar.Month, n int) calendar.Month {
	return calendar.MonthOf(m.First().AddMonths(n))
}

func monthsBetween(a, b calendar.Month) int {
	return (b.Year-a.Year)*12 + int(b.Month) - int(a.Month)
}
