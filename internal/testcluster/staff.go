package testcluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"sync"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
)

// staff are a cluster's program accounts made for tests, by node URL (any node of a
// cluster reaches the same ledger: a test uses one URL per cluster).
type staff struct {
	mu     sync.Mutex
	ac     cloudledgerv1connect.AccountServiceClient
	tokens map[string]string // by account id
	roles  map[string]string
}

var (
	staffMu sync.Mutex
	staffs  = map[string]*staff{}   // by node URL
	byURL   = map[string]*Cluster{} // every node URL of the clusters started, to share one staff per cluster
)

// liveAdminToken is adminToken of the one cluster with a staff, or the bootstrap token.
func liveAdminToken() string {
	staffMu.Lock()
	defer staffMu.Unlock()
	var found *staff
	for _, s := range staffs {
		if found != nil && s != found {
			return Token // several clusters with staff: none is meant
		}
		found = s
	}
	if found != nil {
		return found.tokens["authority1"]
	}
	return Token
}

// register notes a node's URL as its cluster's (a node added later shares the staff).
func register(c *Cluster, url string) {
	staffMu.Lock()
	defer staffMu.Unlock()
	byURL[url] = c
	for _, nd := range c.Nodes {
		if s, ok := staffs[nd.URL]; ok {
			staffs[url] = s
			return
		}
	}
}

// unregister forgets a stopped cluster's URLs (a later test may reuse the ports).
func unregister(c *Cluster) {
	staffMu.Lock()
	defer staffMu.Unlock()
	for _, nd := range c.Nodes {
		delete(byURL, nd.URL)
		delete(staffs, nd.URL)
	}
}

// adminToken is the token that acts as the cluster's authority: the bootstrap token until
// the staff exists (it retires the bootstrap credential), authority1's from then on.
func adminToken(url string) string {
	staffMu.Lock()
	defer staffMu.Unlock()
	if s, ok := staffs[url]; ok {
		return s.tokens["authority1"]
	}
	return Token
}

type fataler interface {
	Helper()
	Fatalf(string, ...any)
}

func staffOf(tb fataler, hc *http.Client, url string) *staff {
	tb.Helper()
	if hc == nil {
		hc = http.DefaultClient
	}
	staffMu.Lock()
	defer staffMu.Unlock()
	if s, ok := staffs[url]; ok {
		return s
	}
	s := &staff{ac: cloudledgerv1connect.NewAccountServiceClient(hc, url), tokens: map[string]string{}, roles: map[string]string{}}
	// The bootstrap credential makes the first security and authority accounts (and the
	// first one's token); security1 issues authority1's.
	s.add(tb, Token, &v1.AddAccountRequest{Key: FreshKey(), Id: "security1", Name: "安全管理员（测试）", Role: "security", Program: true})
	s.tokens["security1"] = s.issue(tb, Token, "security1")
	s.add(tb, Token, &v1.AddAccountRequest{Key: FreshKey(), Id: "authority1", Name: "主管部门（测试）", Role: "authority", Program: true})
	s.tokens["authority1"] = s.issue(tb, s.tokens["security1"], "authority1")
	s.roles["security1"], s.roles["authority1"] = "security", "authority"
	staffs[url] = s
	if c, ok := byURL[url]; ok { // every node of the cluster has the same staff
		for _, nd := range c.Nodes {
			staffs[nd.URL] = s
		}
	}
	return s
}

func (s *staff) token(tb fataler, id, role, scope string) string {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok, ok := s.tokens[id]; ok {
		return tok
	}
	add := &v1.AddAccountRequest{Key: FreshKey(), Id: id, Name: id, Role: role, Program: true}
	switch role {
	case "department":
		add.Department = scope
	case "provider":
		add.Provider = scope
	}
	if pending := s.add(tb, s.tokens["security1"], add); pending {
		s.confirm(tb, id)
	}
	s.tokens[id], s.roles[id] = s.issue(tb, s.tokens["security1"], id), role
	return s.tokens[id]
}

