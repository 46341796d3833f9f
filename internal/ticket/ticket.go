// Package ticket holds the operator's membership tickets (SPEC: Access, "Membership is not
// a business role"): single-use, short-lived credentials to add or remove one named node,
// made on a node's host by writing into its data directory — never through the API — and
// checked by that node when the joining node (or the removal command) presents the token.
//
// A ticket is stored as a file named by a hash of its secret (its id); the secret itself is
// shown once, to the operator, and kept nowhere. The secret never travels either: whoever
// presents a ticket sends its id and a proof, an HMAC of what is asked (the step, the node
// id, its addresses, its certificate request) under a key derived from the secret, which
// the file keeps — so a request seen on the wire cannot be replayed for anything else. A
// ticket moves new → prepared → used (a join) or new → used (a removal) and never back.
package ticket

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Limits and names.
const (
	// Dir is the tickets' folder inside a node's data directory.
	Dir = "operator-tickets"
	// DefaultTTL and MaxTTL bound how long a ticket may wait for its node.
	DefaultTTL = time.Hour
	MaxTTL     = 24 * time.Hour
	// keepUsedFor is how long used and expired tickets stay on disk for the operator to see.
	keepUsedFor = 7 * 24 * time.Hour
	// prefix marks a token of this format (version 1).
	prefix = "clt1."
	// MaxTokenBytes bounds a token as presented (prefix, 43 characters of secret, pin).
	MaxTokenBytes = 128
	secretBytes   = 32
	maxFileBytes  = 4096
)

// Op is what a ticket allows.
type Op string

const (
	Join   Op = "join"
	Remove Op = "remove"
)

// State is where a ticket is in its single use.
type State string

const (
	New      State = "new"
	Prepared State = "prepared" // a join whose node got its certificate and the members
	Used     State = "used"
)

// Ticket is what the file holds.
type Ticket struct {
	Op       Op        `json:"op"`
	NodeID   string    `json:"node_id"`
	Nonvoter bool      `json:"nonvoter,omitempty"`
	Created  time.Time `json:"created"`
	Expires  time.Time `json:"expires"`
	State    State     `json:"state"`
	Changed  time.Time `json:"changed,omitzero"`
	// CertificateSHA256 is the fingerprint of the certificate signed at "prepare": the
	// admission must name that certificate.
	CertificateSHA256 string `json:"certificate_sha256,omitempty"`
	// ProofKey (hex) checks the proofs a presenter sends (derived from the secret, one way).
	ProofKey string `json:"proof_key"`
}

var nodeIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidNodeID reports whether id is a node id a ticket may name: 1–64 letters, digits,
// '.', '_' or '-', not starting with a punctuation mark.
func ValidNodeID(id string) bool { return nodeIDPattern.MatchString(id) }

