package apimap

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/ledger"
)

// SubmitRequest maps a request submission to its ledger command (the ledger checks it).
func SubmitRequest(m *v1.SubmitRequestRequest) (*ledger.SubmitRequest, *errcode.Error) {
	b := &ledger.SubmitRequest{Kind: ledger.RequestKind(m.GetKind()), ResourceKind: ledger.ResourceKind(m.GetResourceKind()), Department: m.GetDepartment(),
		Project: m.GetProject(), Provider: m.GetProvider(), Item: m.GetItem(), Resource: m.GetResource(), Reason: m.GetReason()}
	if q := m.GetQuantity(); q != "" {
		d, err := parseAmount("quantity", q, true)
		if err != nil {
			return nil, err
		}
		b.Quantity = d
	} else {
		b.Quantity = decimal.Zero
	}
	if e := m.GetExpires(); e != "" {
		t, err := ParseExpires(e)
		if err != nil {
			return nil, err
		}
		b.Expires = t
	}
	return b, nil
}

// ResourceRequest is a request as the API shows it, with its current step's due date and
// whether it is overdue by the ledger's clock.
func ResourceRequest(r *ledger.ResourceRequest, cal *calendar.Calendar, clock time.Time) *v1.ResourceRequest {
	out := &v1.ResourceRequest{Id: r.ID, Kind: string(r.Kind), ResourceKind: string(r.ResourceKind), Department: r.Department, Project: r.Project,
		Provider: r.Provider, Item: r.Item, Resource: r.Resource, Reason: r.Reason, State: string(r.State), NeedsSupervisor: r.NeedsSupervisor, Finding: r.Finding}
	if !r.Quantity.IsZero() {
		out.Quantity = r.Quantity.String()
	}
	if !r.Expires.IsZero() {
		out.Expires = protoTime(r.Expires)
	}
	if step, due, article, err := r.Due(cal); err == nil && step != "" {
		out.Step, out.Due, out.Article = step, due.String(), article
		out.Overdue = !clock.IsZero() && calendar.DateOf(clock).After(due)
	}
	for _, s := range r.Steps {
		out.Steps = append(out.Steps, &v1.RequestStep{State: string(s.State), Actor: s.Actor, At: protoTime(s.At), Reason: s.Reason})
	}
	return out
}

// Notice is an outbox entry as the API shows it.
func Notice(n *ledger.Notice, titleZh, titleEn string) *v1.Notice {
	out := &v1.Notice{Id: n.ID, Kind: string(n.Kind), Party: n.Party, Recipient: n.Recipient, Request: n.Request, Resource: n.Resource,
		State: string(n.State), Reason: n.Reason, RaisedAt: protoTime(n.RaisedAt), LineItem: n.LineItem, Delivery: n.Delivery,
		Error: n.Error, Replays: uint32(n.Replays), TitleZh: titleZh, TitleEn: titleEn, Finding: n.Finding, FindingState: string(n.FindingState)}
	if !n.Due.IsZero() {
		out.Due = n.Due.String()
	}
	if !n.Expires.IsZero() {
		out.Expires = protoTime(n.Expires)
	}
	if !n.DeliveredAt.IsZero() {
		out.DeliveredAt = protoTime(n.DeliveredAt)
	}
	return out
}

// DeadlineTable maps a table from the API (the ledger checks its rows).
func DeadlineTable(m *v1.DeadlineTable) (*ledger.SetDeadlineTable, *errcode.Error) {
	d, err := calendar.ParseDate(m.GetEffectiveFrom())
	if err != nil {
		return nil, errcode.Errf(errcode.InvalidDate, "effective_from", "%v", err)
	}
	b := &ledger.SetDeadlineTable{DeadlineTable: ledger.DeadlineTable{EffectiveFrom: d, Name: m.GetName()}}
	for _, r := range m.GetRows() {
		b.Rules = append(b.Rules, ledger.DeadlineRule{Kind: ledger.RequestKind(r.GetKind()), Step: r.GetStep(), WorkingDays: int(r.GetWorkingDays()),
			Months: int(r.GetMonths()), FromSubmission: r.GetFromSubmission(), Article: r.GetArticle()})
	}
	return b, nil
}

// DeadlineTableOf is a table as the API shows it.
func DeadlineTableOf(t ledger.DeadlineTable) *v1.DeadlineTable {
	out := &v1.DeadlineTable{Name: t.Name}
	if !t.EffectiveFrom.IsZero() {
		out.EffectiveFrom = t.EffectiveFrom.String()
	}
	for _, r := range t.Rules {
		out.Rows = append(out.Rows, &v1.DeadlineRow{Kind: string(r.Kind), Step: r.Step, WorkingDays: uint32(r.WorkingDays), Months: uint32(r.Months),
			FromSubmission: r.FromSubmission, Article: r.Article})
	}
	return out
}
