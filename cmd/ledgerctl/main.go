// Command ledgerctl is CloudLedger's command-line client (SPEC.md, "Command line"). It talks
// to any node of a cluster over Connect, follows the leader (the node forwards), and prints
// a one-line reason with a stable error code on failure.
//
// Exit status: 0 on success, 1 when the ledger (or a node) refused or failed the request or
// an input file is bad, 2 on a usage error (unknown flag, missing argument, malformed flag
// value).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

// Exit statuses (SPEC.md, "Command line").
const (
	exitOK      = 0
	exitFailure = 1 // refused or failed by the ledger, a node, or a bad input file
	exitUsage   = 2 // the command line itself is wrong
)

// Defaults of the global flags.
const (
	defaultServer    = "http://127.0.0.1:8080"
	defaultTimeout   = 30 * time.Second
	defaultTokenFile = "data/admin.token" // relative to the working directory, where `make run` puts it
	envServer        = "CLOUDLEDGER_SERVER"
	envToken         = "CLOUDLEDGER_TOKEN"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// globals are the values of the global flags, resolved against the environment.
type globals struct {
	server    string
	token     string
	stale     bool
	timeout   time.Duration
	lang      string
	key       string // --key: a fixed idempotency key for a write command
	ca        string // --ca: PEM CA of the nodes' API certificates
	tokenFile string // --token-file

	stdout io.Writer
	stdin  io.Reader // account password set reads the password from it
	stderr io.Writer

	client *client // made on first use, so usage errors never need a server
}

// run executes one ledgerctl command line and returns its exit status. It prints at most
// the command's output on stdout and its diagnostics on stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr, stdin: os.Stdin}
	root := newRootCommand(g)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	ce := asCLIError(err)
	zh := g.lang != "en"
	for _, row := range ce.rows {
		if zh {
			row = localize(row)
		}
		fmt.Fprintln(stderr, row)
	}
	if zh {
		fmt.Fprintln(stderr, errorLine(ce.code, ce.field, withChinese(ce.code, ce.message)))
	} else {
		fmt.Fprintln(stderr, ce.Error())
	}
	return ce.exit
}

func newRootCommand(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "ledgerctl",
		Short: "CloudLedger command-line client (政务云配额与计费台账)",
		Long: `ledgerctl talks to any CloudLedger node given by --server (or CLOUDLEDGER_SERVER); the
node forwards writes and linearizable reads to the leader. With --stale the addressed node
answers a read from its own state.

Exit status: 0 on success; 1 when the ledger refused the request, a node failed, or an input
file is bad; 2 on a usage error. A failure prints one line on stderr:
  ledgerctl: CODE: [FIELD: ]MESSAGE
and a bad import row prints FILE:LINE: FIELD: CODE: MESSAGE.`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return g.resolve(cmd) },
		RunE:              needSubcommand,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.server, "server", defaultServer,
		"API URL of a node, or a comma-separated list to fail over between (env "+envServer+")")
	pf.StringVar(&g.token, "token", "",
		"admin token; prefer --token-file or env "+envToken+", since a command line is visible to other users of the host")
	pf.StringVar(&g.tokenFile, "token-file", "", "file holding the admin token (else env "+envToken+"; for the default local server "+defaultServer+" only, ./"+defaultTokenFile+" if it exists)")
	pf.StringVar(&g.ca, "ca", "", "PEM CA that signed the nodes' API certificates, for https:// servers (default: the system roots)")
	pf.BoolVar(&g.stale, "stale", false, "let the addressed node answer reads from its own state instead of the leader's")
	pf.DurationVar(&g.timeout, "timeout", defaultTimeout, "time limit of each call to a node")
	pf.StringVar(&g.lang, "lang", "zh", "language of table headers and messages: zh (Chinese, then English) or en")
	pf.StringVar(&g.key, "key", "", "idempotency key of a write command (approval, period, resource, calendar load); default a fresh random one. "+
		"Scripts pass a fixed key so that running them again changes nothing")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErr("%v (see %s --help)", err, c.CommandPath())
	})

	root.AddCommand(
		newImportCommand(g),
		newQuotaCommand(g),
		newApprovalCommand(g),
		newPeriodCommand(g),
		newResourceCommand(g),
		newCalendarCommand(g),
		newVerifyCommand(g),
		newBackupCommand(g),
		newChargesCommand(g),
		newBandsCommand(g),
		newSettleCommand(g),
		newBudgetCommand(g),
		newStatementCommand(g),
		newInvoiceCommand(g),
		newClusterCommand(g),
		newCertsCommand(g),
		newLineItemsCommand(g),
		newAccountCommand(g),
		newSigninCommand(g),
		newAccessCommand(g),
		newReadyCommand(g),
		newRequestCommand(g),
		newNoticeCommand(g),
		newUtilisationCommand(g),
		newFindingCommand(g),
		newEvaluationCommand(g),
		newProjectCommand(g),
	)
	return root
}

