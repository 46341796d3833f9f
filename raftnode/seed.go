package raftnode

import (
	"bufio"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/cloudledger/cloudledger/internal/durable"
)

// A new cluster can start from a state machine that already holds state: a state restored
// from a backup (Config.Seed) or a disaster-recovery replica promoted when its main site is
// lost (Promote). Its log then continues after the state's applied index, so that indexes
// named by reads and exports before are never named again for other state.

// raft's stable-store key of the current term (raft.keyCurrentTerm, unexported).
var keyCurrentTerm = []byte("CurrentTerm")

// seedCluster writes, into an empty raft directory, a snapshot of sm at its applied index N
// whose configuration is this node alone, as voter; raft then starts from it and appends at
// N+1. retired are ids that may never be members of the new cluster.
func seedCluster(dir string, store *raftboltdb.BoltStore, sm StateMachine, id, raftAddr, httpURL string, retired map[string]bool, logger hclog.Logger) error {
	index := sm.AppliedIndex()
	if index == 0 {
		return errors.New("raftnode: seeding a cluster needs a state machine that holds state")
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, snapshotsRetained, logger.Named("snapshot"))
	if err != nil {
		return fmt.Errorf("raftnode: snapshot store: %w", err)
	}
	// The file store encodes a legacy peer list through a transport; an in-memory one
	// encodes an address as itself, as the TCP transport does.
	_, trans := raft.NewInmemTransport(raft.ServerAddress(raftAddr))
	defer trans.Close()
	conf := raft.Configuration{Servers: []raft.Server{{Suffrage: raft.Voter, ID: raft.ServerID(id), Address: raft.ServerAddress(raftAddr)}}}
	const term = 1
	meta := nodeMetaState{Index: index, Nodes: map[string]string{id: httpURL}, Retired: maps.Clone(retired)}
	user, err := sm.Snapshot()
	if err != nil {
		return fmt.Errorf("raftnode: state machine snapshot: %w", err)
	}
	defer user.Release()
	sink, err := snaps.Create(raft.SnapshotVersionMax, index, term, conf, index, trans)
	if err != nil {
		return fmt.Errorf("raftnode: create snapshot: %w", err)
	}
	bw := bufio.NewWriterSize(sink, snapshotBufferBytes)
	err = writeSnapshotHeader(bw, snapshotHeader{Version: snapshotVersion, AppliedIndex: index, AppliedTerm: term,
		SMIndex: index, MetaIndex: index, Nodes: meta.Nodes, Retired: meta.Retired})
	if err == nil {
		err = user.Persist(bw)
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("raftnode: write the seed snapshot: %w", err)
	}
	if err := sink.Close(); err != nil {
		return fmt.Errorf("raftnode: write the seed snapshot: %w", err)
	}
	if err := store.SetUint64(keyCurrentTerm, term); err != nil {
		return err
	}
	return saveNodeMeta(store, meta)
}

// PromoteReport says what a promotion did.
type PromoteReport struct {
	// AppliedBefore is the index the state machine had applied when promotion began;
	// Applied the index the new cluster starts after (entries of the replica's log it
	// held but had not yet applied are applied first).
	AppliedBefore, Applied uint64
	// Retired are the former members' ids, never members of the new cluster.
	Retired []string
	// OldRaftDir is where the former cluster's Raft state was moved, kept for the record.
	OldRaftDir string
}

