package server

import (
	"context"
	"github.com/cloudledger/cloudledger/money"
	"maps"
	"slices"
	"time"

	"connectrpc.com/connect"

	"github.com/cloudledger/cloudledger/calendar"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/ledger"
)

// The console's read views of the ledger (quota use, resources, master data), scoped to
// the caller like every list: a department its own subtree, a provider its own.

func (h *ledgerService) QuotaUse(ctx context.Context, req *connect.Request[v1.QuotaUseRequest]) (*connect.Response[v1.QuotaUseResponse], error) {
	p, only := principalOf(ctx), req.Msg.GetDepartment()
	keep := func(d string) bool { return p.sees(h.s, d, "") && (only == "" || d == only) }
	out := &v1.QuotaUseResponse{AppliedIndex: h.s.ledger.Head().AppliedIndex} // the state index (SPEC), as every read names it
	for _, r := range h.s.ledger.QuotaUse() {
		if keep(r.Department) {
			out.Classes = append(out.Classes, quotaRow(r))
		}
	}
	for _, pr := range h.s.ledger.Projects() {
		if !keep(pr.Department) {
			continue
		}
		info := &v1.ProjectInfo{Project: pr.ID, Department: pr.Department, Name: pr.Name, Closed: pr.Closed}
		for _, c := range slices.Sorted(maps.Keys(pr.Quotas)) {
			info.Quotas = append(info.Quotas, &v1.ProjectQuotaClass{QuotaClass: c, Quota: pr.Quotas[c].String()})
		}
		out.Projects = append(out.Projects, info)
	}
	return connect.NewResponse(out), nil
}

// quotaRow is one (department, class) row as QuotaOverruns and QuotaUse answer it.
func quotaRow(r ledger.Overrun) *v1.QuotaOverrun {
	o := &v1.QuotaOverrun{Department: r.Department, DepartmentName: r.DepartmentName, QuotaClass: r.QuotaClass,
		Quota: r.Quota.String(), Allocated: r.Allocated.String(), Status: string(r.Status), ApprovalRef: r.ApprovalRef}
	if r.Quota.IsPositive() {
		o.Ratio = money.Multiplier(r.Ratio)
	}
	if r.ApprovalRef != "" {
		o.Ceiling = r.Ceiling.String()
	}
	return o
}

func (h *ledgerService) ListResources(ctx context.Context, req *connect.Request[v1.ListResourcesRequest]) (*connect.Response[v1.ListResourcesResponse], error) {
	p, m := principalOf(ctx), req.Msg
	f := ledger.ResourceFilter{Project: m.GetProject(), Kind: ledger.ResourceKind(m.GetKind()), Provider: m.GetProvider(), OpenOnly: m.GetOpenOnly(),
		Department: func(d string) bool { return m.GetDepartment() == "" || d == m.GetDepartment() }}
	clock := h.s.ledger.Clock()
	cal := h.s.ledger.Calendar()
	today := calendar.DateOf(clock)
	out := &v1.ListResourcesResponse{AsOf: clock.Format(time.RFC3339)}
	for _, r := range h.s.ledger.Resources(f) {
		if !p.sees(h.s, r.Department, r.Provider) {
			continue
		}
		info := &v1.ResourceInfo{Resource: r.ID, Department: r.Department, Project: r.Project, Provider: r.Provider, Item: r.Item,
			Kind: string(r.Kind), Quantity: r.Quantity.String(), Opened: r.Opened.Format(time.RFC3339), Closed: r.Closed, QuotaClass: r.QuotaClass}
		if !r.Expires.IsZero() {
			info.Expires = r.Expires.Format(time.RFC3339)
			if !r.Closed {
				if last, err := cal.Deadline(ledger.ExpiryDay(r.Expires), ledger.ExtensionNoticeWorkingDays); err == nil {
					info.ExtensionDeadline = last.String()
					info.WorkingDaysLeft = int32(workingDaysBetween(cal, today, last))
				}
			}
		}
		out.Resources = append(out.Resources, info)
	}
	return connect.NewResponse(out), nil
}

// workingDaysBetween counts the working days after from up to and including to, negative
// when to is before from; a day of a year the calendar lacks stops the count.
func workingDaysBetween(cal *calendar.Calendar, from, to calendar.Date) int {
	sign, a, b := 1, from, to
	if to.Before(from) {
		sign, a, b = -1, to, from
	}
	n := 0
	for d := a.AddDays(1); !b.Before(d); d = d.AddDays(1) {
		ok, err := cal.IsWorkingDay(d)
		if err != nil {
			break
		}
		if ok {
			n++
		}
	}
	return sign * n
}

func (h *ledgerService) Directory(ctx context.Context, req *connect.Request[v1.DirectoryRequest]) (*connect.Response[v1.DirectoryResponse], error) {
	p := principalOf(ctx)
	role := p.account.Role
	out := &v1.DirectoryResponse{}
	for _, d := range h.s.ledger.Departments() {
		if role == ledger.RoleProvider || p.sees(h.s, d.ID, "") {
			out.Departments = append(out.Departments, &v1.Department{Department: d.ID, Name: d.Name, Parent: d.Parent, Funding: string(d.Funding)})
		}
	}
	for _, v := range h.s.ledger.Providers() {
		out.Providers = append(out.Providers, &v1.Provider{Provider: v.ID, Name: v.Name, ContractStart: v.ContractStart.String(), ContractEnd: v.ContractEnd.String()})
	}
	for _, it := range h.s.ledger.CatalogItems() {
		for _, pv := range it.Prices {
			if role == ledger.RoleProvider && pv.Provider != "" && pv.Provider != p.account.Provider {
				continue // another provider's negotiated price
			}
			out.Prices = append(out.Prices, &v1.CatalogPrice{Item: it.ID, Name: it.Name, Category: it.Category, Unit: it.Unit,
				Billing: string(it.Billing), QuotaClass: it.QuotaClass, Price: pv.Price.String(), Provider: pv.Provider,
				EffectiveFrom: pv.EffectiveFrom.String(), Proration: string(it.Proration)})
		}
	}
	if role != ledger.RoleDepartment {
		for _, ps := range h.s.ledger.EvaluationScores() {
			if role == ledger.RoleProvider && ps.Provider != p.account.Provider {
				continue
			}
			for _, e := range ps.Scores {
				out.Evaluations = append(out.Evaluations, &v1.Evaluation{Provider: ps.Provider, From: e.From.String(), To: e.To.String(), Score: e.Score.String()})
			}
		}
	}
	if role != ledger.RoleProvider {
		for _, pr := range h.s.ledger.Projects() {
			if !p.sees(h.s, pr.Department, "") {
				continue
			}
			for _, c := range slices.Sorted(maps.Keys(pr.Quotas)) {
				out.Projects = append(out.Projects, &v1.ProjectQuota{Project: pr.ID, Department: pr.Department, Name: pr.Name, QuotaClass: c, Quota: pr.Quotas[c].String()})
			}
		}
	}
	return connect.NewResponse(out), nil
}
