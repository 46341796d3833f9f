package calendar

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Every expected value in this file was worked out by hand from the State Council
// notices and a paper calendar, never by running the code under test. Weekdays used
// below: 2026-01-01 is a Thursday, 2026-02-01 a Sunday, 2026-09-01 a Tuesday,
// 2026-10-01 a Thursday, 2025-01-01 a Wednesday, 2025-10-01 a Wednesday and
// 2027-01-01 a Friday.

const specRef = "SPEC.md, Ledger: working days"

func mustDate(t testing.TB, s string) Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatalf("ParseDate(%q): %v", s, err)
	}
	return d
}

func builtinCalendar() *Calendar { return New(Builtin()...) }

// TestIsWorkingDay2026 checks every 2026 holiday and adjusted working weekend of the
// 2026 notice, plus ordinary weekdays and weekends around them (SPEC.md, Ledger:
// working days).
func TestIsWorkingDay2026(t *testing.T) {
	cases := []struct {
		date    string
		working bool
		why     string
	}{
		// 元旦: 1/1 (Thu) to 1/3 (Sat) off, 1/4 (Sun) worked.
		{"2026-01-01", false, "元旦, Thu"},
		{"2026-01-02", false, "元旦, Fri"},
		{"2026-01-03", false, "元旦, Sat"},
		{"2026-01-04", true, "adjusted working Sunday for 元旦"},
		{"2026-01-05", true, "ordinary Monday"},
		// 春节: 2/15 (Sun) to 2/23 (Mon) off, 2/14 (Sat) and 2/28 (Sat) worked.
		{"2026-02-07", false, "ordinary Saturday"},
		{"2026-02-13", true, "ordinary Friday"},
		{"2026-02-14", true, "adjusted working Saturday for 春节"},
		{"2026-02-15", false, "春节, Sun"},
		{"2026-02-16", false, "春节, Mon"},
		{"2026-02-17", false, "春节, Tue"},
		{"2026-02-18", false, "春节, Wed"},
		{"2026-02-19", false, "春节, Thu"},
		{"2026-02-20", false, "春节, Fri"},
		{"2026-02-21", false, "春节, Sat"},
		{"2026-02-22", false, "春节, Sun"},
		{"2026-02-23", false, "春节, Mon"},
		{"2026-02-24", true, "ordinary Tuesday after 春节"},
		{"2026-02-28", true, "adjusted working Saturday for 春节"},
		{"2026-03-01", false, "ordinary Sunday"},
		// Ordinary week.
		{"2026-03-10", true, "ordinary Tuesday"},
		{"2026-03-14", false, "ordinary Saturday"},
		{"2026-03-15", false, "ordinary Sunday"},
		// 清明节: 4/4 (Sat) to 4/6 (Mon).
		{"2026-04-03", true, "ordinary Friday"},
		{"2026-04-04", false, "清明节, Sat"},
		{"2026-04-05", false, "清明节, Sun"},
		{"2026-04-06", false, "清明节, Mon"},
		{"2026-04-07", true, "ordinary Tuesday"},
		// 劳动节: 5/1 (Fri) to 5/5 (Tue) off, 5/9 (Sat) worked.
		{"2026-05-01", false, "劳动节, Fri"},
		{"2026-05-02", false, "劳动节, Sat"},
		{"2026-05-03", false, "劳动节, Sun"},
		{"2026-05-04", false, "劳动节, Mon"},
		{"2026-05-05", false, "劳动节, Tue"},
		{"2026-05-06", true, "ordinary Wednesday"},
		{"2026-05-09", true, "adjusted working Saturday for 劳动节"},
		{"2026-05-10", false, "ordinary Sunday"},
		// 端午节: 6/19 (Fri) to 6/21 (Sun).
		{"2026-06-18", true, "ordinary Thursday"},
		{"2026-06-19", false, "端午节, Fri"},
		{"2026-06-20", false, "端午节, Sat"},
		{"2026-06-21", false, "端午节, Sun"},
		{"2026-06-22", true, "ordinary Monday"},
		// 中秋节 9/25 (Fri) to 9/27 (Sun); 国庆节 10/1 (Thu) to 10/7 (Wed) off with
		// 9/20 (Sun) and 10/10 (Sat) worked.
		{"2026-09-19", false, "ordinary Saturday"},
		{"2026-09-20", true, "adjusted working Sunday for 国庆节"},
		{"2026-09-24", true, "ordinary Thursday"},
		{"2026-09-25", false, "中秋节, Fri"},
		{"2026-09-26", false, "中秋节, Sat"},
		{"2026-09-27", false, "中秋节, Sun"},
		{"2026-09-28", true, "ordinary Monday"},
		{"2026-09-30", true, "ordinary Wednesday"},
		{"2026-10-01", false, "国庆节, Thu"},
		{"2026-10-02", false, "国庆节, Fri"},
		{"2026-10-03", false, "国庆节, Sat"},
		{"2026-10-04", false, "国庆节, Sun"},
		{"2026-10-05", false, "国庆节, Mon"},
		{"2026-10-06", false, "国庆节, Tue"},
		{"2026-10-07", false, "国庆节, Wed"},
		{"2026-10-08", true, "ordinary Thursday after 国庆节"},
		{"2026-10-09", true, "ordinary Friday"},
		{"2026-10-10", true, "adjusted working Saturday for 国庆节"},
		{"2026-10-11", false, "ordinary Sunday"},
		{"2026-12-31", true, "ordinary Thursday"},
	}
	c := builtinCalendar()
	for _, tc := range cases {
		got, err := c.IsWorkingDay(mustDate(t, tc.date))
		if err != nil {
			t.Errorf("%s: IsWorkingDay(%s): %v", specRef, tc.date, err)
			continue
		}
		if got != tc.working {
			t.Errorf("%s: IsWorkingDay(%s) = %v, want %v (%s)", specRef, tc.date, got, tc.working, tc.why)
		}
	}
}

