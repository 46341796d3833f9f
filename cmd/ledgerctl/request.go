package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
)

// Resource requests (SPEC: Command line; SH 19–24).

func requestCall[Req, Res any](ctx context.Context, g *globals, p retryPolicy, what string, msg *Req, pick func(cloudledgerv1connect.RequestServiceClient) rpc[Req, Res]) (*Res, error) {
	return call(ctx, g, p, what, msg, func(ep *endpoint) rpc[Req, Res] { return pick(ep.request) })
}

func newRequestCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "request",
		Short: "Resource requests: 申请 → 审核 → 开通 (SH 19–24)",
		RunE:  needSubcommand,
	}
	var m v1.SubmitRequestRequest
	submit := &cobra.Command{
		Use:   "submit",
		Short: "Submit a request (role department or authority); prints the request id alone on stdout",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			m.Key = g.keyFor("request")
			res, err := requestCall(cmd.Context(), g, writePolicy, "request submit", &m,
				func(c cloudledgerv1connect.RequestServiceClient) rpc[v1.SubmitRequestRequest, v1.SubmitRequestResponse] {
					return c.SubmitRequest
				})
			if err != nil {
				return err
			}
			fmt.Fprintln(g.stdout, res.GetId())
			return nil
		}),
	}
	f := submit.Flags()
	f.StringVar(&m.Kind, "kind", "", "test, open, expand, reduce, reclaim or extend (required)")
	f.StringVar(&m.Department, "department", "", "department id (required)")
	f.StringVar(&m.Project, "project", "", "project (test, open)")
	f.StringVar(&m.Provider, "provider", "", "provider (test, open)")
	f.StringVar(&m.Item, "item", "", "catalog item (test, open)")
	f.StringVar(&m.Resource, "resource", "", "the resource (expand, reduce, reclaim, extend)")
	f.StringVar(&m.Quantity, "quantity", "", "quantity (test, open, expand, reduce)")
	f.StringVar(&m.ResourceKind, "resource-kind", "", "standard, dev, emergency or temporary (open)")
	f.StringVar(&m.Expires, "expires", "", "expiry, YYYY-MM-DD (time-limited kinds, extend)")
	f.StringVar(&m.Reason, "reason", "", "why, and the document's number")
	_ = submit.MarkFlagRequired("kind")
	_ = submit.MarkFlagRequired("department")

	decide := func(use, decision, short string) *cobra.Command {
		var id, reason string
		c := &cobra.Command{
			Use:   use,
			Short: short,
			Args:  cobra.NoArgs,
			RunE: action(func(cmd *cobra.Command, _ []string) error {
				res, err := requestCall(cmd.Context(), g, writePolicy, "request "+use, &v1.DecideRequestRequest{Id: id, Decision: decision, Reason: reason, Key: g.keyFor("decision")},
					func(c cloudledgerv1connect.RequestServiceClient) rpc[v1.DecideRequestRequest, v1.DecideRequestResponse] {
						return c.DecideRequest
					})
				if err != nil {
					return err
				}
				return writeRequest(g.stdout, formatTable, g.l(), res.GetRequest())
			}),
		}
		c.Flags().StringVar(&id, "id", "", "request id (required)")
		c.Flags().StringVar(&reason, "reason", "", "why (required to reject)")
		_ = c.MarkFlagRequired("id")
		return c
	}
	var fid, fres string
	fulfil := &cobra.Command{
		Use:   "fulfil",
		Short: "Fulfil an approved request (role provider): writes the line item it asks for; a verified test resource's formal opening reclaims it and opens --resource as standard",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			res, err := requestCall(cmd.Context(), g, writePolicy, "request fulfil", &v1.FulfilRequestRequest{Id: fid, Resource: fres, Key: g.keyFor("fulfil")},
				func(c cloudledgerv1connect.RequestServiceClient) rpc[v1.FulfilRequestRequest, v1.FulfilRequestResponse] {
					return c.FulfilRequest
				})
			if err != nil {
				return err
			}
			return writeRequest(g.stdout, formatTable, g.l(), res.GetRequest())
		}),
	}
	fulfil.Flags().StringVar(&fid, "id", "", "request id (required)")
	fulfil.Flags().StringVar(&fres, "resource", "", "the new resource's id (test, open)")
	_ = fulfil.MarkFlagRequired("id")

	var sid, sformat string
	show := &cobra.Command{
		Use:   "show",
		Short: "Show a request, its current step and due date",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(sformat, formatTable, formatJSON); err != nil {
				return err
			}
			res, err := requestCall(cmd.Context(), g, readPolicy, "request show", &v1.GetRequestRequest{Id: sid},
				func(c cloudledgerv1connect.RequestServiceClient) rpc[v1.GetRequestRequest, v1.GetRequestResponse] {
					return c.GetRequest
				})
			if err != nil {
				return err
			}
			return writeRequest(g.stdout, sformat, g.l(), res.GetRequest())
		}),
	}
	show.Flags().StringVar(&sid, "id", "", "request id (required)")
	show.Flags().StringVar(&sformat, "format", formatTable, "table or json")
	_ = show.MarkFlagRequired("id")

	var state, lformat string
	var overdue bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List the requests the caller may see, with due dates (overdue marked)",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(lformat, formatTable, formatCSV, formatJSON); err != nil {
				return err
			}
			res, err := requestCall(cmd.Context(), g, readPolicy, "request list", &v1.ListRequestsRequest{State: state, Overdue: overdue},
				func(c cloudledgerv1connect.RequestServiceClient) rpc[v1.ListRequestsRequest, v1.ListRequestsResponse] {
					return c.ListRequests
				})
			if err != nil {
				return err
			}
			return writeRequests(g.stdout, lformat, g.l(), res.GetRequests())
		}),
	}
	list.Flags().StringVar(&state, "state", "", "only this state: submitted, supervisor_approved, approved, verifying, verified, rejected, fulfilled, cancelled")
	list.Flags().BoolVar(&overdue, "overdue", false, "only requests past the due date of their current step")
	list.Flags().StringVar(&lformat, "format", formatTable, "table, csv or json")

	var month, rformat string
	report := &cobra.Command{
		Use:   "report",
		Short: "The SLA report of a month: steps on time and late per provider, the authority and the supervisor (SH 33–34)",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(rformat, formatTable, formatCSV, formatJSON); err != nil {
				return err
			}
			res, err := requestCall(cmd.Context(), g, readPolicy, "request report", &v1.SLAReportRequest{Month: month},
				func(c cloudledgerv1connect.RequestServiceClient) rpc[v1.SLAReportRequest, v1.SLAReportResponse] {
					return c.SLAReport
				})
			if err != nil {
				return err
			}
			return writeSLA(g.stdout, rformat, g.l(), res)
		}),
	}
	report.Flags().StringVar(&month, "month", "", "YYYY-MM (required)")
	report.Flags().StringVar(&rformat, "format", formatTable, "table, csv or json")
	_ = report.MarkFlagRequired("month")

	cmd.AddCommand(report, submit,
		decide("approve", "approve", "Approve a request (the supervisor: its decision on its cases; the authority: the review)"),
		decide("reject", "reject", "Reject a request, with --reason"),
		decide("cancel", "cancel", "Withdraw a request (its department, or the authority)"),
		decide("confirm", "confirm", "Confirm a test resource verified (its department, SH 19): the formal opening is due 2 working days later"),
		fulfil, show, list, newDeadlinesCommand(g))
	return cmd
}

