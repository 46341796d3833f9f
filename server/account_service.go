package server

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

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
func lastSeq(res ledger.SubmissionResult) (uint64, bool) {
	if len(res.Items) == 0 {
		return 0, false
	}
	it := res.Items[len(res.Items)-1]
	return it.Seq, it.Unchanged
}

// activation is the commands that give a person's account a new one-time code, and the
// code (shown once, to whoever created or reset the account, to hand to the person).
func activation(account, key string) (code string, cmds []ledger.Command) {
	raw := make([]byte, 15)
	_, _ = rand.Read(raw)
	enc := base32.StdEncoding.EncodeToString(raw) // 24 characters, no padding
	code = strings.Join([]string{enc[0:4], enc[4:8], enc[8:12], enc[12:16], enc[16:20], enc[20:24]}, "-")
	return code, []ledger.Command{
		{Body: &ledger.CredentialSecret{Op: ledger.CredActivationCode, Account: account, Secret: activationHash(code)}},
		{Key: key, Body: &ledger.CredentialChange{Op: ledger.CredActivationIssued, Account: account}},
	}
}

// activationHash is the stored form of a code, as typed: case, spaces and dashes aside.
func activationHash(code string) string {
	norm := strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return unicode.ToUpper(r)
	}, code)
	return tokenHash(norm)
}

// keyOf is a write's idempotency key: the client names it (issue 23).
func keyOf(k string) (string, error) {
	if k == "" {
		return "", errKeyRequired()
	}
	return k, nil
}

// alreadyDone answers a write that makes a secret, sent again under its key after it was
// done: the original result cannot be given again, since a secret is shown once; the
// answer names what was made (made) and never the secret. nil when the key is unused.
func (s *Server) alreadyDone(tenant, key string, made func(ledger.Body) string) error {
	li, ok := s.ledger.LineItemByKey(tenant, key)
	if !ok {
		return nil
	}
	return detailError(errcode.Errf(errcode.AlreadyDone, "key", "this was done under key %q (line item %d): %s; its secret was shown once, when it was made", key, li.Seq, made(li.Body)), 0)
}

func (h *accountService) AddAccount(ctx context.Context, req *connect.Request[v1.AddAccountRequest]) (*connect.Response[v1.AddAccountResponse], error) {
	m := req.Msg
	key, err := keyOf(m.GetKey())
	if err != nil {
		return nil, err
	}
	op := ledger.AccountAdd
	if m.GetProgram() {
		op = ledger.AccountAddProgram
	}
	cmds := []ledger.Command{{Key: key, Body: &ledger.AccountChange{Op: op, ID: m.GetId(), Name: m.GetName(),
		Role: ledger.Role(m.GetRole()), Department: m.GetDepartment(), Provider: m.GetProvider()}}}
	var code string
	if !m.GetProgram() {
		if err := h.s.alreadyDone(principalOf(ctx).tenant(), key, func(ledger.Body) string {
			return fmt.Sprintf("account %s was added with an activation code (account reset gives a new one)", m.GetId())
		}); err != nil {
			return nil, err
		}
		var more []ledger.Command
		code, more = activation(m.GetId(), key+"/activation")
		cmds = append(cmds, more...)
	}
	res, err := h.s.submitAsCaller(ctx, cmds...)
	if err != nil {
		return nil, err
	}
	out := &v1.AddAccountResponse{Seq: res.Items[0].Seq, ActivationCode: code}
	if a, ok := h.s.ledger.Account(m.GetId()); ok {
		out.Pending = a.Pending
	}
	if c, ok := h.s.ledger.CredentialsOf(m.GetId()); ok && code != "" {
		out.ActivationExpires = c.ActivationExpires.In(calendar.Shanghai).Format(time.RFC3339)
	}
	return connect.NewResponse(out), nil
}

func (h *accountService) ConfirmAccount(ctx context.Context, req *connect.Request[v1.ConfirmAccountRequest]) (*connect.Response[v1.ConfirmAccountResponse], error) {
	id := req.Msg.GetId()
	key, err := keyOf(req.Msg.GetKey())
	if err != nil {
		return nil, err
	}
	res, err := h.s.submitAsCaller(ctx, ledger.Command{Key: key, Body: &ledger.AccountChange{Op: ledger.AccountConfirm, ID: id}})
	if err != nil {
		return nil, err
	}
	seq, unchanged := lastSeq(res)
	return connect.NewResponse(&v1.ConfirmAccountResponse{Seq: seq, Unchanged: unchanged}), nil
}

