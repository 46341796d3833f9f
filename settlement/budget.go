package settlement

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	"github.com/cloudledger/cloudledger/ledger"
	"github.com/cloudledger/cloudledger/rating"
)

// BudgetLine is one row of the budget export: a (department, project, provider, item) with
// the audited fees of the window and the next-year estimate.
type BudgetLine struct {
	Department     string          `json:"department"`
	DepartmentName string          `json:"department_name"`
	Project        string          `json:"project"`
	ProjectName    string          `json:"project_name"`
	Provider       string          `json:"provider"`
	ProviderName   string          `json:"provider_name"`
	Item           string          `json:"item"`
	ItemName       string          `json:"item_name"`
	Unit           string          `json:"unit"`        // what Quantity counts (GB·天, or the metered unit)
	Quantity       decimal.Decimal `json:"quantity"`    // unit-days or units consumed in the window
	BaseAmount     decimal.Decimal `json:"base_amount"` // before evaluation multipliers
	Amount         decimal.Decimal `json:"amount"`      // the audited fee
	Estimate       decimal.Decimal `json:"next_year_estimate"`
}

// BudgetTotals add up a sheet.
type BudgetTotals struct {
	BaseAmount decimal.Decimal `json:"base_amount"`
	Amount     decimal.Decimal `json:"amount"`
	Estimate   decimal.Decimal `json:"next_year_estimate"`
}

// DepartmentTotal is one department's sums: the summary the finance bureau budgets from.
type DepartmentTotal struct {
	Department     string          `json:"department"`
	DepartmentName string          `json:"department_name"`
	Funding        ledger.Funding  `json:"funding"`
	BaseAmount     decimal.Decimal `json:"base_amount"`
	Amount         decimal.Decimal `json:"amount"`
	Estimate       decimal.Decimal `json:"next_year_estimate"`
}

// Budget is the export of one settlement year for the finance bureau (SPEC: Settlement).
type Budget struct {
	Year            int                    `json:"year"`
	WindowFrom      calendar.Date          `json:"window_from"`
	WindowTo        calendar.Date          `json:"window_to"`
	State           ledger.SettlementState `json:"state"`
	RaftIndex       uint64                 `json:"raft_index"` // the ledger state exported
	HeadHash        string                 `json:"head_hash"`
	AuditIndex      uint64                 `json:"audit_raft_index"`
	AuditHead       string                 `json:"audit_head_hash"`
	AuditedBy       string                 `json:"audited_by"`
	AuditedAt       time.Time              `json:"audited_at"`
	SubmittedBy     string                 `json:"submitted_by,omitempty"`
	SubmittedAt     time.Time              `json:"submitted_at,omitzero"`
	Deadline        calendar.Date          `json:"deadline"`
	Today           calendar.Date          `json:"as_of"` // the ledger's clock at RaftIndex
	DaysLeft        int                    `json:"days_left"`
	WorkingDaysLeft int                    `json:"working_days_left"`
	Departments     []DepartmentTotal      `json:"departments"` // budget-funded first, then self-funded, each by id
	Funded          []BudgetLine           `json:"budget_funded"`
	FundedTotal     BudgetTotals           `json:"budget_funded_total"`
	SelfFunded      []BudgetLine           `json:"self_funded"`
	SelfTotal       BudgetTotals           `json:"self_funded_total"`
}

// DeadlineText is the deadline status for people: for a submitted year whether it was
// submitted on time (a submitted year is never "overdue"), else the days left or overdue.
func (b *Budget) DeadlineText(zh bool) string {
	if !b.SubmittedAt.IsZero() {
		late := calendar.DaysBetween(b.Deadline, calendar.DateOf(b.SubmittedAt))
		switch {
		case late > 0 && zh:
			return "已报送（逾期 " + itoa(late) + " 天报送）"
		case late > 0:
			return "submitted " + itoa(late) + " days late"
		case zh:
			return "已按期报送"
		}
		return "submitted on time"
	}
	switch {
	case b.DaysLeft < 0 && zh:
		return "已逾期 " + itoa(-b.DaysLeft) + " 天"
	case b.DaysLeft < 0:
		return "overdue by " + itoa(-b.DaysLeft) + " days"
	case zh:
		return "剩余 " + itoa(b.DaysLeft) + " 天（" + itoa(b.WorkingDaysLeft) + " 个工作日）"
	}
	return itoa(b.DaysLeft) + " days left (" + itoa(b.WorkingDaysLeft) + " working days)"
}

