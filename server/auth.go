package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/cloudledger/cloudledger/errcode"
	"github.com/cloudledger/cloudledger/ledger"
)

// Sessions (SPEC: Access): signed with the cluster's session key, which is on the ledger,
// so any node checks a session another node issued. A session ends after SessionIdle
// without a call (every answer carries its renewal), after SessionMaxAge in any case, on
// sign-out, when its account is disabled or its password changed.
const (
	SessionIdle   = 30 * time.Minute
	SessionMaxAge = 12 * time.Hour
	// SessionHeader carries a renewed session on every answer to a session's call.
	SessionHeader = "Cloudledger-Session"
	// SessionCookie is the console's cookie of the same session.
	SessionCookie = "cloudledger_session"
	// forwardedForHeader and forwardedMACHeader carry a forwarded call's original address,
	// signed by the forwarding node with the session key (a client cannot forge it).
	forwardedForHeader = "Cloudledger-Forwarded-For"
	forwardedMACHeader = "Cloudledger-Forwarded-Mac"
)

type sessionClaims struct {
	Account string `json:"a"`
	ID      string `json:"s"`
	Issued  int64  `json:"i"` // Unix seconds
	// IssuedNano is the same instant to the nanosecond (sessions from before it have
	// none), so that a disable or reset ends exactly the sessions begun before it.
	IssuedNano int64 `json:"n,omitempty"`
	Last       int64 `json:"l"` // the last call, Unix seconds
}

// issuedAt is when the session began (to the second for a session from before IssuedNano).
func (c *sessionClaims) issuedAt() time.Time {
	if c.IssuedNano != 0 {
		return time.Unix(0, c.IssuedNano)
	}
	return time.Unix(c.Issued, 0)
}

func (s *Server) signSession(c sessionClaims) (string, error) {
	key := s.ledger.SessionKey()
	if key == nil {
		return "", errcode.Errf(errcode.Unavailable, "", "the cluster's session key is not installed yet; retry")
	}
	return signWith(key, c), nil
}

