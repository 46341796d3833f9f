package ticket

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A ticket moves new → prepared → used for its node and operation only, and is refused,
// with one message whatever the reason, when it is unknown, for another node or operation,
// expired or already past the state asked for. Only its hash is on disk.
func TestTicketIsSingleUseForItsNode(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	tok, err := Make(dir, Join, "n4", false, time.Hour, "0011", now)
	if err != nil {
		t.Fatal(err)
	}
	if Pin(tok) != "0011" || !strings.HasPrefix(tok, "clt1.") {
		t.Fatalf("token %q", tok)
	}
	secret, _ := split(tok)
	files, _ := os.ReadDir(filepath.Join(dir, Dir))
	for _, f := range files {
		raw, _ := os.ReadFile(filepath.Join(dir, Dir, f.Name()))
		if strings.Contains(string(raw), secret) || strings.Contains(f.Name(), secret) {
			t.Fatal("the secret is on disk")
		}
	}
	b := Open(dir)
	ok := func(Ticket) (string, error) { return "", nil }
	msg := func(node, step string) []byte {
		return JoinMessage(step, node, "10.0.0.4:8081", "https://n4:8080", []byte("csr"))
	}
	present := func(token string, m []byte) (string, string) {
		id, proof, err := Present(token, m)
		if err != nil {
			t.Fatal(err)
		}
		return id, proof
	}
	use := func(token, node string, m []byte, op Op, from []State, to State, now time.Time, act func(Ticket) (string, error)) (Ticket, error) {
		id, proof := present(token, m)
		return b.Use(id, proof, m, op, node, from, to, now, act)
	}
	refused := func(what string, err error, reason string) {
		t.Helper()
		var r *Refused
		if !errors.As(err, &r) || !strings.Contains(r.Reason, reason) || r.Error() != (&Refused{}).Error() {
			t.Fatalf("%s: %v (reason %v), want a refusal because %q", what, err, r, reason)
		}
	}
	_, err = use(tok, "n1", msg("n1", "prepare"), Join, []State{New}, Prepared, now, ok)
	refused("for another node", err, "for node n4")
	_, err = use(tok, "n4", msg("n4", "prepare"), Remove, []State{New}, Used, now, ok)
	refused("for another operation", err, "join ticket presented for a remove")
	id, proof := present(tok, msg("n4", "prepare"))
	_, err = b.Use(id, proof, msg("n4", "admit"), Join, "n4", []State{New}, Prepared, now, ok)
	refused("a proof of another request (seen on the wire, replayed)", err, "the proof does not match")
	_, err = use("clt1."+strings.Repeat("A", 43), "n4", msg("n4", "prepare"), Join, []State{New}, Prepared, now, ok)
	refused("unknown", err, "no such ticket")
	_, err = b.Use("junk", "junk", nil, Join, "n4", []State{New}, Prepared, now, ok)
	refused("not an id and proof", err, "not a ticket's id and proof")
	_, err = use(tok, "n4", msg("n4", "prepare"), Join, []State{New}, Prepared, now, func(Ticket) (string, error) { return "", errors.New("signing failed") })
	if err == nil || err.Error() != "signing failed" {
		t.Fatalf("a failed act: %v", err)
	}
	got, err := use(tok, "n4", msg("n4", "prepare"), Join, []State{New}, Prepared, now, func(Ticket) (string, error) { return "abcd", nil })
	if err != nil || got.State != Prepared || got.CertificateSHA256 != "abcd" {
		t.Fatalf("prepare after a failed act: %+v %v", got, err)
	}
	_, err = use(tok, "n4", msg("n4", "prepare"), Join, []State{New}, Prepared, now, ok)
	refused("a second certificate", err, "the ticket is prepared")
	if got, err = use(tok, "n4", msg("n4", "admit"), Join, []State{Prepared}, Used, now, ok); err != nil || got.State != Used {
		t.Fatalf("admit: %+v %v", got, err)
	}
	_, err = use(tok, "n4", msg("n4", "admit"), Join, []State{Prepared}, Used, now.Add(time.Minute), ok)
	refused("used", err, "the ticket is used")

	late, _ := Make(dir, Join, "n5", false, time.Hour, "", now)
	_, err = use(late, "n5", msg("n5", "prepare"), Join, []State{New}, Prepared, now.Add(time.Hour), ok)
	refused("expired at its TTL", err, "expired")

	for _, bad := range []struct {
		id  string
		ttl time.Duration
	}{{"", time.Hour}, {"../x", time.Hour}, {"-n", time.Hour}, {"n6", 0}, {"n6", MaxTTL + time.Second}} {
		if _, err := Make(dir, Join, bad.id, false, bad.ttl, "", now); err == nil {
			t.Errorf("Make(%q, %s) accepted", bad.id, bad.ttl)
		}
	}
}

// Used and expired tickets stay a week for the operator to see, then go.
func TestOldTicketsArePruned(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	if _, err := Make(dir, Join, "old", false, time.Hour, "", now); err != nil {
		t.Fatal(err)
	}
	if _, err := Make(dir, Join, "new", false, time.Hour, "", now.Add(keepUsedFor+2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	files, _ := os.ReadDir(filepath.Join(dir, Dir))
	if len(files) != 1 {
		t.Fatalf("%d ticket files, want the new one only", len(files))
	}
}
