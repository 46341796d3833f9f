package console

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
)

// The names the fake ledger holds (examples/demo's).
func (f *fakeAPI) Directory(context.Context, *connect.Request[v1.DirectoryRequest]) (*connect.Response[v1.DirectoryResponse], error) {
	return connect.NewResponse(&v1.DirectoryResponse{
		Departments: []*v1.Department{{Department: "edu", Name: "市教育局", Funding: "budget"}, {Department: "bus", Name: "市公交集团", Funding: "self"}},
		Providers:   []*v1.Provider{{Provider: "aliyun", Name: "阿里云"}},
		Projects:    []*v1.ProjectQuota{{Project: "edu-cloudclass", Department: "edu", Name: "智慧教育云课堂", QuotaClass: "vcpu", Quota: "64"}},
		Prices:      []*v1.CatalogPrice{{Item: "disk.ssd", Name: "SSD云盘", QuotaClass: "storage_gb", Price: "1.1"}},
	}), nil
}

// requestsAPI answers ListRequests with one request the supervisor has agreed to.
type requestsAPI struct {
	cloudledgerv1connect.UnimplementedRequestServiceHandler
}

func (requestsAPI) ListRequests(context.Context, *connect.Request[v1.ListRequestsRequest]) (*connect.Response[v1.ListRequestsResponse], error) {
	return connect.NewResponse(&v1.ListRequestsResponse{Requests: []*v1.ResourceRequest{{Id: "r-1", Kind: "expand", Department: "edu",
		Project: "edu-cloudclass", Provider: "aliyun", Resource: "edu-exam-vcpu-01", Quantity: "2", Reason: "招生季扩容", State: "supervisor_approved",
		Step: "review", Due: "2026-12-10", Article: "SH 20"}}}), nil
}

