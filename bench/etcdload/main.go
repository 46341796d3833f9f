// Command etcdload drives a write load against an etcd cluster for bench's
// BenchmarkWritesAgainstEtcd and prints one JSON line: {items, elapsed_ns, p50_ns, p99_ns}.
//
// It is its own module so that etcd's client (and the etcd server this module pins as a tool,
// which the benchmark builds from here) stay out of CloudLedger's go.mod.
//
//	etcdload -endpoints 127.0.0.1:2379,... -mode single -items 48000 -workers 64
//	etcdload -endpoints 127.0.0.1:2379,... -mode txn -items 400000 -workers 4 -txn-ops 128
//	etcdload -endpoints 127.0.0.1:2379,... -mode count -items 448000
//
// single: W writers, each request one Put. txn: W requests in flight, each a Txn of
// txn-ops Puts (128 is etcd's default --max-txn-ops). Keys are item/<n>, values the JSON of
// a CloudLedger allocation event padded to 200 bytes: about the size of a line item.
// Requests go to the leader's endpoint only, as the CloudLedger benchmark's client does.
// -latencies FILE writes every request's latency in nanoseconds, one a line.
//
// count: waits (up to a minute) until every endpoint holds -items keys under item/, read
// locally on each member (serializable), and prints the counts: the load reached every node.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

type result struct {
	Items     int    `json:"items"`
	Requests  int    `json:"requests"`
	ElapsedNs int64  `json:"elapsed_ns"`
	P50Ns     int64  `json:"p50_ns"`
	P99Ns     int64  `json:"p99_ns"`
	Endpoint  string `json:"endpoint"`
}

const valueSize = 200

// value is the JSON of allocation event i (as testcluster.Allocate makes it), padded to
// valueSize bytes.
func value(i int) string {
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600)).Add(time.Duration(i%1_000_000) * time.Second)
	v := fmt.Sprintf(`{"op":"allocate","time":%q,"department":"d1","project":"prj1","provider":"p1","resource":"r%d","item":"ecs.vcpu","kind":"standard","quantity":"1"}`,
		t.Format(time.RFC3339), i)
	if len(v) < valueSize {
		v += strings.Repeat(" ", valueSize-len(v))
	}
	return v
}

func key(i int) string { return fmt.Sprintf("item/%d", i) }

func main() {
	endpoints := flag.String("endpoints", "", "comma-separated client endpoints (host:port)")
	mode := flag.String("mode", "single", "single: one Put per request; txn: a Txn of -txn-ops Puts per request")
	items := flag.Int("items", 48_000, "items (puts) to write")
	workers := flag.Int("workers", 64, "requests in flight")
	txnOps := flag.Int("txn-ops", 128, "puts per transaction (mode txn)")
	first := flag.Int("first", 0, "number of the first item")
	latFile := flag.String("latencies", "", "file for every request's latency (ns, one a line)")
	flag.Parse()
	var err error
	if *mode == "count" {
		err = count(strings.Split(*endpoints, ","), *items)
	} else {
		err = run(strings.Split(*endpoints, ","), *mode, *items, *workers, *txnOps, *first, *latFile)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcdload:", err)
		os.Exit(1)
	}
}

func run(endpoints []string, mode string, items, workers, txnOps, first int, latFile string) error {
	if len(endpoints) == 0 || endpoints[0] == "" {
		return fmt.Errorf("no -endpoints")
	}
	perRequest := 1
	switch mode {
	case "single":
	case "txn":
		perRequest = txnOps
	default:
		return fmt.Errorf("mode %q: want single or txn", mode)
	}
	if perRequest < 1 || items%perRequest != 0 {
		return fmt.Errorf("%d items are not a whole number of requests of %d", items, perRequest)
	}
	ctx := context.Background()
	leader, err := findLeader(ctx, endpoints)
	if err != nil {
		return err
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{leader}, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return err
	}
	defer cli.Close()

	// The values are made before the clock starts: the load is etcd's, not fmt's.
	vals := make([]string, items)
	for i := range vals {
		vals[i] = value(first + i)
	}
	requests := items / perRequest
	var next atomic.Int64
	lat := make([][]time.Duration, workers)
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				r := int(next.Add(1)) - 1
				if r >= requests {
					return
				}
				rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				t0 := time.Now()
				var err error
				if mode == "single" {
					_, err = cli.Put(rctx, key(first+r), vals[r])
				} else {
					ops := make([]clientv3.Op, perRequest)
					for j := range ops {
						n := r*perRequest + j
						ops[j] = clientv3.OpPut(key(first+n), vals[n])
					}
					_, err = cli.Txn(rctx).Then(ops...).Commit()
				}
				d := time.Since(t0)
				cancel()
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("request %d: %w", r, err)
					}
					mu.Unlock()
					return
				}
				lat[w] = append(lat[w], d)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return firstErr
	}
	all := slices.Concat(lat...)
	if latFile != "" {
		var sb strings.Builder
		for _, d := range all {
			fmt.Fprintln(&sb, int64(d))
		}
		if err := os.WriteFile(latFile, []byte(sb.String()), 0o600); err != nil {
			return err
		}
	}
	slices.Sort(all)
	pct := func(p float64) int64 { return int64(all[min(len(all)-1, int(p*float64(len(all))))]) }
	return json.NewEncoder(os.Stdout).Encode(result{Items: items, Requests: requests, ElapsedNs: int64(elapsed),
		P50Ns: pct(0.50), P99Ns: pct(0.99), Endpoint: leader})
}

// findLeader is the endpoint whose member leads the cluster.
func findLeader(ctx context.Context, endpoints []string) (string, error) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return "", err
	}
	defer cli.Close()
	for _, ep := range endpoints {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		st, err := cli.Status(sctx, ep)
		cancel()
		if err != nil {
			return "", fmt.Errorf("status of %s: %w", ep, err)
		}
		if st.Leader != 0 && st.Leader == st.Header.MemberId {
			return ep, nil
		}
	}
	return "", fmt.Errorf("no endpoint of %v is the leader", endpoints)
}

// count waits until every endpoint holds want keys under item/ and prints the counts.
func count(endpoints []string, want int) error {
	ctx := context.Background()
	deadline := time.Now().Add(time.Minute)
	for {
		counts := make([]int64, len(endpoints))
		done := true
		for i, ep := range endpoints {
			n, err := countAt(ctx, ep)
			if err != nil {
				return err
			}
			counts[i] = n
			done = done && n == int64(want)
		}
		if done || time.Now().After(deadline) {
			if err := json.NewEncoder(os.Stdout).Encode(map[string]any{"counts": counts}); err != nil {
				return err
			}
			if !done {
				return fmt.Errorf("counts %v after a minute, want %d on every endpoint", counts, want)
			}
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// countAt is the number of keys under item/ that the member at ep holds (read locally).
func countAt(ctx context.Context, ep string) (int64, error) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{ep}, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return 0, err
	}
	defer cli.Close()
	gctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := cli.Get(gctx, "item/", clientv3.WithPrefix(), clientv3.WithCountOnly(), clientv3.WithSerializable())
	if err != nil {
		return 0, fmt.Errorf("count at %s: %w", ep, err)
	}
	return resp.Count, nil
}
