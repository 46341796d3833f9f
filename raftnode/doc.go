// Package raftnode replicates any state machine with hashicorp/raft.
//
// It owns the Raft wiring of one node: the on-disk log and stable store
// (raft-boltdb/v2, fsync on), the file snapshot store (two retained), the TCP
// transport (a TLS stream layer can replace it in transport.go), bootstrap,
// joining and removing members, the node metadata that lets followers forward
// to the leader (node id -> HTTP URL), linearizable reads and waiting for an
// applied index.
//
// It must not know what the replicated commands mean: the ledger, HTTP
// handlers and protobuf live elsewhere and meet raftnode only through the
// StateMachine interface and opaque []byte commands. Callers never touch
// raft.Raft.
//
// Every log command raftnode writes starts with one envelope byte: 0x01 for a
// user entry (stripped before the StateMachine sees it), 0x02 for raftnode's
// own node-metadata entry. Unknown envelope bytes or malformed metadata produce
// an error result wrapping ErrBadEntry, never a panic. The StateMachine never
// sees metadata, configuration, no-op or barrier entries.
//
// Restarts do not re-apply entries: the StateMachine persists its applied
// index with its state, raft does not restore the snapshot on start
// (NoSnapshotRestoreOnStart), and replayed user entries at or below
// StateMachine.AppliedIndex are skipped. See restoreIfBehind for the one case
// where a snapshot is restored at Open.
package raftnode
