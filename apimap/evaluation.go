package apimap

import (
	"strings"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	"github.com/cloudledger/cloudledger/evaluation"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/interchange"
	"github.com/cloudledger/cloudledger/ledger"
)

// Evaluation (SPEC: Evaluation): the scheme, the expert score, the publication and the
// survey as the API carries them.

// ParseQuarter reads a quarter field (2026Q4).
func ParseQuarter(field, s string) (calendar.Quarter, *errcode.Error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return calendar.Quarter{}, errf(errcode.MissingField, field, "%s is required (2026Q4 = June–August 2026)", field)
	}
	q, err := calendar.ParseQuarter(s)
	if err != nil {
		return q, errf(errcode.InvalidValue, field, "%v", err)
	}
	return q, nil
}

func parseScore(s string) (decimal.Decimal, *errcode.Error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return decimal.Zero, errf(errcode.MissingField, "score", "score is required (0–100)")
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return d, errf(errcode.InvalidScore, "score", "a score is a number 0–100, not %q", interchange.Echo(s))
	}
	return d, nil
}

func parseEvaluationScheme(p *v1.EvaluationScheme) (*ledger.SetEvaluationScheme, *errcode.Error) {
	from, err := parseDate("effective_from", strings.TrimSpace(p.GetEffectiveFrom()))
	if err != nil {
		return nil, err
	}
	s := evaluation.DefaultScheme()
	s.EffectiveFrom = from
	for i, f := range interchange.SchemeValues(p) {
		name, v := evaluation.Settings[i], strings.TrimSpace(*f)
		if v == "" {
			continue // SPEC's default
		}
		if err := s.Set(name, v); err != nil {
			return nil, errf(errcode.InvalidScheme, name, "%v", err)
		}
	}
	return &ledger.SetEvaluationScheme{Scheme: s}, nil
}

// EvaluationSchemeOf is the API form of a scheme (every field written).
func EvaluationSchemeOf(s evaluation.Scheme) *v1.EvaluationScheme {
	out := &v1.EvaluationScheme{}
	if !s.EffectiveFrom.IsZero() {
		out.EffectiveFrom = s.EffectiveFrom.String()
	}
	for i, f := range interchange.SchemeValues(out) {
		*f = s.Value(evaluation.Settings[i])
	}
	return out
}

func parseExpertScore(p *v1.ExpertScore) (*ledger.SetExpertScore, *errcode.Error) {
	q, err := ParseQuarter("quarter", p.GetQuarter())
	if err != nil {
		return nil, err
	}
	score, err := parseScore(p.GetScore())
	if err != nil {
		return nil, err
	}
	return &ledger.SetExpertScore{Quarter: q, Provider: strings.TrimSpace(p.GetProvider()), Score: score, Ref: strings.TrimSpace(p.GetRef())}, nil
}

func parseQuarterPublish(p *v1.QuarterPublish) (*ledger.PublishQuarter, *errcode.Error) {
	q, err := ParseQuarter("quarter", p.GetQuarter())
	if err != nil {
		return nil, err
	}
	return &ledger.PublishQuarter{Quarter: q}, nil
}

// SurveyAnswer is the ledger command of a survey request.
func SurveyAnswer(p *v1.SurveyRequest) (*ledger.SurveyAnswer, *errcode.Error) {
	q, err := ParseQuarter("quarter", p.GetQuarter())
	if err != nil {
		return nil, err
	}
	score, err := parseScore(p.GetScore())
	if err != nil {
		return nil, err
	}
	return &ledger.SurveyAnswer{Quarter: q, Department: strings.TrimSpace(p.GetDepartment()), Provider: strings.TrimSpace(p.GetProvider()), Score: score}, nil
}

// ProviderQuarterOf is the API form of a provider's quarter.
func ProviderQuarterOf(pq ledger.ProviderQuarter) *v1.ProviderQuarterScore {
	out := &v1.ProviderQuarterScore{Provider: pq.Provider, Scored: pq.Scored, ExpertRef: pq.ExpertRef}
	if pq.Scored {
		out.Score, out.Multiplier = pq.Score.StringFixed(2), pq.Multiplier.String()
	}
	for _, ind := range pq.Indicators {
		ip := &v1.IndicatorPoints{Indicator: string(ind.Indicator), HasData: ind.HasData, Weight: ind.Weight.String()}
		if ind.HasData {
			ip.Count, ip.Raw, ip.Points = int32(ind.Count), ind.Raw.String(), ind.Points.String()
		}
		out.Indicators = append(out.Indicators, ip)
	}
	return out
}
