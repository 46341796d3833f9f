package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/internal/pki"
	"github.com/cloudledger/cloudledger/raftnode"
)

// raftPKIDir holds the cluster CA and this node's certificate when the cluster runs its own
// CA (the default).
const raftPKIDir = "raft-tls"

// raftTLS decides how this node's Raft transport is secured, before Raft opens:
//   - --raft-insecure: plain TCP (nil);
//   - --raft-ca/--raft-cert/--raft-key: the operator's PKI;
//   - otherwise the cluster's own CA: loaded from DIR/raft-tls; on a fresh bootstrap it is
//     made there; a fresh node joining gets its certificate (and the CA) from the cluster
//     through the API, proving the admin token.
//
// A fresh node joining asks for its certificate here (certificate only); Start asks to be
// added once its Raft transport listens (a voter added before it listens would cost the
// cluster its quorum).
func (s *Server) raftTLS(ctx context.Context, fresh bool, token string) (*raftnode.TLS, error) {
	cfg := s.cfg
	if cfg.RaftInsecure {
		s.log.Warn("Raft runs over plain TCP (--raft-insecure): anyone who can reach the Raft port can write to the ledger")
		return nil, nil
	}
	if cfg.RaftCA != "" || cfg.RaftCert != "" || cfg.RaftKey != "" {
		if cfg.RaftCA == "" || cfg.RaftCert == "" || cfg.RaftKey == "" {
			return nil, errors.New("--raft-ca, --raft-cert and --raft-key go together")
		}
		ca, pair, err := pki.LoadFiles(cfg.RaftCA, "", cfg.RaftCert, cfg.RaftKey)
		if err != nil {
			return nil, fmt.Errorf("raft TLS: %w", err)
		}
		s.raftCA = ca
		var members []string
		if fresh && cfg.Join != "" {
			res, err := s.join(ctx, cfg.Join, token, "", true)
			if err != nil {
				return nil, err
			}
			members = res.GetMembers()
		}
		return &raftnode.TLS{CA: ca.Pool(), Cert: pair, Members: members}, nil
	}
	files := pki.Files{Dir: filepath.Join(cfg.DataDir, raftPKIDir)}
	switch {
	case files.Exists():
	case fresh && cfg.Join != "":
		csr, key, err := pki.NewCSR(cfg.NodeID)
		if err != nil {
			return nil, err
		}
		res, err := s.join(ctx, cfg.Join, token, string(csr), true)
		if err != nil {
			return nil, err
		}
		ca, err := pki.ParseCA([]byte(res.GetCaPem()), []byte(res.GetCaKeyPem()))
		if err != nil {
			return nil, fmt.Errorf("join: the cluster's CA: %w", err)
		}
		if err := files.Write(ca, []byte(res.GetCertPem()), key); err != nil {
			return nil, err
		}
		if err := os.WriteFile(files.Members(), []byte(strings.Join(res.GetMembers(), "\n")+"\n"), 0o600); err != nil {
			return nil, err
		}
	default:
		// A fresh bootstrap, or a data directory from before Raft had TLS: a cluster of one
		// makes its own CA. (A multi-node cluster from then needs the operator's PKI, see
		// `ledgerctl certs`, or --raft-insecure.)
		ca, err := pki.NewCA("CloudLedger cluster CA", time.Now())
		if err != nil {
			return nil, err
		}
		cert, key, err := ca.NewNode(cfg.NodeID, hostsOf(cfg.RaftAdvertise, cfg.RaftAddr, s.URL), time.Now())
		if err != nil {
			return nil, err
		}
		if err := files.Write(ca, cert, key); err != nil {
			return nil, err
		}
		s.log.Info("made the cluster's Raft CA", "dir", files.Dir)
	}
	ca, pair, err := files.Load()
	if err != nil {
		return nil, fmt.Errorf("raft TLS: %w", err)
	}
	s.raftCA = ca
	var members []string
	if raw, err := os.ReadFile(files.Members()); err == nil {
		members = strings.Fields(string(raw))
	}
	return &raftnode.TLS{CA: ca.Pool(), Cert: pair, Members: members}, nil
}

// hostsOf are the host parts of addresses and URLs, for a certificate's names.
func hostsOf(addrs ...string) []string {
	var out []string
	for _, a := range addrs {
		if u, err := url.Parse(a); err == nil && u.Host != "" {
			a = u.Host
		}
		if h, _, err := net.SplitHostPort(a); err == nil {
			a = h
		}
		if a != "" {
			out = append(out, a)
		}
	}
	return out
}

// join asks a member of the cluster (any node: followers forward) to add this node, with a
// certificate request when the cluster CA must sign one.
func (s *Server) join(ctx context.Context, target, token, csr string, certificateOnly bool) (*v1.AddNodeResponse, error) {
	client := cloudledgerv1connect.NewClusterServiceClient(s.clientHTTP(10*time.Second), target)
	raftAddr := s.cfg.RaftAdvertise
	if raftAddr == "" {
		raftAddr = s.cfg.RaftAddr
	}
	var last error
	for attempt := 0; attempt < 30; attempt++ {
		req := connect.NewRequest(&v1.AddNodeRequest{NodeId: s.cfg.NodeID, RaftAddr: raftAddr, HttpUrl: s.URL, Csr: csr, CertificateOnly: certificateOnly})
		req.Header().Set("Authorization", "Bearer "+token)
		res, err := client.AddNode(ctx, req)
		if err == nil {
			s.log.Info("joined cluster", "via", target)
			return res.Msg, nil
		}
		last = err
		switch connect.CodeOf(err) {
		case connect.CodeUnauthenticated, connect.CodePermissionDenied, connect.CodeInvalidArgument, connect.CodeFailedPrecondition:
			return nil, fmt.Errorf("join %s: %w", target, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return nil, fmt.Errorf("join %s: %w", target, last)
}

// admitCertificate signs a joining node's certificate request with the cluster CA; the CA's
// key goes along only over TLS or to a node on this host.
func (s *Server) admitCertificate(peer string, m *v1.AddNodeRequest) (*v1.AddNodeResponse, error) {
	out := &v1.AddNodeResponse{}
	if m.GetCsr() == "" {
		return out, nil
	}
	if s.raftCA == nil || s.raftCA.Key == nil {
		return nil, errcode.Errf(errcode.InvalidValue, "csr", "this cluster does not issue certificates (Raft without TLS, or the operator's PKI): give the node its own with --raft-ca/--raft-cert/--raft-key")
	}
	if servers, err := s.node.Servers(); err == nil {
		for _, sv := range servers {
			if sv.ID == m.GetNodeId() {
				return nil, errcode.Errf(errcode.InvalidValue, "node_id", "%q is a member already: a certificate for it would let another process speak as it (remove the node first)", sv.ID)
			}
		}
	}
	cert, err := s.raftCA.SignCSR([]byte(m.GetCsr()), m.GetNodeId(), hostsOf(m.GetRaftAddr(), m.GetHttpUrl()), time.Now())
	if err != nil {
		return nil, errcode.Errf(errcode.InvalidValue, "csr", "%v", err)
	}
	out.CaPem, out.CertPem = string(s.raftCA.CertPEM), string(cert)
	if s.apiTLS != nil || loopbackPeer(peer) {
		out.CaKeyPem = string(s.raftCA.KeyPEM)
	}
	return out, nil
}

func loopbackPeer(remote string) bool {
	h, _, err := net.SplitHostPort(remote)
	if err != nil {
		return false
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
