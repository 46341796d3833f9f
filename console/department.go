package console

import (
	"fmt"
	"github.com/cloudledger/cloudledger/money"
	"net/url"
	"sort"
	"time"

	"connectrpc.com/connect"
	"github.com/shopspring/decimal"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
)

// The department's pages (使用单位): projects and quota, resources, charges, statements.
// The supervisor, the authority and the auditor reach them too (the overrun report's
// drill-down); the API refuses a department another department's pages (403).

func (c *Console) departmentHome(rq *pageRequest) (*Page, error) {
	dept := rq.r.PathValue("dept")
	res, err := c.ledger.QuotaUse(rq.ctx(), connect.NewRequest(&v1.QuotaUseRequest{Department: dept}))
	if err != nil {
		return nil, err
	}
	name := rq.deptName(dept)
	classes := &Table{ID: "quota-" + dept, Columns: []Column{
		{rq.t("配额类别", "Quota class"), Text}, {rq.t("配额", "Quota"), Number}, {rq.t("已分配", "Allocated"), Number},
		{rq.t("已分配/配额", "Allocated/quota"), Number}, {rq.t("状态", "Status"), Text}, {rq.t("批准上限", "Approved ceiling"), Number}, {rq.t("审批文号", "Approval"), Text}}}
	var bars []ratioBar
	for _, q := range res.Msg.GetClasses() {
		if q.GetDepartmentName() != "" {
			name = q.GetDepartmentName()
		}
		ratio := ""
		if q.GetRatio() != "" {
			r := rq.figure("ratio", q.GetRatio())
			ratio = r.Shift(2).StringFixed(1) + "%"
			bars = append(bars, ratioBar{Label: orDefault(rq.className(q.GetQuotaClass()), q.GetQuotaClass()), Ratio: r, Text: ratio + "  (" + formatNumber(rq.lang, q.GetAllocated()) + " / " + formatNumber(rq.lang, q.GetQuota()) + ")", Class: q.GetStatus()})
		} else {
			bars = append(bars, ratioBar{Label: orDefault(rq.className(q.GetQuotaClass()), q.GetQuotaClass()), Ratio: decimal.NewFromFloat(1.5), Text: rq.t("无配额", "no quota"), Class: "violation"})
		}
		classes.add(q.GetStatus(), rq.classCell(q.GetQuotaClass()), C(q.GetQuota()), C(q.GetAllocated()), C(ratio),
			Cell{Text: rq.word("overrun", q.GetStatus()), Class: "status"}, C(q.GetCeiling()), C(q.GetApprovalRef()))
	}
	projects := &Table{ID: "projects-" + dept, Columns: []Column{
		{rq.t("项目", "Project"), Text}, {rq.t("使用单位", "Department"), Text},
		{rq.t("配额类别", "Quota class"), Text}, {rq.t("配额", "Quota"), Number}, {rq.t("状态", "State"), Text}}}
	for _, p := range res.Msg.GetProjects() {
		state := rq.t("在用", "active")
		if p.GetClosed() {
			state = rq.t("已关账", "closed")
		}
		for _, q := range p.GetQuotas() {
			project := named(p.GetName(), p.GetProject())
			project.Href = "/d/" + url.PathEscape(p.GetDepartment()) + "/resources?project=" + url.QueryEscape(p.GetProject())
			projects.add("", project, rq.deptCell(p.GetDepartment()), rq.classCell(q.GetQuotaClass()), C(q.GetQuota()), C(state))
		}
	}
	p := &Page{Title: name + " · " + rq.t("项目与配额", "Projects and quota"), Sections: []*Section{
		{Title: rq.t("各配额类别的使用（已分配/配额）", "Use of each quota class (allocated/quota)"),
			Note:  rq.t("虚线为 100% 与 120%：超过 120% 需经济信息化主管部门审批（SH 20）。", "Dashed lines at 100 % and 120 %: above 120 % needs the supervisor's approval (SH 20)."),
			Chart: ratioBars(rq.t("配额使用", "Quota use"), bars), Table: classes},
		{Title: rq.t("项目", "Projects"), Table: projects},
	}}
	if sec, err := c.findingsSummary(rq, dept); err != nil {
		return nil, err
	} else if sec != nil {
		p.Sections = append([]*Section{sec}, p.Sections...)
	}
	return p, nil
}

