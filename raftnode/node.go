package raftnode

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	bolt "go.etcd.io/bbolt"
)

// Defaults and fixed settings.
const (
	defaultMaxAppendEntries = 512 // also the apply queue length: group commit
	snapshotsRetained       = 2
	boltOpenTimeout         = time.Second // a second process on the same DataDir fails instead of hanging
	pollInterval            = 10 * time.Millisecond
	leadershipRetryMax      = time.Second
)

// Config configures a Node. Zero durations and counts mean raft's defaults
// unless noted.
type Config struct {
	NodeID        string // raft ServerID
	DataDir       string // raftnode owns DataDir/raft/ (raft.db, snapshots/)
	RaftBind      string // host:port the TCP transport listens on
	RaftAdvertise string // optional; defaults to RaftBind
	// HTTPURL is this node's API base URL (e.g. http://127.0.0.1:8080),
	// replicated so that followers can forward to the leader.
	HTTPURL string
	// Bootstrap bootstraps a single-node cluster if DataDir holds no raft
	// state (ignored when state exists).
	Bootstrap bool
	// Seed, with Bootstrap, starts the new cluster from a state machine that already holds
	// state (a restored backup): its log continues after the state's applied index
	// (seed.go). Without it such a state machine and an empty raft directory are refused.
	Seed bool

	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	TrailingLogs      uint64

	HeartbeatTimeout, ElectionTimeout, LeaderLeaseTimeout, CommitTimeout time.Duration

	MaxAppendEntries int          // zero = 512
	Logger           hclog.Logger // nil = hclog at level warn to stderr

	// TLS secures the transport with mutual TLS and member checks (tls.go); nil is plain TCP.
	TLS *TLS
}

// Node is one member of a raft cluster replicating a StateMachine.
type Node struct {
	cfg       Config
	sm        StateMachine
	logger    hclog.Logger
	store     *raftboltdb.BoltStore
	logs      raft.LogStore // store behind a cache
	transport *raft.NetworkTransport
	stream    *tlsStream // nil without TLS
	raft      *raft.Raft

	mu           sync.Mutex
	changed      chan struct{} // closed and replaced whenever a field below changes
	appliedIndex uint64        // every log entry <= appliedIndex is reflected in sm and nodes
	readyTerm    uint64        // term whose leadership barrier has been applied
	nodes        map[string]string
	retired      map[string]bool // ids of removed members
	metaIndex    uint64

	closing  chan struct{}
	failed   chan struct{} // closed when an invariant is violated (guard.go)
	failOnce sync.Once
	failErr  error
	// openedAt is the state machine's applied index when the node opened: until raft's
	// replay passes it, appliedIndex (the snapshot's) understates what is applied.
	openedAt uint64
	// appliedTerm is the term of the entry at appliedIndex, 0 when unknown (a barrier, or a
	// snapshot from before terms were recorded): the guard tells an applied entry from a
	// stale one at the same index by it.
	appliedTerm  uint64
	openedTerm   uint64 // the term of the local entry at openedAt, 0 when unknown
	wg           sync.WaitGroup
	shutdownOnce sync.Once
	shutdownErr  error
}

