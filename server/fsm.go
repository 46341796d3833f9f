package server

import (
	"io"

	"github.com/cloudledger/cloudledger/ledger"
	"github.com/cloudledger/cloudledger/raftnode"
)

// fsm adapts the ledger to raftnode.StateMachine; neither package knows the other.
type fsm struct{ l *ledger.Ledger }

func (f fsm) ApplyBatch(entries []raftnode.Entry) []any {
	in := make([]ledger.Entry, len(entries))
	for i, e := range entries {
		in[i] = ledger.Entry{Index: e.Index, Data: e.Data}
	}
	return f.l.ApplyBatch(in)
}

func (f fsm) AppliedIndex() uint64 { return f.l.AppliedIndex() }

func (f fsm) Snapshot() (raftnode.Snapshot, error) {
	s, err := f.l.Snapshot()
	if err != nil {
		return nil, err // not a typed nil inside the interface
	}
	return s, nil
}

func (f fsm) Restore(r io.Reader) error { return f.l.Restore(r) }
