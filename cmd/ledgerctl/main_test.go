package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/importrun"
	"github.com/cloudledger/cloudledger/interchange"
)

const fakeToken = "test-token"

// fakeLedger is an in-memory stand-in for a node's API: enough to drive every command
// without a cluster.
type fakeLedger struct {
	cloudledgerv1connect.UnimplementedLedgerServiceHandler

	mu        sync.Mutex
	applied   map[string]bool
	submits   [][]*v1.Command // every Submit request's rows received, failed ones too
	leases    []*v1.ImportLease
	chunks    []int    // commands per ValidateImport message
	stale     []string // the Cloudledger-Stale header of each call
	refuse    map[uint32]*v1.ErrorDetail
	failNext  []error // Submit answers these first, one per call
	overruns  []*v1.QuotaOverrun
	failAfter int // Submit refuses its request number failAfter (1-based) with failWith
	failWith  error
}

func newFakeLedger() *fakeLedger {
	return &fakeLedger{applied: map[string]bool{}, refuse: map[uint32]*v1.ErrorDetail{}}
}

func detailErr(code connect.Code, d *v1.ErrorDetail) error {
	ce := connect.NewError(code, errors.New(d.Code+": "+d.Message))
	if det, err := connect.NewErrorDetail(d); err == nil {
		ce.AddDetail(det)
	}
	return ce
}

func (f *fakeLedger) auth(h http.Header) error {
	f.stale = append(f.stale, h.Get("Cloudledger-Stale"))
	if h.Get("Authorization") != "Bearer "+fakeToken {
		return detailErr(connect.CodeUnauthenticated, &v1.ErrorDetail{Code: "unauthenticated", Message: "wrong admin token", Index: -1})
	}
	return nil
}

func (f *fakeLedger) Submit(_ context.Context, req *connect.Request[v1.SubmitRequest]) (*connect.Response[v1.SubmitResponse], error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.auth(req.Header()); err != nil {
		return nil, err
	}
	// Import leases (the months an import holds) are kept apart from the rows.
	rows := req.Msg.GetCommands()
	var leases []*v1.ItemResult
	for len(rows) > 0 && rows[0].GetImportLease() != nil {
		f.leases = append(f.leases, rows[0].GetImportLease())
		leases = append(leases, &v1.ItemResult{Unchanged: true})
		rows = rows[1:]
	}
	if len(rows) == 0 {
		return connect.NewResponse(&v1.SubmitResponse{RaftIndex: 7, Results: leases}), nil
	}
	f.submits = append(f.submits, rows)
	if len(f.failNext) > 0 {
		err := f.failNext[0]
		f.failNext = f.failNext[1:]
		return nil, err
	}
	if f.failAfter > 0 && len(f.submits) == f.failAfter {
		return nil, f.failWith
	}
	out := &v1.SubmitResponse{RaftIndex: 7, Results: leases}
	for _, c := range rows {
		r := &v1.ItemResult{Seq: uint64(len(f.applied) + 1)}
		if f.applied[c.GetKey()] {
			r.Duplicate = true
		}
		f.applied[c.GetKey()] = true
		out.Results = append(out.Results, r)
	}
	return connect.NewResponse(out), nil
}

func (f *fakeLedger) ValidateImport(_ context.Context, stream *connect.ClientStream[v1.ValidateImportRequest]) (*connect.Response[v1.ValidateImportResponse], error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.auth(stream.RequestHeader()); err != nil {
		return nil, err
	}
	out := &v1.ValidateImportResponse{}
	for stream.Receive() {
		cmds := stream.Msg().GetCommands()
		f.chunks = append(f.chunks, len(cmds))
		for _, c := range cmds {
			out.Rows++
			if d, ok := f.refuse[c.GetLine()]; ok {
				out.Errors = append(out.Errors, d)
				continue
			}
			out.Accepted++
			if f.applied[c.GetKey()] {
				out.Duplicates++
			}
		}
	}
	return connect.NewResponse(out), stream.Err()
}

