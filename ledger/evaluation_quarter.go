package ledger

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	"github.com/cloudledger/cloudledger/evaluation"
)

// Evaluation on the ledger (issue 26; SPEC: Evaluation; SH 33–34, SD 36–38, HLJ 23, XM 26):
// the authority's scheme from a date, the departments' survey of the providers they used,
// the expert panel's score, and the quarter's publication, which computes every provider's
// score (package evaluation) from what the ledger holds and makes it the provider's
// evaluation for the quarter's days. Rules version 10.

const (
	TypeEvaluationScheme CommandType = 46 // the authority's scheme from a date
	TypeSurveyAnswer     CommandType = 47 // a department's rating of a provider for a quarter
	TypeExpertScore      CommandType = 48 // the expert panel's score of a provider for a quarter
	TypePublishQuarter   CommandType = 49 // the authority publishes a quarter
)

func init() {
	register(TypeEvaluationScheme, "evaluation_scheme", writesLineItem, func() Body { return new(SetEvaluationScheme) })
	register(TypeSurveyAnswer, "survey_answer", writesLineItem, func() Body { return new(SurveyAnswer) })
	register(TypeExpertScore, "expert_score", writesLineItem, func() Body { return new(SetExpertScore) })
	register(TypePublishQuarter, "publish_quarter", writesLineItem, func() Body { return new(PublishQuarter) })
}

// NoticeReprocurement tells the authority that a provider's yearly score was below the
// pass line two settlement years in a row (SD 38: 连续两年考核不合格的，予以更换).
const NoticeReprocurement NoticeKind = "reprocurement"

// Answer is a department's survey answer. Who gave it is kept for the department itself
// and the auditors; a provider sees only the mean (SPEC: Evaluation).
type Answer struct {
	Score decimal.Decimal `json:"score"`
	Actor string          `json:"actor"`
	At    time.Time       `json:"at"`
}

// ExpertEntry is the expert panel's score of a provider with its document number.
type ExpertEntry struct {
	Score decimal.Decimal `json:"score"`
	Ref   string          `json:"ref"`
	Actor string          `json:"actor"`
	At    time.Time       `json:"at"`
}

// ProviderQuarter is one provider's quarter: the indicators and, when any has data, the
// score and its multiplier by the band table in force on the quarter's last day.
type ProviderQuarter struct {
	Provider string `json:"provider"`
	evaluation.Result
	Multiplier decimal.Decimal `json:"multiplier,omitzero"`
	ExpertRef  string          `json:"expert_ref,omitempty"`
}

// Publication is a published quarter (SH 34 定期发布评估结果).
type Publication struct {
	At        time.Time         `json:"at"`
	Actor     string            `json:"actor"`
	Scheme    evaluation.Scheme `json:"scheme"`
	Providers []ProviderQuarter `json:"providers"`
	// Unscored are the providers with no indicator with data: their days stay provisional.
	Unscored []string `json:"unscored,omitempty"`
	// Flagged are the providers flagged for re-procurement at this publication (SD 38).
	Flagged []string `json:"flagged,omitempty"`
}

// QuarterEvaluation is what the ledger holds of one quarter.
type QuarterEvaluation struct {
	Quarter calendar.Quarter `json:"quarter"`
	// Surveys: provider → department → its answer.
	Surveys   map[string]map[string]Answer `json:"surveys,omitempty"`
	Experts   map[string]ExpertEntry       `json:"experts,omitempty"`
	Published *Publication                 `json:"published,omitempty"`
}

func (q *QuarterEvaluation) clone() *QuarterEvaluation {
	n := &QuarterEvaluation{Quarter: q.Quarter, Published: q.Published, Surveys: map[string]map[string]Answer{}, Experts: map[string]ExpertEntry{}}
	for p, m := range q.Surveys {
		n.Surveys[p] = map[string]Answer{}
		for d, a := range m {
			n.Surveys[p][d] = a
		}
	}
	for p, e := range q.Experts {
		n.Experts[p] = e
	}
	return n
}

