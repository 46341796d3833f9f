package console

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cloudledger/cloudledger/internal/testcluster"
)

// Issue 22, must show 1 (the console half): in Chromium, the security officer creates an
// authority account on the accounts page and sees its one-time code once; the person
// activates it with the code; signed in, it is refused until a second person confirms it —
// authority1 on the page of accounts to confirm — and then it lands on its home page. Each
// step is in the access trail.
func TestAccountPagesInTheConsole(t *testing.T) {
	d := startDemo(t, testcluster.Options{})
	ctx := browserCtx(t, t.TempDir())

	signIn(t, ctx, d.url, "security1")
	if got := location(t, ctx); got != d.url+"/accounts" {
		t.Fatalf("security1 landed on %s, want /accounts", got)
	}
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`form[action="/accounts"] input[name=id]`), "auth2"),
		chromedp.SendKeys(chromedp.CSS(`form[action="/accounts"] input[name=name]`), "运行管理单位 孙工"),
		chromedp.SetValue(chromedp.CSS(`form[action="/accounts"] select[name=role]`), "authority"),
		chromedp.Click(chromedp.CSS(`form[action="/accounts"]:not(.inline) button`)),
		chromedp.WaitVisible(chromedp.CSS(`#activation-code`)),
	)
	shown := text(t, ctx, "#activation-code")
	code := ""
	for _, f := range strings.Fields(shown) {
		if strings.Count(f, "-") == 5 && len(f) == 29 {
			code = f
		}
	}
	if code == "" {
		t.Fatalf("no activation code on the page:\n%s", shown)
	}
	if s := text(t, ctx, "main"); !strings.Contains(s, "待第二人确认") {
		t.Errorf("the new authority account is not shown as waiting for confirmation:\n%s", s)
	}
	screenshot(t, ctx, "security-accounts")
	signOut(t, ctx)

	// The person activates the account with the code.
	run(t, ctx,
		chromedp.Navigate(d.url+"/activate"),
		chromedp.SendKeys(chromedp.CSS(`input[name=account]`), "auth2"),
		chromedp.SendKeys(chromedp.CSS(`input[name=code]`), code),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), DemoPassword),
		chromedp.SendKeys(chromedp.CSS(`input[name=again]`), DemoPassword),
		chromedp.Click(chromedp.CSS(`form[action="/activate"] button`)),
		chromedp.WaitNotPresent(chromedp.CSS(`input[name=code]`)),
	)
	if s := text(t, ctx, "main"); !strings.Contains(s, "账号已激活") {
		t.Fatalf("after activation:\n%s", s)
	}

	// Signed in before a second person confirmed it: refused.
	run(t, ctx,
		chromedp.Navigate(d.url+"/signin"),
		chromedp.SendKeys(chromedp.CSS(`input[name=account]`), "auth2"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), DemoPassword),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button`)),
	)
	waitFor(t, ctx, `.error, form.signout`)
	if s := text(t, ctx, "main"); !strings.Contains(s, "第二人确认") {
		t.Fatalf("an unconfirmed authority account signed in:\n%s", s)
	}

	// authority1 confirms it.
	signIn(t, ctx, d.url, "authority1")
	run(t, ctx, chromedp.Navigate(d.url+"/accounts/pending"))
	waitFor(t, ctx, `main h1`)
	if s := text(t, ctx, "main"); !strings.Contains(s, "auth2") {
		t.Fatalf("auth2 is not among the accounts to confirm:\n%s", s)
	}
	run(t, ctx, chromedp.Click(chromedp.CSS(`#t-pending form button`)), chromedp.WaitNotPresent(chromedp.CSS(`#t-pending`)))
	if s := text(t, ctx, "main"); !strings.Contains(s, "账号已确认") {
		t.Fatalf("after confirming:\n%s", s)
	}
	signOut(t, ctx)
	signIn(t, ctx, d.url, "auth2")
	if got := location(t, ctx); got != d.url+"/authority" {
		t.Fatalf("auth2 landed on %s, want /authority", got)
	}
	for _, step := range []struct{ account, target string }{{"security1", "account=auth2"}, {"authority1", "account=auth2"}} {
		if !trailHas(t, d, step.account, "ok", step.target) {
			t.Errorf("the trail has no record of %s on %s", step.account, step.target)
		}
	}
}

// waitFor waits until an element matching sel is on the page, across the navigation a
// form's submission starts.
func waitFor(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		found, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector(`+strconv.Quote(sel)+`) !== null`))
		if err == nil && found {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no %s on the page after 10 s", sel)
}