func (c *Console) departmentResources(rq *pageRequest) (*Page, error) {
	dept := rq.r.PathValue("dept")
	q := rq.r.URL.Query()
	req := &v1.ListResourcesRequest{Department: dept, Project: q.Get("project"), Kind: q.Get("kind"), Provider: q.Get("provider"), OpenOnly: q.Get("open") == "1"}
	res, err := c.ledger.ListResources(rq.ctx(), connect.NewRequest(req))
	if err != nil {
		return nil, err
	}
	all, err := c.ledger.ListResources(rq.ctx(), connect.NewRequest(&v1.ListResourcesRequest{Department: dept}))
	if err != nil {
		return nil, err
	}
	projects, providers := map[string]string{}, map[string]string{}
	for _, r := range all.Msg.GetResources() {
		projects[r.GetProject()] = rq.projectCell(r.GetProject()).Text
		providers[r.GetProvider()] = rq.provCell(r.GetProvider()).Text
	}
	opts := func(set map[string]string) []Option {
		out := []Option{{"", rq.t("全部", "all")}}
		for _, k := range sortedKeys(set) {
			out = append(out, Option{k, set[k]})
		}
		return out
	}
	kinds := []Option{{"", rq.t("全部", "all")}}
	for _, k := range []string{"standard", "test", "dev", "temporary", "emergency"} {
		kinds = append(kinds, Option{k, rq.word("kind", k)})
	}
	filter := &Form{Method: "get", Action: rq.r.URL.Path, Submit: rq.t("筛选", "Filter"), Fields: []Field{
		{Name: "project", Label: rq.t("项目", "Project"), Type: "select", Value: req.Project, Options: opts(projects)},
		{Name: "kind", Label: rq.t("类型", "Kind"), Type: "select", Value: req.Kind, Options: kinds},
		{Name: "provider", Label: rq.t("服务商", "Provider"), Type: "select", Value: req.Provider, Options: opts(providers)},
		{Name: "open", Label: rq.t("状态", "State"), Type: "select", Value: q.Get("open"), Options: []Option{{"", rq.t("全部", "all")}, {"1", rq.t("仅在用", "open only")}}},
	}}
	t := &Table{ID: "resources-" + dept, Columns: []Column{
		{rq.t("资源", "Resource"), Mono}, {rq.t("项目", "Project"), Text}, {rq.t("服务商", "Provider"), Text}, {rq.t("目录项", "Item"), Text},
		{rq.t("类型", "Kind"), Text}, {rq.t("数量", "Quantity"), Number}, {rq.t("开通时间", "Opened"), Date}, {rq.t("到期", "Expires"), Date},
		{rq.t("延期申请截止", "Extension deadline"), Date}, {rq.t("剩余工作日", "Working days left"), Number}, {rq.t("状态", "State"), Text}}}
	own := rq.me.Role == "department" && rq.me.Department == dept // the department asks for its own resources
	if own {
		t.Columns = append(t.Columns, Column{rq.t("申请", "Request"), Text})
	}
	for _, r := range res.Msg.GetResources() {
		state, class := rq.t("在用", "open"), ""
		if r.GetClosed() {
			state = rq.t("已回收/到期", "closed")
		}
		left := ""
		if r.GetExtensionDeadline() != "" {
			left = fmt.Sprint(r.GetWorkingDaysLeft())
			if r.GetWorkingDaysLeft() <= 5 {
				class = "over"
			}
		}
		cells := []Cell{C(r.GetResource()), rq.projectCell(r.GetProject()), rq.provCell(r.GetProvider()), rq.itemCell(r.GetItem()), C(rq.word("kind", r.GetKind())),
			C(r.GetQuantity()), C(r.GetOpened()), C(r.GetExpires()), C(r.GetExtensionDeadline()), C(left), C(state)}
		if own {
			ask := C("")
			if !r.GetClosed() {
				ask = Link(rq.t("申请扩容", "Ask to expand"), "/requests?kind=expand&resource="+url.QueryEscape(r.GetResource())+"#submit-request")
			}
			cells = append(cells, ask)
		}
		t.add(class, cells...)
	}
	return &Page{Title: rq.deptName(dept) + " · " + rq.t("云资源", "Resources"), Sections: []*Section{
		{Form: filter, Note: rq.t("限时资源（测试、开发、临时、应急）须在到期前 15 个工作日内申请延期（SH 24）。", "A time-limited resource's extension must be asked at least 15 working days before its expiry (SH 24).")},
		{Table: t},
	}}, nil
}

