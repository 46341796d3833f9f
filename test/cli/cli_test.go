// Package cli tests ledgerctl end to end against a real ledgerd: exit codes, one-line
// errors naming file:line, field and code, and that a rejected input changes nothing.
package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cloudledger/cloudledger/internal/testcluster"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
)

func ledgerctl(t *testing.T) string { return testcluster.CtlBinary(t) }

type env struct {
	t   *testing.T
	c   *testcluster.Cluster
	url string
	dir string
	// tokens of the accounts asFor made, by account id
	tokens map[string]string
	// admin is the authority's token (the staff's authority1: the bootstrap credential is
	// retired once the first security and authority accounts exist).
	admin string
}

// as returns an env whose commands act as an account of the role (SPEC: Access), made on
// first use: supervisor for approvals, finance for payment, and so on.
func (e *env) as(role string) *roleEnv {
	e.t.Helper()
	if e.tokens == nil {
		e.tokens = map[string]string{}
	}
	id := "test-" + role
	if e.tokens[id] == "" {
		e.tokens[id] = testcluster.RoleToken(e.t, nil, e.url, id, role, "")
	}
	return &roleEnv{e: e, token: e.tokens[id]}
}

type roleEnv struct {
	e     *env
	token string
}

func (r *roleEnv) run(args ...string) (string, int) { return r.e.runWith(r.token, args...) }

