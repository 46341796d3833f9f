package apimap

import (
	"bytes"
	"strings"
	"testing"

	. "github.com/cloudledger/cloudledger/interchange"

	"github.com/cloudledger/cloudledger/ledger"
)

// fuzzKinds maps a fuzz input's kind byte to a kind (modulo its length).
// New kinds go at the end, so the committed corpus keeps meaning what it meant.
var fuzzKinds = []FileKind{KindDepartments, KindProviders, KindProjects, KindCatalog, KindEvents, KindEvaluations, KindInvoice, KindUtilisation}

// FuzzDecodeCSV: SPEC.md, Interchange formats — whatever a CSV file holds, decoding never
// panics, every error names a line ≥ 1 (lines strictly increasing, within the file), and
// every decoded command passes ledger.ValidateCommand and survives its canonical encoding.
func FuzzDecodeCSV(f *testing.F) {
	f.Add(uint8(4), []byte(eventsHeader+eventRow()))
	f.Add(uint8(3), []byte(strings.Join(Columns(KindCatalog), ",")+"\na,\"b\nc\",c,d,metered,,1,,2026-01-01,monthly\n"))
	f.Add(uint8(5), []byte("provider,from,to,score\np1,2026-01-01,2026-03-31,92.5\np1,2026-04-01,2026-03-01,101\n"))
	f.Add(uint8(6), []byte("month,department,project,item,amount\n2026-03,d,p,i,-1.50\n2026-13,d,p,i,1\n2026-03,d,p q,i,1E3\n"))
	f.Add(uint8(7), []byte("resource,date,mean_pct,peak_pct,availability_pct\nr1,2026-03-01,12.5,40,100\nr1,2026-03-02,50,40,101\nr1,2026-3-3,1.125,x,\n"))
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		checkDecode(t, fuzzKinds[int(kind)%len(fuzzKinds)], FormatCSV, data)
	})
}

// FuzzDecodeJSONL: SPEC.md, Interchange formats — the same for JSON lines.
func FuzzDecodeJSONL(f *testing.F) {
	f.Add(uint8(4), []byte(`{"key":"k","time":"2026-01-02T10:00:00+08:00","op":"allocate","department":"d","project":"p","provider":"x","resource":"r","item":"i","quantity":1.5}`+"\n"))
	f.Add(uint8(3), []byte(`{"item":"i","name":"n","category":"c","unit":"u","billing":"metered","price":0.1,"effective_from":"2026-01-01"}`))
	f.Add(uint8(5), []byte(`{"provider":"p1","from":"2026-01-01","to":"2026-03-31","score":88}`+"\n"+`{"provider":"p1","score":"-1"}`))
	f.Add(uint8(6), []byte(`{"month":"2026-03","department":"d","project":"p","item":"i","amount":12.5}`+"\n"+`{"month":"2026-3","amount":"x"}`))
	f.Add(uint8(7), []byte(`{"resource":"r1","date":"2026-03-01","mean_pct":12.5,"peak_pct":40,"availability_pct":100}`+"\n"+`{"resource":"r1","mean_pct":"-1"}`))
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		checkDecode(t, fuzzKinds[int(kind)%len(fuzzKinds)], FormatJSONL, data)
	})
}

func checkDecode(t *testing.T, kind FileKind, format Format, data []byte) {
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
		raw, rerr, ok := d.Next()
		if !ok {
			if rerr != nil {
				t.Fatalf("error at the end: %v", rerr)
			}
			if _, _, again := d.Next(); again {
				t.Fatal("Next after the end returned a row")
			}
			return
		}
		var row decoded
		if rerr == nil {
			row, rerr = mapRow("fuzz", raw)
			if rerr != nil && rerr.Line != raw.Line {
				t.Fatalf("mapping error on line %d for row of line %d", rerr.Line, raw.Line)
			}
		}
		line := row.Line
		if rerr != nil {
			line = rerr.Line
			if rerr.Code == "" || rerr.File != "fuzz" || strings.ContainsAny(rerr.Error(), "\r\n") {
				t.Fatalf("bad error %q", rerr.Error())
			}
		} else if kind == KindInvoice {
			l := row.Invoice
			if l == nil || ledger.CheckID("department", l.Department) != nil || ledger.CheckID("project", l.Project) != nil ||
				ledger.CheckID("item", l.Item) != nil {
				t.Fatalf("line %d: a bad invoice line was accepted: %+v", row.Line, l)
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

// FuzzRecordParser: a single record (a Kafka message) never crashes the parser, a refusal
// has a code, and what it accepts is what the file decoder accepts for the same line.
func FuzzRecordParser(f *testing.F) {
	f.Add([]byte(`{"key":"k","time":"2026-01-02T10:00:00+08:00","op":"usage","department":"d","project":"p","provider":"x","resource":"r","item":"i","kind":"standard","quantity":1.5}`))
	f.Add([]byte(`{"key":"k","time":"not a time"`))
	f.Add([]byte("{}\n{}"))
	f.Add([]byte(`{"time":"2026-01-02T10:00:00+08:00","op":"usage","department":"d","project":"p","provider":"x","resource":"r","item":"i","kind":"standard","quantity":2}`))
	p, err := NewEventRecordParser()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, value []byte) {
		keyed, kerr := p.Parse(value, "kafka:t/0/1")
		cmd, perr := p.Parse(value, "")
		if perr == nil && (kerr != nil || keyed.Key != cmd.Key) {
			t.Fatalf("a derived key changed a record with its own: %v", kerr)
		}
		if kerr == nil && perr != nil && (perr.Field != "key" || keyed.Key != "kafka:t/0/1") {
			t.Fatalf("only a missing key may need the derived one: %v", perr)
		}
		if perr != nil {
			if perr.Code == "" {
				t.Fatalf("a refusal without a code: %v", perr)
			}
			return
		}
		d, err := NewDecoder(KindEvents, "f", bytes.NewReader(value), FormatJSONL, "")
		if err != nil {
			t.Fatal(err)
		}
		raw, rerr, ok := d.Next()
		var row decoded
		if ok && rerr == nil {
			row, rerr = mapRow("f", raw)
		}
		if !ok || rerr != nil || !bytes.Equal(ledger.EncodeBody(row.Command.Body), ledger.EncodeBody(cmd.Body)) || row.Command.Key != cmd.Key {
			t.Fatalf("the record parser accepted what the file decoder did not: %v %v", rerr, ok)
		}
	})
}
