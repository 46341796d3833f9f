package ledger

import (
	"encoding/binary"
	"math"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
)

// A small append-only binary codec. It is the canonical encoding hashed into the chain, so
// it must never change meaning: add fields only at the end of a body, behind a new version.

type encoder struct{ b []byte }

func (e *encoder) u8(v uint8)       { e.b = append(e.b, v) }
func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) str(s string)     { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) bytes(p []byte)   { e.uvarint(uint64(len(p))); e.b = append(e.b, p...) }
func (e *encoder) boolean(v bool) {
	if v {
		e.u8(1)
	} else {
		e.u8(0)
	}
}

// dec writes a decimal by its canonical string (trailing zeros dropped), so 1.50 and 1.5
// encode alike and hash alike.
func (e *encoder) dec(d decimal.Decimal) { e.str(d.String()) }

// tm writes an instant as Unix nanoseconds; the zero time is written as MinInt64 so that it
// survives a round trip.
func (e *encoder) tm(t time.Time) {
	if t.IsZero() {
		e.varint(math.MinInt64)
		return
	}
	e.varint(t.UnixNano())
}

func (e *encoder) date(d calendar.Date) {
	e.varint(int64(d.Year))
	e.u8(uint8(d.Month))
	e.u8(uint8(d.Day))
}

type decoder struct {
	b   []byte
	err *Error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = Errf(errcode.Malformed, "", "bad encoding: %s", what)
	}
}

func (d *decoder) u8() uint8 {
	if d.err != nil || len(d.b) < 1 {
		d.fail("short byte")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 || n > 1 && d.b[n-1] == 0 {
		d.fail("bad uvarint") // or an overlong one: one value, one encoding
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 || n > 1 && d.b[n-1] == 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) raw(max int) []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) || n > uint64(max) {
		d.fail("length out of range")
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) str(max int) string { return string(d.raw(max)) }

func (d *decoder) boolean() bool {
	switch d.u8() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail("bad bool")
	return false
}

func (d *decoder) dec() decimal.Decimal { return d.decimalOf(d.raw(MaxDecimalLen)) }

// decimalOf parses an encoded decimal already read (zero once decoding has failed).
func (d *decoder) decimalOf(b []byte) decimal.Decimal {
	if d.err != nil {
		return decimal.Zero
	}
	v, err := ParseDecimal(string(b))
	if err != nil {
		d.fail("bad decimal")
		return decimal.Zero
	}
	return v
}

func (d *decoder) tm() time.Time {
	v := d.varint()
	if d.err != nil || v == math.MinInt64 {
		return time.Time{}
	}
	return time.Unix(0, v).In(calendar.Shanghai)
}

func (d *decoder) date() calendar.Date {
	y := d.varint()
	m := d.u8()
	day := d.u8()
	if d.err != nil {
		return calendar.Date{}
	}
	if y < MinYear || y > MaxYear || m < 1 || m > 12 || day < 1 || int(day) > calendar.NewDate(int(y), time.Month(m), 1).DaysIn() {
		d.fail("bad date")
		return calendar.Date{}
	}
	return calendar.NewDate(int(y), time.Month(m), int(day))
}

func (d *decoder) done() {
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
}
