package settlement

import (
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/ledger"
)

// Issue 24, must show 3 (efficiency): SPEC's quarters and Σ(q_d × mean_d) ÷ Σ q_d worked by
// hand. 2026Q3 is March–May 2026. r1 holds 4 vCPU, 8 from 10 March on: 5 March mean 10
// (q 4), 20 March mean 30 (q 8); r2 holds 2 vCPU: 5 March mean 50; a test resource's row and
// a day of June are left out. vcpu: (4 × 10 + 8 × 30 + 2 × 50) ÷ (4 + 8 + 2) = 380 ÷ 14 =
// 27.142857… → 27.14, over 3 resource-days. m1 (16 GB): 5 March mean 12.5 → 12.50.
func TestDepartmentEfficiency(t *testing.T) {
	q, err := ParseQuarter("2026Q3")
	if err != nil {
		t.Fatal(err)
	}
	if f, l := q.Days(); f.String() != "2026-03-01" || l.String() != "2026-05-31" {
		t.Fatalf("2026Q3 is %s..%s", f, l)
	}
	if f, l := (Quarter{2026, 1}).Days(); f.String() != "2025-09-01" || l.String() != "2025-11-30" {
		t.Fatalf("2026Q1 is %s..%s", f, l)
	}
	if f, l := (Quarter{2026, 2}).Days(); f.String() != "2025-12-01" || l.String() != "2026-02-28" {
		t.Fatalf("2026Q2 is %s..%s", f, l)
	}
	for _, bad := range []string{"2026Q5", "2026", "Q3", "1999Q1"} {
		if _, err := ParseQuarter(bad); err == nil {
			t.Errorf("ParseQuarter(%q) passed", bad)
		}
	}
	cst := time.FixedZone("CST", 8*3600)
	at := func(s string) time.Time { v, _ := time.ParseInLocation("2006-01-02 15:04", s, cst); return v }
	dec := decimal.RequireFromString
	d := &ledger.View{
		Items: map[string]*ledger.CatalogItem{"ecs.vcpu": {ID: "ecs.vcpu", QuotaClass: "vcpu"}, "ecs.memory": {ID: "ecs.memory", QuotaClass: "memory_gb"}},
		Resources: []*ledger.ResourceHistory{
			{ID: "r1", Item: "ecs.vcpu", Kind: ledger.KindStandard, Ops: []ledger.ResourceOp{{Time: at("2026-02-01 10:00"), Op: ledger.OpAllocate, Quantity: dec("4")},
				{Time: at("2026-03-10 09:00"), Op: ledger.OpExpand, Quantity: dec("4")}}},
			{ID: "r2", Item: "ecs.vcpu", Kind: ledger.KindStandard, Ops: []ledger.ResourceOp{{Time: at("2026-02-01 10:00"), Op: ledger.OpAllocate, Quantity: dec("2")}}},
			{ID: "t1", Item: "ecs.vcpu", Kind: ledger.KindTest, Ops: []ledger.ResourceOp{{Time: at("2026-02-01 10:00"), Op: ledger.OpAllocate, Quantity: dec("64")}}},
			{ID: "m1", Item: "ecs.memory", Kind: ledger.KindStandard, Ops: []ledger.ResourceOp{{Time: at("2026-02-01 10:00"), Op: ledger.OpAllocate, Quantity: dec("16")}}},
		},
	}
	row := func(res, day, mean string) ledger.StoredUtilisation {
		dd, _ := calendar.ParseDate(day)
		return ledger.StoredUtilisation{UtilisationRow: ledger.UtilisationRow{Resource: res, Date: dd, Mean: dec(mean), Peak: dec("99"), Availability: dec("100")}}
	}
	all := map[string][]ledger.StoredUtilisation{
		"r1": {row("r1", "2026-03-05", "10"), row("r1", "2026-03-20", "30"), row("r1", "2026-06-02", "99")},
		"r2": {row("r2", "2026-03-05", "50")},
		"t1": {row("t1", "2026-03-05", "90")},
		"m1": {row("m1", "2026-03-05", "12.5")},
	}
	got := Efficiency(d, q, func(res string, from, to calendar.Date) []ledger.StoredUtilisation {
		var out []ledger.StoredUtilisation
		for _, r := range all[res] {
			if !r.Date.Before(from) && !r.Date.After(to) {
				out = append(out, r)
			}
		}
		return out
	})
	if len(got) != 2 || got[0].QuotaClass != "memory_gb" || got[0].Efficiency.String() != "12.5" || got[0].ResourceDays != 1 ||
		got[1].QuotaClass != "vcpu" || got[1].Efficiency.String() != "27.14" || got[1].ResourceDays != 3 {
		t.Fatalf("efficiency %+v, want memory_gb 12.50 over 1 resource-day, vcpu 27.14 over 3", got)
	}
}

// Issue 26: the department efficiency table ranks every department in each class, highest
// first, equal efficiencies sharing a rank (1, 1, 3); a department's own resources only.
func TestDepartmentEfficienciesRanked(t *testing.T) {
	q := Quarter{2026, 3}
	cst := time.FixedZone("CST", 8*3600)
	opened := time.Date(2026, 2, 1, 10, 0, 0, 0, cst)
	res := func(id, dept string) *ledger.ResourceHistory {
		return &ledger.ResourceHistory{ID: id, Department: dept, Item: "ecs.vcpu", Kind: ledger.KindStandard,
			Ops: []ledger.ResourceOp{{Time: opened, Op: ledger.OpAllocate, Quantity: decimal.NewFromInt(4)}}}
	}
	v := &ledger.View{Items: map[string]*ledger.CatalogItem{"ecs.vcpu": {ID: "ecs.vcpu", QuotaClass: "vcpu"}},
		Resources: []*ledger.ResourceHistory{res("a", "edu"), res("b", "bus"), res("c", "health"), res("d", "edu-school")}}
	means := map[string]string{"a": "30", "b": "50", "c": "30", "d": "80"}
	day, _ := calendar.ParseDate("2026-03-05")
	got := DepartmentEfficiencies(v, q, func(r string, _, _ calendar.Date) []ledger.StoredUtilisation {
		return []ledger.StoredUtilisation{{UtilisationRow: ledger.UtilisationRow{Resource: r, Date: day, Mean: decimal.RequireFromString(means[r])}}}
	})
	want := []string{"edu-school 80 1/4", "bus 50 2/4", "edu 30 3/4", "health 30 3/4"}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %v", got, want)
	}
	for i, g := range got {
		if s := fmt.Sprintf("%s %s %d/%d", g.Department, g.Efficiency, g.Rank, g.Ranked); s != want[i] {
			t.Errorf("row %d: %s, want %s", i, s, want[i])
		}
	}
}
