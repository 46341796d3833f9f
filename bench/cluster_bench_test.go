package bench

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/internal/testcluster"
	"github.com/cloudledger/cloudledger/ledger"
)

// Loads of issue 2 (must show 6).
const (
	singleWriters     = 64
	singleItems       = 48_000 // items written by the 64 single-item writers
	importBatchSize   = 1_000  // items per request of the batched import
	importItems       = 400_000
	importConcurrency = 4 // import requests in flight at once
)

type result struct {
	name      string
	items     int
	elapsed   time.Duration
	latencies []time.Duration
}

func (r result) rate() float64 { return float64(r.items) / r.elapsed.Seconds() }

func (r result) pct(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), r.latencies...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// drive runs `requests` calls of fn from `workers` goroutines and measures each call.
func drive(name string, workers, requests, itemsPerRequest int, fn func(i int) error) (result, error) {
	var next atomic.Int64
	lat := make([][]time.Duration, workers)
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= requests {
					return
				}
				t0 := time.Now()
				if err := fn(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}(w)
	}
	wg.Wait()
	r := result{name: name, items: requests * itemsPerRequest, elapsed: time.Since(start)}
	for _, l := range lat {
		r.latencies = append(r.latencies, l...)
	}
	return r, firstErr
}

// event and seed are the load of every cluster benchmark (testcluster's, shared with test/ops).
func event(i int) *v1.Command { return testcluster.Allocate("bench", i) }

func seed() []*v1.Command { return testcluster.SeedCommands() }

// entryFor is the Raft entry the ledger would get for n items, so the baseline replicates
// the same bytes.
func entryFor(start, n int) []byte {
	req := ledger.Submission{Actor: "admin"}
	for i := start; i < start+n; i++ {
		t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600)).Add(time.Duration(i) * time.Second)
		req.Commands = append(req.Commands, ledger.Command{Key: fmt.Sprintf("bench/%d", i), Body: &ledger.Event{Op: ledger.OpAllocate, Time: t,
			Department: "d1", Project: "prj1", Provider: "p1", Resource: fmt.Sprintf("r%d", i), Item: "ecs.vcpu", Kind: ledger.KindStandard}})
	}
	return ledger.EncodeProposal(&ledger.Proposal{RecordedAt: time.Now(), Submissions: []ledger.Submission{req}})
}

func report(b *testing.B, rows []result, baseline map[string]result) {
	fmt.Fprintf(os.Stdout, "\n%-44s %12s %10s %10s %10s\n", "load (3 nodes, fsync on)", "items/s", "p50", "p99", "÷baseline")
	for _, r := range rows {
		ratio := ""
		if base, ok := baseline[r.name]; ok && base.rate() > 0 {
			ratio = fmt.Sprintf("%.2f", r.rate()/base.rate())
		}
		fmt.Fprintf(os.Stdout, "%-44s %12.0f %10s %10s %10s\n", r.name, r.rate(), r.pct(0.50).Round(10*time.Microsecond), r.pct(0.99).Round(10*time.Microsecond), ratio)
	}
}

// BenchmarkWrites is issue 2's write benchmark: (a) 64 concurrent single-item writers and (b)
// batched import at 1,000 items per request, through the API of a 3-node ledgerd cluster,
// and the same loads on a bare hashicorp/raft cluster with a no-op state machine.
func BenchmarkWrites(b *testing.B) {
	ctx := context.Background()
	var rows []result
	baseline := map[string]result{}

	// Baseline first, on an idle machine.
	bare := startBare(b)
	leader := bare.leader()
	single := entryFor(0, 1)
	r, err := drive("bare raft: 64 writers × 1 item", singleWriters, singleItems, 1, func(int) error {
		return leader.Apply(single, 10*time.Second).Error()
	})
	if err != nil {
		b.Fatal(err)
	}
	baseline["a"] = r
	rows = append(rows, r)
	batch := entryFor(0, importBatchSize)
	r, err = drive("bare raft: import, 1,000 items/request", importConcurrency, importItems/importBatchSize, importBatchSize, func(int) error {
		return leader.Apply(batch, 30*time.Second).Error()
	})
	if err != nil {
		b.Fatal(err)
	}
	baseline["b"] = r
	rows = append(rows, r)
	for _, f := range bare.closer {
		f()
	}
	bare.closer = nil

	// The same loads with Raft over mutual TLS (the default) and over plain TCP
	// (--raft-insecure), one cluster after the other (issue 10: TLS at least 0.8× plain).
	// Two rounds in opposite order (TLS, plain, plain, TLS), so that a drift of the machine
	// during the run weighs on both alike; the ratio is of the rounds' sums.
	insecure := testcluster.Options{ExtraArgs: []string{"--raft-insecure"}}
	secureA, secureB := clusterLoads(b, ctx, "cloudledger", testcluster.Options{})
	plainA, plainB := clusterLoads(b, ctx, "cloudledger --raft-insecure", insecure)
	plainA2, plainB2 := clusterLoads(b, ctx, "cloudledger --raft-insecure", insecure)
	secureA2, secureB2 := clusterLoads(b, ctx, "cloudledger", testcluster.Options{})
	secureA, secureB = combine(secureA, secureA2), combine(secureB, secureB2)
	plainA, plainB = combine(plainA, plainA2), combine(plainB, plainB2)
	rows = append(rows, secureA, secureB, plainA, plainB)
	for _, x := range []result{secureA, plainA} {
		baseline[x.name] = baseline["a"]
	}
	for _, x := range []result{secureB, plainB} {
		baseline[x.name] = baseline["b"]
	}
	report(b, rows, baseline)
	fmt.Fprintf(os.Stdout, "mutual TLS ÷ plain TCP Raft: 64 writers %.2f, import %.2f\n", secureA.rate()/plainA.rate(), secureB.rate()/plainB.rate())
	b.ReportMetric(secureA.rate(), "single-items/s")
	b.ReportMetric(secureB.rate(), "import-items/s")
	b.ReportMetric(secureA.rate()/plainA.rate(), "tls-ratio-single")
	b.ReportMetric(secureB.rate()/plainB.rate(), "tls-ratio-import")
}

