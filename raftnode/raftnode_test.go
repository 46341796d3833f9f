package raftnode

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// (1) A single node bootstraps, applies and names itself leader with its URL.
func TestSingleNodeBootstrapsAppliesAndReportsOwnURL(t *testing.T) {
	tn := startNode(t, testConfig(t, "solo", true))
	ctx := testCtx(t)
	if err := tn.node.WaitForLeader(ctx); err != nil {
		t.Fatal(err)
	}
	if !tn.node.IsLeader() {
		t.Fatal("bootstrapped node is not the leader")
	}
	id, addr, url := tn.node.Leader()
	if id != "solo" || addr != tn.cfg.RaftBind || url != tn.cfg.HTTPURL {
		t.Fatalf("Leader() = %q %q %q, want solo %q %q", id, addr, url, tn.cfg.RaftBind, tn.cfg.HTTPURL)
	}
	want := applyN(t, tn, "solo", 5)
	waitEntries(t, tn, want)

	res, err := tn.node.Apply(ctx, []byte(testRejectPrefix+"x"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := res.(error); !ok {
		t.Fatalf("state machine error result came back as %T %v", res, res)
	}
	if err := tn.node.LinearizableRead(ctx); err != nil {
		t.Fatal(err)
	}
	servers, err := tn.node.Servers()
	if err != nil {
		t.Fatal(err)
	}
	wantServers := []ServerInfo{{ID: "solo", RaftAddr: tn.cfg.RaftBind, HTTPURL: tn.cfg.HTTPURL, Suffrage: "Voter", Leader: true}}
	if !slices.Equal(servers, wantServers) {
		t.Fatalf("Servers() = %+v, want %+v", servers, wantServers)
	}
	stats := tn.node.Stats()
	if stats["state"] != "Leader" || stats["node_id"] != "solo" || stats["sm_applied_index"] == "" {
		t.Fatalf("Stats() = %v", stats)
	}
	if err := tn.node.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if err := tn.node.Shutdown(); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if _, err := tn.node.Apply(ctx, []byte("late")); !errors.Is(err, ErrShutdown) {
		t.Fatalf("Apply after Shutdown: %v, want ErrShutdown", err)
	}
}

// (2) Three nodes replicate applies in order; followers refuse writes and
// name the leader's HTTP URL.
func TestThreeNodesReplicateInOrderAndFollowersNameTheLeader(t *testing.T) {
	nodes := startCluster(t, 3, nil)
	ctx := testCtx(t)
	leader := nodes[0]
	want := applyN(t, leader, "seq", 20)

	// Concurrent applies share raft batches; every node must still agree.
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := range 40 {
		wg.Go(func() {
			cmd := fmt.Sprintf("par-%03d", i)
			res, err := leader.node.Apply(ctx, []byte(cmd))
			if err != nil {
				t.Errorf("apply %s: %v", cmd, err)
				return
			}
			if _, ok := res.(uint64); !ok {
				t.Errorf("apply %s: result %v", cmd, res)
			}
			mu.Lock()
			defer mu.Unlock()
			want = append(want, cmd)
		})
	}
	wg.Wait()
	leaderEntries := leader.sm.entries()
	if !slices.Equal(leaderEntries[:20], want[:20]) || len(leaderEntries) != len(want) {
		t.Fatalf("leader holds %q, want %d entries starting %q", leaderEntries, len(want), want[:20])
	}
	for _, tn := range nodes {
		waitEntries(t, tn, leaderEntries)
		if tn.sm.dups.Load() != 0 {
			t.Fatalf("%s applied an entry twice", tn.cfg.NodeID)
		}
	}

	for _, f := range followers(nodes, leader) {
		_, err := f.node.Apply(ctx, []byte("on-follower"))
		requireNotLeader(t, err, leader)
		id, addr, url := f.node.Leader()
		if id != leader.cfg.NodeID || addr != leader.cfg.RaftBind || url != leader.cfg.HTTPURL {
			t.Fatalf("%s: Leader() = %q %q %q, want %q %q %q", f.cfg.NodeID, id, addr, url, leader.cfg.NodeID, leader.cfg.RaftBind, leader.cfg.HTTPURL)
		}
		requireNotLeader(t, f.node.AddVoter(ctx, "x", "127.0.0.1:1", ""), leader)
	}

	servers, err := nodes[2].node.Servers()
	if err != nil {
		t.Fatal(err)
	}
	if len(servers) != 3 {
		t.Fatalf("Servers() = %+v", servers)
	}
	for i, s := range servers {
		tn := nodes[i]
		if s.ID != tn.cfg.NodeID || s.RaftAddr != tn.cfg.RaftBind || s.HTTPURL != tn.cfg.HTTPURL || s.Suffrage != "Voter" || s.Leader != (tn == leader) {
			t.Fatalf("server %d = %+v, node %s", i, s, tn.cfg.NodeID)
		}
	}

	// AddVoter for an identical member writes nothing.
	before := leader.node.raft.LastIndex()
	if err := leader.node.AddVoter(ctx, nodes[1].cfg.NodeID, nodes[1].cfg.RaftBind, nodes[1].cfg.HTTPURL); err != nil {
		t.Fatal(err)
	}
	if after := leader.node.raft.LastIndex(); after != before {
		t.Fatalf("identical AddVoter appended entries: last index %d -> %d", before, after)
	}
	// A changed HTTP URL is replicated.
	if err := leader.node.AddVoter(ctx, nodes[1].cfg.NodeID, nodes[1].cfg.RaftBind, "http://moved.test"); err != nil {
		t.Fatal(err)
	}
	if err := nodes[2].node.WaitApplied(ctx, leader.node.CommitIndex()); err != nil {
		t.Fatal(err)
	}
	if url, _ := nodes[2].node.nodeURL(nodes[1].cfg.NodeID); url != "http://moved.test" {
		t.Fatalf("moved URL not replicated: %q", url)
	}
}

// (3) When the leader stops, another is elected and applies continue; the
// new leader serves linearizable reads and can remove the old one.
func TestLeaderFailoverElectsNewLeaderAndAppliesContinue(t *testing.T) {
	nodes := startCluster(t, 3, nil)
	ctx := testCtx(t)
	old := nodes[0]
	want := applyN(t, old, "before", 10)
	lastIndex := apply(t, old, "last-before")
	want = append(want, "last-before")

	old.stop()
	leader := waitLeader(t, nodes, old.cfg.NodeID)
	if err := leader.node.LinearizableRead(ctx); err != nil {
		t.Fatal(err)
	}
	if got := leader.node.AppliedIndex(); got < lastIndex {
		t.Fatalf("new leader applied %d after a linearizable read, want >= %d", got, lastIndex)
	}
	want = append(want, applyN(t, leader, "after", 10)...)
	remaining := followers(nodes, nil)
	for _, tn := range remaining {
		waitEntries(t, tn, want)
	}
	for _, tn := range remaining {
		if err := tn.node.WaitForLeader(ctx); err != nil {
			t.Fatal(err)
		}
		if id, _, url := tn.node.Leader(); id != leader.cfg.NodeID || url != leader.cfg.HTTPURL {
			t.Fatalf("%s: Leader() = %q %q, want %q", tn.cfg.NodeID, id, url, leader.cfg.NodeID)
		}
	}

	if err := leader.node.RemoveServer(ctx, old.cfg.NodeID); err != nil {
		t.Fatal(err)
	}
	if err := leader.node.RemoveServer(ctx, old.cfg.NodeID); err != nil {
		t.Fatalf("second RemoveServer: %v", err)
	}
	servers, err := leader.node.Servers()
	if err != nil {
		t.Fatal(err)
	}
	if len(servers) != 2 || slices.ContainsFunc(servers, func(s ServerInfo) bool { return s.ID == old.cfg.NodeID }) {
		t.Fatalf("Servers() after removal = %+v", servers)
	}
	if _, ok := leader.node.nodeURL(old.cfg.NodeID); ok {
		t.Fatal("removed node's metadata is still there")
	}
	want = append(want, applyN(t, leader, "two-node", 3)...)
	for _, tn := range remaining {
		waitEntries(t, tn, want)
	}
}

// (4) Stopping every node and reopening the same directories keeps the state
// and applies no entry twice, across a snapshot and the log after it.
func TestRestartAllKeepsStateAndAppliesNothingTwice(t *testing.T) {
	nodes := startCluster(t, 3, nil)
	ctx := testCtx(t)
	want := applyN(t, nodes[0], "a", 15)
	if err := nodes[0].node.Snapshot(); err != nil {
		t.Fatal(err)
	}
	want = append(want, applyN(t, nodes[0], "b", 15)...)
	commit := nodes[0].node.CommitIndex()
	for _, tn := range nodes {
		waitEntries(t, tn, want)
	}
	for _, tn := range nodes {
		tn.stop()
	}
	for _, tn := range nodes {
		tn.open()
	}
	for _, tn := range nodes {
		if err := tn.node.WaitForLeader(ctx); err != nil {
			t.Fatal(err)
		}
		if err := tn.node.WaitApplied(ctx, commit); err != nil {
			t.Fatal(err)
		}
	}
	for _, tn := range nodes {
		if got := tn.sm.entries(); !slices.Equal(got, want) {
			t.Fatalf("%s after restart holds %q, want %q", tn.cfg.NodeID, got, want)
		}
		if n := tn.sm.applies.Load(); n != 0 {
			t.Fatalf("%s re-applied %d entries after restart", tn.cfg.NodeID, n)
		}
		if id, _, url := tn.node.Leader(); id == "" || url == "" {
			t.Fatalf("%s: Leader() = %q %q after restart", tn.cfg.NodeID, id, url)
		}
	}
	leader := waitLeader(t, nodes, "")
	want = append(want, applyN(t, leader, "c", 5)...)
	for _, tn := range nodes {
		waitEntries(t, tn, want)
		if n := tn.sm.applies.Load(); n != 5 {
			t.Fatalf("%s applied %d entries after restart, want 5", tn.cfg.NodeID, n)
		}
		if tn.sm.dups.Load() != 0 {
			t.Fatalf("%s applied an entry twice", tn.cfg.NodeID)
		}
	}
}

// (5) A node added after the leader compacted its log catches up through an
// installed snapshot, node metadata included.
func TestNodeAddedAfterCompactionCatchesUpViaSnapshot(t *testing.T) {
	tweak := func(c *Config) { c.TrailingLogs = 2 }
	cfg := testConfig(t, "n1", true)
	tweak(&cfg)
	leader := startNode(t, cfg)
	ctx := testCtx(t)
	if err := leader.node.WaitForLeader(ctx); err != nil {
		t.Fatal(err)
	}
	want := applyN(t, leader, "old", 30)
	if err := leader.node.Snapshot(); err != nil {
		t.Fatal(err)
	}
	if first, err := leader.node.logs.FirstIndex(); err != nil || first <= 2 {
		t.Fatalf("log not compacted: first index %d, %v", first, err)
	}

	cfg2 := testConfig(t, "n2", false)
	tweak(&cfg2)
	late := startNode(t, cfg2)
	if err := leader.node.AddVoter(ctx, "n2", cfg2.RaftBind, cfg2.HTTPURL); err != nil {
		t.Fatal(err)
	}
	waitEntries(t, late, want)
	if n := late.sm.restores.Load(); n != 1 {
		t.Fatalf("late node restored %d snapshots, want 1", n)
	}
	if err := late.node.WaitForLeader(ctx); err != nil {
		t.Fatal(err)
	}
	if id, _, url := late.node.Leader(); id != "n1" || url != cfg.HTTPURL {
		t.Fatalf("late node: Leader() = %q %q, want n1 %q", id, url, cfg.HTTPURL)
	}
	want = append(want, applyN(t, leader, "new", 5)...)
	waitEntries(t, late, want)
	if late.sm.dups.Load() != 0 {
		t.Fatal("late node applied an entry twice")
	}
}

// (6) LinearizableRead is refused by followers and, on the leader, returns
// only once earlier writes are applied.
func TestLinearizableReadOnLeaderOnly(t *testing.T) {
	nodes := startCluster(t, 3, nil)
	ctx := testCtx(t)
	leader := nodes[0]
	for _, f := range followers(nodes, leader) {
		requireNotLeader(t, f.node.LinearizableRead(ctx), leader)
	}
	for i := range 10 {
		index := apply(t, leader, fmt.Sprintf("r-%d", i))
		if err := leader.node.LinearizableRead(ctx); err != nil {
			t.Fatal(err)
		}
		if got := leader.node.AppliedIndex(); got < index {
			t.Fatalf("applied index %d after a linearizable read, want >= %d", got, index)
		}
		if got := leader.sm.AppliedIndex(); got < index {
			t.Fatalf("state machine applied %d after a linearizable read, want >= %d", got, index)
		}
	}
	// A follower can wait for the leader's commit index, whatever entry it is.
	for _, f := range followers(nodes, leader) {
		if err := f.node.WaitApplied(ctx, leader.node.CommitIndex()); err != nil {
			t.Fatal(err)
		}
	}
}

// (7) Corrupt envelopes yield error results, never a panic, and never reach
// the state machine.
func TestCorruptEnvelopeYieldsErrorResult(t *testing.T) {
	tn := startNode(t, testConfig(t, "solo", true))
	ctx := testCtx(t)
	if err := tn.node.WaitForLeader(ctx); err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"unknown envelope":        {0x7f, 'x'},
		"zero envelope":           {0x00},
		"empty command":           {},
		"metadata not json":       {envelopeNodeMeta, '{'},
		"metadata unknown op":     append([]byte{envelopeNodeMeta}, `{"op":"explode","id":"n9"}`...),
		"metadata without id":     append([]byte{envelopeNodeMeta}, `{"op":"set"}`...),
		"metadata id over limit":  append([]byte{envelopeNodeMeta}, fmt.Sprintf(`{"op":"set","id":"%0300d"}`, 1)...),
		"metadata only envelope":  {envelopeNodeMeta},
		"metadata body too large": append(append([]byte{envelopeNodeMeta}, `{"op":"set","id":"n9","http_url":"`...), make([]byte, maxNodeMetaCmdBytes)...),
	}
	for name, raw := range cases {
		f := tn.node.raft.Apply(raw, testWait)
		if err := f.Error(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err, ok := f.Response().(error); !ok || !errors.Is(err, ErrBadEntry) {
			t.Fatalf("%s: result %T %v, want an ErrBadEntry error", name, f.Response(), f.Response())
		}
	}
	want := applyN(t, tn, "good", 2)
	waitEntries(t, tn, want)
	if _, ok := tn.node.nodeURL("n9"); ok {
		t.Fatal("malformed metadata was applied")
	}
	if id, _, url := tn.node.Leader(); id != "solo" || url != tn.cfg.HTTPURL {
		t.Fatalf("metadata damaged: Leader() = %q %q", id, url)
	}
}

// A state machine that lost its state (behind the latest snapshot) gets the
// snapshot restored at Open, then the log after it.
func TestOpenRestoresSnapshotIntoStateMachineBehindIt(t *testing.T) {
	tn := startNode(t, testConfig(t, "solo", true))
	ctx := testCtx(t)
	if err := tn.node.WaitForLeader(ctx); err != nil {
		t.Fatal(err)
	}
	want := applyN(t, tn, "snap", 10)
	if err := tn.node.Snapshot(); err != nil {
		t.Fatal(err)
	}
	want = append(want, applyN(t, tn, "log", 5)...)
	commit := tn.node.CommitIndex()
	tn.stop()
	if err := os.Remove(filepath.Join(tn.cfg.DataDir, "sm.db")); err != nil {
		t.Fatal(err)
	}
	tn.open()
	if n := tn.sm.restores.Load(); n != 1 {
		t.Fatalf("restored %d snapshots at Open, want 1", n)
	}
	if err := tn.node.WaitApplied(ctx, commit); err != nil {
		t.Fatal(err)
	}
	waitEntries(t, tn, want)
	if n := tn.sm.applies.Load(); n != 5 {
		t.Fatalf("replayed %d entries after the restore, want the 5 after the snapshot", n)
	}

	// With the state intact, a restart restores nothing.
	tn.restart()
	if err := tn.node.WaitApplied(ctx, commit); err != nil {
		t.Fatal(err)
	}
	if n := tn.sm.restores.Load() + tn.sm.applies.Load(); n != 0 {
		t.Fatalf("restart with intact state restored or applied %d times", n)
	}
	waitEntries(t, tn, want)
}

// A state machine holding entries while the raft directory is empty would
// skip the start of a new log: Open refuses.
func TestOpenRefusesStateMachineAheadOfEmptyRaftDir(t *testing.T) {
	cfg := testConfig(t, "solo", true)
	sm := openTestSM(t, filepath.Join(cfg.DataDir, "sm.db"))
	defer sm.close()
	sm.ApplyBatch([]Entry{{Index: 7, Term: 1, Data: []byte("stray")}})
	if n, err := Open(cfg, sm); err == nil {
		_ = n.Shutdown()
		t.Fatal("Open accepted a state machine ahead of an empty raft directory")
	}
}
