package settlement

import (
	"encoding/json"
	"strings"
	"testing"
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
