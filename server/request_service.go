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
	"github.com/cloudledger/cloudledger/notice"
	"github.com/cloudledger/cloudledger/sla"
)

// requestService is the resource-request workflow (issue 15). Who may take which step is
// in authz.go; the ledger checks the states and the quota rules.
type requestService struct{ s *Server }

func (h *requestService) show(r *ledger.ResourceRequest) *v1.ResourceRequest {
	return apimap.ResourceRequest(r, h.s.ledger.Calendar(), h.s.ledger.Clock())
}

func (h *requestService) SubmitRequest(ctx context.Context, req *connect.Request[v1.SubmitRequestRequest]) (*connect.Response[v1.SubmitRequestResponse], error) {
	body, err := apimap.SubmitRequest(req.Msg)
	if err != nil {
		return nil, detailError(err, 0)
	}
	key := req.Msg.GetKey()
	if key == "" {
		return nil, errKeyRequired()
	}
	res, serr := h.s.submitAsCaller(ctx, ledger.Command{Key: key, Body: body})
	if serr != nil {
		return nil, serr
	}
	it := res.Items[0]
	id := h.s.ledger.RequestOfLineItem(it.Seq)
	return connect.NewResponse(&v1.SubmitRequestResponse{Id: id, Seq: it.Seq, Duplicate: it.Duplicate}), nil
}

// decision is what a caller's "approve" means: the supervisor's decision, or the
// authority's approval.
func decision(p *principal, d string) string {
	if d == ledger.DecisionApprove && p.account.Role == ledger.RoleSupervisor {
		return ledger.DecisionSupervise
	}
	return d
}

func (h *requestService) DecideRequest(ctx context.Context, req *connect.Request[v1.DecideRequestRequest]) (*connect.Response[v1.DecideRequestResponse], error) {
	m := req.Msg
	if m.GetKey() == "" {
		return nil, errKeyRequired()
	}
	cmd := ledger.Command{Key: m.GetKey(),
		Body: &ledger.DecideRequest{ID: m.GetId(), Decision: decision(principalOf(ctx), m.GetDecision()), Reason: m.GetReason()}}
	res, err := h.s.submitAsCaller(ctx, cmd)
	if err != nil {
		return nil, err
	}
	r, _ := h.s.ledger.ResourceRequest(m.GetId())
	return connect.NewResponse(&v1.DecideRequestResponse{Request: h.show(&r), Seq: res.Items[0].Seq}), nil
}

// FulfilRequest is a convenience for one fulfil_request command (apimap.Catalog): the
// ledger derives the events from the request and its own time, so the same call again with
// the same key (an answer lost) returns the original result.
func (h *requestService) FulfilRequest(ctx context.Context, req *connect.Request[v1.FulfilRequestRequest]) (*connect.Response[v1.FulfilRequestResponse], error) {
	m := req.Msg
	if m.GetKey() == "" {
		return nil, errKeyRequired()
	}
	var cmds []ledger.Command
	if h.s.proposalRulesVersion() < 6 {
		// A voter still applies rules 5 (a rolling upgrade): the events as before, dated
		// here; a retry of this one may answer idempotency_conflict.
		r, ok := h.s.ledger.ResourceRequest(m.GetId())
		if !ok {
			return nil, detailError(errcode.Errf(errcode.UnknownRequest, "id", "unknown request %q", m.GetId()), 0)
		}
		var ferr *ledger.Error
		if cmds, ferr = r.Fulfilment(m.GetResource(), h.s.cfg.Now()); ferr != nil {
			return nil, detailError(ferr, 0)
		}
	} else {
		cmd, perr := apimap.Command(&v1.Command{Key: m.GetKey(), Body: &v1.Command_FulfilRequest{FulfilRequest: &v1.FulfilRequest{Id: m.GetId(), Resource: m.GetResource()}}})
		if perr != nil {
			return nil, detailError(perr, 0)
		}
		cmds = []ledger.Command{cmd}
	}
	res, err := h.s.submitAsCaller(ctx, cmds...)
	if err != nil {
		return nil, err
	}
	r, _ := h.s.ledger.ResourceRequest(m.GetId())
	return connect.NewResponse(&v1.FulfilRequestResponse{Request: h.show(&r), Seq: res.Items[len(res.Items)-1].Seq}), nil
}

func (h *requestService) GetRequest(ctx context.Context, req *connect.Request[v1.GetRequestRequest]) (*connect.Response[v1.GetRequestResponse], error) {
	r, ok := h.s.ledger.ResourceRequest(req.Msg.GetId())
	if !ok {
		return nil, detailError(errcode.Errf(errcode.UnknownRequest, "id", "unknown request %q", req.Msg.GetId()), 0)
	}
	return connect.NewResponse(&v1.GetRequestResponse{Request: h.show(&r)}), nil
}

func (h *requestService) ListRequests(ctx context.Context, req *connect.Request[v1.ListRequestsRequest]) (*connect.Response[v1.ListRequestsResponse], error) {
	p := principalOf(ctx)
	out := &v1.ListRequestsResponse{AsOf: h.s.ledger.Clock().Format(time.RFC3339)}
	for _, r := range h.s.ledger.ResourceRequests() {
		if !p.seesRequest(h.s, &r) || (req.Msg.GetState() != "" && string(r.State) != req.Msg.GetState()) {
			continue
		}
		shown := h.show(&r)
		if req.Msg.GetOverdue() && !shown.Overdue {
			continue
		}
		out.Requests = append(out.Requests, shown)
	}
	return connect.NewResponse(out), nil
}

