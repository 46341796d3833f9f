package server

import (
	"testing"

	"github.com/cloudledger/cloudledger/calendar"
)

// The working days the resource list counts to an extension deadline (ListResources),
// hand-counted on the 2026 official schedule: National Day 1–7 October off, Saturday 10
// October worked.
func TestWorkingDaysBetween(t *testing.T) {
	cal := calendar.New(calendar.Builtin()...)
	d := func(s string) calendar.Date {
		v, err := calendar.ParseDate(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		from, to string
		want     int
	}{
		{"2026-09-28", "2026-10-12", 6}, // 29, 30 Sep; 8, 9, 10 (Sat, worked), 12 Oct
		{"2026-10-12", "2026-09-28", -6},
		{"2026-12-02", "2026-12-10", 6}, // 3, 4, 7, 8, 9, 10
		{"2026-12-02", "2026-12-02", 0},
		{"2026-12-05", "2026-12-06", 0}, // a weekend
		{"2026-12-30", "2027-01-04", 1}, // 31 Dec counted; 2027 is not loaded, the count stops there
	} {
		if got := workingDaysBetween(cal, d(c.from), d(c.to)); got != c.want {
			t.Errorf("%s → %s: %d working days, want %d", c.from, c.to, got, c.want)
		}
	}
}
