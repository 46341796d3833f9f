package server

import (
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/cloudledger/cloudledger/ledger"
	"github.com/cloudledger/cloudledger/raftnode"
)

// fsm adapts the ledger to raftnode.StateMachine; neither package knows the other.
type fsm struct {
	l   *ledger.Ledger
	log *slog.Logger
	m   *nodeMetrics
}

// ApplyBatch applies committed entries. A violated invariant of the ledger's own state is a
// bug: the node logs it by name and stops (exit status 70) rather than serve or replicate a
// state it cannot trust; the entries are applied again after a restart.
func (f fsm) ApplyBatch(entries []raftnode.Entry) []any {
	defer func() {
		if p := recover(); p != nil {
			if ie, ok := p.(*ledger.InvariantError); ok {
				f.log.Error("ledger invariant violated: stopping", "invariant", ie.Name, "detail", ie.Detail)
				os.Exit(ExitInvariant)
			}
			panic(p)
		}
	}()
	in := make([]ledger.Entry, len(entries))
	for i, e := range entries {
		in[i] = ledger.Entry{Index: e.Index, Data: e.Data}
	}
	start, before := time.Now(), f.l.Head().Seq
	out := f.l.ApplyBatch(in)
	if f.m != nil { // nil while a replica is promoted, before the node serves
		f.m.applySeconds.Observe(time.Since(start).Seconds())
		f.m.lineItems.Add(float64(f.l.Head().Seq - before))
	}
	return out
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

// ExitInvariant is ledgerd's exit status after a violated invariant (EX_SOFTWARE).
const ExitInvariant = 70