func (f *fakeLedger) Verify(_ context.Context, req *connect.Request[v1.VerifyRequest]) (*connect.Response[v1.VerifyResponse], error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.auth(req.Header()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.VerifyResponse{LineItems: uint64(len(f.applied)), HeadHash: strings.Repeat("ab", 32), AppliedIndex: 9, NodeId: "node1"}), nil
}

// ListApprovals answers that there are none (approval grant asks first what it replaces).
func (f *fakeLedger) ListApprovals(_ context.Context, req *connect.Request[v1.ListApprovalsRequest]) (*connect.Response[v1.ListApprovalsResponse], error) {
	if err := f.auth(req.Header()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.ListApprovalsResponse{}), nil
}

func (f *fakeLedger) QuotaOverruns(_ context.Context, req *connect.Request[v1.QuotaOverrunsRequest]) (*connect.Response[v1.QuotaOverrunsResponse], error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.auth(req.Header()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.QuotaOverrunsResponse{Overruns: f.overruns}), nil
}

type fakeCluster struct {
	cloudledgerv1connect.UnimplementedClusterServiceHandler
}

func (fakeCluster) Status(context.Context, *connect.Request[v1.StatusRequest]) (*connect.Response[v1.StatusResponse], error) {
	return connect.NewResponse(&v1.StatusResponse{NodeId: "n2", LeaderId: "n1", Nodes: []*v1.ClusterNode{
		{NodeId: "n1", RaftAddr: "10.0.0.1:8081", HttpUrl: "http://10.0.0.1:8080", Suffrage: "Voter", Leader: true},
		{NodeId: "n2", RaftAddr: "10.0.0.2:8081", HttpUrl: "http://10.0.0.2:8080", Suffrage: "Voter"},
	}}), nil
}

func startFake(t *testing.T) (*fakeLedger, string) {
	t.Helper()
	f := newFakeLedger()
	mux := http.NewServeMux()
	mux.Handle(cloudledgerv1connect.NewLedgerServiceHandler(f))
	mux.Handle(cloudledgerv1connect.NewClusterServiceHandler(fakeCluster{}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

// deadURL is an address nothing listens on.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// ctl runs a command line in an empty directory with no token or server in the environment.
func ctl(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	t.Setenv(envToken, "")
	t.Setenv(envServer, "")
	t.Chdir(t.TempDir())
	var o, e bytes.Buffer
	code = run(context.Background(), args, &o, &e)
	return o.String(), e.String(), code
}

// oneFailureLine checks that stderr is exactly one line "ledgerctl: CODE: …".
func oneFailureLine(t *testing.T, stderr, code string) {
	t.Helper()
	if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "ledgerctl: "+code+": ") {
		t.Fatalf("stderr %q, want one line ledgerctl: %s: …", stderr, code)
	}
}

// TestUsageErrorsExit2: SPEC.md, Command line — a wrong command line exits 2 with one line.
func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"nope"},
		{"quota"},
		{"quota", "overruns", "--format", "xml"},
		{"--lang", "fr", "verify"},
		{"verify", "--bogus"},
		{"verify", "extra"},
		{"approval", "grant", "--department", "d1"},
		{"period", "close"},
		{"period", "close", "2026-13"},
		{"calendar", "due", "--from", "2026-02-30", "--working-days", "1"},
		{"calendar", "deadline", "--before", "2026-10-12", "--working-days", "0"},
		{"import", "events"},
		{"import", "invoices", "x.csv"},
		{"charges", "--from", "2026-04-02", "--to", "2026-04-01"},
		{"charges", "--from", "2026-04-31", "--to", "2026-05-01"},
		{"charges", "--from", "2026-04-01", "--to", "2026-04-30", "--format", "xml"},
		{"bands", "set", "x.csv"},
		// Issue 12, item 9: a bad --month or --year is a usage error like a bad --from.
		{"statement", "--department", "d1", "--month", "2026-13"},
		{"settle", "status", "--year", "99999"},
		{"budget", "export", "--year", "0", "--format", "csv"},
		{"settle", "audit", "--year", "1999"},
		{"cluster", "add", "--node-id", "n4"}, // --data-dir is required: an operator's act on a host
		{"--timeout", "0s", "verify"},
		{"--server", "ftp://x", "verify"},
	} {
		_, stderr, code := ctl(t, args...)
		if code != exitUsage || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "ledgerctl: ") {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and one line", args, code, stderr)
		}
	}
}

