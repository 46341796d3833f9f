package bench

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudledger/cloudledger/backupfile"
	"github.com/cloudledger/cloudledger/ledger"
)

// Issue 28, must show 6 (make bench-scale): a ledger of 20,000,000 access records archives
// those older than the retention. The records are written through the state machine (bbolt,
// fsync on) in entries of MaxAccessRecordsPerEntry, spread evenly in time so that
// scaleAccessOldShare of them are older than ledgerd's default retention; the archiving is
// production's — the leader's proposal (AccessArchivable, then ArchiveAccess under the
// cut's key) and the flush that writes the files — repeated as the leader's hourly check
// would until nothing more is archivable; the node is then restarted (closed and opened),
// the archives verified offline as `ledgerctl access verify --archive` does, archives and
// live state verified as one chain, and one record altered in an archive file must be named.
const (
	scaleAccessRetention = 366 * 24 * time.Hour // ledgerd --access-retention-days default
	scaleAccessOldShare  = 0.6
	scaleAccessPerFlush  = 10 // entries applied between two flushes
)

// scaleAccessRecords is the trail's length (CLOUDLEDGER_SCALE_ACCESS_RECORDS overrides it).
func scaleAccessRecords() int {
	if s := os.Getenv("CLOUDLEDGER_SCALE_ACCESS_RECORDS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 1000 {
			return n
		}
	}
	return 20_000_000
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func BenchmarkScaleAccessArchive(b *testing.B) {
	n := scaleAccessRecords()
	dir := b.TempDir()
	path := filepath.Join(dir, "state.db")
	archives := filepath.Join(dir, ledger.AccessArchiveDir)
	l, err := ledger.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { l.Close() }()

	var peak, peakRSS atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go peakHeap(stop, &wg, &peak, &peakRSS)
	// Memory is sampled every 20 ms; each phase reports its own peaks (the resident set counts
	// the pages of the mapped state file touched so far).
	var allHeap, allRSS uint64
	phase := func(name string) {
		h, r := peak.Load(), peakRSS.Load()
		allHeap, allRSS = max(allHeap, h), max(allRSS, r)
		fmt.Printf("access-archive:   (%s: peak heap %d MiB, resident %d MiB)\n", name, h>>20, r>>20)
		runtime.GC() // the next phase's peak is its own, not this one's garbage
		peak.Store(0)
		peakRSS.Store(0)
	}
	defer func() {
		close(stop)
		wg.Wait()
		fmt.Printf("access-archive: peak heap %d MiB, peak resident set %d MiB (the mapped state file's pages included)\n", allHeap>>20, allRSS>>20)
	}()

	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	cut := now.Add(-scaleAccessRetention)
	span := time.Duration(float64(scaleAccessRetention) / (1 - scaleAccessOldShare))
	first := now.Add(-span)
	step := span / time.Duration(n)

	// Calls as a node records them: a thousand officials, the console's and the API's procedures.
	var accounts, addresses, targets []string
	for i := 0; i < 1000; i++ {
		accounts = append(accounts, fmt.Sprintf("official%04d", i))
		addresses = append(addresses, fmt.Sprintf("10.%d.%d.%d", 20+i%7, i%251, 1+i%253))
		targets = append(targets, fmt.Sprintf("department=dep%03d", i%200))
	}
	roles := []string{"department", "finance", "auditor", "authority", "provider"}
	procedures := []string{"/cloudledger.v1.LedgerService/Charges", "/cloudledger.v1.LedgerService/ListLineItems",
		"/cloudledger.v1.SettlementService/Statement", "/cloudledger.v1.LedgerService/QuotaUse", "GET /d/charges", "GET /finance"}

	var index uint64
	apply := func(at time.Time, actor string, cmds ...ledger.Command) *ledger.ProposalResult {
		index++
		data := ledger.EncodeProposal(&ledger.Proposal{RecordedAt: at, Submissions: []ledger.Submission{{Actor: actor, Commands: cmds}}})
		res := l.ApplyBatch([]ledger.Entry{{Index: index, Data: data}})[0].(*ledger.ProposalResult)
		if res.Err != nil || res.Submissions[0].Err != nil {
			b.Fatalf("entry %d: %v %v", index, res.Err, res.Submissions[0].Err)
		}
		return res
	}

	t0 := time.Now()
	old := 0
	batch := &ledger.AppendAccess{Records: make([]ledger.AccessRecord, 0, ledger.MaxAccessRecordsPerEntry)}
	for i := 0; i < n; i++ {
		t := first.Add(time.Duration(i) * step)
		if t.Before(cut) {
			old++
		}
		result := "ok"
		if i%50 == 49 {
			result = "permission_denied"
		}
		batch.Records = append(batch.Records, ledger.AccessRecord{Time: t, Account: accounts[i%1000], Role: roles[i%len(roles)],
			Address: addresses[(i/7)%1000], Node: "node" + strconv.Itoa(1+i%3), Procedure: procedures[i%len(procedures)],
			Target: targets[(i/3)%1000], Result: result})
		if len(batch.Records) == ledger.MaxAccessRecordsPerEntry || i == n-1 {
			apply(t, "node1", ledger.Command{Body: batch})
			batch.Records = batch.Records[:0]
			if index%scaleAccessPerFlush == 0 {
				l.Flush()
			}
		}
	}
	l.Flush()
	written := time.Since(t0)
	st0, err := l.StateFile()
	if err != nil {
		b.Fatal(err)
	}
	fmt.Printf("\naccess-archive: %d access records written through the state machine in %s (%.0f records/s), %d entries; %d (%.0f %%) older than the retention (%d days)\n",
		n, written.Round(time.Millisecond), float64(n)/written.Seconds(), index, old, 100*float64(old)/float64(n), int(scaleAccessRetention.Hours()/24))
	fmt.Printf("access-archive: state file %s (%s used, free pages %s)\n", mib(st0.Size), mib(st0.Used), mib(st0.Free))
	phase("writing")

	// The record to alter later, in the middle of the archived ones: its hash, read while live.
	victim := uint64(old/2 + old/10 + 7)
	recs, _, err := l.AccessRecords(ledger.AccessFilter{AfterSeq: victim - 1, Limit: 1})
	if err != nil || len(recs) != 1 || recs[0].Seq != victim {
		b.Fatalf("record %d: %v %v", victim, recs, err)
	}
	victimHash := recs[0].Hash

	// Production's archiving: the leader's check (server/leader.go archiveAccess) as often as
	// it takes, each cut one entry, each entry's flush writing its file.
	t0 = time.Now()
	before := now.Add(-scaleAccessRetention)
	steps := 0
	for {
		through := l.AccessArchivable(before)
		if through <= l.AccessArchived() {
			break
		}
		apply(now, "system", ledger.Command{Key: "access-archive/" + strconv.FormatUint(through, 10),
			Body: &ledger.ArchiveAccess{Through: through, Before: before}})
		l.Flush()
		steps++
	}
	archived := time.Since(t0)
	st1, err := l.StateFile()
	if err != nil {
		b.Fatal(err)
	}
	if got := l.AccessArchived(); got != uint64(old) {
		b.Fatalf("archived through %d, want the %d records older than the retention", got, old)
	}
	names, _ := filepath.Glob(filepath.Join(archives, "access-*.archive"))
	var archiveBytes int64
	for _, name := range names {
		st, err := os.Stat(name)
		if err != nil {
			b.Fatal(err)
		}
		archiveBytes += st.Size()
	}
	fmt.Printf("access-archive: %d records archived in %s (%d entries, %d files, %s; %.0f bytes a record)\n",
		old, archived.Round(time.Millisecond), steps, len(names), mib(archiveBytes), float64(archiveBytes)/float64(old))
	fmt.Printf("access-archive: state file after archiving %s (%s used, free pages %s): bbolt reuses the pages, the file keeps its size\n", mib(st1.Size), mib(st1.Used), mib(st1.Free))
	phase("archiving")

	// A restart: what the node's state file is when it opens again.
	t0 = time.Now()
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	if l, err = ledger.Open(path); err != nil {
		b.Fatal(err)
	}
	reopened := time.Since(t0)
	st2, err := l.StateFile()
	if err != nil {
		b.Fatal(err)
	}
	c := l.Compacted()
	if c.Err != nil || c.Before == 0 {
		b.Fatalf("not compacted at open: %+v", c)
	}
	fmt.Printf("access-archive: restarted (closed and opened in %s, of it the compaction %s): state file %s (%s used, free pages %s): %s smaller than before archiving (%.0f %%; %.0f %% of the used pages)\n",
		reopened.Round(time.Millisecond), c.Took.Round(time.Millisecond), mib(st2.Size), mib(st2.Used), mib(st2.Free),
		mib(st0.Size-st2.Size), 100*float64(st0.Size-st2.Size)/float64(st0.Size), 100*float64(st0.Used-st2.Used)/float64(st0.Used))
	phase("restart and compaction")

	// The archives offline, as ledgerctl access verify --archive checks them.
	t0 = time.Now()
	a, err := backupfile.VerifyAccessArchives(archives)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Printf("access-archive: the archives verify offline in %s: %d files, records %d–%d, last hash %s\n",
		time.Since(t0).Round(time.Millisecond), a.Files, a.First, a.Last, a.Head)
	t0 = time.Now()
	live, head, verr := l.VerifyAccessTrail()
	if verr != nil || live != uint64(n) {
		b.Fatalf("the live trail: %d records (%v), want %d", live, verr, n)
	}
	fmt.Printf("access-archive: the live trail (%d records, %d–%d) verifies in %s, head %s\n", n-old, old+1, n, time.Since(t0).Round(time.Millisecond), head)
	t0 = time.Now()
	if _, all, allHead, err := l.VerifyAccessTrailWithArchives(archives); err != nil || all != uint64(n) || allHead != head {
		b.Fatalf("archives and live trail together: %d %s %v", all, allHead, err)
	}
	fmt.Printf("access-archive: archives + live state verify as one chain of %d records in %s: intact\n", n, time.Since(t0).Round(time.Millisecond))
	phase("verifying")

	// One record altered in its archive file: the last byte of its result, just before its
	// stored hash.
	file, off := findInArchives(b, names, victimHash[:])
	f, err := os.OpenFile(file, os.O_RDWR, 0)
	if err != nil {
		b.Fatal(err)
	}
	var one [1]byte
	if _, err := f.ReadAt(one[:], off-1); err != nil {
		b.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{one[0] ^ 0x20}, off-1); err != nil { // "ok" → "oK"
		b.Fatal(err)
	}
	f.Close()
	t0 = time.Now()
	_, err = backupfile.VerifyAccessArchives(archives)
	var ae *backupfile.ArchiveError
	want := fmt.Sprintf("entry %d does not match its hash", victim)
	if !errors.As(err, &ae) || ae.File != file || !strings.Contains(err.Error(), want) {
		b.Fatalf("record %d altered in %s: verify says %v", victim, file, err)
	}
	fmt.Printf("access-archive: record %d altered in %s (byte %d): found offline in %s: %v\n", victim, filepath.Base(file), off-1, time.Since(t0).Round(time.Millisecond), err)
	if _, _, _, err := l.VerifyAccessTrailWithArchives(archives); err == nil || !strings.Contains(err.Error(), want) {
		b.Fatalf("archives + live state with record %d altered: %v", victim, err)
	}
	fmt.Printf("access-archive: archives + live state with it altered: refused (%s)\n", want)
	phase("the altered record")
	runtime.KeepAlive(l)
}

// findInArchives finds needle in one of the files, read in pieces, and returns the file and
// the offset the needle starts at.
func findInArchives(b *testing.B, names []string, needle []byte) (string, int64) {
	buf := make([]byte, 4<<20)
	for _, name := range names {
		f, err := os.Open(name)
		if err != nil {
			b.Fatal(err)
		}
		var base int64 // the file offset of buf[0]
		keep := 0      // bytes carried over from the piece before
		for {
			m, err := io.ReadFull(f, buf[keep:])
			end := keep + m
			if i := bytes.Index(buf[:end], needle); i >= 0 {
				f.Close()
				return name, base + int64(i)
			}
			if err != nil {
				break
			}
			keep = len(needle) - 1
			copy(buf, buf[end-keep:end])
			base += int64(end - keep)
		}
		f.Close()
	}
	b.Fatalf("no archive holds the hash %x", needle)
	return "", 0
}
