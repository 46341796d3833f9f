package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
)

// Accounts (SPEC: Command line; role security) and the access trail (auditor, security).

func accountCall[Req, Res any](ctx context.Context, g *globals, p retryPolicy, what string, msg *Req, pick func(cloudledgerv1connect.AccountServiceClient) rpc[Req, Res]) (*Res, error) {
	return call(ctx, g, p, what, msg, func(ep *endpoint) rpc[Req, Res] { return pick(ep.account) })
}

func newAccountCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "account",
		Short: "Accounts, roles and credentials (账号管理; role security)",
		Long: `Manage accounts (SPEC: Access). Every person or program acts through an account with one
role: authority, supervisor, finance, provider (scoped to --provider), department (scoped to
--department and the departments below it), auditor or security. Changes are line items
naming the acting account; secrets and their hashes never are.`,
		RunE: needSubcommand,
	}
	var id, name, role, department, provider string
	var program bool
	add := &cobra.Command{
		Use:   "add",
		Short: "Add an account; a person's prints its one-time activation code alone on the last line",
		Long: `Add an account (role security). A person's account gets a one-time activation code (valid
72 hours), printed alone on the last line of stdout, once: hand it to the person, who sets
their own password with ` + "`ledgerctl account activate`" + `. --program makes a program's
account instead: no password, tokens from security (account token issue --id).
An account of a privileged role (authority, supervisor, finance, security, auditor) acts only
once a second person confirms it (` + "`account confirm`" + `; SPEC: Access, 三员分立).`,
		Args: cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			res, err := accountCall(cmd.Context(), g, writePolicy, "account add", &v1.AddAccountRequest{Key: g.keyFor("account"), Id: id, Name: name, Role: role, Department: department, Provider: provider, Program: program},
				func(c cloudledgerv1connect.AccountServiceClient) rpc[v1.AddAccountRequest, v1.AddAccountResponse] {
					return c.AddAccount
				})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%s %s (%s) — %s %d\n", g.l().h("已添加账号", "account added"), id, role, g.l().m("台账条目", "line item"), res.GetSeq())
			if res.GetPending() {
				fmt.Fprintln(g.stdout, g.l().m("待第二人确认后方可使用（account confirm）", "waits for a second person's confirmation (account confirm)"))
			}
			if c := res.GetActivationCode(); c != "" {
				fmt.Fprintf(g.stdout, "%s %s:\n%s\n", g.l().m("一次性激活码，有效至", "one-time activation code, valid until"), res.GetActivationExpires(), c)
			}
			return nil
		}),
	}
	af := add.Flags()
	af.StringVar(&id, "id", "", "account id (required)")
	af.StringVar(&name, "name", "", "display name (required)")
	af.StringVar(&role, "role", "", "authority, supervisor, finance, provider, department, auditor or security (required)")
	af.StringVar(&department, "department", "", "the department of a department account")
	af.StringVar(&provider, "provider", "", "the provider of a provider account")
	af.BoolVar(&program, "program", false, "a program's account: tokens from security, no password")
	for _, f := range []string{"id", "name", "role"} {
		_ = add.MarkFlagRequired(f)
	}

	var format string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the accounts with their status and tokens (never a secret)",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, formatTable, formatCSV, formatJSON); err != nil {
				return err
			}
			res, err := accountCall(cmd.Context(), g, readPolicy, "account list", &v1.ListAccountsRequest{},
				func(c cloudledgerv1connect.AccountServiceClient) rpc[v1.ListAccountsRequest, v1.ListAccountsResponse] {
					return c.ListAccounts
				})
			if err != nil {
				return err
			}
			return writeAccounts(g.stdout, format, g.l(), res.GetAccounts())
		}),
	}
	list.Flags().StringVar(&format, "format", formatTable, "table, csv or json")

	status := func(use string, disabled bool) *cobra.Command {
		var sid string
		c := &cobra.Command{
			Use:   use,
			Short: map[bool]string{true: "Disable an account: its tokens and sessions are refused on every node", false: "Re-enable a disabled account"}[disabled],
			Args:  cobra.NoArgs,
			RunE: action(func(cmd *cobra.Command, _ []string) error {
				res, err := accountCall(cmd.Context(), g, writePolicy, "account "+use, &v1.SetAccountStatusRequest{Key: g.keyFor("account"), Id: sid, Disabled: disabled},
					func(c cloudledgerv1connect.AccountServiceClient) rpc[v1.SetAccountStatusRequest, v1.SetAccountStatusResponse] {
						return c.SetAccountStatus
					})
				if err != nil {
					return err
				}
				word := map[bool][2]string{true: {"已停用", "disabled"}, false: {"已启用", "enabled"}}[disabled]
				if res.GetUnchanged() {
					fmt.Fprintf(g.stdout, "%s %s (%s)\n", sid, g.l().h(word[0], word[1]), g.l().m("未变更", "unchanged"))
					return nil
				}
				fmt.Fprintf(g.stdout, "%s %s — %s %d\n", sid, g.l().h(word[0], word[1]), g.l().m("台账条目", "line item"), res.GetSeq())
				return nil
			}),
		}
		c.Flags().StringVar(&sid, "id", "", "account id (required)")
		_ = c.MarkFlagRequired("id")
		return c
	}

	token := &cobra.Command{Use: "token", Short: "Issue and revoke API tokens", RunE: needSubcommand}
	var tid, expires string
	issue := &cobra.Command{
		Use:   "issue",
		Short: "Issue an API token, printed alone on stdout once: your own (signed in), or --id a program account's (security)",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			res, err := accountCall(cmd.Context(), g, writePolicy, "account token issue", &v1.IssueTokenRequest{Key: g.keyFor("account"), Account: tid, Expires: expires},
				func(c cloudledgerv1connect.AccountServiceClient) rpc[v1.IssueTokenRequest, v1.IssueTokenResponse] {
					return c.IssueToken
				})
			if err != nil {
				return err
			}
			fmt.Fprintln(g.stdout, res.GetToken())
			exp := res.GetExpires()
			if exp == "" {
				exp = g.l().m("不过期", "never")
			}
			who := tid
			if who == "" {
				who = g.l().m("本人", "yourself")
			}
			fmt.Fprintf(g.stderr, "%s %s: id %s, %s %s\n", g.l().m("已签发令牌", "token issued for"), who, res.GetTokenId(), g.l().m("到期", "expires"), exp)
			return nil
		}),
	}
	issue.Flags().StringVar(&tid, "id", "", "a program account's id (security); empty: your own token (signed in: ledgerctl signin)")
	issue.Flags().StringVar(&expires, "expires", "", "last day the token is valid, YYYY-MM-DD (default: until revoked)")
	var rid, rtoken string
	revoke := &cobra.Command{
		Use:   "revoke",
		Short: "Revoke an account's tokens (all, or --token-id); refused on every node once applied",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			res, err := accountCall(cmd.Context(), g, writePolicy, "account token revoke", &v1.RevokeTokenRequest{Key: g.keyFor("account"), Account: rid, TokenId: rtoken},
				func(c cloudledgerv1connect.AccountServiceClient) rpc[v1.RevokeTokenRequest, v1.RevokeTokenResponse] {
					return c.RevokeToken
				})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%s %s — %s %d\n", g.l().h("已吊销令牌", "tokens revoked for"), rid, g.l().m("台账条目", "line item"), res.GetSeq())
			return nil
		}),
	}
	revoke.Flags().StringVar(&rid, "id", "", "account id: your own, or (security) anyone's (required)")
	_ = revoke.MarkFlagRequired("id")
	revoke.Flags().StringVar(&rtoken, "token-id", "", "revoke only this token (default: every token of the account)")
	token.AddCommand(issue, revoke)

	password := &cobra.Command{Use: "password", Short: "Your own password", RunE: needSubcommand}
	change := &cobra.Command{
		Use:   "change",
		Short: "Change your own password (signed in): the old and the new password on stdin, one a line",
		Long: `Change your own password, signed in (ledgerctl signin). The old and the new password are read
from stdin, one a line (never flags: a command line is visible to other users of the host).
Policy: at least 8 characters of 3 of the classes lower case, upper case, digits, other. A
wrong old password counts toward the lock; sessions begun before the change end.`,
		Args: cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			lines, err := stdinLines(g, 2)
			if err != nil {
				return err
			}
			res, err := accountCall(cmd.Context(), g, writePolicy, "account password change", &v1.ChangePasswordRequest{Key: g.keyFor("account"), OldPassword: lines[0], NewPassword: lines[1]},
				func(c cloudledgerv1connect.AccountServiceClient) rpc[v1.ChangePasswordRequest, v1.ChangePasswordResponse] {
					return c.ChangePassword
				})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%s — %s %d; %s\n", g.l().h("密码已更改", "password changed"), g.l().m("台账条目", "line item"), res.GetSeq(),
				g.l().m("请重新登录", "sign in again"))
			return nil
		}),
	}
	password.AddCommand(change)

	totp := &cobra.Command{Use: "totp", Short: "Your own TOTP second factor", RunE: needSubcommand}
	totpChange := func(use string, remove bool, short, long string) *cobra.Command {
		return &cobra.Command{
			Use: use, Short: short, Long: long + `
stdin holds your current password on the first line and, where a TOTP key is enrolled, its
current 6-digit code on the second (never flags: a command line is visible to other users of
the host). A wrong password or code counts toward the lock.`,
			Args: cobra.NoArgs,
			RunE: action(func(cmd *cobra.Command, _ []string) error {
				lines, err := stdinLines(g, 1)
				if err != nil {
					return err
				}
				req := &v1.ChangeTOTPRequest{Key: g.keyFor("account"), Password: lines[0], Remove: remove}
				if len(lines) > 1 {
					req.TotpCode = strings.TrimSpace(lines[1])
				}
				res, err := accountCall(cmd.Context(), g, writePolicy, "account totp "+use, req,
					func(c cloudledgerv1connect.AccountServiceClient) rpc[v1.ChangeTOTPRequest, v1.ChangeTOTPResponse] {
						return c.ChangeTOTP
					})
				if err != nil {
					return err
				}
				done := g.l().h("动态口令已启用", "TOTP key enrolled")
				if remove {
					done = g.l().h("动态口令已移除", "TOTP key removed")
				}
				fmt.Fprintf(g.stderr, "%s — %s %d\n", done, g.l().m("台账条目", "line item"), res.GetSeq())
				if u := res.GetTotpUrl(); u != "" {
					fmt.Fprintln(g.stdout, u)
				}
				return nil
			}),
		}
	}
	totp.AddCommand(
		totpChange("enrol", false, "Enrol a TOTP second factor, or replace its key (signed in): prints the new otpauth:// URL once",
			`Enrol a TOTP second factor for your own account, signed in (ledgerctl signin), or replace
the key you have with a new one. The answer is the new key's otpauth:// URL, printed once:
add it to your authenticator app; sign-ins then ask for its code (the old key stops at once).`),
		totpChange("remove", true, "Remove your TOTP second factor (signed in), unless your role requires one",
			`Remove the TOTP second factor of your own account, signed in (ledgerctl signin). Refused
where your role requires one (account totp-roles): replace its key with enrol instead.`))

	var cid string
	confirm := &cobra.Command{
		Use:   "confirm",
		Short: "Confirm a privileged account as the second person (authority; security or auditor for security and auditor accounts)",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			res, err := accountCall(cmd.Context(), g, writePolicy, "account confirm", &v1.ConfirmAccountRequest{Key: g.keyFor("account"), Id: cid},
				func(c cloudledgerv1connect.AccountServiceClient) rpc[v1.ConfirmAccountRequest, v1.ConfirmAccountResponse] {
					return c.ConfirmAccount
				})
			if err != nil {
				return err
			}
			if res.GetUnchanged() {
				fmt.Fprintf(g.stdout, "%s %s (%s)\n", cid, g.l().h("已确认", "confirmed"), g.l().m("未变更", "unchanged"))
				return nil
			}
			fmt.Fprintf(g.stdout, "%s %s — %s %d\n", cid, g.l().h("已确认", "confirmed"), g.l().m("台账条目", "line item"), res.GetSeq())
			return nil
		}),
	}
	confirm.Flags().StringVar(&cid, "id", "", "account id (required)")
	_ = confirm.MarkFlagRequired("id")

	var resetID string
	reset := &cobra.Command{
		Use:   "reset",
		Short: "Give a person's account a new one-time activation code (printed alone on the last line); its password, TOTP key and sessions end",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			res, err := accountCall(cmd.Context(), g, writePolicy, "account reset", &v1.ResetAccountRequest{Key: g.keyFor("account"), Id: resetID},
				func(c cloudledgerv1connect.AccountServiceClient) rpc[v1.ResetAccountRequest, v1.ResetAccountResponse] {
					return c.ResetAccount
				})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%s %s — %s %d\n%s %s:\n%s\n", resetID, g.l().h("已重置", "reset"), g.l().m("台账条目", "line item"), res.GetSeq(),
				g.l().m("一次性激活码，有效至", "one-time activation code, valid until"), res.GetActivationExpires(), res.GetActivationCode())
			return nil
		}),
	}
	reset.Flags().StringVar(&resetID, "id", "", "account id (required)")
	_ = reset.MarkFlagRequired("id")

	var actID string
	var actTOTP bool
	activate := &cobra.Command{
		Use:   "activate",
		Short: "Activate your account: the activation code and a new password on stdin, one a line (no credential needed)",
		Long: `Activate your account with the one-time code security gave you, and set your own password.
stdin holds the code on the first line and the new password on the second. Where your role
requires a TOTP second factor (or with --totp), the answer is its otpauth:// URL, printed
once: add it to your authenticator app; sign-ins then ask for its 6-digit code.`,
		Args: cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			lines, err := stdinLines(g, 2)
			if err != nil {
				return err
			}
			c, err := g.publicConn()
			if err != nil {
				return err
			}
			res, err := unary(cmd.Context(), c, writePolicy, "account activate", &v1.ActivateRequest{Key: g.keyFor("account"), Account: actID, Code: lines[0], Password: lines[1], Totp: actTOTP},
				func(ep *endpoint) rpc[v1.ActivateRequest, v1.ActivateResponse] { return ep.account.Activate })
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stderr, "%s %s — %s %d\n", actID, g.l().h("已激活", "activated"), g.l().m("台账条目", "line item"), res.GetSeq())
			if u := res.GetTotpUrl(); u != "" {
				fmt.Fprintln(g.stdout, u)
			}
			return nil
		}),
	}
	activate.Flags().StringVar(&actID, "id", "", "your account id (required)")
	activate.Flags().BoolVar(&actTOTP, "totp", false, "enrol a TOTP second factor even where the role does not require one")
	_ = activate.MarkFlagRequired("id")

	whoami := &cobra.Command{
		Use:   "whoami",
		Short: "Say which account, role and scope the credential acts as",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			res, err := accountCall(cmd.Context(), g, readPolicy, "account whoami", &v1.WhoAmIRequest{},
				func(c cloudledgerv1connect.AccountServiceClient) rpc[v1.WhoAmIRequest, v1.WhoAmIResponse] {
					return c.WhoAmI
				})
			if err != nil {
				return err
			}
			scope := res.GetDepartment() + res.GetProvider()
			fmt.Fprintf(g.stdout, "%s %s %s\n", res.GetAccount(), res.GetRole(), scope)
			return nil
		}),
	}
	var totpRoles string
	totpRolesCmd := &cobra.Command{
		Use:   "totp-roles",
		Short: "Require a TOTP second factor of every account of these roles (--roles a,b; empty: none)",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			var roles []string
			for _, r := range strings.Split(totpRoles, ",") {
				if r = strings.TrimSpace(r); r != "" {
					roles = append(roles, r)
				}
			}
			res, err := accountCall(cmd.Context(), g, writePolicy, "account totp-roles", &v1.SetTOTPRolesRequest{Key: g.keyFor("account"), Roles: roles},
				func(c cloudledgerv1connect.AccountServiceClient) rpc[v1.SetTOTPRolesRequest, v1.SetTOTPRolesResponse] {
					return c.SetTOTPRoles
				})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%s: %s — %s %d\n", g.l().h("须动态口令的角色", "roles requiring TOTP"), totpRoles, g.l().m("台账条目", "line item"), res.GetSeq())
			return nil
		}),
	}
	totpRolesCmd.Flags().StringVar(&totpRoles, "roles", "", "comma-separated roles, e.g. supervisor,finance")
	cmd.AddCommand(add, confirm, reset, activate, list, status("disable", true), status("enable", false), token, password, totp, whoami, totpRolesCmd)
	return cmd
}

