package chaos

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cloudledger/cloudledger/internal/testcluster"
)

// A cluster of real ledgerd processes, each in its own network namespace (its own host and
// address) joined by a bridge in the root namespace, where the test's clients run. Faults
// are iptables rules inside a node's namespace, signals, a full tmpfs, a clock offset file.
type hostNet struct {
	t      *testing.T
	n      int    // this run's number: subnet 10.77.n.0/24, names cl<n>…
	bridge string // in the root namespace, 10.77.n.254
	bin    string
	base   string // the nodes' data dirs (tmpfs mounts) and logs
	hosts  []*host
	HTTP   *http.Client
}

type host struct {
	id, ns, ip, dir, url string
	cmd                  *exec.Cmd
	exited               chan struct{}
	log                  *os.File
}

func run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func try(args ...string) { _ = exec.Command(args[0], args[1:]...).Run() }

// canRun says why the suite cannot run here ("" if it can).
func canRun() string {
	if os.Geteuid() != 0 {
		return "needs root (network namespaces, iptables, tmpfs)"
	}
	for _, c := range []string{"ip", "iptables", "mount"} {
		if _, err := exec.LookPath(c); err != nil {
			return "needs " + c + " (Debian's iproute2, iptables)"
		}
	}
	return ""
}

var netsMade atomic.Int32

