package settlement

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/ledger"
	"github.com/cloudledger/cloudledger/rating"
)

// Quarter is an evaluation quarter (SPEC: Evaluation): quarters follow the settlement year
// Y — Q1 September–November of Y−1, Q2 December–February, Q3 March–May, Q4 June–August.
type Quarter struct {
	Year, Q int
}

// ParseQuarter reads "2026Q3".
func ParseQuarter(s string) (Quarter, error) {
	y, q, ok := strings.Cut(strings.ToUpper(strings.TrimSpace(s)), "Q")
	year, err1 := strconv.Atoi(y)
	n, err2 := strconv.Atoi(q)
	if !ok || err1 != nil || err2 != nil || n < 1 || n > 4 || year < ledger.MinYear || year > ledger.MaxYear {
		return Quarter{}, fmt.Errorf("a quarter is YYYYQn, n 1 to 4 (2026Q1 is September–November 2025), not %q", s)
	}
	return Quarter{year, n}, nil
}

func (q Quarter) String() string { return fmt.Sprintf("%dQ%d", q.Year, q.Q) }

// Days are the quarter's first and last day.
func (q Quarter) Days() (calendar.Date, calendar.Date) {
	first := calendar.NewDate(q.Year-1, time.September, 1).AddMonths(3 * (q.Q - 1))
	return first, first.AddMonths(3).AddDays(-1)
}

// ClassEfficiency is a department's efficiency in one quota class over a quarter (SH 33):
// Σ(q_d × mean_d) ÷ Σ q_d over its standard resource-days with a row, q_d the quantity the
// resource held at the end of day d; half-up to 2 decimals.
type ClassEfficiency struct {
	QuotaClass   string          `json:"quota_class"`
	Efficiency   decimal.Decimal `json:"efficiency_pct"`
	ResourceDays int             `json:"resource_days"`
}

// RowsOf answers a resource's utilisation rows in force over days.
type RowsOf func(resource string, from, to calendar.Date) []ledger.StoredUtilisation

// Efficiency is a department's efficiency per quota class over a quarter: d holds the
// department's resources (a view filtered to it).
func Efficiency(d *ledger.View, q Quarter, rows RowsOf) []ClassEfficiency {
	from, to := q.Days()
	type acc struct {
		num, den decimal.Decimal
		days     int
	}
	byClass := map[string]*acc{}
	for _, h := range d.Resources {
		if h.Kind != ledger.KindStandard {
			continue
		}
		item := d.Items[h.Item]
		if item == nil {
			continue
		}
		ops := rating.EffectiveOps(h)
		for _, r := range rows(h.ID, from, to) {
			held := rating.HeldAt(ops, r.Date.AddDays(1).Start().Add(-time.Nanosecond))
			if !held.IsPositive() {
				continue
			}
			a := byClass[item.QuotaClass]
			if a == nil {
				a = &acc{}
				byClass[item.QuotaClass] = a
			}
			a.num = a.num.Add(held.Mul(r.Mean))
			a.den = a.den.Add(held)
			a.days++
		}
	}
	out := make([]ClassEfficiency, 0, len(byClass))
	for class, a := range byClass {
		out = append(out, ClassEfficiency{QuotaClass: class, Efficiency: a.num.DivRound(a.den, 2), ResourceDays: a.days})
	}
	slices.SortFunc(out, func(a, b ClassEfficiency) int { return strings.Compare(a.QuotaClass, b.QuotaClass) })
	return out
}

// DepartmentEfficiency is one department's efficiency in one quota class over a quarter,
// with its rank among the departments with a figure in that class (1 the highest; equal
// efficiencies share a rank, the next rank counting them: 1, 1, 3).
type DepartmentEfficiency struct {
	Department string `json:"department"`
	ClassEfficiency
	Rank   int `json:"rank"`
	Ranked int `json:"ranked"`
}

// DepartmentEfficiencies are every department's efficiencies over a quarter (SPEC:
// Evaluation, the department efficiency table; SH 33), each department on its own resources
// (not those of the departments below it), sorted by class, rank and department. v holds
// every department's resources.
func DepartmentEfficiencies(v *ledger.View, q Quarter, rows RowsOf) []DepartmentEfficiency {
	byDept := map[string][]*ledger.ResourceHistory{}
	for _, h := range v.Resources {
		byDept[h.Department] = append(byDept[h.Department], h)
	}
	var out []DepartmentEfficiency
	for d, res := range byDept {
		one := *v
		one.Resources = res
		for _, c := range Efficiency(&one, q, rows) {
			out = append(out, DepartmentEfficiency{Department: d, ClassEfficiency: c})
		}
	}
	slices.SortFunc(out, func(a, b DepartmentEfficiency) int {
		if c := strings.Compare(a.QuotaClass, b.QuotaClass); c != 0 {
			return c
		}
		if c := b.Efficiency.Cmp(a.Efficiency); c != 0 {
			return c
		}
		return strings.Compare(a.Department, b.Department)
	})
	for i := 0; i < len(out); {
		j := i
		for j < len(out) && out[j].QuotaClass == out[i].QuotaClass {
			j++
		}
		for k := i; k < j; k++ {
			out[k].Rank, out[k].Ranked = k-i+1, j-i
			if k > i && out[k].Efficiency.Equal(out[k-1].Efficiency) {
				out[k].Rank = out[k-1].Rank
			}
		}
		i = j
	}
	return out
}
