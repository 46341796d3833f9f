// Package cluster holds the multi-node tests of issue 2: real ledgerd processes, real TCP
// between them, real on-disk stores with fsync, SIGKILL for crashes.
package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/internal/testcluster"
)

func seedCommands() []*v1.Command {
	cmds := []*v1.Command{
		{Key: "seed/d1", Body: &v1.Command_Department{Department: &v1.Department{Department: "d1", Name: "市财政局", Funding: "budget"}}},
		{Key: "seed/p1", Body: &v1.Command_Provider{Provider: &v1.Provider{Provider: "p1", Name: "云商一", ContractStart: "2025-01-01", ContractEnd: "2027-12-31"}}},
		{Key: "seed/prj1", Body: &v1.Command_ProjectQuota{ProjectQuota: &v1.ProjectQuota{Project: "prj1", Department: "d1", Name: "预算系统", QuotaClass: "vcpu", Quota: "100000000"}}},
		{Key: "seed/item", Body: &v1.Command_CatalogPrice{CatalogPrice: &v1.CatalogPrice{Item: "ecs.vcpu", Name: "vCPU", Category: "IaaS", Unit: "核·月", Billing: "allocation", QuotaClass: "vcpu", Price: "40", EffectiveFrom: "2025-01-01"}}},
	}
	return cmds
}

// allocate is event i: a 1-vCPU resource r<i>, keyed evt/<i>.
func allocate(i int) *v1.Command {
	t := time.Date(2026, 3, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600)).Add(time.Duration(i) * time.Second)
	return &v1.Command{Key: fmt.Sprintf("evt/%d", i), Body: &v1.Command_Event{Event: &v1.Event{
		Op: "allocate", Time: t.Format(time.RFC3339), Department: "d1", Project: "prj1", Provider: "p1",
		Resource: fmt.Sprintf("r%d", i), Item: "ecs.vcpu", Kind: "standard", Quantity: "1"}}}
}

// lineItemKeys reads every line item of one node from its own state (a stale read).
func lineItemKeys(t *testing.T, c *testcluster.Cluster, cl *testcluster.Client, node int) (map[string]int, []string) {
	t.Helper()
	counts := map[string]int{}
	var hashes []string
	from := uint64(1)
	for {
		res, err := cl.Ledger(node).ListLineItems(context.Background(), testcluster.Authorize(connect.NewRequest(&v1.ListLineItemsRequest{FromSeq: from, Limit: 10000}), true))
		if err != nil {
			t.Fatalf("%s: list: %v", c.Nodes[node].ID, err)
		}
		for _, li := range res.Msg.Items {
			counts[li.Key]++
			hashes = append(hashes, li.Hash)
		}
		if res.Msg.NextSeq == 0 {
			return counts, hashes
		}
		from = res.Msg.NextSeq
	}
}

// Issue 2, must show 2(a): the leader is killed while an import with idempotency keys runs
// and the client retries; afterwards every acknowledged line item is present exactly once on
// every node and all hash chains are identical.
func TestLeaderKilledDuringImport(t *testing.T) {
	c := testcluster.Start(t, 3, testcluster.Options{})
	cl := testcluster.NewClient(c.HTTP, c.URLs()...)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := cl.Submit(ctx, seedCommands()); err != nil {
		t.Fatal(err)
	}
	const total, batch, writers = 6000, 100, 4
	var acked sync.Map
	var done atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for start := w * batch; start < total; start += writers * batch {
				cmds := make([]*v1.Command, 0, batch)
				for i := start; i < start+batch; i++ {
					cmds = append(cmds, allocate(i))
				}
				if _, err := cl.Submit(ctx, cmds); err != nil {
					errs <- err
					return
				}
				for i := start; i < start+batch; i++ {
					acked.Store(fmt.Sprintf("evt/%d", i), true)
				}
				done.Add(batch)
			}
		}(w)
	}
	// Kill the leader once about a third of the import is acknowledged.
	for done.Load() < total/3 {
		time.Sleep(10 * time.Millisecond)
	}
	leader := c.WaitLeader(10 * time.Second)
	c.Kill(leader)
	t.Logf("killed leader %s after %d acknowledged items", leader.ID, done.Load())
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Bring the killed node back: it must catch up to the same chain.
	c.Restart(leader)
	st := c.WaitConverged(60 * time.Second)
	t.Logf("converged: %d line items, head %s, %d client retries", st.LineItems, st.HeadHash, cl.Retries.Load())

	var refChain []string
	for n := range c.Nodes {
		counts, chain := lineItemKeys(t, c, cl, n)
		acked.Range(func(k, _ any) bool {
			if counts[k.(string)] != 1 {
				t.Errorf("%s: acknowledged %s present %d times", c.Nodes[n].ID, k, counts[k.(string)])
			}
			return true
		})
		for k, v := range counts {
			if v != 1 {
				t.Errorf("%s: key %s present %d times", c.Nodes[n].ID, k, v)
			}
		}
		if n == 0 {
			refChain = chain
		} else if fmt.Sprint(chain) != fmt.Sprint(refChain) {
			t.Errorf("%s: hash chain differs from %s", c.Nodes[n].ID, c.Nodes[0].ID)
		}
		res, err := cl.Ledger(n).Verify(ctx, testcluster.Authorize(connect.NewRequest(&v1.VerifyRequest{}), true))
		if err != nil {
			t.Fatalf("%s: verify: %v", c.Nodes[n].ID, err)
		}
		if res.Msg.HeadHash != st.HeadHash {
			t.Errorf("%s: verified head %s, cluster head %s", c.Nodes[n].ID, res.Msg.HeadHash, st.HeadHash)
		}
	}
	// The events, the seed rows and the bootstrap accounts (SPEC: Access; the admin token is
	// installed without a line item, so that no credential's hash is in the chain).
	if got, want := len(refChain), total+len(seedCommands())+1; got != want {
		t.Errorf("%d line items, want %d", got, want)
	}
}

