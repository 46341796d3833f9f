package ledger

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	"github.com/cloudledger/cloudledger/evaluation"
)

var q2026Q4 = calendar.Quarter{Year: 2026, Q: 4} // 2026-06-01 – 2026-08-31 (SPEC: Evaluation)

// evalFixture: the seed (d1, d2, p1) and p2, p3; d3 and its child d4 (SPEC: a parent
// answers for a child); department accounts d1-am, d2-am, d3-am. Every department holds a
// vCPU resource at p1 from 2 March 2026 (vm1, vmd2, vmd3, vmd4); d1 holds vm2 at p2 and vm3
// at p3. The ledger clock starts on 1 March 2026.
func evalFixture(t *testing.T) *fixture {
	f := newFixture(t)
	f.now = at("2026-03-01T09:00:00+08:00")
	f.seed()
	f.ok(&SetProvider{Provider{ID: "p2", Name: "云商二", ContractStart: day("2025-01-01"), ContractEnd: day("2027-12-31")}},
		&SetProvider{Provider{ID: "p3", Name: "云商三", ContractStart: day("2025-01-01"), ContractEnd: day("2027-12-31")}},
		&SetDepartment{Department{ID: "d3", Name: "市教育局", Funding: FundingBudget}},
		&SetDepartment{Department{ID: "d4", Name: "市一中", Funding: FundingBudget, Parent: "d3"}},
		&SetProjectQuota{Project: "prj4", Department: "d3", Name: "教育云", QuotaClass: "vcpu", Quota: dec("20")},
		&SetProjectQuota{Project: "prj5", Department: "d4", Name: "校园网", QuotaClass: "vcpu", Quota: dec("20")})
	at := func(res, dept, project, provider string) *Event {
		e := alloc(res, "ecs.vcpu", KindStandard, "2", time.Time{})
		e.Department, e.Project, e.Provider = dept, project, provider
		return e
	}
	f.ok(alloc("vm1", "ecs.vcpu", KindStandard, "4", time.Time{}), at("vmd2", "d2", "prj3", "p1"), at("vmd3", "d3", "prj4", "p1"),
		at("vmd4", "d4", "prj5", "p1"), at("vm2", "d1", "prj1", "p2"), at("vm3", "d1", "prj2", "p3"))
	f.ok(&AccountChange{Op: AccountAdd, ID: "d1-am", Name: "d1", Role: RoleDepartment, Department: "d1"},
		&AccountChange{Op: AccountAdd, ID: "d2-am", Name: "d2", Role: RoleDepartment, Department: "d2"},
		&AccountChange{Op: AccountAdd, ID: "d3-am", Name: "d3", Role: RoleDepartment, Department: "d3"})
	return f
}

// expandRequest submits an expansion of vm1 (p1) by one vCPU at submitted, approves it at
// approved, and fulfils it at fulfilled unless that is empty; it returns the request's id.
func (f *fixture) expandRequest(submitted, approved, fulfilled string) string {
	f.t.Helper()
	f.now = at(submitted)
	f.ok(&SubmitRequest{Kind: RequestExpand, Department: "d1", Resource: "vm1", Quantity: dec("1")})
	ids := f.l.ResourceRequests()
	id := ids[len(ids)-1].ID
	f.now = at(approved)
	f.ok(&DecideRequest{ID: id, Decision: DecisionApprove})
	if fulfilled != "" {
		f.now = at(fulfilled)
		e := change(OpExpand, "vm1", "1", fulfilled)
		e.Request = id
		f.ok(e)
	}
	return id
}

func (f *fixture) survey(actor, dept, provider, score string) SubmissionResult {
	f.t.Helper()
	return f.as(actor, f.cmd(&SurveyAnswer{Quarter: q2026Q4, Department: dept, Provider: provider, Score: dec(score)}))
}

func (f *fixture) surveyOK(actor, dept, provider, score string) {
	f.t.Helper()
	if r := f.survey(actor, dept, provider, score); r.Err != nil {
		f.t.Fatalf("%s answering for %s about %s on %s: %v", actor, dept, provider, calendar.DateOf(f.now), r.Err)
	}
}

