package raftnode

import (
	"errors"
	"fmt"
)

var (
	// ErrNotLeader is returned by leader-only operations on a node that is not
	// the leader. The returned error is a *NotLeaderError naming the leader
	// when it is known; Leader reports the same.
	ErrNotLeader = errors.New("raftnode: not the leader")

	// ErrUnknownOutcome means a command was submitted but its fate is unknown:
	// leadership was lost, a restore aborted it, the node shut down or the
	// caller's context ended while waiting. The entry may still commit, so
	// callers retry with an idempotency key.
	ErrUnknownOutcome = errors.New("raftnode: outcome unknown, the entry may still commit")

	// ErrShutdown is returned by operations on a node after Shutdown.
	ErrShutdown = errors.New("raftnode: node is shut down")

	// ErrBadEntry is wrapped by the error result of a log command that
	// raftnode cannot decode: empty, an unknown envelope byte or malformed
	// node metadata. It is a result, not a failure of the node.
	ErrBadEntry = errors.New("raftnode: malformed log entry")
)

// NotLeaderError is the error returned instead of plain ErrNotLeader; it wraps
// ErrNotLeader and names the leader as this node knew it at the time (empty
// fields when unknown).
type NotLeaderError struct {
	LeaderID       string
	LeaderRaftAddr string
	LeaderHTTPURL  string
}

func (e *NotLeaderError) Error() string {
	if e.LeaderID == "" {
		return ErrNotLeader.Error() + " (leader unknown)"
	}
	return fmt.Sprintf("%s (leader %s, raft %s, http %q)", ErrNotLeader, e.LeaderID, e.LeaderRaftAddr, e.LeaderHTTPURL)
}

func (e *NotLeaderError) Unwrap() error { return ErrNotLeader }

func badEntry(index uint64, format string, args ...any) error {
	return fmt.Errorf("%w at index %d: %s", ErrBadEntry, index, fmt.Sprintf(format, args...))
}