func (r *roleEnv) must(args ...string) string {
	r.e.t.Helper()
	out, code := r.run(args...)
	if code != 0 {
		r.e.t.Fatalf("ledgerctl %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

func setup(t *testing.T) *env {
	c := testcluster.Start(t, 1, testcluster.Options{})
	e := &env{t: t, c: c, url: c.Nodes[0].URL, dir: t.TempDir()}
	e.admin = testcluster.AuthorityToken(t, nil, e.url)
	for _, f := range []struct{ kind, name, body string }{
		{"departments", "departments.csv", "department,name,parent,funding\nd1,市财政局,,budget\nd2,市公交集团,,self\n"},
		{"providers", "providers.csv", "provider,name,contract_start,contract_end\np1,云商一,2025-01-01,2027-12-31\n"},
		{"projects", "projects.csv", "project,department,name,quota_class,quota\nprj1,d1,预算系统,vcpu,100\nprj2,d2,调度,vcpu,10\n"},
		{"catalog", "catalog.csv", "item,name,category,unit,billing,quota_class,price,provider,effective_from\n" +
			"ecs.vcpu,云服务器vCPU,IaaS,核·月,allocation,vcpu,40,,2025-01-01\noss.egress,对象存储流量,IaaS,GB,metered,,0.5,,2025-01-01\n"},
		{"events", "events.csv", "key,time,op,department,project,provider,resource,item,kind,quantity,expires\n" +
			"e1,2026-03-01T10:00:00+08:00,allocate,d1,prj1,p1,vm1,ecs.vcpu,standard,8,\n" +
			"e2,2026-03-02T10:00:00+08:00,reclaim,,,,vm1,,,,\n" +
			"e3,2026-03-02T10:00:00+08:00,allocate,d1,prj1,p1,vm2,ecs.vcpu,standard,4,\n"},
	} {
		path := e.write(f.name, f.body)
		if out, code := e.run("import", f.kind, path); code != 0 {
			t.Fatalf("import %s: exit %d\n%s", f.kind, code, out)
		}
	}
	return e
}

func (e *env) write(name, body string) string {
	path := filepath.Join(e.dir, name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return path
}

// run executes ledgerctl and returns its combined output and exit code.
func (e *env) run(args ...string) (string, int) {
	return e.runWith(e.admin, args...)
}

func (e *env) runWith(token string, args ...string) (string, int) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ledgerctl(e.t), append([]string{"--server", e.url}, args...)...)
	cmd.Env = append(os.Environ(), "CLOUDLEDGER_TOKEN="+token)
	cmd.Dir = e.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatal(err)
	}
	return out.String(), code
}

// lineItems is the node's line-item count.
func (e *env) lineItems() uint64 {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := e.c.Status(ctx, e.c.Nodes[0])
	if err != nil {
		e.t.Fatal(err)
	}
	return st.LineItems
}

// head is the verified line-item count and head hash.
func (e *env) head() string {
	e.t.Helper()
	out, code := e.run("verify")
	if code != 0 {
		e.t.Fatalf("verify: %s", out)
	}
	m := regexp.MustCompile(`[0-9a-f]{64}`).FindString(out)
	if m == "" {
		e.t.Fatalf("verify printed no head hash: %s", out)
	}
	return m
}

// Issue 2, must show 4: every bad input exits non-zero with a one-line error naming
// file:line, field and code, and leaves the ledger unchanged.
func TestBadImportsChangeNothing(t *testing.T) {
	e := setup(t)
	header := "key,time,op,department,project,provider,resource,item,kind,quantity,expires\n"
	cases := []struct {
		name, kind, body string
		want             string // a regexp the error line must match
	}{
		{"malformed CSV", "events", header + "x1,\"2026-03-03T10:00:00+08:00,allocate\n", `bad\.csv:2: .*malformed`},
		{"unknown department", "events", header + "x1,2026-03-03T10:00:00+08:00,allocate,dX,prj1,p1,vm9,ecs.vcpu,standard,1,\n", `bad\.csv:2: department: unknown_department`},
		{"unknown project", "events", header + "x1,2026-03-03T10:00:00+08:00,allocate,d1,prjX,p1,vm9,ecs.vcpu,standard,1,\n", `bad\.csv:2: project: unknown_project`},
		{"unknown provider", "events", header + "x1,2026-03-03T10:00:00+08:00,allocate,d1,prj1,pX,vm9,ecs.vcpu,standard,1,\n", `bad\.csv:2: provider: unknown_provider`},
		{"unknown item", "events", header + "x1,2026-03-03T10:00:00+08:00,allocate,d1,prj1,p1,vm9,nope,standard,1,\n", `bad\.csv:2: item: unknown_item`},
		{"negative quantity", "events", header + "x1,2026-03-03T10:00:00+08:00,allocate,d1,prj1,p1,vm9,ecs.vcpu,standard,-3,\n", `bad\.csv:2: quantity: invalid_quantity`},
		{"non-numeric quantity", "events", header + "x1,2026-03-03T10:00:00+08:00,allocate,d1,prj1,p1,vm9,ecs.vcpu,standard,abc,\n", `bad\.csv:2: quantity: invalid_quantity`},
		{"huge exponent", "events", header + "x1,2026-03-03T10:00:00+08:00,allocate,d1,prj1,p1,vm9,ecs.vcpu,standard,1E1000000000,\n", `bad\.csv:2: quantity: invalid_quantity`},
		{"time without offset", "events", header + "x1,2026-03-03T10:00:00,allocate,d1,prj1,p1,vm9,ecs.vcpu,standard,1,\n", `bad\.csv:2: time: invalid_time`},
		{"reduce below zero", "events", header + "x1,2026-03-03T10:00:00+08:00,reduce,,,,vm2,,,5,\n", `bad\.csv:2: quantity: quantity_below_zero`},
		{"op on reclaimed resource", "events", header + "x1,2026-03-03T10:00:00+08:00,expand,,,,vm1,,,1,\n", `bad\.csv:2: resource: resource_closed`},
		{"quota overrun", "events", header + "x1,2026-03-03T10:00:00+08:00,expand,,,,vm2,,,200,\n", `bad\.csv:2: quantity: quota_overrun_needs_approval`},
		{"second row bad, first good", "events", header +
			"x1,2026-03-03T10:00:00+08:00,allocate,d1,prj1,p1,vm9,ecs.vcpu,standard,1,\n" +
			"x2,2026-03-03T10:00:00+08:00,expand,,,,vm9,,,500,\n", `bad\.csv:3: quantity: quota_overrun_needs_approval`},
		{"department with unknown parent", "departments", "department,name,parent,funding\nd9,某局,dX,budget\n", `bad\.csv:2: parent: unknown_department`},
		{"bad funding", "departments", "department,name,parent,funding\nd9,某局,,free\n", `bad\.csv:2: funding: invalid_value`},
		{"catalog bad billing", "catalog", "item,name,category,unit,billing,quota_class,price,provider,effective_from\nx,x,x,x,monthly,,1,,2025-01-01\n", `bad\.csv:2: billing: invalid_value`},
		// Issue 3, must show 5: scores outside 0–100, a range that ends before it starts.
		{"score above 100", "evaluations", "provider,from,to,score\np1,2026-01-01,2026-03-31,100.5\n", `bad\.csv:2: score: invalid_score`},
		{"negative score", "evaluations", "provider,from,to,score\np1,2026-01-01,2026-03-31,-2\n", `bad\.csv:2: score: invalid_score`},
		{"evaluation range reversed", "evaluations", "provider,from,to,score\np1,2026-03-31,2026-01-01,90\n", `bad\.csv:2: to: invalid_range`},
		{"evaluation of unknown provider", "evaluations", "provider,from,to,score\npX,2026-01-01,2026-03-31,90\n", `bad\.csv:2: provider: unknown_provider`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.head()
			path := e.write("bad.csv", c.body)
			out, code := e.run("import", c.kind, path)
			if code == 0 {
				t.Fatalf("exit 0 for bad input:\n%s", out)
			}
			line := firstErrorLine(out)
			if !regexp.MustCompile(c.want).MatchString(line) {
				t.Fatalf("error line %q does not match %q\nfull output:\n%s", line, c.want, out)
			}
			if after := e.head(); after != before {
				t.Fatalf("ledger changed by a rejected import: %s → %s", before, after)
			}
		})
	}
}

