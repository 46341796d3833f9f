package server

import (
	"context"
	"time"

	"connectrpc.com/connect"

	"github.com/cloudledger/cloudledger/apimap"
	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/ledger"
	"github.com/cloudledger/cloudledger/settlement"
)

// evaluationService is SPEC's Evaluation (issue 26). Who may call what is in authz.go; what
// each role reads of a quarter is here: a provider its own scores with the mean rating and
// never who rated; a department its own answers (and the departments below it); the
// authority, the supervisor, finance and the auditors everything.
type evaluationService struct{ s *Server }

func (h *evaluationService) Survey(ctx context.Context, req *connect.Request[v1.SurveyRequest]) (*connect.Response[v1.SurveyResponse], error) {
	body, perr := apimap.SurveyAnswer(req.Msg)
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
	return connect.NewResponse(&v1.SurveyResponse{Seq: it.Seq, Unchanged: it.Unchanged}), nil
}

func (h *evaluationService) GetQuarter(ctx context.Context, req *connect.Request[v1.GetQuarterRequest]) (*connect.Response[v1.GetQuarterResponse], error) {
	q, perr := apimap.ParseQuarter("quarter", req.Msg.GetQuarter())
	if perr != nil {
		return nil, detailError(perr, 0)
	}
	p := principalOf(ctx)
	v := h.s.ledger.EvaluationQuarter(q)
	out := &v1.GetQuarterResponse{Quarter: q.String(), First: v.First.String(), Last: v.Last.String(), SurveyOpen: v.SurveyOpen,
		Published: v.Published != nil, Scheme: apimap.EvaluationSchemeOf(v.Scheme), StateIndex: h.s.ledger.AppliedIndex()}
	if !v.SurveyUntil.IsZero() {
		out.SurveyUntil = v.SurveyUntil.String()
	}
	if v.Published != nil {
		out.PublishedAt, out.Flagged = v.Published.At.Format(time.RFC3339), v.Published.Flagged
	}
	role := p.account.Role
	only := req.Msg.GetProvider() // authz.go refused a provider's account naming another
	// The scores entered by hand on the quarter's days win there over the published one
	// (rating's multTable): the report says which figure came from where.
	entered := map[string][]*v1.EnteredScore{}
	for _, ps := range h.s.ledger.EvaluationScores() {
		for _, e := range ps.Scores {
			if e.Quarter == "" && !e.To.Before(v.First) && !e.From.After(v.Last) {
				entered[ps.Provider] = append(entered[ps.Provider], &v1.EnteredScore{From: e.From.String(), To: e.To.String(), Score: e.Score.String(), Reason: e.Reason})
			}
		}
	}
	for _, pq := range v.Providers {
		if role == ledger.RoleDepartment || role == ledger.RoleProvider && pq.Provider != p.account.Provider || only != "" && pq.Provider != only {
			continue
		}
		row := apimap.ProviderQuarterOf(pq)
		row.Entered = entered[pq.Provider]
		out.Providers = append(out.Providers, row)
	}
	if role != ledger.RoleDepartment && role != ledger.RoleProvider {
		out.Unscored = v.Unscored
	}
	if role == ledger.RoleProvider {
		out.Flagged = nil // another provider's flag is not this one's to read
	}
	for _, a := range v.Answers {
		// Who rated is never a provider's to know (SPEC: Evaluation).
		if role == ledger.RoleProvider || role == ledger.RoleDepartment && !p.sees(h.s, a.Department, "") || only != "" && a.Provider != only {
			continue
		}
		out.Answers = append(out.Answers, &v1.SurveyAnswer{Provider: a.Provider, Department: a.Department, Score: a.Score.String(), At: a.At.Format(time.RFC3339)})
	}
	// The department efficiency table (SH 33): every department ranked in each class; a
	// department sees its own rows (and those below it) with their ranks, a provider none.
	if role != ledger.RoleProvider {
		view, err := h.s.ledger.View(ledger.ViewFilter{})
		if err != nil {
			return nil, toConnect(err)
		}
		for _, e := range settlement.DepartmentEfficiencies(view, settlement.Quarter{Year: q.Year, Q: q.Q}, h.s.ledger.UtilisationRows) {
			if role == ledger.RoleDepartment && !p.sees(h.s, e.Department, "") {
				continue
			}
			out.Efficiency = append(out.Efficiency, &v1.DepartmentEfficiency{Department: e.Department, QuotaClass: e.QuotaClass,
				EfficiencyPct: e.Efficiency.StringFixed(2), ResourceDays: uint32(e.ResourceDays), Rank: int32(e.Rank), Ranked: int32(e.Ranked)})
		}
	}
	return connect.NewResponse(out), nil
}

func (h *evaluationService) GetYear(ctx context.Context, req *connect.Request[v1.GetYearRequest]) (*connect.Response[v1.GetYearResponse], error) {
	y := int(req.Msg.GetYear())
	if y < 2000 || y > 2200 {
		return nil, detailError(errcode.Errf(errcode.InvalidValue, "year", "a settlement year 2000–2200, not %d", y), 0)
	}
	p := principalOf(ctx)
	out := &v1.GetYearResponse{Year: int32(y)}
	for _, s := range h.s.ledger.YearlyScores(y) {
		if p.account.Role == ledger.RoleProvider && s.Provider != p.account.Provider {
			continue
		}
		out.Scores = append(out.Scores, &v1.YearlyScore{Provider: s.Provider, Score: s.Score.StringFixed(2), Quarters: int32(s.Quarters),
			PassScore: s.Pass.String(), BelowPass: s.Below, Flagged: s.Flagged})
	}
	return connect.NewResponse(out), nil
}

func (h *evaluationService) ListEvaluationSchemes(ctx context.Context, _ *connect.Request[v1.ListEvaluationSchemesRequest]) (*connect.Response[v1.ListEvaluationSchemesResponse], error) {
	out := &v1.ListEvaluationSchemesResponse{InForce: apimap.EvaluationSchemeOf(h.s.ledger.EvaluationSchemeOn(calendar.DateOf(h.s.ledger.Clock())))}
	for _, s := range h.s.ledger.EvaluationSchemes() {
		out.Schemes = append(out.Schemes, apimap.EvaluationSchemeOf(s))
	}
	return connect.NewResponse(out), nil
}
