package access

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/cloudledger/cloudledger/internal/testcluster"
)

// Issue 27 (SPEC: Access, a TOTP second factor), through ledgerctl: a person signed in
// enrols their own second factor (the otpauth:// URL printed once) and then signs in with
// a code of it only; a token cannot change it; a wrong password is refused; a role that
// requires TOTP keeps it; where it does not, the person removes it with the password and a
// fresh code; an enrolment sent again under its key is already_done, its key not shown twice.
func TestTOTPThroughLedgerctl(t *testing.T) {
	c := testcluster.Start(t, 1, testcluster.Options{})
	u := c.Nodes[0].URL
	const pw = "Sanyuan-2026!"
	ctl := func(cred, stdin string, args ...string) string {
		t.Helper()
		out, ok := ctlIn(t, u, cred, stdin, args...)
		if !ok {
			t.Fatalf("ledgerctl %s: %s", strings.Join(args, " "), out)
		}
		return out
	}
	refused := func(what, code, cred, stdin string, args ...string) {
		t.Helper()
		if out, ok := ctlIn(t, u, cred, stdin, args...); ok || !strings.Contains(out, code) {
			t.Errorf("%s: want %s, got ok=%v: %s", what, code, ok, out)
		}
	}
	person := func(creator, id, role string) {
		code := lastLine(ctl(creator, "", "account", "add", "--id", id, "--role", role, "--name", id))
		ctl("", code+"\n"+pw+"\n", "account", "activate", "--id", id)
	}
	signin := func(id, code string) string {
		t.Helper()
		return strings.Split(strings.TrimSpace(ctl("", pw+"\n"+code+"\n", "signin", "--id", id)), "\n")[0]
	}
	person(testcluster.Token, "sec1", "security")
	person(testcluster.Token, "auth1", "authority")
	sec, auth := signin("sec1", ""), signin("auth1", "")
	person(sec, "sup1", "supervisor")
	ctl(auth, "", "account", "confirm", "--id", "sup1")
	sup := signin("sup1", "")

	refused("enrol with a wrong password", "unauthenticated", sup, "Wrong-Password-1\n", "account", "totp", "enrol")
	token := strings.Split(strings.TrimSpace(ctl(sup, "", "account", "token", "issue")), "\n")[0]
	refused("enrol with a token", "invalid_value", token, pw+"\n", "account", "totp", "enrol")
	link, err := url.Parse(lastLine(ctl(sup, pw+"\n", "account", "totp", "enrol")))
	secret := ""
	if err == nil && link.Scheme == "otpauth" {
		secret = link.Query().Get("secret")
	}
	if secret == "" {
		t.Fatalf("enrol printed no otpauth:// URL (%v)", err)
	}
	refused("a sign-in without a code", "unauthenticated", "", pw+"\n", "signin", "--id", "sup1")
	now, _ := totp.GenerateCode(secret, time.Now())
	sup = signin("sup1", now)

	ctl(sec, "", "account", "totp-roles", "--roles", "supervisor")
	next, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	refused("removing what the role requires", "permission_denied", sup, pw+"\n"+next+"\n", "account", "totp", "remove")
	ctl(sec, "", "account", "totp-roles", "--roles", "")
	refused("removing without the current code", "unauthenticated", sup, pw+"\n", "account", "totp", "remove")
	ctl(sup, pw+"\n"+next+"\n", "account", "totp", "remove")
	signin("sup1", "") // the password alone again
	// Sent again under its key (a lost answer), an enrolment says it was done and shows no
	// key a second time.
	if again := lastLine(ctl(sup, pw+"\n", "--key", "totp-once", "account", "totp", "enrol")); !strings.HasPrefix(again, "otpauth://") {
		t.Fatalf("enrol printed %q", again)
	}
	refused("the same enrolment again", "already_done", sup, pw+"\n", "--key", "totp-once", "account", "totp", "enrol")
	if list := ctl(auth, "", "account", "list", "--format", "json"); strings.Contains(list, secret) {
		t.Errorf("the account list holds the key: %s", list)
	}
}
