package server

import (
	"fmt"
	"github.com/cloudledger/cloudledger/apimap"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/ledger"
)

// Authorization in one place (SPEC: Access). Every procedure of the API, and every HTTP
// endpoint with data, declares who may call it and how its target is scoped; the
// interceptor (auth.go) refuses a procedure with no rule. Department and provider accounts
// are scoped: a refusal of another's data is permission_denied, and lists are filtered to
// the caller's scope by the handlers through principal.sees.
type rule struct {
	roles []ledger.Role
	// public: no credential needed (sign-in); the call is still recorded.
	public bool
	// check refuses what the caller's role or scope excludes beyond the role list: the
	// department or provider a request names, the commands of a Submit, a settlement action.
	check func(s *Server, p *principal, msg proto.Message) *errcode.Error
	// target names what the call is about, for the access trail.
	target func(msg proto.Message) string
	// placement says where the call runs: a read on the leader (linearizable) unless the
	// caller asks for a stale one, a write always on the leader, a local call where it lands.
	placement placement
}

type placement uint8

const (
	read  placement = iota // on the leader, or locally with Cloudledger-Stale
	write                  // on the leader (a follower forwards it)
	local                  // on the node addressed (its own status, the caller's identity)
)

var (
	everyone      = ledger.Roles
	readers       = []ledger.Role{ledger.RoleAuthority, ledger.RoleSupervisor, ledger.RoleFinance, ledger.RoleAuditor}
	chargeReaders = append(slices.Clone(readers), ledger.RoleProvider, ledger.RoleDepartment)
	trailReaders  = []ledger.Role{ledger.RoleAuditor, ledger.RoleSecurity}
	security      = []ledger.Role{ledger.RoleSecurity}
	nobody        = []ledger.Role{} // procedures no account may call (membership)
	// securityFirst is everyone, the security role first: a credential of several accounts
	// (the bootstrap token) acts as its security account here.
	securityFirst = append([]ledger.Role{ledger.RoleSecurity}, slices.DeleteFunc(slices.Clone(ledger.Roles), func(r ledger.Role) bool { return r == ledger.RoleSecurity })...)
	authority     = []ledger.Role{ledger.RoleAuthority}
)

func roles(r ...ledger.Role) []ledger.Role { return r }