// newSigninCommand: `ledgerctl signin --id ID` reads the password (and the TOTP code, where
// the account has one) from stdin and prints a session token that --token and
// CLOUDLEDGER_TOKEN accept, ended like a console session (30 minutes idle).
func newSigninCommand(g *globals) *cobra.Command {
	var id string
	c := &cobra.Command{
		Use:   "signin",
		Short: "Sign in: password (and TOTP code) on stdin; prints a session token for --token / CLOUDLEDGER_TOKEN",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			lines, err := stdinLines(g, 1)
			if err != nil {
				return err
			}
			code := ""
			if len(lines) > 1 {
				code = lines[1]
			}
			c, err := g.publicConn()
			if err != nil {
				return err
			}
			res, err := unary(cmd.Context(), c, writePolicy, "signin", &v1.SignInRequest{Account: id, Password: lines[0], TotpCode: code},
				func(ep *endpoint) rpc[v1.SignInRequest, v1.SignInResponse] { return ep.account.SignIn })
			if err != nil {
				return err
			}
			fmt.Fprintln(g.stdout, res.GetSession())
			fmt.Fprintf(g.stderr, "%s %s (%s), %s %s\n", g.l().m("已登录", "signed in as"), res.GetAccount(), res.GetRole(), g.l().m("空闲超时", "idle until"), res.GetIdleExpires())
			return nil
		}),
	}
	c.Flags().StringVar(&id, "id", "", "your account id (required)")
	_ = c.MarkFlagRequired("id")
	return c
}

