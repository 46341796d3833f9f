package ledger

import (
	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
)

// Evaluation is a provider's evaluation score (效能评估 / 服务质量考核, 0–100) covering the
// days From..To inclusive (SPEC: Rating). A later evaluation of the same provider overrides
// an earlier one on the days they share, so a corrected score is a new line item.
//
// Quarter names the published quarter a score comes from (issue 26); empty for a score
// entered by hand (evaluations.csv), which wins over a published one on the days it covers.
type Evaluation struct {
	From    calendar.Date   `json:"from"`
	To      calendar.Date   `json:"to"`
	Score   decimal.Decimal `json:"score"`
	Quarter string          `json:"quarter,omitempty"`
	// Reason says why a score was entered by hand rather than published (evaluations.csv's
	// optional column; rules version 10).
	Reason string `json:"reason,omitempty"`
}

// ProviderScores is every evaluation of one provider, in the order they were entered.
type ProviderScores struct {
	Provider string       `json:"provider"`
	Scores   []Evaluation `json:"scores"`
}

// Band maps the scores MinScore ≤ s < MaxScore to a multiplier; the last band of a table
// includes MaxScore (100).
type Band struct {
	MinScore   decimal.Decimal `json:"min_score"`
	MaxScore   decimal.Decimal `json:"max_score"`
	Multiplier decimal.Decimal `json:"multiplier"`
}

// BandTable is the score → multiplier table in force from EffectiveFrom until the next one
// (RATING_DEFAULTS.md); before any is set, DefaultBandTable applies.
type BandTable struct {
	EffectiveFrom calendar.Date `json:"effective_from"`
	Bands         []Band        `json:"bands"`
}

// Limits of evaluation data.
const (
	MaxBands      = 20
	MaxMultiplier = 10
)

var (
	scoreMax         = decimal.NewFromInt(100)
	multiplierMax    = decimal.NewFromInt(MaxMultiplier)
	defaultBandTable = BandTable{Bands: []Band{
		{decimal.Zero, decimal.NewFromInt(60), decimal.RequireFromString("0.80")},
		{decimal.NewFromInt(60), decimal.NewFromInt(70), decimal.RequireFromString("0.90")},
		{decimal.NewFromInt(70), decimal.NewFromInt(80), decimal.RequireFromString("0.95")},
		{decimal.NewFromInt(80), decimal.NewFromInt(90), decimal.RequireFromString("0.98")},
		{decimal.NewFromInt(90), scoreMax, decimal.RequireFromString("1.00")},
	}}
)

// DefaultBandTable is the table of RATING_DEFAULTS.md, in force until a table is set.
func DefaultBandTable() BandTable {
	t := defaultBandTable
	t.Bands = append([]Band(nil), t.Bands...)
	return t
}

// Multiplier returns the multiplier of score s; ok is false when s is outside the table.
func (t BandTable) Multiplier(s decimal.Decimal) (decimal.Decimal, bool) {
	for i, b := range t.Bands {
		last := i == len(t.Bands)-1
		if s.GreaterThanOrEqual(b.MinScore) && (s.LessThan(b.MaxScore) || last && s.Equal(b.MaxScore)) {
			return b.Multiplier, true
		}
	}
	return decimal.Zero, false
}

