package raftnode

import (
	"errors"
	"testing"
)

// Issue 21: a removed member's id is retired on every node and through snapshots; it can
// never be added again, an id that is a member cannot be re-added with another address,
// and a replica joins as a non-voter.
func TestRemovedIDsAreRetiredAndNeverAddedAgain(t *testing.T) {
	nodes := startCluster(t, 3, nil)
	ctx := testCtx(t)
	leader, gone := nodes[0], nodes[2]
	gone.stop()
	if err := leader.node.RemoveServer(ctx, gone.cfg.NodeID); err != nil {
		t.Fatal(err)
	}
	if err := nodes[1].node.WaitApplied(ctx, leader.node.CommitIndex()); err != nil {
		t.Fatal(err)
	}
	for _, tn := range nodes[:2] {
		if !tn.node.Retired(gone.cfg.NodeID) {
			t.Fatalf("%s does not know %s was removed", tn.cfg.NodeID, gone.cfg.NodeID)
		}
	}
	if err := leader.node.AddMember(ctx, gone.cfg.NodeID, gone.cfg.RaftBind, gone.cfg.HTTPURL, false); !errors.Is(err, ErrRetired) {
		t.Fatalf("re-adding a removed id: %v, want ErrRetired", err)
	}
	if err := leader.node.AddMember(ctx, nodes[1].cfg.NodeID, "127.0.0.1:1", nodes[1].cfg.HTTPURL, false); !errors.Is(err, ErrMemberExists) {
		t.Fatalf("a member's id at another address: %v, want ErrMemberExists", err)
	}
	if err := leader.node.AddMember(ctx, nodes[1].cfg.NodeID, nodes[1].cfg.RaftBind, nodes[1].cfg.HTTPURL, false); err != nil {
		t.Fatalf("an identical admission (a retry) refused: %v", err)
	}

	replica := startNode(t, testConfig(t, "dr1", false))
	if err := leader.node.AddMember(ctx, "dr1", replica.cfg.RaftBind, replica.cfg.HTTPURL, true); err != nil {
		t.Fatal(err)
	}
	servers, err := leader.node.Servers()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range servers {
		if s.ID == "dr1" && s.Suffrage != "Nonvoter" {
			t.Fatalf("replica added as %s", s.Suffrage)
		}
	}

	// A snapshot carries the retired ids to a node restored from it.
	if err := leader.node.Snapshot(); err != nil {
		t.Fatal(err)
	}
	snap, err := leader.node.fsmSnapshotHeader()
	if err != nil {
		t.Fatal(err)
	}
	if !snap.Retired[gone.cfg.NodeID] {
		t.Fatalf("snapshot header retired %v, want %s", snap.Retired, gone.cfg.NodeID)
	}
}