// stdinLines reads at least min lines of stdin (at most 4 KiB, up to 3 lines).
func stdinLines(g *globals, min int) ([]string, error) {
	sc := bufio.NewScanner(io.LimitReader(g.stdin, 4096))
	var lines []string
	for len(lines) < 3 && sc.Scan() {
		lines = append(lines, strings.TrimRight(sc.Text(), "\r"))
	}
	if len(lines) < min || lines[0] == "" {
		return nil, usageErr("expected %d line(s) on stdin", min)
	}
	return lines, nil
}

// accountColumns are the CSV columns and JSON fields of account list.
var accountColumns = []string{"id", "name", "role", "department", "provider", "status", "tokens", "password_set", "totp", "locked_until", "program", "created_by", "confirmed_by", "activation_pending"}

func accountFields(a *v1.Account) []string {
	var toks []string
	for _, t := range a.GetTokens() {
		s := t.GetId()
		if t.GetRevoked() {
			s += "(revoked)"
		} else if t.GetExpires() != "" {
			s += "(" + t.GetExpires() + ")"
		}
		toks = append(toks, s)
	}
	return []string{a.GetId(), a.GetName(), a.GetRole(), a.GetDepartment(), a.GetProvider(), a.GetStatus(), strings.Join(toks, " "),
		strconv.FormatBool(a.GetPasswordSet()), strconv.FormatBool(a.GetTotp()), a.GetLockedUntil(),
		strconv.FormatBool(a.GetProgram()), a.GetCreatedBy(), a.GetConfirmedBy(), strconv.FormatBool(a.GetActivationPending())}
}

