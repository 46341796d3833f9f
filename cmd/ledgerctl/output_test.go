package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
)

var sampleOverruns = []*v1.QuotaOverrun{
	{Department: "bigdata", DepartmentName: "市大数据管理局", QuotaClass: "storage_gb", Quota: "12000", Allocated: "16000", Ratio: "1.3333", Status: "violation"},
	{Department: "health", DepartmentName: "市卫生健康委员会", QuotaClass: "vcpu", Quota: "104", Allocated: "138", Ratio: "1.3269", Status: "approved", Ceiling: "200", ApprovalRef: "经信审〔2025〕12号"},
	{Department: "newdept", DepartmentName: "新, \"部门\"", QuotaClass: "vcpu", Quota: "0", Allocated: "4", Ratio: "", Status: "violation"},
}

// TestErrorLine: SPEC.md, Command line — a failure is one line naming the error code.
func TestErrorLine(t *testing.T) {
	cases := []struct{ code, field, msg, want string }{
		{"quota_overrun_needs_approval", "quantity", "A would be 130", "ledgerctl: quota_overrun_needs_approval: quantity: A would be 130"},
		{"unauthenticated", "", "wrong admin token", "ledgerctl: unauthenticated: wrong admin token"},
		{"internal", "", "two\nlines\r\nhere", "ledgerctl: internal: two lines here"},
	}
	for _, c := range cases {
		if got := errorLine(c.code, c.field, c.msg); got != c.want {
			t.Errorf("errorLine(%q, %q, %q) = %q, want %q", c.code, c.field, c.msg, got, c.want)
		}
	}
	e := &cliError{rows: []string{"a.csv:2: quantity: invalid_quantity: bad"}, code: codeImportRejected, message: "a.csv: 1 of 1 rows are bad; nothing was applied"}
	if got := e.lines(); len(got) != 2 || got[0] != "a.csv:2: quantity: invalid_quantity: bad" || !strings.HasPrefix(got[1], "ledgerctl: import_rejected: ") {
		t.Fatalf("lines: %q", got)
	}
}

// TestOverrunsCSV: the CSV starts with a UTF-8 BOM (Excel), has the SPEC-ordered columns
// (Q, A, A/Q, status, then the approval), machine values, and quotes what needs it.
func TestOverrunsCSV(t *testing.T) {
	var b bytes.Buffer
	if err := writeOverruns(&b, formatCSV, "zh", sampleOverruns); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.HasPrefix(out, "\xef\xbb\xbf") {
		t.Fatalf("no UTF-8 BOM: %q", out[:10])
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, utf8BOM))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := "department,department_name,quota_class,quota,allocated,ratio,status,ceiling,approval_ref"
	if got := strings.Join(recs[0], ","); got != wantHeader {
		t.Fatalf("header %q, want %q", got, wantHeader)
	}
	if len(recs) != 4 {
		t.Fatalf("%d records, want 4", len(recs))
	}
	if got := strings.Join(recs[2], "|"); got != "health|市卫生健康委员会|vcpu|104|138|1.3269|approved|200|经信审〔2025〕12号" {
		t.Fatalf("row %q", got)
	}
	if recs[3][1] != "新, \"部门\"" || recs[3][5] != "" {
		t.Fatalf("quoting or empty ratio: %q", recs[3])
	}
	// The header does not depend on --lang: scripts read it.
	var en bytes.Buffer
	_ = writeOverruns(&en, formatCSV, "en", sampleOverruns)
	if en.String() != out {
		t.Fatal("CSV differs between --lang zh and en")
	}
}

// TestOverrunsJSON: a JSON array with the CSV's field names; decimals stay strings.
func TestOverrunsJSON(t *testing.T) {
	var b bytes.Buffer
	if err := writeOverruns(&b, formatJSON, "zh", sampleOverruns); err != nil {
		t.Fatal(err)
	}
	var rows []map[string]string
	if err := json.Unmarshal(b.Bytes(), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[1]["approval_ref"] != "经信审〔2025〕12号" || rows[0]["ratio"] != "1.3333" || len(rows[0]) != len(overrunColumns) {
		t.Fatalf("json %v", rows)
	}
	if !strings.Contains(b.String(), "市卫生健康委员会") {
		t.Fatal("Chinese escaped in JSON")
	}
	b.Reset()
	_ = writeOverruns(&b, formatJSON, "zh", nil)
	if strings.TrimSpace(b.String()) != "[]" {
		t.Fatalf("empty report: %q", b.String())
	}
}

// TestOverrunsTable: Chinese headers first in zh, English only in en; statuses in words;
// columns aligned with Chinese counted double width; "no overruns" when empty.
func TestOverrunsTable(t *testing.T) {
	var b bytes.Buffer
	if err := writeOverruns(&b, formatTable, "zh", sampleOverruns); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	for _, h := range []string{"部门 Department", "部门名称 Name", "配额类别 Quota class", "配额 Quota Q", "已分配 Allocated A", "比例 A÷Q", "状态 Status", "批准上限 Ceiling"} {
		if !strings.Contains(lines[0], h) {
			t.Errorf("zh header lacks %q: %q", h, lines[0])
		}
	}
	for _, s := range []string{"违规 violation", "已审批 approved", "1.3333", "∞"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, b.String())
		}
	}
	// Every line has the same display width up to the last column's start.
	col := displayWidth(lines[0][:strings.Index(lines[0], "批准文号")])
	for _, l := range lines[2:] {
		r := []rune(l)
		w := 0
		i := 0
		for ; i < len(r) && w < col; i++ {
			w += displayWidth(string(r[i]))
		}
		if w != col {
			t.Errorf("misaligned line %q", l)
		}
	}

	b.Reset()
	_ = writeOverruns(&b, formatTable, "en", sampleOverruns)
	if first := strings.SplitN(b.String(), "\n", 2)[0]; strings.ContainsAny(first, "部门状态") || !strings.HasPrefix(first, "Department") {
		t.Fatalf("en header %q", first)
	}
	if !strings.Contains(b.String(), "violation") || strings.Contains(b.String(), "违规") {
		t.Fatalf("en statuses:\n%s", b.String())
	}

	for l, want := range map[lang]string{"zh": "无超配 / no overruns\n", "en": "no overruns\n"} {
		b.Reset()
		_ = writeOverruns(&b, formatTable, l, nil)
		if b.String() != want {
			t.Errorf("empty %s: %q, want %q", l, b.String(), want)
		}
	}
}

