package raftnode

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// Issue 21, must show 4: a follower offered an entry of a higher term at an index it has
// applied refuses it and stops with the invariant's name, instead of clearing its log
// suffix (which hashicorp/raft would do, leaving log and state apart); the other two serve
// on, and the stopped node's log still holds what its state applied.
func TestFollowerStopsRatherThanOverwriteAppliedEntries(t *testing.T) {
	nodes := startCluster(t, 3, nil)
	leader := nodes[0]
	want := applyN(t, leader, "before", 10)
	victim := nodes[1]
	waitEntries(t, victim, want)
	applied := victim.node.AppliedIndex()
	var original raft.Log
	if err := victim.node.logs.GetLog(applied, &original); err != nil {
		t.Fatal(err)
	}

	// A forger (here on plain TCP, as these nodes run) claims a term far ahead and a
	// different entry at an index the victim has applied.
	trans, err := raft.NewTCPTransportWithLogger("127.0.0.1:0", nil, 1, 2*time.Second, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer trans.Close()
	const forgedTerm = 2_000_000
	var prev raft.Log
	if err := victim.node.logs.GetLog(applied-1, &prev); err != nil {
		t.Fatal(err)
	}
	req := &raft.AppendEntriesRequest{
		RPCHeader:    raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte(nodes[2].cfg.NodeID), Addr: []byte(nodes[2].cfg.RaftBind)},
		Term:         forgedTerm,
		PrevLogEntry: applied - 1, PrevLogTerm: prev.Term, LeaderCommitIndex: applied,
		Entries: []*raft.Log{{Index: applied, Term: forgedTerm, Type: raft.LogCommand, Data: append([]byte{envelopeUser}, "forged"...)}},
	}
	var resp raft.AppendEntriesResponse
	err = trans.AppendEntries(raft.ServerID(victim.cfg.NodeID), raft.ServerAddress(victim.cfg.RaftBind), req, &resp)
	if err == nil && resp.Success {
		t.Fatal("the follower accepted an entry overwriting an applied one")
	}
	select {
	case <-victim.node.Failed():
	case <-time.After(testWait):
		t.Fatal("the follower did not stop")
	}
	if f := victim.node.Failure(); !errors.Is(f, ErrInvariant) || !strings.Contains(f.Error(), InvariantAppliedFinal) {
		t.Fatalf("stopped with %v, want the invariant %s", f, InvariantAppliedFinal)
	}

	// Its log still agrees with its state: the applied entry is the original one.
	var after raft.Log
	if err := victim.node.logs.GetLog(applied, &after); err != nil {
		t.Fatalf("the applied entry %d is gone from the log: %v", applied, err)
	}
	if after.Term != original.Term || string(after.Data) != string(original.Data) {
		t.Fatalf("entry %d was term %d %q, now term %d %q", applied, original.Term, original.Data, after.Term, after.Data)
	}
	if got := victim.sm.entries(); len(got) != len(want) || got[len(got)-1] != want[len(want)-1] {
		t.Fatalf("the stopped node's state holds %q", got)
	}
	victim.node = nil // shut down by the invariant already

	// The other two keep serving (the forged term made the leader step down: the next
	// election takes a moment).
	rest := []*testNode{nodes[0], nodes[2]}
	deadline := time.Now().Add(testWait)
	var last string
	for attempt := 0; ; attempt++ {
		l := waitLeader(t, rest, "")
		last = fmt.Sprintf("after-%d", attempt) // an unknown outcome may still commit: a new command each try
		if _, err := l.node.Apply(testCtx(t), []byte(last)); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the remaining two do not serve: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for time.Now().Before(deadline) {
		if got := nodes[2].sm.entries(); len(got) > len(want) && got[len(got)-1] == last {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never applied %s", nodes[2].cfg.NodeID, last)
}

// The guard tells compaction (a prefix that never reaches the last entry) from a conflict
// truncation (a suffix), and lets a suffix above the applied index go: that is Raft's
// normal repair of an uncommitted tail.
func TestGuardLetsCompactionAndUnappliedSuffixesThrough(t *testing.T) {
	store := raft.NewInmemStore()
	for i := uint64(1); i <= 10; i++ {
		if err := store.StoreLog(&raft.Log{Index: i, Term: 1}); err != nil {
			t.Fatal(err)
		}
	}
	n := &Node{failed: make(chan struct{}), closing: make(chan struct{}), logger: hclog.NewNullLogger(), appliedIndex: 6}
	n.shutdownOnce.Do(func() {}) // no raft to shut down here
	g := &guardedLogStore{LogStore: store, n: n}
	if err := g.DeleteRange(1, 4); err != nil {
		t.Fatalf("compaction of 1–4 refused: %v", err)
	}
	if err := g.DeleteRange(8, 10); err != nil {
		t.Fatalf("truncating the unapplied suffix 8–10 refused: %v", err)
	}
	if err := g.StoreLogs([]*raft.Log{{Index: 8, Term: 2}}); err != nil {
		t.Fatalf("appending 8 after the truncation refused: %v", err)
	}
	if err := g.DeleteRange(6, 8); !errors.Is(err, ErrInvariant) {
		t.Fatalf("truncating 6–8 with 6 applied: %v, want the invariant", err)
	}
	if n.Failure() == nil {
		t.Fatal("the node did not record the violation")
	}
	if err := g.StoreLogs([]*raft.Log{{Index: 5, Term: 3}}); !errors.Is(err, ErrInvariant) {
		t.Fatalf("overwriting applied entry 5: %v, want the invariant", err)
	}
	if last, _ := store.LastIndex(); last != 8 {
		t.Fatalf("last index %d after refused changes, want 8", last)
	}
}

// A follower whose state came from a leader's snapshot may still hold an older term's
// entries at and below the applied index; clearing those undoes nothing applied, and the
// guard tells them apart by the applied entry's term.
func TestGuardLetsAStaleSuffixBelowASnapshotGo(t *testing.T) {
	store := raft.NewInmemStore()
	for i := uint64(1); i <= 10; i++ {
		if err := store.StoreLog(&raft.Log{Index: i, Term: 1}); err != nil {
			t.Fatal(err)
		}
	}
	// Applied up to 6 in term 2 (the snapshot's), while the local entry at 6 is term 1's.
	n := &Node{failed: make(chan struct{}), closing: make(chan struct{}), logger: hclog.NewNullLogger(), appliedIndex: 6, appliedTerm: 2}
	n.shutdownOnce.Do(func() {})
	g := &guardedLogStore{LogStore: store, n: n}
	n.logs = g
	if err := g.DeleteRange(5, 10); err != nil {
		t.Fatalf("clearing term 1's entries 5–10 under a term 2 snapshot at 6: %v", err)
	}
	if n.Failure() != nil {
		t.Fatalf("the node stopped: %v", n.Failure())
	}
	// The same request when the entry at 6 is the applied one (term 2) is the violation.
	for i := uint64(5); i <= 10; i++ {
		if err := store.StoreLog(&raft.Log{Index: i, Term: 2}); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.DeleteRange(5, 10); !errors.Is(err, ErrInvariant) {
		t.Fatalf("clearing the applied term 2 entries 5–10: %v, want the invariant", err)
	}
}

// A snapshot older than what the node applied is refused, and the node stops: installing
// it would take applied entries back.
func TestGuardRefusesAnOlderSnapshot(t *testing.T) {
	n := &Node{failed: make(chan struct{}), closing: make(chan struct{}), logger: hclog.NewNullLogger(), appliedIndex: 6}
	n.shutdownOnce.Do(func() {})
	var buf bytes.Buffer
	if err := writeSnapshotHeader(&buf, snapshotHeader{Version: snapshotVersion, AppliedIndex: 3, SMIndex: 3}); err != nil {
		t.Fatal(err)
	}
	err := (&fsm{n: n}).Restore(io.NopCloser(&buf))
	if !errors.Is(err, ErrInvariant) || n.Failure() == nil {
		t.Fatalf("restoring a snapshot at 3 with 6 applied: %v (failure %v), want the invariant", err, n.Failure())
	}
}
