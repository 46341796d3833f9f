package settlement

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	"github.com/cloudledger/cloudledger/ledger"
	"github.com/cloudledger/cloudledger/rating"
)

// WarnWorkingDays is when the deadline warning starts: fewer working days than this left
// before 30 September and the year not submitted.
const WarnWorkingDays = 15

// Deadline is the day a settlement year must reach the finance bureau: 30 September of the
// year its window ends in, for the default window (ending 31 August) and any window ending
// by August; a window ending in September or later (e.g. a calendar year) is due the next
// 30 September, since it can be audited only once all its months are closed.
func Deadline(windowEnd calendar.Date) calendar.Date {
	if windowEnd.Month >= time.September {
		return calendar.NewDate(windowEnd.Year+1, 9, 30)
	}
	return calendar.NewDate(windowEnd.Year, 9, 30)
}

// Blocker is a reason an audit is refused.
type Blocker struct {
	Code     errcode.Code `json:"code"` // errcode.OpenMonth or errcode.Provisional
	Message  string       `json:"message"`
	Provider string       `json:"provider,omitempty"` // of a provisional blocker
	Detail   []string     `json:"detail,omitempty"`   // the charge lines it leaves provisional
	// Month is an open_month blocker's month, Days a provisional blocker's days without a
	// score: what the message says, as data (the API carries both; the JSON of settle
	// status keeps its shape).
	Month calendar.Month    `json:"-"`
	Days  []rating.DayRange `json:"-"`
}

// Status is where a settlement year stands.
type Status struct {
	Year            int                    `json:"year"`
	State           ledger.SettlementState `json:"state"` // "" before settle run
	From, To        calendar.Date          `json:"-"`
	Today           calendar.Date          `json:"-"` // the ledger's clock, not the wall clock
	Deadline        calendar.Date          `json:"-"`
	DaysLeft        int                    `json:"days_left"` // negative when overdue
	WorkingDaysLeft int                    `json:"working_days_left"`
	Warning         string                 `json:"warning,omitempty"`
	Blockers        []Blocker              `json:"blockers"`
}

// UnknownWorkingDays is WorkingDaysLeft while the official calendar of a year on the way to
// the deadline is not loaded.
const UnknownWorkingDays = -1

// Window is the year's window: the one recorded at settle run, else the configured one.
func Window(d *ledger.View, year int) (from, to calendar.Date) {
	if s := d.Settlements[year]; s != nil {
		return s.From, s.To
	}
	return ledger.SettlementWindow(year, d.WindowEndMonth)
}

// YearStatus reports state and deadline of a settlement year, and with blockers set the
// reasons an audit would be refused (rating the window) for a year that can still be
// audited (draft or not yet run).
func YearStatus(d *ledger.View, cal *calendar.Calendar, year int, blockers bool) (*Status, error) {
	st := &Status{Year: year, Today: calendar.DateOf(d.Clock), Blockers: []Blocker{}}
	st.From, st.To = Window(d, year)
	st.Deadline = Deadline(st.To)
	if s := d.Settlements[year]; s != nil {
		st.State = s.State
	}
	st.DaysLeft = calendar.DaysBetween(st.Today, st.Deadline)
	calendarMissing := ""
	if st.DaysLeft > 0 {
		n, err := workingDaysBetween(cal, st.Today, st.Deadline)
		if err != nil {
			// A year whose official schedule is not published yet: the days are known, the
			// working days are not (-1), and the status says so rather than failing.
			n, calendarMissing = UnknownWorkingDays, fmt.Sprintf("working days unknown: %v (load it with ledgerctl calendar load)", err)
		}
		st.WorkingDaysLeft = n
	}
	notSubmitted := st.State != ledger.SettlementSubmitted && st.State != ledger.SettlementPaid
	switch {
	case calendarMissing != "":
		st.Warning = calendarMissing
	case notSubmitted && st.DaysLeft < 0:
		st.Warning = fmt.Sprintf("overdue: settlement year %d was due %s", year, st.Deadline)
	case notSubmitted && st.WorkingDaysLeft < WarnWorkingDays && !st.Today.Before(st.To):
		st.Warning = fmt.Sprintf("%d working days left before %s and settlement year %d is not submitted", st.WorkingDaysLeft, st.Deadline, year)
	}
	if blockers && (st.State == "" || st.State == ledger.SettlementDraft) {
		_, b, err := blockersOf(d, year) // the audit's lines are not needed to say why not
		if err != nil {
			return nil, err
		}
		st.Blockers = append(st.Blockers, b...)
	}
	return st, nil
}

