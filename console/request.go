package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/cloudledger/cloudledger/money"
	"github.com/shopspring/decimal"
	"net/http"
	"net/url"
	"strings"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
)

// Cookies of the console. The session cookie holds the API session itself (signed by the
// cluster, checked by the API on every call); the others hold no secret.
const (
	SessionCookie = "cloudledger_session" // server.SessionCookie
	LangCookie    = "cloudledger_lang"    // zh | en
	// PresessionCookie binds the sign-in form's CSRF token before there is a session.
	PresessionCookie = "cloudledger_presession"
	// CSRFField is the hidden field every form carries.
	CSRFField = "csrf"
)

// Me is the signed-in account.
type Me struct {
	Account, Name, Role, Department, Provider string
	// TOTP: the account has a TOTP second factor; TOTPRequired: its role must have one.
	TOTP, TOTPRequired bool
}

// Home is the page a role lands on.
func (m *Me) Home() string {
	switch m.Role {
	case "department":
		return "/d/" + url.PathEscape(m.Department)
	case "provider":
		return "/p/" + url.PathEscape(m.Provider)
	case "supervisor":
		return "/supervisor"
	case "finance":
		return "/finance"
	case "authority":
		return "/authority"
	case "auditor":
		return "/auditor"
	case "security":
		return "/accounts"
	}
	return "/"
}

// pageRequest is one page request of the console: its language, its caller, who is signed in.
type pageRequest struct {
	r       *http.Request
	lang    string
	me      *Me
	caller  *caller
	context context.Context
	csrf    string
	// unreadable lists the figures of the API's answers this page could not read: the
	// page is then not shown (serve), rather than shown with them as zero.
	unreadable []string
	con        *Console
	dir        *names // the Directory's names, asked once (names.go)
	// statuses are the settlement years' status this page asked for (the finance home and
	// its to-do box ask for the same three years).
	statuses map[int32]*v1.SettleStatusResponse
}

// settleStatus asks for a settlement year's status once per page, without its blockers:
// neither the finance home nor the to-do box shows them, and they rate the whole window.
func (rq *pageRequest) settleStatus(year int32) (*v1.SettleStatusResponse, error) {
	if s, ok := rq.statuses[year]; ok {
		return s, nil
	}
	res, err := rq.con.ledger.SettleStatus(rq.ctx(), connect.NewRequest(&v1.SettleStatusRequest{Year: year, SkipBlockers: true}))
	if err != nil {
		return nil, err
	}
	if rq.statuses == nil {
		rq.statuses = map[int32]*v1.SettleStatusResponse{}
	}
	rq.statuses[year] = res.Msg
	return res.Msg, nil
}

// figure reads a decimal of an API answer for a sum or a chart; what it cannot read is
// recorded (the page will not be shown) and counts as zero meanwhile.
func (rq *pageRequest) figure(field, s string) decimal.Decimal {
	d, err := money.Parse(s)
	if err != nil {
		if len(rq.unreadable) < 5 {
			rq.unreadable = append(rq.unreadable, fmt.Sprintf("%s=%.40q", field, s))
		}
		return decimal.Zero
	}
	return d
}

func (c *Console) newRequest(r *http.Request) *pageRequest {
	rq := &pageRequest{r: r, lang: "zh", con: c}
	if ck, err := r.Cookie(LangCookie); err == nil && ck.Value == "en" {
		rq.lang = "en"
	}
	rq.caller = &caller{addr: r.RemoteAddr}
	if ck, err := r.Cookie(SessionCookie); err == nil && ck.Value != "" && len(ck.Value) < 2048 {
		rq.caller.session = ck.Value
	}
	rq.context = withCaller(r.Context(), rq.caller)
	return rq
}

// t picks the text of the request's language.
func (rq *pageRequest) t(zh, en string) string {
	if rq.lang == "en" {
		return en
	}
	return zh
}

// whoAmI asks the API who the session is; an ended session is an unauthenticated error.
func (c *Console) whoAmI(rq *pageRequest) error {
	if rq.caller.session == "" {
		return connect.NewError(connect.CodeUnauthenticated, errNoSession)
	}
	res, err := c.accounts.WhoAmI(rq.ctx(), connect.NewRequest(&v1.WhoAmIRequest{}))
	if err != nil {
		return err
	}
	m := res.Msg
	rq.me = &Me{Account: m.GetAccount(), Name: m.GetName(), Role: m.GetRole(), Department: m.GetDepartment(), Provider: m.GetProvider(),
		TOTP: m.GetTotp(), TOTPRequired: m.GetTotpRequired()}
	return nil
}

var errNoSession = errors.New("not signed in")

// sessionID is the id inside a session (its signature is the API's to check).
func sessionID(tok string) string {
	body, _, ok := strings.Cut(tok, ".")
	if !ok {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return ""
	}
	var c struct {
		ID string `json:"s"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return ""
	}
	return c.ID
}

// csrfToken is the token the request's forms carry: an HMAC of the session's id (or,
// before sign-in, of the pre-session cookie) with a key every node shares.
func (c *Console) csrfToken(bind string) string {
	key := c.cfg.CSRFKey()
	if key == nil || bind == "" {
		return ""
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("console-csrf\x00" + bind))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrfBind is what the request's CSRF token is bound to.
func (rq *pageRequest) csrfBind() string {
	if id := sessionID(rq.caller.session); id != "" {
		return "s:" + id
	}
	if ck, err := rq.r.Cookie(PresessionCookie); err == nil && len(ck.Value) >= 16 && len(ck.Value) < 128 {
		return "p:" + ck.Value
	}
	return ""
}

// checkCSRF refuses a form whose token is missing or is not this session's.
func (c *Console) checkCSRF(rq *pageRequest) bool {
	want := c.csrfToken(rq.csrfBind())
	got := rq.r.PostFormValue(CSRFField)
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

func (c *Console) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: c.cfg.Secure, SameSite: http.SameSiteStrictMode}
}

// renewCookie sends the session the API last renewed (each answer renews the idle time).
func (c *Console) renewCookie(w http.ResponseWriter, rq *pageRequest) {
	rq.caller.mu.Lock()
	tok := rq.caller.renewed
	rq.caller.mu.Unlock()
	if tok != "" && tok != rq.caller.session {
		http.SetCookie(w, c.cookie(SessionCookie, tok, 0))
	}
}

func (c *Console) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, c.cookie(SessionCookie, "", -1))
}

// ensurePresession gives a browser without a session the cookie its sign-in form's token
// is bound to.
func (c *Console) ensurePresession(w http.ResponseWriter, rq *pageRequest) {
	if rq.csrfBind() != "" {
		return
	}
	var b [24]byte
	_, _ = rand.Read(b[:])
	v := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, c.cookie(PresessionCookie, v, 3600))
	rq.r.AddCookie(&http.Cookie{Name: PresessionCookie, Value: v})
}

// safeNext keeps a redirect target on this site: a path, never a scheme, a host or a
// header break; anything else is "/".
func safeNext(s string) string {
	// Browsers drop tabs and line breaks from a URL and read a backslash as a slash, so
	// "/\t/evil.example" would become "//evil.example": refuse every control character and
	// backslash, then anything that is not a path on this site once parsed (issue 22).
	if len(s) > 2048 || !strings.HasPrefix(s, "/") {
		return "/"
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '\\' || r == 0x85 || r == 0x2028 || r == 0x2029 {
			return "/"
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return (&url.URL{Path: u.Path, RawQuery: u.RawQuery, Fragment: u.Fragment}).String()
}
