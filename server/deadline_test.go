package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/ledger"
)

// SPEC.md, Settlement: the leader warns about every year still heading for (or past) its
// deadline: the clock's year; last year while run and not submitted; and last year while
// its deadline is ahead, which happens when the window ends in September or later.
func TestDeadlineYears(t *testing.T) {
	clock := time.Date(2027, 1, 20, 10, 0, 0, 0, calendar.Shanghai)
	for _, c := range []struct {
		endMonth int
		last     ledger.SettlementState // "" = year 2026 not run
		want     string
	}{
		{8, "", "[2027]"}, // 2026 was due 2026-09-30, never run: nothing to watch
		{8, ledger.SettlementAudited, "[2026 2027]"},
		{8, ledger.SettlementSubmitted, "[2027]"},
		{12, "", "[2026 2027]"}, // a calendar-year 2026 is due 2027-09-30
		{12, ledger.SettlementDraft, "[2026 2027]"},
		{12, ledger.SettlementPaid, "[2027]"},
	} {
		d := &ledger.View{Clock: clock, WindowEndMonth: c.endMonth, Settlements: map[int]*ledger.Settlement{}}
		if c.last != "" {
			from, to := ledger.SettlementWindow(2026, c.endMonth)
			d.Settlements[2026] = &ledger.Settlement{Year: 2026, State: c.last, From: from, To: to}
		}
		if got := fmt.Sprint(deadlineYears(d)); got != c.want {
			t.Errorf("window ending in month %d, 2026 %q: %s, want %s", c.endMonth, c.last, got, c.want)
		}
	}
}
