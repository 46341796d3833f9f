package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/internal/testcluster"
	"github.com/cloudledger/cloudledger/internal/testport"
	"github.com/cloudledger/cloudledger/ledger"
	"github.com/cloudledger/cloudledger/utilpull"
)

// BenchmarkUtilisationPull is issue 24's must-show 4 (the pull): a day of 1,000 and of
// 10,000 resources — a CPU series and an up series each, a sample every 5 minutes — backfilled
// into a real Prometheus with promtool, then read by the pull as the leader reads it (nine
// instant queries over [1d]); the time of each size, and its growth per 10×.
func BenchmarkUtilisationPull(b *testing.B) {
	for _, tool := range []string{"prometheus", "promtool"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skipf("%s is not installed", tool)
		}
	}
	cst := time.FixedZone("CST", 8*3600)
	now := time.Now().In(cst)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, cst).AddDate(0, 0, -3)
	var took [2]time.Duration
	for k, n := range []int{1_000, 10_000} {
		dir := b.TempDir()
		om := filepath.Join(dir, "series.om")
		f, err := os.Create(om)
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range []struct{ name, v string }{{"cloudledger_cpu_utilisation_percent", "%d.5"}, {"cloudledger_resource_up", "1"}} {
			fmt.Fprintf(f, "# TYPE %s gauge\n", m.name)
			for r := 0; r < n; r++ {
				for s := 0; s < 288; s++ {
					v := m.v
					if strings.Contains(v, "%d") {
						v = fmt.Sprintf(v, (r+s)%100)
					}
					fmt.Fprintf(f, "%s{resource=\"r%05d\"} %s %d\n", m.name, r, v, day.Add(time.Duration(s)*5*time.Minute+30*time.Second).Unix())
				}
			}
		}
		fmt.Fprintln(f, "# EOF")
		f.Close()
		start := time.Now()
		if out, err := exec.Command("promtool", "tsdb", "create-blocks-from", "openmetrics", om, filepath.Join(dir, "tsdb")).CombinedOutput(); err != nil {
			b.Fatalf("promtool: %v\n%s", err, out)
		}
		backfill := time.Since(start)
		addr := testport.Addr(b)
		cfg := filepath.Join(dir, "prometheus.yml")
		_ = os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1m\n"), 0o600)
		cmd := exec.Command("prometheus", "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"), "--storage.tsdb.retention.time=10y", "--web.listen-address="+addr)
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		for deadline := time.Now().Add(60 * time.Second); ; {
			if res, err := http.Get("http://" + addr + "/-/ready"); err == nil && res.StatusCode == http.StatusOK {
				res.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				b.Fatal("prometheus not ready")
			}
			time.Sleep(100 * time.Millisecond)
		}
		p, err := utilpull.New("http://"+addr, utilpull.DefaultQueries())
		if err != nil {
			b.Fatal(err)
		}
		d := calendar.DateOf(day)
		start = time.Now()
		rows, _, err := p.Day(context.Background(), d, func(string) (string, bool) { return "vcpu", true })
		took[k] = time.Since(start)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if err != nil || len(rows) != n {
			b.Fatalf("%d resources: %d rows, %v", n, len(rows), err)
		}
		fmt.Printf("pull of one day, %d resources (%d samples backfilled in %s): %s\n", n, 2*288*n, backfill.Round(time.Millisecond), took[k].Round(time.Millisecond))
	}
	fmt.Printf("growth per 10× resources: %.1f×\n", took[1].Seconds()/took[0].Seconds())
	b.ReportMetric(took[0].Seconds(), "s/1k-resources")
	b.ReportMetric(took[1].Seconds(), "s/10k-resources")
}

