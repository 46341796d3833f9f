package apimap

import (
	"strings"
	"testing"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	"github.com/cloudledger/cloudledger/interchange"
)

var march = calendar.Month{Year: 2026, Month: 3}

// Bad invoices (issue 4, must show 5): malformed amounts, a wrong month, duplicate lines,
// missing fields — each named by file:line, field and code, never a crash.
func TestParseInvoiceBadLines(t *testing.T) {
	body := "month,department,project,item,amount\n" +
		"2026-03,health,his,ecs.vcpu,100.00\n" + // good
		"2026-03,health,his,disk.ssd,12,5\n" + // 6 fields: "12,5" (a decimal comma?) is ambiguous
		"2026-03,health,his,oss.egress,abc\n" + // malformed amount
		"2026-04,health,his,net.vpc,1.00\n" + // another month
		"2026-03,health,his,ecs.vcpu,1.00\n" + // duplicate of line 2
		"2026-03,,his,sec.host,1.00\n" + // missing department
		"2026-03,health,his,backup,1E9\n" // exponent: not a plain decimal
	lines, errs := ParseInvoiceFile("inv.csv", strings.NewReader(body), interchange.FormatCSV, march)
	want := []string{
		"inv.csv:3: malformed: 6 fields, but the header has 5 columns",
		"inv.csv:4: amount: invalid_quantity",
		"inv.csv:5: month: invalid_value",
		"inv.csv:6: item: duplicate_line",
		"inv.csv:7: department: missing_field",
		"inv.csv:8: amount: invalid_quantity",
	}
	if len(errs) != len(want) {
		t.Fatalf("%d errors, want %d: %v", len(errs), len(want), errs)
	}
	for i, e := range errs {
		if !strings.HasPrefix(e.Error(), want[i]) {
			t.Errorf("error %d: %q, want prefix %q", i, e.Error(), want[i])
		}
	}
	if len(lines) != 1 {
		t.Fatalf("good lines %d, want 1", len(lines))
	}
	if _, errs := ParseInvoiceFile("inv.csv", strings.NewReader("month,department,item,amount\n"), interchange.FormatCSV, march); len(errs) != 1 || errs[0].Code != errcode.MissingField {
		t.Fatalf("header without project: %v", errs)
	}
}

// The interchange decoder reads invoices as JSON lines too (amounts as JSON numbers keep
// their exact text), with the same checks and line numbers.
func TestParseInvoiceJSONLines(t *testing.T) {
	body := `{"month":"2026-03","department":"health","project":"his","item":"ecs.vcpu","amount":100.10}` + "\n" +
		`{"month":"2026-03","department":"health","project":"his","item":"disk.ssd","amount":"50"}` + "\n\n" +
		`{"month":"2026-03","department":"health","project":"his","item":"ecs.vcpu","amount":1}` + "\n" +
		`{"month":"2026-03","department":"health","project":"his","item":"x","amount":1,"note":"?"}` + "\n"
	lines, errs := ParseInvoiceFile("inv.jsonl", strings.NewReader(body), interchange.FormatJSONL, march)
	if len(lines) != 2 || lines[0].Amount.String() != "100.1" || lines[1].Line != 2 {
		t.Fatalf("lines %+v", lines)
	}
	if len(errs) != 2 || !strings.HasPrefix(errs[0].Error(), "inv.jsonl:4: item: duplicate_line") || !strings.HasPrefix(errs[1].Error(), "inv.jsonl:5: note: malformed") {
		t.Fatalf("errors %v", errs)
	}
}

func FuzzParseInvoice(f *testing.F) {
	f.Add("month,department,project,item,amount\n2026-03,health,his,ecs.vcpu,100.00\n")
	f.Add("month,department,project,item,amount\n2026-03,health,his,ecs.vcpu,\"1\n")
	f.Add("amount,item,project,department,month\n-3.5,x,y,z,2026-03\n2026-03\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, body string) {
		lines, errs := ParseInvoiceFile("f.csv", strings.NewReader(body), interchange.FormatCSV, march)
		for _, l := range lines {
			if l.Line < 2 || l.Department == "" || l.Project == "" || l.Item == "" {
				t.Fatalf("a bad line was accepted: %+v", l)
			}
		}
		for _, e := range errs {
			if e.Code == "" || e.Line < 1 {
				t.Fatalf("an error without code or line: %+v", e)
			}
		}
	})
}

// A file that is plainly not an invoice stops after maxInvoiceErrors bad lines, saying so.
func TestParseInvoiceStopsAfterManyBadLines(t *testing.T) {
	body := "month,department,project,item,amount\n" + strings.Repeat("2026-03,health,his,ecs.vcpu,x\n", 500)
	_, errs := ParseInvoiceFile("inv.csv", strings.NewReader(body), interchange.FormatCSV, march)
	if len(errs) != maxInvoiceErrors+1 || errs[maxInvoiceErrors].Code != errcode.TooLarge || errs[maxInvoiceErrors].Line != maxInvoiceErrors+2 {
		t.Fatalf("%d errors, last %v", len(errs), errs[len(errs)-1])
	}
}
