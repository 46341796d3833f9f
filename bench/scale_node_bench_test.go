package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/cloudledger/cloudledger/apimap"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/internal/procmem"
	"github.com/cloudledger/cloudledger/internal/testcluster"
	"github.com/cloudledger/cloudledger/ledger"
)

// Issue 28, must shows 3 and 5 on a real node (make bench-scale): one ledgerd, fsync on,
// written through its API with the scale ledger (CLOUDLEDGER_SCALE_LINE_ITEMS, 10,000,000
// by default) and then the demo (its accounts sign in to the console). Stated: the node's
// resident memory once its charges are kept, the console's finance page and a department's
// charges page under 20 concurrent users (and the department's home page, the issue's
// yardstick), a restart (stop, start, ready, the finance page again), and the memory
// through a soak of mixed load (CLOUDLEDGER_SOAK, 10 minutes by default). The node runs
// with GOMEMLIMIT=1400MiB (README: a large ledger's node).
const (
	nodeMemoryLimit = "1400MiB"
	consoleUsers    = 20
	consoleLoads    = 2000
)

// apiWriter writes the generator's commands through a node's API, 1,000 a request, one
// request at a time (a resource's operations must arrive in time order).
type apiWriter struct {
	b    *testing.B
	cl   *testcluster.Client
	n    int
	cmds []*v1.Command
}

// scaleItemPrefix sets the scale ledger's catalog items apart from the demo's (sec.host is
// billed otherwise there).
const scaleItemPrefix = "x."

func (w *apiWriter) add(body ledger.Body) {
	switch b := body.(type) {
	case *ledger.SetCatalogPrice:
		c := *b
		c.Item, c.Name = scaleItemPrefix+c.Item, scaleItemPrefix+c.Name
		body = &c
	case *ledger.Event:
		e := *b
		e.Item = scaleItemPrefix + e.Item
		body = &e
	}
	w.n++
	w.cmds = append(w.cmds, apimap.FromCommand(ledger.Command{Key: fmt.Sprintf("scale/%d", w.n), Body: body}))
	if len(w.cmds) == 1000 {
		w.flush()
	}
}

func (w *apiWriter) flush() {
	if len(w.cmds) == 0 {
		return
	}
	if _, err := w.cl.Submit(context.Background(), w.cmds); err != nil {
		w.b.Fatalf("scale node: writing command %d: %v", w.n, err)
	}
	w.cmds = nil
}

// memoryOf is a process's resident memory from /proc: in all, anonymous (the heap) and
// file-backed (the state file's pages mapped in, which the kernel may drop).
func memoryOf(b *testing.B, pid int) (rss, anon, file int64) {
	raw, err := os.ReadFile(filepath.Join("/proc", fmt.Sprint(pid), "status"))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		var kb int64
		switch {
		case strings.HasPrefix(line, "VmRSS:"):
			fmt.Sscanf(line, "VmRSS: %d kB", &kb)
			rss = kb << 10
		case strings.HasPrefix(line, "RssAnon:"):
			fmt.Sscanf(line, "RssAnon: %d kB", &kb)
			anon = kb << 10
		case strings.HasPrefix(line, "RssFile:"):
			fmt.Sscanf(line, "RssFile: %d kB", &kb)
			file = kb << 10
		}
	}
	return rss, anon, file
}

func memoryText(b *testing.B, pid int) string {
	rss, anon, file := memoryOf(b, pid)
	byFile, _, err := procmem.MappedResident(pid, "/ledger.db", "/raft.db")
	if err != nil {
		b.Fatal(err)
	}
	state, log := byFile["/ledger.db"], byFile["/raft.db"]
	return fmt.Sprintf("RSS %d MiB (anonymous %d MiB, file-backed %d MiB: state file %d, Raft log %d, the rest %d)",
		rss>>20, anon>>20, file>>20, state>>20, log>>20, (file-state-log)>>20)
}

// signIn signs a demo account in through the console's form and returns its client.
func signIn(b *testing.B, base, account string) *http.Client {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{MaxIdleConnsPerHost: consoleUsers}}
	res, err := hc.Get(base + "/signin")
	if err != nil {
		b.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]*)"`).FindSubmatch(page)
	if m == nil {
		b.Fatalf("no csrf field on the sign-in page")
	}
	res, err = hc.PostForm(base+"/signin", url.Values{"csrf": {string(m[1])}, "account": {account}, "password": {testcluster.DemoPassword}, "next": {"/"}})
	if err != nil {
		b.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther && res.StatusCode != http.StatusFound {
		b.Fatalf("sign-in of %s: %s", account, res.Status)
	}
	return hc
}

