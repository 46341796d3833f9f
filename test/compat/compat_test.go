// Package compat opens data directories written by older binaries and checks that the
// current code reaches the same chain (issue 9: on-disk format unchanged).
package compat

import (
	"compress/gzip"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudledger/cloudledger/ledger"
	"github.com/cloudledger/cloudledger/server"
	bolt "go.etcd.io/bbolt"
)

// What the binary that wrote testdata/datadir-v1 reported (testdata/README.md).
const (
	v1LineItems = 454
	v1Head      = "a653b9a5755bd8e99aff98c9796f7fb5f3b52cc780476cd591b69b9427c786d5"
	v1Applied   = 14
	v1RaftAddr  = "127.0.0.1:29871" // the address in its Raft configuration
)

func TestOpensDataDirOfVersion1(t *testing.T) {
	for _, tc := range []struct {
		name       string
		keepLedger bool // false: the state file is gone, so the node restores the snapshot and replays the log
	}{{"state file and log", true}, {"snapshot and log only", false}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDataDir(t, "testdata/datadir-v1", tc.keepLedger)
			s, err := server.Start(server.Config{DataDir: dir, HTTPAddr: "127.0.0.1:0", RaftAddr: v1RaftAddr, NodeID: "node1",
				Token: "compat-token", FastTimeouts: true, TickInterval: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			deadline := time.Now().Add(20 * time.Second)
			for s.Ledger().AppliedIndex() < v1Applied && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			// This version adds one line item to an old ledger: the bootstrap accounts, whose
			// credential is the old admin token (SPEC: Access). The old chain is its prefix.
			for s.Ledger().AccountCount() == 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			head, err := s.Ledger().Verify()
			if err != nil {
				t.Fatal(err)
			}
			var at454 string
			var after []*ledger.LineItem
			if err := s.Ledger().LineItems(v1LineItems, func(li *ledger.LineItem) bool {
				if li.Seq == v1LineItems {
					at454 = li.Hash.String()
				} else {
					after = append(after, li)
				}
				return true
			}); err != nil {
				t.Fatal(err)
			}
			if at454 != v1Head || len(after) != 1 || after[0].Key != "accounts/bootstrap" || head.Seq != v1LineItems+1 {
				t.Fatalf("line item %d has hash %s (the old binary's head: %s); %d line items after it, head %d", v1LineItems, at454, v1Head, len(after), head.Seq)
			}
			if a, ok := s.Ledger().Account(ledger.BootstrapAuthority); !ok || a.Role != ledger.RoleAuthority || len(s.Ledger().TokenGrants(s.Ledger().AdminTokenSHA256())) != 2 {
				t.Fatalf("the old admin token is not the bootstrap accounts' credential: %+v", a)
			}
			if head.AppliedIndex < v1Applied {
				t.Fatalf("applied index %d, want at least %d", head.AppliedIndex, v1Applied)
			}
		})
	}
}

// copyDataDir copies a committed data directory to a temporary one, gunzipping ledger.db.gz.
func copyDataDir(t *testing.T, src string, keepLedger bool) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		var r io.Reader = in
		if filepath.Base(path) == "ledger.db.gz" {
			if !keepLedger {
				return nil
			}
			zr, err := gzip.NewReader(in)
			if err != nil {
				return err
			}
			r, target = zr, filepath.Join(dst, rel[:len(rel)-len(".gz")])
		}
		out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, r); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// A node whose state file was altered behind its back refuses to start, naming the
// invariant (issue 9): it never serves a damaged state.
func TestNodeRefusesDamagedStateFile(t *testing.T) {
	dir := copyDataDir(t, "testdata/datadir-v1", true)
	db, err := bolt.Open(filepath.Join(dir, "ledger.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("head"), make([]byte, 32))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := server.Start(server.Config{DataDir: dir, HTTPAddr: "127.0.0.1:0", RaftAddr: v1RaftAddr, NodeID: "node1", FastTimeouts: true})
	if err == nil {
		s.Close()
		t.Fatal("the node started on a damaged state file")
	}
	if !strings.Contains(err.Error(), ledger.InvHeadIsLastItem) {
		t.Fatalf("start: %v; want it to name invariant %s", err, ledger.InvHeadIsLastItem)
	}
}
