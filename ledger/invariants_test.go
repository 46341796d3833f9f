package ledger

import (
	"errors"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A state file damaged behind the ledger's back is refused at open, naming the invariant.
func TestOpenRefusesDamagedStateFile(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(tx *bolt.Tx) error
		want   string
	}{
		{"last line item deleted", func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketLineItems)
			k, _ := b.Cursor().Last()
			return b.Delete(k)
		}, InvSeqDense},
		{"head overwritten", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put([]byte("head"), make([]byte, 32))
		}, InvHeadIsLastItem},
		{"resource below zero", func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte("resources"))
			r, err := decodeResource(b.Get([]byte("vm1")))
			if err != nil {
				return err
			}
			r.Quantity = dec("-3")
			return b.Put([]byte("vm1"), encodeResource(r))
		}, InvHeldNonNegative},
		{"entity under another key", func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte("departments"))
			return b.Put([]byte("d9"), b.Get([]byte("d1")))
		}, InvTableKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.seed()
			f.ok(alloc("vm1", "ecs.vcpu", KindStandard, "8", time.Time{}))
			path := f.l.path
			if err := f.l.Close(); err != nil {
				t.Fatal(err)
			}
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Update(tc.damage); err != nil {
				t.Fatal(err)
			}
			db.Close()
			l, err := Open(path)
			if err == nil {
				l.Close()
				t.Fatal("a damaged state file opened")
			}
			var ie *InvariantError
			if !errors.As(err, &ie) || ie.Name != tc.want {
				t.Fatalf("open: %v; want invariant %s", err, tc.want)
			}
		})
	}
}

// A flush that would leave a gap in the sequence numbers stops instead.
func TestFlushAssertsDenseSequence(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.l.Flush()
	f.ok(alloc("vm1", "ecs.vcpu", KindStandard, "8", time.Time{}))
	f.l.root.added[0].Seq += 5 // as a bug in apply would
	defer func() {
		ie, ok := recover().(*InvariantError)
		if !ok || ie.Name != InvSeqDense {
			t.Fatalf("recovered %v, want invariant %s", ie, InvSeqDense)
		}
		f.l.root.added = nil
		f.l.applied = f.l.flushed
	}()
	f.l.Flush()
}
