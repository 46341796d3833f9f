package settlement

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	"github.com/cloudledger/cloudledger/ledger"
)

func at(s string) time.Time {
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return v
}

func allocated(id, dept, project string, kind ledger.ResourceKind, when, qty string) *ledger.ResourceHistory {
	return &ledger.ResourceHistory{ID: id, Department: dept, Project: project, Provider: "hw", Item: "ecs.vcpu", Kind: kind,
		Ops: []ledger.ResourceOp{{Time: at(when), Op: ledger.OpAllocate, Quantity: dec(qty)}}}
}

// yearData is settlement year 2026 (1 Sep 2025 – 31 Aug 2026) by hand: health (budget) holds
// 2 vCPU all year (30 yuan a month: 720.00) and 100 units of egress in March (0.5: 50.00)
// and a test VM (never charged); self1 (self-funded) 1 vCPU in August (30.00). From
// September 2026 hw's own vCPU price is 31. hw is scored 95 (multiplier 1) through
// scoredTo; the months of the window are closed up to closedTo.
func yearData(scoredTo, closedTo string) *ledger.View {
	d := &ledger.View{
		Departments: map[string]*ledger.Department{
			"health": {ID: "health", Name: "卫健委", Funding: ledger.FundingBudget},
			"self1":  {ID: "self1", Name: "自筹单位", Funding: ledger.FundingSelf},
		},
		Providers: map[string]*ledger.Provider{"hw": {ID: "hw", Name: "华为云"}},
		Projects:  map[string]*ledger.Project{"his": {ID: "his", Department: "health", Name: "HIS"}, "own": {ID: "own", Department: "self1", Name: "自建"}},
		Items: map[string]*ledger.CatalogItem{
			"ecs.vcpu": {ID: "ecs.vcpu", Name: "vCPU", Billing: ledger.BillingAllocation, Proration: ledger.ProrationDaily, Prices: []ledger.PriceVersion{
				{EffectiveFrom: calendar.NewDate(2025, 1, 1), Price: dec("30")}, {Provider: "hw", EffectiveFrom: calendar.NewDate(2026, 9, 1), Price: dec("31")}}},
			"oss.egress": {ID: "oss.egress", Name: "出网流量", Billing: ledger.BillingMetered, Prices: []ledger.PriceVersion{
				{EffectiveFrom: calendar.NewDate(2025, 1, 1), Price: dec("0.5")}}},
		},
		Evaluations: map[string]*ledger.ProviderScores{"hw": {Provider: "hw", Scores: []ledger.Evaluation{
			{From: calendar.NewDate(2025, 9, 1), To: mustDate(scoredTo), Score: dec("95")}}}},
		Resources: []*ledger.ResourceHistory{
			{ID: "bucket", Department: "health", Project: "his", Provider: "hw", Item: "oss.egress", Kind: ledger.KindStandard,
				Ops: []ledger.ResourceOp{{Time: at("2026-03-10T10:00:00+08:00"), Op: ledger.OpUsage, Quantity: dec("100")}}},
			allocated("t1", "health", "his", ledger.KindTest, "2026-08-20T08:00:00+08:00", "5"),
			allocated("vm1", "health", "his", ledger.KindStandard, "2025-09-01T08:00:00+08:00", "2"),
			allocated("vm2", "self1", "own", ledger.KindStandard, "2026-08-01T08:00:00+08:00", "1"),
		},
		ClosedMonths:   map[calendar.Month]bool{},
		Settlements:    map[int]*ledger.Settlement{},
		WindowEndMonth: ledger.DefaultWindowEndMonth,
		Clock:          at("2026-09-10T10:00:00+08:00"),
	}
	d.Head.AppliedIndex = 42
	for m := (calendar.Month{Year: 2025, Month: time.September}); !m.First().After(mustDate(closedTo)); m = m.Next() {
		d.ClosedMonths[m] = true
	}
	return d
}

