package calendar

import (
	"cmp"
	"fmt"
	"time"
)

// Shanghai is Asia/Shanghai as a fixed +08:00 zone. China has observed no daylight
// saving time since 1991, so the fixed offset is exact for every date we handle, and
// unlike time.LoadLocation it needs no tzdata (the server runs in a FROM scratch image).
var Shanghai = time.FixedZone("Asia/Shanghai", 8*60*60)

// Date is a civil day with no time of day and no zone. It is comparable, so it can
// be used with == and as a map key; that only works because every constructor in
// this package returns it normalised (see Valid).
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// NewDate returns the day y-m-d, normalising out-of-range months and days the way
// time.Date does (2026-01-32 is 2026-02-01).
func NewDate(y int, m time.Month, d int) Date {
	return dateOfCivil(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
}

// dateOfCivil reads the civil fields of t in t's own location.
func dateOfCivil(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// DateOf returns the Asia/Shanghai day of an instant, whatever location t carries.
func DateOf(t time.Time) Date {
	return dateOfCivil(t.In(Shanghai))
}

// ParseDate parses exactly "YYYY-MM-DD" and rejects days that do not exist
// (2026-02-30) instead of normalising them, because a date typed by an operator or
// read from a schedule file that does not exist is a mistake, not a request for the
// following month.
func ParseDate(s string) (Date, error) {
	d, err := parseDate(s)
	if err != nil {
		return Date{}, fmt.Errorf("calendar: %w", err)
	}
	return d, nil
}

// parseDate is ParseDate without the package prefix on errors, for messages that
// already carry one.
func parseDate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, fmt.Errorf("date %q is not in YYYY-MM-DD form", s)
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 {
		return Date{}, fmt.Errorf("date %q is not in YYYY-MM-DD form", s)
	}
	if y < 1 {
		// Year 0 does not exist in the civil calendar, and the zero Date means "none".
		return Date{}, fmt.Errorf("date %q has no year 0", s)
	}
	if m < 1 || m > 12 {
		return Date{}, fmt.Errorf("date %q has no month %d", s, m)
	}
	if n := daysIn(y, time.Month(m)); d < 1 || d > n {
		return Date{}, fmt.Errorf("date %q does not exist (%04d-%02d has %d days)", s, y, m, n)
	}
	return Date{Year: y, Month: time.Month(m), Day: d}, nil
}

// digits parses a fixed-width run of ASCII digits. strconv.Atoi would also accept
// signs, which "YYYY-MM-DD" does not allow.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// daysIn is the number of days in month m of year y (m must be 1..12).
func daysIn(y int, m time.Month) int {
	// Day 0 of the following month is the last day of this one.
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// IsZero reports whether d is the zero Date, which is not a valid day.
func (d Date) IsZero() bool { return d == Date{} }

// Valid reports whether d names a real day in normalised form. A Date built as a
// struct literal can be out of range (Date{2026, 2, 30}); such a value would never
// be equal to the normalised day it stands for, so the calendar refuses it.
func (d Date) Valid() bool {
	return d.Month >= time.January && d.Month <= time.December && d.Day >= 1 && d.Day <= daysIn(d.Year, d.Month)
}

// String formats d as "YYYY-MM-DD".
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// MarshalText encodes d as "YYYY-MM-DD", so a Date is a plain string in JSON. The
// zero Date encodes as "" so that an unset field survives a round trip.
func (d Date) MarshalText() ([]byte, error) {
	if d.IsZero() {
		return []byte{}, nil
	}
	if !d.Valid() {
		return nil, fmt.Errorf("calendar: cannot encode invalid date %04d-%02d-%02d", d.Year, int(d.Month), d.Day)
	}
	return []byte(d.String()), nil
}

// UnmarshalText is the inverse of MarshalText, as strict as ParseDate.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// utc is d's midnight in UTC, which has no offset changes, for day arithmetic.
func (d Date) utc() time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
}

// Start is 00:00 of d in Asia/Shanghai: the first instant of the day.
func (d Date) Start() time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, Shanghai)
}

// AddDays returns the day n days after d (before it when n is negative).
func (d Date) AddDays(n int) Date {
	return NewDate(d.Year, d.Month, d.Day+n)
}