// Promote turns the data directory of a member — meant for a disaster-recovery replica
// (a non-voter) whose main site is lost — into a new cluster of this node alone, without
// asking any other member (there is no quorum to ask; hashicorp/raft's documented
// recovery, done here by a seed snapshot). Every entry of its log is applied first (what
// the replica received is kept, as raft.RecoverCluster keeps it); every former member is
// retired, so none can rejoin (their certificates fail the member check). The node must not
// be running; Open then starts the new cluster.
func Promote(cfg Config, sm StateMachine, now time.Time) (PromoteReport, error) {
	var rep PromoteReport
	if cfg.Logger == nil {
		cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: os.Stderr})
	}
	dir := filepath.Join(cfg.DataDir, "raft")
	if done, _ := filepath.Glob(filepath.Join(cfg.DataDir, "raft.before-promotion-*")); len(done) > 0 {
		// Promoting again would retire the members the promoted cluster has admitted since
		// and split this node off once more: --promote is a one-time act.
		return rep, fmt.Errorf("raftnode: promote: %s was promoted already (%s): start it without --promote", cfg.DataDir, filepath.Base(done[0]))
	}
	if _, err := os.Stat(filepath.Join(dir, "raft.db")); err != nil {
		return rep, fmt.Errorf("raftnode: promote: %s holds no Raft state: only a member's data directory can be promoted", dir)
	}
	store, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "raft.db"), BoltOptions: &bolt.Options{Timeout: boltOpenTimeout}})
	if err != nil {
		return rep, fmt.Errorf("raftnode: promote: open raft.db (is the node still running?): %w", err)
	}
	n := &Node{cfg: cfg, sm: sm, logger: cfg.Logger, store: store, logs: store,
		changed: make(chan struct{}), closing: make(chan struct{}), failed: make(chan struct{})}
	meta, err := loadNodeMeta(store)
	if err != nil {
		store.Close()
		return rep, err
	}
	n.nodes, n.retired, n.metaIndex = meta.Nodes, meta.Retired, meta.Index
	rep.AppliedBefore = sm.AppliedIndex()
	if err := n.applyLocalLog(); err != nil {
		store.Close()
		return rep, err
	}
	rep.Applied = sm.AppliedIndex()
	retired := maps.Clone(n.retired)
	if retired == nil {
		retired = map[string]bool{}
	}
	for id := range n.nodes {
		if id != cfg.NodeID {
			retired[id] = true
			rep.Retired = append(rep.Retired, id)
		}
	}
	if err := store.Close(); err != nil {
		return rep, err
	}
	// The new cluster's Raft state is built beside the old one (the seed snapshot flushes the
	// state machine first), then swapped in: a crash before the swap leaves the member as it
	// was, after it the new cluster; between the two renames a start finds no Raft state and
	// refuses (the operator renames raft.promoting to raft).
	advertise := cfg.RaftAdvertise
	if advertise == "" {
		advertise = cfg.RaftBind
	}
	building := filepath.Join(cfg.DataDir, "raft.promoting")
	if err := os.RemoveAll(building); err != nil {
		return rep, err
	}
	if err := os.MkdirAll(building, 0o700); err != nil {
		return rep, err
	}
	fresh, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(building, "raft.db"), BoltOptions: &bolt.Options{Timeout: boltOpenTimeout}})
	if err != nil {
		return rep, err
	}
	err = seedCluster(building, fresh, sm, cfg.NodeID, advertise, cfg.HTTPURL, retired, cfg.Logger)
	if err = errors.Join(err, fresh.Close()); err != nil {
		return rep, err
	}
	rep.OldRaftDir = filepath.Join(cfg.DataDir, fmt.Sprintf("raft.before-promotion-%s", now.UTC().Format("20060102T150405Z")))
	if err := os.Rename(dir, rep.OldRaftDir); err != nil {
		return rep, fmt.Errorf("raftnode: promote: %w", err)
	}
	if err := os.Rename(building, dir); err != nil {
		return rep, fmt.Errorf("raftnode: promote: %w", err)
	}
	return rep, durable.SyncDir(cfg.DataDir)
}

// applyLocalLog applies every entry of the local log after what the state machine and the
// node metadata have applied, in batches, as raft would.
func (n *Node) applyLocalLog() error {
	last, err := n.store.LastIndex()
	if err != nil {
		return err
	}
	first, err := n.store.FirstIndex()
	if err != nil {
		return err
	}
	from := max(min(n.sm.AppliedIndex(), n.metaIndex), first-1) + 1
	if first == 0 {
		return nil
	}
	f := &fsm{n: n}
	var batch []*raft.Log
	for i := from; i <= last; i++ {
		l := new(raft.Log)
		if err := n.store.GetLog(i, l); err != nil {
			return fmt.Errorf("raftnode: promote: read log entry %d: %w", i, err)
		}
		if batch = append(batch, l); len(batch) == defaultMaxAppendEntries || i == last {
			f.ApplyBatch(batch)
			batch = batch[:0]
		}
	}
	return nil
}