// TestIsWorkingDay2025 checks the 2025 notice's adjusted working weekends and a few
// of its holidays (SPEC.md, Ledger: working days).
func TestIsWorkingDay2025(t *testing.T) {
	cases := []struct {
		date    string
		working bool
	}{
		{"2025-01-01", false}, // 元旦, Wed
		{"2025-01-02", true},  // ordinary Thursday
		{"2025-01-26", true},  // Sunday worked for 春节
		{"2025-01-27", true},  // ordinary Monday
		{"2025-01-28", false}, // 春节, Tue (除夕)
		{"2025-02-04", false}, // 春节, Tue
		{"2025-02-05", true},  // ordinary Wednesday
		{"2025-02-08", true},  // Saturday worked for 春节
		{"2025-04-27", true},  // Sunday worked for 劳动节
		{"2025-05-05", false}, // 劳动节, Mon
		{"2025-06-02", false}, // 端午节, Mon
		{"2025-09-28", true},  // Sunday worked for 国庆节、中秋节
		{"2025-10-08", false}, // 国庆节、中秋节, Wed
		{"2025-10-09", true},  // ordinary Thursday
		{"2025-10-11", true},  // Saturday worked for 国庆节、中秋节
		{"2025-10-12", false}, // ordinary Sunday
	}
	c := builtinCalendar()
	for _, tc := range cases {
		got, err := c.IsWorkingDay(mustDate(t, tc.date))
		if err != nil || got != tc.working {
			t.Errorf("%s: IsWorkingDay(%s) = %v, %v; want %v", specRef, tc.date, got, err, tc.working)
		}
	}
}

// TestBuiltinExactEntries checks that the embedded files list exactly the days of
// the notices, no more and no fewer (SPEC.md, Ledger: working days).
func TestBuiltinExactEntries(t *testing.T) {
	span := func(from, to string) []string {
		var out []string
		for d := mustDate(t, from); !d.After(mustDate(t, to)); d = d.AddDays(1) {
			out = append(out, d.String())
		}
		return out
	}
	want := map[int]struct{ off, worked []string }{
		2025: {
			off: slices.Concat(
				[]string{"2025-01-01"},
				span("2025-01-28", "2025-02-04"),
				span("2025-04-04", "2025-04-06"),
				span("2025-05-01", "2025-05-05"),
				span("2025-05-31", "2025-06-02"),
				span("2025-10-01", "2025-10-08")),
			worked: []string{"2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"},
		},
		2026: {
			off: slices.Concat(
				span("2026-01-01", "2026-01-03"),
				span("2026-02-15", "2026-02-23"),
				span("2026-04-04", "2026-04-06"),
				span("2026-05-01", "2026-05-05"),
				span("2026-06-19", "2026-06-21"),
				span("2026-09-25", "2026-09-27"),
				span("2026-10-01", "2026-10-07")),
			worked: []string{"2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"},
		},
	}
	// 2025: 1 + 8 + 3 + 5 + 3 + 8 = 28 off days; 2026: 3 + 9 + 3 + 5 + 3 + 3 + 7 = 33.
	if n := len(want[2025].off); n != 28 {
		t.Fatalf("test table: 2025 has %d off days, want 28", n)
	}
	if n := len(want[2026].off); n != 33 {
		t.Fatalf("test table: 2026 has %d off days, want 33", n)
	}
	got := Builtin()
	if len(got) != 2 || got[0].Year != 2025 || got[1].Year != 2026 {
		t.Fatalf("%s: Builtin() years = %v, want 2025 and 2026", specRef, yearsOf(got))
	}
	for _, s := range got {
		var off, worked []string
		for _, d := range s.Days {
			if d.Name == "" {
				t.Errorf("%s: %d entry %s has no name", specRef, s.Year, d.Date)
			}
			if d.IsOffDay {
				off = append(off, d.Date)
			} else {
				worked = append(worked, d.Date)
			}
		}
		slices.Sort(off)
		slices.Sort(worked)
		if w := want[s.Year]; !slices.Equal(off, w.off) || !slices.Equal(worked, w.worked) {
			t.Errorf("%s: Builtin %d\n off    %v\n worked %v\nwant\n off    %v\n worked %v", specRef, s.Year, off, worked, w.off, w.worked)
		}
	}
}

func yearsOf(ss []YearSchedule) []int {
	var out []int
	for _, s := range ss {
		out = append(out, s.Year)
	}
	return out
}

