package csvfile

import (
	"bytes"
	"encoding/csv"
	"testing"
)

// Issue 22: a formula in a resource id, a department name or an approval reference is
// defused; amounts, negative ones included, stay numbers; the quoting reverses exactly.
func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"=HYPERLINK(\"http://x\")": "'=HYPERLINK(\"http://x\")", "+1+1": "'+1+1", "-1+cmd": "'-1+cmd", "@SUM(A1)": "'@SUM(A1)",
		"\t=1": "'\t=1", "\r=1": "'\r=1", "-12.50": "-12.50", "+3": "+3", "1234.56": "1234.56", "0": "0",
		"市教育局": "市教育局", "": "", "'=1": "''=1", "'a": "'a", "''": "'''", "'": "'", "-": "'-", "1.": "1.", "-.5": "'-.5",
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %q, want %q", in, got, want)
		}
		if back := Unquote(Quote(in)); back != in {
			t.Errorf("Unquote(Quote(%q)) = %q", in, back)
		}
	}
}

func FuzzQuoteRoundTrip(f *testing.F) {
	for _, s := range []string{"=1", "'=1", "''", "-5", "@", "x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := Quote(s)
		if Unquote(q) != s {
			t.Fatalf("Unquote(Quote(%q)) = %q", s, Unquote(q))
		}
		if q != "" && trigger(q[0]) && !isNumber(q) {
			t.Fatalf("Quote(%q) = %q still starts a formula", s, q)
		}
	})
}

func TestWriterBOMAndRecords(t *testing.T) {
	var b bytes.Buffer
	w, err := New(&b, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteAll([][]string{{"resource", "amount"}, {"=cmd|' /C calc'!A0", "-3.20"}}); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b.Bytes(), []byte(BOM)) {
		t.Fatal("no BOM")
	}
	recs, err := csv.NewReader(bytes.NewReader(b.Bytes()[len(BOM):])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if recs[1][0] != "'=cmd|' /C calc'!A0" || recs[1][1] != "-3.20" {
		t.Fatalf("row %q", recs[1])
	}
}
