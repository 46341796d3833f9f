package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudledger/cloudledger/internal/testcluster"
	"github.com/cloudledger/cloudledger/internal/testport"
)

// The etcd of issue 28's comparison. Its server and client come through the Go module proxy,
// pinned in bench/etcdload's go.mod (a module of its own, so that etcd stays out of
// CloudLedger's): the server as that module's tool, since `go install
// go.etcd.io/etcd/server/v3@v3.7.1` refuses a module whose go.mod has replace directives.
const (
	etcdVersion = "v3.7.1"
	etcdTxnOps  = 128 // etcd's default --max-txn-ops: the largest transaction it accepts
)

// BenchmarkWritesAgainstEtcd is issue 28's comparison: the two write loads of BenchmarkWrites
// on a 3-node CloudLedger cluster and on a 3-node etcd 3.7.1 (loopback, fsync on, each node
// its own process and data directory), two rounds in opposite order (etcd, CloudLedger,
// CloudLedger, etcd); the ratios are of the rounds' sums, CloudLedger items/s ÷ etcd puts/s.
// The same items for both: 48,000 by 64 single-item writers, and an import of 400,000 — for
// etcd in transactions of 128 puts (its limit), 4 in flight. Target ≥ 1.5× on both.
func BenchmarkWritesAgainstEtcd(b *testing.B) {
	etcd, load := etcdBinaries(b)
	ctx := context.Background()
	start := time.Now()
	eA, eB := etcdLoads(b, etcd, load)
	cA, cB := clusterLoads(b, ctx, "cloudledger", testcluster.Options{})
	cA2, cB2 := clusterLoads(b, ctx, "cloudledger", testcluster.Options{})
	eA2, eB2 := etcdLoads(b, etcd, load)
	fmt.Fprintf(os.Stdout, "\nrounds (etcd, cloudledger, cloudledger, etcd), %s in all:", time.Since(start).Round(time.Second))
	report(b, []result{eA, cA, cA2, eA2, eB, cB, cB2, eB2}, nil)
	eA, eB, cA, cB = combine(eA, eA2), combine(eB, eB2), combine(cA, cA2), combine(cB, cB2)
	fmt.Fprintf(os.Stdout, "\nthe rounds' sums (÷baseline: CloudLedger ÷ etcd %s):", etcdVersion)
	report(b, []result{eA, cA, eB, cB}, map[string]result{cA.name: eA, cB.name: eB})
	single, imp := cA.rate()/eA.rate(), cB.rate()/eB.rate()
	fmt.Fprintf(os.Stdout, "CloudLedger ÷ etcd %s: 64 writers × 1 item %.2f, import %.2f (target ≥ 1.5)\n", etcdVersion, single, imp)
	b.ReportMetric(cA.rate(), "single-items/s")
	b.ReportMetric(eA.rate(), "etcd-single-puts/s")
	b.ReportMetric(cB.rate(), "import-items/s")
	b.ReportMetric(eB.rate(), "etcd-import-puts/s")
	b.ReportMetric(single, "etcd-ratio-single")
	b.ReportMetric(imp, "etcd-ratio-import")
}

// etcdBinaries builds the etcd server (cached under the user's cache directory, keyed by
// bench/etcdload's go.mod and go.sum and the Go version, so that a re-run does not rebuild
// it) and the load driver. Skips the benchmark when etcd's modules cannot be fetched.
func etcdBinaries(b *testing.B) (etcd, load string) {
	b.Helper()
	dir := filepath.Join(testcluster.RepoRoot(), "bench", "etcdload")
	goCmd := func(args ...string) *exec.Cmd {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off")
		return cmd
	}
	// Resolving the packages downloads the modules (through the module proxy) or fails.
	if out, err := goCmd("list", "-deps", ".", "go.etcd.io/etcd/server/v3").CombinedOutput(); err != nil {
		b.Skipf("cannot fetch etcd %s's modules (no network to the Go module proxy?): %v\n%s", etcdVersion, err, tail(out))
	}

	h := sha256.New()
	for _, f := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			b.Fatal(err)
		}
		h.Write(data)
	}
	h.Write([]byte(runtime.Version()))
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	binDir := filepath.Join(cache, "cloudledger-bench", "etcd-"+etcdVersion+"-"+hex.EncodeToString(h.Sum(nil))[:12])
	etcd = filepath.Join(binDir, "etcd")
	if _, err := os.Stat(etcd); err != nil {
		if err := os.MkdirAll(binDir, 0o755); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		tmp := etcd + fmt.Sprintf(".%d.tmp", os.Getpid())
		if out, err := goCmd("build", "-trimpath", "-o", tmp, "go.etcd.io/etcd/server/v3").CombinedOutput(); err != nil {
			b.Fatalf("go build go.etcd.io/etcd/server/v3: %v\n%s", err, out)
		}
		if err := os.Rename(tmp, etcd); err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(os.Stdout, "built etcd %s in %s: %s\n", etcdVersion, time.Since(t0).Round(time.Second), etcd)
	}
	if out, err := exec.Command(etcd, "--version").CombinedOutput(); err != nil || !strings.Contains(string(out), "etcd Version: "+strings.TrimPrefix(etcdVersion, "v")) {
		b.Fatalf("%s --version: %v\n%s", etcd, err, out)
	}

	load = filepath.Join(b.TempDir(), "etcdload")
	if out, err := goCmd("build", "-o", load, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build bench/etcdload: %v\n%s", err, out)
	}
	return etcd, load
}