func (t *txn) quarterEvaluation(q calendar.Quarter) *QuarterEvaluation {
	if v, ok := t.evalQuarters.get(q.String()); ok {
		return v.clone()
	}
	return (&QuarterEvaluation{Quarter: q}).clone()
}

// schemeOn is the scheme in force on day d: the latest set from d or before, else SPEC's
// defaults.
func (t *txn) schemeOn(d calendar.Date) evaluation.Scheme {
	if s, ok := latestOn(t.evalSchemes, d); ok {
		return *s
	}
	return evaluation.DefaultScheme()
}

// bandTableOn is the band table in force on day d.
func (t *txn) bandTableOn(d calendar.Date) BandTable {
	if bt, ok := latestOn(t.bandTables, d); ok {
		return *bt
	}
	return DefaultBandTable()
}

// latestOn is the value of an effective-dated table in force on day d: the one keyed by the
// latest day on or before d.
func latestOn[V any](l *layer[calendar.Date, V], d calendar.Date) (V, bool) {
	var best calendar.Date
	var out V
	found := false
	l.each(func(k calendar.Date, v V) {
		if !k.After(d) && (!found || k.After(best)) {
			best, out, found = k, v, true
		}
	})
	return out, found
}

// surveyWindow is the survey's last day: N working days after the quarter's last day.
func (t *txn) surveyWindow(q calendar.Quarter) (calendar.Date, *Error) {
	n := t.schemeOn(q.Last()).SurveyWorkingDays
	until, err := t.cal.Due(q.Last(), n)
	if err != nil {
		return calendar.Date{}, Errf(errcode.SurveyClosed, "quarter", "the survey of %s closes %d working days after %s, which the official calendar cannot tell yet: %v", q, n, q.Last(), err)
	}
	return until, nil
}

// usedIn reports whether department d held one of provider p's resources (any kind but
// test), or had its metered use, on a day of the quarter.
func (t *txn) usedIn(d, p string, q calendar.Quarter) bool {
	used := false
	t.resources.each(func(_ string, r *Resource) {
		if !used && r.Department == d && r.Provider == p && r.Kind != KindTest && resourceInQuarter(r, q) {
			used = true
		}
	})
	return used
}

// resourceInQuarter reports whether a resource was open on a day of the quarter: opened by
// its last day, and not closed before its first.
func resourceInQuarter(r *Resource, q calendar.Quarter) bool {
	if calendar.DateOf(r.Opened).After(q.Last()) {
		return false
	}
	if !r.Closed {
		return true
	}
	end := r.LastTime
	if r.Expired && r.Expires.After(end) {
		end = r.Expires
	}
	return !calendar.DateOf(end).Before(q.First())
}

// quarterData gathers every provider's indicators' data for quarter q as the state holds it
// now (a step not done yet is not on time).
func (t *txn) quarterData(q calendar.Quarter, ev *QuarterEvaluation) map[string]*evaluation.Data {
	data := map[string]*evaluation.Data{}
	of := func(p string) *evaluation.Data {
		if data[p] == nil {
			data[p] = &evaluation.Data{}
		}
		return data[p]
	}
	t.providers.each(func(id string, _ *Provider) { of(id) })
	// sla: the provider's steps due in the quarter, of requests neither cancelled nor
	// rejected; on time when done on or before the due day.
	t.requests.each(func(_ string, r *ResourceRequest) {
		if r.Provider == "" || r.State == RequestCancelled || r.State == RequestRejected {
			return
		}
		tl, _ := r.Timeline(t.cal) // a step whose due day the calendar cannot tell is not counted
		for _, st := range tl {
			if st.Party != PartyProvider || !q.Contains(st.Due) {
				continue
			}
			d := of(r.Provider)
			d.SLADue++
			if !st.Done.IsZero() && !calendar.DateOf(st.Done).After(st.Due) {
				d.SLAOnTime++
			}
		}
	})
	// availability: the daily rows of the provider's resources dated in the quarter.
	var res []*Resource
	t.resources.each(func(_ string, r *Resource) {
		if resourceInQuarter(r, q) {
			res = append(res, r)
		}
	})
	for _, r := range res {
		d := of(r.Provider)
		first := calendar.DateOf(r.Opened)
		if first.Before(q.First()) {
			first = q.First()
		}
		for day := first; !day.After(q.Last()); day = day.AddDays(1) {
			if row, ok := t.utilRow(r.ID, day); ok {
				d.AvailabilityRows++
				d.AvailabilitySum = d.AvailabilitySum.Add(row.Availability)
			}
		}
	}
	// satisfaction: one rating a department; expert: as entered.
	for p, answers := range ev.Surveys {
		depts := make([]string, 0, len(answers))
		for dep := range answers {
			depts = append(depts, dep)
		}
		slices.Sort(depts)
		for _, dep := range depts {
			of(p).Ratings = append(of(p).Ratings, answers[dep].Score)
		}
	}
	for p, e := range ev.Experts {
		s := e.Score
		of(p).Expert = &s
	}
	return data
}

