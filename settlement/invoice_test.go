package settlement

import (
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	"github.com/cloudledger/cloudledger/interchange"
	"github.com/cloudledger/cloudledger/ledger"
	"github.com/cloudledger/cloudledger/rating"
)

var march = calendar.Month{Year: 2026, Month: 3}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func ratedLine(dept, project, provider, item, amount string) rating.Line {
	return rating.Line{Key: rating.Key{Month: march, Department: dept, Project: project, Provider: provider, Item: item}, Amount: dec(amount)}
}

func knownData() *ledger.View {
	return &ledger.View{
		Projects: map[string]*ledger.Project{"his": {ID: "his", Department: "health"}, "exam": {ID: "exam", Department: "edu"}},
		Items:    map[string]*ledger.CatalogItem{"ecs.vcpu": {ID: "ecs.vcpu"}, "disk.ssd": {ID: "disk.ssd"}, "oss.egress": {ID: "oss.egress"}},
	}
}

// SPEC: Settlement — matched, amount mismatch (with difference), missing from invoice,
// unexpected on invoice, and totals (issue 4, must show 4).
func TestReconcileFourOutcomesAndTotals(t *testing.T) {
	rated := []rating.Line{
		ratedLine("health", "his", "hw", "ecs.vcpu", "100.00"),
		ratedLine("health", "his", "hw", "disk.ssd", "50.00"),
		ratedLine("edu", "exam", "hw", "ecs.vcpu", "30.00"),
		ratedLine("edu", "exam", "other", "ecs.vcpu", "999.00"), // another provider: not on this invoice
	}
	invoice := []InvoiceLine{
		{Line: 2, Department: "health", Project: "his", Item: "ecs.vcpu", Amount: dec("100.00")}, // matched
		{Line: 3, Department: "health", Project: "his", Item: "disk.ssd", Amount: dec("52.50")},  // mismatch +2.50
		{Line: 4, Department: "health", Project: "nope", Item: "ecs.vcpu", Amount: dec("7.00")},  // unexpected, unknown project
	}
	rep := Reconcile(knownData(), rated, "hw", march, invoice, dec("0"))
	// edu/exam/ecs.vcpu 30.00 is rated but not invoiced: missing.
	want := map[string]struct {
		outcome Outcome
		diff    string
	}{
		"health/his/ecs.vcpu":  {OutcomeMatched, "0.00"},
		"health/his/disk.ssd":  {OutcomeMismatch, "2.50"},
		"health/nope/ecs.vcpu": {OutcomeUnexpected, "7.00"},
		"edu/exam/ecs.vcpu":    {OutcomeMissing, "-30.00"},
	}
	if len(rep.Lines) != len(want) {
		t.Fatalf("%d lines, want %d: %+v", len(rep.Lines), len(want), rep.Lines)
	}
	for _, l := range rep.Lines {
		w, ok := want[l.Department+"/"+l.Project+"/"+l.Item]
		if !ok || l.Outcome != w.outcome || l.Difference.StringFixed(2) != w.diff {
			t.Errorf("%+v: want %+v", l, w)
		}
		if l.Outcome == OutcomeUnexpected && l.Note != "unknown project" {
			t.Errorf("unexpected line note %q", l.Note)
		}
	}
	// Invoiced 100 + 52.50 + 7 = 159.50; rated (provider hw) 100 + 50 + 30 = 180.00; −20.50.
	if rep.InvoiceTotal.StringFixed(2) != "159.50" || rep.RatedTotal.StringFixed(2) != "180.00" || rep.Difference.StringFixed(2) != "-20.50" {
		t.Fatalf("totals %s %s %s", rep.InvoiceTotal, rep.RatedTotal, rep.Difference)
	}
	if rep.Matched != 1 || rep.Mismatched != 1 || rep.Missing != 1 || rep.Unexpected != 1 || rep.AllMatch() {
		t.Fatalf("counts %d/%d/%d/%d", rep.Matched, rep.Mismatched, rep.Missing, rep.Unexpected)
	}
}

// --tolerance: a difference up to the tolerance matches, beyond it does not.
func TestReconcileTolerance(t *testing.T) {
	rated := []rating.Line{ratedLine("health", "his", "hw", "ecs.vcpu", "100.00")}
	for _, c := range []struct {
		invoiced, tolerance string
		want                Outcome
	}{
		{"100.00", "0", OutcomeMatched},
		{"100.01", "0", OutcomeMismatch},
		{"100.01", "0.01", OutcomeMatched},
		{"99.99", "0.01", OutcomeMatched},
		{"100.02", "0.01", OutcomeMismatch},
	} {
		rep := Reconcile(knownData(), rated, "hw", march, []InvoiceLine{{Line: 2, Department: "health", Project: "his", Item: "ecs.vcpu", Amount: dec(c.invoiced)}}, dec(c.tolerance))
		if rep.Lines[0].Outcome != c.want || rep.AllMatch() != (c.want == OutcomeMatched) {
			t.Errorf("invoiced %s, tolerance %s: %s, want %s", c.invoiced, c.tolerance, rep.Lines[0].Outcome, c.want)
		}
	}
}

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
	lines, errs := ParseInvoice("inv.csv", strings.NewReader(body), interchange.FormatCSV, march)
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
	if _, errs := ParseInvoice("inv.csv", strings.NewReader("month,department,item,amount\n"), interchange.FormatCSV, march); len(errs) != 1 || errs[0].Code != errcode.MissingField {
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
	lines, errs := ParseInvoice("inv.jsonl", strings.NewReader(body), interchange.FormatJSONL, march)
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
		lines, errs := ParseInvoice("f.csv", strings.NewReader(body), interchange.FormatCSV, march)
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
	_, errs := ParseInvoice("inv.csv", strings.NewReader(body), interchange.FormatCSV, march)
	if len(errs) != maxInvoiceErrors+1 || errs[maxInvoiceErrors].Code != errcode.TooLarge || errs[maxInvoiceErrors].Line != maxInvoiceErrors+2 {
		t.Fatalf("%d errors, last %v", len(errs), errs[len(errs)-1])
	}
}
