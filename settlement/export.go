package settlement

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/cloudledger/cloudledger/csvfile"
	"github.com/cloudledger/cloudledger/money"
	"io"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/ledger"
)

// budgetColumns are the budget sheets' columns: Chinese first, English beneath.
var budgetColumns = [][2]string{
	{"部门", "Department"}, {"部门名称", "Department name"}, {"项目", "Project"}, {"项目名称", "Project name"},
	{"服务商", "Provider"}, {"服务商名称", "Provider name"}, {"服务项", "Item"}, {"服务项名称", "Item name"},
	{"单位", "Unit"}, {"用量", "Quantity"}, {"基础金额(元)", "Base amount (yuan)"}, {"审定费用(元)", "Audited fee (yuan)"},
	{"下年预估(元)", "Next-year estimate (yuan)"},
}

// Budget sheet columns: the first numeric one (quantity), the first money one (base amount).
const (
	budgetQuantityColumn = 9
	budgetMoneyColumn    = 10
)

func (l BudgetLine) cells() []string {
	return []string{l.Department, l.DepartmentName, l.Project, l.ProjectName, l.Provider, l.ProviderName, l.Item, l.ItemName,
		l.Unit, l.Quantity.String(), money.Text(l.BaseAmount), money.Text(l.Amount), money.Text(l.Estimate)}
}

// WriteJSON writes the export as one JSON object.
func (b *Budget) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(b)
}

