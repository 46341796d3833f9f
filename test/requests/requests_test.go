// Package requests tests the resource-request workflow (issue 15) end to end through
// ledgerctl and a real ledgerd, each step taken by the role SPEC gives it.
package requests

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudledger/cloudledger/internal/testcluster"
)

type env struct {
	t      *testing.T
	url    string
	dir    string
	tokens map[string]string
}

func (e *env) run(role string, args ...string) (string, int) {
	e.t.Helper()
	cmd := exec.Command(testcluster.CtlBinary(e.t), append([]string{"--server", e.url, "--lang", "en"}, args...)...)
	cmd.Env = append(os.Environ(), "CLOUDLEDGER_TOKEN="+e.tokens[role])
	cmd.Dir = e.dir
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatal(err)
	}
	return string(out), code
}

func (e *env) must(role string, args ...string) string {
	e.t.Helper()
	out, code := e.run(role, args...)
	if code != 0 {
		e.t.Fatalf("%s: ledgerctl %s: exit %d\n%s", role, strings.Join(args, " "), code, out)
	}
	return out
}

func setup(t *testing.T) *env {
	e, _ := setupCluster(t, 1, nil)
	return e
}

// setupCluster starts n nodes with extra ledgerd flags, loads the master data and makes an
// account per role; ledgerctl fails over between the nodes.
func setupCluster(t *testing.T, n int, extra []string) (*env, *testcluster.Cluster) {
	c := testcluster.Start(t, n, testcluster.Options{ExtraArgs: extra})
	e := &env{t: t, url: strings.Join(c.URLs(), ","), dir: t.TempDir(), tokens: map[string]string{"admin": testcluster.Token}}
	for _, f := range []struct{ kind, body string }{
		{"departments", "department,name,parent,funding\nd1,市财政局,,budget\n"},
		{"providers", "provider,name,contract_start,contract_end\np1,云商一,2025-01-01,2027-12-31\n"},
		{"projects", "project,department,name,quota_class,quota\nprj1,d1,预算系统,vcpu,100\n"},
		{"catalog", "item,name,category,unit,billing,quota_class,price,provider,effective_from\necs.vcpu,云服务器vCPU,IaaS,核·月,allocation,vcpu,40,,2025-01-01\n"},
		{"events", "key,time,op,department,project,provider,resource,item,kind,quantity,expires\ne1,2026-11-02T10:00:00+08:00,allocate,d1,prj1,p1,vm1,ecs.vcpu,standard,100,\n"},
	} {
		path := filepath.Join(e.dir, f.kind+".csv")
		os.WriteFile(path, []byte(f.body), 0o600)
		e.must("admin", "import", f.kind, path)
	}
	for _, a := range []struct{ id, role, scope string }{
		{"authority", "authority", ""}, {"supervisor", "supervisor", ""}, {"department", "department", "d1"}, {"provider", "provider", "p1"}, {"auditor", "auditor", ""},
	} {
		e.tokens[a.id] = testcluster.RoleToken(t, c.HTTP, c.Nodes[0].URL, a.id+"1", a.role, a.scope)
	}
	return e, c
}

func (e *env) show(id string) map[string]any {
	e.t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(e.must("auditor", "request", "show", "--id", id, "--format", "json")), &v); err != nil {
		e.t.Fatal(err)
	}
	return v
}

