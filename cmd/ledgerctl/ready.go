package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
)

// newReadyCommand asks a node's /readyz (no credential): the compose file's health check,
// and a load balancer's question.
func newReadyCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "ready",
		Short: "Exit 0 if the node (the first --server) is ready: a leader known and its log applied (GET /readyz)",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			urls, err := parseServers(g.server)
			if err != nil {
				return usageErr("--server: %v", err)
			}
			tc, err := tlsClientConfig(g.ca)
			if err != nil {
				return usageErr("--ca: %v", err)
			}
			req, _ := http.NewRequestWithContext(cmd.Context(), http.MethodGet, urls[0]+"/readyz", nil)
			resp, err := newHTTPClient(g.timeout, tc).Do(req)
			if err != nil {
				return &cliError{code: codeUnavailable, exit: exitFailure, message: err.Error()}
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			if resp.StatusCode != http.StatusOK {
				return &cliError{code: codeUnavailable, exit: exitFailure, message: strings.TrimSpace(string(body))}
			}
			fmt.Fprintln(g.stdout, strings.TrimSpace(string(body)))
			return nil
		}),
	}
}