// rules is the table; the README's table of permissions is tested against it.
var rules = map[string]rule{
	cloudledgerv1connect.LedgerServiceSubmitProcedure: {placement: write, roles: roles(ledger.RoleAuthority, ledger.RoleSupervisor, ledger.RoleProvider),
		check: func(s *Server, p *principal, m proto.Message) *errcode.Error {
			return checkCommands(s, p, m.(*v1.SubmitRequest).GetCommands())
		}},
	cloudledgerv1connect.LedgerServiceValidateImportProcedure: {roles: roles(ledger.RoleAuthority, ledger.RoleProvider),
		check: func(s *Server, p *principal, m proto.Message) *errcode.Error {
			return checkCommands(s, p, m.(*v1.ValidateImportRequest).GetCommands())
		}},
	cloudledgerv1connect.LedgerServiceQuotaOverrunsProcedure: {roles: roles(ledger.RoleAuthority, ledger.RoleSupervisor, ledger.RoleAuditor, ledger.RoleDepartment),
		check: func(s *Server, p *principal, m proto.Message) *errcode.Error {
			return p.mayName(s, m.(*v1.QuotaOverrunsRequest).GetDepartment(), "", false)
		},
		target: func(m proto.Message) string {
			return targetOf("department", m.(*v1.QuotaOverrunsRequest).GetDepartment())
		}},
	cloudledgerv1connect.LedgerServiceVerifyProcedure:           {roles: roles(ledger.RoleAuthority, ledger.RoleAuditor)},
	cloudledgerv1connect.LedgerServiceListLineItemsProcedure:    {roles: roles(ledger.RoleAuthority, ledger.RoleAuditor, ledger.RoleDepartment, ledger.RoleProvider)},
	cloudledgerv1connect.LedgerServiceCalendarDeadlineProcedure: {roles: everyone},
	cloudledgerv1connect.LedgerServiceCalendarDueProcedure:      {roles: everyone},
	cloudledgerv1connect.LedgerServiceBandTablesProcedure:       {roles: everyone},
	cloudledgerv1connect.LedgerServiceGetResourceProcedure: {roles: chargeReaders,
		check: func(s *Server, p *principal, m proto.Message) *errcode.Error {
			r, ok := s.ledger.Resource(m.(*v1.GetResourceRequest).GetResource())
			if ok && !p.sees(s, r.Department, r.Provider) {
				return denied(p, "resource %s of department %s, provider %s", r.ID, r.Department, r.Provider)
			}
			return nil
		},
		target: func(m proto.Message) string { return "resource=" + m.(*v1.GetResourceRequest).GetResource() }},
	cloudledgerv1connect.LedgerServiceChargesProcedure: {roles: chargeReaders,
		check: func(s *Server, p *principal, m proto.Message) *errcode.Error {
			r := m.(*v1.ChargesRequest)
			return p.mayName(s, r.GetDepartment(), r.GetProvider(), false)
		},
		target: func(m proto.Message) string {
			r := m.(*v1.ChargesRequest)
			return targetOf("department", r.GetDepartment(), "provider", r.GetProvider(), "from", r.GetFrom(), "to", r.GetTo())
		}},
	cloudledgerv1connect.LedgerServiceListApprovalsProcedure: {roles: roles(ledger.RoleAuthority, ledger.RoleSupervisor, ledger.RoleAuditor, ledger.RoleDepartment)},
	cloudledgerv1connect.LedgerServiceSettleProcedure: {placement: write, roles: roles(ledger.RoleAuthority, ledger.RoleFinance),
		check: func(s *Server, p *principal, m proto.Message) *errcode.Error {
			// SPEC: the authority runs, audits and submits; the finance bureau records payment.
			want := ledger.RoleAuthority
			switch m.(*v1.SettleRequest).GetAction() {
			case "pay":
				want = ledger.RoleFinance
			case "run", "audit", "submit":
			default:
				return nil // not an action: the handler says so to either role
			}
			if p.account.Role != want {
				return denied(p, "settle %s is for the %s role", m.(*v1.SettleRequest).GetAction(), want)
			}
			return nil
		},
		target: func(m proto.Message) string {
			r := m.(*v1.SettleRequest)
			return targetOf("year", fmt.Sprint(r.GetYear()), "action", r.GetAction())
		}},
	cloudledgerv1connect.LedgerServiceSettleStatusProcedure: {roles: readers,
		target: func(m proto.Message) string {
			return targetOf("year", fmt.Sprint(m.(*v1.SettleStatusRequest).GetYear()))
		}},
	cloudledgerv1connect.LedgerServiceBudgetExportProcedure: {roles: roles(ledger.RoleAuthority, ledger.RoleFinance, ledger.RoleAuditor),
		target: func(m proto.Message) string {
			r := m.(*v1.BudgetExportRequest)
			return targetOf("year", fmt.Sprint(r.GetYear()), "format", r.GetFormat())
		}},
	cloudledgerv1connect.LedgerServiceStatementProcedure: {roles: chargeReaders,
		check: func(s *Server, p *principal, m proto.Message) *errcode.Error {
			r := m.(*v1.StatementRequest)
			return p.mayName(s, r.GetDepartment(), r.GetProvider(), true)
		},
		target: func(m proto.Message) string {
			r := m.(*v1.StatementRequest)
			return targetOf("department", r.GetDepartment(), "provider", r.GetProvider(), "month", r.GetMonth())
		}},
	cloudledgerv1connect.LedgerServiceInvoiceReconcileProcedure: {placement: write, roles: roles(ledger.RoleAuthority, ledger.RoleProvider),
		check: func(s *Server, p *principal, m proto.Message) *errcode.Error {
			return p.mayName(s, "", m.(*v1.InvoiceReconcileRequest).GetProvider(), true)
		},
		target: func(m proto.Message) string {
			r := m.(*v1.InvoiceReconcileRequest)
			return targetOf("provider", r.GetProvider(), "month", r.GetMonth())
		}},
	cloudledgerv1connect.LedgerServiceInvoiceHistoryProcedure: {roles: roles(ledger.RoleAuthority, ledger.RoleFinance, ledger.RoleAuditor, ledger.RoleProvider),
		check: func(s *Server, p *principal, m proto.Message) *errcode.Error {
			return p.mayName(s, "", m.(*v1.InvoiceHistoryRequest).GetProvider(), true)
		},
		target: func(m proto.Message) string { return targetOf("provider", m.(*v1.InvoiceHistoryRequest).GetProvider()) }},

	// The console's read views, scoped in the answer (directory.go).
	cloudledgerv1connect.LedgerServiceQuotaUseProcedure: {roles: roles(ledger.RoleAuthority, ledger.RoleSupervisor, ledger.RoleFinance, ledger.RoleAuditor, ledger.RoleDepartment),
		check: func(s *Server, p *principal, m proto.Message) *errcode.Error {
			return p.mayName(s, m.(*v1.QuotaUseRequest).GetDepartment(), "", false)
		},
		target: func(m proto.Message) string { return targetOf("department", m.(*v1.QuotaUseRequest).GetDepartment()) }},
	cloudledgerv1connect.LedgerServiceUtilisationProcedure: {roles: chargeReaders,
		check: func(s *Server, p *principal, m proto.Message) *errcode.Error {
			r := m.(*v1.UtilisationRequest)
			return p.mayName(s, r.GetDepartment(), r.GetProvider(), false)
		},
		target: func(m proto.Message) string {
			r := m.(*v1.UtilisationRequest)
			return targetOf("resource", r.GetResource(), "department", r.GetDepartment(), "provider", r.GetProvider())
		}},
	cloudledgerv1connect.LedgerServiceEfficiencyProcedure: {roles: roles(ledger.RoleAuthority, ledger.RoleSupervisor, ledger.RoleFinance, ledger.RoleDepartment, ledger.RoleAuditor),
		check: func(s *Server, p *principal, m proto.Message) *errcode.Error {
			return p.mayName(s, m.(*v1.EfficiencyRequest).GetDepartment(), "", false)
		},
		target: func(m proto.Message) string {
			r := m.(*v1.EfficiencyRequest)
			return targetOf("department", r.GetDepartment(), "quarter", r.GetQuarter())
		}},
	cloudledgerv1connect.LedgerServiceListResourcesProcedure: {roles: chargeReaders,
		check: func(s *Server, p *principal, m proto.Message) *errcode.Error {
			r := m.(*v1.ListResourcesRequest)
			return p.mayName(s, r.GetDepartment(), r.GetProvider(), false)
		},
		target: func(m proto.Message) string {
			r := m.(*v1.ListResourcesRequest)
			return targetOf("department", r.GetDepartment(), "provider", r.GetProvider(), "project", r.GetProject())
		}},
	cloudledgerv1connect.LedgerServiceDirectoryProcedure: {roles: chargeReaders},

	cloudledgerv1connect.ClusterServiceStatusProcedure: {placement: local, roles: roles(ledger.RoleAuthority, ledger.RoleAuditor)},
	// Membership is not a business role (SPEC: Access): no account adds or removes a member
	// (refused where the call lands, and recorded); a joining node and the operator's
	// removal present a ticket made on the host of the node they call (membership.go).
	cloudledgerv1connect.ClusterServiceAddNodeProcedure:    {placement: local, roles: nobody, target: func(m proto.Message) string { return "node=" + m.(*v1.AddNodeRequest).GetNodeId() }},
	cloudledgerv1connect.ClusterServiceRemoveNodeProcedure: {placement: local, roles: nobody, target: func(m proto.Message) string { return "node=" + m.(*v1.RemoveNodeRequest).GetNodeId() }},
	cloudledgerv1connect.ClusterServiceJoinClusterProcedure: {placement: local, public: true, target: func(m proto.Message) string {
		r := m.(*v1.JoinClusterRequest)
		return targetOf("node", r.GetNodeId(), "step", r.GetStep())
	}},
	cloudledgerv1connect.ClusterServiceRemoveMemberProcedure: {placement: local, public: true, target: func(m proto.Message) string {
		return "node=" + m.(*v1.RemoveMemberRequest).GetNodeId()
	}},

	// 三员分立 (SPEC: Access): security manages accounts; the ledger decides who confirms
	// which (an authority, a second security officer or an auditor) and refuses the rest.
	cloudledgerv1connect.AccountServiceAddAccountProcedure: {placement: write, roles: security, target: func(m proto.Message) string {
		r := m.(*v1.AddAccountRequest)
		return targetOf("account", r.GetId(), "role", r.GetRole())
	}},
	cloudledgerv1connect.AccountServiceConfirmAccountProcedure: {placement: write, roles: roles(ledger.RoleAuthority, ledger.RoleSecurity, ledger.RoleAuditor),
		target: func(m proto.Message) string { return "account=" + m.(*v1.ConfirmAccountRequest).GetId() }},
	cloudledgerv1connect.AccountServiceResetAccountProcedure: {placement: write, roles: security,
		target: func(m proto.Message) string { return "account=" + m.(*v1.ResetAccountRequest).GetId() }},
	cloudledgerv1connect.AccountServiceActivateProcedure:       {placement: write, public: true},
	cloudledgerv1connect.AccountServiceChangePasswordProcedure: {placement: write, roles: everyone},
	// A person's own second factor, signed in (account_service.go refuses a token).
	cloudledgerv1connect.AccountServiceChangeTOTPProcedure: {placement: write, roles: everyone},
	// The list holds no secret: those who confirm accounts (authority, auditor) read it too.
	cloudledgerv1connect.AccountServiceListAccountsProcedure: {roles: roles(ledger.RoleSecurity, ledger.RoleAuthority, ledger.RoleAuditor)},
	// The names of the departments and providers, nothing of their figures: security scopes
	// accounts with them (the other roles read the Directory).
	cloudledgerv1connect.AccountServiceAccountScopesProcedure: {roles: security},
	cloudledgerv1connect.AccountServiceSetAccountStatusProcedure: {placement: write, roles: security, target: func(m proto.Message) string {
		return "account=" + m.(*v1.SetAccountStatusRequest).GetId()
	}},
	// A person issues and revokes their own tokens; security a program account's (and
	// revokes anyone's).
	cloudledgerv1connect.AccountServiceIssueTokenProcedure: {placement: write, roles: securityFirst,
		check: func(_ *Server, p *principal, m proto.Message) *errcode.Error {
			return ownOrSecurity(p, m.(*v1.IssueTokenRequest).GetAccount(), "a program account's tokens")
		},
		target: func(m proto.Message) string { return "account=" + m.(*v1.IssueTokenRequest).GetAccount() }},
	cloudledgerv1connect.AccountServiceRevokeTokenProcedure: {placement: write, roles: securityFirst,
		check: func(_ *Server, p *principal, m proto.Message) *errcode.Error {
			return ownOrSecurity(p, m.(*v1.RevokeTokenRequest).GetAccount(), "another account's tokens")
		},
		target: func(m proto.Message) string { return "account=" + m.(*v1.RevokeTokenRequest).GetAccount() }},
	cloudledgerv1connect.AccountServiceSetTOTPRolesProcedure:      {placement: write, roles: security},
	cloudledgerv1connect.AccountServiceSignInProcedure:            {placement: write, public: true},
	cloudledgerv1connect.AccountServiceSignOutProcedure:           {placement: write, roles: everyone},
	cloudledgerv1connect.AccountServiceWhoAmIProcedure:            {placement: local, roles: everyone},
	cloudledgerv1connect.AccountServiceAccessLogProcedure:         {roles: trailReaders},
	cloudledgerv1connect.AccountServiceVerifyAccessTrailProcedure: {roles: trailReaders},

	// Resource requests (SH 19–24): the department submits and may cancel its own, the
	// supervisor decides its cases, the authority reviews, the provider fulfils its own.
	cloudledgerv1connect.RequestServiceSubmitRequestProcedure: {placement: write, roles: roles(ledger.RoleAuthority, ledger.RoleDepartment),
		check: func(s *Server, p *principal, m proto.Message) *errcode.Error {
			return p.mayName(s, m.(*v1.SubmitRequestRequest).GetDepartment(), "", false)
		},
		target: func(m proto.Message) string {
			r := m.(*v1.SubmitRequestRequest)
			return targetOf("department", r.GetDepartment(), "kind", r.GetKind())
		}},
	cloudledgerv1connect.RequestServiceDecideRequestProcedure: {placement: write, roles: roles(ledger.RoleAuthority, ledger.RoleSupervisor, ledger.RoleDepartment),
		check: func(s *Server, p *principal, m proto.Message) *errcode.Error {
			r := m.(*v1.DecideRequestRequest)
			req, ok := s.ledger.ResourceRequest(r.GetId())
			if ok && !p.seesRequest(s, &req) {
				return denied(p, "request %s of department %s", req.ID, req.Department)
			}
			switch {
			case p.account.Role == ledger.RoleDepartment && r.GetDecision() != ledger.DecisionCancel && r.GetDecision() != ledger.DecisionConfirm && r.GetDecision() != "":
				return denied(p, "a department cancels its requests or confirms a test resource verified; the authority reviews them")
			case p.account.Role != ledger.RoleDepartment && r.GetDecision() == ledger.DecisionConfirm:
				return denied(p, "the department confirms its test resource verified (SH 19)")
			case p.account.Role == ledger.RoleSupervisor && r.GetDecision() == ledger.DecisionCancel:
				return denied(p, "the supervisor approves or rejects")
			case p.account.Role != ledger.RoleAuthority && r.GetDecision() == ledger.DecisionCancel && ok && req.Finding != "":
				return denied(p, "request %s was raised by the enforcement of finding %s: only the authority withdraws it (SH 25)", req.ID, req.Finding)
			case p.account.Role == ledger.RoleSupervisor && ok && !req.NeedsSupervisor:
				return denied(p, "request %s is not a supervisor's case (SH 20, 23, 24)", req.ID)
			}
			return nil
		},
		target: func(m proto.Message) string {
			r := m.(*v1.DecideRequestRequest)
			return targetOf("request", r.GetId(), "decision", r.GetDecision())
		}},
	cloudledgerv1connect.RequestServiceFulfilRequestProcedure: {placement: write, roles: roles(ledger.RoleAuthority, ledger.RoleProvider),
		check: func(s *Server, p *principal, m proto.Message) *errcode.Error {
			if req, ok := s.ledger.ResourceRequest(m.(*v1.FulfilRequestRequest).GetId()); ok && !p.seesRequest(s, &req) {
				return denied(p, "request %s is for provider %s", req.ID, req.Provider)
			}
			return nil
		},
		target: func(m proto.Message) string { return "request=" + m.(*v1.FulfilRequestRequest).GetId() }},
	cloudledgerv1connect.RequestServiceGetRequestProcedure: {roles: chargeReaders,
		check: func(s *Server, p *principal, m proto.Message) *errcode.Error {
			if req, ok := s.ledger.ResourceRequest(m.(*v1.GetRequestRequest).GetId()); ok && !p.seesRequest(s, &req) {
				return denied(p, "request %s of department %s, provider %s", req.ID, req.Department, req.Provider)
			}
			return nil
		},
		target: func(m proto.Message) string { return "request=" + m.(*v1.GetRequestRequest).GetId() }},
	cloudledgerv1connect.RequestServiceListRequestsProcedure: {roles: chargeReaders},
	cloudledgerv1connect.RequestServiceSLAReportProcedure: {roles: roles(ledger.RoleAuthority, ledger.RoleSupervisor, ledger.RoleAuditor, ledger.RoleProvider),
		target: func(m proto.Message) string { return "month=" + m.(*v1.SLAReportRequest).GetMonth() }},
	// Notices: each party reads its own (filtered in the answer); the authority replays a dead one.
	cloudledgerv1connect.RequestServiceListNoticesProcedure: {roles: roles(ledger.RoleAuthority, ledger.RoleSupervisor, ledger.RoleAuditor, ledger.RoleSecurity, ledger.RoleProvider, ledger.RoleDepartment)},
	cloudledgerv1connect.RequestServiceReplayNoticeProcedure: {placement: write, roles: authority,
		target: func(m proto.Message) string { return "notice=" + m.(*v1.ReplayNoticeRequest).GetId() }},
	// Deadline tables: the authority loads its city's; everyone with requests reads them.
	cloudledgerv1connect.RequestServiceSetDeadlineTableProcedure: {placement: write, roles: authority,
		target: func(m proto.Message) string {
			return "effective_from=" + m.(*v1.SetDeadlineTableRequest).GetTable().GetEffectiveFrom()
		}},
	cloudledgerv1connect.RequestServiceListDeadlineTablesProcedure: {roles: chargeReaders},

	// Findings (SPEC: Utilisation, Lifecycle; SH 25): the authority reviews and enforces, the
	// department explains its own; the supervisor and the auditor read.
	cloudledgerv1connect.FindingServiceStepFindingProcedure: {placement: write, roles: roles(ledger.RoleAuthority, ledger.RoleDepartment),
		check: func(s *Server, p *principal, m proto.Message) *errcode.Error {
			// Checked on the command the handler will write (its id and action as the ledger
			// reads them), never on the request's raw text.
			step, perr := apimap.FindingStep(m.(*v1.StepFindingRequest))
			if perr != nil {
				return nil // the handler refuses it, and nothing is written
			}
			if f, ok := s.ledger.Finding(step.ID); ok && !p.seesFinding(s, &f) {
				return denied(p, "finding %s of department %s", f.ID, f.Department)
			}
			if want := stepRole(step.Action); p.account.Role != want {
				return denied(p, "%s is the %s's step", step.Action, want)
			}
			return nil
		},
		target: func(m proto.Message) string {
			r := m.(*v1.StepFindingRequest)
			return targetOf("finding", r.GetId(), "action", r.GetAction())
		}},
	cloudledgerv1connect.FindingServiceListFindingsProcedure: {roles: findingRoles,
		check: func(s *Server, p *principal, m proto.Message) *errcode.Error {
			return p.mayName(s, m.(*v1.ListFindingsRequest).GetDepartment(), "", false)
		},
		target: func(m proto.Message) string {
			return targetOf("department", m.(*v1.ListFindingsRequest).GetDepartment())
		}},
	cloudledgerv1connect.FindingServiceGetFindingProcedure: {roles: findingRoles,
		check: func(s *Server, p *principal, m proto.Message) *errcode.Error {
			if f, ok := s.ledger.Finding(m.(*v1.GetFindingRequest).GetId()); ok && !p.seesFinding(s, &f) {
				return denied(p, "finding %s of department %s", f.ID, f.Department)
			}
			return nil
		},
		target: func(m proto.Message) string { return "finding=" + m.(*v1.GetFindingRequest).GetId() }},
	cloudledgerv1connect.FindingServiceListUtilisationRulesProcedure: {roles: findingRoles},
	cloudledgerv1connect.FindingServiceListProjectSeasonsProcedure: {roles: findingRoles,
		check: func(s *Server, p *principal, m proto.Message) *errcode.Error {
			if prj, ok := s.ledger.Project(m.(*v1.ListProjectSeasonsRequest).GetProject()); ok && !p.sees(s, prj.Department, "") {
				return denied(p, "project %s of department %s", prj.ID, prj.Department)
			}
			return nil
		},
		target: func(m proto.Message) string {
			return targetOf("project", m.(*v1.ListProjectSeasonsRequest).GetProject())
		}},

	// Evaluation (SPEC: Evaluation): a department answers the survey for itself or a
	// department below it; every role but security reads a quarter and a year, each in its
	// scope (evaluation_service.go: a provider its own scores, never who rated; a department
	// its own answers).
	cloudledgerv1connect.EvaluationServiceSurveyProcedure: {placement: write, roles: roles(ledger.RoleDepartment),
		check: func(s *Server, p *principal, m proto.Message) *errcode.Error {
			return p.mayName(s, m.(*v1.SurveyRequest).GetDepartment(), "", false)
		},
		target: func(m proto.Message) string {
			r := m.(*v1.SurveyRequest)
			return targetOf("quarter", r.GetQuarter(), "department", r.GetDepartment(), "provider", r.GetProvider())
		}},
	cloudledgerv1connect.EvaluationServiceGetQuarterProcedure: {roles: chargeReaders,
		check: func(s *Server, p *principal, m proto.Message) *errcode.Error {
			return p.mayName(s, "", m.(*v1.GetQuarterRequest).GetProvider(), false)
		},
		target: func(m proto.Message) string {
			r := m.(*v1.GetQuarterRequest)
			return targetOf("quarter", r.GetQuarter(), "provider", r.GetProvider())
		}},
	cloudledgerv1connect.EvaluationServiceGetYearProcedure: {roles: roles(ledger.RoleAuthority, ledger.RoleSupervisor, ledger.RoleFinance, ledger.RoleAuditor, ledger.RoleProvider),
		target: func(m proto.Message) string { return fmt.Sprintf("year=%d", m.(*v1.GetYearRequest).GetYear()) }},
	cloudledgerv1connect.EvaluationServiceListEvaluationSchemesProcedure: {roles: chargeReaders},

	// HTTP endpoints with data (their paths are the procedures of the trail).
	pathKafka:     {roles: roles(ledger.RoleAuthority, ledger.RoleAuditor)},
	pathKafkaSkip: {roles: authority},
	pathMetrics:   {roles: roles(ledger.RoleAuthority, ledger.RoleAuditor)},
	pathDebug:     {roles: roles(ledger.RoleAuthority, ledger.RoleAuditor)},
	pathBackup:    {roles: roles(ledger.RoleAuthority, ledger.RoleAuditor)},
}