// TestDeadlineDue steps across 2026 National Day and Spring Festival, including the
// adjusted working weekends (SPEC.md, Ledger: working days: "stepping back 15
// working days from the expiry day, the expiry day itself not counted").
func TestDeadlineDue(t *testing.T) {
	cases := []struct {
		name string
		fn   string // "deadline" or "due"
		from string
		n    int
		want string
	}{
		// From Mon 10/12, not counted: 10/11 Sun off; 10/10 Sat worked (1); 10/9 Fri (2);
		// 10/8 Thu (3); 10/7..10/1 国庆节 off; 9/30 Wed (4); 9/29 (5); 9/28 Mon (6);
		// 9/27..9/25 中秋节 off; 9/24 Thu (7); 9/23 (8); 9/22 (9); 9/21 Mon (10);
		// 9/20 Sun worked (11); 9/19 Sat off; 9/18 Fri (12); 9/17 (13); 9/16 (14);
		// 9/15 Tue (15).
		{"15 before National Day", "deadline", "2026-10-12", 15, "2026-09-15"},
		// 10/11 Sun off; 10/10 Sat worked (1): the adjusted Saturday, not Friday.
		{"Monday after adjusted Saturday", "deadline", "2026-10-12", 1, "2026-10-10"},
		// 10/7..10/1 off; 9/30 Wed (1).
		{"1 before the first day back", "deadline", "2026-10-08", 1, "2026-09-30"},
		// 10/1..10/7 off; 10/8 Thu (1). Not 10/9: the holiday ends on 10/7.
		{"1 after the eve of National Day", "due", "2026-09-30", 1, "2026-10-08"},
		// 10/8 Thu (1), 10/9 Fri (2), 10/10 Sat worked (3).
		{"3 after the eve of National Day", "due", "2026-09-30", 3, "2026-10-10"},
		// 9/19 Sat off; 9/20 Sun worked (1); 9/21 Mon (2).
		{"over adjusted Sunday 9/20", "due", "2026-09-18", 2, "2026-09-21"},
		// 9/25..9/27 中秋节 off; 9/28 Mon (1).
		{"over Mid-Autumn", "due", "2026-09-24", 1, "2026-09-28"},

		// From Mon 3/2, not counted: 3/1 Sun off; 2/28 Sat worked (1); 2/27 Fri (2);
		// 2/26 (3); 2/25 (4); 2/24 Tue (5); 2/23..2/15 春节 off; 2/14 Sat worked (6);
		// 2/13 Fri (7); 2/12 (8); 2/11 (9); 2/10 (10); 2/9 Mon (11); 2/8 Sun and 2/7 Sat
		// off; 2/6 Fri (12); 2/5 (13); 2/4 (14); 2/3 Tue (15).
		{"15 before after Spring Festival", "deadline", "2026-03-02", 15, "2026-02-03"},
		// 3/1 Sun off; 2/28 Sat worked (1).
		{"1 before Monday 3/2 is Saturday 2/28", "deadline", "2026-03-02", 1, "2026-02-28"},
		// 2/23..2/15 off; 2/14 Sat worked (1).
		{"1 before the first day back", "deadline", "2026-02-24", 1, "2026-02-14"},
		// 2/14 Sat worked (1).
		{"Friday before Spring Festival", "due", "2026-02-13", 1, "2026-02-14"},
		// 2/14 (1); 2/15..2/23 off; 2/24 Tue (2).
		{"2 across Spring Festival", "due", "2026-02-13", 2, "2026-02-24"},
		// 2/24 (1), 2/25 (2), 2/26 (3), 2/27 (4), 2/28 Sat worked (5).
		{"5 to adjusted Saturday 2/28", "due", "2026-02-14", 5, "2026-02-28"},
		// 3/1 Sun off; 3/2 Mon (1).
		{"after adjusted Saturday 2/28", "due", "2026-02-28", 1, "2026-03-02"},
		// 2/14 (1); 2/24 (2); 2/25 (3); 2/26 (4); 2/27 (5); 2/28 (6); 3/2 Mon (7);
		// 3/3 (8); 3/4 (9); 3/5 (10); 3/6 Fri (11); 3/7, 3/8 weekend; 3/9 Mon (12);
		// 3/10 (13); 3/11 (14); 3/12 Thu (15).
		{"15 across Spring Festival", "due", "2026-02-13", 15, "2026-03-12"},

		// A plain Monday: Sunday and Saturday off, Friday (1).
		{"Monday 2026-03-16", "deadline", "2026-03-16", 1, "2026-03-13"},
		{"Monday 2026-11-16", "deadline", "2026-11-16", 1, "2026-11-13"},
		{"Monday 2025-03-17", "deadline", "2025-03-17", 1, "2025-03-14"},

		// Across the 2025/2026 boundary, both years built in: from Mon 2026-01-05,
		// 1/4 Sun worked (1); 1/3..1/1 元旦 off; 2025-12-31 Wed (2); 12/30 Tue (3).
		{"back into 2025", "deadline", "2026-01-05", 3, "2025-12-30"},
		// 1/1..1/3 off; 1/4 Sun worked (1); 1/5 Mon (2).
		{"forward into 2026", "due", "2025-12-31", 2, "2026-01-05"},
		// 10/1..10/8 off; 10/9 Thu (1).
		{"over National Day 2025", "due", "2025-09-30", 1, "2025-10-09"},
	}
	c := builtinCalendar()
	for _, tc := range cases {
		from := mustDate(t, tc.from)
		var got Date
		var err error
		if tc.fn == "deadline" {
			got, err = c.Deadline(from, tc.n)
		} else {
			got, err = c.Due(from, tc.n)
		}
		if err != nil {
			t.Errorf("%s: %s: %s(%s, %d): %v", specRef, tc.name, tc.fn, tc.from, tc.n, err)
			continue
		}
		if got.String() != tc.want {
			t.Errorf("%s: %s: %s(%s, %d) = %s, want %s", specRef, tc.name, tc.fn, tc.from, tc.n, got, tc.want)
		}
	}
}

