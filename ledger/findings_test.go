package ledger

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
)

// rowsOf is a resource's daily rows from..to (inclusive) at mean and peak, but for the days
// in skip; peaks overrides the peak of single days.
func rowsOf(res, from, to, mean, peak string, skip []string, peaks map[string]string) []UtilisationRow {
	var out []UtilisationRow
	for d := day(from); !d.After(day(to)); d = d.AddDays(1) {
		if strings.Contains(strings.Join(skip, " "), d.String()) {
			continue
		}
		p := peak
		if v, ok := peaks[d.String()]; ok {
			p = v
		}
		out = append(out, urow(res, d.String(), mean, p, "100"))
	}
	return out
}

// deliver records rows as the Prometheus pull does (actor system).
func (f *fixture) deliver(rows ...[]UtilisationRow) {
	f.t.Helper()
	var all []UtilisationRow
	for _, r := range rows {
		all = append(all, r...)
	}
	if r := f.as("system", f.cmd(&UtilisationDelivery{Rows: all})); r.Err != nil {
		f.t.Fatalf("delivery: %v", r.Err)
	}
}

// evaluateDue plays the leader's tick at now: it proposes the next day while one is due,
// one day per entry, and returns the days evaluated.
func (f *fixture) evaluateDue(now time.Time) []calendar.Date {
	f.t.Helper()
	f.now = now
	var days []calendar.Date
	for {
		d, due := f.l.NextDayToEvaluate(f.now)
		if !due {
			return days
		}
		if r := f.as("system", Command{Body: &EvaluateDay{Day: d}}); r.Err != nil {
			f.t.Fatalf("evaluate %s: %v", d, r.Err)
		}
		if next, _ := f.l.NextDayToEvaluate(f.now); next != d.AddDays(1) {
			f.t.Fatalf("evaluating %s left the next day at %s", d, next)
		}
		days = append(days, d)
	}
}

func allocAt(res, project, item, qty, when string) *Event {
	dept := "d1"
	if project == "prj3" {
		dept = "d2"
	}
	return &Event{Op: OpAllocate, Time: at(when), Department: dept, Project: project, Provider: "p1",
		Resource: res, Item: item, Kind: KindStandard, Quantity: dec(qty)}
}

func (f *fixture) finding(id string) Finding {
	f.t.Helper()
	for _, x := range f.l.Findings() {
		if x.ID == id {
			return x
		}
	}
	f.t.Fatalf("no finding %s", id)
	return Finding{}
}

func findingLine(x Finding) string {
	s := fmt.Sprintf("%s %s %s %s %s", x.ID, x.Kind, x.Subject, x.RaisedOn, x.State)
	if !x.ClosedOn.IsZero() {
		s += " closed " + x.ClosedOn.String()
	}
	if x.Kind == FindingLow {
		s += " advice " + x.Advice.String()
	}
	return s
}

