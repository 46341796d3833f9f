package console

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/internal/testcluster"
)

// TestConsoleRoles is issue 14's first must-show: for each role, sign in and do its main
// task end to end in a real Chromium, and photograph its home page (docs/console/, -update).
func TestConsoleRoles(t *testing.T) {
	d := startDemo(t, testcluster.Options{})
	downloads := t.TempDir()
	ctx := browserCtx(t, downloads)
	home := func(t *testing.T, account, path, shot string) {
		t.Helper()
		signIn(t, ctx, d.url, account)
		if got := location(t, ctx); got != d.url+path {
			t.Fatalf("%s landed on %s, want %s", account, got, d.url+path)
		}
		screenshot(t, ctx, shot)
		// The to-do box (issue 27) tops the home page, each count a link.
		if n := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("main section#todo dl.facts a").length`)); n == 0 {
			t.Errorf("%s's home page has no to-do box with links", account)
		}
		// Usable at 1366×768: nothing wider than the window.
		if w := get(t, ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 1366 {
			t.Errorf("%s's home page is %d px wide at a 1366 px window", account, w)
		}
	}

	t.Run("department", func(t *testing.T) {
		home(t, "edu-it", "/d/edu", "department")
		if s := text(t, ctx, "main"); !strings.Contains(s, "vcpu") || !strings.Contains(s, "edu-exam") {
			t.Errorf("edu's home page lacks its quota classes and projects:\n%s", s)
		}
		// Sortable: a click on the quota column of the projects sorts it, numbers as numbers.
		quotas := `Array.from(document.querySelectorAll("#t-projects-edu tbody tr td:nth-child(4)")).map(td => Number(td.dataset.sort))`
		run(t, ctx, chromedp.Click(chromedp.CSS(`#t-projects-edu thead th:nth-child(4)`)))
		asc := get(t, ctx, chromedp.Evaluate[[]float64](quotas))
		run(t, ctx, chromedp.Click(chromedp.CSS(`#t-projects-edu thead th:nth-child(4)`)))
		desc := get(t, ctx, chromedp.Evaluate[[]float64](quotas))
		if len(asc) < 2 || !slices.IsSorted(asc) || asc[0] != desc[len(desc)-1] || desc[0] < desc[len(desc)-1] {
			t.Errorf("sorting the projects by quota gave %v, then %v", asc, desc)
		}
		// English by the switch, and back.
		run(t, ctx, chromedp.Click(chromedp.CSS(`a.lang`)), chromedp.WaitVisible(chromedp.CSS(`h1`)))
		if h := text(t, ctx, "h1"); !strings.Contains(h, "Projects and quota") {
			t.Errorf("in English the heading is %q", h)
		}
		run(t, ctx, chromedp.Click(chromedp.CSS(`a.lang`)), chromedp.WaitVisible(chromedp.CSS(`h1`)))
		if h := text(t, ctx, "h1"); !strings.Contains(h, "项目与配额") {
			t.Errorf("back in Chinese the heading is %q", h)
		}
		// The statement of March 2026 as XLSX, against the API's statement of the month.
		run(t, ctx, chromedp.Navigate(d.url+"/d/edu/statement?month=2026-03"), chromedp.WaitVisible(chromedp.CSS(`table.data`)))
		path := download(t, ctx, downloads, `a[href$="official=xlsx"]`)
		f := ok(excelize.OpenFile(path))(t)
		defer f.Close()
		res := ok(d.ledger().Statement(context.Background(), authed(&v1.StatementRequest{Month: "2026-03", Department: "edu", Format: "json"}, d.token("edu-it"))))(t)
		want := jsonField(t, res.Msg.GetContent(), "total", "amount")
		if !workbookHas(t, f, want) {
			t.Errorf("the statement XLSX %v has no cell with the API's total %s", f.GetSheetList(), want)
		}
		// Printable: the statement prints (menus and forms hidden by the print style).
		pdf, err := chromedp.Call(ctx, page.PrintToPDF, page.PrintToPDFParams{})
		if err != nil || len(pdf.Data) < 10_000 {
			t.Errorf("printing the statement: %v (%d bytes)", err, len(pdf.Data))
		}
		if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
			t.Fatal(err)
		}
		menu := get(t, ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("nav.menu")).display`))
		stamp := get(t, ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector(".stamp")).display`))
		chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{})
		if menu != "none" || stamp == "none" {
			t.Errorf("printed, the menu is %q (want none) and the seal box %q", menu, stamp)
		}
		shots(t, ctx, d.url, map[string]string{"/d/edu/resources": "department-resources", "/d/edu/charges": "department-charges",
			"/d/edu/statement?month=2026-03": "department-statement", "/requests": "department-requests", "/findings": "department-findings"})
		// Another department's page: 403, and the refusal is in the access trail.
		run(t, ctx, chromedp.Navigate(d.url+"/d/bus"), chromedp.WaitVisible(chromedp.CSS(`p.error`)))
		if s := text(t, ctx, "h1"); s != "无权访问" {
			t.Errorf("edu-it on /d/bus sees %q, want 无权访问", s)
		}
		refusedAndRecorded(t, d, "edu-it", "/d/bus", "department=bus")
		signOut(t, ctx)
	})

	t.Run("provider", func(t *testing.T) {
		home(t, "aliyun-am", "/p/aliyun", "provider")
		// An invoice of March 2026 made from the rated charges: one line as rated, one off by
		// 10.00, one left out, one that was never rated.
		res := ok(d.ledger().Charges(context.Background(), authed(&v1.ChargesRequest{From: "2026-03-01", To: "2026-03-31", Provider: "aliyun"}, d.token("aliyun-am"))))(t)
		sums := map[string]decimal.Decimal{}
		var keys []string
		for _, l := range res.Msg.GetLines() {
			k := l.GetDepartment() + "," + l.GetProject() + "," + l.GetItem()
			if _, ok := sums[k]; !ok {
				keys = append(keys, k)
			}
			sums[k] = sums[k].Add(decimal.RequireFromString(l.GetAmount()))
		}
		if len(keys) < 3 {
			t.Fatalf("aliyun has %d rated lines in March 2026", len(keys))
		}
		var b strings.Builder
		b.WriteString("department,project,item,amount,month\n")
		fmt.Fprintf(&b, "%s,%s,2026-03\n", keys[0], sums[keys[0]].StringFixed(2))
		fmt.Fprintf(&b, "%s,%s,2026-03\n", keys[1], sums[keys[1]].Add(decimal.NewFromInt(10)).StringFixed(2))
		for _, k := range keys[3:] {
			fmt.Fprintf(&b, "%s,%s,2026-03\n", k, sums[k].StringFixed(2))
		}
		b.WriteString("edu,edu-exam,gpu.a100,999.00,2026-03\n")
		inv := filepath.Join(t.TempDir(), "aliyun-2026-03.csv")
		if err := os.WriteFile(inv, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		facts := uploadInvoice(t, ctx, d.url, inv)
		for _, want := range []string{fmt.Sprintf("一致\n%d", len(keys)-2), "金额不符\n1", "发票缺项\n1", "多开项\n1"} {
			if !strings.Contains(facts, want) {
				t.Errorf("the reconciliation lacks %q:\n%s", want, facts)
			}
		}
		// The same invoice as an XLSX workbook: the same four outcomes.
		x := excelize.NewFile()
		for r, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
			cells := []any{}
			for _, f := range strings.Split(line, ",") {
				cells = append(cells, f)
			}
			cell, _ := excelize.CoordinatesToCellName(1, r+1)
			x.SetSheetRow("Sheet1", cell, &cells)
		}
		xlsx := filepath.Join(t.TempDir(), "aliyun-2026-03.xlsx")
		if err := x.SaveAs(xlsx); err != nil {
			t.Fatal(err)
		}
		if got := uploadInvoice(t, ctx, d.url, xlsx); got != strings.ReplaceAll(facts, ".csv", ".xlsx") {
			t.Errorf("the XLSX invoice reconciles as\n%s\nthe CSV as\n%s", got, strings.ReplaceAll(facts, ".csv", ".xlsx"))
		}
		run(t, ctx, chromedp.Navigate(d.url+"/p/aliyun/invoices"), chromedp.WaitVisible(chromedp.CSS(`table.data`)))
		if s := text(t, ctx, "table.data tbody"); !strings.Contains(s, "2026年3月") {
			t.Errorf("the history lacks March 2026:\n%s", s)
		}
		shots(t, ctx, d.url, map[string]string{"/p/aliyun/statement?month=2026-03": "provider-statement", "/p/aliyun/invoices": "provider-invoices"})
		// Another provider's page: 403, recorded.
		refusedAndRecorded(t, d, "aliyun-am", "/p/hwcloud", "provider=hwcloud")
		signOut(t, ctx)
	})

	t.Run("supervisor", func(t *testing.T) {
		home(t, "supervisor1", "/supervisor", "supervisor")
		row := `tr:has(a[href="/d/bigdata"])`
		if cls := attr(t, ctx, row, "class"); cls != "violation" {
			t.Fatalf("bigdata's storage_gb row is %q, want violation", cls)
		}
		run(t, ctx, chromedp.Navigate(d.url+"/supervisor/approvals?department=bigdata&class=storage_gb"),
			chromedp.SendKeys(chromedp.CSS(`input[name=ceiling]`), "16000"),
			chromedp.SendKeys(chromedp.CSS(`input[name=ref]`), "经信审〔2026〕7号"),
			chromedp.Click(chromedp.CSS(`form[action="/supervisor/approvals"] button`)),
			chromedp.WaitVisible(chromedp.CSS(`p.flash`)))
		if got := location(t, ctx); !strings.HasPrefix(got, d.url+"/supervisor?") {
			t.Errorf("after the grant: %s", got)
		}
		if cls := attr(t, ctx, row, "class"); cls != "approved" {
			t.Errorf("after the grant bigdata's row is %q, want approved", cls)
		}
		// Drill-down: the department's projects and resources.
		run(t, ctx, chromedp.Click(chromedp.CSS(`a[href="/d/bigdata"]`)), chromedp.WaitVisible(chromedp.CSS(`table.data`)))
		if s := text(t, ctx, "main"); !strings.Contains(s, "storage_gb") || !strings.Contains(s, "bigdata-") {
			t.Errorf("the drill-down to bigdata lacks its classes or projects:\n%.1500s", s)
		}
		run(t, ctx, chromedp.Navigate(d.url+"/d/bigdata/resources"), chromedp.WaitVisible(chromedp.CSS(`table.data`)))
		// Revoke it again: the row is a violation once more.
		run(t, ctx, chromedp.Navigate(d.url+"/supervisor/approvals"))
		get(t, ctx, chromedp.Evaluate[bool](`(window.confirm = () => true, true)`)) // the revoke asks first
		run(t, ctx, chromedp.Click(chromedp.CSS(`tr:has(td[data-sort="经信审〔2026〕7号"]) button.danger`)),
			chromedp.WaitVisible(chromedp.CSS(`p.flash`)))
		run(t, ctx, chromedp.Navigate(d.url+"/supervisor"), chromedp.WaitVisible(chromedp.CSS(`table.data`)))
		if cls := attr(t, ctx, row, "class"); cls != "violation" {
			t.Errorf("after the revoke bigdata's row is %q, want violation", cls)
		}
		shots(t, ctx, d.url, map[string]string{"/supervisor/approvals": "supervisor-approvals", "/requests": "supervisor-requests"})
		signOut(t, ctx)
	})

	t.Run("finance", func(t *testing.T) {
		home(t, "finance1", "/finance", "finance")
		path := download(t, ctx, downloads, `a[href$="budget=xlsx"]`)
		f := ok(excelize.OpenFile(path))(t)
		defer f.Close()
		res := ok(d.ledger().BudgetExport(context.Background(), authed(&v1.BudgetExportRequest{Year: 2026, Format: "json"}, d.token("finance1"))))(t)
		apiTotal := decimal.Zero
		for _, a := range jsonList(t, res.Msg.GetContent(), "departments", "amount") {
			apiTotal = apiTotal.Add(decimal.RequireFromString(a))
		}
		funded := coverValue(t, f, "预算单位审定费用合计")
		self := coverValue(t, f, "自筹单位审定费用合计")
		if got := funded.Add(self); !got.Equal(apiTotal) {
			t.Errorf("the budget XLSX totals %s + %s = %s, the API's export %s", funded, self, got, apiTotal)
		}
		if s := text(t, ctx, "main"); !strings.Contains(s, formatMoney(apiTotal)) {
			t.Errorf("the finance page does not show the audited total %s", formatMoney(apiTotal))
		}
		// The 结算单 from its page, as XLSX: one sheet named and titled with the year, whose
		// totals are the page's audited totals, table by table.
		run(t, ctx, chromedp.Click(chromedp.CSS(`a[href="/finance/settlement?year=2026"]`)), chromedp.WaitVisible(chromedp.CSS(`.stamp`)))
		pageTotals := get(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("table[id^='t-settlement-'] tfoot td:last-child")).map(td => td.textContent)`))
		doc := ok(excelize.OpenFile(download(t, ctx, downloads, `a[href$="format=xlsx"]`)))(t)
		defer doc.Close()
		if sheets := doc.GetSheetList(); len(sheets) != 1 || sheets[0] != "结算单 2026年度" {
			t.Errorf("the 结算单 workbook's sheets: %q, want [结算单 2026年度]", sheets)
		}
		rows := ok(doc.GetRows(doc.GetSheetList()[0], excelize.Options{RawCellValue: true}))(t)
		var docTotals []string
		for _, r := range rows {
			if len(r) == 4 && r[0] == "合计" {
				docTotals = append(docTotals, r[3])
			}
		}
		if len(rows) == 0 || rows[0][0] != "2026 结算年度结算单" {
			t.Errorf("the 结算单 workbook is not titled with its year: %q", rows[:min(len(rows), 1)])
		}
		if len(pageTotals) == 0 || len(docTotals) < len(pageTotals) {
			t.Fatalf("the 结算单's totals: page %q, workbook %q", pageTotals, docTotals)
		}
		for i, shown := range pageTotals {
			if want := strings.ReplaceAll(strings.TrimSpace(shown), ",", ""); !decimal.RequireFromString(docTotals[i]).Equal(decimal.RequireFromString(want)) {
				t.Errorf("the 结算单 workbook's total %d is %s, the page shows %s", i+1, docTotals[i], shown)
			}
		}
		if len(docTotals) != 2 || !decimal.RequireFromString(docTotals[0]).Add(decimal.RequireFromString(docTotals[1])).Equal(apiTotal) {
			t.Errorf("the 结算单 workbook's totals %q (budget-funded, self-funded) do not add up to the API's export %s", docTotals, apiTotal)
		}
		shots(t, ctx, d.url, map[string]string{"/finance/settlement?year=2026": "finance-settlement", "/departments": "finance-departments"})
		signOut(t, ctx)
	})

	t.Run("authority", func(t *testing.T) {
		home(t, "authority1", "/authority", "authority")
		dir := t.TempDir()
		day := time.Now().In(shanghai).AddDate(0, 0, -1).Format("2006-01-02")
		header := "key,time,op,department,project,provider,resource,item,kind,quantity,expires\n"
		bad := filepath.Join(dir, "bad-events.csv")
		os.WriteFile(bad, []byte(header+
			"console-bad-1,"+day+"T10:00:00+08:00,usage,bus,bus-dispatch,aliyun,bus-dispatch-backup,backup.data,standard,5,\n"+
			"console-bad-2,"+day+"T10:00:00+08:00,usage,nobody,bus-dispatch,aliyun,bus-dispatch-backup,backup.data,standard,5,\n"+
			"console-bad-3,"+day+"T10:00:00+08:00,usage,bus,bus-dispatch,aliyun,bus-dispatch-backup,backup.data,standard,-5,\n"), 0o600)
		before := ok(d.ledger().Verify(context.Background(), authed(&v1.VerifyRequest{}, d.admin)))(t).Msg.GetLineItems()
		upload(t, ctx, d.url, bad)
		run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#bad-rows`)))
		rows := text(t, ctx, "#bad-rows tbody")
		for _, want := range []string{"bad-events.csv\t3", "bad-events.csv\t4"} {
			if !strings.Contains(rows, want) {
				t.Errorf("the bad rows lack %q:\n%s", want, rows)
			}
		}
		if strings.Contains(rows, "bad-events.csv\t2\t") {
			t.Errorf("the good row 2 is listed as bad:\n%s", rows)
		}
		if after := ok(d.ledger().Verify(context.Background(), authed(&v1.VerifyRequest{}, d.admin)))(t).Msg.GetLineItems(); after != before {
			t.Errorf("a rejected file wrote %d line items", after-before)
		}
		// A good file of 2,500 rows: validated, then applied in three batches with progress.
		var b strings.Builder
		b.WriteString(header)
		for i := range 2500 {
			fmt.Fprintf(&b, "console-good-%d,%sT10:%02d:00+08:00,usage,bus,bus-dispatch,aliyun,bus-dispatch-backup,backup.data,standard,1,\n", i, day, i%60)
		}
		good := filepath.Join(dir, "good-events.csv")
		os.WriteFile(good, []byte(b.String()), 0o600)
		upload(t, ctx, d.url, good)
		run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#import form button`)),
			chromedp.Click(chromedp.CSS(`#import form button`)),
			chromedp.WaitVisible(chromedp.CSS(`#import progress`)))
		deadline := time.Now().Add(60 * time.Second)
		for !strings.Contains(text(t, ctx, "#import"), "2,500 / 2,500") {
			if time.Now().After(deadline) {
				t.Fatalf("the import did not finish: %s", text(t, ctx, "#import"))
			}
			time.Sleep(300 * time.Millisecond)
		}
		run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`p.flash`)))
		if s := text(t, ctx, "#import"); !strings.Contains(s, "新记账\n2,500") {
			t.Errorf("the import's summary: %s", s)
		}
		// Periods: settlement year 2026 is closed month by month; an audit of 2027 is refused
		// with its blockers while its months are open.
		run(t, ctx, chromedp.Navigate(d.url+"/authority/periods?year=2026"), chromedp.WaitVisible(chromedp.CSS(`table.data`)))
		if s := text(t, ctx, "#t-months-2026 tbody"); strings.Contains(s, "未关账") || strings.Count(s, "已关账") != 12 || !strings.Contains(text(t, ctx, "main"), "已提交") {
			t.Errorf("settlement year 2026 should be submitted with its 12 months closed:\n%.1500s", s)
		}
		// A submitted year moves no more: its three buttons are disabled, each saying why.
		for _, op := range []string{"run", "audit", "submit"} {
			if why := settleButton(t, ctx, op); why != "本年度已提交" {
				t.Errorf("2026's %s button: %q, want disabled with 本年度已提交", op, why)
			}
		}
		// 2027 is not run: only the draft is possible; the audit and the submission are
		// disabled with the step they wait for.
		run(t, ctx, chromedp.Navigate(d.url+"/authority/periods?year=2027"), chromedp.WaitVisible(chromedp.CSS(`table.data`)))
		for op, want := range map[string]string{"run": "", "audit": "须先生成草稿", "submit": "须先审核"} {
			if why := settleButton(t, ctx, op); why != want {
				t.Errorf("2027's %s button: %q, want %q", op, why, want)
			}
		}
		// The draft, then the audit refused by its open months: disabled, and why.
		run(t, ctx, chromedp.Click(chromedp.CSS(`form:has(input[value="run"]) button`)), chromedp.WaitVisible(chromedp.CSS(`p.flash`)))
		if why := settleButton(t, ctx, "audit"); !strings.Contains(why, "个月未关账") {
			t.Errorf("2027's audit with its months open: %q, want disabled for the open months", why)
		}
		if c := attr(t, ctx, `form:has(input[value="submit"]) button`, "data-confirm"); !strings.Contains(c, "2027") || !strings.Contains(c, "不可撤回") {
			t.Errorf("提交财政 asks %q", c)
		}
		// The provider and project lists, from the menu.
		run(t, ctx, chromedp.Click(chromedp.CSS(`nav.menu a[href="/providers"]`)), chromedp.WaitVisible(chromedp.CSS(`#t-providers`)))
		if s := text(t, ctx, "#t-providers tbody"); !strings.Contains(s, "阿里云") {
			t.Errorf("the provider list lacks 阿里云:\n%s", s)
		}
		screenshot(t, ctx, "authority-providers")
		run(t, ctx, chromedp.Click(chromedp.CSS(`#t-providers a[href="/p/aliyun"]`)), chromedp.WaitNotPresent(chromedp.CSS(`#t-providers`)),
			chromedp.WaitVisible(chromedp.CSS(`h1`)))
		if h := text(t, ctx, "h1"); !strings.Contains(h, "阿里云") {
			t.Errorf("the provider list's 阿里云 leads to %q", h)
		}
		run(t, ctx, chromedp.Click(chromedp.CSS(`nav.menu a[href="/projects"]`)), chromedp.WaitVisible(chromedp.CSS(`#t-projects`)))
		// The list of every department goes before the filter is sent, so that the wait is
		// for the filtered one.
		get(t, ctx, chromedp.Evaluate[bool](`(document.querySelector("#t-projects").remove(), true)`))
		run(t, ctx, chromedp.SetValue(chromedp.CSS(`select[name=department]`), "edu"), chromedp.Click(chromedp.CSS(`form[method=get] button`)),
			chromedp.WaitVisible(chromedp.CSS(`#t-projects`)))
		if s := text(t, ctx, "#t-projects tbody"); !strings.Contains(s, "市教育局") || strings.Contains(s, "市公交集团") {
			t.Errorf("the project list of 市教育局:\n%s", s)
		}
		screenshot(t, ctx, "authority-projects")
		shots(t, ctx, d.url, map[string]string{"/authority/periods?year=2026": "authority-periods", "/authority/catalog": "authority-catalog", "/departments": "authority-departments"})
		signOut(t, ctx)
	})

	t.Run("requests", func(t *testing.T) {
		// SH 20: the department asks to expand a resource, the authority approves, the
		// provider fulfils; the resource holds the new quantity.
		before := ok(d.ledger().GetResource(context.Background(), authed(&v1.GetResourceRequest{Resource: "edu-exam-vcpu-01"}, d.admin)))(t).Msg.GetQuantity()
		// The department starts from its home page and types no code: the project, then the
		// resource's 申请扩容, which chooses it in the form (issue 27, must show 2).
		signIn(t, ctx, d.url, "edu-it")
		run(t, ctx, chromedp.Click(chromedp.CSS(`#t-projects-edu a[href$="project=edu-exam"]`)), chromedp.WaitVisible(chromedp.CSS(`#t-resources-edu`)),
			chromedp.Click(chromedp.CSS(`#t-resources-edu a[href*="resource=edu-exam-vcpu-01"]`)), chromedp.WaitVisible(chromedp.CSS(`#submit-request`)))
		if v := get(t, ctx, chromedp.Evaluate[string](`document.querySelector("#submit-request select[name=resource]").value + "," + document.querySelector("#submit-request select[name=kind]").value`)); v != "edu-exam-vcpu-01,expand" {
			t.Fatalf("the resource's 申请扩容 chose %q in the form", v)
		}
		if n := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#submit-request input[type=text]:not([name=quantity]):not([name=reason])").length`)); n != 0 {
			t.Errorf("the request form has %d boxes for typed codes", n)
		}
		screenshot(t, ctx, "department-request-form")
		run(t, ctx, chromedp.SendKeys(chromedp.CSS(`#submit-request input[name=quantity]`), "2"),
			chromedp.SendKeys(chromedp.CSS(`#submit-request input[name=reason]`), "招生季扩容"),
			chromedp.Click(chromedp.CSS(`#submit-request button`)),
			chromedp.WaitVisible(chromedp.CSS(`p.flash`)))
		row := `#requests tr:has(td[data-sort="edu-exam-vcpu-01"])`
		if s := text(t, ctx, row); !strings.Contains(s, "已提交") || !strings.Contains(s, "主管部门审核") {
			t.Fatalf("the department's new request: %q", s)
		}
		signOut(t, ctx)
		// The authority finds it through its to-do box.
		signIn(t, ctx, d.url, "authority1")
		run(t, ctx, chromedp.Click(chromedp.CSS(`#todo a[href="/requests?mine=1"]`)), chromedp.WaitVisible(chromedp.CSS(row)))
		if n := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#t-requests tbody tr:not(:has(button[value=approve]))").length`)); n != 0 {
			t.Errorf("the authority's requests waiting for it list %d not at its step", n)
		}
		run(t, ctx, chromedp.Click(chromedp.CSS(row+` button[value="approve"]`)), chromedp.WaitVisible(chromedp.CSS(`p.flash`)))
		if s := text(t, ctx, row); !strings.Contains(s, "已批准") || !strings.Contains(s, "服务商开通") {
			t.Fatalf("after the authority's approval: %q", s)
		}
		signOut(t, ctx)
		signIn(t, ctx, d.url, "aliyun-am")
		run(t, ctx, chromedp.Click(chromedp.CSS(`#todo a[href="/requests?mine=1"]`)), chromedp.WaitVisible(chromedp.CSS(row)),
			chromedp.Click(chromedp.CSS(row+` button`)), chromedp.WaitVisible(chromedp.CSS(`p.flash`)))
		if s := text(t, ctx, row); !strings.Contains(s, "已开通") {
			t.Errorf("after the provider's fulfilment: %q", s)
		}
		signOut(t, ctx)
		after := ok(d.ledger().GetResource(context.Background(), authed(&v1.GetResourceRequest{Resource: "edu-exam-vcpu-01"}, d.admin)))(t).Msg.GetQuantity()
		if !decimal.RequireFromString(after).Equal(decimal.RequireFromString(before).Add(decimal.NewFromInt(2))) {
			t.Errorf("edu-exam-vcpu-01 holds %s after the expansion, had %s", after, before)
		}
	})

	t.Run("auditor", func(t *testing.T) {
		before := ok(d.ledger().Verify(context.Background(), authed(&v1.VerifyRequest{}, d.token("auditor1"))))(t).Msg
		home(t, "auditor1", "/auditor", "auditor")
		s := text(t, ctx, "#verify")
		if !strings.Contains(s, "哈希链完整") || !strings.Contains(s, before.GetHeadHash()[:16]) && !strings.Contains(s, formatNumber(before.GetLineItems())) {
			t.Errorf("the verify page does not show the chain the API verifies (%d line items, head %s):\n%s", before.GetLineItems(), before.GetHeadHash(), s)
		}
		run(t, ctx, chromedp.Navigate(d.url+"/auditor/line-items?department=edu"), chromedp.WaitVisible(chromedp.CSS(`table.data`)))
		if s := text(t, ctx, "table.data tbody"); !strings.Contains(s, "/edu-") || strings.Contains(s, "bus/") {
			t.Errorf("the search by department edu shows other departments' events:\n%.2000s", s)
		}
		// The access trail: edu-it's refusal of /d/bus is there.
		run(t, ctx, chromedp.Navigate(d.url+"/access?account=edu-it&result=denied"), chromedp.WaitVisible(chromedp.CSS(`table.data`)))
		if s := text(t, ctx, "table.data tbody"); !strings.Contains(s, "department=bus") {
			t.Errorf("the access trail page lacks edu-it's refusal:\n%.2000s", s)
		}
		shots(t, ctx, d.url, map[string]string{"/auditor/line-items?department=edu": "auditor-line-items", "/access": "auditor-access"})
		signOut(t, ctx)
	})

	t.Run("security", func(t *testing.T) {
		// Issue 27, must show 2: the security officer, from its home page, makes a
		// department's account (its one-time code shown once, activated by the person, who
		// lands on the department's page) and an authority's, which waits for a second
		// person and shows its code.
		home(t, "security1", "/accounts", "security")
		code := addAccount(t, ctx, "edu-wang", "市教育局 王老师", "department", "市教育局")
		if s := text(t, ctx, `#t-accounts tr:has(td[data-sort="edu-wang"])`); !strings.Contains(s, "市教育局") {
			t.Errorf("edu-wang's row does not name its department: %q", s)
		}
		if s := text(t, ctx, "main"); strings.Contains(s, "待第二人确认后方可使用") {
			t.Errorf("a department's account waits for confirmation:\n%.800s", s)
		}
		authCode := addAccount(t, ctx, "auth3", "运行管理单位 赵工", "authority", "")
		if s := text(t, ctx, "p.flash"); !strings.Contains(s, "待第二人确认后方可使用") {
			t.Errorf("the authority's account is not said to wait for confirmation: %q", s)
		}
		if s := text(t, ctx, `#t-accounts tr:has(td[data-sort="auth3"])`); !strings.Contains(s, "待第二人确认") || !strings.Contains(s, "待激活") {
			t.Errorf("auth3's row: %q", s)
		}
		screenshot(t, ctx, "security-accounts-created")
		if authCode == code {
			t.Error("two accounts were given the same activation code")
		}
		shots(t, ctx, d.url, map[string]string{"/accounts/pending": "security-pending"})
		signOut(t, ctx)
		run(t, ctx,
			chromedp.Navigate(d.url+"/activate"),
			chromedp.SendKeys(chromedp.CSS(`input[name=account]`), "edu-wang"),
			chromedp.SendKeys(chromedp.CSS(`input[name=code]`), code),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), DemoPassword),
			chromedp.SendKeys(chromedp.CSS(`input[name=again]`), DemoPassword),
			chromedp.Click(chromedp.CSS(`form[action="/activate"] button`)),
			chromedp.WaitNotPresent(chromedp.CSS(`input[name=code]`)))
		if s := text(t, ctx, "main"); !strings.Contains(s, "账号已激活") {
			t.Fatalf("edu-wang's activation:\n%s", s)
		}
		signIn(t, ctx, d.url, "edu-wang")
		if got := location(t, ctx); got != d.url+"/d/edu" {
			t.Errorf("edu-wang landed on %s, want /d/edu", got)
		}
		signOut(t, ctx)
	})
}

