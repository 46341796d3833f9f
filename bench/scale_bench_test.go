package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/ledger"
	"github.com/cloudledger/cloudledger/rating"
	"github.com/cloudledger/cloudledger/settlement"
)

// Issue 28, must show 1 (make bench-scale): a ledger of 10,000,000 line items — five
// settlement years (September 2021 – August 2026) of 100,000 resources — and one of
// 1,000,000 with the same resources and the same last settlement year, less history. The
// reads a console page makes are timed on both: charges of one month, of the last settlement
// year, of one department's year, the settlement status of three years (the finance home
// page) and a department's monthly statement; p99 over repeated reads, each after a write
// (so that no read is answered from what an earlier one rated), and the ratio of the large
// ledger's to the small one's.
const (
	scaleResources   = 100_000
	scaleDepartments = 200
	scaleLastYear    = 10 // line items per resource in the last settlement year
)

// scaleLineItems is the large ledger's size (CLOUDLEDGER_SCALE_LINE_ITEMS overrides it, for a
// quicker look); the small one holds the last settlement year only.
func scaleLineItems() int {
	if s := os.Getenv("CLOUDLEDGER_SCALE_LINE_ITEMS"); s != "" {
		n, err := strconv.Atoi(s)
		if err == nil && n >= scaleResources*scaleLastYear {
			return n
		}
	}
	return 10_000_000
}

// scaleLedger writes total line items through the state machine (bbolt, fsync on): the
// last settlement year's scaleLastYear per resource, the rest spread over the four years
// before it. The resources and the last year are those of every size.
func scaleLedger(b *testing.B, total int) (*ledger.Ledger, string, *stateMachine, func()) {
	path := filepath.Join(b.TempDir(), "scale.db")
	l, err := ledger.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	w := newStateMachine(b, l)
	writeScaleHistory(w, total)
	w.flush()
	l.Flush()
	// write applies one more line item (a day's use of a resource of its own), so that a read
	// after it finds the state changed: nothing rated before can be answered again.
	n := 0
	write := func() {
		n++
		w.add(&ledger.Event{Op: ledger.OpUsage, Time: calendar.NewDate(2026, 10, 1+n%28).Start(), Department: "dep000", Project: "dep000-sys",
			Provider: "ctyun", Resource: "writer", Item: "oss.egress", Kind: ledger.KindStandard, Quantity: decimal.NewFromInt(1)})
		w.flush()
		l.Flush()
	}
	return l, path, w, write
}

// p99 runs fn reps times, each after a write, and returns its 99th percentile and median.
func p99(b *testing.B, reps int, write func(), fn func() error) (time.Duration, time.Duration) {
	var took []time.Duration
	for i := 0; i < reps; i++ {
		write()
		t0 := time.Now()
		if err := fn(); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(t0))
	}
	slices.Sort(took)
	return took[len(took)*99/100], took[len(took)/2]
}

type scaleRead struct {
	name string
	fn   func(l *ledger.Ledger, k *rating.Kept) error
}

