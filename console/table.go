package console

import (
	"bytes"
	"fmt"
	"github.com/cloudledger/cloudledger/csvfile"

	"github.com/xuri/excelize/v2"

	"github.com/cloudledger/cloudledger/money"
)

// Table is a table of a page, downloadable as CSV and XLSX with the same columns.
type Table struct {
	ID         string // the download's name and its ?table= key
	Columns    []Column
	Rows       []Row
	Foot       *Row // totals, kept in the downloads
	Empty      string
	NoDownload bool
}

// ColumnKind says how a column's values are shown: money right-aligned with thousands
// separators and two decimals, numbers right-aligned, dates in the reader's language.
type ColumnKind uint8

const (
	Text ColumnKind = iota
	Money
	Number
	Date
	Mono // ids and keys, shown as code
	Hash // a hash: its first characters shown, the whole in the title (and the downloads)
)

// Column is a header and its kind.
type Column struct {
	Label string
	Kind  ColumnKind
}

// Row is a row of cells; Class colours it (over, approved, violation …).
type Row struct {
	Cells []Cell
	Class string
}

// Cell holds the raw value (a decimal string for money and numbers, YYYY-MM-DD for dates):
// the page formats it, the downloads keep it exact.
type Cell struct {
	Text string
	// Code is the code of a named thing (a department's name in Text, its code here),
	// shown small beside the name in an element marked as code, kept in the downloads.
	Code  string
	Href  string
	Class string
	Form  *Form   // a button in the cell (revoke …): not in the downloads
	Forms []*Form // several buttons in one cell (disable, reset …)
}

// C is a cell of text.
func C(s string) Cell { return Cell{Text: s} }

// Link is a cell linking to href.
func Link(s, href string) Cell { return Cell{Text: s, Href: href} }

func (t *Table) add(class string, cells ...Cell) {
	t.Rows = append(t.Rows, Row{Cells: cells, Class: class})
}

// records are the table as strings: the header, the rows, the totals.
func (t *Table) records() [][]string {
	var out [][]string
	h := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		h[i] = c.Label
	}
	out = append(out, h)
	row := func(r Row) []string {
		rec := make([]string, len(t.Columns))
		for i := range t.Columns {
			if i < len(r.Cells) {
				rec[i] = r.Cells[i].Text
				if c := r.Cells[i].Code; c != "" && c != rec[i] {
					rec[i] += "（" + c + "）"
				}
			}
		}
		return rec
	}
	for _, r := range t.Rows {
		out = append(out, row(r))
	}
	if t.Foot != nil {
		out = append(out, row(*t.Foot))
	}
	return out
}

// CSV is the table as UTF-8 CSV with a byte-order mark, which Excel needs to read UTF-8.
// A value a spreadsheet would run as a formula is quoted with an apostrophe.
func (t *Table) CSV() []byte {
	var b bytes.Buffer
	w, _ := csvfile.New(&b, true) // a buffer does not fail
	_ = w.WriteAll(t.records())
	return b.Bytes()
}

// XLSX is the table as a workbook: money and numbers as numbers (money formatted
// #,##0.00), the header bold, the columns wide enough.
func (t *Table) XLSX(sheet string) ([]byte, error) {
	return sheetXLSX(sheet, []sheetPart{{Table: t}})
}

// sheetPart is a block of a one-sheet workbook, one under another: a line of text (a
// title, a caption, a seal box), label and value rows (the facts of a document), or a
// table; Gap leaves an empty row before it.
type sheetPart struct {
	Line  string
	Bold  bool
	Facts [][2]string
	Table *Table
	Gap   bool
}

// sheetXLSX writes the parts on one sheet. Tables are written as Table.XLSX always wrote
// them: money and numbers as numbers (money formatted #,##0.00, and only where Excel keeps
// the decimal exact), the header bold.
func sheetXLSX(sheet string, parts []sheetPart) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	if sheet == "" {
		sheet = "Sheet1"
	}
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return nil, err
	}
	bold, _ := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	moneyFmt := "#,##0.00"
	moneyStyle, _ := f.NewStyle(&excelize.Style{CustomNumFmt: &moneyFmt})
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return nil, err
	}
	width := 1
	for _, p := range parts {
		if p.Table != nil {
			width = max(width, len(p.Table.Columns))
		}
		if len(p.Facts) > 0 {
			width = max(width, 2)
		}
	}
	for i := range width {
		_ = sw.SetColWidth(i+1, i+1, 16)
	}
	row := 0
	put := func(cells []any) error {
		row++
		cell, _ := excelize.CoordinatesToCellName(1, row)
		return sw.SetRow(cell, cells)
	}
	for _, p := range parts {
		if p.Gap {
			row++
		}
		var err error
		switch {
		case p.Line != "":
			v := any(p.Line)
			if p.Bold {
				v = excelize.Cell{StyleID: bold, Value: p.Line}
			}
			err = put([]any{v})
		case len(p.Facts) > 0:
			for _, fa := range p.Facts {
				if err = put([]any{fa[0], fa[1]}); err != nil {
					break
				}
			}
		case p.Table != nil:
			err = p.Table.streamRows(put, bold, moneyStyle)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := sw.Flush(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := f.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("xlsx: %w", err)
	}
	return b.Bytes(), nil
}

// streamRows writes the table's records (header, rows, totals) through put.
func (t *Table) streamRows(put func([]any) error, bold, moneyStyle int) error {
	for r, rec := range t.records() {
		cells := make([]any, len(rec))
		for i, v := range rec {
			cells[i] = v
			switch {
			case r == 0:
				cells[i] = excelize.Cell{StyleID: bold, Value: v}
			case (t.Columns[i].Kind == Money || t.Columns[i].Kind == Number) && v != "":
				if fv, ok := money.ExcelNumber(v); ok { // only when Excel keeps it exact
					st := 0
					if t.Columns[i].Kind == Money {
						st = moneyStyle
					}
					cells[i] = excelize.Cell{StyleID: st, Value: fv}
				}
			}
		}
		if err := put(cells); err != nil {
			return err
		}
	}
	return nil
}
