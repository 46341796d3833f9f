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
)

type ledgerService struct{ s *Server }

// readBarrier makes a read linearizable unless the caller asked for a stale one.
func (s *Server) readBarrier(ctx context.Context, h interface{ Get(string) string }) error {
	if staleAsked(h) {
		return nil
	}
	return s.node.LinearizableRead(ctx)
}

// barrierFor is the read barrier of a procedure whose rule places it as a read (authz.go):
// applied once, by the interceptor, before the handler — no handler calls it by hand.
func (s *Server) barrierFor(ctx context.Context, procedure string, h interface{ Get(string) string }) error {
	if rules[procedure].placement != read {
		return nil
	}
	return s.readBarrier(ctx, h)
}

func (h *ledgerService) Submit(ctx context.Context, req *connect.Request[v1.SubmitRequest]) (*connect.Response[v1.SubmitResponse], error) {
	cmds := req.Msg.GetCommands()
	if len(cmds) == 0 {
		return nil, errf(errcode.MissingField, "a request needs at least one command")
	}
	if len(cmds) > ledger.MaxCommandsPerBatch {
		return nil, detailError(errcode.Errf(errcode.RequestTooLarge, "commands", "%d commands; at most %d per request", len(cmds), ledger.MaxCommandsPerBatch), 0)
	}
	h.s.metrics.importRows.Add(float64(len(cmds)))
	lr := ledger.Submission{Actor: actorOf(ctx), Commands: make([]ledger.Command, len(cmds))}
	for i, c := range cmds {
		lc, err := apimap.Command(c)
		if err != nil {
			err.Index = i
			return nil, detailError(err, c.GetLine())
		}
		lr.Commands[i] = lc
	}
	res, index, err := h.s.prop.submit(ctx, lr)
	if err != nil {
		return nil, toConnect(err)
	}
	if res.Err != nil {
		var line uint32
		if res.Err.Index >= 0 && res.Err.Index < len(cmds) {
			line = cmds[res.Err.Index].GetLine()
		}
		return nil, detailError(res.Err, line)
	}
	out := &v1.SubmitResponse{RaftIndex: index, Results: make([]*v1.ItemResult, len(res.Items))}
	for i, it := range res.Items {
		out.Results[i] = &v1.ItemResult{Seq: it.Seq, Duplicate: it.Duplicate, Unchanged: it.Unchanged}
	}
	return connect.NewResponse(out), nil
}

// maxReportedErrors bounds the rows a validation reports; the count is still exact.
const maxReportedErrors = 10_000

