package chaos

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/internal/testcluster"
	"github.com/cloudledger/cloudledger/internal/ticket"
)

// siteLatency is the added one-way delay between the main site and the second site.
const siteLatency = 30 * time.Millisecond

// delayProxy forwards TCP connections to target, holding every chunk for delay in each
// direction (this kernel has no netem): the WAN between two sites.
type delayProxy struct {
	ln    net.Listener
	delay time.Duration
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

// close stops accepting and cuts every connection, then waits for the pipes.
func (p *delayProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func newDelayProxy(t *testing.T, listen, target string, delay time.Duration) *delayProxy {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	p := &delayProxy{ln: ln, delay: delay}
	t.Cleanup(p.close)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.DialTimeout("tcp", target, 5*time.Second)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			p.wg.Add(2)
			go p.pipe(c, up)
			go p.pipe(up, c)
		}
	}()
	return p
}

// pipe copies src to dst, each chunk written delay after it was read, in order.
func (p *delayProxy) pipe(src, dst net.Conn) {
	defer p.wg.Done()
	type chunk struct {
		b   []byte
		due time.Time
	}
	ch := make(chan chunk, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for c := range ch {
			time.Sleep(time.Until(c.due))
			if _, err := dst.Write(c.b); err != nil {
				break
			}
		}
		dst.Close()
		src.Close()
		for range ch {
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			ch <- chunk{append([]byte(nil), buf[:n]...), time.Now().Add(p.delay)}
		}
		if err != nil {
			break
		}
	}
	close(ch)
	<-done
}

