package console

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/cloudledger/cloudledger/money"
	"io"
	"net/url"
	"path/filepath"
	"strings"

	"connectrpc.com/connect"
	"github.com/shopspring/decimal"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/interchange"
)

// The provider's pages (云服务商): its charges by month and department, its statements,
// the invoice check and its history.

func (c *Console) providerHome(rq *pageRequest) (*Page, error) {
	prov := rq.r.PathValue("prov")
	from, to := monthRange(rq)
	res, err := c.ledger.Charges(rq.ctx(), connect.NewRequest(&v1.ChargesRequest{From: from, To: to, Provider: prov}))
	if err != nil {
		return nil, err
	}
	bars, months := byMonth(rq, "charges-by-month-"+prov, res.Msg.GetLines())
	md := monthByDepartment(rq, "charges-by-department-"+prov, res.Msg.GetLines())
	return &Page{Title: rq.provName(prov) + " · " + rq.t("费用", "Charges"), Sections: []*Section{
		{Title: rangeTitle(rq, from, to), Form: rangeForm(rq, from, to), Facts: chargeFacts(rq, res.Msg)},
		{Title: rq.t("按月费用", "Charges by month"), Chart: columnChart(rq.t("按月费用（元）", "Charges by month (CNY)"), bars), Table: months},
		{Title: rq.t("按月、按使用单位", "By month and department"), Table: md},
	}}, nil
}

// monthByDepartment is a pivot of the amounts: a row per month, a column per department.
func monthByDepartment(rq *pageRequest, id string, lines []*v1.ChargeLine) *Table {
	sums := map[string]map[string]decimal.Decimal{}
	depts := map[string]bool{}
	for _, l := range lines {
		a := rq.figure("amount", l.GetAmount())
		if sums[l.GetMonth()] == nil {
			sums[l.GetMonth()] = map[string]decimal.Decimal{}
		}
		sums[l.GetMonth()][l.GetDepartment()] = sums[l.GetMonth()][l.GetDepartment()].Add(a)
		depts[l.GetDepartment()] = true
	}
	cols := sortedKeys(depts)
	t := &Table{ID: id, Columns: []Column{{rq.t("月份", "Month"), Date}}}
	for _, d := range cols {
		t.Columns = append(t.Columns, Column{rq.deptName(d), Money})
	}
	t.Columns = append(t.Columns, Column{rq.t("合计", "Total"), Money})
	colTotals := make([]decimal.Decimal, len(cols)+1)
	for _, m := range sortedKeys(sums) {
		cells := []Cell{C(m)}
		row := decimal.Zero
		for i, d := range cols {
			v := sums[m][d]
			cells = append(cells, C(money.Text(v)))
			row = row.Add(v)
			colTotals[i] = colTotals[i].Add(v)
		}
		colTotals[len(cols)] = colTotals[len(cols)].Add(row)
		t.add("", append(cells, C(money.Text(row)))...)
	}
	foot := []Cell{C(rq.t("合计", "Total"))}
	for _, v := range colTotals {
		foot = append(foot, C(money.Text(v)))
	}
	t.Foot = &Row{Cells: foot}
	return t
}

func (c *Console) providerStatement(rq *pageRequest) (*Page, error) {
	return c.statement(rq, "", rq.r.PathValue("prov"))
}

