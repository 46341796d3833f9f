// Package ticket holds the operator's membership tickets (SPEC: Access, "Membership is not
// a business role"): single-use, short-lived credentials to add or remove one named node,
// made on a node's host by writing into its data directory — never through the API — and
// checked by that node when the joining node (or the removal command) presents the token.
//
// A ticket is stored as a file named by the SHA-256 of its secret; the secret itself is
// shown once, to the operator, and kept nowhere. A ticket moves new → prepared → used (a
// join) or new → used (a removal) and never back.
package ticket

import (
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
	// CertificateSHA256 is the fingerprint of the certificate signed at "prepare".
	CertificateSHA256 string `json:"certificate_sha256,omitempty"`
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
	prune(dir, now)
	t := Ticket{Op: op, NodeID: nodeID, Nonvoter: nonvoter, Created: now.UTC(), Expires: now.Add(ttl).UTC(), State: New}
	if err := write(filepath.Join(dir, fileName(enc)), t); err != nil {
		return "", err
	}
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

func fileName(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:]) + ".json"
}

// Refused is every refusal of a token, whatever the reason: the caller learns only that
// the ticket does not allow what it asked, the node's log says why (Reason).
type Refused struct{ Reason string }

func (r *Refused) Error() string {
	return "the ticket is unknown, used, expired, or for another node or operation"
}

// Book is one node's tickets.
type Book struct {
	dir string
	mu  sync.Mutex // one membership change at a time on this node
}

// Open returns the book of a node's data directory.
func Open(dataDir string) *Book { return &Book{dir: filepath.Join(dataDir, Dir)} }

// Use moves the ticket of token, which must be for op and nodeID, not expired and in one
// of the states from, to the state to — but only if act succeeds: act runs under the
// book's lock with the ticket and returns the certificate fingerprint to record (or "").
func (b *Book) Use(token string, op Op, nodeID string, from []State, to State, now time.Time, act func(Ticket) (string, error)) (Ticket, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := Wellformed(token); err != nil {
		return Ticket{}, err
	}
	secret, _ := split(token)
	path := filepath.Join(b.dir, fileName(secret))
	t, err := read(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return Ticket{}, &Refused{Reason: "no such ticket on this node"}
	case err != nil:
		return Ticket{}, err
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

// Wellformed refuses (as Refused) what is not a ticket's token at all, before anything
// else about a call is looked at.
func Wellformed(token string) error {
	secret, _ := split(token)
	if len(token) > MaxTokenBytes || len(secret) != base64.RawURLEncoding.EncodedLen(secretBytes) {
		return &Refused{Reason: "not a ticket token"}
	}
	return nil
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