func signWith(key []byte, c sessionClaims) string {
	raw, _ := json.Marshal(c)
	m := hmac.New(sha256.New, key)
	m.Write(raw)
	return base64.RawURLEncoding.EncodeToString(raw) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// parseSession checks a session's signature with key and decodes its claims. It reads
// what a caller sends: any string is refused or accepted, never a panic (fuzzed).
func parseSession(key []byte, tok string) (*sessionClaims, bool) {
	body, mac, ok := strings.Cut(tok, ".")
	if len(tok) > maxSessionLen || key == nil || !ok {
		return nil, false
	}
	raw, err1 := base64.RawURLEncoding.DecodeString(body)
	sum, err2 := base64.RawURLEncoding.DecodeString(mac)
	if err1 != nil || err2 != nil {
		return nil, false
	}
	m := hmac.New(sha256.New, key)
	m.Write(raw)
	if !hmac.Equal(m.Sum(nil), sum) {
		return nil, false
	}
	var c sessionClaims
	if json.Unmarshal(raw, &c) != nil || c.Account == "" || c.ID == "" {
		return nil, false
	}
	return &c, true
}

// maxSessionLen bounds a session string (a real one is about 200 bytes).
const maxSessionLen = 1024

func (s *Server) checkSession(tok string, now time.Time) (*sessionClaims, *errcode.Error) {
	cp, ok := parseSession(s.ledger.SessionKey(), tok)
	if !ok {
		return nil, errcode.Errf(errcode.Unauthenticated, "", "not a session of this cluster")
	}
	c := *cp
	switch {
	case now.Sub(time.Unix(c.Last, 0)) > SessionIdle:
		return nil, errcode.Errf(errcode.SessionExpired, "", "the session was idle for more than %s", SessionIdle)
	case now.Sub(time.Unix(c.Issued, 0)) > SessionMaxAge:
		return nil, errcode.Errf(errcode.SessionExpired, "", "the session is older than %s", SessionMaxAge)
	case s.ledger.SessionEnded(c.ID):
		return nil, errcode.Errf(errcode.SessionExpired, "", "the session was signed out")
	}
	if cr, ok := s.ledger.CredentialsOf(c.Account); ok && cr.PasswordSetAt.Unix() > c.Issued {
		return nil, errcode.Errf(errcode.SessionExpired, "", "the password changed after the session began")
	}
	if a, ok := s.ledger.Account(c.Account); ok && !a.SessionsFrom.IsZero() && !a.SessionsFrom.Before(c.issuedAt()) {
		return nil, errcode.Errf(errcode.SessionExpired, "", "the account was disabled or reset after the session began")
	}
	return &c, nil
}

func newSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// credential is what a request presents.
func credential(h http.Header) (kind, value string) {
	a := h.Get("Authorization")
	if tok, ok := strings.CutPrefix(a, "Bearer "); ok && tok != "" {
		if strings.Count(tok, ".") == 1 && !strings.HasPrefix(tok, TokenPrefix) {
			return "session", tok // `ledgerctl signin` prints a session for --token / CLOUDLEDGER_TOKEN
		}
		return "token", tok
	}
	if ses, ok := strings.CutPrefix(a, "Session "); ok && ses != "" {
		return "session", ses
	}
	for _, c := range (&http.Request{Header: h}).CookiesNamed(SessionCookie) {
		if c.Value != "" {
			return "session", c.Value
		}
	}
	return "", ""
}

// authenticate finds the accounts a request's credential stands for. A token names the
// accounts it was granted to (the bootstrap token two); want picks the first whose role
// the procedure allows.
func (s *Server) authenticate(h http.Header, want []ledger.Role) (*principal, *errcode.Error) {
	kind, value := credential(h)
	now := s.cfg.Now()
	var candidates []ledger.Account
	var claims *sessionClaims
	switch kind {
	case "":
		return nil, errcode.Errf(errcode.Unauthenticated, "", "no credential (Authorization: Bearer <token>, or a session)")
	case "session":
		c, err := s.checkSession(value, now)
		if err != nil {
			return nil, err
		}
		a, ok := s.ledger.Account(c.Account)
		if !ok {
			return nil, errcode.Errf(errcode.Unauthenticated, "", "the session's account is unknown")
		}
		candidates, claims = []ledger.Account{a}, c
	case "token":
		sum := tokenHash(value)
		retired := false
		for _, g := range s.ledger.TokenGrants(sum) {
			if g.Revoked || (!g.Expires.IsZero() && !now.Before(g.Expires)) {
				continue
			}
			if g.ID == ledger.BootstrapTokenID && (g.Account == ledger.BootstrapAuthority || g.Account == ledger.BootstrapSecurity) && s.ledger.BootstrapRetired() {
				retired = true // SPEC: the bootstrap credential does nothing once both first accounts exist
				continue
			}
			if a, ok := s.ledger.Account(g.Account); ok {
				candidates = append(candidates, a)
			}
		}
		if len(candidates) == 0 && s.ledger.AccountCount() == 0 {
			// Before the bootstrap accounts are applied the admin token stands for them.
			if want := s.ledger.AdminTokenSHA256(); want == "" {
				return nil, errcode.Errf(errcode.Unavailable, "", "this node has not yet received the cluster's admin token; retry")
			} else if subtle.ConstantTimeCompare([]byte(sum), []byte(want)) == 1 {
				candidates = []ledger.Account{{ID: ledger.BootstrapAuthority, Role: ledger.RoleAuthority}, {ID: ledger.BootstrapSecurity, Role: ledger.RoleSecurity}}
			}
		}
		if len(candidates) == 0 && retired {
			return nil, errcode.Errf(errcode.Unauthenticated, "", "the bootstrap credential is retired: the first security and authority accounts exist (SPEC: Access, 三员分立)")
		}
		if len(candidates) == 0 {
			return nil, errcode.Errf(errcode.Unauthenticated, "", "unknown, expired or revoked token")
		}
	}
	active := slices.DeleteFunc(slices.Clone(candidates), func(a ledger.Account) bool { return a.Disabled })
	if len(active) == 0 {
		return nil, errcode.Errf(errcode.AccountDisabled, "", "account %s is disabled", candidates[0].ID)
	}
	if confirmed := slices.DeleteFunc(slices.Clone(active), func(a ledger.Account) bool { return a.Pending }); len(confirmed) == 0 {
		return nil, errcode.Errf(errcode.AwaitingConfirmation, "", "account %s waits for a second person's confirmation (SPEC: Access, 三员分立)", active[0].ID)
	} else {
		active = confirmed
	}
	candidates = active
	// A credential of several accounts (the bootstrap token) acts as the account of the
	// first role in want's order that it has.
	p := &principal{account: candidates[0], session: claims}
	for _, r := range want {
		if i := slices.IndexFunc(candidates, func(a ledger.Account) bool { return a.Role == r }); i >= 0 {
			p.account = candidates[i]
			break
		}
	}
	return p, nil
}

// callInfo is what the interceptor records of a call; the handler of a public procedure
// (sign-in) fills in the account it concerned.
type callInfo struct {
	account, role string
}

type callInfoKey struct{}
type principalKey struct{}

func principalOf(ctx context.Context) *principal {
	p, _ := ctx.Value(principalKey{}).(*principal)
	return p
}

func callInfoOf(ctx context.Context) *callInfo {
	c, _ := ctx.Value(callInfoKey{}).(*callInfo)
	return c
}

// authInterceptor authenticates, authorizes and records every call (SPEC: Access).
type authInterceptor struct{ s *Server }

func (ai authInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		msg, _ := req.Any().(proto.Message)
		ctx, p, rec, err := ai.s.admit(ctx, req.Spec().Procedure, req.Header(), req.Peer().Addr, msg)
		if err != nil {
			ai.s.trail.add(rec, err)
			return nil, toConnect(err)
		}
		if berr := ai.s.barrierFor(ctx, req.Spec().Procedure, req.Header()); berr != nil {
			ai.s.trail.add(rec, berr)
			return nil, toConnect(berr)
		}
		resp, herr := next(ctx, req)
		if ci := callInfoOf(ctx); ci.account != "" {
			rec.Account, rec.Role = ci.account, ci.role
		}
		ai.s.trail.add(rec, herr)
		if herr == nil && p != nil && p.session != nil && resp != nil {
			c := *p.session
			c.Last = ai.s.cfg.Now().Unix()
			if tok, err := ai.s.signSession(c); err == nil {
				resp.Header().Set(SessionHeader, tok)
			}
		}
		return resp, herr
	}
}

