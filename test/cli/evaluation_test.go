package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/cloudledger/cloudledger/calendar"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/internal/testcluster"
	"github.com/cloudledger/cloudledger/money"
)

// evalReport is `evaluation report --format json`.
type evalReport struct {
	Rows []struct {
		Provider   string `json:"provider"`
		Quarter    string `json:"quarter"`
		Status     string `json:"status"`
		Scored     bool   `json:"scored"`
		Score      string `json:"score"`
		Multiplier string `json:"multiplier"`
		Indicators map[string]struct {
			HasData bool   `json:"has_data"`
			Raw     string `json:"raw"`
			Points  string `json:"points"`
			Weight  string `json:"weight"`
		} `json:"indicators"`
		Entered []struct{ From, To, Score string } `json:"entered"`
	} `json:"rows"`
	Efficiency []struct {
		Quarter       string `json:"quarter"`
		Department    string `json:"department"`
		QuotaClass    string `json:"quota_class"`
		EfficiencyPct string `json:"efficiency_pct"`
		ResourceDays  int    `json:"resource_days"`
		Rank          int    `json:"rank"`
		Ranked        int    `json:"ranked"`
	} `json:"efficiency"`
}

func (r *roleEnv) evalReport(args ...string) evalReport {
	r.e.t.Helper()
	out := filepath.Join(r.e.dir, fmt.Sprintf("report-%d.json", time.Now().UnixNano()))
	r.must(append([]string{"evaluation", "report", "--format", "json", "-o", out}, args...)...)
	raw, err := os.ReadFile(out)
	if err != nil {
		r.e.t.Fatal(err)
	}
	var rep evalReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		r.e.t.Fatalf("%v\n%s", err, raw)
	}
	return rep
}

// quarterCharges are the charges of March–May 2031 by provider and department
// ("p1/d1"): amount and provisional days.
func (r *roleEnv) quarterCharges() map[string][2]string {
	r.e.t.Helper()
	var ch chargesJSON
	// The first JSON document: a note on provisional lines follows on stderr.
	if err := json.NewDecoder(strings.NewReader(r.must("charges", "--from", "2031-03-01", "--to", "2031-05-31", "--format", "json"))).Decode(&ch); err != nil {
		r.e.t.Fatal(err)
	}
	amount, days := map[string]decimal.Decimal{}, map[string]uint32{}
	for _, l := range ch.Lines {
		k := l.Provider + "/" + l.Department
		amount[k] = amount[k].Add(decimal.RequireFromString(l.Amount))
		days[k] += l.ProvisionalDays
	}
	out := map[string][2]string{}
	for p, a := range amount {
		out[p] = [2]string{a.StringFixed(2), fmt.Sprint(days[p])}
	}
	return out
}

type chargesJSON struct {
	Lines []struct {
		Month           string `json:"month"`
		Provider        string `json:"provider"`
		Department      string `json:"department"`
		BaseAmount      string `json:"base_amount"`
		Multiplier      string `json:"multiplier"`
		Amount          string `json:"amount"`
		ProvisionalDays uint32 `json:"provisional_days"`
	} `json:"lines"`
}

