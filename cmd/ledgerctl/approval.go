package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"

	"github.com/spf13/cobra"

	"github.com/cloudledger/cloudledger/errcode"
)

func newApprovalCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "approval",
		Short: "Supervisor approvals of quota overruns (经信审批)",
		RunE:  needSubcommand,
	}
	var department, class, ceiling, ref, expires string
	grant := &cobra.Command{
		Use:   "grant",
		Short: "Record a supervisor approval: department D may allocate up to CEILING in quota class C",
		Long: `Record a supervisor approval (经信主管部门审批) for a department and quota class: allocations
and expansions that take the department's allocation A past 120 % of its quota are accepted
up to the ceiling, until --expires (the end of that day; default: until revoked). --ref is
the approval document's reference, e.g. 经信审〔2025〕12号. The class must be one a catalog
item or a project quota uses (unknown_quota_class otherwise). A grant replaces the approval
in force for the department and class; the command says which one, and warns when the new
ceiling is below what the department holds (the overrun report then shows a violation).`,
		Args: cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			before, err := g.approvalInForce(cmd.Context(), department, class)
			if err != nil {
				return err
			}
			c := approvalCommand(g.keyFor("approval"), department, class, ceiling, ref, expires)
			if err := g.submitAndSay(cmd.Context(), "approval grant", c, approvalFlags,
				fmt.Sprintf("%s %s/%s ≤ %s (%s)", g.l().h("审批", "approval"), department, class, ceiling, ref)); err != nil {
				return err
			}
			l := g.l()
			if before != nil && before.GetRef() != ref {
				fmt.Fprintf(g.stdout, "%s %s/%s ≤ %s (%s)\n", l.m("替换原审批", "replaces the approval"), before.GetDepartment(), before.GetQuotaClass(), before.GetCeiling(), before.GetRef())
			} else if before != nil && before.GetCeiling() != ceiling {
				fmt.Fprintf(g.stdout, "%s %s → %s\n", l.m("上限变更", "ceiling changed"), before.GetCeiling(), ceiling)
			}
			return g.warnViolation(cmd.Context(), department, class)
		}),
	}
	f := grant.Flags()
	f.StringVar(&department, "department", "", "department id (required)")
	f.StringVar(&class, "class", "", "quota class, e.g. vcpu (required)")
	f.StringVar(&ceiling, "ceiling", "", "the largest allocation A approved, a decimal (required)")
	f.StringVar(&ref, "ref", "", "reference of the approval document (required)")
	f.StringVar(&expires, "expires", "", "last day the approval is in force, YYYY-MM-DD (default: until revoked)")
	for _, name := range []string{"department", "class", "ceiling", "ref"} {
		_ = grant.MarkFlagRequired(name)
	}
	var rDepartment, rClass, rRef string
	revoke := &cobra.Command{
		Use:   "revoke",
		Short: "End the approval in force for a department and quota class",
		Long: `End the approval in force for a department and quota class; --ref must name it (the
document being withdrawn), unknown_approval otherwise. Later allocations past 120 % need a
new approval; the overrun report shows what the department holds meanwhile.`,
		Args: cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			c := &v1.Command{Key: g.keyFor("approval-revoke"), Body: &v1.Command_ApprovalRevoke{ApprovalRevoke: &v1.ApprovalRevoke{
				Department: rDepartment, QuotaClass: rClass, Ref: rRef}}}
			if err := g.submitAndSay(cmd.Context(), "approval revoke", c, approvalFlags,
				fmt.Sprintf("%s %s/%s (%s)", g.l().h("撤销审批", "approval revoked"), rDepartment, rClass, rRef)); err != nil {
				return err
			}
			return g.warnViolation(cmd.Context(), rDepartment, rClass)
		}),
	}
	rf := revoke.Flags()
	rf.StringVar(&rDepartment, "department", "", "department id (required)")
	rf.StringVar(&rClass, "class", "", "quota class (required)")
	rf.StringVar(&rRef, "ref", "", "reference of the approval being revoked (required)")
	for _, name := range []string{"department", "class", "ref"} {
		_ = revoke.MarkFlagRequired(name)
	}
	var format string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the approvals: in force, expired and revoked",
		Long: `List every supervisor approval on the ledger with its status as of the ledger's clock:
active, expired (past --expires) or revoked. --format csv has the columns
` + strings.Join(approvalColumns, ",") + `; json the same fields.`,
		Args: cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, formatTable, formatCSV, formatJSON); err != nil {
				return err
			}
			res, err := g.listApprovals(cmd.Context())
			if err != nil {
				return err
			}
			return writeApprovals(g.stdout, format, g.l(), res.GetApprovals())
		}),
	}
	list.Flags().StringVar(&format, "format", formatTable, "table, csv or json")
	cmd.AddCommand(grant, revoke, list)
	return cmd
}

// approvalColumns are the CSV columns and JSON fields of approval list.
var approvalColumns = []string{"department", "quota_class", "ceiling", "ref", "expires", "status", "granted_by", "granted_at", "revoked_by", "revoked_at"}

func approvalFields(a *v1.Approval) []string {
	return []string{a.GetDepartment(), a.GetQuotaClass(), a.GetCeiling(), a.GetRef(), a.GetExpires(), a.GetStatus(),
		a.GetGrantedBy(), a.GetGrantedAt(), a.GetRevokedBy(), a.GetRevokedAt()}
}