func (h *accountService) ResetAccount(ctx context.Context, req *connect.Request[v1.ResetAccountRequest]) (*connect.Response[v1.ResetAccountResponse], error) {
	id := req.Msg.GetId()
	key, err := keyOf(req.Msg.GetKey())
	if err != nil {
		return nil, err
	}
	if err := h.s.alreadyDone(principalOf(ctx).tenant(), key, func(ledger.Body) string {
		return fmt.Sprintf("account %s was given a new activation code (reset it again for another)", id)
	}); err != nil {
		return nil, err
	}
	code, cmds := activation(id, key)
	res, err := h.s.submitAsCaller(ctx, cmds...)
	if err != nil {
		return nil, err
	}
	seq, _ := lastSeq(res)
	out := &v1.ResetAccountResponse{Seq: seq, ActivationCode: code}
	if c, ok := h.s.ledger.CredentialsOf(id); ok {
		out.ActivationExpires = c.ActivationExpires.In(calendar.Shanghai).Format(time.RFC3339)
	}
	return connect.NewResponse(out), nil
}

func (h *accountService) ListAccounts(ctx context.Context, req *connect.Request[v1.ListAccountsRequest]) (*connect.Response[v1.ListAccountsResponse], error) {
	now := h.s.cfg.Now()
	retired := h.s.ledger.BootstrapRetired()
	out := &v1.ListAccountsResponse{}
	for _, a := range h.s.ledger.Accounts() {
		pa := &v1.Account{Id: a.ID, Name: a.Name, Role: string(a.Role), Department: a.Department, Provider: a.Provider, Status: "active",
			Program: a.Program, CreatedBy: a.CreatedBy, ConfirmedBy: a.ConfirmedBy}
		switch {
		case a.Disabled:
			pa.Status = "disabled"
		case a.Pending:
			pa.Status = "pending"
		case a.Bootstrap() && retired:
			pa.Status = "retired" // the bootstrap credential does nothing any more
		}
		for _, t := range h.s.ledger.AccountTokens(a.ID) {
			at := &v1.AccountToken{Id: t.ID, Revoked: t.Revoked}
			if !t.Expires.IsZero() {
				at.Expires = t.Expires.Format(time.RFC3339)
			}
			pa.Tokens = append(pa.Tokens, at)
		}
		if c, ok := h.s.ledger.CredentialsOf(a.ID); ok {
			pa.PasswordSet, pa.Totp, pa.ActivationPending = c.PasswordHash != "", c.TOTPSecret != "", c.ActivationSHA256 != "" && c.ActivationExpires.After(now)
			if c.LockedUntil.After(now) {
				pa.LockedUntil = c.LockedUntil.Format(time.RFC3339)
			}
		}
		out.Accounts = append(out.Accounts, pa)
	}
	return connect.NewResponse(out), nil
}

// AccountScopes answers the departments and providers by id and name only: the security
// officer scopes accounts with them and reads nothing else of the directory (SPEC: Access).
func (h *accountService) AccountScopes(ctx context.Context, _ *connect.Request[v1.AccountScopesRequest]) (*connect.Response[v1.AccountScopesResponse], error) {
	out := &v1.AccountScopesResponse{}
	for _, d := range h.s.ledger.Departments() {
		out.Departments = append(out.Departments, &v1.AccountScope{Id: d.ID, Name: d.Name})
	}
	for _, v := range h.s.ledger.Providers() {
		out.Providers = append(out.Providers, &v1.AccountScope{Id: v.ID, Name: v.Name})
	}
	return connect.NewResponse(out), nil
}

