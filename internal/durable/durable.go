// Package durable holds the file-system steps that make a write survive a crash: a file's
// contents and a directory's entries (a rename, a new file) synced to the disk.
package durable

import "os"

// SyncFile flushes the file at path to the disk.
func SyncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// SyncDir flushes a directory's entries, so that a rename or a new file in it is durable.
func SyncDir(dir string) error { return SyncFile(dir) }
