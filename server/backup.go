package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cloudledger/cloudledger/errcode"
	"github.com/cloudledger/cloudledger/internal/durable"
	"github.com/cloudledger/cloudledger/internal/pki"
	"github.com/cloudledger/cloudledger/ledger"
	"github.com/cloudledger/cloudledger/raftnode"
)

// Backups (SPEC: Backup and disaster recovery). GET /v1/backup streams this node's state as
// of its last applied entry (backupfile's format); --restore starts a new cluster from one;
// --promote turns a disaster-recovery replica into a new cluster.

// Limits of the backup stream: a node serves one at a time (a backup holds a read
// transaction, and a second one only doubles the disk reads); a reader that takes no bytes
// for BackupStallTimeout is cut off, and so is a backup still streaming after
// MaxBackupDuration, so that nobody can hold the transaction open (and the state file's
// growth waiting) by reading slowly. (Two million line items stream in about 4 s.)
const (
	MaxConcurrentBackups = 1
	BackupStallTimeout   = 30 * time.Second
	MaxBackupDuration    = 30 * time.Minute
)

// takeBackupSlot reserves one of the node's MaxConcurrentBackups (served and scheduled
// alike); release gives it back.
func (s *Server) takeBackupSlot() (release func(), ok bool) {
	if s.backupsRunning.Add(1) > MaxConcurrentBackups {
		s.backupsRunning.Add(-1)
		return nil, false
	}
	return func() { s.backupsRunning.Add(-1) }, true
}