func (h *accountService) SetAccountStatus(ctx context.Context, req *connect.Request[v1.SetAccountStatusRequest]) (*connect.Response[v1.SetAccountStatusResponse], error) {
	op := "enable"
	if req.Msg.GetDisabled() {
		op = "disable"
	}
	id := req.Msg.GetId()
	key, err := keyOf(req.Msg.GetKey())
	if err != nil {
		return nil, err
	}
	res, err := h.s.submitAsCaller(ctx, ledger.Command{Key: key, Body: &ledger.AccountChange{Op: op, ID: id}})
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
	account := m.GetAccount()
	if p := principalOf(ctx); account == "" || account == p.account.ID {
		// A person issues their own tokens, signed in: a token does not beget tokens.
		if p.session == nil {
			return nil, detailError(errcode.Errf(errcode.InvalidValue, "credential", "a person issues their own tokens signed in (ledgerctl signin), not with a token"), 0)
		}
		account = p.account.ID
	}
	key, err := keyOf(m.GetKey())
	if err != nil {
		return nil, err
	}
	if err := h.s.alreadyDone(principalOf(ctx).tenant(), key, func(b ledger.Body) string {
		if c, ok := b.(*ledger.CredentialChange); ok {
			return fmt.Sprintf("token %s of %s was issued (revoke it and issue another if it was not received)", c.TokenID, c.Account)
		}
		return "the key was used for another write"
	}); err != nil {
		return nil, err
	}
	token := TokenPrefix + randomHex(32)
	id := randomHex(4)
	res, err := h.s.submitAsCaller(ctx,
		ledger.Command{Body: &ledger.CredentialSecret{Op: ledger.CredTokenIssued, Account: account, TokenID: id, Secret: tokenHash(token), Expires: expires}},
		ledger.Command{Key: key, Body: &ledger.CredentialChange{Op: ledger.CredTokenIssued, Account: account, TokenID: id, Expires: expires}})
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
	account := m.GetAccount()
	if account == "" {
		return nil, detailError(errcode.Errf(errcode.MissingField, "account", "name the account whose tokens to revoke (your own id for yours)"), 0)
	}
	key, err := keyOf(m.GetKey())
	if err != nil {
		return nil, err
	}
	res, err := h.s.submitAsCaller(ctx, ledger.Command{Key: key,
		Body: &ledger.CredentialChange{Op: ledger.CredTokenRevoked, Account: account, TokenID: m.GetTokenId()}})
	if err != nil {
		return nil, err
	}
	seq, _ := lastSeq(res)
	return connect.NewResponse(&v1.RevokeTokenResponse{Seq: seq}), nil
}

// totpEnrolment makes a TOTP key for an account: the secret command and its URL, once.
func totpEnrolment(account, idemKey string) ([]ledger.Command, string, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "CloudLedger", AccountName: account})
	if err != nil {
		return nil, "", err
	}
	return []ledger.Command{
		{Body: &ledger.CredentialSecret{Op: ledger.CredTOTPSet, Account: account, Secret: key.Secret()}},
		{Key: idemKey, Body: &ledger.CredentialChange{Op: ledger.CredTOTPSet, Account: account}},
	}, key.URL(), nil
}