func mustDate(s string) calendar.Date {
	d, err := calendar.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// SPEC.md, Settlement: an audit is refused while a month of the window is open or a charge
// of the window is provisional (先审再付), each reason listed.
func TestPrepareListsEveryBlocker(t *testing.T) {
	_, blockers, err := Prepare(yearData("2026-07-31", "2026-07-31"), 2026)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range blockers {
		got = append(got, string(b.Code)+": "+b.Message)
	}
	// Issue 12, item 5: one line per open month and one per provider with its unscored
	// date ranges; the charge lines are the provider's detail.
	want := []string{
		"open_month: month 2026-08 is not closed",
		"provisional: provider hw has no evaluation score for 2026-08-01..2026-08-31 (2 charge lines provisional",
	}
	if len(got) != len(want) {
		t.Fatalf("blockers:\n%s", strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("blocker %d: %q, want %q", i, got[i], want[i])
		}
	}
	detail := blockers[1].Detail
	if len(detail) != 2 || !strings.HasPrefix(detail[0], "2026-08 health/his/hw/ecs.vcpu: 31 days without an evaluation score") ||
		!strings.HasPrefix(detail[1], "2026-08 self1/own/hw/ecs.vcpu: 31 days") {
		t.Errorf("detail %q", detail)
	}
	if err := BlockedError(2026, blockers); err.Code != errcode.SettlementBlocked || !strings.Contains(err.Message, "provider hw has no evaluation score") || strings.Contains(err.Message, "self1") {
		t.Fatalf("refusal: %v", err)
	}
}

// The frozen figures are the window's charges per (department, project, provider, item):
// quantities in unit-days or units, the rounded monthly lines added up; test resources
// never appear.
func TestPrepareFreezesWindowFigures(t *testing.T) {
	d := yearData("2026-08-31", "2026-08-31")
	audit, blockers, err := Prepare(d, 2026)
	if err != nil || len(blockers) > 0 {
		t.Fatalf("%v %v", err, blockers)
	}
	want := []string{"health/his/hw/ecs.vcpu 730 720.00 720.00", "health/his/hw/oss.egress 100 50.00 50.00", "self1/own/hw/ecs.vcpu 31 30.00 30.00"}
	if len(audit.Lines) != len(want) || audit.Year != 2026 || audit.AtIndex != 42 || audit.AtHead != d.Head.Hash.String() {
		t.Fatalf("audit %+v", audit)
	}
	for i, l := range audit.Lines {
		if got := l.Department + "/" + l.Project + "/" + l.Provider + "/" + l.Item + " " + l.Quantity.String() + " " + l.BaseAmount.StringFixed(2) + " " + l.Amount.StringFixed(2); got != want[i] {
			t.Errorf("line %d: %s, want %s", i, got, want[i])
		}
	}
}

// SPEC.md, Settlement: the budget export has the audited fees, a next-year estimate (current
// allocations × current prices × 12 months, "current" at the ledger's clock), totals, the
// self-funded departments apart, and the deadline status.
func TestBuildBudget(t *testing.T) {
	d := yearData("2026-08-31", "2026-08-31")
	cal := calendar.New(calendar.Builtin()...)
	if _, err := BuildBudget(d, cal, 2026); errcode.Of(err) != errcode.SettlementState {
		t.Fatalf("a year not audited: %v", err)
	}
	audit, _, _ := Prepare(d, 2026)
	d.Settlements[2026] = &ledger.Settlement{Year: 2026, State: ledger.SettlementAudited, From: calendar.NewDate(2025, 9, 1), To: calendar.NewDate(2026, 8, 31),
		Lines: audit.Lines, AuditIndex: audit.AtIndex, AuditHead: audit.AtHead, AuditedBy: "admin"}
	b, err := BuildBudget(d, cal, 2026)
	if err != nil {
		t.Fatal(err)
	}
	row := func(l BudgetLine) string {
		return l.Department + "/" + l.Project + "/" + l.Item + " " + l.Amount.StringFixed(2) + " " + l.Estimate.StringFixed(2)
	}
	// vm1: 2 × 31 (hw's price from September) × 12 = 744; vm2: 1 × 31 × 12 = 372; the
	// metered bucket and the test VM add no estimate.
	if len(b.Funded) != 2 || row(b.Funded[0]) != "health/his/ecs.vcpu 720.00 744.00" || row(b.Funded[1]) != "health/his/oss.egress 50.00 0.00" {
		t.Fatalf("budget-funded %+v", b.Funded)
	}
	if len(b.SelfFunded) != 1 || row(b.SelfFunded[0]) != "self1/own/ecs.vcpu 30.00 372.00" {
		t.Fatalf("self-funded %+v", b.SelfFunded)
	}
	if b.FundedTotal.Amount.StringFixed(2) != "770.00" || b.FundedTotal.Estimate.StringFixed(2) != "744.00" || b.SelfTotal.Amount.StringFixed(2) != "30.00" {
		t.Fatalf("totals %+v %+v", b.FundedTotal, b.SelfTotal)
	}
	// The per-department summary: budget-funded first, then self-funded.
	if len(b.Departments) != 2 || b.Departments[0].Department != "health" || b.Departments[0].Funding != ledger.FundingBudget ||
		b.Departments[0].Amount.StringFixed(2) != "770.00" || b.Departments[0].Estimate.StringFixed(2) != "744.00" ||
		b.Departments[1].Department != "self1" || b.Departments[1].Funding != ledger.FundingSelf || b.Departments[1].Estimate.StringFixed(2) != "372.00" {
		t.Fatalf("departments %+v", b.Departments)
	}
	f := readBack(t, b.WriteXLSX)
	rows, err := f.GetRows(SheetDepartments, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	wantRows := []string{
		"[部门 部门名称 经费来源 基础金额(元) 审定费用(元) 下年预估(元)]",
		"[Department Department name Funding Base amount (yuan) Audited fee (yuan) Next-year estimate (yuan)]",
		"[health 卫健委 预算 budget 770 770 744]",
		"[self1 自筹单位 自筹 self 30 30 372]",
		"[预算单位合计 Budget-funded total   770 770 744]",
		"[自筹单位合计 Self-funded total   30 30 372]",
	}
	if len(rows) != len(wantRows) {
		t.Fatalf("summary sheet %q", rows)
	}
	for i, r := range rows {
		if got := fmt.Sprint(r); got != wantRows[i] {
			t.Errorf("summary row %d: %s, want %s", i+1, got, wantRows[i])
		}
	}
	if typ, _ := f.GetCellType(SheetDepartments, "E3"); typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
		t.Errorf("E3 is %v, not a number", typ)
	}
	if v, _ := f.GetCellValue(SheetCover, "B15", excelize.Options{RawCellValue: true}); v != "770.00" {
		t.Errorf("cover B15 (budget-funded audited total) %q", v)
	}
	if typ, _ := f.GetCellType(SheetCover, "B15"); typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
		t.Errorf("cover B15 is %v, not a number", typ)
	}
	if sheets := f.GetSheetList(); fmt.Sprint(sheets) != fmt.Sprint([]string{SheetCover, SheetDepartments, SheetFunded, SheetSelf}) {
		t.Errorf("sheets %q", sheets)
	}
	if b.Funded[0].DepartmentName != "卫健委" || b.Funded[0].ProviderName != "华为云" || b.RaftIndex != 42 || b.Today != calendar.NewDate(2026, 9, 10) ||
		b.DaysLeft != 20 || b.DeadlineText(true) != "剩余 20 天（14 个工作日）" {
		t.Fatalf("cover: %+v %q", b, b.DeadlineText(true))
	}
}

