package rating

import (
	"math/bits"
	"slices"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	"github.com/cloudledger/cloudledger/ledger"
)

// MaxRangeDays bounds a rating range (ten years), so that per-day tables stay small.
const MaxRangeDays = 3660

// Options selects what to rate.
type Options struct {
	From, To   calendar.Date // inclusive days, Asia/Shanghai
	Department string        // "" = every department; else only its resources
	Provider   string        // "" = every provider; else only its resources
}

// Key identifies a charge line (SPEC: Rating).
type Key struct {
	Month      calendar.Month
	Department string
	Project    string
	Provider   string
	Item       string
}

func (k Key) compare(o Key) int {
	if c := k.Month.Compare(o.Month); c != 0 { // as "YYYY-MM" sorts: years have four digits (ledger.MinYear)
		return c
	}
	if c := strings.Compare(k.Department, o.Department); c != 0 {
		return c
	}
	if c := strings.Compare(k.Project, o.Project); c != 0 {
		return c
	}
	if c := strings.Compare(k.Provider, o.Provider); c != 0 {
		return c
	}
	return strings.Compare(k.Item, o.Item)
}

// Line is one charge line of charges.csv.
type Line struct {
	Key
	Billing    ledger.Billing
	Unit       string          // what Quantity counts: QuantityUnit of the item (GB·天, or the metered unit)
	Quantity   decimal.Decimal // unit-days Σ q_d (allocation) or units consumed (metered)
	BaseAmount decimal.Decimal // Σ charges of the line's days, half-up to 0.01
	Multiplier decimal.Decimal // unrounded amount ÷ unrounded base, half-up to 4 places
	Amount     decimal.Decimal // Σ charge of day × multiplier of day, half-up to 0.01
	// ProvisionalDays counts the days of the line's month with a charge of the line (held, or
	// used) but no evaluation score: multiplier 1 on them, and the line is provisional.
	ProvisionalDays int
}

// Provisional reports whether any day of the line lacked an evaluation score.
func (l Line) Provisional() bool { return l.ProvisionalDays > 0 }

// Totals are sums of rounded lines.
type Totals struct {
	BaseAmount decimal.Decimal
	Amount     decimal.Decimal
	Lines      int
}

func (t *Totals) add(l Line) {
	t.BaseAmount = t.BaseAmount.Add(l.BaseAmount)
	t.Amount = t.Amount.Add(l.Amount)
	t.Lines++
}

// Result is the rating of a range, with the totals settlement needs.
type Result struct {
	Head     ledger.Head // the ledger state rated
	From, To calendar.Date
	Lines    []Line // sorted by the five key columns
	Total    Totals
	// Totals per department, project, provider, item and month ("2026-03").
	ByDepartment, ByProject, ByProvider, ByItem, ByMonth map[string]Totals
	// Provisional lists the lines with days that had no evaluation score (先审再付).
	Provisional []Line
	// Unscored names, for each provider with a provisional line, the days of the range
	// that no evaluation score covers: what must be scored before settlement can be audited.
	Unscored []UnscoredDays
}

// UnscoredDays are the days of a rated range without an evaluation score of a provider,
// as inclusive ranges in date order.
type UnscoredDays struct {
	Provider string
	Days     []DayRange
}

// DayRange is the days From..To inclusive.
type DayRange struct{ From, To calendar.Date }

// Rate rates the range of opt over d. d may hold more resources than opt selects (a
// ledger.ViewFilter with the same department and provider only saves reading them).
func Rate(d *ledger.View, opt Options) (*Result, error) {
	if err := check(d, opt); err != nil {
		return nil, err
	}
	if k, ok := d.Kept.(*Kept); ok && d.Resources == nil {
		return k.rate(d, opt), nil
	}
	r := newRater(d, opt)
	for _, h := range d.Resources {
		if opt.Department != "" && h.Department != opt.Department || opt.Provider != "" && h.Provider != opt.Provider {
			continue
		}
		r.rateResource(h)
	}
	return r.result(), nil
}

func check(d *ledger.View, opt Options) *errcode.Error {
	if !opt.From.Valid() {
		return errcode.Errf(errcode.InvalidDate, "from", "a start date is required")
	}
	if !opt.To.Valid() {
		return errcode.Errf(errcode.InvalidDate, "to", "an end date is required")
	}
	if opt.To.Before(opt.From) {
		return errcode.Errf(errcode.InvalidRange, "to", "the range ends %s before it starts %s", opt.To, opt.From)
	}
	if calendar.DaysBetween(opt.From, opt.To) >= MaxRangeDays {
		return errcode.Errf(errcode.TooLarge, "to", "a range of at most %d days", MaxRangeDays)
	}
	if opt.Department != "" && d.Departments[opt.Department] == nil {
		return errcode.Errf(errcode.UnknownDepartment, "department", "unknown department %q", opt.Department)
	}
	if opt.Provider != "" && d.Providers[opt.Provider] == nil {
		return errcode.Errf(errcode.UnknownProvider, "provider", "unknown provider %q", opt.Provider)
	}
	return nil
}