func (h *requestService) SLAReport(ctx context.Context, req *connect.Request[v1.SLAReportRequest]) (*connect.Response[v1.SLAReportResponse], error) {
	month, err := calendar.ParseMonth(req.Msg.GetMonth())
	if err != nil {
		return nil, detailError(errcode.Errf(errcode.InvalidValue, "month", "a month is YYYY-MM, not %q", req.Msg.GetMonth()), 0)
	}
	clock := h.s.ledger.Clock()
	rep, berr := sla.Build(h.s.ledger.ResourceRequests(), h.s.ledger.Calendar(), month, clock)
	if berr != nil {
		return nil, detailError(errcode.Errf(errcode.CalendarUnknown, "month", "%v", berr), 0)
	}
	p := principalOf(ctx)
	mine := func(party string) bool { return p.account.Role != ledger.RoleProvider || party == p.account.Provider }
	out := &v1.SLAReportResponse{Month: month.String(), AsOf: clock.Format(time.RFC3339)}
	for _, r := range rep.Rows {
		if mine(r.Party) {
			out.Rows = append(out.Rows, &v1.SLARow{Party: r.Party, Handled: uint32(r.Handled), OnTime: uint32(r.OnTime), Late: uint32(r.Late), OpenOverdue: uint32(r.Open)})
		}
	}
	for _, o := range rep.Overdue {
		if !mine(o.Party) {
			continue
		}
		done := ""
		if !o.Done.IsZero() {
			done = o.Done.Format(time.RFC3339)
		}
		out.Overdue = append(out.Overdue, &v1.SLAOverdue{Request: o.Request, Kind: o.Kind, Department: o.Department, Step: o.Step, Party: o.Party, Due: o.Due.String(), Done: done})
	}
	return connect.NewResponse(out), nil
}

func (h *requestService) ListNotices(ctx context.Context, req *connect.Request[v1.ListNoticesRequest]) (*connect.Response[v1.ListNoticesResponse], error) {
	p := principalOf(ctx)
	out := &v1.ListNoticesResponse{}
	for _, n := range h.s.ledger.Notices(0, 0) {
		if !p.seesNotice(h.s, &n) || (req.Msg.GetDelivery() != "" && n.Delivery != req.Msg.GetDelivery()) {
			continue
		}
		pl := notice.PayloadOf(n)
		out.Notices = append(out.Notices, apimap.Notice(&n, pl.TitleZh, pl.TitleEn))
	}
	return connect.NewResponse(out), nil
}

// ReplayNotice is a convenience for one notice_replay command (apimap.Catalog).
func (h *requestService) ReplayNotice(ctx context.Context, req *connect.Request[v1.ReplayNoticeRequest]) (*connect.Response[v1.ReplayNoticeResponse], error) {
	if req.Msg.GetKey() == "" {
		return nil, errKeyRequired()
	}
	cmd, perr := apimap.Command(&v1.Command{Key: req.Msg.GetKey(), Body: &v1.Command_NoticeReplay{NoticeReplay: &v1.NoticeReplay{Id: req.Msg.GetId()}}})
	if perr != nil {
		return nil, detailError(perr, 0)
	}
	res, err := h.s.submitAsCaller(ctx, cmd)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.ReplayNoticeResponse{Seq: res.Items[0].Seq}), nil
}

func (h *requestService) SetDeadlineTable(ctx context.Context, req *connect.Request[v1.SetDeadlineTableRequest]) (*connect.Response[v1.SetDeadlineTableResponse], error) {
	body, merr := apimap.DeadlineTable(req.Msg.GetTable())
	if merr != nil {
		return nil, detailError(merr, 0)
	}
	if req.Msg.GetKey() == "" {
		return nil, errKeyRequired()
	}
	res, err := h.s.submitAsCaller(ctx, ledger.Command{Key: req.Msg.GetKey(), Body: body})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.SetDeadlineTableResponse{Seq: res.Items[0].Seq}), nil
}

func (h *requestService) ListDeadlineTables(ctx context.Context, req *connect.Request[v1.ListDeadlineTablesRequest]) (*connect.Response[v1.ListDeadlineTablesResponse], error) {
	out := &v1.ListDeadlineTablesResponse{Tables: []*v1.DeadlineTable{apimap.DeadlineTableOf(ledger.ShanghaiTable)}}
	for _, t := range h.s.ledger.DeadlineTables() {
		out.Tables = append(out.Tables, apimap.DeadlineTableOf(t))
	}
	return connect.NewResponse(out), nil
}

// errKeyRequired refuses a write without its idempotency key: the client names it, so that
// the same call again (an answer lost) returns the original result; the server never makes
// one (issue 23).
func errKeyRequired() error {
	return detailError(errcode.Errf(errcode.MissingField, "key", "a write names its idempotency key (the same call again returns the original result)"), 0)
}
