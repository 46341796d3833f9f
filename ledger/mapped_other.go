//go:build !linux

package ledger

import bolt "go.etcd.io/bbolt"

// releaseMappedPages is Linux's only (mapped_linux.go).
func releaseMappedPages(*bolt.DB) {}
