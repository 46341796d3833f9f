package backupfile

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeArchive writes records from+1..to of a trail continuing from prev into dir, as a node
// names them, and returns the last hash.
func writeArchive(t *testing.T, dir string, from, to uint64, prev [32]byte) [32]byte {
	t.Helper()
	h := Header{Kind: KindAccessArchive, CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), TrailFrom: from, Buckets: []string{BucketTrail}}
	if from > 0 {
		h.TrailPrev = hex.EncodeToString(prev[:])
	}
	var vals [][]byte
	head := prev
	for seq := from + 1; seq <= to; seq++ {
		var v []byte
		v, head = chainValue(head, seq, fmt.Sprintf("call %d ok", seq))
		vals = append(vals, v)
	}
	h.TrailRecords, h.TrailHead = to, hex.EncodeToString(head[:])
	var buf bytes.Buffer
	w, err := NewWriter(&buf, h)
	if err == nil {
		err = w.Bucket(BucketTrail)
	}
	for i, v := range vals {
		if err == nil {
			err = w.Pair(key(from+1+uint64(i)), v)
		}
	}
	if err == nil {
		err = w.Close()
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, fmt.Sprintf("access-%012d-%012d.archive", from+1, to)), buf.Bytes(), 0o600)
	}
	if err != nil {
		t.Fatal(err)
	}
	return head
}

// Issue 28: a directory of archives checks as one chain; a file that does not continue the
// one before it, and a record altered inside a file, are named.
func TestVerifyAccessArchives(t *testing.T) {
	dir := t.TempDir()
	if _, err := VerifyAccessArchives(dir); !errors.Is(err, ErrNoArchives) {
		t.Fatalf("an empty directory: %v", err)
	}
	head := writeArchive(t, dir, 0, 4, [32]byte{})
	last := writeArchive(t, dir, 4, 9, head)
	a, err := VerifyAccessArchives(dir)
	if err != nil || a.Files != 2 || a.First != 1 || a.Last != 9 || a.Head != hex.EncodeToString(last[:]) || a.Bytes == 0 {
		t.Fatalf("two archives: %+v %v", a, err)
	}

	// A third file that starts from another hash: the chain breaks between files.
	writeArchive(t, dir, 9, 12, [32]byte{1})
	var ae *ArchiveError
	if _, err := VerifyAccessArchives(dir); !errors.As(err, &ae) || filepath.Base(ae.File) != "access-000000000010-000000000012.archive" ||
		!strings.Contains(err.Error(), "the chain is broken between them") {
		t.Fatalf("a file continuing from another hash: %v", err)
	}
	os.Remove(ae.File)

	// One byte of record 7 altered: that record is named.
	name := filepath.Join(dir, "access-000000000005-000000000009.archive")
	raw, _ := os.ReadFile(name)
	i := bytes.Index(raw, []byte("call 7 ok"))
	raw[i+len("call 7 o")] = 'K'
	os.WriteFile(name, raw, 0o600)
	if _, err := VerifyAccessArchives(dir); !errors.As(err, &ae) || ae.File != name || !strings.Contains(err.Error(), "entry 7 does not match its hash") {
		t.Fatalf("record 7 altered: %v", err)
	}
}