// monthRange is ?from=&to=, or by default the settlement year (September–August, SPEC:
// Settlement) through yesterday (Asia/Shanghai): today is not over, so nothing of it is
// charged as if it were.
func monthRange(rq *pageRequest) (from, to string) {
	q := rq.r.URL.Query()
	if f, t := q.Get("from"), q.Get("to"); f != "" && t != "" {
		return f, t
	}
	return settlementYearToDate(time.Now().In(shanghai))
}

// settlementYearToDate is the first day of the settlement year that yesterday belongs to,
// and yesterday (YYYY-MM-DD).
func settlementYearToDate(now time.Time) (from, to string) {
	y := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location()).AddDate(0, 0, -1)
	start := y.Year()
	if y.Month() < time.September {
		start--
	}
	return fmt.Sprintf("%d-09-01", start), y.Format("2006-01-02")
}

// rangeTitle names a range of charges: 截至2026年12月6日 for the default one, the range
// otherwise.
func rangeTitle(rq *pageRequest, from, to string) string {
	if df, dt := settlementYearToDate(time.Now().In(shanghai)); from == df && to == dt {
		return fmt.Sprintf(rq.t("本结算年度（%s起），截至%s", "This settlement year (from %s), to %s"), formatDate(rq.lang, from), formatDate(rq.lang, to))
	}
	return formatDate(rq.lang, from) + rq.t(" 至 ", " to ") + formatDate(rq.lang, to)
}

func rangeForm(rq *pageRequest, from, to string) *Form {
	return &Form{Method: "get", Action: rq.r.URL.Path, Submit: rq.t("查询", "Show"), Fields: []Field{
		{Name: "from", Label: rq.t("起始日", "From"), Type: "date", Value: from},
		{Name: "to", Label: rq.t("截止日", "To"), Type: "date", Value: to}}}
}

// byMonth sums charge lines per month: the chart's bars and a table.
func byMonth(rq *pageRequest, id string, lines []*v1.ChargeLine) ([]Bar, *Table) {
	base, amt := map[string]decimal.Decimal{}, map[string]decimal.Decimal{}
	for _, l := range lines {
		b := rq.figure("base_amount", l.GetBaseAmount())
		a := rq.figure("amount", l.GetAmount())
		base[l.GetMonth()] = base[l.GetMonth()].Add(b)
		amt[l.GetMonth()] = amt[l.GetMonth()].Add(a)
	}
	var totals []*v1.MonthTotal
	for _, m := range sortedKeys(amt) {
		totals = append(totals, &v1.MonthTotal{Month: m, BaseAmount: money.Text(base[m]), Amount: money.Text(amt[m])})
	}
	return monthTotals(rq, id, totals)
}

// monthTotals is the chart and table of fees by month.
func monthTotals(rq *pageRequest, id string, months []*v1.MonthTotal) ([]Bar, *Table) {
	t := &Table{ID: id, Columns: []Column{{rq.t("月份", "Month"), Date}, {rq.t("基础金额（元）", "Base amount (CNY)"), Money}, {rq.t("应付金额（元）", "Amount (CNY)"), Money}}}
	var bars []Bar
	tb, ta := decimal.Zero, decimal.Zero
	for _, m := range months {
		b, a := rq.figure("base_amount", m.GetBaseAmount()), rq.figure("amount", m.GetAmount())
		t.add("", C(m.GetMonth()), C(money.Text(b)), C(money.Text(a)))
		bars = append(bars, Bar{Label: m.GetMonth()[2:], Value: a})
		tb, ta = tb.Add(b), ta.Add(a)
	}
	t.Foot = &Row{Cells: []Cell{C(rq.t("合计", "Total")), C(money.Text(tb)), C(money.Text(ta))}}
	return bars, t
}