// resolve applies the environment to flags the user did not give and checks the global flags.
func (g *globals) resolve(cmd *cobra.Command) error {
	flags := cmd.Flags()
	if !flags.Changed("server") {
		if v := strings.TrimSpace(os.Getenv(envServer)); v != "" {
			g.server = v
		}
	}
	if !flags.Changed("token") {
		switch {
		case g.tokenFile != "":
			b, err := os.ReadFile(g.tokenFile)
			if err != nil {
				return usageErr("--token-file: %v", err)
			}
			g.token = strings.TrimSpace(string(b))
		default:
			g.token = strings.TrimSpace(os.Getenv(envToken))
		}
		// The token `make run` wrote is the local demo node's: it is never sent elsewhere.
		if g.token == "" && g.server == defaultServer {
			if b, err := os.ReadFile(defaultTokenFile); err == nil {
				g.token = strings.TrimSpace(string(b))
			}
		}
	}
	if g.lang != "zh" && g.lang != "en" {
		return usageErr("--lang must be zh or en, not %q", g.lang)
	}
	if g.timeout <= 0 {
		return usageErr("--timeout must be positive, not %s", g.timeout)
	}
	if _, err := parseServers(g.server); err != nil {
		return usageErr("--server: %v", err)
	}
	return nil
}

// conn returns the client of the cluster, made on first use.
func (g *globals) conn() (*client, error) {
	if g.client != nil {
		return g.client, nil
	}
	if g.token == "" {
		return nil, &cliError{code: codeUnauthenticated, exit: exitFailure,
			message: "no admin token: give --token-file or set " + envToken + " (./" + defaultTokenFile + " is read for the default local server " + defaultServer + " only)"}
	}
	urls, err := parseServers(g.server)
	if err != nil {
		return nil, usageErr("--server: %v", err)
	}
	tc, err := tlsClientConfig(g.ca)
	if err != nil {
		return nil, usageErr("--ca: %v", err)
	}
	g.client = newClient(urls, g.token, g.stale, g.timeout, tc, g.stderr)
	return g.client, nil
}

// publicConn is a client that presents no account's credential: for the operator's
// ticket-authenticated membership calls, which no account may make.
func (g *globals) publicConn() (*client, error) {
	urls, err := parseServers(g.server)
	if err != nil {
		return nil, usageErr("--server: %v", err)
	}
	tc, err := tlsClientConfig(g.ca)
	if err != nil {
		return nil, usageErr("--ca: %v", err)
	}
	return newClient(urls, "", g.stale, g.timeout, tc, g.stderr), nil
}

func (g *globals) l() lang { return lang(g.lang) }

// needSubcommand is the RunE of a command that only groups subcommands.
func needSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErr("unknown command %q for %q", args[0], cmd.CommandPath())
	}
	return usageErr("%s needs a subcommand (see %s --help)", cmd.CommandPath(), cmd.CommandPath())
}

// action adapts a command body so that every error it returns is a *cliError; cobra's own
// errors (arguments, required flags) stay plain and count as usage errors.
func action(f func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := f(cmd, args); err != nil {
			return classify(err, func(err error) *cliError {
				return &cliError{code: codeInternal, message: err.Error(), exit: exitFailure}
			})
		}
		return nil
	}
}

// asCLIError classifies the error of a whole command line: command bodies return
// *cliError (see action), so anything else comes from cobra's argument and flag checks and
// is a usage error.
func asCLIError(err error) *cliError {
	return classify(err, func(err error) *cliError { return usageErr("%v", err) })
}

// classify turns err into a *cliError: a *cliError as it is, a failed call by its ledger
// code, an interruption as canceled, anything else through other.
func classify(err error, other func(error) *cliError) *cliError {
	var ce *cliError
	if errors.As(err, &ce) {
		return ce
	}
	if ce := callFailure(err); ce != nil {
		return ce
	}
	if errors.Is(err, context.Canceled) {
		return &cliError{code: codeCanceled, message: "interrupted", exit: exitFailure}
	}
	return other(err)
}
