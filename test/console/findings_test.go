package console

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/internal/testcluster"
)

// Issue 25, must show 2 in Chromium (SPEC: Utilisation, Lifecycle; the node's clock moved by
// the chaos build): the authority switches the rules on in the console from a past date; the
// backlog raises a no_monitoring finding on vm and a low_utilisation one on big; the
// authority warns (asked to confirm; the deadline across National Day), the department
// explains, the authority rejects; overdue; enforce (asked to confirm that it cannot be
// undone); the department's expansion refused with the reason in Chinese; the provider
// fulfils the reclaim request and the finding reads 已整改; the other department turns its
// advice into a reduce request in one action, approved and fulfilled, and its finding closes.
// The supervisor and the auditor read the findings; a provider may not.
func TestFindingsInTheConsole(t *testing.T) {
	c := testcluster.Start(t, 1, testcluster.Options{BuildTags: "chaos"})
	u := c.Nodes[0].URL
	admin := testcluster.AuthorityToken(t, c.HTTP, u)
	lc := cloudledgerv1connect.NewLedgerServiceClient(c.HTTP, u)
	fc := cloudledgerv1connect.NewFindingServiceClient(c.HTTP, u)
	clockAt := func(at string) { c.Nodes[0].ClockAt(t, at) }
	submit := func(cmds ...*v1.Command) {
		t.Helper()
		for i, cmd := range cmds {
			cmd.Key = testcluster.FreshKey()
			if _, err := lc.Submit(context.Background(), authed(&v1.SubmitRequest{Commands: []*v1.Command{cmd}}, admin)); err != nil {
				t.Fatalf("command %d: %v", i, err)
			}
		}
	}
	alloc := func(dept, project, res, qty string) *v1.Command {
		return &v1.Command{Body: &v1.Command_Event{Event: &v1.Event{Op: "allocate", Time: "2031-08-01T10:00:00+08:00", Department: dept, Project: project,
			Provider: "p1", Resource: res, Item: "ecs.vcpu", Kind: "standard", Quantity: qty}}}
	}
	clockAt("2031-08-01T09:00:00+08:00")
	submit(
		&v1.Command{Body: &v1.Command_CalendarYear{CalendarYear: &v1.CalendarYear{Json: testcluster.Calendar2031}}},
		&v1.Command{Body: &v1.Command_Department{Department: &v1.Department{Department: "d1", Name: "市教育局", Funding: "budget"}}},
		&v1.Command{Body: &v1.Command_Department{Department: &v1.Department{Department: "d2", Name: "市交通局", Funding: "budget"}}},
		&v1.Command{Body: &v1.Command_Provider{Provider: &v1.Provider{Provider: "p1", Name: "云商一", ContractStart: "2030-01-01", ContractEnd: "2035-12-31"}}},
		&v1.Command{Body: &v1.Command_ProjectQuota{ProjectQuota: &v1.ProjectQuota{Project: "prj1", Department: "d1", Name: "智慧教育", QuotaClass: "vcpu", Quota: "100"}}},
		&v1.Command{Body: &v1.Command_ProjectQuota{ProjectQuota: &v1.ProjectQuota{Project: "prj2", Department: "d2", Name: "交通调度", QuotaClass: "vcpu", Quota: "100"}}},
		&v1.Command{Body: &v1.Command_CatalogPrice{CatalogPrice: &v1.CatalogPrice{Item: "ecs.vcpu", Name: "云服务器vCPU", Category: "IaaS", Unit: "核·月",
			Billing: "allocation", QuotaClass: "vcpu", Price: "40", EffectiveFrom: "2030-01-01"}}},
		alloc("d1", "prj1", "vm", "8"), alloc("d2", "prj2", "big", "64"))
	for _, p := range []struct{ id, role, scope string }{{"auth-p", "authority", ""}, {"d1-p", "department", "d1"}, {"d2-p", "department", "d2"},
		{"p1-p", "provider", "p1"}, {"sup-p", "supervisor", ""}, {"aud-p", "auditor", ""}} {
		testcluster.Person(t, c.HTTP, u, p.id, p.role, p.scope, DemoPassword)
	}
	// 29 September: big's rows from 2 August, low (mean 5, peak 20); none of vm.
	clockAt("2031-09-29T10:00:00+08:00")
	var rows []*v1.UtilisationRow
	for d := time.Date(2031, 8, 2, 0, 0, 0, 0, time.UTC); d.Before(time.Date(2031, 9, 29, 0, 0, 0, 0, time.UTC)); d = d.AddDate(0, 0, 1) {
		rows = append(rows, &v1.UtilisationRow{Resource: "big", Date: d.Format("2006-01-02"), MeanPct: "5", PeakPct: "20", AvailabilityPct: "100"})
	}
	submit(&v1.Command{Body: &v1.Command_UtilisationDelivery{UtilisationDelivery: &v1.UtilisationDelivery{Rows: rows}}})

	ctx := browserCtx(t, t.TempDir())
	var mu sync.Mutex
	var dialogs []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			mu.Lock()
			dialogs = append(dialogs, e.Message)
			mu.Unlock()
			go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true}) //nolint:errcheck // the page shows what followed
		}
	}); err != nil {
		t.Fatal(err)
	}
	lastDialog := func() string {
		mu.Lock()
		defer mu.Unlock()
		if len(dialogs) == 0 {
			return ""
		}
		return dialogs[len(dialogs)-1]
	}
	signInAs := func(account string) {
		t.Helper()
		signIn(t, ctx, u, account)
	}
	flashed := chromedp.WaitVisible(chromedp.CSS(`p.flash`))

	// The authority switches the rules on from 2 August (the defaults, low_days 30).
	signInAs("auth-p")
	run(t, ctx, chromedp.Navigate(u+"/findings/rules"),
		chromedp.SetValue(chromedp.CSS(`input[name=effective_from]`), "2031-08-02"),
		chromedp.Click(chromedp.CSS(`form:has(input[value="rules"]) button`)), flashed)
	if d := lastDialog(); !strings.Contains(d, "生效日") {
		t.Errorf("setting the rules asked %q, want a confirmation", d)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := fc.ListUtilisationRules(context.Background(), authed(&v1.ListUtilisationRulesRequest{}, admin))
		if err != nil {
			t.Fatal(err)
		}
		if res.Msg.GetEvaluatedThrough() == "2031-09-26" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the backlog is evaluated through %q after 30 s, want 2031-09-26", res.Msg.GetEvaluatedThrough())
		}
		time.Sleep(200 * time.Millisecond)
	}

	row := func(subject, kind string) string {
		return `#findings tr:has(td[data-sort="` + subject + `"]):has(td[data-sort="` + kind + `"])`
	}
	vmRow, lowRow := row("vm", "监测数据缺失"), row("big", "使用率长期较低")
	run(t, ctx, chromedp.Navigate(u+"/findings"), chromedp.WaitVisible(chromedp.CSS(vmRow)))
	if s := text(t, ctx, vmRow); !strings.Contains(s, "待审核") || !strings.Contains(s, "2031年8月8日") || !strings.Contains(s, "市教育局") {
		t.Fatalf("vm's finding reads %q, want 待审核, raised on 8 August, of 市教育局", s)
	}
	if s := text(t, ctx, lowRow); !strings.Contains(s, "19") || !strings.Contains(s, "平均 5.00%，峰值 20.00%") {
		t.Fatalf("big's finding reads %q, want the advice 19 and its evidence", s)
	}
	// Warned on Monday 29 September: 20 working days across National Day end on 31 October.
	run(t, ctx, chromedp.Click(chromedp.CSS(vmRow+` button`)), flashed)
	if d := lastDialog(); !strings.Contains(d, "警告提示") {
		t.Errorf("warning asked %q, want a confirmation", d)
	}
	if s := text(t, ctx, vmRow); !strings.Contains(s, "警告提示") || !strings.Contains(s, "2031年10月31日") {
		t.Fatalf("after the warning vm's finding reads %q, want 警告提示 with the deadline 2031年10月31日", s)
	}
	signOut(t, ctx)

	// The department explains on Monday 13 October (review by 20 October).
	clockAt("2031-10-13T15:00:00+08:00")
	signInAs("d1-p")
	run(t, ctx, chromedp.Navigate(u+"/findings"), chromedp.WaitVisible(chromedp.CSS(vmRow)))
	if n := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#findings tbody tr").length`)); n != 1 {
		t.Errorf("d1 sees %d findings, want its own one", n)
	}
	run(t, ctx, chromedp.SendKeys(chromedp.CSS(vmRow+` input[name=reason]`), "监测代理升级中"),
		chromedp.Click(chromedp.CSS(vmRow+` form:has(input[value="explain"]) button`)), flashed)
	if s := text(t, ctx, vmRow); !strings.Contains(s, "已提交情况说明") || !strings.Contains(s, "2031年10月20日") {
		t.Fatalf("after the explanation: %q, want the review deadline 2031年10月20日", s)
	}
	signOut(t, ctx)

	clockAt("2031-10-14T09:30:00+08:00")
	signInAs("auth-p")
	run(t, ctx, chromedp.Navigate(u+"/findings"), chromedp.WaitVisible(chromedp.CSS(vmRow)),
		chromedp.SendKeys(chromedp.CSS(vmRow+` form:has(input[value="reject"]) input[name=reason]`), "未提供升级计划"),
		chromedp.Click(chromedp.CSS(vmRow+` form:has(input[value="reject"]) button`)), flashed)
	if s := text(t, ctx, vmRow); !strings.Contains(s, "警告提示") || !strings.Contains(s, "2031年10月31日") {
		t.Fatalf("after the rejection: %q, want warned with the original deadline", s)
	}
	signOut(t, ctx)
	// Past the deadline the tick writes overdue; the authority enforces. (A session ends
	// after 30 idle minutes: the clock's jumps end it, so each jump signs in again.)
	clockAt("2031-11-01T00:05:00+08:00")
	signInAs("auth-p")
	deadline = time.Now().Add(30 * time.Second)
	for {
		run(t, ctx, chromedp.Navigate(u+"/findings"), chromedp.WaitVisible(chromedp.CSS(vmRow)))
		if strings.Contains(text(t, ctx, vmRow), "逾期未整改") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not overdue after 30 s: %q", text(t, ctx, vmRow))
		}
		time.Sleep(300 * time.Millisecond)
	}
	signOut(t, ctx)
	clockAt("2031-11-03T10:00:00+08:00")
	signInAs("auth-p")
	run(t, ctx, chromedp.Navigate(u+"/findings"), chromedp.Click(chromedp.CSS(vmRow+` form:has(input[value="enforce"]) button`)), flashed)
	if d := lastDialog(); !strings.Contains(d, "不可撤销") {
		t.Errorf("enforcing asked %q, want a confirmation that it cannot be undone", d)
	}
	if s := text(t, ctx, "main"); !strings.Contains(s, "停止发放并回收") || !strings.Contains(s, "停止发放资源的单位") {
		t.Errorf("after enforcing the page reads:\n%.1500s", s)
	}
	signOut(t, ctx)

	// The department's home page says so; its expansion is refused, with the reason in Chinese.
	signInAs("d1-p")
	if s := text(t, ctx, "main"); !strings.Contains(s, "资源利用率问题") || !strings.Contains(s, "停止新增和扩容资源") {
		t.Errorf("the suspended department's home page does not say so:\n%.800s", s)
	}
	run(t, ctx, chromedp.Navigate(u+"/requests"),
		chromedp.SetValue(chromedp.CSS(`select[name=kind]`), "expand"),
		chromedp.SetValue(chromedp.CSS(`select[name=resource]`), "vm"),
		chromedp.SendKeys(chromedp.CSS(`input[name=quantity]`), "4"),
		chromedp.Click(chromedp.CSS(`form:has(input[value="submit"]) button`)),
		chromedp.WaitVisible(chromedp.CSS(`p.error`)))
	if s := text(t, ctx, "p.error"); !strings.Contains(s, "停止资源发放") {
		t.Errorf("the suspended department's expansion: the page reads\n%.1000s", s)
	}
	// Refused, the form still holds what was chosen and typed.
	if v := get(t, ctx, chromedp.Evaluate[string](`document.querySelector("select[name=resource]").value + "," + document.querySelector("input[name=quantity]").value`)); v != "vm,4" {
		t.Errorf("after the refusal the form holds %q, want vm,4", v)
	}
	signOut(t, ctx)

	// The provider fulfils the reclaim request the enforcement raised: the finding closes.
	clockAt("2031-11-04T10:00:00+08:00")
	signInAs("p1-p")
	reclaimRow := `#requests tr:has(td[data-sort="vm"])`
	run(t, ctx, chromedp.Navigate(u+"/requests"), chromedp.Click(chromedp.CSS(reclaimRow+` button`)), flashed)
	if s := text(t, ctx, reclaimRow); !strings.Contains(s, "已开通") {
		t.Errorf("the reclaim request after the provider's step: %q", s)
	}
	// The provider reads the findings of the resources it runs, and takes no step.
	run(t, ctx, chromedp.Navigate(u+"/findings?open=0"), chromedp.WaitVisible(chromedp.CSS(vmRow)))
	if n := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#findings button").length`)); n != 0 {
		t.Errorf("the provider is offered %d finding buttons, want none", n)
	}
	signOut(t, ctx)
	signInAs("d1-p")
	run(t, ctx, chromedp.Navigate(u+"/findings?open=0"), chromedp.WaitVisible(chromedp.CSS(vmRow)))
	if s := text(t, ctx, vmRow); !strings.Contains(s, "已整改") || !strings.Contains(s, "2031年11月4日") {
		t.Errorf("after the reclaim vm's finding reads %q, want 已整改 on 4 November", s)
	}
	signOut(t, ctx)

	// d2 turns the advice into a reduce request in one action: 64 → 19, a reduce by 45.
	signInAs("d2-p")
	run(t, ctx, chromedp.Navigate(u+"/findings"), chromedp.Click(chromedp.CSS(lowRow+` form:has(input[value="reduce"]) button`)), flashed)
	if d := lastDialog(); !strings.Contains(d, "19") {
		t.Errorf("the reduce asked %q", d)
	}
	bigRow := `#requests tr:has(td[data-sort="big"])`
	if s := text(t, ctx, bigRow); !strings.Contains(s, "减容") || !strings.Contains(s, "45") {
		t.Fatalf("the reduce request reads %q, want a reduce of 45", s)
	}
	signOut(t, ctx)
	signInAs("auth-p")
	run(t, ctx, chromedp.Navigate(u+"/requests"), chromedp.Click(chromedp.CSS(bigRow+` button[value="approve"]`)), flashed)
	signOut(t, ctx)
	signInAs("p1-p")
	run(t, ctx, chromedp.Navigate(u+"/requests"), chromedp.Click(chromedp.CSS(bigRow+` button`)), flashed)
	signOut(t, ctx)
	for _, who := range []string{"sup-p", "aud-p"} {
		signInAs(who)
		run(t, ctx, chromedp.Navigate(u+"/findings?open=0"), chromedp.WaitVisible(chromedp.CSS(lowRow)))
		if s := text(t, ctx, lowRow); !strings.Contains(s, "已整改") {
			t.Errorf("%s reads big's finding as %q, want 已整改 after the reduce to the advice", who, s)
		}
		if n := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#findings button").length`)); n != 0 {
			t.Errorf("%s is offered %d finding buttons, want none (it reads)", who, n)
		}
		signOut(t, ctx)
	}
}