// WriteCSV writes both sheets as one CSV (UTF-8 with a BOM, so Excel keeps the Chinese):
// a funding column (budget | self), bilingual headers, exact decimal amounts, no total rows
// (a column sum is the total).
func (b *Budget) WriteCSV(w io.Writer) error {
	cw, err := csvfile.New(w, true)
	if err != nil {
		return err
	}
	header := []string{"经费来源 / Funding"}
	for _, c := range budgetColumns {
		header = append(header, c[0]+" / "+c[1])
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, sheet := range []struct {
		funding string
		lines   []BudgetLine
	}{{"budget", b.Funded}, {"self", b.SelfFunded}} {
		for _, l := range sheet.lines {
			if err := cw.Write(append([]string{sheet.funding}, l.cells()...)); err != nil {
				return err
			}
		}
	}
	return cw.Flush()
}

// Sheet names of the XLSX export, in their order.
const (
	SheetCover       = "封面 Cover"
	SheetDepartments = "部门汇总 By department"
	SheetFunded      = "预算单位 Budget-funded"
	SheetSelf        = "自筹单位 Self-funded"
)

// departmentColumns are the columns of the per-department summary sheet.
var departmentColumns = [][2]string{
	{"部门", "Department"}, {"部门名称", "Department name"}, {"经费来源", "Funding"},
	{"基础金额(元)", "Base amount (yuan)"}, {"审定费用(元)", "Audited fee (yuan)"}, {"下年预估(元)", "Next-year estimate (yuan)"},
}

func (d DepartmentTotal) cells() []string {
	funding := "预算 budget"
	if d.Funding == ledger.FundingSelf {
		funding = "自筹 self"
	}
	return []string{d.Department, d.DepartmentName, funding, money.Text(d.BaseAmount), money.Text(d.Amount), money.Text(d.Estimate)}
}

// fixedTime is the document time of every export: the bytes must depend on the ledger only.
var fixedTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// WriteXLSX writes the workbook: a cover sheet, the budget-funded departments and the
// self-funded ones apart. Amounts are numeric cells written from their exact decimal text
// (never through float64), so Excel sums them exactly to the cent.
func (b *Budget) WriteXLSX(w io.Writer) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetDocProps(&excelize.DocProperties{Title: fmt.Sprintf("政务云费用结算 %d / Cloud settlement %d", b.Year, b.Year),
		Creator: "CloudLedger", Created: fixedTime.Format(time.RFC3339), Modified: fixedTime.Format(time.RFC3339), Language: "zh-CN"}); err != nil {
		return err
	}
	if err := f.SetSheetName("Sheet1", SheetCover); err != nil {
		return err
	}
	moneyStyle, err := f.NewStyle(&excelize.Style{NumFmt: 4}) // #,##0.00
	if err != nil {
		return err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	cover := [][2]string{
		{"结算年度 / Settlement year", itoa(b.Year)},
		{"结算期间 / Window", b.WindowFrom.String() + " – " + b.WindowTo.String()},
		{"状态 / State", string(b.State)},
		{"导出时 Raft 索引 / Raft index", fmt.Sprint(b.RaftIndex)},
		{"链头哈希 / Head hash", b.HeadHash},
		{"审定时 Raft 索引 / Audit Raft index", fmt.Sprint(b.AuditIndex)},
		{"审定时链头哈希 / Audit head hash", b.AuditHead},
		{"审定人 / Audited by", b.AuditedBy},
		{"审定时间 / Audited at", stamp(b.AuditedAt)},
		{"报送人 / Submitted by", b.SubmittedBy},
		{"报送时间 / Submitted at", stamp(b.SubmittedAt)},
		{"报送截止 / Deadline", b.Deadline.String()},
		{"截至 / As of", b.Today.String()},
		{"期限状态 / Deadline status", b.DeadlineText(true) + " / " + b.DeadlineText(false)},
		{"预算单位审定费用合计 / Budget-funded audited total", money.Text(b.FundedTotal.Amount)},
		{"预算单位下年预估合计 / Budget-funded next-year estimate", money.Text(b.FundedTotal.Estimate)},
		{"自筹单位审定费用合计 / Self-funded audited total", money.Text(b.SelfTotal.Amount)},
	}
	const coverTotals = 3 // the last rows
	for i, row := range cover {
		numeric := -1
		if i >= len(cover)-coverTotals {
			numeric = 1 // the totals are numbers
		}
		if err := setRow(f, SheetCover, i+1, []string{row[0], row[1]}, numeric); err != nil {
			return err
		}
	}
	if err := f.SetColWidth(SheetCover, "A", "A", 48); err != nil {
		return err
	}
	if err := f.SetColWidth(SheetCover, "B", "B", 70); err != nil {
		return err
	}
	depCols := len(departmentColumns)
	var deps [][]string
	for _, d := range b.Departments {
		deps = append(deps, d.cells())
	}
	if err := streamSheet(f, SheetDepartments, departmentColumns, deps, depCols-3, depCols-3, bold, moneyStyle,
		[]string{"预算单位合计 Budget-funded total", "", "", money.Text(b.FundedTotal.BaseAmount), money.Text(b.FundedTotal.Amount), money.Text(b.FundedTotal.Estimate)},
		[]string{"自筹单位合计 Self-funded total", "", "", money.Text(b.SelfTotal.BaseAmount), money.Text(b.SelfTotal.Amount), money.Text(b.SelfTotal.Estimate)}); err != nil {
		return err
	}
	for _, sheet := range []struct {
		name  string
		lines []BudgetLine
		total BudgetTotals
	}{{SheetFunded, b.Funded, b.FundedTotal}, {SheetSelf, b.SelfFunded, b.SelfTotal}} {
		rows := make([][]string, len(sheet.lines))
		for i, l := range sheet.lines {
			rows[i] = l.cells()
		}
		total := make([]string, len(budgetColumns))
		total[0] = "合计 Total"
		total[budgetMoneyColumn], total[budgetMoneyColumn+1], total[budgetMoneyColumn+2] = money.Text(sheet.total.BaseAmount), money.Text(sheet.total.Amount), money.Text(sheet.total.Estimate)
		if err := streamSheet(f, sheet.name, budgetColumns, rows, budgetQuantityColumn, budgetMoneyColumn, bold, moneyStyle, total); err != nil {
			return err
		}
	}
	return writeWorkbook(f, w)
}

// streamSheet adds a sheet through a stream writer (a large year's sheets have hundreds of
// thousands of cells): the headers in Chinese with English beneath, the rows (numbers from
// column numericFrom, money from moneyFrom), then the total rows, whose numbers start at
// moneyFrom.
func streamSheet(f *excelize.File, name string, columns [][2]string, rows [][]string, numericFrom, moneyFrom, bold, money int, totals ...[]string) error {
	if _, err := f.NewSheet(name); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		return err
	}
	if err := sw.SetColWidth(1, len(columns), 16); err != nil {
		return err
	}
	zh, en := make([]any, len(columns)), make([]any, len(columns))
	for i, c := range columns {
		zh[i], en[i] = excelize.Cell{StyleID: bold, Value: c[0]}, excelize.Cell{StyleID: bold, Value: c[1]}
	}
	if err := sw.SetRow("A1", zh); err != nil {
		return err
	}
	if err := sw.SetRow("A2", en); err != nil {
		return err
	}
	for i, r := range rows {
		if err := sw.SetRow(cellName(0, i+3), rowCells(r, numericFrom, moneyFrom, money)); err != nil {
			return err
		}
	}
	for i, t := range totals {
		if err := sw.SetRow(cellName(0, len(rows)+3+i), rowCells(t, moneyFrom, moneyFrom, money)); err != nil {
			return err
		}
	}
	return sw.Flush()
}

