package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"time"

	"connectrpc.com/connect"
	"github.com/pquerna/otp/totp"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/ledger"
)

// accountService is the API of accounts, credentials, sessions and the access trail. Who
// may call what is in authz.go.
type accountService struct{ s *Server }

// actorOf is the account a call acts as: the actor of the line items it writes.
func actorOf(ctx context.Context) string {
	if p := principalOf(ctx); p != nil {
		return p.account.ID
	}
	return "anonymous"
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// lastSeq is the line item a change wrote (its last command writes the public record).
func lastSeq(res ledger.RequestResult) (uint64, bool) {
	if len(res.Items) == 0 {
		return 0, false
	}
	it := res.Items[len(res.Items)-1]
	return it.Seq, it.Unchanged
}

func (h *accountService) AddAccount(ctx context.Context, req *connect.Request[v1.AddAccountRequest]) (*connect.Response[v1.AddAccountResponse], error) {
	m := req.Msg
	res, err := h.s.submitAsCaller(ctx, ledger.Command{Key: "account/add/" + m.GetId(), Body: &ledger.AccountChange{Op: "add", ID: m.GetId(), Name: m.GetName(),
		Role: ledger.Role(m.GetRole()), Department: m.GetDepartment(), Provider: m.GetProvider()}})
	if err != nil {
		return nil, err
	}
	seq, _ := lastSeq(res)
	return connect.NewResponse(&v1.AddAccountResponse{Seq: seq}), nil
}

func (h *accountService) ListAccounts(ctx context.Context, req *connect.Request[v1.ListAccountsRequest]) (*connect.Response[v1.ListAccountsResponse], error) {
	if err := h.s.readBarrier(ctx, req.Header()); err != nil {
		return nil, toConnect(err)
	}
	now := h.s.cfg.Now()
	out := &v1.ListAccountsResponse{}
	for _, a := range h.s.ledger.Accounts() {
		pa := &v1.Account{Id: a.ID, Name: a.Name, Role: string(a.Role), Department: a.Department, Provider: a.Provider, Status: "active"}
		if a.Disabled {
			pa.Status = "disabled"
		}
		for _, t := range h.s.ledger.AccountTokens(a.ID) {
			at := &v1.AccountToken{Id: t.ID, Revoked: t.Revoked}
			if !t.Expires.IsZero() {
				at.Expires = t.Expires.Format(time.RFC3339)
			}
			pa.Tokens = append(pa.Tokens, at)
		}
		if c, ok := h.s.ledger.CredentialsOf(a.ID); ok {
			pa.PasswordSet, pa.Totp = c.PasswordHash != "", c.TOTPSecret != ""
			if c.LockedUntil.After(now) {
				pa.LockedUntil = c.LockedUntil.Format(time.RFC3339)
			}
		}
		out.Accounts = append(out.Accounts, pa)
	}
	return connect.NewResponse(out), nil
}

func (h *accountService) SetAccountStatus(ctx context.Context, req *connect.Request[v1.SetAccountStatusRequest]) (*connect.Response[v1.SetAccountStatusResponse], error) {
	op := "enable"
	if req.Msg.GetDisabled() {
		op = "disable"
	}
	id := req.Msg.GetId()
	res, err := h.s.submitAsCaller(ctx, ledger.Command{Key: "account/" + op + "/" + id + "/" + randomHex(8), Body: &ledger.AccountChange{Op: op, ID: id}})
	if err != nil {
		return nil, err
	}
	seq, unchanged := lastSeq(res)
	return connect.NewResponse(&v1.SetAccountStatusResponse{Seq: seq, Unchanged: unchanged}), nil
}

// TokenPrefix marks CloudLedger's tokens, so that secret scanners and people recognise one.
const TokenPrefix = "clt_"

func (h *accountService) IssueToken(ctx context.Context, req *connect.Request[v1.IssueTokenRequest]) (*connect.Response[v1.IssueTokenResponse], error) {
	m := req.Msg
	var expires time.Time
	if m.GetExpires() != "" {
		d, err := calendar.ParseDate(m.GetExpires())
		if err != nil {
			return nil, detailError(errcode.Errf(errcode.InvalidDate, "expires", "%v", err), 0)
		}
		expires = d.AddDays(1).Start() // the end of that day in Asia/Shanghai
		if !expires.After(h.s.cfg.Now()) {
			return nil, detailError(errcode.Errf(errcode.InvalidValue, "expires", "%s is past", d), 0)
		}
	}
	token := TokenPrefix + randomHex(32)
	id := randomHex(4)
	res, err := h.s.submitAsCaller(ctx,
		ledger.Command{Body: &ledger.CredentialSecret{Op: ledger.CredTokenIssued, Account: m.GetAccount(), TokenID: id, Secret: tokenHash(token), Expires: expires}},
		ledger.Command{Key: "token/" + m.GetAccount() + "/" + id, Body: &ledger.CredentialChange{Op: ledger.CredTokenIssued, Account: m.GetAccount(), TokenID: id, Expires: expires}})
	if err != nil {
		return nil, err
	}
	seq, _ := lastSeq(res)
	out := &v1.IssueTokenResponse{Token: token, TokenId: id, Seq: seq}
	if !expires.IsZero() {
		out.Expires = expires.Format(time.RFC3339)
	}
	return connect.NewResponse(out), nil
}

func (h *accountService) RevokeToken(ctx context.Context, req *connect.Request[v1.RevokeTokenRequest]) (*connect.Response[v1.RevokeTokenResponse], error) {
	m := req.Msg
	res, err := h.s.submitAsCaller(ctx, ledger.Command{Key: "token-revoke/" + m.GetAccount() + "/" + randomHex(8),
		Body: &ledger.CredentialChange{Op: ledger.CredTokenRevoked, Account: m.GetAccount(), TokenID: m.GetTokenId()}})
	if err != nil {
		return nil, err
	}
	seq, _ := lastSeq(res)
	return connect.NewResponse(&v1.RevokeTokenResponse{Seq: seq}), nil
}

func (h *accountService) SetPassword(ctx context.Context, req *connect.Request[v1.SetPasswordRequest]) (*connect.Response[v1.SetPasswordResponse], error) {
	m := req.Msg
	if err := checkPasswordPolicy(m.GetPassword()); err != nil {
		return nil, detailError(err, 0)
	}
	if _, ok := h.s.ledger.Account(m.GetAccount()); !ok {
		return nil, detailError(errcode.Errf(errcode.UnknownAccount, "account", "unknown account %q", m.GetAccount()), 0)
	}
	nonce := randomHex(8)
	cmds := []ledger.Command{
		{Body: &ledger.CredentialSecret{Op: ledger.CredPasswordSet, Account: m.GetAccount(), Secret: hashPassword(m.GetPassword())}},
		{Key: "password/" + m.GetAccount() + "/" + nonce, Body: &ledger.CredentialChange{Op: ledger.CredPasswordSet, Account: m.GetAccount()}},
	}
	out := &v1.SetPasswordResponse{}
	if m.GetTotp() {
		key, err := totp.Generate(totp.GenerateOpts{Issuer: "CloudLedger", AccountName: m.GetAccount()})
		if err != nil {
			return nil, toConnect(err)
		}
		out.TotpUrl = key.URL()
		cmds = append(cmds[:1], ledger.Command{Body: &ledger.CredentialSecret{Op: ledger.CredTOTPSet, Account: m.GetAccount(), Secret: key.Secret()}},
			cmds[1], ledger.Command{Key: "totp/" + m.GetAccount() + "/" + nonce, Body: &ledger.CredentialChange{Op: ledger.CredTOTPSet, Account: m.GetAccount()}})
	}
	res, err := h.s.submitAsCaller(ctx, cmds...)
	if err != nil {
		return nil, err
	}
	out.Seq, _ = lastSeq(res)
	return connect.NewResponse(out), nil
}

// SignIn checks a password where the lockout is counted: on the leader (the procedure is
// leader-only), which records every attempt on the ledger so every node sees the lock.
func (h *accountService) SignIn(ctx context.Context, req *connect.Request[v1.SignInRequest]) (*connect.Response[v1.SignInResponse], error) {
	m := req.Msg
	ci := callInfoOf(ctx)
	ci.account = m.GetAccount()
	wrong := detailError(errcode.Errf(errcode.Unauthenticated, "", "wrong account or password"), 0)
	a, ok := h.s.ledger.Account(m.GetAccount())
	if !ok || ledger.CheckID("account", m.GetAccount()) != nil {
		return nil, wrong
	}
	ci.role = string(a.Role)
	if a.Disabled {
		return nil, detailError(errcode.Errf(errcode.AccountDisabled, "", "account %s is disabled", a.ID), 0)
	}
	now := h.s.cfg.Now()
	cr, _ := h.s.ledger.CredentialsOf(a.ID)
	if cr.LockedUntil.After(now) {
		return nil, lockedError(cr.LockedUntil)
	}
	if cr.PasswordHash == "" {
		return nil, wrong
	}
	if cr.TOTPSecret == "" && h.s.ledger.TOTPRequired(a.Role) {
		return nil, detailError(errcode.Errf(errcode.TOTPRequired, "totp_code", "the %s role signs in with a TOTP second factor, and account %s has none: enrol one (ledgerctl account password set --id %s --totp)", a.Role, a.ID, a.ID), 0)
	}
	good := passwordMatches(cr.PasswordHash, m.GetPassword())
	if good && cr.TOTPSecret != "" {
		if m.GetTotpCode() == "" {
			return nil, detailError(errcode.Errf(errcode.TOTPRequired, "totp_code", "account %s signs in with a TOTP code", a.ID), 0)
		}
		good = totp.Validate(m.GetTotpCode(), cr.TOTPSecret)
	}
	res, _, err := h.s.prop.submit(ctx, ledger.Request{Actor: "system", Commands: []ledger.Command{{Body: &ledger.SignInAttempt{Account: a.ID, OK: good}}}})
	if err != nil {
		return nil, toConnect(err)
	}
	if res.Err != nil {
		return nil, detailError(res.Err, 0)
	}
	if !good {
		if cr, _ := h.s.ledger.CredentialsOf(a.ID); cr.LockedUntil.After(now) {
			return nil, lockedError(cr.LockedUntil)
		}
		return nil, wrong
	}
	c := sessionClaims{Account: a.ID, ID: newSessionID(), Issued: now.Unix(), Last: now.Unix()}
	tok, err := h.s.signSession(c)
	if err != nil {
		return nil, toConnect(err)
	}
	resp := connect.NewResponse(&v1.SignInResponse{Session: tok, Account: a.ID, Role: string(a.Role), IdleExpires: now.Add(SessionIdle).Format(time.RFC3339)})
	resp.Header().Set(SessionHeader, tok)
	return resp, nil
}

func lockedError(until time.Time) error {
	return detailError(errcode.Errf(errcode.AccountLocked, "", "%d failed sign-ins in a row: locked until %s", ledger.MaxFailedSignIns, until.In(calendar.Shanghai).Format(time.RFC3339)), 0)
}

func (h *accountService) SignOut(ctx context.Context, _ *connect.Request[v1.SignOutRequest]) (*connect.Response[v1.SignOutResponse], error) {
	p := principalOf(ctx)
	if p.session == nil {
		return connect.NewResponse(&v1.SignOutResponse{}), nil // a token has no session to end
	}
	if _, err := h.s.submitAsCaller(ctx, ledger.Command{Body: &ledger.EndSession{ID: p.session.ID}}); err != nil {
		return nil, err
	}
	p.session = nil // no renewal header on the answer
	return connect.NewResponse(&v1.SignOutResponse{}), nil
}

func (h *accountService) WhoAmI(ctx context.Context, _ *connect.Request[v1.WhoAmIRequest]) (*connect.Response[v1.WhoAmIResponse], error) {
	a := principalOf(ctx).account
	return connect.NewResponse(&v1.WhoAmIResponse{Account: a.ID, Name: a.Name, Role: string(a.Role), Department: a.Department, Provider: a.Provider}), nil
}

// Paging of AccessLog.
const (
	defaultAccessPage = 1000
	maxAccessPage     = 10_000
)

func (h *accountService) AccessLog(ctx context.Context, req *connect.Request[v1.AccessLogRequest]) (*connect.Response[v1.AccessLogResponse], error) {
	m := req.Msg
	f := ledger.AccessFilter{Account: m.GetAccount(), Result: m.GetResult(), AfterSeq: m.GetAfterSeq(), Limit: int(m.GetLimit())}
	if f.Limit <= 0 {
		f.Limit = defaultAccessPage
	}
	f.Limit = min(f.Limit, maxAccessPage)
	switch f.Result {
	case "", "ok", "denied", "failed":
	default:
		return nil, detailError(errcode.Errf(errcode.InvalidValue, "result", "result is ok, denied or failed, not %q", f.Result), 0)
	}
	if m.GetFrom() != "" {
		d, err := calendar.ParseDate(m.GetFrom())
		if err != nil {
			return nil, detailError(errcode.Errf(errcode.InvalidDate, "from", "%v", err), 0)
		}
		f.From = d.Start()
	}
	if m.GetTo() != "" {
		d, err := calendar.ParseDate(m.GetTo())
		if err != nil {
			return nil, detailError(errcode.Errf(errcode.InvalidDate, "to", "%v", err), 0)
		}
		f.To = d.AddDays(1).Start()
	}
	if err := h.s.readBarrier(ctx, req.Header()); err != nil {
		return nil, toConnect(err)
	}
	recs, next, err := h.s.ledger.AccessRecords(f)
	if err != nil {
		return nil, toConnect(err)
	}
	out := &v1.AccessLogResponse{NextSeq: next}
	for _, r := range recs {
		out.Records = append(out.Records, &v1.AccessRecord{Seq: r.Seq, Time: r.Time.In(calendar.Shanghai).Format(time.RFC3339Nano), Account: r.Account, Role: r.Role,
			Address: r.Address, Node: r.Node, Procedure: r.Procedure, Target: r.Target, Result: r.Result, Hash: r.Hash.String()})
	}
	return connect.NewResponse(out), nil
}

func (h *accountService) VerifyAccessTrail(ctx context.Context, req *connect.Request[v1.VerifyAccessTrailRequest]) (*connect.Response[v1.VerifyAccessTrailResponse], error) {
	if err := h.s.readBarrier(ctx, req.Header()); err != nil {
		return nil, toConnect(err)
	}
	n, head, err := h.s.ledger.VerifyAccessTrail()
	if err != nil {
		return nil, detailError(err, 0)
	}
	return connect.NewResponse(&v1.VerifyAccessTrailResponse{Records: n, HeadHash: head.String()}), nil
}

func (h *accountService) SetTOTPRoles(ctx context.Context, req *connect.Request[v1.SetTOTPRolesRequest]) (*connect.Response[v1.SetTOTPRolesResponse], error) {
	roles := make([]ledger.Role, 0, len(req.Msg.GetRoles()))
	for _, r := range req.Msg.GetRoles() {
		roles = append(roles, ledger.Role(r))
	}
	slices.Sort(roles)
	roles = slices.Compact(roles)
	res, err := h.s.submitAsCaller(ctx, ledger.Command{Key: "totp-roles/" + randomHex(8), Body: &ledger.SetTOTPRoles{Roles: roles}})
	if err != nil {
		return nil, err
	}
	seq, unchanged := lastSeq(res)
	return connect.NewResponse(&v1.SetTOTPRolesResponse{Seq: seq, Unchanged: unchanged}), nil
}
