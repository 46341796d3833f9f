package testcluster

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// DemoPassword is the demo accounts' password (scripts/load-demo.sh).
const DemoPassword = "Demo@2026"

// LoadDemo loads the demo data set into a node with the script `make run` uses, the demo
// accounts' tokens going to dataDir/demo-tokens.
func LoadDemo(tb testing.TB, url, dataDir string) {
	tb.Helper()
	cmd := exec.Command(filepath.Join(RepoRoot(), "scripts", "load-demo.sh"))
	cmd.Dir = RepoRoot()
	cmd.Env = append(os.Environ(), "CLOUDLEDGER_SERVER="+url, "CLOUDLEDGER_TOKEN="+Token, "DATA="+dataDir,
		"LEDGERCTL="+CtlBinary(tb), "DEMO_PASSWORD="+DemoPassword)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("load-demo.sh: %v\n%s", err, out)
	}
}

// DemoToken is a demo account's API token.
func DemoToken(tb testing.TB, dataDir, account string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "demo-tokens", account+".token"))
	if err != nil {
		tb.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// ConsoleClient is a cookie-keeping HTTP client of the web console that does not follow
// redirects (a test sees each answer), over transport.
func ConsoleClient(transport http.RoundTripper) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: transport, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// FormToken reads the CSRF token of the first form of a console page.
func FormToken(tb testing.TB, hc *http.Client, u string) string {
	tb.Helper()
	res, err := hc.Get(u)
	if err != nil {
		tb.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	s := string(body)
	const field = `name="csrf" value="`
	i := strings.Index(s, field)
	if i < 0 {
		tb.Fatalf("%s has no CSRF field:\n%.2000s", u, s)
	}
	s = s[i+len(field):]
	return s[:strings.IndexByte(s, '"')]
}

// ConsoleSignIn signs a console client in through the sign-in form.
func ConsoleSignIn(tb testing.TB, hc *http.Client, base, account, password string) {
	tb.Helper()
	tok := FormToken(tb, hc, base+"/signin")
	res, err := hc.PostForm(base+"/signin", url.Values{"csrf": {tok}, "account": {account}, "password": {password}, "next": {"/"}})
	if err != nil {
		tb.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		tb.Fatalf("console sign-in of %s: %s", account, res.Status)
	}
}