func TestDisplayWidth(t *testing.T) {
	for s, want := range map[string]int{"abc": 3, "部门": 4, "经信审〔2025〕12号": 18, "A÷Q": 3, "★ x": 3, "（）": 4} {
		if got := displayWidth(s); got != want {
			t.Errorf("displayWidth(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestTableRender(t *testing.T) {
	tb := &table{headers: []string{"名称 Name", "N"}, right: []bool{false, true}}
	tb.add("甲", "1")
	tb.add("", "100")
	var b bytes.Buffer
	if err := tb.render(&b); err != nil {
		t.Fatal(err)
	}
	want := "名称 Name    N\n---------  ---\n甲           1\n-          100\n"
	if b.String() != want {
		t.Fatalf("table:\n%q\nwant\n%q", b.String(), want)
	}
}

func TestLangLabels(t *testing.T) {
	if got := lang("zh").h("部门", "Department"); got != "部门 Department" {
		t.Fatal(got)
	}
	if got := lang("en").h("部门", "Department"); got != "Department" {
		t.Fatal(got)
	}
	if got := lang("zh").m("无超配", "no overruns"); got != "无超配 / no overruns" {
		t.Fatal(got)
	}
}

// FuzzParseBands: a band table file never crashes the parser; a refusal carries a code,
// and what it accepts survives a round trip through the same format.
func FuzzParseBands(f *testing.F) {
	f.Add([]byte("min_score,max_score,multiplier\n0,60,0.8\n60,100,1\n"))
	f.Add([]byte("\ufeffmin_score,max_score,multiplier\n0,x,1\n"))
	f.Add([]byte("min_score,max_score,multiplier\n\"0,60,0.8\n"))
	f.Add([]byte("min_score,max_score\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		bands, err := parseBands("b.csv", raw)
		if err != nil {
			var ce *cliError
			if !errors.As(err, &ce) || ce.code == "" {
				t.Fatalf("a refusal without a code: %v", err)
			}
			return
		}
		var b strings.Builder
		b.WriteString("min_score,max_score,multiplier\n")
		for _, x := range bands {
			fmt.Fprintf(&b, "%s,%s,%s\n", x.min, x.max, x.mult)
		}
		again, err := parseBands("b.csv", []byte(b.String()))
		if err != nil || len(again) != len(bands) {
			t.Fatalf("round trip: %v, %d bands, want %d", err, len(again), len(bands))
		}
		for i := range bands {
			if !again[i].min.Equal(bands[i].min) || !again[i].max.Equal(bands[i].max) || !again[i].mult.Equal(bands[i].mult) {
				t.Fatalf("band %d: %+v, then %+v", i, bands[i], again[i])
			}
		}
	})
}

// FuzzParseDeadlines: a deadline table file never crashes the parser; a refusal carries a
// code and names the file; what it accepts survives a round trip through the same format.
func FuzzParseDeadlines(f *testing.F) {
	f.Add([]byte("kind,step,working_days,months,from_submission,article\ntest,review,5,,true,SH 19\ntest,verify,0,1,false,SH 19\n"))
	f.Add([]byte("\ufeffkind,step,working_days,months,from_submission,article\nopen,fulfil,x,,no,XM 12\n"))
	f.Add([]byte("kind,step,working_days,months,from_submission,article\n\"open,fulfil\n"))
	f.Add([]byte("kind,step\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		rows, err := parseDeadlines("d.csv", raw)
		if err != nil {
			var ce *cliError
			if !errors.As(err, &ce) || ce.code == "" || !strings.HasPrefix(ce.message, "d.csv:") {
				t.Fatalf("a refusal without a code or the file: %v", err)
			}
			return
		}
		var b strings.Builder
		w := csv.NewWriter(&b)
		_ = w.Write(deadlineColumns)
		for _, r := range rows {
			_ = w.Write([]string{r.GetKind(), r.GetStep(), fmt.Sprint(r.GetWorkingDays()), fmt.Sprint(r.GetMonths()), fmt.Sprint(r.GetFromSubmission()), r.GetArticle()})
		}
		w.Flush()
		again, err := parseDeadlines("d.csv", []byte(b.String()))
		if err != nil || len(again) != len(rows) {
			t.Fatalf("round trip: %v, %d rows, want %d", err, len(again), len(rows))
		}
		for i := range rows {
			if !proto.Equal(again[i], rows[i]) {
				t.Fatalf("row %d: %v, then %v", i, rows[i], again[i])
			}
		}
	})
}
