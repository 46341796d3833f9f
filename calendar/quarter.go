package calendar

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Quarter is an evaluation quarter (SPEC: Evaluation). Quarters follow the settlement year,
// so that its last quarter can be published before the audit and the 30 September deadline:
// YQ1 is September–November of Y−1, YQ2 December–February, YQ3 March–May, YQ4 June–August of
// Y. Year is the settlement year.
type Quarter struct {
	Year int
	Q    int // 1–4
}

// ParseQuarter reads "2026Q4".
func ParseQuarter(s string) (Quarter, error) {
	y, q, ok := strings.Cut(strings.TrimSpace(s), "Q")
	if !ok {
		y, q, ok = strings.Cut(strings.TrimSpace(s), "q")
	}
	yi, err1 := strconv.Atoi(y)
	qi, err2 := strconv.Atoi(q)
	if !ok || len(y) != 4 || len(q) != 1 || err1 != nil || err2 != nil || yi < 1901 || qi < 1 || qi > 4 {
		return Quarter{}, fmt.Errorf("a quarter is YYYYQn with n 1–4 (2026Q4 = June–August 2026), not %q", s)
	}
	return Quarter{yi, qi}, nil
}

// QuarterOf is the quarter day d falls in.
func QuarterOf(d Date) Quarter {
	// Months from September of the year before: September 0 … August 11.
	m := (int(d.Month) + 3) % 12
	y := d.Year
	if d.Month >= time.September {
		y++
	}
	return Quarter{y, m/3 + 1}
}

func (q Quarter) String() string { return fmt.Sprintf("%04dQ%d", q.Year, q.Q) }

// IsZero reports whether q is the zero quarter.
func (q Quarter) IsZero() bool { return q == Quarter{} }

// First is the quarter's first day.
func (q Quarter) First() Date { return NewDate(q.Year-1, time.September+time.Month(3*(q.Q-1)), 1) }

// Last is the quarter's last day.
func (q Quarter) Last() Date { return q.First().AddMonths(3).AddDays(-1) }

// Contains reports whether day d is in the quarter.
func (q Quarter) Contains(d Date) bool { return !d.Before(q.First()) && !d.After(q.Last()) }

// Next and Prev are the quarters after and before q.
func (q Quarter) Next() Quarter { return QuarterOf(q.Last().AddDays(1)) }
func (q Quarter) Prev() Quarter { return QuarterOf(q.First().AddDays(-1)) }

// SettlementYear is the quarter's settlement year.
func (q Quarter) SettlementYear() int { return q.Year }

// Compare orders quarters in time.
func (q Quarter) Compare(o Quarter) int {
	switch {
	case q.Year != o.Year:
		return q.Year - o.Year
	default:
		return q.Q - o.Q
	}
}

func (q Quarter) MarshalText() ([]byte, error) { return []byte(q.String()), nil }

func (q *Quarter) UnmarshalText(b []byte) error {
	v, err := ParseQuarter(string(b))
	if err != nil {
		return err
	}
	*q = v
	return nil
}
