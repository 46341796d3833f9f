package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"

	"connectrpc.com/connect"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/ledger"
	"github.com/cloudledger/cloudledger/rating"
	"github.com/cloudledger/cloudledger/settlement"
)

// auditAttempts bounds recomputing an audit whose figures went stale while it was proposed
// (a tick or another write landed in between).
const auditAttempts = 3

func (h *ledgerService) Settle(ctx context.Context, req *connect.Request[v1.SettleRequest]) (*connect.Response[v1.SettleResponse], error) {
	year := int(req.Msg.GetYear())
	var body ledger.Body
	switch req.Msg.GetAction() {
	case "run":
		body = &ledger.SettlementRun{Year: year}
	case "submit":
		body = &ledger.SettlementAdvance{Year: year, To: ledger.SettlementSubmitted}
	case "pay":
		body = &ledger.SettlementAdvance{Year: year, To: ledger.SettlementPaid}
	case "audit":
	default:
		return nil, detailError(errcode.Errf(errcode.InvalidValue, "action", "action is run, audit, submit or pay, not %q", req.Msg.GetAction()), 0)
	}
	var item ledger.ItemResult
	for attempt := 1; ; attempt++ {
		if body == nil || req.Msg.GetAction() == "audit" {
			// The leader computes the figures from everything committed (linearizable).
			if err := h.s.node.LinearizableRead(ctx); err != nil {
				return nil, toConnect(err)
			}
			data, err := h.s.ledger.View(ledger.ViewFilter{})
			if err != nil {
				return nil, toConnect(err)
			}
			if y := data.Settlements[year]; y != nil && y.State != ledger.SettlementDraft {
				// Audited already (a retry whose first attempt committed, or a second
				// audit): the figures stand, as a second submit or run changes nothing.
				break
			}
			audit, blockers, err := settlement.Prepare(data, year)
			if err != nil {
				return nil, toConnect(err)
			}
			if len(blockers) > 0 {
				return nil, detailError(settlement.BlockedError(year, blockers), 0)
			}
			body = audit
		}
		key := fmt.Sprintf("settle/%d/%s", year, req.Msg.GetAction())
		if a, ok := body.(*ledger.SettlementAudit); ok {
			key += "/" + a.AtHead // figures computed at another head are another command
		}
		cmd := ledger.Command{Key: key, Body: body}
		if err := ledger.ValidateCommand(cmd); err != nil {
			return nil, detailError(err, 0)
		}
		res, _, err := h.s.prop.submit(ctx, ledger.Request{Actor: actorOf(req), Commands: []ledger.Command{cmd}})
		if err != nil {
			return nil, toConnect(err)
		}
		if res.Err != nil {
			if res.Err.Code == errcode.StaleFigures && attempt < auditAttempts {
				continue
			}
			return nil, detailError(res.Err, 0)
		}
		item = res.Items[0]
		break
	}
	st, err := h.s.settleStatus(year, false)
	if err != nil {
		return nil, toConnect(err)
	}
	unchanged := item.Unchanged || item.Duplicate || item.Seq == 0
	return connect.NewResponse(&v1.SettleResponse{Status: st, Seq: item.Seq, Unchanged: unchanged}), nil
}

func (h *ledgerService) SettleStatus(ctx context.Context, req *connect.Request[v1.SettleStatusRequest]) (*connect.Response[v1.SettleStatusResponse], error) {
	if err := h.s.readBarrier(ctx, req.Header()); err != nil {
		return nil, toConnect(err)
	}
	st, err := h.s.settleStatus(int(req.Msg.GetYear()), true)
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(st), nil
}

func (s *Server) settleStatus(year int, blockers bool) (*v1.SettleStatusResponse, error) {
	if year < ledger.MinYear || year > ledger.MaxYear {
		return nil, errcode.Errf(errcode.InvalidValue, "year", "year %d outside %d–%d", year, ledger.MinYear, ledger.MaxYear)
	}
	data, err := s.ledger.View(ledger.ViewFilter{})
	if err != nil {
		return nil, err
	}
	st, err := settlement.YearStatus(data, s.ledger.Calendar(), year, blockers)
	if err != nil {
		return nil, err
	}
	out := &v1.SettleStatusResponse{Year: int32(year), State: string(st.State), WindowFrom: st.From.String(), WindowTo: st.To.String(),
		Deadline: st.Deadline.String(), DaysLeft: int32(st.DaysLeft), WorkingDaysLeft: int32(st.WorkingDaysLeft), Warning: st.Warning,
		AppliedIndex: data.Head.AppliedIndex}
	for _, b := range st.Blockers {
		out.Blockers = append(out.Blockers, &v1.SettlementBlocker{Code: string(b.Code), Message: b.Message})
	}
	if y := data.Settlements[year]; y != nil && y.AuditIndex > 0 {
		out.AuditIndex, out.AuditHead, out.TotalAmount = y.AuditIndex, y.AuditHead, y.TotalAmount.StringFixed(2)
	}
	return out, nil
}

