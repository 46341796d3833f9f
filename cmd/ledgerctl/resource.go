package main

import (
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	"github.com/cloudledger/cloudledger/interchange"
	"github.com/cloudledger/cloudledger/ledger"
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
			c, err := extendCommand(g.keyFor("extend"), resource, expires, at)
			if err != nil {
				return err
			}
			return g.submitAndSay(cmd.Context(), "resource extend", c,
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

// extendCommand builds and checks an extend event: op extend at requestedAt on resource,
// with the new expiry; it names no department, project or item (the resource has them).
func extendCommand(key, resource, expires, requestedAt string) (ledger.Command, error) {
	get := func(name string) string {
		switch name {
		case "op":
			return string(ledger.OpExtend)
		case "time":
			return requestedAt
		case "resource":
			return resource
		case "expires":
			return expires
		}
		return ""
	}
	e, perr := interchange.ParseEvent(get)
	if perr != nil {
		return ledger.Command{}, inputErr(perr.Code, flagName(perr.Field), "%s", perr.Message)
	}
	if e.Expires.IsZero() {
		return ledger.Command{}, inputErr(errcode.MissingField, "expires", "the new expiry is required")
	}
	c := ledger.Command{Key: key, Body: e}
	if err := ledger.ValidateCommand(c); err != nil {
		return ledger.Command{}, inputErr(err.Code, flagName(err.Field), "%s", err.Message)
	}
	return c, nil
}

// flagName is the flag of resource extend that sets an event field.
func flagName(field string) string {
	if field == "time" {
		return "requested-at"
	}
	return field
}