// computeQuarter is every provider's quarter, by provider, and the providers without a
// score.
func (t *txn) computeQuarter(q calendar.Quarter, ev *QuarterEvaluation) (evaluation.Scheme, []ProviderQuarter, []string) {
	scheme := t.schemeOn(q.Last())
	bands := t.bandTableOn(q.Last())
	data := t.quarterData(q, ev)
	ids := make([]string, 0, len(data))
	for p := range data {
		ids = append(ids, p)
	}
	slices.Sort(ids)
	var out []ProviderQuarter
	var unscored []string
	for _, p := range ids {
		pq := ProviderQuarter{Provider: p, Result: evaluation.Compute(scheme, *data[p]), ExpertRef: ev.Experts[p].Ref}
		if pq.Scored {
			pq.Multiplier, _ = bands.Multiplier(pq.Score)
		} else {
			unscored = append(unscored, p)
		}
		out = append(out, pq)
	}
	return scheme, out, unscored
}

// SetEvaluationScheme sets the evaluation scheme from Scheme.EffectiveFrom (authority).
type SetEvaluationScheme struct{ Scheme evaluation.Scheme }

func (*SetEvaluationScheme) Type() CommandType { return TypeEvaluationScheme }

func (b *SetEvaluationScheme) encode(e *encoder) {
	s := b.Scheme
	e.date(s.EffectiveFrom)
	e.dec(s.WeightSLA)
	e.dec(s.WeightAvailability)
	e.dec(s.WeightSatisfaction)
	e.dec(s.WeightExpert)
	e.dec(s.AvailabilityFloor)
	e.dec(s.AvailabilityTarget)
	e.uvarint(uint64(s.SurveyWorkingDays))
	e.dec(s.PassScore)
}

func (b *SetEvaluationScheme) decode(d *decoder) {
	s := &b.Scheme
	s.EffectiveFrom = d.date()
	s.WeightSLA, s.WeightAvailability, s.WeightSatisfaction, s.WeightExpert = d.dec(), d.dec(), d.dec(), d.dec()
	s.AvailabilityFloor, s.AvailabilityTarget = d.dec(), d.dec()
	n := d.uvarint()
	if d.err == nil && n > evaluation.MaxSurveyWorkingDays {
		d.fail("survey working days out of range")
		return
	}
	s.SurveyWorkingDays = int(n)
	s.PassScore = d.dec()
}

func needsEvaluation(rl rules) *Error {
	if !rl.evaluation {
		return Errf(errcode.InvalidValue, "", "evaluation commands need rules version 10 (the cluster is upgrading)")
	}
	return nil
}

func (b *SetEvaluationScheme) validate(rl rules) *Error {
	if err := firstErr(needsEvaluation(rl), dateInRange("effective_from", b.Scheme.EffectiveFrom)); err != nil {
		return err
	}
	if setting, why := b.Scheme.Check(); why != nil {
		return Errf(errcode.InvalidScheme, setting, "%v", why)
	}
	return nil
}