// TestUnknownYear checks that a day in a year without a schedule is an error and
// never a weekends-only guess, also when stepping across a year boundary (SPEC.md,
// Ledger: working days).
func TestUnknownYear(t *testing.T) {
	c := builtinCalendar()
	cases := []struct {
		name string
		call func() error
		year int
	}{
		{"2024 date", func() error { _, err := c.IsWorkingDay(mustDate(t, "2024-06-03")); return err }, 2024},
		{"2027 date", func() error { _, err := c.IsWorkingDay(mustDate(t, "2027-01-04")); return err }, 2027},
		// 2027-01-01 is certainly a holiday, but only a loaded notice may say so.
		{"Due from 2026-12-31 into 2027", func() error { _, err := c.Due(mustDate(t, "2026-12-31"), 1); return err }, 2027},
		// 12/29 (1), 12/30 (2), 12/31 (3), then 2027-01-01 is unknown.
		{"Due 5 from 2026-12-28", func() error { _, err := c.Due(mustDate(t, "2026-12-28"), 5); return err }, 2027},
		// 2025-01-01 is off, so the first step that could count is 2024-12-31.
		{"Deadline from 2025-01-02 into 2024", func() error { _, err := c.Deadline(mustDate(t, "2025-01-02"), 1); return err }, 2024},
		{"empty calendar", func() error { _, err := New().IsWorkingDay(mustDate(t, "2026-03-10")); return err }, 2026},
		{"nil calendar", func() error { _, err := (*Calendar)(nil).Due(mustDate(t, "2026-03-10"), 1); return err }, 2026},
	}
	for _, tc := range cases {
		err := tc.call()
		if !errors.Is(err, ErrUnknownYear) {
			t.Errorf("%s: %s: err = %v, want ErrUnknownYear", specRef, tc.name, err)
			continue
		}
		var uy *UnknownYearError
		if !errors.As(err, &uy) || uy.Year != tc.year {
			t.Errorf("%s: %s: err = %#v, want year %d", specRef, tc.name, err, tc.year)
		}
		if want := "no official schedule loaded for " + strconv.Itoa(tc.year); !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %s: message %q does not contain %q", specRef, tc.name, err, want)
		}
	}
	if got, want := c.Years(), []int{2025, 2026}; !slices.Equal(got, want) {
		t.Errorf("%s: Years() = %v, want %v", specRef, got, want)
	}
	if !c.HasYear(2026) || c.HasYear(2024) || c.HasYear(2027) {
		t.Errorf("%s: HasYear wrong for 2024/2026/2027", specRef)
	}
}

// TestBadArguments: n must be at least 1 and dates must be real days (SPEC.md,
// Ledger: working days).
func TestBadArguments(t *testing.T) {
	c := builtinCalendar()
	d := mustDate(t, "2026-03-10")
	cases := []struct {
		name string
		call func() error
	}{
		{"Deadline n=0", func() error { _, err := c.Deadline(d, 0); return err }},
		{"Deadline n=-1", func() error { _, err := c.Deadline(d, -1); return err }},
		{"Due n=0", func() error { _, err := c.Due(d, 0); return err }},
		{"Due n=-15", func() error { _, err := c.Due(d, -15); return err }},
		{"unnormalised date", func() error { _, err := c.IsWorkingDay(Date{2026, time.February, 30}); return err }},
		{"zero date", func() error { _, err := c.Due(Date{}, 1); return err }},
	}
	for _, tc := range cases {
		err := tc.call()
		if err == nil {
			t.Errorf("%s: %s: no error", specRef, tc.name)
		} else if errors.Is(err, ErrUnknownYear) {
			t.Errorf("%s: %s: got ErrUnknownYear (%v), want an argument error", specRef, tc.name, err)
		}
	}
}

