package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"github.com/cloudledger/cloudledger/money"
	"slices"
	"time"

	"connectrpc.com/connect"

	"github.com/cloudledger/cloudledger/apimap"
	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/ledger"
	"github.com/cloudledger/cloudledger/rating"
	"github.com/cloudledger/cloudledger/settlement"
)

// Settle runs the settlement workflow (settlement.Advance) on this node's ledger.
func (h *ledgerService) Settle(ctx context.Context, req *connect.Request[v1.SettleRequest]) (*connect.Response[v1.SettleResponse], error) {
	year := int(req.Msg.GetYear())
	item, err := settlement.Advance(ctx, settleNode{h.s}, actorOf(ctx), year, req.Msg.GetAction())
	if err != nil {
		return nil, toConnect(err)
	}
	st, err := h.s.settleStatus(year, false)
	if err != nil {
		return nil, toConnect(err)
	}
	unchanged := item.Unchanged || item.Duplicate || item.Seq == 0
	return connect.NewResponse(&v1.SettleResponse{Status: st, Seq: item.Seq, Unchanged: unchanged}), nil
}

// settleNode is the server as the settlement workflow sees it.
type settleNode struct{ s *Server }

func (n settleNode) Barrier(ctx context.Context) error { return n.s.node.LinearizableRead(ctx) }

// Read rates from the charges kept current (rating.Kept), as a full view would.
func (n settleNode) Read(fn func(d *ledger.View) error) error { return n.s.kept.Read(n.s.ledger, fn) }

func (n settleNode) Submit(ctx context.Context, r ledger.Submission) (ledger.SubmissionResult, error) {
	res, _, err := n.s.prop.submit(ctx, r)
	return res, err
}

func (h *ledgerService) SettleStatus(ctx context.Context, req *connect.Request[v1.SettleStatusRequest]) (*connect.Response[v1.SettleStatusResponse], error) {
	st, err := h.s.settleStatus(int(req.Msg.GetYear()), !req.Msg.GetSkipBlockers())
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(st), nil
}

