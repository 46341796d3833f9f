package rating

import (
	"math"

	"github.com/shopspring/decimal"
)

// units is an exact sum of quantity × days: in an int64 while the terms are small whole
// numbers (nearly always), in a decimal for the rest. Adding to it allocates nothing on the
// fast path, which is what lets a year of 100,000 resources rate in seconds.
type units struct {
	n   int64
	dec decimal.Decimal
}

// smallWhole returns q as an int64 when it is a whole number below 10⁹.
func smallWhole(q decimal.Decimal) (int64, bool) {
	if q.Exponent() != 0 || q.NumDigits() > 9 || q.IsNegative() {
		return 0, false
	}
	return q.CoefficientInt64(), true
}

// add adds q × days; qWhole and ok are smallWhole(q), computed once by the caller.
func (u *units) add(q decimal.Decimal, qWhole int64, ok bool, days int64) {
	if ok && days < 1<<20 { // < 10⁹ × 2²⁰ < 2⁵⁰: no overflow in the product
		if p := qWhole * days; u.n <= math.MaxInt64-p {
			u.n += p
			return
		}
	}
	u.dec = u.dec.Add(q.Mul(decimal.NewFromInt(days)))
}

func (u units) value() decimal.Decimal {
	if u.dec.IsZero() {
		return decimal.NewFromInt(u.n)
	}
	return u.dec.Add(decimal.NewFromInt(u.n))
}

// part is what a line holds at one (price, multiplier) pair: its charge is price × units
// (over the line's divisor), its amount that × the multiplier.
type part struct {
	price, mult int32
	units       units
}
