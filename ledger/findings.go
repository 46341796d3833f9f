package ledger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
)

// Findings (SPEC: Utilisation; issue 25, rules version 8): the ledger acts on the daily rows
// — 监测 → 警告提示 → 责令整改 → 停止发放并回收. The authority sets the rules with an effective
// date (no rules, no findings); the leader's tick proposes the days in order, each once, up to
// the last day past the lateness allowance; evaluating a day counts each resource's day and
// raises or closes findings by SPEC's table. Apply never reads a clock: the day is the
// command's, the time the entry's.

const (
	TypeUtilisationRules CommandType = 41 // the authority's rules, effective from a day
	TypeEvaluateDay      CommandType = 42 // the leader evaluates one day (bookkeeping)
)

func init() {
	register(TypeUtilisationRules, "utilisation_rules", writesLineItem, func() Body { return new(SetUtilisationRules) })
	register(TypeEvaluateDay, "findings_evaluate", noLineItem, func() Body { return new(EvaluateDay) })
}

// UtilisationRules are the findings' parameters (SPEC: Utilisation, Rules; defaults there).
type UtilisationRules struct {
	EffectiveFrom      calendar.Date   `json:"effective_from"`
	NoMonitoringDays   int             `json:"no_monitoring_days"`
	LowDays            int             `json:"low_days"`
	LowMean            decimal.Decimal `json:"low_mean_pct"`
	LowPeak            decimal.Decimal `json:"low_peak_pct"`
	ZombieDays         int             `json:"zombie_days"`
	ZombiePeak         decimal.Decimal `json:"zombie_peak_pct"`
	AdviceTarget       decimal.Decimal `json:"advice_target_pct"`
	RecoverDays        int             `json:"recover_days"`
	ReviewWorkingDays  int             `json:"review_working_days"`
	RectifyWorkingDays int             `json:"rectify_working_days"`
	LatenessDays       int             `json:"lateness_days"`
}

// equal compares rules by value (decimals by their value, not their representation).
func (r *UtilisationRules) equal(o *UtilisationRules) bool {
	return r.EffectiveFrom == o.EffectiveFrom && r.NoMonitoringDays == o.NoMonitoringDays && r.LowDays == o.LowDays &&
		r.LowMean.Equal(o.LowMean) && r.LowPeak.Equal(o.LowPeak) && r.ZombieDays == o.ZombieDays && r.ZombiePeak.Equal(o.ZombiePeak) &&
		r.AdviceTarget.Equal(o.AdviceTarget) && r.RecoverDays == o.RecoverDays && r.ReviewWorkingDays == o.ReviewWorkingDays &&
		r.RectifyWorkingDays == o.RectifyWorkingDays && r.LatenessDays == o.LatenessDays
}

// DefaultUtilisationRules are SPEC's defaults.
func DefaultUtilisationRules(from calendar.Date) UtilisationRules {
	return UtilisationRules{EffectiveFrom: from, NoMonitoringDays: 7, LowDays: 30, LowMean: decimal.NewFromInt(10), LowPeak: decimal.NewFromInt(30),
		ZombieDays: 60, ZombiePeak: decimal.NewFromInt(5), AdviceTarget: decimal.NewFromInt(70), RecoverDays: 7,
		ReviewWorkingDays: 5, RectifyWorkingDays: 20, LatenessDays: 2}
}

// Bounds of the rules.
const (
	MaxRuleDays        = 366
	MaxRuleWorkingDays = 250
)

// SetUtilisationRules sets the rules from a day on.
type SetUtilisationRules struct{ Rules UtilisationRules }

func (*SetUtilisationRules) Type() CommandType { return TypeUtilisationRules }

func (b *SetUtilisationRules) encode(e *encoder) {
	r := b.Rules
	e.date(r.EffectiveFrom)
	for _, n := range []int{r.NoMonitoringDays, r.LowDays, r.ZombieDays, r.RecoverDays, r.ReviewWorkingDays, r.RectifyWorkingDays, r.LatenessDays} {
		e.uvarint(uint64(n))
	}
	for _, d := range []decimal.Decimal{r.LowMean, r.LowPeak, r.ZombiePeak, r.AdviceTarget} {
		e.dec(d)
	}
}

func (b *SetUtilisationRules) decode(d *decoder) {
	r := &b.Rules
	r.EffectiveFrom = d.date()
	for _, n := range []*int{&r.NoMonitoringDays, &r.LowDays, &r.ZombieDays, &r.RecoverDays, &r.ReviewWorkingDays, &r.RectifyWorkingDays, &r.LatenessDays} {
		v := d.uvarint()
		if v > MaxRuleDays {
			d.fail("rule out of range")
		}
		*n = int(v)
	}
	for _, x := range []*decimal.Decimal{&r.LowMean, &r.LowPeak, &r.ZombiePeak, &r.AdviceTarget} {
		*x = d.dec()
	}
}

