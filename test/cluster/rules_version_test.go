package cluster

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/internal/testcluster"
	"github.com/cloudledger/cloudledger/ledger"
	"github.com/cloudledger/cloudledger/server"
)

// Issue 23, must show 6: a rolling upgrade. Three nodes run a binary that applies rules up
// to version 4 (built with -tags rulesv4); node1 and node2 are upgraded in place to the
// current one (the newest): every node writes version 4 while node3 votes, and node3 applies
// everything. A replica without a vote (node4, version 4) does not hold the version back:
// once node3 is upgraded the cluster writes version 5, and node4, given an entry of it,
// stops with the invariant's name (exit status 70) instead of skipping it; upgraded and
// started again, it applies the entry and agrees with the others.
func TestRollingUpgradeWritesWhatEveryVoterApplies(t *testing.T) {
	old := testcluster.BinaryWithTags(t, "rulesv4")
	c := testcluster.Start(t, 3, testcluster.Options{Binary: old})
	node3 := c.Nodes[2]
	ctx := context.Background()
	newest := uint32(ledger.MaxRulesVersion())
	written := func(want uint32) {
		t.Helper()
		deadline := time.Now().Add(4 * server.RulesProbeInterval)
		for {
			ok := true
			for _, nd := range c.Nodes {
				if !nd.Running() {
					continue
				}
				st, err := c.Status(ctx, nd)
				if err != nil || st.GetProposalRulesVersion() != want {
					ok = false
				}
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				st, _ := c.Status(ctx, c.Nodes[0])
				t.Fatalf("the nodes do not all write rules version %d: %v", want, st)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	written(4)
	for _, nd := range c.Nodes[:2] {
		c.Stop(nd)
		nd.SetBinary(testcluster.Binary(t))
		c.Restart(nd)
	}
	c.WaitLeader(10 * time.Second)
	written(4) // node3 still votes with rules 4
	st, err := c.Status(ctx, c.Nodes[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range st.GetNodes() {
		if want := map[string]uint32{"node1": newest, "node2": newest, "node3": 4}[n.GetNodeId()]; n.GetRulesVersion() != want {
			t.Errorf("%s advertises rules %d, want %d", n.GetNodeId(), n.GetRulesVersion(), want)
		}
	}
	node4 := c.AddNodeWith(testcluster.NodeOptions{Binary: old, Nonvoter: true})
	cl := testcluster.NewClient(c.HTTP, c.URLs()[:3]...)
	if _, err := cl.Submit(ctx, seedCommands()); err != nil {
		t.Fatalf("writing under rules 4: %v", err)
	}
	c.WaitConverged(30 * time.Second)

	// node3 upgraded in place: the voters all apply 5 now; node4 votes not.
	c.Stop(node3)
	node3.SetBinary(testcluster.Binary(t))
	c.Restart(node3)
	written(newest)
	if _, err := cl.Submit(ctx, []*v1.Command{allocate(1)}); err != nil {
		t.Fatalf("writing under rules %d: %v", newest, err)
	}
	select {
	case <-node4.Exited():
	case <-time.After(20 * time.Second):
		t.Fatalf("node4 (rules 4) still runs after an entry of rules 5:\n%s", c.Log(node4))
	}
	if code := node4.ExitCode(); code != server.ExitInvariant {
		t.Errorf("node4 exited with %d, want %d", code, server.ExitInvariant)
	}
	if log := c.Log(node4); !strings.Contains(log, "rules_version_known") || !strings.Contains(log, fmt.Sprintf("written under rules version %d", newest)) {
		t.Errorf("node4's log does not name the stop:\n%s", log)
	}
	node4.SetBinary(testcluster.Binary(t))
	c.Restart(node4)
	c.WaitConverged(30 * time.Second)
}
