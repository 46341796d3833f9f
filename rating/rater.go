package rating

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/ledger"
)

const dayNanos = int64(24 * time.Hour)

// rater holds the per-day tables of one Rate call. Days are indexed from base, the first
// day of the month of opt.From, to the last day of the month of opt.To: whole months,
// because the monthly policy looks at a resource's whole month.
type rater struct {
	data    *ledger.View
	opt     Options
	base    calendar.Date
	baseDay int   // base's day number (dayOfDate)
	baseNs  int64 // 00:00 of base, Asia/Shanghai (a fixed offset: every day is 24 h)
	days    int
	fi, ti  int     // opt.From and opt.To as day indexes
	monthOf []int32 // day index → index into months
	months  []monthInfo

	prices    map[priceKey][]int32 // (item, provider) → per-day index into priceVals, -1 none
	priceVals []decimal.Decimal
	priceIdx  map[string]int32
	mults     map[string][]int32 // provider → per-day index into multVals, -1 no score
	multVals  []decimal.Decimal
	multIdx   map[string]int32

	lines map[Key]*accumulator
	last  struct { // the accumulator acc found last
		h    *ledger.ResourceHistory
		mnth int32
		a    *accumulator
	}
}

type monthInfo struct {
	month       calendar.Month
	first       int // day index of its first day
	last        int // day index of its last day
	daysInMonth int64
}

type priceKey struct{ item, provider string }

func newRater(d *ledger.View, opt Options) *rater {
	base := calendar.MonthOf(opt.From).First()
	end := calendar.MonthOf(opt.To).Last()
	r := &rater{data: d, opt: opt, base: base, baseDay: dayOfDate(base), baseNs: base.Start().UnixNano(), days: calendar.DaysBetween(base, end) + 1,
		fi: calendar.DaysBetween(base, opt.From), ti: calendar.DaysBetween(base, opt.To),
		prices: map[priceKey][]int32{}, priceIdx: map[string]int32{}, mults: map[string][]int32{}, multIdx: map[string]int32{},
		lines: map[Key]*accumulator{}}
	r.monthOf = make([]int32, r.days)
	for m, i := calendar.MonthOf(base), 0; i < r.days; m = m.Next() {
		n := m.First().DaysIn()
		mi := int32(len(r.months))
		r.months = append(r.months, monthInfo{month: m, first: i, last: i + n - 1, daysInMonth: int64(n)})
		for j := i; j < i+n; j++ {
			r.monthOf[j] = mi
		}
		i += n
	}
	return r
}

// dayIndex is the index of the day an instant falls on (may be outside 0..days-1).
func (r *rater) dayIndex(t time.Time) int {
	ns := t.UnixNano() - r.baseNs
	if ns < 0 {
		return int((ns - dayNanos + 1) / dayNanos)
	}
	return int(ns / dayNanos)
}

func (r *rater) date(i int) calendar.Date { return dateOf(r.baseDay + i) }

// acc is the accumulator of the line of resource h in month mnth (an index into r.months).
// The last one found is kept: a resource's runs come month by month.
func (r *rater) acc(h *ledger.ResourceHistory, item *ledger.CatalogItem, mnth int32, divisor int64) *accumulator {
	if r.last.h == h && r.last.mnth == mnth {
		return r.last.a
	}
	a := r.keyAcc(Key{Month: r.months[mnth].month, Department: h.Department, Project: h.Project, Provider: h.Provider, Item: h.Item}, item, divisor)
	r.last.h, r.last.mnth, r.last.a = h, mnth, a
	return a
}

func (r *rater) rateResource(h *ledger.ResourceHistory) {
	if h.Kind == ledger.KindTest || len(h.Ops) == 0 {
		return // SPEC: test resources are never charged and appear in no charge line
	}
	item := r.data.Items[h.Item]
	if item == nil {
		return
	}
	switch {
	case item.Billing == ledger.BillingMetered:
		r.rateMetered(h, item)
	case item.Proration == ledger.ProrationMonthly:
		r.rateMonthly(h, item, EffectiveOps(h))
	default:
		r.rateDaily(h, item, EffectiveOps(h))
	}
}

