// Package money writes and reads the product's amounts, in one place (SPEC: money is a
// decimal, rounded half-up, never a float). Amounts are yuan with two decimals; evaluation
// multipliers have four; prices and quantities keep their own digits.
//
// Half-up here is what 四舍五入 means and what the ledger and the rating do: a half rounds
// away from zero, 1.125 → 1.13 and −1.125 → −1.13 (not the banker's 1.12).
package money

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// Places is the number of decimals of an amount; MultiplierPlaces of a multiplier.
const (
	Places           = 2
	MultiplierPlaces = 4
	// MaxTextLen bounds a decimal text Parse reads.
	MaxTextLen = 64
)

// Round is d to the cent, half-up.
func Round(d decimal.Decimal) decimal.Decimal { return d.Round(Places) }

// Text is an amount as every export and answer writes it: two decimals, half-up, a minus
// sign and no thousands separators ("318030.00", "-1.13").
func Text(d decimal.Decimal) string { return d.StringFixed(Places) }

// Multiplier is an evaluation multiplier as written: four decimals, half-up ("0.9800").
func Multiplier(d decimal.Decimal) string { return d.StringFixed(MultiplierPlaces) }

// Grouped is an amount for reading: Text with thousands separators ("1,234,567.80").
func Grouped(d decimal.Decimal) string { return Group(Text(d)) }

// Group puts thousands separators into a plain decimal text, keeping its decimals.
func Group(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if hasFrac {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

// ErrNotADecimal is returned by Parse for text that is not a plain decimal.
var ErrNotADecimal = errors.New("not a plain decimal")

// Parse reads a plain decimal as the API and the exports write it: an optional minus,
// digits, an optional point and digits — no exponent, no plus, no separators, no spaces.
// What it refuses is an error, never zero: a figure that cannot be read is not shown.
func Parse(s string) (decimal.Decimal, error) {
	if s == "" || len(s) > MaxTextLen {
		return decimal.Zero, fmt.Errorf("%w: %q", ErrNotADecimal, s)
	}
	body := strings.TrimPrefix(s, "-")
	intPart, frac, hasPoint := strings.Cut(body, ".")
	if intPart == "" || hasPoint && frac == "" || !digits(intPart) || !digits(frac) {
		return decimal.Zero, fmt.Errorf("%w: %q", ErrNotADecimal, s)
	}
	d := decimal.RequireFromString(s)
	if len(Text(d)) > MaxTextLen {
		// What Parse reads, Text writes back within the bound (amounts are far smaller: the
		// ledger keeps 18 digits before the point).
		return decimal.Zero, fmt.Errorf("%w: %q is too large", ErrNotADecimal, s)
	}
	return d, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// excelDigits is the number of significant digits Excel (and excelize) keeps of a number.
const excelDigits = 15

// ExcelNumber is the float64 of a plain decimal text for an XLSX cell ("-1234.50") when that float prints
// back, shortest and cut to Excel's digits, as the same number; ok is false otherwise.
func ExcelNumber(text string) (float64, bool) {
	first, last, n := -1, -1, 0 // positions of the first and last non-zero digit
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '-' && i == 0, c == '.':
		case c >= '0' && c <= '9':
			if c != '0' {
				if first < 0 {
					first = n
				}
				last = n
			}
			n++
		default:
			return 0, false // not a plain decimal
		}
	}
	if first >= 0 && last-first+1 > excelDigits {
		return 0, false
	}
	f, err := strconv.ParseFloat(text, 64)
	return f, err == nil
}