func writeAccounts(w io.Writer, format string, l lang, list []*v1.Account) error {
	switch format {
	case formatCSV:
		recs := make([][]string, 0, len(list))
		for _, a := range list {
			recs = append(recs, accountFields(a))
		}
		return writeCSV(w, accountColumns, recs)
	case formatJSON:
		out := make([]map[string]string, 0, len(list))
		for _, a := range list {
			row := map[string]string{}
			for i, v := range accountFields(a) {
				row[accountColumns[i]] = v
			}
			out = append(out, row)
		}
		return writeJSON(w, out)
	}
	t := &table{headers: []string{l.h("账号", "Account"), l.h("名称", "Name"), l.h("角色", "Role"), l.h("部门", "Department"),
		l.h("云服务商", "Provider"), l.h("状态", "Status"), l.h("令牌", "Tokens"), l.h("密码", "Password"), l.h("锁定至", "Locked until")}}
	for _, a := range list {
		f := accountFields(a)
		t.add(f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[9])
	}
	return t.render(w)
}

func newAccessCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "access",
		Short: "The access trail: every sign-in, call and export (访问日志; roles auditor, security)",
		RunE:  needSubcommand,
	}
	var from, to, account, result, format string
	log := &cobra.Command{
		Use:   "log",
		Short: "List the access trail",
		Long: `List the access trail, oldest first: time, account, role, source address, node, procedure,
target, result. --from and --to are inclusive days (Asia/Shanghai); --result ok, denied
(refused by role or scope) or failed (any other error). --format csv has the columns
` + strings.Join(accessColumns, ",") + ` (a UTF-8 BOM first, for Excel).`,
		Args: cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, formatTable, formatCSV, formatJSON); err != nil {
				return err
			}
			var recs []*v1.AccessRecord
			var after uint64
			for {
				res, err := accountCall(cmd.Context(), g, readPolicy, "access log", &v1.AccessLogRequest{From: from, To: to, Account: account, Result: result, AfterSeq: after, Limit: 10_000},
					func(c cloudledgerv1connect.AccountServiceClient) rpc[v1.AccessLogRequest, v1.AccessLogResponse] {
						return c.AccessLog
					})
				if err != nil {
					return err
				}
				recs = append(recs, res.GetRecords()...)
				if after = res.GetNextSeq(); after == 0 {
					break
				}
			}
			return writeAccessLog(g.stdout, format, g.l(), recs)
		}),
	}
	f := log.Flags()
	f.StringVar(&from, "from", "", "first day, YYYY-MM-DD")
	f.StringVar(&to, "to", "", "last day, YYYY-MM-DD")
	f.StringVar(&account, "account", "", "only this account's records")
	f.StringVar(&result, "result", "", "ok, denied or failed")
	f.StringVar(&format, "format", formatTable, "table, csv or json")
	var cluster bool
	var archives string
	verify := &cobra.Command{
		Use:   "verify [--cluster | --archive DIR]",
		Short: "Re-check the access trail's hash chain; prints the record count and head hash",
		Long: `Re-check the access trail's hash chain on the node answering, and print its record count
and head hash. With --cluster every node re-checks its own copy (the members as cluster status
names them, or the --server list when the role may not read it), and the copies are compared
record by record up to the shortest: a node whose state file was rewritten consistently still
verifies on its own, but not against the others.

With --archive, check a node's archives of access records (DIR/access-archive of its data
directory, or a copy) here, without asking any node: every file's checksum and chain, and
that each continues from the one before; the last record's hash it prints is the hash the
node's live trail continues from.`,
		Args: cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if archives != "" {
				return verifyAccessArchives(g, archives)
			}
			if cluster {
				return verifyTrailCluster(cmd.Context(), g)
			}
			res, err := accountCall(cmd.Context(), g, readPolicy, "access verify", &v1.VerifyAccessTrailRequest{},
				func(c cloudledgerv1connect.AccountServiceClient) rpc[v1.VerifyAccessTrailRequest, v1.VerifyAccessTrailResponse] {
					return c.VerifyAccessTrail
				})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%s: %d %s, head %s\n", g.l().h("访问日志完整", "access trail intact"), res.GetRecords(), g.l().m("条记录", "records"), res.GetHeadHash())
			return nil
		}),
	}
	verify.Flags().BoolVar(&cluster, "cluster", false, "compare every node's copy of the trail")
	verify.Flags().StringVar(&archives, "archive", "", "a directory of access-trail archives (a node's DIR/access-archive) to check offline")
	cmd.AddCommand(log, verify)
	return cmd
}

