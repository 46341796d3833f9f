package apimap

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/interchange"
	"github.com/cloudledger/cloudledger/ledger"
)

// Findings (SPEC: Utilisation): the rules, the seasons and the lifecycle steps as the API
// carries them, the two CSV files of SPEC (rules `rule,value`; seasons
// `from,to,quota_class,quota`) and a finding's API form.

func parseUtilisationRules(p *v1.UtilisationRules) (*ledger.SetUtilisationRules, *errcode.Error) {
	from, err := parseDate("effective_from", strings.TrimSpace(p.GetEffectiveFrom()))
	if err != nil {
		return nil, err
	}
	r := ledger.DefaultUtilisationRules(from)
	ints := map[string]*int{"no_monitoring_days": &r.NoMonitoringDays, "low_days": &r.LowDays, "zombie_days": &r.ZombieDays, "recover_days": &r.RecoverDays,
		"review_working_days": &r.ReviewWorkingDays, "rectify_working_days": &r.RectifyWorkingDays, "lateness_days": &r.LatenessDays}
	pcts := map[string]*decimal.Decimal{"low_mean_pct": &r.LowMean, "low_peak_pct": &r.LowPeak, "zombie_peak_pct": &r.ZombiePeak, "advice_target_pct": &r.AdviceTarget}
	for i, f := range interchange.RuleValues(p) {
		name, s := interchange.RuleNames[i], strings.TrimSpace(*f)
		if s == "" {
			continue // SPEC's default
		}
		if into, ok := ints[name]; ok {
			n, perr := strconv.Atoi(s)
			if perr != nil || n < 0 {
				return nil, errf(errcode.InvalidValue, name, "%s is a whole number of days, not %q", name, interchange.Echo(s))
			}
			*into = n
			continue
		}
		d, derr := parseAmount(name, s, true)
		if derr != nil {
			return nil, errf(errcode.InvalidValue, name, "%s is a percentage above 0 and at most 100 with at most 2 decimals, not %q", name, interchange.Echo(s))
		}
		*pcts[name] = d
	}
	return &ledger.SetUtilisationRules{Rules: r}, nil
}

// UtilisationRulesOf is the API form of rules (every field written).
func UtilisationRulesOf(r ledger.UtilisationRules) *v1.UtilisationRules {
	return &v1.UtilisationRules{EffectiveFrom: r.EffectiveFrom.String(), NoMonitoringDays: strconv.Itoa(r.NoMonitoringDays), LowDays: strconv.Itoa(r.LowDays),
		LowMeanPct: r.LowMean.String(), LowPeakPct: r.LowPeak.String(), ZombieDays: strconv.Itoa(r.ZombieDays), ZombiePeakPct: r.ZombiePeak.String(),
		AdviceTargetPct: r.AdviceTarget.String(), RecoverDays: strconv.Itoa(r.RecoverDays), ReviewWorkingDays: strconv.Itoa(r.ReviewWorkingDays),
		RectifyWorkingDays: strconv.Itoa(r.RectifyWorkingDays), LatenessDays: strconv.Itoa(r.LatenessDays)}
}

func parseProjectSeasons(p *v1.ProjectSeasons) (*ledger.SetProjectSeasons, *errcode.Error) {
	out := &ledger.SetProjectSeasons{Project: strings.TrimSpace(p.GetProject())}
	if out.Project == "" {
		return nil, errf(errcode.MissingField, "project", "project is required")
	}
	if len(p.GetSeasons()) > ledger.MaxSeasons {
		return nil, errf(errcode.TooLarge, "seasons", "%d seasons; at most %d a project", len(p.GetSeasons()), ledger.MaxSeasons)
	}
	for i, s := range p.GetSeasons() {
		season, err := parseSeason(s)
		if err != nil {
			err.Field = fmt.Sprintf("seasons[%d].%s", i, err.Field) // which season: a file names its line
			return nil, err
		}
		out.Seasons = append(out.Seasons, season)
	}
	return out, nil
}

func parseSeason(s *v1.Season) (ledger.Season, *errcode.Error) {
	var out ledger.Season
	for _, f := range []struct {
		name string
		v    string
		into *ledger.MonthDay
	}{{"from", s.GetFrom(), &out.From}, {"to", s.GetTo(), &out.To}} {
		md, err := ledger.ParseMonthDay(f.v)
		if err != nil {
			return out, errf(errcode.InvalidValue, f.name, "a season runs from a month-day MM-DD to another: %v", err)
		}
		*f.into = md
	}
	out.QuotaClass = strings.TrimSpace(s.GetQuotaClass())
	if out.QuotaClass == "" {
		return out, errf(errcode.MissingField, "quota_class", "quota_class is required")
	}
	q, err := parseAmount("quota", strings.TrimSpace(s.GetQuota()), false)
	if err != nil {
		return out, err
	}
	out.Quota = q
	return out, nil
}

