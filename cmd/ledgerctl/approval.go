package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cloudledger/cloudledger/errcode"
	"github.com/cloudledger/cloudledger/ledger"
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
			c, err := approvalCommand(g.keyFor("approval"), department, class, ceiling, ref)
			if err != nil {
				return err
			}
			return g.submitAndSay(cmd.Context(), "approval grant", c,
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

// approvalCommand builds and checks a GrantApproval from command-line values.
func approvalCommand(key, department, class, ceiling, ref string) (ledger.Command, error) {
	d, err := ledger.ParseDecimal(ceiling)
	if err != nil {
		return ledger.Command{}, inputErr(errcode.InvalidQuantity, "ceiling", "%s", ledgerMessage(err))
	}
	c := ledger.Command{Key: key, Body: &ledger.GrantApproval{Department: department, QuotaClass: class, Ceiling: d, Ref: ref}}
	return c, checkCommand(c)
}

// ledgerMessage is the message of a *errcode.Error without its code, else err's text.
func ledgerMessage(err error) string {
	var le *errcode.Error
	if errors.As(err, &le) {
		return le.Message
	}
	return err.Error()
}

// checkCommand runs the ledger's stateless checks on a command built from flags: a bad
// value is a usage error (exit 2), caught before any call.
func checkCommand(c ledger.Command) error {
	if err := ledger.ValidateCommand(c); err != nil {
		field := err.Field
		if field == "quota_class" {
			field = "class" // the flag's name
		}
		return inputErr(err.Code, field, "%s", err.Message)
	}
	return nil
}

// submitAndSay applies one command of a write command line and prints what it did:
// "<what>: recorded as line item N".
func (g *globals) submitAndSay(ctx context.Context, call string, c ledger.Command, what string) error {
	pc, err := toProto(c, 0)
	if err != nil {
		return err
	}
	r, err := g.submitOne(ctx, call, pc)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(g.stdout, "%s: %s\n", what, resultText(g.l(), r))
	return err
}
