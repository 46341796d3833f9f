// Package security attacks real ledgerd processes the way issue 10 found them open: a
// process that speaks hashicorp/raft's own transport protocol to a node's Raft port.
package security

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/shopspring/decimal"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/internal/pki"
	"github.com/cloudledger/cloudledger/internal/testcluster"
	"github.com/cloudledger/cloudledger/ledger"
)

// forged is what issue 10's attacker committed: the admin token replaced and a 99,999 GB
// usage line item.
func forged(term, index uint64) *raft.AppendEntriesRequest {
	p := &ledger.Proposal{RecordedAt: time.Now(), Submissions: []ledger.Submission{
		{Actor: "intruder", Commands: []ledger.Command{{Key: "forged/token", Body: &ledger.SetAdminToken{TokenSHA256: strings.Repeat("ab", 32)}}}},
		{Actor: "intruder", Commands: []ledger.Command{{Key: "forged/department", Body: &ledger.SetDepartment{Department: ledger.Department{ID: "forged", Name: "伪造", Funding: ledger.FundingBudget}}}}},
		{Actor: "intruder", Commands: []ledger.Command{{Key: "forged/usage", Body: &ledger.Event{Op: ledger.OpUsage, Time: time.Now(), Department: "d1", Project: "prj1",
			Provider: "p1", Resource: "stolen", Item: "oss.egress", Kind: ledger.KindStandard, Quantity: decimal.NewFromInt(99999)}}}},
	}}
	return &raft.AppendEntriesRequest{
		RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("intruder"), Addr: []byte("127.0.0.1:1")},
		Term:      term, PrevLogEntry: 0, PrevLogTerm: 0, LeaderCommitIndex: index,
		Entries: []*raft.Log{{Index: index, Term: term, Type: raft.LogCommand, Data: append([]byte{envelopeUser}, ledger.EncodeProposal(p)...)}},
	}
}

// attacker is a raft transport of the intruder's: plain TCP, or TLS with a certificate.
type attacker struct {
	trans *raft.NetworkTransport
}

func plainAttacker(t *testing.T) *attacker {
	trans, err := raft.NewTCPTransportWithLogger("127.0.0.1:0", nil, 1, 2*time.Second, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { trans.Close() })
	return &attacker{trans: trans}
}

func tlsAttacker(t *testing.T, cert tls.Certificate) *attacker {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stream := &clientStream{ln: ln, cfg: &tls.Config{Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}}
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{Stream: stream, MaxPool: 1, Timeout: 2 * time.Second, Logger: hclog.NewNullLogger()})
	t.Cleanup(func() { trans.Close() })
	return &attacker{trans: trans}
}

// clientStream dials with TLS; it accepts nothing worth having.
type clientStream struct {
	ln  net.Listener
	cfg *tls.Config
}

func (s *clientStream) Accept() (net.Conn, error) { return s.ln.Accept() }
func (s *clientStream) Close() error              { return s.ln.Close() }
func (s *clientStream) Addr() net.Addr            { return s.ln.Addr() }
func (s *clientStream) Dial(a raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return tls.DialWithDialer(&net.Dialer{Timeout: timeout}, "tcp", string(a), s.cfg)
}

// attack sends AppendEntries (a forged entry under a higher term), InstallSnapshot and
// TimeoutNow to a node's Raft port; each must fail.
func (a *attacker) attack(t *testing.T, c *testcluster.Cluster, target *testcluster.Node, as string) {
	t.Helper()
	addr := raft.ServerAddress(target.RaftAddr)
	var ae raft.AppendEntriesResponse
	if err := a.trans.AppendEntries(raft.ServerID(target.ID), addr, forged(1_000_000, nextIndex(t, c, target)), &ae); err == nil && ae.Success {
		t.Errorf("%s: AppendEntries of a forged entry to %s succeeded", as, target.ID)
	}
	var is raft.InstallSnapshotResponse
	snap := &raft.InstallSnapshotRequest{RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("intruder"), Addr: []byte("127.0.0.1:1")},
		SnapshotVersion: raft.SnapshotVersionMax, Term: 1_000_001, LastLogIndex: 10_000, LastLogTerm: 1_000_001, Size: 4}
	if err := a.trans.InstallSnapshot(raft.ServerID(target.ID), addr, snap, &is, strings.NewReader("junk")); err == nil && is.Success {
		t.Errorf("%s: InstallSnapshot on %s succeeded", as, target.ID)
	}
	var tn raft.TimeoutNowResponse
	if err := a.trans.TimeoutNow(raft.ServerID(target.ID), addr, &raft.TimeoutNowRequest{RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("intruder")}}, &tn); err == nil {
		t.Errorf("%s: TimeoutNow to %s was answered", as, target.ID)
	}
}

