package history

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudledger/cloudledger/internal/testcluster"
)

// Issue 28 (restart): a node that stops writes its kept charges to a copy in its data
// directory and, restarted, reads only what was written after it — the same charges, to
// the cent, before and after, and for what is written later. A damaged copy is not used:
// the node reads the whole ledger again and answers the same.
func TestRestartedNodeTakesItsKeptChargesFromItsCopy(t *testing.T) {
	c := testcluster.Start(t, 1, testcluster.Options{ExtraArgs: []string{"--log-level", "info"}})
	nd := c.Nodes[0]
	c.WaitLeader(20 * time.Second)
	ctx := context.Background()
	cl := testcluster.NewClient(c.HTTP, c.URLs()...)
	if _, err := cl.Submit(ctx, masterData([]string{"ref", "s00", "s01"})); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Submit(ctx, events("ref")); err != nil {
		t.Fatal(err)
	}
	want := charges(t, c, "ref")
	if strings.Count(want, "\n") < 10 {
		t.Fatalf("the reference year rated to little:\n%s", want)
	}

	c.Stop(nd)
	copyFile := filepath.Join(nd.DataDir, "kept-charges.bin")
	if _, err := os.Stat(copyFile); err != nil {
		t.Fatalf("the stopped node left no copy of its kept charges: %v\n%s", err, c.Log(nd))
	}
	c.Restart(nd)
	if got := charges(t, c, "ref"); got != want {
		t.Fatalf("after a restart from the copy:\n%s\nbefore:\n%s", got, want)
	}
	if log := c.Log(nd); !strings.Contains(log, "kept charges read from their copy") {
		t.Fatalf("the restarted node did not take its copy:\n%s", log)
	}
	// What is written after the restart is kept on top of the copy: the same year again.
	if _, err := cl.Submit(ctx, events("s00")); err != nil {
		t.Fatal(err)
	}
	if got := charges(t, c, "s00"); got != want {
		t.Fatalf("written after the restart:\n%s\nwant:\n%s", got, want)
	}

	// A damaged copy: refused by its checksum, the ledger is read again.
	c.Stop(nd)
	raw, err := os.ReadFile(copyFile)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0x01
	if err := os.WriteFile(copyFile, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	c.Restart(nd)
	for _, ns := range []string{"ref", "s00"} {
		if got := charges(t, c, ns); got != want {
			t.Fatalf("%s after a restart with a damaged copy:\n%s\nwant:\n%s", ns, got, want)
		}
	}
	if log := c.Log(nd); !strings.Contains(log, "damaged (checksum)") {
		t.Fatalf("the damaged copy was not named:\n%s", log)
	}
}
