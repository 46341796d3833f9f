package raftnode

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"

	"github.com/hashicorp/raft"
)

// A raftnode snapshot is
//
//	magic "RNSNAP\x00\x01" | uint32 big-endian header length | header JSON | StateMachine bytes
//
// The header carries the node metadata and the indexes that say which parts
// of the log the snapshot covers.

const (
	snapshotVersion        = 1
	maxSnapshotHeaderBytes = 16 << 20
	snapshotBufferBytes    = 64 << 10
)

var snapshotMagic = [8]byte{'R', 'N', 'S', 'N', 'A', 'P', 0, 1}

type snapshotHeader struct {
	Version int `json:"version"`
	// AppliedIndex is raftnode's applied index when the snapshot was taken:
	// every log entry at or below it is reflected in the snapshot.
	AppliedIndex uint64 `json:"applied_index"`
	// AppliedTerm is the term of the entry at AppliedIndex (0: unknown, as in snapshots
	// from before it was recorded).
	AppliedTerm uint64 `json:"applied_term,omitempty"`
	// SMIndex is StateMachine.AppliedIndex when the snapshot was taken: the
	// last user entry the snapshot contains.
	SMIndex uint64 `json:"sm_index"`
	// MetaIndex is the index of the last node-metadata entry it contains.
	MetaIndex uint64            `json:"meta_index"`
	Nodes     map[string]string `json:"nodes"`
	Retired   map[string]bool   `json:"retired,omitempty"`
}

func writeSnapshotHeader(w io.Writer, h snapshotHeader) error {
	body, err := json.Marshal(h)
	if err != nil {
		return err
	}
	if len(body) > maxSnapshotHeaderBytes {
		return fmt.Errorf("snapshot header of %d bytes exceeds %d", len(body), maxSnapshotHeaderBytes)
	}
	var prefix [12]byte
	copy(prefix[:8], snapshotMagic[:])
	binary.BigEndian.PutUint32(prefix[8:], uint32(len(body)))
	if _, err := w.Write(prefix[:]); err != nil {
		return err
	}
	_, err = w.Write(body)
	return err
}

// readSnapshotHeader reads the header and leaves r at the first byte of the
// StateMachine's part.
func readSnapshotHeader(r io.Reader) (snapshotHeader, error) {
	var h snapshotHeader
	var prefix [12]byte
	if _, err := io.ReadFull(r, prefix[:]); err != nil {
		return h, fmt.Errorf("raftnode: read snapshot header: %w", err)
	}
	if [8]byte(prefix[:8]) != snapshotMagic {
		return h, fmt.Errorf("raftnode: not a raftnode snapshot (magic %q)", prefix[:8])
	}
	size := binary.BigEndian.Uint32(prefix[8:])
	if size > maxSnapshotHeaderBytes {
		return h, fmt.Errorf("raftnode: snapshot header of %d bytes exceeds %d", size, maxSnapshotHeaderBytes)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(r, body); err != nil {
		return h, fmt.Errorf("raftnode: read snapshot header: %w", err)
	}
	if err := json.Unmarshal(body, &h); err != nil {
		return h, fmt.Errorf("raftnode: decode snapshot header: %w", err)
	}
	if h.Version != snapshotVersion {
		return h, fmt.Errorf("raftnode: unsupported snapshot version %d", h.Version)
	}
	return h, nil
}

// restoreIfBehind runs at Open, before raft starts, and returns the index up
// to which the node's state is known to be complete.
//
// Why: raft is configured with NoSnapshotRestoreOnStart, because the
// StateMachine keeps its own durable state and applied index; restoring the
// latest snapshot on every start would throw that state away and rebuild it,
// which for a large bbolt state is slow and pointless. raft still starts from
// the snapshot, though: it only replays log entries after the snapshot's
// index, and entries at or below it may already be compacted away. So if the
// StateMachine is BEHIND the snapshot (its state was lost or rolled back, a
// crash hit between installing a leader's snapshot and applying it, or it keeps
// state only in memory), nothing would ever hand it the missing entries. In
// that case, and only then, we restore the snapshot into it here. The same
// holds for the node metadata in the stable store.
//
// "Behind" is decided with the indexes recorded in the snapshot header, which
// are more precise than the raft snapshot index: a snapshot at raft index X
// contains user entries up to SMIndex <= X, and no user entry lies between
// the two, so a StateMachine at SMIndex or beyond is not behind.
func (n *Node) restoreIfBehind(snaps raft.SnapshotStore) (uint64, error) {
	list, err := snaps.List()
	if err != nil {
		return 0, fmt.Errorf("raftnode: list snapshots: %w", err)
	}
	if len(list) == 0 {
		return 0, nil
	}
	// raft starts from the newest snapshot too (List is newest first).
	meta, rc, err := snaps.Open(list[0].ID)
	if err != nil {
		return 0, fmt.Errorf("raftnode: open snapshot %s: %w", list[0].ID, err)
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, snapshotBufferBytes)
	header, err := readSnapshotHeader(br)
	if err != nil {
		return 0, fmt.Errorf("snapshot %s: %w", meta.ID, err)
	}
	if n.metaIndex < header.MetaIndex {
		n.logger.Warn("raftnode: node metadata behind the snapshot, taking the snapshot's",
			"stored_index", n.metaIndex, "snapshot_meta_index", header.MetaIndex)
		if err := saveNodeMeta(n.store, nodeMetaState{Index: header.MetaIndex, Nodes: header.nodes(), Retired: header.Retired}); err != nil {
			return 0, fmt.Errorf("raftnode: save node metadata: %w", err)
		}
		n.nodes, n.retired, n.metaIndex = header.nodes(), header.Retired, header.MetaIndex
	}
	if smIndex := n.sm.AppliedIndex(); smIndex < header.SMIndex {
		n.logger.Warn("raftnode: state machine behind the latest snapshot, restoring it",
			"sm_applied_index", smIndex, "snapshot_index", meta.Index, "snapshot_sm_index", header.SMIndex)
		if err := n.sm.Restore(br); err != nil {
			return 0, fmt.Errorf("raftnode: restore snapshot %s into the state machine: %w", meta.ID, err)
		}
		if got := n.sm.AppliedIndex(); got != header.SMIndex {
			return 0, fmt.Errorf("raftnode: state machine reports applied index %d after restoring a snapshot taken at %d", got, header.SMIndex)
		}
	}
	return meta.Index, nil
}
