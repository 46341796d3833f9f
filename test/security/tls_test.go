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

// Issue 10, must show 2: joining without the credential, or with a wrong one, is refused,
// and the refused node never becomes a member.
func TestJoinNeedsTheCredential(t *testing.T) {
	c := testcluster.Start(t, 1, testcluster.Options{})
	for _, token := range []string{"", "wrong-token"} {
		dir := t.TempDir()
		cmd := exec.Command(testcluster.Binary(t), "--data-dir", dir, "--node-id", "node9", "--http", testport.Addr(t),
			"--raft", testport.Addr(t), "--join", c.Nodes[0].URL, "--fast-elections")
		cmd.Env = append(os.Environ(), "CLOUDLEDGER_TOKEN="+token)
		done := make(chan struct{})
		var out []byte
		var err error
		go func() { out, err = cmd.CombinedOutput(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("a join with token %q did not give up", token)
		}
		want := "unauthenticated" // the cluster refused the wrong token
		if token == "" {
			want = "needs the cluster's admin token" // refused before asking
		}
		if err == nil || !strings.Contains(string(out), want) {
			t.Fatalf("a join with token %q: %v\n%s", token, err, out)
		}
		if _, statErr := os.Stat(dir + "/raft-tls/node.pem"); statErr == nil {
			t.Fatalf("a refused join (token %q) got a certificate", token)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.Status(ctx, c.Nodes[0])
	if err != nil || len(st.Nodes) != 1 {
		t.Fatalf("members after refused joins: %v %v", st, err)
	}
}
