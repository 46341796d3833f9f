package access

import (
	"bytes"
	"encoding/csv"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudledger/cloudledger/internal/testcluster"
)

// Issue 28 (archiving; SPEC: Access, the trail kept at least 180 days): a node whose clock
// has passed the retention archives the older access records out of its live state into
// sealed files; the live trail still verifies (continuing from the archives' last hash),
// the archives verify offline as one chain, and the access log no longer lists them.
func TestAccessTrailArchives(t *testing.T) {
	c := testcluster.Start(t, 1, testcluster.Options{BuildTags: "chaos", ExtraArgs: []string{"--access-retention-days", "180"}})
	nd := c.WaitLeader(20 * time.Second)
	ctl := testcluster.CtlBinary(t)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(ctl, append([]string{"--server", nd.URL, "--token", testcluster.Token}, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("ledgerctl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return string(out)
	}
	for i := 0; i < 20; i++ {
		run("verify") // each call is an access record
	}
	before := run("access", "verify")
	// 2031: every record so far is more than 180 days old.
	nd.ClockAt(t, "2031-06-01T10:00:00+08:00")
	archives := filepath.Join(nd.DataDir, "access-archive")
	deadline := time.Now().Add(20 * time.Second)
	for {
		names, _ := filepath.Glob(filepath.Join(archives, "access-*.archive"))
		if len(names) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no archive written within 20 s; the node's log:\n%s", c.Log(nd))
		}
		time.Sleep(200 * time.Millisecond)
	}
	offline := run("access", "verify", "--archive", archives)
	if !strings.Contains(offline, "Records") || !strings.Contains(offline, "1–") {
		t.Fatalf("access verify --archive:\n%s", offline)
	}
	last := strings.Fields(offline[strings.Index(offline, "Last hash"):])[2]
	live := run("access", "verify")
	if !strings.Contains(live, "intact") {
		t.Fatalf("the live trail after archiving: %s (before: %s)", live, before)
	}
	// The live log starts after the archived records; the first live record's chain
	// continues from the archives' last hash (the node's verify just checked that).
	through, err := strconv.Atoi(strings.TrimSpace(offline[strings.Index(offline, "–")+len("–"):][:strings.IndexByte(offline[strings.Index(offline, "–")+len("–"):], '\n')]))
	if err != nil || through < 20 || len(last) != 64 {
		t.Fatalf("access verify --archive names records 1–%d (%v), last hash %q:\n%s", through, err, last, offline)
	}
	// The calls since the archiving are live records; they reach the log through Raft, a
	// moment after each answer.
	var rows [][]string
	for wait := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		rows, err = csv.NewReader(strings.NewReader(strings.TrimPrefix(run("access", "log", "--format", "csv"), "\ufeff"))).ReadAll()
		if err == nil && len(rows) >= 2 || time.Now().After(wait) {
			break
		}
	}
	if err != nil || len(rows) < 2 || rows[0][0] != "seq" {
		t.Fatalf("the access log after archiving: %v %v", rows, err)
	}
	for _, r := range rows[1:] {
		if seq, _ := strconv.Atoi(r[0]); seq <= through {
			t.Fatalf("the live access log still lists record %d, archived through %d", seq, through)
		}
	}
	if lines := run("lineitems", "export", "--format", "jsonl"); !strings.Contains(lines, `access_archive`) {
		t.Fatal("the archiving is not a line item")
	}
}
