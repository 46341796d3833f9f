package ledger

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"slices"
	"testing"
)

// Two keys whose hashes collide both stay findable (the second in overflow), and a lookup of
// a key that only shares a hash returns a candidate the caller must confirm.
func TestKeyIndexCollisions(t *testing.T) {
	x := newKeyIndex()
	x.add("a", 1)
	// Pretend "b" hashes like "a": take its slot before adding it.
	x.recent[maphash.String(x.seed, "b")] = 1
	x.add("b", 2)
	if seq, ok := x.lookup("b"); !ok || seq != 2 {
		t.Fatalf("b: %d %v, want 2 from overflow", seq, ok)
	}
	if seq, ok := x.lookup("a"); !ok || seq != 1 {
		t.Fatalf("a: %d %v", seq, ok)
	}
	if _, ok := x.lookup("c"); ok {
		t.Fatal("an unknown key was found")
	}
	x.add("", 9)
	if _, ok := x.lookup(""); ok {
		t.Fatal("an empty key (a tick) was indexed")
	}
}

// Keys stay findable across merges into the sorted slice, a colliding key among the sorted
// ones included, and nothing unknown is found.
func TestKeyIndexMerges(t *testing.T) {
	x := newKeyIndex()
	n := 3*minKeyMerge + 17
	for i := 1; i <= n; i++ {
		x.add(fmt.Sprintf("key-%d", i), uint64(i))
	}
	if len(x.sorted) < 3*minKeyMerge || len(x.recent) != n-len(x.sorted) {
		t.Fatalf("%d sorted, %d recent: want the first %d merged", len(x.sorted), len(x.recent), 3*minKeyMerge)
	}
	for i := 1; i < len(x.sorted); i++ {
		if x.sorted[i-1].sum >= x.sorted[i].sum {
			t.Fatalf("sorted slice out of order at %d", i)
		}
	}
	// A key whose hash a sorted key holds goes to overflow: pretend "zz" hashes like a
	// sorted key by putting its hash among them first.
	h := maphash.String(x.seed, "zz")
	x.sorted = append(x.sorted, keySum{h, 1})
	slices.SortFunc(x.sorted, func(a, b keySum) int { return cmp.Compare(a.sum, b.sum) })
	x.add("zz", 7)
	if seq, ok := x.lookup("zz"); !ok || seq != 7 || x.overflow["zz"] != 7 {
		t.Fatalf("zz: %d %v, want 7 from overflow", seq, ok)
	}
	first := x.sorted[0]
	for i := 1; i <= n; i += 997 {
		if seq, ok := x.lookup(fmt.Sprintf("key-%d", i)); !ok || seq != uint64(i) {
			t.Fatalf("key-%d: %d %v", i, seq, ok)
		}
	}
	if seq, ok := x.bySum(first.sum); !ok || seq != first.seq {
		t.Fatalf("the first sorted sum: %d %v", seq, ok)
	}
	if _, ok := x.lookup("key-0"); ok {
		t.Fatal("an unknown key was found")
	}
}

// The radix sort orders by hash and keeps the sequence order of equal hashes, as a stable
// comparison sort does, at every size.
func TestRadixSortBySum(t *testing.T) {
	for _, n := range []int{0, 1, 100, 1<<12 + 1, 100_000} {
		keys := make([]keySum, n)
		for i := range keys {
			keys[i] = keySum{sum: uint64(i*2654435761) ^ uint64(i)<<40, seq: uint64(i + 1)}
			if i%97 == 0 && i > 0 {
				keys[i].sum = keys[i-1].sum // a hash twice
			}
		}
		want := slices.Clone(keys)
		slices.SortStableFunc(want, func(a, b keySum) int { return cmp.Compare(a.sum, b.sum) })
		if got := radixSortBySum(keys); !slices.Equal(got, want) {
			t.Fatalf("%d keys: the radix sort differs from a stable sort", n)
		}
	}
}