// TestParseYearScheduleRejects covers the strict checks on a schedule an operator
// loads with `calendar load` (SPEC.md, Ledger: working days).
func TestParseYearScheduleRejects(t *testing.T) {
	cases := []struct {
		name, json string
		wantInErr  string
	}{
		{"empty input", ``, "not valid JSON"},
		{"truncated", `{"year": 2027, "days": [`, "not valid JSON"},
		{"trailing garbage", `{"year": 2027, "days": [{"date": "2027-01-01", "isOffDay": true}]} x`, "not valid JSON"},
		{"not an object", `[{"year": 2027}]`, "want a JSON object"},
		{"no year", `{"days": [{"date": "2027-01-01", "isOffDay": true}]}`, `no "year"`},
		{"year as string", `{"year": "2027", "days": [{"date": "2027-01-01", "isOffDay": true}]}`, "want a whole number"},
		{"year fraction", `{"year": 2027.5, "days": [{"date": "2027-01-01", "isOffDay": true}]}`, "want a whole number"},
		{"year null", `{"year": null, "days": [{"date": "2027-01-01", "isOffDay": true}]}`, "want a whole number"},
		{"year too early", `{"year": 1989, "days": [{"date": "1989-01-01", "isOffDay": true}]}`, "outside 1990..2200"},
		{"year too late", `{"year": 2201, "days": [{"date": "2201-01-01", "isOffDay": true}]}`, "outside 1990..2200"},
		{"year twice", `{"year": 2027, "year": 2028, "days": [{"date": "2027-01-01", "isOffDay": true}]}`, `"year" appears more than once`},
		{"no days", `{"year": 2027}`, `no "days"`},
		{"days null", `{"year": 2027, "days": null}`, "want a JSON array"},
		{"days object", `{"year": 2027, "days": {}}`, "want a JSON array"},
		{"days empty (holiday-cn placeholder)", `{"year": 2027, "papers": [], "days": []}`, "lists no days"},
		{"day not an object", `{"year": 2027, "days": [1]}`, "days[0]: want a JSON object"},
		{"no date", `{"year": 2027, "days": [{"name": "元旦", "isOffDay": true}]}`, `days[0]: no "date"`},
		{"date as number", `{"year": 2027, "days": [{"date": 20270101, "isOffDay": true}]}`, "days[0]: \"date\": want a string"},
		{"date not padded", `{"year": 2027, "days": [{"date": "2027-1-1", "isOffDay": true}]}`, "not in YYYY-MM-DD form"},
		{"date with time", `{"year": 2027, "days": [{"date": "2027-01-01T00:00:00+08:00", "isOffDay": true}]}`, "not in YYYY-MM-DD form"},
		{"February 30", `{"year": 2027, "days": [{"date": "2027-01-01", "isOffDay": true}, {"date": "2027-02-30", "isOffDay": true}]}`, `days[1]: date "2027-02-30" does not exist`},
		{"month 13", `{"year": 2027, "days": [{"date": "2027-13-01", "isOffDay": true}]}`, "no month 13"},
		{"day 0", `{"year": 2027, "days": [{"date": "2027-05-00", "isOffDay": true}]}`, "does not exist"},
		{"date in previous year", `{"year": 2027, "days": [{"date": "2026-12-31", "isOffDay": true}]}`, "days[0]: date 2026-12-31 is outside 2027"},
		{"date in next year", `{"year": 2027, "days": [{"date": "2027-01-01", "isOffDay": true}, {"date": "2028-01-01", "isOffDay": true}]}`, "days[1]: date 2028-01-01 is outside 2027"},
		{"duplicate date", `{"year": 2027, "days": [{"date": "2027-01-01", "isOffDay": true}, {"date": "2027-01-02", "isOffDay": true}, {"date": "2027-01-01", "isOffDay": true}]}`, "days[2]: date 2027-01-01 is already listed at days[0]"},
		{"duplicate date, conflicting", `{"year": 2027, "days": [{"date": "2027-02-06", "isOffDay": true}, {"date": "2027-02-06", "isOffDay": false}]}`, "already listed"},
		{"no isOffDay", `{"year": 2027, "days": [{"name": "元旦", "date": "2027-01-01"}]}`, `days[0]: 2027-01-01: no "isOffDay"`},
		{"isOffDay wrong case", `{"year": 2027, "days": [{"date": "2027-01-01", "IsOffDay": true}]}`, `no "isOffDay"`},
		{"isOffDay as string", `{"year": 2027, "days": [{"date": "2027-01-01", "isOffDay": "true"}]}`, "want true or false"},
		{"isOffDay null", `{"year": 2027, "days": [{"date": "2027-01-01", "isOffDay": null}]}`, "want true or false"},
		{"isOffDay twice", `{"year": 2027, "days": [{"date": "2027-01-01", "isOffDay": true, "isOffDay": false}]}`, `"isOffDay" appears more than once`},
		{"name as number", `{"year": 2027, "days": [{"name": 1, "date": "2027-01-01", "isOffDay": true}]}`, `"name": want a string`},
		// 2027-01-05 is a Tuesday: already a working day, so surely a typo.
		{"working weekday", `{"year": 2027, "days": [{"date": "2027-01-05", "isOffDay": false}]}`, "2027-01-05 is a Tuesday"},
	}
	for _, tc := range cases {
		_, err := ParseYearSchedule([]byte(tc.json))
		if err == nil {
			t.Errorf("%s: %s: ParseYearSchedule accepted %s", specRef, tc.name, tc.json)
			continue
		}
		if !strings.Contains(err.Error(), tc.wantInErr) {
			t.Errorf("%s: %s: error %q does not contain %q", specRef, tc.name, err, tc.wantInErr)
		}
		if !strings.HasPrefix(err.Error(), "calendar: ") {
			t.Errorf("%s: %s: error %q lacks the package prefix", specRef, tc.name, err)
		}
	}
}

