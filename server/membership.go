package server

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"

	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/internal/ticket"
	"github.com/cloudledger/cloudledger/raftnode"
)

// Membership is not a business role (SPEC: Access). No account changes it: AddNode and
// RemoveNode refuse everyone (authz.go), and a member is added or removed only on an
// operator's ticket, made on a node's host (internal/ticket) and presented to that node.
// That node checks the ticket, signs the joining node's certificate when it holds the CA
// key, and has the leader change the configuration over the members' internal channel.

// Steps of JoinCluster.
const (
	joinPrepare = "prepare"
	joinAdmit   = "admit"
)

// membershipPath is the members' internal channel: a ticket's node asks the leader to
// change the configuration. With Raft on TLS the asking node signs the change with its
// Raft key and sends its certificate: the leader accepts it only from a current member of
// its CA, so a removed node, or whoever holds a copy of the ledger's state, cannot. With
// --raft-insecure there is no such key and the change carries a MAC under a key derived
// from the cluster's session key, which every member (and every copy of its state) holds.
const (
	membershipPath            = "/internal/membership"
	membershipMACHeader       = "Cloudledger-Membership-Mac"
	membershipCertHeader      = "Cloudledger-Membership-Certificate"
	membershipSignatureHeader = "Cloudledger-Membership-Signature"
	// membershipMaxSkew bounds how old a signed membership change may be; within it, the
	// leader refuses a change whose nonce it has seen.
	membershipMaxSkew       = 2 * time.Minute
	maxMembershipBodyBytes  = 16 << 10
	maxJoinCertificateBytes = 8 << 10
	// membershipCallTimeout bounds a call to the leader: an admission waits for a Raft
	// configuration change and a TLS handshake with the new node.
	membershipCallTimeout = 30 * time.Second
	// maxSeenChanges bounds the leader's memory of nonces (changes within the skew).
	maxSeenChanges = 4096
)

// membershipChange is the body of the internal channel.
type membershipChange struct {
	Op       ticket.Op `json:"op"`
	NodeID   string    `json:"node_id"`
	RaftAddr string    `json:"raft_addr,omitempty"`
	HTTPURL  string    `json:"http_url,omitempty"`
	Nonvoter bool      `json:"nonvoter,omitempty"`
	CertPEM  string    `json:"cert_pem,omitempty"`
	At       int64     `json:"at"`    // Unix seconds, the asking node's clock
	Nonce    string    `json:"nonce"` // 16 random bytes, hex: a change is accepted once
}

// nonceCache remembers the nonces of accepted membership changes for twice the skew.
type nonceCache struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

// first records nonce and reports whether it was not seen before; a full cache refuses.
func (c *nonceCache) first(nonce string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]time.Time{}
	}
	for n, at := range c.seen {
		if now.Sub(at) > 2*membershipMaxSkew {
			delete(c.seen, n)
		}
	}
	if _, ok := c.seen[nonce]; ok || len(c.seen) >= maxSeenChanges {
		return false
	}
	c.seen[nonce] = now
	return true
}

// refuseMembership is what AddNode and RemoveNode answer if a call ever got past authz.
func refuseMembership() error {
	return errf(errcode.PermissionDenied, "no account may add or remove a member: membership is an operator's act on a host (ledgerctl cluster add|remove --data-dir DIR --node-id ID)")
}

func (h *clusterService) AddNode(context.Context, *connect.Request[v1.AddNodeRequest]) (*connect.Response[v1.AddNodeResponse], error) {
	return nil, refuseMembership()
}

func (h *clusterService) RemoveNode(context.Context, *connect.Request[v1.RemoveNodeRequest]) (*connect.Response[v1.RemoveNodeResponse], error) {
	return nil, refuseMembership()
}

// ticketRefused is the one answer to a ticket that does not allow what was asked; the
// reason goes to this node's log, where the operator who made the ticket reads it.
func (s *Server) ticketRefused(err error, node string) error {
	var r *ticket.Refused
	if errors.As(err, &r) {
		s.log.Warn("membership ticket refused", "member", node, "reason", r.Reason)
		return errf(errcode.Unauthenticated, "%v", r)
	}
	return toConnect(err)
}

