package security

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudledger/cloudledger/internal/testcluster"
	"github.com/cloudledger/cloudledger/internal/testport"
)

// Issue 10, must show 6: the admin token appears in no process listing, no /debug/vars, no
// log and no -h output; /debug/* needs the token.
func TestNoSecretInPsDebugLogsOrHelp(t *testing.T) {
	pprof := testport.Addr(t)
	c := testcluster.Start(t, 1, testcluster.Options{ExtraArgs: []string{"--pprof", pprof}})
	nd := c.Nodes[0]
	token := testcluster.Token

	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", nd.PID()))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(cmdline), token) {
		t.Fatalf("the token is on the command line: %q", cmdline)
	}
	ps, err := exec.Command("ps", "-eo", "args").Output()
	if err == nil && strings.Contains(string(ps), token) {
		t.Fatal("ps shows the token")
	}

	res, err := http.Get("http://" + pprof + "/debug/vars")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/debug/vars without the token: %d", res.StatusCode)
	}
	for _, path := range []string{"/debug/vars", "/debug/pprof/cmdline"} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+pprof+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s with the token: %d", path, res.StatusCode)
		}
		if strings.Contains(string(body), token) {
			t.Fatalf("%s shows the token", path)
		}
	}

	c.Stop(nd)
	logs, _ := os.ReadFile(filepath.Join(nd.DataDir, "ledgerd.log"))
	if len(logs) == 0 || strings.Contains(string(logs), token) {
		t.Fatalf("the log (%d bytes) holds the token", len(logs))
	}

	help := exec.Command(testcluster.Binary(t), "-h")
	help.Env = append(os.Environ(), "CLOUDLEDGER_TOKEN="+token)
	out, _ := help.CombinedOutput()
	if !strings.Contains(string(out), "-token-file") || strings.Contains(string(out), token) {
		t.Fatalf("ledgerd -h:\n%s", out)
	}
	refused := exec.Command(testcluster.Binary(t), "--token", "x", "--data-dir", t.TempDir())
	if out, err := refused.CombinedOutput(); err == nil || !strings.Contains(string(out), "--token-file") {
		t.Fatalf("ledgerd --token was not refused: %v\n%s", err, out)
	}
}