// EffectiveOps is the resource's operations, closed at its expiry when the expire line item is
// not written yet: the ledger writes it at the leader's next tick, with the expiry as its
// effective time, and rating must not depend on when that
// happens (SPEC: Ledger, expire). The ledger refuses changes at or after the expiry, so the
// expiry comes after every operation. Use it wherever quantities held are read (HeldAt).
func EffectiveOps(h *ledger.ResourceHistory) []ledger.ResourceOp {
	ops := h.Ops
	if h.Expires.IsZero() || len(ops) == 0 {
		return ops
	}
	if last := ops[len(ops)-1]; last.Op == ledger.OpReclaim || last.Op == ledger.OpExpire || last.Time.After(h.Expires) {
		return ops
	}
	return append(ops[:len(ops):len(ops)], ledger.ResourceOp{Time: h.Expires, Op: ledger.OpExpire})
}

// rateMetered: charge = quantity × P, P the price in force on the usage's day.
func (r *rater) rateMetered(h *ledger.ResourceHistory, item *ledger.CatalogItem) {
	prices, mults := r.priceTable(item, h.Provider), r.multTable(h.Provider)
	for _, op := range h.Ops {
		if op.Op != ledger.OpUsage {
			continue
		}
		i := r.dayIndex(op.Time)
		if i < r.fi || i > r.ti {
			continue
		}
		qWhole, ok := smallWhole(op.Quantity)
		m := r.monthOf[i]
		r.acc(h, item, m, 1).add(prices[i], mults[i], op.Quantity, qWhole, ok, i-r.months[m].first+1, 1)
	}
}

// run is a stretch of consecutive days of one resource with the same month, quantity,
// price and multiplier: it adds q × n units to its line at that price and multiplier.
type run struct {
	active      bool
	day         int // first day (an index from r.base)
	n           int64
	q           decimal.Decimal
	qWhole      int64 // smallWhole(q)
	qIsWhole    bool
	price, mult int32
	mnth        int32
}

func (r *rater) flush(h *ledger.ResourceHistory, item *ledger.CatalogItem, ru *run) {
	if !ru.active {
		return
	}
	ru.active = false
	m := r.months[ru.mnth]
	r.acc(h, item, ru.mnth, m.daysInMonth).add(ru.price, ru.mult, ru.q, ru.qWhole, ru.qIsWhole, ru.day-m.first+1, ru.n)
}

// extend adds day i with quantity q to the run, or flushes the run and starts a new one.
func (r *rater) extend(h *ledger.ResourceHistory, item *ledger.CatalogItem, ru *run, i int, q decimal.Decimal, qMayDiffer bool, price, mult int32) {
	mnth := r.monthOf[i]
	if ru.active && ru.mnth == mnth && ru.price == price && ru.mult == mult && (!qMayDiffer || ru.q.Equal(q)) {
		ru.n++
		return
	}
	r.flush(h, item, ru)
	*ru = run{active: true, day: i, n: 1, q: q, price: price, mult: mult, mnth: mnth}
	ru.qWhole, ru.qIsWhole = smallWhole(q)
}

// rateDaily: for each day d, q_d is the largest quantity held at any instant of d, and the
// charge is P_d × q_d / days in d's month (SPEC: Rating; RATING_DEFAULTS.md, daily).
func (r *rater) rateDaily(h *ledger.ResourceHistory, item *ledger.CatalogItem, ops []ledger.ResourceOp) {
	prices, mults := r.priceTable(item, h.Provider), r.multTable(h.Provider)
	var ru run
	r.sweep(ops, max(r.fi, r.dayIndex(ops[0].Time)), r.ti, func(i int, q decimal.Decimal, qMayDiffer bool) {
		if !q.IsPositive() {
			r.flush(h, item, &ru)
			return
		}
		r.extend(h, item, &ru, i, q, qMayDiffer, prices[i], mults[i])
	})
	r.flush(h, item, &ru)
}