// Issue 26, must show 3 (ledgerctl) and 5, and the department efficiency table, against a
// node whose clock the test moves into 2031. Quarter 2031Q3 is March–May 2031. d1 and d2
// each hold 8 vCPU of p1 all quarter, d1 also 8 vCPU of p2; p1's resources have daily rows
// (availability 99.95, means 40 for d1 and 60 for d2), p2's none. Worked by hand, default
// scheme: p1 sla no data; availability A = 99.95 ≥ target → 100 points (weight 30);
// satisfaction (80 + 90) ÷ 2 = 85 (20); expert 70 (20): (3000 + 1700 + 1400) ÷ 70 =
// 87.142857… → 87.14, band 80–90 → multiplier 0.98. p2 has no indicator: no score, listed,
// its days provisional until its score is entered by hand (evaluations.csv) as 87.14 — then
// its charges equal p1's to the cent. Efficiency in vcpu: d2 60.00 rank 1 of 2, d1 40.00
// rank 2. The XLSX report, converted to CSV by LibreOffice, has the JSON's figures. Roles: a
// department cannot publish, p2 cannot read p1's breakdown, p1 never learns who rated it;
// each refusal in the access trail.
func TestEvaluationQuarterThroughLedgerctl(t *testing.T) {
	c := testcluster.Start(t, 1, testcluster.Options{BuildTags: "chaos"})
	e := &env{t: t, c: c, url: c.Nodes[0].URL, dir: t.TempDir()}
	e.admin = testcluster.AuthorityToken(t, nil, e.url)
	auth := &roleEnv{e: e, token: e.admin}

	e.clockAt("2031-03-01T09:00:00+08:00")
	e.must("calendar", "load", e.write("2031.json", testcluster.Calendar2031))
	for _, f := range []struct{ kind, body string }{
		{"departments", "department,name,parent,funding\nd1,市教育局,,budget\nd2,市交通局,,budget\n"},
		{"providers", "provider,name,contract_start,contract_end\np1,云商一,2030-01-01,2035-12-31\np2,云商二,2030-01-01,2035-12-31\n"},
		{"projects", "project,department,name,quota_class,quota\nprj1,d1,智慧教育,vcpu,100\nprj2,d2,交通调度,vcpu,100\n"},
		{"catalog", "item,name,category,unit,billing,quota_class,price,provider,effective_from\necs.vcpu,云服务器vCPU,IaaS,核·月,allocation,vcpu,40,,2030-01-01\n"},
		{"events", "key,time,op,department,project,provider,resource,item,kind,quantity,expires\n" +
			"a1,2031-03-01T10:00:00+08:00,allocate,d1,prj1,p1,vm1,ecs.vcpu,standard,8,\n" +
			"a2,2031-03-01T10:00:00+08:00,allocate,d2,prj2,p1,vm2,ecs.vcpu,standard,8,\n" +
			"a3,2031-03-01T10:00:00+08:00,allocate,d1,prj1,p2,vm3,ecs.vcpu,standard,8,\n"},
	} {
		e.must("import", f.kind, e.write(f.kind+".csv", f.body))
	}
	dept1 := &roleEnv{e: e, token: testcluster.RoleToken(t, nil, e.url, "d1-it", "department", "d1")}
	dept2 := &roleEnv{e: e, token: testcluster.RoleToken(t, nil, e.url, "d2-it", "department", "d2")}
	prov1 := &roleEnv{e: e, token: testcluster.RoleToken(t, nil, e.url, "p1-am", "provider", "p1")}
	prov2 := &roleEnv{e: e, token: testcluster.RoleToken(t, nil, e.url, "p2-am", "provider", "p2")}
	auditor := e.as("auditor")

	// 3 June: the quarter has ended; its rows arrive; the survey is open (from 31 May).
	e.clockAt("2031-06-03T10:00:00+08:00")
	var rows strings.Builder
	rows.WriteString("resource,date,mean_pct,peak_pct,availability_pct\n")
	for d := time.Date(2031, 3, 1, 0, 0, 0, 0, time.UTC); d.Before(time.Date(2031, 6, 1, 0, 0, 0, 0, time.UTC)); d = d.AddDate(0, 0, 1) {
		fmt.Fprintf(&rows, "vm1,%s,40,70,99.95\nvm2,%s,60,90,99.95\n", d.Format("2006-01-02"), d.Format("2006-01-02"))
	}
	e.must("import", "utilisation", e.write("rows.csv", rows.String()))
	if ch := auth.quarterCharges(); ch["p1/d1"][1] == "0" || ch["p2/d1"][1] == "0" {
		t.Fatalf("before publication the quarter's charges are provisional: %v", ch)
	}
	dept1.must("evaluation", "survey", "--department", "d1", "--provider", "p1", "--quarter", "2031Q3", "--score", "80")
	dept2.must("evaluation", "survey", "--department", "d2", "--provider", "p1", "--quarter", "2031Q3", "--score", "90")
	auth.must("evaluation", "expert", "--provider", "p1", "--quarter", "2031Q3", "--score", "70", "--ref", "评审〔2031〕3号")
	if draft := auth.evalReport("--quarter", "2031Q3"); len(draft.Rows) != 2 || draft.Rows[0].Status != "draft" || draft.Rows[0].Score != "87.14" {
		t.Fatalf("the draft: %+v, want p1 87.14", draft.Rows)
	}
	if out, code := dept1.run("evaluation", "publish", "--quarter", "2031Q3"); code == 0 || !strings.Contains(out, "permission_denied") {
		t.Fatalf("a department publishing: exit %d\n%s", code, out)
	}
	pub := auth.must("evaluation", "publish", "--quarter", "2031Q3")
	if !strings.Contains(pub, "p2") {
		t.Errorf("the publication does not list p2 (no score):\n%s", pub)
	}

	rep := auth.evalReport("--quarter", "2031Q3")
	if len(rep.Rows) != 2 {
		t.Fatalf("rows %+v, want p1 and p2", rep.Rows)
	}
	p1 := rep.Rows[0]
	want := map[string][3]string{"availability": {"99.95", "100", "30"}, "satisfaction": {"85", "85", "20"}, "expert": {"70", "70", "20"}}
	for ind, w := range want {
		x := p1.Indicators[ind]
		if !x.HasData || !decEq(x.Raw, w[0]) || !decEq(x.Points, w[1]) || !decEq(x.Weight, w[2]) {
			t.Errorf("p1 %s: %+v, want raw %s points %s weight %s", ind, x, w[0], w[1], w[2])
		}
	}
	if p1.Provider != "p1" || p1.Status != "published" || p1.Indicators["sla"].HasData || p1.Score != "87.14" || !decEq(p1.Multiplier, "0.98") {
		t.Errorf("p1: %+v, want published 87.14 × 0.98 without sla", p1)
	}
	if rep.Rows[1].Provider != "p2" || rep.Rows[1].Scored {
		t.Errorf("p2: %+v, want no score", rep.Rows[1])
	}

	// Must show 3: p1's days are no longer provisional; p2's score entered by hand, and the
	// two providers' identical resources cost the same to the cent.
	ch := auth.quarterCharges()
	if ch["p1/d1"][1] != "0" || ch["p1/d2"][1] != "0" || ch["p2/d1"][1] == "0" {
		t.Fatalf("after publication: %v, want p1 without provisional days, p2 still with", ch)
	}
	e.must("import", "evaluations", e.write("evaluations.csv", "provider,from,to,score\np2,2031-03-01,2031-05-31,87.14\n"))
	ch = auth.quarterCharges()
	// d1's 8 vCPU of each: 3 months × 8 × 40.00 × 0.98 = 940.80.
	if ch["p2/d1"][1] != "0" || ch["p1/d1"] != ch["p2/d1"] || ch["p1/d1"][0] != "940.80" {
		t.Fatalf("p1's published score and p2's entered one: %v, want equal amounts, none provisional", ch)
	}

	// The report says where p2's figure comes from: its entered score on the quarter's days.
	rep = auth.evalReport("--quarter", "2031Q3")
	if e := rep.Rows[1].Entered; len(e) != 1 || e[0].From != "2031-03-01" || e[0].To != "2031-05-31" || e[0].Score != "87.14" || len(rep.Rows[0].Entered) != 0 {
		t.Errorf("entered scores %+v and %+v, want p2's 2031-03-01..2031-05-31 87.14 only", rep.Rows[0].Entered, e)
	}

	// The department efficiency table: every department ranked for the authority; d1 sees
	// its own row and rank only, a provider none.
	eff := rep.Efficiency
	if len(eff) != 2 || eff[0].Department != "d2" || eff[0].EfficiencyPct != "60.00" || eff[0].Rank != 1 || eff[0].Ranked != 2 ||
		eff[1].Department != "d1" || eff[1].EfficiencyPct != "40.00" || eff[1].Rank != 2 || eff[1].QuotaClass != "vcpu" || eff[1].ResourceDays != 92 {
		t.Errorf("efficiency %+v, want d2 60.00 1/2, d1 40.00 2/2 over 92 days", eff)
	}
	if own := dept1.evalReport("--quarter", "2031Q3"); len(own.Rows) != 0 || len(own.Efficiency) != 1 || own.Efficiency[0].Department != "d1" || own.Efficiency[0].Rank != 2 {
		t.Errorf("d1's report: %+v, want no provider rows and its own efficiency, rank 2", own)
	}
	if own := dept1.evalReport("--year", "2031"); len(own.Rows) != 0 || len(own.Efficiency) != 1 {
		t.Errorf("d1's report of the year: %+v, want its own efficiency only", own)
	}
	if own := prov1.evalReport("--quarter", "2031Q3"); len(own.Rows) != 1 || own.Rows[0].Provider != "p1" || own.Rows[0].Score != "87.14" || len(own.Efficiency) != 0 {
		t.Errorf("p1's report: %+v, want its own row only", own)
	}

	// Roles: p2 cannot read p1's breakdown; p1 reads the mean rating, never who rated.
	if out, code := prov2.run("evaluation", "report", "--quarter", "2031Q3", "--provider", "p1", "--format", "json"); code == 0 || !strings.Contains(out, "permission_denied") {
		t.Errorf("p2 reading p1's breakdown: exit %d\n%s", code, out)
	}
	ec := cloudledgerv1connect.NewEvaluationServiceClient(c.HTTP, e.url)
	for _, who := range []struct {
		name, token string
		answers     int
	}{{"p1", prov1.token, 0}, {"d1", dept1.token, 1}, {"the authority", e.admin, 2}} {
		q, err := ec.GetQuarter(context.Background(), authedReq(&v1.GetQuarterRequest{Quarter: "2031Q3"}, who.token))
		if err != nil {
			t.Fatal(err)
		}
		if n := len(q.Msg.GetAnswers()); n != who.answers {
			t.Errorf("%s reads %d survey answers (%v), want %d", who.name, n, q.Msg.GetAnswers(), who.answers)
		}
	}
	e.waitFor("the refusals in the access trail", func() bool {
		trail := auditor.must("access", "log", "--result", "denied", "--format", "json")
		return strings.Contains(trail, "d1-it") && strings.Contains(trail, "p2-am") && strings.Contains(trail, "EvaluationService/GetQuarter")
	})

	// Must show 5: the settlement year's XLSX (its four quarters, three of them drafts),
	// converted to CSV by LibreOffice, has the JSON's figures.
	rep = auth.evalReport("--year", "2031")
	xlsx := filepath.Join(e.dir, "eval.xlsx")
	auth.must("evaluation", "report", "--year", "2031", "--format", "xlsx", "-o", xlsx)
	sheets := sofficeCSV(t, xlsx)
	scores := sheets["评估得分"]
	if len(rep.Rows) != 8 || len(scores) != 2+len(rep.Rows) || scores[0][0] != "季度" || scores[1][0] != "quarter" {
		t.Fatalf("the scores sheet: %q", scores)
	}
	col := map[string]int{}
	for i, h := range scores[1] {
		col[h] = i
	}
	for i, r := range rep.Rows {
		line := scores[2+i]
		if line[col["provider"]] != r.Provider || line[col["quarter"]] != r.Quarter {
			t.Errorf("sheet row %d: %q, want %s %s", i, line, r.Quarter, r.Provider)
		}
		for _, ind := range []string{"sla", "availability", "satisfaction", "expert"} {
			x := r.Indicators[ind]
			if !decEq(line[col[ind+"_weight"]], x.Weight) || x.HasData && (!decEq(line[col[ind+"_raw"]], x.Raw) || !decEq(line[col[ind+"_points"]], x.Points)) {
				t.Errorf("%s %s in LibreOffice: %q, want %+v", r.Provider, ind, line, x)
			}
		}
		if e := r.Entered; len(e) == 1 && line[col["entered"]] != e[0].From+".."+e[0].To+":"+e[0].Score {
			t.Errorf("%s's entered score in LibreOffice: %q", r.Provider, line[col["entered"]])
		}
		if r.Scored && (!decEq(line[col["score"]], r.Score) || !decEq(line[col["multiplier"]], r.Multiplier)) {
			t.Errorf("%s in LibreOffice: score %q multiplier %q, want %s %s", r.Provider, line[col["score"]], line[col["multiplier"]], r.Score, r.Multiplier)
		}
	}
	// The figures are numbers, not text (p1's published row: every cell from the
	// availability's raw value to the multiplier).
	p1row := 0
	for i, r := range rep.Rows {
		if r.Provider == "p1" && r.Quarter == "2031Q3" {
			p1row = i + 3
		}
	}
	f, err := excelize.OpenFile(xlsx)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for c := col["availability_raw"]; c <= col["multiplier"]; c++ {
		ref, _ := excelize.CoordinatesToCellName(c+1, p1row)
		if typ, _ := f.GetCellType("评估得分", ref); typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString {
			t.Errorf("cell %s (%s) is text", ref, scores[1][c])
		}
	}
	effSheet := sheets["部门效率"]
	if len(effSheet) != 4 || effSheet[2][1] != "d2" || !decEq(effSheet[2][3], "60") || effSheet[2][5] != "1" || effSheet[3][1] != "d1" || effSheet[3][5] != "2" {
		t.Errorf("the efficiency sheet: %q", effSheet)
	}
	// p1's yearly score: its one published quarter; p2 has none.
	if y := sheets["年度得分"]; len(y) != 3 || y[2][0] != "2031" || y[2][1] != "p1" || !decEq(y[2][2], "87.14") || y[2][3] != "1" || !decEq(y[2][4], "60") {
		t.Errorf("the yearly sheet: %q", y)
	}
}

