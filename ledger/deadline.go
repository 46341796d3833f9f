package ledger

import (
	"slices"
	"time"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
)

// Deadlines (SH 19–24; issue 15). Each step of a request is due N working days (official
// calendar) after the day its clock starts, the day itself not counted — or, for a test
// resource's verification, a number of calendar months. The periods come from the deadline
// table in force on the day the request was submitted: SH's by default, or one an authority
// loaded for its city (SetDeadlineTable), copied into the request when it is submitted so a
// later table never changes an old request's dues.

// Steps of a request.
const (
	StepSupervisor = "supervisor"  // the supervisor's decision (SH 20, 23, 24)
	StepReview     = "review"      // the authority's approval or rejection
	StepFulfil     = "fulfil"      // the provider's fulfilment (a test resource: its opening)
	StepVerify     = "verify"      // the department's verification of a test resource (SH 19: a month)
	StepFormalOpen = "formal_open" // the formal opening after the department confirms (SH 19: 2 working days)
)

// Who takes each step.
const (
	PartySupervisor = "supervisor"
	PartyAuthority  = "authority"
	PartyProvider   = "provider"
	PartyDepartment = "department"
)

var stepParty = map[string]string{StepSupervisor: PartySupervisor, StepReview: PartyAuthority, StepFulfil: PartyProvider,
	StepVerify: PartyDepartment, StepFormalOpen: PartyProvider}

// DeadlineRule is one step's period: WorkingDays (or Months) after the submission
// (FromSubmission) or after the step before it; the supervisor's is always from the
// submission.
type DeadlineRule struct {
	Kind           RequestKind `json:"kind"`
	Step           string      `json:"step"`
	WorkingDays    int         `json:"working_days,omitempty"`
	Months         int         `json:"months,omitempty"`
	FromSubmission bool        `json:"from_submission,omitempty"`
	Article        string      `json:"article"`
}

// ShanghaiDeadlines is the built-in table: test resources reviewed and opened within 5
// working days, verified within a month, formally opened 2 working days after the
// department confirms (SH 19); an open request reviewed within 5 and opened within 2; an
// expansion or reduction reviewed within 5 and carried out within 5 more (SH 20); a reclaim
// reviewed and done within 10 (SH 21); an extension 5 and 5 (SH 23–24); the supervisor's
// decision, for which SH names no period, 5.
var ShanghaiDeadlines = []DeadlineRule{
	{RequestTest, StepSupervisor, 5, 0, false, "SH 19"},
	{RequestTest, StepReview, 5, 0, true, "SH 19"},
	{RequestTest, StepFulfil, 5, 0, true, "SH 19"},
	{RequestTest, StepVerify, 0, 1, false, "SH 19"},
	{RequestTest, StepFormalOpen, 2, 0, false, "SH 19"},
	{RequestOpen, StepSupervisor, 5, 0, false, "SH 23–24"},
	{RequestOpen, StepReview, 5, 0, false, "SH 19"},
	{RequestOpen, StepFulfil, 2, 0, false, "SH 19"},
	{RequestExpand, StepSupervisor, 5, 0, false, "SH 20"},
	{RequestExpand, StepReview, 5, 0, false, "SH 20"},
	{RequestExpand, StepFulfil, 5, 0, false, "SH 20"},
	{RequestReduce, StepSupervisor, 5, 0, false, "SH 20"},
	{RequestReduce, StepReview, 5, 0, false, "SH 20"},
	{RequestReduce, StepFulfil, 5, 0, false, "SH 20"},
	{RequestReclaim, StepSupervisor, 5, 0, false, "SH 21"},
	{RequestReclaim, StepReview, 10, 0, true, "SH 21"},
	{RequestReclaim, StepFulfil, 10, 0, true, "SH 21"},
	{RequestExtend, StepSupervisor, 5, 0, false, "SH 23–24"},
	{RequestExtend, StepReview, 5, 0, false, "SH 23–24"},
	{RequestExtend, StepFulfil, 5, 0, false, "SH 23–24"},
}

// ShanghaiTable is the built-in table, in force before (and unless) an authority loads one.
var ShanghaiTable = DeadlineTable{Name: "SH", Rules: ShanghaiDeadlines}

// stepsOf are the steps of a kind, in order (the supervisor's only where needed).
func stepsOf(k RequestKind) []string {
	if k == RequestTest {
		return []string{StepSupervisor, StepReview, StepFulfil, StepVerify, StepFormalOpen}
	}
	return []string{StepSupervisor, StepReview, StepFulfil}
}

