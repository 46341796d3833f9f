package console

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/internal/testcluster"
)

// Issue 27 ("a page where every person changes their own password and TOTP"): in
// Chromium, a department's person enrols a TOTP second factor on their own page — a wrong
// current password refused first — and sees the new key once; signed out, a sign-in
// without a code is refused and one with a code of the shown key accepted; the person
// then removes it (asked first, with the password and a fresh code). A token cannot change
// a second factor (a person does it signed in), and the step is in the access trail.
func TestTOTPOnTheOwnAccountPage(t *testing.T) {
	d := startDemo(t, testcluster.Options{})
	ctx := browserCtx(t, t.TempDir())
	var mu sync.Mutex
	var dialogs []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*cdppage.EventJavascriptDialogOpening); ok {
			mu.Lock()
			dialogs = append(dialogs, e.Message)
			mu.Unlock()
			go chromedp.Call(ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: true}) //nolint:errcheck // the page shows what followed
		}
	}); err != nil {
		t.Fatal(err)
	}

	signIn(t, ctx, d.url, "edu-it")
	run(t, ctx, chromedp.Click(chromedp.CSS(`a.password`)), chromedp.WaitVisible(chromedp.CSS(`#totp`)))
	if s := text(t, ctx, "#totp"); !strings.Contains(s, "未启用") {
		t.Fatalf("edu-it's second factor before enrolling:\n%s", s)
	}
	enrol := func(password string) {
		t.Helper()
		run(t, ctx,
			chromedp.SendKeys(chromedp.CSS(`#totp input[name=password]`), password),
			chromedp.Click(chromedp.CSS(`#totp form button`)))
		waitFor(t, ctx, `p.error, #totp-key`)
	}
	enrol("Wrong-Password-1")
	if s := text(t, ctx, "main"); !strings.Contains(s, "当前密码或动态口令错误") {
		t.Fatalf("a wrong current password:\n%s", s)
	}
	enrol(DemoPassword)
	shown := text(t, ctx, "#totp-key")
	var secret string
	for _, f := range strings.Fields(shown) {
		if u, err := url.Parse(f); err == nil && u.Scheme == "otpauth" {
			secret = u.Query().Get("secret")
		}
	}
	if secret == "" {
		t.Fatalf("no otpauth:// key on the page:\n%s", shown)
	}
	if !get(t, ctx, chromedp.Evaluate[bool](`document.querySelector('#totp-key img[src^="data:image/png;base64,"]') !== null`)) {
		t.Error("the new key has no QR code")
	}
	if s := text(t, ctx, "#totp"); !strings.Contains(s, "已启用") {
		t.Errorf("after enrolling the page says:\n%s", s)
	}
	screenshot(t, ctx, "password-totp")
	signOut(t, ctx)

	signInWith := func(code string) {
		t.Helper()
		run(t, ctx,
			chromedp.Navigate(d.url+"/signin"),
			chromedp.SendKeys(chromedp.CSS(`input[name=account]`), "edu-it"),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), DemoPassword),
			chromedp.SendKeys(chromedp.CSS(`input[name=totp]`), code),
			chromedp.Click(chromedp.CSS(`form[action="/signin"] button`)))
		waitFor(t, ctx, `p.error, form.signout`)
	}
	signInWith("")
	if s := text(t, ctx, "main"); !strings.Contains(s, "账号、密码或动态口令错误") {
		t.Fatalf("signed in without a TOTP code:\n%s", s)
	}
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	signInWith(code)
	if got := location(t, ctx); got != d.url+"/d/edu" {
		t.Fatalf("with the code edu-it landed on %s", got)
	}

	// A token is not a person signed in: refused, whatever it holds.
	_, err = d.accounts().ChangeTOTP(context.Background(), authed(&v1.ChangeTOTPRequest{Key: testcluster.FreshKey(), Password: DemoPassword, TotpCode: code, Remove: true}, d.token("edu-it")))
	if connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Errorf("ChangeTOTP with a token: %v, want invalid_argument", err)
	}

	// Removed, asked first, with the password and a code of a later step (a code is good once).
	next, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	run(t, ctx, chromedp.Navigate(d.url+"/password"), chromedp.WaitVisible(chromedp.CSS(`#totp-remove`)),
		chromedp.SendKeys(chromedp.CSS(`#totp-remove input[name=password]`), DemoPassword),
		chromedp.SendKeys(chromedp.CSS(`#totp-remove input[name=code]`), next),
		chromedp.Click(chromedp.CSS(`#totp-remove form button`)))
	waitFor(t, ctx, `p.error, p.flash`)
	if s := text(t, ctx, "main"); !strings.Contains(s, "动态口令已移除") || !strings.Contains(text(t, ctx, "#totp"), "未启用") {
		t.Fatalf("after removing:\n%s", s)
	}
	mu.Lock()
	asked := strings.Join(dialogs, "\n")
	mu.Unlock()
	if !strings.Contains(asked, "确定移除") {
		t.Errorf("the removal did not ask first (dialogs: %q)", asked)
	}
	// The two steps are line items of edu-it's, naming no secret; the calls are in the trail.
	var ops []string
	for from := uint64(0); ; {
		items := ok(d.ledger().ListLineItems(context.Background(), authed(&v1.ListLineItemsRequest{FromSeq: from, Limit: 10000}, d.token("auditor1"))))(t)
		for _, li := range items.Msg.GetItems() {
			if li.GetActor() == "edu-it" && li.GetType() == "credential" && strings.Contains(li.GetBodyJson(), `"Op":"totp_`) {
				ops = append(ops, li.GetBodyJson())
			}
			if strings.Contains(li.String(), secret) {
				t.Errorf("line item %d holds the TOTP key", li.GetSeq())
			}
		}
		if from = items.Msg.GetNextSeq(); from == 0 {
			break
		}
	}
	if all := strings.Join(ops, " "); len(ops) != 2 || !strings.Contains(all, "totp_set") || !strings.Contains(all, "totp_removed") {
		t.Errorf("edu-it's credential line items: %q, want totp_set and totp_removed", ops)
	}
	log := ok(d.accounts().AccessLog(context.Background(), authed(&v1.AccessLogRequest{Account: "edu-it", Result: "ok"}, d.token("auditor1"))))(t)
	n := 0
	for _, r := range log.Msg.GetRecords() {
		if strings.HasSuffix(r.GetProcedure(), "/ChangeTOTP") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d ChangeTOTP calls of edu-it in the access trail, want 2", n)
	}
}
