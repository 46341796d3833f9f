package apimap

import (
	"strings"
	"testing"

	"github.com/cloudledger/cloudledger/errcode"
	"github.com/cloudledger/cloudledger/interchange"
	"github.com/cloudledger/cloudledger/ledger"
)

// SPEC: Utilisation, Rules ("a CSV rule,value … a row left out takes the default") and
// Seasonal workloads ("CSV from,to,quota_class,quota"): the files read, and every bad file
// refused with its file, line, field and code.
func TestRulesAndSeasonsFiles(t *testing.T) {
	r, err := ParseRulesFile("rules.csv", strings.NewReader("\ufeffrule,value\nlateness_days,40\n\nlow_mean_pct,12.5\n"), "2026-01-01")
	if err != nil {
		t.Fatal(err)
	}
	body, perr := parseUtilisationRules(r)
	if perr != nil {
		t.Fatal(perr)
	}
	// Given: lateness 40, mean 12.5; the rest SPEC's defaults.
	if b := body.Rules; b.LatenessDays != 40 || b.LowMean.String() != "12.5" || b.NoMonitoringDays != 7 || b.LowDays != 30 || b.LowPeak.String() != "30" ||
		b.ZombieDays != 60 || b.ZombiePeak.String() != "5" || b.AdviceTarget.String() != "70" || b.RecoverDays != 7 || b.ReviewWorkingDays != 5 || b.RectifyWorkingDays != 20 {
		t.Fatalf("rules %+v", b)
	}
	for _, c := range []struct{ file, want string }{
		{"rule,value\nlow_days,thirty\n", "rules.csv:2: low_days: invalid_value"},
		{"rule,value\nlow_days,30\nlow_days,31\n", "rules.csv:3: rule: invalid_value"},
		{"rule,value\nlow_dayz,30\n", "rules.csv:2: rule: invalid_value"},
		{"rule,value\nlow_days,0\n", "rules.csv:2: low_days: invalid_value"},
		{"rule,value\nlow_peak_pct,101\n", "rules.csv:2: low_peak_pct: invalid_value"},
		{"rule,value\nlow_days\n", "rules.csv:2: malformed"},
		{"name,value\n", "rules.csv:1: invalid_value"},
		{"", "rules.csv:1: missing_field"},
		{"rule,value\nlateness_days,\n", "rules.csv:2: lateness_days: missing_field"},
	} {
		_, err := ParseRulesFile("rules.csv", strings.NewReader(c.file), "2026-01-01")
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q: %v, want %s…", c.file, err, c.want)
		}
	}
	if _, err := ParseRulesFile("rules.csv", strings.NewReader("rule,value\n"+strings.Repeat("x", interchange.MaxRulesFileBytes)), "2026-01-01"); err == nil || !strings.Contains(err.Error(), "too_large") {
		t.Errorf("a file over %d bytes: %v", interchange.MaxRulesFileBytes, err)
	}

	ss, err := ParseSeasonsFile("seasons.csv", strings.NewReader("from,to,quota_class,quota\n05-15,07-15,vcpu,200\n12-01,02-28,memory_gb,64\n"))
	if err != nil || len(ss) != 2 || ss[1].GetFrom() != "12-01" || ss[1].GetQuota() != "64" {
		t.Fatalf("seasons %v %v", ss, err)
	}
	for _, c := range []struct{ file, want string }{
		{"from,to,quota_class,quota\n05-15,07-32,vcpu,200\n", "seasons.csv:2: to: invalid_value"},
		{"from,to,quota_class,quota\n5-15,07-15,vcpu,200\n", "seasons.csv:2: from: invalid_value"},
		{"from,to,quota_class,quota\n05-15,07-15,,200\n", "seasons.csv:2: quota_class: missing_field"},
		{"from,to,quota_class,quota\n05-15,07-15,vcpu,-1\n", "seasons.csv:2: quota: invalid_quantity"},
		{"from,to,quota_class,quota\n05-15,07-15,vcpu,200\n02-30,03-01,vcpu,1\n", "seasons.csv:3: from: invalid_value"},
	} {
		_, err := ParseSeasonsFile("seasons.csv", strings.NewReader(c.file))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q: %v, want %s…", c.file, err, c.want)
		}
	}
}

// The two files are outside input: whatever they hold, the parsers answer a value or an
// error naming a line, never a panic.
func FuzzRulesAndSeasonsFiles(f *testing.F) {
	f.Add("rule,value\nlateness_days,40\n")
	f.Add("from,to,quota_class,quota\n12-01,02-28,vcpu,200\n")
	f.Add("rule,value\n\"a\nb\",1\n")
	f.Fuzz(func(t *testing.T, s string) {
		if r, err := ParseRulesFile("f.csv", strings.NewReader(s), "2026-01-01"); err == nil {
			if _, perr := parseUtilisationRules(r); perr != nil {
				t.Fatalf("accepted rules that do not parse: %v", perr)
			}
		} else if err.Line < 1 {
			t.Fatalf("an error without a line: %v", err)
		}
		if _, err := ParseSeasonsFile("f.csv", strings.NewReader(s)); err != nil && err.Line < 1 {
			t.Fatalf("an error without a line: %v", err)
		}
	})
}

// Two seasons of one class that share a day are refused naming the later one's line (SPEC:
// Utilisation, seasons; a day has one quota).
func TestOverlappingSeasonsFile(t *testing.T) {
	_, err := ParseSeasonsFile("s.csv", strings.NewReader("from,to,quota_class,quota\n11-15,02-15,vcpu,200\n06-01,06-30,vcpu,100\n02-10,03-01,vcpu,50\n02-10,03-01,memory_gb,50\n"))
	if err == nil || err.Line != 4 || err.Code != errcode.InvalidValue || !strings.Contains(err.Message, "overlaps") {
		t.Fatalf("overlapping seasons: %v, want line 4 invalid_value overlaps", err)
	}
	if _, err := ParseSeasonsFile("s.csv", strings.NewReader("from,to,quota_class,quota\n11-15,02-15,vcpu,200\n02-16,03-01,vcpu,50\n")); err != nil {
		t.Fatalf("adjacent seasons: %v", err)
	}
}

// The clients' bound of a seasons file is the ledger's.
func TestSeasonBoundsAgree(t *testing.T) {
	if interchange.MaxSeasonRows != ledger.MaxSeasons {
		t.Fatalf("interchange.MaxSeasonRows %d, ledger.MaxSeasons %d", interchange.MaxSeasonRows, ledger.MaxSeasons)
	}
}
