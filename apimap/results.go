package apimap

import (
	"encoding/json"
	"github.com/cloudledger/cloudledger/money"
	"time"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/ledger"
	"github.com/cloudledger/cloudledger/rating"
	"github.com/cloudledger/cloudledger/settlement"
)

// ChargeLine is the API form of a charge line: the same decimal text as charges.csv
// (amounts to 2 places, the multiplier to 4).
func ChargeLine(l rating.Line) *v1.ChargeLine {
	return &v1.ChargeLine{Month: l.Month.String(), Department: l.Department, Project: l.Project, Provider: l.Provider, Item: l.Item,
		Billing: string(l.Billing), Quantity: l.Quantity.String(), Unit: l.Unit, BaseAmount: money.Text(l.BaseAmount),
		Multiplier: money.Multiplier(l.Multiplier), Amount: money.Text(l.Amount), ProvisionalDays: uint32(l.ProvisionalDays)}
}

// LineItem is the API form of a line item: its body as a Command where the API writes that
// kind of body, as JSON otherwise.
func LineItem(li *ledger.LineItem) *v1.LineItem {
	out := &v1.LineItem{Seq: li.Seq, RaftIndex: li.RaftIndex, Key: li.Key, Actor: li.Actor,
		RecordedAt: li.RecordedAt.Format(time.RFC3339Nano), Type: ledger.TypeName(li.Body.Type()), Hash: li.Hash.String(),
		Body: li.BodyBytes(), RecordedAtUnixNano: li.RecordedAt.UnixNano()}
	if c := FromCommand(ledger.Command{Key: li.Key, Body: li.Body}); c != nil {
		out.Command = c
	} else {
		body, _ := json.Marshal(li.Body) // ledger bodies are plain data: always marshal
		out.BodyJson = string(body)
	}
	return out
}

// ReconciliationReport is the API form of an invoice reconciliation.
func ReconciliationReport(r *settlement.Report) *v1.ReconciliationReport {
	out := &v1.ReconciliationReport{Provider: r.Provider, Month: r.Month.String(), Tolerance: money.Text(r.Tolerance),
		Matched: uint32(r.Matched), Mismatched: uint32(r.Mismatched), Missing: uint32(r.Missing), Unexpected: uint32(r.Unexpected),
		InvoiceTotal: money.Text(r.InvoiceTotal), RatedTotal: money.Text(r.RatedTotal), Difference: money.Text(r.Difference)}
	for _, l := range r.Lines {
		out.Lines = append(out.Lines, &v1.ReconciliationLine{Outcome: string(l.Outcome), Department: l.Department, Project: l.Project,
			Item: l.Item, Invoiced: money.Text(l.Invoiced), Rated: money.Text(l.Rated), Difference: money.Text(l.Difference),
			InvoiceLine: uint32(l.InvoiceRow), Note: l.Note})
	}
	return out
}

// Approval is the API form of an approval, with its standing at the ledger's clock.
func Approval(a *ledger.Approval, clock time.Time) *v1.Approval {
	out := &v1.Approval{Department: a.Department, QuotaClass: a.QuotaClass, Ceiling: a.Ceiling.String(), Ref: a.Ref,
		Expires: dateText(a.Expires), Status: a.Status(clock), GrantedBy: a.Actor, GrantedAt: a.Time.Format(time.RFC3339)}
	if a.Revoked() {
		out.RevokedBy, out.RevokedAt = a.RevokedBy, a.RevokedAt.Format(time.RFC3339)
	}
	return out
}

// DayRanges is the API form of inclusive day ranges (unscored days).
func DayRanges(days []rating.DayRange) []*v1.DayRange {
	var out []*v1.DayRange
	for _, d := range days {
		out = append(out, &v1.DayRange{From: d.From.String(), To: d.To.String()})
	}
	return out
}

// Statement is a month's statement as the API answers it, typed.
func Statement(s *settlement.Statement) *v1.Statement {
	res := func(rs []settlement.StatementResource) []*v1.StatementResource {
		out := make([]*v1.StatementResource, len(rs))
		for i, r := range rs {
			out[i] = &v1.StatementResource{Resource: r.Resource, Department: r.Department, Project: r.Project, Provider: r.Provider, Item: r.Item,
				Kind: string(r.Kind), Unit: r.Unit, Quantity: r.Quantity.String(), BaseAmount: money.Text(r.BaseAmount), Amount: money.Text(r.Amount)}
			if u := r.Utilisation; u != nil {
				out[i].MeanPct, out[i].PeakPct, out[i].AvailabilityPct, out[i].DaysWithData = u.Mean.StringFixed(2), u.Peak.StringFixed(2), u.Availability.StringFixed(2), uint32(u.Days)
			}
			for _, f := range r.Findings {
				out[i].Findings = append(out[i].Findings, &v1.StatementFinding{Id: f.ID, Kind: string(f.Kind), State: string(f.State)})
			}
			if !r.Advice.IsZero() {
				out[i].Advice = r.Advice.String()
			}
		}
		return out
	}
	out := &v1.Statement{Month: s.Month.String(), Department: s.Department, Provider: s.Provider, RaftIndex: s.RaftIndex,
		Resources: res(s.Resources), TestResources: res(s.TestResources), TotalBaseAmount: money.Text(s.Total.BaseAmount),
		TotalAmount: money.Text(s.Total.Amount), Lines: uint32(s.Total.Lines)}
	for _, st := range s.Subtotals {
		out.Subtotals = append(out.Subtotals, &v1.StatementSubtotal{Group: st.Group, BaseAmount: money.Text(st.BaseAmount), Amount: money.Text(st.Amount)})
	}
	return out
}

// Budget is a settlement year's budget export as the API answers it, typed.
func Budget(b *settlement.Budget) *v1.Budget {
	out := &v1.Budget{Year: int32(b.Year), State: string(b.State), AuditedBy: b.AuditedBy, AuditRaftIndex: b.AuditIndex, AuditHeadHash: b.AuditHead}
	for _, d := range b.Departments {
		out.Departments = append(out.Departments, &v1.BudgetDepartment{Department: d.Department, DepartmentName: d.DepartmentName, Funding: string(d.Funding),
			BaseAmount: money.Text(d.BaseAmount), Amount: money.Text(d.Amount), NextYearEstimate: money.Text(d.Estimate)})
	}
	return out
}
