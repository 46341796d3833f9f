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

// newTransport builds the raft network transport: mutual TLS that checks every peer's node
// id (tls.go) when cfg.TLS is set, else plain TCP (which ledgerd runs only when told to,
// --raft-insecure). The TLS stream layer is returned too, so that Open can keep its view of
// the members current.
func newTransport(cfg Config, logger hclog.Logger) (*raft.NetworkTransport, *tlsStream, error) {
	var advertise net.Addr
	if cfg.RaftAdvertise != "" {
		addr, err := net.ResolveTCPAddr("tcp", cfg.RaftAdvertise)
		if err != nil {
			return nil, nil, fmt.Errorf("raftnode: resolve raft advertise address %q: %w", cfg.RaftAdvertise, err)
		}
		advertise = addr
	}
	nc := &raft.NetworkTransportConfig{MaxPool: transportMaxPool, Timeout: transportTimeout, Logger: logger.Named("net")}
	if cfg.TLS != nil {
		stream, err := newTLSStream(cfg.RaftBind, advertise, cfg.NodeID, *cfg.TLS)
		if err != nil {
			return nil, nil, fmt.Errorf("raftnode: raft transport on %s: %w", cfg.RaftBind, err)
		}
		nc.Stream = stream
		return raft.NewNetworkTransportWithConfig(nc), stream, nil
	}
	trans, err := raft.NewTCPTransportWithConfig(cfg.RaftBind, advertise, nc)
	if err != nil {
		return nil, nil, fmt.Errorf("raftnode: raft transport on %s: %w", cfg.RaftBind, err)
	}
	return trans, nil, nil
}
