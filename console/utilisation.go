package console

import (
	"net/url"
	"strconv"
	"strings"

	"connectrpc.com/connect"
	"github.com/shopspring/decimal"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
)

// The utilisation page (资源利用率; SPEC: Utilisation): each role sees the use of the
// resources in its scope — a department its own, a provider the resources it runs, the
// authority, the supervisor, finance and the auditors every one — as the month's mean,
// peak and availability per resource, and one resource's days as a chart.
func (c *Console) utilisationPage(rq *pageRequest) (*Page, error) {
	q := rq.r.URL.Query()
	months := recentMonths()
	month := q.Get("month")
	if month == "" {
		month = months[1] // last month: this one is still running
	}
	req := &v1.UtilisationRequest{Month: month}
	switch rq.me.Role {
	case "department":
		req.Department = rq.me.Department
	case "provider":
		req.Provider = rq.me.Provider
	}
	res, err := c.ledger.Utilisation(rq.ctx(), connect.NewRequest(req))
	if err != nil {
		return nil, err
	}
	opts := make([]Option, len(months))
	for i, m := range months {
		opts[i] = Option{m, formatDate(rq.lang, m)}
	}
	pick := &Form{Method: "get", Action: "/utilisation", Submit: rq.t("查看", "Show"), Fields: []Field{
		{Name: "month", Label: rq.t("月份", "Month"), Type: "select", Value: month, Options: opts}}}
	t := &Table{ID: "utilisation-" + month, Columns: []Column{{rq.t("资源", "Resource"), Mono}, {rq.t("使用单位", "Department"), Text},
		{rq.t("服务商", "Provider"), Text}, {rq.t("目录项", "Item"), Text}, {rq.t("平均利用率 %", "Mean %"), Number},
		{rq.t("峰值利用率 %", "Peak %"), Number}, {rq.t("可用率 %", "Availability %"), Number}, {rq.t("有数据天数", "Days with data"), Number}}}
	for _, m := range res.Msg.GetMonths() {
		class := ""
		if mean := rq.figure("mean_pct", m.GetMeanPct()); mean.LessThan(decimalTen) {
			class = "over" // a month below 10 % on average: a candidate for adjustment (HLJ 17)
		}
		t.add(class, Link(m.GetResource(), "/utilisation?month="+url.QueryEscape(month)+"&resource="+url.QueryEscape(m.GetResource())),
			rq.deptCell(m.GetDepartment()), rq.provCell(m.GetProvider()), rq.itemCell(m.GetItem()), C(m.GetMeanPct()), C(m.GetPeakPct()), C(m.GetAvailabilityPct()),
			C(strconv.Itoa(int(m.GetDaysWithData()))))
	}
	p := &Page{Title: rq.t("资源利用率", "Utilisation") + " · " + formatDate(rq.lang, month), Sections: []*Section{
		{Form: pick, Note: rq.t("每个资源本月的日均利用率之平均、峰值与可用率（来自监测数据或服务商月报）；点资源查看逐日图表。",
			"Each resource's month: the mean of its daily means, its peak and availability (from monitoring or the provider's monthly report); click a resource for its days.")},
		{Title: rq.t("按资源", "By resource"), Table: t},
	}}
	if res := q.Get("resource"); res != "" {
		var bars []Bar
		days := &Table{ID: "utilisation-" + res + "-" + month, Columns: []Column{{rq.t("日期", "Date"), Date}, {rq.t("平均 %", "Mean %"), Number},
			{rq.t("峰值 %", "Peak %"), Number}, {rq.t("可用率 %", "Availability %"), Number}, {rq.t("来源", "Source"), Text}}}
		rows, err := c.ledger.Utilisation(rq.ctx(), connect.NewRequest(&v1.UtilisationRequest{Resource: res, Month: month}))
		if err != nil {
			return nil, err
		}
		for _, d := range rows.Msg.GetRows() {
			bars = append(bars, Bar{Label: strings.TrimPrefix(d.GetDate()[8:], "0"), Value: rq.figure("mean_pct", d.GetMeanPct())})
			days.add("", C(d.GetDate()), C(d.GetMeanPct()), C(d.GetPeakPct()), C(d.GetAvailabilityPct()), C(rq.word("source", d.GetSource())))
		}
		p.Sections = append(p.Sections, &Section{Title: rq.t("逐日平均利用率（%）", "Daily mean utilisation (%)"),
			Facts: []Fact{{Label: rq.t("资源", "Resource"), Value: res, Mono: true}},
			Chart: columnChart(rq.t("逐日平均利用率（%）", "Daily mean utilisation (%)"), bars), Table: days})
	}
	return p, nil
}

var decimalTen = decimal.NewFromInt(10)
