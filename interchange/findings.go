package interchange

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
)

// The two small files of findings (SPEC: Utilisation): the authority's rules (`rule,value`)
// and a project's seasons (`from,to,quota_class,quota`). Read here, by the clients too,
// into the API's form; the ledger checks the values (apimap.ParseRulesFile and
// ParseSeasonsFile do it at once; a client maps the ledger's field back to a line).

// RuleNames are the rows of a rules file, in SPEC's order.
var RuleNames = []string{"no_monitoring_days", "low_days", "low_mean_pct", "low_peak_pct", "zombie_days", "zombie_peak_pct",
	"advice_target_pct", "recover_days", "review_working_days", "rectify_working_days", "lateness_days"}

// RuleValues are the fields of rules in the order of RuleNames.
func RuleValues(p *v1.UtilisationRules) []*string {
	return []*string{&p.NoMonitoringDays, &p.LowDays, &p.LowMeanPct, &p.LowPeakPct, &p.ZombieDays, &p.ZombiePeakPct,
		&p.AdviceTargetPct, &p.RecoverDays, &p.ReviewWorkingDays, &p.RectifyWorkingDays, &p.LatenessDays}
}

// Bounds of the two files; MaxSeasonRows is ledger.MaxSeasons (a test holds them equal).
const (
	MaxRulesFileBytes   = 64 << 10
	MaxSeasonsFileBytes = 64 << 10
	MaxSeasonRows       = 24
)

// FileLines say on which line of a rules or seasons file each field is, so that an error of
// the ledger about a field names the line.
type FileLines struct {
	File    string
	rules   map[string]int // a rules file: each rule's line
	seasons []int          // a seasons file: each season's line
}

// ErrorOf is the ledger's error about field as an error of the file's line: a rule's name,
// or seasons[i] (with the season's own field after a dot).
func (l FileLines) ErrorOf(field string, code errcode.Code, message string) *RowError {
	e := &RowError{File: l.File, Line: 1, Field: field, Code: code, Message: message}
	if n, ok := l.rules[field]; ok {
		e.Line = n
	}
	var i int
	if _, err := fmt.Sscanf(field, "seasons[%d]", &i); err == nil && i >= 0 && i < len(l.seasons) {
		e.Line, e.Field = l.seasons[i], "from"
		if _, own, ok := strings.Cut(field, "."); ok {
			e.Field = own
		}
	}
	return e
}

// ReadRulesFile reads a rules file into the API form, effective from the day given: every
// row a known rule, once, with a value (a rule left out takes its default on the ledger).
func ReadRulesFile(name string, r io.Reader, effectiveFrom string) (*v1.UtilisationRules, FileLines, *RowError) {
	lines := FileLines{File: name, rules: map[string]int{}}
	rows, at, rerr := smallCSV(name, r, MaxRulesFileBytes, []string{"rule", "value"})
	if rerr != nil {
		return nil, lines, rerr
	}
	out := &v1.UtilisationRules{EffectiveFrom: effectiveFrom}
	fields := RuleValues(out)
	for i, rec := range rows {
		idx := slices.Index(RuleNames, rec[0])
		if idx < 0 {
			return nil, lines, &RowError{File: name, Line: at[i], Field: "rule", Code: errcode.InvalidValue,
				Message: "unknown rule " + Echo(rec[0]) + "; the rules are " + strings.Join(RuleNames, ", ")}
		}
		if prev, ok := lines.rules[rec[0]]; ok {
			return nil, lines, &RowError{File: name, Line: at[i], Field: "rule", Code: errcode.InvalidValue,
				Message: rec[0] + " is given twice (line " + strconv.Itoa(prev) + ")"}
		}
		lines.rules[rec[0]] = at[i]
		if rec[1] == "" {
			return nil, lines, &RowError{File: name, Line: at[i], Field: rec[0], Code: errcode.MissingField, Message: rec[0] + " has no value"}
		}
		*fields[idx] = rec[1]
	}
	return out, lines, nil
}

// ReadSeasonsFile reads a seasons file (MM-DD ranges) into the API form.
func ReadSeasonsFile(name string, r io.Reader) ([]*v1.Season, FileLines, *RowError) {
	lines := FileLines{File: name}
	rows, at, rerr := smallCSV(name, r, MaxSeasonsFileBytes, []string{"from", "to", "quota_class", "quota"})
	if rerr != nil {
		return nil, lines, rerr
	}
	if len(rows) > MaxSeasonRows {
		return nil, lines, &RowError{File: name, Line: at[MaxSeasonRows], Code: errcode.TooLarge, Message: "at most " + strconv.Itoa(MaxSeasonRows) + " seasons a project"}
	}
	var out []*v1.Season
	for _, rec := range rows {
		out = append(out, &v1.Season{From: rec[0], To: rec[1], QuotaClass: rec[2], Quota: rec[3]})
	}
	lines.seasons = at
	return out, lines, nil
}

// smallCSV reads a small CSV file whose first row is the header want (a UTF-8 BOM allowed);
// each row comes with its physical line. Blank lines are skipped.
func smallCSV(name string, r io.Reader, limit int64, want []string) ([][]string, []int, *RowError) {
	raw, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, nil, &RowError{File: name, Line: 1, Code: errcode.Malformed, Message: err.Error()}
	}
	if int64(len(raw)) > limit {
		return nil, nil, &RowError{File: name, Line: 1, Code: errcode.TooLarge, Message: "the file is larger than " + strconv.FormatInt(limit>>10, 10) + " KiB"}
	}
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(raw, []byte(bom))))
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
			return nil, nil, &RowError{File: name, Line: CSVErrorLine(err), Code: errcode.Malformed, Message: err.Error()}
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
				return nil, nil, &RowError{File: name, Line: line, Code: errcode.InvalidValue,
					Message: "the header is " + strings.Join(want, ",") + ", not " + Echo(strings.Join(rec, ","))}
			}
			header = true
		case len(rec) != len(want):
			return nil, nil, &RowError{File: name, Line: line, Code: errcode.Malformed,
				Message: strconv.Itoa(len(rec)) + " fields; a row is " + strings.Join(want, ",")}
		default:
			rows = append(rows, rec)
			lines = append(lines, line)
		}
	}
	if !header {
		return nil, nil, &RowError{File: name, Line: 1, Code: errcode.MissingField, Message: "the header " + strings.Join(want, ",") + " is required"}
	}
	return rows, lines, nil
}