// SPEC.md, Settlement: submitted by 30 September Y. The warning starts when fewer than 15
// working days remain (2026: 中秋 25–27 September off, Sunday 20 September worked) and the
// year is not submitted, and says when it is overdue; the ledger's clock is "today".
func TestDeadlineWarning(t *testing.T) {
	cal := calendar.New(calendar.Builtin()...)
	for _, c := range []struct {
		clock       string
		state       ledger.SettlementState
		days, wdays int
		warning     string
	}{
		{"2026-08-20T10:00:00+08:00", "", 41, 29, ""}, // the window has not ended yet
		{"2026-09-09T10:00:00+08:00", ledger.SettlementDraft, 21, 15, ""},
		{"2026-09-10T10:00:00+08:00", ledger.SettlementDraft, 20, 14, "14 working days left before 2026-09-30"},
		{"2026-09-10T10:00:00+08:00", ledger.SettlementSubmitted, 20, 14, ""},
		{"2026-09-30T10:00:00+08:00", ledger.SettlementAudited, 0, 0, "0 working days left"},
		{"2026-10-08T10:00:00+08:00", ledger.SettlementAudited, -8, 0, "overdue: settlement year 2026 was due 2026-09-30"},
		{"2026-10-08T10:00:00+08:00", ledger.SettlementPaid, -8, 0, ""},
	} {
		d := yearData("2026-08-31", "2026-08-31")
		d.Clock = at(c.clock)
		if c.state != "" {
			d.Settlements[2026] = &ledger.Settlement{Year: 2026, State: c.state, From: calendar.NewDate(2025, 9, 1), To: calendar.NewDate(2026, 8, 31)}
		}
		st, err := YearStatus(d, cal, 2026, false)
		if err != nil {
			t.Fatal(err)
		}
		if st.DaysLeft != c.days || st.WorkingDaysLeft != c.wdays || !strings.Contains(st.Warning, c.warning) || (c.warning == "") != (st.Warning == "") {
			t.Errorf("%s %s: %d days, %d working days, warning %q; want %d, %d, %q", c.clock, c.state, st.DaysLeft, st.WorkingDaysLeft, st.Warning, c.days, c.wdays, c.warning)
		}
	}
}

