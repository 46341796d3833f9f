package raftnode

import (
	"errors"
	"fmt"

	"github.com/hashicorp/raft"
)

// InvariantAppliedFinal names the invariant a node stops for: an entry this node has
// applied is final. Raft truncates a follower's conflicting log suffix when a leader of a
// higher term sends a different entry at an index it holds; for an index at or below the
// applied index that can only come from a forger holding a member's certificate or from a
// bug, and obeying it would leave the log saying one thing and the state another (a replay
// from the log would build another ledger).
const InvariantAppliedFinal = "applied_entries_are_final"

// ErrInvariant is wrapped by the error a node stops with when one of raftnode's invariants
// is violated (Node.Failure).
var ErrInvariant = errors.New("raftnode: invariant violated")

// guardedLogStore is the log store raft writes through: it refuses, and stops the node
// for, any deletion or overwrite of entries at or below the applied index.
//
// raft deletes log ranges for two reasons: compaction after a snapshot removes a prefix
// [first, x] that never reaches the last entry (x ≤ last − TrailingLogs, TrailingLogs ≥ 1
// here), and a conflict on append removes a suffix [i, last]. Only the second can undo an
// applied entry, so a range that reaches the last index and starts at or below the applied
// index is the violation.
type guardedLogStore struct {
	raft.LogStore
	n *Node
}

func (g *guardedLogStore) DeleteRange(min, max uint64) error {
	last, err := g.LogStore.LastIndex()
	if err != nil {
		return err
	}
	if applied := g.n.finalIndex(); max >= last && min <= applied {
		if g.n.staleAt(applied) {
			g.n.logger.Warn("raftnode: clearing a log suffix that holds no applied entry (the state came from a snapshot)", "from", min, "to", max, "applied", applied)
			return g.LogStore.DeleteRange(min, max)
		}
		return g.n.violate(fmt.Errorf("%w: %s: asked to delete log entries %d–%d, of which %d–%d are applied (a leader of a higher term sent a different entry at index %d)",
			ErrInvariant, InvariantAppliedFinal, min, max, min, applied, min))
	}
	return g.LogStore.DeleteRange(min, max)
}

func (g *guardedLogStore) StoreLog(l *raft.Log) error { return g.StoreLogs([]*raft.Log{l}) }

func (g *guardedLogStore) StoreLogs(logs []*raft.Log) error {
	if len(logs) > 0 {
		first := logs[0].Index
		if applied := g.n.finalIndex(); first <= applied {
			last, err := g.LogStore.LastIndex()
			if err != nil {
				return err
			}
			if first <= last {
				return g.n.violate(fmt.Errorf("%w: %s: asked to overwrite log entries from %d, applied up to %d",
					ErrInvariant, InvariantAppliedFinal, first, applied))
			}
		}
	}
	return g.LogStore.StoreLogs(logs)
}

// staleAt reports whether the local log's entry at the applied index is known to be
// another entry than the one applied there (a snapshot replaced the state and the log
// still holds an older term's entry): by Raft's log matching, the entries at and below it
// in this log are then not what the state was built from, and clearing them undoes
// nothing. Unknown terms count as not stale.
func (n *Node) staleAt(applied uint64) bool {
	n.mu.Lock()
	var want uint64
	switch applied {
	case n.appliedIndex:
		want = n.appliedTerm
	case n.openedAt:
		want = n.openedTerm
	}
	n.mu.Unlock()
	if want == 0 {
		return false
	}
	got := n.termAt(applied)
	return got != 0 && got != want
}

// termAt is the term of the local log's entry at index, or 0 when it holds none.
func (n *Node) termAt(index uint64) uint64 {
	var l raft.Log
	if index == 0 || n.logs.GetLog(index, &l) != nil {
		return 0
	}
	return l.Term
}

// finalIndex is the highest index this node has applied, to the state machine or to the
// node metadata, before or since it opened.
func (n *Node) finalIndex() uint64 { return max(n.AppliedIndex(), n.openedAt) }

// violate records the first invariant violation, stops the node (in the background: it is
// called on raft's own goroutine, which Shutdown waits for) and returns err so that raft
// refuses what it was asked.
func (n *Node) violate(err error) error {
	n.failOnce.Do(func() {
		n.failErr = err
		n.logger.Error("raftnode: stopping: invariant violated", "error", err)
		close(n.failed)
		go func() { _ = n.Shutdown() }()
	})
	return err
}

// Failed is closed when the node stopped because an invariant was violated; Failure then
// says which.
func (n *Node) Failed() <-chan struct{} { return n.failed }

// Failure is the invariant violation the node stopped for, or nil.
func (n *Node) Failure() error {
	select {
	case <-n.failed:
		return n.failErr
	default:
		return nil
	}
}