func (h *ledgerService) BudgetExport(ctx context.Context, req *connect.Request[v1.BudgetExportRequest]) (*connect.Response[v1.BudgetExportResponse], error) {
	if err := h.s.readBarrier(ctx, req.Header()); err != nil {
		return nil, toConnect(err)
	}
	data, err := h.s.ledger.View(ledger.ViewFilter{})
	if err != nil {
		return nil, toConnect(err)
	}
	b, err := settlement.BuildBudget(data, h.s.ledger.Calendar(), int(req.Msg.GetYear()))
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
	default:
		return nil, detailError(errcode.Errf(errcode.InvalidValue, "format", "format is csv, xlsx or json, not %q", req.Msg.GetFormat()), 0)
	}
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&v1.BudgetExportResponse{Content: buf.Bytes(), AppliedIndex: data.Head.AppliedIndex, HeadHash: data.Head.Hash.String()}), nil
}

func (h *ledgerService) Statement(ctx context.Context, req *connect.Request[v1.StatementRequest]) (*connect.Response[v1.StatementResponse], error) {
	m := req.Msg
	month, err := calendar.ParseMonth(m.GetMonth())
	if err != nil {
		return nil, detailError(errcode.Errf(errcode.InvalidValue, "month", "a month is YYYY-MM, not %q", m.GetMonth()), 0)
	}
	if (m.GetDepartment() == "") == (m.GetProvider() == "") {
		return nil, detailError(errcode.Errf(errcode.MissingField, "department", "a statement is for one department or one provider"), 0)
	}
	if err := h.s.readBarrier(ctx, req.Header()); err != nil {
		return nil, toConnect(err)
	}
	data, err := h.s.ledger.View(ledger.ViewFilter{Before: month.Next().First().Start(), Department: m.GetDepartment(), Provider: m.GetProvider()})
	if err != nil {
		return nil, toConnect(err)
	}
	st, err := settlement.BuildStatement(data, month, m.GetDepartment(), m.GetProvider())
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
	default:
		return nil, detailError(errcode.Errf(errcode.InvalidValue, "format", "format is csv, xlsx or json, not %q", m.GetFormat()), 0)
	}
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&v1.StatementResponse{Content: buf.Bytes(), AppliedIndex: data.Head.AppliedIndex}), nil
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
	if len(m.GetLines()) > settlement.MaxInvoiceLines {
		return nil, detailError(errcode.Errf(errcode.TooLarge, "lines", "at most %d invoice lines", settlement.MaxInvoiceLines), 0)
	}
	// The client parsed the file (settlement.ParseInvoice); what reaches the ledger is
	// checked again here.
	lines := make([]settlement.InvoiceLine, len(m.GetLines()))
	seen := make(map[[3]string]bool, len(m.GetLines()))
	for i, l := range m.GetLines() {
		for _, f := range []struct{ field, v string }{{"department", l.GetDepartment()}, {"project", l.GetProject()}, {"item", l.GetItem()}} {
			if err := ledger.CheckID(f.field, f.v); err != nil {
				err.Message = fmt.Sprintf("line %d: %s", l.GetLine(), err.Message)
				return nil, detailError(err, l.GetLine())
			}
		}
		k := [3]string{l.GetDepartment(), l.GetProject(), l.GetItem()}
		if seen[k] {
			return nil, detailError(errcode.Errf(errcode.DuplicateLine, "item", "line %d: %s/%s/%s is on the invoice twice", l.GetLine(), k[0], k[1], k[2]), l.GetLine())
		}
		seen[k] = true
		amount, err := ledger.ParseDecimal(l.GetAmount())
		if err != nil {
			return nil, detailError(errcode.Errf(errcode.InvalidQuantity, "amount", "line %d: an amount is a plain decimal, not %q", l.GetLine(), l.GetAmount()), l.GetLine())
		}
		lines[i] = settlement.InvoiceLine{Line: int(l.GetLine()), Department: l.GetDepartment(), Project: l.GetProject(), Item: l.GetItem(), Amount: amount}
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
	pr, _, err := h.s.prop.submit(ctx, ledger.Request{Actor: actorOf(req), Commands: []ledger.Command{cmd}})
	if err != nil {
		return nil, toConnect(err)
	}
	if pr.Err != nil {
		return nil, detailError(pr.Err, 0)
	}
	raw, err := json.Marshal(rep)
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&v1.InvoiceReconcileResponse{ReportJson: raw, AllMatch: rep.AllMatch(), Seq: pr.Items[0].Seq}), nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (h *ledgerService) InvoiceHistory(ctx context.Context, req *connect.Request[v1.InvoiceHistoryRequest]) (*connect.Response[v1.InvoiceHistoryResponse], error) {
	if err := h.s.readBarrier(ctx, req.Header()); err != nil {
		return nil, toConnect(err)
	}
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
				InvoiceTotal: r.InvoiceTotal.StringFixed(2), RatedTotal: r.RatedTotal.StringFixed(2), Tolerance: r.Tolerance.StringFixed(2),
				Actor: r.Actor, RecordedAt: r.Time.Format(time.RFC3339)})
		}
	}
	return connect.NewResponse(out), nil
}