// fixture2027 is an illustrative 2027 schedule for tests, NOT the official 2027
// notice (which was not published when this was written). 2027-01-01 is a Friday and
// 2027-02-06 a Saturday. It is in the full holiday-cn file layout, with the keys this
// package ignores.
const fixture2027 = `{
    "$schema": "https://raw.githubusercontent.com/NateScarlet/holiday-cn/master/schema.json",
    "$id": "https://raw.githubusercontent.com/NateScarlet/holiday-cn/master/2027.json",
    "year": 2027,
    "papers": ["https://example.invalid/notice-2027"],
    "days": [
        {"name": "元旦", "date": "2027-01-01", "isOffDay": true},
        {"name": "元旦", "date": "2027-01-02", "isOffDay": true},
        {"name": "元旦", "date": "2027-01-03", "isOffDay": true},
        {"name": "春节", "date": "2027-02-06", "isOffDay": false}
    ]
}`

// TestLoad2027 loads a new year as an operator would with `calendar load` and checks
// that its days, and steps into it, now work (SPEC.md, Ledger: working days).
func TestLoad2027(t *testing.T) {
	s, err := ParseYearSchedule([]byte(fixture2027))
	if err != nil {
		t.Fatalf("%s: ParseYearSchedule(2027 fixture): %v", specRef, err)
	}
	want := YearSchedule{Year: 2027, Days: []Day{
		{"元旦", "2027-01-01", true}, {"元旦", "2027-01-02", true}, {"元旦", "2027-01-03", true}, {"春节", "2027-02-06", false},
	}}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("%s: parsed %+v, want %+v", specRef, s, want)
	}
	c := New(append(Builtin(), s)...)
	if got := c.Years(); !slices.Equal(got, []int{2025, 2026, 2027}) {
		t.Errorf("%s: Years() = %v", specRef, got)
	}
	days := []struct {
		date    string
		working bool
	}{
		{"2027-01-01", false}, // listed holiday, Fri
		{"2027-01-04", true},  // ordinary Monday
		{"2027-02-06", true},  // listed working Saturday
		{"2027-02-07", false}, // ordinary Sunday
	}
	for _, tc := range days {
		got, err := c.IsWorkingDay(mustDate(t, tc.date))
		if err != nil || got != tc.working {
			t.Errorf("%s: IsWorkingDay(%s) = %v, %v; want %v", specRef, tc.date, got, err, tc.working)
		}
	}
	steps := []struct {
		fn, from string
		n        int
		want     string
	}{
		// 2027-01-01 off, 01-02 Sat, 01-03 Sun; 01-04 Mon (1).
		{"due", "2026-12-31", 1, "2027-01-04"},
		// 01-03..01-01 off; 2026-12-31 Thu (1).
		{"deadline", "2027-01-04", 1, "2026-12-31"},
	}
	for _, tc := range steps {
		var got Date
		var err error
		if tc.fn == "due" {
			got, err = c.Due(mustDate(t, tc.from), tc.n)
		} else {
			got, err = c.Deadline(mustDate(t, tc.from), tc.n)
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("%s: %s(%s, %d) = %s, %v; want %s", specRef, tc.fn, tc.from, tc.n, got, err, tc.want)
		}
	}
	// With: the same, without rebuilding by hand, and leaving the original alone.
	base := builtinCalendar()
	if c2 := base.With(s); !c2.HasYear(2027) || base.HasYear(2027) {
		t.Errorf("%s: With(2027): HasYear = %v, original HasYear = %v", specRef, c2.HasYear(2027), base.HasYear(2027))
	}
}

// TestLaterScheduleReplaces: a later schedule for a year replaces the earlier one
// whole, so an operator can correct a shipped year (SPEC.md, Ledger: working days).
func TestLaterScheduleReplaces(t *testing.T) {
	// Pretend a corrected 2026 notice made only Tue 2026-03-10 a holiday.
	corrected := YearSchedule{Year: 2026, Days: []Day{{Name: "test", Date: "2026-03-10", IsOffDay: true}}}
	if err := corrected.Validate(); err != nil {
		t.Fatal(err)
	}
	c := New(append(Builtin(), corrected)...)
	cases := []struct {
		date    string
		working bool
	}{
		{"2026-03-10", false}, // now a holiday
		{"2026-10-01", true},  // the old 国庆节 entry is gone: an ordinary Thursday
		{"2026-10-10", false}, // the old adjusted Saturday is gone: an ordinary Saturday
		{"2025-10-08", false}, // 2025 untouched
	}
	for _, tc := range cases {
		got, err := c.IsWorkingDay(mustDate(t, tc.date))
		if err != nil || got != tc.working {
			t.Errorf("%s: IsWorkingDay(%s) = %v, %v; want %v", specRef, tc.date, got, err, tc.working)
		}
	}
	got, _ := c.Schedule(2026)
	if !reflect.DeepEqual(got, corrected) {
		t.Errorf("%s: Schedule(2026) = %+v, want the corrected one", specRef, got)
	}
	// The calendar holds its own copy: changing the caller's slice changes nothing.
	corrected.Days[0].Date = "2026-03-11"
	if ok, _ := c.IsWorkingDay(mustDate(t, "2026-03-10")); ok {
		t.Errorf("%s: calendar changed when the caller's schedule did", specRef)
	}
}