// addAccount creates an account on the security officer's accounts page, choosing its
// department by the name the list shows (deptName, "" for none), and returns the one-time
// activation code the page shows.
func addAccount(t *testing.T, ctx context.Context, id, name, role, deptName string) string {
	t.Helper()
	// The code of an account made before is on the page: gone, so that the wait below is
	// for this one's.
	get(t, ctx, chromedp.Evaluate[bool](`(document.querySelectorAll("#activation-code").forEach(e => e.remove()), true)`))
	f := `form[action="/accounts"]:not(.inline) `
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.SendKeys(chromedp.CSS(f+`input[name=id]`), id),
		chromedp.SendKeys(chromedp.CSS(f+`input[name=name]`), name),
		chromedp.SetValue(chromedp.CSS(f+`select[name=role]`), role)}
	if deptName != "" {
		// The choice whose label is the name: no code is typed (issue 27, must show 2).
		value := get(t, ctx, chromedp.Evaluate[string](`(Array.from(document.querySelectorAll(`+strconv.Quote(f+`select[name=department] option`)+`)).find(o => o.textContent.trim() === `+strconv.Quote(deptName)+`) || {value: ""}).value`))
		if value == "" {
			t.Fatalf("the department list of the account form has no %s", deptName)
		}
		steps = append(steps, chromedp.SetValue(chromedp.CSS(f+`select[name=department]`), value))
	}
	steps = append(steps, chromedp.Click(chromedp.CSS(f+`button`)), chromedp.WaitVisible(chromedp.CSS(`#activation-code`)))
	run(t, ctx, steps...)
	for _, w := range strings.Fields(text(t, ctx, "#activation-code")) {
		if strings.Count(w, "-") == 5 && len(w) == 29 {
			return w
		}
	}
	t.Fatalf("no activation code on the page for %s:\n%s", id, text(t, ctx, "#activation-code"))
	return ""
}

