package calendar

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// ErrUnknownYear matches (with errors.Is) every error caused by a date in a year
// with no loaded schedule. The concrete error is an *UnknownYearError naming the year.
var ErrUnknownYear = errors.New("calendar: no official schedule loaded")

// UnknownYearError reports that answering needed a day of a year whose official
// schedule is not loaded. Guessing from weekends alone would misjudge that year's
// holidays, so the caller gets this error instead and the operator can load the
// year's notice.
type UnknownYearError struct {
	Year int
	Date Date // the day that needed it
}

func (e *UnknownYearError) Error() string {
	return fmt.Sprintf("calendar: no official schedule loaded for %d", e.Year)
}

// Is makes errors.Is(err, ErrUnknownYear) true.
func (e *UnknownYearError) Is(target error) bool { return target == ErrUnknownYear }

// Calendar answers working-day questions for the years it holds. It is immutable
// after New, so one value can be shared between goroutines and replicas.
type Calendar struct {
	years map[int]year
}

type year struct {
	schedule YearSchedule
	isOffDay map[Date]bool // the listed days only; other days follow the weekend rule
}

// New builds a calendar from schedules; a later schedule for a year replaces an
// earlier one, so New(append(Builtin(), loaded...)...) lets an operator correct or
// supersede a shipped year.
//
// New is total: it never fails or panics, because it runs while a ledger replays its
// replicated log. Schedules are expected to have passed ParseYearSchedule or Validate
// first; an entry whose date does not parse or lies outside its schedule's year is
// skipped, and for a date listed twice the later entry wins.
func New(years ...YearSchedule) *Calendar {
	c := &Calendar{years: make(map[int]year, len(years))}
	for _, s := range years {
		y := year{schedule: s.clone(), isOffDay: make(map[Date]bool, len(s.Days))}
		for _, day := range s.Days {
			d, err := parseDate(day.Date)
			if err != nil || d.Year != s.Year {
				continue
			}
			y.isOffDay[d] = day.IsOffDay
		}
		c.years[s.Year] = y
	}
	return c
}

// With returns a new calendar with s added, replacing any schedule for s.Year; c is
// unchanged.
func (c *Calendar) With(s YearSchedule) *Calendar {
	return New(append(c.Schedules(), s)...)
}

// Years lists the years with a schedule, in increasing order.
func (c *Calendar) Years() []int {
	if c == nil {
		return nil
	}
	out := make([]int, 0, len(c.years))
	for y := range c.years {
		out = append(out, y)
	}
	slices.Sort(out)
	return out
}

// HasYear reports whether y has a schedule.
func (c *Calendar) HasYear(y int) bool {
	if c == nil {
		return false
	}
	_, ok := c.years[y]
	return ok
}

// Schedule returns a copy of the schedule held for year y.
func (c *Calendar) Schedule(y int) (YearSchedule, bool) {
	if c == nil {
		return YearSchedule{}, false
	}
	s, ok := c.years[y]
	if !ok {
		return YearSchedule{}, false
	}
	return s.schedule.clone(), true
}

// Schedules returns copies of every schedule held, by increasing year.
func (c *Calendar) Schedules() []YearSchedule {
	var out []YearSchedule
	for _, y := range c.Years() {
		s, _ := c.Schedule(y)
		out = append(out, s)
	}
	return out
}

// IsWorkingDay reports whether d is worked: listed holidays are off, listed adjusted
// weekends are worked, and any other day is worked from Monday to Friday. A day in a
// year without a schedule is an *UnknownYearError.
func (c *Calendar) IsWorkingDay(d Date) (bool, error) {
	if !d.Valid() {
		return false, fmt.Errorf("calendar: invalid date %04d-%02d-%02d", d.Year, int(d.Month), d.Day)
	}
	if c == nil {
		return false, &UnknownYearError{Year: d.Year, Date: d}
	}
	y, ok := c.years[d.Year]
	if !ok {
		return false, &UnknownYearError{Year: d.Year, Date: d}
	}
	if off, listed := y.isOffDay[d]; listed {
		return !off, nil
	}
	wd := d.Weekday()
	return wd != time.Saturday && wd != time.Sunday, nil
}

// Deadline is the n-th working day before expiry, the expiry day itself not counted
// (SPEC.md, Ledger: an extension must be requested at least 15 working days before
// the current expiry). A request made on or before the returned day is in time. The
// expiry day's own year need not be loaded, since that day is never judged; every
// day stepped over must be.
func (c *Calendar) Deadline(expiry Date, n int) (Date, error) {
	return c.step(expiry, n, -1)
}

// Due is the n-th working day after from, from itself not counted.
func (c *Calendar) Due(from Date, n int) (Date, error) {
	return c.step(from, n, +1)
}

// step walks one day at a time in direction dir until it has passed n working days.
// The walk always ends: it either counts n days or reaches a year without a
// schedule, and only finitely many years are loaded.
func (c *Calendar) step(start Date, n, dir int) (Date, error) {
	if n < 1 {
		return Date{}, fmt.Errorf("calendar: the number of working days must be at least 1, got %d", n)
	}
	if !start.Valid() {
		return Date{}, fmt.Errorf("calendar: invalid date %04d-%02d-%02d", start.Year, int(start.Month), start.Day)
	}
	d := start
	for {
		d = d.AddDays(dir)
		ok, err := c.IsWorkingDay(d)
		if err != nil {
			return Date{}, err
		}
		if ok {
			n--
			if n == 0 {
				return d, nil
			}
		}
	}
}
