package access

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/cloudledger/cloudledger/internal/testcluster"
)

// ctlIn runs ledgerctl with a credential (possibly none) and stdin; it returns the output
// and whether it succeeded.
func ctlIn(t *testing.T, url, token, stdin string, args ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command(testcluster.CtlBinary(t), append([]string{"--server", url, "--lang", "en"}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CLOUDLEDGER_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if token != "" {
		cmd.Env = append(cmd.Env, "CLOUDLEDGER_TOKEN="+token)
	}
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// Issue 22, must show 1 (SPEC: Access, 三员分立), through ledgerctl: the bootstrap credential
// makes the first security and authority accounts and then does nothing; the security
// officer cannot make a privileged account act alone (created, activated with the code it
// saw, signed in: refused until a second person confirms), cannot obtain another account's
// token or secret, cannot issue a person's token, cannot confirm what it created, cannot
// disable the last auditor or itself as the last security account; the trail and the
// auditors' notices show each step.
func TestSeparationOfDuties(t *testing.T) {
	c := testcluster.Start(t, 1, testcluster.Options{})
	url := c.Nodes[0].URL
	const pw = "Sanyuan-2026!"
	person := func(creator, id, role string, extra ...string) string { // add → the code
		out, ok := ctlIn(t, url, creator, "", append([]string{"account", "add", "--id", id, "--role", role, "--name", id}, extra...)...)
		if !ok {
			t.Fatalf("account add %s: %s", id, out)
		}
		return lastLine(out)
	}
	activate := func(id, code string) {
		if out, ok := ctlIn(t, url, "", code+"\n"+pw+"\n", "account", "activate", "--id", id); !ok {
			t.Fatalf("activate %s: %s", id, out)
		}
	}
	signin := func(id string) (string, bool) {
		out, ok := ctlIn(t, url, "", pw+"\n", "signin", "--id", id)
		if !ok {
			return out, false
		}
		return strings.Split(strings.TrimSpace(out), "\n")[0], true
	}
	mustSignin := func(id string) string {
		s, ok := signin(id)
		if !ok {
			t.Fatalf("signin %s: %s", id, s)
		}
		return s
	}
	refused := func(what, out string, ok bool, code string) {
		t.Helper()
		if ok || !strings.Contains(out, code) {
			t.Errorf("%s: want %s, got ok=%v: %s", what, code, ok, out)
		}
	}

	// The bootstrap credential initialises, then is retired.
	boot := testcluster.Token
	out, ok := ctlIn(t, url, boot, "", "account", "add", "--id", "sup0", "--role", "supervisor", "--name", "x")
	refused("the bootstrap credential adds a supervisor", out, ok, "permission_denied")
	activate("sec1", person(boot, "sec1", "security"))
	sec := mustSignin("sec1")
	activate("auth1", person(boot, "auth1", "authority"))
	auth := mustSignin("auth1")
	for _, args := range [][]string{{"verify"}, {"account", "list"}, {"account", "add", "--id", "x", "--role", "department", "--name", "x", "--department", "d"}} {
		out, ok := ctlIn(t, url, boot, "", args...)
		refused("the retired bootstrap credential: "+strings.Join(args, " "), out, ok, "unauthenticated")
	}

	// A privileged account the security officer made and activated itself does not act.
	code := person(sec, "fin1", "finance")
	activate("fin1", code) // with the code it saw
	out, ok = signin("fin1")
	refused("fin1 signs in before confirmation", out, ok, "awaiting_confirmation")
	out, ok = ctlIn(t, url, sec, "", "account", "confirm", "--id", "fin1")
	refused("the creator confirms", out, ok, "permission_denied")
	out, ok = ctlIn(t, url, sec, "", "account", "token", "issue", "--id", "fin1")
	refused("security issues a person's token", out, ok, "permission_denied")
	out, ok = ctlIn(t, url, sec, "", "account", "token", "issue", "--id", "auth1")
	refused("security issues the authority's token", out, ok, "permission_denied")
	if out, ok := ctlIn(t, url, auth, "", "account", "confirm", "--id", "fin1"); !ok {
		t.Fatalf("the authority confirms fin1: %s", out)
	}
	fin := mustSignin("fin1")
	if out, ok := ctlIn(t, url, fin, "", "settle", "status", "--year", "2026"); !ok {
		t.Fatalf("fin1 acts once confirmed: %s", out)
	}
	tok, ok := ctlIn(t, url, fin, "", "account", "token", "issue")
	if !ok {
		t.Fatalf("fin1 issues its own token: %s", tok)
	}

	// No secret of another account comes out: the list holds none; a reset ends the
	// person's password rather than revealing it.
	list, ok := ctlIn(t, url, sec, "", "account", "list", "--format", "json")
	if !ok || strings.Contains(list, "argon2") || strings.Contains(list, strings.TrimSpace(tok)) || strings.Contains(list, "totp_secret") {
		t.Fatalf("account list: %s", list)
	}
	var accounts []map[string]string
	if err := json.Unmarshal([]byte(list), &accounts); err != nil {
		t.Fatal(err)
	}
	for _, a := range accounts {
		if a["id"] == "admin" || a["id"] == "security" {
			if a["status"] != "retired" {
				t.Errorf("the bootstrap account %s is %s, want retired", a["id"], a["status"])
			}
		}
	}

	// The last auditor and the last security account stay.
	activate("aud1", person(sec, "aud1", "auditor"))
	if out, ok := ctlIn(t, url, auth, "", "account", "confirm", "--id", "aud1"); !ok { // no second security, no auditor yet
		t.Fatalf("the authority confirms the first auditor: %s", out)
	}
	aud := mustSignin("aud1")
	out, ok = ctlIn(t, url, sec, "", "account", "disable", "--id", "aud1")
	refused("disable the only auditor", out, ok, "last_account_of_role")
	out, ok = ctlIn(t, url, sec, "", "account", "disable", "--id", "sec1")
	refused("the only security officer disables itself", out, ok, "last_account_of_role")
	activate("sec2", person(sec, "sec2", "security"))
	out, ok = ctlIn(t, url, auth, "", "account", "confirm", "--id", "sec2")
	refused("the authority confirms a security account once an auditor exists", out, ok, "permission_denied")
	if out, ok := ctlIn(t, url, aud, "", "account", "confirm", "--id", "sec2"); !ok {
		t.Fatalf("the auditor confirms the second security officer: %s", out)
	}
	if out, ok := ctlIn(t, url, sec, "", "account", "disable", "--id", "sec2"); !ok {
		t.Fatalf("disabling the second security account: %s", out)
	}

	// The trail and the auditors' notices show each step.
	trail, ok := ctlIn(t, url, aud, "", "access", "log", "--format", "json")
	if !ok {
		t.Fatal(trail)
	}
	for _, want := range []string{"AddAccount", "ConfirmAccount", "Activate", "SignIn", "IssueToken", "SetAccountStatus"} {
		if !strings.Contains(trail, want) {
			t.Errorf("the trail has no %s", want)
		}
	}
	notices, ok := ctlIn(t, url, aud, "", "notice", "list", "--format", "json")
	if !ok {
		t.Fatal(notices)
	}
	var list2 []map[string]any
	if err := json.Unmarshal([]byte(notices), &list2); err != nil {
		t.Fatal(err)
	}
	steps := map[string]bool{}
	for _, n := range list2 {
		if n["party"] == "auditor" {
			steps[n["reason"].(string)] = true
		}
	}
	for _, want := range []string{"add fin1 by sec1", "confirm fin1 by auth1", "activated fin1 by fin1", "token_issued fin1 by fin1",
		"add sec1 by security", "confirm sec2 by aud1", "disable sec2 by sec1"} {
		if !steps[want] {
			t.Errorf("no notice to the auditors of %q (have %v)", want, steps)
		}
	}
}
