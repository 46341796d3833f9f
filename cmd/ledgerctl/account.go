package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

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
	add := &cobra.Command{
		Use:   "add",
		Short: "Add an account",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			res, err := accountCall(cmd.Context(), g, writePolicy, "account add", &v1.AddAccountRequest{Id: id, Name: name, Role: role, Department: department, Provider: provider},
				func(c cloudledgerv1connect.AccountServiceClient) rpc[v1.AddAccountRequest, v1.AddAccountResponse] {
					return c.AddAccount
				})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%s %s (%s) — %s %d\n", g.l().h("已添加账号", "account added"), id, role, g.l().m("台账条目", "line item"), res.GetSeq())
			return nil
		}),
	}
	af := add.Flags()
	af.StringVar(&id, "id", "", "account id (required)")
	af.StringVar(&name, "name", "", "display name (required)")
	af.StringVar(&role, "role", "", "authority, supervisor, finance, provider, department, auditor or security (required)")
	af.StringVar(&department, "department", "", "the department of a department account")
	af.StringVar(&provider, "provider", "", "the provider of a provider account")
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
				res, err := accountCall(cmd.Context(), g, writePolicy, "account "+use, &v1.SetAccountStatusRequest{Id: sid, Disabled: disabled},
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
		Short: "Issue an API token; it is printed alone on stdout, once (the ledger keeps its SHA-256 only)",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			res, err := accountCall(cmd.Context(), g, writePolicy, "account token issue", &v1.IssueTokenRequest{Account: tid, Expires: expires},
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
			fmt.Fprintf(g.stderr, "%s %s: id %s, %s %s\n", g.l().m("已签发令牌", "token issued for"), tid, res.GetTokenId(), g.l().m("到期", "expires"), exp)
			return nil
		}),
	}
	issue.Flags().StringVar(&tid, "id", "", "account id (required)")
	issue.Flags().StringVar(&expires, "expires", "", "last day the token is valid, YYYY-MM-DD (default: until revoked)")
	_ = issue.MarkFlagRequired("id")
	var rid, rtoken string
	revoke := &cobra.Command{
		Use:   "revoke",
		Short: "Revoke an account's tokens (all, or --token-id); refused on every node once applied",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			res, err := accountCall(cmd.Context(), g, writePolicy, "account token revoke", &v1.RevokeTokenRequest{Account: rid, TokenId: rtoken},
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
	revoke.Flags().StringVar(&rid, "id", "", "account id (required)")
	revoke.Flags().StringVar(&rtoken, "token-id", "", "revoke only this token (default: every token of the account)")
	_ = revoke.MarkFlagRequired("id")
	token.AddCommand(issue, revoke)

	password := &cobra.Command{Use: "password", Short: "Set a person's password", RunE: needSubcommand}
	var pid string
	var withTOTP bool
	set := &cobra.Command{
		Use:   "set",
		Short: "Set an account's password, read from the first line of stdin",
		Long: `Set an account's password, read from the first line of stdin (never a flag: a command line
is visible to other users of the host). Policy: at least 8 characters of 3 of the classes
lower case, upper case, digits, other; 5 failed sign-ins in a row lock it for 30 minutes.
--totp also enrols a TOTP second factor and prints its otpauth:// URL once.`,
		Args: cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			line, err := bufio.NewReader(io.LimitReader(g.stdin, 4096)).ReadString('\n')
			if err != nil && err != io.EOF {
				return err
			}
			pw := strings.TrimRight(line, "\r\n")
			if pw == "" {
				return usageErr("no password on stdin")
			}
			res, err := accountCall(cmd.Context(), g, writePolicy, "account password set", &v1.SetPasswordRequest{Account: pid, Password: pw, Totp: withTOTP},
				func(c cloudledgerv1connect.AccountServiceClient) rpc[v1.SetPasswordRequest, v1.SetPasswordResponse] {
					return c.SetPassword
				})
			if err != nil {
				return err
			}
			if u := res.GetTotpUrl(); u != "" {
				fmt.Fprintln(g.stdout, u)
			}
			fmt.Fprintf(g.stderr, "%s %s — %s %d\n", g.l().m("已设置密码", "password set for"), pid, g.l().m("台账条目", "line item"), res.GetSeq())
			return nil
		}),
	}
	set.Flags().StringVar(&pid, "id", "", "account id (required)")
	set.Flags().BoolVar(&withTOTP, "totp", false, "also enrol a TOTP second factor (prints its otpauth:// URL once)")
	_ = set.MarkFlagRequired("id")
	password.AddCommand(set)

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
			res, err := accountCall(cmd.Context(), g, writePolicy, "account totp-roles", &v1.SetTOTPRolesRequest{Roles: roles},
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
	cmd.AddCommand(add, list, status("disable", true), status("enable", false), token, password, whoami, totpRolesCmd)
	return cmd
}

// accountColumns are the CSV columns and JSON fields of account list.
var accountColumns = []string{"id", "name", "role", "department", "provider", "status", "tokens", "password_set", "totp", "locked_until"}

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
		strconv.FormatBool(a.GetPasswordSet()), strconv.FormatBool(a.GetTotp()), a.GetLockedUntil()}
}

func writeAccounts(w io.Writer, format string, l lang, list []*v1.Account) error {
	switch format {
	case formatCSV:
		recs := make([][]string, 0, len(list))
		for _, a := range list {
			recs = append(recs, csvSafe(accountFields(a)))
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

// csvSafe keeps a spreadsheet from taking a cell for a formula (=, +, -, @ first): names
// and addresses in the access trail and account list come from outside.
func csvSafe(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			c = "'" + c
		}
		out[i] = c
	}
	return out
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
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Re-check the access trail's hash chain; prints the record count and head hash",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
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
	cmd.AddCommand(log, verify)
	return cmd
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
			rows = append(rows, csvSafe(accessFields(r)))
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
