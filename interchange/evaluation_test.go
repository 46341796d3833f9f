package interchange

import (
	"strings"
	"testing"
)

// SPEC, Evaluation: the scheme file is a CSV `setting,value`; a row left out takes its
// default (empty here, the ledger fills it); an unknown or repeated setting is refused with
// its line.
func TestReadSchemeFile(t *testing.T) {
	s, lines, err := ReadSchemeFile("scheme.csv", strings.NewReader("setting,value\nweight_expert,10\nsurvey_working_days,15\n"), "2026-06-01")
	if err != nil {
		t.Fatal(err)
	}
	if s.GetWeightExpert() != "10" || s.GetSurveyWorkingDays() != "15" || s.GetWeightSla() != "" || s.GetEffectiveFrom() != "2026-06-01" {
		t.Errorf("%+v", s)
	}
	if e := lines.ErrorOf("survey_working_days", "invalid_scheme", "x"); e.Line != 3 {
		t.Errorf("survey_working_days is on line %d, want 3", e.Line)
	}
	for _, c := range []struct{ file, field string }{
		{"setting,value\nweight_sla,30\nweight_quality,10\n", "setting"},
		{"setting,value\nweight_sla,30\nweight_sla,40\n", "setting"},
		{"setting,value\npass_score,\n", "pass_score"},
	} {
		if _, _, err := ReadSchemeFile("scheme.csv", strings.NewReader(c.file), "2026-06-01"); err == nil || err.Field != c.field {
			t.Errorf("%q: %v, want an error of field %s", c.file, err, c.field)
		}
	}
}

// evaluations.csv takes an optional reason column (SPEC: Evaluation): given, it travels
// with the score; a file without it reads as before.
func TestEvaluationsReason(t *testing.T) {
	for _, c := range []struct{ file, want string }{
		{"provider,from,to,score,reason\np1,2026-01-01,2026-01-31,90,专家组复评\n", "专家组复评"},
		{"provider,from,to,score\np1,2026-01-01,2026-01-31,90\n", ""},
	} {
		d, err := NewDecoder(KindEvaluations, "evaluations.csv", strings.NewReader(c.file), FormatCSV, "f00d")
		if err != nil {
			t.Fatal(err)
		}
		row, rerr, ok := d.Next()
		if !ok || rerr != nil {
			t.Fatalf("%q: %v", c.file, rerr)
		}
		if got := row.Command.GetEvaluation().GetReason(); got != c.want {
			t.Errorf("%q: reason %q, want %q", c.file, got, c.want)
		}
	}
}