func firstErrorLine(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "bad.csv:") || strings.HasPrefix(l, "ledgerctl:") {
			return l
		}
	}
	return ""
}

// Issue 2, must show 4: wrong or missing token.
func TestTokenRequired(t *testing.T) {
	e := setup(t)
	for _, tok := range []string{"", "wrong-token"} {
		out, code := e.runWith(tok, "quota", "overruns")
		if code == 0 || !strings.Contains(out, "unauthenticated") || strings.Count(strings.TrimSpace(out), "\n") != 0 {
			t.Fatalf("token %q: exit %d, output %q", tok, code, out)
		}
	}
}

// SPEC.md, Interchange formats: "Re-running an import (after an interruption, or by
// mistake) never duplicates anything."
func TestReimportChangesNothing(t *testing.T) {
	e := setup(t)
	before := e.head()
	out, code := e.run("import", "events", filepath.Join(e.dir, "events.csv"))
	if code != 0 {
		t.Fatalf("re-import: %s", out)
	}
	if after := e.head(); after != before {
		t.Fatalf("re-import changed the ledger")
	}
	out, code = e.run("import", "departments", filepath.Join(e.dir, "departments.csv"))
	if code != 0 || e.head() != before {
		t.Fatalf("re-import of departments: %d %s", code, out)
	}
}

// The overrun report prints a table (issue 2, must show 1).
func TestQuotaOverrunsTable(t *testing.T) {
	e := setup(t)
	path := e.write("over.csv", "key,time,op,department,project,provider,resource,item,kind,quantity,expires\n"+
		"o1,2026-03-04T10:00:00+08:00,allocate,d1,prj1,p1,vm3,ecs.vcpu,standard,100,\n")
	if out, code := e.run("import", "events", path); code != 0 {
		t.Fatal(out)
	}
	out, code := e.run("quota", "overruns")
	if code != 0 || !strings.Contains(out, "d1") || !strings.Contains(out, "vcpu") || !strings.Contains(out, "1.0400") {
		t.Fatalf("overruns: exit %d\n%s", code, out)
	}
	csv, code := e.run("quota", "overruns", "--format", "csv")
	if code != 0 || !strings.HasPrefix(csv, "\ufeff") {
		t.Fatalf("CSV export must start with a UTF-8 BOM for Excel: %q", csv)
	}
}