// Issue 27, names not codes: a charge line reads 市教育局, 智慧教育云课堂, 阿里云, SSD云盘 —
// the names the ledger holds — each with its code small beside it, marked as code; the
// header names the account's department. Before, every one of them was the bare code.
func TestPagesShowNamesWithTheCodeBeside(t *testing.T) {
	api := &fakeAPI{lines: []*v1.ChargeLine{{Month: "2026-03", Department: "edu", Project: "edu-cloudclass", Provider: "aliyun",
		Item: "disk.ssd", Amount: "10.00", BaseAmount: "10.00", Quantity: "100", Unit: "GB·天", Multiplier: "1.0000"}}}
	status, body := get(t, consoleOver(t, api), "/d/edu/charges?from=2026-03-01&to=2026-03-31")
	if status != http.StatusOK {
		t.Fatalf("HTTP %d", status)
	}
	for _, want := range []string{`市教育局 <code class="code">edu</code>`, `智慧教育云课堂 <code class="code">edu-cloudclass</code>`,
		`阿里云 <code class="code">aliyun</code>`, `SSD云盘 <code class="code">disk.ssd</code>`, `<h1>市教育局 · 费用</h1>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the charges page lacks %s", want)
		}
	}
	// The download keeps name and code in one cell.
	_, csv := get(t, consoleOver(t, api), "/d/edu/charges?from=2026-03-01&to=2026-03-31&download=csv&table=charges-edu")
	if !strings.Contains(csv, "市教育局（edu）,智慧教育云课堂（edu-cloudclass）,阿里云（aliyun）,SSD云盘（disk.ssd）") {
		t.Errorf("the CSV's cells:\n%s", csv)
	}
}

// The quota classes as GLOSSARY.md words them; a class it does not name stays a code.
func TestQuotaClassesInWords(t *testing.T) {
	rq := &pageRequest{lang: "zh", dir: &names{}}
	for code, want := range map[string]string{"vcpu": "计算（vCPU 核）", "memory_gb": "内存（GB）", "storage_gb": "存储（GB）", "bandwidth_mbps": "带宽（Mbps）"} {
		c := rq.classCell(code)
		if got := string(cellBody(Text, "zh", c)); got != want+` <code class="code">`+code+`</code>` {
			t.Errorf("class %s shows as %s", code, got)
		}
	}
	if got := string(cellBody(Text, "zh", rq.classCell("eip"))); got != `<code class="code">eip</code>` {
		t.Errorf("an unnamed class shows as %s", got)
	}
}

// Issue 27: the supervisor's step reads 经信主管部门已同意 (it read 主管部门已同意, which
// elsewhere is the authority), the authority's 主管部门已批准, and the applicant's reason
// is on the request.
func TestRequestStepsAndReason(t *testing.T) {
	mux := http.NewServeMux()
	api := &fakeAPI{}
	mux.Handle(cloudledgerv1connect.NewLedgerServiceHandler(api))
	mux.Handle(cloudledgerv1connect.NewAccountServiceHandler(api))
	mux.Handle(cloudledgerv1connect.NewRequestServiceHandler(requestsAPI{}))
	con, err := New(Config{API: mux, CSRFKey: func() []byte { return make([]byte, 32) }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(con)
	defer srv.Close()
	status, body := get(t, srv, "/requests")
	for _, want := range []string{"<td class=\"\" data-sort=\"经信主管部门已同意\">经信主管部门已同意</td>", "招生季扩容", "市教育局"} {
		if status != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("HTTP %d, the requests page lacks %s", status, want)
		}
	}
	rq := &pageRequest{lang: "zh"}
	if got := rq.word("request_state", "approved"); got != "主管部门已批准" {
		t.Errorf("approved reads %s", got)
	}
}

// Issue 27: a path the console does not have is a Chinese page (it was Go's bare English
// "404 page not found"), with the menu when signed in.
func TestNotFoundIsAChinesePage(t *testing.T) {
	status, body := get(t, consoleOver(t, &fakeAPI{}), "/no/such/page")
	if status != http.StatusNotFound || !strings.Contains(body, "<h1>页面不存在</h1>") || strings.Contains(body, "404 page not found") {
		t.Fatalf("HTTP %d:\n%.1500s", status, body)
	}
	if !strings.Contains(body, `<nav class="menu">`) {
		t.Error("the signed-in reader's not-found page has no menu")
	}
}

// Issue 27: the months a statement or an invoice may be of start with September of the
// previous settlement year (September–August), not 15 months back (2025年9月 was missing
// on 7 December 2026).
func TestStatementMonths(t *testing.T) {
	for _, c := range []struct {
		now         string
		first, last string
		n           int
	}{
		{"2026-12-07", "2026-12", "2025-09", 16},
		{"2026-08-31", "2026-08", "2024-09", 24},
		{"2026-09-01", "2026-09", "2025-09", 13},
	} {
		now, _ := time.ParseInLocation("2006-01-02", c.now, shanghai)
		m := statementMonths(now)
		if len(m) != c.n || m[0] != c.first || m[len(m)-1] != c.last {
			t.Errorf("on %s: %d months %s … %s, want %d, %s … %s", c.now, len(m), m[0], m[len(m)-1], c.n, c.first, c.last)
		}
	}
}

// Issue 27: charges default to the settlement year through yesterday (the calendar year
// charged December in full on 7 December).
func TestSettlementYearToDate(t *testing.T) {
	for now, want := range map[string][2]string{
		"2026-12-07": {"2026-09-01", "2026-12-06"},
		"2026-09-01": {"2025-09-01", "2026-08-31"},
		"2026-03-01": {"2025-09-01", "2026-02-28"},
	} {
		d, _ := time.ParseInLocation("2006-01-02", now, shanghai)
		if from, to := settlementYearToDate(d); from != want[0] || to != want[1] {
			t.Errorf("on %s: %s … %s, want %s … %s", now, from, to, want[0], want[1])
		}
	}
}

// ValidateImport of the fake: the three rows that decoded, two of them refused.
func (f *fakeAPI) ValidateImport(_ context.Context, s *connect.ClientStream[v1.ValidateImportRequest]) (*connect.Response[v1.ValidateImportResponse], error) {
	n := 0
	for s.Receive() {
		n += len(s.Msg().GetCommands())
	}
	return connect.NewResponse(&v1.ValidateImportResponse{Rows: uint64(n), Accepted: uint64(n - 2), Errors: []*v1.ErrorDetail{
		{Code: "unknown_department", Message: "no department nobody", Line: 3, Field: "department"},
		{Code: "invalid_quantity", Message: "quantity must be positive", Line: 4, Field: "quantity"}}}), nil
}

// Issue 27, must fix: a file of 4 rows of which 3 are bad — one the decoder cannot read,
// two the ledger refuses — says 4 行中有 3 行有错误 (it read 3 行中有 4 行), lists the
// three rows, and shows the ledger's English words only inside code.
func TestImportRefusalCountsRows(t *testing.T) {
	api := &fakeAPI{role: "authority"}
	mux := http.NewServeMux()
	mux.Handle(cloudledgerv1connect.NewLedgerServiceHandler(api))
	mux.Handle(cloudledgerv1connect.NewAccountServiceHandler(api))
	con, err := New(Config{API: mux, CSRFKey: func() []byte { return make([]byte, 32) }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(con)
	defer srv.Close()
	const header = "key,time,op,department,project,provider,resource,item,kind,quantity,expires\n"
	file := header +
		"k1,2026-03-01T10:00:00+08:00,usage,bus,bus-dispatch,aliyun,bus-backup,backup.data,standard,5,\n" +
		"k2,2026-03-01T10:00:00+08:00,usage,bus,bus-dispatch,aliyun,bus-backup,backup.data,standard,5,,one-too-many\n" +
		"k3,2026-03-01T10:00:00+08:00,usage,nobody,bus-dispatch,aliyun,bus-backup,backup.data,standard,5,\n" +
		"k4,2026-03-01T10:00:00+08:00,usage,bus,bus-dispatch,aliyun,bus-backup,backup.data,standard,-5,\n"
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	presession := strings.Repeat("p", 20)
	_ = w.WriteField("csrf", con.csrfToken("p:"+presession))
	_ = w.WriteField("kind", "events")
	part, _ := w.CreateFormFile("file", "events.csv")
	_, _ = part.Write([]byte(file))
	_ = w.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/authority", &b)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.AddCookie(&http.Cookie{Name: SessionCookie, Value: "s.x"})
	req.AddCookie(&http.Cookie{Name: PresessionCookie, Value: presession})
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	body := string(raw)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "4 行中有 3 行有错误，整个文件未写入") {
		t.Fatalf("HTTP %d, want 422 and 4 行中有 3 行有错误:\n%.3000s", res.StatusCode, body)
	}
	for _, line := range []string{">3<", ">4<"} {
		if !strings.Contains(body, line) {
			t.Errorf("the bad rows lack line %s", line)
		}
	}
	if !strings.Contains(body, `<code class="code">quantity must be positive</code>`) {
		t.Error("the ledger's own words are not marked as code")
	}
}

// Issue 27: the invoice check's notes (English in the record) read in Chinese; the access
// trail shows results in words and procedures without their gRPC path; a line item's
// content is its fields, not raw JSON.
func TestWordsOfTheRecords(t *testing.T) {
	rq := &pageRequest{lang: "zh", dir: &names{dept: map[string]string{"edu": "市教育局"}}}
	for note, want := range map[string]string{"unknown item": "服务目录中没有该目录项", "unknown project": "台账中没有该项目",
		"nothing rated": "该月台账中没有此项费用", "the project belongs to department edu": `该项目属于市教育局 <code class="code">edu</code>`,
		"something new": `<code class="code">something new</code>`} {
		if got := string(cellBody(Text, "zh", reconNote(rq, note))); got != want {
			t.Errorf("note %q shows as %s, want %s", note, got, want)
		}
	}
	if got := procedureName("/cloudledger.v1.LedgerService/QuotaUse"); got != "QuotaUse" {
		t.Errorf("procedure: %s", got)
	}
	if got := procedureName("console GET /d/bus"); got != "console GET /d/bus" {
		t.Errorf("a console record: %s", got)
	}
	for result, want := range map[string]string{"ok": "成功", "denied": "拒绝", "failed": "失败",
		"csrf_token_invalid": `拒绝 <code class="code">csrf_token_invalid</code>`} {
		if got := string(cellBody(Text, "zh", accessResult(rq, result))); got != want {
			t.Errorf("result %s shows as %s, want %s", result, got, want)
		}
	}
	got := fieldsOf(`{"approvalGrant":{"department":"bigdata","quotaClass":"storage_gb","ceiling":"16000","expires":""},"list":[1,2],"At":"0001-01-01T00:00:00Z"}`)
	if want := "approvalGrant.ceiling: 16000 · approvalGrant.department: bigdata · approvalGrant.quotaClass: storage_gb · list[0]: 1 · list[1]: 2"; got != want {
		t.Errorf("fieldsOf = %s\nwant %s", got, want)
	}
	// A hash is shortened, the whole in its title.
	h := strings.Repeat("ab", 32)
	if got := string(cellBody(Hash, "zh", C(h))); got != `<code class="code hash" title="`+h+`">abababababab…</code>` {
		t.Errorf("a hash shows as %s", got)
	}
}
