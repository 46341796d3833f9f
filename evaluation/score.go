package evaluation

import (
	"math/big"

	"github.com/shopspring/decimal"
)

// Data is what the ledger holds of one provider's quarter, per indicator.
type Data struct {
	// SLADue counts the provider's request steps (fulfil, formal opening) due in the
	// quarter, of requests neither cancelled nor rejected; SLAOnTime those done on or before
	// their due day.
	SLADue, SLAOnTime int
	// AvailabilityRows counts the daily rows of the provider's resources dated in the
	// quarter; AvailabilitySum adds their availability_pct.
	AvailabilityRows int
	AvailabilitySum  decimal.Decimal
	// Ratings are the survey's answers, one per department (0–100).
	Ratings []decimal.Decimal
	// Expert is the expert panel's score as entered, nil when none was.
	Expert *decimal.Decimal
}

// Points is one indicator of a provider's quarter.
type Points struct {
	Indicator Indicator `json:"indicator"`
	HasData   bool      `json:"has_data"`
	// Count is what the raw value is made of: steps due, rows, answers (1 for the expert).
	Count int `json:"count"`
	// Raw is the indicator's own figure: the share of steps on time in percent, the mean
	// availability_pct, the mean rating, the expert score — rounded half-up to 4 decimals
	// for reading.
	Raw decimal.Decimal `json:"raw"`
	// Points (0–100), rounded half-up to 4 decimals for reading; the score is computed
	// from the exact value.
	Points decimal.Decimal `json:"points"`
	Weight decimal.Decimal `json:"weight"`
	exact  *big.Rat
}

// Result is a provider's quarter: the four indicators and, when any has data (and a
// positive weight), the score.
type Result struct {
	Indicators []Points        `json:"indicators"`
	Scored     bool            `json:"scored"`
	Score      decimal.Decimal `json:"score"`
}

// Compute is SPEC's score: Σ w_i × points_i ÷ Σ w_i over the indicators with data, exact,
// rounded half-up to 2 decimals at the end. An indicator with data but weight 0 takes no
// part; a provider with no indicator left gets no score.
func Compute(s Scheme, d Data) Result {
	var res Result
	num, den := new(big.Rat), new(big.Rat)
	for _, ind := range Indicators {
		p := Points{Indicator: ind, Weight: s.Weight(ind)}
		switch ind {
		case SLA:
			if d.SLADue > 0 {
				share := big.NewRat(int64(d.SLAOnTime), int64(d.SLADue))
				p.HasData, p.Count, p.exact = true, d.SLADue, new(big.Rat).Mul(share, big.NewRat(100, 1))
				p.Raw = round(p.exact, 4)
			}
		case Availability:
			if d.AvailabilityRows > 0 {
				a := new(big.Rat).Quo(d.AvailabilitySum.Rat(), big.NewRat(int64(d.AvailabilityRows), 1))
				floor, target := s.AvailabilityFloor.Rat(), s.AvailabilityTarget.Rat()
				r := new(big.Rat).Quo(new(big.Rat).Sub(a, floor), new(big.Rat).Sub(target, floor))
				if r.Sign() < 0 {
					r.SetInt64(0)
				}
				if r.Cmp(big.NewRat(1, 1)) > 0 {
					r.SetInt64(1)
				}
				p.HasData, p.Count, p.Raw, p.exact = true, d.AvailabilityRows, round(a, 4), r.Mul(r, big.NewRat(100, 1))
			}
		case Satisfaction:
			if len(d.Ratings) > 0 {
				p.exact = meanRat(d.Ratings)
				p.HasData, p.Count, p.Raw = true, len(d.Ratings), round(p.exact, 4)
			}
		case Expert:
			if d.Expert != nil {
				p.HasData, p.Count, p.Raw, p.exact = true, 1, *d.Expert, d.Expert.Rat()
			}
		}
		if p.HasData {
			p.Points = round(p.exact, 4)
			if p.Weight.IsPositive() {
				w := p.Weight.Rat()
				num.Add(num, new(big.Rat).Mul(w, p.exact))
				den.Add(den, w)
			}
		}
		res.Indicators = append(res.Indicators, p)
	}
	if den.Sign() > 0 {
		res.Scored, res.Score = true, round(num.Quo(num, den), 2)
	}
	return res
}

// round rounds a rational half-up (away from zero at the half) to places decimals, from the
// exact value: a score is rounded once, at the end (SPEC: Evaluation).
func round(r *big.Rat, places int32) decimal.Decimal {
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil)
	n := new(big.Int).Mul(new(big.Int).Abs(r.Num()), scale)
	d := r.Denom()
	// ⌊(2n + d) ÷ 2d⌋ is n ÷ d rounded half-up.
	q := new(big.Int).Quo(new(big.Int).Add(new(big.Int).Lsh(n, 1), d), new(big.Int).Lsh(d, 1))
	if r.Sign() < 0 {
		q.Neg(q)
	}
	return decimal.NewFromBigInt(q, -places)
}

// Mean is the mean of scores, exact, rounded half-up to 2 decimals (a yearly score: the
// mean of a settlement year's published quarters).
func Mean(scores []decimal.Decimal) decimal.Decimal {
	if len(scores) == 0 {
		return decimal.Zero
	}
	return round(meanRat(scores), 2)
}

// meanRat is the exact mean of values (at least one).
func meanRat(values []decimal.Decimal) *big.Rat {
	sum := new(big.Rat)
	for _, v := range values {
		sum.Add(sum, v.Rat())
	}
	return sum.Quo(sum, big.NewRat(int64(len(values)), 1))
}
