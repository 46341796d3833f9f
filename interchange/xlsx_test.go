package interchange

import (
	"bytes"
	"testing"

	"github.com/xuri/excelize/v2"
)

// FuzzDecodeXLSX: whatever bytes arrive as an .xlsx file, decoding never panics, and every
// error has a code and a line.
func FuzzDecodeXLSX(f *testing.F) {
	x := excelize.NewFile()
	sheet := x.GetSheetName(0)
	x.SetSheetRow(sheet, "A1", &[]any{"provider", "name", "contract_start", "contract_end"})
	x.SetSheetRow(sheet, "A2", &[]any{"p1", "云商", 45717, "2027-12-31"})
	var buf bytes.Buffer
	if err := x.Write(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("PK\x03\x04not really"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := NewDecoder(KindProviders, "f.xlsx", bytes.NewReader(data), FormatXLSX, "f00d")
		if err != nil {
			if re, ok := err.(*RowError); !ok || re.Code == "" || re.Line < 1 {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		for range 10_000 {
			_, rerr, ok := d.Next()
			if !ok {
				return
			}
			if rerr != nil && (rerr.Code == "" || rerr.Line < 1) {
				t.Fatalf("bad error %v", rerr)
			}
		}
	})
}

// Excel date serials in date and time columns are read as dates and Shanghai times.
func TestXLSXCellText(t *testing.T) {
	for _, c := range []struct{ col, in, want string }{
		{"contract_start", "45717", "2025-03-01"},
		{"time", "45717.5", "2025-03-01T12:00:00+08:00"},
		{"expires", "45717", "2025-03-01"},
		{"month", "45717", "2025-03"},
		{"quantity", "45717", "45717"},
		{"name", "市财政局", "市财政局"},
		{"contract_start", "2025-03-01", "2025-03-01"},
	} {
		if got := cellText(c.col, c.in); got != c.want {
			t.Errorf("%s %q: %q, want %q", c.col, c.in, got, c.want)
		}
	}
}