// verifyTrailCluster has every node verify its own copy of the trail, then compares the
// copies at the shortest one's last record (the trail grows while we ask: each call is
// recorded, so the heads themselves differ; a record's hash names everything before it).
func verifyTrailCluster(ctx context.Context, g *globals) error {
	c, err := g.conn()
	if err != nil {
		return err
	}
	urls := []string{}
	if st, err := call(ctx, g, readPolicy, "cluster status", &v1.StatusRequest{},
		func(ep *endpoint) rpc[v1.StatusRequest, v1.StatusResponse] { return ep.cluster.Status }); err == nil {
		for _, n := range st.GetNodes() {
			urls = append(urls, n.GetHttpUrl())
		}
	} else {
		for _, ep := range c.endpoints {
			urls = append(urls, ep.url)
		}
	}
	tc, _ := tlsClientConfig(g.ca)
	type copyOf struct {
		url     string
		records uint64
		hash    string
		err     error
	}
	var copies []copyOf
	short := uint64(0)
	for _, u := range urls {
		nc := newClient([]string{u}, g.token, true, g.timeout, tc, g.stderr) // answered from the node's own state
		res, err := unary(ctx, nc, readPolicy, "access verify", &v1.VerifyAccessTrailRequest{},
			func(ep *endpoint) rpc[v1.VerifyAccessTrailRequest, v1.VerifyAccessTrailResponse] {
				return ep.account.VerifyAccessTrail
			})
		cp := copyOf{url: u, err: err}
		if err == nil {
			cp.records = res.GetRecords()
			if short == 0 || cp.records < short {
				short = cp.records
			}
		}
		copies = append(copies, cp)
	}
	t := &table{headers: []string{g.l().h("节点", "Node"), g.l().h("记录数", "Records"), g.l().h("第 N 条的哈希", "Hash of record N"), g.l().h("结果", "Result")}}
	bad := 0
	want := ""
	for i := range copies {
		cp := &copies[i]
		if cp.err == nil && short > 0 {
			nc := newClient([]string{cp.url}, g.token, true, g.timeout, tc, g.stderr)
			res, err := unary(ctx, nc, readPolicy, "access log", &v1.AccessLogRequest{AfterSeq: short - 1, Limit: 1},
				func(ep *endpoint) rpc[v1.AccessLogRequest, v1.AccessLogResponse] { return ep.account.AccessLog })
			switch {
			case err != nil:
				cp.err = err
			case len(res.GetRecords()) != 1:
				cp.err = fmt.Errorf("record %d missing", short)
			default:
				cp.hash = res.GetRecords()[0].GetHash()
				if want == "" {
					want = cp.hash
				}
			}
		}
		result := g.l().h("一致", "agrees")
		switch {
		case cp.err != nil:
			result, bad = "✗ "+oneLine(cp.err.Error()), bad+1
		case cp.hash != want:
			result, bad = "✗ "+g.l().h("与其他节点不一致", "differs from the others"), bad+1
		}
		t.add(cp.url, fmt.Sprint(cp.records), cp.hash, result)
	}
	if err := t.render(g.stdout); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "%s N = %d\n", g.l().m("比较至第", "compared up to record"), short)
	if bad > 0 {
		return &cliError{code: string(errcode.TrailBroken), exit: exitFailure, message: fmt.Sprintf("%d of %d nodes do not hold the same access trail", bad, len(copies))}
	}
	return nil
}

