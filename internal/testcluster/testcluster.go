// Package testcluster starts real ledgerd processes on loopback for tests and benchmarks:
// real TCP between nodes, real on-disk stores with fsync, and SIGKILL for crashes.
package testcluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/internal/pki"
	"github.com/cloudledger/cloudledger/internal/testport"
	"github.com/cloudledger/cloudledger/internal/ticket"
)

// Token is the admin token every test cluster is bootstrapped with.
const Token = "test-admin-token"

var (
	buildMu sync.Mutex
	built   = map[string]string{} // command → binary
)

// Binary builds cmd/ledgerd once per test process.
func Binary(tb testing.TB) string { return buildCommand(tb, "ledgerd", "") }

// BinaryWithTags builds cmd/ledgerd with build tags (benchmark baselines).
func BinaryWithTags(tb testing.TB, tags string) string { return buildCommand(tb, "ledgerd", tags) }

// CtlBinary builds cmd/ledgerctl once per test process.
func CtlBinary(tb testing.TB) string { return buildCommand(tb, "ledgerctl", "") }

func buildCommand(tb testing.TB, name, tags string) string {
	tb.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[name+"/"+tags]; ok {
		return p
	}
	dir, err := os.MkdirTemp("", name+"-bin-")
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-tags", tags, "-o", path, "./cmd/"+name)
	cmd.Dir = RepoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build %s: %v\n%s", name, err, out)
	}
	built[name+"/"+tags] = path
	return path
}

// BinaryAt builds cmd/ledgerd as it was at a commit of this repository (benchmarks against
// the code before a change), in a git worktree of its own; once per test process.
func BinaryAt(tb testing.TB, commit string) string {
	tb.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built["ledgerd@"+commit]; ok {
		return p
	}
	dir, err := os.MkdirTemp("", "ledgerd-"+commit+"-")
	if err != nil {
		tb.Fatal(err)
	}
	tree := filepath.Join(dir, "src")
	if out, err := exec.Command("git", "-C", RepoRoot(), "worktree", "add", "--detach", tree, commit).CombinedOutput(); err != nil {
		tb.Fatalf("git worktree add %s: %v\n%s", commit, err, out)
	}
	defer exec.Command("git", "-C", RepoRoot(), "worktree", "remove", "--force", tree).Run()
	// ledgerctl beside it: that commit's tickets are made by that commit's ledgerctl
	// (the ticket's format is the two's business).
	for _, name := range []string{"ledgerctl", "ledgerd"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), "./cmd/"+name)
		cmd.Dir = tree
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("go build %s@%s: %v\n%s", name, commit, err, out)
		}
	}
	path := filepath.Join(dir, "ledgerd")
	built["ledgerd@"+commit] = path
	return path
}

// RepoRoot is the module's root directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Options tune a cluster.
type Options struct {
	SnapshotThreshold uint64 // default 8192
	TrailingLogs      uint64 // default 10240
	ExtraArgs         []string
	// OperatorTLS runs the API over TLS and Raft with the operator's PKI: a CA of the
	// test's (CAFile) and a certificate per node, as `ledgerctl certs` makes them.
	OperatorTLS bool
	// BuildTags builds the nodes' binary with these tags (benchmark baselines).
	BuildTags string
	// Binary runs this ledgerd instead of the one built from the tree (BinaryAt).
	Binary string
	// ClockAt starts every node's clock at this RFC 3339 time (with BuildTags "chaos"), so
	// that a test can live in a past the ledger's forward-only clock cannot be moved back to.
	ClockAt string
}

// Node is one ledgerd process.
type Node struct {
	ID       string
	DataDir  string
	HTTPAddr string
	RaftAddr string
	URL      string
	cmd      *exec.Cmd
	exited   chan struct{}
	log      *os.File
	bin      string // its own ledgerd, "" for the cluster's
	nonvoter bool
}

