package server

import (
	"context"
	"maps"
	"slices"
	"time"

	"connectrpc.com/connect"

	"github.com/cloudledger/cloudledger/apimap"
	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/ledger"
	"github.com/cloudledger/cloudledger/money"
	"github.com/cloudledger/cloudledger/rating"
)

// Charges rates on this node after the read barrier: on the leader with a linearizable
// read, or on the addressed node's own state when the caller asked for a stale read.
// Either way the result names the Raft index and head hash it was computed at.
func (h *ledgerService) Charges(ctx context.Context, req *connect.Request[v1.ChargesRequest]) (*connect.Response[v1.ChargesResponse], error) {
	m := req.Msg
	from, err := calendar.ParseDate(m.GetFrom())
	if err != nil {
		return nil, detailError(errcode.Errf(errcode.InvalidDate, "from", "%v", err), 0)
	}
	to, err := calendar.ParseDate(m.GetTo())
	if err != nil {
		return nil, detailError(errcode.Errf(errcode.InvalidDate, "to", "%v", err), 0)
	}
	opt := rating.Options{From: from, To: to, Department: m.GetDepartment(), Provider: m.GetProvider()}
	p := principalOf(ctx)
	if p.account.Role == ledger.RoleProvider {
		opt.Provider = p.account.Provider // authz checked that a named provider is its own
	}
	res, err := h.s.rate(opt)
	if err != nil {
		return nil, toConnect(err)
	}
	if p.scoped() {
		res = h.s.withinScope(p, res)
	}
	out := &v1.ChargesResponse{AppliedIndex: res.Head.AppliedIndex, HeadHash: res.Head.Hash.String(),
		TotalBaseAmount: money.Text(res.Total.BaseAmount), TotalAmount: money.Text(res.Total.Amount),
		ProvisionalLines: uint32(len(res.Provisional))}
	for _, u := range res.Unscored {
		out.Unscored = append(out.Unscored, &v1.UnscoredDays{Provider: u.Provider, Days: apimap.DayRanges(u.Days)})
	}
	// By month, from the result's month totals (a scoped caller's: withinScope's own), not
	// from its lines: a settlement year of 100,000 resources has 1.2 million, and the finance
	// page asks for a year's months on every load.
	for _, mo := range slices.Sorted(maps.Keys(res.ByMonth)) {
		t := res.ByMonth[mo]
		out.ByMonth = append(out.ByMonth, &v1.MonthTotal{Month: mo, BaseAmount: money.Text(t.BaseAmount), Amount: money.Text(t.Amount), Lines: uint32(t.Lines)})
	}
	if !m.GetTotalsOnly() {
		out.Lines = make([]*v1.ChargeLine, len(res.Lines))
		for i, l := range res.Lines {
			out.Lines[i] = apimap.ChargeLine(l)
		}
	}
	return connect.NewResponse(out), nil
}

// withinScope keeps the lines a department account sees (its department and those below
// it) and sums them again; totals are sums of rounded lines, so they stay exact.
func (s *Server) withinScope(p *principal, res *rating.Result) *rating.Result {
	out := *res
	out.Lines, out.Provisional, out.Total = nil, nil, rating.Totals{}
	out.ByDepartment, out.ByProject, out.ByProvider, out.ByItem = nil, nil, nil, nil // not summed again: unused
	out.ByMonth = map[string]rating.Totals{}
	for _, l := range res.Lines {
		if !p.sees(s, l.Department, l.Provider) {
			continue
		}
		out.Lines = append(out.Lines, l)
		out.Total.BaseAmount, out.Total.Amount = out.Total.BaseAmount.Add(l.BaseAmount), out.Total.Amount.Add(l.Amount)
		out.Total.Lines++
		mo := out.ByMonth[l.Month.String()]
		mo.BaseAmount, mo.Amount = mo.BaseAmount.Add(l.BaseAmount), mo.Amount.Add(l.Amount)
		mo.Lines++
		out.ByMonth[l.Month.String()] = mo
		if l.Provisional() {
			out.Provisional = append(out.Provisional, l)
		}
	}
	return &out
}

// rate rates the ledger as of its head from the charges kept current (rating.Kept): it reads
// the master data and the line items written since the last read, not the whole ledger.
func (s *Server) rate(opt rating.Options) (*rating.Result, error) {
	defer observeSince(s.metrics.ratingSeconds, time.Now())
	if opt.From.Valid() && opt.To.Valid() && opt.To.Before(opt.From) {
		return rating.Rate(&ledger.View{}, opt) // the range error, before any reading
	}
	return s.kept.Rate(s.ledger, opt)
}

func (h *ledgerService) BandTables(ctx context.Context, req *connect.Request[v1.BandTablesRequest]) (*connect.Response[v1.BandTablesResponse], error) {
	out := &v1.BandTablesResponse{DefaultTable: apimap.BandTable(ledger.DefaultBandTable())}
	for _, t := range h.s.ledger.BandTables() {
		out.Tables = append(out.Tables, apimap.BandTable(t))
	}
	return connect.NewResponse(out), nil
}