func (b *SetUtilisationRules) validate(rl rules) *Error {
	if !rl.findings {
		return Errf(errcode.InvalidValue, "", "findings need rules version 8 (the cluster is upgrading)")
	}
	r := b.Rules
	if err := dateInRange("effective_from", r.EffectiveFrom); err != nil {
		return err
	}
	for _, c := range []struct {
		name      string
		v, lo, hi int
	}{{"no_monitoring_days", r.NoMonitoringDays, 1, MaxRuleDays}, {"low_days", r.LowDays, 1, MaxRuleDays}, {"zombie_days", r.ZombieDays, 1, MaxRuleDays},
		{"recover_days", r.RecoverDays, 1, MaxRuleDays}, {"review_working_days", r.ReviewWorkingDays, 1, MaxRuleWorkingDays},
		{"rectify_working_days", r.RectifyWorkingDays, 1, MaxRuleWorkingDays}, {"lateness_days", r.LatenessDays, 0, MaxRuleDays}} {
		if c.v < c.lo || c.v > c.hi {
			return Errf(errcode.InvalidValue, c.name, "%s is %d to %d, not %d", c.name, c.lo, c.hi, c.v)
		}
	}
	for _, c := range []struct {
		name string
		v    decimal.Decimal
	}{{"low_mean_pct", r.LowMean}, {"low_peak_pct", r.LowPeak}, {"zombie_peak_pct", r.ZombiePeak}, {"advice_target_pct", r.AdviceTarget}} {
		if !c.v.IsPositive() || c.v.GreaterThan(hundred) || !c.v.Equal(c.v.Round(2)) {
			return Errf(errcode.InvalidValue, c.name, "%s is a percentage above 0 and at most 100 with at most 2 decimals, not %s", c.name, c.v)
		}
	}
	if r.AdviceTarget.LessThan(r.LowPeak) {
		// Below it the advice could exceed what is held: no reduce would follow it.
		return Errf(errcode.InvalidValue, "advice_target_pct", "advice_target_pct (%s) is at least low_peak_pct (%s)", r.AdviceTarget, r.LowPeak)
	}
	return nil
}

func (b *SetUtilisationRules) apply(t *txn, _ applyContext) *Error {
	r := b.Rules
	if cur, ok := t.utilRules.get(r.EffectiveFrom); ok && cur.equal(&r) {
		return errUnchanged
	}
	// The days evaluated stay as they were judged, and so do the periods of the findings
	// raised on them: rules apply from the first day not yet evaluated (SPEC: Rules).
	if v, ok := t.settings.get(metaEvaluatedThrough); ok {
		if through, err := calendar.ParseDate(v); err == nil && !r.EffectiveFrom.After(through) {
			return Errf(errcode.InvalidValue, "effective_from", "the days through %s are evaluated: new rules apply from %s on", through, through.AddDays(1))
		}
	}
	t.utilRules.put(r.EffectiveFrom, &r)
	// Monitoring is switched on from the first rules' day; until a day is evaluated an
	// earlier date may still move it (nothing was judged yet), never after.
	_, evaluated := t.settings.get(metaEvaluatedThrough)
	if from, ok := t.monitoringFrom(); !ok || (!evaluated && r.EffectiveFrom.Before(from)) {
		t.settings.put(metaMonitoringFrom, r.EffectiveFrom.String())
	}
	return nil
}

// rulesOn are the rules in force on day d (the latest effective on or before it).
func (t *txn) rulesOn(d calendar.Date) (*UtilisationRules, bool) {
	return latestOn(t.utilRules, d)
}

// monitoringFrom is the day monitoring was switched on: the first rules' day.
func (t *txn) monitoringFrom() (calendar.Date, bool) {
	v, ok := t.settings.get(metaMonitoringFrom)
	if !ok {
		return calendar.Date{}, false
	}
	d, err := calendar.ParseDate(v)
	return d, err == nil
}

const (
	metaMonitoringFrom   = "findings_monitoring_from"
	metaEvaluatedThrough = "findings_evaluated_through"
)

// nextDayToEvaluate is the day the next evaluation must be of: the day after the last
// evaluated, or the day monitoring was switched on.
func (t *txn) nextDayToEvaluate() (calendar.Date, bool) {
	from, ok := t.monitoringFrom()
	if !ok {
		return calendar.Date{}, false
	}
	if v, ok := t.settings.get(metaEvaluatedThrough); ok {
		if d, err := calendar.ParseDate(v); err == nil && !d.Before(from) {
			return d.AddDays(1), true
		}
	}
	return from, true
}

// NextDayToEvaluate is the day the leader's next evaluation is of, and whether it is due at
// now: past its end by the lateness allowance of the rules in force on it.
func (l *Ledger) NextDayToEvaluate(now time.Time) (calendar.Date, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	d, ok := l.root.nextDayToEvaluate()
	if !ok {
		return d, false
	}
	r, _ := l.root.rulesOn(d)
	if r == nil {
		return d, false
	}
	return d, !now.Before(d.AddDays(1 + r.LatenessDays).Start())
}

// EvaluateDay evaluates one day (proposed by the leader, in order, each once).
type EvaluateDay struct{ Day calendar.Date }

func (*EvaluateDay) Type() CommandType          { return TypeEvaluateDay }
func (b *EvaluateDay) encode(e *encoder)        { e.date(b.Day) }
func (b *EvaluateDay) decode(d *decoder)        { b.Day = d.date() }
func (b *EvaluateDay) validate(rl rules) *Error { return nil }

func (b *EvaluateDay) apply(t *txn, ctx applyContext) *Error {
	if !ctx.rules.findings {
		return Errf(errcode.InvalidValue, "", "findings need rules version 8")
	}
	// A day that is not the next one (another leader's proposal of a day evaluated already),
	// or not past its allowance at the entry's time, is no work: nothing changes.
	next, ok := t.nextDayToEvaluate()
	if !ok || b.Day != next {
		return nil
	}
	r, _ := t.rulesOn(b.Day)
	if r == nil || ctx.recordedAt.Before(b.Day.AddDays(1+r.LatenessDays).Start()) {
		return nil
	}
	t.evaluate(b.Day, r, ctx)
	t.settings.put(metaEvaluatedThrough, b.Day.String())
	return nil
}

// FindingKind is what a finding is about.
type FindingKind string

