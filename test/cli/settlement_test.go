package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/cloudledger/cloudledger/internal/testcluster"
	"github.com/cloudledger/cloudledger/settlement"
)

// demoEnv is a single node with the demo settlement year 2026 imported (examples/demo).
func demoEnv(t *testing.T) *env {
	c := testcluster.Start(t, 1, testcluster.Options{})
	e := &env{t: t, c: c, url: c.Nodes[0].URL, dir: t.TempDir()}
	e.admin = testcluster.AuthorityToken(t, nil, e.url)
	demo := filepath.Join(testcluster.RepoRoot(), "examples", "demo")
	steps := [][]string{}
	for _, kind := range []string{"departments", "providers", "projects", "catalog", "evaluations"} {
		steps = append(steps, []string{"import", kind, filepath.Join(demo, kind+".csv")})
	}
	for _, s := range steps {
		if out, code := e.run(s...); code != 0 {
			t.Fatalf("%v: exit %d\n%s", s, code, out)
		}
	}
	// SPEC: Access — approvals are the supervisor's.
	e.as("supervisor").must("--key", "demo/approval", "approval", "grant", "--department", "health", "--class", "vcpu", "--ceiling", "200", "--ref", "r")
	steps = [][]string{{"import", "events", filepath.Join(demo, "events.csv")}}
	for _, s := range steps {
		if out, code := e.run(s...); code != 0 {
			t.Fatalf("%v: exit %d\n%s", s, code, out)
		}
	}
	return e
}

