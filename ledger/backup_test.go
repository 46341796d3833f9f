package ledger

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/cloudledger/cloudledger/backupfile"
	"github.com/cloudledger/cloudledger/errcode"
)

// countingVisitor remembers the current bucket.
type countingVisitor struct {
	cur    string
	counts map[string]int
}

func (v *countingVisitor) Bucket(name string) error { v.cur = name; v.counts[name] = 0; return nil }
func (v *countingVisitor) Pair(_, _ []byte) error   { v.counts[v.cur]++; return nil }

func bucketCounts(t *testing.T, l *Ledger) map[string]int {
	t.Helper()
	out := map[string]int{}
	if err := l.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			out[string(name)] = b.Stats().KeyN
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// Issue 29, must show 1: a backup carries every bucket of the state file — each table
// declared in tables.go and the chain's own — with every pair, except the secrets it leaves
// out on purpose (SPEC: a backup carries no secret). A table added to tables.go, or any
// bucket the state file holds, that the backup forgot fails here.
func TestBackupCarriesEveryTable(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.ok(alloc("r1", "ecs.vcpu", KindStandard, "2", time.Time{}), alloc("r2", "ecs.memory", KindStandard, "100", time.Time{}))
	f.ok(&InstallAdminToken{SetAdminToken: SetAdminToken{TokenSHA256: sha("boot")}}, &BootstrapAccounts{}, &SetSessionKey{Key: sessionKeyHex})

	var buf bytes.Buffer
	h, err := f.l.Backup(&buf, "node1", f.now)
	if err != nil {
		t.Fatal(err)
	}
	v := &countingVisitor{counts: map[string]int{}}
	sum, err := backupfile.Read(bytes.NewReader(buf.Bytes()), v)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Header.LineItems != f.l.Head().Seq || sum.Header.LineItems == 0 {
		t.Fatalf("the header says %d line items, the ledger holds %d", sum.Header.LineItems, f.l.Head().Seq)
	}
	for _, tb := range tables {
		if tb.stored() {
			if _, ok := v.counts[string(tb.bucketName())]; !ok {
				t.Errorf("table %s (tables.go) is missing from the backup", tb.bucketName())
			}
		}
	}
	stored := bucketCounts(t, f.l)
	for name, n := range stored {
		got, ok := v.counts[name]
		switch {
		case !ok:
			t.Errorf("bucket %s of the state file is missing from the backup", name)
		case name == "credentials" || name == "tokens":
			if got != 0 {
				t.Errorf("the backup carries %d pairs of %s (secrets)", got, name)
			}
		case name == "settings":
			if got != n-2 { // the session key and the admin token's hash stay out
				t.Errorf("settings: %d pairs in the backup, %d in the state less the 2 secrets", got, n)
			}
		case got != n:
			t.Errorf("bucket %s: %d pairs in the backup, %d in the state", name, got, n)
		}
	}
	if stored["tokens"] == 0 || stored["settings"] < 2 {
		t.Fatalf("the fixture holds no secret to leave out: %v", stored)
	}
	for _, secret := range []string{sessionKeyHex, sha("boot")} {
		if bytes.Contains(buf.Bytes(), []byte(secret)) {
			t.Errorf("the backup holds the secret %q", secret)
		}
	}

	// Restored, it holds the same chain and state, the new bootstrap credential granted to
	// the bootstrap security account only, and nothing at the path if the file is damaged.
	path := filepath.Join(t.TempDir(), "restored.db")
	bad := bytes.Clone(buf.Bytes())
	bad[len(bad)/2] ^= 1
	if _, err := RestoreBackup(path, bytes.NewReader(bad), sha("new"), ""); err == nil {
		t.Fatal("a bit-flipped backup was restored")
	}
	if _, err := RestoreBackup(path, bytes.NewReader(buf.Bytes()), sha("new"), strings.Repeat("0", 64)); err == nil || !strings.Contains(err.Error(), "not the expected") {
		t.Fatalf("a backup ending in another head than expected: %v", err)
	}
	if _, err := RestoreBackup(path, bytes.NewReader(buf.Bytes()), sha("new"), f.l.Head().Hash.String()); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Head() != f.l.Head() || r.AppliedIndex() != h.RaftIndex {
		t.Fatalf("restored head %+v at %d, backup head %+v at %d", r.Head(), r.AppliedIndex(), f.l.Head(), h.RaftIndex)
	}
	if _, err := r.Verify(); err != nil {
		t.Fatal(err)
	}
	if g := r.TokenGrants(sha("new")); len(g) != 1 || g[0].Account != BootstrapSecurity {
		t.Fatalf("the new bootstrap credential is granted to %+v, want the bootstrap security account alone", g)
	}
	if g := r.TokenGrants(sha("boot")); len(g) != 0 || r.SessionKey() != nil {
		t.Fatal("the old cluster's credential or session key came back")
	}
	if _, ok := r.RestoredFrom(); !ok || r.BootstrapRetired() {
		t.Fatal("a restored state must say where it came from and take the new bootstrap credential")
	}
	if got, want := bucketCounts(t, r)["resources"], bucketCounts(t, f.l)["resources"]; got != want || got != 2 {
		t.Fatalf("restored %d resources, the original holds %d", got, want)
	}
	if _, err := RestoreBackup(path, bytes.NewReader(buf.Bytes()), sha("new"), ""); err == nil {
		t.Fatal("a restore over an existing state file succeeded")
	}
}

const sessionKeyHex = "5e55105e55105e55105e55105e55105e55105e55105e55105e55105e55105e55"

// rewriter copies a backup, letting inject add pairs at the start of a bucket: a file
// altered by someone who recomputed its chains and checksum.
type rewriter struct {
	w      *backupfile.Writer
	inject func(bucket string, w *backupfile.Writer)
}

func (r *rewriter) Bucket(name string) error {
	if err := r.w.Bucket(name); err != nil {
		return err
	}
	r.inject(name, r.w)
	return nil
}
func (r *rewriter) Pair(k, v []byte) error { return r.w.Pair(k, v) }

func altered(t *testing.T, raw []byte, inject func(bucket string, w *backupfile.Writer)) []byte {
	t.Helper()
	s, err := backupfile.Read(bytes.NewReader(raw), nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w, err := backupfile.NewWriter(&out, s.Header)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := backupfile.Read(bytes.NewReader(raw), &rewriter{w: w, inject: inject}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// A restore takes no secret, whatever the file says (a backup altered with its chains and
// checksum recomputed still verifies): a planted token, session key or password hash, a
// bucket no state file has, or a forged recovery mark are refused, and nothing is written.
func TestRestoreRefusesPlantedSecrets(t *testing.T) {
	f := newFixture(t)
	f.seed()
	var buf bytes.Buffer
	if _, err := f.l.Backup(&buf, "node1", f.now); err != nil {
		t.Fatal(err)
	}
	if _, err := backupfile.Read(bytes.NewReader(buf.Bytes()), nil); err != nil {
		t.Fatal(err)
	}
	for what, plant := range map[string]func(bucket string, w *backupfile.Writer){
		"a token": func(b string, w *backupfile.Writer) {
			if b == "tokens" {
				w.Pair([]byte(sha("known")), []byte(`{"sha256":"`+sha("known")+`","grants":[{"account":"admin","id":"x"}]}`))
			}
		},
		"a session key": func(b string, w *backupfile.Writer) {
			if b == "settings" {
				w.Pair([]byte(metaSessionKey), []byte(sessionKeyHex))
			}
		},
		"a password hash": func(b string, w *backupfile.Writer) {
			if b == "credentials" {
				w.Pair([]byte("sec1"), []byte(`{"account":"sec1","password_hash":"$argon2id$known"}`))
			}
		},
		"the end of recovery": func(b string, w *backupfile.Writer) {
			if b == "settings" {
				w.Pair([]byte(metaRecoveryOver), []byte("2026-01-01T00:00:00Z"))
			}
		},
	} {
		bad := altered(t, buf.Bytes(), plant)
		if _, err := backupfile.Read(bytes.NewReader(bad), nil); err != nil {
			t.Fatalf("%s: the altered file does not verify (the test would prove nothing): %v", what, err)
		}
		path := filepath.Join(t.TempDir(), "state.db")
		if _, err := RestoreBackup(path, bytes.NewReader(bad), sha("new"), ""); err == nil || !strings.Contains(err.Error(), "refused") {
			t.Errorf("a backup carrying %s: %v", what, err)
		}
		if _, err := os.Stat(path); err == nil {
			t.Errorf("a refused restore (%s) left a state file", what)
		}
	}
}

// After a restore the bootstrap credential gives one active security officer an activation
// code and nothing else — not a token for the authority program account it made in the
// old cluster, not a code for an authority — and once that officer activated, recovery is
// over for good (a later password change does not bring it back).
func TestRecoveryAfterRestore(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.ok(&InstallAdminToken{SetAdminToken: SetAdminToken{TokenSHA256: sha("boot")}}, &BootstrapAccounts{}, &SetSessionKey{Key: sessionKeyHex})
	f.asOK(BootstrapSecurity, add("sec1", RoleSecurity, false))
	f.asOK(BootstrapSecurity, add("auth1", RoleAuthority, true)) // a program: tokens from security
	f.asOK("sec1", add("sec2", RoleSecurity, false))             // pending: nobody confirmed it
	var buf bytes.Buffer
	if _, err := f.l.Backup(&buf, "node1", f.now); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "restored.db")
	if _, err := RestoreBackup(path, bytes.NewReader(buf.Bytes()), sha("new"), ""); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	g := &fixture{t: t, l: r, index: r.AppliedIndex(), now: f.now, n: 1000}
	if r.BootstrapRetired() {
		t.Fatal("a restored ledger refuses its new bootstrap credential")
	}
	boot := BootstrapSecurity
	g.asRefused(errcode.PermissionDenied, boot, &CredentialSecret{Op: CredTokenIssued, Account: "auth1", TokenID: "t1", Secret: sha("t")},
		&CredentialChange{Op: CredTokenIssued, Account: "auth1", TokenID: "t1"})
	code := func(id, c string) []Body {
		return []Body{&CredentialSecret{Op: CredActivationCode, Account: id, Secret: sha(c)}, &CredentialChange{Op: CredActivationIssued, Account: id}}
	}
	g.asRefused(errcode.PermissionDenied, boot, &AccountChange{Op: AccountAdd, ID: "auth2", Name: "auth2", Role: RoleAuthority})
	g.asRefused(errcode.PermissionDenied, boot, code("sec2", "c0")...) // pending
	g.asOK(boot, code("sec1", "c1")...)
	g.asOK(boot, code("sec1", "c2")...) // the same officer again: a new code replaces the old
	activate := func(id, c, hash string) []Body {
		return []Body{&CredentialSecret{Op: CredActivate, Account: id, Secret: sha(c)},
			&CredentialSecret{Op: CredPasswordSet, Account: id, Secret: hash}, &CredentialChange{Op: CredActivated, Account: id}}
	}
	g.asOK("sec1", activate("sec1", "c2", "$argon2id$one")...)
	if !r.BootstrapRetired() {
		t.Fatal("recovery is not over once a security officer re-activated")
	}
	g.asOK("sec1", &CredentialSecret{Op: CredPasswordSet, Account: "sec1", Secret: "$argon2id$two"}, &CredentialChange{Op: CredPasswordSet, Account: "sec1"})
	if !r.BootstrapRetired() {
		t.Fatal("recovery came back after the officer changed their password")
	}
}