// Issue 25, must show 1 (SPEC: Utilisation, Rules, Counted days, Findings; the defaults
// N 7 / 30 / 60, M 10, P 30 / 5, R 7, target 70 %). A hand-built half year, every day below
// worked by hand:
//
//   - nm: rows 01-01..01-10 and from 01-25 (mean 50, peak 60). Counted days without a row:
//     01-11 (1st) … 01-17 (7th) → no_monitoring raised 01-17, not 01-16; closed 01-25, its
//     first counted day with a row.
//   - low: q 8, mean 5 peak 20 from 01-01: day 30 of the run is 01-30 (not 01-29); advice
//     ceil(8 × 20 ÷ 70) = ceil(2.29) = 3. 02-10..02-16 at mean 50: closed on the 7th
//     recovered day, 02-16. Low again from 02-17: the new window's day 30 is 03-18.
//   - gap: low, but no row on 01-15: the run restarts 01-16, day 30 is 02-14.
//   - spike: low, but peak 30 on 01-20 (not < 30): the run restarts 01-21 → 02-19.
//   - mid: opened 01-15 10:00, low from its first day: 01-15 is not open all day, the run
//     starts 01-16 → 02-14.
//   - early: opened 2025-11-01, low since 2025-12-01 at peak 29.99; monitoring is on from
//     2026-01-01, so no window reaches before it: raised 01-30 (not in 2025, not 01-01), its
//     window's peak 20 → advice 3 (29.99 would give 4).
//   - dis: low from 01-01, raised 01-30, dismissed by the authority on 02-02 before 01-31
//     was evaluated: a whole new window from 01-31, day 30 is 03-01.
//   - z1, z2: prj2's only resources, q 2, mean 1 peak 3: low_utilisation each on 01-30
//     (advice ceil(2 × 3 ÷ 70) = 1, at least 1); the project is a zombie on day 60,
//     01-01 + 59 = 03-01 (not 02-28).
//   - exam: prj3 declares one season 03-01..03-31; idle (0 %) outside it, busy in March:
//     raised by nothing (without the season: low on 01-30, zombie on 03-01).
//   - vpc: a VPC (no quota class): not monitored, no rows, no finding.
//
// Rules are set on 2026-01-20 from 2026-01-01: the backlog 01-01..01-17 (past the lateness
// allowance of 2 days at 01-20 09:00) is evaluated then, one day per entry, in order.
func TestFindingsOverAHalfYear(t *testing.T) {
	f := newFixture(t)
	f.now = at("2026-01-20T09:00:00+08:00")
	f.seed()
	const before = "2025-12-31T10:00:00+08:00"
	f.ok(allocAt("nm", "prj1", "ecs.vcpu", "8", before), allocAt("low", "prj1", "ecs.vcpu", "8", before),
		allocAt("gap", "prj1", "ecs.vcpu", "8", before), allocAt("spike", "prj1", "ecs.vcpu", "8", before),
		allocAt("mid", "prj1", "ecs.vcpu", "8", "2026-01-15T10:00:00+08:00"), allocAt("early", "prj1", "ecs.vcpu", "8", "2025-11-01T10:00:00+08:00"),
		allocAt("dis", "prj1", "ecs.vcpu", "8", before), allocAt("vpc", "prj1", "net.vpc", "1", before),
		allocAt("z1", "prj2", "ecs.vcpu", "2", before), allocAt("z2", "prj2", "ecs.vcpu", "2", before),
		allocAt("exam", "prj3", "ecs.vcpu", "4", before),
		&SetProjectSeasons{Project: "prj3", Seasons: []Season{{From: MonthDay{3, 1}, To: MonthDay{3, 31}, QuotaClass: "vcpu", Quota: dec("10")}}})
	const end = "2026-06-30"
	f.deliver(rowsOf("nm", "2026-01-01", "2026-01-10", "50", "60", nil, nil), rowsOf("nm", "2026-01-25", end, "50", "60", nil, nil))
	f.deliver(rowsOf("low", "2026-01-01", "2026-02-09", "5", "20", nil, nil), rowsOf("low", "2026-02-10", "2026-02-16", "50", "60", nil, nil),
		rowsOf("low", "2026-02-17", end, "5", "20", nil, nil))
	f.deliver(rowsOf("gap", "2026-01-01", end, "5", "20", []string{"2026-01-15"}, nil))
	f.deliver(rowsOf("spike", "2026-01-01", end, "5", "20", nil, map[string]string{"2026-01-20": "30"}))
	f.deliver(rowsOf("mid", "2026-01-15", end, "5", "20", nil, nil))
	f.deliver(rowsOf("early", "2025-12-01", "2025-12-31", "5", "29.99", nil, nil), rowsOf("early", "2026-01-01", end, "5", "20", nil, nil))
	f.deliver(rowsOf("dis", "2026-01-01", end, "5", "20", nil, nil))
	f.deliver(rowsOf("z1", "2026-01-01", end, "1", "3", nil, nil), rowsOf("z2", "2026-01-01", end, "1", "3", nil, nil))
	f.deliver(rowsOf("exam", "2026-01-01", "2026-02-28", "0", "0", nil, nil), rowsOf("exam", "2026-03-01", "2026-03-31", "60", "90", nil, nil),
		rowsOf("exam", "2026-04-01", end, "0", "0", nil, nil))

	if d, due := f.l.NextDayToEvaluate(f.now); due || !d.IsZero() {
		t.Fatalf("no rules yet, yet a day is due: %s", d)
	}
	f.ok(&SetUtilisationRules{Rules: DefaultUtilisationRules(day("2026-01-01"))})
	if days := f.evaluateDue(f.now); len(days) != 17 || days[0] != day("2026-01-01") || days[16] != day("2026-01-17") {
		t.Fatalf("the backlog at 01-20 09:00: %v, want 01-01..01-17", days)
	}
	// A day proposed out of turn (a second leader's) changes nothing.
	f.as("system", Command{Body: &EvaluateDay{Day: day("2026-01-05")}})
	if d, _ := f.l.NextDayToEvaluate(f.now); d != day("2026-01-18") {
		t.Fatalf("next day %s after a repeated proposal", d)
	}
	if got := f.l.Findings(); len(got) != 1 || findingLine(got[0]) != "FND-00000001 no_monitoring nm 2026-01-17 detected" {
		t.Fatalf("after the backlog: %v", got)
	}
	// Reviewed within 5 working days of its raising (Tue 01-20): 01-21, 22, 23, 26, 27.
	if x := f.finding("FND-00000001"); x.Deadline != day("2026-01-27") || x.Evidence.From != day("2026-01-11") || x.Evidence.Rows != 0 {
		t.Fatalf("no_monitoring: deadline %s, evidence %+v", x.Deadline, x.Evidence)
	}

	// Then day by day: each morning at 09:00 the day before yesterday is due.
	for now := at("2026-01-21T09:00:00+08:00"); !now.After(at("2026-07-03T09:00:00+08:00")); now = now.AddDate(0, 0, 1) {
		days := f.evaluateDue(now)
		if len(days) != 1 || days[0] != calendar.DateOf(now).AddDays(-3) {
			t.Fatalf("at %s evaluated %v", now, days)
		}
		if calendar.DateOf(now) == day("2026-02-02") { // 01-30 was just evaluated
			f.now = now.Add(time.Hour)
			id := ""
			for _, x := range f.l.Findings() {
				if x.Subject == "dis" {
					id = x.ID
				}
			}
			f.ok(&FindingAction{ID: id, Action: ActionDismiss, Reason: "负载将于三月上线"})
		}
	}

	want := []string{
		"FND-00000001 no_monitoring nm 2026-01-17 rectified closed 2026-01-25",
		"FND-00000002 low_utilisation dis 2026-01-30 dismissed closed 2026-02-02 advice 3",
		"FND-00000003 low_utilisation early 2026-01-30 detected advice 3",
		"FND-00000004 low_utilisation low 2026-01-30 rectified closed 2026-02-16 advice 3",
		"FND-00000005 low_utilisation z1 2026-01-30 detected advice 1",
		"FND-00000006 low_utilisation z2 2026-01-30 detected advice 1",
		"FND-00000007 low_utilisation gap 2026-02-14 detected advice 3",
		"FND-00000008 low_utilisation mid 2026-02-14 detected advice 3",
		"FND-00000009 low_utilisation spike 2026-02-19 detected advice 3",
		"FND-00000010 low_utilisation dis 2026-03-01 detected advice 3",
		"FND-00000011 zombie prj2 2026-03-01 detected",
		"FND-00000012 low_utilisation low 2026-03-18 detected advice 3",
	}
	got := f.l.Findings()
	var lines []string
	for _, x := range got {
		lines = append(lines, findingLine(x))
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("findings:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}

	// The evidence and the deadlines, by hand.
	if ev := f.finding("FND-00000009").Evidence; ev.From != day("2026-01-21") || ev.To != day("2026-02-19") || ev.Days != 30 || ev.Rows != 30 ||
		!ev.Mean.Equal(dec("5")) || !ev.Peak.Equal(dec("20")) {
		t.Errorf("spike's evidence %+v, want 01-21..02-19, 30 days, 30 rows, mean 5, peak 20", ev)
	}
	if ev := f.finding("FND-00000011").Evidence; ev.From != day("2026-01-01") || ev.To != day("2026-03-01") || ev.Days != 60 {
		t.Errorf("zombie's evidence %+v, want 01-01..03-01, 60 days", ev)
	}
	// early: raised at the evaluation of 01-30 on Mon 02-02: 02-03, 04, 05, 06, 09.
	if x := f.finding("FND-00000003"); x.Deadline != day("2026-02-09") || !x.Quantity.Equal(dec("8")) {
		t.Errorf("early: deadline %s, quantity %s", x.Deadline, x.Quantity)
	}
	// gap: raised on Tue 02-17 inside the Spring Festival (02-15..02-23 off, Sat 02-28 a
	// working day): 02-24, 25, 26, 27, 28.
	if x := f.finding("FND-00000007"); x.Deadline != day("2026-02-28") {
		t.Errorf("gap: deadline %s, want 2026-02-28", x.Deadline)
	}
}

// lifecycleFixture: d1/prj1 at p1 holds "vm" (8 vCPU) and "big" (64 vCPU), idle (mean 5,
// peak 20) since 09-01; rules from 09-01 with low_days 3, so both are low_utilisation on
// 09-03 (advice 3 and ceil(64 × 20 ÷ 70) = ceil(18.29) = 19), raised at the evaluation on
// Mon 09-28 09:00.
func lifecycleFixture(t *testing.T) *fixture {
	f := newFixture(t)
	f.now = at("2026-09-28T09:00:00+08:00")
	f.seed()
	f.ok(allocAt("vm", "prj1", "ecs.vcpu", "8", "2026-08-31T10:00:00+08:00"), allocAt("big", "prj1", "ecs.vcpu", "64", "2026-08-31T10:00:00+08:00"))
	f.deliver(rowsOf("big", "2026-09-01", "2026-12-31", "5", "20", nil, nil), rowsOf("vm", "2026-09-01", "2026-12-31", "5", "20", nil, nil))
	r := DefaultUtilisationRules(day("2026-09-01"))
	r.LowDays = 3
	f.ok(&SetUtilisationRules{Rules: r})
	f.evaluateDue(f.now)
	if got := f.l.Findings(); len(got) != 2 || findingLine(got[0]) != "FND-00000001 low_utilisation big 2026-09-03 detected advice 19" ||
		findingLine(got[1]) != "FND-00000002 low_utilisation vm 2026-09-03 detected advice 3" {
		t.Fatalf("findings %v", got)
	}
	return f
}

// Issue 25, must show 2 (the ledger's half; SPEC: Utilisation, Lifecycle): detected → warned
// (the deadline across the National Day holiday) → explained → rejected (the original
// deadline) → overdue (the tick, the day after the deadline, not on it) → enforced: the
// department's expansion is refused resources_suspended, directly and as a request, while
// an emergency resource the supervisor approved still opens; a reclaim request is raised at
// the provider's step and its fulfilment closes the finding and lifts the suspension.
// Another finding is rectified by a reduce to the advised 19 (a reduce by 1 of 64 does not).
func TestFindingLifecycle(t *testing.T) {
	f := lifecycleFixture(t)
	const id = "FND-00000002"
	f.now = at("2026-09-28T10:00:00+08:00")
	f.ok(&FindingAction{ID: id, Action: ActionWarn})
	// 20 working days from Mon 09-28: 09-29, 09-30, (10-01..07 off) 10-08, 10-09, Sat 10-10
	// (worked), 10-12..16, 10-19..23, 10-26..30: the 20th is 10-30 (10-26 without the holiday).
	if x := f.finding(id); x.State != FindingWarned || x.Deadline != day("2026-10-30") {
		t.Fatalf("warned: %s, deadline %s", x.State, x.Deadline)
	}
	f.reject(errcode.FindingState, &FindingAction{ID: id, Action: ActionEnforce})
	f.reject(errcode.MissingField, &FindingAction{ID: id, Action: ActionExplain})
	f.now = at("2026-10-12T15:00:00+08:00")
	f.ok(&FindingAction{ID: id, Action: ActionExplain, Reason: "年底上线新业务"})
	// The authority reviews within 5 working days of Mon 10-12: 10-13..16, 10-19.
	if x := f.finding(id); x.State != FindingExplained || x.Deadline != day("2026-10-19") {
		t.Fatalf("explained: %s, deadline %s", x.State, x.Deadline)
	}
	f.now = at("2026-10-14T09:30:00+08:00")
	f.ok(&FindingAction{ID: id, Action: ActionReject, Reason: "无上线计划"})
	if x := f.finding(id); x.State != FindingWarned || x.Deadline != day("2026-10-30") {
		t.Fatalf("rejected: %s, deadline %s (want the original 10-30)", x.State, x.Deadline)
	}
	f.now = at("2026-10-30T23:00:00+08:00")
	f.ok(&Tick{})
	if x := f.finding(id); x.State != FindingWarned {
		t.Fatalf("on its deadline day: %s", x.State)
	}
	f.now = at("2026-10-31T00:05:00+08:00")
	if !f.l.FindingsDue(f.now) {
		t.Fatal("the leader is not told a tick is due")
	}
	f.ok(&Tick{})
	if x := f.finding(id); x.State != FindingOverdue {
		t.Fatalf("the day after its deadline: %s", x.State)
	}
	f.now = at("2026-11-02T10:00:00+08:00")
	f.ok(&FindingAction{ID: id, Action: ActionEnforce})
	if x := f.finding(id); x.State != FindingEnforced {
		t.Fatalf("enforced: %s", x.State)
	}
	reqs := f.l.ResourceRequests()
	if len(reqs) != 1 || reqs[0].Kind != RequestReclaim || reqs[0].Resource != "vm" || reqs[0].State != RequestApproved {
		t.Fatalf("reclaim requests %+v", reqs)
	}
	// It waits at the provider's step, due 10 working days from 11-02 (SH 21): 11-16.
	if step, due, _, err := reqs[0].Due(f.l.Calendar()); err != nil || step != StepFulfil || due != day("2026-11-16") {
		t.Fatalf("the reclaim request waits at %q due %s (%v), want the provider's fulfil due 2026-11-16", step, due, err)
	}
	reclaim := reqs[0].ID

	f.now = at("2026-11-03T10:00:00+08:00")
	f.reject(errcode.ResourcesSuspended, change(OpExpand, "big", "4", "2026-11-03T10:00:00+08:00"))
	f.reject(errcode.ResourcesSuspended, allocAt("new", "prj1", "ecs.vcpu", "2", "2026-11-03T10:00:00+08:00"))
	f.reject(errcode.ResourcesSuspended, &SubmitRequest{Kind: RequestExpand, Department: "d1", Resource: "big", Quantity: dec("4")})
	// An emergency resource: asked for, agreed by the supervisor, approved, opened.
	f.ok(&SubmitRequest{Kind: RequestOpen, ResourceKind: KindEmergency, Department: "d1", Project: "prj1", Provider: "p1",
		Item: "ecs.vcpu", Quantity: dec("4"), Expires: endOf("2026-12-31"), Reason: "防汛应急"})
	em := f.l.ResourceRequests()[1].ID
	f.ok(&DecideRequest{ID: em, Decision: DecisionSupervise})
	f.ok(&DecideRequest{ID: em, Decision: DecisionApprove})
	f.ok(&FulfilRequest{ID: em, Resource: "em1"})
	if r, ok := f.l.Resource("em1"); !ok || r.Closed || r.Kind != KindEmergency {
		t.Fatalf("the emergency resource: %+v", r)
	}
	// The provider reclaims vm: the finding is rectified that day, the suspension lifted.
	f.now = at("2026-11-04T11:00:00+08:00")
	f.ok(&FulfilRequest{ID: reclaim})
	if x := f.finding(id); x.State != FindingRectified || x.ClosedOn != day("2026-11-04") {
		t.Fatalf("after the reclaim: %s closed %s", x.State, x.ClosedOn)
	}
	f.ok(change(OpExpand, "big", "4", "2026-11-04T12:00:00+08:00"))

	// big: advice 19 of 68 now (64 + 4). A reduce by 1 leaves 67 > 19: still open; to 19: rectified.
	f.ok(change(OpReduce, "big", "1", "2026-11-05T10:00:00+08:00"))
	if x := f.finding("FND-00000001"); x.State != FindingDetected {
		t.Fatalf("a reduce by 1: %s", x.State)
	}
	f.ok(change(OpReduce, "big", "48", "2026-11-06T10:00:00+08:00"))
	if x := f.finding("FND-00000001"); x.State != FindingRectified || x.ClosedOn != day("2026-11-06") {
		t.Fatalf("reduced to 19: %s %s", x.State, x.ClosedOn)
	}

	// Each step told whom it concerns: the department of the warning, the rejection, the
	// overdue, the enforcement and the closing; the authority of the detection, the
	// explanation, the overdue and the closing.
	var told []string
	for _, n := range f.l.Notices(0, 1000) {
		if n.Finding == id {
			told = append(told, string(n.FindingState)+">"+n.Party)
		}
	}
	want := "detected>authority warned>department explained>authority warned>department overdue>department overdue>authority enforced>department enforced>supervisor rectified>department rectified>authority"
	if strings.Join(told, " ") != want {
		t.Fatalf("notices of %s:\n%s\nwant\n%s", id, strings.Join(told, " "), want)
	}
}

// A deadline in a year whose calendar is not loaded reads unknown; the tick carries on, and
// works it out once the year is loaded.
func TestFindingDeadlineUnknownUntilLoaded(t *testing.T) {
	f := lifecycleFixture(t)
	f.now = at("2026-12-21T10:00:00+08:00")
	f.ok(&FindingAction{ID: "FND-00000002", Action: ActionWarn}) // 20 working days from 12-21 run into 2027
	if x := f.finding("FND-00000002"); !x.DeadlineUnknown || !x.Deadline.IsZero() {
		t.Fatalf("deadline %s unknown %v", x.Deadline, x.DeadlineUnknown)
	}
	f.now = at("2026-12-22T10:00:00+08:00")
	f.ok(&Tick{})
	if x := f.finding("FND-00000002"); x.State != FindingWarned || !x.DeadlineUnknown {
		t.Fatalf("after a tick: %+v", x)
	}
	// 2027 loaded (a test calendar: 1 January off): the next tick works the deadline out from
	// the warning's own time. 20 working days from Mon 12-21: 12-22..25 (4), 12-28..31 (8),
	// (01-01 off) 01-04..08 (13), 01-11..15 (18), 01-18, 01-19 (20).
	if f.l.FindingsDue(at("2026-12-22T11:00:00+08:00")) {
		t.Fatal("a tick is said due before the year is loaded")
	}
	sched, err := calendar.ParseYearSchedule([]byte(`{"year": 2027, "days": [{"name": "元旦", "date": "2027-01-01", "isOffDay": true}]}`))
	if err != nil {
		t.Fatal(err)
	}
	f.ok(&LoadCalendar{Schedule: sched})
	f.now = at("2026-12-23T10:00:00+08:00")
	if !f.l.FindingsDue(f.now) {
		t.Fatal("the leader is not told the deadline can be worked out")
	}
	f.ok(&Tick{})
	if x := f.finding("FND-00000002"); x.DeadlineUnknown || x.Deadline != day("2027-01-19") {
		t.Fatalf("after the year is loaded: deadline %s unknown %v, want 2027-01-19", x.Deadline, x.DeadlineUnknown)
	}
}

// monthlyReporter runs Jan..early Mar 2026 for one resource "vm" whose provider reports
// each month's rows on the 5th of the next month at 10:00 (the 1st's row ~35 days late),
// under the given lateness allowance; the leader evaluates what is due each day at 09:00.
func monthlyReporter(t *testing.T, lateness int) *fixture {
	f := newFixture(t)
	f.now = at("2026-01-01T08:00:00+08:00")
	f.seed()
	f.ok(allocAt("vm", "prj1", "ecs.vcpu", "8", "2025-12-31T10:00:00+08:00"),
		&AccountChange{Op: AccountAdd, ID: "p1-am", Name: "p1", Role: RoleProvider, Provider: "p1"})
	r := DefaultUtilisationRules(day("2026-01-01"))
	r.LatenessDays = lateness
	f.ok(&SetUtilisationRules{Rules: r})
	for d := day("2026-01-01"); !d.After(day("2026-03-09")); d = d.AddDays(1) {
		f.evaluateDue(d.Start().Add(9 * time.Hour))
		if d.Day == 5 && d.Month > 1 {
			f.now = d.Start().Add(10 * time.Hour)
			prev := calendar.MonthOf(d.AddDays(-10))
			rows := rowsOf("vm", prev.First().String(), prev.Last().String(), "50", "60", nil, nil)
			if r := f.as("p1-am", f.cmd(&UtilisationDelivery{Rows: rows})); r.Err != nil {
				t.Fatal(r.Err)
			}
		}
	}
	return f
}

// Issue 25, must show 3 (SPEC: Findings, "up to the last day past the allowance"; "if that
// row arrives late, the closing is recorded at the first evaluation after it, dated that
// day"). Under lateness_days 40 a monthly reporter is never unmonitored: 03-09 09:00 has
// evaluated only up to 01-27, every day with its row. Under the default 2: 01-01..01-07
// had no row when evaluated (01-04..01-10) → raised 01-07; January's rows arrive 02-05, the
// evaluation of 02-03 on 02-06 closes it dated 01-08 (the first counted day after 01-07);
// February's turn: no rows for 02-03..02-09 when evaluated → raised 02-09, closed dated
// 02-10 when the rows of 03-05 are seen on 03-06.
func TestMonthlyReporterUnderLateness(t *testing.T) {
	f := monthlyReporter(t, 40)
	if got := f.l.Findings(); len(got) != 0 {
		t.Fatalf("lateness 40: %v", got)
	}
	if d, _ := f.l.NextDayToEvaluate(f.now); d != day("2026-01-28") {
		t.Fatalf("lateness 40: next day %s, want 2026-01-28 (03-09 is 01-27 + 41)", d)
	}
	f = monthlyReporter(t, 2)
	var lines []string
	for _, x := range f.l.Findings() {
		lines = append(lines, findingLine(x))
	}
	want := "FND-00000001 no_monitoring vm 2026-01-07 rectified closed 2026-01-08\nFND-00000002 no_monitoring vm 2026-02-09 rectified closed 2026-02-10"
	if got := strings.Join(lines, "\n"); got != want {
		t.Fatalf("lateness 2:\n%s\nwant\n%s", got, want)
	}
	x := f.finding("FND-00000001")
	if last := x.Steps[len(x.Steps)-1]; !last.At.Equal(at("2026-02-06T09:00:00+08:00")) {
		t.Fatalf("closing recorded at %s, want the evaluation of 02-06 09:00", last.At)
	}
}

// Issue 25, must show 4 (SPEC: Seasonal workloads; Quota). d1's vCPU quota is 150 (prj1 100,
// prj2 50); prj1 declares 05-15..07-15 at 200, so in season Q = 250 (limit 300), outside
// 150 (limit 180). Holding 170, an expansion by 50 on 05-10 (220 > 180) is refused
// quota_overrun_needs_approval; the same on 06-01 (220 ≤ 300) is allowed. The overrun
// report: on 06-01 A = 220 ≤ Q = 250, no row; on 08-01 Q = 150, 220 ÷ 150 = 1.4667 > 120 %
// with no approval: violation.
func TestSeasonalQuota(t *testing.T) {
	f := newFixture(t)
	f.now = at("2026-04-01T09:00:00+08:00")
	f.seed()
	f.ok(&SetProjectSeasons{Project: "prj1", Seasons: []Season{{From: MonthDay{5, 15}, To: MonthDay{7, 15}, QuotaClass: "vcpu", Quota: dec("200")}}},
		allocAt("exam", "prj1", "ecs.vcpu", "170", "2026-04-01T08:00:00+08:00"))
	f.reject(errcode.QuotaOverrun, change(OpExpand, "exam", "50", "2026-05-10T10:00:00+08:00"))
	f.ok(change(OpExpand, "exam", "50", "2026-06-01T10:00:00+08:00"))
	if o := f.l.OverrunsOn(day("2026-06-01")); len(o) != 0 {
		t.Fatalf("in season: %+v", o)
	}
	o := f.l.OverrunsOn(day("2026-08-01"))
	if len(o) != 1 || !o[0].Quota.Equal(dec("150")) || !o[0].Allocated.Equal(dec("220")) || !o[0].Ratio.Equal(dec("1.4667")) || o[0].Status != StatusViolation {
		t.Fatalf("outside the season: %+v", o)
	}
	// A season that wraps over the year's end covers 12-20 and 01-10, not 03-01.
	s := Season{From: MonthDay{12, 1}, To: MonthDay{2, 28}}
	if !s.covers(day("2026-12-20")) || !s.covers(day("2027-01-10")) || s.covers(day("2027-03-01")) {
		t.Fatal("a season over the year's end")
	}
}

// What a review of issue 25 found, each worked by hand (SPEC: Utilisation). Rows of vm and
// big from 1 September are low (mean 5, peak 20); rules from 1 September with low_days 3,
// so both would be raised on 3 September. On 4 September, before 3 September is evaluated
// (lateness 2: on the 6th), vm is reclaimed and big expanded from 64 to 100.
//   - vm, closed by the time its day is evaluated, raises nothing (nothing is left to warn).
//   - big's advice is worked from q at the end of 3 September, 64: ceil(64 × 20 ÷ 70) = 19,
//     not from the 100 it holds when evaluated (29) — though the expansion came before the
//     rules, which start from a past day.
//   - Rules dated on or before the last evaluated day are refused; so is an advice target
//     below the low peak; and a client's key in the ledger's own finding/ keys.
//   - Past its deadline a finding can no longer be explained (it is overdue: the authority
//     decides); enforced, a suspended department's emergency resource grows only as the
//     supervisor agrees; closed by a reduce to the advice, the reclaim request its
//     enforcement raised is withdrawn and the suspension lifted.
func TestFindingReviewEdges(t *testing.T) {
	f := newFixture(t)
	f.now = at("2026-09-04T12:00:00+08:00")
	f.seed()
	f.ok(allocAt("vm", "prj1", "ecs.vcpu", "8", "2026-08-31T10:00:00+08:00"), allocAt("big", "prj1", "ecs.vcpu", "64", "2026-08-31T10:00:00+08:00"))
	f.deliver(rowsOf("big", "2026-09-01", "2026-12-31", "5", "20", nil, nil), rowsOf("vm", "2026-09-01", "2026-09-03", "5", "20", nil, nil))
	// The changes come before the rules, which then start from a past day (a backlog).
	f.ok(change(OpReclaim, "vm", "", "2026-09-04T10:00:00+08:00"), change(OpExpand, "big", "36", "2026-09-04T10:00:00+08:00"))
	r := DefaultUtilisationRules(day("2026-09-01"))
	r.LowDays = 3
	f.ok(&SetUtilisationRules{Rules: r})
	if days := f.evaluateDue(at("2026-09-06T01:00:00+08:00")); len(days) != 3 {
		t.Fatalf("evaluated %v, want 09-01..09-03", days)
	}
	if got := f.l.Findings(); len(got) != 1 || findingLine(got[0]) != "FND-00000001 low_utilisation big 2026-09-03 detected advice 19" || !got[0].Quantity.Equal(dec("64")) {
		t.Fatalf("findings %v, want big's alone, advice 19 of 64", got)
	}
	const id = "FND-00000001"

	if r := f.propose(Command{Key: "finding/FND-00000002/detected", Body: allocAt("sneak", "prj1", "ecs.vcpu", "1", "2026-09-06T00:30:00+08:00")}); r.Err == nil || r.Err.Code != errcode.InvalidValue || r.Err.Field != "key" {
		t.Fatalf("a client's key among the ledger's own: %v", r.Err)
	}
	late := DefaultUtilisationRules(day("2026-09-03"))
	f.reject(errcode.InvalidValue, &SetUtilisationRules{Rules: late})
	low := DefaultUtilisationRules(day("2026-09-10"))
	low.AdviceTarget = dec("25")
	f.reject(errcode.InvalidValue, &SetUtilisationRules{Rules: low})

	f.now = at("2026-09-28T10:00:00+08:00")
	f.ok(&FindingAction{ID: id, Action: ActionWarn}) // due 2026-10-30 (TestFindingLifecycle)
	f.now = at("2026-10-31T00:05:00+08:00")
	f.ok(&Tick{})
	f.reject(errcode.FindingState, &FindingAction{ID: id, Action: ActionExplain, Reason: "来不及了"})
	f.now = at("2026-11-02T10:00:00+08:00")
	f.ok(&FindingAction{ID: id, Action: ActionEnforce})
	reclaim := f.l.ResourceRequests()[0]
	if reclaim.Finding != id || reclaim.Resource != "big" {
		t.Fatalf("the enforcement's request: %+v", reclaim)
	}
	f.ok(&SubmitRequest{Kind: RequestOpen, ResourceKind: KindEmergency, Department: "d1", Project: "prj1", Provider: "p1",
		Item: "ecs.vcpu", Quantity: dec("4"), Expires: endOf("2026-12-31"), Reason: "防汛应急"})
	em := f.l.ResourceRequests()[1].ID
	f.ok(&DecideRequest{ID: em, Decision: DecisionSupervise}, &DecideRequest{ID: em, Decision: DecisionApprove}, &FulfilRequest{ID: em, Resource: "em1"})
	f.ok(&SubmitRequest{Kind: RequestExpand, Department: "d1", Resource: "em1", Quantity: dec("2"), Reason: "应急扩容"})
	grow := f.l.ResourceRequests()[2]
	if !grow.NeedsSupervisor {
		t.Fatalf("a suspended department's emergency expansion: %+v, want the supervisor's case", grow)
	}
	f.reject(errcode.SupervisorRequired, &DecideRequest{ID: grow.ID, Decision: DecisionApprove})

	// Reduced to the advice (64 + 36 = 100, by 81 to 19): rectified, the reclaim withdrawn.
	f.now = at("2026-11-03T10:00:00+08:00")
	f.ok(change(OpReduce, "big", "81", "2026-11-03T10:00:00+08:00"))
	if x := f.finding(id); x.State != FindingRectified || x.ClosedOn != day("2026-11-03") {
		t.Fatalf("reduced to the advice: %s closed %s", x.State, x.ClosedOn)
	}
	if r, _ := f.l.ResourceRequest(reclaim.ID); r.State != RequestCancelled {
		t.Fatalf("the enforcement's reclaim request after the finding closed: %s, want cancelled", r.State)
	}
	f.ok(allocAt("new", "prj1", "ecs.vcpu", "2", "2026-11-03T11:00:00+08:00"))

	// The steps the ledger took itself are line items of the chain (SPEC: each step a line
	// item): detected on 3 September, overdue on 31 October, rectified on 3 November — the
	// last right after the reduce that caused it.
	var steps []string
	var reduceSeq uint64
	err := f.l.LineItems(1, func(li *LineItem) bool {
		switch b := li.Body.(type) {
		case *FindingRecord:
			if b.ID == id {
				steps = append(steps, fmt.Sprintf("%s %s %s seq+%d", li.Actor, b.State, b.Day, li.Seq-reduceSeq))
			}
		case *Event:
			if b.Op == OpReduce && b.Resource == "big" {
				reduceSeq = li.Seq
			}
		}
		return true
	})
	if err != nil {
		t.Fatalf("the line items read back: %v", err) // a record without a deadline must decode
	}
	if got := strings.Join(steps, ", "); !strings.HasSuffix(got, "system rectified 2026-11-03 seq+1") || !strings.Contains(got, "system detected 2026-09-03") ||
		!strings.Contains(got, "system overdue 2026-10-31") || len(steps) != 3 {
		t.Fatalf("the ledger's own steps of %s: %s", id, got)
	}
}

// A remembered change is held compactly but is written as it always was: the stored runs
// of a resource stay byte for byte what an older node writes (the JSON of a time.Time and
// a decimal), and read back to the same time and quantity.
func TestQuantityChangeStoredAsBefore(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	big, _ := decimal.NewFromString("123456789012345678901234567890.5")
	for _, tc := range []struct {
		at    time.Time
		delta string
		want  string
	}{
		{time.Date(2026, 3, 1, 0, 0, 0, 0, shanghai), "4", `{"at":"2026-03-01T00:00:00+08:00","delta":"4"}`},
		{time.Date(2026, 3, 1, 9, 30, 0, 500, time.UTC), "-0.25", `{"at":"2026-03-01T09:30:00.0000005Z","delta":"-0.25"}`},
		{time.Date(2025, 12, 31, 23, 59, 59, 0, time.FixedZone("", -5*3600)), "1E2", `{"at":"2025-12-31T23:59:59-05:00","delta":"100"}`},
		{time.Date(2026, 1, 1, 0, 0, 0, 0, shanghai), big.String(), `{"at":"2026-01-01T00:00:00+08:00","delta":"123456789012345678901234567890.5"}`},
	} {
		d := decimal.RequireFromString(tc.delta)
		got, err := json.Marshal(newQuantityChange(tc.at, d))
		if err != nil || string(got) != tc.want {
			t.Fatalf("%s %s: %s %v, want %s", tc.at, tc.delta, got, err, tc.want)
		}
		var back quantityChange
		if err := json.Unmarshal(got, &back); err != nil || !back.At().Equal(tc.at) || !back.Delta().Equal(d) {
			t.Fatalf("read back %s %s as %s %s (%v)", tc.at, tc.delta, back.At(), back.Delta(), err)
		}
		if again, _ := json.Marshal(back); string(again) != tc.want {
			t.Fatalf("written again: %s", again)
		}
	}
	// Written otherwise (fields in another order, spaces): read by encoding/json alike.
	var c quantityChange
	if err := json.Unmarshal([]byte(`{ "delta": "-2.5", "at": "2026-03-01T00:00:00+08:00" }`), &c); err != nil ||
		!c.Delta().Equal(decimal.RequireFromString("-2.5")) || !c.At().Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, shanghai)) {
		t.Fatalf("another layout: %s %s %v", c.At(), c.Delta(), err)
	}
	if err := json.Unmarshal([]byte(`{"at":"2026-03-01T00:00:00+08:00","delta":"x"}`), &c); err == nil {
		t.Fatal("a delta that is no number was read")
	}
}

