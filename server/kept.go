package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// KeptInterval is how often a node reads the line items written since its charges were
// last kept current (rating.Kept), so that a read of charges has little left to read — while
// charges were read within KeptWhileRead, or once KeptMaxBehind line items wait: a node only
// written to (an import, a follower no one reads from) defers the work, and its next read
// catches up at most that many (a few seconds). Measured: keeping up every second cost a
// 3-node cluster on 2 cores a fifth of its single writes and a third of its imports.
const (
	KeptInterval  = time.Second
	KeptWhileRead = time.Minute
	KeptMaxBehind = 1_000_000
)

// A node writes its kept charges to keptFile so that, restarted, it reads only the line
// items written since (rating.Kept.Save): at most every KeptSaveInterval, when at least
// keptSaveLineItems were read since the last copy, and when it stops.
const (
	KeptSaveInterval  = 10 * time.Minute
	keptSaveLineItems = 100_000
)

// keptFile is the kept charges' copy in a data directory: derived from the line items,
// never replicated; deleting it costs one read of the whole ledger at the next start.
func keptFile(dataDir string) string { return filepath.Join(dataDir, "kept-charges.bin") }

// keptTempPattern names a copy being written (renamed over keptFile once synced).
const keptTempPattern = ".kept-charges-*"

// keptLoop keeps the charges current: at start it takes the copy of the last run, if it is
// of this ledger's history, and reads what was written since (every line item without
// one; a read of charges meanwhile waits for it); then, while charges are read, what is
// written as it comes.
func (s *Server) keptLoop(ctx context.Context) {
	s.loadKept()
	warned := false
	var savedSeq uint64
	savedAt, tried := time.Now(), false
	catchUp := func(atStart bool) {
		if err := s.kept.Broken(); err != nil {
			if !warned {
				s.log.Error("charges are no longer kept current: reads rate from the whole ledger", "err", err)
				warned = true
			}
			return
		}
		head, seq := s.ledger.Head().Seq, s.kept.Seq()
		if seq == head || !atStart && time.Since(s.kept.LastRead()) > KeptWhileRead && head-seq < KeptMaxBehind {
			return
		}
		start := time.Now()
		from := s.kept.Seq()
		if err := s.kept.CatchUp(s.ledger); err != nil {
			s.log.Warn("keeping charges current", "err", err)
			return
		}
		if d := time.Since(start); d > time.Second {
			s.log.Info("charges kept current", "from_seq", from, "seq", s.kept.Seq(), "took", d.Round(time.Millisecond))
		}
		// The first read after a start without a copy is the long one: keep it at once.
		if seq := s.kept.Seq(); seq-savedSeq >= keptSaveLineItems && (!tried || time.Since(savedAt) >= KeptSaveInterval) {
			tried, savedAt = true, time.Now() // a failed copy (a full disk) is tried again after the interval
			if s.saveKept() == nil {
				savedSeq = seq
			}
		}
	}
	savedSeq = s.kept.Seq()
	catchUp(true)
	every(ctx, KeptInterval, func() { catchUp(false) })
	if s.kept.Seq() != savedSeq {
		s.saveKept()
	}
}

// loadKept takes the kept charges' copy, if there is one of this ledger's history.
func (s *Server) loadKept() {
	// Copies a crash cut short are of no use.
	if left, _ := filepath.Glob(filepath.Join(s.cfg.DataDir, keptTempPattern)); len(left) > 0 {
		for _, f := range left {
			os.Remove(f)
		}
	}
	path := keptFile(s.cfg.DataDir)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		s.log.Warn("kept charges' copy not read: charges are read from the ledger", "err", err)
		return
	}
	defer f.Close()
	start := time.Now()
	err = s.kept.Load(f, s.ledger.HashAt)
	if err != nil {
		s.log.Warn("kept charges' copy not used: charges are read from the ledger", "file", path, "err", err)
		return
	}
	s.log.Info("kept charges read from their copy", "seq", s.kept.Seq(), "head", s.ledger.Head().Seq, "took", time.Since(start).Round(time.Millisecond))
}

// saveKept writes the kept charges' copy: a new file, synced, then renamed over the old one.
func (s *Server) saveKept() error {
	start := time.Now()
	path := keptFile(s.cfg.DataDir)
	tmp, err := os.CreateTemp(s.cfg.DataDir, keptTempPattern)
	if err != nil {
		s.log.Warn("kept charges' copy not written", "err", err)
		return err
	}
	seq, err := s.kept.Save(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		s.log.Warn("kept charges' copy not written", "err", err)
		return fmt.Errorf("kept charges' copy: %w", err)
	}
	if d, err := os.Open(s.cfg.DataDir); err == nil {
		d.Sync() // the rename itself
		d.Close()
	}
	s.log.Info("kept charges' copy written", "seq", seq, "took", time.Since(start).Round(time.Millisecond))
	return nil
}
