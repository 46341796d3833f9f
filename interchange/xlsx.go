package interchange

import (
	"archive/zip"
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

// Limits of a workbook (issue 22: a 632 KB workbook inflating to gigabytes took a node to
// 2 GiB). A workbook is read whole into memory (MaxXLSXBytes); its zip parts may inflate to
// MaxXLSXInflatedBytes together (the parts' declared sizes, which archive/zip holds each
// part to), a worksheet or the shared strings above MaxXLSXPartBytes go through a temporary
// file rather than memory, and it has at most MaxXLSXParts parts.
const (
	MaxXLSXBytes         = 64 << 20
	MaxXLSXInflatedBytes = 256 << 20
	MaxXLSXPartBytes     = 16 << 20
	MaxXLSXParts         = 1_000
)

// dateColumns hold dates; timeColumns times: a cell Excel stores as a date serial number is
// written as the day (YYYY-MM-DD), or the instant in Asia/Shanghai (RFC 3339, +08:00).
var (
	dateColumns = map[string]bool{"contract_start": true, "contract_end": true, "effective_from": true, "from": true, "to": true}
	timeColumns = map[string]bool{"time": true, "expires": true}
)

// checkXLSXParts refuses a workbook of too many parts, or whose parts declare more than
// MaxXLSXInflatedBytes together, before anything is inflated.
func checkXLSXParts(raw []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		return fmt.Errorf("not an XLSX workbook: %v", err)
	}
	if len(zr.File) > MaxXLSXParts {
		return fmt.Errorf("a workbook of %d parts (at most %d): save it as CSV UTF-8", len(zr.File), MaxXLSXParts)
	}
	var total uint64
	for _, f := range zr.File {
		total += f.UncompressedSize64
		if total > MaxXLSXInflatedBytes {
			return fmt.Errorf("a workbook inflating to more than %d MiB: save it as CSV UTF-8", MaxXLSXInflatedBytes>>20)
		}
	}
	return nil
}

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
	if err := checkXLSXParts(raw); err != nil {
		return nil, err
	}
	f, err := excelize.OpenReader(bytes.NewReader(raw), excelize.Options{UnzipSizeLimit: MaxXLSXInflatedBytes, UnzipXMLSizeLimit: MaxXLSXPartBytes})
	if err != nil {
		return nil, fmt.Errorf("not an XLSX workbook, or one larger than %d MiB inflated: %v", MaxXLSXInflatedBytes>>20, err)
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
