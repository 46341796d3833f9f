package security

import (
	"bytes"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/cloudledger/cloudledger/internal/testcluster"
)

// rewriteTrail alters the account of the first access record naming from (same length)
// in a stopped node's state file and recomputes the trail's chain from there, as an
// attacker with the disk would: the node's own check still passes.
func rewriteTrail(t *testing.T, dataDir, from, to string) {
	t.Helper()
	if len(from) != len(to) {
		t.Fatal("same length only")
	}
	db, err := bolt.Open(filepath.Join(dataDir, "ledger.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("access_trail"))
		var prev [32]byte
		altered := false
		type rec struct{ k, v []byte }
		var all []rec
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			all = append(all, rec{bytes.Clone(k), bytes.Clone(v)})
		}
		for _, r := range all {
			canon := r.v[:len(r.v)-32]
			if !altered {
				if i := bytes.Index(canon, []byte(from)); i >= 0 {
					copy(canon[i:], to)
					altered = true
				}
			}
			h := sha256.Sum256(append(prev[:], canon...))
			prev = h
			if err := b.Put(r.k, append(bytes.Clone(canon), h[:]...)); err != nil {
				return err
			}
		}
		if !altered {
			t.Fatalf("no access record names %q", from)
		}
		return tx.Bucket([]byte("meta")).Put([]byte("access_head"), prev[:])
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Issue 22: `access verify` checks the one node's own copy, so a state file rewritten
// consistently (a record altered and the chain recomputed) still verified — it does here
// too; `access verify --cluster` compares every node's copy and names the rewritten one.
func TestAccessVerifyAcrossTheCluster(t *testing.T) {
	c := testcluster.Start(t, 3, testcluster.Options{})
	seed(t, c)
	auditor := testcluster.RoleToken(t, c.HTTP, c.Nodes[0].URL, "auditor1", "auditor", "")
	ctl := func(url string, args ...string) (string, error) {
		cmd := exec.Command(testcluster.CtlBinary(t), append([]string{"--server", url, "--lang", "en"}, args...)...)
		cmd.Env = append(os.Environ(), "CLOUDLEDGER_TOKEN="+auditor)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := ctl(c.Nodes[0].URL, "access", "verify", "--cluster"); err != nil || strings.Count(out, "agrees") != 3 {
		t.Fatalf("three intact copies: %v\n%s", err, out)
	}
	victim := c.Nodes[2]
	// The auditor's records reach the ledger within a flush (100 ms) and then every copy.
	time.Sleep(time.Second)
	c.WaitConverged(30 * time.Second)
	c.Stop(victim)
	rewriteTrail(t, victim.DataDir, "auditor1", "auditor9")
	c.Restart(victim)
	c.WaitConverged(30 * time.Second)
	if out, err := ctl(victim.URL, "--stale", "access", "verify"); err != nil || !strings.Contains(out, "intact") {
		t.Fatalf("the rewritten copy on its own: %v\n%s", err, out)
	}
	out, err := ctl(c.Nodes[0].URL, "access", "verify", "--cluster")
	if err == nil || !strings.Contains(out, "access_trail_broken") {
		t.Fatalf("--cluster with a rewritten copy: %v\n%s", err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, victim.URL) && !strings.Contains(line, "differs") {
			t.Errorf("the rewritten node's row: %s", line)
		}
	}
}
