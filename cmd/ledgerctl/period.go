package main

import (
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/spf13/cobra"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
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
			return g.submitAndSay(cmd.Context(), "period close", c, nil, g.l().h("账期", "period")+" "+args[0])
		}),
	})
	return cmd
}

// periodCommand is the PeriodClose of a YYYY-MM argument.
func periodCommand(key, month string) (*v1.Command, error) {
	m, err := calendar.ParseMonth(month)
	if err != nil {
		return nil, inputErr(errcode.InvalidValue, "month", "must be a month YYYY-MM, got %q", month)
	}
	return &v1.Command{Key: key, Body: &v1.Command_PeriodClose{PeriodClose: &v1.PeriodClose{Month: m.String()}}}, nil
}
