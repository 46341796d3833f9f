// Package console tests the web console (issue 14) in a real headless Chromium (Debian's
// chromium, driven by chromedp) against a real ledgerd loaded with the demo data set by the
// same script `make run` uses (scripts/load-demo.sh).
package console

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/internal/testcluster"
)

var update = flag.Bool("update", false, "write the home-page screenshots to docs/console/")

// DemoPassword is the demo accounts' password (scripts/load-demo.sh).
const DemoPassword = testcluster.DemoPassword

type demo struct {
	t       *testing.T
	c       *testcluster.Cluster
	url     string
	dataDir string
	hc      *http.Client
	admin   string // the authority's token (authority1's: the demo retires the bootstrap credential)
}

// startDemo starts one ledgerd (optionally with API TLS) and loads the demo data set.
// CONSOLE_DEMO_URL and CONSOLE_DEMO_DATA point the tests at a `make run` already running
// instead (while working on the pages; CI never sets them).
func startDemo(t *testing.T, opts testcluster.Options) *demo {
	t.Helper()
	if u := os.Getenv("CONSOLE_DEMO_URL"); u != "" && !opts.OperatorTLS {
		dir := os.Getenv("CONSOLE_DEMO_DATA")
		admin, _ := os.ReadFile(filepath.Join(dir, "demo-tokens", "authority1.token"))
		return &demo{t: t, url: u, dataDir: dir, hc: http.DefaultClient, admin: strings.TrimSpace(string(admin))}
	}
	c := testcluster.Start(t, 1, opts)
	d := &demo{t: t, c: c, url: c.Nodes[0].URL, dataDir: t.TempDir(), hc: c.HTTP}
	testcluster.LoadDemo(t, d.url, d.dataDir)
	d.admin = d.token("authority1")
	return d
}

// token is a demo account's API token.
func (d *demo) token(account string) string { return testcluster.DemoToken(d.t, d.dataDir, account) }

func authed[T any](m *T, token string) *connect.Request[T] {
	r := connect.NewRequest(m)
	r.Header().Set("Authorization", "Bearer "+token)
	return r
}

func (d *demo) ledger() cloudledgerv1connect.LedgerServiceClient {
	return cloudledgerv1connect.NewLedgerServiceClient(d.hc, d.url)
}

func (d *demo) accounts() cloudledgerv1connect.AccountServiceClient {
	return cloudledgerv1connect.NewAccountServiceClient(d.hc, d.url)
}

// browserCtx starts a headless Chromium at 1366×768 that saves downloads in dir.
func browserCtx(t *testing.T, dir string) context.Context {
	t.Helper()
	exe := os.Getenv("CHROMIUM")
	if exe == "" {
		exe = "/usr/bin/chromium"
	}
	if _, err := os.Stat(exe); err != nil {
		t.Fatalf("no Chromium at %s (apt-get install -y chromium, or set CHROMIUM): %v", exe, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.WindowSize(1366, 768), chromedp.Flag("lang", "zh-CN"), chromedp.DisableGPU)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithDebugf(func(f string, a ...any) {
		if os.Getenv("CDP_DEBUG") != "" {
			t.Logf(f, a...)
		}
	}))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	yes := true
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &yes}); err != nil {
		t.Fatal(err)
	}
	// The tab opens with the first action on a context; open it on this one, which lives as
	// long as the test, not on an action's shorter context (chromedp.Run).
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// run runs browser steps with a minute's bound.
func run(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func get[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// signIn signs in through the form and waits for the role's home page.
func signIn(t *testing.T, ctx context.Context, base, account string) {
	t.Helper()
	if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil { // a clean start after a failed subtest
		t.Fatal(err)
	}
	run(t, ctx,
		chromedp.Navigate(base+"/signin"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=account]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=account]`), account),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), DemoPassword),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form.signout`)),
	)
}

func signOut(t *testing.T, ctx context.Context) {
	t.Helper()
	// The sign-in form itself: a page's own filter may have an account field too (/access).
	run(t, ctx, chromedp.Click(chromedp.CSS(`form.signout button`)), chromedp.WaitVisible(chromedp.CSS(`form[action="/signin"] input[name=account]`)))
}

// screenshot saves the whole page, 1366 wide, to docs/console/NAME.png with -update.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png := get(t, ctx, chromedp.FullScreenshot(100))
	dir := t.TempDir()
	if *update {
		dir = filepath.Join(testcluster.RepoRoot(), "docs", "console")
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	if len(png) < 10_000 {
		t.Errorf("screenshot %s is only %d bytes", name, len(png))
	}
}