const (
	FindingNoMonitoring FindingKind = "no_monitoring"   // SH 25: monitoring tampered with, blocked or removed
	FindingLow          FindingKind = "low_utilisation" // 使用率长期较低
	FindingZombie       FindingKind = "zombie"          // 僵尸系统 (a project)
)

// FindingKinds lists the kinds; FindingStates the states, in lifecycle order.
var (
	FindingKinds  = []FindingKind{FindingNoMonitoring, FindingLow, FindingZombie}
	FindingStates = []FindingState{FindingDetected, FindingWarned, FindingDismissed, FindingExplained, FindingClosed, FindingOverdue, FindingEnforced, FindingRectified}
)

// FindingState is where a finding is in its lifecycle.
type FindingState string

const (
	FindingDetected  FindingState = "detected"
	FindingWarned    FindingState = "warned"
	FindingDismissed FindingState = "dismissed"
	FindingExplained FindingState = "explained"
	FindingClosed    FindingState = "closed" // an explanation accepted
	FindingOverdue   FindingState = "overdue"
	FindingEnforced  FindingState = "enforced"
	FindingRectified FindingState = "rectified"
)

// Open reports whether a finding in state s may still act (a subject has one open finding
// of a kind at a time).
func (s FindingState) Open() bool {
	return s != FindingDismissed && s != FindingClosed && s != FindingRectified
}

// Evidence is what a finding was raised on: its window of counted days, their days with
// rows, and the window's mean (of the daily means) and peak.
type Evidence struct {
	From calendar.Date   `json:"from"`
	To   calendar.Date   `json:"to"`
	Days int             `json:"days"`
	Rows int             `json:"rows"`
	Mean decimal.Decimal `json:"mean_pct"`
	Peak decimal.Decimal `json:"peak_pct"`
}

// FindingStep is one step of a finding's lifecycle.
type FindingStep struct {
	State  FindingState `json:"state"`
	Actor  string       `json:"actor"`
	At     time.Time    `json:"at"`
	Reason string       `json:"reason,omitempty"`
}

// Finding is one finding.
type Finding struct {
	ID         string        `json:"id"` // FND-00000001
	Seq        uint64        `json:"seq"`
	Kind       FindingKind   `json:"kind"`
	Subject    string        `json:"subject"` // a resource, or a project for a zombie
	Department string        `json:"department"`
	Provider   string        `json:"provider,omitempty"`
	RaisedOn   calendar.Date `json:"raised_on"`
	State      FindingState  `json:"state"`
	// Deadline is the current step's due day (the review's, then the rectification's),
	// DueDays working days after DueFrom, the step's own time.
	Deadline calendar.Date `json:"deadline,omitzero"`
	// DeadlineUnknown: the calendar of the deadline's year is not loaded yet; the tick
	// works it out once it is.
	DeadlineUnknown bool      `json:"deadline_unknown,omitempty"`
	DueFrom         time.Time `json:"due_from,omitzero"`
	DueDays         int       `json:"due_working_days,omitempty"`
	// WarnedAt and RectifyDays are the warning's time and period: a rejected explanation
	// returns the finding to warned with its original deadline.
	WarnedAt    time.Time     `json:"warned_at,omitzero"`
	RectifyDays int           `json:"rectify_working_days,omitempty"`
	ClosedOn    calendar.Date `json:"closed_on,omitzero"`
	Evidence    Evidence      `json:"evidence"`
	// Advice is a low_utilisation finding's adjusted quantity (HLJ 17: ceil(q × peak ÷
	// target), at least 1) and Quantity the q it was worked from.
	Advice   decimal.Decimal `json:"advice,omitzero"`
	Quantity decimal.Decimal `json:"quantity,omitzero"`
	Steps    []FindingStep   `json:"steps"`
}

// runs is a resource's counters over its counted days (the evaluation's state).
type runs struct {
	NoRow   int `json:"no_row"`  // counted days since the last one with a row
	Low     int `json:"low"`     // consecutive counted days with a low row
	Zombie  int `json:"zombie"`  // consecutive counted days with a row of peak < P
	Recover int `json:"recover"` // days of recovery of its open low_utilisation finding
	// LateRow is the first counted day after its open no_monitoring finding was raised
	// whose row arrived after the day was evaluated: the next evaluation closes the
	// finding, dated that day.
	LateRow calendar.Date `json:"late_row,omitzero"`
	// Changes are its expansions and reductions dated after the evaluation's frontier (the
	// next day to evaluate), so that a day evaluated late knows what it held at its end.
	Changes []quantityChange `json:"changes,omitempty"`
}

// readStoredJSON reads runs as json.Marshal writes them — the four counters, no late row,
// the changes as MarshalJSON writes them — without reflection: a ledger whose days are not
// evaluated holds a change for nearly every line item, read at every open. Anything else
// (a late row, another layout) answers false and is read by encoding/json.
func (n *runs) readStoredJSON(raw []byte) bool {
	b := raw
	num := func(prefix string) (int, bool) {
		rest, ok := bytes.CutPrefix(b, []byte(prefix))
		if !ok {
			return 0, false
		}
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || i == 0 && rest[i] == '-') {
			i++
		}
		v, err := strconv.Atoi(string(rest[:i]))
		b = rest[i:]
		return v, err == nil && strconv.Itoa(v) == string(rest[:i]) // as encoding/json writes it
	}
	var out runs
	var ok [4]bool
	out.NoRow, ok[0] = num(`{"no_row":`)
	out.Low, ok[1] = num(`,"low":`)
	out.Zombie, ok[2] = num(`,"zombie":`)
	out.Recover, ok[3] = num(`,"recover":`)
	if ok != [4]bool{true, true, true, true} {
		return false
	}
	if rest, has := bytes.CutPrefix(b, []byte(`,"changes":[`)); has {
		b = rest
		for {
			end := bytes.IndexByte(b, '}')
			if end < 0 {
				return false
			}
			c, read := readQuantityChange(b[:end+1])
			if !read {
				return false
			}
			out.Changes = append(out.Changes, c)
			b = b[end+1:]
			if rest, more := bytes.CutPrefix(b, []byte(",")); more {
				b = rest
				continue
			}
			if rest, last := bytes.CutPrefix(b, []byte("]")); last {
				b = rest
				break
			}
			return false
		}
	}
	if string(b) != "}" {
		return false
	}
	out.Changes = slices.Clip(out.Changes)
	*n = out
	return true
}

