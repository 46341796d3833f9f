// Package ops tests what an operator runs against (issue 13): /metrics, /readyz, the gRPC
// health protocol and reflection, on real ledgerd processes.
package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/internal/testcluster"
)

func scrape(t *testing.T, c *testcluster.Cluster, nd *testcluster.Node, token string) (map[string]*dto.MetricFamily, int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, nd.URL+"/metrics", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		return nil, resp.StatusCode
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics is not the Prometheus text format: %v", err)
	}
	return fams, resp.StatusCode
}

func value(f *dto.MetricFamily) float64 {
	var v float64
	for _, m := range f.GetMetric() {
		switch {
		case m.Counter != nil:
			v += m.Counter.GetValue()
		case m.Gauge != nil:
			v += m.Gauge.GetValue()
		case m.Histogram != nil:
			v += float64(m.Histogram.GetSampleCount())
		}
	}
	return v
}

// Issue 13, must show 1: /metrics during an import shows the counters rising; names and
// types follow Prometheus' conventions; hashicorp/raft's, Go's and the process's metrics are
// there; without a role's credential it is refused.
func TestMetricsDuringAnImport(t *testing.T) {
	c := testcluster.Start(t, 1, testcluster.Options{})
	nd := c.Nodes[0]
	ctx := context.Background()
	cl := testcluster.NewClient(c.HTTP, nd.URL)
	if _, err := cl.Submit(ctx, testcluster.SeedCommands()); err != nil {
		t.Fatal(err)
	}
	if _, code := scrape(t, c, nd, ""); code != http.StatusUnauthorized {
		t.Fatalf("/metrics without a credential: HTTP %d, want 401", code)
	}
	auditor := testcluster.RoleToken(t, c.HTTP, nd.URL, "auditor1", "auditor", "")
	before, _ := scrape(t, c, nd, auditor)
	// The import: 100 requests of 500 events; scraped while it runs.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for b := 0; b < 100; b++ {
			cmds := make([]*v1.Command, 500)
			for i := range cmds {
				cmds[i] = testcluster.Allocate("ops", b*500+i)
			}
			if _, err := cl.Submit(ctx, cmds); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var during []float64
	for i := 0; i < 5; i++ {
		time.Sleep(50 * time.Millisecond)
		f, _ := scrape(t, c, nd, auditor)
		during = append(during, value(f["cloudledger_line_items_applied_total"]))
	}
	wg.Wait()
	after, _ := scrape(t, c, nd, auditor)
	t.Logf("cloudledger_line_items_applied_total: before %v, during %v, after %v", value(before["cloudledger_line_items_applied_total"]), during, value(after["cloudledger_line_items_applied_total"]))
	for _, name := range []string{"cloudledger_line_items_applied_total", "cloudledger_import_rows_total", "cloudledger_proposals_total", "cloudledger_apply_seconds", "cloudledger_proposal_bytes"} {
		if value(after[name]) <= value(before[name]) {
			t.Errorf("%s did not rise during the import (%v → %v)", name, value(before[name]), value(after[name]))
		}
	}
	if got := value(after["cloudledger_line_items_applied_total"]) - value(before["cloudledger_line_items_applied_total"]); got != 50000 {
		t.Errorf("line items applied rose by %v, want 50000", got)
	}
	rising := false
	for i := 1; i < len(during); i++ {
		rising = rising || during[i] > during[i-1]
	}
	if !rising {
		t.Errorf("the counter did not move between scrapes during the import: %v", during)
	}
	want := map[string]dto.MetricType{
		"cloudledger_line_items_applied_total": dto.MetricType_COUNTER, "cloudledger_apply_seconds": dto.MetricType_HISTOGRAM,
		"cloudledger_flush_seconds": dto.MetricType_HISTOGRAM, "cloudledger_proposals_total": dto.MetricType_COUNTER,
		"cloudledger_proposal_bytes": dto.MetricType_HISTOGRAM, "cloudledger_import_rows_total": dto.MetricType_COUNTER,
		"cloudledger_access_refusals_total": dto.MetricType_COUNTER, "cloudledger_leader_changes_total": dto.MetricType_COUNTER,
		"cloudledger_raft_applied_index": dto.MetricType_GAUGE, "cloudledger_raft_commit_index": dto.MetricType_GAUGE,
		"cloudledger_line_items": dto.MetricType_GAUGE, "go_goroutines": dto.MetricType_GAUGE, "process_resident_memory_bytes": dto.MetricType_GAUGE,
	}
	for name, typ := range want {
		f, ok := after[name]
		if !ok {
			t.Errorf("no metric %s", name)
			continue
		}
		if f.GetType() != typ {
			t.Errorf("%s is a %s, want %s", name, f.GetType(), typ)
		}
	}
	raft := 0
	for name, f := range after {
		if strings.HasPrefix(name, "cloudledger_raft_") && name != "cloudledger_raft_applied_index" && name != "cloudledger_raft_commit_index" && name != "cloudledger_raft_is_leader" {
			raft++
		}
		if !strings.HasPrefix(name, "cloudledger_") {
			continue
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			if !strings.HasSuffix(name, "_total") {
				t.Errorf("counter %s does not end in _total", name)
			}
		case dto.MetricType_HISTOGRAM: // ours; raft's timings are go-metrics summaries
			if !strings.HasSuffix(name, "_seconds") && !strings.HasSuffix(name, "_bytes") {
				t.Errorf("histogram %s is not in a base unit (_seconds, _bytes)", name)
			}
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "resource", "department", "account", "provider":
					t.Errorf("%s has a label %s (unbounded values)", name, l.GetName())
				}
			}
		}
	}
	if raft == 0 {
		t.Error("no hashicorp/raft metric (cloudledger_raft_…) reached Prometheus")
	}
}