const (
	pathKafka     = "/kafka"
	pathKafkaSkip = "/kafka/skip"
	pathMetrics   = "/metrics"
	pathDebug     = "/debug/"
	pathBackup    = "/v1/backup"
)

// checkCommands authorizes each command of a Submit by its catalog row (apimap.Catalog:
// the roles that may send it) and the caller's scope: a provider sends events of its own
// provider only and fulfils only the requests it is to fulfil (SPEC: Access).
func checkCommands(s *Server, p *principal, cmds []*v1.Command) *errcode.Error {
	for i, c := range cmds {
		k := apimap.KindOf(c)
		if k == nil {
			continue // the handler refuses it as malformed
		}
		if !slices.Contains(k.Roles(), p.account.Role) {
			return denied(p, "command %d: %s is for the %s role", i, k.Field(), joinRoles(k.Roles()))
		}
		if p.account.Role != ledger.RoleProvider {
			continue
		}
		sc := k.Scope(c)
		if k.Type() == ledger.TypeEvent && sc.Provider != p.account.Provider {
			return denied(p, "command %d: an event of provider %q; this account imports for %q only", i, sc.Provider, p.account.Provider)
		}
		if sc.Request != "" {
			if r, ok := s.ledger.ResourceRequest(sc.Request); ok && !p.seesRequest(s, &r) {
				return denied(p, "command %d: request %s is another provider's", i, sc.Request)
			}
		}
	}
	return nil
}

