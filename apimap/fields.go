package apimap

import (
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	"github.com/cloudledger/cloudledger/interchange"
	"github.com/cloudledger/cloudledger/ledger"
)

// maxTimeLen bounds a time literal before it is parsed ("2026-01-02T10:00:00.123456789+08:00"
// is 35 characters).
const maxTimeLen = 40

// maxOffset is the largest UTC offset of any real zone (Kiribati, +14:00).
const maxOffset = 14 * 60 * 60

// ParseTime parses an RFC 3339 time WITH an offset ("2026-01-02T10:00:00+08:00" or
// "2026-01-02T02:00:00Z"); a time without one ("2026-01-02T10:00:00") is invalid_time, since
// it would mean different instants to different readers. The result is in Asia/Shanghai.
// An empty string is missing_field. Errors name field.
func ParseTime(field, s string) (time.Time, *errcode.Error) {
	if s == "" {
		return time.Time{}, errf(errcode.MissingField, field, "%s is required (RFC 3339 with an offset, e.g. 2026-01-02T10:00:00+08:00)", field)
	}
	bad := func() (time.Time, *errcode.Error) {
		return time.Time{}, errf(errcode.InvalidTime, field, "must be an RFC 3339 time with an offset (e.g. 2026-01-02T10:00:00+08:00), got %s", interchange.Echo(s))
	}
	if len(s) > maxTimeLen {
		return bad()
	}
	var t time.Time
	// UnmarshalText is Go's strict RFC 3339 parser: it requires the offset (Z or ±hh:mm) and
	// rejects out-of-range fields and trailing text.
	if err := t.UnmarshalText([]byte(s)); err != nil {
		return bad()
	}
	if _, off := t.Zone(); off > maxOffset || off < -maxOffset {
		return bad()
	}
	return t.In(calendar.Shanghai), nil
}

// ParseExpires parses an expiry (events.csv "expires"): "" is no expiry (the zero time); a
// date YYYY-MM-DD means the END of that day in Asia/Shanghai, stored as the next day's
// 00:00 +08:00 (ledger.ExpiryDay maps it back); anything else must be an RFC 3339 time with
// an offset. Errors name the field "expires".
func ParseExpires(s string) (time.Time, *errcode.Error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if !strings.ContainsAny(s, "Tt:") { // no time of day: a date
		d, err := parseDate("expires", s)
		if err != nil {
			return time.Time{}, err
		}
		return d.AddDays(1).Start(), nil
	}
	return ParseTime("expires", s)
}

// parseDate parses a strict YYYY-MM-DD date; "" is missing_field.
func parseDate(field, s string) (calendar.Date, *errcode.Error) {
	if s == "" {
		return calendar.Date{}, errf(errcode.MissingField, field, "%s is required (YYYY-MM-DD)", field)
	}
	if !dateShaped(s) {
		return calendar.Date{}, errf(errcode.InvalidDate, field, "must be a date YYYY-MM-DD, got %s", interchange.Echo(s))
	}
	d, err := calendar.ParseDate(s)
	if err != nil {
		return calendar.Date{}, errf(errcode.InvalidDate, field, "%s is not a day of the calendar", interchange.Echo(s))
	}
	return d, nil
}

// dateShaped reports whether s is digits in the form YYYY-MM-DD.
func dateShaped(s string) bool {
	if len(s) != len("2006-01-02") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i == 4 || i == 7 {
			if s[i] != '-' {
				return false
			}
		} else if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseAmount parses a quantity, price or quota through ledger.ParseDecimal (no exponents,
// bounded digits); "" is missing_field, a negative value invalid_quantity. positive also
// refuses zero.
func parseAmount(field, s string, positive bool) (decimal.Decimal, *errcode.Error) {
	if s == "" {
		return decimal.Zero, errf(errcode.MissingField, field, "%s is required", field)
	}
	d, err := ledger.ParseDecimal(s)
	if err != nil {
		msg := err.Error()
		if le, ok := err.(*errcode.Error); ok {
			msg = le.Message
		}
		return decimal.Zero, errf(errcode.InvalidQuantity, field, "%s", msg)
	}
	switch {
	case positive && !d.IsPositive():
		return decimal.Zero, errf(errcode.InvalidQuantity, field, "must be positive, got %s", s)
	case d.IsNegative():
		return decimal.Zero, errf(errcode.InvalidQuantity, field, "must not be negative, got %s", s)
	}
	return d, nil
}

// oneOf checks that s is one of the allowed values; "" is missing_field.
func oneOf(field, s string, allowed ...string) *errcode.Error {
	if s == "" {
		return errf(errcode.MissingField, field, "%s is required (%s)", field, orList(allowed))
	}
	for _, a := range allowed {
		if s == a {
			return nil
		}
	}
	return errf(errcode.InvalidValue, field, "must be %s, not %s", orList(allowed), interchange.Echo(s))
}

func orList(v []string) string {
	if len(v) <= 2 {
		return strings.Join(v, " or ")
	}
	return strings.Join(v[:len(v)-1], ", ") + " or " + v[len(v)-1]
}

// trimmed wraps a field getter so that surrounding white space never matters.
func trimmed(get func(string) string) func(string) string {
	return func(name string) string { return strings.TrimSpace(get(name)) }
}
