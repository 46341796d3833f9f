package main

import (
	"github.com/spf13/cobra"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	"github.com/cloudledger/cloudledger/ledger"
)

func newPeriodCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "period",
		Short: "Accounting periods (账期)",
		RunE:  needSubcommand,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "close MONTH",
		Short: "Close a month (YYYY-MM): later line items dated in it are rejected (period_closed)",
		Long: `Close a month (YYYY-MM, Asia/Shanghai). Line items dated in a closed month are rejected
with period_closed; corrections go into an open month as new line items. The month must have
ended (period_not_ended otherwise).`,
		Args: cobra.ExactArgs(1),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			c, err := periodCommand(g.keyFor("period"), args[0])
			if err != nil {
				return err
			}
			return g.submitAndSay(cmd.Context(), "period close", c, g.l().h("账期", "period")+" "+args[0])
		}),
	})
	return cmd
}

// periodCommand builds and checks a ClosePeriod from a YYYY-MM argument.
func periodCommand(key, month string) (ledger.Command, error) {
	m, err := calendar.ParseMonth(month)
	if err != nil {
		return ledger.Command{}, inputErr(errcode.InvalidValue, "month", "must be a month YYYY-MM, got %q", month)
	}
	c := ledger.Command{Key: key, Body: &ledger.ClosePeriod{Month: m}}
	return c, checkCommand(c)
}