// ProjectSeasonsOf is the API form of a project's seasons.
func ProjectSeasonsOf(project string, ss []ledger.Season) *v1.ProjectSeasons {
	out := &v1.ProjectSeasons{Project: project}
	for _, s := range ss {
		out.Seasons = append(out.Seasons, &v1.Season{From: s.From.String(), To: s.To.String(), QuotaClass: s.QuotaClass, Quota: s.Quota.String()})
	}
	return out
}

// ParseRulesFile reads a rules file (interchange.ReadRulesFile) and checks its values as the
// ledger will. Errors name the file, line, field and code.
func ParseRulesFile(name string, r io.Reader, effectiveFrom string) (*v1.UtilisationRules, *interchange.RowError) {
	out, lines, rerr := interchange.ReadRulesFile(name, r, effectiveFrom)
	if rerr != nil {
		return nil, rerr
	}
	b, err := parseUtilisationRules(out)
	if err == nil {
		err = ledger.ValidateCommand(ledger.Command{Key: "check", Body: b})
	}
	if err != nil {
		return nil, lines.ErrorOf(err.Field, err.Code, err.Message)
	}
	return out, nil
}

// ParseSeasonsFile reads a seasons file (interchange.ReadSeasonsFile) and checks the seasons
// as the ledger will, one by one and together (one quota a day).
func ParseSeasonsFile(name string, r io.Reader) ([]*v1.Season, *interchange.RowError) {
	out, lines, rerr := interchange.ReadSeasonsFile(name, r)
	if rerr != nil {
		return nil, rerr
	}
	cmd, err := parseProjectSeasons(&v1.ProjectSeasons{Project: "check", Seasons: out})
	if err == nil {
		err = ledger.ValidateCommand(ledger.Command{Key: "check", Body: cmd})
	}
	if err != nil {
		return nil, lines.ErrorOf(err.Field, err.Code, err.Message)
	}
	return out, nil
}

// FindingStep is the ledger command of a StepFinding call.
func FindingStep(p *v1.StepFindingRequest) (*ledger.FindingAction, *errcode.Error) {
	a := &ledger.FindingAction{ID: strings.TrimSpace(p.GetId()), Action: strings.TrimSpace(p.GetAction()), Reason: strings.TrimSpace(p.GetReason())}
	if err := oneOf("action", a.Action, ledger.FindingActions...); err != nil {
		return nil, err
	}
	return a, nil
}

// Finding is the API form of a finding; resource is its subject's resource (none for a
// zombie) and deptName its department's name.
func Finding(f *ledger.Finding, deptName string, resource *ledger.Resource) *v1.Finding {
	out := &v1.Finding{Id: f.ID, Kind: string(f.Kind), Subject: f.Subject, Department: f.Department, DepartmentName: deptName, Provider: f.Provider,
		RaisedOn: f.RaisedOn.String(), State: string(f.State), Deadline: dateText(f.Deadline), DeadlineUnknown: f.DeadlineUnknown,
		ClosedOn: dateText(f.ClosedOn), Open: f.State.Open(),
		Evidence: &v1.FindingEvidence{From: dateText(f.Evidence.From), To: dateText(f.Evidence.To), Days: uint32(f.Evidence.Days), Rows: uint32(f.Evidence.Rows)}}
	if f.Evidence.Rows > 0 { // no rows, no figures: not a use of 0 %
		out.Evidence.MeanPct, out.Evidence.PeakPct = f.Evidence.Mean.StringFixed(2), f.Evidence.Peak.StringFixed(2)
	}
	if f.Kind == ledger.FindingLow {
		out.Advice, out.Quantity = f.Advice.String(), f.Quantity.String()
	}
	if f.Kind == ledger.FindingZombie {
		out.Project = f.Subject
	}
	if resource != nil {
		out.Project, out.Item = resource.Project, resource.Item
	}
	for _, s := range f.Steps {
		out.Steps = append(out.Steps, &v1.FindingStepDone{State: string(s.State), Actor: s.Actor, At: s.At.Format(time.RFC3339), Reason: s.Reason})
	}
	return out
}