var scaleReads = []scaleRead{
	{"charges of one month (2026-03)", func(l *ledger.Ledger, k *rating.Kept) error {
		_, err := k.Rate(l, rating.Options{From: calendar.NewDate(2026, 3, 1), To: calendar.NewDate(2026, 3, 31)})
		return err
	}},
	{"charges of settlement year 2026", func(l *ledger.Ledger, k *rating.Kept) error {
		_, err := k.Rate(l, rating.Options{From: calendar.NewDate(2025, 9, 1), To: calendar.NewDate(2026, 8, 31)})
		return err
	}},
	{"a department's charges of year 2026", func(l *ledger.Ledger, k *rating.Kept) error {
		_, err := k.Rate(l, rating.Options{From: calendar.NewDate(2025, 9, 1), To: calendar.NewDate(2026, 8, 31), Department: "dep042"})
		return err
	}},
	{"settle status of 2024–2026, with blockers", func(l *ledger.Ledger, k *rating.Kept) error {
		return k.Read(l, func(d *ledger.View) error {
			for y := 2024; y <= 2026; y++ {
				if _, err := settlement.YearStatus(d, l.Calendar(), y, true); err != nil {
					return err
				}
			}
			return nil
		})
	}},
	// What the finance home asks: three years' state and deadline, and a year's months.
	{"/finance: status of 2024–2026, 2026 by month", func(l *ledger.Ledger, k *rating.Kept) error {
		if err := k.Read(l, func(d *ledger.View) error {
			for y := 2024; y <= 2026; y++ {
				if _, err := settlement.YearStatus(d, l.Calendar(), y, false); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
		res, err := k.Rate(l, rating.Options{From: calendar.NewDate(2025, 9, 1), To: calendar.NewDate(2026, 8, 31)})
		if err == nil && len(res.ByMonth) != 12 {
			err = fmt.Errorf("2026 by month: %d months", len(res.ByMonth))
		}
		return err
	}},
	{"a department's statement of 2026-03", func(l *ledger.Ledger, k *rating.Kept) error {
		return k.Read(l, func(d *ledger.View) error {
			_, err := settlement.BuildStatement(d, calendar.Month{Year: 2026, Month: time.March}, "dep042", "", nil, nil)
			return err
		})
	}},
}

func BenchmarkScale(b *testing.B) {
	// The collector paced as ledgerd paces it (cmd/ledgerd: GOGC 400).
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	type measured struct{ p99, median time.Duration }
	results := map[int][]measured{}
	audited, budget := map[int]measured{}, map[int]measured{}
	sizes := []int{scaleResources * scaleLastYear, scaleLineItems()}
	for _, size := range sizes {
		t0 := time.Now()
		l, path, w, write := scaleLedger(b, size)
		head := l.Head()
		fmt.Printf("\nscale: %d line items of %d resources written through the state machine in %s\n", head.Seq, scaleResources, time.Since(t0).Round(time.Second))
		runtime.GC()
		var before, ms runtime.MemStats
		runtime.ReadMemStats(&before)
		k := rating.NewKept()
		t0 = time.Now()
		if err := k.CatchUp(l); err != nil {
			b.Fatal(err)
		}
		took := time.Since(t0)
		runtime.GC()
		runtime.ReadMemStats(&ms)
		fmt.Printf("scale: charges kept current from nothing in %s; heap in use %d MiB, of it the ledger's state %d MiB and the kept charges %d MiB\n",
			took.Round(time.Millisecond), ms.HeapInuse>>20, before.HeapInuse>>20, (int64(ms.HeapInuse)-int64(before.HeapInuse))>>20)
		if dir := os.Getenv("CLOUDLEDGER_SCALE_HEAP_PROFILE"); dir != "" {
			writeHeapProfile(b, filepath.Join(dir, fmt.Sprintf("heap-%d.pprof", head.Seq)))
		}
		for _, rd := range scaleReads {
			reps := 200
			hi, med := p99(b, reps, write, func() error { return rd.fn(l, k) })
			results[size] = append(results[size], measured{hi, med})
			fmt.Printf("scale: %-45s p99 %8s  median %8s\n", rd.name, hi.Round(10*time.Microsecond), med.Round(10*time.Microsecond))
		}
		// A ledger that has lived five years has its past years audited: the finance page
		// reads their frozen figures, and rates the current year's blockers only.
		auditPastYears(b, w, l, k, 2022, 2025)
		hi, med := p99(b, 200, write, func() error { return scaleReads[3].fn(l, k) })
		audited[size] = measured{hi, med}
		fmt.Printf("scale: %-45s p99 %8s  median %8s\n", "the same, 2022–2025 audited", hi.Round(10*time.Microsecond), med.Round(10*time.Microsecond))
		hi, med = p99(b, 50, write, func() error {
			return k.Read(l, func(d *ledger.View) error {
				_, err := settlement.BuildBudget(d, l.Calendar(), 2025)
				return err
			})
		})
		budget[size] = measured{hi, med}
		fmt.Printf("scale: %-45s p99 %8s  median %8s\n", "budget export of 2025 (audited)", hi.Round(10*time.Microsecond), med.Round(10*time.Microsecond))
		restart(b, l, path, k)
	}
	small, large := results[sizes[0]], results[sizes[1]]
	fmt.Printf("\nscale: large (%d) against small (%d) line items, p99 ratio:\n", sizes[1], sizes[0])
	for i, rd := range scaleReads {
		fmt.Printf("scale: %-45s %5.2f×\n", rd.name, float64(large[i].p99)/float64(small[i].p99))
	}
	fmt.Printf("scale: %-45s %5.2f×\n", "the same, 2022–2025 audited", float64(audited[sizes[1]].p99)/float64(audited[sizes[0]].p99))
	fmt.Printf("scale: %-45s %5.2f×\n", "budget export of 2025 (audited)", float64(budget[sizes[1]].p99)/float64(budget[sizes[0]].p99))
}

// writeHeapProfile writes the heap's profile to path (CLOUDLEDGER_SCALE_HEAP_PROFILE names a
// folder): what the ledger's state and the kept charges hold, by allocation site.
func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("scale: heap profile in %s\n", path)
}

// restart is a node's restart on the ledger: the kept charges written to their file, the
// state file closed and opened again, the file read back and caught up, a year rated.
func restart(b *testing.B, l *ledger.Ledger, path string, k *rating.Kept) {
	keptPath := filepath.Join(filepath.Dir(path), "kept-charges.bin")
	f, err := os.Create(keptPath)
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	if _, err := k.Save(f); err != nil {
		b.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	saved := time.Since(t0)
	st, _ := os.Stat(keptPath)
	l.Close()
	runtime.GC()
	if dir := os.Getenv("CLOUDLEDGER_SCALE_HEAP_PROFILE"); dir != "" {
		pf, err := os.Create(filepath.Join(dir, fmt.Sprintf("open-cpu-%d.pprof", l.Head().Seq)))
		if err != nil {
			b.Fatal(err)
		}
		pprof.StartCPUProfile(pf)
		defer pf.Close()
	}
	t0 = time.Now()
	l, err = ledger.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	pprof.StopCPUProfile()
	defer l.Close()
	opened := time.Since(t0)
	t0 = time.Now()
	k2 := rating.NewKept()
	f, err = os.Open(keptPath)
	if err != nil {
		b.Fatal(err)
	}
	err = k2.Load(f, l.HashAt)
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	if err := k2.CatchUp(l); err != nil {
		b.Fatal(err)
	}
	loaded := time.Since(t0)
	t0 = time.Now()
	if err := scaleReads[1].fn(l, k2); err != nil {
		b.Fatal(err)
	}
	firstYear := time.Since(t0)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("scale: restart: kept charges written in %s (%.1f MiB); state file opened in %s; kept charges read back and caught up in %s; first year's charges %s; heap in use %d MiB\n",
		saved.Round(time.Millisecond), float64(st.Size())/(1<<20), opened.Round(time.Millisecond), loaded.Round(time.Millisecond), firstYear.Round(time.Millisecond), ms.HeapInuse>>20)
}

// auditPastYears runs, closes and audits settlement years from..to through the state
// machine, the audit's figures computed from the kept charges as the leader would.
func auditPastYears(b *testing.B, w *stateMachine, l *ledger.Ledger, k *rating.Kept, from, to int) {
	t0 := time.Now()
	for y := from; y <= to; y++ {
		w.add(&ledger.SettlementRun{Year: y})
		for m := (calendar.Month{Year: y - 1, Month: time.September}); !(calendar.Month{Year: y, Month: time.August}).Before(m); m = m.Next() {
			w.add(&ledger.ClosePeriod{Month: m})
		}
		w.flush()
		l.Flush()
		var audit *ledger.SettlementAudit
		var blockers []settlement.Blocker
		if err := k.Read(l, func(d *ledger.View) (err error) {
			audit, blockers, err = settlement.Prepare(d, y)
			return err
		}); err != nil {
			b.Fatal(err)
		}
		if len(blockers) > 0 {
			b.Fatalf("settlement year %d blocked: %v", y, blockers)
		}
		w.add(audit)
		w.flush()
		l.Flush()
	}
	fmt.Printf("scale: settlement years %d–%d run, closed and audited in %s\n", from, to, time.Since(t0).Round(time.Millisecond))
}

// writeScaleHistory writes the scale ledgers' master data and total line items of history:
// the last settlement year's scaleLastYear per resource, the rest spread over the four years
// before it, resource by resource, each in time order.
func writeScaleHistory(w writer, total int) {
	writeMasterData(w, calendar.NewDate(2021, 1, 1), calendar.NewDate(2021, 9, 1), 24, scaleDepartments)
	lastYear := calendar.NewDate(2025, 9, 1).Start()
	earlier := (total - scaleResources*scaleLastYear) / scaleResources // per resource, before the last year
	// Resource by resource, each in time order: its earlier years, then its last year.
	for r := 0; r < scaleResources; r++ {
		it, ev := benchResource(r, scaleDepartments)
		k := 0
		span := func(from time.Time, days, count int, closing bool) {
			t := from.Add(time.Duration(r%720) * time.Hour)
			step := time.Duration(days) * 24 * time.Hour / time.Duration(count+1)
			for j := 0; j < count; j++ {
				e := ev
				e.Time = t
				e.Op, e.Quantity = benchOp(it, r, k, closing && j == count-1)
				w.add(&e)
				k++
				t = t.Add(step)
			}
		}
		if earlier > 0 {
			span(calendar.NewDate(2021, 9, 1).Start(), 4*365-30, earlier, false)
		}
		span(lastYear, 365-30, scaleLastYear, true)
	}
}