// Issue 13, must show 2: /readyz answers 503 on a node cut off from the leader and 200 again
// once it has caught up; the gRPC health protocol agrees; reflection lists the services.
func TestReadyzAndReflection(t *testing.T) {
	c := testcluster.Start(t, 3, testcluster.Options{})
	c.WaitConverged(30 * time.Second)
	ready := func(nd *testcluster.Node) int {
		resp, err := c.HTTP.Get(nd.URL + "/readyz")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, nd := range c.Nodes {
		if code := ready(nd); code != http.StatusOK {
			t.Fatalf("%s /readyz: %d before any fault", nd.ID, code)
		}
	}
	lead := c.Nodes[c.LeaderIndex()]
	var alone *testcluster.Node
	var others []*testcluster.Node
	for _, nd := range c.Nodes {
		if nd == lead || alone != nil {
			others = append(others, nd)
		} else {
			alone = nd
		}
	}
	// Cut alone off: the leader and the other follower hang (SIGSTOP).
	for _, nd := range others {
		c.Pause(nd)
	}
	deadline := time.Now().Add(20 * time.Second)
	for ready(alone) != http.StatusServiceUnavailable {
		if time.Now().After(deadline) {
			t.Fatalf("%s still ready 20 s after losing the leader", alone.ID)
		}
		time.Sleep(100 * time.Millisecond)
	}
	hc := grpchealth.NewClient(c.HTTP, alone.URL)
	if res, err := hc.Check(context.Background(), &grpchealth.CheckRequest{}); err != nil || res.Status != grpchealth.StatusNotServing {
		t.Errorf("gRPC health of the cut-off node: %+v %v, want NOT_SERVING", res, err)
	}
	for _, nd := range others {
		c.Resume(nd)
	}
	deadline = time.Now().Add(30 * time.Second)
	for ready(alone) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready 30 s after the others came back", alone.ID)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if res, err := hc.Check(context.Background(), &grpchealth.CheckRequest{Service: "cloudledger.v1.LedgerService"}); err != nil || res.Status != grpchealth.StatusServing {
		t.Errorf("gRPC health after catching up: %+v %v, want SERVING", res, err)
	}

	// Reflection, as grpcurl uses it (HTTP/2 without TLS, the gRPC protocol).
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	h2c := &http.Client{Transport: &http.Transport{Protocols: p}, Timeout: 10 * time.Second}
	stream := grpcreflect.NewClient(h2c, alone.URL, connect.WithGRPC()).NewStream(context.Background())
	names, err := stream.ListServices()
	stream.Close()
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(names)
	for _, want := range []string{"cloudledger.v1.LedgerService", "cloudledger.v1.ClusterService", "cloudledger.v1.AccountService", "grpc.health.v1.Health"} {
		if !strings.Contains(got, want) {
			t.Errorf("reflection lists %s, without %s", got, want)
		}
	}
}