// Issue 29, must show 2: three voters in site A, a non-voting replica in site B behind 30 ms
// of added latency, writes running; site A destroyed (processes killed, disks gone); the
// replica promoted on its own host; the table: writes acknowledged, writes missing after
// promotion (the RPO, as a count and in seconds), seconds from loss to serving (the RTO),
// the chain verified. A site-A node that comes back (its disk survived) can neither rejoin
// nor take writes. Then site A is rebuilt from B under new node ids and B becomes the
// replica again.
func TestDisasterRecovery(t *testing.T) {
	h := newHostNet(t, 3)
	a1, a2, a3 := h.hosts[0], h.hosts[1], h.hosts[2]
	b := h.newHost(4)
	h.hosts = append(h.hosts, b) // torn down with the others
	proxyAddr := fmt.Sprintf("10.77.%d.254:%d", h.n, 18000+h.n)
	newDelayProxy(t, proxyAddr, b.ip+":8081", siteLatency)

	// The replica joins as a non-voter on an operator's ticket made on node1's host; the
	// main site reaches its Raft port through the WAN. The operator keeps a copy of the CA
	// key in site B's safe (the README's runbook).
	pin, err := ticket.DataDirPin(a1.dir)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ticket.Make(a1.dir, ticket.Join, b.id, true, ticket.DefaultTTL, pin, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	h.startWith(b, a1.url, tok, "--advertise-raft", proxyAddr)
	h.waitReady(b, 60*time.Second)
	safe := filepath.Join(t.TempDir(), "ca-key.pem")
	copyFile(t, filepath.Join(a1.dir, "raft-tls", "ca-key.pem"), safe)
	if st := status(t, h, a1); suffrageOf(st, b.id) != "Nonvoter" {
		t.Fatalf("site B's replica is %q in the configuration, want Nonvoter", suffrageOf(st, b.id))
	}

	// Writes run against site A.
	cl := testcluster.NewClient(h.HTTP, a1.url, a2.url, a3.url)
	sctx, scancel := context.WithTimeout(context.Background(), 60*time.Second)
	if _, err := cl.Submit(sctx, testcluster.SeedCommands()); err != nil {
		t.Fatal(err)
	}
	scancel()
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	acked := map[string]time.Time{}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				cmd := testcluster.Allocate(fmt.Sprintf("dr/w%d", w), i*8+w)
				if _, err := cl.Submit(ctx, []*v1.Command{cmd}); err != nil {
					return // the site went away: the outcome is unknown, not counted
				}
				mu.Lock()
				acked[cmd.GetKey()] = time.Now()
				mu.Unlock()
			}
		}(w)
	}
	time.Sleep(8 * time.Second)

	// Site A is lost: every process killed at once, node1's and node3's disks gone. node2's
	// disk survives, to come back later.
	lost := time.Now()
	for _, hs := range []*host{a1, a2, a3} {
		hs.signal(syscall.SIGKILL)
	}
	for _, hs := range []*host{a1, a2, a3} {
		<-hs.exited
	}
	cancel()
	wg.Wait()
	mu.Lock()
	nAcked := len(acked)
	mu.Unlock()
	h.wipe(a1)
	h.wipe(a3)

	// Promotion on site B's host: the node stopped, the operator's CA key put in place,
	// ledgerd --promote.
	b.signal(syscall.SIGTERM)
	<-b.exited
	copyFile(t, safe, filepath.Join(b.dir, "raft-tls", "ca-key.pem"))
	h.startWith(b, "", "", "--advertise-raft", proxyAddr, "--promote")
	h.waitReady(b, 60*time.Second)

	bc := testcluster.NewClient(h.HTTP, b.url)
	wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
	after := testcluster.Allocate("dr/after", 1)
	after.GetEvent().Resource = "after-promotion"
	if _, err := bc.Submit(wctx, []*v1.Command{after}); err != nil {
		t.Fatalf("the promoted replica takes no write: %v\n%s", err, h.logOf(b))
	}
	wcancel()
	rto := time.Since(lost)

	// What the replica holds of what site A acknowledged.
	keys := lineItemKeys(t, h, b)
	var missing []time.Time
	mu.Lock()
	for k, at := range acked {
		if !keys[k] {
			missing = append(missing, at)
		}
	}
	mu.Unlock()
	sort.Slice(missing, func(i, j int) bool { return missing[i].Before(missing[j]) })
	rpo := time.Duration(0)
	if len(missing) > 0 {
		rpo = lost.Sub(missing[0])
	}
	ver := verify(t, h, b)
	var tb strings.Builder
	fmt.Fprintf(&tb, "\n%-48s %12s\n", "disaster recovery (site B 30 ms away)", "")
	fmt.Fprintf(&tb, "%-48s %12d\n", "writes acknowledged by site A", nAcked)
	fmt.Fprintf(&tb, "%-48s %12d\n", "of them missing after promotion (RPO, count)", len(missing))
	fmt.Fprintf(&tb, "%-48s %12.3f\n", "RPO, seconds (loss − first missing write's ack)", rpo.Seconds())
	fmt.Fprintf(&tb, "%-48s %12.3f\n", "RTO, seconds (loss → promoted replica writes)", rto.Seconds())
	fmt.Fprintf(&tb, "%-48s %12s\n", "chain verifies on the promoted replica", fmt.Sprintf("%d items", ver.GetLineItems()))
	t.Log(tb.String())
	fmt.Println(tb.String())
	if nAcked < 100 {
		t.Fatalf("only %d writes were acknowledged before the loss", nAcked)
	}
	// The replica lags by the WAN's round trip and a batch at most: a second is generous.
	if rpo > time.Second || len(missing) > nAcked/10 {
		t.Errorf("the promotion lost %d acknowledged writes spanning %s", len(missing), rpo)
	}

	// Promotion is one-time: the same flags again (--promote left in a service definition)
	// are refused, and the node starts as it is without them.
	h.kill(b)
	h.startWith(b, "", "", "--advertise-raft", proxyAddr, "--promote")
	select {
	case <-b.exited:
		if !strings.Contains(h.logOf(b), "promoted already") {
			t.Fatalf("a second --promote exited without saying why:\n%s", h.logOf(b))
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a second --promote on a promoted data directory was not refused")
	}
	h.startWith(b, "", "", "--advertise-raft", proxyAddr)
	h.waitReady(b, 60*time.Second)

	// node2 comes back with its disk: it can neither rejoin nor take writes.
	h.start(a2, "")
	time.Sleep(5 * time.Second)
	if h.ready(a2) {
		t.Fatal("a node of the lost site is ready again")
	}
	lc := cloudledgerv1connect.NewLedgerServiceClient(h.HTTP, a2.url)
	rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
	revived := testcluster.Allocate("dr/revived", 1)
	revived.GetEvent().Resource = "revived"
	_, err = lc.Submit(rctx, authed(&v1.SubmitRequest{Commands: []*v1.Command{revived}}))
	rcancel()
	if err == nil {
		t.Fatal("a node of the lost site took a write")
	}
	if st := status(t, h, b); len(st.GetNodes()) != 1 {
		t.Fatalf("the promoted cluster has %d members after node2 came back: %v", len(st.GetNodes()), st.GetNodes())
	}
	h.kill(a2)
	h.wipe(a2)

	// Site A rebuilt from B under new node ids: three voters join B on tickets made on B's
	// host (it holds the CA key now), then B leaves and comes back as the replica.
	for i, hs := range []*host{a1, a2, a3} {
		hs.id = fmt.Sprintf("node%d", 5+i)
		tok := testcluster.JoinTicket(t, b.dir, hs.id)
		h.startWith(hs, b.url, tok)
		h.waitReady(hs, 60*time.Second)
	}
	// The CA key moves back to site A's first node (the operator's act), which then removes B.
	h.kill(a1)
	copyFile(t, safe, filepath.Join(a1.dir, "raft-tls", "ca-key.pem"))
	h.startWith(a1, "", "")
	h.waitReady(a1, 60*time.Second)
	out, err := exec.Command(testcluster.CtlBinary(t), "--server", a1.url, "cluster", "remove", "--data-dir", a1.dir, "--node-id", b.id).CombinedOutput()
	if err != nil {
		t.Fatalf("cluster remove %s: %v\n%s", b.id, err, out)
	}
	h.kill(b)
	h.wipe(b)
	oldB := b.id
	b.id = "node8"
	pin, err = ticket.DataDirPin(a1.dir)
	if err != nil {
		t.Fatal(err)
	}
	if tok, err = ticket.Make(a1.dir, ticket.Join, b.id, true, ticket.DefaultTTL, pin, time.Now()); err != nil {
		t.Fatal(err)
	}
	h.startWith(b, a1.url, tok, "--advertise-raft", proxyAddr)
	h.waitReady(b, 60*time.Second)
	st := status(t, h, a1)
	var members []string
	for _, n := range st.GetNodes() {
		members = append(members, n.GetNodeId()+"="+n.GetSuffrage())
	}
	sort.Strings(members)
	if got := strings.Join(members, " "); got != "node5=Voter node6=Voter node7=Voter node8=Nonvoter" {
		t.Fatalf("after the rebuild the members are %s", got)
	}
	// Every member holds the same chain.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var heads []string
		for _, hs := range []*host{a1, a2, a3, b} {
			heads = append(heads, headOf(h, hs))
		}
		if heads[0] == heads[1] && heads[1] == heads[2] && heads[2] == heads[3] && !strings.HasPrefix(heads[0], "error") {
			break
		}
		if time.Now().After(deadline) {
			var idx []string
			for _, hs := range []*host{a1, a2, a3, b} {
				st := status(t, h, hs)
				idx = append(idx, fmt.Sprintf("%s applied %d commit %d", hs.id, st.GetAppliedIndex(), st.GetCommitIndex()))
			}
			metas, _ := filepath.Glob(filepath.Join(h.base, "*", "raft", "snapshots", "*", "meta.json"))
			for _, m := range metas {
				raw, _ := os.ReadFile(m)
				idx = append(idx, m+": "+string(raw))
			}
			t.Fatalf("the rebuilt cluster's chains differ: %v\n%v\n%s", heads, strings.Join(idx, "\n"), h.logOf(b))
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("site A rebuilt as node5–node7 (voters), site B's replica back as node8 (%s retired)", oldB)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func status(t *testing.T, h *hostNet, hs *host) *v1.StatusResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := cloudledgerv1connect.NewClusterServiceClient(h.HTTP, hs.url).Status(ctx, authed(&v1.StatusRequest{}))
	if err != nil {
		t.Fatalf("%s: cluster status: %v", hs.id, err)
	}
	return res.Msg
}

func suffrageOf(st *v1.StatusResponse, id string) string {
	for _, n := range st.GetNodes() {
		if n.GetNodeId() == id {
			return n.GetSuffrage()
		}
	}
	return ""
}

func verify(t *testing.T, h *hostNet, hs *host) *v1.VerifyResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := authed(&v1.VerifyRequest{})
	req.Header().Set("Cloudledger-Stale", "true")
	res, err := cloudledgerv1connect.NewLedgerServiceClient(h.HTTP, hs.url).Verify(ctx, req)
	if err != nil {
		t.Fatalf("%s: verify: %v", hs.id, err)
	}
	return res.Msg
}