// Open opens (or creates) the raft state under cfg.DataDir/raft, starts raft
// and, with cfg.Bootstrap on an empty DataDir, bootstraps a one-node cluster.
func Open(cfg Config, sm StateMachine) (*Node, error) {
	if sm == nil {
		return nil, errors.New("raftnode: nil StateMachine")
	}
	if cfg.NodeID == "" || len(cfg.NodeID) > maxNodeIDBytes {
		return nil, fmt.Errorf("raftnode: NodeID must be 1..%d bytes", maxNodeIDBytes)
	}
	if len(cfg.HTTPURL) > maxHTTPURLBytes {
		return nil, fmt.Errorf("raftnode: HTTPURL longer than %d bytes", maxHTTPURLBytes)
	}
	if cfg.DataDir == "" || cfg.RaftBind == "" {
		return nil, errors.New("raftnode: DataDir and RaftBind are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: os.Stderr})
	}
	if cfg.MaxAppendEntries == 0 {
		cfg.MaxAppendEntries = defaultMaxAppendEntries
	}
	rc, err := raftConfig(cfg)
	if err != nil {
		return nil, err
	}

	dir := filepath.Join(cfg.DataDir, "raft")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("raftnode: %w", err)
	}
	n := &Node{
		cfg:     cfg,
		sm:      sm,
		logger:  cfg.Logger,
		changed: make(chan struct{}),
		closing: make(chan struct{}),
		failed:  make(chan struct{}),
	}
	ok := false
	defer func() {
		if ok {
			return
		}
		if n.transport != nil {
			_ = n.transport.Close()
		}
		if n.store != nil {
			_ = n.store.Close()
		}
	}()

	n.store, err = raftboltdb.New(raftboltdb.Options{
		Path:        filepath.Join(dir, "raft.db"),
		BoltOptions: &bolt.Options{Timeout: boltOpenTimeout},
		NoSync:      false, // fsync every log append and stable-store write
	})
	if err != nil {
		return nil, fmt.Errorf("raftnode: open raft.db: %w", err)
	}
	cache, err := raft.NewLogCache(cfg.MaxAppendEntries, n.store)
	if err != nil {
		return nil, fmt.Errorf("raftnode: %w", err)
	}
	n.logs = &guardedLogStore{LogStore: cache, n: n}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, snapshotsRetained, cfg.Logger.Named("snapshot"))
	if err != nil {
		return nil, fmt.Errorf("raftnode: snapshot store: %w", err)
	}
	existing, err := raft.HasExistingState(n.logs, n.store, snaps)
	if err != nil {
		return nil, fmt.Errorf("raftnode: %w", err)
	}
	if !existing && sm.AppliedIndex() > 0 && cfg.Bootstrap && cfg.Seed {
		advertise := cfg.RaftAdvertise
		if advertise == "" {
			advertise = cfg.RaftBind
		}
		if err := seedCluster(dir, n.store, sm, cfg.NodeID, advertise, cfg.HTTPURL, nil, cfg.Logger); err != nil {
			return nil, err
		}
		existing = true
	}
	if !existing && sm.AppliedIndex() > 0 {
		// The state machine has applied entries of a log we no longer have:
		// joining or bootstrapping now would skip the new log's first entries.
		return nil, fmt.Errorf("raftnode: state machine has applied index %d but %s holds no raft state", sm.AppliedIndex(), dir)
	}

	meta, err := loadNodeMeta(n.store)
	if err != nil {
		return nil, err
	}
	n.nodes, n.retired, n.metaIndex = meta.Nodes, meta.Retired, meta.Index
	if n.appliedIndex, err = n.restoreIfBehind(snaps); err != nil {
		return nil, err
	}
	n.openedAt = max(sm.AppliedIndex(), n.metaIndex)
	n.openedTerm = n.termAt(n.openedAt)

	n.transport, n.stream, err = newTransport(cfg, cfg.Logger)
	if err != nil {
		return nil, err
	}
	n.raft, err = raft.NewRaft(rc, &fsm{n: n}, n.logs, n.store, snaps, n.transport)
	if err != nil {
		return nil, fmt.Errorf("raftnode: start raft: %w", err)
	}
	if cfg.Bootstrap && !existing {
		boot := raft.Configuration{Servers: []raft.Server{{
			Suffrage: raft.Voter, ID: raft.ServerID(cfg.NodeID), Address: n.transport.LocalAddr(),
		}}}
		if err := n.raft.BootstrapCluster(boot).Error(); err != nil {
			_ = n.raft.Shutdown().Error()
			return nil, fmt.Errorf("raftnode: bootstrap: %w", err)
		}
	}
	n.wg.Add(1)
	go n.watchLeadership()
	if n.stream != nil {
		n.refreshMembers()
		n.wg.Add(1)
		go n.watchMembers()
	}
	ok = true
	return n, nil
}

