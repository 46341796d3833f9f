// Package deps checks the direction of the packages' dependencies (STYLE.md): what the
// clients link, and what the core never imports.
package deps

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/cloudledger/cloudledger/internal/testcluster"
)

func depsOf(t *testing.T, pkgs ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...)
	cmd.Dir = testcluster.RepoRoot()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %v: %v", pkgs, err)
	}
	return strings.Fields(string(out))
}

// Issue 23, must show 5: the clients (the console, ledgerctl) talk to the API and link no
// storage, no consensus and no state machine: `go list -deps ./console ./cmd/ledgerctl`
// finds no bbolt, no hashicorp/raft, no ledger, settlement, rating or apimap.
func TestClientsLinkNoStateMachine(t *testing.T) {
	for _, d := range depsOf(t, "./console", "./cmd/ledgerctl") {
		for _, banned := range []string{"go.etcd.io/bbolt", "github.com/hashicorp/raft", "/cloudledger/ledger", "/cloudledger/settlement",
			"/cloudledger/rating", "/cloudledger/apimap", "/cloudledger/raftnode", "/cloudledger/server"} {
			if d == strings.TrimPrefix(banned, "/") || strings.HasPrefix(d, banned) || strings.HasSuffix(d, banned) {
				t.Errorf("a client links %s", d)
			}
		}
	}
}

// The core's direction (STYLE.md): ledger knows nothing of Raft or HTTP; rating and
// settlement build on ledger and nothing above it; raftnode replicates any state machine;
// money stands alone. (net/http is checked among a package's own imports: excelize links
// it for every package that writes XLSX.)
func TestTheCoreDependsOneWay(t *testing.T) {
	const repo = "github.com/cloudledger/cloudledger"
	for pkg, banned := range map[string][]string{
		"./ledger":     {"net/http", "github.com/hashicorp/raft", repo + "/raftnode", repo + "/server", repo + "/apimap", repo + "/rating"},
		"./rating":     {"net/http", repo + "/raftnode", repo + "/server", repo + "/settlement", repo + "/apimap"},
		"./settlement": {"net/http", repo + "/raftnode", repo + "/server", repo + "/apimap"},
		"./raftnode":   {repo + "/ledger", repo + "/server"},
		"./money":      {repo + "/"},
		"./importrun":  {repo + "/ledger", repo + "/apimap", repo + "/settlement", repo + "/rating", "go.etcd.io/bbolt"},
	} {
		self := repo + strings.TrimPrefix(pkg, ".")
		cmd := exec.Command("go", "list", "-f", "{{join .Imports \" \"}}", pkg)
		cmd.Dir = testcluster.RepoRoot()
		own, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range append(depsOf(t, pkg), strings.Fields(string(own))...) {
			for _, b := range banned {
				if d == self || b == "net/http" && !strings.Contains(string(own), b) {
					continue
				}
				if d == b || strings.HasPrefix(d, b) {
					t.Errorf("%s depends on %s", pkg, d)
				}
			}
		}
	}
}
