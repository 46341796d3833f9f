package console

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
)

// statement is the monthly statement (月度使用情况表) of a department or a provider as an
// official document: its party by name with that party's seal box, the month (and, for the
// month still running, the day it is rated through: 本月至今), the lines whose multiplier
// has no evaluation score marked 暂估 with the unscored days, and a footer line for the
// auditor — the document number, the state index and the SHA-256 of the statement's data
// file (the API's JSON of the same figures, downloadable here). The API's XLSX and CSV
// are the official files.
func (c *Console) statement(rq *pageRequest, dept, prov string) (*Page, error) {
	month := rq.r.URL.Query().Get("month")
	months := recentMonths()
	if month == "" {
		month = months[1] // last month: this one is still running
	}
	official := rq.r.URL.Query().Get("official")
	format := "json"
	if official == "xlsx" || official == "csv" {
		format = official
	}
	res, err := c.ledger.Statement(rq.ctx(), connect.NewRequest(&v1.StatementRequest{Month: month, Department: dept, Provider: prov, Format: format}))
	if err != nil {
		return nil, err
	}
	if official != "" {
		ct := map[string]string{"xlsx": xlsxType, "csv": "text/csv; charset=utf-8", "json": "application/json"}[format]
		return &Page{Download: &Download{Name: fmt.Sprintf("statement-%s%s-%s.%s", dept, prov, month, format), ContentType: ct, Body: res.Msg.GetContent()}}, nil
	}
	st := res.Msg.GetStatement()
	var doc struct {
		Through string `json:"through"` // the last day rated of the month still running
	}
	if err := json.Unmarshal(res.Msg.GetContent(), &doc); err != nil {
		return nil, err
	}
	from, to := month+"-01", monthLast(month)
	mtd := doc.Through != ""
	if mtd {
		to = doc.Through
	}
	// The lines behind a multiplier of 1 for want of an evaluation score (SPEC: Rating),
	// and the days no score covers, from the API's rating of the same days.
	var estimated []*v1.ChargeLine
	var unscored []*v1.UnscoredDays
	if to >= from {
		ch, err := c.ledger.Charges(rq.ctx(), connect.NewRequest(&v1.ChargesRequest{From: from, To: to, Department: dept, Provider: prov}))
		if err != nil {
			return nil, err
		}
		for _, l := range ch.Msg.GetLines() {
			if l.GetProvisionalDays() > 0 {
				estimated = append(estimated, l)
			}
		}
		unscored = ch.Msg.GetUnscored()
	}
	provisional := map[string]bool{} // project/provider/item of a provisional line
	for _, l := range estimated {
		provisional[l.GetProject()+"/"+l.GetProvider()+"/"+l.GetItem()] = true
	}

	who := dept + prov
	partyLabel, party, group, groupCell := rq.t("使用单位", "Department"), rq.deptName(dept), rq.t("项目", "Project"), rq.projectCell
	otherLabel, otherName := rq.t("服务商", "Providers"), rq.provName
	stamp, kind := rq.t("使用单位（盖章）", "Department (seal)"), "D"
	if prov != "" {
		partyLabel, party, group, groupCell = rq.t("云服务商", "Provider"), rq.provName(prov), rq.t("使用单位", "Department"), rq.deptCell
		otherLabel, otherName = rq.t("使用单位", "Departments"), rq.deptName
		stamp, kind = rq.t("云服务商（盖章）", "Provider (seal)"), "P"
	}
	others := map[string]bool{}
	for _, r := range st.GetResources() {
		if prov != "" {
			others[r.GetDepartment()] = true
		} else {
			others[r.GetProvider()] = true
		}
	}
	var otherNames []string
	for _, code := range sortedKeys(others) {
		otherNames = append(otherNames, otherName(code))
	}

	opts := make([]Option, len(months))
	for i, m := range months {
		opts[i] = Option{m, formatDate(rq.lang, m)}
	}
	pick := &Form{Method: "get", Action: rq.r.URL.Path, Submit: rq.t("查看", "Show"), Fields: []Field{
		{Name: "month", Label: rq.t("月份", "Month"), Type: "select", Value: month, Options: opts}}}
	t := &Table{ID: "statement-" + who + "-" + month, Columns: []Column{{rq.t("资源", "Resource"), Mono}, {rq.t("计价", "Pricing"), Text},
		{rq.t("使用单位", "Department"), Text}, {rq.t("项目", "Project"), Text}, {rq.t("服务商", "Provider"), Text}, {rq.t("目录项", "Item"), Text}, {rq.t("类型", "Kind"), Text},
		{rq.t("计价单位", "Unit"), Text}, {rq.t("数量", "Quantity"), Number}, {rq.t("基础金额（元）", "Base (CNY)"), Money}, {rq.t("应付金额（元）", "Amount (CNY)"), Money},
		{rq.t("平均利用率 %", "Mean %"), Number}, {rq.t("峰值利用率 %", "Peak %"), Number}, {rq.t("可用率 %", "Availability %"), Number}, {rq.t("有数据天数", "Days with data"), Number},
		{rq.t("利用率问题", "Findings"), Text}}}
	for _, r := range st.GetResources() {
		days := ""
		if r.GetDaysWithData() > 0 {
			days = strconv.Itoa(int(r.GetDaysWithData()))
		}
		class, pricing := "", rq.t("已评分", "Scored")
		if provisional[r.GetProject()+"/"+r.GetProvider()+"/"+r.GetItem()] {
			class, pricing = "over", rq.t("暂估", "Provisional")
		}
		t.add(class, C(r.GetResource()), Cell{Text: pricing, Class: "nowrap"}, rq.deptCell(r.GetDepartment()), rq.projectCell(r.GetProject()), rq.provCell(r.GetProvider()), rq.itemCell(r.GetItem()), C(rq.word("kind", r.GetKind())), C(r.GetUnit()),
			C(r.GetQuantity()), C(r.GetBaseAmount()), C(r.GetAmount()), C(r.GetMeanPct()), C(r.GetPeakPct()), C(r.GetAvailabilityPct()), C(days),
			C(statementFindings(rq, r)))
	}
	t.Foot = &Row{Cells: []Cell{C(rq.t("合计", "Total")), C(""), C(""), C(""), C(""), C(""), C(""), C(""), C(""), C(st.GetTotalBaseAmount()), C(st.GetTotalAmount()), C(""), C(""), C(""), C(""), C("")}}
	sub := &Table{ID: "subtotals-" + who + "-" + month, Columns: []Column{{group, Text}, {rq.t("基础金额（元）", "Base (CNY)"), Money}, {rq.t("应付金额（元）", "Amount (CNY)"), Money}}}
	for _, s := range st.GetSubtotals() {
		sub.add("", groupCell(s.GetGroup()), C(s.GetBaseAmount()), C(s.GetAmount()))
	}

	sum := sha256.Sum256(res.Msg.GetContent())
	digest := hex.EncodeToString(sum[:])
	number := fmt.Sprintf("CL-%s-%s-%s-%s", strings.ReplaceAll(month, "-", ""), kind, who, digest[:8])
	period := formatDate(rq.lang, from) + rq.t("至", " to ") + formatDate(rq.lang, to)
	title := rq.t("月度使用情况表", "Monthly statement") + " · " + party + " · " + formatDate(rq.lang, month)
	switch {
	case mtd && to < from:
		title += rq.t("（本月尚未开始）", " (not begun)")
		period = rq.t("本月尚未开始，无费用", "The month has not begun: no charges")
	case mtd:
		title += fmt.Sprintf(rq.t("（本月至今，截至%s）", " (month to date, to %s)"), formatDate(rq.lang, to))
		period += rq.t("（本月至今；以后各日尚未发生，不计费）", " (month to date; days still to come are not charged)")
	}
	link := rq.r.URL.Path + "?month=" + url.QueryEscape(month) + "&official="
	facts := []Fact{{Label: partyLabel, Value: party, Code: who}}
	if len(otherNames) > 0 {
		facts = append(facts, Fact{Label: otherLabel, Value: strings.Join(otherNames, "、")})
	}
	facts = append(facts, Fact{Label: rq.t("月份", "Month"), Value: formatDate(rq.lang, month)},
		Fact{Label: rq.t("计费期间", "Period charged"), Value: period},
		Fact{Label: rq.t("应付金额合计（元）", "Total (CNY)"), Value: formatMoney(rq.lang, st.GetTotalAmount())},
		Fact{Label: rq.t("费用行数", "Charge lines"), Value: fmt.Sprint(st.GetLines())})
	if len(estimated) > 0 {
		facts = append(facts, Fact{Label: rq.t("暂估行（缺评估评分）", "Provisional lines (unscored)"), Value: fmt.Sprint(len(estimated)), Class: "warn"})
	}
	facts = append(facts,
		Fact{Label: rq.t("正式文件", "Official statement"), Value: rq.t("下载电子表格", "XLSX"), Code: "XLSX", Href: link + "xlsx", Class: "noprint"},
		Fact{Label: rq.t("正式文件", "Official statement"), Value: rq.t("下载逗号分隔文件", "CSV"), Code: "CSV", Href: link + "csv", Class: "noprint"},
		Fact{Label: rq.t("数据文件（核对摘要用）", "Data file (for the digest)"), Value: rq.t("下载数据文件", "JSON"), Code: "JSON", Href: link + "json", Class: "noprint"})
	sections := []*Section{
		{Class: "noprint", Form: pick},
		{Facts: facts},
	}
	if len(estimated) > 0 {
		sections = append(sections, provisionalSection(rq, who, month, estimated, unscored))
	}
	sections = append(sections,
		&Section{Title: rq.t("资源明细", "Resources"), Table: t},
		&Section{Title: rq.t("小计", "Subtotals"), Table: sub, Stamp: stamp + "　" + party},
		&Section{Class: "docfoot", Note: rq.t("供审计核对：数据摘要是本表数据文件（JSON）的摘要，同一状态索引下重新下载该文件应得到同一摘要。",
			"For the auditor: the digest is the SHA-256 of this statement's data file (JSON); downloaded again at the same state index it is the same."),
			Facts: []Fact{{Label: rq.t("文件编号", "Document number"), Value: number, Mono: true},
				{Label: rq.t("状态索引", "State index"), Value: strconv.FormatUint(res.Msg.GetAppliedIndex(), 10), Mono: true},
				{Label: rq.t("数据摘要", "Digest"), Value: digest, Mono: true, Code: "SHA-256"}}},
	)
	return &Page{Title: title, Sections: sections}, nil
}