// Issue 13: --log-format json makes every line of a node's log one JSON object, the lines
// of hashicorp/raft included (they come through the same slog handler).
func TestJSONLogs(t *testing.T) {
	c := testcluster.Start(t, 1, testcluster.Options{ExtraArgs: []string{"--log-format", "json", "--log-level", "info"}})
	if err := c.WaitReady(c.Nodes[0], 20*time.Second); err != nil {
		t.Fatal(err)
	}
	c.Stop(c.Nodes[0])
	raft := 0
	lines := strings.Split(strings.TrimSpace(c.Log(c.Nodes[0])), "\n")
	for _, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		if rec["component"] == "raft" {
			raft++
		}
	}
	if len(lines) < 3 || raft == 0 {
		t.Fatalf("%d lines, %d of raft, in:\n%s", len(lines), raft, c.Log(c.Nodes[0]))
	}
}

// dashboard is the part of Grafana's dashboard model (schemaVersion 39) the test checks.
type dashboard struct {
	Title         string `json:"title"`
	UID           string `json:"uid"`
	SchemaVersion int    `json:"schemaVersion"`
	Templating    struct {
		List []struct {
			Name, Type string
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID         int    `json:"id"`
		Type       string `json:"type"`
		Title      string `json:"title"`
		Datasource struct {
			Type, UID string
		} `json:"datasource"`
		GridPos struct{ H, W, X, Y int } `json:"gridPos"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

var metricName = regexp.MustCompile(`\b(cloudledger_[a-z_]+|process_[a-z_]+|go_[a-z_]+)\b`)

// Issue 13, must show 1: deploy/grafana-dashboard.json has the shape of Grafana's dashboard
// model (unknown fields refused) and every metric it queries is one a node exposes.
func TestGrafanaDashboard(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(testcluster.RepoRoot(), "deploy", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var loose map[string]any
	if err := json.Unmarshal(raw, &loose); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if d.Title == "" || d.UID == "" || d.SchemaVersion < 36 || len(d.Panels) < 10 {
		t.Fatalf("dashboard %q uid %q schema %d with %d panels", d.Title, d.UID, d.SchemaVersion, len(d.Panels))
	}
	if len(d.Templating.List) != 1 || d.Templating.List[0].Type != "datasource" {
		t.Fatalf("want one datasource variable, got %+v", d.Templating.List)
	}
	c := testcluster.Start(t, 1, testcluster.Options{})
	nd := c.Nodes[0]
	if err := c.WaitReady(nd, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	fams, _ := scrape(t, c, nd, testcluster.RoleToken(t, c.HTTP, nd.URL, "auditor1", "auditor", ""))
	known := func(name string) bool {
		for _, s := range []string{"", "_bucket", "_sum", "_count"} {
			if _, ok := fams[strings.TrimSuffix(name, s)]; ok && strings.HasSuffix(name, s) {
				return true
			}
		}
		// Exposed only with Kafka configured, or once a settlement year is watched.
		return strings.HasPrefix(name, "cloudledger_kafka_") || name == "cloudledger_settlement_workdays_left"
	}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		switch p.Type {
		case "timeseries", "stat", "gauge", "table", "bargauge":
		default:
			t.Errorf("panel %d: unknown type %q", p.ID, p.Type)
		}
		if ids[p.ID] || p.ID == 0 || p.Title == "" {
			t.Errorf("panel %d %q: id missing or used twice, or no title", p.ID, p.Title)
		}
		ids[p.ID] = true
		if g := p.GridPos; g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 || g.Y < 0 {
			t.Errorf("panel %d: gridPos %+v outside Grafana's 24 columns", p.ID, g)
		}
		if p.Datasource.Type != "prometheus" || len(p.Targets) == 0 {
			t.Errorf("panel %d: datasource %+v, %d targets", p.ID, p.Datasource, len(p.Targets))
		}
		for _, tg := range p.Targets {
			if tg.RefID == "" || tg.Expr == "" {
				t.Errorf("panel %d: a target without refId or expr", p.ID)
			}
			for _, m := range metricName.FindAllString(tg.Expr, -1) {
				if !known(m) {
					t.Errorf("panel %d %q queries %s, which no node exposes", p.ID, p.Title, m)
				}
			}
		}
	}
}

// Issue 29, must show 5: `promtool check metrics` (Debian's prometheus package, which
// .ci/run installs) accepts a live node's /metrics — hashicorp/raft's series in snake_case
// with seconds, the settlement's working days as a gauge without a unit it does not have.
// A year of 2027 is loaded (a test calendar) so that the 2026 settlement year's working days
// are known and the gauge is there.
func TestPromtoolAcceptsTheMetrics(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("no promtool (apt-get install -y prometheus): %v", err)
	}
	c := testcluster.Start(t, 1, testcluster.Options{})
	nd := c.Nodes[0]
	cl := testcluster.NewClient(c.HTTP, nd.URL)
	cal := `{"year": 2027, "days": [{"name": "元旦", "date": "2027-01-01", "isOffDay": true}]}`
	cmds := append(testcluster.SeedCommands(), &v1.Command{Key: "cal/2027", Body: &v1.Command_CalendarYear{CalendarYear: &v1.CalendarYear{Json: cal}}})
	if _, err := cl.Submit(context.Background(), cmds); err != nil {
		t.Fatal(err)
	}
	auditor := testcluster.RoleToken(t, c.HTTP, nd.URL, "auditor1", "auditor", "")
	deadline := time.Now().Add(30 * time.Second)
	for {
		fams, _ := scrape(t, c, nd, auditor)
		if _, ok := fams["cloudledger_settlement_workdays_left"]; ok {
			if _, ok := fams["cloudledger_raft_commit_time_seconds"]; !ok {
				t.Errorf("hashicorp/raft's commit time is not exposed as cloudledger_raft_commit_time_seconds")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("cloudledger_settlement_workdays_left did not appear within 30 s")
		}
		time.Sleep(500 * time.Millisecond)
	}
	req, _ := http.NewRequest(http.MethodGet, nd.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+auditor)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(string(text))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// Issue 29 (SPEC: reads name the state index): page views between two reads of unchanged
// figures add access records, not state — the overrun report, the quota use and verify name
// the same index before and after, and the next write moves it.
func TestReadsNameTheStateIndex(t *testing.T) {
	c := testcluster.Start(t, 1, testcluster.Options{})
	nd := c.Nodes[0]
	cl := testcluster.NewClient(c.HTTP, nd.URL)
	ctx := context.Background()
	if _, err := cl.Submit(ctx, testcluster.SeedCommands()); err != nil {
		t.Fatal(err)
	}
	auditor := testcluster.RoleToken(t, c.HTTP, nd.URL, "auditor1", "auditor", "")
	led := cl.Ledger(0)
	indexes := func() [3]uint64 {
		t.Helper()
		o, err := led.QuotaOverruns(ctx, authed(&v1.QuotaOverrunsRequest{}, auditor))
		if err != nil {
			t.Fatal(err)
		}
		u, err := led.QuotaUse(ctx, authed(&v1.QuotaUseRequest{}, auditor))
		if err != nil {
			t.Fatal(err)
		}
		v, err := led.Verify(ctx, authed(&v1.VerifyRequest{}, auditor))
		if err != nil {
			t.Fatal(err)
		}
		return [3]uint64{o.Msg.GetAppliedIndex(), u.Msg.GetAppliedIndex(), v.Msg.GetAppliedIndex()}
	}
	applied := func() string { // the node's applied index, from /healthz (open, unrecorded)
		res, err := c.HTTP.Get(nd.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return regexp.MustCompile(`applied=\d+`).FindString(string(body))
	}
	time.Sleep(500 * time.Millisecond) // the trail of the set-up lands
	before := indexes()
	appliedBefore := applied()
	for i := 0; i < 20; i++ { // page views: each an access record
		if _, err := led.ListLineItems(ctx, authed(&v1.ListLineItemsRequest{FromSeq: 1, Limit: 10}, auditor)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond) // their records land through Raft
	if applied() == appliedBefore {
		t.Fatalf("the page views wrote nothing (%s before and after): the test would prove nothing", appliedBefore)
	}
	after := indexes()
	if before[0] != before[1] || before[1] != before[2] || after != before {
		t.Fatalf("the state index read before %v and after 20 page views %v: want one index throughout", before, after)
	}
	if _, err := cl.Submit(ctx, []*v1.Command{testcluster.Allocate("idx", 1)}); err != nil {
		t.Fatal(err)
	}
	if moved := indexes(); moved[0] <= before[0] || moved[0] != moved[2] {
		t.Fatalf("after a write the reads name %v (before %v)", moved, before)
	}
}

func authed[T any](m *T, token string) *connect.Request[T] {
	r := connect.NewRequest(m)
	r.Header().Set("Authorization", "Bearer "+token)
	return r
}