// confirm has a second person confirm id: the ledger says which role may (an authority,
// else an auditor, else another security account), so each is tried in turn.
func (s *staff) confirm(tb fataler, id string) {
	tb.Helper()
	var last error
	for _, role := range []string{"authority", "auditor", "security"} {
		for who, r := range s.roles {
			if r != role || who == id || who == "security1" {
				continue
			}
			_, err := call(tb, func(ctx context.Context) error {
				_, err := s.ac.ConfirmAccount(ctx, bearer(connect.NewRequest(&v1.ConfirmAccountRequest{Key: FreshKey(), Id: id}), s.tokens[who]))
				return err
			})
			if err == nil {
				return
			}
			last = err
		}
	}
	tb.Fatalf("nobody could confirm %s: %v", id, last)
}

func (s *staff) add(tb fataler, token string, m *v1.AddAccountRequest) (pending bool) {
	tb.Helper()
	res, err := call(tb, func(ctx context.Context) error {
		res, err := s.ac.AddAccount(ctx, bearer(connect.NewRequest(m), token))
		if err == nil {
			pending = res.Msg.GetPending()
		}
		return err
	})
	_ = res
	if err != nil && connect.CodeOf(err) != connect.CodeAlreadyExists {
		tb.Fatalf("adding account %s (%s): %v", m.GetId(), m.GetRole(), err)
	}
	return pending
}

func (s *staff) issue(tb fataler, token, id string) string {
	tb.Helper()
	var tok string
	if _, err := call(tb, func(ctx context.Context) error {
		res, err := s.ac.IssueToken(ctx, bearer(connect.NewRequest(&v1.IssueTokenRequest{Key: FreshKey(), Account: id}), token))
		if err == nil {
			tok = res.Msg.GetToken()
		}
		return err
	}); err != nil {
		tb.Fatalf("issuing a token for %s: %v", id, err)
	}
	return tok
}

// call retries fn while its failure is transient (a leader election, a node starting).
func call(tb fataler, fn func(ctx context.Context) error) (struct{}, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		err := fn(ctx)
		if err == nil || !retryable(err) || ctx.Err() != nil {
			return struct{}{}, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func bearer[T any](req *connect.Request[T], token string) *connect.Request[T] {
	req.Header().Set("Authorization", "Bearer "+token)
	return req
}

// Person adds a person's account of the role with its password, as 三员分立 wants it:
// security1 adds it, a second person confirms a privileged one, the person activates it
// with the one-time code.
func Person(tb fataler, hc *http.Client, url, id, role, scope, password string) {
	tb.Helper()
	s := staffOf(tb, hc, url)
	s.mu.Lock()
	defer s.mu.Unlock()
	add := &v1.AddAccountRequest{Key: FreshKey(), Id: id, Name: id, Role: role}
	switch role {
	case "department":
		add.Department = scope
	case "provider":
		add.Provider = scope
	}
	var code string
	if _, err := call(tb, func(ctx context.Context) error {
		res, err := s.ac.AddAccount(ctx, bearer(connect.NewRequest(add), s.tokens["security1"]))
		if err == nil {
			code = res.Msg.GetActivationCode()
			if res.Msg.GetPending() {
				defer s.confirm(tb, id)
			}
		}
		return err
	}); err != nil {
		tb.Fatalf("adding %s: %v", id, err)
	}
	if _, err := call(tb, func(ctx context.Context) error {
		_, err := s.ac.Activate(ctx, connect.NewRequest(&v1.ActivateRequest{Key: FreshKey(), Account: id, Code: code, Password: password}))
		return err
	}); err != nil {
		tb.Fatalf("activating %s: %v", id, err)
	}
}

// FreshKey is a new idempotency key for one write a test makes (the client names the key
// of every write).
func FreshKey() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "test/" + hex.EncodeToString(b[:])
}
