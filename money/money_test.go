package money

import (
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// Hand-worked: half-up is a half away from zero, at the cent and at the fourth decimal.
func TestRoundingIsHalfUp(t *testing.T) {
	for _, c := range []struct{ in, text, grouped, mult string }{
		{"1.125", "1.13", "1.13", "1.1250"},
		{"-1.125", "-1.13", "-1.13", "-1.1250"},
		{"1.115", "1.12", "1.12", "1.1150"},
		{"0.0015", "0.00", "0.00", "0.0015"},
		{"0.005", "0.01", "0.01", "0.0050"},
		{"0.98765", "0.99", "0.99", "0.9877"},
		{"1234567.8", "1234567.80", "1,234,567.80", "1234567.8000"},
		{"-1234567.891", "-1234567.89", "-1,234,567.89", "-1234567.8910"},
		{"318030", "318030.00", "318,030.00", "318030.0000"},
	} {
		d := decimal.RequireFromString(c.in)
		if got := Text(d); got != c.text {
			t.Errorf("Text(%s) = %s, want %s", c.in, got, c.text)
		}
		if got := Grouped(d); got != c.grouped {
			t.Errorf("Grouped(%s) = %s, want %s", c.in, got, c.grouped)
		}
		if got := Multiplier(d); got != c.mult {
			t.Errorf("Multiplier(%s) = %s, want %s", c.in, got, c.mult)
		}
	}
}

func TestParseRefusesWhatIsNotAPlainDecimal(t *testing.T) {
	for _, ok := range []string{"0", "1.5", "-1.125", "318030.00", "007"} {
		if _, err := Parse(ok); err != nil {
			t.Errorf("Parse(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "abc", "1e3", "+1", "1,000.00", " 1", "1.", ".5", "--1", "1.2.3", "NaN", "∞"} {
		if d, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) = %s, want an error", bad, d)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"1.125", "-0.5", "1e3", "", strings.Repeat("1", 62), "-" + strings.Repeat("9", 60) + ".995"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		if err != nil {
			return
		}
		// What Parse reads, Text writes back to the cent, and that text parses again.
		if _, err := Parse(Text(d)); err != nil {
			t.Fatalf("Text(Parse(%q)) = %q does not parse: %v", s, Text(d), err)
		}
	})
}
