package settlement

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cloudledger/cloudledger/calendar"
)

// Issue 12, item 9: money in the JSON exports has exactly two decimals ("318030" and
// "729.2" were written before); quantities keep their exact text.
func TestMoneyInJSONHasTwoDecimals(t *testing.T) {
	raw, err := json.Marshal(BudgetLine{Department: "d", Quantity: dec("7292"), BaseAmount: dec("729.2"), Amount: dec("318030"), Estimate: dec("0")})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"quantity":"7292"`, `"base_amount":"729.20"`, `"amount":"318030.00"`, `"next_year_estimate":"0.00"`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("%s lacks %s", raw, want)
		}
	}
	raw, _ = json.Marshal(Subtotal{Group: "g", BaseAmount: dec("1.5"), Amount: dec("2")})
	if !strings.Contains(string(raw), `"base_amount":"1.50"`) || !strings.Contains(string(raw), `"amount":"2.00"`) {
		t.Errorf("subtotal %s", raw)
	}
}

// A submitted year's cover says when it was submitted, never "overdue by" today.
func TestDeadlineTextOfASubmittedYear(t *testing.T) {
	deadline := calendar.NewDate(2026, 9, 30)
	b := &Budget{Deadline: deadline, DaysLeft: -63, SubmittedAt: deadline.AddDays(-2).Start()}
	if got := b.DeadlineText(false); got != "submitted on time" {
		t.Fatalf("%q", got)
	}
	b.SubmittedAt = deadline.AddDays(5).Start()
	if got := b.DeadlineText(true); got != "已报送（逾期 5 天报送）" {
		t.Fatalf("%q", got)
	}
	b.SubmittedAt = time.Time{}
	if got := b.DeadlineText(false); got != "overdue by 63 days" {
		t.Fatalf("%q", got)
	}
}