// settleButton is "" when the settlement step's button is enabled, else the reason shown
// beside the disabled button.
func settleButton(t *testing.T, ctx context.Context, op string) string {
	t.Helper()
	return get(t, ctx, chromedp.Evaluate[string](`(() => { const b = document.querySelector('form:has(input[value="`+op+`"]) button');
		return b.disabled ? (b.nextElementSibling ? b.nextElementSibling.textContent : "disabled, no reason") : ""; })()`))
}

// shots photographs pages of the signed-in account (docs/console/NAME.png with -update).
func shots(t *testing.T, ctx context.Context, base string, pages map[string]string) {
	t.Helper()
	for _, path := range slices.Sorted(maps.Keys(pages)) {
		name := pages[path]
		run(t, ctx, chromedp.Navigate(base+path), chromedp.WaitVisible(chromedp.CSS(`h1`)))
		screenshot(t, ctx, name)
	}
}

// uploadInvoice sends aliyun's invoice of March 2026 through the provider's form and
// returns the reconciliation's summary.
func uploadInvoice(t *testing.T, ctx context.Context, base, path string) string {
	t.Helper()
	run(t, ctx, chromedp.Navigate(base+"/p/aliyun/invoice"),
		chromedp.SetValue(chromedp.CSS(`select[name=month]`), "2026-03"),
		chromedp.SetUploadFiles(chromedp.CSS(`input[name=invoice]`), []string{path}),
		chromedp.Click(chromedp.CSS(`form[enctype="multipart/form-data"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#reconciliation`)))
	return text(t, ctx, "#reconciliation")
}

// refusedAndRecorded: another party's page answers 403 over HTTP, and the access trail
// holds the account's refusal naming target.
func refusedAndRecorded(t *testing.T, d *demo, account, path, target string) {
	t.Helper()
	if code := statusOf(t, d, account, path); code != 403 {
		t.Errorf("GET %s as %s: HTTP %d, want 403", path, account, code)
	}
	if !trailHas(t, d, account, "denied", target) {
		t.Errorf("the access trail has no denied record of %s for %s", account, target)
	}
}

// upload sends a file through the authority's import form.
func upload(t *testing.T, ctx context.Context, base, path string) {
	t.Helper()
	run(t, ctx, chromedp.Navigate(base+"/authority"),
		chromedp.SetValue(chromedp.CSS(`select[name=kind]`), "events"),
		chromedp.SetUploadFiles(chromedp.CSS(`input[name=file]`), []string{path}),
		chromedp.Click(chromedp.CSS(`form[enctype="multipart/form-data"] button`)))
}

func attr(t *testing.T, ctx context.Context, sel, name string) string {
	t.Helper()
	v := get(t, ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	return v.Value
}
