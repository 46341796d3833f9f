package settlement

import (
	"cmp"
	"github.com/cloudledger/cloudledger/money"
	"slices"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/interchange"
	"github.com/cloudledger/cloudledger/ledger"
	"github.com/cloudledger/cloudledger/rating"
)

// InvoiceColumns are the columns of a provider's invoice (SPEC: Settlement).
var InvoiceColumns = interchange.Columns(interchange.KindInvoice)

// MaxInvoiceLines bounds an invoice.
const MaxInvoiceLines = 200_000

// InvoiceLine is one line of an invoice, parsed (apimap.InvoiceLines).
type InvoiceLine struct {
	Line       int
	Department string
	Project    string
	Item       string
	Amount     decimal.Decimal
}

// Outcome classifies a reconciliation line.
type Outcome string

const (
	OutcomeMatched    Outcome = "matched"    // within the tolerance
	OutcomeMismatch   Outcome = "mismatch"   // both sides, amounts differ by more than the tolerance
	OutcomeMissing    Outcome = "missing"    // rated, not on the invoice
	OutcomeUnexpected Outcome = "unexpected" // on the invoice, not rated
)

// ReconLine is one line of the report.
type ReconLine struct {
	Outcome    Outcome         `json:"outcome"`
	Department string          `json:"department"`
	Project    string          `json:"project"`
	Item       string          `json:"item"`
	Invoiced   decimal.Decimal `json:"invoiced"`
	Rated      decimal.Decimal `json:"rated"`
	Difference decimal.Decimal `json:"difference"` // invoiced − rated
	InvoiceRow int             `json:"invoice_line,omitempty"`
	Note       string          `json:"note,omitempty"`
}

// Report is an invoice reconciliation (SPEC: Settlement).
type Report struct {
	Provider     string          `json:"provider"`
	Month        calendar.Month  `json:"month"`
	Tolerance    decimal.Decimal `json:"tolerance"`
	Lines        []ReconLine     `json:"lines"`
	Matched      int             `json:"matched"`
	Mismatched   int             `json:"mismatched"`
	Missing      int             `json:"missing"`
	Unexpected   int             `json:"unexpected"`
	InvoiceTotal decimal.Decimal `json:"invoice_total"`
	RatedTotal   decimal.Decimal `json:"rated_total"`
	Difference   decimal.Decimal `json:"difference"`
}

// AllMatch reports whether every line matched within the tolerance.
func (r *Report) AllMatch() bool { return r.Mismatched == 0 && r.Missing == 0 && r.Unexpected == 0 }

// Reconcile checks an invoice of provider for month against the rated lines (which may
// cover more; only the provider's lines of the month count), summed per (department,
// project, item).
func Reconcile(d *ledger.View, rated []rating.Line, provider string, month calendar.Month, invoice []InvoiceLine, tolerance decimal.Decimal) *Report {
	rep := &Report{Provider: provider, Month: month, Tolerance: tolerance}
	type key struct{ d, p, i string }
	sums := map[key]decimal.Decimal{}
	for _, l := range rated {
		if l.Provider == provider && l.Month == month {
			k := key{l.Department, l.Project, l.Item}
			sums[k] = sums[k].Add(l.Amount)
		}
	}
	onInvoice := map[key]bool{}
	for _, in := range invoice {
		k := key{in.Department, in.Project, in.Item}
		onInvoice[k] = true
		rl := ReconLine{Department: in.Department, Project: in.Project, Item: in.Item, Invoiced: in.Amount, InvoiceRow: in.Line}
		rep.InvoiceTotal = rep.InvoiceTotal.Add(in.Amount)
		if r, ok := sums[k]; ok {
			rl.Rated = r
			rl.Difference = in.Amount.Sub(r)
			rl.Outcome = OutcomeMismatch
			if rl.Difference.Abs().LessThanOrEqual(tolerance) {
				rl.Outcome = OutcomeMatched
			}
		} else {
			rl.Outcome, rl.Difference = OutcomeUnexpected, in.Amount
			switch p := d.Projects[in.Project]; {
			case p == nil:
				rl.Note = "unknown project"
			case p.Department != in.Department:
				rl.Note = "the project belongs to department " + p.Department
			case d.Items[in.Item] == nil:
				rl.Note = "unknown item"
			default:
				rl.Note = "nothing rated"
			}
		}
		rep.Lines = append(rep.Lines, rl)
	}
	for k, r := range sums {
		rep.RatedTotal = rep.RatedTotal.Add(r)
		if !onInvoice[k] {
			rep.Lines = append(rep.Lines, ReconLine{Outcome: OutcomeMissing, Department: k.d, Project: k.p, Item: k.i, Rated: r, Difference: r.Neg()})
		}
	}
	slices.SortFunc(rep.Lines, func(a, b ReconLine) int {
		return cmp.Or(strings.Compare(a.Department, b.Department), strings.Compare(a.Project, b.Project), strings.Compare(a.Item, b.Item))
	})
	for _, l := range rep.Lines {
		switch l.Outcome {
		case OutcomeMatched:
			rep.Matched++
		case OutcomeMismatch:
			rep.Mismatched++
		case OutcomeMissing:
			rep.Missing++
		case OutcomeUnexpected:
			rep.Unexpected++
		}
	}
	rep.Difference = rep.InvoiceTotal.Sub(rep.RatedTotal)
	return rep
}

// Record is what the ledger keeps of a report.
func (r *Report) Record(invoiceSHA256 string) ledger.Reconciliation {
	return ledger.Reconciliation{Provider: r.Provider, Month: r.Month, InvoiceSHA256: invoiceSHA256, Matched: r.Matched,
		Mismatched: r.Mismatched, Missing: r.Missing, Unexpected: r.Unexpected, InvoiceTotal: r.InvoiceTotal,
		RatedTotal: r.RatedTotal, Tolerance: r.Tolerance}
}

// ReportColumns are the columns of the report CSV.
var ReportColumns = interchange.ReconciliationColumns

// Cells is a report line as CSV cells.
func (l ReconLine) Cells() []string {
	row := ""
	if l.InvoiceRow > 0 {
		row = itoa(l.InvoiceRow)
	}
	return []string{string(l.Outcome), l.Department, l.Project, l.Item, money.Text(l.Invoiced), money.Text(l.Rated), money.Text(l.Difference), row, l.Note}
}
