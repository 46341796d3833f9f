package interchange

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cloudledger/cloudledger/ledger"
)

// fuzzKinds maps a fuzz input's kind byte to a kind (modulo its length).
var fuzzKinds = Kinds()

// FuzzDecodeCSV: SPEC.md, Interchange formats — whatever a CSV file holds, decoding never
// panics, every error names a line ≥ 1 (lines strictly increasing, within the file), and
// every decoded command passes ledger.ValidateCommand and survives its canonical encoding.
func FuzzDecodeCSV(f *testing.F) {
	f.Add(uint8(4), []byte(eventsHeader+eventRow()))
	f.Add(uint8(3), []byte(strings.Join(Columns(KindCatalog), ",")+"\na,\"b\nc\",c,d,metered,,1,,2026-01-01,monthly\n"))
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		checkDecode(t, fuzzKinds[int(kind)%len(fuzzKinds)], FormatCSV, data)
	})
}

// FuzzDecodeJSONL: SPEC.md, Interchange formats — the same for JSON lines.
func FuzzDecodeJSONL(f *testing.F) {
	f.Add(uint8(4), []byte(`{"key":"k","time":"2026-01-02T10:00:00+08:00","op":"allocate","department":"d","project":"p","provider":"x","resource":"r","item":"i","quantity":1.5}`+"\n"))
	f.Add(uint8(3), []byte(`{"item":"i","name":"n","category":"c","unit":"u","billing":"metered","price":0.1,"effective_from":"2026-01-01"}`))
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		checkDecode(t, fuzzKinds[int(kind)%len(fuzzKinds)], FormatJSONL, data)
		for _, line := range bytes.Split(data, []byte("\n")) {
			checkObjectScanner(t, bytes.TrimSpace(line))
		}
	})
}

func checkDecode(t *testing.T, kind Kind, format Format, data []byte) {
	lines := bytes.Count(data, []byte("\n")) + 1
	d, err := NewDecoder(kind, "fuzz", bytes.NewReader(data), format, "f00d")
	if err != nil {
		re, ok := err.(*RowError)
		if !ok || re.Line < 1 || re.Line > lines || re.Code == "" {
			t.Fatalf("header error %T %v", err, err)
		}
		return
	}
	last := 0
	for n := 0; ; n++ {
		if n > lines+1 {
			t.Fatalf("more results (%d) than lines (%d)", n, lines)
		}
		row, rerr, ok := d.Next()
		if !ok {
			if rerr != nil {
				t.Fatalf("error at the end: %v", rerr)
			}
			if _, _, again := d.Next(); again {
				t.Fatal("Next after the end returned a row")
			}
			return
		}
		line := row.Line
		if rerr != nil {
			line = rerr.Line
			if rerr.Code == "" || rerr.File != "fuzz" || strings.ContainsAny(rerr.Error(), "\r\n") {
				t.Fatalf("bad error %q", rerr.Error())
			}
		} else {
			if verr := ledger.ValidateCommand(row.Command); verr != nil {
				t.Fatalf("line %d: decoded command fails validation: %v", row.Line, verr)
			}
			enc := ledger.EncodeBody(row.Command.Body)
			body, derr := ledger.DecodeBody(enc)
			if derr != nil || !bytes.Equal(ledger.EncodeBody(body), enc) {
				t.Fatalf("line %d: canonical encoding does not round-trip: %v", row.Line, derr)
			}
		}
		if line < 1 || line <= last || line > lines {
			t.Fatalf("line %d after %d (file of %d lines; error %v)", line, last, lines, rerr)
		}
		last = line
	}
}

// allFields knows every field name of every kind.
var allFields = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range Kinds() {
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