func (h *ledgerService) ValidateImport(ctx context.Context, stream *connect.ClientStream[v1.ValidateImportRequest]) (*connect.Response[v1.ValidateImportResponse], error) {
	dry := h.s.ledger.NewDryRun()
	out := &v1.ValidateImportResponse{}
	now := h.s.cfg.Now()
	report := func(e *errcode.Error, line uint32) {
		if len(out.Errors) >= maxReportedErrors {
			out.ErrorsTruncated = true
			return
		}
		out.Errors = append(out.Errors, &v1.ErrorDetail{Code: string(e.Code), Field: e.Field, Message: e.Message, Index: -1, Line: line})
	}
	for stream.Receive() {
		for _, c := range stream.Msg().GetCommands() {
			out.Rows++
			if out.Rows > MaxStreamRows {
				return nil, toConnect(errcode.Errf(errcode.TooLarge, "", "an import of more than %d rows: split the file", MaxStreamRows))
			}
			lc, err := apimap.Command(c)
			if err != nil {
				report(err, c.GetLine())
				continue
			}
			res := dry.Apply(ledger.Submission{Actor: actorOf(ctx), Commands: []ledger.Command{lc}}, now)
			if res.Err != nil {
				report(res.Err, c.GetLine())
				continue
			}
			out.Accepted++
			if res.Items[0].Duplicate {
				out.Duplicates++
			}
		}
	}
	if err := stream.Err(); err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

func (h *ledgerService) QuotaOverruns(ctx context.Context, req *connect.Request[v1.QuotaOverrunsRequest]) (*connect.Response[v1.QuotaOverrunsResponse], error) {
	rows := h.s.ledger.Overruns()
	if on := req.Msg.GetOn(); on != "" {
		// The report on a day: the quotas of that day's seasons (SPEC: Utilisation, seasons).
		d, err := calendar.ParseDate(on)
		if err != nil {
			return nil, detailError(errcode.Errf(errcode.InvalidDate, "on", "%q is not a date (YYYY-MM-DD)", on), 0)
		}
		rows = h.s.ledger.OverrunsOn(d)
	}
	out := &v1.QuotaOverrunsResponse{AppliedIndex: h.s.ledger.Head().AppliedIndex} // the state index (SPEC), as every read names it
	p := principalOf(ctx)
	only := req.Msg.GetDepartment()
	for _, r := range rows {
		if !p.sees(h.s, r.Department, "") || (only != "" && r.Department != only) {
			continue
		}
		out.Overruns = append(out.Overruns, quotaRow(r))
	}
	return connect.NewResponse(out), nil
}

func (h *ledgerService) Verify(ctx context.Context, req *connect.Request[v1.VerifyRequest]) (*connect.Response[v1.VerifyResponse], error) {
	head, err := h.s.ledger.Verify()
	if err != nil {
		return nil, detailError(errcode.Errf(errcode.ChainBroken, "", "%v", err), 0)
	}
	return connect.NewResponse(&v1.VerifyResponse{LineItems: head.Seq, HeadHash: head.Hash.String(), AppliedIndex: head.AppliedIndex, NodeId: h.s.cfg.NodeID}), nil
}

// Paging of ListLineItems.
const (
	defaultLineItemPage = 1000
	maxLineItemPage     = 10_000
	// MaxLineItemScan bounds the line items one filtered ListLineItems call examines, so a
	// search of a rare department over millions of items answers in pages, not all at once.
	MaxLineItemScan = 50_000
)

func (h *ledgerService) ListLineItems(ctx context.Context, req *connect.Request[v1.ListLineItemsRequest]) (*connect.Response[v1.ListLineItemsResponse], error) {
	limit := int(req.Msg.GetLimit())
	if limit <= 0 {
		limit = defaultLineItemPage
	}
	limit = min(limit, maxLineItemPage)
	m := req.Msg
	from := max(m.GetFromSeq(), 1)
	out := &v1.ListLineItemsResponse{HeadSeq: h.s.ledger.Head().Seq}
	p := principalOf(ctx)
	// visible: a department or provider sees the events of its scope, nothing else; a
	// search keeps the events of its department or resource. It reads the ledger body, not
	// its API form (a search looks at up to MaxLineItemScan items), and never takes the
	// ledger's lock: it runs inside LineItems, which holds it (a second read lock would wait
	// behind a writer that waits for the first).
	sees := p.scopeFunc(h.s)
	visible := func(li *ledger.LineItem) bool {
		ev, _ := li.Body.(*ledger.Event)
		if p.scoped() && (ev == nil || !sees(ev.Department, ev.Provider)) {
			return false
		}
		if m.GetDepartment() == "" && m.GetResource() == "" {
			return true
		}
		return ev != nil && (m.GetDepartment() == "" || ev.Department == m.GetDepartment()) &&
			(m.GetResource() == "" || ev.Resource == m.GetResource())
	}
	if m.GetKey() != "" {
		// A tenant finds its own key; a reader of the whole ledger, every tenant's.
		var found []*ledger.LineItem
		if p.scoped() {
			if li, ok := h.s.ledger.LineItemByKey(p.tenant(), m.GetKey()); ok {
				found = append(found, li)
			}
		} else {
			found = h.s.ledger.LineItemsByKey(m.GetKey())
		}
		for _, li := range found {
			if li.Seq < from {
				continue
			}
			out.Examined++
			if visible(li) {
				out.Items = append(out.Items, apimap.LineItem(li))
			}
		}
		return connect.NewResponse(out), nil
	}
	search := m.GetDepartment() != "" || m.GetResource() != "" || p.scoped()
	err := h.s.ledger.LineItems(from, func(li *ledger.LineItem) bool {
		if len(out.Items) == limit || (search && out.Examined == MaxLineItemScan) {
			out.NextSeq = li.Seq
			return false
		}
		out.Examined++
		if visible(li) {
			out.Items = append(out.Items, apimap.LineItem(li))
		}
		return true
	})
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(out), nil
}

func (h *ledgerService) CalendarDeadline(ctx context.Context, req *connect.Request[v1.CalendarDeadlineRequest]) (*connect.Response[v1.CalendarDeadlineResponse], error) {
	d, n, err := h.calendarArgs("before", req.Msg.GetBefore(), req.Msg.GetWorkingDays())
	if err != nil {
		return nil, err
	}
	out, cerr := h.s.ledger.Calendar().Deadline(d, n)
	if cerr != nil {
		return nil, detailError(errcode.Errf(errcode.CalendarUnknown, "before", "%v", cerr), 0)
	}
	return connect.NewResponse(&v1.CalendarDeadlineResponse{Date: out.String()}), nil
}

func (h *ledgerService) CalendarDue(ctx context.Context, req *connect.Request[v1.CalendarDueRequest]) (*connect.Response[v1.CalendarDueResponse], error) {
	d, n, err := h.calendarArgs("from", req.Msg.GetFrom(), req.Msg.GetWorkingDays())
	if err != nil {
		return nil, err
	}
	out, cerr := h.s.ledger.Calendar().Due(d, n)
	if cerr != nil {
		return nil, detailError(errcode.Errf(errcode.CalendarUnknown, "from", "%v", cerr), 0)
	}
	return connect.NewResponse(&v1.CalendarDueResponse{Date: out.String()}), nil
}

func (h *ledgerService) calendarArgs(field, date string, n int32) (calendar.Date, int, error) {
	d, err := calendar.ParseDate(date)
	if err != nil {
		return calendar.Date{}, 0, detailError(errcode.Errf(errcode.InvalidDate, field, "%v", err), 0)
	}
	if n < 1 || n > 366 {
		return calendar.Date{}, 0, detailError(errcode.Errf(errcode.InvalidValue, "working_days", "must be 1 to 366, got %d", n), 0)
	}
	return d, int(n), nil
}

func (h *ledgerService) GetResource(ctx context.Context, req *connect.Request[v1.GetResourceRequest]) (*connect.Response[v1.GetResourceResponse], error) {
	r, ok := h.s.ledger.Resource(req.Msg.GetResource())
	if !ok {
		return nil, detailError(errcode.Errf(errcode.UnknownResource, "resource", "unknown resource %q", req.Msg.GetResource()), 0)
	}
	out := &v1.GetResourceResponse{Resource: r.ID, Department: r.Department, Project: r.Project, Provider: r.Provider, Item: r.Item,
		Kind: string(r.Kind), Quantity: r.Quantity.String(), Opened: r.Opened.Format(time.RFC3339), Closed: r.Closed}
	if !r.Expires.IsZero() {
		out.Expires = r.Expires.Format(time.RFC3339)
	}
	return connect.NewResponse(out), nil
}

func (h *ledgerService) ListApprovals(ctx context.Context, req *connect.Request[v1.ListApprovalsRequest]) (*connect.Response[v1.ListApprovalsResponse], error) {
	list, clock := h.s.ledger.Approvals()
	out := &v1.ListApprovalsResponse{AsOf: clock.Format(time.RFC3339)}
	p := principalOf(ctx)
	for _, a := range list {
		if !p.sees(h.s, a.Department, "") {
			continue
		}
		out.Approvals = append(out.Approvals, apimap.Approval(&a, clock))
	}
	return connect.NewResponse(out), nil
}