// Issue 3, must show 5: band tables that overlap or leave a gap, and charges for a reversed
// range or an unknown department or provider: a clear error with its code, nothing changed.
func TestBadBandTablesAndChargeQueries(t *testing.T) {
	e := setup(t)
	before := e.head()
	header := "min_score,max_score,multiplier\n"
	for _, c := range []struct{ name, body, want string }{
		{"overlap", header + "0,70,0.9\n60,100,1\n", `invalid_band_table: min_score: .*bands\.csv:.*overlap`},
		{"gap", header + "0,60,0.9\n70,100,1\n", `invalid_band_table: min_score: .*bands\.csv:.*gap`},
		{"not to 100", header + "0,90,1\n", `invalid_band_table: max_score: .*gap`},
		{"not a number", header + "0,x,1\n", `invalid_band_table: max_score: .*bands\.csv:2: `},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, code := e.run("bands", "set", "--effective-from", "2026-07-01", e.write("bands.csv", c.body))
			if code == 0 || !regexp.MustCompile(c.want).MatchString(firstErrorLine(out)) {
				t.Fatalf("exit %d, output %q; want an error matching %q", code, out, c.want)
			}
		})
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--from", "2026-04-02", "--to", "2026-04-01"}, `invalid_range`},
		{[]string{"--from", "2026-04-01", "--to", "2026-04-30", "--department", "dX"}, `unknown_department`},
		{[]string{"--from", "2026-04-01", "--to", "2026-04-30", "--provider", "pX"}, `unknown_provider`},
	} {
		out, code := e.run(append([]string{"charges"}, c.args...)...)
		if code == 0 || strings.Count(strings.TrimSpace(out), "\n") != 0 || !strings.Contains(out, c.want) {
			t.Errorf("charges %v: exit %d, output %q; want one line with %s", c.args, code, out, c.want)
		}
	}
	if after := e.head(); after != before {
		t.Fatalf("rejected band tables or queries changed the ledger: %s → %s", before, after)
	}
	// A good table applies once; setting it again is a no-op.
	good := e.write("bands.csv", header+"0,60,0.85\n60,100,1\n")
	if out, code := e.run("bands", "set", "--effective-from", "2026-07-01", good); code != 0 {
		t.Fatalf("good table: %s", out)
	}
	mid := e.head()
	if out, code := e.run("bands", "set", "--effective-from", "2026-07-01", good); code != 0 || e.head() != mid {
		t.Fatalf("setting the same table again: exit %d, %s", code, out)
	}
}

