package settlement

import (
	"encoding/json"
	"github.com/cloudledger/cloudledger/money"

	"github.com/cloudledger/cloudledger/rating"
)

// Money in the JSON exports is a string with exactly two decimals ("318030.00", not
// "318030"; "729.20", not "729.2"), as in the CSV and XLSX exports. Quantities keep their
// exact text.

func (l BudgetLine) MarshalJSON() ([]byte, error) {
	type plain BudgetLine
	return json.Marshal(struct {
		plain
		BaseAmount string `json:"base_amount"`
		Amount     string `json:"amount"`
		Estimate   string `json:"next_year_estimate"`
	}{plain(l), money.Text(l.BaseAmount), money.Text(l.Amount), money.Text(l.Estimate)})
}

func (t BudgetTotals) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		BaseAmount string `json:"base_amount"`
		Amount     string `json:"amount"`
		Estimate   string `json:"next_year_estimate"`
	}{money.Text(t.BaseAmount), money.Text(t.Amount), money.Text(t.Estimate)})
}

func (d DepartmentTotal) MarshalJSON() ([]byte, error) {
	type plain DepartmentTotal
	return json.Marshal(struct {
		plain
		BaseAmount string `json:"base_amount"`
		Amount     string `json:"amount"`
		Estimate   string `json:"next_year_estimate"`
	}{plain(d), money.Text(d.BaseAmount), money.Text(d.Amount), money.Text(d.Estimate)})
}

func (r StatementResource) MarshalJSON() ([]byte, error) {
	type plain StatementResource
	type utilisation struct {
		Mean         string `json:"mean_pct"`
		Peak         string `json:"peak_pct"`
		Availability string `json:"availability_pct"`
		Days         int    `json:"days_with_data"`
	}
	var u *utilisation
	if r.Utilisation != nil {
		u = &utilisation{r.Utilisation.Mean.StringFixed(2), r.Utilisation.Peak.StringFixed(2), r.Utilisation.Availability.StringFixed(2), r.Utilisation.Days}
	}
	return json.Marshal(struct {
		plain
		BaseAmount  string       `json:"base_amount"`
		Amount      string       `json:"amount"`
		Utilisation *utilisation `json:"utilisation"`
	}{plain(r), money.Text(r.BaseAmount), money.Text(r.Amount), u})
}

func (s Subtotal) MarshalJSON() ([]byte, error) {
	type plain Subtotal
	return json.Marshal(struct {
		plain
		BaseAmount string `json:"base_amount"`
		Amount     string `json:"amount"`
	}{plain(s), money.Text(s.BaseAmount), money.Text(s.Amount)})
}

// totalsJSON is a statement's total.
type totalsJSON struct {
	BaseAmount string `json:"base_amount"`
	Amount     string `json:"amount"`
	Lines      int    `json:"lines"`
}

func statementTotal(t rating.Totals) totalsJSON {
	return totalsJSON{money.Text(t.BaseAmount), money.Text(t.Amount), t.Lines}
}
