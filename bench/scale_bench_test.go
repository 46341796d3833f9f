package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
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
func scaleLedger(b *testing.B, total int) (*ledger.Ledger, func()) {
	l, err := ledger.Open(filepath.Join(b.TempDir(), "scale.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	w := newStateMachine(b, l)
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
	return l, write
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
	{"settlement status of 2024–2026 (/finance)", func(l *ledger.Ledger, k *rating.Kept) error {
		return k.Read(l, func(d *ledger.View) error {
			for y := 2024; y <= 2026; y++ {
				if _, err := settlement.YearStatus(d, l.Calendar(), y, true); err != nil {
					return err
				}
			}
			return nil
		})
	}},
	{"a department's statement of 2026-03", func(l *ledger.Ledger, k *rating.Kept) error {
		return k.Read(l, func(d *ledger.View) error {
			_, err := settlement.BuildStatement(d, calendar.Month{Year: 2026, Month: time.March}, "dep042", "", nil, nil)
			return err
		})
	}},
}

func BenchmarkScale(b *testing.B) {
	type measured struct{ p99, median time.Duration }
	results := map[int][]measured{}
	sizes := []int{scaleResources * scaleLastYear, scaleLineItems()}
	for _, size := range sizes {
		t0 := time.Now()
		l, write := scaleLedger(b, size)
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
		l.Close()
	}
	small, large := results[sizes[0]], results[sizes[1]]
	fmt.Printf("\nscale: large (%d) against small (%d) line items, p99 ratio:\n", sizes[1], sizes[0])
	for i, rd := range scaleReads {
		fmt.Printf("scale: %-45s %5.2f×\n", rd.name, float64(large[i].p99)/float64(small[i].p99))
	}
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