// AddMonths adds n months with the same rules as time.AddDate(0, n, 0): the day of
// month is kept and overflow normalises, so 2026-01-31 plus one month is 2026-03-03.
func (d Date) AddMonths(n int) Date {
	return NewDate(d.Year, d.Month+time.Month(n), d.Day)
}

// Weekday is the day of the week of d.
func (d Date) Weekday() time.Weekday {
	return d.utc().Weekday()
}

// Compare returns -1, 0 or +1 as d is before, equal to or after o.
func (d Date) Compare(o Date) int {
	if c := cmp.Compare(d.Year, o.Year); c != 0 {
		return c
	}
	if c := cmp.Compare(d.Month, o.Month); c != 0 {
		return c
	}
	return cmp.Compare(d.Day, o.Day)
}

// Before reports whether d is an earlier day than o.
func (d Date) Before(o Date) bool { return d.Compare(o) < 0 }

// After reports whether d is a later day than o.
func (d Date) After(o Date) bool { return d.Compare(o) > 0 }

// DaysIn is the number of days in d's month.
func (d Date) DaysIn() int {
	return daysIn(d.Year, d.Month)
}

// DaysBetween returns b - a in days (negative when b is before a).
func DaysBetween(a, b Date) int {
	// Unix seconds rather than time.Sub: a Duration overflows after about 292 years.
	// Both instants are UTC midnights, so the difference is an exact multiple of a day.
	return int((b.utc().Unix() - a.utc().Unix()) / (24 * 60 * 60))
}

// Month is a civil month, formatted "2026-03". Like Date it is comparable and usable
// as a map key.
type Month struct {
	Year  int
	Month time.Month
}

// ParseMonth parses exactly "YYYY-MM".
func ParseMonth(s string) (Month, error) {
	if len(s) != 7 || s[4] != '-' {
		return Month{}, fmt.Errorf("calendar: month %q is not in YYYY-MM form", s)
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	if !ok1 || !ok2 {
		return Month{}, fmt.Errorf("calendar: month %q is not in YYYY-MM form", s)
	}
	if y < 1 {
		return Month{}, fmt.Errorf("calendar: month %q has no year 0", s)
	}
	if m < 1 || m > 12 {
		return Month{}, fmt.Errorf("calendar: month %q has no month %d", s, m)
	}
	return Month{Year: y, Month: time.Month(m)}, nil
}

// MonthOf is the month d falls in.
func MonthOf(d Date) Month { return Month{Year: d.Year, Month: d.Month} }

// String formats m as "YYYY-MM".
func (m Month) String() string {
	return fmt.Sprintf("%04d-%02d", m.Year, int(m.Month))
}

// MarshalText encodes m as "YYYY-MM" (the zero Month as ""), like Date.
func (m Month) MarshalText() ([]byte, error) {
	if m == (Month{}) {
		return []byte{}, nil
	}
	if m.Month < time.January || m.Month > time.December {
		return nil, fmt.Errorf("calendar: cannot encode invalid month %04d-%02d", m.Year, int(m.Month))
	}
	return []byte(m.String()), nil
}

// UnmarshalText is the inverse of MarshalText, as strict as ParseMonth.
func (m *Month) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*m = Month{}
		return nil
	}
	v, err := ParseMonth(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// First is the first day of m.
func (m Month) First() Date { return NewDate(m.Year, m.Month, 1) }

// Last is the last day of m.
func (m Month) Last() Date { return NewDate(m.Year, m.Month+1, 0) }

// Next is the month after m.
func (m Month) Next() Month { return MonthOf(m.First().AddMonths(1)) }

// Prev is the month before m.
func (m Month) Prev() Month { return MonthOf(m.First().AddMonths(-1)) }

// Days is the number of days in m.
func (m Month) Days() int { return m.First().DaysIn() }

// Contains reports whether d falls in m.
func (m Month) Contains(d Date) bool { return MonthOf(d) == m }

// Compare returns -1, 0 or +1 as m is before, equal to or after o.
func (m Month) Compare(o Month) int {
	if c := cmp.Compare(m.Year, o.Year); c != 0 {
		return c
	}
	return cmp.Compare(m.Month, o.Month)
}

// Before reports whether m is an earlier month than o.
func (m Month) Before(o Month) bool { return m.Compare(o) < 0 }

// After reports whether m is a later month than o.
func (m Month) After(o Month) bool { return m.Compare(o) > 0 }