func (e *env) must(args ...string) string {
	e.t.Helper()
	out, code := e.run(args...)
	if code != 0 {
		e.t.Fatalf("ledgerctl %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// Issue 4, must show 1–3: a year imported, months closed, settle run, audit, submit, pay;
// the audit refused while a month is open and while a charge is provisional, each with its
// reason; a line item dated in the audited window refused with period_closed; the XLSX
// export sums to the charges export's total and is byte-identical when exported twice.
func TestSettlementYearEndToEnd(t *testing.T) {
	e := demoEnv(t)
	if out := e.must("settle", "run", "--year", "2026"); !strings.Contains(out, "draft") {
		t.Fatalf("settle run: %s", out)
	}
	// All twelve months open and Aliyun unscored from June: both reasons are listed.
	out, code := e.run("--lang", "en", "settle", "audit", "--year", "2026")
	// Issue 12, item 5: one line per open month and one per unscored provider, not a line
	// per charge line (once 9 KB on one line).
	if code == 0 || !strings.Contains(out, "settlement_blocked") || !strings.HasPrefix(out, "  open_month: month 2025-09 is not closed") ||
		!strings.Contains(out, "\n  provisional: provider aliyun has no evaluation score for 2026-06-01..2026-08-31") ||
		strings.Count(out, "\n") != 14 || len(out) > 3000 {
		t.Fatalf("audit with open months and provisional charges: exit %d\n%s", code, out)
	}
	for m := 0; m < 12; m++ {
		month := fmt.Sprintf("%d-%02d", 2025+(8+m)/12, (8+m)%12+1)
		e.must("period", "close", month)
	}
	out, code = e.run("settle", "audit", "--year", "2026")
	if code == 0 || strings.Contains(out, "not closed") || !regexp.MustCompile(`provider aliyun has no evaluation score for 2026-06-01\.\.2026-08-31 \(\d+ charge lines provisional`).MatchString(out) {
		t.Fatalf("audit with provisional charges only: exit %d\n%s", code, out)
	}
	// The missing scores arrive (months are closed, the year is not audited yet: allowed).
	e.must("import", "evaluations", e.write("late.csv", "provider,from,to,score\naliyun,2026-06-01,2026-08-31,82\n"))
	if out := e.must("settle", "audit", "--year", "2026"); !strings.Contains(out, "audited") {
		t.Fatalf("audit: %s", out)
	}
	// Auditing again (a retry whose first attempt went through) keeps the figures.
	before := e.head()
	if out := e.must("settle", "audit", "--year", "2026"); !strings.Contains(out, "audited") || !strings.Contains(out, "unchanged") || e.head() != before {
		t.Fatalf("second audit: %s", out)
	}
	// Frozen: a line item, a score and a price in the window are refused.
	for _, c := range []struct{ kind, body string }{
		{"events", "key,time,op,department,project,provider,resource,item,kind,quantity,expires\nlate-1,2026-03-10T10:00:00+08:00,usage,bus,bus-dispatch,aliyun,bus-late,oss.egress,standard,5,\n"},
		{"evaluations", "provider,from,to,score\nctyun,2026-03-01,2026-03-31,60\n"},
	} {
		out, code := e.run("import", c.kind, e.write("frozen.csv", c.body))
		if code == 0 || !strings.Contains(out, "period_closed") {
			t.Fatalf("%s dated in the audited window: exit %d\n%s", c.kind, code, out)
		}
	}
	// Charges of the window equal the audited figures.
	var charges struct {
		TotalAmount string `json:"total_amount"`
	}
	if err := json.Unmarshal([]byte(e.must("charges", "--from", "2025-09-01", "--to", "2026-08-31", "--format", "json")), &charges); err != nil {
		t.Fatal(err)
	}
	status := e.must("--lang", "en", "settle", "status", "--year", "2026")
	if !strings.Contains(status, charges.TotalAmount) {
		t.Fatalf("audited total is not the charges total %s:\n%s", charges.TotalAmount, status)
	}
	e.must("settle", "submit", "--year", "2026")
	if out := e.as("finance").must("settle", "pay", "--year", "2026"); !strings.Contains(out, "paid") {
		t.Fatalf("settle pay: %s", out)
	}
	if out, code := e.run("settle", "submit", "--year", "2026"); code != 0 || !strings.Contains(out, "unchanged") {
		t.Fatalf("submitting a paid year again: exit %d %s", code, out)
	}

	// XLSX twice: identical bytes; read back, its audited fees add up to the charges total.
	testcluster.Person(t, e.c.HTTP, e.url, "fin-person", "finance", "", testcluster.DemoPassword) // an account is state: made first
	a, b := filepath.Join(e.dir, "a.xlsx"), filepath.Join(e.dir, "b.xlsx")
	if out := e.must("budget", "export", "--year", "2026", "--format", "xlsx", "-o", a); !regexp.MustCompile(`Raft 索引 \d+，链头 [0-9a-f]{64}`).MatchString(out) {
		t.Fatalf("budget export says nothing of its index: %s", out)
	}
	// Between the two: a person signs in to the console and opens pages (issue 29: sign-ins
	// and page views are access, not state; the state index and the bytes stay).
	hc := testcluster.ConsoleClient(e.c.HTTP.Transport)
	testcluster.ConsoleSignIn(t, hc, e.url, "fin-person", testcluster.DemoPassword)
	for _, page := range []string{"/finance", "/finance", "/findings"} {
		if res, err := hc.Get(e.url + page); err != nil || res.StatusCode != 200 {
			t.Fatalf("%s: %v %v", page, res, err)
		} else {
			res.Body.Close()
		}
	}
	time.Sleep(300 * time.Millisecond) // the access records land through Raft
	e.must("budget", "export", "--year", "2026", "--format", "xlsx", "-o", b)
	ra, _ := os.ReadFile(a)
	rb, _ := os.ReadFile(b)
	if len(ra) == 0 || string(ra) != string(rb) {
		t.Fatalf("two exports of unchanged figures differ across a sign-in and page views (%d and %d bytes)", len(ra), len(rb))
	}
	f, err := excelize.OpenFile(a)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sum := decimal.Zero
	for _, sheet := range []string{settlement.SheetFunded, settlement.SheetSelf} {
		rows, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) < 3 || rows[0][0] != "部门" || rows[1][0] != "Department" {
			t.Fatalf("%s: headers %v", sheet, rows[:min(2, len(rows))])
		}
		for _, r := range rows[2 : len(rows)-1] { // data rows, without the total row
			sum = sum.Add(decimal.RequireFromString(r[11])) // the audited fee (after 单位 / Unit and the quantity)
		}
		if typ, _ := f.GetCellType(sheet, "L3"); len(rows) > 3 && typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
			t.Errorf("%s L3 is %v, not a number", sheet, typ)
		}
	}
	if sum.StringFixed(2) != charges.TotalAmount {
		t.Fatalf("XLSX audited fees sum to %s, the charges export to %s", sum.StringFixed(2), charges.TotalAmount)
	}
	cover, _ := f.GetRows(settlement.SheetCover)
	coverText := fmt.Sprint(cover)
	for _, want := range []string{"2025-09-01 – 2026-08-31", "paid", "authority1", "逾期"} {
		if !strings.Contains(coverText, want) {
			t.Errorf("cover lacks %q: %s", want, coverText)
		}
	}
	if out := e.must("budget", "export", "--year", "2026", "--format", "csv"); !strings.Contains(out, "部门 / Department") {
		t.Fatalf("budget CSV: %s", out[:min(200, len(out))])
	}
}

// Issue 4: monthly statements, and invoice reconciliation through the CLI: a faithful
// invoice matches (exit 0), an altered one does not (exit 1, invoice_mismatch), a bad file
// is refused line by line; each reconciliation is recorded on the ledger.
func TestStatementAndInvoiceReconcile(t *testing.T) {
	e := demoEnv(t)
	st := e.must("statement", "--department", "health", "--month", "2026-03", "--format", "csv")
	for _, want := range []string{"section,department,project", "\nresource,health,health-his,hwcloud,", "\nsubtotal,health,health-his,", "\ntotal,health,"} {
		if !strings.Contains(st, want) {
			t.Fatalf("statement lacks %q:\n%s", want, st)
		}
	}
	tbl := e.must("statement", "--department", "health", "--month", "2026-03", "--format", "table")
	for _, want := range []string{"类别 Section", "资源 resource", "小计 subtotal", "合计 total", "health-his"} {
		if !strings.Contains(tbl, want) {
			t.Fatalf("statement table lacks %q:\n%s", want, tbl)
		}
	}
	if en := e.must("--lang", "en", "statement", "--provider", "hwcloud", "--month", "2026-03", "--format", "table"); !strings.Contains(en, "Base amount") || strings.Contains(en, "小计") {
		t.Fatalf("provider statement table in English:\n%s", en)
	}
	xl := filepath.Join(e.dir, "st.xlsx")
	e.must("statement", "--department", "health", "--month", "2026-03", "--format", "xlsx", "-o", xl)
	f, err := excelize.OpenFile(xl)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := f.GetRows("使用情况 2026年3月", excelize.Options{RawCellValue: true})
	f.Close()
	csvTotal := regexp.MustCompile(`\ntotal,health,,,,,,,,[0-9.]+,([0-9.]+)`).FindStringSubmatch(st)
	var xlTotal string
	for _, r := range rows {
		if len(r) > 10 && r[0] == "total" {
			xlTotal = r[10]
		}
	}
	if csvTotal == nil || xlTotal == "" || decimal.RequireFromString(xlTotal).StringFixed(2) != csvTotal[1] {
		t.Fatalf("statement XLSX total %q, CSV total %v", xlTotal, csvTotal)
	}
	// The settlement window is a ledger setting; a bad month is refused before any call.
	if out, code := e.run("settle", "window", "--end-month", "13"); code != 2 || !strings.Contains(out, "invalid_value") {
		t.Fatalf("settle window 13: exit %d %s", code, out)
	}
	if out := e.must("settle", "window", "--end-month", "8"); !strings.Contains(out, "unchanged") {
		t.Fatalf("settle window 8 (the default): %s", out)
	}
	var charges struct {
		Lines []struct{ Department, Project, Provider, Item, Amount string } `json:"lines"`
	}
	if err := json.Unmarshal([]byte(e.must("charges", "--from", "2026-03-01", "--to", "2026-03-31", "--provider", "hwcloud", "--format", "json")), &charges); err != nil {
		t.Fatal(err)
	}
	var invoice strings.Builder
	invoice.WriteString("month,department,project,item,amount\n")
	for _, l := range charges.Lines {
		fmt.Fprintf(&invoice, "2026-03,%s,%s,%s,%s\n", l.Department, l.Project, l.Item, l.Amount)
	}
	good := e.write("invoice.csv", invoice.String())
	before := e.head()
	if out, code := e.run("invoice", "reconcile", "--provider", "hwcloud", "--month", "2026-03", "--format", "csv", good); code != 0 || !strings.Contains(out, "\nmatched,") {
		t.Fatalf("a faithful invoice: exit %d\n%s", code, out)
	}
	if e.head() == before {
		t.Fatal("the reconciliation was not recorded on the ledger")
	}
	// The same file again, unchanged ledger: the same record, nothing new written.
	recorded := e.head()
	if _, code := e.run("invoice", "reconcile", "--provider", "hwcloud", "--month", "2026-03", good); code != 0 || e.head() != recorded {
		t.Fatalf("the same invoice twice: exit %d, head moved %v", code, e.head() != recorded)
	}
	// Late usage of the (open) month changes the rated charges: the same file is reconciled
	// again, as a new record, and no longer matches.
	e.must("import", "events", e.write("late.csv", "key,time,op,department,project,provider,resource,item,kind,quantity,expires\n"+
		"late-usage-1,2026-03-30T10:00:00+08:00,usage,health,health-his,hwcloud,health-his-oss,oss.egress,standard,10,\n"))
	if out, code := e.run("invoice", "reconcile", "--provider", "hwcloud", "--month", "2026-03", "--format", "csv", good); code != 1 ||
		!strings.Contains(out, "\nmismatch,health,health-his,oss.egress,") || !strings.Contains(out, "invoice_mismatch") || e.head() == recorded {
		t.Fatalf("the same invoice after late usage: exit %d\n%s", code, out)
	}
	altered := strings.Replace(invoice.String(), ","+charges.Lines[0].Amount+"\n", ",1.00\n", 1) + "2026-03,health,nope,ecs.vcpu,5.00\n"
	out, code := e.run("invoice", "reconcile", "--provider", "hwcloud", "--month", "2026-03", "--format", "csv", e.write("altered.csv", altered))
	if code != 1 || !strings.Contains(out, "\nmismatch,") || !strings.Contains(out, "unknown project") || !strings.Contains(out, "invoice_mismatch") {
		t.Fatalf("an altered invoice: exit %d\n%s", code, out)
	}
	mid := e.head()
	bad := "month,department,project,item,amount\n2026-04,health,health-his,ecs.vcpu,1.00\n2026-03,health,health-his,ecs.vcpu,x\n"
	out, code = e.run("invoice", "reconcile", "--provider", "hwcloud", "--month", "2026-03", e.write("bad.csv", bad))
	if code != 1 || !strings.Contains(out, "bad.csv:2: month: invalid_value") || !strings.Contains(out, "bad.csv:3: amount: invalid_quantity") || e.head() != mid {
		t.Fatalf("a bad invoice: exit %d\n%s", code, out)
	}
	// The dispute history: the three recorded reconciliations (faithful, after the late usage,
	// altered), oldest first; the repeated file and the bad file left none.
	var hist struct {
		Reconciliations []struct {
			Month      string `json:"month"`
			Matched    uint32 `json:"matched"`
			Mismatched uint32 `json:"mismatched"`
			Unexpected uint32 `json:"unexpected"`
		} `json:"reconciliations"`
	}
	if err := json.Unmarshal([]byte(e.must("invoice", "history", "--provider", "hwcloud", "--format", "json")), &hist); err != nil {
		t.Fatal(err)
	}
	if h := hist.Reconciliations; len(h) != 3 || h[0].Mismatched != 0 || h[1].Mismatched != 1 || h[1].Unexpected != 0 || h[2].Mismatched != 2 || h[2].Unexpected != 1 {
		t.Fatalf("history: %+v", hist.Reconciliations)
	}
}
