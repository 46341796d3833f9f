package security

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/internal/testcluster"
	"github.com/cloudledger/cloudledger/internal/testport"
)

// Issue 10, must show 2 and 3: a 3-node cluster with the API over TLS and Raft on the
// operator's PKI survives a leader kill; ledgerctl works over TLS with --ca; a client
// that does not trust the CA, or speaks plain HTTP, is refused.
func TestClusterOverTLS(t *testing.T) {
	c := testcluster.Start(t, 3, testcluster.Options{OperatorTLS: true})
	seed(t, c)
	before := c.WaitConverged(30 * time.Second)
	ctl := testcluster.CtlBinary(t)
	run := func(args ...string) (string, error) {
		cmd := exec.Command(ctl, args...)
		cmd.Env = append(os.Environ(), "CLOUDLEDGER_TOKEN="+testcluster.Token)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("--server", c.Nodes[1].URL, "--ca", c.CAFile, "--lang", "en", "cluster", "status")
	if err != nil || strings.Count(out, "node") < 3 {
		t.Fatalf("cluster status over TLS: %v\n%s", err, out)
	}
	if out, err := run("--server", c.Nodes[1].URL, "verify"); err == nil || !strings.Contains(out, "certificate") {
		t.Fatalf("a client without the CA was not refused: %v\n%s", err, out)
	}
	res, err := http.Get("http://" + c.Nodes[1].HTTPAddr + "/livez")
	if err == nil {
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			t.Fatalf("plain HTTP to the TLS port answered: %s", body)
		}
	}

	leader := c.WaitLeader(10 * time.Second)
	c.Kill(leader)
	c.WaitLeader(20 * time.Second)
	cl := testcluster.NewClient(c.HTTP, c.URLs()...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cl.Submit(ctx, []*v1.Command{{Key: "after-kill", Body: &v1.Command_Department{Department: &v1.Department{Department: "d2", Name: "市交通局", Funding: "budget"}}}}); err != nil {
		t.Fatalf("a write after the leader was killed: %v", err)
	}
	st := c.WaitConverged(30 * time.Second)
	if st.LineItems != before.LineItems+1 {
		t.Fatalf("%d line items, want %d", st.LineItems, before.LineItems+1)
	}
	if out, err := run("--server", strings.Join(c.URLs(), ","), "--ca", c.CAFile, "verify"); err != nil {
		t.Fatalf("verify over TLS: %v\n%s", err, out)
	}
}

// Issues 10 and 21: joining without an operator's join ticket, with a wrong one, or with
// the cluster's admin token (which once sufficed) is refused, and the refused node never
// gets a certificate nor becomes a member.
func TestJoinNeedsATicket(t *testing.T) {
	c := testcluster.Start(t, 1, testcluster.Options{})
	forOther := testcluster.JoinTicket(t, c.Nodes[0].DataDir, "node8")
	for _, tc := range []struct{ name, ticket, want string }{
		{"no ticket, the admin token", "", "needs an operator's join ticket"},
		{"a made-up ticket", "clt1." + strings.Repeat("A", 43), "unauthenticated"},
		{"another node's ticket", forOther, "unauthenticated"},
	} {
		dir := t.TempDir()
		cmd := exec.Command(testcluster.Binary(t), "--data-dir", dir, "--node-id", "node9", "--http", testport.Addr(t),
			"--raft", testport.Addr(t), "--join", c.Nodes[0].URL, "--fast-elections")
		cmd.Env = append(os.Environ(), "CLOUDLEDGER_TOKEN="+testcluster.Token, "CLOUDLEDGER_JOIN_TICKET="+tc.ticket)
		done := make(chan struct{})
		var out []byte
		var err error
		go func() { out, err = cmd.CombinedOutput(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("%s: the join did not give up", tc.name)
		}
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Fatalf("%s: %v\n%s", tc.name, err, out)
		}
		if _, statErr := os.Stat(dir + "/raft-tls/node.pem"); statErr == nil {
			t.Fatalf("%s: a refused join got a certificate", tc.name)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.Status(ctx, c.Nodes[0])
	if err != nil || len(st.Nodes) != 1 {
		t.Fatalf("members after refused joins: %v %v", st, err)
	}
}
