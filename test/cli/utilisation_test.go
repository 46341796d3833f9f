package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/xuri/excelize/v2"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/internal/testcluster"
)

// utilisationRow is resource i's row on day d of March 2026, worked by a formula the test
// knows: mean (7i + 3d) mod 90 + .25 (the quarter shows two decimals survive), peak mean +
// 9.5, availability 100 except every 13th resource-day 99.5.
func utilisationRow(i, d int) (res, date, mean, peak, avail string) {
	m := (7*i + 3*d) % 90
	av := "100"
	if (i+d)%13 == 0 {
		av = "99.5"
	}
	return fmt.Sprintf("r%04d", i), fmt.Sprintf("2026-03-%02d", d), fmt.Sprintf("%d.25", m), fmt.Sprintf("%d.75", m+9), av
}

// Issue 24, must show 2: a provider's monthly report, 31 days × 2,000 resources. A file with
// bad rows lists each with its line and field and applies nothing; a row of another
// provider's resource is refused; the good report lands as one delivery whose rows are the
// file's and whose SHA-256 is the README's canonical order recomputed here; the provider's
// row does not replace the authority's for the same day; the same report as XLSX gives the
// same rows (the same SHA-256).
func TestAProvidersMonthlyUtilisationReport(t *testing.T) {
	e := setup(t)
	const resources, days = 2000, 31
	e.must("import", "providers", e.write("p2.csv", "provider,name,contract_start,contract_end\np2,云商二,2025-01-01,2027-12-31\n"))
	e.must("import", "projects", e.write("big.csv", "project,department,name,quota_class,quota\nbig,d1,大系统,vcpu,1000000\n"))
	var ev strings.Builder
	ev.WriteString("key,time,op,department,project,provider,resource,item,kind,quantity,expires\n")
	for i := 1; i <= resources; i++ {
		fmt.Fprintf(&ev, "u%d,2026-02-20T10:00:00+08:00,allocate,d1,big,p1,r%04d,ecs.vcpu,standard,2,\n", i, i)
	}
	ev.WriteString("u-p2,2026-02-20T10:00:00+08:00,allocate,d1,big,p2,other,ecs.vcpu,standard,2,\n")
	e.must("import", "events", e.write("alloc.csv", ev.String()))
	p1 := testcluster.RoleToken(t, nil, e.url, "p1-am", "provider", "p1")

	var report strings.Builder
	report.WriteString("resource,date,mean_pct,peak_pct,availability_pct\n")
	var canonical []string
	for i := 1; i <= resources; i++ {
		for d := 1; d <= days; d++ {
			res, date, mean, peak, avail := utilisationRow(i, d)
			fmt.Fprintf(&report, "%s,%s,%s,%s,%s\n", res, date, mean, peak, avail)
			canonical = append(canonical, fmt.Sprintf("%s,%s,%s,%s,%s", res, date, mean, peak, twoDecimals(avail)))
		}
	}
	good := report.String()

	// Bad rows: a mean above its peak (line 3) and a date that is not one (line 10), and
	// another provider's resource: each listed with line and field, nothing applied.
	lines := strings.Split(good, "\n")
	bad := slices.Clone(lines)
	bad[2] = "r0001,2026-03-02,50,40,100"
	bad[9] = "r0001,2026-03-32,1,2,100"
	bad[20] = "other,2026-03-01,1,2,100"
	before := e.head()
	out, code := e.runWith(p1, "import", "utilisation", e.write("bad.csv", strings.Join(bad, "\n")))
	for _, want := range []string{"bad.csv:3: mean_pct: invalid_value", "bad.csv:10: date: invalid_date", "bad.csv:21: resource: permission_denied", "3 of 62000 rows are bad"} {
		if code == 0 || !strings.Contains(out, want) {
			t.Errorf("the bad report: exit %d, want %q in:\n%.2000s", code, want, out)
		}
	}
	if e.head() != before {
		t.Fatal("a rejected report changed the ledger")
	}

	// The authority's row for r0001 on 5 March, before the report.
	e.must("import", "utilisation", e.write("auth.csv", "resource,date,mean_pct,peak_pct,availability_pct\nr0001,2026-03-05,1,2,100\n"))
	out = e.mustAs(p1, "import", "utilisation", e.write("march.csv", good))
	if !strings.Contains(out, "62000") {
		t.Fatalf("the report's summary:\n%s", out)
	}

	// The rows in force are the report's, but r0001 on 5 March stays the authority's.
	shown := e.mustAs(p1, "utilisation", "show", "--provider", "p1", "--from", "2026-03-01", "--to", "2026-03-31", "--format", "csv", "-o", "shown.csv")
	raw, err := os.ReadFile(filepath.Join(e.dir, "shown.csv"))
	if err != nil {
		t.Fatal(err, shown)
	}
	got := strings.Split(strings.TrimSpace(strings.TrimPrefix(string(raw), "\ufeff")), "\n")
	if len(got) != resources*days+1 {
		t.Fatalf("%d rows shown, want %d", len(got)-1, resources*days)
	}
	for k, line := range got[1:] {
		f := strings.Split(line, ",")
		res, date, mean, peak, avail := utilisationRow(k/days+1, k%days+1)
		want := []string{res, date, trimZeros(mean), trimZeros(peak), avail, "provider"}
		if res == "r0001" && date == "2026-03-05" {
			want = []string{"r0001", "2026-03-05", "1", "2", "100", "authority"}
		}
		if !slices.Equal(f[:6], want) {
			t.Fatalf("row %d: %v, want %v", k+1, f[:6], want)
		}
	}

	// The delivery's line item: its SHA-256 is the file's rows, sorted by resource then date,
	// each resource,date,mean,peak,availability with two decimals, joined by "\n".
	slices.Sort(canonical)
	want := sha256.Sum256([]byte(strings.Join(canonical, "\n")))
	records := e.deliveries()
	if len(records) != 2 || records[1].Rows != resources*days || records[1].Source != "provider" || records[1].SHA256 != hex.EncodeToString(want[:]) ||
		records[1].From != "2026-03-01" || records[1].To != "2026-03-31" {
		t.Fatalf("deliveries %+v, want the report's: provider, 2026-03-01..31, %d rows, sha256 %x", records, resources*days, want)
	}

	// The same report as an XLSX: the same rows, the same SHA-256.
	x := excelize.NewFile()
	for r, line := range strings.Split(strings.TrimSpace(good), "\n") {
		cells := strings.Split(line, ",")
		row := make([]any, len(cells))
		for c, v := range cells {
			row[c] = v
		}
		cell, _ := excelize.CoordinatesToCellName(1, r+1)
		if err := x.SetSheetRow("Sheet1", cell, &row); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := x.Write(&buf); err != nil {
		t.Fatal(err)
	}
	e.mustAs(p1, "import", "utilisation", e.write("march.xlsx", buf.String()))
	if records := e.deliveries(); len(records) != 3 || records[2].SHA256 != records[1].SHA256 || records[2].Rows != records[1].Rows {
		t.Fatalf("the XLSX delivery %+v differs from the CSV's %+v", records[len(records)-1], records[1])
	}
}

// twoDecimals writes a plain decimal with two decimals, as the canonical order does.
func twoDecimals(s string) string {
	i := strings.IndexByte(s, '.')
	switch {
	case i < 0:
		return s + ".00"
	case len(s)-i == 2:
		return s + "0"
	}
	return s
}

// trimZeros writes a decimal as the ledger does: no trailing zeros ("12.50" is "12.5").
func trimZeros(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

type deliveryRecord struct {
	Source string `json:"source"`
	From   string `json:"from"`
	To     string `json:"to"`
	Rows   int    `json:"rows"`
	SHA256 string `json:"sha256"`
}

// deliveries are the utilisation deliveries' line items, in order.
func (e *env) deliveries() []deliveryRecord {
	e.t.Helper()
	req := connect.NewRequest(&v1.ListLineItemsRequest{FromSeq: 1, Limit: 10000})
	req.Header().Set("Authorization", "Bearer "+e.admin)
	res, err := cloudledgerv1connect.NewLedgerServiceClient(e.c.HTTP, e.url).ListLineItems(context.Background(), req)
	if err != nil {
		e.t.Fatal(err)
	}
	var recs []deliveryRecord
	for _, it := range res.Msg.GetItems() {
		if it.GetType() == "utilisation_record" {
			var r deliveryRecord
			if err := json.Unmarshal([]byte(it.GetBodyJson()), &r); err != nil {
				e.t.Fatal(err)
			}
			recs = append(recs, r)
		}
	}
	return recs
}

func (e *env) mustAs(token string, args ...string) string {
	e.t.Helper()
	out, code := e.runWith(token, args...)
	if code != 0 {
		e.t.Fatalf("ledgerctl %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// Issue 24, must show 3: a department's statement of a month with rows shows, per resource,
// the month's mean (of the daily means), peak, availability and days with data, equal to
// the rows, in CSV, XLSX, JSON and the typed answer the console draws; and the department's
// efficiency of the quarter, worked by hand. setup's March: vm1 held 8 vCPU on 1 March (from
// 10:00 until its reclaim on 2 March), vm2 4 vCPU from 2 March 10:00.
//
//	vm1: 1 Mar mean 5, peak 9, availability 100 → 5.00, 9.00, 100.00, 1 day.
//	vm2: 3, 4, 5 Mar means 10, 20, 40 → 70 ÷ 3 = 23.333… → 23.33; peaks 30, 50, 45 → 50.00;
//	     availability 100, 99.5, 99 → 298.5 ÷ 3 = 99.50; 3 days.
//	Efficiency of 2026Q3 (March–May), vcpu: (8 × 5 + 4 × 10 + 4 × 20 + 4 × 40) ÷ (8 + 4 + 4 + 4)
//	     = 320 ÷ 20 = 16.00, over 4 resource-days.
func TestTheStatementShowsUse(t *testing.T) {
	e := setup(t)
	e.must("import", "utilisation", e.write("use.csv", "resource,date,mean_pct,peak_pct,availability_pct\n"+
		"vm2,2026-03-05,40,45,99\nvm1,2026-03-01,5,9,100\nvm2,2026-03-03,10,30,100\nvm2,2026-03-04,20,50,99.5\n"))
	want := map[string][]string{"vm1": {"5.00", "9.00", "100.00", "1"}, "vm2": {"23.33", "50.00", "99.50", "3"}}

	e.must("statement", "--department", "d1", "--month", "2026-03", "-o", "st.csv")
	raw, err := os.ReadFile(filepath.Join(e.dir, "st.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimPrefix(string(raw), "\ufeff"), "\n")
	if !strings.HasSuffix(rows[0], ",mean_pct,peak_pct,availability_pct,days_with_data,findings,advice") {
		t.Fatalf("header %q", rows[0])
	}
	seen := 0
	for _, line := range rows[1:] {
		f := strings.Split(line, ",")
		if len(f) == 17 && f[0] == "resource" {
			if w := want[f[5]]; !slices.Equal(f[11:15], w) || f[15] != "" || f[16] != "" {
				t.Errorf("CSV %s: %v, want %v and no findings", f[5], f[11:], w)
			}
			seen++
		}
	}
	if seen != 2 {
		t.Fatalf("%d resource rows in the CSV:\n%s", seen, raw)
	}

	e.must("statement", "--department", "d1", "--month", "2026-03", "--format", "xlsx", "-o", "st.xlsx")
	x, err := excelize.OpenFile(filepath.Join(e.dir, "st.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	sheetRows, err := x.GetRows(x.GetSheetName(0))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sheetRows {
		if len(r) >= 15 && r[0] == "resource" {
			if w := want[r[5]]; !slices.Equal(xlsxNumbers(r[11:15]), xlsxNumbers(w)) {
				t.Errorf("XLSX %s: %v, want %v", r[5], r[11:15], w)
			}
		}
	}

	out := e.must("statement", "--department", "d1", "--month", "2026-03", "--format", "json")
	var st struct {
		Resources []struct {
			Resource    string `json:"resource"`
			Utilisation *struct {
				Mean         string `json:"mean_pct"`
				Peak         string `json:"peak_pct"`
				Availability string `json:"availability_pct"`
				Days         int    `json:"days_with_data"`
			} `json:"utilisation"`
		} `json:"resources"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("%v\n%.500s", err, out)
	}
	for _, r := range st.Resources {
		u := r.Utilisation
		if u == nil || !slices.Equal([]string{u.Mean, u.Peak, u.Availability, fmt.Sprint(u.Days)}, want[r.Resource]) {
			t.Errorf("JSON %s: %+v, want %v", r.Resource, u, want[r.Resource])
		}
	}

	// The typed answer the console draws its statement page from.
	req := connect.NewRequest(&v1.StatementRequest{Month: "2026-03", Department: "d1", Format: "typed"})
	req.Header().Set("Authorization", "Bearer "+e.admin)
	res, err := cloudledgerv1connect.NewLedgerServiceClient(e.c.HTTP, e.url).Statement(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Msg.GetStatement().GetResources() {
		got := []string{r.GetMeanPct(), r.GetPeakPct(), r.GetAvailabilityPct(), fmt.Sprint(r.GetDaysWithData())}
		if !slices.Equal(got, want[r.GetResource()]) {
			t.Errorf("typed %s: %v, want %v", r.GetResource(), got, want[r.GetResource()])
		}
	}

	out = e.must("utilisation", "efficiency", "--department", "d1", "--quarter", "2026Q3", "--format", "json")
	var eff struct {
		From, To string
		Classes  []struct {
			QuotaClass    string `json:"quota_class"`
			EfficiencyPct string `json:"efficiency_pct"`
			ResourceDays  int    `json:"resource_days"`
		}
	}
	if err := json.Unmarshal([]byte(out), &eff); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if eff.From != "2026-03-01" || eff.To != "2026-05-31" || len(eff.Classes) != 1 || eff.Classes[0].QuotaClass != "vcpu" ||
		eff.Classes[0].EfficiencyPct != "16.00" || eff.Classes[0].ResourceDays != 4 {
		t.Fatalf("efficiency %+v, want vcpu 16.00 over 4 resource-days of 2026-03-01..2026-05-31", eff)
	}
}

// xlsxNumbers reads cells as numbers where they are (Excel shows 5 for 5.00).
func xlsxNumbers(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = trimZeros(c)
		if !strings.Contains(out[i], ".") && strings.HasSuffix(c, ".00") {
			out[i] = strings.TrimSuffix(c, ".00")
		}
	}
	return out
}
