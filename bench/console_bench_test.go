package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/internal/testcluster"
	"github.com/cloudledger/cloudledger/server"
)

// consolePages are the console's pages by demo account.
var consolePages = []struct {
	account string
	paths   []string
}{
	{"edu-it", []string{"/d/edu", "/d/edu/resources", "/d/edu/charges", "/d/edu/statement?month=2026-03"}},
	{"aliyun-am", []string{"/p/aliyun", "/p/aliyun/statement?month=2026-03", "/p/aliyun/invoice", "/p/aliyun/invoices"}},
	{"supervisor1", []string{"/supervisor", "/supervisor/approvals"}},
	{"finance1", []string{"/finance"}},
	{"authority1", []string{"/authority", "/authority/periods", "/authority/catalog"}},
	{"auditor1", []string{"/auditor", "/auditor/line-items", "/auditor/line-items?department=edu", "/access"}},
}

// ConsoleLoads is how often each page is loaded; ConsoleP99Bound the p99 the issue sets.
const (
	ConsoleLoads    = 50
	ConsoleP99Bound = 300 * time.Millisecond
)

// BenchmarkConsolePages (issue 14): each page's time on the demo data set, from the
// request to the last byte over loopback, p50 and p99 over 50 loads, as each role.
func BenchmarkConsolePages(b *testing.B) {
	c := testcluster.Start(b, 1, testcluster.Options{})
	u := c.Nodes[0].URL
	testcluster.LoadDemo(b, u, b.TempDir())
	var worst time.Duration
	var report strings.Builder
	fmt.Fprintf(&report, "%-40s %9s %9s\n", "page", "p50", "p99")
	for b.Loop() {
		for _, role := range consolePages {
			hc := testcluster.ConsoleClient(c.HTTP.Transport)
			testcluster.ConsoleSignIn(b, hc, u, role.account, testcluster.DemoPassword)
			for _, p := range role.paths {
				times := make([]time.Duration, 0, ConsoleLoads)
				for range ConsoleLoads {
					start := time.Now()
					res, err := hc.Get(u + p)
					if err != nil {
						b.Fatal(err)
					}
					n, _ := io.Copy(io.Discard, res.Body)
					res.Body.Close()
					times = append(times, time.Since(start))
					if res.StatusCode != http.StatusOK || n < 1000 {
						b.Fatalf("%s as %s: HTTP %d, %d bytes", p, role.account, res.StatusCode, n)
					}
				}
				slices.Sort(times)
				p50, p99 := times[len(times)/2], times[len(times)*99/100]
				worst = max(worst, p99)
				fmt.Fprintf(&report, "%-40s %9s %9s\n", role.account+" "+p, p50.Round(100*time.Microsecond), p99.Round(100*time.Microsecond))
			}
		}
	}
	fmt.Printf("console pages, %d loads each:\n%s", ConsoleLoads, report.String()) // whole: b.Logf is cut at 10 lines
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-p99-ms")
	if worst > ConsoleP99Bound {
		b.Errorf("the slowest page's p99 is %s, over the issue's %s", worst, ConsoleP99Bound)
	}
}

// LineItemsForBrowser is the size of the ledger the line-item browser pages through.
const LineItemsForBrowser = 2_000_000

