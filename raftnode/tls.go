package raftnode

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// TLS secures the Raft transport with mutual TLS. A peer is accepted only with a
// certificate of CA whose common name is the id of a current member of the cluster (the
// latest Raft configuration, which includes a server being added): a certificate of the
// right CA alone is not enough (Nomad CVE-2021-37218), and a removed node's certificate
// stops working, its open connections closed, as soon as this node sees the configuration
// without it.
type TLS struct {
	CA   *x509.CertPool
	Cert tls.Certificate // this node's, its common name the node id
	// Members are the peers accepted while this node is not in the configuration it knows
	// (a node joining, or catching up from a snapshot older than its admission: the members
	// the cluster named when it admitted it).
	Members []string
}

// membershipPoll is how often the stream layer refreshes its view of the members.
const membershipPoll = 250 * time.Millisecond

// handshakeTimeout bounds a TLS handshake on the Raft port.
const handshakeTimeout = 5 * time.Second

// tlsStream is a raft.StreamLayer over crypto/tls that checks every peer's node id.
type tlsStream struct {
	ln        net.Listener
	advertise net.Addr
	cfg       TLS
	nodeID    string

	members atomic.Pointer[map[string]string] // id → raft address; nil until known
	// wasMember: this node has been in the configuration it knows (setMembers).
	wasMember atomic.Bool

	mu    sync.Mutex
	conns map[*tls.Conn]string // open connections → the peer's node id
}

func newTLSStream(bind string, advertise net.Addr, nodeID string, cfg TLS) (*tlsStream, error) {
	if cfg.CA == nil || len(cfg.Cert.Certificate) == 0 {
		return nil, errors.New("raftnode: TLS needs a CA and a node certificate")
	}
	leaf, err := x509.ParseCertificate(cfg.Cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("raftnode: node certificate: %w", err)
	}
	if leaf.Subject.CommonName != nodeID {
		return nil, fmt.Errorf("raftnode: the node certificate names %q, this node is %q", leaf.Subject.CommonName, nodeID)
	}
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, err
	}
	if advertise == nil {
		advertise = ln.Addr()
	}
	if tcp, ok := advertise.(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		ln.Close()
		return nil, fmt.Errorf("raftnode: %s is not an advertisable address", advertise)
	}
	return &tlsStream{ln: ln, advertise: advertise, cfg: cfg, nodeID: nodeID, conns: map[*tls.Conn]string{}}, nil
}

// setMembers installs the current configuration's members and closes the connections of
// peers that may no longer speak Raft to this node (isMember). A node that knows no
// configuration yet keeps those of the members named at its admission: closing them every
// membershipPoll cut the leader's snapshot stream, and a new member could never install a
// snapshot that takes longer than that to send (10,000,000 line items: 2.2 GB).
func (s *tlsStream) setMembers(m map[string]string) {
	s.members.Store(&m)
	if _, self := m[s.nodeID]; self {
		// Once in its own configuration, a node never again falls back on the members named
		// at its admission: removed, it must not take their word (some may be retired since).
		s.wasMember.Store(true)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for c, id := range s.conns {
		if !s.isMember(id) {
			c.Close()
			delete(s.conns, c)
		}
	}
}

// isMember reports whether id may speak Raft to this node now.
func (s *tlsStream) isMember(id string) bool {
	if m := s.members.Load(); m != nil && len(*m) > 0 {
		if _, ok := (*m)[id]; ok {
			return true
		}
		if _, self := (*m)[s.nodeID]; self || s.wasMember.Load() {
			return false
		}
		// Not in its own configuration: a node admitted after the snapshot it installed
		// (whose configuration predates its admission) is catching up, and the entry that
		// admitted it — with the members it was told of — is still ahead in the log. The
		// members named at admission may speak to it until then, or the leader could be one
		// it refuses and the entry would never arrive.
	}
	for _, b := range s.cfg.Members {
		if b == id {
			return true
		}
	}
	return false
}

// verify checks a peer's certificate chain against the CA and returns its node id.
func (s *tlsStream) verify(cs tls.ConnectionState, usage x509.ExtKeyUsage) (string, error) {
	if len(cs.PeerCertificates) == 0 {
		return "", errors.New("raftnode: peer sent no certificate")
	}
	leaf := cs.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: s.cfg.CA, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		return "", fmt.Errorf("raftnode: peer certificate: %w", err)
	}
	return leaf.Subject.CommonName, nil
}