func decEq(a, b string) bool {
	x, err1 := decimal.NewFromString(strings.TrimSpace(a))
	y, err2 := decimal.NewFromString(strings.TrimSpace(b))
	return err1 == nil && err2 == nil && x.Equal(y)
}

func authedReq[T any](m *T, token string) *connect.Request[T] {
	r := connect.NewRequest(m)
	r.Header().Set("Authorization", "Bearer "+token)
	return r
}

// sofficeCSV converts every sheet of an XLSX to CSV with LibreOffice (Debian's
// libreoffice-calc-nogui; .ci/run installs it) and reads them, by sheet name.
func sofficeCSV(t *testing.T, xlsx string) map[string][][]string {
	t.Helper()
	bin, err := exec.LookPath("soffice")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("soffice is not installed (.ci/run installs Debian's libreoffice-calc-nogui)")
		}
		t.Skip("soffice is not installed (Debian's libreoffice-calc-nogui)")
	}
	out := t.TempDir()
	profile := "file://" + filepath.Join(t.TempDir(), "profile")
	// Comma, double quote, UTF-8 (76), from line 1; the 12th token -1: every sheet, each to
	// NAME-SHEET.csv.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-env:UserInstallation="+profile, "--headless", "--convert-to",
		"csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1", "--outdir", out, xlsx)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("soffice: %v\n%s", err, b)
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.csv"))
	base := strings.TrimSuffix(filepath.Base(xlsx), ".xlsx") + "-"
	sheets := map[string][][]string{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		r := csv.NewReader(fh)
		r.FieldsPerRecord = -1
		recs, err := r.ReadAll()
		fh.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		sheets[strings.TrimPrefix(strings.TrimSuffix(filepath.Base(f), ".csv"), base)] = recs
	}
	if len(sheets) == 0 {
		t.Fatalf("soffice wrote no CSV in %s", out)
	}
	return sheets
}