// result sorts the lines and adds up the totals from the rounded lines.
func (r *rater) result() *Result {
	res := &Result{Head: r.data.Head, From: r.opt.From, To: r.opt.To,
		ByDepartment: map[string]Totals{}, ByProject: map[string]Totals{}, ByProvider: map[string]Totals{},
		ByItem: map[string]Totals{}, ByMonth: map[string]Totals{}}
	keys := make([]Key, 0, len(r.lines))
	for k := range r.lines {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, Key.compare)
	res.Lines = make([]Line, 0, len(keys))
	for _, k := range keys {
		l, ok := r.line(k, r.lines[k])
		if !ok {
			continue // held nothing and used nothing on the rated days
		}
		res.Lines = append(res.Lines, l)
		res.Total.add(l)
		addTo(res.ByDepartment, k.Department, l)
		addTo(res.ByProject, k.Project, l)
		addTo(res.ByProvider, k.Provider, l)
		addTo(res.ByItem, k.Item, l)
		addTo(res.ByMonth, k.Month.String(), l)
		if l.Provisional() {
			res.Provisional = append(res.Provisional, l)
		}
	}
	res.Unscored = r.unscored(res.Provisional)
	return res
}

// unscored lists the unscored days of the range for the providers of the provisional lines.
func (r *rater) unscored(provisional []Line) []UnscoredDays {
	var providers []string
	for _, l := range provisional {
		if !slices.Contains(providers, l.Provider) {
			providers = append(providers, l.Provider)
		}
	}
	slices.Sort(providers)
	out := make([]UnscoredDays, 0, len(providers))
	for _, p := range providers {
		mults := r.multTable(p)
		u := UnscoredDays{Provider: p}
		for i := r.fi; i <= r.ti; i++ {
			if mults[i] >= 0 {
				continue
			}
			if n := len(u.Days); n > 0 && u.Days[n-1].To == r.date(i-1) {
				u.Days[n-1].To = r.date(i)
			} else {
				u.Days = append(u.Days, DayRange{From: r.date(i), To: r.date(i)})
			}
		}
		out = append(out, u)
	}
	return out
}

func addTo(m map[string]Totals, k string, l Line) {
	t := m[k]
	t.add(l)
	m[k] = t
}

var one = decimal.NewFromInt(1)

// accumulator keeps a line's sums exactly: the units held or used at each (price,
// multiplier) pair, so that the money is computed once per line — Σ price × units and
// Σ price × multiplier × units, over one divisor (the days of the line's month for allocation
// billing, 1 for metered) — and rounded once.
type accumulator struct {
	billing      ledger.Billing
	unit         string
	divisor      int64
	parts        []part
	quantity     units
	unscoredDays uint32 // bit d-1: day d of the line's month had a charge but no score
}

// add adds q held for days days from day firstDay of the line's month (1–31), or q used on
// that day (days = 1), at a price and multiplier (mult < 0: no score, multiplier 1).
func (a *accumulator) add(price, mult int32, q decimal.Decimal, qWhole int64, ok bool, firstDay int, days int64) {
	a.quantity.add(q, qWhole, ok, days)
	if mult < 0 {
		a.unscoredDays |= uint32(1<<days-1) << (firstDay - 1)
	}
	for i := range a.parts {
		if p := &a.parts[i]; p.price == price && p.mult == mult {
			p.units.add(q, qWhole, ok, days)
			return
		}
	}
	a.parts = append(a.parts, part{price: price, mult: mult})
	a.parts[len(a.parts)-1].units.add(q, qWhole, ok, days)
}

// line divides and rounds the line's exact sums; ok is false when the line held and used
// nothing on the rated days.
func (r *rater) line(k Key, a *accumulator) (Line, bool) {
	baseNum, amtNum := decimal.Zero, decimal.Zero
	for _, p := range a.parts {
		charge := r.priceValue(p.price).Mul(p.units.value())
		baseNum = baseNum.Add(charge)
		amtNum = amtNum.Add(charge.Mul(r.multValue(p.mult)))
	}
	quantity := a.quantity.value()
	if quantity.IsZero() && baseNum.IsZero() {
		return Line{}, false
	}
	div := decimal.NewFromInt(a.divisor)
	l := Line{Key: k, Billing: a.billing, Unit: a.unit, Quantity: quantity, ProvisionalDays: bits.OnesCount32(a.unscoredDays),
		BaseAmount: baseNum.DivRound(div, 2), Amount: amtNum.DivRound(div, 2), Multiplier: one}
	if !baseNum.IsZero() {
		l.Multiplier = amtNum.DivRound(baseNum, 4)
	}
	return l, true
}
