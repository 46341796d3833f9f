package apimap

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
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

// RuleNames are the rows of a rules file, in SPEC's order.
var RuleNames = []string{"no_monitoring_days", "low_days", "low_mean_pct", "low_peak_pct", "zombie_days", "zombie_peak_pct",
	"advice_target_pct", "recover_days", "review_working_days", "rectify_working_days", "lateness_days"}

// RuleValues are the fields of rules in the order of RuleNames.
func RuleValues(p *v1.UtilisationRules) []*string {
	return []*string{&p.NoMonitoringDays, &p.LowDays, &p.LowMeanPct, &p.LowPeakPct, &p.ZombieDays, &p.ZombiePeakPct,
		&p.AdviceTargetPct, &p.RecoverDays, &p.ReviewWorkingDays, &p.RectifyWorkingDays, &p.LatenessDays}
}

func parseUtilisationRules(p *v1.UtilisationRules) (*ledger.SetUtilisationRules, *errcode.Error) {
	from, err := parseDate("effective_from", strings.TrimSpace(p.GetEffectiveFrom()))
	if err != nil {
		return nil, err
	}
	r := ledger.DefaultUtilisationRules(from)
	ints := map[string]*int{"no_monitoring_days": &r.NoMonitoringDays, "low_days": &r.LowDays, "zombie_days": &r.ZombieDays, "recover_days": &r.RecoverDays,
		"review_working_days": &r.ReviewWorkingDays, "rectify_working_days": &r.RectifyWorkingDays, "lateness_days": &r.LatenessDays}
	pcts := map[string]*decimal.Decimal{"low_mean_pct": &r.LowMean, "low_peak_pct": &r.LowPeak, "zombie_peak_pct": &r.ZombiePeak, "advice_target_pct": &r.AdviceTarget}
	for i, f := range RuleValues(p) {
		name, s := RuleNames[i], strings.TrimSpace(*f)
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
			return nil, derr
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
	for _, s := range p.GetSeasons() {
		season, err := parseSeason(s)
		if err != nil {
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
			return out, errf(errcode.InvalidDate, f.name, "%v", err)
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

// Bounds of the two CSV files.
const (
	MaxRulesFileBytes   = 64 << 10
	MaxSeasonsFileBytes = 64 << 10
)

// csvRows reads a small CSV file whose first row is the header want (a UTF-8 BOM allowed);
// each row comes with its physical line. Blank lines are skipped.
func csvRows(name string, r io.Reader, limit int64, want []string) ([][]string, []int, *interchange.RowError) {
	raw, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, nil, &interchange.RowError{File: name, Line: 1, Code: errcode.Malformed, Message: err.Error()}
	}
	if int64(len(raw)) > limit {
		return nil, nil, &interchange.RowError{File: name, Line: 1, Code: errcode.TooLarge, Message: "the file is larger than " + strconv.FormatInt(limit>>10, 10) + " KiB"}
	}
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))))
	cr.FieldsPerRecord = -1
	header := false
	var rows [][]string
	var lines []int
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, &interchange.RowError{File: name, Line: interchange.CSVErrorLine(err), Code: errcode.Malformed, Message: err.Error()}
		}
		line, _ := cr.FieldPos(0)
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		switch {
		case len(rec) == 1 && rec[0] == "":
			continue
		case !header:
			if !slices.Equal(rec, want) {
				return nil, nil, &interchange.RowError{File: name, Line: line, Code: errcode.InvalidValue,
					Message: "the header is " + strings.Join(want, ",") + ", not " + interchange.Echo(strings.Join(rec, ","))}
			}
			header = true
		case len(rec) != len(want):
			return nil, nil, &interchange.RowError{File: name, Line: line, Code: errcode.Malformed,
				Message: strconv.Itoa(len(rec)) + " fields; a row is " + strings.Join(want, ",")}
		default:
			rows = append(rows, rec)
			lines = append(lines, line)
		}
	}
	if !header {
		return nil, nil, &interchange.RowError{File: name, Line: 1, Code: errcode.MissingField, Message: "the header " + strings.Join(want, ",") + " is required"}
	}
	return rows, lines, nil
}