// quantityChange is an expansion (positive) or reduction (negative) and its effective time,
// held compactly: a ledger whose days are not evaluated yet keeps every change of every
// monitored resource (noteQuantityChange), so a change is 32 bytes here where a time.Time
// and a decimal with its big.Int took about 96. It reads and writes the JSON it always had.
type quantityChange struct {
	at   int64 // unix nanoseconds
	zone int32 // the time's UTC offset in seconds, as it was given
	exp  int32 // the delta is coef × 10^exp, or big where coef cannot hold it
	coef int64
	big  *decimal.Decimal
}

func newQuantityChange(at time.Time, delta decimal.Decimal) quantityChange {
	_, zone := at.Zone()
	c := quantityChange{at: at.UnixNano(), zone: int32(zone)}
	if co := delta.Coefficient(); co.IsInt64() {
		c.coef, c.exp = co.Int64(), delta.Exponent()
	} else {
		c.big = &delta
	}
	return c
}

// At is the change's effective time, in the offset it was given in.
func (c quantityChange) At() time.Time {
	return time.Unix(0, c.at).In(time.FixedZone("", int(c.zone)))
}

// Delta is the change of quantity.
func (c quantityChange) Delta() decimal.Decimal {
	if c.big != nil {
		return *c.big
	}
	return decimal.New(c.coef, c.exp)
}

// readQuantityChange reads a change exactly as MarshalJSON writes it — the time and the
// quantity in their canonical text, so that nothing encoding/json would read otherwise.
func readQuantityChange(b []byte) (quantityChange, bool) {
	at, delta, ok := cutQuantityChange(b)
	if !ok {
		return quantityChange{}, false
	}
	if c, ok := quickQuantityChange(at, delta); ok {
		return c, true
	}
	return parsedQuantityChange(at, delta)
}

// parsedQuantityChange reads a change's text through time.Parse and decimal, strictly: only
// the canonical text, which MarshalJSON would write again byte for byte.
func parsedQuantityChange(at, delta string) (quantityChange, bool) {
	t, terr := time.Parse(time.RFC3339Nano, at)
	d, derr := decimal.NewFromString(delta)
	if terr != nil || derr != nil || t.Format(time.RFC3339Nano) != at || d.String() != delta {
		return quantityChange{}, false
	}
	return newQuantityChange(t, d), true
}

// quickQuantityChange reads the common change — a whole quantity, a time as RFC3339Nano
// writes it — by hand, strictly: anything it is not sure of (a fraction of a unit, an odd
// zone) is left to time.Parse and decimal (a state file of 10,000,000 line items spent 2.7 s
// of its open in them).
func quickQuantityChange(at, delta string) (quantityChange, bool) {
	coef, ok := canonicalWhole(delta)
	if !ok {
		return quantityChange{}, false
	}
	nanos, zone, ok := canonicalTime(at)
	if !ok {
		return quantityChange{}, false
	}
	return quantityChange{at: nanos, zone: zone, coef: coef}, true
}