// DeadlineTable is a table in force for requests submitted from EffectiveFrom on.
type DeadlineTable struct {
	EffectiveFrom calendar.Date  `json:"effective_from"`
	Name          string         `json:"name"` // e.g. "XM 12"
	Rules         []DeadlineRule `json:"rules"`
}

// TypeSetDeadlineTable loads a deadline table (the authority's).
const TypeSetDeadlineTable CommandType = 35

func init() {
	register(TypeSetDeadlineTable, "deadline_table", writesLineItem, func() Body { return new(SetDeadlineTable) })
}

// SetDeadlineTable loads or replaces the table in force from its day on. Every kind's
// steps must be in it: a city's table is whole, not a patch of SH's.
type SetDeadlineTable struct{ DeadlineTable }

// MaxDeadlineWorkingDays bounds a period (a year of working days is far beyond any rule).
const MaxDeadlineWorkingDays = 250

func (*SetDeadlineTable) Type() CommandType { return TypeSetDeadlineTable }

func (b *SetDeadlineTable) encode(e *encoder) {
	e.date(b.EffectiveFrom)
	e.str(b.Name)
	e.uvarint(uint64(len(b.Rules)))
	for _, r := range b.Rules {
		e.str(string(r.Kind))
		e.str(r.Step)
		e.uvarint(uint64(r.WorkingDays))
		e.uvarint(uint64(r.Months))
		e.boolean(r.FromSubmission)
		e.str(r.Article)
	}
}

func (b *SetDeadlineTable) decode(d *decoder) {
	b.EffectiveFrom, b.Name = d.date(), d.str(MaxTextLen)
	n := d.uvarint()
	if d.err == nil && n > 64 {
		d.fail("too many deadline rules")
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		b.Rules = append(b.Rules, DeadlineRule{Kind: RequestKind(d.str(MaxIDLen)), Step: d.str(MaxIDLen), WorkingDays: int(d.uvarint()),
			Months: int(d.uvarint()), FromSubmission: d.boolean(), Article: d.str(MaxTextLen)})
	}
}

func (b *SetDeadlineTable) validate(rl rules) *Error {
	if err := firstErr(dateInRange("effective_from", b.EffectiveFrom), rl.text("name", b.Name, MaxTextLen), required("name", b.Name)); err != nil {
		return err
	}
	seen := map[[2]string]bool{}
	for _, r := range b.Rules {
		if !slices.Contains(stepsOf(r.Kind), r.Step) {
			return Errf(errcode.UnknownDeadlines, "step", "%s/%s: no such kind and step (kinds test, open, expand, reduce, reclaim, extend; steps supervisor, review, fulfil, and for test verify, formal_open)", r.Kind, r.Step)
		}
		k := [2]string{string(r.Kind), r.Step}
		if seen[k] {
			return Errf(errcode.InvalidValue, "step", "%s/%s twice", r.Kind, r.Step)
		}
		seen[k] = true
		switch {
		case r.Step == StepVerify && (r.Months < 1 || r.Months > 12 || r.WorkingDays != 0):
			return Errf(errcode.InvalidValue, "months", "%s/%s: a verification lasts 1–12 months", r.Kind, r.Step)
		case r.Step != StepVerify && (r.WorkingDays < 1 || r.WorkingDays > MaxDeadlineWorkingDays || r.Months != 0):
			return Errf(errcode.InvalidValue, "working_days", "%s/%s: 1–%d working days", r.Kind, r.Step, MaxDeadlineWorkingDays)
		}
		if err := firstErr(rl.text("article", r.Article, MaxTextLen), required("article", r.Article)); err != nil {
			return err
		}
	}
	for _, k := range []RequestKind{RequestTest, RequestOpen, RequestExpand, RequestReduce, RequestReclaim, RequestExtend} {
		for _, st := range stepsOf(k) {
			if !seen[[2]string{string(k), st}] {
				return Errf(errcode.MissingField, "step", "the table has no period for %s/%s", k, st)
			}
		}
	}
	return nil
}

func (b *SetDeadlineTable) apply(t *txn, _ applyContext) *Error {
	if cur, ok := t.deadlineTables.get(b.EffectiveFrom); ok && slices.Equal(cur.Rules, b.Rules) && cur.Name == b.Name {
		return errUnchanged
	}
	tb := b.DeadlineTable
	tb.Rules = slices.Clone(b.Rules)
	t.deadlineTables.put(tb.EffectiveFrom, &tb)
	return nil
}