// validateBands checks that the bands cover 0–100 exactly once: sorted, no overlap, no gap.
func validateBands(bands []Band) *Error {
	if len(bands) == 0 {
		return Errf(errcode.InvalidBandTable, "bands", "a band table needs at least one band")
	}
	if len(bands) > MaxBands {
		return Errf(errcode.InvalidBandTable, "bands", "at most %d bands", MaxBands)
	}
	for i, b := range bands {
		if !checkDecimalBounds(b.MinScore) || !checkDecimalBounds(b.MaxScore) || !checkDecimalBounds(b.Multiplier) {
			return Errf(errcode.InvalidBandTable, "bands", "band %d: value out of range", i+1)
		}
		if !b.MaxScore.GreaterThan(b.MinScore) {
			return Errf(errcode.InvalidBandTable, "max_score", "band %d: max_score %s is not above min_score %s", i+1, b.MaxScore, b.MinScore)
		}
		if b.Multiplier.IsNegative() || b.Multiplier.GreaterThan(multiplierMax) {
			return Errf(errcode.InvalidBandTable, "multiplier", "band %d: multiplier %s outside 0–%d", i+1, b.Multiplier, MaxMultiplier)
		}
		switch {
		case i == 0 && !b.MinScore.IsZero():
			return Errf(errcode.InvalidBandTable, "min_score", "the first band must start at score 0, not %s (a gap)", b.MinScore)
		case i > 0 && b.MinScore.LessThan(bands[i-1].MaxScore):
			return Errf(errcode.InvalidBandTable, "min_score", "band %d starts at %s, inside band %d (ends %s): bands overlap", i+1, b.MinScore, i, bands[i-1].MaxScore)
		case i > 0 && b.MinScore.GreaterThan(bands[i-1].MaxScore):
			return Errf(errcode.InvalidBandTable, "min_score", "band %d starts at %s but band %d ends at %s: a gap", i+1, b.MinScore, i, bands[i-1].MaxScore)
		}
	}
	if last := bands[len(bands)-1]; !last.MaxScore.Equal(scoreMax) {
		return Errf(errcode.InvalidBandTable, "max_score", "the last band must end at score 100, not %s (a gap)", last.MaxScore)
	}
	return nil
}

func (b *SetEvaluation) validate(rl rules) *Error {
	if err := firstErr(rl.id("provider", b.Provider, true), dateInRange("from", b.From), dateInRange("to", b.To)); err != nil {
		return err
	}
	if b.To.Before(b.From) {
		return Errf(errcode.InvalidRange, "to", "the range ends %s before it starts %s", b.To, b.From)
	}
	if !checkDecimalBounds(b.Score) || b.Score.IsNegative() || b.Score.GreaterThan(scoreMax) {
		return Errf(errcode.InvalidScore, "score", "a score is between 0 and 100, not %s", b.Score)
	}
	if b.Reason != "" {
		if !rl.evaluation {
			return Errf(errcode.InvalidValue, "reason", "a score's reason needs rules version 10 (the cluster is upgrading)")
		}
		return rl.text("reason", b.Reason, MaxTextLen)
	}
	return nil
}

func (b *SetEvaluation) apply(t *txn, _ applyContext) *Error {
	if _, ok := t.providers.get(b.Provider); !ok {
		return Errf(errcode.UnknownProvider, "provider", "unknown provider %q", b.Provider)
	}
	if y, ok := t.auditedOverlap(b.From, b.To.AddDays(1)); ok {
		return errAudited("from", y)
	}
	ev := Evaluation{From: b.From, To: b.To, Score: b.Score, Reason: b.Reason}
	n := &ProviderScores{Provider: b.Provider}
	if old, ok := t.evaluations.get(b.Provider); ok {
		if k := len(old.Scores); k > 0 && sameEvaluation(old.Scores[k-1], ev) {
			return errUnchanged
		}
		n.Scores = append(n.Scores, old.Scores...)
	}
	n.Scores = append(n.Scores, ev)
	t.evaluations.put(b.Provider, n)
	return nil
}

func sameEvaluation(a, b Evaluation) bool {
	return a.From == b.From && a.To == b.To && a.Score.Equal(b.Score) && a.Quarter == b.Quarter
}

// ScoreOn is the score in force on day d of a provider's scores: the latest entered score
// covering d, else the latest published one (SPEC: an entered score wins on its days); ok
// false when none covers d.
func (ps *ProviderScores) ScoreOn(d calendar.Date) (ev Evaluation, ok bool) {
	if ps == nil {
		return Evaluation{}, false
	}
	for _, published := range []bool{false, true} {
		for i := len(ps.Scores) - 1; i >= 0; i-- {
			e := ps.Scores[i]
			if (e.Quarter != "") == published && !d.Before(e.From) && !d.After(e.To) {
				return e, true
			}
		}
	}
	return Evaluation{}, false
}

