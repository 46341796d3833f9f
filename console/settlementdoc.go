package console

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"

	"connectrpc.com/connect"
	"github.com/shopspring/decimal"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/money"
)

// settlementDocument is the settlement document (结算单) of a settlement year for the
// finance bureau, printable: the window, the audited fees of every department —
// budget-funded ones apart from the self-funded, who pay their providers themselves —
// and their totals, the boxes for the seals of the authority that audited it and of the
// finance bureau that receives it, and a footer for the auditor (document number, state
// index, the SHA-256 of the budget export CSV the figures are read from). Only an
// audited year has one: its figures no longer change (SPEC: Settlement). ?format=xlsx
// downloads the same document as a workbook of one sheet named and titled with the year.
func (c *Console) settlementDocument(rq *pageRequest) (*Page, error) {
	p, year, err := c.settlementPage(rq)
	if err != nil || rq.r.URL.Query().Get("format") != "xlsx" || year == 0 {
		return p, err
	}
	b, err := documentXLSX(p, fmt.Sprintf(rq.t("结算单 %d年度", "Settlement %d"), year))
	if err != nil {
		return nil, err
	}
	return &Page{Download: &Download{Name: fmt.Sprintf("settlement-%d.xlsx", year), ContentType: xlsxType, Body: b}}, nil
}

// settlementPage is the document, and its year when the year is audited (0 otherwise).
func (c *Console) settlementPage(rq *pageRequest) (*Page, int, error) {
	year, err := strconv.Atoi(rq.r.URL.Query().Get("year"))
	if err != nil || year < 2000 || year > 9999 {
		return &Page{Status: 404, Title: rq.t("结算单", "Settlement document"), Error: rq.t("请从年度结算页选择结算年度。", "Choose a settlement year on the settlement page.")}, 0, nil
	}
	st, err := c.ledger.SettleStatus(rq.ctx(), connect.NewRequest(&v1.SettleStatusRequest{Year: int32(year)}))
	if err != nil {
		return nil, 0, err
	}
	s := st.Msg
	title := fmt.Sprintf(rq.t("%d 结算年度结算单", "Settlement document, settlement year %d"), year)
	if s.GetState() == "" || s.GetState() == "draft" {
		return &Page{Title: title, Sections: []*Section{{Note: rq.t("本年度尚未审核，审核后才有结算单。", "This year is not audited yet: the settlement document follows the audit."),
			Facts: []Fact{{Label: rq.t("状态", "State"), Value: rq.word("state", s.GetState())}}}}}, 0, nil
	}
	res, err := c.ledger.BudgetExport(rq.ctx(), connect.NewRequest(&v1.BudgetExportRequest{Year: int32(year), Format: "csv"}))
	if err != nil {
		return nil, 0, err
	}
	b := res.Msg.GetBudget()
	cols := func(id string) *Table {
		return &Table{ID: fmt.Sprintf("%s-%d", id, year), NoDownload: true, Columns: []Column{{rq.t("序号", "No."), Number}, {rq.t("使用单位", "Department"), Text},
			{rq.t("基础金额（元）", "Base (CNY)"), Money}, {rq.t("审核费用（元）", "Audited fee (CNY)"), Money}}}
	}
	bud, self := cols("settlement-budget"), cols("settlement-self")
	var budBase, budAmt, selfBase, selfAmt decimal.Decimal
	for _, d := range b.GetDepartments() {
		base, amt := rq.figure("base_amount", d.GetBaseAmount()), rq.figure("amount", d.GetAmount())
		t := bud
		if d.GetFunding() == "self" {
			t = self
			selfBase, selfAmt = selfBase.Add(base), selfAmt.Add(amt)
		} else {
			budBase, budAmt = budBase.Add(base), budAmt.Add(amt)
		}
		t.add("", C(strconv.Itoa(len(t.Rows)+1)), named(d.GetDepartmentName(), d.GetDepartment()), C(d.GetBaseAmount()), C(d.GetAmount()))
	}
	bud.Foot = &Row{Cells: []Cell{C(rq.t("合计", "Total")), C(""), C(money.Text(budBase)), C(money.Text(budAmt))}}
	self.Foot = &Row{Cells: []Cell{C(rq.t("合计", "Total")), C(""), C(money.Text(selfBase)), C(money.Text(selfAmt))}}

	sum := sha256.Sum256(res.Msg.GetContent())
	digest := hex.EncodeToString(sum[:])
	window := formatDate(rq.lang, s.GetWindowFrom()) + rq.t("至", " to ") + formatDate(rq.lang, s.GetWindowTo())
	return &Page{Title: title, Sections: []*Section{
		{Class: "noprint", Facts: []Fact{{Label: rq.t("返回", "Back"), Value: rq.t("年度结算", "Settlement years"), Href: "/finance?year=" + url.QueryEscape(strconv.Itoa(year))},
			{Label: rq.t("下载结算单", "Download"), Value: rq.t("电子表格", "XLSX"), Code: "XLSX", Href: fmt.Sprintf("/finance/settlement?year=%d&format=xlsx", year)},
			{Label: rq.t("所据数据", "Figures from"), Value: rq.t("年度预算汇总（逗号分隔文件）", "Budget export (CSV)"), Code: "CSV", Href: fmt.Sprintf("/finance?year=%d&budget=csv", year)}}},
		{Facts: []Fact{{Label: rq.t("报送单位", "From"), Value: rq.t("政务云主管部门", "The cloud authority")},
			{Label: rq.t("接收单位", "To"), Value: rq.t("财政局", "The finance bureau")},
			{Label: rq.t("结算年度", "Settlement year"), Value: strconv.Itoa(year)},
			{Label: rq.t("结算期间", "Window"), Value: window},
			{Label: rq.t("状态", "State"), Value: rq.word("state", s.GetState())},
			{Label: rq.t("审核人", "Audited by"), Value: b.GetAuditedBy(), Mono: true},
			{Label: rq.t("财政预算单位审核费用合计（元）", "Budget-funded audited total (CNY)"), Value: formatMoney(rq.lang, money.Text(budAmt))},
			{Label: rq.t("报送截止日", "Due"), Value: formatDate(rq.lang, s.GetDeadline())}},
			Note: rq.t("以下为经审核的结算数据，审核后不再变动；财政预算单位的费用由下一年度预算支付（费随事走），非财政预算单位自行向服务商支付，另列如下。",
				"The audited figures below no longer change; budget-funded departments pay from next year's budget, self-funded ones pay their providers themselves and are listed apart.")},
		{Title: rq.t("财政预算单位", "Budget-funded departments"), Table: bud},
		{Title: rq.t("非财政预算单位（自行支付，仅供备查）", "Self-funded departments (pay their providers; for reference)"), Table: self,
			Stamp: rq.t("政务云主管部门（盖章）", "The cloud authority (seal)")},
		{Stamp: rq.t("财政局（签收盖章）", "The finance bureau (received, seal)")},
		{Class: "docfoot", Note: rq.t("供审计核对：数据摘要是同时下载的年度预算汇总（逗号分隔文件）的摘要。", "For the auditor: the digest is that of the budget export (CSV) downloaded at the same time."),
			Facts: []Fact{{Label: rq.t("文件编号", "Document number"), Value: fmt.Sprintf("CL-%d-JS-%s", year, digest[:8]), Mono: true},
				{Label: rq.t("状态索引", "State index"), Value: strconv.FormatUint(res.Msg.GetAppliedIndex(), 10), Mono: true},
				{Label: rq.t("数据摘要", "Digest"), Value: digest, Mono: true, Code: "SHA-256"}}},
	}}, year, nil
}