func (authInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler admits a client stream by its first message's rule and checks
// every later message against the same principal.
func (ai authInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, p, rec, err := ai.s.admit(ctx, conn.Spec().Procedure, conn.RequestHeader(), conn.Peer().Addr, nil)
		if err != nil {
			ai.s.trail.add(rec, err)
			return toConnect(err)
		}
		if berr := ai.s.barrierFor(ctx, conn.Spec().Procedure, conn.RequestHeader()); berr != nil {
			ai.s.trail.add(rec, berr)
			return toConnect(berr)
		}
		r := rules[conn.Spec().Procedure]
		sc := &checkedStream{StreamingHandlerConn: conn, s: ai.s, p: p, r: r}
		herr := next(ctx, sc)
		if sc.denied != nil {
			herr = sc.denied
		}
		ai.s.trail.add(rec, herr)
		return herr
	}
}

type checkedStream struct {
	connect.StreamingHandlerConn
	s      *Server
	p      *principal
	r      rule
	denied error
}

func (c *checkedStream) Receive(m any) error {
	if err := c.StreamingHandlerConn.Receive(m); err != nil {
		return err
	}
	if c.r.check != nil {
		if msg, ok := m.(proto.Message); ok {
			if err := c.r.check(c.s, c.p, msg); err != nil {
				c.denied = toConnect(err)
				return c.denied
			}
		}
	}
	return nil
}

