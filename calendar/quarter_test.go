package calendar

import "testing"

// SPEC, Evaluation: quarter YQ1 is September–November of Y−1, YQ2 December–February, YQ3
// March–May, YQ4 June–August of Y (2026Q4 is 1 June – 31 August 2026). The days below are
// worked from those words: 2026Q2 runs over a year's end and 2024's leap February.
func TestQuarters(t *testing.T) {
	for _, c := range []struct {
		q, first, last string
	}{
		{"2026Q1", "2025-09-01", "2025-11-30"},
		{"2026Q2", "2025-12-01", "2026-02-28"},
		{"2024Q2", "2023-12-01", "2024-02-29"},
		{"2026Q3", "2026-03-01", "2026-05-31"},
		{"2026Q4", "2026-06-01", "2026-08-31"},
	} {
		q, err := ParseQuarter(c.q)
		if err != nil {
			t.Fatal(err)
		}
		if q.String() != c.q || q.First().String() != c.first || q.Last().String() != c.last {
			t.Errorf("%s: %s (%s – %s), want %s – %s", c.q, q, q.First(), q.Last(), c.first, c.last)
		}
		for _, d := range []string{c.first, c.last} {
			if got := QuarterOf(mustDate(t, d)); got != q {
				t.Errorf("QuarterOf(%s) = %s, want %s", d, got, q)
			}
		}
		if !q.Contains(mustDate(t, c.last)) || q.Contains(mustDate(t, c.last).AddDays(1)) || q.Contains(mustDate(t, c.first).AddDays(-1)) {
			t.Errorf("%s: Contains is wrong at its edges", c.q)
		}
	}
	// The day after 2026Q4 is the first of 2027Q1; the settlement year turns with it.
	if n := (Quarter{2026, 4}).Next(); n != (Quarter{2027, 1}) || n.Prev() != (Quarter{2026, 4}) {
		t.Errorf("2026Q4.Next() = %s", n)
	}
	for _, bad := range []string{"", "2026", "2026Q0", "2026Q5", "26Q1", "2026-Q1", "2026Q12"} {
		if _, err := ParseQuarter(bad); err == nil {
			t.Errorf("ParseQuarter(%q) accepted", bad)
		}
	}
}
