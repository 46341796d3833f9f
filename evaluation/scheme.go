package evaluation

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
)

// Indicator names one of the four indicators.
type Indicator string

const (
	SLA          Indicator = "sla"          // request steps done on time (SH 19–24)
	Availability Indicator = "availability" // the daily rows' availability_pct (real-time monitoring, SD 36)
	Satisfaction Indicator = "satisfaction" // the departments' survey (满意度调查)
	Expert       Indicator = "expert"       // the expert panel's score (专家评审)
)

// Indicators are the four, in the order reports list them.
var Indicators = []Indicator{SLA, Availability, Satisfaction, Expert}

// Name is the indicator's name for officials, Chinese and English (GLOSSARY.md).
func (i Indicator) Name() (zh, en string) {
	switch i {
	case SLA:
		return "服务时效", "SLA"
	case Availability:
		return "可用性", "Availability"
	case Satisfaction:
		return "满意度", "Satisfaction"
	case Expert:
		return "专家评审", "Expert review"
	}
	return string(i), string(i)
}

// Scheme is the evaluation scheme in force from EffectiveFrom (the authority's; SPEC's
// defaults until one is set). The scheme in force on a quarter's last day applies to it.
type Scheme struct {
	EffectiveFrom      calendar.Date   `json:"effective_from"`
	WeightSLA          decimal.Decimal `json:"weight_sla"`
	WeightAvailability decimal.Decimal `json:"weight_availability"`
	WeightSatisfaction decimal.Decimal `json:"weight_satisfaction"`
	WeightExpert       decimal.Decimal `json:"weight_expert"`
	AvailabilityFloor  decimal.Decimal `json:"availability_floor_pct"`
	AvailabilityTarget decimal.Decimal `json:"availability_target_pct"`
	SurveyWorkingDays  int             `json:"survey_working_days"`
	PassScore          decimal.Decimal `json:"pass_score"`
}

// Settings are the rows of a scheme file (`setting,value`), in the order SPEC lists them.
var Settings = []string{"weight_sla", "weight_availability", "weight_satisfaction", "weight_expert",
	"availability_floor_pct", "availability_target_pct", "survey_working_days", "pass_score"}

// MaxSurveyWorkingDays bounds the survey's window.
const MaxSurveyWorkingDays = 60

var hundred = decimal.NewFromInt(100)

// DefaultScheme is SPEC's: weights 30/30/20/20, availability floor 99.0 and target 99.95,
// a survey open 10 working days after the quarter's last day, pass line 60.
func DefaultScheme() Scheme {
	return Scheme{
		WeightSLA: decimal.NewFromInt(30), WeightAvailability: decimal.NewFromInt(30),
		WeightSatisfaction: decimal.NewFromInt(20), WeightExpert: decimal.NewFromInt(20),
		AvailabilityFloor: decimal.RequireFromString("99.0"), AvailabilityTarget: decimal.RequireFromString("99.95"),
		SurveyWorkingDays: 10, PassScore: decimal.NewFromInt(60),
	}
}

// Weight is the scheme's weight of an indicator.
func (s Scheme) Weight(i Indicator) decimal.Decimal {
	switch i {
	case SLA:
		return s.WeightSLA
	case Availability:
		return s.WeightAvailability
	case Satisfaction:
		return s.WeightSatisfaction
	case Expert:
		return s.WeightExpert
	}
	return decimal.Zero
}

// Set sets one setting from its text (a row of the scheme file).
func (s *Scheme) Set(name, value string) error {
	value = strings.TrimSpace(value)
	if name == "survey_working_days" {
		n, err := strconv.Atoi(value)
		if err != nil {
			return fmt.Errorf("survey_working_days is a whole number of working days, not %q", value)
		}
		s.SurveyWorkingDays = n
		return nil
	}
	v, err := decimal.NewFromString(value)
	if err != nil {
		return fmt.Errorf("%s is a decimal number, not %q", name, value)
	}
	switch name {
	case "weight_sla":
		s.WeightSLA = v
	case "weight_availability":
		s.WeightAvailability = v
	case "weight_satisfaction":
		s.WeightSatisfaction = v
	case "weight_expert":
		s.WeightExpert = v
	case "availability_floor_pct":
		s.AvailabilityFloor = v
	case "availability_target_pct":
		s.AvailabilityTarget = v
	case "pass_score":
		s.PassScore = v
	default:
		return fmt.Errorf("unknown setting %q (known: %s)", name, strings.Join(Settings, ", "))
	}
	return nil
}

// Value is a setting's value as text (the scheme file's form).
func (s Scheme) Value(name string) string {
	switch name {
	case "survey_working_days":
		return strconv.Itoa(s.SurveyWorkingDays)
	case "availability_floor_pct":
		return s.AvailabilityFloor.String()
	case "availability_target_pct":
		return s.AvailabilityTarget.String()
	case "pass_score":
		return s.PassScore.String()
	}
	if i := Indicator(strings.TrimPrefix(name, "weight_")); slices.Contains(Indicators, i) {
		return s.Weight(i).String()
	}
	return ""
}

// Check returns the first setting that is out of its domain, and why: weights ≥ 0 with a
// positive sum, 0 ≤ floor < target ≤ 100, 1–60 survey working days, a pass line 0–100.
func (s Scheme) Check() (setting string, why error) {
	sum := decimal.Zero
	for _, i := range Indicators {
		w := s.Weight(i)
		if w.IsNegative() || w.GreaterThan(decimal.NewFromInt(1000)) || w.Exponent() < -4 {
			return "weight_" + string(i), fmt.Errorf("a weight is 0–1000 with at most 4 decimals, not %s", w)
		}
		sum = sum.Add(w)
	}
	if !sum.IsPositive() {
		return "weight_sla", fmt.Errorf("the weights add up to %s: at least one must be positive", sum)
	}
	for _, x := range []struct {
		name string
		v    decimal.Decimal
	}{{"availability_floor_pct", s.AvailabilityFloor}, {"availability_target_pct", s.AvailabilityTarget}, {"pass_score", s.PassScore}} {
		name, v := x.name, x.v
		if v.IsNegative() || v.GreaterThan(hundred) || v.Exponent() < -4 {
			return name, fmt.Errorf("%s is 0–100 with at most 4 decimals, not %s", name, v)
		}
	}
	if !s.AvailabilityTarget.GreaterThan(s.AvailabilityFloor) {
		return "availability_target_pct", fmt.Errorf("the availability target %s must be above the floor %s", s.AvailabilityTarget, s.AvailabilityFloor)
	}
	if s.SurveyWorkingDays < 1 || s.SurveyWorkingDays > MaxSurveyWorkingDays {
		return "survey_working_days", fmt.Errorf("the survey stays open 1–%d working days, not %d", MaxSurveyWorkingDays, s.SurveyWorkingDays)
	}
	return "", nil
}