// BenchmarkLineItemBrowser (issue 14): the auditor's line-item browser over a ledger of two
// million line items. A page is read by sequence from bbolt, never the whole ledger: the
// time of a page at the start, the middle and the end, and the node's resident memory.
func BenchmarkLineItemBrowser(b *testing.B) {
	n := LineItemsForBrowser
	if s := os.Getenv("CLOUDLEDGER_LINE_ITEMS"); s != "" {
		fmt.Sscan(s, &n)
	}
	c := testcluster.Start(b, 1, testcluster.Options{})
	nd := c.Nodes[0]
	u := nd.URL
	dir := b.TempDir()
	testcluster.LoadDemo(b, u, dir)
	cl := testcluster.NewClient(c.HTTP, u)
	ctx := context.Background()
	start := time.Now()
	const batch = 1000
	day := time.Now().In(shanghai()).AddDate(0, 0, -1).Format("2006-01-02")
	for i := 0; i < n; i += batch {
		cmds := make([]*v1.Command, 0, batch)
		for j := i; j < i+batch && j < n; j++ {
			cmds = append(cmds, &v1.Command{Key: fmt.Sprintf("browse-%08d", j), Body: &v1.Command_Event{Event: &v1.Event{
				Op: "usage", Time: fmt.Sprintf("%sT%02d:%02d:%02d+08:00", day, j/3600%24, j/60%60, j%60), Department: "bus", Project: "bus-dispatch",
				Provider: "aliyun", Resource: "bus-dispatch-backup", Item: "backup.data", Kind: "standard", Quantity: "1"}}})
		}
		if _, err := cl.Submit(ctx, cmds); err != nil {
			b.Fatalf("at %d: %v", i, err)
		}
	}
	fmt.Printf("%d line items written in %s\n", n, time.Since(start).Round(time.Second))
	lc := cloudledgerv1connect.NewLedgerServiceClient(c.HTTP, u)
	head, err := lc.ListLineItems(ctx, testcluster.Authorize(connect.NewRequest(&v1.ListLineItemsRequest{Limit: 1}), false))
	if err != nil {
		b.Fatal(err)
	}
	total := head.Msg.GetHeadSeq()
	rssBefore := rss(b, nd.PID())
	hc := testcluster.ConsoleClient(c.HTTP.Transport)
	testcluster.ConsoleSignIn(b, hc, u, "auditor1", testcluster.DemoPassword)
	var report strings.Builder
	for b.Loop() {
		for _, page := range []struct {
			query string
			want  string // on the page: its first line item, or the link to the next page of a search
		}{
			{"from=1", `data-sort="1"`}, {fmt.Sprintf("from=%d", total/2), fmt.Sprintf(`data-sort="%d"`, total/2)},
			{fmt.Sprintf("from=%d", total-49), fmt.Sprintf(`data-sort="%d"`, total-49)},
			// a search that finds nothing in 100,000 line items, and says where to go on
			{fmt.Sprintf("department=edu&from=%d", total/2), fmt.Sprintf(`from=%d`, total/2+server.MaxLineItemScan)},
		} {
			times := make([]time.Duration, 0, ConsoleLoads)
			for range ConsoleLoads {
				t0 := time.Now()
				res, err := hc.Get(u + "/auditor/line-items?" + page.query)
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				times = append(times, time.Since(t0))
				if res.StatusCode != 200 || !strings.Contains(string(body), page.want) {
					b.Fatalf("page %s: HTTP %d without %s", page.query, res.StatusCode, page.want)
				}
			}
			slices.Sort(times)
			fmt.Fprintf(&report, "%-30s p50 %8s p99 %8s\n", page.query, times[len(times)/2].Round(100*time.Microsecond), times[len(times)*99/100].Round(100*time.Microsecond))
		}
	}
	rssAfter := rss(b, nd.PID())
	fmt.Printf("line-item browser over %d line items:\n%snode resident memory: %d MiB before paging, %d MiB after (peak %d MiB)\n",
		total, report.String(), rssBefore.now>>20, rssAfter.now>>20, rssAfter.peak>>20)
	b.ReportMetric(float64(total), "line-items")
	b.ReportMetric(float64(rssAfter.now>>20), "rss-MiB")
}

type memory struct{ now, peak int64 }

// rss reads a process's resident memory (VmRSS) and its peak (VmHWM) from /proc.
func rss(b *testing.B, pid int) memory {
	raw, err := os.ReadFile(filepath.Join("/proc", fmt.Sprint(pid), "status"))
	if err != nil {
		b.Fatal(err)
	}
	var m memory
	for _, line := range strings.Split(string(raw), "\n") {
		var kb int64
		if _, err := fmt.Sscanf(line, "VmRSS: %d kB", &kb); err == nil {
			m.now = kb << 10
		}
		if _, err := fmt.Sscanf(line, "VmHWM: %d kB", &kb); err == nil {
			m.peak = kb << 10
		}
	}
	return m
}

func shanghai() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}