func (c *Console) departmentCharges(rq *pageRequest) (*Page, error) {
	dept := rq.r.PathValue("dept")
	from, to := monthRange(rq)
	res, err := c.ledger.Charges(rq.ctx(), connect.NewRequest(&v1.ChargesRequest{From: from, To: to, Department: dept}))
	if err != nil {
		return nil, err
	}
	bars, months := byMonth(rq, "charges-by-month-"+dept, res.Msg.GetLines())
	return &Page{Title: rq.deptName(dept) + " · " + rq.t("费用", "Charges"), Sections: []*Section{
		{Title: rangeTitle(rq, from, to), Form: rangeForm(rq, from, to), Facts: chargeFacts(rq, res.Msg)},
		{Title: rq.t("按月费用", "Charges by month"), Chart: columnChart(rq.t("按月费用（元）", "Charges by month (CNY)"), bars), Table: months},
		{Title: rq.t("计费明细", "Charge lines"), Table: chargeLines(rq, "charges-"+dept, res.Msg.GetLines())},
	}}, nil
}

func chargeFacts(rq *pageRequest, m *v1.ChargesResponse) []Fact {
	f := []Fact{{Label: rq.t("应付金额合计（元）", "Total (CNY)"), Value: formatMoney(rq.lang, m.GetTotalAmount())},
		{Label: rq.t("基础金额合计（元）", "Base total (CNY)"), Value: formatMoney(rq.lang, m.GetTotalBaseAmount())}}
	if n := m.GetProvisionalLines(); n > 0 {
		f = append(f, Fact{Label: rq.t("暂估行（缺评分）", "Provisional lines (unscored)"), Value: fmt.Sprint(n), Class: "warn"})
	}
	return f
}

func chargeLines(rq *pageRequest, id string, lines []*v1.ChargeLine) *Table {
	t := &Table{ID: id, Columns: []Column{{rq.t("月份", "Month"), Date}, {rq.t("使用单位", "Department"), Text}, {rq.t("项目", "Project"), Text},
		{rq.t("服务商", "Provider"), Text}, {rq.t("目录项", "Item"), Text}, {rq.t("数量", "Quantity"), Number}, {rq.t("计量单位", "Unit"), Text},
		{rq.t("基础金额", "Base"), Money}, {rq.t("评估系数", "Multiplier"), Number}, {rq.t("应付金额", "Amount"), Money}}}
	for _, l := range lines {
		class := ""
		if l.GetProvisionalDays() > 0 {
			class = "over"
		}
		t.add(class, C(l.GetMonth()), rq.deptCell(l.GetDepartment()), rq.projectCell(l.GetProject()), rq.provCell(l.GetProvider()), rq.itemCell(l.GetItem()),
			C(l.GetQuantity()), C(l.GetUnit()), C(l.GetBaseAmount()), C(l.GetMultiplier()), C(l.GetAmount()))
	}
	return t
}

func (c *Console) departmentStatement(rq *pageRequest) (*Page, error) {
	return c.statement(rq, rq.r.PathValue("dept"), "")
}

// statementMonths are the months a statement or an invoice may be of, newest first: this
// month back to September of the previous settlement year, whose statements are still
// being reconciled and audited (SPEC: Settlement; on 7 December 2026, 2026-12 … 2025-09).
func statementMonths(now time.Time) []string {
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, now.Location())
	start := now.Year() - 1
	if now.Month() < time.September {
		start--
	}
	stop := time.Date(start, time.September, 1, 0, 0, 0, 0, now.Location())
	var out []string
	for m := first; !m.Before(stop); m = m.AddDate(0, -1, 0) {
		out = append(out, m.Format("2006-01"))
	}
	return out
}

// recentMonths is statementMonths of today.
func recentMonths() []string { return statementMonths(time.Now().In(shanghai)) }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
