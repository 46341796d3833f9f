package server

import (
	"context"
	"crypto"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/internal/pki"
	"github.com/cloudledger/cloudledger/internal/ticket"
	"github.com/cloudledger/cloudledger/raftnode"
)

// raftPKIDir holds the cluster CA and this node's certificate when the cluster runs its own
// CA (the default).
const raftPKIDir = "raft-tls"

// raftTLS decides how this node's Raft transport is secured, before Raft opens:
//   - --raft-insecure: plain TCP (nil);
//   - --raft-ca/--raft-cert/--raft-key: the operator's PKI;
//   - otherwise the cluster's own CA in DIR/raft-tls: made there on a fresh bootstrap; a
//     fresh node joining makes its own key and has its certificate signed by the node at
//     --join, on the operator's join ticket (never receiving the CA's key).
//
// A fresh node joining presents its ticket here ("prepare": its certificate and the
// members it must accept Raft from); Start asks to be admitted once its Raft transport
// listens (a voter added before it listens would cost the cluster its quorum).
func (s *Server) raftTLS(ctx context.Context, fresh bool) (*raftnode.TLS, error) {
	cfg := s.cfg
	joining := fresh && cfg.Join != ""
	if cfg.RaftInsecure {
		s.log.Warn("Raft runs over plain TCP (--raft-insecure): anyone who can reach the Raft port can write to the ledger")
		if joining {
			_, err := s.prepareOnce(ctx)
			return nil, err
		}
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
		if s.raftCertPEM, err = os.ReadFile(cfg.RaftCert); err != nil {
			return nil, err
		}
		var members []string
		if joining {
			if members, err = s.prepareOnce(ctx); err != nil {
				return nil, err
			}
		} else {
			members = readMembers(s.joinedMembersFile())
		}
		if s.raftKey, err = signerOf(pair); err != nil {
			return nil, err
		}
		return &raftnode.TLS{CA: ca.Pool(), Cert: pair, Members: members}, nil
	}
	files := pki.Files{Dir: filepath.Join(cfg.DataDir, raftPKIDir)}
	switch {
	case files.Exists():
	case joining:
		csr, key, err := pki.NewCSR(cfg.NodeID)
		if err != nil {
			return nil, err
		}
		res, err := s.joinCall(ctx, joinPrepare, csr, nil)
		if err != nil {
			return nil, err
		}
		ca, err := pki.ParseCA([]byte(res.GetCaPem()), nil)
		if err != nil {
			return nil, fmt.Errorf("join: the cluster's CA: %w", err)
		}
		if pin := ticket.Pin(cfg.JoinTicket); pin != "" && pin != ticket.CAPin(ca.Cert.Raw) {
			return nil, fmt.Errorf("join: %s answered with a CA other than the one the ticket names: not the cluster the ticket was made for", cfg.Join)
		}
		if err := files.Write(ca, []byte(res.GetCertPem()), key); err != nil {
			return nil, err
		}
		if err := writeFileSynced(files.Members(), []byte(strings.Join(res.GetMembers(), "\n")+"\n")); err != nil {
			return nil, err
		}
	default:
		// A fresh bootstrap, or a data directory from before Raft had TLS: a cluster of one
		// makes its own CA. Its key stays on this node only (raft-tls/ca-key.pem): joining
		// nodes get a certificate, never the key.
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
	if s.raftCertPEM, err = os.ReadFile(files.Cert()); err != nil {
		return nil, err
	}
	if ca.Key != nil {
		s.log.Info("this node holds the cluster's CA key and can sign joining nodes' certificates; whoever reads this disk can too (move it off the host to keep it offline)", "key", files.CAKey())
	}
	if s.raftKey, err = signerOf(pair); err != nil {
		return nil, err
	}
	return &raftnode.TLS{CA: ca.Pool(), Cert: pair, Members: readMembers(files.Members())}, nil
}

// joinedMembersFile keeps the members a join's "prepare" named, when the node brings its
// own certificate or runs Raft without TLS (with the cluster's CA, raft-tls/members does):
// a node restarted before its admission still knows whom to accept Raft from, and does
// not present its ticket for "prepare" twice.
func (s *Server) joinedMembersFile() string { return filepath.Join(s.cfg.DataDir, "join-members") }

// prepareOnce presents the ticket for "prepare" unless a previous start did, and returns
// the members.
func (s *Server) prepareOnce(ctx context.Context) ([]string, error) {
	path := s.joinedMembersFile()
	if _, err := os.Stat(path); err == nil {
		return readMembers(path), nil
	}
	res, err := s.joinCall(ctx, joinPrepare, nil, nil)
	if err != nil {
		return nil, err
	}
	if err := writeFileSynced(path, []byte(strings.Join(res.GetMembers(), "\n")+"\n")); err != nil {
		return nil, err
	}
	return res.GetMembers(), nil
}

func readMembers(path string) []string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return strings.Fields(string(raw))
}

// writeFileSynced writes a small file whole and durably (a crash leaves it or nothing).
func writeFileSynced(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// signerOf is the private key of a certificate pair, to sign with.
func signerOf(pair tls.Certificate) (crypto.Signer, error) {
	k, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("raft TLS: the node key (%T) cannot sign", pair.PrivateKey)
	}
	return k, nil
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

// joinCall presents this node's join ticket to the node at --join, at one step of
// JoinCluster, retrying while that node is unreachable or has no leader.
func (s *Server) joinCall(ctx context.Context, step string, csr, certPEM []byte) (*v1.JoinClusterResponse, error) {
	if s.cfg.JoinTicket == "" {
		return nil, errors.New("joining a cluster needs an operator's join ticket (--join-ticket-file FILE or CLOUDLEDGER_JOIN_TICKET), made on the host of the node at --join: ledgerctl cluster add --data-dir DIR --node-id " + s.cfg.NodeID)
	}
	client := cloudledgerv1connect.NewClusterServiceClient(s.clientHTTP(10*time.Second), s.cfg.Join)
	raftAddr := s.cfg.RaftAdvertise
	if raftAddr == "" {
		raftAddr = s.cfg.RaftAddr
	}
	what := csr
	if step == joinAdmit {
		what = certPEM
	}
	id, proof, err := ticket.Present(s.cfg.JoinTicket, ticket.JoinMessage(step, s.cfg.NodeID, raftAddr, s.URL, what))
	if err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	var last error
	for attempt := 0; attempt < 30; attempt++ {
		res, err := client.JoinCluster(ctx, connect.NewRequest(&v1.JoinClusterRequest{NodeId: s.cfg.NodeID, RaftAddr: raftAddr, HttpUrl: s.URL,
			TicketId: id, TicketProof: proof, Step: step, Csr: string(csr), CertPem: string(certPEM)}))
		if err == nil {
			s.log.Info("join step done", "step", step, "via", s.cfg.Join)
			return res.Msg, nil
		}
		last = err
		switch connect.CodeOf(err) {
		case connect.CodeUnauthenticated, connect.CodePermissionDenied, connect.CodeInvalidArgument, connect.CodeFailedPrecondition, connect.CodeUnimplemented:
			return nil, fmt.Errorf("join %s (%s): %w", s.cfg.Join, step, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return nil, fmt.Errorf("join %s (%s): %w", s.cfg.Join, step, last)
}
