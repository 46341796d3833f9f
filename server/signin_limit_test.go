package server

import (
	"runtime/debug"
	"testing"
)

// A burst of password checks lowers the memory limit while it lasts, and then gives back the
// node's own limit (GOMEMLIMIT) instead of none; a node limit below the burst's stays.
func TestPasswordChecksGiveBackTheNodesMemoryLimit(t *testing.T) {
	const nodeLimit = 3 << 40 // above any burst's bound on this machine
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(nodeLimit))
	g := newGuard()
	g.enter()
	if during := debug.SetMemoryLimit(-1); during >= nodeLimit || g.limit.Load() != during {
		t.Fatalf("during the checks the limit is %d (guard %d), want below the node's %d", during, g.limit.Load(), int64(nodeLimit))
	}
	g.leave()
	if after := debug.SetMemoryLimit(-1); after != nodeLimit {
		t.Fatalf("after the checks the limit is %d, want the node's %d", after, int64(nodeLimit))
	}
	// Two servers' guards in one process, their bursts overlapping: the last to end gives the
	// process its own limit back, whichever began first.
	a, b := newGuard(), newGuard()
	a.enter()
	b.enter()
	a.leave()
	b.leave()
	if after := debug.SetMemoryLimit(-1); after != nodeLimit {
		t.Fatalf("after two overlapping bursts the limit is %d, want the node's %d", after, int64(nodeLimit))
	}
	const low = 1 << 20 // below what the process holds
	debug.SetMemoryLimit(low)
	g.enter()
	during := debug.SetMemoryLimit(-1)
	g.leave()
	if during != low || debug.SetMemoryLimit(-1) != low {
		t.Fatalf("a node limit of %d became %d during the checks, %d after", low, during, debug.SetMemoryLimit(-1))
	}
}