// loadPage is ab -n consoleLoads -c consoleUsers of one page: pages a second and the p99.
func loadPage(b *testing.B, hc *http.Client, page string) (float64, time.Duration) {
	var next atomic.Int64
	times := make([][]time.Duration, consoleUsers)
	var wg sync.WaitGroup
	var failed atomic.Int64
	start := time.Now()
	for u := 0; u < consoleUsers; u++ {
		wg.Add(1)
		go func(u int) {
			defer wg.Done()
			for next.Add(1) <= consoleLoads {
				t0 := time.Now()
				res, err := hc.Get(page)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					failed.Add(1)
				}
				times[u] = append(times[u], time.Since(t0))
			}
		}(u)
	}
	wg.Wait()
	took := time.Since(start)
	if failed.Load() > 0 {
		b.Fatalf("%s: %d of %d loads failed", page, failed.Load(), consoleLoads)
	}
	all := slices.Concat(times...)
	slices.Sort(all)
	return float64(len(all)) / took.Seconds(), all[len(all)*99/100]
}

func BenchmarkScaleNode(b *testing.B) {
	total := scaleLineItems()
	soak := 10 * time.Minute
	if s := os.Getenv("CLOUDLEDGER_SOAK"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			b.Fatal(err)
		}
		soak = d
	}
	b.Setenv("GOMEMLIMIT", nodeMemoryLimit)
	c := testcluster.Start(b, 1, testcluster.Options{ExtraArgs: []string{"--log-level", "info"}})
	defer c.StopAll()
	nd := c.Nodes[0]
	c.WaitLeader(20 * time.Second)
	t0 := time.Now()
	w := &apiWriter{b: b, cl: testcluster.NewClient(c.HTTP, nd.URL)}
	writeScaleHistory(w, total)
	w.flush()
	fmt.Printf("scale node: %d commands written through the API in %s; %s\n", w.n, time.Since(t0).Round(time.Second), memoryText(b, nd.PID()))
	testcluster.LoadDemo(b, nd.URL, nd.DataDir)
	req := connect.NewRequest(&v1.StatusRequest{})
	req.Header().Set("Authorization", "Bearer "+testcluster.DemoToken(b, nd.DataDir, "authority1"))
	res, err := cloudledgerv1connect.NewClusterServiceClient(c.HTTP, nd.URL).Status(context.Background(), req)
	if err != nil {
		b.Fatal(err)
	}
	st := res.Msg
	fmt.Printf("scale node: demo loaded: %d line items; %s\n", st.LineItems, memoryText(b, nd.PID()))

	finance, edu := signIn(b, nd.URL, "finance1"), signIn(b, nd.URL, "edu-it")
	t0 = time.Now()
	if _, p99 := loadPageOnce(b, finance, nd.URL+"/finance"); p99 > 0 {
		fmt.Printf("scale node: first /finance (charges kept from nothing) in %s; %s\n", time.Since(t0).Round(time.Millisecond), memoryText(b, nd.PID()))
	}
	pages := []struct {
		hc   *http.Client
		path string
	}{{edu, "/d/edu"}, {finance, "/finance"}, {edu, "/d/edu/charges"}}
	console := func(when string) {
		var home float64
		for _, p := range pages {
			rate, p99 := loadPage(b, p.hc, nd.URL+p.path)
			if p.path == "/d/edu" {
				home = rate
			}
			fmt.Printf("scale node: %s %-16s %8.1f pages/s (%.2f× the home page)  p99 %s\n", when, p.path, rate, rate/home, p99.Round(100*time.Microsecond))
		}
	}
	console("console:")
	fmt.Printf("scale node: after the console's loads: %s\n", memoryText(b, nd.PID()))

	// Restart: stopped (it writes its kept charges' copy), started, ready, the finance page.
	t0 = time.Now()
	c.Stop(nd)
	stopped := time.Since(t0)
	t0 = time.Now()
	c.Restart(nd)
	ready := time.Since(t0)
	loadPageOnce(b, finance, nd.URL+"/finance")
	financeAgain := time.Since(t0)
	fmt.Printf("scale node: restart: stopped in %s, ready in %s, /finance answered %s after the start; %s\n",
		stopped.Round(time.Millisecond), ready.Round(time.Millisecond), financeAgain.Round(time.Millisecond), memoryText(b, nd.PID()))
	console("after restart:")

	// Soak: 8 writers of single line items and the three pages in turn, for soak.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writes, reads atomic.Int64
	lc := cloudledgerv1connect.NewLedgerServiceClient(c.HTTP, nd.URL)
	authority := testcluster.DemoToken(b, nd.DataDir, "authority1")
	var writeErr atomic.Value
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				ev := &v1.Event{Op: "usage", Time: fmt.Sprintf("2026-11-%02dT10:00:00+08:00", 1+n%28), Department: "dep001", Project: "dep001-sys",
					Provider: "ctyun", Resource: fmt.Sprintf("soak-%d", i), Item: scaleItemPrefix + "oss.egress", Kind: "standard", Quantity: "1"}
				req := connect.NewRequest(&v1.SubmitRequest{Commands: []*v1.Command{{Key: fmt.Sprintf("soak/%d/%d", i, n), Body: &v1.Command_Event{Event: ev}}}})
				req.Header().Set("Authorization", "Bearer "+authority)
				if _, err := lc.Submit(context.Background(), req); err == nil {
					writes.Add(1)
				} else {
					writeErr.Store(err)
				}
			}
		}(i)
	}
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for n := i; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				p := pages[n%len(pages)]
				if res, err := p.hc.Get(nd.URL + p.path); err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					reads.Add(1)
				}
			}
		}(i)
	}
	var peak int64
	t0 = time.Now()
	for time.Since(t0) < soak {
		time.Sleep(time.Second)
		if rss, _, _ := memoryOf(b, nd.PID()); rss > peak {
			peak = rss
		}
	}
	close(stop)
	wg.Wait()
	if writes.Load() == 0 {
		b.Fatalf("the soak wrote nothing: %v", writeErr.Load())
	}
	fmt.Printf("scale node: soak of %s: %d writes, %d pages; peak RSS %d MiB; at the end %s\n", soak, writes.Load(), reads.Load(), peak>>20, memoryText(b, nd.PID()))
	console("after the soak:")
	if out, err := exec.Command("du", "-sh", nd.DataDir).Output(); err == nil {
		fmt.Printf("scale node: data directory %s", out)
	}

	// A new member joins and catches up: from the join to holding the leader's head (it
	// installs the leader's snapshot — the state file — and replays the Raft log after it).
	t0 = time.Now()
	joined := c.AddNodeWith(testcluster.NodeOptions{ReadyWithin: 5 * time.Minute})
	ready = time.Since(t0)
	status := func(n *testcluster.Node) *v1.StatusResponse {
		req := connect.NewRequest(&v1.StatusRequest{})
		req.Header().Set("Authorization", "Bearer "+authority)
		res, err := cloudledgerv1connect.NewClusterServiceClient(c.HTTP, n.URL).Status(context.Background(), req)
		if err != nil {
			return nil
		}
		return res.Msg
	}
	for {
		lead, got := status(nd), status(joined)
		if lead != nil && got != nil && got.LineItems == lead.LineItems && got.HeadHash == lead.HeadHash {
			fmt.Printf("scale node: a new member joined (ready in %s) and holds the leader's %d line items %s after its start; %s\n",
				ready.Round(time.Millisecond), got.LineItems, time.Since(t0).Round(time.Millisecond), memoryText(b, joined.PID()))
			break
		}
		if time.Since(t0) > 10*time.Minute {
			b.Fatalf("the new member did not catch up in 10 minutes: %v against %v\n%s", got, lead, c.Log(joined))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// loadPageOnce loads a page once (retrying while the node starts) and says how long it took.
func loadPageOnce(b *testing.B, hc *http.Client, page string) (int, time.Duration) {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		t0 := time.Now()
		res, err := hc.Get(page)
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return res.StatusCode, time.Since(t0)
			}
			err = fmt.Errorf("%s", res.Status)
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s: %v", page, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