// etcdLoads runs both loads on a fresh 3-node etcd cluster, checks that every member holds
// every key, and stops it.
func etcdLoads(b *testing.B, etcd, load string) (result, result) {
	b.Helper()
	c := startEtcd(b, etcd, 3)
	defer c.stop()
	name := "etcd " + strings.TrimPrefix(etcdVersion, "v")
	eps := strings.Join(c.clients, ",")
	a := runLoad(b, load, name+": 64 writers × 1 item", "-endpoints", eps, "-mode", "single",
		"-items", strconv.Itoa(singleItems), "-workers", strconv.Itoa(singleWriters))
	r := runLoad(b, load, name+": import, 128 puts/txn", "-endpoints", eps, "-mode", "txn",
		"-items", strconv.Itoa(importItems), "-workers", strconv.Itoa(importConcurrency),
		"-txn-ops", strconv.Itoa(etcdTxnOps), "-first", strconv.Itoa(singleItems))
	count := exec.Command(load, "-endpoints", eps, "-mode", "count", "-items", strconv.Itoa(singleItems+importItems))
	dieWithParent(count)
	out, err := count.CombinedOutput()
	if err != nil {
		b.Fatalf("%s did not converge: %v\n%s%s", name, err, out, c.logs())
	}
	fmt.Fprintf(os.Stdout, "%s converged: keys under item/ on every member %s", name, out)
	return a, r
}

// runLoad runs bench/etcdload and reads its result and latencies.
func runLoad(b *testing.B, load, name string, args ...string) result {
	b.Helper()
	latFile := filepath.Join(b.TempDir(), "latencies")
	cmd := exec.Command(load, append(args, "-latencies", latFile)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	dieWithParent(cmd)
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("%s: %v\n%s", name, err, stderr.Bytes())
	}
	var res struct {
		Items     int   `json:"items"`
		ElapsedNs int64 `json:"elapsed_ns"`
		P50Ns     int64 `json:"p50_ns"`
		P99Ns     int64 `json:"p99_ns"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		b.Fatalf("%s: %v in %q", name, err, out)
	}
	r := result{name: name, items: res.Items, elapsed: time.Duration(res.ElapsedNs)}
	f, err := os.Open(latFile)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		ns, err := strconv.ParseInt(sc.Text(), 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		r.latencies = append(r.latencies, time.Duration(ns))
	}
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	if r.pct(0.50) != time.Duration(res.P50Ns) || r.pct(0.99) != time.Duration(res.P99Ns) {
		b.Fatalf("%s: the latencies file does not give the printed p50 %d and p99 %d", name, res.P50Ns, res.P99Ns)
	}
	return r
}

type etcdCluster struct {
	b       *testing.B
	cmds    []*exec.Cmd
	exited  []chan struct{}
	clients []string // host:port
	logFile []string
}

// startEtcd starts n etcd members on loopback, each with its data directory in a temporary
// directory, etcd's default fsync behaviour and snapshot count, a backend quota of 8 GiB
// (etcd's maximum; the loads write about 100 MB of keys and values, its default is 2 GiB), and
// waits until every member answers healthy.
func startEtcd(b *testing.B, bin string, n int) *etcdCluster {
	b.Helper()
	c := &etcdCluster{b: b}
	b.Cleanup(c.stop)
	dir := b.TempDir()
	var peers, initial []string
	for i := range n {
		c.clients = append(c.clients, testport.Addr(b))
		peers = append(peers, testport.Addr(b))
		initial = append(initial, fmt.Sprintf("e%d=http://%s", i+1, peers[i]))
	}
	for i := range n {
		name := fmt.Sprintf("e%d", i+1)
		logPath := filepath.Join(dir, name+".log")
		logf, err := os.Create(logPath)
		if err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command(bin,
			"--name", name,
			"--data-dir", filepath.Join(dir, name),
			"--listen-client-urls", "http://"+c.clients[i],
			"--advertise-client-urls", "http://"+c.clients[i],
			"--listen-peer-urls", "http://"+peers[i],
			"--initial-advertise-peer-urls", "http://"+peers[i],
			"--initial-cluster", strings.Join(initial, ","),
			"--initial-cluster-state", "new",
			"--initial-cluster-token", "cloudledger-bench",
			"--quota-backend-bytes", strconv.FormatInt(8<<30, 10),
			"--log-level", "warn",
		)
		cmd.Stdout, cmd.Stderr = logf, logf
		dieWithParent(cmd)
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		logf.Close()
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		c.cmds, c.exited, c.logFile = append(c.cmds, cmd), append(c.exited, exited), append(c.logFile, logPath)
	}
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for i, ep := range c.clients {
		for {
			select {
			case <-c.exited[i]:
				b.Fatalf("etcd member e%d exited while starting%s", i+1, c.logs())
			default:
			}
			if healthy(hc, ep) {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("etcd member e%d not healthy after 60 s%s", i+1, c.logs())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return c
}

func healthy(hc *http.Client, ep string) bool {
	resp, err := hc.Get("http://" + ep + "/health")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var h struct {
		Health string `json:"health"`
	}
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&h) == nil && h.Health == "true"
}

// stop stops every member (SIGTERM, SIGKILL after 10 s); a second call does nothing.
func (c *etcdCluster) stop() {
	for i, cmd := range c.cmds {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited[i]:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-c.exited[i]
		}
	}
	c.cmds = nil
}

// logs is the end of every member's log, for a failure's message.
func (c *etcdCluster) logs() string {
	var sb strings.Builder
	for _, p := range c.logFile {
		data, _ := os.ReadFile(p)
		fmt.Fprintf(&sb, "\n--- %s:\n%s", filepath.Base(p), tail(data))
	}
	return sb.String()
}

// tail is the last 4 KiB of out.
func tail(out []byte) []byte {
	if len(out) > 4096 {
		return append([]byte("…"), out[len(out)-4096:]...)
	}
	return out
}