func (b *SetBandTable) apply(t *txn, _ applyContext) *Error {
	if old, ok := t.bandTables.get(b.Table.EffectiveFrom); ok && sameBands(old.Bands, b.Table.Bands) {
		return errUnchanged
	}
	// The table is in force from its date until the next table's.
	var until calendar.Date
	for x := t.bandTables; x != nil; x = x.parent {
		for d := range x.m {
			if d.After(b.Table.EffectiveFrom) && (until.IsZero() || d.Before(until)) {
				until = d
			}
		}
	}
	if y, ok := t.auditedOverlap(b.Table.EffectiveFrom, until); ok {
		return errAudited("effective_from", y)
	}
	bt := b.Table
	bt.Bands = append([]Band(nil), b.Table.Bands...)
	t.bandTables.put(bt.EffectiveFrom, &bt)
	return nil
}

func sameBands(a, b []Band) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].MinScore.Equal(b[i].MinScore) || !a[i].MaxScore.Equal(b[i].MaxScore) || !a[i].Multiplier.Equal(b[i].Multiplier) {
			return false
		}
	}
	return true
}

const (
	TypeSetEvaluation CommandType = 11 // a provider's evaluation score over a date range
	TypeSetBandTable  CommandType = 12 // the score → multiplier table from a date on
)

func init() {
	register(TypeSetEvaluation, "evaluation", writesLineItem, func() Body { return new(SetEvaluation) })
	register(TypeSetBandTable, "band_table", writesLineItem, func() Body { return new(SetBandTable) })
}

// SetEvaluation records a provider's evaluation score over From..To (evaluations.csv).
type SetEvaluation struct {
	Provider string
	From, To calendar.Date
	Score    decimal.Decimal
	// Reason, from rules version 10, is encoded only when given: an entry without one keeps
	// the encoding it always had.
	Reason string
}

func (*SetEvaluation) Type() CommandType { return TypeSetEvaluation }

func (b *SetEvaluation) encode(e *encoder) {
	e.str(b.Provider)
	e.date(b.From)
	e.date(b.To)
	e.dec(b.Score)
	if b.Reason != "" {
		e.str(b.Reason)
	}
}

func (b *SetEvaluation) decode(d *decoder) {
	b.Provider = d.str(MaxIDLen)
	b.From = d.date()
	b.To = d.date()
	b.Score = d.dec()
	if d.err == nil && len(d.b) > 0 {
		b.Reason = d.str(MaxTextLen)
		if d.err == nil && b.Reason == "" {
			d.fail("an empty reason is not encoded") // one body, one encoding
		}
	}
}

// SetBandTable sets the score → multiplier table in force from Table.EffectiveFrom.
type SetBandTable struct{ Table BandTable }

func (*SetBandTable) Type() CommandType { return TypeSetBandTable }

func (b *SetBandTable) encode(e *encoder) {
	e.date(b.Table.EffectiveFrom)
	e.uvarint(uint64(len(b.Table.Bands)))
	for _, band := range b.Table.Bands {
		e.dec(band.MinScore)
		e.dec(band.MaxScore)
		e.dec(band.Multiplier)
	}
}

func (b *SetBandTable) decode(d *decoder) {
	b.Table.EffectiveFrom = d.date()
	n := d.uvarint()
	if n > MaxBands {
		d.fail("too many bands")
		return
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		b.Table.Bands = append(b.Table.Bands, Band{MinScore: d.dec(), MaxScore: d.dec(), Multiplier: d.dec()})
	}
}

func (b *SetBandTable) validate(rl rules) *Error {
	if err := dateInRange("effective_from", b.Table.EffectiveFrom); err != nil {
		return err
	}
	return validateBands(b.Table.Bands)
}
