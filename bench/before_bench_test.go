package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/internal/testcluster"
)

// beforeSeparation is the commit before issue 22 (三员分立, the bounds before
// authentication, tenant-scoped keys): the last one whose binary still takes the
// membership tickets the test clusters use, so the same harness drives both.
const beforeSeparation = "ee1b702"

// Sign-in load: signInWorkers people each signing in signInRounds times, one at a time.
const (
	signInWorkers = 32
	signInRounds  = 12
	signInPass    = "Bench-Pass-2026"
)

// BenchmarkAgainstBefore is issue 22's must-show 6: the write loads of BenchmarkWrites and
// a sign-in load, on a 3-node cluster of this tree's ledgerd and of the one before issue
// 22, in two rounds in opposite order (now, before, before, now) in one run; the ratios
// are of the rounds' sums. Target ≥ 0.9 for each.
func BenchmarkAgainstBefore(b *testing.B) {
	before := testcluster.BinaryAt(b, beforeSeparation)
	type round struct{ single, imp, signin result }
	run := func(name, bin string, old bool) round {
		c := testcluster.Start(b, 3, testcluster.Options{SnapshotThreshold: 1 << 20, TrailingLogs: 1 << 20, Binary: bin})
		defer c.StopAll()
		lead := c.WaitLeader(20 * time.Second)
		ctx := context.Background()
		cl := testcluster.NewClient(c.HTTP, lead.URL)
		if _, err := cl.Submit(ctx, seed()); err != nil {
			b.Fatal(err)
		}
		// Sign-ins first, on the fresh ledger: what they cost does not depend on its size
		// (the password check is all of it), and a sign-in load on a heap of 448,000 line
		// items measures the collector instead (README, Security).
		people := signInAccounts(b, c, lead.URL, old)
		hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: signInWorkers}}
		signin, err := drive(name+": sign-ins, 32 people", signInWorkers, signInWorkers*signInRounds, 1, func(i int) error {
			return signInOnce(hc, lead.URL, people[i%signInWorkers])
		})
		if err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(os.Stdout, "%s: %d sign-ins retried so far (leader changes, a full pool)\n", name, signInRetries.Load())
		single, err := drive(name+": 64 writers × 1 item", singleWriters, singleItems, 1, func(i int) error {
			_, err := cl.Submit(ctx, []*v1.Command{event(i)})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		imp, err := drive(name+": import, 1,000 items/request", importConcurrency, importItems/importBatchSize, importBatchSize, func(i int) error {
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
		fmt.Fprintf(os.Stdout, "%s converged: %d line items on every node\n", name, st.LineItems)
		return round{single, imp, signin}
	}
	if os.Getenv("BENCH_BEFORE_ONLY") != "" { // while working on the harness
		run("before", before, true)
		return
	}
	now1 := run("now", "", false)
	old1 := run("before", before, true)
	old2 := run("before", before, true)
	now2 := run("now", "", false)
	now := round{combine(now1.single, now2.single), combine(now1.imp, now2.imp), combine(now1.signin, now2.signin)}
	old := round{combine(old1.single, old2.single), combine(old1.imp, old2.imp), combine(old1.signin, old2.signin)}
	report(b, []result{now.single, old.single, now.imp, old.imp, now.signin, old.signin}, map[string]result{
		now.single.name: old.single, now.imp.name: old.imp, now.signin.name: old.signin})
	fmt.Fprintf(os.Stdout, "rounds (items/s): 64 writers now %.0f/%.0f before %.0f/%.0f; import now %.0f/%.0f before %.0f/%.0f; sign-ins now %.1f/%.1f before %.1f/%.1f\n",
		now1.single.rate(), now2.single.rate(), old1.single.rate(), old2.single.rate(), now1.imp.rate(), now2.imp.rate(), old1.imp.rate(), old2.imp.rate(),
		now1.signin.rate(), now2.signin.rate(), old1.signin.rate(), old2.signin.rate())
	ratios := map[string]float64{"writers": now.single.rate() / old.single.rate(), "import": now.imp.rate() / old.imp.rate(), "signin": now.signin.rate() / old.signin.rate()}
	fmt.Fprintf(os.Stdout, "now ÷ before (%s): 64 writers %.2f, import %.2f, sign-ins %.2f\n", beforeSeparation, ratios["writers"], ratios["import"], ratios["signin"])
	for name, r := range ratios {
		b.ReportMetric(r, name+"-ratio")
	}
}

// signInAccounts makes the sign-in load's people, each with a password: through
// activation codes now, with the security officer's SetPassword before (the API that
// issue 22 removed, called as JSON).
func signInAccounts(b *testing.B, c *testcluster.Cluster, url string, old bool) []string {
	var ids []string
	for i := 0; i < signInWorkers; i++ {
		id := fmt.Sprintf("bench-person-%d", i)
		ids = append(ids, id)
		if !old {
			testcluster.Person(b, c.HTTP, url, id, "department", "d1", signInPass)
			continue
		}
		for _, call := range []struct {
			proc string
			body map[string]any
		}{
			{"AddAccount", map[string]any{"id": id, "name": id, "role": "department", "department": "d1"}},
			{"SetPassword", map[string]any{"account": id, "password": signInPass}},
		} {
			raw, _ := json.Marshal(call.body)
			req, _ := http.NewRequest(http.MethodPost, url+"/cloudledger.v1.AccountService/"+call.proc, bytes.NewReader(raw))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+testcluster.Token)
			res, err := c.HTTP.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Fatalf("%s for %s: HTTP %d", call.proc, id, res.StatusCode)
			}
		}
	}
	return ids
}

// signInOnce signs in, as a person's client would: a transient failure (a leader change,
// a full hashing pool) is tried again after a moment, up to 20 times.
func signInOnce(hc *http.Client, url, account string) error {
	raw, _ := json.Marshal(map[string]string{"account": account, "password": signInPass})
	var last string
	for attempt := 0; attempt < 20; attempt++ {
		res, err := hc.Post(url+"/cloudledger.v1.AccountService/SignIn", "application/json", bytes.NewReader(raw))
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		res.Body.Close()
		switch res.StatusCode {
		case http.StatusOK:
			return nil
		case http.StatusConflict, http.StatusServiceUnavailable, http.StatusTooManyRequests: // aborted, unavailable, resource_exhausted
			last = fmt.Sprintf("HTTP %d %s", res.StatusCode, body)
			signInRetries.Add(1)
			time.Sleep(time.Duration(attempt+1) * 100 * time.Millisecond)
		default:
			return fmt.Errorf("sign-in of %s: HTTP %d %s", account, res.StatusCode, body)
		}
	}
	return fmt.Errorf("sign-in of %s: %s, 20 times", account, last)
}

var signInRetries atomic.Int64