// Issue 15, must show 2 (SH 20): an expansion taking the department above 120 % waits for
// the supervisor; the authority cannot approve it before; the provider's fulfilment names
// the request and the resource holds more from then on; a rejected request is not
// fulfilled; each step by its role.
func TestExpansionWorkflow(t *testing.T) {
	e := setup(t)
	id := strings.TrimSpace(e.must("department", "--key", "exp-1", "request", "submit", "--kind", "expand", "--department", "d1", "--resource", "vm1", "--quantity", "30", "--reason", "扩容：考试季"))
	if again := strings.TrimSpace(e.must("department", "--key", "exp-1", "request", "submit", "--kind", "expand", "--department", "d1", "--resource", "vm1", "--quantity", "30", "--reason", "扩容：考试季")); again != id {
		t.Fatalf("the same request twice: %s then %s", id, again)
	}
	if v := e.show(id); v["state"] != "submitted" || v["step"] != "supervisor" || v["due"] == "" || v["needs_supervisor"] != true {
		t.Fatalf("after submit: %v", v)
	}
	if out, code := e.run("authority", "request", "approve", "--id", id); code != 1 || !strings.Contains(out, "supervisor_required") {
		t.Fatalf("the authority approves before the supervisor: exit %d\n%s", code, out)
	}
	if out, code := e.run("department", "request", "approve", "--id", id); code != 1 || !strings.Contains(out, "permission_denied") {
		t.Fatalf("the department approves its own request: exit %d\n%s", code, out)
	}
	if out, code := e.run("authority", "request", "confirm", "--id", id); code != 1 || !strings.Contains(out, "permission_denied") {
		t.Fatalf("the authority confirms a test resource for the department (SH 19): exit %d\n%s", code, out)
	}
	e.must("supervisor", "request", "approve", "--id", id, "--reason", "经信审〔2026〕7号")
	if v := e.show(id); v["state"] != "supervisor_approved" || v["step"] != "review" {
		t.Fatalf("after the supervisor: %v", v)
	}
	if out, code := e.run("provider", "request", "fulfil", "--id", id); code != 1 || !strings.Contains(out, "request_state") {
		t.Fatalf("fulfilled before the authority approved: exit %d\n%s", code, out)
	}
	e.must("authority", "request", "approve", "--id", id)
	before := time.Now()
	e.must("provider", "request", "fulfil", "--id", id)
	if v := e.show(id); v["state"] != "fulfilled" || v["step"] != "" {
		t.Fatalf("after the fulfilment: %v", v)
	}
	if out := e.must("auditor", "lineitems", "export", "--format", "jsonl"); !strings.Contains(out, `"fulfil/`+id) {
		t.Fatalf("no fulfilment line item names the request:\n%s", out)
	}
	// The charges run from the fulfilment: 130 held from today, 100 before.
	today := before.In(time.FixedZone("CST", 8*3600)).Format("2006-01-02") // the Asia/Shanghai day (from 16:00 UTC, the next one)
	if out := e.must("auditor", "charges", "--from", today, "--to", today, "--format", "csv"); !strings.Contains(out, ",130,") {
		t.Fatalf("today's charge line does not hold 130:\n%s", out)
	}

	// A rejected request is not fulfilled.
	id2 := strings.TrimSpace(e.must("department", "request", "submit", "--kind", "reduce", "--department", "d1", "--resource", "vm1", "--quantity", "10"))
	if out, code := e.run("authority", "request", "reject", "--id", id2); code == 0 {
		t.Fatalf("a rejection without a reason: %s", out)
	}
	e.must("authority", "request", "reject", "--id", id2, "--reason", "仍在使用")
	if out, code := e.run("provider", "request", "fulfil", "--id", id2); code != 1 || !strings.Contains(out, "request_state") {
		t.Fatalf("a rejected request fulfilled: exit %d\n%s", code, out)
	}
	if out := e.must("department", "request", "list", "--format", "csv"); strings.Count(out, "\n") != 3 {
		t.Fatalf("the department's list:\n%s", out)
	}
	// This month's SLA report: the authority reviewed two requests, the provider fulfilled
	// one, all on time.
	out := e.must("auditor", "request", "report", "--month", today[:7], "--format", "csv")
	for _, want := range []string{"authority,2,2,0,0", "p1,1,1,0,0", "supervisor,1,1,0,0"} {
		if !strings.Contains(out, want) {
			t.Errorf("SLA report without %q:\n%s", want, out)
		}
	}
}

// stdout runs ledgerctl and returns its standard output alone (a failover note goes to
// standard error).
func (e *env) stdout(role string, args ...string) []byte {
	e.t.Helper()
	cmd := exec.Command(testcluster.CtlBinary(e.t), append([]string{"--server", e.url, "--lang", "en"}, args...)...)
	cmd.Env = append(os.Environ(), "CLOUDLEDGER_TOKEN="+e.tokens[role])
	cmd.Dir = e.dir
	out, err := cmd.Output()
	if err != nil {
		e.t.Fatalf("ledgerctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}