// ownOrSecurity lets an account act on its own credentials, and only security on another's.
func ownOrSecurity(p *principal, account, what string) *errcode.Error {
	if account == "" || account == p.account.ID || p.account.Role == ledger.RoleSecurity {
		return nil
	}
	return denied(p, "%s are for the security role", what)
}

// principal is the account a call acts as.
type principal struct {
	account ledger.Account
	session *sessionClaims // nil for a token
}

// sees reports whether the caller may see data of department d / provider v. An empty
// argument does not restrict.
func (p *principal) sees(s *Server, d, v string) bool {
	switch p.account.Role {
	case ledger.RoleDepartment:
		return d != "" && s.ledger.DepartmentWithin(d, p.account.Department)
	case ledger.RoleProvider:
		return v != "" && v == p.account.Provider
	}
	return true
}

// seesRequest: a department its own (and its children's) requests, a provider those it is
// to fulfil.
func (p *principal) seesRequest(s *Server, r *ledger.ResourceRequest) bool {
	return p.sees(s, r.Department, r.Provider)
}

// seesNotice: a department its own (and below), a provider its own, the supervisor the
// supervisor's; the authority, the auditor and security every one.
func (p *principal) seesNotice(s *Server, n *ledger.Notice) bool {
	switch p.account.Role {
	case ledger.RoleDepartment:
		return n.Party == ledger.NoticeToDepartment && s.ledger.DepartmentWithin(n.Recipient, p.account.Department)
	case ledger.RoleProvider:
		return n.Party == ledger.NoticeToProvider && n.Recipient == p.account.Provider
	case ledger.RoleSupervisor:
		return n.Party == ledger.NoticeToSupervisor
	}
	return true
}

