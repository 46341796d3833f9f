package raftnode

import (
	"context"
	"errors"
	"time"

	"github.com/hashicorp/raft"
)

// watchLeadership reacts to leadership changes. raft's LeaderCh keeps only
// the latest value, so every "true" starts leadership over: a lost-and-won
// leadership may arrive as a single "true".
func (n *Node) watchLeadership() {
	defer n.wg.Done()
	var stop context.CancelFunc // stops the current establishLeadership
	stopCurrent := func() {
		if stop != nil {
			stop()
			stop = nil
		}
	}
	defer stopCurrent()
	for {
		select {
		case <-n.closing:
			return
		case isLeader := <-n.raft.LeaderCh():
			stopCurrent()
			n.mu.Lock()
			n.readyTerm = 0
			n.broadcastLocked()
			n.mu.Unlock()
			if !isLeader {
				continue
			}
			ctx, cancel := context.WithCancel(context.Background())
			stop = cancel
			n.wg.Add(1)
			go n.establishLeadership(ctx)
		}
	}
}

// establishLeadership makes a new leader ready to serve:
//
//  1. A barrier in the new term. Once it is applied, every entry committed
//     by earlier leaders is applied here and raft's commit index is current,
//     so LinearizableRead may use it (a new leader's commit index may lag
//     until an entry of its own term commits).
//  2. This node's own metadata (id -> HTTPURL) is proposed if it is missing
//     or changed, so bootstrap records the first node automatically.
func (n *Node) establishLeadership(ctx context.Context) {
	defer n.wg.Done()
	term := n.raft.CurrentTerm() // read first: a barrier from a later term only makes us conservative
	retry := func(attempt int) bool {
		wait := min(time.Duration(attempt+1)*50*time.Millisecond, leadershipRetryMax)
		select {
		case <-ctx.Done():
			return false
		case <-n.closing:
			return false
		case <-time.After(wait):
			return n.IsLeader()
		}
	}

	for attempt := 0; ; attempt++ {
		f := n.raft.Barrier(0)
		err := n.await(ctx, f)
		if err == nil {
			n.mu.Lock()
			// The barrier is never handed to the FSM, but the future resolves
			// only after everything before it was applied.
			if f, ok := f.(raft.IndexFuture); ok && f.Index() > n.appliedIndex {
				n.appliedIndex, n.appliedTerm = f.Index(), 0 // the barrier's term is not told
			}
			n.readyTerm = term
			n.broadcastLocked()
			n.mu.Unlock()
			break
		}
		n.logger.Debug("raftnode: leadership barrier failed", "term", term, "error", err)
		if !retry(attempt) {
			return
		}
	}

	for attempt := 0; ; attempt++ {
		err := n.ensureNodeMeta(ctx, n.cfg.NodeID, n.cfg.HTTPURL)
		if err == nil {
			return
		}
		n.logger.Warn("raftnode: recording own node metadata failed", "error", err)
		if !retry(attempt) {
			return
		}
	}
}

// LinearizableRead returns once every write committed before the call is
// applied to the StateMachine and this node was still the leader after the
// call began; reads of the StateMachine that follow are linearizable. Leader
// only: elsewhere it returns a *NotLeaderError.
func (n *Node) LinearizableRead(ctx context.Context) error {
	if err := n.precheck(ctx); err != nil {
		return err
	}
	term := n.raft.CurrentTerm()
	stillLeader := func() error {
		if !n.IsLeader() || n.raft.CurrentTerm() != term {
			return n.notLeader()
		}
		return nil
	}
	err := n.waitUntil(ctx, func() (bool, error) {
		if err := stillLeader(); err != nil {
			return false, err
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		return n.readyTerm == term, nil
	})
	if err != nil {
		return err
	}
	commitIndex := n.raft.CommitIndex()
	if err := n.await(ctx, n.raft.VerifyLeader()); err != nil {
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, ErrShutdown):
			return ErrShutdown
		case errors.Is(err, ErrUnknownOutcome):
			return n.notLeader() // leadership lost during the check
		default:
			return err
		}
	}
	if err := stillLeader(); err != nil {
		return err
	}
	return n.WaitApplied(ctx, commitIndex)
}

// WaitApplied waits until every log entry up to index is reflected in the
// StateMachine (and node metadata) on this node.
func (n *Node) WaitApplied(ctx context.Context, index uint64) error {
	return n.waitUntil(ctx, func() (bool, error) { return n.isApplied(index), nil })
}

// maxNoopScan bounds how many log entries isApplied inspects.
const maxNoopScan = 64

// isApplied reports whether the state reflects every entry up to index.
// appliedIndex advances only when the FSM sees an entry, but raft never hands
// it no-op (term start) or barrier entries; a committed index whose gap to
// appliedIndex holds only such entries (or entries already compacted into a
// snapshot, which are applied by definition) is applied too.
func (n *Node) isApplied(index uint64) bool {
	applied := n.AppliedIndex()
	if applied >= index {
		return true
	}
	if index > n.raft.CommitIndex() || index-applied > maxNoopScan {
		return false
	}
	for i := applied + 1; i <= index; i++ {
		var l raft.Log
		err := n.logs.GetLog(i, &l)
		switch {
		case errors.Is(err, raft.ErrLogNotFound):
			continue
		case err != nil:
			return false
		case l.Type == raft.LogCommand || l.Type == raft.LogConfiguration:
			return false // the FSM has yet to see it
		}
	}
	return true
}

// WaitForLeader waits until this node knows a leader and that leader's node
// metadata (its HTTP URL) has been applied here, so Leader is complete.
func (n *Node) WaitForLeader(ctx context.Context) error {
	return n.waitUntil(ctx, func() (bool, error) {
		_, id := n.raft.LeaderWithID()
		if id == "" {
			return false, nil
		}
		_, ok := n.nodeURL(string(id))
		return ok, nil
	})
}

// waitUntil re-evaluates cond whenever raftnode's state changes and at least
// every pollInterval (raft does not tell us about commit or leader changes).
func (n *Node) waitUntil(ctx context.Context, cond func() (bool, error)) error {
	var ticker *time.Ticker
	for {
		n.mu.Lock()
		changed := n.changed
		n.mu.Unlock()
		done, err := cond()
		if err != nil || done {
			return err
		}
		if ticker == nil {
			ticker = time.NewTicker(pollInterval)
			defer ticker.Stop()
		}
		select {
		case <-changed:
		case <-ticker.C:
		case <-ctx.Done():
			return ctx.Err()
		case <-n.closing:
			return ErrShutdown
		}
	}
}
