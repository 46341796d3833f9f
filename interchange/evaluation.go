package interchange

import (
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/cloudledger/cloudledger/errcode"
	"github.com/cloudledger/cloudledger/evaluation"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
)

// The evaluation scheme file (SPEC: Evaluation): a CSV `setting,value` with any of the rows
// of evaluation.Settings; a row left out takes SPEC's default on the ledger.

// MaxSchemeFileBytes bounds a scheme file.
const MaxSchemeFileBytes = 16 << 10

// SchemeValues are the fields of a scheme in the order of evaluation.Settings.
func SchemeValues(p *v1.EvaluationScheme) []*string {
	return []*string{&p.WeightSla, &p.WeightAvailability, &p.WeightSatisfaction, &p.WeightExpert,
		&p.AvailabilityFloorPct, &p.AvailabilityTargetPct, &p.SurveyWorkingDays, &p.PassScore}
}

// ReadSchemeFile reads a scheme file into the API form, effective from the day given: every
// row a known setting, once, with a value. The lines it returns name each setting's line,
// so that the ledger's error about a setting names it.
func ReadSchemeFile(name string, r io.Reader, effectiveFrom string) (*v1.EvaluationScheme, FileLines, *RowError) {
	lines := FileLines{File: name, rules: map[string]int{}}
	rows, at, rerr := smallCSV(name, r, MaxSchemeFileBytes, []string{"setting", "value"})
	if rerr != nil {
		return nil, lines, rerr
	}
	out := &v1.EvaluationScheme{EffectiveFrom: effectiveFrom}
	fields := SchemeValues(out)
	for i, rec := range rows {
		idx := slices.Index(evaluation.Settings, rec[0])
		if idx < 0 {
			return nil, lines, &RowError{File: name, Line: at[i], Field: "setting", Code: errcode.InvalidValue,
				Message: "unknown setting " + Echo(rec[0]) + "; the settings are " + strings.Join(evaluation.Settings, ", ")}
		}
		if prev, ok := lines.rules[rec[0]]; ok {
			return nil, lines, &RowError{File: name, Line: at[i], Field: "setting", Code: errcode.InvalidValue,
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
