package durable

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSyncFileAndDir(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := SyncFile(p); err != nil {
		t.Fatal(err)
	}
	if err := SyncDir(dir); err != nil {
		t.Fatal(err)
	}
	if err := SyncFile(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("syncing a file that does not exist succeeded")
	}
}
