// Package utilisation tests the daily utilisation rows against a real Prometheus (Debian's
// prometheus and promtool, which .ci/run installs).
package utilisation

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/internal/testcluster"
	"github.com/cloudledger/cloudledger/internal/testport"
)

var shanghai = time.FixedZone("CST", 8*3600)

// series writes the OpenMetrics samples of the test's days: every 5 minutes at :30 seconds
// (never on a day's edge), in each series' time order.
//
//   - r1 (vcpu): day 1 10 for 12 h then 30 → mean 20, peak 30; day 2 40 then 60 → mean 50,
//     peak 60; day 3 5 all day → 5, 5. Up all day: availability 100.
//   - r2 (vcpu): 50, and 120 at 12:00:30 → mean (287 × 50 + 120) ÷ 288 = 50.2430… → 50.24,
//     peak 120 → taken as 100. Down for 12 samples (one hour) → 276 ÷ 288 = 95.8333… → 95.83.
//   - m1 (memory_gb): 70 all day → 70, 70; up.
//   - vpc1 (net.vpc, not monitored): a cpu series the pull leaves out.
func series(days []time.Time) string {
	var b strings.Builder
	type point struct {
		at time.Time
		v  string
	}
	each := func(fn func(day int, at time.Time) string) []point {
		var out []point
		for di, d := range days {
			for k := 0; k < 288; k++ {
				at := d.Add(time.Duration(k)*5*time.Minute + 30*time.Second)
				out = append(out, point{at, fn(di, at)})
			}
		}
		return out
	}
	write := func(metric, resource string, pts []point) {
		for _, p := range pts {
			fmt.Fprintf(&b, "%s{resource=%q} %s %d\n", metric, resource, p.v, p.at.Unix())
		}
	}
	b.WriteString("# TYPE cloudledger_cpu_utilisation_percent gauge\n")
	write("cloudledger_cpu_utilisation_percent", "r1", each(func(day int, at time.Time) string {
		hi := at.In(shanghai).Hour() >= 12
		switch {
		case day == 0 && !hi:
			return "10"
		case day == 0:
			return "30"
		case day == 1 && !hi:
			return "40"
		case day == 1:
			return "60"
		}
		return "5"
	}))
	write("cloudledger_cpu_utilisation_percent", "r2", each(func(_ int, at time.Time) string {
		if t := at.In(shanghai); t.Hour() == 12 && t.Minute() == 0 {
			return "120"
		}
		return "50"
	}))
	write("cloudledger_cpu_utilisation_percent", "vpc1", each(func(int, time.Time) string { return "3" }))
	b.WriteString("# TYPE cloudledger_memory_utilisation_percent gauge\n")
	write("cloudledger_memory_utilisation_percent", "m1", each(func(int, time.Time) string { return "70" }))
	b.WriteString("# TYPE cloudledger_resource_up gauge\n")
	for _, res := range []string{"m1", "r1", "r2"} {
		write("cloudledger_resource_up", res, each(func(_ int, at time.Time) string {
			if res == "r2" && at.In(shanghai).Hour() == 3 {
				return "0"
			}
			return "1"
		}))
	}
	b.WriteString("# EOF\n")
	return b.String()
}

// prometheus is a Prometheus process on loopback over a data directory.
type prometheus struct {
	t    *testing.T
	dir  string
	addr string
	cmd  *exec.Cmd
}