func (h *clusterService) JoinCluster(ctx context.Context, req *connect.Request[v1.JoinClusterRequest]) (*connect.Response[v1.JoinClusterResponse], error) {
	s, m := h.s, req.Msg
	node := logSafeNodeID(m.GetNodeId())
	if err := ticket.Wellformed(m.GetTicketId(), m.GetTicketProof()); err != nil {
		return nil, s.ticketRefused(err, node)
	}
	if !ticket.ValidNodeID(m.GetNodeId()) || m.GetRaftAddr() == "" || m.GetHttpUrl() == "" || len(m.GetRaftAddr()) > 256 || len(m.GetHttpUrl()) > 2048 ||
		len(m.GetCsr()) > maxJoinCertificateBytes || len(m.GetCertPem()) > maxJoinCertificateBytes {
		return nil, errf(errcode.InvalidValue, "node_id (1–64 letters, digits, '.', '_', '-'), raft_addr and http_url are required; a csr or certificate is at most %d bytes", maxJoinCertificateBytes)
	}
	out := &v1.JoinClusterResponse{}
	var t ticket.Ticket
	var err error
	switch step := m.GetStep(); step {
	case joinPrepare:
		msg := ticket.JoinMessage(step, m.GetNodeId(), m.GetRaftAddr(), m.GetHttpUrl(), []byte(m.GetCsr()))
		t, err = s.tickets.Use(m.GetTicketId(), m.GetTicketProof(), msg, ticket.Join, m.GetNodeId(), []ticket.State{ticket.New}, ticket.Prepared, time.Now(),
			func(ticket.Ticket) (string, error) { return s.prepareJoin(m, out) })
	case joinAdmit:
		// A used ticket may admit again only what it admitted (an identical member: a
		// retry after a lost answer); a removed id is refused by the leader.
		msg := ticket.JoinMessage(step, m.GetNodeId(), m.GetRaftAddr(), m.GetHttpUrl(), []byte(m.GetCertPem()))
		t, err = s.tickets.Use(m.GetTicketId(), m.GetTicketProof(), msg, ticket.Join, m.GetNodeId(), []ticket.State{ticket.Prepared, ticket.Used}, ticket.Used, time.Now(),
			func(t ticket.Ticket) (string, error) {
				if err := sameCertificate(t, m.GetCertPem()); err != nil {
					return "", err
				}
				return "", s.changeMembership(ctx, membershipChange{Op: ticket.Join, NodeID: m.GetNodeId(), RaftAddr: m.GetRaftAddr(),
					HTTPURL: m.GetHttpUrl(), Nonvoter: t.Nonvoter, CertPEM: m.GetCertPem()})
			})
	default:
		return nil, errf(errcode.InvalidValue, "step must be %q or %q", joinPrepare, joinAdmit)
	}
	if err != nil {
		return nil, s.ticketRefused(err, node)
	}
	out.Nonvoter = t.Nonvoter
	if out.Members, err = s.memberIDs(); err != nil {
		return nil, toConnect(err)
	}
	s.log.Info("membership ticket used", "member", node, "step", m.GetStep(), "nonvoter", t.Nonvoter)
	return connect.NewResponse(out), nil
}

// sameCertificate refuses an admission naming another certificate than the one this
// node signed for the ticket at "prepare" (when it signed one).
func sameCertificate(t ticket.Ticket, certPEM string) error {
	if t.CertificateSHA256 == "" {
		return nil
	}
	b, _ := pem.Decode([]byte(certPEM))
	if b == nil {
		return &ticket.Refused{Reason: "the admission names no certificate; the ticket's node was given one at prepare"}
	}
	sum := sha256.Sum256(b.Bytes)
	if hex.EncodeToString(sum[:]) != t.CertificateSHA256 {
		return &ticket.Refused{Reason: "the admission names another certificate than the one signed for the ticket at prepare"}
	}
	return nil
}

