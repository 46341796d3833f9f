package settlement

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
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