func (p *prometheus) start() {
	p.t.Helper()
	cfg := filepath.Join(p.dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1m\n"), 0o600); err != nil {
		p.t.Fatal(err)
	}
	log, err := os.OpenFile(filepath.Join(p.dir, "prometheus.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		p.t.Fatal(err)
	}
	p.cmd = exec.Command("prometheus", "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(p.dir, "tsdb"),
		"--storage.tsdb.retention.time=10y", "--web.listen-address="+p.addr)
	p.cmd.Stdout, p.cmd.Stderr = log, log
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get("http://" + p.addr + "/-/ready")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			raw, _ := os.ReadFile(filepath.Join(p.dir, "prometheus.log"))
			p.t.Fatalf("prometheus not ready: %v\n%s", err, raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *prometheus) stop() {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	}
	p.cmd = nil
}

// gate sits between the ledger and Prometheus: unarmed it answers 503 (as if Prometheus
// were down); armed, after allow queries it holds every further one until released (so that
// the test can stop Prometheus in the middle of a pull).
type gate struct {
	mu      sync.Mutex
	armed   bool
	allow   int
	held    chan struct{}
	proxy   *httputil.ReverseProxy
	queries int
}

func (g *gate) arm() {
	g.mu.Lock()
	g.armed = true
	g.mu.Unlock()
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	if !g.armed {
		g.mu.Unlock()
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	g.queries++
	wait := g.allow <= 0
	g.allow--
	held := g.held
	g.mu.Unlock()
	if wait {
		<-held
	}
	g.proxy.ServeHTTP(w, r)
}

func (g *gate) release() {
	g.mu.Lock()
	g.allow = 1 << 30
	close(g.held)
	g.mu.Unlock()
}

// Issue 24, must show 1: a real Prometheus holding three days of per-resource series
// (written with promtool tsdb create-blocks-from openmetrics, then served with a retention
// long enough to keep the backfilled blocks). The leader pulls each closed day once, in
// order; the rows equal the values worked by hand above. Prometheus is stopped in the
// middle of the pull — after the first day's nine queries — and started again: nothing is
// lost, nothing doubled, the missed days are caught up in order.
func TestPullFromARealPrometheus(t *testing.T) {
	for _, tool := range []string{"prometheus", "promtool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (.ci/run installs Debian's prometheus)", tool)
		}
	}
	today := time.Now().In(shanghai)
	today = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, shanghai)
	days := []time.Time{today.AddDate(0, 0, -5), today.AddDate(0, 0, -4), today.AddDate(0, 0, -3)}
	p := &prometheus{t: t, dir: t.TempDir(), addr: testport.Addr(t)}
	t.Cleanup(p.stop)
	om := filepath.Join(p.dir, "series.om")
	if err := os.WriteFile(om, []byte(series(days)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("promtool", "tsdb", "create-blocks-from", "openmetrics", om, filepath.Join(p.dir, "tsdb")).CombinedOutput(); err != nil {
		t.Fatalf("promtool: %v\n%s", err, out)
	}
	target, _ := url.Parse("http://" + p.addr)
	g := &gate{allow: 9, held: make(chan struct{}), proxy: httputil.NewSingleHostReverseProxy(target)}
	front := &http.Server{Addr: testport.Addr(t), Handler: g}
	go front.ListenAndServe()
	t.Cleanup(func() { front.Close() })

	// The ledger, its pull pointed at the gate while Prometheus is not up yet.
	c := testcluster.Start(t, 1, testcluster.Options{ExtraArgs: []string{"--prometheus", "http://" + front.Addr,
		"--utilisation-since", days[0].Format("2006-01-02"), "--utilisation-lateness", "0s", "--utilisation-pull-interval", "300ms"}})
	url0 := c.Nodes[0].URL
	authority := testcluster.AuthorityToken(t, c.HTTP, url0)
	lc := cloudledgerv1connect.NewLedgerServiceClient(c.HTTP, url0)
	call := func(cmds ...*v1.Command) {
		t.Helper()
		req := connect.NewRequest(&v1.SubmitRequest{Commands: cmds})
		req.Header().Set("Authorization", "Bearer "+authority)
		if _, err := lc.Submit(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	opened := today.AddDate(0, 0, -20).Format(time.RFC3339)
	alloc := func(res, item string) *v1.Command {
		return &v1.Command{Key: "a/" + res, Body: &v1.Command_Event{Event: &v1.Event{Op: "allocate", Time: opened, Department: "d1", Project: "prj",
			Provider: "p1", Resource: res, Item: item, Kind: "standard", Quantity: "4"}}}
	}
	call(&v1.Command{Key: "d1", Body: &v1.Command_Department{Department: &v1.Department{Department: "d1", Name: "一局", Funding: "budget"}}},
		&v1.Command{Key: "p1", Body: &v1.Command_Provider{Provider: &v1.Provider{Provider: "p1", Name: "云一", ContractStart: "2020-01-01", ContractEnd: "2030-12-31"}}},
		&v1.Command{Key: "q1", Body: &v1.Command_ProjectQuota{ProjectQuota: &v1.ProjectQuota{Project: "prj", Department: "d1", Name: "系统", QuotaClass: "vcpu", Quota: "100"}}},
		&v1.Command{Key: "q2", Body: &v1.Command_ProjectQuota{ProjectQuota: &v1.ProjectQuota{Project: "prj", Department: "d1", Name: "系统", QuotaClass: "memory_gb", Quota: "100"}}},
		&v1.Command{Key: "i1", Body: &v1.Command_CatalogPrice{CatalogPrice: &v1.CatalogPrice{Item: "ecs.vcpu", Name: "vCPU", Category: "IaaS", Unit: "核·月", Billing: "allocation", QuotaClass: "vcpu", Price: "40", EffectiveFrom: "2020-01-01"}}},
		&v1.Command{Key: "i2", Body: &v1.Command_CatalogPrice{CatalogPrice: &v1.CatalogPrice{Item: "ecs.memory", Name: "内存", Category: "IaaS", Unit: "GB·月", Billing: "allocation", QuotaClass: "memory_gb", Price: "15", EffectiveFrom: "2020-01-01"}}},
		&v1.Command{Key: "i3", Body: &v1.Command_CatalogPrice{CatalogPrice: &v1.CatalogPrice{Item: "net.vpc", Name: "VPC", Category: "IaaS", Unit: "个·月", Billing: "allocation", Price: "44", EffectiveFrom: "2020-01-01"}}})
	call(alloc("r1", "ecs.vcpu"), alloc("r2", "ecs.vcpu"), alloc("m1", "ecs.memory"), alloc("vpc1", "net.vpc"))

	// Prometheus up: the first day's nine queries pass the gate, the next wait there while
	// Prometheus is stopped, then meet it down; started again, the rest are caught up.
	p.start()
	g.arm()
	deadline := time.Now().Add(60 * time.Second)
	for g.mu.Lock(); g.queries <= 9; g.mu.Lock() {
		g.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatal("the pull never asked for a second day")
		}
		time.Sleep(20 * time.Millisecond)
	}
	g.mu.Unlock()
	p.stop()
	g.release()
	time.Sleep(time.Second) // the held query fails; later ticks fail too
	if n := deliveries(t, c, authority); len(n) != 1 || n[0] != days[0].Format("2006-01-02") {
		t.Fatalf("deliveries while Prometheus is down: %v, want the first day only", n)
	}
	p.start()
	deadline = time.Now().Add(60 * time.Second)
	for len(deliveries(t, c, authority)) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the missed days were not caught up: %v\n%s", deliveries(t, c, authority), c.Log(c.Nodes[0]))
		}
		time.Sleep(200 * time.Millisecond)
	}
	got := deliveries(t, c, authority)
	want := []string{days[0].Format("2006-01-02"), days[1].Format("2006-01-02"), days[2].Format("2006-01-02")}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("deliveries %v, want each day once, in order: %v", got, want)
	}

	req := connect.NewRequest(&v1.UtilisationRequest{From: want[0], To: want[2]})
	req.Header().Set("Authorization", "Bearer "+authority)
	res, err := lc.Utilisation(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, r := range res.Msg.GetRows() {
		rows = append(rows, strings.Join([]string{r.GetResource(), r.GetDate(), r.GetMeanPct(), r.GetPeakPct(), r.GetAvailabilityPct(), r.GetSource()}, ","))
	}
	var wantRows []string
	for _, r := range []struct {
		res   string
		daily [3][3]string
	}{
		{"m1", [3][3]string{{"70", "70", "100"}, {"70", "70", "100"}, {"70", "70", "100"}}},
		{"r1", [3][3]string{{"20", "30", "100"}, {"50", "60", "100"}, {"5", "5", "100"}}},
		{"r2", [3][3]string{{"50.24", "100", "95.83"}, {"50.24", "100", "95.83"}, {"50.24", "100", "95.83"}}},
	} {
		for i, v := range r.daily {
			wantRows = append(wantRows, strings.Join([]string{r.res, want[i], v[0], v[1], v[2], "prometheus"}, ","))
		}
	}
	if strings.Join(rows, "\n") != strings.Join(wantRows, "\n") {
		t.Fatalf("rows:\n%s\nwant (worked by hand):\n%s", strings.Join(rows, "\n"), strings.Join(wantRows, "\n"))
	}
	metrics := scrape(t, c, authority)
	for _, m := range []string{`cloudledger_utilisation_values_clamped_total{what="above_100"} 3`, "cloudledger_utilisation_pulls_total 3"} {
		if !strings.Contains(metrics, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	if !strings.Contains(metrics, "cloudledger_utilisation_pull_errors_total") || strings.Contains(metrics, "cloudledger_utilisation_pull_errors_total 0\n") {
		t.Errorf("/metrics counts no failed pull while Prometheus was down")
	}
}

// deliveries are the days of the Prometheus deliveries on the ledger, in line-item order.
func deliveries(t *testing.T, c *testcluster.Cluster, token string) []string {
	t.Helper()
	req := connect.NewRequest(&v1.ListLineItemsRequest{FromSeq: 1, Limit: 10000})
	req.Header().Set("Authorization", "Bearer "+token)
	res, err := cloudledgerv1connect.NewLedgerServiceClient(c.HTTP, c.Nodes[0].URL).ListLineItems(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range res.Msg.GetItems() {
		if day, ok := strings.CutPrefix(it.GetKey(), "utilisation/prometheus/"); ok {
			out = append(out, day)
		}
	}
	return out
}

func scrape(t *testing.T, c *testcluster.Cluster, token string) string {
	req, _ := http.NewRequest(http.MethodGet, c.Nodes[0].URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return string(raw)
}