// Cluster is a set of nodes started by a test.
type Cluster struct {
	tb    testing.TB
	bin   string
	dir   string
	opts  Options
	Nodes []*Node
	HTTP  *http.Client
	// CAFile is the PEM CA of the nodes' certificates with OperatorTLS ("" otherwise).
	CAFile string
	ca     *pki.CA
	// joinTicket is the ticket of the node being launched to join (launchJoining).
	joinTicket string
}

// Start starts n nodes: the first bootstraps, the others join it.
func Start(tb testing.TB, n int, opts Options) *Cluster {
	tb.Helper()
	bin := opts.Binary
	if bin == "" {
		bin = BinaryWithTags(tb, opts.BuildTags)
	}
	c := &Cluster{tb: tb, bin: bin, dir: tb.TempDir(), opts: opts,
		HTTP: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}}
	tb.Cleanup(func() { c.StopAll(); unregister(c) })
	if opts.OperatorTLS {
		ca, err := pki.NewCA("test cluster CA", time.Now())
		if err != nil {
			tb.Fatal(err)
		}
		c.ca, c.CAFile = ca, filepath.Join(c.dir, "ca.pem")
		if err := os.WriteFile(c.CAFile, ca.CertPEM, 0o600); err != nil {
			tb.Fatal(err)
		}
		c.HTTP.Transport = &http.Transport{MaxIdleConnsPerHost: 256, ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}
	}
	for i := 0; i < n; i++ {
		c.AddNode()
	}
	return c
}

// AddNode starts one more node; it joins the cluster unless it is the first.
func (c *Cluster) AddNode() *Node { return c.AddNodeWith(NodeOptions{}) }

// NodeOptions tune one node of AddNodeWith.
type NodeOptions struct {
	// Binary runs this ledgerd for the node (another build of the tree: a mixed-version
	// cluster); "" is the cluster's.
	Binary string
	// Nonvoter joins the node as a replica without a vote.
	Nonvoter bool
	// ReadyWithin is how long the node may take to be ready (default 30 s): a node joining a
	// large ledger installs its snapshot first.
	ReadyWithin time.Duration
}

// AddNodeWith starts one more node with its own options.
func (c *Cluster) AddNodeWith(o NodeOptions) *Node {
	c.tb.Helper()
	i := len(c.Nodes) + 1
	nd := &Node{ID: fmt.Sprintf("node%d", i), DataDir: filepath.Join(c.dir, fmt.Sprintf("node%d", i)),
		HTTPAddr: freeAddr(c.tb), RaftAddr: freeAddr(c.tb), bin: o.Binary, nonvoter: o.Nonvoter}
	nd.URL = "http://" + nd.HTTPAddr
	if c.ca != nil {
		nd.URL = "https://" + nd.HTTPAddr
	}
	// A new node joins through the first (the holder of the cluster's CA key), on a ticket
	// the operator makes on the first's host.
	var joinVia *Node
	if len(c.Nodes) > 0 {
		joinVia = c.Nodes[0]
	}
	c.Nodes = append(c.Nodes, nd)
	for attempt := 1; ; attempt++ {
		register(c, nd.URL)
		if joinVia != nil {
			c.launchJoining(nd, joinVia, c.joinTicketFor(joinVia, nd.ID, nd.nonvoter))
		} else {
			c.launch(nd, "")
		}
		within := o.ReadyWithin
		if within == 0 {
			within = 30 * time.Second
		}
		err := c.WaitReady(nd, within)
		if err == nil {
			return nd
		}
		// Another test process may take a port between testport's check and the bind: a
		// new node starts again on other ports (a restarted one keeps its own).
		if log := c.Log(nd); attempt < 3 && !nd.Running() && strings.Contains(log, "address already in use") {
			if nd.log != nil {
				nd.log.Close()
			}
			_ = os.RemoveAll(nd.DataDir)
			nd.HTTPAddr, nd.RaftAddr = freeAddr(c.tb), freeAddr(c.tb)
			nd.URL = strings.SplitN(nd.URL, "//", 2)[0] + "//" + nd.HTTPAddr
			continue
		}
		c.tb.Fatalf("%s not ready: %v\n%s", nd.ID, err, c.Log(nd))
	}
}