func (f *fixture) surveyRefused(code Code, actor, dept, provider, score string) {
	f.t.Helper()
	f.asRefused(code, actor, &SurveyAnswer{Quarter: q2026Q4, Department: dept, Provider: provider, Score: dec(score)})
}

// Issue 26, must show 1 and 2: a quarter worked by hand (2026Q4, 1 June – 31 August 2026,
// the default scheme: weights sla 30, availability 30, satisfaction 20, expert 20; floor
// 99.0, target 99.95; the survey open 10 working days after the quarter's last day), and
// the survey window at its edges.
//
// p1, sla — its steps (the fulfilment of an expansion, SH 20: 5 working days after the
// approval) due in the quarter:
//   - approved Wed 17 June, due Thu 25 June (6/18, then 端午 6/19 and the weekend off, 6/22,
//     6/23, 6/24, 6/25), done 25 June: on time (only because of the holiday);
//   - approved Mon 6 July, due Mon 13 July, done 15 July: late;
//   - approved Mon 24 August, due Mon 31 August, never done: not on time;
//   - approved 20 July and cancelled 21 July: left out;
//   - approved Mon 18 May, due Mon 25 May, done 2 June: taken in the quarter but due in the
//     one before, left out (the SLA report counts it in June; the indicator does not).
//     sla = 100 × 1/3 = 33.3333…
//
// p1, availability — rows of vm1 on 6/1 99.90, 6/2 99.80, 7/1 100, 8/31 99.50 (and 5/31
// 90.00, outside): A = 399.20 / 4 = 99.80; points 100 × (99.80 − 99.0)/(99.95 − 99.0) =
// 100 × 0.80/0.95 = 84.2105…
//
// p1, satisfaction — d1 90 (after first answering 60), d2 80, d3 70, d4 65 (answered by d3's
// account for its child): (90 + 80 + 70 + 65)/4 = 76.25.
//
// p1, expert — 85 (评审〔2026〕7号).
//
// p1 score = (30 × 100/3 + 30 × 1600/19 + 20 × 76.25 + 20 × 85)/100
//
//	= (1000 + 2526.3157… + 1525 + 1700)/100 = 67.513157… → 67.51, band 60–70: multiplier 0.90.
//
// p2 — no request steps, no survey answer: availability rows of vm2 on 6/10 and 6/11, both
// 100 (A = 100 above the target: clamped to 100 points), expert 70; the weights are
// redistributed over the two: (30 × 100 + 20 × 70)/50 = 4400/50 = 88.00, multiplier 0.98.
//
// p3 — no indicator with data: no score, listed at publication, its days stay without one.
//
// Survey window: the quarter's last day is Mon 31 August; 10 working days after it are 9/1,
// 9/2, 9/3, 9/4, 9/7, 9/8, 9/9, 9/10, 9/11, 9/14: open 31 August – 14 September.
func TestQuarterWorkedByHand(t *testing.T) {
	f := evalFixture(t)

	f.expandRequest("2026-05-15T09:00:00+08:00", "2026-05-18T10:00:00+08:00", "2026-06-02T10:00:00+08:00")
	f.expandRequest("2026-06-16T09:00:00+08:00", "2026-06-17T10:00:00+08:00", "2026-06-25T16:00:00+08:00")
	f.expandRequest("2026-07-03T09:00:00+08:00", "2026-07-06T10:00:00+08:00", "2026-07-15T10:00:00+08:00")
	cancelled := f.expandRequest("2026-07-17T09:00:00+08:00", "2026-07-20T10:00:00+08:00", "")
	f.now = at("2026-07-21T10:00:00+08:00")
	f.ok(&DecideRequest{ID: cancelled, Decision: DecisionCancel})
	f.expandRequest("2026-08-21T09:00:00+08:00", "2026-08-24T10:00:00+08:00", "")

	// The survey before the quarter's last day: refused.
	f.now = at("2026-08-30T23:59:00+08:00")
	f.surveyRefused(errcode.SurveyClosed, "d1-am", "d1", "p1", "60")
	// Publishing before the quarter ended: refused.
	f.reject(errcode.QuarterNotEnded, &PublishQuarter{Quarter: q2026Q4})
	// Open from 00:00 of the last day.
	f.now = at("2026-08-31T00:00:00+08:00")
	f.surveyOK("d1-am", "d1", "p1", "60")
	f.reject(errcode.QuarterNotEnded, &PublishQuarter{Quarter: q2026Q4})

	f.now = at("2026-09-01T08:00:00+08:00")
	f.deliver([]UtilisationRow{urow("vm1", "2026-05-31", "30", "50", "90.00"), urow("vm1", "2026-06-01", "30", "50", "99.90"),
		urow("vm1", "2026-06-02", "30", "50", "99.80"), urow("vm1", "2026-07-01", "30", "50", "100"), urow("vm1", "2026-08-31", "30", "50", "99.50"),
		urow("vm2", "2026-06-10", "30", "50", "100"), urow("vm2", "2026-06-11", "30", "50", "100")})
	f.surveyOK("d2-am", "d2", "p1", "80")
	f.surveyOK("d3-am", "d3", "p1", "70")
	f.surveyOK("d3-am", "d4", "p1", "65")                                // a parent answers for its child
	f.surveyRefused(errcode.PermissionDenied, "d1-am", "d3", "p1", "50") // not d1's
	f.surveyRefused(errcode.PermissionDenied, "d3-am", "d1", "p1", "50") // nor d3's
	f.surveyRefused(errcode.PermissionDenied, "test", "d1", "p1", "50")  // not a department's account
	f.surveyRefused(errcode.ProviderNotUsed, "d2-am", "d2", "p2", "50")  // d2 used nothing of p2's
	f.ok(&SetExpertScore{Quarter: q2026Q4, Provider: "p1", Score: dec("85"), Ref: "评审〔2026〕7号"},
		&SetExpertScore{Quarter: q2026Q4, Provider: "p2", Score: dec("70"), Ref: "评审〔2026〕7号"})

	// The draft while the survey is open has d1's first answer: satisfaction (60+80+70+65)/4 = 68.75.
	if v := f.l.EvaluationQuarter(q2026Q4); !v.SurveyOpen || v.SurveyUntil != day("2026-09-14") || v.Published != nil ||
		v.Providers[0].Indicators[2].Points.String() != "68.75" {
		t.Fatalf("draft: open %v until %s, %+v", v.SurveyOpen, v.SurveyUntil, v.Providers[0].Indicators[2])
	}
	// The 10th working day after: still open, the answer may be changed.
	f.now = at("2026-09-14T23:59:00+08:00")
	f.surveyOK("d1-am", "d1", "p1", "90")
	// The 11th: closed.
	f.now = at("2026-09-15T00:00:00+08:00")
	f.surveyRefused(errcode.SurveyClosed, "d1-am", "d1", "p1", "95")
	// An entered score (evaluations.csv) for p2's August.
	f.ok(&SetEvaluation{Provider: "p2", From: day("2026-08-01"), To: day("2026-08-31"), Score: dec("95")})

	f.now = at("2026-09-15T10:00:00+08:00")
	f.ok(&PublishQuarter{Quarter: q2026Q4})
	f.reject(errcode.QuarterPublished, &PublishQuarter{Quarter: q2026Q4})
	f.reject(errcode.QuarterPublished, &SetExpertScore{Quarter: q2026Q4, Provider: "p1", Score: dec("90"), Ref: "x"})
	f.surveyRefused(errcode.SurveyClosed, "d1-am", "d1", "p1", "95")

	v := f.l.EvaluationQuarter(q2026Q4)
	if v.Published == nil || v.SurveyOpen {
		t.Fatalf("not published: %+v", v)
	}
	want := map[string]string{
		// provider: sla, availability, satisfaction, expert points (4 decimals; - no data) | score multiplier
		"p1": "33.3333/3 84.2105/4 76.25/4 85/1 | 67.51 0.9",
		"p2": "- 100/2 - 70/1 | 88 0.98",
		"p3": "- - - - | unscored",
	}
	for _, pq := range v.Providers {
		var parts []string
		for _, ind := range pq.Indicators {
			if !ind.HasData {
				parts = append(parts, "-")
				continue
			}
			parts = append(parts, ind.Points.String()+"/"+strconv.Itoa(ind.Count))
		}
		got := strings.Join(parts, " ") + " | "
		if pq.Scored {
			got += pq.Score.String() + " " + pq.Multiplier.String()
		} else {
			got += "unscored"
		}
		if got != want[pq.Provider] {
			t.Errorf("%s: %s, want %s", pq.Provider, got, want[pq.Provider])
		}
	}
	if p1 := v.Providers[0]; p1.Indicators[1].Raw.String() != "99.8" || p1.ExpertRef != "评审〔2026〕7号" {
		t.Errorf("p1: availability raw %s, expert ref %q", p1.Indicators[1].Raw, p1.ExpertRef)
	}
	if strings.Join(v.Unscored, ",") != "p3" {
		t.Errorf("unscored %v, want p3", v.Unscored)
	}

	// The published score is the provider's evaluation for the quarter's days; the entered
	// one still wins on its days; p3 has none.
	view, err := f.l.View(ViewFilter{MasterDataOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	scores := view.Evaluations
	for _, c := range []struct {
		provider, day, want string
	}{
		{"p1", "2026-06-01", "67.51"}, {"p1", "2026-08-31", "67.51"}, {"p1", "2026-09-01", ""},
		{"p2", "2026-07-31", "88"}, {"p2", "2026-08-01", "95"}, {"p3", "2026-07-01", ""},
	} {
		ev, ok := scores[c.provider].ScoreOn(day(c.day))
		if got := ev.Score.String(); !ok && c.want != "" || ok && got != c.want {
			t.Errorf("%s on %s: %s (%v), want %q", c.provider, c.day, got, ok, c.want)
		}
	}
}

// The scheme: an authority's scheme from a date applies to the quarters whose last day is
// on or after it; a bad setting is refused with its name.
func TestEvaluationScheme(t *testing.T) {
	f := evalFixture(t)
	s := evaluation.DefaultScheme()
	s.EffectiveFrom = day("2026-08-31")
	s.WeightExpert = dec("0")
	s.SurveyWorkingDays = 5
	f.ok(&SetEvaluationScheme{Scheme: s})
	if got := f.l.EvaluationSchemeOn(day("2026-08-30")); got.SurveyWorkingDays != 10 {
		t.Errorf("the day before: %d survey days, want the default 10", got.SurveyWorkingDays)
	}
	// 2026Q4 ends on the scheme's first day: its survey closes 5 working days after 8/31: 9/7.
	if v := f.l.EvaluationQuarter(q2026Q4); v.SurveyUntil != day("2026-09-07") || !v.Scheme.WeightExpert.IsZero() {
		t.Errorf("survey until %s, expert weight %s", v.SurveyUntil, v.Scheme.WeightExpert)
	}
	bad := s
	bad.AvailabilityTarget = dec("98")
	if err := f.reject(errcode.InvalidScheme, &SetEvaluationScheme{Scheme: bad}); err.Field != "availability_target_pct" {
		t.Errorf("field %q", err.Field)
	}
	bad = s
	bad.WeightSLA, bad.WeightAvailability, bad.WeightSatisfaction = dec("0"), dec("0"), dec("0")
	f.reject(errcode.InvalidScheme, &SetEvaluationScheme{Scheme: bad})
}

// Issue 26, must show 4 (SD 38), and the audited years (SPEC: Evaluation): p1's yearly
// scores are below the pass line 60 in settlement years 2025 and 2026 (its only published
// quarters, 2025Q4 and 2026Q4, scored 50 by the experts alone: 50.00 each year), so the
// publication of 2026Q4 flags it with a notice to the authority; p2 is below in 2025 only
// (50, then 80): not flagged. Publishing closes the survey inside its window. Once
// settlement year 2025 is audited, publishing its quarters, entering their expert scores or
// a scheme dated in it is refused.
func TestTwoYearRuleAndAuditedYears(t *testing.T) {
	f := newFixture(t)
	f.now = at("2025-03-01T09:00:00+08:00")
	f.seed()
	f.ok(&SetProvider{Provider{ID: "p2", Name: "云商二", ContractStart: day("2025-01-01"), ContractEnd: day("2027-12-31")}},
		&AccountChange{Op: AccountAdd, ID: "d1-am", Name: "d1", Role: RoleDepartment, Department: "d1"})
	q2025Q4 := calendar.Quarter{Year: 2025, Q: 4}
	f.now = at("2025-09-01T10:00:00+08:00")
	f.ok(&SetExpertScore{Quarter: q2025Q4, Provider: "p1", Score: dec("50"), Ref: "评审〔2025〕9号"},
		&SetExpertScore{Quarter: q2025Q4, Provider: "p2", Score: dec("50"), Ref: "评审〔2025〕9号"})
	f.ok(&PublishQuarter{Quarter: q2025Q4})
	// 2 September is inside 2025Q4's survey window (31 August + 10 working days), but the
	// quarter is published.
	f.asRefused(errcode.SurveyClosed, "d1-am", &SurveyAnswer{Quarter: q2025Q4, Department: "d1", Provider: "p1", Score: dec("70")})
	if pub := f.l.EvaluationQuarter(q2025Q4).Published; len(pub.Flagged) != 0 {
		t.Fatalf("flagged after one year: %v", pub.Flagged)
	}

	// Settlement year 2025 (2024-09 – 2025-08) audited.
	for m := (calendar.Month{Year: 2024, Month: time.September}); m != (calendar.Month{Year: 2025, Month: time.September}); m = m.Next() {
		f.ok(&ClosePeriod{Month: m})
	}
	f.ok(&SettlementRun{Year: 2025})
	h := f.l.Head()
	f.ok(&SettlementAudit{Year: 2025, AtIndex: h.AppliedIndex, AtHead: h.Hash.String()})
	q2025Q3 := calendar.Quarter{Year: 2025, Q: 3}
	f.reject(errcode.PeriodClosed, &PublishQuarter{Quarter: q2025Q3})
	f.reject(errcode.PeriodClosed, &SetExpertScore{Quarter: q2025Q3, Provider: "p1", Score: dec("90"), Ref: "x"})
	s := evaluation.DefaultScheme()
	s.EffectiveFrom = day("2025-05-01")
	f.reject(errcode.PeriodClosed, &SetEvaluationScheme{Scheme: s})
	s.EffectiveFrom = day("2025-09-01")
	f.ok(&SetEvaluationScheme{Scheme: s})

	f.now = at("2026-09-16T10:00:00+08:00")
	f.ok(&SetExpertScore{Quarter: q2026Q4, Provider: "p1", Score: dec("50"), Ref: "评审〔2026〕9号"},
		&SetExpertScore{Quarter: q2026Q4, Provider: "p2", Score: dec("80"), Ref: "评审〔2026〕9号"})
	f.ok(&PublishQuarter{Quarter: q2026Q4})
	if pub := f.l.EvaluationQuarter(q2026Q4).Published; strings.Join(pub.Flagged, ",") != "p1" {
		t.Errorf("flagged %v, want p1", pub.Flagged)
	}
	ys := f.l.YearlyScores(2026)
	if len(ys) != 2 || ys[0].Score.StringFixed(2) != "50.00" || !ys[0].Below || !ys[0].Flagged || ys[1].Score.StringFixed(2) != "80.00" || ys[1].Below || ys[1].Flagged {
		t.Errorf("yearly scores 2026: %+v", ys)
	}
	var notices []Notice
	for _, n := range f.l.Notices(0, 100) {
		if n.Kind == NoticeReprocurement {
			notices = append(notices, n)
		}
	}
	if len(notices) != 1 || notices[0].Party != NoticeToAuthority || notices[0].Recipient != "p1" || !strings.Contains(notices[0].Reason, "2025: 50.00") {
		t.Errorf("re-procurement notices: %+v", notices)
	}
}