var accessColumns = []string{"seq", "time", "account", "role", "address", "node", "procedure", "target", "result", "hash"}

func accessFields(r *v1.AccessRecord) []string {
	return []string{strconv.FormatUint(r.GetSeq(), 10), r.GetTime(), r.GetAccount(), r.GetRole(), r.GetAddress(), r.GetNode(),
		r.GetProcedure(), r.GetTarget(), r.GetResult(), r.GetHash()}
}

func writeAccessLog(w io.Writer, format string, l lang, recs []*v1.AccessRecord) error {
	switch format {
	case formatCSV:
		rows := make([][]string, 0, len(recs))
		for _, r := range recs {
			rows = append(rows, accessFields(r))
		}
		return writeCSV(w, accessColumns, rows)
	case formatJSON:
		out := make([]map[string]string, 0, len(recs))
		for _, r := range recs {
			row := map[string]string{}
			for i, v := range accessFields(r) {
				row[accessColumns[i]] = v
			}
			out = append(out, row)
		}
		return writeJSON(w, out)
	}
	t := &table{headers: []string{"#", l.h("时间", "Time"), l.h("账号", "Account"), l.h("角色", "Role"), l.h("来源地址", "Address"),
		l.h("节点", "Node"), l.h("操作", "Procedure"), l.h("对象", "Target"), l.h("结果", "Result")}, right: []bool{true}}
	for _, r := range recs {
		f := accessFields(r)
		t.add(f[0], f[1], f[2], f[3], f[4], f[5], shortName(f[6]), f[7], f[8])
	}
	return t.render(w)
}

func shortName(procedure string) string {
	if i := strings.LastIndexByte(procedure, '/'); i >= 0 {
		return procedure[i+1:]
	}
	return procedure
}