func (b *SetEvaluationScheme) apply(t *txn, _ applyContext) *Error {
	if old, ok := t.evalSchemes.get(b.Scheme.EffectiveFrom); ok && *old == b.Scheme {
		return errUnchanged
	}
	var until calendar.Date // the next scheme's date: this one is in force until then
	t.evalSchemes.each(func(d calendar.Date, _ *evaluation.Scheme) {
		if d.After(b.Scheme.EffectiveFrom) && (until.IsZero() || d.Before(until)) {
			until = d
		}
	})
	if y, ok := t.auditedOverlap(b.Scheme.EffectiveFrom, until); ok {
		return errAudited("effective_from", y)
	}
	s := b.Scheme
	t.evalSchemes.put(s.EffectiveFrom, &s)
	return nil
}

// SurveyAnswer is a department's rating (0–100) of a provider for a quarter.
type SurveyAnswer struct {
	Quarter    calendar.Quarter
	Department string
	Provider   string
	Score      decimal.Decimal
}

func (*SurveyAnswer) Type() CommandType { return TypeSurveyAnswer }

func encodeQuarter(e *encoder, q calendar.Quarter) {
	e.uvarint(uint64(q.Year))
	e.u8(uint8(q.Q))
}

func decodeQuarter(d *decoder) calendar.Quarter {
	return calendar.Quarter{Year: int(d.uvarint() & 0xffff), Q: int(d.u8())}
}

func validQuarter(q calendar.Quarter) *Error {
	if q.Q < 1 || q.Q > 4 || q.Year < 2000 || q.Year > 2200 {
		return Errf(errcode.InvalidValue, "quarter", "a quarter is YYYYQn, n 1–4, years 2000–2200, not %s", q)
	}
	return nil
}

func validScore(s decimal.Decimal) *Error {
	if !checkDecimalBounds(s) || s.IsNegative() || s.GreaterThan(scoreMax) || s.Exponent() < -2 {
		return Errf(errcode.InvalidScore, "score", "a score is 0–100 with at most 2 decimals, not %s", s)
	}
	return nil
}

func (b *SurveyAnswer) encode(e *encoder) {
	encodeQuarter(e, b.Quarter)
	e.str(b.Department)
	e.str(b.Provider)
	e.dec(b.Score)
}

func (b *SurveyAnswer) decode(d *decoder) {
	b.Quarter = decodeQuarter(d)
	b.Department = d.str(MaxIDLen)
	b.Provider = d.str(MaxIDLen)
	b.Score = d.dec()
}

func (b *SurveyAnswer) validate(rl rules) *Error {
	return firstErr(needsEvaluation(rl), validQuarter(b.Quarter), rl.id("department", b.Department, true),
		rl.id("provider", b.Provider, true), validScore(b.Score))
}

// departmentWithin reports whether department d is scope or below it.
func (t *txn) departmentWithin(d, scope string) bool {
	for range 64 { // parent chains are short; a cycle cannot hold us
		if d == scope {
			return true
		}
		dep, ok := t.departments.get(d)
		if !ok || dep.Parent == "" {
			return false
		}
		d = dep.Parent
	}
	return false
}

func (b *SurveyAnswer) apply(t *txn, ctx applyContext) *Error {
	q := b.Quarter
	if _, ok := t.departments.get(b.Department); !ok {
		return Errf(errcode.UnknownDepartment, "department", "unknown department %q", b.Department)
	}
	if _, ok := t.providers.get(b.Provider); !ok {
		return Errf(errcode.UnknownProvider, "provider", "unknown provider %q", b.Provider)
	}
	// A department's account answers for its department or one below it (SPEC: a parent
	// department's account answers for itself or a child, naming it).
	acct, ok := t.accounts.get(ctx.actor)
	if !ok || acct.Role != RoleDepartment {
		return Errf(errcode.PermissionDenied, "department", "the survey is answered by a department's account, not %q", ctx.actor)
	}
	if !t.departmentWithin(b.Department, acct.Department) {
		return Errf(errcode.PermissionDenied, "department", "account %s of department %s cannot answer for department %s", acct.ID, acct.Department, b.Department)
	}
	ev := t.quarterEvaluation(q)
	if ev.Published != nil {
		return Errf(errcode.SurveyClosed, "quarter", "the survey of %s closed when the quarter was published", q)
	}
	today := calendar.DateOf(ctx.recordedAt)
	until, err := t.surveyWindow(q)
	if err != nil {
		return err
	}
	if today.Before(q.Last()) || today.After(until) {
		return Errf(errcode.SurveyClosed, "quarter", "the survey of %s is open %s – %s, not on %s", q, q.Last(), until, today)
	}
	if !t.usedIn(b.Department, b.Provider, q) {
		return Errf(errcode.ProviderNotUsed, "provider", "department %s held none of provider %s's resources on a day of %s (%s – %s)",
			b.Department, b.Provider, q, q.First(), q.Last())
	}
	if old, ok := ev.Surveys[b.Provider][b.Department]; ok && old.Score.Equal(b.Score) {
		return errUnchanged
	}
	if ev.Surveys[b.Provider] == nil {
		ev.Surveys[b.Provider] = map[string]Answer{}
	}
	ev.Surveys[b.Provider][b.Department] = Answer{Score: b.Score, Actor: ctx.actor, At: ctx.recordedAt}
	t.evalQuarters.put(q.String(), ev)
	return nil
}

