package ledger

import (
	"hash/maphash"
	"testing"
)

// Two keys whose hashes collide both stay findable (the second in overflow), and a lookup of
// a key that only shares a hash returns a candidate the caller must confirm.
func TestKeyIndexCollisions(t *testing.T) {
	x := newKeyIndex()
	x.add("a", 1)
	// Pretend "b" hashes like "a": take its slot before adding it.
	x.bySum[maphash.String(x.seed, "b")] = 1
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
