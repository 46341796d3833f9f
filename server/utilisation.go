package server

import (
	"context"

	"connectrpc.com/connect"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/ledger"
	"github.com/cloudledger/cloudledger/settlement"
)

// Limits of a utilisation read: the dates of one call, and the rows of one answer.
const (
	MaxUtilisationDays = 366
	MaxUtilisationRows = 200_000
)

func (h *ledgerService) Utilisation(ctx context.Context, req *connect.Request[v1.UtilisationRequest]) (*connect.Response[v1.UtilisationResponse], error) {
	p, m := principalOf(ctx), req.Msg
	var from, to calendar.Date
	var month calendar.Month
	var err error
	if m.GetMonth() != "" {
		if month, err = calendar.ParseMonth(m.GetMonth()); err != nil {
			return nil, detailError(errcode.Errf(errcode.InvalidValue, "month", "a month is YYYY-MM, not %q", m.GetMonth()), 0)
		}
		from, to = month.First(), month.Last()
	} else {
		if from, err = calendar.ParseDate(m.GetFrom()); err != nil {
			return nil, detailError(errcode.Errf(errcode.InvalidDate, "from", "%v", err), 0)
		}
		if to, err = calendar.ParseDate(m.GetTo()); err != nil {
			return nil, detailError(errcode.Errf(errcode.InvalidDate, "to", "%v", err), 0)
		}
	}
	if to.Before(from) || from.AddDays(MaxUtilisationDays).Before(to) {
		return nil, detailError(errcode.Errf(errcode.InvalidRange, "to", "from %s to %s: a range of 1 to %d days", from, to, MaxUtilisationDays), 0)
	}
	var resources []ledger.Resource
	if m.GetResource() != "" {
		r, ok := h.s.ledger.Resource(m.GetResource())
		if !ok || !p.sees(h.s, r.Department, r.Provider) {
			return nil, detailError(errcode.Errf(errcode.UnknownResource, "resource", "unknown resource %q", m.GetResource()), 0)
		}
		resources = []ledger.Resource{r}
	} else {
		f := ledger.ResourceFilter{Provider: m.GetProvider(),
			Department: func(d string) bool {
				return m.GetDepartment() == "" || h.s.ledger.DepartmentWithin(d, m.GetDepartment())
			}}
		for _, r := range h.s.ledger.Resources(f) {
			if p.sees(h.s, r.Department, r.Provider) {
				resources = append(resources, r)
			}
		}
	}
	out := &v1.UtilisationResponse{}
	for _, r := range resources {
		if m.GetMonth() != "" {
			if u, ok := h.s.ledger.MonthUtilisation(r.ID, month); ok {
				out.Months = append(out.Months, &v1.UtilisationMonth{Resource: r.ID, Department: r.Department, Provider: r.Provider, Item: r.Item,
					MeanPct: u.Mean.StringFixed(2), PeakPct: u.Peak.StringFixed(2), AvailabilityPct: u.Availability.StringFixed(2), DaysWithData: uint32(u.Days)})
			}
		}
		for _, u := range h.s.ledger.UtilisationRows(r.ID, from, to) {
			if len(out.Rows) == MaxUtilisationRows {
				return nil, detailError(errcode.Errf(errcode.TooLarge, "to", "more than %d rows: ask for fewer resources or days", MaxUtilisationRows), 0)
			}
			out.Rows = append(out.Rows, &v1.UtilisationDay{Resource: u.Resource, Date: u.Date.String(), MeanPct: u.Mean.String(), PeakPct: u.Peak.String(),
				AvailabilityPct: u.Availability.String(), Source: string(u.Source), DeliverySeq: u.Seq})
		}
	}
	return connect.NewResponse(out), nil
}

func (h *ledgerService) Efficiency(ctx context.Context, req *connect.Request[v1.EfficiencyRequest]) (*connect.Response[v1.EfficiencyResponse], error) {
	m := req.Msg
	if m.GetDepartment() == "" {
		return nil, detailError(errcode.Errf(errcode.MissingField, "department", "name the department"), 0)
	}
	q, err := settlement.ParseQuarter(m.GetQuarter())
	if err != nil {
		return nil, detailError(errcode.Errf(errcode.InvalidValue, "quarter", "%v", err), 0)
	}
	data, err := h.s.ledger.View(ledger.ViewFilter{Department: m.GetDepartment()})
	if err != nil {
		return nil, toConnect(err)
	}
	from, to := q.Days()
	out := &v1.EfficiencyResponse{Department: m.GetDepartment(), Quarter: q.String(), From: from.String(), To: to.String()}
	for _, c := range settlement.Efficiency(data, q, h.s.ledger.UtilisationRows) {
		out.Classes = append(out.Classes, &v1.ClassEfficiency{QuotaClass: c.QuotaClass, EfficiencyPct: c.Efficiency.StringFixed(2), ResourceDays: uint32(c.ResourceDays)})
	}
	return connect.NewResponse(out), nil
}