var requestColumns = []string{"id", "kind", "department", "project", "provider", "item", "resource", "quantity", "resource_kind", "expires", "state", "step", "due", "overdue", "article", "reason"}

func requestFields(r *v1.ResourceRequest) []string {
	od := ""
	if r.GetOverdue() {
		od = "overdue"
	}
	return []string{r.GetId(), r.GetKind(), r.GetDepartment(), r.GetProject(), r.GetProvider(), r.GetItem(), r.GetResource(), r.GetQuantity(),
		r.GetResourceKind(), r.GetExpires(), r.GetState(), r.GetStep(), r.GetDue(), od, r.GetArticle(), r.GetReason()}
}

func writeRequest(w io.Writer, format string, l lang, r *v1.ResourceRequest) error {
	if format == formatJSON {
		row := map[string]any{}
		for i, v := range requestFields(r) {
			row[requestColumns[i]] = v
		}
		row["overdue"] = r.GetOverdue()
		row["needs_supervisor"] = r.GetNeedsSupervisor()
		row["steps"] = r.GetSteps()
		return writeJSON(w, row)
	}
	pairs := [][2]string{}
	heads := map[string]string{"id": "申请编号 Request", "kind": "类型 Kind", "department": "部门 Department", "state": "状态 State",
		"step": "当前环节 Step", "due": "办理期限 Due", "overdue": "逾期 Overdue", "article": "依据 Article"}
	for i, v := range requestFields(r) {
		if v == "" {
			continue
		}
		h := requestColumns[i]
		if zh, ok := heads[h]; ok && l != "en" {
			h = zh
		}
		pairs = append(pairs, [2]string{h, v})
	}
	for _, s := range r.GetSteps() {
		pairs = append(pairs, [2]string{s.GetAt(), strings.TrimSpace(s.GetState() + " " + s.GetActor() + " " + s.GetReason())})
	}
	return renderPairs(w, pairs)
}