// provisionalSection lists the lines charged with a multiplier of 1 because no evaluation
// score covers some of their days, and for each provider the days without one: why the
// figures are provisional (暂估) and what settles them.
func provisionalSection(rq *pageRequest, who, month string, lines []*v1.ChargeLine, unscored []*v1.UnscoredDays) *Section {
	t := &Table{ID: "provisional-" + who + "-" + month, Columns: []Column{{rq.t("计价", "Pricing"), Text}, {rq.t("项目", "Project"), Text}, {rq.t("服务商", "Provider"), Text},
		{rq.t("目录项", "Item"), Text}, {rq.t("无评分天数", "Unscored days"), Number}, {rq.t("评估系数", "Multiplier"), Number}, {rq.t("应付金额（元）", "Amount (CNY)"), Money}}}
	for _, l := range lines {
		t.add("over", Cell{Text: rq.t("暂估", "Provisional"), Class: "nowrap"}, rq.projectCell(l.GetProject()), rq.provCell(l.GetProvider()), rq.itemCell(l.GetItem()),
			C(fmt.Sprint(l.GetProvisionalDays())), C(l.GetMultiplier()), C(l.GetAmount()))
	}
	sort.Slice(unscored, func(i, j int) bool { return unscored[i].GetProvider() < unscored[j].GetProvider() })
	var why []string
	for _, u := range unscored {
		var ranges []string
		for _, r := range u.GetDays() {
			ranges = append(ranges, formatDate(rq.lang, r.GetFrom())+rq.t("至", " to ")+formatDate(rq.lang, r.GetTo()))
		}
		why = append(why, rq.provName(u.GetProvider())+rq.t("：", ": ")+strings.Join(ranges, rq.t("、", ", ")))
	}
	note := rq.t("以下费用行的部分日期没有服务商的评估评分，评估系数暂按 1 计，金额为暂估；评分录入后按实际系数重算，结算审核前须补齐（先审再付）。无评分的日期：",
		"Some days of these lines have no evaluation score of the provider: the multiplier is taken as 1 and the amount is provisional; it is rated again once the score is in, and settlement cannot be audited before (先审再付). Days without a score: ") +
		strings.Join(why, rq.t("；", "; "))
	return &Section{Title: rq.t("暂估说明", "Provisional charges"), Note: note, Table: t}
}

// monthLast is the last day of a month YYYY-MM (YYYY-MM-DD); "" if it is not one.
func monthLast(month string) string {
	m, err := time.Parse("2006-01", month)
	if err != nil {
		return ""
	}
	return m.AddDate(0, 1, -1).Format("2006-01-02")
}
