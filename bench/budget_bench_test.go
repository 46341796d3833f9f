package bench

import (
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/ledger"
	"github.com/cloudledger/cloudledger/settlement"
)

// Issue 4, must show 6: the budget export for 2,000 departments and 20,000 projects of
// audited data.
const (
	budgetDepartments = 2_000
	budgetProjects    = 20_000
)

// auditedYear is settlement year 2026 audited: three items on one provider per project
// (60,000 audited lines), and a resource per line still held for the next-year estimate.
func auditedYear() *ledger.View {
	d := &ledger.View{Departments: map[string]*ledger.Department{}, Providers: map[string]*ledger.Provider{}, Projects: map[string]*ledger.Project{},
		Items: map[string]*ledger.CatalogItem{}, Settlements: map[int]*ledger.Settlement{}, Clock: time.Date(2026, 9, 20, 10, 0, 0, 0, calendar.Shanghai)}
	d.Head.AppliedIndex = 123456
	providers := []string{"ctyun", "hwcloud", "aliyun"}
	for _, p := range providers {
		d.Providers[p] = &ledger.Provider{ID: p, Name: p + " 云"}
	}
	items := []string{"ecs.vcpu", "ecs.memory", "disk.ssd"}
	for i, it := range items {
		d.Items[it] = &ledger.CatalogItem{ID: it, Name: it, Billing: ledger.BillingAllocation, Prices: []ledger.PriceVersion{
			{EffectiveFrom: calendar.NewDate(2025, 1, 1), Price: decimal.NewFromFloat(float64(10*i) + 1.1)}}}
	}
	for i := 0; i < budgetDepartments; i++ {
		id := fmt.Sprintf("dep%04d", i)
		f := ledger.FundingBudget
		if i%10 == 0 {
			f = ledger.FundingSelf
		}
		d.Departments[id] = &ledger.Department{ID: id, Name: "部门" + id, Funding: f}
	}
	s := &ledger.Settlement{Year: 2026, State: ledger.SettlementSubmitted, From: calendar.NewDate(2025, 9, 1), To: calendar.NewDate(2026, 8, 31),
		AuditedBy: "admin", AuditIndex: 120000, AuditHead: "ab12", SubmittedBy: "admin"}
	opened := time.Date(2025, 9, 1, 8, 0, 0, 0, calendar.Shanghai)
	for p := 0; p < budgetProjects; p++ {
		dep := fmt.Sprintf("dep%04d", p%budgetDepartments)
		prj := fmt.Sprintf("prj%05d", p)
		d.Projects[prj] = &ledger.Project{ID: prj, Department: dep, Name: "系统" + prj}
		prov := providers[p%len(providers)]
		for i, it := range items {
			amount := decimal.NewFromInt(int64(1000 + p%977 + i)).Div(decimal.NewFromInt(7)).Round(2)
			s.Lines = append(s.Lines, ledger.AuditedLine{Department: dep, Project: prj, Provider: prov, Item: it,
				Quantity: decimal.NewFromInt(int64(365 * (1 + i))), BaseAmount: amount, Amount: amount.Mul(decimal.RequireFromString("0.98")).Round(2)})
			d.Resources = append(d.Resources, &ledger.ResourceHistory{ID: fmt.Sprintf("%s-%d", prj, i), Department: dep, Project: prj, Provider: prov,
				Item: it, Kind: ledger.KindStandard, Ops: []ledger.ResourceOp{{Time: opened, Op: ledger.OpAllocate, Quantity: decimal.NewFromInt(int64(2 + i))}}})
		}
	}
	d.Settlements[2026] = s
	return d
}

func BenchmarkBudgetExport(b *testing.B) {
	d := auditedYear()
	cal := calendar.New(calendar.Builtin()...)
	b.ResetTimer()
	var build, xlsx, csv, js time.Duration
	var size int
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		budget, err := settlement.BuildBudget(d, cal, 2026)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		cw := &countingWriter{}
		if err := budget.WriteXLSX(cw); err != nil {
			b.Fatal(err)
		}
		size = cw.n
		t2 := time.Now()
		if err := budget.WriteCSV(io.Discard); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		if err := budget.WriteJSON(io.Discard); err != nil {
			b.Fatal(err)
		}
		t4 := time.Now()
		build, xlsx, csv, js = build+t1.Sub(t0), xlsx+t2.Sub(t1), csv+t3.Sub(t2), js+t4.Sub(t3)
	}
	n := time.Duration(b.N)
	fmt.Fprintf(os.Stdout, "\nbudget export, %d departments, %d projects (%d audited lines): build %s, XLSX %s (%d KiB), CSV %s, JSON %s\n",
		budgetDepartments, budgetProjects, budgetProjects*3, (build / n).Round(time.Millisecond), (xlsx / n).Round(time.Millisecond), size>>10,
		(csv / n).Round(time.Millisecond), (js / n).Round(time.Millisecond))
	b.ReportMetric(((build + xlsx) / n).Seconds(), "s/xlsx-export")
}

type countingWriter struct{ n int }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }
