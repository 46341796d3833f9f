package raftnode

import (
	"bufio"
	"fmt"
	"io"
	"maps"

	"github.com/hashicorp/raft"
)

// fsm adapts a StateMachine to raft.BatchingFSM: it strips envelopes, applies
// node metadata itself, skips entries already applied before a restart and
// wraps snapshots with the metadata block.
type fsm struct{ n *Node }

var _ raft.BatchingFSM = (*fsm)(nil)

func (f *fsm) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

// ApplyBatch receives LogCommand and LogConfiguration entries in log order.
// User entries go to the StateMachine in one call; metadata entries are
// applied here. Both kinds are independent state, so applying them in two
// groups gives the same result as strict interleaving.
func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	n := f.n
	results := make([]any, len(logs))
	if len(logs) == 0 {
		return results
	}
	smApplied := n.sm.AppliedIndex()
	n.mu.Lock()
	metaIndex := n.metaIndex
	n.mu.Unlock()

	var entries []Entry
	var positions []int
	var meta *nodeMetaState // copy-on-write, nil until a metadata entry applies
	for i, l := range logs {
		if l.Type != raft.LogCommand {
			continue // configuration changes are raft's business; the result is nil
		}
		if len(l.Data) == 0 {
			results[i] = badEntry(l.Index, "empty command")
			continue
		}
		switch body := l.Data[1:]; l.Data[0] {
		case envelopeUser:
			if l.Index <= smApplied {
				continue // applied before a restart; the log is being replayed
			}
			entries = append(entries, Entry{Index: l.Index, Term: l.Term, Data: body})
			positions = append(positions, i)
		case envelopeNodeMeta:
			if l.Index <= metaIndex {
				continue
			}
			cmd, err := decodeNodeMetaCommand(body)
			if err != nil {
				results[i] = badEntry(l.Index, "%v", err)
				continue
			}
			if meta == nil {
				s := n.nodeMetaSnapshot()
				meta = &s
			}
			cmd.applyTo(meta)
			meta.Index = l.Index
		default:
			results[i] = badEntry(l.Index, "unknown envelope byte 0x%02x", l.Data[0])
		}
	}

	if len(entries) > 0 {
		smResults := n.sm.ApplyBatch(entries)
		if len(smResults) != len(entries) {
			// A broken StateMachine, not bad data: fail loudly, as raft does
			// for a BatchingFSM returning the wrong number of results.
			panic(fmt.Sprintf("raftnode: StateMachine.ApplyBatch returned %d results for %d entries", len(smResults), len(entries)))
		}
		for j, pos := range positions {
			results[pos] = smResults[j]
		}
	}
	if meta != nil {
		n.setNodeMeta(*meta)
	}
	n.advanceApplied(logs[len(logs)-1].Index, logs[len(logs)-1].Term)
	return results
}

// Snapshot is called on the apply goroutine, so the StateMachine's snapshot,
// its applied index and the metadata all describe the same point in the log.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	n := f.n
	user, err := n.sm.Snapshot()
	if err != nil {
		return nil, fmt.Errorf("raftnode: state machine snapshot: %w", err)
	}
	meta := n.nodeMetaSnapshot()
	header := snapshotHeader{
		Version:      snapshotVersion,
		AppliedIndex: n.AppliedIndex(),
		AppliedTerm:  n.appliedTermNow(),
		SMIndex:      n.sm.AppliedIndex(),
		MetaIndex:    meta.Index,
		Nodes:        meta.Nodes,
		Retired:      meta.Retired,
	}
	return &fsmSnapshot{header: header, user: user}, nil
}

// Restore is called by raft when this node installs a snapshot sent by the
// leader (never at start: NoSnapshotRestoreOnStart). raft closes the reader.
func (f *fsm) Restore(rc io.ReadCloser) error {
	n := f.n
	br := bufio.NewReaderSize(rc, snapshotBufferBytes)
	header, err := readSnapshotHeader(br)
	if err != nil {
		return err
	}
	if final := n.finalIndex(); header.AppliedIndex < final {
		// A leader installs a snapshot on a follower that is behind it; one older than
		// what this node applied would take applied entries back.
		return n.violate(fmt.Errorf("%w: %s: asked to install a snapshot at index %d, applied up to %d",
			ErrInvariant, InvariantAppliedFinal, header.AppliedIndex, final))
	}
	if err := n.sm.Restore(br); err != nil {
		return fmt.Errorf("raftnode: state machine restore: %w", err)
	}
	n.setNodeMeta(nodeMetaState{Index: header.MetaIndex, Nodes: header.nodes(), Retired: maps.Clone(header.Retired)})
	n.mu.Lock()
	n.appliedIndex = header.AppliedIndex // state replaced: the index is the snapshot's
	n.appliedTerm = header.AppliedTerm
	n.broadcastLocked()
	n.mu.Unlock()
	return nil
}

type fsmSnapshot struct {
	header snapshotHeader
	user   Snapshot
}

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	bw := bufio.NewWriterSize(sink, snapshotBufferBytes)
	err := writeSnapshotHeader(bw, s.header)
	if err == nil {
		err = s.user.Persist(bw)
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("raftnode: persist snapshot: %w", err)
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() { s.user.Release() }

func (h snapshotHeader) nodes() map[string]string {
	if h.Nodes == nil {
		return map[string]string{}
	}
	return maps.Clone(h.Nodes)
}