// The seasons form rewrites a project's whole list: a form drawn before another user's
// change is refused, not allowed to drop that change (two authority users at once).
func TestSeasonsFormRefusesAStalePage(t *testing.T) {
	c := testcluster.Start(t, 1, testcluster.Options{})
	u := c.Nodes[0].URL
	lc := cloudledgerv1connect.NewLedgerServiceClient(c.HTTP, u)
	admin := testcluster.AuthorityToken(t, c.HTTP, u)
	if _, err := lc.Submit(context.Background(), authed(&v1.SubmitRequest{Commands: testcluster.SeedCommands()}, admin)); err != nil {
		t.Fatal(err)
	}
	testcluster.Person(t, c.HTTP, u, "auth-seasons", "authority", "", DemoPassword)
	hc := testcluster.ConsoleClient(c.HTTP.Transport)
	testcluster.ConsoleSignIn(t, hc, u, "auth-seasons", DemoPassword)
	page := func() (csrf, version string) {
		res, err := hc.Get(u + "/findings/rules")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		field := func(name string) string {
			s := string(body)
			i := strings.Index(s, `name="`+name+`" value="`)
			if i < 0 {
				t.Fatalf("/findings/rules has no %s field", name)
			}
			s = s[i+len(`name="`+name+`" value="`):]
			return s[:strings.IndexByte(s, '"')]
		}
		return field("csrf"), field("version")
	}
	add := func(csrf, version, from, to string) (int, string) {
		form := url.Values{"csrf": {csrf}, "key": {"season-" + strings.ReplaceAll(from, "-", "")}, "op": {"season_add"}, "version": {version}, "project": {"prj1"},
			"from": {from}, "to": {to}, "quota_class": {"vcpu"}, "quota": {"200"}}
		res, err := hc.PostForm(u+"/findings/rules", form)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode, string(body)
	}
	csrf, stale := page()
	if code, body := add(csrf, stale, "06-01", "06-30"); code != http.StatusSeeOther {
		i := strings.Index(body, "<main>")
		t.Fatalf("adding a season: HTTP %d\n%.800s", code, body[max(i, 0):])
	}
	// The same page's form again (its version is stale now): refused, nothing written.
	if code, body := add(csrf, stale, "09-01", "09-30"); code == http.StatusSeeOther || !strings.Contains(body, "周期已被修改") {
		t.Fatalf("a stale form: HTTP %d\n%.500s", code, body)
	}
	fc := cloudledgerv1connect.NewFindingServiceClient(c.HTTP, u)
	res, err := fc.ListProjectSeasons(context.Background(), authed(&v1.ListProjectSeasonsRequest{Project: "prj1"}, admin))
	if err != nil || len(res.Msg.GetProjects()) != 1 || len(res.Msg.GetProjects()[0].GetSeasons()) != 1 {
		t.Fatalf("prj1's seasons after the stale form: %v %v, want the one season", res, err)
	}
}
