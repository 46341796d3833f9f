package raftnode

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/cloudledger/cloudledger/internal/testport"
)

// Timeouts short enough for fast tests, long enough for 2 busy cores with
// fsync on.
const (
	testHeartbeat   = 400 * time.Millisecond
	testElection    = 400 * time.Millisecond
	testLeaderLease = 300 * time.Millisecond
	testCommit      = 5 * time.Millisecond
	testWait        = 15 * time.Second
)

type testNode struct {
	t    *testing.T
	cfg  Config
	sm   *testSM
	node *Node
}

// freeAddr picks a loopback port a restarted node can listen on again.
func freeAddr(t *testing.T) string { return testport.Addr(t) }

func testLogger(name string) hclog.Logger {
	level := hclog.Error
	if v := os.Getenv("RAFTNODE_TEST_LOG"); v != "" {
		level = hclog.LevelFromString(v)
	}
	return hclog.New(&hclog.LoggerOptions{Name: name, Level: level, Output: os.Stderr})
}

func testConfig(t *testing.T, id string, bootstrap bool) Config {
	return Config{
		NodeID:             id,
		DataDir:            t.TempDir(),
		RaftBind:           freeAddr(t),
		HTTPURL:            "http://" + id + ".test:8080",
		Bootstrap:          bootstrap,
		HeartbeatTimeout:   testHeartbeat,
		ElectionTimeout:    testElection,
		LeaderLeaseTimeout: testLeaderLease,
		CommitTimeout:      testCommit,
		Logger:             testLogger(id),
	}
}

// startNode opens the test state machine and the node; both are closed at
// the end of the test.
func startNode(t *testing.T, cfg Config) *testNode {
	t.Helper()
	tn := &testNode{t: t, cfg: cfg}
	tn.open()
	t.Cleanup(tn.stop)
	return tn
}

func (tn *testNode) open() {
	tn.t.Helper()
	tn.sm = openTestSM(tn.t, filepath.Join(tn.cfg.DataDir, "sm.db"))
	n, err := Open(tn.cfg, tn.sm)
	if err != nil {
		tn.sm.close()
		tn.t.Fatalf("open %s: %v", tn.cfg.NodeID, err)
	}
	tn.node = n
}

func (tn *testNode) stop() {
	if tn.node != nil {
		if err := tn.node.Shutdown(); err != nil {
			tn.t.Errorf("shutdown %s: %v", tn.cfg.NodeID, err)
		}
		tn.node = nil
	}
	if tn.sm != nil {
		tn.sm.close()
		tn.sm = nil
	}
}

func (tn *testNode) restart() {
	tn.t.Helper()
	tn.stop()
	tn.open()
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	t.Cleanup(cancel)
	return ctx
}

// startCluster bootstraps the first node and adds the others as voters.
func startCluster(t *testing.T, size int, tweak func(*Config)) []*testNode {
	t.Helper()
	ctx := testCtx(t)
	var nodes []*testNode
	for i := range size {
		cfg := testConfig(t, fmt.Sprintf("n%d", i+1), i == 0)
		if tweak != nil {
			tweak(&cfg)
		}
		nodes = append(nodes, startNode(t, cfg))
	}
	if err := nodes[0].node.WaitForLeader(ctx); err != nil {
		t.Fatalf("first node never led: %v", err)
	}
	for _, tn := range nodes[1:] {
		if err := nodes[0].node.AddVoter(ctx, tn.cfg.NodeID, tn.cfg.RaftBind, tn.cfg.HTTPURL); err != nil {
			t.Fatalf("add voter %s: %v", tn.cfg.NodeID, err)
		}
	}
	for _, tn := range nodes {
		if err := tn.node.WaitForLeader(ctx); err != nil {
			t.Fatalf("%s never saw a leader: %v", tn.cfg.NodeID, err)
		}
	}
	return nodes
}

// waitLeader waits until one of nodes (other than the excluded id) is the
// leader and returns it.
func waitLeader(t *testing.T, nodes []*testNode, exclude string) *testNode {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for time.Now().Before(deadline) {
		for _, tn := range nodes {
			if tn.node != nil && tn.cfg.NodeID != exclude && tn.node.IsLeader() {
				return tn
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no leader elected")
	return nil
}

func followers(nodes []*testNode, leader *testNode) []*testNode {
	var out []*testNode
	for _, tn := range nodes {
		if tn != leader && tn.node != nil {
			out = append(out, tn)
		}
	}
	return out
}

// apply applies cmd on tn and returns the entry's index (the test state
// machine's result).
func apply(t *testing.T, tn *testNode, cmd string) uint64 {
	t.Helper()
	res, err := tn.node.Apply(testCtx(t), []byte(cmd))
	if err != nil {
		t.Fatalf("apply %q on %s: %v", cmd, tn.cfg.NodeID, err)
	}
	index, ok := res.(uint64)
	if !ok {
		t.Fatalf("apply %q: result %T %v, want the index", cmd, res, res)
	}
	return index
}

func applyN(t *testing.T, tn *testNode, prefix string, count int) []string {
	t.Helper()
	var cmds []string
	for i := range count {
		cmd := fmt.Sprintf("%s-%03d", prefix, i)
		apply(t, tn, cmd)
		cmds = append(cmds, cmd)
	}
	return cmds
}

// waitEntries waits until tn's state machine holds exactly want, in order.
func waitEntries(t *testing.T, tn *testNode, want []string) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	var got []string
	for time.Now().Before(deadline) {
		if got = tn.sm.entries(); slices.Equal(got, want) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s holds %d entries %q, want %d %q", tn.cfg.NodeID, len(got), got, len(want), want)
}

func requireNotLeader(t *testing.T, err error, wantLeader *testNode) {
	t.Helper()
	if !errors.Is(err, ErrNotLeader) {
		t.Fatalf("got %v, want ErrNotLeader", err)
	}
	var nle *NotLeaderError
	if !errors.As(err, &nle) {
		t.Fatalf("got %T, want *NotLeaderError", err)
	}
	if wantLeader != nil && (nle.LeaderID != wantLeader.cfg.NodeID || nle.LeaderHTTPURL != wantLeader.cfg.HTTPURL) {
		t.Fatalf("NotLeaderError names %q %q, want %q %q", nle.LeaderID, nle.LeaderHTTPURL, wantLeader.cfg.NodeID, wantLeader.cfg.HTTPURL)
	}
}

// fsmSnapshotHeader reads the header of the newest snapshot on disk.
func (n *Node) fsmSnapshotHeader() (snapshotHeader, error) {
	snaps, err := raft.NewFileSnapshotStoreWithLogger(filepath.Join(n.cfg.DataDir, "raft"), snapshotsRetained, hclog.NewNullLogger())
	if err != nil {
		return snapshotHeader{}, err
	}
	list, err := snaps.List()
	if err != nil || len(list) == 0 {
		return snapshotHeader{}, fmt.Errorf("no snapshot: %v", err)
	}
	_, rc, err := snaps.Open(list[0].ID)
	if err != nil {
		return snapshotHeader{}, err
	}
	defer rc.Close()
	return readSnapshotHeader(rc)
}