// TestFlagValuesRefusedByTheLedger: ledgerctl sends a command line's values as they are and
// the ledger checks them (one place for the rules); a value refused for its shape is a
// usage error (exit 2) naming the flag, and nothing is written.
func TestFlagValuesRefusedByTheLedger(t *testing.T) {
	e := setup(t)
	e.as("supervisor") // its account is made before the head is taken
	before := e.head()
	for _, c := range []struct {
		args        []string
		code, field string
	}{
		{[]string{"supervisor", "approval", "grant", "--department", "d1", "--class", "vcpu", "--ceiling", "-1x", "--ref", "r"}, "invalid_quantity", "ceiling"},
		{[]string{"supervisor", "approval", "grant", "--department", "d1", "--class", "vcpu", "--ceiling", "1E9", "--ref", "r"}, "invalid_quantity", "ceiling"},
		{[]string{"supervisor", "approval", "grant", "--department", "d1", "--class", "", "--ceiling", "200", "--ref", "r"}, "missing_field", "class"},
		{[]string{"resource", "extend", "--resource", "vm2", "--expires", "tomorrow"}, "invalid_time", "expires"},
		{[]string{"resource", "extend", "--resource", "vm2", "--expires", "2026-5-1"}, "invalid_date", "expires"},
		{[]string{"resource", "extend", "--resource", "vm2", "--expires", "2026-05-01", "--requested-at", "2026-03-01T10:00:00"}, "invalid_time", "requested-at"},
		{[]string{"resource", "extend", "--resource", "", "--expires", "2026-05-01"}, "missing_field", "resource"},
		{[]string{"settle", "window", "--end-month", "0"}, "invalid_value", "end-month"},
	} {
		run := e.run
		if c.args[0] == "supervisor" {
			run, c.args = e.as("supervisor").run, c.args[1:]
		}
		out, code := run(c.args...)
		want := "ledgerctl: " + c.code + ": " + c.field + ": "
		if code != 2 || !strings.HasPrefix(out, want) || strings.Count(out, "\n") != 1 {
			t.Errorf("%q: exit %d, %q; want exit 2 and %q", c.args, code, out, want)
		}
	}
	if e.head() != before {
		t.Fatal("a refused command line changed the ledger")
	}
}

// Issue 12, item 2 (SPEC.md, Command line: approval grant [--expires], list, revoke): an
// unknown class is refused; a grant says what it replaces and warns when the new ceiling
// leaves the department in violation; revoke names the approval; list shows each status.
func TestApprovalGrantListRevoke(t *testing.T) {
	e := setup(t)
	sup := e.as("supervisor")
	if out, code := sup.run("approval", "grant", "--department", "d1", "--class", "vpcu", "--ceiling", "200", "--ref", "A"); code != 1 || !strings.Contains(out, "unknown_quota_class") {
		t.Fatalf("unknown class: exit %d\n%s", code, out)
	}
	if out, code := sup.run("approval", "grant", "--department", "d9", "--class", "vcpu", "--ceiling", "200", "--ref", "A"); code != 1 || !strings.Contains(out, "unknown_department") {
		t.Fatalf("unknown department: exit %d\n%s", code, out)
	}
	if out, code := sup.run("--lang", "en", "approval", "grant", "--department", "d1", "--class", "vcpu", "--ceiling", "200", "--ref", "A"); code != 0 {
		t.Fatalf("grant: exit %d\n%s", code, out)
	}
	ev := e.write("more.csv", "key,time,op,department,project,provider,resource,item,kind,quantity,expires\n"+
		"e9,2026-03-05T10:00:00+08:00,allocate,d1,prj1,p1,vm3,ecs.vcpu,standard,125,\n") // A = 4 + 125 = 129 > 120
	if out, code := e.run("import", "events", ev); code != 0 {
		t.Fatalf("import: exit %d\n%s", code, out)
	}
	out, code := sup.run("--lang", "en", "approval", "grant", "--department", "d1", "--class", "vcpu", "--ceiling", "100", "--ref", "B", "--expires", "2099-12-31")
	if code != 0 || !strings.Contains(out, "replaces the approval d1/vcpu ≤ 200 (A)") || !strings.Contains(out, "warning: d1/vcpu holds 129") {
		t.Fatalf("a lower grant: exit %d\n%s", code, out)
	}
	if out, _ := e.run("quota", "overruns", "--format", "csv"); !strings.Contains(out, "d1,市财政局,vcpu,100,129,1.2900,violation,100,B") {
		t.Fatalf("the overrun report does not show the violation:\n%s", out)
	}
	if out, code := sup.run("approval", "revoke", "--department", "d1", "--class", "vcpu", "--ref", "A"); code != 1 || !strings.Contains(out, "unknown_approval") {
		t.Fatalf("revoke of a replaced approval: exit %d\n%s", code, out)
	}
	if out, code := sup.run("--lang", "en", "approval", "revoke", "--department", "d1", "--class", "vcpu", "--ref", "B"); code != 0 || !strings.Contains(out, "recorded as line item") {
		t.Fatalf("revoke: exit %d\n%s", code, out)
	}
	out, code = sup.run("approval", "list", "--format", "csv")
	if code != 0 || !strings.Contains(out, "department,quota_class,ceiling,ref,expires,status,") || !strings.Contains(out, "d1,vcpu,100,B,2099-12-31,revoked,test-supervisor,") {
		t.Fatalf("list: exit %d\n%s", code, out)
	}
}

