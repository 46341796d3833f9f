package settlement

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/ledger"
)

// SPEC/issue 4: the same Raft index always gives the same bytes, XLSX included. excelize
// writes its parts in map order, so this repeats the export many times in one process.
func TestXLSXExportsAreByteIdentical(t *testing.T) {
	b := &Budget{Year: 2026, State: ledger.SettlementPaid, Today: calendar.NewDate(2026, 11, 1), AuditedAt: time.Date(2026, 10, 2, 9, 0, 0, 0, calendar.Shanghai),
		Funded:     []BudgetLine{{Department: "a", Amount: dec("1.5")}, {Department: "b", Amount: dec("2.25")}},
		SelfFunded: []BudgetLine{{Department: "c", Amount: dec("3")}}}
	st := &Statement{Month: march, Department: "a", Lines: nil}
	for name, write := range map[string]func(*bytes.Buffer) error{
		"budget":    func(w *bytes.Buffer) error { return b.WriteXLSX(w) },
		"statement": func(w *bytes.Buffer) error { return st.WriteXLSX(w) },
	} {
		var first []byte
		for i := 0; i < 40; i++ {
			var buf bytes.Buffer
			if err := write(&buf); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				first = buf.Bytes()
			} else if !bytes.Equal(first, buf.Bytes()) {
				t.Fatalf("%s: export %d differs from the first", name, i)
			}
		}
	}
}

// DEPENDENCIES.md: excelize cuts a float to 15 significant digits, so only a decimal that
// survives that is written as a number; a longer one stays text, digit for digit.
func TestNumericCellsKeepEveryDigit(t *testing.T) {
	b := &Budget{Year: 2026, Funded: []BudgetLine{
		{Department: "a", Quantity: dec("2190"), BaseAmount: dec("1234567890123.45"), Amount: dec("0.10"), Estimate: dec("-7")},
		{Department: "b", Quantity: dec("12345678901234.5"), BaseAmount: dec("12345678901234.56"), Amount: dec("100000000000000000"), Estimate: dec("0.000001")},
	}}
	f := readBack(t, b.WriteXLSX)
	for _, c := range []struct {
		cell, raw string
		number    bool
	}{
		{"J3", "2190", true}, {"K3", "1234567890123.45", true}, {"L3", "0.1", true}, {"M3", "-7", true},
		{"J4", "12345678901234.5", true}, {"K4", "12345678901234.56", false}, {"L4", "100000000000000000", true}, {"M4", "0", true},
	} {
		raw, err := f.GetCellValue(SheetFunded, c.cell, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		typ, _ := f.GetCellType(SheetFunded, c.cell)
		isNumber := typ == excelize.CellTypeNumber || typ == excelize.CellTypeUnset
		if !decimal.RequireFromString(raw).Equal(dec(c.raw)) || isNumber != c.number {
			t.Errorf("%s: %q (number %v), want %s (number %v)", c.cell, raw, isNumber, c.raw, c.number)
		}
	}
}

// A statement's quantities are numbers in the general format, its amounts numbers in the
// money format (#,##0.00).
func TestStatementXLSXCellTypes(t *testing.T) {
	st := &Statement{Month: march, Department: "health", Resources: []StatementResource{
		{Resource: "vm-1", Department: "health", Project: "his", Provider: "hw", Item: "ecs.vcpu", Kind: ledger.KindStandard,
			Quantity: dec("124"), BaseAmount: dec("1234.5"), Amount: dec("1209.81")}}}
	f := readBack(t, st.WriteXLSX)
	const sheet = "使用情况 2026年3月"
	for _, c := range []struct {
		cell, raw string
		numFmt    int
	}{{"I4", "124", 0}, {"J4", "1234.5", 4}, {"K4", "1209.81", 4}} {
		raw, _ := f.GetCellValue(sheet, c.cell, excelize.Options{RawCellValue: true})
		typ, _ := f.GetCellType(sheet, c.cell)
		id, _ := f.GetCellStyle(sheet, c.cell)
		style, err := f.GetStyle(id)
		if err != nil {
			t.Fatal(err)
		}
		if raw != c.raw || (typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset) || style.NumFmt != c.numFmt {
			t.Errorf("%s: %q type %v format %d, want %s, a number, format %d", c.cell, raw, typ, style.NumFmt, c.raw, c.numFmt)
		}
	}
}

// readBack writes a workbook and opens what was written.
func readBack(t *testing.T, write func(io.Writer) error) *excelize.File {
	t.Helper()
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// Issue 22: a department name that a spreadsheet would run as a formula arrives quoted in
// the budget CSV; a negative amount stays a number (both failed before: the budget CSV
// wrote names as they were).
func TestBudgetCSVDefusesFormulas(t *testing.T) {
	b := &Budget{Funded: []BudgetLine{{Department: "d9", DepartmentName: `=cmd|' /C calc'!A0`, Project: "p", ProjectName: "@SUM(1+1)", Provider: "v",
		Item: "i", BaseAmount: decimal.RequireFromString("-12.5"), Amount: decimal.RequireFromString("-12.5")}}}
	var out bytes.Buffer
	if err := b.WriteCSV(&out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{",'=cmd|' /C calc'!A0,", ",'@SUM(1+1),", ",-12.50,"} {
		if !strings.Contains(s, want) {
			t.Errorf("the budget CSV lacks %s:\n%s", want, s)
		}
	}
}