// clusterLoads runs both loads on a fresh 3-node cluster started with opts (extra flags,
// another binary), checks that it converged, and stops it.
func clusterLoads(b *testing.B, ctx context.Context, name string, opts testcluster.Options) (result, result) {
	opts.SnapshotThreshold, opts.TrailingLogs = 1<<20, 1<<20
	c := testcluster.Start(b, 3, opts)
	defer c.StopAll()
	lead := c.WaitLeader(20 * time.Second)
	cl := testcluster.NewClient(c.HTTP, lead.URL)
	if _, err := cl.Submit(ctx, seed()); err != nil {
		b.Fatal(err)
	}
	a, err := drive(name+": 64 writers × 1 item", singleWriters, singleItems, 1, func(i int) error {
		_, err := cl.Submit(ctx, []*v1.Command{event(i)})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	r, err := drive(name+": import, 1,000 items/request", importConcurrency, importItems/importBatchSize, importBatchSize, func(i int) error {
		cmds := make([]*v1.Command, importBatchSize)
		for j := range cmds {
			cmds[j] = event(singleItems + i*importBatchSize + j)
		}
		_, err := cl.Submit(ctx, cmds)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	st := c.WaitConverged(120 * time.Second)
	fmt.Fprintf(os.Stdout, "%s converged: %d line items on every node, head %s\n", name, st.LineItems, st.HeadHash)
	return a, r
}

// combine is two runs of one load as one: items and time added, latencies pooled.
func combine(x, y result) result {
	return result{name: x.name + " (2 runs)", items: x.items + y.items, elapsed: x.elapsed + y.elapsed,
		latencies: append(append([]time.Duration(nil), x.latencies...), y.latencies...)}
}

// BenchmarkAccessControl is issue 11's ratio: 64 single-item writers through the API with
// authorization and the access trail on (the ledgerd every build makes) against the same
// load in the same run on a binary built with -tags benchnoaccess (both off). Two rounds in
// opposite order (on, off, off, on); the ratio is of the rounds' sums. Target ≥ 0.9.
func BenchmarkAccessControl(b *testing.B) {
	ctx := context.Background()
	load := func(name, tags string) result {
		c := testcluster.Start(b, 3, testcluster.Options{SnapshotThreshold: 1 << 20, TrailingLogs: 1 << 20, BuildTags: tags})
		defer c.StopAll()
		lead := c.WaitLeader(20 * time.Second)
		cl := testcluster.NewClient(c.HTTP, lead.URL)
		if _, err := cl.Submit(ctx, seed()); err != nil {
			b.Fatal(err)
		}
		r, err := drive(name+": 64 writers × 1 item", singleWriters, singleItems, 1, func(i int) error {
			_, err := cl.Submit(ctx, []*v1.Command{event(i)})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		st := c.WaitConverged(120 * time.Second)
		fmt.Fprintf(os.Stdout, "%s converged: %d line items on every node\n", name, st.LineItems)
		return r
	}
	on := load("access control on", "")
	off := load("access control off", "benchnoaccess")
	off2 := load("access control off", "benchnoaccess")
	on2 := load("access control on", "")
	fmt.Fprintf(os.Stdout, "rounds: on %.0f and %.0f items/s, off %.0f and %.0f items/s\n", on.rate(), on2.rate(), off.rate(), off2.rate())
	on, off = combine(on, on2), combine(off, off2)
	report(b, []result{on, off}, map[string]result{on.name: off, off.name: off})
	fmt.Fprintf(os.Stdout, "authorization and access trail on ÷ off, 64 writers × 1 item: %.2f\n", on.rate()/off.rate())
	b.ReportMetric(on.rate()/off.rate(), "access-ratio")
}
