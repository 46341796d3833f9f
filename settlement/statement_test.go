package settlement

import (
	"strings"
	"testing"
	"time"

	"github.com/cloudledger/cloudledger/calendar"
)

// Issue 27: the statement of the month the ledger's clock is in bills the days up to
// yesterday, never days still to come, and says so; a month over is billed whole. Worked
// by hand from yearData (clock 10 September 2026 10:00): health holds 2 vCPU at hw's own
// September price 31 a month, prorated daily, multiplier 1 (score 95).
func TestStatementOfTheRunningMonthIsMonthToDate(t *testing.T) {
	d := yearData("2026-12-31", "2026-08-31")
	for _, c := range []struct {
		month        calendar.Month
		through      string // "" is the whole month
		base, amount string
		title        string
	}{
		// 1–9 September: 2 × 31 × 9 / 30 = 18.60 (the whole month would be 62.00).
		{calendar.Month{Year: 2026, Month: time.September}, "2026-09-09", "18.60", "18.60", "月度使用情况表 · 卫健委（health） · 2026年9月（本月至今，截至2026年9月9日）"},
		// August is over: 2 × 30 = 60.00 and 100 × 0.5 in March only, so 60.00.
		{calendar.Month{Year: 2026, Month: time.August}, "", "60.00", "60.00", "月度使用情况表 · 卫健委（health） · 2026年8月"},
		// October has not begun: nothing.
		{calendar.Month{Year: 2026, Month: time.October}, "2026-09-09", "0.00", "0.00", "月度使用情况表 · 卫健委（health） · 2026年10月（本月尚未开始，无费用）"},
	} {
		st, err := BuildStatement(d, c.month, "health", "", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		through := ""
		if !st.Through.IsZero() {
			through = st.Through.String()
		}
		if through != c.through || st.Total.BaseAmount.StringFixed(2) != c.base || st.Total.Amount.StringFixed(2) != c.amount {
			t.Errorf("%s: through %q base %s amount %s, want %q %s %s", c.month, through, st.Total.BaseAmount.StringFixed(2), st.Total.Amount.StringFixed(2), c.through, c.base, c.amount)
		}
		if st.Title() != c.title {
			t.Errorf("%s: title %q, want %q", c.month, st.Title(), c.title)
		}
	}
}

// The workbook is named and titled with its month (the page says 使用情况; the sheet said
// 利用情况 and carried no month).
func TestStatementWorkbookNamesTheMonth(t *testing.T) {
	st, err := BuildStatement(yearData("2026-12-31", "2026-08-31"), calendar.Month{Year: 2026, Month: time.March}, "health", "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := readBack(t, st.WriteXLSX)
	if got := f.GetSheetList(); len(got) != 1 || got[0] != "使用情况 2026年3月" {
		t.Fatalf("sheets %q, want [使用情况 2026年3月]", got)
	}
	title, _ := f.GetCellValue("使用情况 2026年3月", "A1")
	if title != "月度使用情况表 · 卫健委（health） · 2026年3月" {
		t.Errorf("A1 = %q", title)
	}
	props, _ := f.GetDocProps()
	if !strings.Contains(props.Title, "2026年3月") {
		t.Errorf("the workbook's title %q lacks the month", props.Title)
	}
	if h, _ := f.GetCellValue("使用情况 2026年3月", "A2"); h != "类别" {
		t.Errorf("A2 = %q, want the Chinese headers", h)
	}
}
