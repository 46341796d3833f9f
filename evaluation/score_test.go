package evaluation

import (
	"math/big"
	"testing"

	"github.com/shopspring/decimal"
)

// A score is rounded half-up once, from the exact value (SPEC: Evaluation).
func TestRoundHalfUpFromTheExactValue(t *testing.T) {
	for _, c := range []struct {
		num, den int64
		want     string
	}{
		{12345, 1000, "12.35"}, // the half goes up
		{12344, 1000, "12.34"},
		{100, 3, "33.33"},        // 33.333…
		{200, 3, "66.67"},        // 66.666…
		{-12345, 1000, "-12.35"}, // away from zero
		{0, 1, "0"},
	} {
		if got := round(big.NewRat(c.num, c.den), 2); !got.Equal(decimal.RequireFromString(c.want)) {
			t.Errorf("round(%d/%d) = %s, want %s", c.num, c.den, got, c.want)
		}
	}
}

// A yearly score is the mean of the published quarters, exact, rounded half-up once:
// (70 + 70.01 + 70.01) ÷ 3 = 70.00666… → 70.01; (59.995 + 60) ÷ 2 = 59.9975 → 60.00.
func TestMean(t *testing.T) {
	d := decimal.RequireFromString
	if got := Mean([]decimal.Decimal{d("70"), d("70.01"), d("70.01")}); !got.Equal(d("70.01")) {
		t.Errorf("mean = %s, want 70.01", got)
	}
	if got := Mean([]decimal.Decimal{d("59.995"), d("60")}); !got.Equal(d("60")) {
		t.Errorf("mean = %s, want 60.00", got)
	}
	if got := Mean(nil); !got.IsZero() {
		t.Errorf("mean of nothing = %s", got)
	}
}
