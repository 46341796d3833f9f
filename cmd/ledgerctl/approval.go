package main

import (
	"context"
	"errors"
	"fmt"

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
	var department, class, ceiling, ref string
	grant := &cobra.Command{
		Use:   "grant",
		Short: "Record a supervisor approval: department D may allocate up to CEILING in quota class C",
		Long: `Record a supervisor approval (经信主管部门审批) for a department and quota class: allocations
and expansions that take the department's allocation A past 120 % of its quota are accepted
up to the ceiling. --ref is the approval document's reference, e.g. 经信审〔2025〕12号.`,
		Args: cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			c := approvalCommand(g.keyFor("approval"), department, class, ceiling, ref)
			return g.submitAndSay(cmd.Context(), "approval grant", c, approvalFlags,
				fmt.Sprintf("%s %s/%s ≤ %s (%s)", g.l().h("审批", "approval"), department, class, ceiling, ref))
		}),
	}
	f := grant.Flags()
	f.StringVar(&department, "department", "", "department id (required)")
	f.StringVar(&class, "class", "", "quota class, e.g. vcpu (required)")
	f.StringVar(&ceiling, "ceiling", "", "the largest allocation A approved, a decimal (required)")
	f.StringVar(&ref, "ref", "", "reference of the approval document (required)")
	for _, name := range []string{"department", "class", "ceiling", "ref"} {
		_ = grant.MarkFlagRequired(name)
	}
	cmd.AddCommand(grant)
	return cmd
}

// approvalCommand is the GrantApproval of command-line values; the ledger checks them.
func approvalCommand(key, department, class, ceiling, ref string) *v1.Command {
	return &v1.Command{Key: key, Body: &v1.Command_ApprovalGrant{ApprovalGrant: &v1.ApprovalGrant{
		Department: department, QuotaClass: class, Ceiling: ceiling, Ref: ref}}}
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