// providerInvoice: the upload form, and on POST the reconciliation report with its four
// outcomes. The file is read by the interchange decoder (CSV, XLSX or JSON lines).
func (c *Console) providerInvoice(rq *pageRequest) (*Page, error) {
	prov := rq.r.PathValue("prov")
	months := recentMonths()
	month := rq.r.FormValue("month")
	if month == "" {
		month = months[1]
	}
	opts := make([]Option, len(months))
	for i, m := range months {
		opts[i] = Option{m, formatDate(rq.lang, m)}
	}
	form := &Form{Action: rq.r.URL.Path, Multipart: true, Submit: rq.t("上传并核对", "Upload and check"), Fields: []Field{
		{Name: "month", Label: rq.t("账期月份", "Month"), Type: "select", Value: month, Options: opts},
		{Name: "tolerance", Label: rq.t("容差（元）", "Tolerance (CNY)"), Value: orDefault(rq.r.FormValue("tolerance"), "0.00")},
		{Name: "invoice", Label: rq.t("发票文件（CSV 或 XLSX）", "Invoice file (CSV or XLSX)"), Type: "file", Required: true}}}
	page := &Page{Title: rq.provName(prov) + " · " + rq.t("账单核对", "Invoice check"), Sections: []*Section{{Form: form,
		Facts: []Fact{{Label: rq.t("文件首行列名", "Columns (first row)"), Code: "department,project,item,amount,month"}},
		Note:  rq.t("列依次为使用单位、项目、目录项的编号，金额（元）与账期月份。CSV 文件须为 UTF-8 编码（Excel 另存为“CSV UTF-8”），或直接上传 XLSX。", "The codes of the department, project and item, the amount (CNY) and the month. A CSV is UTF-8 (or upload the XLSX).")}}}
	if rq.r.Method != "POST" {
		return page, nil
	}
	file, hdr, err := rq.r.FormFile("invoice")
	if err != nil {
		page.Error = rq.t("请选择发票文件", "Choose an invoice file")
		page.Status = 400
		return page, nil
	}
	defer file.Close()
	body, err := io.ReadAll(io.LimitReader(file, c.cfg.MaxUploadBytes+1))
	if err != nil || int64(len(body)) > c.cfg.MaxUploadBytes {
		page.Error, page.Status = rq.t("文件过大", "The file is too large"), 413
		return page, nil
	}
	name := filepath.Base(hdr.Filename)
	format, ferr := interchange.FormatFor(name)
	if ferr != nil {
		page.Error, page.ErrorDetail, page.Status = rq.t("只接受 CSV、XLSX 或 JSON 行格式的发票文件", "The invoice is a CSV, XLSX or JSON lines file"), name+": "+ferr.Error(), 400
		return page, nil
	}
	lines, rowErrs := interchange.ReadInvoice(name, bytes.NewReader(body), format)
	if len(rowErrs) > 0 {
		t := &Table{ID: "invoice-errors", NoDownload: true, Columns: []Column{{rq.t("行", "Line"), Number}, {rq.t("字段", "Field"), Mono},
			{rq.t("错误码", "Code"), Mono}, {rq.t("说明", "Message"), Text}}}
		for _, e := range rowErrs {
			t.add("violation", C(fmt.Sprint(e.Line)), C(e.Field), C(string(e.Code)), errMessage(e))
		}
		page.Error, page.ErrorDetail, page.Status = fmt.Sprintf(rq.t("发票文件有 %d 行无法读取，未核对", "The invoice has %d bad rows; nothing was checked"), len(rowErrs)), name, 400
		page.Sections = append(page.Sections, &Section{Title: rq.t("无法读取的行", "Bad rows"), Table: t})
		return page, nil
	}
	sum := sha256.Sum256(body)
	res, err := c.ledger.InvoiceReconcile(rq.ctx(), connect.NewRequest(&v1.InvoiceReconcileRequest{Provider: prov, Month: month,
		Lines: lines, InvoiceSha256: hex.EncodeToString(sum[:]), Tolerance: rq.r.FormValue("tolerance")}))
	if err != nil {
		return nil, err
	}
	page.Sections = append(page.Sections, reconciliationSections(rq, res.Msg.GetReport(), name)...)
	return page, nil
}