// canonicalWhole reads a whole number as decimal writes it: digits, a minus sign but on zero,
// no leading zero, at most 18 digits.
func canonicalWhole(s string) (int64, bool) {
	digits, neg := strings.CutPrefix(s, "-")
	if len(digits) == 0 || len(digits) > 18 || digits[0] == '0' && (len(digits) > 1 || neg) {
		return 0, false
	}
	var n int64
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// canonicalTime reads YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM) exactly as time.RFC3339Nano
// writes it (a fraction without trailing zeros, Z for a zero offset): unix nanoseconds and
// the offset in seconds.
func canonicalTime(s string) (int64, int32, bool) {
	num := func(from, n int) (int, bool) {
		v := 0
		for i := from; i < from+n; i++ {
			if i >= len(s) || s[i] < '0' || s[i] > '9' {
				return 0, false
			}
			v = v*10 + int(s[i]-'0')
		}
		return v, true
	}
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return 0, 0, false
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 2)
	d, ok3 := num(8, 2)
	h, ok4 := num(11, 2)
	mi, ok5 := num(14, 2)
	se, ok6 := num(17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59 {
		return 0, 0, false
	}
	rest, ns := s[19:], 0
	if strings.HasPrefix(rest, ".") {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		digits := rest[1:i]
		if len(digits) == 0 || len(digits) > 9 || digits[len(digits)-1] == '0' {
			return 0, 0, false
		}
		for j := 0; j < 9; j++ {
			ns *= 10
			if j < len(digits) {
				ns += int(digits[j] - '0')
			}
		}
		rest = rest[i:]
	}
	off := 0
	switch {
	case rest == "Z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := num(len(s)-5, 2)
		om, ok2 := num(len(s)-2, 2)
		if !ok1 || !ok2 || oh > 23 || om > 59 || oh == 0 && om == 0 {
			return 0, 0, false
		}
		off = oh*3600 + om*60
		if rest[0] == '-' {
			off = -off
		}
	default:
		return 0, 0, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, se, ns, time.UTC)
	if t.Day() != d || t.Year() < 1678 || t.Year() > 2261 { // 30 February; UnixNano's range
		return 0, 0, false
	}
	return t.UnixNano() - int64(off)*int64(time.Second), int32(off), true
}

// cutQuantityChange splits {"at":"T","delta":"D"}, exactly as MarshalJSON writes it.
func cutQuantityChange(b []byte) (at, delta string, ok bool) {
	rest, ok := bytes.CutPrefix(b, []byte(`{"at":"`))
	if !ok {
		return "", "", false
	}
	i := bytes.IndexByte(rest, '"')
	if i < 0 {
		return "", "", false
	}
	at = string(rest[:i])
	if rest, ok = bytes.CutPrefix(rest[i+1:], []byte(`,"delta":"`)); !ok {
		return "", "", false
	}
	i = bytes.IndexByte(rest, '"')
	if i < 0 || string(rest[i+1:]) != "}" || bytes.IndexByte(rest[:i], '\\') >= 0 {
		return "", "", false
	}
	return at, string(rest[:i]), true
}

// quantityChangeJSON is a change as stored.
type quantityChangeJSON struct {
	At    time.Time       `json:"at"`
	Delta decimal.Decimal `json:"delta"`
}

func (c quantityChange) MarshalJSON() ([]byte, error) {
	return json.Marshal(quantityChangeJSON{At: c.At(), Delta: c.Delta()})
}

func (c *quantityChange) UnmarshalJSON(b []byte) error {
	// What MarshalJSON wrote is read without reflection (a state file holds millions of
	// these, all read at open); anything else goes through encoding/json.
	if read, ok := readQuantityChange(b); ok {
		*c = read
		return nil
	}
	var j quantityChangeJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*c = newQuantityChange(j.At, j.Delta)
	return nil
}

// noteQuantityChange remembers a change of a counted kind of resource that a day still to
// evaluate may come before (heldAtEnd subtracts it from such days): every change until the
// first day is evaluated — rules may yet be set, or moved, to start from any past day —
// then those dated at or after the start of the next day to evaluate.
func (t *txn) noteQuantityChange(r *Resource, at time.Time, delta decimal.Decimal, ctx applyContext) {
	if !ctx.rules.findings || r.Kind != KindStandard || !t.monitored(r) {
		return
	}
	if _, evaluated := t.settings.get(metaEvaluatedThrough); evaluated {
		if next, ok := t.nextDayToEvaluate(); ok && at.Before(next.Start()) {
			return
		}
	}
	st, _ := t.utilRuns.get(r.ID)
	n := runs{}
	if st != nil {
		n = *st
	}
	// A new slice (the stored runs are shared), of exactly the size it needs: it is kept.
	cs := make([]quantityChange, len(n.Changes)+1)
	copy(cs, n.Changes)
	cs[len(n.Changes)] = newQuantityChange(at, delta)
	n.Changes = cs
	t.utilRuns.put(r.ID, &n)
}

// projectRuns is a project's recovery counter of its open zombie finding.
type projectRuns struct {
	Recover int `json:"recover"`
}

// closeTime is when a closed resource stopped holding (its reclaim, or its expiry).
func closeTime(r *Resource) time.Time {
	if r.Expired {
		return r.Expires
	}
	return r.LastTime
}

// openAllDay reports whether r held all of day d: opened before it began, not closed before
// it ended.
func openAllDay(r *Resource, d calendar.Date) bool {
	return r.Opened.Before(d.Start()) && (!r.Closed || !closeTime(r).Before(d.AddDays(1).Start()))
}

// counted reports whether resource r counts on day d (SPEC: Counted days).
func (t *txn) counted(r *Resource, d calendar.Date, from calendar.Date) bool {
	return r.Kind == KindStandard && !d.Before(from) && t.monitored(r) && openAllDay(r, d) && t.inSeason(r.Project, d)
}

// inSeason reports whether day d is in one of a project's seasons (always, without any).
func (t *txn) inSeason(project string, d calendar.Date) bool {
	ss, ok := t.seasons.get(project)
	if !ok || len(ss.Seasons) == 0 {
		return true
	}
	for _, s := range ss.Seasons {
		if s.covers(d) {
			return true
		}
	}
	return false
}

// evaluate counts day d for every resource and project and raises or closes findings.
func (t *txn) evaluate(d calendar.Date, rl *UtilisationRules, ctx applyContext) {
	from, _ := t.monitoringFrom()
	var ids []string
	t.resources.each(func(id string, _ *Resource) { ids = append(ids, id) })
	slices.Sort(ids)
	type projectDay struct {
		counted, idle bool // a resource counted; every open one counted and idle long enough
		recovering    bool // one has a row at peak ≥ P
		anyRow        bool // one has a row
		open          int
		members       []*Resource // its monitored standard resources open at the end of d
	}
	projects := map[string]*projectDay{}
	for _, id := range ids {
		r := must(t.resources, id, "resource")
		if r.Kind != KindStandard || !t.monitored(r) {
			continue
		}
		pd := projects[r.Project]
		if pd == nil {
			pd = &projectDay{idle: true}
			projects[r.Project] = pd
		}
		openAtEnd := r.Opened.Before(d.AddDays(1).Start()) && (!r.Closed || !closeTime(r).Before(d.AddDays(1).Start()))
		if openAtEnd {
			pd.open++
			pd.members = append(pd.members, r)
		}
		st, _ := t.utilRuns.get(id)
		n := runs{}
		if st != nil {
			n = *st
		}
		if !n.LateRow.IsZero() { // a late row of a day already evaluated closes no_monitoring
			if f := t.openFinding(FindingNoMonitoring, id); f != nil {
				t.closeFinding(f, n.LateRow, ctx)
			}
			n.LateRow, n.NoRow = calendar.Date{}, 0
			t.utilRuns.put(id, &n)
		}
		if !t.counted(r, d, from) {
			if openAtEnd {
				pd.idle = false // open at the end of d but not counted on it: the project is not idle on d
			}
			if len(n.Changes) > 0 {
				n.Changes = pastFrontier(n.Changes, d)
				t.utilRuns.put(id, &n)
			}
			continue
		}
		pd.counted = true
		row, has := t.utilRow(id, d)
		if has {
			n.NoRow = 0
		} else {
			n.NoRow++
		}
		low := has && row.Mean.LessThan(rl.LowMean) && row.Peak.LessThan(rl.LowPeak)
		if low {
			n.Low++
		} else {
			n.Low = 0
		}
		if has && row.Peak.LessThan(rl.ZombiePeak) {
			n.Zombie++
		} else {
			n.Zombie = 0
		}
		if !(n.Zombie >= rl.ZombieDays) && openAtEnd {
			pd.idle = false
		}
		if has {
			pd.anyRow = true
			if !row.Peak.LessThan(rl.ZombiePeak) {
				pd.recovering = true
			}
		}
		// A closed resource raises none: nothing is left to warn about. (Its open findings
		// closed when it was reclaimed, in rectifyByChange; a standard resource, the only
		// kind counted, never expires.)
		// no_monitoring: closed by the first counted day with a row; raised after N without.
		if f := t.openFinding(FindingNoMonitoring, id); f != nil {
			if has {
				t.closeFinding(f, d, ctx)
				n.NoRow = 0
			}
		} else if n.NoRow >= rl.NoMonitoringDays && !r.Closed {
			t.raiseFinding(&Finding{Kind: FindingNoMonitoring, Subject: id, Department: r.Department, Provider: r.Provider,
				Evidence: t.evidence(r, d, rl.NoMonitoringDays, from)}, d, rl, ctx)
		}
		// low_utilisation: closed by R counted days whose row fails the test (a day without a
		// row neither counts nor breaks); raised after N low days in a row.
		if f := t.openFinding(FindingLow, id); f != nil {
			switch {
			case has && !low:
				n.Recover++
			case low:
				n.Recover = 0
			}
			if n.Recover >= rl.RecoverDays {
				t.closeFinding(f, d, ctx)
				n.Recover, n.Low = 0, 0
			}
		} else if n.Low >= rl.LowDays && !r.Closed {
			ev := t.evidence(r, d, rl.LowDays, from)
			q := t.heldAtEnd(r, &n, d)
			advice := q.Mul(ev.Peak).Div(rl.AdviceTarget).Ceil()
			if advice.LessThan(decimal.NewFromInt(1)) {
				advice = decimal.NewFromInt(1)
			}
			t.raiseFinding(&Finding{Kind: FindingLow, Subject: id, Department: r.Department, Provider: r.Provider, Evidence: ev,
				Advice: advice, Quantity: q}, d, rl, ctx)
			n.Recover = 0
		}
		n.Changes = pastFrontier(n.Changes, d)
		t.utilRuns.put(id, &n)
	}
	var pids []string
	for p := range projects {
		pids = append(pids, p)
	}
	slices.Sort(pids)
	for _, p := range pids {
		pd := projects[p]
		f := t.openFinding(FindingZombie, p)
		if f != nil {
			if pd.open == 0 {
				t.closeFinding(f, d, ctx)
				continue
			}
			if !pd.counted {
				continue
			}
			pr, _ := t.projectRuns.get(p)
			n := projectRuns{}
			if pr != nil {
				n = *pr
			}
			switch { // a day without any row neither counts nor breaks the run
			case pd.recovering:
				n.Recover++
			case pd.anyRow:
				n.Recover = 0
			}
			if n.Recover >= rl.RecoverDays {
				t.closeFinding(f, d, ctx) // resets the project's runs
				continue
			}
			t.projectRuns.put(p, &n)
			continue
		}
		if pd.counted && pd.idle && pd.open > 0 {
			prj, _ := t.projects.get(p)
			dept := ""
			if prj != nil {
				dept = prj.Department
			}
			t.raiseFinding(&Finding{Kind: FindingZombie, Subject: p, Department: dept,
				Evidence: t.projectEvidence(pd.members, d, rl.ZombieDays, from)}, d, rl, ctx)
		}
	}
}

// noteLateRow marks a row that arrived for a day already evaluated, after the resource's
// open no_monitoring finding was raised: the next evaluation closes the finding, dated the
// earliest such day.
func (t *txn) noteLateRow(r *Resource, day calendar.Date) {
	f := t.openFinding(FindingNoMonitoring, r.ID)
	if f == nil || !f.RaisedOn.Before(day) {
		return
	}
	next, ok := t.nextDayToEvaluate()
	from, _ := t.monitoringFrom()
	if !ok || !day.Before(next) || !t.counted(r, day, from) {
		return // not evaluated yet: its evaluation sees the row
	}
	st, _ := t.utilRuns.get(r.ID)
	n := runs{}
	if st != nil {
		n = *st
	}
	if n.LateRow.IsZero() || day.Before(n.LateRow) {
		n.LateRow = day
		t.utilRuns.put(r.ID, &n)
	}
}

// resetZombie restarts the zombie runs of a project's resources (a new finding needs a
// whole new window).
func (t *txn) resetZombie(project string) {
	var ids []string
	t.resources.each(func(id string, r *Resource) {
		if r.Project == project {
			ids = append(ids, id)
		}
	})
	slices.Sort(ids)
	for _, id := range ids {
		if st, ok := t.utilRuns.get(id); ok && st.Zombie != 0 {
			n := *st
			n.Zombie = 0
			t.utilRuns.put(id, &n)
		}
	}
}

// evidence reads a resource's window: its last n counted days up to d, their rows, mean and
// peak (the rows are read back from the table: raising is rare, the window short).
func (t *txn) evidence(r *Resource, d calendar.Date, n int, from calendar.Date) Evidence {
	ev := Evidence{To: d}
	sum := decimal.Zero
	for day := d; ev.Days < n && !day.Before(from); day = day.AddDays(-1) {
		if !t.counted(r, day, from) {
			continue
		}
		ev.Days++
		ev.From = day
		if row, ok := t.utilRow(r.ID, day); ok {
			ev.Rows++
			sum = sum.Add(row.Mean)
			if row.Peak.GreaterThan(ev.Peak) {
				ev.Peak = row.Peak
			}
		}
	}
	if ev.Rows > 0 {
		ev.Mean = sum.DivRound(decimal.NewFromInt(int64(ev.Rows)), 2)
	}
	return ev
}

// pastFrontier drops the changes dated by the end of d, the day just evaluated: no day
// still to evaluate is before them.
func pastFrontier(cs []quantityChange, d calendar.Date) []quantityChange {
	return slices.DeleteFunc(slices.Clone(cs), func(c quantityChange) bool { return c.at < d.AddDays(1).Start().UnixNano() })
}

// projectEvidence is a zombie project's window: its resources' last n counted days, the
// earliest first day, the most days, all their rows, the mean of the rows' means and the
// largest peak.
func (t *txn) projectEvidence(members []*Resource, d calendar.Date, n int, from calendar.Date) Evidence {
	ev := Evidence{To: d, From: d}
	weighted := decimal.Zero
	for _, r := range members {
		e := t.evidence(r, d, n, from)
		if e.From.Before(ev.From) {
			ev.From = e.From
		}
		ev.Days = max(ev.Days, e.Days)
		ev.Rows += e.Rows
		weighted = weighted.Add(e.Mean.Mul(decimal.NewFromInt(int64(e.Rows))))
		if e.Peak.GreaterThan(ev.Peak) {
			ev.Peak = e.Peak
		}
	}
	if ev.Rows > 0 {
		ev.Mean = weighted.DivRound(decimal.NewFromInt(int64(ev.Rows)), 2)
	}
	return ev
}

// heldAtEnd is what a resource holds at the end of day d (SPEC: q at the end of D): its
// quantity now less the changes dated after d (runs.Changes).
func (t *txn) heldAtEnd(r *Resource, n *runs, d calendar.Date) decimal.Decimal {
	q := r.Quantity
	end := d.AddDays(1).Start().UnixNano()
	for _, c := range n.Changes {
		if c.at >= end {
			q = q.Sub(c.Delta())
		}
	}
	return q
}

const metaFindingSeq = "finding_seq"

func openKey(kind FindingKind, subject string) string { return string(kind) + "\x00" + subject }

// openFinding is the open finding of a kind about a subject, nil for none.
func (t *txn) openFinding(kind FindingKind, subject string) *Finding {
	id, ok := t.openFindings.get(openKey(kind, subject))
	if !ok || id == "" {
		return nil
	}
	f, ok := t.findings.get(id)
	if !ok || !f.State.Open() {
		return nil
	}
	return f
}

// raiseFinding records a new finding, detected on d, the authority's review due in the
// rules' working days, and tells the authority.
func (t *txn) raiseFinding(f *Finding, d calendar.Date, rl *UtilisationRules, ctx applyContext) {
	s, _ := t.settings.get(metaFindingSeq)
	seq, _ := strconv.ParseUint(s, 10, 64)
	seq++
	t.settings.put(metaFindingSeq, strconv.FormatUint(seq, 10))
	f.ID, f.Seq, f.RaisedOn, f.State = fmt.Sprintf("FND-%08d", seq), seq, d, FindingDetected
	f.Steps = []FindingStep{{State: FindingDetected, Actor: "system", At: ctx.recordedAt}}
	t.setDeadline(f, ctx.recordedAt, rl.ReviewWorkingDays)
	t.findings.put(f.ID, f)
	t.openFindings.put(openKey(f.Kind, f.Subject), f.ID)
	t.findingNotices(f, ctx)
	t.recordSystemStep(f, d)
}

// stepFinding writes a finding's new state, its step, and what it tells.
func (t *txn) stepFinding(f *Finding, to FindingState, actor, reason string, ctx applyContext, change func(n *Finding)) *Finding {
	n := *f
	n.State = to
	n.Steps = append(slices.Clone(f.Steps), FindingStep{State: to, Actor: actor, At: ctx.recordedAt, Reason: reason})
	if change != nil {
		change(&n)
	}
	t.findings.put(n.ID, &n)
	if !to.Open() {
		t.openFindings.put(openKey(n.Kind, n.Subject), "")
		t.resetRuns(&n)
		if f.State == FindingEnforced { // only an enforcement raises reclaim requests
			t.cancelReclaims(&n, ctx)
		}
	}
	t.setSuspension(&n)
	t.findingNotices(&n, ctx)
	if actor == "system" {
		day := n.ClosedOn
		if day.IsZero() {
			day = calendar.DateOf(ctx.recordedAt)
		}
		t.recordSystemStep(&n, day)
	}
	return &n
}

// setDeadline sets a finding's due day n working days after the step's own time, or marks it
// unknown until the calendar of its year is loaded.
func (t *txn) setDeadline(f *Finding, at time.Time, n int) {
	f.DueFrom, f.DueDays = at, n
	due, err := t.cal.Due(calendar.DateOf(at), n)
	f.Deadline, f.DeadlineUnknown = due, err != nil
	if err != nil {
		f.Deadline = calendar.Date{}
	}
}

// clearDeadline: the step has no due day (enforced, closed).
func clearDeadline(f *Finding) {
	f.Deadline, f.DeadlineUnknown, f.DueFrom, f.DueDays = calendar.Date{}, false, time.Time{}, 0
}

// closeFinding closes a finding by itself as rectified, dated d (never before it was
// raised: a change of late history may be dated earlier).
func (t *txn) closeFinding(f *Finding, d calendar.Date, ctx applyContext) {
	if d.Before(f.RaisedOn) {
		d = f.RaisedOn
	}
	t.stepFinding(f, FindingRectified, "system", "", ctx, func(n *Finding) {
		n.ClosedOn = d
		clearDeadline(n)
	})
}

// resetRuns restarts a closed finding's subject's counters: the same subject is raised again
// only over a whole new window after that day.
func (t *txn) resetRuns(f *Finding) {
	if f.Kind == FindingZombie {
		t.resetZombie(f.Subject)
		t.projectRuns.put(f.Subject, &projectRuns{})
		return
	}
	st, ok := t.utilRuns.get(f.Subject)
	if !ok {
		return
	}
	n := *st
	switch f.Kind {
	case FindingNoMonitoring:
		n.NoRow, n.LateRow = 0, calendar.Date{}
	case FindingLow:
		n.Low, n.Recover = 0, 0
	}
	t.utilRuns.put(f.Subject, &n)
}

// findingsTick is the tick's part: deadlines of a year whose calendar has since been loaded
// are worked out, and a warned finding past its rectification deadline becomes overdue (the
// day is the tick's: the entry's time).
func (t *txn) findingsTick(ctx applyContext) {
	if !ctx.rules.findings {
		return
	}
	today := calendar.DateOf(ctx.recordedAt)
	for _, id := range t.findingsToTick(today) {
		f := must(t.findings, id, "finding")
		if f.DeadlineUnknown {
			n := *f
			t.setDeadline(&n, n.DueFrom, n.DueDays)
			if n.DeadlineUnknown {
				continue
			}
			t.findings.put(id, &n)
			t.findingNotices(&n, ctx) // the deadline is known now: its party is told the day
			f = &n
		}
		if f.State == FindingWarned && f.Deadline.Before(today) {
			t.stepFinding(f, FindingOverdue, "system", "", ctx, func(n *Finding) {
				t.setDeadline(n, ctx.recordedAt, t.findingRules(n).ReviewWorkingDays)
			})
		}
	}
}

// findingsToTick lists the open findings the tick has work for on day today, by id.
func (t *txn) findingsToTick(today calendar.Date) []string {
	var due []string
	t.openFindings.each(func(_ string, id string) {
		if id == "" {
			return
		}
		f, ok := t.findings.get(id)
		if !ok {
			return
		}
		if f.DeadlineUnknown && t.knowsDue(f) || f.State == FindingWarned && !f.DeadlineUnknown && f.Deadline.Before(today) {
			due = append(due, id)
		}
	})
	slices.Sort(due)
	return due
}

// knowsDue reports whether an unknown deadline can be worked out now.
func (t *txn) knowsDue(f *Finding) bool {
	_, err := t.cal.Due(calendar.DateOf(f.DueFrom), f.DueDays)
	return err == nil
}

// FindingsDue reports whether a tick at now has findings work (the leader proposes one then).
func (l *Ledger) FindingsDue(now time.Time) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.root.findingsToTick(calendar.DateOf(now))) > 0
}

