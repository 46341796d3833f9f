package backupfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

// chainValue is a chained entry as the ledger stores it: uvarint seq ‖ body, then the hash.
func chainValue(prev [32]byte, seq uint64, body string) ([]byte, [32]byte) {
	canon := append(binary.AppendUvarint(nil, seq), body...)
	h := sha256.Sum256(append(prev[:], canon...))
	return append(canon, h[:]...), h
}

func key(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// sample is a small valid backup: two line items, one access record, a table.
func sample(t testing.TB) ([]byte, Header) {
	var items, trail [][]byte
	var head, trailHead [32]byte
	for i, body := range []string{"allocate r1", "allocate r2"} {
		var v []byte
		v, head = chainValue(head, uint64(i+1), body)
		items = append(items, v)
	}
	v, trailHead := chainValue(trailHead, 1, "signin security1 ok")
	trail = append(trail, v)
	h := Header{CreatedAt: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC), SourceNode: "node1", RaftIndex: 42, StateIndex: 40,
		LineItems: 2, Head: hex.EncodeToString(head[:]), TrailRecords: 1, TrailHead: hex.EncodeToString(trailHead[:]),
		Buckets: []string{BucketLineItems, BucketTrail, "departments"}, Omitted: []string{"credentials (every value)"}}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, h)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.Bucket(BucketLineItems))
	for i, v := range items {
		must(w.Pair(key(uint64(i+1)), v))
	}
	must(w.Bucket(BucketTrail))
	must(w.Pair(key(1), trail[0]))
	must(w.Bucket("departments"))
	must(w.Pair([]byte("edu"), []byte(`{"id":"edu","name":"市教育局"}`)))
	must(w.Close())
	return buf.Bytes(), h
}

func TestReadChecksWhatItWasGiven(t *testing.T) {
	raw, h := sample(t)
	s, err := Read(bytes.NewReader(raw), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Pairs != 4 || s.Header.LineItems != 2 || s.Header.Head != h.Head || s.Bytes != int64(len(raw)) {
		t.Fatalf("summary %+v", s)
	}
}

// Every truncation of a backup is refused, and named as one.
func TestEveryTruncationIsRefused(t *testing.T) {
	raw, _ := sample(t)
	for n := 0; n < len(raw); n++ {
		_, err := Read(bytes.NewReader(raw[:n]), nil)
		if err == nil {
			t.Fatalf("a backup cut at byte %d of %d was read", n, len(raw))
		}
		if n >= len(magic) && !errors.Is(err, ErrTruncated) && !strings.Contains(err.Error(), ErrTruncated.Error()) {
			t.Fatalf("cut at %d: %v (want it named truncated)", n, err)
		}
	}
}

// Every single-bit flip is refused.
func TestEveryBitFlipIsRefused(t *testing.T) {
	raw, _ := sample(t)
	for i := range raw {
		for bit := 0; bit < 8; bit++ {
			bad := bytes.Clone(raw)
			bad[i] ^= 1 << bit
			if _, err := Read(bytes.NewReader(bad), nil); err == nil {
				t.Fatalf("a flip of bit %d of byte %d was read", bit, i)
			}
		}
	}
}

// A forged line item whose checksum was recomputed is still refused by its chain; so is a
// header that claims another head.
func TestTheChainsAreRecomputed(t *testing.T) {
	_, h := sample(t)
	var head [32]byte
	v1, _ := chainValue(head, 1, "allocate r1")
	forged := bytes.Clone(v1)
	forged[3] = 'X' // the body changed, its stored hash not
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, Header{LineItems: 1, Head: h.Head, Buckets: []string{BucketLineItems, BucketTrail}})
	_ = w.Bucket(BucketLineItems)
	_ = w.Pair(key(1), forged)
	_ = w.Bucket(BucketTrail)
	_ = w.Close()
	if _, err := Read(&buf, nil); err == nil || !strings.Contains(err.Error(), "does not match its hash") {
		t.Fatalf("a forged line item: %v", err)
	}
	buf.Reset()
	w, _ = NewWriter(&buf, Header{LineItems: 1, Head: h.Head, Buckets: []string{BucketLineItems, BucketTrail}})
	_ = w.Bucket(BucketLineItems)
	_ = w.Pair(key(1), v1)
	_ = w.Bucket(BucketTrail)
	_ = w.Close()
	if _, err := Read(&buf, nil); err == nil || !strings.Contains(err.Error(), "the header says 1 line items") {
		t.Fatalf("a header claiming another head: %v", err)
	}
}

// A frame length beyond the limit is refused before anything is allocated for it.
func TestFrameLimit(t *testing.T) {
	raw := append([]byte("CLBACKUP"), 'H')
	raw = binary.AppendUvarint(raw, MaxHeaderBytes+1)
	if _, err := Read(bytes.NewReader(raw), nil); err == nil || !strings.Contains(err.Error(), "exceeds the limit") {
		t.Fatalf("an oversized header frame: %v", err)
	}
	raw = append([]byte("CLBACKUP"), 'H')
	raw = binary.AppendUvarint(raw, MaxHeaderBytes)
	if _, err := Read(bytes.NewReader(raw), nil); !errors.Is(err, ErrTruncated) && !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("a header frame at the limit must be read as far as it goes: %v", err)
	}
}

func FuzzRead(f *testing.F) {
	raw, _ := sample(f)
	f.Add(raw)
	f.Add(raw[:len(raw)/2])
	f.Add([]byte("CLBACKUP"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Read(bytes.NewReader(b), nil)
		if err == nil && s.Bytes != int64(len(b)) {
			t.Fatalf("read %d of %d bytes and accepted", s.Bytes, len(b))
		}
	})
}