// SPEC.md, Settlement: "audited figures never change afterwards". A department that turns
// self-funded after the audit keeps its audited fees on the budget-funded sheet (the
// funding frozen with the figures); a department with an estimate only goes by its funding
// now.
func TestBudgetUsesFundingFrozenAtAudit(t *testing.T) {
	d := yearData("2026-08-31", "2026-08-31")
	cal := calendar.New(calendar.Builtin()...)
	audit, _, _ := Prepare(d, 2026)
	d.Settlements[2026] = &ledger.Settlement{Year: 2026, State: ledger.SettlementAudited, From: calendar.NewDate(2025, 9, 1), To: calendar.NewDate(2026, 8, 31),
		Lines: audit.Lines, AuditIndex: audit.AtIndex, AuditHead: audit.AtHead, AuditedBy: "admin",
		Funding: map[string]ledger.Funding{"health": ledger.FundingBudget, "self1": ledger.FundingSelf}}
	// After the audit: health becomes self-funded, and a new budget-funded department
	// allocates a vCPU (estimate only: 1 × 31 × 12 = 372).
	d.Departments["health"] = &ledger.Department{ID: "health", Name: "卫健委", Funding: ledger.FundingSelf}
	d.Departments["new"] = &ledger.Department{ID: "new", Name: "新单位", Funding: ledger.FundingBudget}
	d.Projects["np"] = &ledger.Project{ID: "np", Department: "new", Name: "新项目"}
	d.Resources = append(d.Resources, allocated("vm3", "new", "np", ledger.KindStandard, "2026-09-05T08:00:00+08:00", "1"))
	b, err := BuildBudget(d, cal, 2026)
	if err != nil {
		t.Fatal(err)
	}
	depts := func(lines []BudgetLine) string {
		var out []string
		for _, l := range lines {
			out = append(out, l.Department+"/"+l.Item)
		}
		return strings.Join(out, " ")
	}
	if got := depts(b.Funded); got != "health/ecs.vcpu health/oss.egress new/ecs.vcpu" {
		t.Fatalf("budget-funded sheet: %s", got)
	}
	if got := depts(b.SelfFunded); got != "self1/ecs.vcpu" {
		t.Fatalf("self-funded sheet: %s", got)
	}
	// 720 + 50 audited for health; 744 + 372 estimated.
	if b.FundedTotal.Amount.StringFixed(2) != "770.00" || b.FundedTotal.Estimate.StringFixed(2) != "1116.00" {
		t.Fatalf("budget-funded totals %+v", b.FundedTotal)
	}
	if len(b.Departments) != 3 || b.Departments[0].Department != "health" || b.Departments[0].Funding != ledger.FundingBudget {
		t.Fatalf("departments %+v", b.Departments)
	}
}

// SPEC.md, Settlement: year Y is due 30 September Y. With a configured window ending in
// September or later (a calendar year, say) that day comes before the window's last month
// can be closed, so such a year is due the 30 September after its window.
func TestDeadlineFollowsWindow(t *testing.T) {
	for _, c := range []struct{ end, want string }{
		{"2026-08-31", "2026-09-30"}, // the default window
		{"2026-02-28", "2026-09-30"},
		{"2026-09-30", "2027-09-30"},
		{"2026-12-31", "2027-09-30"}, // a calendar-year window
	} {
		if got := Deadline(mustDate(c.end)); got != mustDate(c.want) {
			t.Errorf("window ending %s: due %s, want %s", c.end, got, c.want)
		}
	}
	// A calendar-year 2026 run in January 2027: 2027-09-30 is 253 days away, no warning.
	d := yearData("2026-08-31", "2026-08-31")
	d.WindowEndMonth = 12
	d.Clock = at("2027-01-20T10:00:00+08:00")
	// (2027's official schedule is not published yet: weekends only will do for this test.)
	st, err := YearStatus(d, calendar.New(append(calendar.Builtin(), calendar.YearSchedule{Year: 2027})...), 2026, false)
	if err != nil {
		t.Fatal(err)
	}
	if st.From != mustDate("2026-01-01") || st.To != mustDate("2026-12-31") || st.Deadline != mustDate("2027-09-30") || st.DaysLeft != 253 || st.Warning != "" {
		t.Fatalf("calendar-year 2026: %s – %s due %s, %d days, warning %q", st.From, st.To, st.Deadline, st.DaysLeft, st.Warning)
	}
}

// A year whose official schedule is not loaded yet (2027 here) still has a status: its days
// left, working days unknown (-1) and a warning saying why, not an internal error.
func TestYearStatusWithoutTheCalendar(t *testing.T) {
	d := yearData("2026-07-31", "2026-07-31")
	d.Clock = time.Date(2026, 12, 1, 10, 0, 0, 0, calendar.Shanghai)
	st, err := YearStatus(d, calendar.New(calendar.Builtin()...), 2027, false)
	if err != nil {
		t.Fatal(err)
	}
	if st.DaysLeft <= 0 || st.WorkingDaysLeft != -1 || !strings.Contains(st.Warning, "working days unknown") {
		t.Fatalf("%+v", st)
	}
}
