package rating

import (
	"testing"
	"time"

	"github.com/cloudledger/cloudledger/calendar"
)

// The day numbers' integer conversions agree with the calendar package's over two
// centuries (every day from ledger.MinYear to MaxYear).
func TestDayNumbersAgreeWithTheCalendar(t *testing.T) {
	d := calendar.NewDate(2000, time.January, 1)
	for i := 0; d.Year <= 2200; i, d = i+1, d.AddDays(1) {
		if got := dayOfDate(d); got != i {
			t.Fatalf("dayOfDate(%s) = %d, want %d", d, got, i)
		}
		if got := dateOf(i); got != d {
			t.Fatalf("dateOf(%d) = %v, want %s", i, got, d)
		}
	}
}