// Activate: the person sets their own password (and TOTP key) with their one-time code.
// No credential is asked for; it is bounded like a sign-in, and a wrong code or account
// answers like a failed sign-in.
func (h *accountService) Activate(ctx context.Context, req *connect.Request[v1.ActivateRequest]) (*connect.Response[v1.ActivateResponse], error) {
	s, m := h.s, req.Msg
	ci := callInfoOf(ctx)
	ci.account = m.GetAccount()
	addr := s.callerAddress(req.Header(), req.Peer().Addr)
	now := time.Now()
	if err := s.guard.addressBlocked(addr, now); err != nil {
		return nil, err
	}
	if err := checkPasswordPolicy(m.GetPassword()); err != nil {
		return nil, detailError(err, 0)
	}
	a, ok := s.ledger.Account(m.GetAccount())
	if len(m.GetCode()) > 64 || ledger.CheckID("account", m.GetAccount()) != nil || !ok || a.Program || a.Disabled {
		s.guard.failed(addr, now)
		_ = s.guard.hashing(ctx, func() { passwordMatches(dummyPHC, m.GetPassword()) })
		return nil, signInFailed()
	}
	ci.role = string(a.Role)
	key, err := keyOf(m.GetKey())
	if err != nil {
		return nil, err
	}
	// Sent again after it was done (the code is used now): said so only for this account's
	// own activation under this key, nothing about anyone else's keys.
	if li, ok := s.ledger.LineItemByKey(ledger.KeyTenant(&a), key); ok {
		if c, isAct := li.Body.(*ledger.CredentialChange); isAct && c.Op == ledger.CredActivated && c.Account == a.ID {
			return nil, detailError(errcode.Errf(errcode.AlreadyDone, "key", "account %s was activated under this key (line item %d): sign in with the password set then", a.ID, li.Seq), 0)
		}
	}
	var hash string
	if err := s.guard.hashing(ctx, func() { hash = hashPassword(m.GetPassword()) }); err != nil {
		return nil, err
	}
	cmds := []ledger.Command{
		{Body: &ledger.CredentialSecret{Op: ledger.CredActivate, Account: a.ID, Secret: activationHash(m.GetCode())}},
		{Body: &ledger.CredentialSecret{Op: ledger.CredPasswordSet, Account: a.ID, Secret: hash}},
		{Key: key, Body: &ledger.CredentialChange{Op: ledger.CredActivated, Account: a.ID}},
	}
	out := &v1.ActivateResponse{}
	if m.GetTotp() || s.ledger.TOTPRequired(a.Role) {
		more, url, err := totpEnrolment(a.ID, key+"/totp")
		if err != nil {
			return nil, toConnect(err)
		}
		cmds, out.TotpUrl = append(cmds, more...), url
	}
	res, _, err := s.prop.submit(ctx, ledger.Submission{Actor: a.ID, Commands: cmds})
	if err != nil {
		return nil, toConnect(err)
	}
	if res.Err != nil {
		if res.Err.Code == errcode.Unauthenticated {
			s.guard.failed(addr, now)
			return nil, signInFailed()
		}
		return nil, detailError(res.Err, 0)
	}
	out.Seq, _ = lastSeq(res)
	return connect.NewResponse(out), nil
}

// ChangePassword: a person, signed in, changes their own password; the old one is checked
// like a sign-in (a wrong one counts toward the lock). Sessions begun before end.
func (h *accountService) ChangePassword(ctx context.Context, req *connect.Request[v1.ChangePasswordRequest]) (*connect.Response[v1.ChangePasswordResponse], error) {
	s, m := h.s, req.Msg
	p := principalOf(ctx)
	if p.session == nil || p.account.Program {
		return nil, detailError(errcode.Errf(errcode.InvalidValue, "credential", "a person changes their own password signed in (a session), not with a token"), 0)
	}
	if err := checkPasswordPolicy(m.GetNewPassword()); err != nil {
		return nil, detailError(err, 0)
	}
	if len(m.GetOldPassword()) > MaxPasswordLen {
		return nil, signInFailed()
	}
	key, err := keyOf(m.GetKey())
	if err != nil {
		return nil, err
	}
	// Sent again after it was done, the old password no longer matches: say it was done,
	// rather than count a failed sign-in against the person.
	if err := s.alreadyDone(p.tenant(), key, func(ledger.Body) string { return "the password was changed" }); err != nil {
		return nil, err
	}
	unlock := s.guard.account(p.account.ID)
	defer unlock()
	cr, _ := s.ledger.CredentialsOf(p.account.ID)
	var good bool
	var hash string
	if err := s.guard.hashing(ctx, func() {
		good = cr.PasswordHash != "" && !cr.LockedUntil.After(s.cfg.Now()) && passwordMatches(cr.PasswordHash, m.GetOldPassword())
		if good {
			hash = hashPassword(m.GetNewPassword())
		}
	}); err != nil {
		return nil, err
	}
	if !good {
		_, _, _ = s.prop.submit(ctx, ledger.Submission{Actor: "system", Commands: []ledger.Command{{Body: &ledger.SignInResult{Account: p.account.ID}}}})
		return nil, signInFailed()
	}
	res, err := s.submitAsCaller(ctx,
		ledger.Command{Body: &ledger.CredentialSecret{Op: ledger.CredPasswordSet, Account: p.account.ID, Secret: hash}},
		ledger.Command{Key: key, Body: &ledger.CredentialChange{Op: ledger.CredPasswordSet, Account: p.account.ID}})
	if err != nil {
		return nil, err
	}
	p.session = nil // it ended with the old password: no renewal
	seq, _ := lastSeq(res)
	return connect.NewResponse(&v1.ChangePasswordResponse{Seq: seq}), nil
}