// Runs read at open without reflection read exactly what encoding/json reads, and what they
// cannot read (a late row, another layout) is left to it.
func TestRunsReadAsEncodingJSONReadsThem(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	cases := []runs{
		{},
		{NoRow: 3, Low: 12, Zombie: 0, Recover: 7},
		{Low: 1, Changes: []quantityChange{newQuantityChange(time.Date(2026, 3, 1, 9, 0, 0, 0, shanghai), decimal.NewFromInt(4))}},
		{NoRow: 40, Changes: []quantityChange{
			newQuantityChange(time.Date(2021, 9, 1, 0, 0, 0, 1, time.UTC), decimal.RequireFromString("-0.5")),
			newQuantityChange(time.Date(2026, 8, 31, 23, 59, 59, 0, shanghai), decimal.RequireFromString("123456789012345678901234567890")),
			newQuantityChange(time.Date(2026, 9, 1, 0, 0, 0, 0, shanghai), decimal.NewFromInt(-2)),
		}},
	}
	for i, want := range cases {
		raw, err := json.Marshal(&want)
		if err != nil {
			t.Fatal(err)
		}
		var fast runs
		if !fast.readStoredJSON(raw) {
			t.Fatalf("case %d: %s not read", i, raw)
		}
		var slow runs
		if err := json.Unmarshal(raw, &slow); err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(&fast)
		b, _ := json.Marshal(&slow)
		if string(a) != string(b) || string(a) != string(raw) {
			t.Fatalf("case %d: read as %s, encoding/json reads %s, stored %s", i, a, b, raw)
		}
		if len(fast.Changes) != len(want.Changes) || fast.NoRow != want.NoRow || fast.Low != want.Low || fast.Recover != want.Recover {
			t.Fatalf("case %d: %+v, want %+v", i, fast, want)
		}
	}
	withLateRow, _ := json.Marshal(&runs{NoRow: 1, LateRow: calendar.NewDate(2026, 3, 2)})
	for _, raw := range []string{string(withLateRow), `{"low":1,"no_row":2,"zombie":0,"recover":0}`, `{"no_row":1,"low":0,"zombie":0,"recover":0,"changes":[{"at":"x","delta":"1"}]}`,
		`{"no_row":1,"low":0,"zombie":0,"recover":0,"changes":[{"at":"2026-03-01T00:00:00Z","delta":"1"}`} {
		var r runs
		if r.readStoredJSON([]byte(raw)) {
			t.Fatalf("%s was read without encoding/json", raw)
		}
	}
}