func (s *Server) backupHandler(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet { // HEAD matches the GET route: it would read the whole state for nothing
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	release, ok := s.takeBackupSlot()
	if !ok {
		writeErr(w, r, errcode.Errf(errcode.Unavailable, "", "a backup is being taken on this node already (at most %d at a time); retry when it ends", MaxConcurrentBackups))
		return
	}
	defer release()
	start := time.Now()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="cloudledger-%s-%s.backup"`, s.cfg.NodeID, s.cfg.Now().Format("20060102-150405")))
	sw := &stallWriter{rc: http.NewResponseController(w), w: w, until: start.Add(MaxBackupDuration)}
	if err := sw.rc.SetWriteDeadline(time.Now().Add(BackupStallTimeout)); err != nil {
		// Without a deadline a stalled reader would hold the read transaction for ever.
		writeErr(w, r, errcode.Errf(errcode.Internal, "", "the connection takes no write deadline: %v", err))
		return
	}
	h, err := s.ledger.Backup(sw, s.cfg.NodeID, s.cfg.Now())
	if err != nil {
		// The status is sent; the reader finds no end frame and refuses the file.
		s.log.Error("backup failed", "err", err, "bytes", sw.n)
		s.metrics.backupFailures.Inc()
		return
	}
	s.metrics.backupDone(sw.n, time.Since(start))
	s.log.Info("backup served", "raft_index", h.RaftIndex, "line_items", h.LineItems, "bytes", sw.n, "seconds", time.Since(start).Seconds())
}

// stallWriter gives each write BackupStallTimeout to complete, and the whole stream until
// until.
type stallWriter struct {
	rc    *http.ResponseController
	w     http.ResponseWriter
	n     int64
	until time.Time
}

func (s *stallWriter) Write(p []byte) (int, error) {
	if time.Now().After(s.until) {
		return 0, fmt.Errorf("the backup streamed for longer than %s: cut off", MaxBackupDuration)
	}
	deadline := time.Now().Add(BackupStallTimeout)
	if deadline.After(s.until) {
		deadline = s.until
	}
	if err := s.rc.SetWriteDeadline(deadline); err != nil {
		return 0, err
	}
	n, err := s.w.Write(p)
	s.n += int64(n)
	return n, err
}

// restoreBackup builds the state of a new cluster in cfg.DataDir from the backup file,
// before the node starts (Config.Restore). The data directory must be new.
func (s *Server) restoreBackup(token string) error {
	if s.cfg.Join != "" {
		return errors.New("--restore starts a new cluster: it takes no --join")
	}
	f, err := os.Open(s.cfg.Restore)
	if err != nil {
		return fmt.Errorf("--restore: %w", err)
	}
	defer f.Close()
	sum, err := ledger.RestoreBackup(stateFile(s.cfg.DataDir), f, tokenHash(token), s.cfg.RestoreExpectHead)
	if err != nil {
		return fmt.Errorf("--restore %s: %w", s.cfg.Restore, err)
	}
	h := sum.Header
	s.log.Info("state restored from a backup: a new cluster starts after its index", "file", s.cfg.Restore,
		"raft_index", h.RaftIndex, "line_items", h.LineItems, "head", h.Head, "trail_records", h.TrailRecords, "taken_at", h.CreatedAt)
	return nil
}

// Promote turns this data directory — a disaster-recovery replica's — into a new cluster
// of this node alone, before the node starts (ledgerd --promote; raftnode.Promote). The
// node must not be running.
func Promote(cfg Config) (raftnode.PromoteReport, error) {
	l, err := ledger.Open(stateFile(cfg.DataDir))
	if err != nil {
		return raftnode.PromoteReport{}, err
	}
	httpURL := cfg.HTTPAdvertise
	if httpURL == "" {
		scheme := "http://"
		if cfg.TLSCert != "" {
			scheme = "https://"
		}
		httpURL = scheme + cfg.HTTPAddr
	}
	rep, err := raftnode.Promote(raftnode.Config{NodeID: cfg.NodeID, DataDir: cfg.DataDir, RaftBind: cfg.RaftAddr,
		RaftAdvertise: cfg.RaftAdvertise, HTTPURL: httpURL}, fsm{l: l, log: cfg.Logger, m: nil}, time.Now())
	if err == nil {
		// The members named at this node's admission were the lost site's: its stream layer
		// must not fall back on them while the new configuration loads.
		files := pki.Files{Dir: filepath.Join(cfg.DataDir, raftPKIDir)}
		if _, serr := os.Stat(files.Members()); serr == nil {
			err = writeFileSynced(files.Members(), []byte(cfg.NodeID+"\n"))
		}
	}
	return rep, errors.Join(err, l.Close())
}

// Scheduled backups: file names sort by time, so the oldest go first.
const (
	backupFilePrefix = "cloudledger-"
	backupFileSuffix = ".backup"
)

// backupLoop writes a backup into cfg.BackupDir every cfg.BackupInterval and keeps the
// newest cfg.BackupKeep. Every node with --backup-dir takes its own (a follower's serves as
// well as the leader's: the state is the same as of its index).
func (s *Server) backupLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.BackupInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.scheduledBackup(); err != nil {
			s.metrics.backupFailures.Inc()
			s.log.Error("scheduled backup failed", "dir", s.cfg.BackupDir, "err", err)
		}
	}
}

func (s *Server) scheduledBackup() error {
	release, ok := s.takeBackupSlot()
	if !ok {
		return errors.New("another backup is running on this node")
	}
	defer release()
	if err := os.MkdirAll(s.cfg.BackupDir, 0o700); err != nil {
		return err
	}
	// A crash mid-backup leaves a partial file: only ours, never renamed, never restorable.
	stale, _ := filepath.Glob(filepath.Join(s.cfg.BackupDir, ".partial-*"))
	for _, p := range stale {
		_ = os.Remove(p)
	}
	start := time.Now()
	name := fmt.Sprintf("%s%s-%s%s", backupFilePrefix, s.cfg.Now().UTC().Format("20060102T150405.000Z"), s.cfg.NodeID, backupFileSuffix)
	f, err := os.CreateTemp(s.cfg.BackupDir, ".partial-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	h, err := s.ledger.Backup(f, s.cfg.NodeID, s.cfg.Now())
	if err == nil {
		err = f.Sync()
	}
	size, _ := f.Seek(0, 2)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(f.Name(), filepath.Join(s.cfg.BackupDir, name)); err != nil {
		return err
	}
	if err := durable.SyncDir(s.cfg.BackupDir); err != nil { // the rename itself durable
		return err
	}
	s.metrics.backupDone(size, time.Since(start))
	s.log.Info("scheduled backup written", "file", name, "raft_index", h.RaftIndex, "line_items", h.LineItems, "bytes", size)
	return s.pruneBackups()
}

// pruneBackups removes all but the newest BackupKeep scheduled backups of the directory.
func (s *Server) pruneBackups() error {
	entries, err := os.ReadDir(s.cfg.BackupDir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, backupFilePrefix) && strings.HasSuffix(n, backupFileSuffix) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for len(names) > max(s.cfg.BackupKeep, 1) {
		if err := os.Remove(filepath.Join(s.cfg.BackupDir, names[0])); err != nil {
			return err
		}
		names = names[1:]
	}
	return nil
}