// Issue 2, must show 2(b): all nodes stopped (crashed) and restarted from disk: state
// intact, nothing applied twice.
func TestFullRestartFromDisk(t *testing.T) {
	c := testcluster.Start(t, 3, testcluster.Options{SnapshotThreshold: 64, TrailingLogs: 16})
	cl := testcluster.NewClient(c.HTTP, c.URLs()...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := cl.Submit(ctx, seedCommands()); err != nil {
		t.Fatal(err)
	}
	for b := 0; b < 200; b++ { // 200 entries: several snapshots and log truncations
		if _, err := cl.Submit(ctx, []*v1.Command{allocate(b)}); err != nil {
			t.Fatal(err)
		}
	}
	before := c.WaitConverged(30 * time.Second)
	for _, nd := range c.Nodes {
		c.Kill(nd)
	}
	c.Restart(c.Nodes...)
	c.WaitLeader(30 * time.Second)
	after := c.WaitConverged(30 * time.Second)
	if after.LineItems != before.LineItems || after.HeadHash != before.HeadHash {
		t.Fatalf("after restart %d items %s, before %d items %s", after.LineItems, after.HeadHash, before.LineItems, before.HeadHash)
	}
	// Resubmitting everything is a no-op: every key is a duplicate.
	res, err := cl.Submit(ctx, []*v1.Command{allocate(7)})
	if err != nil || !res.Results[0].Duplicate {
		t.Fatalf("resubmit: %v %+v", err, res)
	}
	if again := c.WaitConverged(10 * time.Second); again.LineItems != before.LineItems {
		t.Fatal("a duplicate wrote a line item")
	}
}

// Issue 2, must show 2(c): a node added later catches up from a snapshot.
func TestNodeAddedLaterCatchesUpFromSnapshot(t *testing.T) {
	c := testcluster.Start(t, 3, testcluster.Options{SnapshotThreshold: 32, TrailingLogs: 8})
	cl := testcluster.NewClient(c.HTTP, c.URLs()...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := cl.Submit(ctx, seedCommands()); err != nil {
		t.Fatal(err)
	}
	for b := 0; b < 150; b++ {
		if _, err := cl.Submit(ctx, []*v1.Command{allocate(b)}); err != nil {
			t.Fatal(err)
		}
	}
	before := c.WaitConverged(30 * time.Second)
	time.Sleep(time.Second) // a snapshot check (every 200 ms) compacts the log past TrailingLogs
	nd := c.AddNode()
	after := c.WaitConverged(60 * time.Second)
	if after.LineItems != before.LineItems || after.HeadHash != before.HeadHash {
		t.Fatalf("new node did not catch up: %+v vs %+v", after, before)
	}
	// The log it needed was compacted away, so it can only have caught up by installing a
	// snapshot, which its own snapshot store keeps.
	snaps, err := os.ReadDir(filepath.Join(nd.DataDir, "raft", "snapshots"))
	if err != nil || len(snaps) == 0 {
		t.Fatalf("new node holds no installed snapshot: %v", err)
	}
	// Membership reaches the new node with the log; allow it a moment on a loaded machine.
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, err := c.Status(ctx, nd)
		if err == nil && len(st.Nodes) == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status from new node: %v %+v", err, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Issue 12, item 7: cluster status shows a stopped node as unreachable, not as a healthy
// follower, and how far each reachable node lags.
func TestClusterStatusShowsAStoppedNode(t *testing.T) {
	c := testcluster.Start(t, 3, testcluster.Options{})
	leader := c.WaitLeader(10 * time.Second)
	var stopped *testcluster.Node
	for _, nd := range c.Nodes {
		if nd != leader {
			stopped = nd
			break
		}
	}
	c.Kill(stopped)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := c.Status(ctx, leader)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range st.Nodes {
		switch {
		case n.NodeId == stopped.ID && (n.Reachable || n.Error == ""):
			t.Fatalf("the stopped node %s shows as reachable: %+v", n.NodeId, n)
		case n.NodeId != stopped.ID && (!n.Reachable || n.AppliedIndex == 0):
			t.Fatalf("a running node shows as unreachable: %+v", n)
		}
	}
}
