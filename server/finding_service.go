package server

import (
	"context"
	"slices"
	"time"

	"connectrpc.com/connect"

	"github.com/cloudledger/cloudledger/apimap"
	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/ledger"
)

// findingService is the findings of SPEC: Utilisation (issue 25). Who may take which step
// is in authz.go; the ledger checks the states.
type findingService struct{ s *Server }

func (h *findingService) show(f *ledger.Finding) *v1.Finding {
	name := ""
	if d, ok := h.s.ledger.Department(f.Department); ok {
		name = d.Name
	}
	var res *ledger.Resource
	if f.Kind != ledger.FindingZombie {
		if r, ok := h.s.ledger.Resource(f.Subject); ok {
			res = &r
		}
	}
	return apimap.Finding(f, name, res)
}

func (h *findingService) StepFinding(ctx context.Context, req *connect.Request[v1.StepFindingRequest]) (*connect.Response[v1.StepFindingResponse], error) {
	body, perr := apimap.FindingStep(req.Msg)
	if perr != nil {
		return nil, detailError(perr, 0)
	}
	if req.Msg.GetKey() == "" {
		return nil, errKeyRequired()
	}
	res, err := h.s.submitAsCaller(ctx, ledger.Command{Key: req.Msg.GetKey(), Body: body})
	if err != nil {
		return nil, err
	}
	it := res.Items[0]
	f, _ := h.s.ledger.Finding(body.ID)
	out := &v1.StepFindingResponse{Finding: h.show(&f), Seq: it.Seq, Duplicate: it.Duplicate, Unchanged: it.Unchanged}
	if body.Action == ledger.ActionEnforce {
		// The reclaim requests this enforcement raised: those its line item opened.
		for _, r := range h.s.ledger.ResourceRequests() {
			if r.Seq == it.Seq {
				out.Requests = append(out.Requests, r.ID)
			}
		}
	}
	return connect.NewResponse(out), nil
}

func (h *findingService) ListFindings(ctx context.Context, req *connect.Request[v1.ListFindingsRequest]) (*connect.Response[v1.ListFindingsResponse], error) {
	p := principalOf(ctx)
	m := req.Msg
	if st := m.GetState(); st != "" && !slices.Contains(ledger.FindingStates, ledger.FindingState(st)) {
		return nil, detailError(errcode.Errf(errcode.InvalidValue, "state", "state %q: want one of %v", st, ledger.FindingStates), 0)
	}
	if k := m.GetKind(); k != "" && !slices.Contains(ledger.FindingKinds, ledger.FindingKind(k)) {
		return nil, detailError(errcode.Errf(errcode.InvalidValue, "kind", "kind %q: want one of %v", k, ledger.FindingKinds), 0)
	}
	out := &v1.ListFindingsResponse{AsOf: h.s.ledger.Clock().Format(time.RFC3339)}
	for _, f := range h.s.ledger.Findings() {
		switch {
		case !p.seesFinding(h.s, &f),
			m.GetState() != "" && string(f.State) != m.GetState(),
			m.GetKind() != "" && string(f.Kind) != m.GetKind(),
			m.GetDepartment() != "" && !h.s.ledger.DepartmentWithin(f.Department, m.GetDepartment()),
			m.GetOpen() && !f.State.Open():
			continue
		}
		out.Findings = append(out.Findings, h.show(&f))
	}
	for _, d := range h.s.ledger.Suspended() {
		if p.sees(h.s, d, "") {
			out.Suspended = append(out.Suspended, d)
		}
	}
	return connect.NewResponse(out), nil
}

func (h *findingService) GetFinding(ctx context.Context, req *connect.Request[v1.GetFindingRequest]) (*connect.Response[v1.GetFindingResponse], error) {
	f, ok := h.s.ledger.Finding(req.Msg.GetId())
	if !ok {
		return nil, detailError(errcode.Errf(errcode.UnknownFinding, "id", "unknown finding %q", req.Msg.GetId()), 0)
	}
	return connect.NewResponse(&v1.GetFindingResponse{Finding: h.show(&f)}), nil
}

func (h *findingService) ListUtilisationRules(ctx context.Context, req *connect.Request[v1.ListUtilisationRulesRequest]) (*connect.Response[v1.ListUtilisationRulesResponse], error) {
	rules, from, through := h.s.ledger.UtilisationRulesList()
	out := &v1.ListUtilisationRulesResponse{}
	for _, r := range rules {
		out.Rules = append(out.Rules, apimap.UtilisationRulesOf(r))
	}
	if !from.IsZero() {
		out.MonitoringFrom = from.String()
	}
	if !through.IsZero() {
		out.EvaluatedThrough = through.String()
	}
	return connect.NewResponse(out), nil
}

func (h *findingService) ListProjectSeasons(ctx context.Context, req *connect.Request[v1.ListProjectSeasonsRequest]) (*connect.Response[v1.ListProjectSeasonsResponse], error) {
	p := principalOf(ctx)
	out := &v1.ListProjectSeasonsResponse{}
	for _, ps := range h.s.ledger.ProjectSeasonsList() {
		if req.Msg.GetProject() != "" && ps.Project != req.Msg.GetProject() {
			continue
		}
		prj, ok := h.s.ledger.Project(ps.Project)
		if !ok || !p.sees(h.s, prj.Department, "") {
			continue
		}
		out.Projects = append(out.Projects, apimap.ProjectSeasonsOf(ps.Project, ps.Seasons))
	}
	return connect.NewResponse(out), nil
}

// seesFinding: a department its own (and its children's) findings, a provider those of the
// resources it runs (SPEC: every user sees findings in its scope); the readers every one.
func (p *principal) seesFinding(s *Server, f *ledger.Finding) bool {
	return p.sees(s, f.Department, f.Provider)
}

// findingRoles read findings (SPEC: Users — all of them see findings, each in its scope):
// the authority reviews, the department reads and explains its own, a provider reads those
// of its resources, the supervisor, finance and the auditor read. Security does not (三员分立).
var findingRoles = []ledger.Role{ledger.RoleAuthority, ledger.RoleSupervisor, ledger.RoleFinance, ledger.RoleAuditor, ledger.RoleDepartment, ledger.RoleProvider}

// stepRole is who takes each step: the department explains; the authority does the rest.
func stepRole(action string) ledger.Role {
	if action == ledger.ActionExplain {
		return ledger.RoleDepartment
	}
	return ledger.RoleAuthority
}