func raftConfig(cfg Config) (*raft.Config, error) {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.NodeID)
	rc.Logger = cfg.Logger
	rc.MaxAppendEntries = cfg.MaxAppendEntries
	rc.BatchApplyCh = true
	// The StateMachine persists its own state and applied index; see
	// restoreIfBehind for why raft must not restore snapshots on start.
	rc.NoSnapshotRestoreOnStart = true
	setIfNonZero(&rc.SnapshotThreshold, cfg.SnapshotThreshold)
	setIfNonZero(&rc.SnapshotInterval, cfg.SnapshotInterval)
	setIfNonZero(&rc.TrailingLogs, cfg.TrailingLogs)
	setIfNonZero(&rc.HeartbeatTimeout, cfg.HeartbeatTimeout)
	setIfNonZero(&rc.ElectionTimeout, cfg.ElectionTimeout)
	setIfNonZero(&rc.LeaderLeaseTimeout, cfg.LeaderLeaseTimeout)
	setIfNonZero(&rc.CommitTimeout, cfg.CommitTimeout)
	if rc.LeaderLeaseTimeout > rc.HeartbeatTimeout && cfg.LeaderLeaseTimeout == 0 {
		rc.LeaderLeaseTimeout = rc.HeartbeatTimeout // a low HeartbeatTimeout alone stays valid
	}
	if err := raft.ValidateConfig(rc); err != nil {
		return nil, fmt.Errorf("raftnode: %w", err)
	}
	return rc, nil
}

func setIfNonZero[T comparable](dst *T, v T) {
	var zero T
	if v != zero {
		*dst = v
	}
}

// Shutdown stops raft, closes the transport and the stores. It is idempotent.
func (n *Node) Shutdown() error {
	n.shutdownOnce.Do(func() {
		close(n.closing)
		err := n.raft.Shutdown().Error()
		// raft closes the transport only on its first shutdown; it may have
		// shut itself down earlier (ShutdownOnRemove). Close is idempotent.
		_ = n.transport.Close()
		n.wg.Wait()
		n.shutdownErr = errors.Join(err, n.store.Close())
	})
	return n.shutdownErr
}

// Apply replicates data as one log entry and returns the StateMachine's
// result for it (an error result is returned as the result, not as err).
// Leader only: elsewhere it returns a *NotLeaderError. If the entry was
// submitted but its fate is unknown, the error wraps ErrUnknownOutcome.
// A context without a deadline does not bound the hand-off to raft's queue
// (which fails anyway when leadership or the node goes), only the wait after.
func (n *Node) Apply(ctx context.Context, data []byte) (any, error) {
	cmd := make([]byte, 1+len(data))
	cmd[0] = envelopeUser
	copy(cmd[1:], data)
	return n.applyCommand(ctx, cmd)
}

func (n *Node) applyCommand(ctx context.Context, cmd []byte) (any, error) {
	if err := n.precheck(ctx); err != nil {
		return nil, err
	}
	f := n.raft.Apply(cmd, enqueueTimeout(ctx))
	if err := n.await(ctx, f); err != nil {
		return nil, err
	}
	return f.Response(), nil
}

// precheck rejects an operation before anything is submitted.
func (n *Node) precheck(ctx context.Context) error {
	select {
	case <-n.closing:
		return ErrShutdown
	default:
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if !n.IsLeader() {
		return n.notLeader()
	}
	return nil
}

// await waits for a submitted future and maps raft's errors to ours.
func (n *Node) await(ctx context.Context, f raft.Future) error {
	// f.Error can block forever if raft shuts down with f still queued, so
	// wait in a goroutine and also watch the context and our own shutdown.
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return n.mapRaftError(err)
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrUnknownOutcome, ctx.Err())
	case <-n.closing:
		return fmt.Errorf("%w: %w", ErrUnknownOutcome, ErrShutdown)
	}
}

func (n *Node) mapRaftError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return n.notLeader() // rejected before it was appended
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return fmt.Errorf("raftnode: not submitted: %w: %w", err, context.DeadlineExceeded)
	case errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, raft.ErrAbortedByRestore):
		return fmt.Errorf("%w: %w", ErrUnknownOutcome, err)
	case errors.Is(err, raft.ErrRaftShutdown):
		return fmt.Errorf("%w: %w", ErrUnknownOutcome, ErrShutdown)
	default:
		return fmt.Errorf("raftnode: %w", err)
	}
}

// enqueueTimeout bounds how long raft may block handing a command to the
// leader loop: the context's deadline, or none.
func enqueueTimeout(ctx context.Context) time.Duration {
	deadline, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	return max(time.Until(deadline), time.Millisecond)
}

