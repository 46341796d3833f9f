package console

import (
	"fmt"
	"github.com/cloudledger/cloudledger/money"
	"net/url"
	"strconv"
	"time"

	"connectrpc.com/connect"
	"github.com/shopspring/decimal"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
)

// The finance bureau's page (财政局): settlement years with their state and deadline,
// audited totals by department (budget-funded and self-funded apart), the budget export,
// fees by month.

func (c *Console) financeHome(rq *pageRequest) (*Page, error) {
	now := time.Now().In(shanghai)
	year, _ := strconv.Atoi(rq.r.URL.Query().Get("year"))
	years := &Table{ID: "settlement-years", Columns: []Column{{rq.t("结算年度", "Settlement year"), Text}, {rq.t("状态", "State"), Text},
		{rq.t("结算窗口起", "Window from"), Date}, {rq.t("结算窗口止", "Window to"), Date}, {rq.t("截止日", "Deadline"), Date},
		{rq.t("剩余天数", "Days left"), Number}, {rq.t("剩余工作日", "Working days left"), Number}, {rq.t("审核总额（元）", "Audited total (CNY)"), Money}}}
	var chosen *v1.SettleStatusResponse
	for y := now.Year() + 1; y >= now.Year()-1; y-- {
		s, err := rq.settleStatus(int32(y))
		if err != nil {
			return nil, err
		}
		class := ""
		if s.GetState() == "" && s.GetDaysLeft() < 60 {
			class = "over"
		}
		years.add(class, Link(fmt.Sprint(y), fmt.Sprintf("/finance?year=%d", y)), C(rq.word("state", s.GetState())), C(s.GetWindowFrom()), C(s.GetWindowTo()),
			C(s.GetDeadline()), C(fmt.Sprint(s.GetDaysLeft())), C(workingDays(s)), C(s.GetTotalAmount()))
		if (year == 0 && chosen == nil && s.GetState() != "") || int(s.GetYear()) == year {
			chosen = s
		}
	}
	p := &Page{Title: rq.t("年度结算", "Settlement years"), Sections: []*Section{
		{Note: rq.t("结算须在每年 9 月 30 日前完成（SH 27）；剩余工作日按官方节假日安排计算。", "Settlement is due by 30 September (SH 27); working days follow the official holiday schedule."), Table: years}}}
	if chosen == nil {
		return p, nil
	}
	y := chosen.GetYear()
	if f := rq.r.URL.Query().Get("budget"); f == "xlsx" || f == "csv" {
		res, err := c.ledger.BudgetExport(rq.ctx(), connect.NewRequest(&v1.BudgetExportRequest{Year: y, Format: f}))
		if err != nil {
			return nil, err
		}
		ct := xlsxType
		if f == "csv" {
			ct = "text/csv; charset=utf-8"
		}
		return &Page{Download: &Download{Name: fmt.Sprintf("budget-%d.%s", y, f), ContentType: ct, Body: res.Msg.GetContent()}}, nil
	}
	sec := &Section{Title: fmt.Sprintf(rq.t("%d 年度", "Settlement year %d"), y)}
	p.Sections = append(p.Sections, sec)
	if chosen.GetState() == "" || chosen.GetState() == "draft" {
		sec.Note = rq.t("本年度尚未审核：审核后可下载预算汇总。", "This year is not audited yet: the budget export follows the audit.")
	} else {
		res, err := c.ledger.BudgetExport(rq.ctx(), connect.NewRequest(&v1.BudgetExportRequest{Year: y, Format: "typed"}))
		if err != nil {
			return nil, err
		}
		b := res.Msg.GetBudget()
		total := decimal.Zero
		bud, self := deptTotals(rq, "budget-funded", y), deptTotals(rq, "self-funded", y)
		for _, d := range b.GetDepartments() {
			t := bud
			if d.GetFunding() == "self" {
				t = self
			}
			dept := named(d.GetDepartmentName(), d.GetDepartment())
			dept.Href = "/d/" + url.PathEscape(d.GetDepartment())
			t.add("", dept, C(d.GetBaseAmount()), C(d.GetAmount()), C(d.GetNextYearEstimate()))
			total = total.Add(rq.figure("amount", d.GetAmount()))
		}
		foot(rq, bud)
		foot(rq, self)
		sec.Facts = []Fact{{Label: rq.t("审核总额（元）", "Audited total (CNY)"), Value: formatMoney(rq.lang, money.Text(total))},
			{Label: rq.t("状态", "State"), Value: rq.word("state", chosen.GetState())},
			{Label: rq.t("审核人", "Audited by"), Value: b.GetAuditedBy(), Mono: true},
			{Label: rq.t("结算单", "Settlement document"), Value: rq.t("查看并打印", "View and print"), Href: fmt.Sprintf("/finance/settlement?year=%d", y)},
			{Label: rq.t("结算单", "Settlement document"), Value: rq.t("下载电子表格", "XLSX"), Code: "XLSX", Href: fmt.Sprintf("/finance/settlement?year=%d&format=xlsx", y)},
			{Label: rq.t("年度预算汇总", "Budget export"), Value: rq.t("下载电子表格", "XLSX"), Code: "XLSX", Href: fmt.Sprintf("/finance?year=%d&budget=xlsx", y)},
			{Label: rq.t("年度预算汇总", "Budget export"), Value: rq.t("下载逗号分隔文件", "CSV"), Code: "CSV", Href: fmt.Sprintf("/finance?year=%d&budget=csv", y)}}
		p.Sections = append(p.Sections, &Section{Title: rq.t("财政预算单位", "Budget-funded departments"), Table: bud},
			&Section{Title: rq.t("非财政预算单位（自行支付）", "Self-funded departments (pay their providers)"), Table: self})
	}
	ch, err := c.ledger.Charges(rq.ctx(), connect.NewRequest(&v1.ChargesRequest{From: chosen.GetWindowFrom(), To: chosen.GetWindowTo(), TotalsOnly: true}))
	if err != nil {
		return nil, err
	}
	bars, months := monthTotals(rq, fmt.Sprintf("fees-by-month-%d", y), ch.Msg.GetByMonth())
	p.Sections = append(p.Sections, &Section{Title: rq.t("按月费用", "Fees by month"),
		Chart: columnChart(rq.t("按月费用（元）", "Fees by month (CNY)"), bars), Table: months})
	return p, nil
}

