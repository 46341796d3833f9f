package ledger

import (
	"time"
	"unicode/utf8"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	"github.com/shopspring/decimal"
)

// ValidateCommand checks what can be checked without the ledger's state: the idempotency
// key of a command that writes a line item, then the command's own validate. The leader runs
// it before proposing; apply runs it again, because a Raft entry is outside input too.
func ValidateCommand(c Command) *Error {
	if c.Body == nil {
		return Errf(errcode.Malformed, "", "empty command")
	}
	spec := specOf(c.Body)
	if spec == nil {
		return Errf(errcode.Malformed, "", "unsupported command %T", c.Body)
	}
	if spec.lineItem {
		if c.Key == "" {
			return Errf(errcode.MissingField, "key", "an idempotency key is required")
		}
		if err := text("key", c.Key, MaxKeyLen); err != nil {
			return err
		}
	}
	return c.Body.validate()
}

func firstErr(errs ...*Error) *Error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func required(field, v string) *Error {
	if v == "" {
		return Errf(errcode.MissingField, field, "%s is required", field)
	}
	return nil
}

func text(field, v string, max int) *Error {
	if len(v) > max {
		return Errf(errcode.TooLarge, field, "longer than %d bytes", max)
	}
	if !utf8.ValidString(v) {
		return Errf(errcode.InvalidValue, field, "not valid UTF-8")
	}
	return nil
}

// CheckID checks a required identifier read from outside a command (an invoice line's
// department, project or item) by the rules every command's ids follow.
func CheckID(field, v string) *Error { return id(field, v, true) }

// id checks an identifier: printable, no spaces or control characters, bounded.
func id(field, v string, req bool) *Error {
	if v == "" {
		if req {
			return Errf(errcode.MissingField, field, "%s is required", field)
		}
		return nil
	}
	if err := text(field, v, MaxIDLen); err != nil {
		return err
	}
	for _, r := range v {
		if r <= ' ' || r == 0x7f {
			return Errf(errcode.InvalidValue, field, "%q contains a space or control character", v)
		}
	}
	return nil
}

func nonNegative(field string, d decimal.Decimal) *Error {
	if !checkDecimalBounds(d) {
		return Errf(errcode.InvalidQuantity, field, "out of range")
	}
	if d.IsNegative() {
		return Errf(errcode.InvalidQuantity, field, "must not be negative, got %s", d)
	}
	return nil
}

func positive(field string, d decimal.Decimal) *Error {
	if err := nonNegative(field, d); err != nil {
		return err
	}
	if !d.IsPositive() {
		return Errf(errcode.InvalidQuantity, field, "must be positive, got %s", d)
	}
	return nil
}

func instant(field string, t time.Time, req bool) *Error {
	if t.IsZero() {
		if req {
			return Errf(errcode.MissingField, field, "%s is required", field)
		}
		return nil
	}
	if y := t.In(calendar.Shanghai).Year(); y < MinYear || y > MaxYear {
		return Errf(errcode.InvalidTime, field, "year %d outside %d–%d", y, MinYear, MaxYear)
	}
	return nil
}

func dateInRange(field string, d calendar.Date) *Error {
	if d.Year < MinYear || d.Year > MaxYear {
		return Errf(errcode.InvalidDate, field, "date %s outside %d–%d", d, MinYear, MaxYear)
	}
	return nil
}