// TestDate covers the civil date type the ledger counts days with (SPEC.md, Ledger:
// working days; days are Asia/Shanghai calendar days).
func TestDate(t *testing.T) {
	for _, s := range []string{"2026-01-02", "2024-02-29", "2000-02-29", "2026-12-31", "1990-01-01"} {
		d, err := ParseDate(s)
		if err != nil || d.String() != s || !d.Valid() {
			t.Errorf("%s: ParseDate(%q) = %v, %v", specRef, s, d, err)
		}
	}
	for _, s := range []string{"2026-02-30", "2025-02-29", "1900-02-29", "2026-04-31", "2026-13-01", "2026-00-10",
		"2026-01-00", "2026-01-32", "2026-1-2", "2026/01/02", "+026-01-02", "-026-01-02", "2026-01-02T00:00:00Z",
		"", " 2026-01-02", "2026-01-0x", "2026-01-02 ", "0000-01-01"} {
		if d, err := ParseDate(s); err == nil {
			t.Errorf("%s: ParseDate(%q) = %v, want error", specRef, s, d)
		}
	}

	eq := func(what string, got Date, want string) {
		t.Helper()
		if got.String() != want {
			t.Errorf("%s: %s = %s, want %s", specRef, what, got, want)
		}
	}
	eq("NewDate(2026, 1, 32)", NewDate(2026, 1, 32), "2026-02-01")
	eq("NewDate(2026, 13, 1)", NewDate(2026, 13, 1), "2027-01-01")
	eq("NewDate(2026, 3, 0)", NewDate(2026, 3, 0), "2026-02-28")
	eq("2026-12-31 + 1 day", mustDate(t, "2026-12-31").AddDays(1), "2027-01-01")
	eq("2024-03-01 - 1 day", mustDate(t, "2024-03-01").AddDays(-1), "2024-02-29")
	// Like time.AddDate: 2026-02-31 normalises to 2026-03-03; 2024-02-31 to 2024-03-02.
	eq("2026-01-31 + 1 month", mustDate(t, "2026-01-31").AddMonths(1), "2026-03-03")
	eq("2024-01-31 + 1 month", mustDate(t, "2024-01-31").AddMonths(1), "2024-03-02")
	eq("2026-03-31 - 1 month", mustDate(t, "2026-03-31").AddMonths(-1), "2026-03-03")
	eq("2026-11-15 + 3 months", mustDate(t, "2026-11-15").AddMonths(3), "2027-02-15")
	eq("2026-08-31 + 6 months", mustDate(t, "2026-08-31").AddMonths(6), "2027-03-03")
	// AddMonths agrees with time.AddDate, the documented rule, on every day of 2024-2026.
	for d := mustDate(t, "2024-01-01"); d.Year < 2027; d = d.AddDays(1) {
		for _, n := range []int{-13, -1, 1, 3, 6, 12} {
			want := DateOf(d.Start().AddDate(0, n, 0))
			if got := d.AddMonths(n); got != want {
				t.Fatalf("%s: %s.AddMonths(%d) = %s, time.AddDate says %s", specRef, d, n, got, want)
			}
		}
	}

	ints := []struct {
		what      string
		got, want int
	}{
		{"DaysBetween(2026-01-01, 2027-01-01)", DaysBetween(mustDate(t, "2026-01-01"), mustDate(t, "2027-01-01")), 365},
		{"DaysBetween(2024-01-01, 2025-01-01)", DaysBetween(mustDate(t, "2024-01-01"), mustDate(t, "2025-01-01")), 366},
		// Sep 16..30 is 15 days, plus 12 days of October.
		{"DaysBetween(2026-10-12, 2026-09-15)", DaysBetween(mustDate(t, "2026-10-12"), mustDate(t, "2026-09-15")), -27},
		{"DaysBetween(1800-01-01, 2200-01-01)", DaysBetween(NewDate(1800, 1, 1), NewDate(2200, 1, 1)), 146097},
		{"DaysIn 2026-02", mustDate(t, "2026-02-10").DaysIn(), 28},
		{"DaysIn 2024-02", mustDate(t, "2024-02-10").DaysIn(), 29},
		{"DaysIn 2026-04", mustDate(t, "2026-04-10").DaysIn(), 30},
		{"Compare before", mustDate(t, "2026-09-15").Compare(mustDate(t, "2026-10-12")), -1},
		{"Compare equal", mustDate(t, "2026-09-15").Compare(NewDate(2026, 9, 15)), 0},
		{"Compare after", mustDate(t, "2027-01-01").Compare(mustDate(t, "2026-12-31")), 1},
	}
	for _, tc := range ints {
		if tc.got != tc.want {
			t.Errorf("%s: %s = %d, want %d", specRef, tc.what, tc.got, tc.want)
		}
	}
	if a, b := mustDate(t, "2026-09-15"), mustDate(t, "2026-09-16"); !a.Before(b) || a.After(b) || !b.After(a) || a.Before(a) {
		t.Errorf("%s: Before/After wrong", specRef)
	}

	weekdays := []struct {
		date string
		want time.Weekday
	}{
		{"2026-01-01", time.Thursday}, {"2026-02-14", time.Saturday}, {"2026-09-20", time.Sunday},
		{"2026-10-01", time.Thursday}, {"2026-10-12", time.Monday}, {"2027-01-01", time.Friday},
	}
	for _, tc := range weekdays {
		if got := mustDate(t, tc.date).Weekday(); got != tc.want {
			t.Errorf("%s: %s.Weekday() = %v, want %v", specRef, tc.date, got, tc.want)
		}
	}

	// Asia/Shanghai is UTC+8: 16:00 UTC is already the next day there.
	instants := []struct {
		utc  string
		want string
	}{
		{"2026-01-01T15:59:59Z", "2026-01-01"},
		{"2026-01-01T16:00:00Z", "2026-01-02"},
		{"2026-12-31T16:00:00Z", "2027-01-01"},
		{"2026-10-01T00:00:00-05:00", "2026-10-01"}, // 13:00 in Shanghai
	}
	for _, tc := range instants {
		ts, err := time.Parse(time.RFC3339, tc.utc)
		if err != nil {
			t.Fatal(err)
		}
		eq("DateOf("+tc.utc+")", DateOf(ts), tc.want)
	}
	if got, want := mustDate(t, "2026-01-02").Start(), time.Date(2026, 1, 1, 16, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("%s: Start() = %v, want %v", specRef, got, want)
	}
	if _, off := time.Date(2026, 7, 1, 12, 0, 0, 0, Shanghai).Zone(); off != 8*3600 {
		t.Errorf("%s: Shanghai offset = %d", specRef, off)
	}

	// Dates are map keys and plain strings in JSON; the zero Date is "".
	type rec struct {
		D Date `json:"d"`
		Z Date `json:"z"`
	}
	b, err := json.Marshal(rec{D: mustDate(t, "2026-02-14")})
	if err != nil || string(b) != `{"d":"2026-02-14","z":""}` {
		t.Errorf("%s: json.Marshal = %s, %v", specRef, b, err)
	}
	var r rec
	if err := json.Unmarshal(b, &r); err != nil || r.D != mustDate(t, "2026-02-14") || !r.Z.IsZero() {
		t.Errorf("%s: json.Unmarshal = %+v, %v", specRef, r, err)
	}
	if err := json.Unmarshal([]byte(`{"d":"2026-02-30"}`), &r); err == nil {
		t.Errorf("%s: json.Unmarshal accepted 2026-02-30", specRef)
	}
	if _, err := json.Marshal(rec{D: Date{2026, 2, 30}}); err == nil {
		t.Errorf("%s: json.Marshal accepted an unnormalised date", specRef)
	}
}