// workingDaysBetween counts the working days after a up to and including b.
func workingDaysBetween(cal *calendar.Calendar, a, b calendar.Date) (int, error) {
	n := 0
	for d := a.AddDays(1); !d.After(b); d = d.AddDays(1) {
		ok, err := cal.IsWorkingDay(d)
		if err != nil {
			return 0, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// Prepare computes the audit of a year: the window's charges summed per (department,
// project, provider, item), stamped with the Raft index and head they were computed at, and
// the reasons an audit must be refused (先审再付): months of the window still open, charges
// still provisional.
func Prepare(d *ledger.View, year int) (*ledger.SettlementAudit, []Blocker, error) {
	res, blockers, err := blockersOf(d, year)
	if err != nil {
		return nil, nil, err
	}
	return &ledger.SettlementAudit{Year: year, AtIndex: d.Head.AppliedIndex, AtHead: d.Head.Hash.String(), Lines: auditedLines(res.Lines)}, blockers, nil
}

// blockersOf rates the year's window and lists what keeps it from being audited.
func blockersOf(d *ledger.View, year int) (*rating.Result, []Blocker, error) {
	from, to := Window(d, year)
	var blockers []Blocker
	for m := calendar.MonthOf(from); m != calendar.MonthOf(to).Next(); m = m.Next() {
		if !d.ClosedMonths[m] {
			blockers = append(blockers, Blocker{Code: errcode.OpenMonth, Month: m, Message: fmt.Sprintf("month %s is not closed (period close %s)", m, m)})
		}
	}
	res, err := rating.Rate(d, rating.Options{From: from, To: to})
	if err != nil {
		return nil, nil, err
	}
	// One blocker per provider with unscored days, naming the date ranges to score; the
	// charge lines they leave provisional are its detail (settle status --format json).
	for _, u := range res.Unscored {
		ranges := make([]string, len(u.Days))
		for i, d := range u.Days {
			ranges[i] = d.From.String() + ".." + d.To.String()
		}
		b := Blocker{Code: errcode.Provisional, Provider: u.Provider, Days: slices.Clone(u.Days)} // the result may be shared
		for _, l := range res.Provisional {
			if l.Provider == u.Provider {
				b.Detail = append(b.Detail, fmt.Sprintf("%s %s/%s/%s/%s: %d days without an evaluation score",
					l.Month, l.Department, l.Project, l.Provider, l.Item, l.ProvisionalDays))
			}
		}
		b.Message = fmt.Sprintf("provider %s has no evaluation score for %s (%d charge lines provisional; import its evaluations)",
			u.Provider, strings.Join(ranges, ", "), len(b.Detail))
		blockers = append(blockers, b)
	}
	return res, blockers, nil
}

// auditedLines sums the monthly lines of the window per (department, project, provider,
// item): rounded lines added up, as every total is.
func auditedLines(lines []rating.Line) []ledger.AuditedLine {
	type key struct{ d, p, v, i string }
	sums := map[key]*ledger.AuditedLine{}
	for _, l := range lines {
		k := key{l.Department, l.Project, l.Provider, l.Item}
		a := sums[k]
		if a == nil {
			a = &ledger.AuditedLine{Department: l.Department, Project: l.Project, Provider: l.Provider, Item: l.Item}
			sums[k] = a
		}
		a.Quantity = a.Quantity.Add(l.Quantity)
		a.BaseAmount = a.BaseAmount.Add(l.BaseAmount)
		a.Amount = a.Amount.Add(l.Amount)
	}
	out := make([]ledger.AuditedLine, 0, len(sums))
	for _, a := range sums {
		out = append(out, *a)
	}
	slices.SortFunc(out, func(a, b ledger.AuditedLine) int {
		return cmp.Or(strings.Compare(a.Department, b.Department), strings.Compare(a.Project, b.Project), strings.Compare(a.Provider, b.Provider), strings.Compare(a.Item, b.Item))
	})
	return out
}

// BlockedError is the refusal of an audit with every reason, one each (no charge line
// detail: settle status has it).
func BlockedError(year int, blockers []Blocker) *errcode.Error {
	msgs := make([]string, len(blockers))
	for i, b := range blockers {
		msgs[i] = b.Message
	}
	return errcode.Errf(errcode.SettlementBlocked, "year", "settlement year %d cannot be audited: %s", year, strings.Join(msgs, "; "))
}

var twelve = decimal.NewFromInt(12)
