// Package golden pins the behaviour of the state machine, rating and settlement on the demo
// data set: the charges CSV of the settlement year, the budget export (CSV and JSON), a
// monthly statement and the verify head. The files under testdata/ were written by the code
// before the command-shape refactoring (issue 9) and reviewed once by hand; `go test
// ./test/golden -update` rewrites them, which a reviewer must then read as a diff.
package golden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/apimap"
	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/interchange"
	"github.com/cloudledger/cloudledger/ledger"
	"github.com/cloudledger/cloudledger/rating"
	"github.com/cloudledger/cloudledger/settlement"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const demoDir = "../../examples/demo"

// demoLedger replays the demo data set into a fresh ledger with a fixed leader clock, in the
// order `make run` loads it, then scores aliyun's June–August 2026 and closes the window's months so
// that settlement year 2026 can be audited.
type demoLedger struct {
	t     *testing.T
	l     *ledger.Ledger
	index uint64
	clock time.Time
}

func newDemoLedger(t *testing.T) *demoLedger {
	t.Helper()
	l, err := ledger.Open(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	d := &demoLedger{t: t, l: l, clock: time.Date(2026, 11, 16, 9, 0, 0, 0, calendar.Shanghai)}
	d.importFile(interchange.KindDepartments, "departments.csv")
	d.importFile(interchange.KindProviders, "providers.csv")
	d.importFile(interchange.KindProjects, "projects.csv")
	d.importFile(interchange.KindCatalog, "catalog.csv")
	d.importFile(interchange.KindEvaluations, "evaluations.csv")
	d.submit("demo", ledger.Command{Key: "demo/approval/health-vcpu", Body: &ledger.GrantApproval{
		Department: "health", QuotaClass: "vcpu", Ceiling: dec("200"), Ref: "经信审〔2025〕12号"}})
	d.importFile(interchange.KindEvents, "events.csv")
	d.importFile(interchange.KindProjects, "projects-2026-adjust.csv")
	d.submit("system", ledger.Command{Body: &ledger.Tick{}})
	// aliyun's score of June–August is missing from the demo (its charges are provisional).
	d.submit("demo", ledger.Command{Key: "golden/eval/aliyun", Body: &ledger.SetEvaluation{Provider: "aliyun",
		From: date("2026-06-01"), To: date("2026-08-31"), Score: dec("80")}})
	for m := (calendar.Month{Year: 2025, Month: time.September}); !m.After(calendar.Month{Year: 2026, Month: time.August}); m = m.Next() {
		d.submit("demo", ledger.Command{Key: "golden/close/" + m.String(), Body: &ledger.ClosePeriod{Month: m}})
	}
	return d
}

// submit applies one request in one Raft entry, one second after the previous entry.
func (d *demoLedger) submit(actor string, cmds ...ledger.Command) {
	d.t.Helper()
	d.index++
	d.clock = d.clock.Add(time.Second)
	p := &ledger.Proposal{RecordedAt: d.clock, Submissions: []ledger.Submission{{Actor: actor, Commands: cmds}}}
	res := d.l.ApplyBatch([]ledger.Entry{{Index: d.index, Data: ledger.EncodeProposal(p)}})[0].(*ledger.ProposalResult)
	if res.Err != nil {
		d.t.Fatalf("entry %d: %v", d.index, res.Err)
	}
	if e := res.Submissions[0].Err; e != nil {
		d.t.Fatalf("entry %d, command %d: %v", d.index, e.Index, e)
	}
}

// importFile applies a demo file in requests of 50 rows.
func (d *demoLedger) importFile(kind interchange.FileKind, name string) {
	d.t.Helper()
	dec, closer, err := interchange.OpenFile(kind, filepath.Join(demoDir, name))
	if err != nil {
		d.t.Fatal(err)
	}
	defer closer.Close()
	var batch []ledger.Command
	for {
		row, rerr, ok := dec.Next()
		if !ok {
			break
		}
		if rerr != nil {
			d.t.Fatal(rerr)
		}
		cmd, err := apimap.Command(row.Command)
		if err != nil {
			d.t.Fatalf("%s:%d: %v", name, row.Line, err)
		}
		batch = append(batch, cmd)
		if len(batch) == 50 {
			d.submit("demo", batch...)
			batch = nil
		}
	}
	if len(batch) > 0 {
		d.submit("demo", batch...)
	}
}

func (d *demoLedger) data(f ledger.ViewFilter) *ledger.View {
	d.t.Helper()
	data, err := d.l.View(f)
	if err != nil {
		d.t.Fatal(err)
	}
	return data
}

func TestDemoGolden(t *testing.T) {
	d := newDemoLedger(t)

	// The settlement year's charges, before the audit.
	res, err := rating.Rate(d.data(ledger.ViewFilter{}), rating.Options{From: date("2025-09-01"), To: date("2026-08-31")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Provisional) != 0 {
		t.Fatalf("%d provisional lines: the golden year must be fully scored", len(res.Provisional))
	}
	var charges bytes.Buffer
	if err := rating.WriteCSV(&charges, res.Lines); err != nil {
		t.Fatal(err)
	}
	golden(t, "charges-2025-09..2026-08.csv", charges.Bytes())

	// A department's monthly statement.
	st, err := settlement.BuildStatement(d.data(ledger.ViewFilter{Department: "health"}), calendar.Month{Year: 2026, Month: time.March}, "health", "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var stCSV, stJSON bytes.Buffer
	if err := st.WriteCSV(&stCSV); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteJSON(&stJSON); err != nil {
		t.Fatal(err)
	}
	golden(t, "statement-health-2026-03.csv", stCSV.Bytes())
	golden(t, "statement-health-2026-03.json", stJSON.Bytes())

	// Settlement year 2026: run, audit, submit; then the budget export.
	d.submit("finance", ledger.Command{Key: "golden/settle/run", Body: &ledger.SettlementRun{Year: 2026}})
	audit, blockers, err := settlement.Prepare(d.data(ledger.ViewFilter{}), 2026)
	if err != nil || len(blockers) > 0 {
		t.Fatalf("prepare: %v %v", err, blockers)
	}
	d.submit("auditor", ledger.Command{Key: "golden/settle/audit", Body: audit})
	d.submit("finance", ledger.Command{Key: "golden/settle/submit", Body: &ledger.SettlementAdvance{Year: 2026, To: ledger.SettlementSubmitted}})
	b, err := settlement.BuildBudget(d.data(ledger.ViewFilter{}), d.l.Calendar(), 2026)
	if err != nil {
		t.Fatal(err)
	}
	var bCSV, bJSON bytes.Buffer
	if err := b.WriteCSV(&bCSV); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteJSON(&bJSON); err != nil {
		t.Fatal(err)
	}
	golden(t, "budget-2026.csv", bCSV.Bytes())
	golden(t, "budget-2026.json", bJSON.Bytes())

	// verify: the chain recomputed from the stored line items.
	head, err := d.l.Verify()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "verify.txt", fmt.Appendf(nil, "line_items %d\nhead %s\napplied_index %d\n", head.Seq, head.Hash, head.AppliedIndex))
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update once, then review the file)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (%d bytes, want %d): first difference at byte %d", name, len(got), len(want), firstDiff(got, want))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func date(s string) calendar.Date {
	d, err := calendar.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}