// deadlinesOn are the rules of kind k in force on day d.
func (t *txn) deadlinesOn(d calendar.Date, k RequestKind) (name string, out []DeadlineRule) {
	var best *DeadlineTable
	t.deadlineTables.each(func(from calendar.Date, tb *DeadlineTable) {
		if !from.After(d) && (best == nil || from.After(best.EffectiveFrom)) {
			best = tb
		}
	})
	if best == nil {
		best = &ShanghaiTable
	}
	for _, r := range best.Rules {
		if r.Kind == k {
			out = append(out, r)
		}
	}
	return best.Name, out
}

// DeadlineTables lists the loaded tables by day.
func (l *Ledger) DeadlineTables() []DeadlineTable {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []DeadlineTable
	l.root.deadlineTables.each(func(_ calendar.Date, tb *DeadlineTable) { out = append(out, *tb) })
	slices.SortFunc(out, func(a, b DeadlineTable) int { return a.EffectiveFrom.Compare(b.EffectiveFrom) })
	return out
}

// rule is the request's period for a step: its own copy, or SH's for a request submitted
// before tables were copied.
func (r *ResourceRequest) rule(step string) DeadlineRule {
	for _, x := range r.Deadlines {
		if x.Step == step {
			return x
		}
	}
	for _, x := range ShanghaiDeadlines {
		if x.Kind == r.Kind && x.Step == step {
			return x
		}
	}
	return DeadlineRule{}
}

// StepDeadline is one step of a request's timeline: its due day and, once taken, when.
type StepDeadline struct {
	Step    string        // supervisor | review | fulfil | verify | formal_open
	Party   string        // supervisor | authority | provider | department
	Due     calendar.Date // the last day to take it
	Done    time.Time     // zero while open
	Outcome RequestState  // the state it led to, once done
	Article string
}

// stepSuccess is the state a step leads to when it succeeds.
func (r *ResourceRequest) stepSuccess(step string) RequestState {
	switch step {
	case StepSupervisor:
		return RequestSupervised
	case StepReview:
		return RequestApproved
	case StepFulfil:
		if r.Kind == RequestTest {
			return RequestVerifying
		}
		return RequestFulfilled
	case StepVerify:
		return RequestVerified
	}
	return RequestFulfilled
}

// Timeline lists the steps the request has taken and the one it waits for (none once it is
// final), each with its due day.
func (r *ResourceRequest) Timeline(cal *calendar.Calendar) ([]StepDeadline, error) {
	if len(r.Steps) == 0 {
		return nil, nil
	}
	submitted := r.Steps[0].At
	prev := submitted
	taken := r.Steps[1:]
	var out []StepDeadline
	for _, step := range stepsOf(r.Kind) {
		if step == StepSupervisor && !r.NeedsSupervisor {
			continue
		}
		rule := r.rule(step)
		from := prev
		if rule.FromSubmission || step == StepSupervisor {
			from = submitted
		}
		var due calendar.Date
		if rule.Months > 0 {
			due = calendar.DateOf(from).AddMonths(rule.Months)
		} else {
			var err error
			if due, err = cal.Due(calendar.DateOf(from), rule.WorkingDays); err != nil {
				return out, err
			}
		}
		sd := StepDeadline{Step: step, Party: stepParty[step], Due: due, Article: rule.Article}
		if len(taken) == 0 {
			return append(out, sd), nil // waiting for it
		}
		s := taken[0]
		taken = taken[1:]
		if s.State == RequestCancelled {
			return out, nil
		}
		sd.Done, sd.Outcome = s.At, s.State
		out = append(out, sd)
		if s.State != r.stepSuccess(step) {
			return out, nil // rejected
		}
		prev = s.At
	}
	return out, nil
}

// Due is the request's current step, the last day to take it, and the article behind it;
// step "" once the request is final.
func (r *ResourceRequest) Due(cal *calendar.Calendar) (step string, due calendar.Date, article string, err error) {
	tl, err := r.Timeline(cal)
	if err != nil || len(tl) == 0 || r.State.Final() {
		return "", calendar.Date{}, "", err
	}
	last := tl[len(tl)-1]
	if !last.Done.IsZero() {
		return "", calendar.Date{}, "", nil
	}
	return last.Step, last.Due, last.Article, nil
}
