package main

import (
	"strings"
	"time"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"

	"github.com/spf13/cobra"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
)

func newResourceCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "resource",
		Short: "Cloud resources (云资源)",
		RunE:  needSubcommand,
	}
	var resource, expires, requestedAt string
	extend := &cobra.Command{
		Use:   "extend",
		Short: "Move the expiry of a time-limited resource (延期)",
		Long: `Move the expiry of a time-limited resource (test, dev, emergency, temporary). --expires is
a date YYYY-MM-DD (the end of that day, Asia/Shanghai) or an RFC 3339 time with an offset.
The extension is an extend line item effective at --requested-at (default: now); the ledger
accepts it only if requested at least 15 working days before the current expiry
(extension_too_late) and by at most the kind's maximum duration (extension_too_long).`,
		Args: cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			at := requestedAt
			if at == "" {
				at = time.Now().In(calendar.Shanghai).Format(time.RFC3339)
			}
			if strings.TrimSpace(expires) == "" {
				return inputErr(errcode.MissingField, "expires", "the new expiry is required")
			}
			c := extendCommand(g.keyFor("extend"), resource, expires, at)
			return g.submitAndSay(cmd.Context(), "resource extend", c, map[string]string{"time": "requested-at"},
				g.l().h("资源", "resource")+" "+resource+" → "+strings.TrimSpace(expires))
		}),
	}
	f := extend.Flags()
	f.StringVar(&resource, "resource", "", "resource id (required)")
	f.StringVar(&expires, "expires", "", "new expiry: YYYY-MM-DD (end of that day) or RFC 3339 time (required)")
	f.StringVar(&requestedAt, "requested-at", "", "when the extension was requested, RFC 3339 with an offset (default now)")
	_ = extend.MarkFlagRequired("resource")
	_ = extend.MarkFlagRequired("expires")
	cmd.AddCommand(extend)
	return cmd
}

// extendCommand is the extend event of command-line values: op extend at requestedAt on
// resource, with the new expiry; it names no department, project or item (the resource has
// them). The ledger checks the values.
func extendCommand(key, resource, expires, requestedAt string) *v1.Command {
	return &v1.Command{Key: key, Body: &v1.Command_Event{Event: &v1.Event{Op: "extend", Time: strings.TrimSpace(requestedAt),
		Resource: strings.TrimSpace(resource), Expires: strings.TrimSpace(expires)}}}
}