// Make writes a new ticket into a node's data directory and returns its token. pin, when
// not empty, is appended so that the joining node can check the CA it is given (the
// fingerprint CAPin makes).
func Make(dataDir string, op Op, nodeID string, nonvoter bool, ttl time.Duration, pin string, now time.Time) (string, error) {
	if !ValidNodeID(nodeID) {
		return "", fmt.Errorf("node id %q: 1–64 letters, digits, '.', '_' or '-'", nodeID)
	}
	if op != Join && op != Remove {
		return "", fmt.Errorf("unknown ticket operation %q", op)
	}
	if ttl <= 0 || ttl > MaxTTL {
		return "", fmt.Errorf("a ticket lives between 1 s and %s, not %s", MaxTTL, ttl)
	}
	var secret [secretBytes]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding.EncodeToString(secret[:])
	dir := filepath.Join(dataDir, Dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	owner(dataDir, dir)
	prune(dir, now)
	pk := proofKey(enc)
	t := Ticket{Op: op, NodeID: nodeID, Nonvoter: nonvoter, Created: now.UTC(), Expires: now.Add(ttl).UTC(), State: New, ProofKey: hex.EncodeToString(pk[:])}
	path := filepath.Join(dir, idOf(enc)+".json")
	if err := write(path, t); err != nil {
		return "", err
	}
	owner(dataDir, dir, path)
	token := prefix + enc
	if pin != "" {
		token += "." + pin
	}
	return token, nil
}

// CAPin is the fingerprint of a CA certificate (DER) that a join token carries: the first
// 16 bytes of its SHA-256, in hex.
func CAPin(caDER []byte) string {
	sum := sha256.Sum256(caDER)
	return hex.EncodeToString(sum[:16])
}

// DataDirPin is the fingerprint of the cluster CA in a node's data directory
// (raft-tls/ca.pem), or "" when the node runs the operator's PKI or Raft without TLS.
func DataDirPin(dataDir string) (string, error) {
	raw, err := os.ReadFile(filepath.Join(dataDir, "raft-tls", "ca.pem"))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	b, _ := pem.Decode(raw)
	if b == nil || b.Type != "CERTIFICATE" {
		return "", fmt.Errorf("%s is not a PEM certificate", filepath.Join(dataDir, "raft-tls", "ca.pem"))
	}
	return CAPin(b.Bytes), nil
}

// Pin is the CA fingerprint a token carries, or "".
func Pin(token string) string {
	_, pin := split(token)
	return pin
}

func split(token string) (secret, pin string) {
	rest, ok := strings.CutPrefix(token, prefix)
	if !ok {
		return "", ""
	}
	secret, pin, _ = strings.Cut(rest, ".")
	return secret, pin
}

// idOf is a ticket's id: the name of its file, what a presenter sends instead of the secret.
func idOf(secret string) string {
	sum := sha256.Sum256([]byte("cloudledger ticket id\x00" + secret))
	return hex.EncodeToString(sum[:])
}

func proofKey(secret string) [32]byte {
	return sha256.Sum256([]byte("cloudledger ticket proof\x00" + secret))
}

// Present is what a presenter sends for a token and the message it asks for: the ticket's
// id and the proof.
func Present(token string, message []byte) (id, proof string, err error) {
	secret, _ := split(token)
	if len(token) > MaxTokenBytes || len(secret) != base64.RawURLEncoding.EncodedLen(secretBytes) {
		return "", "", errors.New("not a ticket: clt1. followed by 43 characters (and the CA fingerprint of a join ticket)")
	}
	k := proofKey(secret)
	m := hmac.New(sha256.New, k[:])
	m.Write(message)
	return idOf(secret), hex.EncodeToString(m.Sum(nil)), nil
}

// JoinMessage is what a join's proof covers at a step: the node, its addresses, and the
// SHA-256 of its certificate request (prepare) or certificate (admit).
func JoinMessage(step, nodeID, raftAddr, httpURL string, pem []byte) []byte {
	sum := sha256.Sum256(pem)
	return []byte(strings.Join([]string{"join", step, nodeID, raftAddr, httpURL, hex.EncodeToString(sum[:])}, "\x00"))
}

// RemoveMessage is what a removal's proof covers.
func RemoveMessage(nodeID string) []byte { return []byte("remove\x00" + nodeID) }

// owner gives what an operator made (as root, say) to the owner of the data directory,
// the user ledgerd runs as, so that the node can read it (best effort).
func owner(dataDir string, paths ...string) {
	fi, err := os.Stat(dataDir)
	if err != nil {
		return
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		for _, p := range paths {
			_ = os.Lchown(p, int(st.Uid), int(st.Gid))
		}
	}
}

// Refused is every refusal of a token, whatever the reason: the caller learns only that
// the ticket does not allow what it asked, the node's log says why (Reason).
type Refused struct{ Reason string }

func (r *Refused) Error() string {
	return "the ticket is unknown, used, expired, or for another node or operation"
}

// Book is one node's tickets.
type Book struct {
	dir   string
	mu    sync.Mutex
	inUse map[string]*sync.Mutex // a ticket's uses one at a time; other tickets do not wait
}

// Open returns the book of a node's data directory.
func Open(dataDir string) *Book {
	return &Book{dir: filepath.Join(dataDir, Dir), inUse: map[string]*sync.Mutex{}}
}

func (b *Book) lock(id string) func() {
	b.mu.Lock()
	m, ok := b.inUse[id]
	if !ok {
		m = &sync.Mutex{}
		b.inUse[id] = m
	}
	b.mu.Unlock()
	m.Lock()
	return func() {
		m.Unlock()
		b.mu.Lock()
		delete(b.inUse, id) // a later use makes a new one; a waiter holds its own pointer
		b.mu.Unlock()
	}
}

// Use moves the ticket id, whose proof of message must hold, which must be for op and
// nodeID, not expired and in one of the states from, to the state to — but only if act
// succeeds: act runs while no other use of the ticket can, with the ticket, and returns
// the certificate fingerprint to record (or "").
func (b *Book) Use(id, proof string, message []byte, op Op, nodeID string, from []State, to State, now time.Time, act func(Ticket) (string, error)) (Ticket, error) {
	if err := Wellformed(id, proof); err != nil {
		return Ticket{}, err
	}
	unlock := b.lock(id)
	defer unlock()
	path := filepath.Join(b.dir, id+".json")
	t, err := read(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return Ticket{}, &Refused{Reason: "no such ticket on this node"}
	case err != nil:
		return Ticket{}, err
	}
	key, kerr := hex.DecodeString(t.ProofKey)
	want := hmac.New(sha256.New, key)
	want.Write(message)
	got, perr := hex.DecodeString(proof)
	switch {
	case kerr != nil || perr != nil || !hmac.Equal(want.Sum(nil), got):
		return t, &Refused{Reason: "the proof does not match the ticket and what was asked (another node, address, request or step)"}
	case t.Op != op:
		return t, &Refused{Reason: fmt.Sprintf("a %s ticket presented for a %s", t.Op, op)}
	case t.NodeID != nodeID:
		return t, &Refused{Reason: fmt.Sprintf("the ticket is for node %s, presented for %s", t.NodeID, nodeID)}
	case !now.Before(t.Expires):
		return t, &Refused{Reason: fmt.Sprintf("the ticket expired at %s", t.Expires.Format(time.RFC3339))}
	}
	ok := false
	for _, s := range from {
		ok = ok || t.State == s
	}
	if !ok {
		return t, &Refused{Reason: fmt.Sprintf("the ticket is %s", t.State)}
	}
	cert, err := act(t)
	if err != nil {
		return t, err
	}
	t.State, t.Changed = to, now.UTC()
	if cert != "" {
		t.CertificateSHA256 = cert
	}
	return t, write(path, t)
}

// Wellformed refuses (as Refused) what is not a ticket's id and proof at all, before
// anything else about a call is looked at.
func Wellformed(id, proof string) error {
	if len(id) != 64 || len(proof) != 64 || !isHex(id) || !isHex(proof) {
		return &Refused{Reason: "not a ticket's id and proof"}
	}
	return nil
}

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func read(path string) (Ticket, error) {
	var t Ticket
	f, err := os.Open(path)
	if err != nil {
		return t, err
	}
	defer f.Close()
	raw := make([]byte, maxFileBytes+1)
	n, _ := f.Read(raw)
	if n > maxFileBytes {
		return t, fmt.Errorf("ticket file %s is larger than %d bytes", path, maxFileBytes)
	}
	if err := json.Unmarshal(raw[:n], &t); err != nil {
		return t, fmt.Errorf("ticket file %s: %w", path, err)
	}
	return t, nil
}

// write replaces a ticket file atomically (a crash leaves the old state or the new).
func write(path string, t Ticket) error {
	raw, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(raw, '\n')); err != nil {
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

// prune removes tickets that expired or were used more than keepUsedFor ago.
func prune(dir string, now time.Time) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		t, err := read(path)
		if err != nil {
			continue
		}
		end := t.Expires
		if t.State == Used && t.Changed.Before(end) {
			end = t.Changed
		}
		if now.Sub(end) > keepUsedFor {
			_ = os.Remove(path)
		}
	}
}