// TestMonth covers the civil month type (SPEC.md, Ledger: working days; months are
// Asia/Shanghai calendar months).
func TestMonth(t *testing.T) {
	m, err := ParseMonth("2026-02")
	if err != nil || m != (Month{2026, time.February}) || m.String() != "2026-02" {
		t.Fatalf("%s: ParseMonth(2026-02) = %v, %v", specRef, m, err)
	}
	for _, s := range []string{"2026-2", "2026-13", "2026-00", "2026-02-01", "202602", "", "2026/02", "+026-02", "0000-01"} {
		if got, err := ParseMonth(s); err == nil {
			t.Errorf("%s: ParseMonth(%q) = %v, want error", specRef, s, got)
		}
	}
	strs := []struct{ what, got, want string }{
		{"First", m.First().String(), "2026-02-01"},
		{"Last", m.Last().String(), "2026-02-28"},
		{"Last of 2024-02", Month{2024, time.February}.Last().String(), "2024-02-29"},
		{"Next", m.Next().String(), "2026-03"},
		{"Next of 2026-12", Month{2026, time.December}.Next().String(), "2027-01"},
		{"Prev of 2026-01", Month{2026, time.January}.Prev().String(), "2025-12"},
		{"MonthOf", MonthOf(mustDate(t, "2026-10-07")).String(), "2026-10"},
	}
	for _, tc := range strs {
		if tc.got != tc.want {
			t.Errorf("%s: %s = %s, want %s", specRef, tc.what, tc.got, tc.want)
		}
	}
	if m.Compare(Month{2026, time.March}) != -1 || m.Compare(m) != 0 || m.Compare(Month{2025, time.December}) != 1 {
		t.Errorf("%s: Month.Compare wrong", specRef)
	}
	if !m.Contains(mustDate(t, "2026-02-28")) || m.Contains(mustDate(t, "2026-03-01")) || m.Days() != 28 {
		t.Errorf("%s: Month.Contains/Days wrong", specRef)
	}
	b, err := json.Marshal(map[string]Month{"m": m})
	if err != nil || string(b) != `{"m":"2026-02"}` {
		t.Errorf("%s: json.Marshal(Month) = %s, %v", specRef, b, err)
	}
}

// FuzzParseYearSchedule: ParseYearSchedule never panics, and whatever it accepts
// survives json.Marshal and a second parse unchanged, which is how the ledger stores
// and re-validates a loaded year (SPEC.md, Ledger: working days).
func FuzzParseYearSchedule(f *testing.F) {
	for _, name := range builtinFiles {
		data, err := builtinFS.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(fixture2027))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseYearSchedule(data)
		if err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("parsed schedule fails Validate: %v", err)
		}
		out, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("json.Marshal: %v", err)
		}
		again, err := ParseYearSchedule(out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if !reflect.DeepEqual(s, again) {
			t.Fatalf("round trip changed the schedule:\n%+v\n%+v", s, again)
		}
		// Every listed day of an accepted schedule is answerable.
		c := New(s)
		for _, d := range s.Days {
			if _, err := c.IsWorkingDay(mustDate(t, d.Date)); err != nil {
				t.Fatalf("IsWorkingDay(%s): %v", d.Date, err)
			}
		}
	})
}
