package ledger

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/cloudledger/cloudledger/backupfile"
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
	if _, err := RestoreBackup(path, bytes.NewReader(bad), sha("new")); err == nil {
		t.Fatal("a bit-flipped backup was restored")
	}
	if _, err := RestoreBackup(path, bytes.NewReader(buf.Bytes()), sha("new")); err != nil {
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
	if _, err := RestoreBackup(path, bytes.NewReader(buf.Bytes()), sha("new")); err == nil {
		t.Fatal("a restore over an existing state file succeeded")
	}
}

const sessionKeyHex = "5e55105e55105e55105e55105e55105e55105e55105e55105e55105e55105e55"