// logSafeNodeID is a node id as this node's log may show it: a valid id, or a note that
// the caller sent something else (never the caller's bytes).
func logSafeNodeID(id string) string {
	if ticket.ValidNodeID(id) {
		return id
	}
	return fmt.Sprintf("(not a node id, %d bytes)", len(id))
}

// prepareJoin refuses an id that is or was a member and, when the cluster runs its own CA,
// signs the node's certificate request. It returns the certificate's fingerprint.
func (s *Server) prepareJoin(m *v1.JoinClusterRequest, out *v1.JoinClusterResponse) (string, error) {
	if err := s.notAMember(m.GetNodeId()); err != nil {
		return "", err
	}
	if s.raftCA != nil {
		out.CaPem = string(s.raftCA.CertPEM)
	}
	if m.GetCsr() == "" {
		return "", nil
	}
	if s.raftCA == nil || s.raftCA.Key == nil {
		return "", errcode.Errf(errcode.InvalidValue, "csr", "this node holds no CA key and cannot sign a certificate: make the ticket on a node that holds raft-tls/ca-key.pem, or give the new node a certificate of the cluster's CA (--raft-ca/--raft-cert/--raft-key)")
	}
	// The certificate names the node id only: peers are checked by id, and host names the
	// caller chose would make it a certificate for hosts nobody vouched for.
	cert, err := s.raftCA.SignCSR([]byte(m.GetCsr()), m.GetNodeId(), nil, time.Now())
	if err != nil {
		return "", errcode.Errf(errcode.InvalidValue, "csr", "%v", err)
	}
	out.CertPem = string(cert)
	b, _ := pem.Decode(cert)
	sum := sha256.Sum256(b.Bytes)
	return hex.EncodeToString(sum[:]), nil
}

// notAMember refuses an id that is in the configuration or was removed from it.
func (s *Server) notAMember(id string) error {
	servers, err := s.node.Servers()
	if err != nil {
		return err
	}
	for _, sv := range servers {
		if sv.ID == id {
			return errcode.Errf(errcode.InvalidValue, "node_id", "%s is a member already: a certificate for it would let another process speak as it", id)
		}
	}
	if s.node.Retired(id) {
		return errcode.Errf(errcode.InvalidValue, "node_id", "%s was a member and was removed: a removed node never comes back under its id (give the new node a new id)", id)
	}
	return nil
}

func (s *Server) memberIDs() ([]string, error) {
	servers, err := s.node.Servers()
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(servers))
	for i, sv := range servers {
		ids[i] = sv.ID
	}
	return ids, nil
}

func (h *clusterService) RemoveMember(ctx context.Context, req *connect.Request[v1.RemoveMemberRequest]) (*connect.Response[v1.RemoveMemberResponse], error) {
	s, m := h.s, req.Msg
	node := logSafeNodeID(m.GetNodeId())
	if err := ticket.Wellformed(m.GetTicketId(), m.GetTicketProof()); err != nil {
		return nil, s.ticketRefused(err, node)
	}
	if !ticket.ValidNodeID(m.GetNodeId()) {
		return nil, errf(errcode.InvalidValue, "node_id: 1–64 letters, digits, '.', '_' or '-'")
	}
	_, err := s.tickets.Use(m.GetTicketId(), m.GetTicketProof(), ticket.RemoveMessage(m.GetNodeId()), ticket.Remove, m.GetNodeId(), []ticket.State{ticket.New}, ticket.Used, time.Now(),
		func(ticket.Ticket) (string, error) {
			return "", s.changeMembership(ctx, membershipChange{Op: ticket.Remove, NodeID: m.GetNodeId()})
		})
	if err != nil {
		return nil, s.ticketRefused(err, node)
	}
	s.log.Info("member removed on an operator's ticket", "member", node)
	return connect.NewResponse(&v1.RemoveMemberResponse{}), nil
}