func writeApprovals(w io.Writer, format string, l lang, list []*v1.Approval) error {
	switch format {
	case formatCSV:
		recs := make([][]string, 0, len(list))
		for _, a := range list {
			recs = append(recs, approvalFields(a))
		}
		return writeCSV(w, approvalColumns, recs)
	case formatJSON:
		out := make([]map[string]string, 0, len(list))
		for _, a := range list {
			row := map[string]string{}
			for i, v := range approvalFields(a) {
				row[approvalColumns[i]] = v
			}
			out = append(out, row)
		}
		return writeJSON(w, out)
	}
	if len(list) == 0 {
		_, err := io.WriteString(w, l.m("无审批", "no approvals")+"\n")
		return err
	}
	status := map[string]string{"active": "有效", "expired": "已过期", "revoked": "已撤销"}
	t := &table{headers: []string{l.h("部门", "Department"), l.h("配额类别", "Quota class"), l.h("批准上限", "Ceiling"),
		l.h("批准文号", "Ref"), l.h("有效期至", "Expires"), l.h("状态", "Status"), l.h("批准人", "Granted by"), l.h("批准时间", "Granted at")},
		right: []bool{false, false, true, false, false, false, false, false}}
	for _, a := range list {
		st := a.GetStatus()
		if l != "en" {
			st = status[st] + " " + st
		}
		t.add(a.GetDepartment(), a.GetQuotaClass(), a.GetCeiling(), a.GetRef(), a.GetExpires(), st, a.GetGrantedBy(), a.GetGrantedAt())
	}
	return t.render(w)
}

func (g *globals) listApprovals(ctx context.Context) (*v1.ListApprovalsResponse, error) {
	return call(ctx, g, readPolicy, "approval list", &v1.ListApprovalsRequest{},
		func(ep *endpoint) rpc[v1.ListApprovalsRequest, v1.ListApprovalsResponse] {
			return ep.ledger.ListApprovals
		})
}

// approvalInForce is the active approval of (department, class), nil if none.
func (g *globals) approvalInForce(ctx context.Context, department, class string) (*v1.Approval, error) {
	res, err := g.listApprovals(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range res.GetApprovals() {
		if a.GetDepartment() == department && a.GetQuotaClass() == class && a.GetStatus() == "active" {
			return a, nil
		}
	}
	return nil, nil
}

// warnViolation says on stderr when (department, class) is now a violation of the overrun
// report: above 120 % without an approval that covers it.
func (g *globals) warnViolation(ctx context.Context, department, class string) error {
	res, err := call(ctx, g, readPolicy, "quota overruns", &v1.QuotaOverrunsRequest{},
		func(ep *endpoint) rpc[v1.QuotaOverrunsRequest, v1.QuotaOverrunsResponse] {
			return ep.ledger.QuotaOverruns
		})
	if err != nil {
		return nil // the write succeeded; the warning is a courtesy
	}
	for _, o := range res.GetOverruns() {
		if o.GetDepartment() == department && o.GetQuotaClass() == class && o.GetStatus() == "violation" {
			fmt.Fprintf(g.stderr, "%s: %s/%s %s %s, %s %s (%s)\n", g.l().m("警告", "warning"), department, class,
				g.l().m("已分配", "holds"), o.GetAllocated(), g.l().m("超过配额120%且无有效审批", "above 120 % of its quota with no approval covering it"),
				o.GetQuota(), "violation")
		}
	}
	return nil
}

// approvalCommand is the GrantApproval of command-line values; the ledger checks them.
func approvalCommand(key, department, class, ceiling, ref, expires string) *v1.Command {
	return &v1.Command{Key: key, Body: &v1.Command_ApprovalGrant{ApprovalGrant: &v1.ApprovalGrant{
		Department: department, QuotaClass: class, Ceiling: ceiling, Ref: ref, Expires: expires}}}
}

// approvalFlags names the flag of each field of a GrantApproval.
var approvalFlags = map[string]string{"quota_class": "class"}

// submitAndSay applies one command of a write command line and prints what it did:
// "<what>: recorded as line item N". The ledger checks the values; a value it refuses
// without looking at its state (a bad number, a missing field) is a usage error (exit 2)
// naming the flag (flags maps a field to its flag where the names differ).
func (g *globals) submitAndSay(ctx context.Context, call string, c *v1.Command, flags map[string]string, what string) error {
	r, err := g.submitOne(ctx, call, c)
	if err != nil {
		return flagError(err, flags)
	}
	_, err = fmt.Fprintf(g.stdout, "%s: %s\n", what, resultText(g.l(), r))
	return err
}

// inputCodes are the codes of values refused for their shape alone.
var inputCodes = map[string]bool{string(errcode.Malformed): true, string(errcode.MissingField): true, string(errcode.InvalidValue): true,
	string(errcode.InvalidTime): true, string(errcode.InvalidDate): true, string(errcode.InvalidQuantity): true, string(errcode.TooLarge): true,
	string(errcode.InvalidBandTable): true, string(errcode.InvalidScore): true}

// flagError turns the ledger's refusal of a flag's value into a usage error naming the flag.
func flagError(err error, flags map[string]string) error {
	ce := callFailure(err)
	if ce == nil {
		errors.As(err, &ce)
	}
	if ce == nil || !inputCodes[ce.code] || ce.field == "" {
		return err
	}
	out := *ce
	if f, ok := flags[out.field]; ok {
		out.field = f
	}
	out.exit = exitUsage
	return &out
}
