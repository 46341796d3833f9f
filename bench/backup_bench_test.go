package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/internal/testcluster"
)

// LineItemsForBackup is the size of the ledger BenchmarkBackupUnderLoad backs up.
const LineItemsForBackup = 2_000_000

// BenchmarkBackupUnderLoad (issue 29, must show 1): a backup of a ledger of two million line
// items while 64 writers write. The node's resident memory is sampled every 20 ms during
// the backup and must grow by less than 200 MiB (the backup streams from a read
// transaction); verify --backup prints the count and head; the backup restored into a new
// data directory serves the same chain and the same charges.
func BenchmarkBackupUnderLoad(b *testing.B) {
	n := LineItemsForBackup
	if s := os.Getenv("CLOUDLEDGER_LINE_ITEMS"); s != "" {
		fmt.Sscan(s, &n)
	}
	c := testcluster.Start(b, 1, testcluster.Options{})
	nd := c.Nodes[0]
	u := nd.URL
	testcluster.LoadDemo(b, u, nd.DataDir)
	ctx := context.Background()
	lc := cloudledgerv1connect.NewLedgerServiceClient(c.HTTP, u)
	writer := testcluster.DemoToken(b, nd.DataDir, "authority1") // the bootstrap credential is retired
	submit := func(cmds []*v1.Command) error {
		req := connect.NewRequest(&v1.SubmitRequest{Commands: cmds})
		req.Header().Set("Authorization", "Bearer "+writer)
		_, err := lc.Submit(ctx, req)
		return err
	}
	day := time.Now().In(shanghai()).AddDate(0, 0, -1).Format("2006-01-02")
	usage := func(key string, j int) *v1.Command {
		return &v1.Command{Key: key, Body: &v1.Command_Event{Event: &v1.Event{
			Op: "usage", Time: fmt.Sprintf("%sT%02d:%02d:%02d+08:00", day, j/3600%24, j/60%60, j%60), Department: "bus", Project: "bus-dispatch",
			Provider: "aliyun", Resource: "bus-dispatch-backup", Item: "backup.data", Kind: "standard", Quantity: "1"}}}
	}
	start := time.Now()
	const batch = 1000
	for i := 0; i < n; i += batch {
		cmds := make([]*v1.Command, 0, batch)
		for j := i; j < i+batch && j < n; j++ {
			cmds = append(cmds, usage(fmt.Sprintf("backup-%08d", j), j))
		}
		if err := submit(cmds); err != nil {
			b.Fatalf("at %d: %v", i, err)
		}
	}
	fmt.Printf("%d line items written in %s\n", n, time.Since(start).Round(time.Second))
	ctl := testcluster.CtlBinary(b)
	run := func(server, token string, stdin string, args ...string) string {
		cmd := exec.Command(ctl, append([]string{"--server", server, "--token", token, "--timeout", "10m"}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("ledgerctl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return string(out)
	}
	auditor := testcluster.DemoToken(b, nd.DataDir, "auditor1")
	authority := testcluster.DemoToken(b, nd.DataDir, "authority1")
	edu := run(u, authority, "", "charges", "--from", "2025-09-01", "--to", "2026-08-31", "--department", "edu", "--format", "csv")

	for b.Loop() {
		// 64 writers write throughout the backup.
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var written atomic.Int64
		for w := 0; w < 64; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					if err := submit([]*v1.Command{usage(fmt.Sprintf("during-%d-%d", w, i), i)}); err == nil {
						written.Add(1)
					}
				}
			}(w)
		}
		time.Sleep(2 * time.Second)
		before := rss(b, nd.PID())
		var peak atomic.Int64
		peak.Store(before.now)
		sampling := make(chan struct{})
		go func() {
			defer close(sampling)
			for {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				if m := rss(b, nd.PID()); m.now > peak.Load() {
					peak.Store(m.now)
				}
			}
		}()
		file := filepath.Join(b.TempDir(), "ledger.backup")
		writtenBefore := written.Load()
		t0 := time.Now()
		out := run(u, auditor, "", "backup", "-o", file)
		took := time.Since(t0)
		writesDuring := written.Load() - writtenBefore
		close(stop)
		wg.Wait()
		<-sampling
		grew := peak.Load() - before.now
		st, _ := os.Stat(file)
		ver := run(u, "", "", "verify", "--backup", file)
		count, head := pairValue(ver, "Line items"), pairValue(ver, "Head hash")
		fmt.Printf("backup of %s line items: %s, %d MiB, %d writes acknowledged during it; node RSS %d MiB before, peak %d MiB (+%d MiB)\n",
			count, took.Round(time.Millisecond), st.Size()>>20, writesDuring, before.now>>20, peak.Load()>>20, grew>>20)
		fmt.Print(out, ver)
		if grew >= 200<<20 {
			b.Errorf("the node's resident memory grew by %d MiB during the backup, the limit is 200 MiB", grew>>20)
		}
		if writesDuring == 0 {
			b.Error("no write was acknowledged during the backup")
		}

		// Restored into a new data directory: the same chain and charges.
		t1 := time.Now()
		r := testcluster.Start(b, 1, testcluster.Options{ExtraArgs: []string{"--restore", file}})
		rn := r.Nodes[0]
		restoreTook := time.Since(t1)
		boot := strings.TrimSpace(string(must(os.ReadFile(filepath.Join(rn.DataDir, "admin.token")))))
		activate := func(token, id string) string {
			code := lastLine(run(rn.URL, token, "", "account", "reset", "--id", id))
			run(rn.URL, "", code+"\n"+"Restore#2026\n", "account", "activate", "--id", id)
			return strings.TrimSpace(run(rn.URL, "", "Restore#2026\n", "signin", "--id", id))
		}
		sec := activate(boot, "security1")
		aud, auth := activate(sec, "auditor1"), activate(sec, "authority1")
		first := strings.SplitN(run(rn.URL, aud, "", "lineitems", "export", "--from", count, "--format", "jsonl"), "\n", 2)[0]
		if !strings.Contains(first, `"seq":`+count+`,`) || !strings.Contains(first, head) {
			b.Fatalf("line item %s of the restored ledger is %.300s; the backup's head is %s", count, first, head)
		}
		if got := run(rn.URL, auth, "", "charges", "--from", "2025-09-01", "--to", "2026-08-31", "--department", "edu", "--format", "csv"); got != edu {
			b.Fatal("the restored ledger rates edu's settlement year differently")
		}
		fmt.Printf("restored: serving after %s, its line item %s has the backup's head, edu's charges are the same\n", restoreTook.Round(time.Millisecond), count)
		r.StopAll()
		b.ReportMetric(float64(grew>>20), "rss-growth-MiB")
		b.ReportMetric(took.Seconds(), "backup-s")
	}
}

func pairValue(out, label string) string {
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, label) {
			f := strings.Fields(line)
			return f[len(f)-1]
		}
	}
	return ""
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
