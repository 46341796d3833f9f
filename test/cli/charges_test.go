package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// SPEC: Rating — "No score for a day: the multiplier is 1 and the charge is provisional";
// charges.csv has exactly its columns, so the provisional days are said on stderr and in the
// JSON, never in the CSV. setup's March (no evaluation yet): vm1 8 vCPU on 1 Mar from 10:00
// and 2 Mar until 10:00, vm2 4 vCPU from 2 Mar 10:00 on.
func TestChargesSayWhichDaysAreProvisionalOutsideTheCSV(t *testing.T) {
	e := setup(t)
	csvPath, jsonPath := filepath.Join(e.dir, "charges.csv"), filepath.Join(e.dir, "charges.json")
	out := e.must("charges", "--from", "2026-03-01", "--to", "2026-03-31", "--format", "csv", "-o", csvPath)
	// Unit-days: 1 Mar 8; 2 Mar 8 + 4 = 12; 3–31 Mar 29 × 4 = 116; Σ 136. base = 40 × 136 / 31 =
	// 175.4838… → 175.48; no score at all, so multiplier 1 and amount = base.
	raw, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	want := "\ufeffmonth,department,project,provider,item,billing,quantity,unit,base_amount,multiplier,amount\n" +
		"2026-03,d1,prj1,p1,ecs.vcpu,allocation,136,核·天,175.48,1.0000,175.48\n"
	if string(raw) != want {
		t.Fatalf("charges.csv:\n%q\nwant:\n%q", raw, want)
	}
	if !strings.Contains(out, "p1") || !strings.Contains(out, "2026-03-01..2026-03-31") {
		t.Fatalf("stderr does not name p1's unscored days 2026-03-01..2026-03-31:\n%s", out)
	}

	// A score of 75 (0.95) for 1–20 Mar. Scored unit-days: 8 + 12 + 18 × 4 = 92; unscored
	// 21–31 Mar: 11 × 4 = 44. amount = 40 × (92 × 0.95 + 44) / 31 = 40 × 131.4 / 31 =
	// 169.5483… → 169.55; multiplier 131.4 / 136 = 0.96617… → 0.9662; vm2's 11 days are
	// provisional.
	e.must("import", "evaluations", e.write("ev.csv", "provider,from,to,score\np1,2026-03-01,2026-03-20,75\n"))
	out = e.must("charges", "--from", "2026-03-01", "--to", "2026-03-31", "--format", "json", "-o", jsonPath)
	if !strings.Contains(out, "2026-03-21..2026-03-31") {
		t.Fatalf("stderr does not name p1's unscored days 2026-03-21..2026-03-31:\n%s", out)
	}
	raw, err = os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		ProvisionalLines int `json:"provisional_lines"`
		Unscored         []struct {
			Provider string `json:"provider"`
			Days     []struct{ From, To string }
		} `json:"unscored"`
		Lines []struct {
			Quantity        string `json:"quantity"`
			BaseAmount      string `json:"base_amount"`
			Multiplier      string `json:"multiplier"`
			Amount          string `json:"amount"`
			ProvisionalDays int    `json:"provisional_days"`
		} `json:"lines"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	if len(got.Lines) != 1 || got.ProvisionalLines != 1 || len(got.Unscored) != 1 || got.Unscored[0].Provider != "p1" ||
		len(got.Unscored[0].Days) != 1 || got.Unscored[0].Days[0].From != "2026-03-21" || got.Unscored[0].Days[0].To != "2026-03-31" {
		t.Fatalf("provisional lines and unscored days:\n%s", raw)
	}
	l := got.Lines[0]
	if l.Quantity != "136" || l.BaseAmount != "175.48" || l.Multiplier != "0.9662" || l.Amount != "169.55" || l.ProvisionalDays != 11 {
		t.Fatalf("line %+v, want 136 / 175.48 / 0.9662 / 169.55 with 11 provisional days", l)
	}
}

// Going back to an earlier band table for the same date (A, then B, then A) sets A again: the
// third request is not taken for a repeat of the first.
func TestBandTableCanGoBackToAnEarlierTable(t *testing.T) {
	e := setup(t)
	header := "min_score,max_score,multiplier\n"
	a := e.write("a.csv", header+"0,60,0.85\n60,100,1\n")
	b := e.write("b.csv", header+"0,60,0.7\n60,100,1\n")
	shows := func(want, not string) {
		t.Helper()
		out := e.must("bands", "show", "--format", "json")
		if !strings.Contains(out, `"`+want+`"`) || strings.Contains(out, `"`+not+`"`) {
			t.Fatalf("bands show: want multiplier %s in force, not %s:\n%s", want, not, out)
		}
	}
	e.must("bands", "set", "--effective-from", "2026-07-01", a)
	// The API's band table has one form, its decimals exact (issue 23): 0.7, not 0.70.
	shows("0.85", "0.7")
	e.must("bands", "set", "--effective-from", "2026-07-01", b)
	shows("0.7", "0.85")
	out := e.must("bands", "set", "--effective-from", "2026-07-01", a)
	if strings.Contains(out, "already recorded") {
		t.Fatalf("going back to A was taken for a repeat: %s", out)
	}
	shows("0.85", "0.70")
	// Setting A once more is a repeat: nothing changes.
	head := e.head()
	e.must("bands", "set", "--effective-from", "2026-07-01", a)
	if e.head() != head {
		t.Fatal("setting the table in force again wrote a line item")
	}
}