func (s *Server) settleStatus(year int, blockers bool) (*v1.SettleStatusResponse, error) {
	if year < ledger.MinYear || year > ledger.MaxYear {
		return nil, errcode.Errf(errcode.InvalidValue, "year", "year %d outside %d–%d", year, ledger.MinYear, ledger.MaxYear)
	}
	// The blockers rate the year: from the charges kept current.
	var data *ledger.View
	var st *settlement.Status
	err := s.kept.Read(s.ledger, func(d *ledger.View) (err error) {
		data = d
		st, err = settlement.YearStatus(d, s.ledger.Calendar(), year, blockers)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &v1.SettleStatusResponse{Year: int32(year), State: string(st.State), WindowFrom: st.From.String(), WindowTo: st.To.String(),
		Deadline: st.Deadline.String(), DaysLeft: int32(st.DaysLeft), WorkingDaysLeft: int32(st.WorkingDaysLeft), Warning: st.Warning,
		AppliedIndex: data.Head.AppliedIndex}
	for _, b := range st.Blockers {
		pb := &v1.SettlementBlocker{Code: string(b.Code), Message: b.Message, Provider: b.Provider, Detail: b.Detail}
		if b.Month != (calendar.Month{}) {
			pb.Month = b.Month.String()
		}
		pb.Days = apimap.DayRanges(b.Days)
		out.Blockers = append(out.Blockers, pb)
	}
	if y := data.Settlements[year]; y != nil && y.AuditIndex > 0 {
		out.AuditIndex, out.AuditHead, out.TotalAmount = y.AuditIndex, y.AuditHead, money.Text(y.TotalAmount)
	}
	return out, nil
}

func (h *ledgerService) BudgetExport(ctx context.Context, req *connect.Request[v1.BudgetExportRequest]) (*connect.Response[v1.BudgetExportResponse], error) {
	defer observeSince(h.s.metrics.exportSeconds.WithLabelValues("budget"), time.Now())
	// From the charges kept current (rating.Kept); a full read only where a resource has
	// operations dated after the ledger's clock (rating.ErrBeforeKept).
	var data *ledger.View
	var b *settlement.Budget
	err := h.s.kept.Read(h.s.ledger, func(d *ledger.View) (err error) {
		data = d
		b, err = settlement.BuildBudget(d, h.s.ledger.Calendar(), int(req.Msg.GetYear()))
		return err
	})
	if errors.Is(err, rating.ErrBeforeKept) {
		if data, err = h.s.ledger.View(ledger.ViewFilter{}); err == nil {
			b, err = settlement.BuildBudget(data, h.s.ledger.Calendar(), int(req.Msg.GetYear()))
		}
	}
	if err != nil {
		return nil, toConnect(err)
	}
	var buf bytes.Buffer
	switch req.Msg.GetFormat() {
	case "csv":
		err = b.WriteCSV(&buf)
	case "xlsx":
		err = b.WriteXLSX(&buf)
	case "json", "":
		err = b.WriteJSON(&buf)
	case "typed":
	default:
		return nil, detailError(errcode.Errf(errcode.InvalidValue, "format", "format is csv, xlsx, json or typed, not %q", req.Msg.GetFormat()), 0)
	}
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&v1.BudgetExportResponse{Content: buf.Bytes(), AppliedIndex: data.Head.AppliedIndex, HeadHash: data.Head.Hash.String(),
		Budget: apimap.Budget(b)}), nil
}

func (h *ledgerService) Statement(ctx context.Context, req *connect.Request[v1.StatementRequest]) (*connect.Response[v1.StatementResponse], error) {
	defer observeSince(h.s.metrics.exportSeconds.WithLabelValues("statement"), time.Now())
	m := req.Msg
	month, err := calendar.ParseMonth(m.GetMonth())
	if err != nil {
		return nil, detailError(errcode.Errf(errcode.InvalidValue, "month", "a month is YYYY-MM, not %q", m.GetMonth()), 0)
	}
	if (m.GetDepartment() == "") == (m.GetProvider() == "") {
		return nil, detailError(errcode.Errf(errcode.MissingField, "department", "a statement is for one department or one provider"), 0)
	}
	// The findings by subject: a resource's own, a project's zombie (SPEC: Utilisation, Reports).
	bySubject := map[string][]ledger.Finding{}
	for _, f := range h.s.ledger.Findings() {
		key := "r/" + f.Subject
		if f.Kind == ledger.FindingZombie {
			key = "p/" + f.Subject
		}
		bySubject[key] = append(bySubject[key], f)
	}
	// Rated from the charges kept current (rating.Kept), resource by resource.
	var st *settlement.Statement
	var data *ledger.View
	err = h.s.kept.Read(h.s.ledger, func(d *ledger.View) (err error) {
		data = d
		st, err = settlement.BuildStatement(d, month, m.GetDepartment(), m.GetProvider(),
			func(resource string) (ledger.MonthUtilisation, bool) {
				return h.s.ledger.MonthUtilisation(resource, month)
			},
			func(resource, project string) []ledger.Finding {
				return append(slices.Clone(bySubject["r/"+resource]), bySubject["p/"+project]...)
			})
		return err
	})
	if err != nil {
		return nil, toConnect(err)
	}
	var buf bytes.Buffer
	switch m.GetFormat() {
	case "csv":
		err = st.WriteCSV(&buf)
	case "xlsx":
		err = st.WriteXLSX(&buf)
	case "json", "":
		err = st.WriteJSON(&buf)
	case "typed":
	default:
		return nil, detailError(errcode.Errf(errcode.InvalidValue, "format", "format is csv, xlsx, json or typed, not %q", m.GetFormat()), 0)
	}
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&v1.StatementResponse{Content: buf.Bytes(), AppliedIndex: data.Head.AppliedIndex, Statement: apimap.Statement(st)}), nil
}

