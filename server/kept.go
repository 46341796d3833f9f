package server

import (
	"context"
	"time"
)

// KeptInterval is how often a node reads the line items written since its charges were
// last kept current (rating.Kept), so that a read of charges has little left to read.
const KeptInterval = time.Second

// keptLoop keeps the charges current: at start it reads every line item (a read of charges
// meanwhile waits for it), then what was written since.
func (s *Server) keptLoop(ctx context.Context) {
	warned := false
	catchUp := func() {
		if err := s.kept.Broken(); err != nil {
			if !warned {
				s.log.Error("charges are no longer kept current: reads rate from the whole ledger", "err", err)
				warned = true
			}
			return
		}
		if s.kept.Seq() == s.ledger.Head().Seq {
			return
		}
		start := time.Now()
		if err := s.kept.CatchUp(s.ledger); err != nil {
			s.log.Warn("keeping charges current", "err", err)
			return
		}
		if d := time.Since(start); d > time.Second {
			s.log.Info("charges kept current", "seq", s.kept.Seq(), "took", d.Round(time.Millisecond))
		}
	}
	catchUp()
	every(ctx, KeptInterval, catchUp)
}
