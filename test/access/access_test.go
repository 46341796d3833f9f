// Package access tests SPEC.md's section Access (issue 11) against a real ledgerd: the
// permission table of the README cell by cell, tenant isolation, the access trail, and the
// actor of line items.
package access

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/reflect/protoreflect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/internal/testcluster"
)

// roleOrder is the README table's column order.
var roleOrder = []string{"authority", "supervisor", "finance", "provider", "department", "auditor", "security"}

type world struct {
	t      *testing.T
	c      *testcluster.Cluster
	url    string
	tokens map[string]string // by account id
}

// setup starts one node with the demo's master data and events, a child department of edu
// (edu-school) with a resource, and an account per role.
func setup(t *testing.T) *world {
	c := testcluster.Start(t, 1, testcluster.Options{})
	w := &world{t: t, c: c, url: c.Nodes[0].URL, tokens: map[string]string{}}
	demo := filepath.Join(testcluster.RepoRoot(), "examples", "demo")
	dir := t.TempDir()
	child := filepath.Join(dir, "child.csv")
	os.WriteFile(child, []byte("department,name,parent,funding\nedu-school,市第一中学,edu,budget\n"), 0o600)
	childProj := filepath.Join(dir, "child-projects.csv")
	os.WriteFile(childProj, []byte("project,department,name,quota_class,quota\nschool-web,edu-school,学校网站,vcpu,8\n"), 0o600)
	childEvents := filepath.Join(dir, "child-events.csv")
	os.WriteFile(childEvents, []byte("key,time,op,department,project,provider,resource,item,kind,quantity,expires\n"+
		"school-1,2026-03-02T10:00:00+08:00,allocate,edu-school,school-web,aliyun,school-vm,ecs.vcpu,standard,4,\n"), 0o600)
	// The staff first (三员分立: the bootstrap credential makes security1 and authority1 and
	// is retired); the authority loads the data.
	admin := testcluster.AuthorityToken(t, c.HTTP, w.url)
	w.tokens["supervisor1"] = testcluster.RoleToken(t, c.HTTP, w.url, "supervisor1", "supervisor", "")
	steps := [][]string{}
	for _, kind := range []string{"departments", "providers", "projects", "catalog", "evaluations"} {
		steps = append(steps, []string{"import", kind, filepath.Join(demo, kind+".csv")})
	}
	steps = append(steps, []string{"import", "departments", child}, []string{"import", "projects", childProj})
	for _, s := range steps {
		w.ctl(admin, s...)
	}
	w.ctl(w.tokens["supervisor1"], "--key", "demo/approval", "approval", "grant", "--department", "health", "--class", "vcpu", "--ceiling", "200", "--ref", "r")
	w.ctl(admin, "import", "events", filepath.Join(demo, "events.csv"))
	w.ctl(admin, "import", "events", childEvents)
	for _, a := range []struct{ id, role, scope string }{
		{"authority1", "authority", ""}, {"finance1", "finance", ""}, {"auditor1", "auditor", ""}, {"security1", "security", ""},
		{"aliyun-am", "provider", "aliyun"}, {"edu-it", "department", "edu"}, {"bus-it", "department", "bus"}, {"school-it", "department", "edu-school"},
	} {
		w.tokens[a.id] = testcluster.RoleToken(t, c.HTTP, w.url, a.id, a.role, a.scope)
	}
	return w
}

// roleAccount is the account the matrix uses for each role.
var roleAccount = map[string]string{"authority": "authority1", "supervisor": "supervisor1", "finance": "finance1",
	"provider": "aliyun-am", "department": "edu-it", "auditor": "auditor1", "security": "security1"}