// SetExpertScore enters the expert panel's score of a provider for a quarter, with the
// document it comes from (authority). A later entry replaces an earlier one until the
// quarter is published.
type SetExpertScore struct {
	Quarter  calendar.Quarter
	Provider string
	Score    decimal.Decimal
	Ref      string
}

func (*SetExpertScore) Type() CommandType { return TypeExpertScore }

func (b *SetExpertScore) encode(e *encoder) {
	encodeQuarter(e, b.Quarter)
	e.str(b.Provider)
	e.dec(b.Score)
	e.str(b.Ref)
}

func (b *SetExpertScore) decode(d *decoder) {
	b.Quarter = decodeQuarter(d)
	b.Provider = d.str(MaxIDLen)
	b.Score = d.dec()
	b.Ref = d.str(MaxTextLen)
}

func (b *SetExpertScore) validate(rl rules) *Error {
	if err := firstErr(needsEvaluation(rl), validQuarter(b.Quarter), rl.id("provider", b.Provider, true), validScore(b.Score),
		required("ref", strings.TrimSpace(b.Ref))); err != nil {
		return err
	}
	return rl.text("ref", b.Ref, MaxTextLen)
}

func (b *SetExpertScore) apply(t *txn, ctx applyContext) *Error {
	q := b.Quarter
	if _, ok := t.providers.get(b.Provider); !ok {
		return Errf(errcode.UnknownProvider, "provider", "unknown provider %q", b.Provider)
	}
	if y, ok := t.auditedOverlap(q.First(), q.Last().AddDays(1)); ok {
		return errAudited("quarter", y)
	}
	ev := t.quarterEvaluation(q)
	if ev.Published != nil {
		return Errf(errcode.QuarterPublished, "quarter", "%s was published on %s: its scores no longer change", q, calendar.DateOf(ev.Published.At))
	}
	if old, ok := ev.Experts[b.Provider]; ok && old.Score.Equal(b.Score) && old.Ref == b.Ref {
		return errUnchanged
	}
	ev.Experts[b.Provider] = ExpertEntry{Score: b.Score, Ref: b.Ref, Actor: ctx.actor, At: ctx.recordedAt}
	t.evalQuarters.put(q.String(), ev)
	return nil
}

// PublishQuarter publishes a quarter (authority): every provider's score is computed from
// what the ledger holds now and becomes its evaluation for the quarter's days; the survey
// closes; at the settlement year's last quarter the two-year rule is applied.
type PublishQuarter struct{ Quarter calendar.Quarter }

func (*PublishQuarter) Type() CommandType { return TypePublishQuarter }

func (b *PublishQuarter) encode(e *encoder) { encodeQuarter(e, b.Quarter) }
func (b *PublishQuarter) decode(d *decoder) { b.Quarter = decodeQuarter(d) }
func (b *PublishQuarter) validate(rl rules) *Error {
	return firstErr(needsEvaluation(rl), validQuarter(b.Quarter))
}