// rateMonthly: whole months only (RATING_DEFAULTS.md, monthly). Opened on day 1–15: the rest
// of that month is a free trial; opened after the 15th: that month and the next are free.
// Every later month in which the resource is held pays in full at the highest quantity
// held in it, at the price in force on the month's first day. A month's charge is spread
// evenly over its days, so a range that cuts a month gets those days' share and the
// multiplier is weighted by day like the daily policy's.
func (r *rater) rateMonthly(h *ledger.ResourceHistory, item *ledger.CatalogItem, ops []ledger.ResourceOp) {
	firstPaying := firstPayingMonth(ops)
	maxQ := make([]decimal.Decimal, len(r.months))
	r.sweep(ops, max(0, r.dayIndex(ops[0].Time)), r.days-1, func(i int, q decimal.Decimal, _ bool) {
		if m := r.monthOf[i]; q.GreaterThan(maxQ[m]) {
			maxQ[m] = q
		}
	})
	prices, mults := r.priceTable(item, h.Provider), r.multTable(h.Provider)
	var ru run
	for mi, m := range r.months {
		if !maxQ[mi].IsPositive() || monthBefore(m.month, firstPaying) {
			continue
		}
		price := prices[m.first]
		for i := max(m.first, r.fi); i <= min(m.last, r.ti); i++ {
			r.extend(h, item, &ru, i, maxQ[mi], i == max(m.first, r.fi), price, mults[i])
		}
		r.flush(h, item, &ru)
	}
}

// firstPayingMonth is the first month the monthly policy charges a resource opened by
// ops[0]: opened on day 1–15, the next month; after the 15th, the one after.
func firstPayingMonth(ops []ledger.ResourceOp) calendar.Month {
	opened := calendar.DateOf(ops[0].Time)
	first := calendar.MonthOf(opened).Next()
	if opened.Day > 15 {
		first = first.Next()
	}
	return first
}

func monthBefore(a, b calendar.Month) bool {
	return a.Year < b.Year || a.Year == b.Year && a.Month < b.Month
}

// sweep calls fn for each day lo..hi with q, the largest quantity the resource held at any
// instant of the day. An operation at exactly 00:00 takes effect for the whole day (what was
// held before it ended the previous day). qMayDiffer is false when q cannot differ from the
// previous day's (no operation on either day). Operations at one instant act together. It stops early once nothing is held and no
// operation is left.
func (r *rater) sweep(ops []ledger.ResourceOp, lo, hi int, fn func(i int, q decimal.Decimal, qMayDiffer bool)) {
	sweep(r.baseNs, ops, lo, hi, fn)
}

// sweep is rater.sweep with days indexed from the day starting at baseNs.
func sweep(baseNs int64, ops []ledger.ResourceOp, lo, hi int, fn func(i int, q decimal.Decimal, qMayDiffer bool)) {
	held := decimal.Zero
	k := 0
	prevHadOps := true
	for i := lo; i <= hi; i++ {
		start := baseNs + int64(i)*dayNanos
		end := start + dayNanos
		hadOps := false
		for k < len(ops) && ops[k].Time.UnixNano() <= start {
			held = applyOp(held, ops[k])
			k++
			hadOps = true
		}
		q := held
		for k < len(ops) && ops[k].Time.UnixNano() < end {
			// Operations at the same instant act together: only their net result is held
			// at that instant, whatever order they were recorded in.
			at := ops[k].Time.UnixNano()
			for k < len(ops) && ops[k].Time.UnixNano() == at {
				held = applyOp(held, ops[k])
				k++
			}
			hadOps = true
			if held.GreaterThan(q) {
				q = held
			}
		}
		fn(i, q, hadOps || prevHadOps)
		prevHadOps = hadOps
		if k == len(ops) && held.IsZero() {
			return
		}
	}
}

// HeldAt is the quantity a resource holds once its operations up to and including t have
// taken effect.
func HeldAt(ops []ledger.ResourceOp, t time.Time) decimal.Decimal {
	held := decimal.Zero
	for _, op := range ops {
		if op.Time.After(t) {
			break
		}
		held = applyOp(held, op)
	}
	return held
}

// applyOp is the quantity held after op.
func applyOp(held decimal.Decimal, op ledger.ResourceOp) decimal.Decimal {
	switch op.Op {
	case ledger.OpAllocate:
		return op.Quantity
	case ledger.OpExpand:
		return held.Add(op.Quantity)
	case ledger.OpReduce:
		return held.Sub(op.Quantity)
	case ledger.OpReclaim, ledger.OpExpire:
		return decimal.Zero
	}
	return held
}

