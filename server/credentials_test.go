package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/internal/testport"
	"github.com/cloudledger/cloudledger/internal/ticket"
	"github.com/cloudledger/cloudledger/ledger"
)

// fakeClock is the injected clock of every node of a test cluster.
type fakeClock struct {
	mu sync.Mutex
	at time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.at }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.at = c.at.Add(d)
	c.mu.Unlock()
}

const testToken = "credentials-test-token"

// startThree starts three in-process nodes sharing one injected clock.
func startThree(t *testing.T, clock *fakeClock) []*Server {
	t.Helper()
	var nodes []*Server
	for i, id := range []string{"node1", "node2", "node3"} {
		cfg := Config{DataDir: t.TempDir(), HTTPAddr: testport.Addr(t), RaftAddr: testport.Addr(t), NodeID: id, Token: testToken,
			FastTimeouts: true, Now: clock.now, TickInterval: time.Hour}
		if i > 0 {
			pin, err := ticket.DataDirPin(nodes[0].cfg.DataDir)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Join = nodes[0].URL
			if cfg.JoinTicket, err = ticket.Make(nodes[0].cfg.DataDir, ticket.Join, id, false, time.Minute, pin, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		s, err := Start(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		nodes = append(nodes, s)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, s := range nodes {
		for s.ledger.AccountCount() == 0 || s.ledger.SessionKey() == nil {
			if time.Now().After(deadline) {
				t.Fatalf("%s has no bootstrap accounts after 20 s", s.cfg.NodeID)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nodes
}

func bearer[T any](m *T, tok string) *connect.Request[T] {
	r := connect.NewRequest(m)
	r.Header().Set("Authorization", "Bearer "+tok)
	return r
}

func withSession[T any](m *T, ses string) *connect.Request[T] {
	r := connect.NewRequest(m)
	r.Header().Set("Authorization", "Session "+ses)
	return r
}

// waitApplied waits until every node has applied what the first one has.
func waitApplied(t *testing.T, nodes []*Server) {
	t.Helper()
	want := nodes[0].node.AppliedIndex()
	deadline := time.Now().Add(10 * time.Second)
	for _, s := range nodes {
		for s.node.AppliedIndex() < want {
			if time.Now().After(deadline) {
				t.Fatalf("%s applied %d, want %d", s.cfg.NodeID, s.node.AppliedIndex(), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// Issue 11, must show 3 (SPEC: Access, credentials): on three nodes a token revoked through
// one node is refused by every node; five failed sign-ins in a row lock the password on
// every node for 30 minutes; a session is refused on every node after 30 minutes idle and
// renewed by each call before that. The clock is injected, shared by the nodes.
func TestCredentialsAcrossThreeNodes(t *testing.T) {
	clock := &fakeClock{at: time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)}
	nodes := startThree(t, clock)
	ctx := context.Background()
	acct := func(i int) cloudledgerv1connect.AccountServiceClient {
		return cloudledgerv1connect.NewAccountServiceClient(http.DefaultClient, nodes[i].URL)
	}
	whoami := func(i int, req *connect.Request[v1.WhoAmIRequest]) error {
		req.Header().Set(StaleHeader, "true") // answered by the node itself, not the leader
		_, err := acct(i).WhoAmI(ctx, req)
		return err
	}

	// The staff, 三员分立 (SPEC: Access): the bootstrap credential makes the first security
	// and authority accounts (programs here) and is retired.
	mustOK := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err := acct(0).AddAccount(ctx, bearer(&v1.AddAccountRequest{Key: testKey(), Id: "sec1", Name: "安全员", Role: "security", Program: true}, testToken))
	mustOK("sec1", err)
	secTok, err := acct(0).IssueToken(ctx, bearer(&v1.IssueTokenRequest{Key: testKey(), Account: "sec1"}, testToken))
	mustOK("sec1's token", err)
	sec := secTok.Msg.GetToken()
	_, err = acct(0).AddAccount(ctx, bearer(&v1.AddAccountRequest{Key: testKey(), Id: "auth1", Name: "主管", Role: "authority", Program: true}, testToken))
	mustOK("auth1", err)
	authTok, err := acct(0).IssueToken(ctx, bearer(&v1.IssueTokenRequest{Key: testKey(), Account: "auth1"}, sec))
	mustOK("auth1's token", err)
	auth := authTok.Msg.GetToken()
	waitApplied(t, nodes)
	if err := whoami(1, bearer(&v1.WhoAmIRequest{}, testToken)); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("the bootstrap credential after the first two accounts: %v, want unauthenticated", err)
	}

	// A token issued through node2 works on every node; revoked through node3, none accepts it.
	_, err = acct(1).AddAccount(ctx, bearer(&v1.AddAccountRequest{Key: testKey(), Id: "fin1", Name: "财政局", Role: "finance", Program: true}, sec))
	mustOK("fin1", err)
	_, err = acct(1).IssueToken(ctx, bearer(&v1.IssueTokenRequest{Key: testKey(), Account: "fin1"}, sec))
	if !hasCode(err, "awaiting_confirmation") {
		t.Fatalf("a token for an unconfirmed finance account: %v", err)
	}
	_, err = acct(1).ConfirmAccount(ctx, bearer(&v1.ConfirmAccountRequest{Key: testKey(), Id: "fin1"}, auth))
	mustOK("confirm fin1", err)
	issueKey := testKey()
	tok, err := acct(1).IssueToken(ctx, bearer(&v1.IssueTokenRequest{Key: issueKey, Account: "fin1"}, sec))
	mustOK("fin1's token", err)
	// Issue 23: the same call again (its answer lost) is already_done, naming the token it
	// made and never showing it a second time; without a key it is refused.
	_, err = acct(2).IssueToken(ctx, bearer(&v1.IssueTokenRequest{Key: issueKey, Account: "fin1"}, sec))
	if !hasCode(err, "already_done") || !strings.Contains(err.Error(), tok.Msg.GetTokenId()) || strings.Contains(err.Error(), tok.Msg.GetToken()) {
		t.Fatalf("the same token issue again: %v, want already_done naming token %s without the token", err, tok.Msg.GetTokenId())
	}
	if _, err = acct(1).IssueToken(ctx, bearer(&v1.IssueTokenRequest{Account: "fin1"}, sec)); !hasCode(err, "missing_field") {
		t.Fatalf("a token issue without a key: %v, want missing_field", err)
	}
	waitApplied(t, nodes)
	for i := range nodes {
		if err := whoami(i, bearer(&v1.WhoAmIRequest{}, tok.Msg.GetToken())); err != nil {
			t.Fatalf("node%d refuses a token in force: %v", i+1, err)
		}
	}
	_, err = acct(2).RevokeToken(ctx, bearer(&v1.RevokeTokenRequest{Key: testKey(), Account: "fin1"}, sec))
	mustOK("revoke", err)
	waitApplied(t, nodes)
	for i := range nodes {
		if err := whoami(i, bearer(&v1.WhoAmIRequest{}, tok.Msg.GetToken())); connect.CodeOf(err) != connect.CodeUnauthenticated {
			t.Fatalf("node%d after the revocation: %v, want unauthenticated", i+1, err)
		}
	}

	// A person: security hands over the activation code; the person sets the password.
	added, err := acct(0).AddAccount(ctx, bearer(&v1.AddAccountRequest{Key: testKey(), Id: "sup1", Name: "经信委", Role: "supervisor"}, sec))
	mustOK("sup1", err)
	_, err = acct(0).ConfirmAccount(ctx, bearer(&v1.ConfirmAccountRequest{Key: testKey(), Id: "sup1"}, auth))
	mustOK("confirm sup1", err)
	const pw = "Jingxin-2026"
	if _, err := acct(0).Activate(ctx, connect.NewRequest(&v1.ActivateRequest{Key: testKey(), Account: "sup1", Code: added.Msg.GetActivationCode(), Password: "short"})); !hasCode(err, "password_too_weak") {
		t.Fatalf("a weak password: %v", err)
	}
	_, err = acct(0).Activate(ctx, connect.NewRequest(&v1.ActivateRequest{Key: testKey(), Account: "sup1", Code: added.Msg.GetActivationCode(), Password: pw}))
	mustOK("activate sup1", err)

	// Passwords: five failures in a row, through different nodes, lock it everywhere; the
	// right password is then refused exactly like a wrong one.
	for i := 0; i < ledger.MaxFailedSignIns; i++ {
		_, err := acct(i%3).SignIn(ctx, connect.NewRequest(&v1.SignInRequest{Account: "sup1", Password: "wrong-Password-1"}))
		if err == nil || connect.CodeOf(err) != connect.CodeUnauthenticated {
			t.Fatalf("failed sign-in %d: %v", i+1, err)
		}
	}
	waitApplied(t, nodes)
	for i := range nodes {
		_, err := acct(i).SignIn(ctx, connect.NewRequest(&v1.SignInRequest{Account: "sup1", Password: pw}))
		if !hasCode(err, "unauthenticated") {
			t.Fatalf("node%d: the right password after 5 failures: %v, want the one failure answer", i+1, err)
		}
	}
	clock.advance(ledger.LockoutDuration + time.Second)
	ses, err := acct(1).SignIn(ctx, connect.NewRequest(&v1.SignInRequest{Account: "sup1", Password: pw}))
	if err != nil {
		t.Fatalf("sign-in after the lockout: %v", err)
	}

	// Sessions: valid on every node; each call renews it; idle past the limit, refused.
	session := ses.Msg.GetSession()
	for i := range nodes {
		if err := whoami(i, withSession(&v1.WhoAmIRequest{}, session)); err != nil {
			t.Fatalf("node%d refuses a fresh session: %v", i+1, err)
		}
	}
	clock.advance(SessionIdle - time.Minute)
	res, err := acct(2).WhoAmI(ctx, withSession(&v1.WhoAmIRequest{}, session))
	if err != nil {
		t.Fatalf("a session idle 29 minutes: %v", err)
	}
	renewed := res.Header().Get(SessionHeader)
	if renewed == "" || renewed == session {
		t.Fatal("the answer carries no renewed session")
	}
	clock.advance(2 * time.Minute) // 31 minutes after the first call, 2 after the renewal
	for i := range nodes {
		if err := whoami(i, withSession(&v1.WhoAmIRequest{}, session)); !hasCode(err, "session_expired") {
			t.Fatalf("node%d: a session idle 31 minutes: %v, want session_expired", i+1, err)
		}
		if err := whoami(i, withSession(&v1.WhoAmIRequest{}, renewed)); err != nil {
			t.Fatalf("node%d refuses the renewed session: %v", i+1, err)
		}
	}
	clock.advance(SessionIdle + time.Second)
	for i := range nodes {
		if err := whoami(i, withSession(&v1.WhoAmIRequest{}, renewed)); !hasCode(err, "session_expired") {
			t.Fatalf("node%d: the renewed session idle past the limit: %v, want session_expired", i+1, err)
		}
	}

	// A TOTP second factor (RFC 6238), enrolled by the person at a new activation: the
	// password alone, or with a wrong code, is the one failure; a code is good once.
	reset, err := acct(0).ResetAccount(ctx, bearer(&v1.ResetAccountRequest{Key: testKey(), Id: "sup1"}, sec))
	mustOK("reset", err)
	act, err := acct(0).Activate(ctx, connect.NewRequest(&v1.ActivateRequest{Key: testKey(), Account: "sup1", Code: reset.Msg.GetActivationCode(), Password: pw, Totp: true}))
	mustOK("activate with TOTP", err)
	key, err := otp.NewKeyFromURL(act.Msg.GetTotpUrl())
	if err != nil {
		t.Fatalf("TOTP URL %q: %v", act.Msg.GetTotpUrl(), err)
	}
	if _, err := acct(1).SignIn(ctx, connect.NewRequest(&v1.SignInRequest{Account: "sup1", Password: pw})); !hasCode(err, "unauthenticated") {
		t.Fatalf("sign-in without the code: %v, want the one failure answer", err)
	}
	if _, err := acct(1).SignIn(ctx, connect.NewRequest(&v1.SignInRequest{Account: "sup1", Password: pw, TotpCode: "000000"})); !hasCode(err, "unauthenticated") {
		t.Fatalf("sign-in with a wrong code: %v", err)
	}
	code, err := totp.GenerateCode(key.Secret(), time.Now()) // TOTP runs on the wall clock
	if err != nil {
		t.Fatal(err)
	}
	if _, err := acct(2).SignIn(ctx, connect.NewRequest(&v1.SignInRequest{Account: "sup1", Password: pw, TotpCode: code})); err != nil {
		t.Fatalf("sign-in with the code: %v", err)
	}
	if _, err := acct(0).SignIn(ctx, connect.NewRequest(&v1.SignInRequest{Account: "sup1", Password: pw, TotpCode: code})); !hasCode(err, "unauthenticated") {
		t.Fatalf("the same TOTP code a second time: %v, want the one failure answer", err)
	}

	// A privileged person waits for the second person; a role can be required to use TOTP.
	added2, err := acct(0).AddAccount(ctx, bearer(&v1.AddAccountRequest{Key: testKey(), Id: "sup2", Name: "经信委二", Role: "supervisor"}, sec))
	mustOK("sup2", err)
	_, err = acct(0).Activate(ctx, connect.NewRequest(&v1.ActivateRequest{Key: testKey(), Account: "sup2", Code: added2.Msg.GetActivationCode(), Password: pw}))
	mustOK("activate sup2", err)
	if _, err := acct(1).SignIn(ctx, connect.NewRequest(&v1.SignInRequest{Account: "sup2", Password: pw})); !hasCode(err, "awaiting_confirmation") {
		t.Fatalf("an unconfirmed supervisor signs in: %v, want awaiting_confirmation", err)
	}
	_, err = acct(0).ConfirmAccount(ctx, bearer(&v1.ConfirmAccountRequest{Key: testKey(), Id: "sup2"}, auth))
	mustOK("confirm sup2", err)
	s2, err := acct(1).SignIn(ctx, connect.NewRequest(&v1.SignInRequest{Account: "sup2", Password: pw}))
	if err != nil {
		t.Fatalf("sign-in before TOTP is required: %v", err)
	}
	// Issue 22: a session of a disabled account stays ended when the account is enabled
	// again (before, the old sessions worked again).
	_, err = acct(0).SetAccountStatus(ctx, bearer(&v1.SetAccountStatusRequest{Key: testKey(), Id: "sup2", Disabled: true}, sec))
	mustOK("disable sup2", err)
	clock.advance(time.Second)
	_, err = acct(0).SetAccountStatus(ctx, bearer(&v1.SetAccountStatusRequest{Key: testKey(), Id: "sup2"}, sec))
	mustOK("enable sup2", err)
	waitApplied(t, nodes)
	for i := range nodes {
		if err := whoami(i, withSession(&v1.WhoAmIRequest{}, s2.Msg.GetSession())); !hasCode(err, "session_expired") {
			t.Fatalf("node%d: a session from before the disable, after the enable: %v, want session_expired", i+1, err)
		}
	}
	if _, err := acct(1).SetTOTPRoles(ctx, bearer(&v1.SetTOTPRolesRequest{Key: testKey(), Roles: []string{"supervisor"}}, sec)); err != nil {
		t.Fatal(err)
	}
	waitApplied(t, nodes)
	if _, err := acct(2).SignIn(ctx, connect.NewRequest(&v1.SignInRequest{Account: "sup2", Password: pw})); !hasCode(err, "unauthenticated") {
		t.Fatalf("a supervisor without TOTP once the role requires it: %v, want the one failure answer", err)
	}
}

func hasCode(err error, code string) bool {
	var ce *connect.Error
	if err == nil || !asConnect(err, &ce) {
		return false
	}
	for _, d := range ce.Details() {
		if m, e := d.Value(); e == nil {
			if ed, ok := m.(*v1.ErrorDetail); ok && ed.GetCode() == code {
				return true
			}
		}
	}
	return false
}

func asConnect(err error, target **connect.Error) bool { return errors.As(err, target) }

func testKey() string { return "test/" + randomHex(12) }