// BenchmarkUtilisationApply is issue 24's must-show 4 (applying): one delivery of a day of
// 100,000 rows applied by the state machine to a ledger of 100,000 monitored resources
// (bbolt, fsync on), and flushed; the time, and the process's resident memory before, after
// and at its peak.
func BenchmarkUtilisationApply(b *testing.B) {
	const n = 100_000
	l, err := ledger.Open(filepath.Join(b.TempDir(), "util.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	var index uint64
	now := calendar.NewDate(2026, 11, 1).Start()
	apply := func(actor string, cmds []ledger.Command) {
		index++
		data := ledger.EncodeProposal(&ledger.Proposal{RecordedAt: now, Submissions: []ledger.Submission{{Actor: actor, Commands: cmds}}})
		res := l.ApplyBatch([]ledger.Entry{{Index: index, Data: data}})[0].(*ledger.ProposalResult)
		if res.Err != nil || res.Submissions[0].Err != nil {
			b.Fatalf("apply: %v %v", res.Err, res.Submissions[0].Err)
		}
	}
	dec := decimal.RequireFromString
	d0, _ := calendar.ParseDate("2025-01-01")
	apply("bench", []ledger.Command{
		{Key: "p", Body: &ledger.SetProvider{Provider: ledger.Provider{ID: "p1", Name: "p1", ContractStart: d0, ContractEnd: calendar.NewDate(2028, 12, 31)}}},
		{Key: "d", Body: &ledger.SetDepartment{Department: ledger.Department{ID: "d1", Name: "d1", Funding: ledger.FundingBudget}}},
		{Key: "q", Body: &ledger.SetProjectQuota{Project: "prj", Department: "d1", Name: "prj", QuotaClass: "vcpu", Quota: dec("100000000")}},
		{Key: "i", Body: &ledger.SetCatalogPrice{Item: "ecs.vcpu", Name: "vcpu", Unit: "u", Billing: ledger.BillingAllocation, QuotaClass: "vcpu", Proration: ledger.ProrationDaily, Price: dec("40"), EffectiveFrom: d0}},
	})
	opened := calendar.NewDate(2026, 9, 1).Start()
	for at := 0; at < n; at += 10_000 {
		cmds := make([]ledger.Command, 0, 10_000)
		for r := at; r < at+10_000; r++ {
			cmds = append(cmds, ledger.Command{Key: fmt.Sprintf("a%d", r), Body: &ledger.Event{Op: ledger.OpAllocate, Time: opened, Department: "d1", Project: "prj", Provider: "p1",
				Resource: fmt.Sprintf("r%06d", r), Item: "ecs.vcpu", Kind: ledger.KindStandard, Quantity: dec("2")}})
		}
		apply("bench", cmds)
	}
	l.Flush()
	rows := make([]ledger.UtilisationRow, n)
	date := calendar.NewDate(2026, 10, 30)
	for r := range rows {
		m := decimal.New(int64(r%9000), -2) // 0.00–89.99
		rows[r] = ledger.UtilisationRow{Resource: fmt.Sprintf("r%06d", r), Date: date, Mean: m, Peak: m.Add(dec("10")), Availability: dec("99.9")}
	}
	runtime.GC()
	before := rss(b, os.Getpid())
	start := time.Now()
	apply("system", []ledger.Command{{Key: "utilisation/prometheus/2026-10-30", Body: &ledger.UtilisationDelivery{Rows: rows}}})
	applied := time.Since(start)
	l.Flush()
	flushed := time.Since(start)
	after := rss(b, os.Getpid())
	if got := l.UtilisationRows("r099999", date, date); len(got) != 1 {
		b.Fatalf("the last row: %+v", got)
	}
	fmt.Printf("a day of %d rows: applied in %s, flushed (fsync) by %s; resident memory %d MiB before, %d MiB after, peak %d MiB\n",
		n, applied.Round(time.Millisecond), flushed.Round(time.Millisecond), before.now>>20, after.now>>20, after.peak>>20)
	b.ReportMetric(flushed.Seconds(), "s/100k-rows")
	b.ReportMetric(float64(after.now>>20), "rss-MiB")
}

// beforeUtilisation is the commit before issue 24.
const beforeUtilisation = "338b5a6"

// BenchmarkUtilisationAgainstBefore is issue 24's must-show 4 (no cost to writes): the
// write loads of BenchmarkWrites on clusters of this tree and of the commit before issue
// 24, in two rounds in opposite order in one run. Target ≥ 0.95.
func BenchmarkUtilisationAgainstBefore(b *testing.B) {
	writesAgainst(b, beforeUtilisation)
}

// writesAgainst runs the two write loads on 3-node clusters of this tree's ledgerd and of
// commit's, now, before, before, now, and reports the ratios of the rounds' sums.
func writesAgainst(b *testing.B, commit string) {
	before := testcluster.BinaryAt(b, commit)
	type round struct{ single, imp result }
	run := func(name, bin string) round {
		single, imp := clusterLoads(b, context.Background(), name, testcluster.Options{Binary: bin})
		return round{single, imp}
	}
	now1 := run("now", "")
	old1 := run("before", before)
	old2 := run("before", before)
	now2 := run("now", "")
	now := round{combine(now1.single, now2.single), combine(now1.imp, now2.imp)}
	old := round{combine(old1.single, old2.single), combine(old1.imp, old2.imp)}
	report(b, []result{now.single, old.single, now.imp, old.imp}, map[string]result{now.single.name: old.single, now.imp.name: old.imp})
	fmt.Printf("rounds (items/s): 64 writers now %.0f/%.0f before %.0f/%.0f; import now %.0f/%.0f before %.0f/%.0f\n",
		now1.single.rate(), now2.single.rate(), old1.single.rate(), old2.single.rate(), now1.imp.rate(), now2.imp.rate(), old1.imp.rate(), old2.imp.rate())
	writers, imports := now.single.rate()/old.single.rate(), now.imp.rate()/old.imp.rate()
	fmt.Printf("now ÷ before (%s): 64 writers %.2f, import %.2f\n", commit, writers, imports)
	b.ReportMetric(writers, "writers-ratio")
	b.ReportMetric(imports, "import-ratio")
}