// setRow writes a row; cells from column numericFrom on (if ≥ 0) are numbers written from
// their exact decimal text.
func setRow(f *excelize.File, sheet string, row int, cells []string, numericFrom int) error {
	for i, v := range cells {
		ref := cellName(i, row)
		var err error
		if numericFrom >= 0 && i >= numericFrom && v != "" {
			err = f.SetCellDefault(sheet, ref, v)
		} else {
			err = f.SetCellStr(sheet, ref, v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// rowCells are a stream row: text cells, and from column numericFrom on numbers, those from
// column moneyFrom on in the money style (the others, quantities, in the general format). A
// number is written as a float64 only when excelize will print it back as exactly the same
// decimal: at most 15 significant digits (excelize cuts a float to Excel's 15, and any
// decimal of 15 digits survives float64). A longer one stays text, so no digit is ever lost.
func rowCells(cells []string, numericFrom, moneyFrom, moneyStyle int) []any {
	out := make([]any, len(cells))
	for i, v := range cells {
		out[i] = v
		if numericFrom < 0 || i < numericFrom || v == "" {
			continue
		}
		if f, ok := money.ExcelNumber(v); ok {
			style := 0
			if i >= moneyFrom {
				style = moneyStyle
			}
			out[i] = excelize.Cell{StyleID: style, Value: f}
		}
	}
	return out
}

func cellName(col, row int) string {
	name, _ := excelize.CoordinatesToCellName(col+1, row)
	return name
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(calendar.Shanghai).Format(time.RFC3339)
}

// writeWorkbook writes f with its parts in a fixed order: excelize writes worksheets in map
// order, so the same workbook could otherwise come out as different bytes. The parts are
// collected uncompressed and compressed once, [Content_Types] first, the rest by name.
func writeWorkbook(f *excelize.File, w io.Writer) error {
	parts := &orderedZip{}
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return parts })
	if err := f.Write(io.Discard); err != nil { // the zip goes to w at parts.writeTo
		return err
	}
	return parts.writeTo(w)
}

// orderedZip is an excelize.ZipWriter that keeps the parts until writeTo.
type orderedZip struct {
	parts []*zipPart
}

type zipPart struct {
	name string
	data bytes.Buffer
}

func (z *orderedZip) Create(name string) (io.Writer, error) {
	p := &zipPart{name: name}
	z.parts = append(z.parts, p)
	return &p.data, nil
}

func (z *orderedZip) AddFS(fs.FS) error { return errors.New("settlement: AddFS is not used") }

func (z *orderedZip) Close() error { return nil }

func (z *orderedZip) writeTo(w io.Writer) error {
	slices.SortFunc(z.parts, func(a, b *zipPart) int {
		const first = "[Content_Types].xml"
		switch {
		case a.name == first:
			return -1
		case b.name == first:
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	zw := zip.NewWriter(w)
	// Fast compression: a large year's sheets compress in a third of the default's time,
	// for a file about a fifth larger.
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) { return flate.NewWriter(out, flate.BestSpeed) })
	for _, p := range z.parts {
		// No modification time: the bytes depend on the content only.
		out, err := zw.CreateHeader(&zip.FileHeader{Name: p.name, Method: zip.Deflate})
		if err != nil {
			return err
		}
		if _, err := out.Write(p.data.Bytes()); err != nil {
			return err
		}
	}
	return zw.Close()
}