// Issue 12, item 8: auditors check on their own. An export of the line items with their
// hashes recomputes offline (ledgerctl verify --file, CSV and JSON lines) to the node's count
// and head hash, and so does an independent implementation written from the README alone
// (Python, when python3 is present); an altered row is caught, naming it.
func TestLineItemExportVerifiesOffline(t *testing.T) {
	e := setup(t)
	nodeOut := e.must("--lang", "en", "verify")
	head := regexp.MustCompile(`Head hash\s+([0-9a-f]{64})`).FindStringSubmatch(nodeOut)
	count := regexp.MustCompile(`Line items\s+(\d+)`).FindStringSubmatch(nodeOut)
	if head == nil || count == nil {
		t.Fatalf("verify output:\n%s", nodeOut)
	}
	for _, name := range []string{"items.csv", "items.jsonl"} {
		format := "csv"
		if strings.HasSuffix(name, "jsonl") {
			format = "jsonl"
		}
		path := filepath.Join(e.dir, name)
		e.must("lineitems", "export", "--format", format, "-o", path)
		out := e.must("--lang", "en", "verify", "--file", path)
		if !strings.Contains(out, head[1]) || !regexp.MustCompile(`Line items\s+`+count[1]+`\b`).MatchString(out) {
			t.Fatalf("%s recomputed offline:\n%s\nthe node:\n%s", name, out, nodeOut)
		}
		if py, err := exec.LookPath("python3"); err == nil {
			got, err := exec.Command(py, "testdata/verify_export.py", path).CombinedOutput()
			if err != nil || strings.TrimSpace(string(got)) != count[1]+" "+head[1] {
				t.Fatalf("the independent verifier on %s: %v %s", name, err, got)
			}
		}
	}
	// Alter one actor in the CSV export: both verifiers name the row.
	path := filepath.Join(e.dir, "items.csv")
	raw, _ := os.ReadFile(path)
	altered := strings.Replace(string(raw), ",authority1,", ",someone,", 1)
	if altered == string(raw) {
		t.Fatal("nothing to alter in the export")
	}
	bad := e.write("altered.csv", altered)
	out, code := e.run("verify", "--file", bad)
	if code != 1 || !strings.Contains(out, "chain_broken") || !regexp.MustCompile(`altered.csv:\d+: line item \d+ `).MatchString(out) {
		t.Fatalf("an altered export: exit %d\n%s", code, out)
	}
	if py, err := exec.LookPath("python3"); err == nil {
		if got, err := exec.Command(py, "testdata/verify_export.py", bad).CombinedOutput(); err == nil || !strings.Contains(string(got), "seq ") {
			t.Fatalf("the independent verifier passed an altered export: %s", got)
		}
	}
}

// Issue 12, item 6: a GB18030 (GBK) file, as Excel saves CSV on Chinese Windows, is refused
// with advice, not as bare "not valid UTF-8"; with --encoding gb18030 it imports.
func TestGB18030File(t *testing.T) {
	e := setup(t)
	utf8Body := "department,name,parent,funding\nd7,市民政局,,budget\n"
	gbk, err := simplifiedchinese.GB18030.NewEncoder().String(utf8Body)
	if err != nil {
		t.Fatal(err)
	}
	path := e.write("gbk.csv", gbk)
	out, code := e.run("--lang", "en", "import", "departments", path)
	if code != 1 || !strings.Contains(out, "gbk.csv:2: name: invalid_value: not UTF-8: the file looks like GB18030/GBK (\"市民政局\")") ||
		!strings.Contains(out, "--encoding gb18030") {
		t.Fatalf("a GBK file: exit %d\n%s", code, out)
	}
	if out, code := e.run("--lang", "en", "import", "departments", "--encoding", "gb18030", path); code != 0 || !strings.Contains(out, "New line items                1") {
		t.Fatalf("--encoding gb18030: exit %d\n%s", code, out)
	}
}