// TestTokenRequired: a missing or wrong token fails with unauthenticated, exit 1, one line.
func TestTokenRequired(t *testing.T) {
	_, url := startFake(t)
	_, stderr, code := ctl(t, "--server", url, "verify")
	if code != exitFailure {
		t.Fatalf("no token: exit %d", code)
	}
	oneFailureLine(t, stderr, "unauthenticated")

	_, stderr, code = ctl(t, "--server", url, "--token", "wrong", "quota", "overruns")
	if code != exitFailure {
		t.Fatalf("wrong token: exit %d", code)
	}
	oneFailureLine(t, stderr, "unauthenticated")
}

// TestTokenFromEnvAndFile: CLOUDLEDGER_TOKEN, --token-file; ./data/admin.token only for the default server.
func TestTokenFromEnvAndFile(t *testing.T) {
	_, url := startFake(t)
	t.Setenv(envServer, url)
	t.Setenv(envToken, fakeToken)
	var o, e bytes.Buffer
	if code := run(context.Background(), []string{"verify"}, &o, &e); code != 0 {
		t.Fatalf("token from env: exit %d %s", code, e.String())
	}

	t.Setenv(envToken, "")
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.MkdirAll("data", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("data", "admin.token"), []byte(fakeToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Issue 12, item 7: ./data/admin.token is the local demo node's token; it is never sent
	// to another server.
	o.Reset()
	e.Reset()
	if code := run(context.Background(), []string{"--lang", "en", "verify"}, &o, &e); code != exitFailure ||
		!strings.Contains(e.String(), "unauthenticated") || !strings.Contains(e.String(), "default local server") {
		t.Fatalf("./data/admin.token sent to %s: exit %d %s", url, code, e.String())
	}
	o.Reset()
	e.Reset()
	if code := run(context.Background(), []string{"--lang", "en", "--token-file", filepath.Join("data", "admin.token"), "verify"}, &o, &e); code != 0 {
		t.Fatalf("--token-file: exit %d %s", code, e.String())
	}
	if !strings.Contains(o.String(), strings.Repeat("ab", 32)) || !strings.Contains(o.String(), "Line items") {
		t.Fatalf("verify output %q", o.String())
	}
}

// TestConnectionRefused: an unreachable node is unavailable, exit 1; with a second URL
// the call fails over to it.
func TestConnectionRefused(t *testing.T) {
	dead := deadURL(t)
	_, stderr, code := ctl(t, "--server", dead, "--token", fakeToken, "verify")
	if code != exitFailure {
		t.Fatalf("exit %d", code)
	}
	oneFailureLine(t, stderr, "unavailable")

	f, url := startFake(t)
	stdout, stderr, code := ctl(t, "--server", dead+","+url, "--token", fakeToken, "--stale", "verify")
	if code != 0 || !strings.Contains(stdout, "node1") {
		t.Fatalf("failover: exit %d\n%s%s", code, stdout, stderr)
	}
	if strings.HasPrefix(stderr, "ledgerctl:") || !strings.Contains(stderr, "retrying") {
		t.Fatalf("a retry note must not look like a failure: %q", stderr)
	}
	if f.stale[len(f.stale)-1] != "true" {
		t.Fatal("--stale did not send Cloudledger-Stale: true")
	}
}

// eventsFile writes an events CSV of n good usage rows.
func eventsFile(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("key,time,op,department,project,provider,resource,item,kind,quantity,expires\n")
	for i := range n {
		fmt.Fprintf(&b, "u%d,2026-03-01T10:%02d:%02d+08:00,usage,d1,prj1,p1,bucket%d,oss.egress,,%d.5,\n", i, (i/60)%60, i%60, i%7, i%9+1)
	}
	path := filepath.Join(t.TempDir(), "events.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestImportBatches: the file is validated in chunks of up to 5,000 and applied in requests
// of 1,000 rows in file order, each carrying its rows' lines; re-running it applies nothing
// new (SPEC.md: re-running an import never duplicates anything).
func TestImportBatches(t *testing.T) {
	f, url := startFake(t)
	path := eventsFile(t, 2500)
	stdout, stderr, code := ctl(t, "--server", url, "--token", fakeToken, "--lang", "en", "import", "events", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if fmt.Sprint(f.chunks) != "[2500]" {
		t.Fatalf("validate chunks %v", f.chunks)
	}
	if len(f.submits) != 3 || len(f.submits[0]) != 1000 || len(f.submits[1]) != 1000 || len(f.submits[2]) != 500 {
		t.Fatalf("submit batches %d", len(f.submits))
	}
	if c := f.submits[1][0]; c.GetKey() != "u1000" || c.GetLine() != 1002 || c.GetEvent().GetQuantity() != "2.5" {
		t.Fatalf("first command of batch 2: %v", c)
	}
	// The months are held before the first batch, renewed by each, released after the last.
	if n := len(f.leases); n != 5 || fmt.Sprint(f.leases[0].GetMonths()) != "[2026-03]" || f.leases[0].GetRelease() || !f.leases[4].GetRelease() {
		t.Fatalf("import leases %v", f.leases)
	}
	for _, want := range []string{"Rows                          2500", "New line items                2500", "Duplicates (already applied)  0"} {
		if !strings.Contains(stdout, want) {
			t.Fatalf("summary lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "(100%)") {
		t.Fatalf("no progress on stderr: %q", stderr)
	}

	stdout, _, code = ctl(t, "--server", url, "--token", fakeToken, "--lang", "en", "import", "events", path)
	if code != 0 || !strings.Contains(stdout, "New line items                0") || !strings.Contains(stdout, "Duplicates (already applied)  2500") {
		t.Fatalf("re-run: exit %d\n%s", code, stdout)
	}
}

// TestImportRejectsWholeFile: SPEC.md, Interchange formats — a file with bad rows is
// rejected whole, listing each bad row (the ledger's findings) by line, and nothing is
// submitted.
func TestImportRejectsWholeFile(t *testing.T) {
	f, url := startFake(t)
	f.refuse[2] = &v1.ErrorDetail{Code: "unknown_department", Field: "department", Message: `unknown department "d1"`, Index: -1, Line: 2}
	f.refuse[5] = &v1.ErrorDetail{Code: "quota_overrun_needs_approval", Field: "quantity", Message: "A would be 130 > 1.2 × 100", Index: -1, Line: 5}
	// The ledger parses the fields: these are its refusals of lines 3 and 4 (test/cli checks
	// them against a real node).
	f.refuse[3] = &v1.ErrorDetail{Code: "invalid_time", Field: "time", Message: "must be an RFC 3339 time with an offset", Index: -1, Line: 3}
	f.refuse[4] = &v1.ErrorDetail{Code: "invalid_quantity", Field: "quantity", Message: "must be positive, got -3", Index: -1, Line: 4}
	path := filepath.Join(t.TempDir(), "bad.csv")
	body := "key,time,op,department,project,provider,resource,item,kind,quantity,expires\n" +
		"x1,2026-03-01T10:00:00+08:00,usage,d1,prj1,p1,b1,oss.egress,,1,\n" +
		"x2,2026-03-01T10:00:00,usage,d1,prj1,p1,b1,oss.egress,,1,\n" +
		"x3,2026-03-01T10:00:00+08:00,usage,d1,prj1,p1,b1,oss.egress,,-3,\n" +
		"x4,2026-03-01T10:00:00+08:00,usage,d1,prj1,p1,b1,oss.egress,,1,\n" +
		"x5,2026-03-01T10:00:00+08:00,usage,d1,prj1,p1,b1,oss.egress,,1,\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := ctl(t, "--server", url, "--token", fakeToken, "--lang", "en", "import", "events", path)
	if code != exitFailure {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	want := []string{
		path + `:2: department: unknown_department: unknown department "d1"`,
		path + ":3: time: invalid_time: ",
		path + ":4: quantity: invalid_quantity: ",
		path + ":5: quantity: quota_overrun_needs_approval: A would be 130 > 1.2 × 100",
		"ledgerctl: import_rejected: " + path + ": 4 of 5 rows are bad; nothing was applied",
	}
	if len(lines) != len(want) {
		t.Fatalf("stderr:\n%s", stderr)
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Fatalf("line %d = %q, want prefix %q", i, lines[i], want[i])
		}
	}
	if len(f.submits) != 0 {
		t.Fatalf("%d Submit calls for a rejected file", len(f.submits))
	}
}

// TestImportRetriesSameBatch: a batch whose outcome is unknown is re-sent with the same keys
// until it is known; rows the lost attempt applied come back as duplicates.
func TestImportRetriesSameBatch(t *testing.T) {
	f, url := startFake(t)
	f.failNext = []error{
		detailErr(connect.CodeAborted, &v1.ErrorDetail{Code: "unknown_outcome", Message: "leadership lost; retry with the same idempotency key", Index: -1}),
		connect.NewError(connect.CodeUnavailable, errors.New("no leader")),
	}
	path := eventsFile(t, 1200)
	stdout, stderr, code := ctl(t, "--server", url, "--token", fakeToken, "--lang", "en", "import", "events", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if len(f.submits) != 4 {
		t.Fatalf("%d Submit calls, want 2 failed + 2 batches", len(f.submits))
	}
	for i := 1; i < 3; i++ {
		if len(f.submits[i]) != len(f.submits[0]) || f.submits[i][0].GetKey() != f.submits[0][0].GetKey() || f.submits[i][999].GetKey() != f.submits[0][999].GetKey() {
			t.Fatalf("retry %d is not the same batch", i)
		}
	}
	if !strings.Contains(stdout, "Retries") || !strings.Contains(stdout, "New line items                1200") {
		t.Fatalf("summary:\n%s", stdout)
	}
}

// TestImportStoppedByLedger: a row refused while applying (the state changed after the
// check) is reported with its line, how far the import got, and exit 1.
func TestImportStoppedByLedger(t *testing.T) {
	f, url := startFake(t)
	f.failAfter = 2
	f.failWith = detailErr(connect.CodeFailedPrecondition, &v1.ErrorDetail{Code: "period_closed", Field: "time", Message: "2026-03 is closed", Index: 3, Line: 1005})
	path := eventsFile(t, 2500)
	_, stderr, code := ctl(t, "--server", url, "--token", fakeToken, "--lang", "en", "import", "events", path)
	if code != exitFailure {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	if lines[len(lines)-2] != path+":1005: time: period_closed: 2026-03 is closed" ||
		!strings.HasPrefix(last, "ledgerctl: import_stopped: ") || !strings.Contains(last, "1000 of 2500 rows were applied") {
		t.Fatalf("stderr:\n%s", stderr)
	}
	if len(f.submits) != 2 {
		t.Fatalf("%d Submit calls after a refused batch", len(f.submits))
	}
}

// TestImportBadFile: a missing file or a bad header is exit 1, before any call.
func TestImportBadFile(t *testing.T) {
	_, stderr, code := ctl(t, "--server", deadURL(t), "--token", fakeToken, "import", "events", "/nonexistent/x.csv")
	if code != exitFailure {
		t.Fatalf("exit %d", code)
	}
	oneFailureLine(t, stderr, codeFile)

	path := filepath.Join(t.TempDir(), "departments.csv")
	_ = os.WriteFile(path, []byte("department,name,parent\n"), 0o600)
	_, stderr, code = ctl(t, "--server", deadURL(t), "--token", fakeToken, "import", "departments", path)
	if code != exitFailure || !strings.HasPrefix(stderr, path+":1: funding: missing_field: ") {
		t.Fatalf("bad header: exit %d, %q", code, stderr)
	}
}

// TestQuotaOverrunsCommand: the report in each format, from the node's answer.
func TestQuotaOverrunsCommand(t *testing.T) {
	f, url := startFake(t)
	stdout, _, code := ctl(t, "--server", url, "--token", fakeToken, "quota", "overruns")
	if code != 0 || stdout != "无超配 / no overruns\n" {
		t.Fatalf("empty: exit %d %q", code, stdout)
	}
	f.overruns = sampleOverruns
	stdout, _, code = ctl(t, "--server", url, "--token", fakeToken, "quota", "overruns", "--format", "csv")
	if code != 0 || !strings.HasPrefix(stdout, utf8BOM+"department,department_name,quota_class,quota,allocated,ratio,status,ceiling,approval_ref\n") {
		t.Fatalf("csv: exit %d %q", code, stdout)
	}
}

// TestFailureCodes: failures without a ledger detail still print a code of ours.
func TestFailureCodes(t *testing.T) {
	f, url := startFake(t)
	f.failNext = []error{connect.NewError(connect.CodeResourceExhausted, errors.New("request body of 40000000 bytes is over the limit"))}
	_, stderr, code := ctl(t, "--server", url, "--token", fakeToken, "approval", "grant", "--department", "d1", "--class", "vcpu", "--ceiling", "200", "--ref", "经信审〔2025〕12号")
	if code != exitFailure {
		t.Fatalf("exit %d", code)
	}
	oneFailureLine(t, stderr, "request_too_large")

	f.failNext = []error{detailErr(connect.CodeFailedPrecondition, &v1.ErrorDetail{Code: "period_closed", Field: "time", Message: "2026-03 is closed", Index: 0})}
	_, stderr, _ = ctl(t, "--server", url, "--token", fakeToken, "--lang", "en", "resource", "extend", "--resource", "vm1", "--expires", "2026-05-01", "--requested-at", "2026-03-01T10:00:00+08:00")
	if stderr != "ledgerctl: period_closed: time: 2026-03 is closed\n" {
		t.Fatalf("stderr %q", stderr)
	}
	// Issue 12, item 6: in Chinese (the default) the code's meaning comes first; the code stays.
	f.failNext = []error{detailErr(connect.CodeFailedPrecondition, &v1.ErrorDetail{Code: "period_closed", Field: "time", Message: "2026-03 is closed", Index: 0})}
	_, stderr, _ = ctl(t, "--server", url, "--token", fakeToken, "resource", "extend", "--resource", "vm1", "--expires", "2026-05-01", "--requested-at", "2026-03-01T10:00:00+08:00")
	if stderr != "ledgerctl: period_closed: time: 账期已关闭（更正须记入未关闭的月份）：2026-03 is closed\n" {
		t.Fatalf("stderr in Chinese %q", stderr)
	}

	// A write that timed out has an unknown outcome; a read that timed out, an unavailable node.
	deadline := connect.NewError(connect.CodeDeadlineExceeded, context.DeadlineExceeded)
	if ce := callFailure(&callError{url: "http://n1", err: deadline, write: true, after: 30e9}); ce.code != codeUnknownOutcome {
		t.Fatalf("write timeout: %v", ce)
	}
	if ce := callFailure(&callError{url: "http://n1", err: deadline, after: 30e9}); ce.code != codeUnavailable || !strings.Contains(ce.message, "http://n1: no answer within 30s") {
		t.Fatalf("read timeout: %v", ce)
	}
	// A write that ended on an unreachable node after an attempt that got no answer.
	refused := connect.NewError(connect.CodeUnavailable, errors.New("connection refused"))
	if ce := callFailure(&callError{url: "http://n2", err: refused, write: true, uncertain: true}); ce.code != codeUnknownOutcome {
		t.Fatalf("uncertain write: %v", ce)
	}
	if ce := callFailure(&callError{url: "http://n2", err: refused, write: true}); ce.code != codeUnavailable {
		t.Fatalf("refused write: %v", ce)
	}
}

// TestWriteCommands: each write sends one keyed command of the right kind and says what it did.
func TestWriteCommands(t *testing.T) {
	f, url := startFake(t)
	cases := []struct {
		args []string
		kind string
		key  string
	}{
		{[]string{"approval", "grant", "--department", "d1", "--class", "vcpu", "--ceiling", "200", "--ref", "r1"}, "approval_grant", "ctl/approval/"},
		{[]string{"period", "close", "2026-03"}, "period_close", "ctl/period/"},
		{[]string{"resource", "extend", "--resource", "vm1", "--expires", "2026-05-01"}, "event", "ctl/extend/"},
	}
	for _, c := range cases {
		stdout, stderr, code := ctl(t, append([]string{"--server", url, "--token", fakeToken, "--lang", "en"}, c.args...)...)
		if code != 0 || !strings.Contains(stdout, "recorded as line item") {
			t.Fatalf("%q: exit %d %s%s", c.args, code, stdout, stderr)
		}
		sent := f.submits[len(f.submits)-1]
		if len(sent) != 1 || !strings.HasPrefix(sent[0].GetKey(), c.key) || !strings.Contains(sent[0].String(), c.kind) {
			t.Fatalf("%q sent %v", c.args, sent)
		}
	}
}

// TestClusterStatus: the nodes table marks the leader.
func TestClusterStatus(t *testing.T) {
	_, url := startFake(t)
	stdout, _, code := ctl(t, "--server", url, "--token", fakeToken, "--lang", "en", "cluster", "status")
	if code != 0 {
		t.Fatal(code)
	}
	for _, l := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(l, "n1 ") && !strings.Contains(l, "★ leader") || strings.HasPrefix(l, "n2 ") && strings.Contains(l, "leader") {
			t.Fatalf("leader not marked right:\n%s", stdout)
		}
	}
}

// TestRowErrorLines: bad rows from the file and from the ledger merge in line order; past
// 1,000 the rest are counted.
func TestRowErrorLines(t *testing.T) {
	var remote []*v1.ErrorDetail
	for i := 2000; i > 0; i-- { // out of order on purpose
		remote = append(remote, &v1.ErrorDetail{Code: "unknown_item", Field: "item", Message: "x", Line: uint32(i + 1)})
	}
	local := []*interchange.RowError{{File: "f.csv", Line: 1, Code: "malformed", Message: "bad header"}}
	lines := rowErrorLines((&importrun.Validation{File: "f.csv", Local: local, Remote: remote}).Errors(), 2700)
	if len(lines) != maxShownErrors+1 || lines[0] != "f.csv:1: malformed: bad header" ||
		lines[1] != "f.csv:2: item: unknown_item: x" || lines[maxShownErrors] != "… and 1700 more" {
		t.Fatalf("first %q last %q (%d lines)", lines[0], lines[len(lines)-1], len(lines))
	}
}

// TestProgressLines: without a terminal, a line at every tenth of the rows.
func TestProgressLines(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, false, "en", "e.csv", 10_000)
	for done := 1000; done <= 10_000; done += 500 {
		p.update(done)
	}
	p.finish()
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) != 10 || !strings.HasPrefix(lines[0], "e.csv: 1000/10000 rows (10%), ") || !strings.HasPrefix(lines[9], "e.csv: 10000/10000 rows (100%)") {
		t.Fatalf("progress:\n%s", b.String())
	}
	var nothing *progress
	nothing.update(5) // a nil progress shows nothing
}
