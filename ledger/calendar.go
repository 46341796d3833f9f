package ledger

import (
	"encoding/json"
	"slices"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
)

// TypeLoadCalendar installs (or replaces) a year of the official working-day schedule.
const TypeLoadCalendar CommandType = 8

func init() {
	register(TypeLoadCalendar, "calendar", writesLineItem, func() Body { return new(LoadCalendar) })
}

// LoadCalendar installs (or replaces) a year of the official working-day schedule.
type LoadCalendar struct{ Schedule calendar.YearSchedule }

func (*LoadCalendar) Type() CommandType { return TypeLoadCalendar }

func (b *LoadCalendar) encode(e *encoder) {
	e.varint(int64(b.Schedule.Year))
	e.uvarint(uint64(len(b.Schedule.Days)))
	for _, day := range b.Schedule.Days {
		e.str(day.Name)
		e.str(day.Date)
		e.boolean(day.IsOffDay)
	}
}

func (b *LoadCalendar) decode(d *decoder) {
	b.Schedule.Year = int(d.varint())
	n := d.uvarint()
	if n > MaxCalendarDays {
		d.fail("too many calendar days")
		return
	}
	b.Schedule.Days = make([]calendar.Day, 0, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		b.Schedule.Days = append(b.Schedule.Days, calendar.Day{Name: d.str(MaxTextLen), Date: d.str(MaxIDLen), IsOffDay: d.boolean()})
	}
}

func (b *LoadCalendar) validate(rl rules) *Error {
	raw, err := json.Marshal(b.Schedule)
	if err != nil {
		return Errf(errcode.Malformed, "days", "%v", err)
	}
	if _, err := calendar.ParseYearSchedule(raw); err != nil {
		return Errf(errcode.InvalidValue, "days", "%v", err)
	}
	return nil
}

func (b *LoadCalendar) apply(t *txn, _ applyContext) *Error {
	if old, ok := t.calendars.get(b.Schedule.Year); ok && slices.Equal(old.Days, b.Schedule.Days) {
		return errUnchanged
	}
	t.calendars.put(b.Schedule.Year, b.Schedule)
	t.rebuildCalendar()
	return nil
}

// rebuildCalendar is the built-in schedules with every loaded year on top.
func (t *txn) rebuildCalendar() {
	years := calendar.Builtin()
	var loaded []int
	for x := t.calendars; x != nil; x = x.parent {
		for y := range x.m {
			loaded = append(loaded, y)
		}
	}
	slices.Sort(loaded)
	loaded = slices.Compact(loaded)
	for _, y := range loaded {
		s, _ := t.calendars.get(y)
		years = append(years, s)
	}
	t.cal = calendar.New(years...)
}