// Issue 12, item 6: officials keep these files in Excel: an XLSX workbook imports (its first
// sheet, a header row), dates typed as Excel dates included, and a bad cell is reported by
// its row like a CSV line.
func TestImportXLSX(t *testing.T) {
	e := setup(t)
	f := excelize.NewFile()
	sheet := f.GetSheetName(0)
	rows := [][]any{{"provider", "name", "contract_start", "contract_end"}, {"p7", "云商七", nil, "2027-12-31"}, {"p8", "云商八", "2026-01-01", "2026-13-01"}}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		f.SetSheetRow(sheet, cell, &r)
	}
	f.SetCellValue(sheet, "C2", time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)) // an Excel date cell
	style, _ := f.NewStyle(&excelize.Style{NumFmt: 14})
	f.SetCellStyle(sheet, "C2", "C2", style)
	path := filepath.Join(e.dir, "providers.xlsx")
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	out, code := e.run("--lang", "en", "import", "providers", path)
	if code != 1 || !strings.Contains(out, "providers.xlsx:3: contract_end: invalid_date") || strings.Contains(out, "providers.xlsx:2:") {
		t.Fatalf("an XLSX with a bad date on row 3: exit %d\n%s", code, out)
	}
	f.SetCellValue(sheet, "D3", "2026-12-31")
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	if out, code := e.run("--lang", "en", "import", "providers", path); code != 0 || !strings.Contains(out, "New line items                2") {
		t.Fatalf("the corrected XLSX: exit %d\n%s", code, out)
	}
}

// Issue 22: a month closed while an import writes into it used to leave the file half
// applied (the close landed between two batches; the rest was refused period_closed and a
// re-run could never finish) — this test failed so before import leases. Now the close is
// refused (import_in_progress) until the import ends, every row lands, and then the month
// closes; a file dated in a month closed already applies nothing.
func TestMonthCloseWaitsForAnImport(t *testing.T) {
	e := setup(t)
	const rows = 40_000
	var b strings.Builder
	b.WriteString("key,time,op,department,project,provider,resource,item,kind,quantity,expires\n")
	for i := 0; i < rows; i++ {
		fmt.Fprintf(&b, "big-%d,2026-04-%02dT10:00:00+08:00,usage,d1,prj1,p1,bucket-%d,oss.egress,standard,1,\n", i, 1+i%30, i%50)
	}
	path := e.write("big.csv", b.String())
	before := e.lineItems()
	done := make(chan string, 1)
	go func() {
		out, code := e.run("import", "events", path)
		done <- fmt.Sprintf("exit %d\n%s", code, out)
	}()
	closed := ""
	for closed == "" {
		select {
		case res := <-done:
			t.Fatalf("the import ended before the close was tried (make the file bigger): %s", res)
		default:
		}
		if n := e.lineItems(); n > before { // the first batch landed: the import runs
			out, code := e.run("--key", "close-april", "period", "close", "2026-04")
			if code == 0 || !strings.Contains(out, "import_in_progress") {
				t.Fatalf("closing April during the import: exit %d\n%s", code, out)
			}
			closed = out
		}
		time.Sleep(20 * time.Millisecond)
	}
	if res := <-done; !strings.HasPrefix(res, "exit 0") {
		t.Fatalf("the import: %s", res)
	}
	if n := e.lineItems(); n != before+rows {
		t.Fatalf("%d line items after the import, want %d", n, before+rows)
	}
	if out, code := e.run("--key", "close-april-2", "period", "close", "2026-04"); code != 0 {
		t.Fatalf("closing April after the import: exit %d\n%s", code, out)
	}
	late := e.write("late.csv", "key,time,op,department,project,provider,resource,item,kind,quantity,expires\n"+
		"late-1,2026-05-02T10:00:00+08:00,usage,d1,prj1,p1,bucket-x,oss.egress,standard,1,\n"+
		"late-2,2026-04-30T10:00:00+08:00,usage,d1,prj1,p1,bucket-x,oss.egress,standard,1,\n")
	n0 := e.lineItems()
	if out, code := e.run("import", "events", late); code == 0 || !strings.Contains(out, "period_closed") {
		t.Fatalf("a file dated in a closed month: exit %d\n%s", code, out)
	}
	if n := e.lineItems(); n != n0 {
		t.Fatalf("a refused file applied %d line items", n-n0)
	}
}

