package cluster

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudledger/cloudledger/internal/testcluster"
)

// Issue 3, must show 3: after the same import, the charges CSV is byte-identical from every
// node — each node rating its own state (--stale) and the leader rating linearizably. Then
// (issue 4) the same for the budget export of the audited year.
func TestChargesCSVIdenticalOnEveryNode(t *testing.T) {
	c := testcluster.Start(t, 3, testcluster.Options{})
	lead := c.WaitLeader(20 * time.Second)
	ctl := testcluster.CtlBinary(t)
	token := testcluster.Token
	run := func(server string, args ...string) []byte {
		t.Helper()
		cmd := exec.Command(ctl, append([]string{"--server", server, "--token", token}, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("ledgerctl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return out
	}
	demo := filepath.Join(testcluster.RepoRoot(), "examples", "demo")
	for _, kind := range []string{"departments", "providers", "projects", "catalog", "evaluations"} {
		run(lead.URL, "import", kind, filepath.Join(demo, kind+".csv"))
	}
	// As scripts/run-demo.sh: the supervisor approval the demo's overrun needs, then the year.
	// Approvals are the supervisor's (SPEC: Access).
	token = testcluster.RoleToken(t, nil, lead.URL, "supervisor1", "supervisor", "")
	run(lead.URL, "--key", "demo/approval", "approval", "grant", "--department", "health", "--class", "vcpu", "--ceiling", "200", "--ref", "r")
	token = testcluster.AuthorityToken(t, nil, lead.URL) // the bootstrap credential is retired now
	run(lead.URL, "import", "events", filepath.Join(demo, "events.csv"))
	st := c.WaitConverged(30 * time.Second)
	want := run(lead.URL, "charges", "--from", "2025-09-01", "--to", "2026-08-31", "--format", "csv")
	if n := bytes.Count(want, []byte("\n")); n < 100 {
		t.Fatalf("the demo year rated to only %d CSV lines:\n%s", n, want)
	}
	for _, nd := range c.Nodes {
		got := run(nd.URL, "--stale", "charges", "--from", "2025-09-01", "--to", "2026-08-31", "--format", "csv")
		if !bytes.Equal(got, want) {
			t.Fatalf("%s rated %d bytes, the leader %d: the charges CSV differs between nodes (head %s)", nd.ID, len(got), len(want), st.HeadHash)
		}
	}

	// Issue 4: the budget export of the audited year is the same bytes from every node, XLSX
	// (parts in a fixed order, fixed document times) and JSON alike.
	for m := 0; m < 12; m++ {
		run(lead.URL, "period", "close", fmt.Sprintf("%d-%02d", 2025+(8+m)/12, (8+m)%12+1))
	}
	late := filepath.Join(t.TempDir(), "late.csv")
	if err := os.WriteFile(late, []byte("provider,from,to,score\naliyun,2026-06-01,2026-08-31,82\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(lead.URL, "import", "evaluations", late)
	run(lead.URL, "settle", "run", "--year", "2026")
	run(lead.URL, "settle", "audit", "--year", "2026")
	st = c.WaitConverged(30 * time.Second)
	for _, format := range []string{"xlsx", "json"} {
		var first []byte
		for i, nd := range c.Nodes {
			out := filepath.Join(t.TempDir(), nd.ID+"."+format)
			run(nd.URL, "--stale", "budget", "export", "--year", "2026", "--format", format, "-o", out)
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				first = got
			} else if !bytes.Equal(got, first) {
				t.Fatalf("%s: the budget export (%s) of %s differs from %s's (head %s)", nd.ID, format, nd.ID, c.Nodes[0].ID, st.HeadHash)
			}
		}
	}
}