func newHostNet(t *testing.T, nodes int) *hostNet {
	if why := canRun(); why != "" {
		t.Skip(why)
	}
	// Each hostNet of the process gets its own subnet and names: a namespace's links may
	// outlive its deletion for a moment.
	h := &hostNet{t: t, n: 1 + (os.Getpid()+int(netsMade.Add(1))*97)%250, bin: testcluster.BinaryWithTags(t, "chaos"),
		HTTP: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	h.bridge = fmt.Sprintf("clb%d", h.n)
	t.Cleanup(h.teardown)
	try("ip", "link", "del", h.bridge)
	run(t, "ip", "link", "add", h.bridge, "type", "bridge")
	run(t, "ip", "addr", "add", fmt.Sprintf("10.77.%d.254/24", h.n), "dev", h.bridge)
	run(t, "ip", "link", "set", h.bridge, "up")
	// Docker's FORWARD policy drops bridged traffic between the namespaces (br_netfilter):
	// let this bridge's own traffic through.
	run(t, "iptables", "-I", "FORWARD", "-i", h.bridge, "-o", h.bridge, "-j", "ACCEPT")
	base, err := os.MkdirTemp("", "chaos-")
	if err != nil {
		t.Fatal(err)
	}
	h.base = base
	for i := 1; i <= nodes; i++ {
		h.hosts = append(h.hosts, h.newHost(i))
	}
	for i, hs := range h.hosts {
		join := ""
		if i > 0 {
			join = h.hosts[0].url
		}
		h.start(hs, join)
		if i == 0 {
			h.waitReady(hs, 30*time.Second)
		}
	}
	for _, hs := range h.hosts {
		h.waitReady(hs, 60*time.Second)
	}
	return h
}

// newHost makes host i: its network namespace on the bridge (10.77.n.i) and its data
// directory, a tmpfs of its own so that one node's disk can fill. Nothing runs on it yet.
func (h *hostNet) newHost(i int) *host {
	t := h.t
	hs := &host{id: fmt.Sprintf("node%d", i), ns: fmt.Sprintf("cl%dh%d", h.n, i), ip: fmt.Sprintf("10.77.%d.%d", h.n, i),
		dir: filepath.Join(h.base, fmt.Sprintf("node%d", i))}
	hs.url = "http://" + hs.ip + ":8080"
	veth, peer := fmt.Sprintf("clv%dh%d", h.n, i), fmt.Sprintf("clp%dh%d", h.n, i)
	try("ip", "netns", "del", hs.ns)
	try("ip", "link", "del", veth)
	run(t, "ip", "netns", "add", hs.ns)
	run(t, "ip", "link", "add", veth, "type", "veth", "peer", "name", peer)
	run(t, "ip", "link", "set", peer, "netns", hs.ns)
	run(t, "ip", "link", "set", veth, "master", h.bridge, "up")
	run(t, "ip", "netns", "exec", hs.ns, "ip", "addr", "add", hs.ip+"/24", "dev", peer)
	run(t, "ip", "netns", "exec", hs.ns, "ip", "link", "set", peer, "up")
	run(t, "ip", "netns", "exec", hs.ns, "ip", "link", "set", "lo", "up")
	if err := os.MkdirAll(hs.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	run(t, "mount", "-t", "tmpfs", "-o", "size=256m,mode=0700", "tmpfs", hs.dir)
	return hs
}

// wipe destroys a host's disk: its tmpfs is unmounted (everything on it is gone) and an
// empty one mounted in its place.
func (h *hostNet) wipe(hs *host) {
	run(h.t, "umount", "-l", hs.dir)
	run(h.t, "mount", "-t", "tmpfs", "-o", "size=256m,mode=0700", "tmpfs", hs.dir)
}

func (h *hostNet) start(hs *host, join string) {
	ticket := ""
	if join != "" {
		// The operator's join ticket, made on the first host (the CA key's).
		ticket = testcluster.JoinTicket(h.t, h.hosts[0].dir, hs.id)
	}
	h.startWith(hs, join, ticket)
}

// startWith starts ledgerd on a host, joining with the ticket given, with extra flags.
func (h *hostNet) startWith(hs *host, join, joinTicket string, extra ...string) {
	args := []string{"netns", "exec", hs.ns, h.bin, "--data-dir", hs.dir, "--http", hs.ip + ":8080", "--raft", hs.ip + ":8081",
		"--node-id", hs.id, "--fast-elections", "--tick-interval", "200ms", "--log-level", "warn"}
	if join != "" {
		args = append(args, "--join", join)
	}
	args = append(args, extra...)
	logf, err := os.OpenFile(filepath.Join(h.base, hs.id+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		h.t.Fatal(err)
	}
	cmd := exec.Command("ip", args...)
	cmd.Env = append(os.Environ(), "CLOUDLEDGER_TOKEN="+testcluster.Token)
	if joinTicket != "" {
		cmd.Env = append(cmd.Env, "CLOUDLEDGER_JOIN_TICKET="+joinTicket)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	hs.cmd, hs.log, hs.exited = cmd, logf, make(chan struct{})
	go func(ch chan struct{}) { _ = cmd.Wait(); close(ch) }(hs.exited)
}

func (hs *host) running() bool {
	if hs.cmd == nil {
		return false
	}
	select {
	case <-hs.exited:
		return false
	default:
		return true
	}
}

// signal sends sig to ledgerd (ip netns exec execs it: the same process).
func (hs *host) signal(sig syscall.Signal) {
	if hs.running() {
		_ = hs.cmd.Process.Signal(sig)
	}
}

func (h *hostNet) kill(hs *host) {
	hs.signal(syscall.SIGCONT)
	hs.signal(syscall.SIGKILL)
	if hs.cmd != nil {
		<-hs.exited
	}
}

func (h *hostNet) restart(hs *host) {
	if !hs.running() {
		h.start(hs, "")
	}
}

func (h *hostNet) ready(hs *host) bool {
	resp, err := h.HTTP.Get(hs.url + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (h *hostNet) waitReady(hs *host, timeout time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for !h.ready(hs) {
		if time.Now().After(deadline) {
			h.t.Fatalf("%s not ready after %s; its log:\n%s", hs.id, timeout, h.logOf(hs))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// leader is the host that says it leads (nil if none does).
func (h *hostNet) leader() *host {
	for _, hs := range h.hosts {
		resp, err := h.HTTP.Get(hs.url + "/healthz")
		if err != nil {
			continue
		}
		var b strings.Builder
		buf := make([]byte, 512)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		resp.Body.Close()
		if strings.Contains(b.String(), "leader="+hs.id+" ") {
			return hs
		}
	}
	return nil
}

// cut drops, inside from's namespace, what arrives from the hosts given (one direction).
func (h *hostNet) cut(from *host, peers ...*host) {
	for _, p := range peers {
		run(h.t, "ip", "netns", "exec", from.ns, "iptables", "-A", "INPUT", "-s", p.ip, "-j", "DROP")
	}
}

func (h *hostNet) heal() {
	for _, hs := range h.hosts {
		run(h.t, "ip", "netns", "exec", hs.ns, "iptables", "-F")
	}
}

func (h *hostNet) setClock(hs *host, offset time.Duration) {
	if err := os.WriteFile(filepath.Join(hs.dir, "chaos-clock-offset"), []byte(offset.String()), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

// fillDisk fills a host's tmpfs; freeDisk removes the filler.
func (h *hostNet) fillDisk(hs *host) {
	_ = exec.Command("dd", "if=/dev/zero", "of="+filepath.Join(hs.dir, "filler"), "bs=1M", "count=400").Run() // ends at ENOSPC
}

func (h *hostNet) freeDisk(hs *host) { _ = os.Remove(filepath.Join(hs.dir, "filler")) }

func (h *hostNet) teardown() {
	for _, hs := range h.hosts {
		h.kill(hs)
		if hs.log != nil {
			hs.log.Close()
		}
		try("umount", "-l", hs.dir)
		try("ip", "netns", "del", hs.ns)
	}
	try("iptables", "-D", "FORWARD", "-i", h.bridge, "-o", h.bridge, "-j", "ACCEPT")
	try("ip", "link", "del", h.bridge)
	if h.base != "" {
		_ = os.RemoveAll(h.base)
	}
}

func (h *hostNet) logOf(hs *host) string {
	if hs.log == nil {
		return ""
	}
	b, _ := os.ReadFile(hs.log.Name())
	return string(b)
}