// text is the text of the first element matching the CSS selector.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	// A page still loading may replace the node between finding and reading it: read again.
	for attempt := 1; ; attempt++ {
		tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		v, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
		cancel()
		if err == nil {
			return v
		}
		if attempt == 20 || !strings.Contains(err.Error(), "No node with given id") {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// location is the page's URL.
func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	return get(t, ctx, chromedp.Location())
}

// download clicks a link and waits for the browser to save the file; it returns its path.
func download(t *testing.T, ctx context.Context, dir, sel string) string {
	t.Helper()
	done := make(chan string, 1)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := chromedp.ListenBrowser(lctx, func(ev any) {
		if e, ok := ev.(*browser.EventDownloadProgress); ok && e.State == browser.DownloadProgressStateCompleted {
			select {
			case done <- e.GUID:
			default:
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	select {
	case guid := <-done:
		return filepath.Join(dir, guid)
	case <-time.After(30 * time.Second):
		t.Fatalf("no download after clicking %s", sel)
		return ""
	}
}

// httpClient is a cookie-keeping client of the console that does not follow redirects.
func (d *demo) httpClient() *http.Client { return testcluster.ConsoleClient(d.hc.Transport) }

func formToken(t *testing.T, hc *http.Client, u string) string {
	return testcluster.FormToken(t, hc, u)
}

// signInHTTP signs in with a plain client (the form, its token bound to the pre-session).
func (d *demo) signInHTTP(t *testing.T, hc *http.Client, account string) {
	t.Helper()
	testcluster.ConsoleSignIn(t, hc, d.url, account, DemoPassword)
}

// ok checks a call's error: ok(f())(t) is f's value, or the test stops.
func ok[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

// jsonField reads a string or number at a path of a JSON object.
func jsonField(t *testing.T, raw []byte, path ...string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	return fmt.Sprint(v)
}

// jsonList reads field of every object of the list at key.
func jsonList(t *testing.T, raw []byte, key, field string) []string {
	t.Helper()
	var v map[string]json.RawMessage
	var list []map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(v[key], &list); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, o := range list {
		out = append(out, fmt.Sprint(o[field]))
	}
	return out
}

// workbookHas reports whether a cell of any sheet holds the amount.
func workbookHas(t *testing.T, f *excelize.File, amount string) bool {
	t.Helper()
	want := decimal.RequireFromString(amount)
	for _, sh := range f.GetSheetList() {
		rows, err := f.GetRows(sh, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			for _, c := range r {
				if d, err := decimal.NewFromString(c); err == nil && d.Equal(want) {
					return true
				}
			}
		}
	}
	return false
}

// coverValue is the value beside a label on the budget export's cover sheet.
func coverValue(t *testing.T, f *excelize.File, label string) decimal.Decimal {
	t.Helper()
	rows, err := f.GetRows(f.GetSheetList()[0], excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if len(r) >= 2 && strings.HasPrefix(r[0], label) {
			return decimal.RequireFromString(r[1])
		}
	}
	t.Fatalf("the cover sheet has no %s", label)
	return decimal.Zero
}

// formatMoney is how the console should show an amount: 1,234,567.80 (written here
// again, not taken from the console).
func formatMoney(d decimal.Decimal) string {
	s := d.StringFixed(2)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	i, f, _ := strings.Cut(s, ".")
	for n := len(i) - 3; n > 0; n -= 3 {
		i = i[:n] + "," + i[n:]
	}
	if neg {
		i = "-" + i
	}
	return i + "." + f
}

func formatNumber(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// statusOf is the HTTP status of a console page for a demo account (signed in over HTTP).
func statusOf(t *testing.T, d *demo, account, path string) int {
	t.Helper()
	hc := d.httpClient()
	d.signInHTTP(t, hc, account)
	res, err := hc.Get(d.url + path)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// trailHas reports whether the access trail holds a record of the account with the result
// and a target containing target (read as the auditor; the trail lands within a second).
func trailHas(t *testing.T, d *demo, account, result, target string) bool {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := d.accounts().AccessLog(context.Background(), authed(&v1.AccessLogRequest{Account: account, Result: result}, d.token("auditor1")))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Msg.GetRecords() {
			if strings.Contains(r.GetTarget(), target) {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
}
