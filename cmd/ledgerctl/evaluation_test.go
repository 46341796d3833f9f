package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/xuri/excelize/v2"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files of testdata/")

// sampleEvalReport is a quarter with a published, fully scored provider, one without a
// score that has an entered score on its days, and the efficiency table with a shared rank.
func sampleEvalReport() evalReportJSON {
	ind := func(has bool, raw, points, weight string) indicatorJSON {
		return indicatorJSON{HasData: has, Count: 1, Raw: raw, Points: points, Weight: weight}
	}
	return evalReportJSON{Quarters: []string{"2026Q4"},
		Rows: []evalRowJSON{
			{Provider: "aliyun", Quarter: "2026Q4", Status: "published", Scored: true, Score: "87.14", Multiplier: "0.98", ExpertRef: "评审〔2026〕9号",
				Indicators: map[string]indicatorJSON{"sla": ind(false, "", "", "30"), "availability": ind(true, "99.95", "100", "30"),
					"satisfaction": ind(true, "85", "85", "20"), "expert": ind(true, "70", "70", "20")}},
			{Provider: "ctyun", Quarter: "2026Q4", Status: "published", Scored: false,
				Indicators: map[string]indicatorJSON{"sla": ind(false, "", "", "30"), "availability": ind(false, "", "", "30"),
					"satisfaction": ind(false, "", "", "20"), "expert": ind(false, "", "", "20")},
				Entered: []enteredJSON{{From: "2026-06-01", To: "2026-08-31", Score: "82"}}},
		},
		Yearly: []yearJSON{{Provider: "aliyun", Year: 2026, Score: "87.14", Quarters: 1, PassScore: "60"}},
		Efficiency: []efficiencyJSON{
			{Quarter: "2026Q4", Department: "bus", QuotaClass: "vcpu", EfficiencyPct: "60.00", ResourceDays: 92, Rank: 1, Ranked: 3},
			{Quarter: "2026Q4", Department: "edu", QuotaClass: "vcpu", EfficiencyPct: "40.00", ResourceDays: 92, Rank: 2, Ranked: 3},
			{Quarter: "2026Q4", Department: "health", QuotaClass: "vcpu", EfficiencyPct: "40.00", ResourceDays: 30, Rank: 2, Ranked: 3}},
	}
}

// The evaluation report's CSV, JSON and table are pinned by golden files (SPEC: Evaluation,
// the report); the XLSX holds the same figures as number cells on its three sheets.
func TestEvalReportGolden(t *testing.T) {
	rep := sampleEvalReport()
	for _, format := range []string{formatCSV, formatJSON, formatTable} {
		var buf bytes.Buffer
		if err := writeEvalReport(&buf, format, lang("zh"), rep); err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", "evaluation-report."+format+".golden")
		if *updateGolden {
			if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%s differs from %s:\n%s", format, golden, buf.String())
		}
	}
	var buf bytes.Buffer
	if err := writeEvalReport(&buf, formatXLSX, lang("zh"), rep); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); len(got) != 3 || got[0] != sheetEvalScores || got[1] != sheetEvalYearly || got[2] != sheetEvalEfficiency {
		t.Fatalf("sheets %q", got)
	}
	for _, c := range []struct{ sheet, cell, want string }{
		{sheetEvalScores, "A1", "季度"}, {sheetEvalScores, "B3", "aliyun"}, {sheetEvalScores, "G3", "99.95"}, {sheetEvalScores, "P3", "87.14"},
		{sheetEvalScores, "Q3", "0.98"}, {sheetEvalScores, "P4", ""}, {sheetEvalScores, "S4", "2026-06-01..2026-08-31:82"},
		{sheetEvalYearly, "C3", "87.14"}, {sheetEvalEfficiency, "F5", "2"}, {sheetEvalEfficiency, "D5", "40"},
	} {
		got, err := f.GetCellValue(c.sheet, c.cell, excelize.Options{RawCellValue: true})
		if err != nil || got != c.want {
			t.Errorf("%s!%s = %q (%v), want %q", c.sheet, c.cell, got, err, c.want)
		}
	}
	for _, cell := range []string{"G3", "P3", "Q3"} {
		if typ, _ := f.GetCellType(sheetEvalScores, cell); typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString {
			t.Errorf("%s is text, not a number", cell)
		}
	}
}