// Issue 26, must show 3's last clause (SPEC: Evaluation — quarters follow the settlement
// year so that its last one can be published before the audit and the 30 September
// deadline): `make run`'s demo loaded on a node whose clock reads Tuesday 15 September 2026.
// 2026Q4 (June–August 2026) has ended; the expert scores are entered and the quarter
// published, the twelve months closed, settlement year 2026 run, audited and submitted —
// all on 15 September, two weeks before the deadline.
func TestDemoYearSubmittedByMidSeptember(t *testing.T) {
	c := testcluster.Start(t, 1, testcluster.Options{BuildTags: "chaos", ClockAt: "2026-09-15T09:30:00+08:00"})
	data := t.TempDir()
	testcluster.LoadDemo(t, c.Nodes[0].URL, data)
	e := &env{t: t, c: c, url: c.Nodes[0].URL, dir: t.TempDir(), admin: testcluster.DemoToken(t, data, "authority1")}
	// The quarter: every provider published, on 15 September (Beijing time).
	ec := cloudledgerv1connect.NewEvaluationServiceClient(c.HTTP, e.url)
	q, err := ec.GetQuarter(context.Background(), authedReq(&v1.GetQuarterRequest{Quarter: "2026Q4"}, e.admin))
	if err != nil {
		t.Fatal(err)
	}
	if !q.Msg.Published || !strings.HasPrefix(q.Msg.PublishedAt, "2026-09-15") || q.Msg.First != "2026-06-01" || q.Msg.Last != "2026-08-31" || len(q.Msg.Unscored) != 0 {
		t.Fatalf("2026Q4: published %v at %q, %s..%s, unscored %v", q.Msg.Published, q.Msg.PublishedAt, q.Msg.First, q.Msg.Last, q.Msg.Unscored)
	}
	// The year: submitted; audited and submitted on 15 September, 15 days before the deadline.
	if out := e.must("--lang", "en", "settle", "status", "--year", "2026"); !regexp.MustCompile(`State\s+submitted\n`).MatchString(out) ||
		!strings.Contains(out, "2025-09-01 – 2026-08-31") || !strings.Contains(out, "2026-09-30") {
		t.Fatalf("settle status:\n%s", out)
	}
	// Issue 28 (SPEC: Settlement — no audit while a charge of the window is provisional,
	// 先审再付): settlement year 2027 has begun (2026-09-01 – 2027-08-31): its twelve months are
	// open and none of its quarters is scored, so its status names twelve open_month blockers
	// and one provisional blocker for each of the demo's three providers — and none when the
	// caller skips them (the finance page), with the same state, window and deadline.
	lc := cloudledgerv1connect.NewLedgerServiceClient(c.HTTP, e.url)
	for _, skip := range []bool{false, true} {
		st, err := lc.SettleStatus(context.Background(), authedReq(&v1.SettleStatusRequest{Year: 2027, SkipBlockers: skip}, e.admin))
		if err != nil {
			t.Fatal(err)
		}
		codes := map[string]int{}
		for _, b := range st.Msg.GetBlockers() {
			codes[b.GetCode()]++
		}
		want := map[string]int{"open_month": 12, "provisional": 3}
		if skip {
			want = map[string]int{}
		}
		if !maps.Equal(codes, want) || st.Msg.GetWindowFrom() != "2026-09-01" || st.Msg.GetDeadline() != "2027-09-30" || st.Msg.GetState() != "" {
			t.Fatalf("status of 2027 (skip_blockers %v): blockers %v, want %v; window from %s, deadline %s, state %q",
				skip, codes, want, st.Msg.GetWindowFrom(), st.Msg.GetDeadline(), st.Msg.GetState())
		}
	}
	// Issue 28: the year's charges by month (the finance page's chart, totals_only) come from
	// the rating's month totals: each month the sum of that month's lines of the full answer,
	// twelve months in order; for the education bureau's own account, of its own lines only.
	for _, who := range []string{"finance1", "edu-it"} {
		tok := testcluster.DemoToken(t, data, who)
		totals, err := lc.Charges(context.Background(), authedReq(&v1.ChargesRequest{From: "2025-09-01", To: "2026-08-31", TotalsOnly: true}, tok))
		if err != nil {
			t.Fatal(err)
		}
		full, err := lc.Charges(context.Background(), authedReq(&v1.ChargesRequest{From: "2025-09-01", To: "2026-08-31"}, tok))
		if err != nil {
			t.Fatal(err)
		}
		sums, bases, lines, departments := map[string]decimal.Decimal{}, map[string]decimal.Decimal{}, map[string]uint32{}, map[string]bool{}
		for _, l := range full.Msg.GetLines() {
			sums[l.GetMonth()] = sums[l.GetMonth()].Add(decimal.RequireFromString(l.GetAmount()))
			bases[l.GetMonth()] = bases[l.GetMonth()].Add(decimal.RequireFromString(l.GetBaseAmount()))
			lines[l.GetMonth()]++
			departments[l.GetDepartment()] = true
		}
		if len(totals.Msg.GetLines()) != 0 || len(totals.Msg.GetByMonth()) != 12 || (who == "edu-it") != (len(departments) == 1 && departments["edu"]) {
			t.Fatalf("%s: %d lines with totals_only, %d months, departments %v", who, len(totals.Msg.GetLines()), len(totals.Msg.GetByMonth()), departments)
		}
		mo := calendar.Month{Year: 2025, Month: time.September}
		for i, m := range totals.Msg.GetByMonth() {
			want := mo.String()
			mo = mo.Next()
			if m.GetMonth() != want || m.GetAmount() != money.Text(sums[want]) || m.GetBaseAmount() != money.Text(bases[want]) || m.GetLines() != lines[want] || lines[want] == 0 {
				t.Fatalf("%s: month %d is %s %s (%d lines), want %s %s (%d lines)", who, i, m.GetMonth(), m.GetAmount(), m.GetLines(), want, money.Text(sums[want]), lines[want])
			}
		}
	}
	exp := filepath.Join(e.dir, "budget.json")
	if out, code := e.runWith(testcluster.DemoToken(t, data, "finance1"), "budget", "export", "--year", "2026", "--format", "json", "-o", exp); code != 0 {
		t.Fatalf("budget export: exit %d\n%s", code, out)
	}
	raw, err := os.ReadFile(exp)
	if err != nil {
		t.Fatal(err)
	}
	var budget struct {
		AuditedAt   time.Time `json:"audited_at"`
		SubmittedAt time.Time `json:"submitted_at"`
		Deadline    string    `json:"deadline"`
	}
	if err := json.Unmarshal(raw, &budget); err != nil {
		t.Fatalf("%v\n%.300s", err, raw)
	}
	shanghai := time.FixedZone("CST", 8*3600)
	for what, at := range map[string]time.Time{"audited": budget.AuditedAt, "submitted": budget.SubmittedAt} {
		if day := at.In(shanghai).Format(time.DateOnly); day != "2026-09-15" {
			t.Errorf("%s on %s (%v), want 2026-09-15", what, day, at)
		}
	}
	if !strings.HasPrefix(budget.Deadline, "2026-09-30") {
		t.Errorf("deadline %q, want 2026-09-30", budget.Deadline)
	}
}