// ChangeTOTP: a person, signed in, enrols a TOTP second factor, replaces its key, or
// removes it where the role does not require one. The current password, and the current
// TOTP code where one is enrolled, are checked like a sign-in (a wrong one counts toward
// the lock). The new key is in the answer, once; the ledger keeps it beside the public
// record (totp_set or totp_removed), which names no secret.
func (h *accountService) ChangeTOTP(ctx context.Context, req *connect.Request[v1.ChangeTOTPRequest]) (*connect.Response[v1.ChangeTOTPResponse], error) {
	s, m := h.s, req.Msg
	p := principalOf(ctx)
	if p.session == nil || p.account.Program {
		return nil, detailError(errcode.Errf(errcode.InvalidValue, "credential", "a person changes their own TOTP key signed in (a session), not with a token"), 0)
	}
	if len(m.GetPassword()) > MaxPasswordLen || len(m.GetTotpCode()) > MaxTOTPCodeBytes {
		return nil, signInFailed()
	}
	key, err := keyOf(m.GetKey())
	if err != nil {
		return nil, err
	}
	if err := s.alreadyDone(p.tenant(), key, func(ledger.Body) string {
		return "the TOTP key was changed (change it again for another key)"
	}); err != nil {
		return nil, err
	}
	id := p.account.ID
	unlock := s.guard.account(id)
	defer unlock()
	cr, _ := s.ledger.CredentialsOf(id)
	if m.GetRemove() {
		switch {
		case cr.TOTPSecret == "":
			return nil, detailError(errcode.Errf(errcode.InvalidValue, "remove", "account %s has no TOTP key to remove", id), 0)
		case s.ledger.TOTPRequired(p.account.Role):
			return nil, detailError(errcode.Errf(errcode.PermissionDenied, "remove", "the %s role signs in with a TOTP code: its key can be replaced, not removed", p.account.Role), 0)
		}
	}
	var good bool
	if err := s.guard.hashing(ctx, func() {
		good = cr.PasswordHash != "" && !cr.LockedUntil.After(s.cfg.Now()) && passwordMatches(cr.PasswordHash, m.GetPassword())
	}); err != nil {
		return nil, err
	}
	if good && cr.TOTPSecret != "" {
		good = totpStep(cr.TOTPSecret, m.GetTotpCode(), time.Now(), cr.LastTOTPStep) != 0
	}
	if !good {
		_, _, _ = s.prop.submit(ctx, ledger.Submission{Actor: "system", Commands: []ledger.Command{{Body: &ledger.SignInResult{Account: id}}}})
		return nil, signInFailed()
	}
	out := &v1.ChangeTOTPResponse{}
	var cmds []ledger.Command
	if m.GetRemove() {
		cmds = []ledger.Command{{Key: key, Body: &ledger.CredentialChange{Op: ledger.CredTOTPRemoved, Account: id}}}
	} else if cmds, out.TotpUrl, err = totpEnrolment(id, key); err != nil {
		return nil, toConnect(err)
	}
	res, err := s.submitAsCaller(ctx, cmds...)
	if err != nil {
		return nil, err
	}
	out.Seq, _ = lastSeq(res)
	return connect.NewResponse(out), nil
}

