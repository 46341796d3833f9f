package raftnode

import (
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

const (
	transportMaxPool = 3
	transportTimeout = 10 * time.Second
)

// newTransport builds the raft network transport: plain TCP for now. To add
// TLS, implement raft.StreamLayer over crypto/tls (Accept/Close/Addr from a
// tls listener, Dial with tls.Dialer) and return
// raft.NewNetworkTransportWithConfig with it as Stream; nothing else changes.
func newTransport(cfg Config, logger hclog.Logger) (*raft.NetworkTransport, error) {
	var advertise net.Addr
	if cfg.RaftAdvertise != "" {
		addr, err := net.ResolveTCPAddr("tcp", cfg.RaftAdvertise)
		if err != nil {
			return nil, fmt.Errorf("raftnode: resolve raft advertise address %q: %w", cfg.RaftAdvertise, err)
		}
		advertise = addr
	}
	trans, err := raft.NewTCPTransportWithConfig(cfg.RaftBind, advertise, &raft.NetworkTransportConfig{
		MaxPool: transportMaxPool,
		Timeout: transportTimeout,
		Logger:  logger.Named("net"),
	})
	if err != nil {
		return nil, fmt.Errorf("raftnode: raft transport on %s: %w", cfg.RaftBind, err)
	}
	return trans, nil
}