// ParseRulesFile reads a rules file (SPEC: `rule,value`; a row left out takes the default)
// into the API form, effective from the day given. Errors name the file, line, field and code.
func ParseRulesFile(name string, r io.Reader, effectiveFrom string) (*v1.UtilisationRules, *interchange.RowError) {
	rows, lines, rerr := csvRows(name, r, MaxRulesFileBytes, []string{"rule", "value"})
	if rerr != nil {
		return nil, rerr
	}
	out := &v1.UtilisationRules{EffectiveFrom: effectiveFrom}
	fields := RuleValues(out)
	seen := map[string]int{}
	for i, rec := range rows {
		idx := slices.Index(RuleNames, rec[0])
		if idx < 0 {
			return nil, &interchange.RowError{File: name, Line: lines[i], Field: "rule", Code: errcode.InvalidValue,
				Message: "unknown rule " + interchange.Echo(rec[0]) + "; the rules are " + strings.Join(RuleNames, ", ")}
		}
		if prev, ok := seen[rec[0]]; ok {
			return nil, &interchange.RowError{File: name, Line: lines[i], Field: "rule", Code: errcode.InvalidValue,
				Message: rec[0] + " is given twice (line " + strconv.Itoa(prev) + ")"}
		}
		seen[rec[0]] = lines[i]
		if rec[1] == "" {
			return nil, &interchange.RowError{File: name, Line: lines[i], Field: "value", Code: errcode.MissingField, Message: rec[0] + " has no value"}
		}
		*fields[idx] = rec[1]
	}
	// The values, checked as the ledger will: an error names the row of its rule.
	b, err := parseUtilisationRules(out)
	if err == nil {
		err = ledger.ValidateCommand(ledger.Command{Key: "check", Body: b})
	}
	if err != nil {
		line := 1
		if l, ok := seen[err.Field]; ok {
			line = l
		}
		return nil, &interchange.RowError{File: name, Line: line, Field: err.Field, Code: err.Code, Message: err.Message}
	}
	return out, nil
}

// ParseSeasonsFile reads a seasons file (SPEC: `from,to,quota_class,quota`, MM-DD).
func ParseSeasonsFile(name string, r io.Reader) ([]*v1.Season, *interchange.RowError) {
	rows, lines, rerr := csvRows(name, r, MaxSeasonsFileBytes, []string{"from", "to", "quota_class", "quota"})
	if rerr != nil {
		return nil, rerr
	}
	if len(rows) > ledger.MaxSeasons {
		return nil, &interchange.RowError{File: name, Line: lines[ledger.MaxSeasons], Code: errcode.TooLarge, Message: "at most " + strconv.Itoa(ledger.MaxSeasons) + " seasons a project"}
	}
	var out []*v1.Season
	for i, rec := range rows {
		s := &v1.Season{From: rec[0], To: rec[1], QuotaClass: rec[2], Quota: rec[3]}
		if _, err := parseSeason(s); err != nil {
			return nil, &interchange.RowError{File: name, Line: lines[i], Field: err.Field, Code: err.Code, Message: err.Message}
		}
		out = append(out, s)
	}
	// The seasons together, checked as the ledger will (one quota a day): an error names the
	// row of the season it is about.
	cmd, perr := parseProjectSeasons(&v1.ProjectSeasons{Project: "check", Seasons: out})
	if perr == nil {
		perr = ledger.ValidateCommand(ledger.Command{Key: "check", Body: cmd})
	}
	if perr != nil {
		line := lines[0]
		var i int
		if _, err := fmt.Sscanf(perr.Field, "seasons[%d]", &i); err == nil && i < len(lines) {
			line = lines[i]
		}
		return nil, &interchange.RowError{File: name, Line: line, Field: "from", Code: perr.Code, Message: perr.Message}
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
		Evidence: &v1.FindingEvidence{From: dateText(f.Evidence.From), To: dateText(f.Evidence.To), Days: uint32(f.Evidence.Days), Rows: uint32(f.Evidence.Rows),
			MeanPct: f.Evidence.Mean.StringFixed(2), PeakPct: f.Evidence.Peak.StringFixed(2)}}
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