// BuildBudget assembles the budget export of an audited (or later) year: the frozen figures
// of the audit, and a next-year estimate of current allocations × current prices × 12
// months, both as of d (the ledger's clock at its index).
func BuildBudget(d *ledger.View, cal *calendar.Calendar, year int) (*Budget, error) {
	s := d.Settlements[year]
	if s == nil || s.State == ledger.SettlementDraft {
		state := "not run"
		if s != nil {
			state = string(s.State)
		}
		return nil, errcode.Errf(errcode.SettlementState, "year", "settlement year %d is %s: the budget export needs audited figures", year, state)
	}
	st, err := YearStatus(d, cal, year, false)
	if err != nil {
		return nil, err
	}
	b := &Budget{Year: year, WindowFrom: s.From, WindowTo: s.To, State: s.State, RaftIndex: d.Head.AppliedIndex, HeadHash: d.Head.Hash.String(),
		AuditIndex: s.AuditIndex, AuditHead: s.AuditHead, AuditedBy: s.AuditedBy, AuditedAt: s.AuditedAt, SubmittedBy: s.SubmittedBy,
		SubmittedAt: s.SubmittedAt, Deadline: st.Deadline, Today: st.Today, DaysLeft: st.DaysLeft, WorkingDaysLeft: st.WorkingDaysLeft}
	type key struct{ d, p, v, i string }
	rows := map[key]*BudgetLine{}
	row := func(k key) *BudgetLine {
		r := rows[k]
		if r == nil {
			r = &BudgetLine{Department: k.d, Project: k.p, Provider: k.v, Item: k.i}
			if x := d.Departments[k.d]; x != nil {
				r.DepartmentName = x.Name
			}
			if x := d.Projects[k.p]; x != nil {
				r.ProjectName = x.Name
			}
			if x := d.Providers[k.v]; x != nil {
				r.ProviderName = x.Name
			}
			if x := d.Items[k.i]; x != nil {
				r.ItemName, r.Unit = x.Name, rating.QuantityUnit(x)
			}
			rows[k] = r
		}
		return r
	}
	for _, l := range s.Lines {
		r := row(key{l.Department, l.Project, l.Provider, l.Item})
		r.Quantity, r.BaseAmount, r.Amount = l.Quantity, l.BaseAmount, l.Amount
	}
	today := st.Today
	// Σ held × price × 12 per line is (Σ held) × price × 12, exactly: the units are summed
	// per line first, and each line's price taken once (a province holds ~10⁵ resources).
	heldBy, err := rating.HeldByLine(d, d.Clock)
	if err != nil {
		return nil, err
	}
	for l, q := range heldBy {
		price, _ := rating.PriceOn(d.Items[l.Item], l.Provider, today)
		r := row(key{l.Department, l.Project, l.Provider, l.Item})
		r.Estimate = r.Estimate.Add(q.Mul(price).Mul(twelve))
	}
	// Who pays: the funding a department had at the audit (frozen with the figures), else
	// its funding now (a department with an estimate only).
	selfFunded := func(dept string) bool {
		if f, ok := s.Funding[dept]; ok {
			return f == ledger.FundingSelf
		}
		dep := d.Departments[dept]
		return dep != nil && dep.Funding == ledger.FundingSelf
	}
	for _, r := range rows {
		r.Estimate = r.Estimate.Round(2)
		if selfFunded(r.Department) {
			b.SelfFunded = append(b.SelfFunded, *r)
			b.SelfTotal.add(r)
		} else {
			b.Funded = append(b.Funded, *r)
			b.FundedTotal.add(r)
		}
	}
	b.Departments = []DepartmentTotal{}
	for _, lines := range [][]BudgetLine{b.Funded, b.SelfFunded} {
		slices.SortFunc(lines, func(a, b BudgetLine) int {
			return cmp.Or(strings.Compare(a.Department, b.Department), strings.Compare(a.Project, b.Project), strings.Compare(a.Provider, b.Provider), strings.Compare(a.Item, b.Item))
		})
		for _, l := range lines {
			n := len(b.Departments)
			if n == 0 || b.Departments[n-1].Department != l.Department {
				t := DepartmentTotal{Department: l.Department, DepartmentName: l.DepartmentName, Funding: ledger.FundingBudget}
				if selfFunded(l.Department) {
					t.Funding = ledger.FundingSelf
				}
				b.Departments = append(b.Departments, t)
				n++
			}
			t := &b.Departments[n-1]
			t.BaseAmount, t.Amount, t.Estimate = t.BaseAmount.Add(l.BaseAmount), t.Amount.Add(l.Amount), t.Estimate.Add(l.Estimate)
		}
	}
	return b, nil
}

func (t *BudgetTotals) add(r *BudgetLine) {
	t.BaseAmount = t.BaseAmount.Add(r.BaseAmount)
	t.Amount = t.Amount.Add(r.Amount)
	t.Estimate = t.Estimate.Add(r.Estimate)
}

func itoa(n int) string { return decimal.NewFromInt(int64(n)).String() }