func (b *PublishQuarter) apply(t *txn, ctx applyContext) *Error {
	q := b.Quarter
	if today := calendar.DateOf(ctx.recordedAt); !today.After(q.Last()) {
		return Errf(errcode.QuarterNotEnded, "quarter", "%s ends on %s: it is published once it has ended (today is %s)", q, q.Last(), today)
	}
	ev := t.quarterEvaluation(q)
	if ev.Published != nil {
		return Errf(errcode.QuarterPublished, "quarter", "%s was published on %s", q, calendar.DateOf(ev.Published.At))
	}
	if y, ok := t.auditedOverlap(q.First(), q.Last().AddDays(1)); ok {
		return errAudited("quarter", y)
	}
	scheme, providers, unscored := t.computeQuarter(q, ev)
	pub := &Publication{At: ctx.recordedAt, Actor: ctx.actor, Scheme: scheme, Providers: providers, Unscored: unscored}
	ev.Published = pub
	t.evalQuarters.put(q.String(), ev)
	for _, pq := range providers {
		if !pq.Scored {
			continue
		}
		n := &ProviderScores{Provider: pq.Provider}
		if old, ok := t.evaluations.get(pq.Provider); ok {
			n.Scores = append(n.Scores, old.Scores...)
		}
		n.Scores = append(n.Scores, Evaluation{From: q.First(), To: q.Last(), Score: pq.Score, Quarter: q.String()})
		t.evaluations.put(pq.Provider, n)
	}
	if q.Q == 4 {
		t.twoYearRule(q.Year, pub, ctx)
	}
	return nil
}

// YearlyScore is a provider's score of a settlement year: the mean of its published
// quarters' scores, rounded half-up to 2 decimals; ok false when none is published.
func (t *txn) yearlyScore(provider string, year int) (decimal.Decimal, int, bool) {
	var scores []decimal.Decimal
	for n := 1; n <= 4; n++ {
		ev, ok := t.evalQuarters.get(calendar.Quarter{Year: year, Q: n}.String())
		if !ok || ev.Published == nil {
			continue
		}
		for _, pq := range ev.Published.Providers {
			if pq.Provider == provider && pq.Scored {
				scores = append(scores, pq.Score)
			}
		}
	}
	if len(scores) == 0 {
		return decimal.Zero, 0, false
	}
	return evaluation.Mean(scores), len(scores), true
}

// twoYearRule flags, at the publication of year's last quarter, every provider whose yearly
// score was below the pass line (the scheme's on each year's last day) in year and the year
// before (SD 38), with a notice to the authority.
func (t *txn) twoYearRule(year int, pub *Publication, ctx applyContext) {
	for _, pq := range pub.Providers {
		below := true
		var said []string
		for _, y := range []int{year - 1, year} {
			s, n, ok := t.yearlyScore(pq.Provider, y)
			pass := t.schemeOn(calendar.Quarter{Year: y, Q: 4}.Last()).PassScore
			if !ok || !s.LessThan(pass) {
				below = false
				break
			}
			said = append(said, fmt.Sprintf("%d: %s (%d quarters) < %s", y, s.StringFixed(2), n, pass))
		}
		if !below {
			continue
		}
		pub.Flagged = append(pub.Flagged, pq.Provider)
		t.raiseNotice(Notice{Kind: NoticeReprocurement, Party: NoticeToAuthority, Recipient: pq.Provider,
			Reason: fmt.Sprintf("provider %s below the pass line two settlement years in a row (%s): re-procurement (SD 38)", pq.Provider, strings.Join(said, "; "))}, ctx)
	}
}

// SurveyRecord is one survey answer as a read lists it.
type SurveyRecord struct {
	Provider   string          `json:"provider"`
	Department string          `json:"department"`
	Score      decimal.Decimal `json:"score"`
	At         time.Time       `json:"at"`
}

