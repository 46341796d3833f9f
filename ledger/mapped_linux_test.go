package ledger

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Issue 28: the open reads every line item through bbolt's mapping of the state file, and
// those pages stayed in the process's resident set (2.1 GiB of a 10,000,000-item ledger).
// After the open they are given back: the file's mapping holds next to nothing, and the
// ledger still reads every line item.
func TestOpenLeavesTheStateFileUnmapped(t *testing.T) {
	f := newFixture(t)
	f.seed()
	const perProposal, proposals = 1000, 20
	for p := 0; p < proposals; p++ {
		var bodies []Body
		for i := 0; i < perProposal; i++ {
			bodies = append(bodies, &Event{Op: OpUsage, Time: at("2026-03-02T10:00:00+08:00").Add(time.Duration(p*perProposal+i) * time.Second),
				Department: "d1", Project: "prj1", Provider: "p1", Resource: fmt.Sprintf("bucket-%d", i%50), Item: "oss.egress", Kind: KindStandard, Quantity: dec("1")})
		}
		f.ok(bodies...)
	}
	f.l.Flush()
	st, err := f.l.StateFile()
	if err != nil {
		t.Fatal(err)
	}
	head := f.l.Head().Seq
	f.reopen()
	resident := mappedResidentKiB(t, f.l.path)
	// The file holds 20,000 line items; without the release the mapping kept every page
	// the open read (measured: 3,024 KiB, every page in use).
	if st.Used < 2<<20 || resident > 64 {
		t.Fatalf("state file %+v: %d KiB of its mapping resident after the open, want at most 64", st, resident)
	}
	if got := f.l.Head().Seq; got != head || got < perProposal*proposals {
		t.Fatalf("reopened at line item %d, want %d", got, head)
	}
	t.Logf("state file %+v; resident after the open: %d KiB", st, resident)
}

// mappedResidentKiB is the resident size of this process's mappings of path (/proc/self/smaps).
func mappedResidentKiB(t *testing.T, path string) int {
	t.Helper()
	fh, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no smaps: %v", err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	in, total, found := false, 0, false
	for sc.Scan() {
		ln := sc.Text()
		if fields := strings.Fields(ln); len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			in = strings.HasSuffix(ln, " "+path)
			found = found || in
			continue
		}
		if in && strings.HasPrefix(ln, "Rss:") {
			n, _ := strconv.Atoi(strings.Fields(ln)[1])
			total += n
		}
	}
	if !found {
		t.Fatalf("no mapping of %s in /proc/self/smaps", path)
	}
	return total
}