// changeMembership applies a change on the leader: here when this node leads, else over
// the members' internal channel.
func (s *Server) changeMembership(ctx context.Context, c membershipChange) error {
	if s.node.IsLeader() {
		return s.applyMembership(ctx, c)
	}
	_, _, leaderURL := s.node.Leader()
	if leaderURL == "" {
		return errcode.Errf(errcode.Unavailable, "", "no leader known right now; retry")
	}
	c.At = time.Now().Unix() // the hosts' clocks, not the ledger's (which tests may move)
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	c.Nonce = hex.EncodeToString(nonce[:])
	body, _ := json.Marshal(c)
	ctx, cancel := context.WithTimeout(ctx, membershipCallTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(leaderURL, "/")+membershipPath, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if err := s.signMembership(req, body); err != nil {
		return err
	}
	res, err := s.membershipClient.Do(req)
	if err != nil {
		return errcode.Errf(errcode.Unavailable, "", "asking the leader: %v", err)
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
	switch res.StatusCode {
	case http.StatusNoContent:
		return nil
	case http.StatusConflict:
		return errcode.Errf(errcode.InvalidValue, "node_id", "%s", bytes.TrimSpace(msg))
	default:
		return errcode.Errf(errcode.Unavailable, "", "the leader answered %s: %s", res.Status, bytes.TrimSpace(msg))
	}
}

// applyMembership changes the configuration on the leader. An admission must name a
// certificate of the cluster's CA for the node id when Raft runs on TLS: whoever holds
// only the members' channel cannot add a process of its own.
func (s *Server) applyMembership(ctx context.Context, c membershipChange) error {
	switch c.Op {
	case ticket.Join:
		if s.raftCA != nil {
			if err := s.checkNodeCertificate(c.NodeID, c.CertPEM); err != nil {
				return err
			}
		}
		err := s.node.AddMember(ctx, c.NodeID, c.RaftAddr, c.HTTPURL, c.Nonvoter)
		if errors.Is(err, raftnode.ErrRetired) || errors.Is(err, raftnode.ErrMemberExists) || errors.Is(err, raftnode.ErrAddressInUse) {
			return errcode.Errf(errcode.InvalidValue, "node_id", "%v", err)
		}
		return err
	case ticket.Remove:
		return s.node.RemoveServer(ctx, c.NodeID)
	}
	return errcode.Errf(errcode.InvalidValue, "op", "unknown membership change %q", c.Op)
}

func (s *Server) checkNodeCertificate(id, certPEM string) error {
	b, _ := pem.Decode([]byte(certPEM))
	if b == nil || b.Type != "CERTIFICATE" {
		return errcode.Errf(errcode.InvalidValue, "cert_pem", "an admission over TLS names the node's Raft certificate")
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return errcode.Errf(errcode.InvalidValue, "cert_pem", "%v", err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: s.raftCA.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return errcode.Errf(errcode.InvalidValue, "cert_pem", "not a certificate of the cluster's CA: %v", err)
	}
	if cert.Subject.CommonName != id {
		return errcode.Errf(errcode.InvalidValue, "cert_pem", "the certificate names %q, the node is %q", cert.Subject.CommonName, id)
	}
	return nil
}

// signMembership signs a change with this node's Raft key, or (Raft without TLS) with a
// MAC under the session key.
func (s *Server) signMembership(req *http.Request, body []byte) error {
	if s.raftKey != nil {
		b, _ := pem.Decode(s.raftCertPEM)
		if b == nil {
			return errors.New("this node's Raft certificate is not PEM")
		}
		sig, err := signBytes(s.raftKey, membershipSigned(body))
		if err != nil {
			return err
		}
		req.Header.Set(membershipCertHeader, base64.StdEncoding.EncodeToString(b.Bytes))
		req.Header.Set(membershipSignatureHeader, base64.StdEncoding.EncodeToString(sig))
		return nil
	}
	mac := s.membershipMAC(body)
	if mac == nil {
		return errcode.Errf(errcode.Unavailable, "", "the cluster's session key is not installed yet; retry")
	}
	req.Header.Set(membershipMACHeader, hex.EncodeToString(mac))
	return nil
}

func membershipSigned(body []byte) []byte {
	return append([]byte("cloudledger membership\x00"), body...)
}

func signBytes(key crypto.Signer, msg []byte) ([]byte, error) {
	if _, ok := key.Public().(ed25519.PublicKey); ok {
		return key.Sign(rand.Reader, msg, crypto.Hash(0))
	}
	sum := sha256.Sum256(msg)
	return key.Sign(rand.Reader, sum[:], crypto.SHA256)
}

// verifyMembershipSigner checks, when Raft runs on TLS, that the change is signed by the
// Raft key of a current member of the cluster's CA, and returns that member's id.
func (s *Server) verifyMembershipSigner(r *http.Request, body []byte) (string, error) {
	der, err := base64.StdEncoding.DecodeString(r.Header.Get(membershipCertHeader))
	if err != nil || len(der) == 0 || len(der) > maxJoinCertificateBytes {
		return "", errors.New("no member's certificate")
	}
	sig, err := base64.StdEncoding.DecodeString(r.Header.Get(membershipSignatureHeader))
	if err != nil || len(sig) == 0 || len(sig) > 1024 {
		return "", errors.New("no signature")
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return "", err
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: s.raftCA.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return "", fmt.Errorf("not a certificate of the cluster's CA: %w", err)
	}
	var algo x509.SignatureAlgorithm
	switch cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		algo = x509.ECDSAWithSHA256
	case *rsa.PublicKey:
		algo = x509.SHA256WithRSA
	case ed25519.PublicKey:
		algo = x509.PureEd25519
	default:
		return "", fmt.Errorf("a %T key", cert.PublicKey)
	}
	if err := cert.CheckSignature(algo, membershipSigned(body), sig); err != nil {
		return "", fmt.Errorf("signature: %w", err)
	}
	id := cert.Subject.CommonName
	servers, err := s.node.Servers()
	if err != nil {
		return "", err
	}
	for _, sv := range servers {
		if sv.ID == id && !s.node.Retired(id) {
			return id, nil
		}
	}
	return "", fmt.Errorf("%s is not a member", logSafeNodeID(id))
}

func (s *Server) membershipMAC(body []byte) []byte {
	key := s.ledger.SessionKey()
	if key == nil {
		return nil
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("membership\x00"))
	m.Write(body)
	return m.Sum(nil)
}

// membershipHandler is the leader's end of the members' internal channel.
func (s *Server) membershipHandler(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxMembershipBodyBytes))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	signer := "a holder of the session key"
	if s.raftCA != nil {
		id, err := s.verifyMembershipSigner(r, body)
		if err != nil {
			s.log.Warn("membership change refused: not signed by a member", "reason", err)
			http.Error(w, "not signed by a member of this cluster", http.StatusUnauthorized)
			return
		}
		signer = id
	} else {
		mac, err := hex.DecodeString(r.Header.Get(membershipMACHeader))
		want := s.membershipMAC(body)
		if err != nil || want == nil || !hmac.Equal(mac, want) {
			http.Error(w, "not signed by a member of this cluster", http.StatusUnauthorized)
			return
		}
	}
	var c membershipChange
	if err := json.Unmarshal(body, &c); err != nil || !ticket.ValidNodeID(c.NodeID) || len(c.Nonce) != 32 {
		http.Error(w, "bad membership change", http.StatusBadRequest)
		return
	}
	if skew := time.Since(time.Unix(c.At, 0)); skew > membershipMaxSkew || skew < -membershipMaxSkew {
		http.Error(w, fmt.Sprintf("the change was signed %s from this node's clock (at most %s)", skew.Round(time.Second), membershipMaxSkew), http.StatusBadRequest)
		return
	}
	if !s.node.IsLeader() {
		http.Error(w, "not the leader", http.StatusServiceUnavailable)
		return
	}
	if !s.seenChanges.first(c.Nonce, time.Now()) {
		http.Error(w, "this change was made already (or too many are in flight)", http.StatusConflict)
		return
	}
	s.log.Info("membership change asked by a member", "op", c.Op, "member", c.NodeID, "signed_by", signer)
	if err := s.applyMembership(r.Context(), c); err != nil {
		var le *errcode.Error
		if errors.As(err, &le) && le.Code == errcode.InvalidValue {
			http.Error(w, le.Message, http.StatusConflict)
			return
		}
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
