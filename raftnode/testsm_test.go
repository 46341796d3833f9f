package raftnode

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// testSM is a StateMachine that appends every entry to a bbolt file together
// with its applied index, and counts what happens to it since it was opened.
type testSM struct {
	db       *bolt.DB
	applied  atomic.Uint64
	applies  atomic.Int64 // entries applied since open
	dups     atomic.Int64 // entries applied at an index already stored: must stay 0
	restores atomic.Int64
}

var (
	testEntriesBucket = []byte("entries")
	testStateBucket   = []byte("state")
	testAppliedKey    = []byte("applied")
)

// testRejectPrefix marks a command the test SM answers with an error result.
const testRejectPrefix = "reject:"

func openTestSM(t *testing.T, path string) *testSM {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatalf("open test state machine: %v", err)
	}
	sm := &testSM{db: db}
	err = db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(testEntriesBucket); err != nil {
			return err
		}
		b, err := tx.CreateBucketIfNotExists(testStateBucket)
		if err != nil {
			return err
		}
		if v := b.Get(testAppliedKey); v != nil {
			sm.applied.Store(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("init test state machine: %v", err)
	}
	return sm
}

func (sm *testSM) close() { _ = sm.db.Close() }

func indexKey(i uint64) []byte { return binary.BigEndian.AppendUint64(nil, i) }

// ApplyBatch answers each entry with its index (or an error for rejected
// commands) and stores entries and the applied index in one transaction.
func (sm *testSM) ApplyBatch(entries []Entry) []any {
	results := make([]any, len(entries))
	last := entries[len(entries)-1].Index
	err := sm.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(testEntriesBucket)
		for i, e := range entries {
			if strings.HasPrefix(string(e.Data), testRejectPrefix) {
				results[i] = errors.New("test state machine: rejected")
				continue
			}
			if b.Get(indexKey(e.Index)) != nil {
				sm.dups.Add(1)
			}
			if err := b.Put(indexKey(e.Index), e.Data); err != nil {
				return err
			}
			results[i] = e.Index
		}
		// Counted before the commit makes the entries visible, so a test that saw them can
		// read the count at once (a failed commit fails the test anyway).
		sm.applies.Add(int64(len(entries)))
		return tx.Bucket(testStateBucket).Put(testAppliedKey, indexKey(last))
	})
	if err != nil {
		for i := range results {
			results[i] = err
		}
		return results
	}
	sm.applied.Store(last)
	return results
}

func (sm *testSM) AppliedIndex() uint64 { return sm.applied.Load() }

func (sm *testSM) Snapshot() (Snapshot, error) {
	tx, err := sm.db.Begin(false)
	if err != nil {
		return nil, err
	}
	return &testSnapshot{tx: tx}, nil
}

// Restore reads what testSnapshot.Persist wrote: the applied index, then
// (index, length, data) per entry.
func (sm *testSM) Restore(r io.Reader) error {
	br := bufio.NewReader(r)
	var applied uint64
	if err := binary.Read(br, binary.BigEndian, &applied); err != nil {
		return fmt.Errorf("read applied index: %w", err)
	}
	type entry struct {
		index uint64
		data  []byte
	}
	var entries []entry
	for {
		var index uint64
		if err := binary.Read(br, binary.BigEndian, &index); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return err
		}
		var size uint32
		if err := binary.Read(br, binary.BigEndian, &size); err != nil {
			return err
		}
		data := make([]byte, size)
		if _, err := io.ReadFull(br, data); err != nil {
			return err
		}
		entries = append(entries, entry{index, data})
	}
	err := sm.db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(testEntriesBucket); err != nil {
			return err
		}
		b, err := tx.CreateBucket(testEntriesBucket)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := b.Put(indexKey(e.index), e.data); err != nil {
				return err
			}
		}
		sm.restores.Add(1) // before the commit, as in ApplyBatch
		return tx.Bucket(testStateBucket).Put(testAppliedKey, indexKey(applied))
	})
	if err != nil {
		return err
	}
	sm.applied.Store(applied)
	return nil
}

// entries returns the stored commands in index order.
func (sm *testSM) entries() []string {
	var out []string
	_ = sm.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(testEntriesBucket).ForEach(func(_, v []byte) error {
			out = append(out, string(v))
			return nil
		})
	})
	return out
}

type testSnapshot struct{ tx *bolt.Tx }

func (s *testSnapshot) Persist(w io.Writer) error {
	v := s.tx.Bucket(testStateBucket).Get(testAppliedKey)
	var applied uint64
	if v != nil {
		applied = binary.BigEndian.Uint64(v)
	}
	if err := binary.Write(w, binary.BigEndian, applied); err != nil {
		return err
	}
	return s.tx.Bucket(testEntriesBucket).ForEach(func(k, v []byte) error {
		if _, err := w.Write(k); err != nil {
			return err
		}
		if err := binary.Write(w, binary.BigEndian, uint32(len(v))); err != nil {
			return err
		}
		_, err := w.Write(v)
		return err
	})
}

func (s *testSnapshot) Release() { _ = s.tx.Rollback() }
