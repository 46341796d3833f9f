package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
)

// statementAPI answers a statement of December 2026 rated through the 6th (the month
// still running) with one resource on aliyun, whose days have no evaluation score.
type statementAPI struct {
	*fakeAPI
	provider bool               // the signed-in account is aliyun's
	asked    *v1.ChargesRequest // what the page asked of Charges
	content  string             // the statement's data file (JSON)
	res      []*v1.StatementResource
}

func (s *statementAPI) WhoAmI(context.Context, *connect.Request[v1.WhoAmIRequest]) (*connect.Response[v1.WhoAmIResponse], error) {
	if s.provider {
		return connect.NewResponse(&v1.WhoAmIResponse{Account: "aliyun-am", Role: "provider", Provider: "aliyun"}), nil
	}
	return connect.NewResponse(&v1.WhoAmIResponse{Account: "edu-it", Role: "department", Department: "edu"}), nil
}

func (s *statementAPI) Statement(_ context.Context, r *connect.Request[v1.StatementRequest]) (*connect.Response[v1.StatementResponse], error) {
	m := r.Msg
	return connect.NewResponse(&v1.StatementResponse{Content: []byte(s.content), AppliedIndex: 4711, Statement: &v1.Statement{
		Month: m.GetMonth(), Department: m.GetDepartment(), Provider: m.GetProvider(), RaftIndex: 4711, Lines: 1,
		TotalBaseAmount: "12.40", TotalAmount: "12.40", Resources: s.res}}), nil
}

func (s *statementAPI) Charges(_ context.Context, r *connect.Request[v1.ChargesRequest]) (*connect.Response[v1.ChargesResponse], error) {
	s.asked = r.Msg
	return connect.NewResponse(&v1.ChargesResponse{TotalAmount: "12.40", TotalBaseAmount: "12.40", ProvisionalLines: 1,
		Lines: []*v1.ChargeLine{{Month: "2026-12", Department: "edu", Project: "edu-cloudclass", Provider: "aliyun", Item: "disk.ssd",
			Quantity: "600", Unit: "GB·天", BaseAmount: "12.40", Multiplier: "1.0000", Amount: "12.40", ProvisionalDays: 6}},
		Unscored: []*v1.UnscoredDays{{Provider: "aliyun", Days: []*v1.DayRange{{From: "2026-12-01", To: "2026-12-06"}}}}}), nil
}

// apiHandler is a fake of both services a console page calls.
type apiHandler interface {
	cloudledgerv1connect.LedgerServiceHandler
	cloudledgerv1connect.AccountServiceHandler
}

func statementConsole(t *testing.T, api apiHandler) *httptest.Server {
	mux := http.NewServeMux()
	mux.Handle(cloudledgerv1connect.NewLedgerServiceHandler(api))
	mux.Handle(cloudledgerv1connect.NewAccountServiceHandler(api))
	con, err := New(Config{API: mux, CSRFKey: func() []byte { return make([]byte, 32) }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(con)
	t.Cleanup(srv.Close)
	return srv
}

// Issue 27: the monthly statement is a document to seal. The department's names its party
// and carries that party's seal box only, the month on its face labelled month to date
// while it runs (the days charged: 1–6 December, asked of the API so), the line without an
// evaluation score marked 暂估 with the days no score covers, no Raft index, and a footer for
// the auditor: document number, state index, the SHA-256 of the data file (worked out with
// sha256sum from the bytes the fake API answers).
func TestStatementIsADocumentToSeal(t *testing.T) {
	api := &statementAPI{fakeAPI: &fakeAPI{}, content: `{"month":"2026-12","department":"edu","raft_index":4711,"through":"2026-12-06"}`,
		res: []*v1.StatementResource{{Resource: "edu-disk-01", Department: "edu", Project: "edu-cloudclass", Provider: "aliyun", Item: "disk.ssd",
			Kind: "standard", Unit: "GB·天", Quantity: "600", BaseAmount: "12.40", Amount: "12.40"}}}
	status, body := get(t, statementConsole(t, api), "/d/edu/statement?month=2026-12")
	if status != http.StatusOK {
		t.Fatalf("HTTP %d\n%s", status, body)
	}
	if api.asked == nil || api.asked.GetFrom() != "2026-12-01" || api.asked.GetTo() != "2026-12-06" || api.asked.GetDepartment() != "edu" {
		t.Errorf("the page asked Charges for %v, want edu 2026-12-01 … 2026-12-06", api.asked)
	}
	for _, want := range []string{
		"<h1>月度使用情况表 · 市教育局 · 2026年12月（本月至今，截至2026年12月6日）</h1>",
		"<dt>使用单位</dt><dd>市教育局 <code class=\"code\">edu</code></dd>",
		"<dt>服务商</dt><dd>阿里云</dd>",
		"2026年12月1日至2026年12月6日（本月至今；以后各日尚未发生，不计费）",
		`<tr class="over"><td class="" data-sort="edu-disk-01"><code class="code">edu-disk-01</code></td><td class=" nowrap" data-sort="暂估">暂估</td>`,
		"<h2>暂估说明</h2>",
		"无评分的日期：阿里云：2026年12月1日至2026年12月6日",
		"<dt>暂估行（缺评估评分）</dt><dd>1</dd>",
		"使用单位（盖章）　市教育局",
		`<dt>文件编号</dt><dd><code class="code">CL-202612-D-edu-55ff024f</code></dd>`,
		`<dt>状态索引</dt><dd><code class="code">4711</code></dd>`,
		`<code class="code">55ff024fdf9058412020b7e026dcc28b0dbc69a6c7da8f0d1ffac55ec58e9354</code>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the department's statement lacks %s", want)
		}
	}
	for _, not := range []string{"云服务商（盖章）", "Raft", "共识日志索引", "链头哈希"} {
		if strings.Contains(body, not) {
			t.Errorf("the department's statement shows %s", not)
		}
	}

	// The provider's statement: its own name and seal box, the departments it served.
	api.provider = true
	api.content = `{"month":"2026-11","provider":"aliyun","raft_index":4711}`
	status, body = get(t, statementConsole(t, api), "/p/aliyun/statement?month=2026-11")
	if status != http.StatusOK {
		t.Fatalf("HTTP %d\n%s", status, body)
	}
	for _, want := range []string{"<h1>月度使用情况表 · 阿里云 · 2026年11月</h1>", "<dt>使用单位</dt><dd>市教育局</dd>",
		"2026年11月1日至2026年11月30日</dd>", "云服务商（盖章）　阿里云", "CL-202611-P-aliyun-"} {
		if !strings.Contains(body, want) {
			t.Errorf("the provider's statement lacks %s", want)
		}
	}
	if strings.Contains(body, "使用单位（盖章）") || strings.Contains(body, "本月至今") {
		t.Error("the provider's statement of a month over carries the department's seal box or reads month to date")
	}
	if api.asked.GetTo() != "2026-11-30" || api.asked.GetProvider() != "aliyun" {
		t.Errorf("the provider's page asked Charges for %v", api.asked)
	}
}