// scopeFunc is sees as a function that takes no lock of the ledger, for code that runs
// while the ledger is locked (a scan of line items): the departments of a department
// account's scope are read once, before.
func (p *principal) scopeFunc(s *Server) func(d, v string) bool {
	switch p.account.Role {
	case ledger.RoleDepartment:
		in := map[string]bool{}
		for _, d := range s.ledger.Departments() {
			if s.ledger.DepartmentWithin(d.ID, p.account.Department) {
				in[d.ID] = true
			}
		}
		return func(d, _ string) bool { return in[d] }
	case ledger.RoleProvider:
		prov := p.account.Provider
		return func(_, v string) bool { return v != "" && v == prov }
	}
	return func(string, string) bool { return true }
}

// tenant is the caller's idempotency-key namespace (ledger/tenantkeys.go).
func (p *principal) tenant() string { return ledger.KeyTenant(&p.account) }

// scoped reports whether the caller's answers are filtered to a scope.
func (p *principal) scoped() bool {
	return p.account.Role == ledger.RoleDepartment || p.account.Role == ledger.RoleProvider
}

// mayName checks a request naming a department and/or a provider. owned: the answer is
// the named party's own document (a statement, an invoice), so a department account may
// not name a provider, nor a provider account a department.
func (p *principal) mayName(s *Server, d, v string, owned bool) *errcode.Error {
	switch p.account.Role {
	case ledger.RoleDepartment:
		if d != "" && !s.ledger.DepartmentWithin(d, p.account.Department) {
			return denied(p, "department %s is outside this account's scope (%s and the departments below it)", d, p.account.Department)
		}
		if owned && v != "" {
			return denied(p, "provider %s's documents are the provider's", v)
		}
	case ledger.RoleProvider:
		if v != "" && v != p.account.Provider {
			return denied(p, "provider %s is not this account's provider (%s)", v, p.account.Provider)
		}
		if owned && d != "" {
			return denied(p, "department %s's documents are the department's", d)
		}
	}
	return nil
}

func denied(p *principal, format string, args ...any) *errcode.Error {
	return errcode.Errf(errcode.PermissionDenied, "", "account %s (%s): %s", p.account.ID, p.account.Role, fmt.Sprintf(format, args...))
}

func joinRoles(rs []ledger.Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, " or ")
}

// targetOf formats name=value pairs, leaving out empty values.
func targetOf(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" || kv[i+1] == "0" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(kv[i] + "=" + kv[i+1])
	}
	return b.String()
}