// QuarterView is a quarter as the ledger holds it: its publication, or a draft computed
// from what the ledger holds now (a step not done yet is not on time).
type QuarterView struct {
	Quarter     calendar.Quarter  `json:"quarter"`
	First       calendar.Date     `json:"first"`
	Last        calendar.Date     `json:"last"`
	SurveyUntil calendar.Date     `json:"survey_until,omitzero"` // zero while the calendar cannot tell
	SurveyOpen  bool              `json:"survey_open"`
	Published   *Publication      `json:"published,omitempty"`
	Scheme      evaluation.Scheme `json:"scheme"`
	Providers   []ProviderQuarter `json:"providers"`
	Unscored    []string          `json:"unscored,omitempty"`
	Answers     []SurveyRecord    `json:"answers,omitempty"` // every answer: the server shows each caller its own
}

// EvaluationQuarter is quarter q: published, or its draft.
func (l *Ledger) EvaluationQuarter(q calendar.Quarter) QuarterView {
	l.ensureFlushed()
	l.mu.RLock()
	defer l.mu.RUnlock()
	t := l.root
	ev := t.quarterEvaluation(q)
	v := QuarterView{Quarter: q, First: q.First(), Last: q.Last(), Published: ev.Published}
	if until, err := t.surveyWindow(q); err == nil {
		v.SurveyUntil = until
		today := calendar.DateOf(t.clock)
		v.SurveyOpen = ev.Published == nil && !today.Before(q.Last()) && !today.After(until)
	}
	if ev.Published != nil {
		v.Scheme, v.Providers, v.Unscored = ev.Published.Scheme, ev.Published.Providers, ev.Published.Unscored
	} else {
		v.Scheme, v.Providers, v.Unscored = t.computeQuarter(q, ev)
	}
	for p, m := range ev.Surveys {
		for d, a := range m {
			v.Answers = append(v.Answers, SurveyRecord{Provider: p, Department: d, Score: a.Score, At: a.At})
		}
	}
	slices.SortFunc(v.Answers, func(a, b SurveyRecord) int {
		return strings.Compare(a.Provider+"\x00"+a.Department, b.Provider+"\x00"+b.Department)
	})
	return v
}

// EvaluationSchemes lists the schemes set, by date; SPEC's defaults are in force before
// the first.
func (l *Ledger) EvaluationSchemes() []evaluation.Scheme {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []evaluation.Scheme
	l.root.evalSchemes.each(func(_ calendar.Date, s *evaluation.Scheme) { out = append(out, *s) })
	slices.SortFunc(out, func(a, b evaluation.Scheme) int { return a.EffectiveFrom.Compare(b.EffectiveFrom) })
	return out
}

// EvaluationSchemeOn is the scheme in force on day d.
func (l *Ledger) EvaluationSchemeOn(d calendar.Date) evaluation.Scheme {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.root.schemeOn(d)
}

// YearlyScore is a provider's settlement year: the mean of its published quarters.
type YearlyScore struct {
	Provider string          `json:"provider"`
	Year     int             `json:"year"`
	Score    decimal.Decimal `json:"score"`
	Quarters int             `json:"quarters"`
	Pass     decimal.Decimal `json:"pass_score"`
	Below    bool            `json:"below_pass"`
	// Flagged: flagged for re-procurement at the publication of the year's last quarter.
	Flagged bool `json:"flagged,omitempty"`
}

// YearlyScores are the providers' yearly scores of a settlement year, by provider (those
// with a published quarter).
func (l *Ledger) YearlyScores(year int) []YearlyScore {
	l.mu.RLock()
	defer l.mu.RUnlock()
	t := l.root
	pass := t.schemeOn(calendar.Quarter{Year: year, Q: 4}.Last()).PassScore
	var flagged []string
	if ev, ok := t.evalQuarters.get(calendar.Quarter{Year: year, Q: 4}.String()); ok && ev.Published != nil {
		flagged = ev.Published.Flagged
	}
	var out []YearlyScore
	var ids []string
	t.providers.each(func(id string, _ *Provider) { ids = append(ids, id) })
	slices.Sort(ids)
	for _, p := range ids {
		if s, n, ok := t.yearlyScore(p, year); ok {
			out = append(out, YearlyScore{Provider: p, Year: year, Score: s, Quarters: n, Pass: pass, Below: s.LessThan(pass), Flagged: slices.Contains(flagged, p)})
		}
	}
	return out
}
