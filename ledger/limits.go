package ledger

import (
	"strings"

	"github.com/cloudledger/cloudledger/errcode"
	"github.com/shopspring/decimal"
)

// Limits on everything that arrives from outside (TIGER_STYLE): named, tested at the boundary.
const (
	MaxIDLen             = 128        // department, project, provider, resource, item, quota class ids
	MaxKeyLen            = 256        // idempotency keys
	MaxTextLen           = 1024       // names, approval references, actors
	MaxCommandsPerBatch  = 10_000     // commands in one request
	MaxDecimalLen        = 40         // characters of a decimal literal
	MaxIntegerDigits     = 18         // digits before the point
	MaxFractionDigits    = 6          // digits after the point
	MaxCalendarDays      = 400        // entries in one calendar year schedule
	MinYear, MaxYear     = 2000, 2200 // event and effective dates outside are rejected
	MaxBatchEncodedBytes = 64 << 20   // one Raft entry
)

// ParseDecimal parses a plain decimal literal from outside input. It refuses exponents
// (1E1000000000 would allocate hundreds of MB once used) and anything longer than the
// limits before handing it to shopspring/decimal.
func ParseDecimal(s string) (decimal.Decimal, error) {
	if s == "" {
		return decimal.Zero, errDecimal("empty")
	}
	if len(s) > MaxDecimalLen {
		return decimal.Zero, errDecimal("longer than %d characters", MaxDecimalLen)
	}
	body := s
	if body[0] == '-' || body[0] == '+' {
		body = body[1:]
	}
	intPart, frac, hasPoint := strings.Cut(body, ".")
	if intPart == "" && (!hasPoint || frac == "") {
		return decimal.Zero, errDecimal("%q is not a number", s)
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return decimal.Zero, errDecimal("%q is not a plain decimal number", s)
			}
		}
	}
	if len(strings.TrimLeft(intPart, "0")) > MaxIntegerDigits {
		return decimal.Zero, errDecimal("more than %d integer digits", MaxIntegerDigits)
	}
	if len(frac) > MaxFractionDigits {
		return decimal.Zero, errDecimal("more than %d decimal places", MaxFractionDigits)
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Zero, errDecimal("%q: %v", s, err)
	}
	return d, nil
}

func errDecimal(format string, args ...any) *Error {
	return Errf(errcode.InvalidQuantity, "", format, args...)
}

// checkDecimalBounds re-checks a decimal that arrived already parsed (e.g. from a decoded
// Raft entry), so a hostile entry cannot smuggle a huge exponent past ParseDecimal.
func checkDecimalBounds(d decimal.Decimal) bool {
	exp := d.Exponent()
	if exp > 0 || exp < -MaxFractionDigits {
		// normalise: shopspring may carry trailing zeros in the exponent
		if exp > 0 && exp <= MaxIntegerDigits {
			return len(d.Coefficient().String()) <= MaxIntegerDigits+1
		}
		if exp > 0 {
			return false
		}
		d2 := d.Truncate(MaxFractionDigits)
		if !d2.Equal(d) {
			return false
		}
	}
	return len(d.Coefficient().String()) <= MaxIntegerDigits+MaxFractionDigits+1
}
