package ledger

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudledger/cloudledger/backupfile"
	"github.com/cloudledger/cloudledger/errcode"
)

func accessRecords(first time.Time, n int) *AppendAccess {
	a := &AppendAccess{}
	for i := 0; i < n; i++ {
		a.Records = append(a.Records, AccessRecord{Time: first.Add(time.Duration(i) * time.Hour), Account: "auditor1", Role: "auditor",
			Address: "10.0.0.1", Node: "node1", Procedure: "/cloudledger.v1.LedgerService/Verify", Result: "ok"})
	}
	return a
}

// Issue 28 (archiving): records past their retention leave the live state for sealed files
// that name the hash they continue from; the live trail verifies from the last archived
// hash; archives and live state check as one chain; a record younger than 180 days is
// never archived; the archive is a line item.
func TestAccessArchives(t *testing.T) {
	f := newFixture(t)                                       // the entries' time is 2026-11-20 12:00 (Shanghai)
	f.ok(accessRecords(at("2026-01-01T00:00:00+08:00"), 10)) // records 1–10, 1 January, hourly
	f.ok(accessRecords(at("2026-11-19T00:00:00+08:00"), 5))  // records 11–15, yesterday
	_, wantHead, verr := f.l.VerifyAccessTrail()
	if verr != nil {
		t.Fatal(verr)
	}

	// 1 January + 4 h: the first four records (00:00–03:00) were before it.
	cut := at("2026-01-01T04:00:00+08:00")
	if got := f.l.AccessArchivable(cut); got != 4 {
		t.Fatalf("archivable before %s: through %d, want 4", cut, got)
	}
	// Too young: 180 days before 20 November 2026 is 24 May 2026, 12:00.
	if err := f.reject(errcode.InvalidValue, &ArchiveAccess{Through: 12, Before: at("2026-11-20T00:00:00+08:00")}); !strings.Contains(err.Error(), "180 days") {
		t.Fatalf("a cut 12 hours ago: %v", err)
	}
	f.reject(errcode.InvalidValue, &ArchiveAccess{Through: 16, Before: cut}) // beyond the trail
	res := f.ok(&ArchiveAccess{Through: 4, Before: cut})
	if res[0].Seq == 0 {
		t.Fatal("the archive is not a line item")
	}
	n, head, verr := f.l.VerifyAccessTrail()
	if verr != nil || n != 15 || head != wantHead {
		t.Fatalf("after archiving: %d records ending %s (%v), want 15 ending %s", n, head, verr, wantHead)
	}
	live, _, err := f.l.AccessRecords(AccessFilter{})
	if err != nil || len(live) != 11 || live[0].Seq != 5 {
		t.Fatalf("live records after archiving 1–4: %d, first %d (%v)", len(live), live[0].Seq, err)
	}
	f.ok(&ArchiveAccess{Through: 9, Before: at("2026-01-01T09:00:00+08:00")})
	if _, err := f.l.Backup(new(bytes.Buffer), "node1", f.now); err != nil { // flushes
		t.Fatal(err)
	}
	dir := filepath.Join(filepath.Dir(f.l.path), AccessArchiveDir)
	names, _ := filepath.Glob(filepath.Join(dir, "*.archive"))
	if len(names) != 2 || filepath.Base(names[0]) != "access-000000000001-000000000004.archive" || filepath.Base(names[1]) != "access-000000000005-000000000009.archive" {
		t.Fatalf("archive files: %v", names)
	}
	// Each file checks, the second continues from the first's last hash.
	var prevHead string
	for i, name := range names {
		raw, _ := os.ReadFile(name)
		s, err := backupfile.Read(bytes.NewReader(raw), nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if s.Header.TrailPrev != prevHead || (i == 1 && s.Header.TrailFrom != 4) {
			t.Fatalf("%s continues from %d %q, want %q", name, s.Header.TrailFrom, s.Header.TrailPrev, prevHead)
		}
		prevHead = s.Header.TrailHead
		bad := bytes.Clone(raw)
		bad[len(bad)-40] ^= 1
		if _, err := backupfile.Read(bytes.NewReader(bad), nil); err == nil {
			t.Fatalf("%s with a flipped bit was read", name)
		}
	}
	// A backup after archiving carries the live records and where they continue from.
	var buf bytes.Buffer
	h, err := f.l.Backup(&buf, "node1", f.now)
	if err != nil {
		t.Fatal(err)
	}
	if h.TrailFrom != 9 || h.TrailPrev != prevHead {
		t.Fatalf("the backup's trail starts after %d %q, want 9 %q", h.TrailFrom, h.TrailPrev, prevHead)
	}
	if _, err := backupfile.Read(bytes.NewReader(buf.Bytes()), nil); err != nil {
		t.Fatal(err)
	}
	// Under version 8 the command does not exist yet.
	f.version = 8
	f.reject(errcode.InvalidValue, &ArchiveAccess{Through: 10, Before: at("2026-01-01T10:00:00+08:00")})
}

// Issue 28: the state file gives back what was archived. bbolt only reuses the pages of the
// records archived (the file keeps its size); at the next open the file is compacted, the
// trail — archives and live state — still verifies as one chain, and the ledger goes on
// appending. A compaction a crash cut short leaves its copy, which the next open removes.
func TestArchivedRecordsLeaveTheStateFileAtOpen(t *testing.T) {
	defer func(v int64) { CompactMinFree = v }(CompactMinFree)
	CompactMinFree = 1 << 20
	f := newFixture(t)
	first := at("2025-01-01T00:00:00+08:00") // a minute apart: all older than 180 days
	for e := 0; e < 4; e++ {
		a := &AppendAccess{}
		for i := 0; i < 10_000; i++ {
			a.Records = append(a.Records, AccessRecord{Time: first.Add(time.Duration(e*10_000+i) * time.Minute), Account: "official0042",
				Role: "department", Address: "10.20.0.42", Node: "node1", Procedure: "/cloudledger.v1.LedgerService/Charges", Target: "department=dep042", Result: "ok"})
		}
		f.ok(a)
	}
	f.l.Flush()
	st0, err := f.l.StateFile()
	if err != nil {
		t.Fatal(err)
	}
	cut := first.Add(30_000 * time.Minute)
	if got := f.l.AccessArchivable(cut); got != 30_000 {
		t.Fatalf("archivable before %s: %d, want 30000", cut, got)
	}
	f.ok(&ArchiveAccess{Through: 30_000, Before: cut})
	f.l.Flush()
	st1, _ := f.l.StateFile()
	if st1.Size < st0.Size || st1.Free < st0.Used/2 {
		t.Fatalf("after archiving three quarters: %+v (before: %+v)", st1, st0)
	}

	path := f.l.path
	if err := os.WriteFile(path+compactSuffix, []byte("an interrupted compaction"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.l.Close()
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	f.l = l
	st2, _ := l.StateFile()
	if c := l.Compacted(); c.Err != nil || c.Before != st1.Size || c.After != st2.Size || st2.Used > st0.Used*2/5 {
		t.Fatalf("reopened: %+v, %+v (before archiving %+v)", c, st2, st0)
	}
	t.Logf("state file: %+v; 30,000 of 40,000 records archived: %+v; reopened: %+v", st0, st1, st2)
	if _, err := os.Stat(path + compactSuffix); !os.IsNotExist(err) {
		t.Fatalf("the copy of a compaction is left: %v", err)
	}
	dir := filepath.Join(filepath.Dir(path), AccessArchiveDir)
	f.now = at("2026-11-20T12:00:00+08:00")
	f.ok(accessRecords(at("2026-11-19T00:00:00+08:00"), 5))
	a, n, _, err := l.VerifyAccessTrailWithArchives(dir)
	if err != nil || a.First != 1 || a.Last != 30_000 || n != 40_005 {
		t.Fatalf("archives %+v and live trail %d: %v", a, n, err)
	}
	// Opened again with nothing freed: not compacted.
	l.Close()
	if l, err = Open(path); err != nil {
		t.Fatal(err)
	}
	f.l = l
	if c := l.Compacted(); c != (Compaction{}) {
		t.Fatalf("compacted again: %+v", c)
	}
}
