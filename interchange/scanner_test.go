package interchange

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestJSONObjectScanner: SPEC.md, Interchange formats — JSON lines carry the same field
// names as CSV columns; escapes, numbers and null read as encoding/json reads them.
func TestJSONObjectScanner(t *testing.T) {
	for _, line := range []string{
		`{}`,
		` { "key" : "k\u0031\"\\\/\n" , "name":"市\u8d22政局" ,"quantity": -0.5e-3, "price":0, "quota":null } `,
		`{"name":"\ud83d\ude00","unit":"\ud800"}`,
		"{\"name\":\"bad \xff utf8\"}",
		`{"key":"k",}`,
		`{"key":"k"`,
		`{"key":"\x41"}`,
		`{"quantity":01}`,
		`{"quantity":1.}`,
		`{"quantity":.5}`,
		`{"quantity":+1}`,
		`{"key":"a` + "\t" + `b"}`,
		`{"key":"a"}}`,
		`{"key" "a"}`,
		`{'key':"a"}`,
		`nul`,
		`"key"`,
		`{"key":nul}`,
		`{"key":truex}`,
	} {
		checkObjectScanner(t, []byte(line))
	}
	s := &jsonlSource{fields: map[string]string{}}
	if err := s.parseObject([]byte(`{"key":"k\u0031","quantity":1.50}`), allFields); err != nil || s.fields["key"] != "k1" || s.fields["quantity"] != "1.50" {
		t.Errorf("%v %v", err, s.fields)
	}
}

// TestParseKind: SPEC.md, Interchange formats — the file kinds an import names.
func TestParseKind(t *testing.T) {
	for _, k := range Kinds() {
		if got, err := ParseKind(string(k)); err != nil || got != k {
			t.Errorf("%s: %v %v", k, got, err)
		}
	}
	if _, err := ParseKind("invoices"); err == nil {
		t.Error("an unknown kind was accepted")
	}
}

// allFields knows every field name of every kind.
var allFields = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range append(Kinds(), KindInvoice) {
		for _, c := range Columns(k) {
			m[c] = true
		}
	}
	return m
}()

// checkObjectScanner compares the JSON-lines object scanner with encoding/json: what it
// accepts is valid JSON with the same values, and what it calls "not JSON" is not JSON.
func checkObjectScanner(t *testing.T, line []byte) {
	s := &jsonlSource{fields: map[string]string{}}
	err := s.parseObject(line, allFields)
	valid := json.Valid(line)
	if err != nil {
		if valid && (strings.HasPrefix(err.Message, "not JSON") || strings.HasPrefix(err.Message, "trailing data")) {
			t.Fatalf("valid JSON %q refused: %v", line, err)
		}
		return
	}
	if !valid {
		t.Fatalf("invalid JSON %q accepted as %v", line, s.fields)
	}
	var ref map[string]any
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&ref); err != nil {
		t.Fatalf("%q: encoding/json: %v", line, err)
	}
	if len(ref) != len(s.fields) {
		t.Fatalf("%q: fields %v, encoding/json %v", line, s.fields, ref)
	}
	for k, v := range ref {
		want := ""
		switch v := v.(type) {
		case string:
			want = v
		case json.Number:
			want = string(v)
		case nil:
		default:
			t.Fatalf("%q: accepted a %T for %s", line, v, k)
		}
		if got, ok := s.fields[k]; !ok || got != want {
			t.Fatalf("%q: %s = %q, encoding/json %q", line, k, got, want)
		}
	}
}

// FuzzJSONObjectScanner: the JSON-lines object scanner agrees with encoding/json on every line.
func FuzzJSONObjectScanner(f *testing.F) {
	f.Add([]byte(`{"key":"k","time":"2026-01-02T10:00:00+08:00","op":"allocate","quantity":1.5}`))
	f.Add([]byte(`{"name":"\ud83d\ude00","unit":"\ud800","score":null}`))
	f.Add([]byte(`{"key":"k",}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		checkObjectScanner(t, bytes.TrimSpace(line))
	})
}
