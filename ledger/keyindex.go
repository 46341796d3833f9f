package ledger

import (
	"fmt"
	"hash/maphash"

	bolt "go.etcd.io/bbolt"
)

// keyIndex maps the idempotency keys of flushed line items to their sequence numbers. It
// lives in memory, rebuilt from the line items at open: inserting random keys into a bbolt
// bucket dirtied about a page per key on every flush. A 64-bit hash of the key is the map
// key; the rare key whose hash another key already holds goes to overflow, and a lookup is
// always confirmed against the stored line item's own key.
type keyIndex struct {
	seed     maphash.Seed
	bySum    map[uint64]uint64
	overflow map[string]uint64
}

func newKeyIndex() *keyIndex {
	return &keyIndex{seed: maphash.MakeSeed(), bySum: map[uint64]uint64{}, overflow: map[string]uint64{}}
}

func (x *keyIndex) add(key string, seq uint64) {
	if key == "" {
		return
	}
	h := maphash.String(x.seed, key)
	if _, taken := x.bySum[h]; taken {
		x.overflow[key] = seq // a key is never added twice, so this is another key
		return
	}
	x.bySum[h] = seq
}

// lookup returns the sequence a key may have; the caller confirms it with the line item.
func (x *keyIndex) lookup(key string) (uint64, bool) {
	if seq, ok := x.overflow[key]; ok {
		return seq, true
	}
	seq, ok := x.bySum[maphash.String(x.seed, key)]
	return seq, ok
}

// loadKeyIndex reads every stored line item's key, scoped by its tenant from version 5
// on (tenantkeys.go).
func loadKeyIndex(tx *bolt.Tx, root *txn) (*keyIndex, error) {
	x := newKeyIndex()
	c := tx.Bucket(bucketLineItems).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		key, actor, _, err := storedKeyBody(v)
		if err != nil {
			return nil, fmt.Errorf("line item %x: %w", k, err)
		}
		if len(k) == 8 {
			seq := beUint64(k)
			x.add(root.indexKeyOf(key, actor, seq), seq)
		}
	}
	return x, nil
}

func beUint64(b []byte) uint64 {
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 | uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}