func reconciliationSections(rq *pageRequest, r *v1.ReconciliationReport, file string) []*Section {
	class := map[string]string{"matched": "approved", "mismatch": "violation", "missing": "over", "unexpected": "over"}
	t := &Table{ID: "reconciliation-" + r.GetProvider() + "-" + r.GetMonth(), Columns: []Column{{rq.t("结果", "Outcome"), Text},
		{rq.t("使用单位", "Department"), Text}, {rq.t("项目", "Project"), Text}, {rq.t("目录项", "Item"), Text},
		{rq.t("发票金额", "Invoiced"), Money}, {rq.t("台账金额", "Rated"), Money}, {rq.t("差额", "Difference"), Money},
		{rq.t("发票行", "Invoice line"), Number}, {rq.t("说明", "Note"), Text}}}
	for _, l := range r.GetLines() {
		line := ""
		if l.GetInvoiceLine() > 0 {
			line = fmt.Sprint(l.GetInvoiceLine())
		}
		t.add(class[l.GetOutcome()], Cell{Text: rq.word("outcome", l.GetOutcome()), Class: "status"}, rq.deptCell(l.GetDepartment()), rq.projectCell(l.GetProject()), rq.itemCell(l.GetItem()),
			C(l.GetInvoiced()), C(l.GetRated()), C(l.GetDifference()), C(line), reconNote(rq, l.GetNote()))
	}
	return []*Section{
		{Title: rq.t("账单核对结果", "Reconciliation"), ID: "reconciliation", Facts: []Fact{
			{Label: rq.t("发票文件", "Invoice file"), Value: file, Mono: true},
			{Label: rq.word("outcome", "matched"), Value: fmt.Sprint(r.GetMatched())},
			{Label: rq.word("outcome", "mismatch"), Value: fmt.Sprint(r.GetMismatched()), Class: warnIf(r.GetMismatched() > 0)},
			{Label: rq.word("outcome", "missing"), Value: fmt.Sprint(r.GetMissing()), Class: warnIf(r.GetMissing() > 0)},
			{Label: rq.word("outcome", "unexpected"), Value: fmt.Sprint(r.GetUnexpected()), Class: warnIf(r.GetUnexpected() > 0)},
			{Label: rq.t("发票合计（元）", "Invoice total (CNY)"), Value: formatMoney(rq.lang, r.GetInvoiceTotal())},
			{Label: rq.t("台账合计（元）", "Rated total (CNY)"), Value: formatMoney(rq.lang, r.GetRatedTotal())},
			{Label: rq.t("差额（元）", "Difference (CNY)"), Value: formatMoney(rq.lang, r.GetDifference())}}},
		{Table: t},
	}
}

// reconNote is the reconciliation's note on an unexpected line (settlement/invoice.go
// writes it in English for the record) in the reader's words; a note it does not know
// shows as it is, marked as code.
func reconNote(rq *pageRequest, note string) Cell {
	if dept, ok := strings.CutPrefix(note, "the project belongs to department "); ok {
		return Cell{Text: rq.t("该项目属于", "The project belongs to ") + rq.deptName(dept), Code: dept}
	}
	if w, ok := vocab["recon_note"][note]; ok {
		return C(rq.t(w[0], w[1]))
	}
	if note == "" {
		return C("")
	}
	return Cell{Text: note, Code: note}
}

func warnIf(b bool) string {
	if b {
		return "warn"
	}
	return ""
}

func (c *Console) providerInvoices(rq *pageRequest) (*Page, error) {
	prov := rq.r.PathValue("prov")
	res, err := c.ledger.InvoiceHistory(rq.ctx(), connect.NewRequest(&v1.InvoiceHistoryRequest{Provider: prov}))
	if err != nil {
		return nil, err
	}
	t := &Table{ID: "invoice-history-" + prov, Columns: []Column{{rq.t("月份", "Month"), Date}, {rq.t("一致", "Matched"), Number},
		{rq.t("金额不符", "Mismatch"), Number}, {rq.t("发票缺项", "Missing"), Number}, {rq.t("多开项", "Unexpected"), Number},
		{rq.t("发票合计", "Invoice total"), Money}, {rq.t("台账合计", "Rated total"), Money}, {rq.t("容差", "Tolerance"), Money},
		{rq.t("提交人", "By"), Mono}, {rq.t("时间", "At"), Date}, {rq.t("发票文件摘要", "Invoice SHA-256"), Hash}}}
	for _, h := range res.Msg.GetReconciliations() {
		class := "approved"
		if h.GetMismatched()+h.GetMissing()+h.GetUnexpected() > 0 {
			class = "over"
		}
		t.add(class, C(h.GetMonth()), C(fmt.Sprint(h.GetMatched())), C(fmt.Sprint(h.GetMismatched())), C(fmt.Sprint(h.GetMissing())),
			C(fmt.Sprint(h.GetUnexpected())), C(h.GetInvoiceTotal()), C(h.GetRatedTotal()), C(h.GetTolerance()), C(h.GetActor()),
			C(h.GetRecordedAt()), C(h.GetInvoiceSha256()))
	}
	return &Page{Title: rq.provName(prov) + " · " + rq.t("核对记录", "Reconciliation history"), Sections: []*Section{
		{Note: rq.t("每次核对都记入台账（最早的在前）。", "Every check is recorded on the ledger (oldest first)."), Table: t},
		{Facts: []Fact{{Label: rq.t("再次核对", "Check another"), Value: rq.t("上传发票", "Upload an invoice"), Href: "/p/" + url.PathEscape(prov) + "/invoice"}}},
	}}, nil
}
