package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/ledger"
	"github.com/cloudledger/cloudledger/rating"
)

// Issue 3, must show 4: rate a settlement year of 100,000 resources and 2,000,000 line items.
const (
	ratingResources     = 100_000
	ratingLineItems     = 2_000_000
	ratingDepartments   = 200
	ratingMeteredShare  = 4 // one resource in 4 is metered
	ratingCommandsPerTx = 10_000
)

// ratingLedger writes the year into a real ledger store (bbolt, fsync on) through the state
// machine, as Raft would: 100,000 resources across 200 departments and 3 providers, daily
// and monthly items, quarterly scores; allocation resources expand and reduce every month
// or so, metered ones report use about every nine days.
func ratingLedger(b *testing.B) (*ledger.Ledger, string) {
	path := filepath.Join(b.TempDir(), "rating.db")
	l, err := ledger.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	w := newStateMachine(b, l)
	writeMasterData(w, calendar.NewDate(2025, 1, 1), calendar.NewDate(2025, 7, 1), 4, ratingDepartments)
	start := calendar.NewDate(2025, 9, 1).Start()
	perResource := ratingLineItems / ratingResources // 20
	for r := 0; r < ratingResources; r++ {
		it, ev := benchResource(r, ratingDepartments)
		t := start.Add(time.Duration(r%720) * time.Hour)
		step := 365 * 24 * time.Hour / time.Duration(perResource+1)
		for k := 0; k < perResource; k++ {
			e := ev
			e.Time = t
			e.Op, e.Quantity = benchOp(it, r, k, k == perResource-1)
			w.add(&e)
			t = t.Add(step)
		}
	}
	w.flush()
	l.Flush()
	return l, path
}

// peakHeap samples the heap in use, and the process's resident set (Linux), until stop is
// closed.
func peakHeap(stop <-chan struct{}, wg *sync.WaitGroup, peak, peakRSS *atomic.Uint64) {
	defer wg.Done()
	var ms runtime.MemStats
	for {
		runtime.ReadMemStats(&ms)
		if v := ms.HeapInuse + ms.StackInuse; v > peak.Load() {
			peak.Store(v)
		}
		if v := residentBytes(); v > peakRSS.Load() {
			peakRSS.Store(v)
		}
		select {
		case <-stop:
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// residentBytes is the process's resident set from /proc/self/statm (0 where there is none):
// the heap plus the bbolt file pages the read touched.
func residentBytes() uint64 {
	raw, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(raw))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

func BenchmarkRateSettlementYear(b *testing.B) {
	genStart := time.Now()
	l, path := ratingLedger(b)
	head := l.Head()
	fmt.Fprintf(os.Stdout, "\nrating: generated %d line items for %d resources in %s (state machine, fsync on)\n",
		head.Seq, ratingResources, time.Since(genStart).Round(time.Millisecond))
	// A restart reads every line item once to rebuild the idempotency key index.
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	openStart := time.Now()
	l, err := ledger.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	fmt.Fprintf(os.Stdout, "rating: reopening the state file took %s\n", time.Since(openStart).Round(time.Millisecond))
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak, peakRSS atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go peakHeap(stop, &wg, &peak, &peakRSS)
	b.ResetTimer()
	t0 := time.Now()
	var res *rating.Result
	var readTime time.Duration
	for i := 0; i < b.N; i++ {
		opt := rating.Options{From: calendar.NewDate(2025, 9, 1), To: calendar.NewDate(2026, 8, 31)}
		data, err := l.View(ledger.ViewFilter{Before: calendar.NewDate(2026, 9, 1).Start()})
		if err != nil {
			b.Fatal(err)
		}
		readTime = time.Since(t0)
		if res, err = rating.Rate(data, opt); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(t0)
	b.StopTimer()
	close(stop)
	wg.Wait()
	runtime.ReadMemStats(&after)
	allocs := (after.Mallocs - before.Mallocs) / uint64(b.N)
	bytes := (after.TotalAlloc - before.TotalAlloc) / uint64(b.N)
	fmt.Fprintf(os.Stdout, "rating: settlement year 2025-09-01..2026-08-31: %d lines, total %s yuan (%d provisional)\n",
		len(res.Lines), res.Total.Amount.StringFixed(2), len(res.Provisional))
	fmt.Fprintf(os.Stdout, "rating: %s per run (reading the ledger %s), %d allocations (%d MiB), peak heap %d MiB, peak resident set %d MiB\n",
		(elapsed / time.Duration(b.N)).Round(time.Millisecond), readTime.Round(time.Millisecond), allocs, bytes>>20, peak.Load()>>20, peakRSS.Load()>>20)
	b.ReportMetric(elapsed.Seconds()/float64(b.N), "s/year")
	b.ReportMetric(float64(peak.Load()>>20), "peak-heap-MiB")
	b.ReportMetric(float64(peakRSS.Load()>>20), "peak-rss-MiB")
}