// headOf is a node's line-item count and head hash, or the error it answered.
func headOf(h *hostNet, hs *host) string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := authed(&v1.VerifyRequest{})
	req.Header().Set("Cloudledger-Stale", "true")
	res, err := cloudledgerv1connect.NewLedgerServiceClient(h.HTTP, hs.url).Verify(ctx, req)
	if err != nil {
		return "error: " + err.Error()
	}
	return fmt.Sprintf("%d/%s", res.Msg.GetLineItems(), res.Msg.GetHeadHash())
}

func lineItemKeys(t *testing.T, h *hostNet, hs *host) map[string]bool {
	t.Helper()
	keys := map[string]bool{}
	lc := cloudledgerv1connect.NewLedgerServiceClient(h.HTTP, hs.url)
	for from := uint64(1); ; {
		req := authed(&v1.ListLineItemsRequest{FromSeq: from, Limit: 10000})
		req.Header().Set("Cloudledger-Stale", "true")
		res, err := lc.ListLineItems(context.Background(), req)
		if err != nil {
			t.Fatalf("%s: line items: %v", hs.id, err)
		}
		for _, it := range res.Msg.GetItems() {
			keys[it.GetKey()] = true
		}
		if from = res.Msg.GetNextSeq(); from == 0 {
			return keys
		}
	}
}
