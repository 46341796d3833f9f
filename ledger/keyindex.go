package ledger

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// keyIndex maps the idempotency keys of flushed line items to their sequence numbers. It
// lives in memory, rebuilt from the line items at open: inserting random keys into a bbolt
// bucket dirtied about a page per key on every flush. A 64-bit hash of the key stands for
// it; the rare key whose hash another key already holds goes to overflow, and a lookup is
// always confirmed against the stored line item's own key.
//
// Most keys are old: they sit in one slice sorted by hash, 16 bytes a key, where a map
// costs about 36. Keys added since the last merge are in a map; it is merged into the
// slice once it holds an eighth as many (and at least minKeyMerge), so a merge's copy is
// paid once per that many flushed line items.
type keyIndex struct {
	seed     maphash.Seed
	sorted   []keySum // sorted by sum, no sum twice, none of them in recent
	recent   map[uint64]uint64
	overflow map[string]uint64
}

// keySum is a key's hash and the sequence of its line item.
type keySum struct{ sum, seq uint64 }

// minKeyMerge is the fewest recent keys merged into the sorted slice at once.
const minKeyMerge = 1 << 16

func newKeyIndex() *keyIndex {
	return &keyIndex{seed: maphash.MakeSeed(), recent: map[uint64]uint64{}, overflow: map[string]uint64{}}
}

func (x *keyIndex) add(key string, seq uint64) {
	if key == "" {
		return
	}
	h := maphash.String(x.seed, key)
	if _, taken := x.bySum(h); taken {
		x.overflow[key] = seq // a key is never added twice, so this is another key
		return
	}
	x.recent[h] = seq
	if len(x.recent) >= max(minKeyMerge, len(x.sorted)/8) {
		x.merge()
	}
}

// bySum is the sequence stored under hash h.
func (x *keyIndex) bySum(h uint64) (uint64, bool) {
	if seq, ok := x.recent[h]; ok {
		return seq, true
	}
	i, found := slices.BinarySearchFunc(x.sorted, h, func(e keySum, h uint64) int { return cmp.Compare(e.sum, h) })
	if !found {
		return 0, false
	}
	return x.sorted[i].seq, true
}

// merge moves the recent keys into the sorted slice.
func (x *keyIndex) merge() {
	add := make([]keySum, 0, len(x.recent))
	for h, seq := range x.recent {
		add = append(add, keySum{h, seq})
	}
	slices.SortFunc(add, func(a, b keySum) int { return cmp.Compare(a.sum, b.sum) })
	merged := make([]keySum, 0, len(x.sorted)+len(add))
	i, j := 0, 0
	for i < len(x.sorted) && j < len(add) {
		if x.sorted[i].sum < add[j].sum {
			merged = append(merged, x.sorted[i])
			i++
		} else {
			merged = append(merged, add[j])
			j++
		}
	}
	merged = append(append(merged, x.sorted[i:]...), add[j:]...)
	x.sorted = merged
	x.recent = map[uint64]uint64{}
}

// lookup returns the sequence a key may have; the caller confirms it with the line item.
func (x *keyIndex) lookup(key string) (uint64, bool) {
	if seq, ok := x.overflow[key]; ok {
		return seq, true
	}
	return x.bySum(maphash.String(x.seed, key))
}

// loadKeyIndex reads every stored line item's key, scoped by its tenant from version 5
// on (tenantkeys.go).
func loadKeyIndex(tx *bolt.Tx, root *txn) (*keyIndex, error) {
	x := newKeyIndex()
	x.sorted = make([]keySum, 0, root.seq) // most line items have a key
	b := tx.Bucket(bucketLineItems)
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		key, actor, _, err := storedKeyBody(v)
		if err != nil {
			return nil, fmt.Errorf("line item %x: %w", k, err)
		}
		if len(k) == 8 && key != "" {
			seq := beUint64(k)
			x.sorted = append(x.sorted, keySum{maphash.String(x.seed, root.indexKeyOf(key, actor, seq)), seq})
		}
	}
	// Sorted once; the later of two keys with one hash goes to overflow, by its own key.
	x.sorted = radixSortBySum(x.sorted)
	w := 0
	for _, e := range x.sorted {
		if w > 0 && e.sum == x.sorted[w-1].sum {
			var sk [8]byte
			binary.BigEndian.PutUint64(sk[:], e.seq)
			key, actor, _, err := storedKeyBody(b.Get(sk[:]))
			if err != nil {
				return nil, fmt.Errorf("line item %d: %w", e.seq, err)
			}
			x.overflow[root.indexKeyOf(key, actor, e.seq)] = e.seq
			continue
		}
		x.sorted[w] = e
		w++
	}
	x.sorted = slices.Clip(x.sorted[:w])
	return x, nil
}

func beUint64(b []byte) uint64 {
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 | uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}

// radixSortBySum sorts keys by hash, stably (the line items come in sequence order, so keys
// of one hash stay in it): four passes of 16 bits, linear in the keys, where a comparison
// sort of the 10,000,000 keys of a large ledger took 2.3 s of its open. It uses a second
// slice as large; which of the two it returns is not said.
func radixSortBySum(keys []keySum) []keySum {
	if len(keys) < 1<<12 {
		slices.SortStableFunc(keys, func(a, b keySum) int { return cmp.Compare(a.sum, b.sum) })
		return keys
	}
	from, to := keys, make([]keySum, len(keys))
	var count [1 << 16]int
	for shift := uint(0); shift < 64; shift += 16 {
		clear(count[:])
		for _, k := range from {
			count[k.sum>>shift&0xffff]++
		}
		at := 0
		for i, n := range count {
			count[i] = at
			at += n
		}
		for _, k := range from {
			d := k.sum >> shift & 0xffff
			to[count[d]] = k
			count[d]++
		}
		from, to = to, from
	}
	return from
}
