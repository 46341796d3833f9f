package cluster

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/internal/testcluster"
	"github.com/cloudledger/cloudledger/ledger"
)

// upgradedFrom is the earlier commit the rolling upgrade starts from: the last one before
// the findings' rules version 8 (issue 24 done: rules version 7). An upgrade across a rules
// version is the case the version gate exists for.
const upgradedFrom = "ebd484d152e35c831f2024dc30795d07a6c20292"

// Issue 29, must show 3: a rolling upgrade from a pinned earlier commit. Three nodes of it;
// a writer writes all along; the nodes are replaced one at a time by the current binary.
// In the mixed phase a command of the new rules version (the authority's utilisation rules,
// version 8) is refused by name — the leader writes what every voter applies — and once
// every voter is upgraded it lands. Every acknowledged write is on every node, and the
// nodes' chains agree.
func TestRollingUpgradeFromAnEarlierCommit(t *testing.T) {
	old := testcluster.BinaryAt(t, upgradedFrom)
	c := testcluster.Start(t, 3, testcluster.Options{Binary: old})
	ctx := context.Background()
	cl := testcluster.NewClient(c.HTTP, c.URLs()...)
	if _, err := cl.Submit(ctx, seedCommands()); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			cmd := testcluster.Allocate("upgrade", i)
			_, err := cl.Submit(wctx, []*v1.Command{cmd})
			cancel()
			if err == nil {
				mu.Lock()
				acked = append(acked, cmd.GetKey())
				mu.Unlock()
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()

	// From a day to come: no backlog of evaluations follows it (a past date would make the
	// leader evaluate every day since, raising findings while the test compares the chains).
	rules := &v1.Command{Key: "upgrade/rules", Body: &v1.Command_UtilisationRules{UtilisationRules: &v1.UtilisationRules{EffectiveFrom: "2099-01-01"}}}
	for i, nd := range c.Nodes {
		c.Stop(nd)
		nd.SetBinary(testcluster.Binary(t))
		c.Restart(nd)
		c.WaitLeader(20 * time.Second)
		time.Sleep(time.Second) // writes go on through the mixed cluster
		if i < len(c.Nodes)-1 {
			// A voter still runs the old binary: the command, sent to an upgraded node, is
			// refused — by the gate when the leader is upgraded (it writes rules version 7
			// while a voter applies no more), by the old leader's decoder otherwise (it does
			// not know the command) — and nothing of it is written.
			req := connect.NewRequest(&v1.SubmitRequest{Commands: []*v1.Command{rules}})
			_, err := cl.Ledger(i).Submit(ctx, testcluster.Authorize(req, false))
			if err == nil || !strings.Contains(err.Error(), "rules version 8") && !strings.Contains(err.Error(), "needs a body") {
				t.Fatalf("a rules-8 command with %d of 3 nodes upgraded: %v, want it refused until every voter applies version 8", i+1, err)
			}
			t.Logf("%d of 3 upgraded: the rules-8 command refused: %v", i+1, err)
		}
	}
	if res, err := cl.Ledger(0).ListLineItems(ctx, testcluster.Authorize(connect.NewRequest(&v1.ListLineItemsRequest{Key: rules.GetKey(), FromSeq: 1, Limit: 10}), false)); err != nil || len(res.Msg.GetItems()) != 0 {
		t.Fatalf("the refused command left %v (%v)", res, err)
	}
	// Every voter upgraded: the leader moves to the newest version, and the command lands.
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err := cl.Submit(ctx, []*v1.Command{rules})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rules-8 command after the upgrade: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	close(stop)
	<-done
	c.WaitConverged(30 * time.Second)

	mu.Lock()
	defer mu.Unlock()
	if len(acked) < 50 {
		t.Fatalf("only %d writes acknowledged during the upgrade", len(acked))
	}
	// Every node's own state (a stale read is the node's, not the leader's) reaches the same head.
	deadline = time.Now().Add(30 * time.Second)
	for {
		var hs []string
		for i := range c.Nodes {
			v, err := cl.Ledger(i).Verify(ctx, testcluster.Authorize(connect.NewRequest(&v1.VerifyRequest{}), true))
			if err != nil {
				t.Fatal(err)
			}
			hs = append(hs, fmt.Sprintf("%d %s", v.Msg.GetLineItems(), v.Msg.GetHeadHash()))
		}
		if hs[0] == hs[1] && hs[1] == hs[2] {
			break
		}
		if time.Now().After(deadline) {
			t.Logf("the nodes' own heads: %v", hs)
			break
		}
		time.Sleep(time.Second)
	}
	var heads []string
	for i := range c.Nodes {
		led := cl.Ledger(i)
		v, err := led.Verify(ctx, testcluster.Authorize(connect.NewRequest(&v1.VerifyRequest{}), true))
		if err != nil {
			t.Fatal(err)
		}
		heads = append(heads, v.Msg.GetHeadHash())
		for _, k := range acked {
			res, err := led.ListLineItems(ctx, testcluster.Authorize(connect.NewRequest(&v1.ListLineItemsRequest{Key: k, FromSeq: 1, Limit: 10}), true))
			if err != nil {
				t.Fatal(err)
			}
			if n := len(res.Msg.GetItems()); n != 1 {
				t.Fatalf("%s: acknowledged write %s is there %d times, want once", c.Nodes[i].ID, k, n)
			}
		}
	}
	if heads[0] != heads[1] || heads[1] != heads[2] {
		for _, nd := range c.Nodes {
			l := c.Log(nd)
			var keep []string
			for _, line := range strings.Split(l, "\n") {
				if !strings.Contains(line, "component=raft") && !strings.Contains(line, "plain HTTP") {
					keep = append(keep, line)
				}
			}
			t.Logf("%s running %v, log without raft:\n%s", nd.ID, nd.Running(), strings.Join(keep, "\n"))
		}
		t.Fatalf("the chains differ after the upgrade: %v", heads)
	}
	st, err := c.Status(ctx, c.Nodes[0])
	if err != nil || st.GetProposalRulesVersion() != uint32(ledger.MaxRulesVersion()) {
		t.Fatalf("after the upgrade the leader writes rules %d (%v), want %d", st.GetProposalRulesVersion(), err, ledger.MaxRulesVersion())
	}
	t.Logf("%d writes acknowledged during the upgrade from %.7s, each once on every node; heads agree at %s", len(acked), upgradedFrom, heads[0])
}