func (h *ledgerService) InvoiceReconcile(ctx context.Context, req *connect.Request[v1.InvoiceReconcileRequest]) (*connect.Response[v1.InvoiceReconcileResponse], error) {
	m := req.Msg
	month, err := calendar.ParseMonth(m.GetMonth())
	if err != nil {
		return nil, detailError(errcode.Errf(errcode.InvalidValue, "month", "a month is YYYY-MM, not %q", m.GetMonth()), 0)
	}
	tolerance, err := ledger.ParseDecimal(orDefault(m.GetTolerance(), "0"))
	if err != nil || tolerance.IsNegative() {
		return nil, detailError(errcode.Errf(errcode.InvalidQuantity, "tolerance", "a tolerance is a non-negative decimal, not %q", m.GetTolerance()), 0)
	}
	lines, bad := apimap.InvoiceLines(m.GetLines(), month)
	if len(bad) > 0 {
		return nil, invoiceLinesError(bad)
	}
	if m.GetCheckOnly() {
		return connect.NewResponse(&v1.InvoiceReconcileResponse{}), nil
	}
	if err := h.s.node.LinearizableRead(ctx); err != nil {
		return nil, toConnect(err)
	}
	res, err := h.s.rate(rating.Options{From: month.First(), To: month.Last(), Provider: m.GetProvider()})
	if err != nil {
		return nil, toConnect(err)
	}
	data, err := h.s.ledger.View(ledger.ViewFilter{MasterDataOnly: true}) // projects and items for the notes
	if err != nil {
		return nil, toConnect(err)
	}
	rep := settlement.Reconcile(data, res.Lines, m.GetProvider(), month, lines, tolerance)
	body := &ledger.RecordReconciliation{Result: rep.Record(m.GetInvoiceSha256())}
	// The key is the record's content: the same file against the same charges is one record
	// (a retry changes nothing), against charges that changed since (late usage in an open
	// month) another one.
	digest := sha256.Sum256(ledger.EncodeBody(body))
	cmd := ledger.Command{Key: fmt.Sprintf("invoice/%s/%x", month, digest[:16]), Body: body}
	if verr := ledger.ValidateCommand(cmd); verr != nil {
		return nil, detailError(verr, 0)
	}
	pr, err := h.s.submitAsCaller(ctx, cmd)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.InvoiceReconcileResponse{Report: apimap.ReconciliationReport(rep), AllMatch: rep.AllMatch(), Seq: pr.Items[0].Seq}), nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (h *ledgerService) InvoiceHistory(ctx context.Context, req *connect.Request[v1.InvoiceHistoryRequest]) (*connect.Response[v1.InvoiceHistoryResponse], error) {
	data, err := h.s.ledger.View(ledger.ViewFilter{MasterDataOnly: true})
	if err != nil {
		return nil, toConnect(err)
	}
	p := req.Msg.GetProvider()
	if data.Providers[p] == nil {
		return nil, detailError(errcode.Errf(errcode.UnknownProvider, "provider", "unknown provider %q", p), 0)
	}
	out := &v1.InvoiceHistoryResponse{}
	if hist := data.Reconciliations[p]; hist != nil {
		for _, r := range hist.History {
			out.Reconciliations = append(out.Reconciliations, &v1.Reconciliation{Month: r.Month.String(), InvoiceSha256: r.InvoiceSHA256,
				Matched: uint32(r.Matched), Mismatched: uint32(r.Mismatched), Missing: uint32(r.Missing), Unexpected: uint32(r.Unexpected),
				InvoiceTotal: money.Text(r.InvoiceTotal), RatedTotal: money.Text(r.RatedTotal), Tolerance: money.Text(r.Tolerance),
				Actor: r.Actor, RecordedAt: r.Time.Format(time.RFC3339)})
		}
	}
	return connect.NewResponse(out), nil
}

// invoiceLinesError is one error carrying a detail per bad invoice line (the first line's
// code is the error's).
func invoiceLinesError(bad []apimap.LineError) *connect.Error {
	first := bad[0].Err
	ce := connect.NewError(connectCode(first.Code), fmt.Errorf("%d bad invoice lines; the first: line %d: %s", len(bad), bad[0].Line, first.Error()))
	for _, b := range bad {
		if d, err := connect.NewErrorDetail(&v1.ErrorDetail{Code: string(b.Err.Code), Field: b.Err.Field, Message: b.Err.Message, Index: -1, Line: b.Line}); err == nil {
			ce.AddDetail(d)
		}
	}
	return ce
}