// priceTable is the price in force on each day for (item, provider): the provider's own
// price from its effective day, otherwise the default price (SPEC: Rating, HLJ 4).
func (r *rater) priceTable(item *ledger.CatalogItem, provider string) []int32 {
	k := priceKey{item.ID, provider}
	if t, ok := r.prices[k]; ok {
		return t
	}
	t := make([]int32, r.days)
	var last decimal.Decimal
	lastIdx := int32(-1)
	for i := range t {
		t[i] = -1
		if p, ok := PriceOn(item, provider, r.date(i)); ok {
			if lastIdx < 0 || !p.Equal(last) { // interning formats the price: once per change
				last, lastIdx = p, intern(p, &r.priceVals, r.priceIdx)
			}
			t[i] = lastIdx
		}
	}
	r.prices[k] = t
	return t
}

// PriceOn is the price of item in force on day d for provider: the provider's own price
// from its effective day, otherwise the default price; ok is false when none is in force.
func PriceOn(item *ledger.CatalogItem, provider string, d calendar.Date) (decimal.Decimal, bool) {
	var own, def *ledger.PriceVersion
	for i := range item.Prices {
		v := &item.Prices[i]
		if v.EffectiveFrom.After(d) {
			continue
		}
		switch v.Provider {
		case provider:
			if own == nil || v.EffectiveFrom.After(own.EffectiveFrom) {
				own = v
			}
		case "":
			if def == nil || v.EffectiveFrom.After(def.EffectiveFrom) {
				def = v
			}
		}
	}
	if own != nil {
		return own.Price, true
	}
	if def != nil {
		return def.Price, true
	}
	return decimal.Zero, false
}

// multTable is the provider's multiplier on each day: the latest entered evaluation covering
// the day, else the latest published quarter's (ledger.ProviderScores.ScoreOn), through the
// band table in force that day; -1 where no score covers the day.
func (r *rater) multTable(provider string) []int32 {
	if t, ok := r.mults[provider]; ok {
		return t
	}
	t := make([]int32, r.days)
	score := make([]int, r.days) // index+1 into the provider's scores, 0 = none
	if ps := r.data.Evaluations[provider]; ps != nil {
		for _, published := range []bool{true, false} { // entered scores last: they win
			for j, ev := range ps.Scores {
				if (ev.Quarter != "") != published {
					continue
				}
				lo := max(0, calendar.DaysBetween(r.base, ev.From))
				hi := min(r.days-1, calendar.DaysBetween(r.base, ev.To))
				for i := lo; i <= hi; i++ {
					score[i] = j + 1
				}
			}
		}
	}
	var last decimal.Decimal
	lastIdx := int32(-1)
	for i := range t {
		t[i] = -1
		if score[i] == 0 {
			continue
		}
		s := r.data.Evaluations[provider].Scores[score[i]-1].Score
		if m, ok := r.bandTableOn(r.date(i)).Multiplier(s); ok {
			if lastIdx < 0 || !m.Equal(last) {
				last, lastIdx = m, intern(m, &r.multVals, r.multIdx)
			}
			t[i] = lastIdx
		}
	}
	r.mults[provider] = t
	return t
}

func (r *rater) bandTableOn(d calendar.Date) ledger.BandTable {
	t := ledger.DefaultBandTable()
	for _, bt := range r.data.BandTables { // sorted by EffectiveFrom
		if bt.EffectiveFrom.After(d) {
			break
		}
		t = bt
	}
	return t
}

func intern(v decimal.Decimal, vals *[]decimal.Decimal, idx map[string]int32) int32 {
	s := v.String()
	if i, ok := idx[s]; ok {
		return i
	}
	i := int32(len(*vals))
	*vals = append(*vals, v)
	idx[s] = i
	return i
}

func (r *rater) priceValue(i int32) decimal.Decimal {
	if i < 0 {
		return decimal.Zero
	}
	return r.priceVals[i]
}

func (r *rater) multValue(i int32) decimal.Decimal {
	if i < 0 {
		return one // no score: multiplier 1, provisional
	}
	return r.multVals[i]
}
