package console

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// Issue 14: money with thousands separators and two decimals, dates as 2026年3月1日.
// Issue 23: rounded half-up like the ledger (1.125 → 1.13, 2.665 → 2.67: the banker's
// rounding the console had gave 1.12 and 2.66), and a figure that is not a plain decimal is
// not shown (it came back as it was).
func TestFormats(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"0", "0.00"}, {"5", "5.00"}, {"999.995", "1,000.00"}, {"1234567.8", "1,234,567.80"},
		{"-1234.5", "-1,234.50"}, {"100000", "100,000.00"}, {"1.125", "1.13"}, {"2.665", "2.67"}, {"-1.125", "-1.13"},
		{"not a number", "⚠ 数值无法识别"}, {"1e3", "⚠ 数值无法识别"}, {"", ""},
	} {
		if got := formatMoney("zh", c.in); got != c.want {
			t.Errorf("formatMoney(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := formatNumber("zh", "198400"); got != "198,400" {
		t.Errorf("formatNumber = %q", got)
	}
	if got := formatNumber("zh", "112.62"); got != "112.62" {
		t.Errorf("formatNumber = %q", got)
	}
	for _, c := range []struct{ lang, in, want string }{
		{"zh", "2026-03-01", "2026年3月1日"}, {"en", "2026-03-01", "1 Mar 2026"},
		{"zh", "2026-03", "2026年3月"}, {"zh", "2026-03-01T00:30:00Z", "2026年3月1日 08:30"},
		{"zh", "", ""}, {"zh", "soon", "soon"},
	} {
		if got := formatDate(c.lang, c.in); got != c.want {
			t.Errorf("formatDate(%s, %q) = %q, want %q", c.lang, c.in, got, c.want)
		}
	}
}

func testTable() *Table {
	t := &Table{ID: "t", Columns: []Column{{"单位", Mono}, {"金额", Money}, {"说明", Text}}}
	t.add("", C("edu"), C("1234.50"), C("=HYPERLINK(\"http://x\")"))
	t.add("", C("bus"), C("-2.00"), C("@SUM(A1)"))
	t.Foot = &Row{Cells: []Cell{C("合计"), C("1232.50"), C("")}}
	return t
}

// The CSV opens in Excel as UTF-8 and cannot smuggle a formula; amounts stay exact.
func TestTableCSV(t *testing.T) {
	got := string(testTable().CSV())
	want := "\ufeff单位,金额,说明\nedu,1234.50,\"'=HYPERLINK(\"\"http://x\"\")\"\nbus,-2.00,'@SUM(A1)\n合计,1232.50,\n"
	if got != want {
		t.Errorf("CSV:\n%q\nwant\n%q", got, want)
	}
}

// The XLSX keeps money as numbers (formatted #,##0.00), text as text.
func TestTableXLSX(t *testing.T) {
	b, err := testTable().XLSX("费用")
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if typ, _ := f.GetCellType("费用", "B2"); typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
		t.Errorf("B2 is %v, want a number", typ)
	}
	raw, _ := f.GetCellValue("费用", "B2", excelize.Options{RawCellValue: true})
	shown, _ := f.GetCellValue("费用", "B2")
	if raw != "1234.5" || shown != "1,234.50" {
		t.Errorf("B2 holds %q shown %q, want 1234.5 shown 1,234.50", raw, shown)
	}
	if v, _ := f.GetCellValue("费用", "A4"); v != "合计" {
		t.Errorf("A4 = %q, want the totals row", v)
	}
}

// A redirect after sign-in or a language switch stays on this site. Issue 22: the tab of
// "/lang?back=/%09/evil.example" (decoded before it reaches safeNext) made Chromium go to
// //evil.example — it failed here before the fix; so do the other tricks browsers forgive.
func TestNextStaysHere(t *testing.T) {
	for in, want := range map[string]string{
		"/d/edu?month=2026-03": "/d/edu?month=2026-03", "//evil.example/": "/", "/\\evil.example": "/",
		"https://evil.example/": "/", "": "/", "javascript:alert(1)": "/", "/ok\r\nSet-Cookie: x": "/",
		"/\t/evil.example": "/", "/\n/evil.example": "/", "/\r//evil.example": "/", "\t//evil.example": "/",
		"/%2F%2Fevil.example": "/", "/%2fevil.example": "/", "/x\\y": "/", "/\u2028/evil.example": "/",
		"///evil.example": "/", "/d/教育局": "/d/%E6%95%99%E8%82%B2%E5%B1%80",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// The SVG charts escape their labels (a department or item name is outside input).
func TestChartsEscape(t *testing.T) {
	svg := string(columnChart(`<b>"月"</b>`, []Bar{{Label: `<script>x</script>`}}))
	svg += string(ratioBars("r", []ratioBar{{Label: `<img src=x onerror=y>`, Text: "&"}}))
	if strings.Contains(svg, "<script>") || strings.Contains(svg, "<img") || strings.Contains(svg, "<b>") {
		t.Errorf("a label reached the SVG unescaped:\n%s", svg)
	}
}

// sessionID reads a cookie a browser sends: any value is refused or read, never a panic.
func FuzzSessionID(f *testing.F) {
	f.Add("eyJhIjoiZWR1LWl0IiwicyI6IjAxMjMiLCJpIjoxLCJsIjoxfQ.sig")
	f.Add("")
	f.Add(".")
	f.Add("%%%.%%%")
	f.Fuzz(func(t *testing.T, s string) {
		id := sessionID(s)
		if id != "" && !strings.Contains(s, ".") {
			t.Fatalf("an id %q from a value without a signature part", id)
		}
		_ = safeNext(s)
	})
}

// Issue 22: imports are kept per account — a burst of uploads by one account evicts only
// that account's own oldest import, never another's (before, any uploader could push out
// another account's validated import); a full node refuses new ones instead of evicting.
func TestImportJobsPerAccount(t *testing.T) {
	js := newImportJobs()
	theirs, ok := js.add(&importJob{owner: "authority1", created: time.Now()})
	if !ok {
		t.Fatal("the first import refused")
	}
	for i := 0; i < 3*MaxImportJobsPerAccount; i++ {
		if _, ok := js.add(&importJob{owner: "aliyun-am", created: time.Now().Add(time.Duration(i) * time.Millisecond)}); !ok {
			t.Fatalf("upload %d of one account refused", i)
		}
	}
	if _, ok := js.get(theirs, "authority1"); !ok {
		t.Fatal("another account's uploads evicted authority1's import")
	}
	mine := 0
	for _, j := range js.jobs {
		if j.owner == "aliyun-am" {
			mine++
		}
	}
	if mine != MaxImportJobsPerAccount {
		t.Fatalf("aliyun-am keeps %d imports, want %d", mine, MaxImportJobsPerAccount)
	}
	for i := 0; len(js.jobs) < MaxImportJobs; i++ {
		js.add(&importJob{owner: fmt.Sprintf("acct-%d", i), created: time.Now()})
	}
	if _, ok := js.add(&importJob{owner: "newcomer", created: time.Now()}); ok {
		t.Fatal("a full node evicted someone's import for a newcomer")
	}
	if _, ok := js.get(theirs, "authority1"); !ok {
		t.Fatal("authority1's import is gone")
	}
}