// JoinTicket makes an operator's join ticket for nodeID on the host of the member whose
// data directory is dataDir (what `ledgerctl cluster add --data-dir` does).
func JoinTicket(tb testing.TB, dataDir, nodeID string) string {
	tb.Helper()
	pin, err := ticket.DataDirPin(dataDir)
	if err != nil {
		tb.Fatal(err)
	}
	tok, err := ticket.Make(dataDir, ticket.Join, nodeID, false, ticket.DefaultTTL, pin, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// joinTicketFor makes a join ticket on via's host: with this tree's ticket package, or,
// for a cluster of another commit's ledgerd (Options.Binary with a ledgerctl beside it),
// with that commit's `ledgerctl cluster add`.
func (c *Cluster) joinTicketFor(via *Node, nodeID string, nonvoter bool) string {
	c.tb.Helper()
	if c.opts.Binary != "" {
		ctl := filepath.Join(filepath.Dir(c.opts.Binary), "ledgerctl")
		if _, err := os.Stat(ctl); err == nil {
			out, err := exec.Command(ctl, "cluster", "add", "--data-dir", via.DataDir, "--node-id", nodeID).Output()
			if err != nil {
				c.tb.Fatalf("%s cluster add: %v", ctl, err)
			}
			return strings.TrimSpace(string(out))
		}
	}
	if nonvoter {
		pin, err := ticket.DataDirPin(via.DataDir)
		if err != nil {
			c.tb.Fatal(err)
		}
		tok, err := ticket.Make(via.DataDir, ticket.Join, nodeID, true, ticket.DefaultTTL, pin, time.Now())
		if err != nil {
			c.tb.Fatal(err)
		}
		return tok
	}
	return JoinTicket(c.tb, via.DataDir, nodeID)
}

// launchJoining starts a new node that joins through via with a join ticket.
func (c *Cluster) launchJoining(nd, via *Node, joinTicket string) {
	c.tb.Helper()
	c.joinTicket = joinTicket
	defer func() { c.joinTicket = "" }()
	c.launch(nd, via.URL)
}

func (c *Cluster) launch(nd *Node, join string) {
	c.tb.Helper()
	if err := os.MkdirAll(nd.DataDir, 0o700); err != nil {
		c.tb.Fatal(err)
	}
	if c.opts.ClockAt != "" {
		if _, err := os.Stat(filepath.Join(nd.DataDir, "chaos-clock-offset")); err != nil {
			nd.writeClockOffset(c.tb, c.opts.ClockAt)
		}
	}
	args := []string{"--data-dir", nd.DataDir, "--http", nd.HTTPAddr, "--raft", nd.RaftAddr, "--node-id", nd.ID,
		"--fast-elections", "--tick-interval", "200ms", "--log-level", "warn"}
	if join != "" {
		args = append(args, "--join", join)
	}
	if c.ca != nil {
		cert, key := filepath.Join(c.dir, nd.ID+".pem"), filepath.Join(c.dir, nd.ID+"-key.pem")
		if _, err := os.Stat(cert); err != nil {
			certPEM, keyPEM, err := c.ca.NewNode(nd.ID, []string{"127.0.0.1", "localhost"}, time.Now())
			if err != nil {
				c.tb.Fatal(err)
			}
			if err := os.WriteFile(cert, certPEM, 0o600); err != nil {
				c.tb.Fatal(err)
			}
			if err := os.WriteFile(key, keyPEM, 0o600); err != nil {
				c.tb.Fatal(err)
			}
		}
		args = append(args, "--tls-cert", cert, "--tls-key", key, "--tls-ca", c.CAFile,
			"--raft-ca", c.CAFile, "--raft-cert", cert, "--raft-key", key)
	}
	if c.opts.SnapshotThreshold > 0 {
		args = append(args, "--snapshot-threshold", fmt.Sprint(c.opts.SnapshotThreshold))
	}
	if c.opts.SnapshotThreshold > 0 && c.opts.SnapshotThreshold < 1024 {
		args = append(args, "--snapshot-interval", "200ms")
	}
	if c.opts.TrailingLogs > 0 {
		args = append(args, "--trailing-logs", fmt.Sprint(c.opts.TrailingLogs))
	}
	args = append(args, c.opts.ExtraArgs...)
	if base := os.Getenv("CLOUDLEDGER_PPROF_BASE"); base != "" { // profiling benchmarks by hand
		var port int
		fmt.Sscan(base, &port)
		args = append(args, "--pprof", fmt.Sprintf("127.0.0.1:%d", port+len(c.Nodes)-1))
	}
	logf, err := os.OpenFile(filepath.Join(nd.DataDir, "ledgerd.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		c.tb.Fatal(err)
	}
	bin := c.bin
	if nd.bin != "" {
		bin = nd.bin
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "CLOUDLEDGER_TOKEN="+Token) // never on the command line
	if join != "" {
		cmd.Env = append(cmd.Env, "CLOUDLEDGER_JOIN_TICKET="+c.joinTicket)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		c.tb.Fatal(err)
	}
	nd.cmd, nd.log, nd.exited = cmd, logf, make(chan struct{})
	go func(ch chan struct{}) { _ = cmd.Wait(); close(ch) }(nd.exited)
}

// Log returns a node's log (for failure messages).
func (c *Cluster) Log(nd *Node) string {
	raw, _ := os.ReadFile(filepath.Join(nd.DataDir, "ledgerd.log"))
	if len(raw) > 8000 {
		raw = raw[len(raw)-8000:]
	}
	return string(raw)
}

// Running reports whether a node's process is alive.
func (nd *Node) Running() bool {
	if nd.cmd == nil {
		return false
	}
	select {
	case <-nd.exited:
		return false
	default:
		return true
	}
}

// Kill crashes a node with SIGKILL: no shutdown, no flush beyond what was fsynced.
func (c *Cluster) Kill(nd *Node) { c.signal(nd, syscall.SIGKILL) }

// Stop shuts a node down gracefully.
func (c *Cluster) Stop(nd *Node) { c.signal(nd, syscall.SIGTERM) }

func (c *Cluster) signal(nd *Node, sig syscall.Signal) {
	if !nd.Running() {
		return
	}
	_ = nd.cmd.Process.Signal(sig)
	select {
	case <-nd.exited:
	case <-time.After(15 * time.Second):
		_ = nd.cmd.Process.Kill()
		<-nd.exited
	}
	nd.log.Close()
}

// SetBinary makes the node run another ledgerd from its next start ("" the cluster's): an
// upgrade in place.
func (nd *Node) SetBinary(bin string) { nd.bin = bin }

// Exited is closed when the node's process has ended.
func (nd *Node) Exited() <-chan struct{} { return nd.exited }

// ExitCode is the node's exit status once it has ended (-1 while it runs).
func (nd *Node) ExitCode() int {
	select {
	case <-nd.exited:
		return nd.cmd.ProcessState.ExitCode()
	default:
		return -1
	}
}

// Restart starts stopped nodes again on the same data dirs and addresses, all at once (a
// node alone may need the others to elect a leader), and waits until each is ready.
func (c *Cluster) Restart(nds ...*Node) {
	c.tb.Helper()
	for _, nd := range nds {
		c.launch(nd, "")
	}
	for _, nd := range nds {
		if err := c.WaitReady(nd, 30*time.Second); err != nil {
			c.tb.Fatalf("%s not ready after restart: %v\n%s", nd.ID, err, c.Log(nd))
		}
	}
}

// StopAll stops every node (registered as cleanup).
func (c *Cluster) StopAll() {
	var wg sync.WaitGroup
	for _, nd := range c.Nodes {
		wg.Add(1)
		go func(nd *Node) { defer wg.Done(); c.Stop(nd) }(nd)
	}
	wg.Wait()
}

// Status asks one node for its view of the cluster (a local read).
func (c *Cluster) Status(ctx context.Context, nd *Node) (*v1.StatusResponse, error) {
	req := connect.NewRequest(&v1.StatusRequest{})
	req.Header().Set("Authorization", "Bearer "+adminToken(nd.URL))
	res, err := cloudledgerv1connect.NewClusterServiceClient(c.HTTP, nd.URL).Status(ctx, req)
	if err != nil {
		return nil, err
	}
	return res.Msg, nil
}

// WaitReady waits until a node answers and knows a leader.
func (c *Cluster) WaitReady(nd *Node, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if !nd.Running() {
			return errors.New("process exited")
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err := c.Status(ctx, nd)
		cancel()
		if err == nil && st.LeaderId != "" {
			return nil
		}
		if code := connect.CodeOf(err); (code == connect.CodePermissionDenied || code == connect.CodeUnauthenticated) && c.readyz(nd) {
			// A restored cluster, whose bootstrap credential is security's alone, or one
			// whose accounts a script made (the demo), which retired it.
			return nil
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("timeout: %v", last)
}

// readyz reports whether the node's /readyz answers 200 (it knows a leader).
func (c *Cluster) readyz(nd *Node) bool {
	resp, err := c.HTTP.Get(nd.URL + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// LeaderIndex is the index of the node that says it leads, or -1.
func (c *Cluster) LeaderIndex() int {
	for i, nd := range c.Nodes {
		if !nd.Running() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err := c.Status(ctx, nd)
		cancel()
		if err == nil && st.LeaderId == nd.ID {
			return i
		}
	}
	return -1
}

// WaitLeader waits for a leader among the running nodes.
func (c *Cluster) WaitLeader(timeout time.Duration) *Node {
	c.tb.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if i := c.LeaderIndex(); i >= 0 {
			return c.Nodes[i]
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.tb.Fatal("no leader elected")
	return nil
}

// WaitConverged waits until every running node has applied the same line items with the
// same head hash, and returns the common status.
func (c *Cluster) WaitConverged(timeout time.Duration) *v1.StatusResponse {
	c.tb.Helper()
	deadline := time.Now().Add(timeout)
	var last []string
	for time.Now().Before(deadline) {
		var first *v1.StatusResponse
		same := true
		last = last[:0]
		for _, nd := range c.Nodes {
			if !nd.Running() {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			st, err := c.Status(ctx, nd)
			cancel()
			if err != nil {
				same = false
				last = append(last, fmt.Sprintf("%s: %v", nd.ID, err))
				continue
			}
			last = append(last, fmt.Sprintf("%s: %d items %s applied %d", nd.ID, st.LineItems, st.HeadHash[:12], st.AppliedIndex))
			if first == nil {
				first = st
			} else if st.LineItems != first.LineItems || st.HeadHash != first.HeadHash {
				same = false
			}
		}
		if same && first != nil {
			return first
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.tb.Fatalf("nodes did not converge: %s", strings.Join(last, "; "))
	return nil
}

// URLs lists the API URLs of all nodes.
func (c *Cluster) URLs() []string {
	out := make([]string, len(c.Nodes))
	for i, nd := range c.Nodes {
		out[i] = nd.URL
	}
	return out
}

func freeAddr(tb testing.TB) string { return testport.Addr(tb) }

// PID is the node's process id (0 when it is not running).
func (nd *Node) PID() int {
	if !nd.Running() {
		return 0
	}
	return nd.cmd.Process.Pid
}

// Pause freezes a node with SIGSTOP (a process that hangs: no crash, no shutdown); Resume
// lets it run on with SIGCONT.
func (c *Cluster) Pause(nd *Node) {
	if nd.Running() {
		_ = nd.cmd.Process.Signal(syscall.SIGSTOP)
	}
}

// Resume continues a paused node.
func (c *Cluster) Resume(nd *Node) {
	if nd.Running() {
		_ = nd.cmd.Process.Signal(syscall.SIGCONT)
	}
}