func (s *tlsStream) baseConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{s.cfg.Cert},
		// The chain and the node id are checked in VerifyConnection (verify): peers are
		// named by node id, not by host name.
		InsecureSkipVerify: true,
	}
}

// Accept waits for a peer and completes the handshake in the connection's first read, so a
// slow peer never holds up the accept loop; a peer that is not a member fails the handshake.
func (s *tlsStream) Accept() (net.Conn, error) {
	raw, err := s.ln.Accept()
	if err != nil {
		return nil, err
	}
	cfg := s.baseConfig()
	cfg.InsecureSkipVerify = false
	cfg.ClientAuth = tls.RequireAnyClientCert
	var c *tls.Conn
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		id, err := s.verify(cs, x509.ExtKeyUsageClientAuth)
		if err != nil {
			return err
		}
		if !s.isMember(id) {
			return fmt.Errorf("raftnode: %q is not a member of the cluster", id)
		}
		s.track(c, id)
		return nil
	}
	c = tls.Server(raw, cfg)
	_ = raw.SetDeadline(time.Now().Add(handshakeTimeout))
	return &handshakeConn{Conn: c, raw: raw, s: s}, nil
}

// Dial connects to the member at address and checks that it is that member.
func (s *tlsStream) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	want := ""
	if m := s.members.Load(); m != nil {
		for id, addr := range *m {
			if addr == string(address) {
				want = id
			}
		}
	}
	cfg := s.baseConfig()
	var c *tls.Conn
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		id, err := s.verify(cs, x509.ExtKeyUsageServerAuth)
		if err != nil {
			return err
		}
		if want != "" && id != want {
			return fmt.Errorf("raftnode: %s answered as %q, the member there is %q", address, id, want)
		}
		if !s.isMember(id) {
			return fmt.Errorf("raftnode: %q at %s is not a member of the cluster", id, address)
		}
		s.track(c, id)
		return nil
	}
	d := &net.Dialer{Timeout: timeout}
	raw, err := d.Dial("tcp", string(address))
	if err != nil {
		return nil, err
	}
	c = tls.Client(raw, cfg)
	_ = raw.SetDeadline(time.Now().Add(max(timeout, time.Second)))
	if err := c.Handshake(); err != nil {
		raw.Close()
		return nil, err
	}
	_ = raw.SetDeadline(time.Time{})
	return &trackedConn{Conn: c, s: s}, nil
}

// probe makes a TLS handshake with address and checks that it answers with a certificate
// of the CA for id (whether or not id is a member yet), then hangs up.
func (s *tlsStream) probe(address, id string, timeout time.Duration) error {
	cfg := s.baseConfig()
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		got, err := s.verify(cs, x509.ExtKeyUsageServerAuth)
		if err != nil {
			return err
		}
		if got != id {
			return fmt.Errorf("answered as %q", got)
		}
		return nil
	}
	raw, err := net.DialTimeout("tcp", address, timeout)
	if err != nil {
		return err
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(timeout))
	return tls.Client(raw, cfg).Handshake()
}

func (s *tlsStream) track(c *tls.Conn, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns[c] = id
}

func (s *tlsStream) untrack(c *tls.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

func (s *tlsStream) Close() error   { return s.ln.Close() }
func (s *tlsStream) Addr() net.Addr { return s.advertise }

// trackedConn forgets its connection when it is closed.
type trackedConn struct {
	*tls.Conn
	s *tlsStream
}

func (c *trackedConn) Close() error {
	c.s.untrack(c.Conn)
	return c.Conn.Close()
}

// handshakeConn completes the server handshake (under its deadline) on first use, then
// lifts the deadline.
type handshakeConn struct {
	*tls.Conn
	raw  net.Conn
	s    *tlsStream
	once sync.Once
	err  error
}

func (c *handshakeConn) handshake() error {
	c.once.Do(func() {
		if c.err = c.Conn.Handshake(); c.err == nil {
			c.err = c.raw.SetDeadline(time.Time{})
		}
	})
	return c.err
}

func (c *handshakeConn) Read(p []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *handshakeConn) Write(p []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

func (c *handshakeConn) Close() error {
	c.s.untrack(c.Conn)
	return c.Conn.Close()
}
