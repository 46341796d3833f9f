package raftnode

import "io"

// Entry is one committed command handed to the state machine.
type Entry struct {
	Index, Term uint64
	// Data is the command as given to Node.Apply. It may be retained but must
	// not be modified.
	Data []byte
}

// StateMachine is what a Node replicates. ApplyBatch must be deterministic
// and must not panic on bad data.
type StateMachine interface {
	// ApplyBatch applies committed entries in log order and returns one result
	// per entry, in order. It is called from one goroutine. The result for an
	// entry proposed on this node is what Node.Apply returns.
	ApplyBatch(entries []Entry) []any
	// AppliedIndex is the index of the last entry durably applied, persisted
	// by the state machine together with its state (0 when empty).
	AppliedIndex() uint64
	// Snapshot captures the current state. It is called on the apply
	// goroutine and must be quick (e.g. open a read transaction).
	Snapshot() (Snapshot, error)
	// Restore replaces all state with the snapshot's, including the applied
	// index.
	Restore(r io.Reader) error
}

// Snapshot is a point-in-time state captured by StateMachine.Snapshot.
// Persist runs concurrently with later ApplyBatch calls; Release is always
// called, whether or not Persist was.
type Snapshot interface {
	Persist(w io.Writer) error
	Release()
}