// Whatever bytes the fast reader of runs takes, encoding/json reads to the same runs.
func FuzzRunsStoredJSON(f *testing.F) {
	f.Add([]byte(`{"no_row":1,"low":0,"zombie":0,"recover":0,"changes":[{"at":"2026-03-01T00:00:00+08:00","delta":"1"}]}`))
	f.Add([]byte(`{"no_row":0,"low":0,"zombie":0,"recover":0}`))
	f.Add([]byte(`{"no_row":01,"low":-0,"zombie":0,"recover":0,"changes":[{"at":"2026-03-01T00:00:00.Z","delta":"1e2"}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var fast runs
		if !fast.readStoredJSON(raw) {
			return
		}
		var slow runs
		if err := json.Unmarshal(raw, &slow); err != nil {
			t.Fatalf("read %q, which encoding/json refuses: %v", raw, err)
		}
		a, _ := json.Marshal(&fast)
		b, _ := json.Marshal(&slow)
		if string(a) != string(b) {
			t.Fatalf("%q read as %s; encoding/json reads %s", raw, a, b)
		}
	})
}

// Whatever text the hand reader of a change takes, time.Parse and decimal take to the same
// change (the runs' fuzzer goes through the hand reader on both of its sides).
func FuzzQuickQuantityChange(f *testing.F) {
	f.Add("2026-03-01T00:00:00+08:00", "1")
	f.Add("2021-09-01T00:00:00.000000001Z", "-1000")
	f.Add("2026-02-30T24:00:00-00:00", "01")
	f.Add("2026-03-01T00:00:00.10+08:00", "-0")
	f.Add("2026-03-01T09:30:00.5-05:30", "-7")
	f.Fuzz(func(t *testing.T, at, delta string) {
		quick, ok := quickQuantityChange(at, delta)
		if !ok {
			return
		}
		parsed, ok := parsedQuantityChange(at, delta)
		if !ok || quick != parsed {
			t.Fatalf("%q %q read by hand as %+v; time.Parse and decimal read %+v (%v)", at, delta, quick, parsed, ok)
		}
	})
}

// The hand reader of a change reads what time.Parse and decimal read, for every time
// RFC3339Nano writes, and leaves alone what they would write otherwise.
func TestQuickQuantityChangeReadsAsTimeParse(t *testing.T) {
	zones := []*time.Location{time.UTC, time.FixedZone("CST", 8*3600), time.FixedZone("", -5*3600-30*60), time.FixedZone("", 14*3600)}
	for i := 0; i < 20000; i++ {
		at := time.Date(2000+i%200, time.Month(1+i%12), 1+i%31, i%24, i*7%60, i*13%60, (i*7919)%1000000000/(1+i%4*999), zones[i%len(zones)])
		text := at.Format(time.RFC3339Nano)
		delta := fmt.Sprint(i%2001 - 1000)
		quick, ok := quickQuantityChange(text, delta)
		if !ok {
			t.Fatalf("%s %s not read by hand", text, delta)
		}
		if want := newQuantityChange(at, decimal.RequireFromString(delta)); quick != want {
			t.Fatalf("%s %s: read as %+v, want %+v", text, delta, quick, want)
		}
	}
	for _, c := range [][2]string{
		{"2026-03-01T00:00:00+00:00", "1"}, {"2026-02-30T00:00:00Z", "1"}, {"2026-03-01T00:00:00.500Z", "1"},
		{"2026-03-01T00:00:00Z", "-0"}, {"2026-03-01T00:00:00Z", "007"}, {"2026-03-01T00:00:00Z", "1.5"},
		{"2026-03-01T24:00:00Z", "1"}, {"2026-03-01 00:00:00Z", "1"}, {"2026-03-01T00:00:00+8:00", "1"},
		{"2026-03-01T00:00:00-00:00", "1"}, {"2026-03-01T00:00:00.Z", "1"}, {"2026-03-01T00:00:00Z", "+1"},
	} {
		if _, ok := quickQuantityChange(c[0], c[1]); ok {
			t.Fatalf("%s %s read by hand: time.Parse and decimal would write it otherwise", c[0], c[1])
		}
	}
}