// documentXLSX is a printable page as a workbook of one sheet: its title, then each
// section as the page shows it — its title, facts (label and value, with a name's code),
// note, table (the same cells as the table's own download) and seal box — leaving out
// what is not printed (links, buttons).
func documentXLSX(p *Page, sheet string) ([]byte, error) {
	parts := []sheetPart{{Line: p.Title, Bold: true}}
	for _, s := range p.Sections {
		if s.Class == "noprint" {
			continue
		}
		first := len(parts)
		if s.Title != "" {
			parts = append(parts, sheetPart{Line: s.Title, Bold: true})
		}
		if len(s.Facts) > 0 {
			facts := make([][2]string, len(s.Facts))
			for i, f := range s.Facts {
				facts[i] = [2]string{f.Label, f.Value}
				if f.Code != "" {
					facts[i][1] += "（" + f.Code + "）"
				}
			}
			parts = append(parts, sheetPart{Facts: facts})
		}
		if s.Note != "" {
			parts = append(parts, sheetPart{Line: s.Note})
		}
		if s.Table != nil {
			parts = append(parts, sheetPart{Table: s.Table})
		}
		if s.Stamp != "" {
			parts = append(parts, sheetPart{Line: s.Stamp})
		}
		if first < len(parts) {
			parts[first].Gap = true // an empty row between sections
		}
	}
	return sheetXLSX(sheet, parts)
}