func (n *Node) notLeader() error {
	id, addr, url := n.Leader()
	return &NotLeaderError{LeaderID: id, LeaderRaftAddr: addr, LeaderHTTPURL: url}
}

// IsLeader reports whether this node is the leader right now.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// Leader returns the leader's id, raft address and HTTP URL as this node
// knows them; each is empty when unknown.
func (n *Node) Leader() (id, raftAddr, httpURL string) {
	addr, sid := n.raft.LeaderWithID()
	if sid == "" {
		return "", "", ""
	}
	url, _ := n.nodeURL(string(sid))
	return string(sid), string(addr), url
}

// NodeID returns this node's raft server id.
func (n *Node) NodeID() string { return n.cfg.NodeID }

// AppliedIndex returns the index up to which every log entry is reflected in
// the StateMachine and node metadata. It is at least the StateMachine's own
// AppliedIndex and also covers entries the StateMachine never sees.
func (n *Node) AppliedIndex() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.appliedIndex
}

// CommitIndex returns raft's commit index on this node.
func (n *Node) CommitIndex() uint64 { return n.raft.CommitIndex() }

// SinceLeaderContact is how long ago this node last heard from the leader (0 on the leader;
// -1 when it never has): a replica's lag in time.
func (n *Node) SinceLeaderContact() time.Duration {
	if n.IsLeader() {
		return 0
	}
	at := n.raft.LastContact()
	if at.IsZero() {
		return -1
	}
	return time.Since(at)
}

// Stats returns raft.Stats plus raftnode's own indexes.
func (n *Node) Stats() map[string]string {
	s := n.raft.Stats()
	s["node_id"] = n.cfg.NodeID
	s["raftnode_applied_index"] = strconv.FormatUint(n.AppliedIndex(), 10)
	s["sm_applied_index"] = strconv.FormatUint(n.sm.AppliedIndex(), 10)
	return s
}

// Snapshot forces a snapshot now (and log compaction down to TrailingLogs).
func (n *Node) Snapshot() error {
	if err := n.raft.Snapshot().Error(); err != nil {
		return fmt.Errorf("raftnode: snapshot: %w", err)
	}
	return nil
}

// advanceApplied is called on the apply goroutine after a batch, with the index and term
// of its last entry.
func (n *Node) advanceApplied(index, term uint64) {
	n.mu.Lock()
	if index > n.appliedIndex {
		n.appliedIndex, n.appliedTerm = index, term
		n.broadcastLocked()
	}
	n.mu.Unlock()
}

// appliedTermNow is the term of the entry at the applied index, or 0 when unknown.
func (n *Node) appliedTermNow() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.appliedTerm
}

func (n *Node) broadcastLocked() {
	close(n.changed)
	n.changed = make(chan struct{})
}

// watchMembers keeps the TLS stream layer's view of the members current, so a removed
// node's connections close and its certificate stops working.
func (n *Node) watchMembers() {
	defer n.wg.Done()
	t := time.NewTicker(membershipPoll)
	defer t.Stop()
	for {
		select {
		case <-n.closing:
			return
		case <-t.C:
			n.refreshMembers()
		}
	}
}

func (n *Node) refreshMembers() {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return
	}
	m := map[string]string{}
	for _, s := range f.Configuration().Servers {
		m[string(s.ID)] = string(s.Address)
	}
	n.stream.setMembers(m)
}

// Ready reports why this node should not take traffic, or nil: a leader must be known, a
// follower must have heard from it within maxContact, and the node must have applied what
// it knows to be committed, within maxLag entries (the load balancer's /readyz).
func (n *Node) Ready(maxLag uint64, maxContact time.Duration) error {
	if id, _, _ := n.Leader(); id == "" {
		return errors.New("no leader known")
	}
	if !n.IsLeader() {
		if last := n.raft.LastContact(); last.IsZero() || time.Since(last) > maxContact {
			return fmt.Errorf("no contact with the leader for %s", time.Since(last).Round(time.Millisecond))
		}
	}
	if applied, commit := n.AppliedIndex(), n.CommitIndex(); commit > applied+maxLag {
		return fmt.Errorf("applied %d of %d committed entries", applied, commit)
	}
	return nil
}
