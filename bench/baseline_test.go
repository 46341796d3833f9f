package bench

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// noopFSM is the baseline's state machine: it does nothing, so the baseline measures
// hashicorp/raft with raft-boltdb (fsync on) and the TCP transport alone.
type noopFSM struct{}

func (noopFSM) Apply(*raft.Log) any                 { return nil }
func (noopFSM) Snapshot() (raft.FSMSnapshot, error) { return noopSnapshot{}, nil }
func (noopFSM) Restore(r io.ReadCloser) error       { return r.Close() }

type noopSnapshot struct{}

func (noopSnapshot) Persist(s raft.SnapshotSink) error { return s.Close() }
func (noopSnapshot) Release()                          {}

type bareCluster struct {
	rafts  []*raft.Raft
	closer []func()
}

// startBare starts three raft nodes in this process on loopback TCP with on-disk stores and
// the same timeouts and batching as our nodes.
func startBare(tb testing.TB) *bareCluster {
	tb.Helper()
	dir := tb.TempDir()
	c := &bareCluster{}
	var servers []raft.Server
	var transports []*raft.NetworkTransport
	for i := 0; i < 3; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		tr, err := raft.NewTCPTransport(addr, nil, 8, 10*time.Second, io.Discard)
		if err != nil {
			tb.Fatal(err)
		}
		transports = append(transports, tr)
		servers = append(servers, raft.Server{ID: raft.ServerID(fmt.Sprintf("b%d", i)), Address: raft.ServerAddress(addr)})
	}
	for i := 0; i < 3; i++ {
		nd := filepath.Join(dir, fmt.Sprint(i))
		if err := os.MkdirAll(nd, 0o700); err != nil {
			tb.Fatal(err)
		}
		store, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(nd, "raft.db")})
		if err != nil {
			tb.Fatal(err)
		}
		snaps, err := raft.NewFileSnapshotStore(nd, 1, io.Discard)
		if err != nil {
			tb.Fatal(err)
		}
		cfg := raft.DefaultConfig()
		cfg.LocalID = servers[i].ID
		cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout, cfg.CommitTimeout = 300*time.Millisecond, 300*time.Millisecond, 200*time.Millisecond, 5*time.Millisecond
		cfg.MaxAppendEntries = 512
		cfg.BatchApplyCh = true
		cfg.SnapshotThreshold = 1 << 30
		cfg.Logger = hclog.New(&hclog.LoggerOptions{Level: hclog.Error, Output: io.Discard})
		r, err := raft.NewRaft(cfg, noopFSM{}, store, store, snaps, transports[i])
		if err != nil {
			tb.Fatal(err)
		}
		if i == 0 {
			if err := r.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
				tb.Fatal(err)
			}
		}
		c.rafts = append(c.rafts, r)
		c.closer = append(c.closer, func() { r.Shutdown().Error(); store.Close(); transports[i].Close() })
	}
	tb.Cleanup(func() {
		for _, f := range c.closer {
			f()
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c.leader() != nil {
			return c
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatal("bare raft: no leader")
	return nil
}

func (c *bareCluster) leader() *raft.Raft {
	for _, r := range c.rafts {
		if r.State() == raft.Leader {
			return r
		}
	}
	return nil
}