// certFor issues a certificate of the cluster's own CA (read from a node's data directory,
// as an attacker who stole the CA or a node's certificate would hold it) for a node id.
func certFor(t *testing.T, nd *testcluster.Node, id string) tls.Certificate {
	t.Helper()
	ca, _, err := pki.Files{Dir: filepath.Join(nd.DataDir, "raft-tls")}.Load()
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.NewNode(id, []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

// nextIndex is the Raft index after a node's last applied entry: where a forged entry
// would append.
// nextIndex is the index after the node's last, once it is quiet: an API call's access record
// lands through Raft a moment after the call, and a forged entry at an index just applied is
// refused for that alone (applied entries are final). /healthz, open and unrecorded, says the
// applied index; it must hold still for half a second.
func nextIndex(t *testing.T, c *testcluster.Cluster, nd *testcluster.Node) uint64 {
	t.Helper()
	applied := func() uint64 {
		res, err := c.HTTP.Get(nd.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		m := regexp.MustCompile(`applied=(\d+)`).FindStringSubmatch(string(body))
		if m == nil {
			t.Fatalf("/healthz: %q", body)
		}
		n, _ := strconv.ParseUint(m[1], 10, 64)
		return n
	}
	last := applied()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		time.Sleep(500 * time.Millisecond)
		now := applied()
		if now == last {
			return now + 1
		}
		last = now
	}
	t.Fatal("the node's applied index did not hold still for 10 s")
	return 0
}

type ledgerHead struct {
	items uint64
	hash  string
}

func heads(t *testing.T, c *testcluster.Cluster) []ledgerHead {
	t.Helper()
	var out []ledgerHead
	for _, nd := range c.Nodes {
		if !nd.Running() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := c.Status(ctx, nd)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ledgerHead{st.LineItems, st.HeadHash})
	}
	return out
}

func seed(t *testing.T, c *testcluster.Cluster) {
	t.Helper()
	cl := testcluster.NewClient(c.HTTP, c.URLs()...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := cl.Submit(ctx, []*v1.Command{
		{Key: "d1", Body: &v1.Command_Department{Department: &v1.Department{Department: "d1", Name: "市财政局", Funding: "budget"}}},
		{Key: "p1", Body: &v1.Command_Provider{Provider: &v1.Provider{Provider: "p1", Name: "云商", ContractStart: "2025-01-01", ContractEnd: "2027-12-31"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// verifyToken checks that the admin token still works on every node (the forgery would
// have replaced it).
func verifyToken(t *testing.T, c *testcluster.Cluster) {
	t.Helper()
	for _, nd := range c.Nodes {
		if !nd.Running() {
			continue
		}
		req := testcluster.Authorize(connect.NewRequest(&v1.VerifyRequest{}), true)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := cloudledgerv1connect.NewLedgerServiceClient(c.HTTP, nd.URL).Verify(ctx, req)
		cancel()
		if err != nil {
			t.Fatalf("%s: the admin token no longer works: %v", nd.ID, err)
		}
	}
}

// Issue 10, must show 1: non-members are refused on a single node and on a 3-node cluster,
// plain or with a certificate of the right CA for a node id that is not a member; nothing
// they send changes the chain.
func TestRaftRefusesNonMembers(t *testing.T) {
	for _, n := range []int{1, 3} {
		t.Run(fmt.Sprintf("%d nodes", n), func(t *testing.T) {
			c := testcluster.Start(t, n, testcluster.Options{})
			seed(t, c)
			c.WaitConverged(30 * time.Second)
			before := heads(t, c)
			plain := plainAttacker(t)
			intruder := tlsAttacker(t, certFor(t, c.Nodes[0], "intruder"))
			notYet := tlsAttacker(t, certFor(t, c.Nodes[0], "node9")) // a plausible id, never added
			for _, nd := range c.Nodes {
				plain.attack(t, c, nd, "plain TCP")
				intruder.attack(t, c, nd, "CA certificate of a non-member")
				notYet.attack(t, c, nd, "CA certificate of node9")
			}
			time.Sleep(time.Second) // a forged entry, had it landed, would have applied by now
			after := c.WaitConverged(30 * time.Second)
			for i, h := range heads(t, c) {
				if h != before[i] {
					t.Fatalf("node %d: %+v before the attack, %+v after", i, before[i], h)
				}
			}
			if after.LineItems != before[0].items {
				t.Fatalf("line items %d → %d", before[0].items, after.LineItems)
			}
			verifyToken(t, c)
		})
	}
}

// Issue 10, must show 1: a removed node's certificate stops working.
func TestRemovedNodeCannotSpeakRaft(t *testing.T) {
	c := testcluster.Start(t, 3, testcluster.Options{})
	seed(t, c)
	c.WaitConverged(30 * time.Second)
	removed := c.Nodes[2]
	ca, pair, err := pki.Files{Dir: filepath.Join(removed.DataDir, "raft-tls")}.Load()
	if err != nil || ca == nil {
		t.Fatal(err)
	}
	c.Kill(removed) // its certificate is all that is left of it
	ctl := testcluster.CtlBinary(t)
	// The operator's act on node1's host (no account involved).
	out, err := runCtl(ctl, c.Nodes[0].URL, "cluster", "remove", "--data-dir", c.Nodes[0].DataDir, "--node-id", removed.ID)
	if err != nil {
		t.Fatalf("cluster remove: %v\n%s", err, out)
	}
	time.Sleep(time.Second) // the members' view refreshes within 250 ms
	before := heads(t, c)
	a := tlsAttacker(t, pair)
	for _, nd := range c.Nodes[:2] {
		a.attack(t, c, nd, "the removed node's certificate")
	}
	time.Sleep(time.Second)
	for i, h := range heads(t, c) {
		if h != before[i] {
			t.Fatalf("node %d: %+v before, %+v after", i, before[i], h)
		}
	}
	verifyToken(t, c)
}

func runCtl(bin, url string, args ...string) (string, error) {
	cmd := exec.Command(bin, append([]string{"--server", url}, args...)...)
	cmd.Env = append(os.Environ(), "CLOUDLEDGER_TOKEN="+testcluster.Token)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// The attack is real: with --raft-insecure the same forged entry is accepted and the chain
// grows (this is why plain-text Raft is off by default, and what the tests above would see).
func TestInsecureRaftAcceptsForgery(t *testing.T) {
	c := testcluster.Start(t, 1, testcluster.Options{ExtraArgs: []string{"--raft-insecure"}})
	seed(t, c)
	before := heads(t, c)
	nd := c.Nodes[0]
	var ae raft.AppendEntriesResponse
	err := plainAttacker(t).trans.AppendEntries(raft.ServerID(nd.ID), raft.ServerAddress(nd.RaftAddr), forged(1_000_000, nextIndex(t, c, nd)), &ae)
	if err != nil || !ae.Success {
		t.Fatalf("the forged entry was not accepted over plain TCP (err %v, success %v): the attack of issue 10 no longer works, so the tests above prove nothing", err, ae.Success)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := c.Status(ctx, nd)
		cancel()
		if connect.CodeOf(err) == connect.CodeUnauthenticated {
			return // the forged entry replaced the admin token
		}
		if err == nil && st.LineItems > before[0].items {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the forged entry was accepted but never applied")
}

// envelopeUser is raftnode's tag of a state machine command in a log entry (an attacker
// reads it off the wire).
const envelopeUser = 0x01