// findingRules are the rules a finding was raised under.
func (t *txn) findingRules(f *Finding) *UtilisationRules {
	if r, ok := t.rulesOn(f.RaisedOn); ok {
		return r
	}
	d := DefaultUtilisationRules(f.RaisedOn)
	return &d
}

// Findings lists the findings, by id.
func (l *Ledger) Findings() []Finding {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []Finding
	l.root.findings.each(func(_ string, f *Finding) { out = append(out, *f) })
	slices.SortFunc(out, func(a, b Finding) int { return int(a.Seq) - int(b.Seq) })
	return out
}

// Finding returns one finding.
func (l *Ledger) Finding(id string) (Finding, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	f, ok := l.root.findings.get(id)
	if !ok {
		return Finding{}, false
	}
	return *f, true
}

// UtilisationRulesList lists the rules by effective day, with the day monitoring was
// switched on and the last day evaluated (zero when none).
func (l *Ledger) UtilisationRulesList() (rules []UtilisationRules, monitoringFrom, evaluatedThrough calendar.Date) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	t := l.root
	t.utilRules.each(func(_ calendar.Date, r *UtilisationRules) { rules = append(rules, *r) })
	slices.SortFunc(rules, func(a, b UtilisationRules) int { return a.EffectiveFrom.Compare(b.EffectiveFrom) })
	monitoringFrom, _ = t.monitoringFrom()
	if v, ok := t.settings.get(metaEvaluatedThrough); ok {
		evaluatedThrough, _ = calendar.ParseDate(v)
	}
	return rules, monitoringFrom, evaluatedThrough
}

// Suspended lists the departments whose resources are suspended (an enforced finding), by id.
func (l *Ledger) Suspended() []string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []string
	l.root.suspensions.each(func(d string, s *Suspension) {
		if len(s.Findings) > 0 {
			out = append(out, d)
		}
	})
	slices.Sort(out)
	return out
}