func (w *world) ctl(token string, args ...string) string {
	w.t.Helper()
	cmd := exec.Command(testcluster.CtlBinary(w.t), append([]string{"--server", w.url}, args...)...)
	cmd.Env = append(os.Environ(), "CLOUDLEDGER_TOKEN="+token)
	out, err := cmd.CombinedOutput()
	if err != nil {
		w.t.Fatalf("ledgerctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// rawCall calls a procedure with a JSON body over the Connect protocol (unary, or a client
// stream of one message) or a plain HTTP endpoint ("GET /kafka"), and returns the error
// code ("" on success): the Connect code, or "permission_denied" for HTTP 403.
func (w *world) rawCall(procedure, token, body string) string {
	w.t.Helper()
	method, path, streaming := http.MethodPost, procedure, procedure == "LedgerService/ValidateImport"
	if m, p, ok := strings.Cut(procedure, " "); ok {
		method, path = m, p
	} else {
		path = "/cloudledger.v1." + procedure
	}
	var rd io.Reader = strings.NewReader(body)
	if streaming {
		var env bytes.Buffer
		env.WriteByte(0)
		binary.Write(&env, binary.BigEndian, uint32(len(body)))
		env.WriteString(body)
		rd = &env
	}
	if method == http.MethodGet {
		rd = nil
	}
	req, _ := http.NewRequest(method, w.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", map[bool]string{true: "application/connect+json", false: "application/json"}[streaming])
	resp, err := w.c.HTTP.Do(req)
	if err != nil {
		w.t.Fatalf("%s: %v", procedure, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if !strings.HasPrefix(path, "/cloudledger.") {
		if resp.StatusCode == http.StatusForbidden {
			return "permission_denied"
		}
		return ""
	}
	if streaming { // the last envelope ends the stream, with the error if any
		for len(raw) >= 5 {
			n := binary.BigEndian.Uint32(raw[1:5])
			if raw[0]&2 != 0 {
				var end struct {
					Error *struct{ Code string } `json:"error"`
				}
				json.Unmarshal(raw[5:5+n], &end)
				if end.Error != nil {
					return end.Error.Code
				}
				return ""
			}
			raw = raw[5+n:]
		}
		return ""
	}
	if resp.StatusCode == http.StatusOK {
		return ""
	}
	var e struct{ Code string }
	json.Unmarshal(raw, &e)
	return e.Code
}

// readTable reads a README table between <!-- name --> and <!-- /name -->: first column → cells.
func readTable(t *testing.T, name string) map[string][]string {
	f, err := os.Open(filepath.Join(testcluster.RepoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "<!-- "+name+" -->":
			in = true
		case line == "<!-- /"+name+" -->":
			return out
		case in && strings.HasPrefix(line, "|") && !strings.HasPrefix(line, "|---") && !strings.HasPrefix(line, "| procedure") && !strings.HasPrefix(line, "| command"):
			cells := strings.Split(strings.Trim(line, "|"), "|")
			for i := range cells {
				cells[i] = strings.TrimSpace(cells[i])
			}
			if len(cells) != 1+len(roleOrder) {
				t.Fatalf("README %s row %q has %d cells", name, line, len(cells))
			}
			out[cells[0]] = cells[1:]
		}
	}
	t.Fatalf("README has no table %s", name)
	return nil
}

// Issue 11, must show 1: every procedure of the service descriptors × every role is
// allowed or refused exactly as the README's table says; a procedure missing from the
// table (or refused for everyone for want of a rule) fails.
func TestPermissionMatrix(t *testing.T) {
	w := setup(t)
	table := readTable(t, "access-matrix")
	var procedures []string
	for _, svc := range []string{"LedgerService", "ClusterService", "AccountService", "RequestService", "FindingService", "EvaluationService"} {
		for _, m := range methodsOf(t, svc) {
			procedures = append(procedures, svc+"/"+m)
		}
	}
	procedures = append(procedures, "GET /kafka", "POST /kafka/skip", "GET /metrics", "GET /v1/backup")
	for _, proc := range procedures {
		cells, ok := table[proc]
		if !ok {
			t.Errorf("%s is not in the README's permission table", proc)
			continue
		}
		delete(table, proc)
		for i, role := range roleOrder {
			body := "{}"
			if proc == "POST /kafka/skip" {
				body = `{"partition":0,"to":0}`
			}
			got := w.rawCall(proc, w.tokens[roleAccount[role]], body)
			if cells[i] == "ticket" {
				// No account's credential counts: without the operator's ticket, refused as
				// unauthenticated whoever calls (SPEC: Access, membership).
				if got != "unauthenticated" {
					t.Errorf("%s as %s without a ticket: got %q, want unauthenticated", proc, role, got)
				}
				continue
			}
			refused := got == "permission_denied"
			want := cells[i] == "—"
			if refused != want || got == "unauthenticated" && proc != "AccountService/SignIn" {
				t.Errorf("%s as %s: got %q, the README says %q", proc, role, got, cells[i])
			}
		}
	}
	for proc := range table {
		t.Errorf("the README lists %s, which the API does not have", proc)
	}

	commands := readTable(t, "command-matrix")
	for _, kind := range commandKinds(t) {
		cells, ok := commands[kind]
		if !ok {
			t.Errorf("command %s is not in the README's command table", kind)
			continue
		}
		for i, role := range roleOrder {
			fields := "{}"
			if kind == "event" {
				fields = `{"provider":"aliyun"}` // the provider account's own
			}
			got := w.rawCall("LedgerService/Submit", w.tokens[roleAccount[role]], fmt.Sprintf(`{"commands":[{"key":"m-%s-%s","%s":%s}]}`, kind, role, kind, fields))
			if refused, want := got == "permission_denied", cells[i] == "—"; refused != want {
				t.Errorf("Submit %s as %s: got %q, the README says %q", kind, role, got, cells[i])
			}
		}
	}
}

// methodsOf lists a service's methods from the generated descriptors.
func methodsOf(t *testing.T, service string) []string {
	var sd protoreflect.ServiceDescriptor
	for _, f := range []protoreflect.FileDescriptor{v1.File_cloudledger_v1_ledger_proto, v1.File_cloudledger_v1_account_proto,
		v1.File_cloudledger_v1_request_proto, v1.File_cloudledger_v1_finding_proto, v1.File_cloudledger_v1_evaluation_proto} {
		if sd = f.Services().ByName(protoName(service)); sd != nil {
			break
		}
	}
	if sd == nil {
		t.Fatalf("no service %s", service)
	}
	var out []string
	for i := 0; i < sd.Methods().Len(); i++ {
		out = append(out, string(sd.Methods().Get(i).Name()))
	}
	return out
}

func commandKinds(t *testing.T) []string {
	od := (&v1.Command{}).ProtoReflect().Descriptor().Oneofs().ByName("body")
	var out []string
	for i := 0; i < od.Fields().Len(); i++ {
		out = append(out, string(od.Fields().Get(i).Name()))
	}
	if len(out) < 10 {
		t.Fatalf("only %d commands", len(out))
	}
	return out
}

func authed[T any](m *T, token string) *connect.Request[T] {
	r := connect.NewRequest(m)
	r.Header().Set("Authorization", "Bearer "+token)
	return r
}

func wantDenied(t *testing.T, what string, err error) {
	t.Helper()
	if connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Errorf("%s: %v, want permission_denied", what, err)
	}
}

// Issue 11, must show 2: tenant isolation. edu cannot read bus's statement, charges,
// resources or quota; lists hold only its own; a child department is visible to its
// parent, not the reverse; aliyun sees only its own charges, statements and invoice
// history and cannot import another provider's event (nor score itself). Every refusal is
// in the access trail with the account and the address.
func TestTenantIsolation(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	lc := cloudledgerv1connect.NewLedgerServiceClient(w.c.HTTP, w.url)
	ac := cloudledgerv1connect.NewAccountServiceClient(w.c.HTTP, w.url)
	edu, bus, school, aliyun := w.tokens["edu-it"], w.tokens["bus-it"], w.tokens["school-it"], w.tokens["aliyun-am"]
	march := func(dept, prov string) *v1.ChargesRequest {
		return &v1.ChargesRequest{From: "2026-03-01", To: "2026-03-31", Department: dept, Provider: prov}
	}

	_, err := lc.Statement(ctx, authed(&v1.StatementRequest{Month: "2026-03", Department: "bus"}, edu))
	wantDenied(t, "edu reads bus's statement", err)
	_, err = lc.Charges(ctx, authed(march("bus", ""), edu))
	wantDenied(t, "edu reads bus's charges", err)
	_, err = lc.GetResource(ctx, authed(&v1.GetResourceRequest{Resource: "bus-dispatch-vcpu-01"}, edu))
	wantDenied(t, "edu reads bus's resource", err)
	_, err = lc.QuotaOverruns(ctx, authed(&v1.QuotaOverrunsRequest{Department: "bus"}, edu))
	wantDenied(t, "edu reads bus's quota", err)

	// Lists: only edu and the department below it.
	ch, err := lc.Charges(ctx, authed(march("", ""), edu))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, l := range ch.Msg.GetLines() {
		seen[l.GetDepartment()] = true
	}
	if len(seen) != 2 || !seen["edu"] || !seen["edu-school"] {
		t.Errorf("edu's charges hold departments %v, want edu and edu-school", seen)
	}
	all, _ := lc.Charges(ctx, authed(march("", ""), w.tokens["authority1"]))
	if ch.Msg.GetTotalAmount() == all.Msg.GetTotalAmount() || len(all.Msg.GetLines()) <= len(ch.Msg.GetLines()) {
		t.Errorf("edu's total %s equals everyone's %s", ch.Msg.GetTotalAmount(), all.Msg.GetTotalAmount())
	}
	items, err := lc.ListLineItems(ctx, authed(&v1.ListLineItemsRequest{Limit: 10000}, edu))
	if err != nil {
		t.Fatal(err)
	}
	if len(items.Msg.GetItems()) == 0 {
		t.Error("edu sees no line items of its own")
	}
	for _, it := range items.Msg.GetItems() {
		if d := it.GetCommand().GetEvent().GetDepartment(); d != "edu" && d != "edu-school" {
			t.Errorf("edu sees line item %d of department %q (%s)", it.GetSeq(), d, it.GetType())
		}
	}
	ov, err := lc.QuotaOverruns(ctx, authed(&v1.QuotaOverrunsRequest{}, bus))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range ov.Msg.GetOverruns() {
		if o.GetDepartment() != "bus" {
			t.Errorf("bus sees the overrun row of %s", o.GetDepartment())
		}
	}

	// Parent and child.
	if _, err := lc.Statement(ctx, authed(&v1.StatementRequest{Month: "2026-03", Department: "edu-school"}, edu)); err != nil {
		t.Errorf("edu reads its child's statement: %v", err)
	}
	if _, err := lc.GetResource(ctx, authed(&v1.GetResourceRequest{Resource: "school-vm"}, edu)); err != nil {
		t.Errorf("edu reads its child's resource: %v", err)
	}
	_, err = lc.Statement(ctx, authed(&v1.StatementRequest{Month: "2026-03", Department: "edu"}, school))
	wantDenied(t, "edu-school reads its parent's statement", err)

	// The provider.
	pc, err := lc.Charges(ctx, authed(march("", ""), aliyun))
	if err != nil {
		t.Fatal(err)
	}
	if len(pc.Msg.GetLines()) == 0 {
		t.Error("aliyun sees no charges")
	}
	for _, l := range pc.Msg.GetLines() {
		if l.GetProvider() != "aliyun" {
			t.Errorf("aliyun sees a charge of %s", l.GetProvider())
		}
	}
	_, err = lc.Charges(ctx, authed(march("", "hwcloud"), aliyun))
	wantDenied(t, "aliyun reads hwcloud's charges", err)
	_, err = lc.Statement(ctx, authed(&v1.StatementRequest{Month: "2026-03", Provider: "hwcloud"}, aliyun))
	wantDenied(t, "aliyun reads hwcloud's statement", err)
	if _, err := lc.Statement(ctx, authed(&v1.StatementRequest{Month: "2026-03", Provider: "aliyun"}, aliyun)); err != nil {
		t.Errorf("aliyun reads its own statement: %v", err)
	}
	_, err = lc.InvoiceHistory(ctx, authed(&v1.InvoiceHistoryRequest{Provider: "hwcloud"}, aliyun))
	wantDenied(t, "aliyun reads hwcloud's invoice history", err)
	ev := &v1.Command{Key: "x-1", Body: &v1.Command_Event{Event: &v1.Event{Op: "allocate", Time: "2026-03-05T10:00:00+08:00", Department: "bus",
		Project: "bus-dispatch", Provider: "hwcloud", Resource: "x-vm", Item: "ecs.vcpu", Kind: "standard", Quantity: "1"}}}
	_, err = lc.Submit(ctx, authed(&v1.SubmitRequest{Commands: []*v1.Command{ev}}, aliyun))
	wantDenied(t, "aliyun imports an event of hwcloud", err)
	score := &v1.Command{Key: "x-2", Body: &v1.Command_Evaluation{Evaluation: &v1.Evaluation{Provider: "aliyun", From: "2026-03-01", To: "2026-03-31", Score: "100"}}}
	_, err = lc.Submit(ctx, authed(&v1.SubmitRequest{Commands: []*v1.Command{score}}, aliyun))
	wantDenied(t, "aliyun scores itself", err)

	// The trail: each refusal with the account and the address.
	want := map[string]int{"edu-it": 4, "school-it": 1, "aliyun-am": 5}
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := ac.AccessLog(ctx, authed(&v1.AccessLogRequest{Result: "denied"}, w.tokens["auditor1"]))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, r := range res.Msg.GetRecords() {
			if r.GetAddress() != "127.0.0.1" || r.GetProcedure() == "" || r.GetNode() != "node1" || r.GetResult() != "permission_denied" {
				t.Fatalf("a refusal recorded without its fields: %+v", r)
			}
			got[r.GetAccount()]++
		}
		if fmt.Sprint(got) == fmt.Sprint(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("refusals in the trail by account: %v, want %v", got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func protoName(s string) protoreflect.Name { return protoreflect.Name(s) }
