package console

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/internal/testcluster"
)

// Issue 26, must show 3 in the console: the evaluation page in Chromium and over HTTP, on a node moved to 3 June 2031 (2031Q3, March–May,
// has ended; its survey is open). d1 holds p1's resource r0 all quarter. The department
// answers the survey (80) in its form and cannot publish; the authority enters the expert
// score (70): the draft is (20 × 80 + 20 × 70) ÷ 40 = 75.00, multiplier 0.95; the publish
// button asks first, naming the quarter; published, the page says so and the forms are
// gone. A score entered by hand for May is shown beside the published one. The provider
// sees its row and no answer. The Chinese pages carry no English word.
func TestEvaluationInTheConsole(t *testing.T) {
	c := testcluster.Start(t, 1, testcluster.Options{BuildTags: "chaos"})
	u := c.Nodes[0].URL
	c.Nodes[0].ClockAt(t, "2031-06-03T10:00:00+08:00")
	admin := testcluster.AuthorityToken(t, c.HTTP, u)
	lc := cloudledgerv1connect.NewLedgerServiceClient(c.HTTP, u)
	if _, err := lc.Submit(context.Background(), authed(&v1.SubmitRequest{Commands: append(testcluster.SeedCommands(), testcluster.Allocate("eval", 0))}, admin)); err != nil {
		t.Fatal(err)
	}
	cal := filepath.Join(t.TempDir(), "2031.json")
	os.WriteFile(cal, []byte(testcluster.Calendar2031), 0o600)
	load := exec.Command(testcluster.CtlBinary(t), "--server", u, "calendar", "load", cal)
	load.Env = append(os.Environ(), "CLOUDLEDGER_TOKEN="+admin)
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("calendar load: %v\n%s", err, out)
	}
	for _, p := range [][3]string{{"auth-eval", "authority", ""}, {"d1-eval", "department", "d1"}, {"p1-eval", "provider", "p1"}} {
		testcluster.Person(t, c.HTTP, u, p[0], p[1], p[2], DemoPassword)
	}
	client := func(account string) *http.Client {
		hc := testcluster.ConsoleClient(c.HTTP.Transport)
		testcluster.ConsoleSignIn(t, hc, u, account, DemoPassword)
		return hc
	}
	auth, dept, prov := client("auth-eval"), client("d1-eval"), client("p1-eval")
	const page = "/evaluation?quarter=2031Q3"
	allow := loadAllowList(t)
	get := func(hc *http.Client, who string) string {
		t.Helper()
		status, body := fetchPage(t, hc, u+page)
		if status != http.StatusOK {
			t.Fatalf("%s GET %s: HTTP %d\n%.800s", who, page, status, body)
		}
		// The page's own text (the header names the account by its id, which these
		// accounts have as their name).
		if w := latinWords(body[strings.Index(body, "<main>"):], allow); len(w) > 0 {
			t.Errorf("%s's evaluation page has English words outside code: %q", who, w)
		}
		return body
	}
	post := func(hc *http.Client, form url.Values) (int, string) {
		t.Helper()
		form.Set("csrf", testcluster.FormToken(t, hc, u+page))
		form.Set("key", fmt.Sprintf("eval%d", time.Now().UnixNano()))
		form.Set("quarter", "2031Q3")
		res, err := hc.PostForm(u+"/evaluation", form)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode, string(b)
	}

	if body := get(dept, "d1"); !strings.Contains(body, "填写满意度调查") || !strings.Contains(body, "开放中") {
		t.Fatalf("the department's page has no open survey form:\n%.3000s", body)
	}
	// In Chromium: the department's survey form, the authority's expert score, and the
	// publish button, which asks first.
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
	flashed := chromedp.WaitVisible(chromedp.CSS(`p.flash`))
	in := func(op, sel string) chromedp.CSS {
		return chromedp.CSS(`form:has(input[value="` + op + `"]) ` + sel)
	}
	signIn(t, ctx, u, "d1-eval")
	run(t, ctx, chromedp.Navigate(u+page), chromedp.SetValue(in("survey", "select[name=provider]"), "p1"),
		chromedp.SendKeys(in("survey", "input[name=score]"), "80"), chromedp.Click(in("survey", "button")), flashed)
	if code, _ := post(dept, url.Values{"op": {"publish"}}); code != http.StatusForbidden {
		t.Errorf("a department publishing: HTTP %d, want 403", code)
	}
	signIn(t, ctx, u, "auth-eval")
	run(t, ctx, chromedp.Navigate(u+page), chromedp.SetValue(in("expert", "select[name=provider]"), "p1"),
		chromedp.SendKeys(in("expert", "input[name=score]"), "70"), chromedp.SendKeys(in("expert", "input[name=ref]"), "评审〔2031〕3号"),
		chromedp.Click(in("expert", "button")), flashed)
	draft := get(auth, "the authority")
	for _, want := range []string{"草稿", `data-sort="75.00">75.00</td>`, `data-sort="0.95">0.95</td>`, "评审〔2031〕3号", `data-confirm="发布2031 结算年度第 3 季度`} {
		if !strings.Contains(draft, want) {
			t.Errorf("the authority's draft lacks %s", want)
		}
	}
	run(t, ctx, chromedp.Navigate(u+page), chromedp.Click(in("publish", "button")), flashed)
	mu.Lock()
	if len(dialogs) != 1 || !strings.HasPrefix(dialogs[0], "发布2031 结算年度第 3 季度") {
		t.Errorf("the browser's questions: %q, want one, before publishing 2031Q3", dialogs)
	}
	mu.Unlock()
	published := get(auth, "the authority")
	if !strings.Contains(published, "已发布") || strings.Contains(published, "录入专家评审得分") || strings.Contains(published, "填写满意度调查") {
		t.Errorf("after publication the page is not published or still has the forms")
	}
	if body := get(dept, "d1"); strings.Contains(body, "填写满意度调查") || !strings.Contains(body, "已关闭") {
		t.Errorf("after publication the department can still answer")
	}
	// A score entered by hand on May's days wins there: the page says so beside the score.
	score := &v1.Command{Key: "eval-entered", Body: &v1.Command_Evaluation{Evaluation: &v1.Evaluation{Provider: "p1", From: "2031-05-01", To: "2031-05-31", Score: "90"}}}
	if _, err := lc.Submit(context.Background(), authed(&v1.SubmitRequest{Commands: []*v1.Command{score}}, admin)); err != nil {
		t.Fatal(err)
	}
	own := get(prov, "p1")
	if !strings.Contains(own, "2031-05-01 至 2031-05-31：90") {
		t.Errorf("the provider's page does not show the entered score")
	}
	if !strings.Contains(own, `data-sort="75.00">75.00</td>`) || strings.Contains(own, "满意度调查答卷") || strings.Contains(own, "市财政局") {
		t.Errorf("the provider's page: want its score and no answer, no department:\n%s", own[strings.Index(own, "<main>"):])
	}
}
