package settlement

import (
	"encoding/json"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/rating"
)

// Money in the JSON exports is a string with exactly two decimals ("318030.00", not
// "318030"; "729.20", not "729.2"), as in the CSV and XLSX exports. Quantities keep their
// exact text.

func money(d decimal.Decimal) string { return d.StringFixed(2) }

func (l BudgetLine) MarshalJSON() ([]byte, error) {
	type plain BudgetLine
	return json.Marshal(struct {
		plain
		BaseAmount string `json:"base_amount"`
		Amount     string `json:"amount"`
		Estimate   string `json:"next_year_estimate"`
	}{plain(l), money(l.BaseAmount), money(l.Amount), money(l.Estimate)})
}

func (t BudgetTotals) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		BaseAmount string `json:"base_amount"`
		Amount     string `json:"amount"`
		Estimate   string `json:"next_year_estimate"`
	}{money(t.BaseAmount), money(t.Amount), money(t.Estimate)})
}

func (d DepartmentTotal) MarshalJSON() ([]byte, error) {
	type plain DepartmentTotal
	return json.Marshal(struct {
		plain
		BaseAmount string `json:"base_amount"`
		Amount     string `json:"amount"`
		Estimate   string `json:"next_year_estimate"`
	}{plain(d), money(d.BaseAmount), money(d.Amount), money(d.Estimate)})
}

func (r StatementResource) MarshalJSON() ([]byte, error) {
	type plain StatementResource
	return json.Marshal(struct {
		plain
		BaseAmount string `json:"base_amount"`
		Amount     string `json:"amount"`
	}{plain(r), money(r.BaseAmount), money(r.Amount)})
}

func (s Subtotal) MarshalJSON() ([]byte, error) {
	type plain Subtotal
	return json.Marshal(struct {
		plain
		BaseAmount string `json:"base_amount"`
		Amount     string `json:"amount"`
	}{plain(s), money(s.BaseAmount), money(s.Amount)})
}

// totalsJSON is a statement's total.
type totalsJSON struct {
	BaseAmount string `json:"base_amount"`
	Amount     string `json:"amount"`
	Lines      int    `json:"lines"`
}

func statementTotal(t rating.Totals) totalsJSON {
	return totalsJSON{money(t.BaseAmount), money(t.Amount), t.Lines}
}
