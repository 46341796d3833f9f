package interchange

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/cloudledger/cloudledger/calendar"
)

// FormatXLSX is an Excel workbook: the first sheet, a header row, one row per record, as
// officials keep these files. It is read into the CSV form and decoded as CSV.
const FormatXLSX Format = "xlsx"

// MaxXLSXBytes bounds a workbook read whole into memory.
const MaxXLSXBytes = 64 << 20

// dateColumns hold dates; timeColumns times: a cell Excel stores as a date serial number is
// written as the day (YYYY-MM-DD), or the instant in Asia/Shanghai (RFC 3339, +08:00).
var (
	dateColumns = map[string]bool{"contract_start": true, "contract_end": true, "effective_from": true, "from": true, "to": true}
	timeColumns = map[string]bool{"time": true, "expires": true}
)

// xlsxToCSV turns the first sheet of a workbook into CSV text: cells by their stored value
// (numbers as typed, not as the cell's display format: no thousands separators), date
// serials of the date and time columns as dates and times. A month column typed as a date
// (invoices) becomes YYYY-MM.
func xlsxToCSV(r io.Reader) (*bytes.Buffer, error) {
	raw, err := io.ReadAll(io.LimitReader(r, MaxXLSXBytes+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > MaxXLSXBytes {
		return nil, fmt.Errorf("a workbook larger than %d bytes: save it as CSV UTF-8", MaxXLSXBytes)
	}
	f, err := excelize.OpenReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("not an XLSX workbook: %v", err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, fmt.Errorf("the workbook has no sheet")
	}
	rows, err := f.GetRows(sheets[0], excelize.Options{RawCellValue: true})
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	w := csv.NewWriter(&out)
	var header []string
	for i, row := range rows {
		if i == 0 {
			header = make([]string, len(row))
			for j, h := range row {
				header[j] = strings.ToLower(strings.TrimSpace(h))
			}
		} else {
			for j := range row {
				if j < len(header) {
					row[j] = cellText(header[j], row[j])
				}
			}
			for len(row) < len(header) { // trailing empty cells are not stored
				row = append(row, "")
			}
		}
		if err := w.Write(row); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return &out, w.Error()
}

// cellText is a cell's text for its column.
func cellText(column, v string) string {
	v = strings.TrimSpace(v)
	serial, err := strconv.ParseFloat(v, 64)
	if err != nil || !(dateColumns[column] || timeColumns[column] || column == "month") || serial < 1 {
		return v
	}
	t, err := excelize.ExcelDateToTime(serial, false)
	if err != nil {
		return v
	}
	// Excel has no time zone: what an official typed is Asia/Shanghai wall-clock time.
	local := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, calendar.Shanghai)
	switch {
	case column == "month":
		return local.Format("2006-01")
	case dateColumns[column] || (column == "expires" && serial == math.Trunc(serial)):
		return local.Format("2006-01-02")
	}
	return local.Format(time.RFC3339)
}