func writeRequests(w io.Writer, format string, l lang, list []*v1.ResourceRequest) error {
	switch format {
	case formatCSV:
		rows := make([][]string, 0, len(list))
		for _, r := range list {
			rows = append(rows, requestFields(r))
		}
		return writeCSV(w, requestColumns, rows)
	case formatJSON:
		out := make([]map[string]any, 0, len(list))
		for _, r := range list {
			row := map[string]any{}
			for i, v := range requestFields(r) {
				row[requestColumns[i]] = v
			}
			row["overdue"] = r.GetOverdue()
			out = append(out, row)
		}
		return writeJSON(w, out)
	}
	t := &table{headers: []string{l.h("申请编号", "Request"), l.h("类型", "Kind"), l.h("部门", "Department"), l.h("资源", "Resource"),
		l.h("数量", "Quantity"), l.h("状态", "State"), l.h("当前环节", "Step"), l.h("办理期限", "Due"), l.h("逾期", "Overdue")}}
	for _, r := range list {
		f := requestFields(r)
		od := ""
		if r.GetOverdue() {
			od = l.m("逾期", "overdue")
		}
		t.add(f[0], f[1], f[2], f[6], f[7], f[10], f[11], f[12], od)
	}
	return t.render(w)
}

var slaColumns = []string{"party", "handled", "on_time", "late", "open_overdue"}

func writeSLA(w io.Writer, format string, l lang, res *v1.SLAReportResponse) error {
	rows := make([][]string, 0, len(res.GetRows()))
	for _, r := range res.GetRows() {
		rows = append(rows, []string{r.GetParty(), fmt.Sprint(r.GetHandled()), fmt.Sprint(r.GetOnTime()), fmt.Sprint(r.GetLate()), fmt.Sprint(r.GetOpenOverdue())})
	}
	switch format {
	case formatCSV:
		return writeCSV(w, slaColumns, rows)
	case formatJSON:
		return writeJSON(w, res)
	}
	t := &table{headers: []string{l.h("责任方", "Party"), l.h("办理", "Handled"), l.h("按时", "On time"), l.h("超时", "Late"), l.h("逾期未办", "Open overdue")},
		right: []bool{false, true, true, true, true}}
	for _, r := range rows {
		t.add(r...)
	}
	if err := t.render(w); err != nil {
		return err
	}
	if len(res.GetOverdue()) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	o := &table{headers: []string{l.h("申请编号", "Request"), l.h("环节", "Step"), l.h("责任方", "Party"), l.h("办理期限", "Due"), l.h("办结", "Done")}}
	for _, x := range res.GetOverdue() {
		done := x.GetDone()
		if done == "" {
			done = l.m("未办", "open")
		}
		o.add(x.GetRequest(), x.GetStep(), x.GetParty(), x.GetDue(), done)
	}
	return o.render(w)
}