// SignIn checks a password (and TOTP code) where the lockout is counted: on the leader
// (the procedure is leader-only), which records every check on the ledger so every node
// sees the lock and the TOTP step used. Bounded as signin.go says.
func (h *accountService) SignIn(ctx context.Context, req *connect.Request[v1.SignInRequest]) (*connect.Response[v1.SignInResponse], error) {
	s, m := h.s, req.Msg
	ci := callInfoOf(ctx)
	ci.account = m.GetAccount() // the trail bounds it
	addr := s.callerAddress(req.Header(), req.Peer().Addr)
	now := s.cfg.Now()
	if err := s.guard.addressBlocked(addr, time.Now()); err != nil {
		return nil, err
	}
	if len(m.GetPassword()) > MaxPasswordLen || len(m.GetTotpCode()) > MaxTOTPCodeBytes || ledger.CheckID("account", m.GetAccount()) != nil {
		s.guard.failed(addr, time.Now())
		return nil, signInFailed()
	}
	a, known := s.ledger.Account(m.GetAccount())
	if known {
		ci.role = string(a.Role)
		unlock := s.guard.account(a.ID)
		defer unlock()
	}
	// Read after taking the account's turn: the checks before ours are on the ledger.
	cr, _ := s.ledger.CredentialsOf(a.ID)
	locked := cr.LockedUntil.After(now)
	phc := cr.PasswordHash
	evaluate := known && !a.Disabled && !a.Program && !locked && phc != ""
	if !evaluate {
		phc = dummyPHC // the same work, whatever the reason
	}
	var good bool
	if err := s.guard.hashing(ctx, func() { good = passwordMatches(phc, m.GetPassword()) }); err != nil {
		s.metrics.hashFull.Inc()
		return nil, err
	}
	if evaluate {
		s.metrics.passwordChecks.Inc()
	}
	good = good && evaluate
	var step uint64
	switch {
	case !good:
	case cr.TOTPSecret != "":
		step = totpStep(cr.TOTPSecret, m.GetTotpCode(), time.Now(), cr.LastTOTPStep)
		good = step != 0
	case s.ledger.TOTPRequired(a.Role):
		good = false // the role needs a second factor this account never enrolled (security resets it)
	}
	if evaluate {
		res, _, err := s.prop.submit(ctx, ledger.Submission{Actor: "system", Commands: []ledger.Command{{Body: &ledger.SignInResult{Account: a.ID, OK: good, TOTPStep: step}}}})
		if err != nil {
			return nil, toConnect(err)
		}
		good = good && res.Err == nil // a TOTP step another sign-in used first
	} else if !known {
		// The same round through Raft for an unknown account, which apply refuses
		// (unknown_account) and so changes nothing: without it a real account's answer came
		// a consensus write later than an unknown one's (medians 1.3–2.0× apart), and
		// told which accounts exist.
		if _, _, err := s.prop.submit(ctx, ledger.Submission{Actor: "system", Commands: []ledger.Command{{Body: &ledger.SignInResult{Account: m.GetAccount()}}}}); err != nil {
			return nil, toConnect(err)
		}
	}
	if !good {
		s.guard.failed(addr, time.Now())
		return nil, signInFailed()
	}
	if a.Pending {
		return nil, detailError(errcode.Errf(errcode.AwaitingConfirmation, "", "account %s waits for a second person's confirmation (SPEC: Access, 三员分立)", a.ID), 0)
	}
	c := sessionClaims{Account: a.ID, ID: newSessionID(), Issued: now.Unix(), IssuedNano: now.UnixNano(), Last: now.Unix()}
	tok, err := s.signSession(c)
	if err != nil {
		return nil, toConnect(err)
	}
	resp := connect.NewResponse(&v1.SignInResponse{Session: tok, Account: a.ID, Role: string(a.Role), IdleExpires: now.Add(SessionIdle).Format(time.RFC3339)})
	resp.Header().Set(SessionHeader, tok)
	return resp, nil
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
	cr, _ := h.s.ledger.CredentialsOf(a.ID)
	return connect.NewResponse(&v1.WhoAmIResponse{Account: a.ID, Name: a.Name, Role: string(a.Role), Department: a.Department, Provider: a.Provider,
		Totp: cr.TOTPSecret != "", TotpRequired: h.s.ledger.TOTPRequired(a.Role)}), nil
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
	key, err := keyOf(req.Msg.GetKey())
	if err != nil {
		return nil, err
	}
	res, err := h.s.submitAsCaller(ctx, ledger.Command{Key: key, Body: &ledger.SetTOTPRoles{Roles: roles}})
	if err != nil {
		return nil, err
	}
	seq, unchanged := lastSeq(res)
	return connect.NewResponse(&v1.SetTOTPRolesResponse{Seq: seq, Unchanged: unchanged}), nil
}