// admit authenticates and authorizes one call. It returns the record the trail will keep.
func (s *Server) admit(ctx context.Context, procedure string, h http.Header, peer string, msg proto.Message) (context.Context, *principal, ledger.AccessRecord, *errcode.Error) {
	ctx = context.WithValue(ctx, callInfoKey{}, &callInfo{})
	if !accessControl {
		p := &principal{account: ledger.Account{ID: ledger.BootstrapAuthority, Role: ledger.RoleAuthority}}
		return context.WithValue(ctx, principalKey{}, p), p, ledger.AccessRecord{}, nil
	}
	rec := ledger.AccessRecord{Node: s.cfg.NodeID, Procedure: procedure, Address: s.callerAddress(h, peer)}
	r, ok := rules[procedure]
	if !ok {
		return ctx, nil, rec, errcode.Errf(errcode.PermissionDenied, "", "%s has no access rule", procedure)
	}
	if msg != nil && r.target != nil {
		rec.Target = r.target(msg)
	}
	if s.trail.full() {
		return ctx, nil, rec, errcode.Errf(errcode.Unavailable, "", "the access trail cannot keep up; retry")
	}
	if r.public {
		return ctx, nil, rec, nil
	}
	p, err := s.authenticate(h, r.roles)
	if err != nil {
		return ctx, nil, rec, err
	}
	rec.Account, rec.Role = p.account.ID, string(p.account.Role)
	if len(r.roles) == 0 {
		return ctx, p, rec, denied(p, "no account may call %s: membership is an operator's act on a host of the cluster (ledgerctl cluster add|remove --data-dir DIR --node-id ID)", shortProcedure(procedure))
	}
	if !slices.Contains(r.roles, p.account.Role) {
		return ctx, p, rec, denied(p, "%s is for the %s role", shortProcedure(procedure), joinRoles(r.roles))
	}
	if msg != nil && r.check != nil {
		if err := r.check(s, p, msg); err != nil {
			return ctx, p, rec, err
		}
	}
	return context.WithValue(ctx, principalKey{}, p), p, rec, nil
}

// authHTTP guards an HTTP endpoint with data by its rule, and records each call.
func (s *Server) authHTTP(procedure string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _, rec, err := s.admit(r.Context(), procedure, r.Header, r.RemoteAddr, nil)
		if err != nil {
			s.trail.add(rec, err)
			writeErr(w, r, err)
			return
		}
		rec.Target = r.Method + " " + r.URL.Path
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		var herr error
		if sw.code >= 400 {
			herr = httpStatus(sw.code)
		}
		s.trail.add(rec, herr)
	})
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) { w.code = code; w.ResponseWriter.WriteHeader(code) }

// Unwrap lets http.ResponseController reach the connection (write deadlines: backup.go).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// callerAddress is the peer's address, or for a call forwarded by a cluster member the
// original caller's, which the member signed.
func (s *Server) callerAddress(h http.Header, peer string) string {
	if orig := h.Get(forwardedForHeader); orig != "" {
		if mac, err := hex.DecodeString(h.Get(forwardedMACHeader)); err == nil && hmac.Equal(mac, s.forwardMAC(orig)) {
			return orig
		}
	}
	if host, _, err := net.SplitHostPort(peer); err == nil {
		return host
	}
	return peer
}

func (s *Server) forwardMAC(addr string) []byte {
	key := s.ledger.SessionKey()
	if key == nil {
		return nil
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("forwarded-for\x00" + addr))
	return m.Sum(nil)
}

func shortProcedure(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 && i+1 < len(p) {
		return p[i+1:]
	}
	return p
}