func deptTotals(rq *pageRequest, id string, year int32) *Table {
	return &Table{ID: fmt.Sprintf("%s-%d", id, year), Columns: []Column{{rq.t("使用单位", "Department"), Text},
		{rq.t("基础金额（元）", "Base (CNY)"), Money}, {rq.t("审核费用（元）", "Audited fee (CNY)"), Money}, {rq.t("下年度预估（元）", "Next year's estimate (CNY)"), Money}}}
}

// foot adds the totals row of the money columns (1, 2, 3).
func foot(rq *pageRequest, t *Table) {
	sums := make([]decimal.Decimal, len(t.Columns))
	for _, r := range t.Rows {
		for i := 1; i < len(r.Cells); i++ {
			sums[i] = sums[i].Add(rq.figure(t.Columns[i].Label, r.Cells[i].Text))
		}
	}
	cells := []Cell{C(rq.t("合计", "Total"))}
	for i := 1; i < len(t.Columns); i++ {
		cells = append(cells, C(money.Text(sums[i])))
	}
	t.Foot = &Row{Cells: cells}
}

// settleWarning is what the year's status warns of, in the reader's words, worked out
// from the status's figures (the API's warning is English, for the CLI's log).
func settleWarning(rq *pageRequest, s *v1.SettleStatusResponse) string {
	submitted := s.GetState() == "submitted" || s.GetState() == "paid"
	deadline := formatDate(rq.lang, s.GetDeadline())
	switch {
	case s.GetWarning() == "":
		return ""
	case s.GetWorkingDaysLeft() < 0 && s.GetDaysLeft() > 0:
		return rq.t("截止日前的法定节假日安排尚未加载，剩余工作日暂无法计算；请运行管理单位加载该年度日历。",
			"The official holiday schedule before the deadline is not loaded: working days left are unknown until the authority loads that year's calendar.")
	case !submitted && s.GetDaysLeft() < 0:
		return fmt.Sprintf(rq.t("已逾期：%d 结算年度应于 %s 前提交。", "Overdue: settlement year %d was due by %s."), s.GetYear(), deadline)
	default:
		return fmt.Sprintf(rq.t("距截止日 %[2]s 仅剩 %[3]d 个工作日，%[1]d 结算年度尚未提交。", "%[3]d working days left before %[2]s and settlement year %[1]d is not submitted."),
			s.GetYear(), deadline, s.GetWorkingDaysLeft())
	}
}

// workingDays is a year's working days left, "—" while the calendar of a day before its
// deadline is not loaded (the status's warning says which).
func workingDays(s *v1.SettleStatusResponse) string {
	if s.GetWorkingDaysLeft() < 0 && s.GetDaysLeft() > 0 {
		return "—"
	}
	return fmt.Sprint(s.GetWorkingDaysLeft())
}
