package ledger

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
)

// Seasons (SH 18: 周期性特征, 周期性动态配额; SPEC: Utilisation): a project with a yearly cycle
// declares its seasons, month-day ranges that repeat every year and may wrap over its end;
// inside a season the project's quota in the season's class is the season's, and only its
// season days count for findings.

// MonthDay is a day of the year, MM-DD.
type MonthDay struct {
	Month, Day int
}

// ParseMonthDay reads "05-15".
func ParseMonthDay(s string) (MonthDay, error) {
	m, d, ok := strings.Cut(strings.TrimSpace(s), "-")
	mi, err1 := strconv.Atoi(m)
	di, err2 := strconv.Atoi(d)
	if !ok || len(m) != 2 || len(d) != 2 || err1 != nil || err2 != nil || mi < 1 || mi > 12 || di < 1 || di > calendar.NewDate(2024, time.Month(mi), 1).DaysIn() {
		return MonthDay{}, fmt.Errorf("a month-day is MM-DD (05-15), not %q", s)
	}
	return MonthDay{mi, di}, nil
}

func (m MonthDay) String() string { return fmt.Sprintf("%02d-%02d", m.Month, m.Day) }

func (m MonthDay) before(o MonthDay) bool {
	return m.Month < o.Month || m.Month == o.Month && m.Day < o.Day
}

// Season is one season of a project: from and to inclusive, the quota of a class in it.
type Season struct {
	From       MonthDay        `json:"from"`
	To         MonthDay        `json:"to"`
	QuotaClass string          `json:"quota_class"`
	Quota      decimal.Decimal `json:"quota"`
}

// covers reports whether day d is in the season (a season from after its to wraps over
// the year's end: 12-01..02-28).
func (s Season) covers(d calendar.Date) bool {
	md := MonthDay{int(d.Month), d.Day}
	if !s.To.before(s.From) {
		return !md.before(s.From) && !s.To.before(md)
	}
	return !md.before(s.From) || !s.To.before(md)
}

// ProjectSeasons are a project's seasons (empty: none, all the year is the project's).
type ProjectSeasons struct {
	Project string   `json:"project"`
	Seasons []Season `json:"seasons"`
}

// quotaOn is the project's quota of a class on day d: a season's that covers d, else the
// base quota (ok false when it has neither).
func (t *txn) quotaOn(p *Project, class string, d calendar.Date) (decimal.Decimal, bool) {
	if ss, ok := t.seasons.get(p.ID); ok {
		for _, s := range ss.Seasons {
			if s.QuotaClass == class && s.covers(d) {
				return s.Quota, true
			}
		}
	}
	q, ok := p.Quotas[class]
	return q, ok
}

// TypeProjectSeasons sets a project's seasons (rules version 8).
const TypeProjectSeasons CommandType = 43

func init() {
	register(TypeProjectSeasons, "project_seasons", writesLineItem, func() Body { return new(SetProjectSeasons) })
}

// MaxSeasons bounds a project's seasons.
const MaxSeasons = 24

// SetProjectSeasons replaces a project's seasons (none: the project has no cycle).
type SetProjectSeasons struct {
	Project string
	Seasons []Season
}

func (*SetProjectSeasons) Type() CommandType { return TypeProjectSeasons }

func (b *SetProjectSeasons) encode(e *encoder) {
	e.str(b.Project)
	e.uvarint(uint64(len(b.Seasons)))
	for _, s := range b.Seasons {
		e.u8(uint8(s.From.Month))
		e.u8(uint8(s.From.Day))
		e.u8(uint8(s.To.Month))
		e.u8(uint8(s.To.Day))
		e.str(s.QuotaClass)
		e.dec(s.Quota)
	}
}

func (b *SetProjectSeasons) decode(d *decoder) {
	b.Project = d.str(MaxIDLen)
	n := d.uvarint()
	if d.err == nil && n > MaxSeasons {
		d.fail("too many seasons")
		return
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		s := Season{From: MonthDay{int(d.u8()), int(d.u8())}, To: MonthDay{int(d.u8()), int(d.u8())}, QuotaClass: d.str(MaxIDLen), Quota: d.dec()}
		b.Seasons = append(b.Seasons, s)
	}
}

func (b *SetProjectSeasons) validate(rl rules) *Error {
	if !rl.findings {
		return Errf(errcode.InvalidValue, "", "seasons need rules version 8 (the cluster is upgrading)")
	}
	if err := rl.id("project", b.Project, true); err != nil {
		return err
	}
	if len(b.Seasons) > MaxSeasons {
		return Errf(errcode.TooLarge, "seasons", "at most %d seasons a project", MaxSeasons)
	}
	for i, s := range b.Seasons {
		for _, md := range []MonthDay{s.From, s.To} {
			if _, err := ParseMonthDay(md.String()); err != nil {
				return Errf(errcode.InvalidValue, fmt.Sprintf("seasons[%d]", i), "%v", err)
			}
		}
		at := func(field string) string { return fmt.Sprintf("seasons[%d].%s", i, field) } // a file names the season's line
		if err := rl.id("quota_class", s.QuotaClass, true); err != nil {
			err.Field = at("quota_class")
			return err
		}
		if s.Quota.IsNegative() || !checkDecimalBounds(s.Quota) {
			return Errf(errcode.InvalidQuantity, at("quota"), "a season's quota is a non-negative decimal, not %s", s.Quota)
		}
		for _, o := range b.Seasons[:i] {
			if o.QuotaClass == s.QuotaClass && o.overlaps(s) {
				return Errf(errcode.InvalidValue, at("from"), "%s–%s overlaps the season %s–%s of quota class %s: a day has one quota",
					s.From, s.To, o.From, o.To, s.QuotaClass)
			}
		}
	}
	return nil
}

// overlaps reports whether two seasons share a day (of a leap year: 02-29 counts).
func (s Season) overlaps(o Season) bool {
	for d := (calendar.Date{Year: 2024, Month: time.January, Day: 1}); d.Year == 2024; d = d.AddDays(1) {
		if s.covers(d) && o.covers(d) {
			return true
		}
	}
	return false
}

func (b *SetProjectSeasons) apply(t *txn, _ applyContext) *Error {
	if _, ok := t.projects.get(b.Project); !ok {
		return Errf(errcode.UnknownProject, "project", "unknown project %q", b.Project)
	}
	for i, s := range b.Seasons {
		if !t.knownQuotaClass(s.QuotaClass) {
			return Errf(errcode.UnknownQuotaClass, fmt.Sprintf("seasons[%d].quota_class", i), "no catalog item or project quota uses quota class %q (known: %s)",
				s.QuotaClass, strings.Join(t.quotaClasses(), ", "))
		}
	}
	t.seasons.put(b.Project, &ProjectSeasons{Project: b.Project, Seasons: b.Seasons})
	return nil
}

// ProjectSeasonsList lists every project's seasons, by project.
func (l *Ledger) ProjectSeasonsList() []ProjectSeasons {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []ProjectSeasons
	l.root.seasons.each(func(_ string, s *ProjectSeasons) {
		if len(s.Seasons) > 0 {
			out = append(out, *s)
		}
	})
	slices.SortFunc(out, func(a, b ProjectSeasons) int { return strings.Compare(a.Project, b.Project) })
	return out
}