// Issue 22, must show 3: a formula planted in a resource id, a department name and an
// approval reference arrives quoted in the CSVs the product writes (statement, approval
// list, line-item export; the budget's in settlement's test — all through csvfile), ids and
// amounts of charges.csv stay as they are, and verify --file (and the README's independent
// verifier) still verify an export whose keys start with '='.
func TestFormulasArriveQuotedInEveryCSV(t *testing.T) {
	e := setup(t)
	deps := e.write("formula-deps.csv", "department,name,parent,funding\nd9,\"=cmd|' /C calc'!A0\",,budget\n")
	if out, code := e.run("import", "departments", deps); code != 0 {
		t.Fatalf("import: %s", out)
	}
	ev := e.write("formula-events.csv", "key,time,op,department,project,provider,resource,item,kind,quantity,expires\n"+
		"=k1,2026-03-03T10:00:00+08:00,allocate,d1,prj1,p1,=HYPERLINK(1),ecs.vcpu,standard,2,\n")
	if out, code := e.run("import", "events", ev); code != 0 {
		t.Fatalf("import: %s", out)
	}
	sup := e.as("supervisor")
	sup.must("--key", "formula-approval", "approval", "grant", "--department", "d1", "--class", "vcpu", "--ceiling", "500", "--ref", "@SUM(1+1)")

	statement := e.must("statement", "--department", "d1", "--month", "2026-03", "--format", "csv")
	if !strings.Contains(statement, ",'=HYPERLINK(1),") || strings.Contains(statement, ",=HYPERLINK(1),") {
		t.Errorf("the statement CSV:\n%s", statement)
	}
	approvals := sup.must("approval", "list", "--format", "csv")
	if !strings.Contains(approvals, ",'@SUM(1+1),") {
		t.Errorf("the approval list CSV:\n%s", approvals)
	}
	path := filepath.Join(e.dir, "formula-items.csv")
	e.must("lineitems", "export", "-o", path)
	raw, _ := os.ReadFile(path)
	if !strings.Contains(string(raw), ",'=k1,") {
		t.Errorf("the line-item export does not quote the key =k1")
	}
	if out := e.must("--lang", "en", "verify", "--file", path); !strings.Contains(out, "Head hash") && !strings.Contains(out, "head") {
		t.Errorf("verify --file: %s", out)
	}
	if py, err := exec.LookPath("python3"); err == nil {
		if got, err := exec.Command(py, "testdata/verify_export.py", path).CombinedOutput(); err != nil {
			t.Errorf("the independent verifier: %v %s", err, got)
		}
	}
	charges := e.must("charges", "--from", "2026-03-01", "--to", "2026-03-31", "--format", "csv")
	for _, line := range strings.Split(charges, "\n")[1:] {
		for _, cell := range strings.Split(line, ",") {
			if strings.HasPrefix(cell, "'") {
				t.Errorf("a number or id of charges.csv was quoted: %q in %q", cell, line)
			}
		}
	}
}
