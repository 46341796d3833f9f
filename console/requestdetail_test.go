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

// detailAPI answers one request at the authority's review, after the supervisor agreed.
type detailAPI struct{ requestsAPI }

func (detailAPI) GetRequest(_ context.Context, r *connect.Request[v1.GetRequestRequest]) (*connect.Response[v1.GetRequestResponse], error) {
	if r.Msg.GetId() != "r-1" {
		return nil, connect.NewError(connect.CodeNotFound, nil)
	}
	return connect.NewResponse(&v1.GetRequestResponse{Request: &v1.ResourceRequest{Id: "r-1", Kind: "expand", Department: "edu",
		Project: "edu-cloudclass", Provider: "aliyun", Resource: "edu-exam-vcpu-01", Quantity: "2", Reason: "招生季扩容", State: "supervisor_approved",
		Step: "review", Due: "2026-12-10", Article: "SH 20", Overdue: true, Steps: []*v1.RequestStep{
			{State: "submitted", Actor: "edu-it", At: "2026-12-01T09:30:00+08:00"},
			{State: "supervisor_approved", Actor: "supervisor1", At: "2026-12-02T15:05:00+08:00", Reason: "符合扩容条件"}}}}), nil
}

func detailConsole(t *testing.T, role string) *httptest.Server {
	mux := http.NewServeMux()
	api := &fakeAPI{role: role}
	mux.Handle(cloudledgerv1connect.NewLedgerServiceHandler(api))
	mux.Handle(cloudledgerv1connect.NewAccountServiceHandler(api))
	mux.Handle(cloudledgerv1connect.NewRequestServiceHandler(detailAPI{}))
	con, err := New(Config{API: mux, CSRFKey: func() []byte { return make([]byte, 32) }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(con)
	t.Cleanup(srv.Close)
	return srv
}

// Issue 27: a request has a page of its own, linked from the list: the applicant's reason
// (never shown before), every step with who and when, the current step's due day with its
// article (overdue said), and only the buttons of the reader's step — the authority
// approves at review; the department, whose step it is not, may only withdraw.
func TestRequestDetail(t *testing.T) {
	if _, body := get(t, detailConsole(t, ""), "/requests"); !strings.Contains(body, `<a href="/requests/r-1"><code class="code">r-1</code></a>`) {
		t.Errorf("the request list does not link the request's page")
	}
	status, body := get(t, detailConsole(t, ""), "/requests/r-1")
	if status != http.StatusOK {
		t.Fatalf("HTTP %d\n%s", status, body)
	}
	for _, want := range []string{"<h2>申请理由</h2>", "招生季扩容", "<dd>经信主管部门已同意</dd>",
		"2026年12月10日 · SH 20（已超时）", `<code class="code">supervisor1</code>`, "2026年12月2日 15:05", "符合扩容条件",
		`<code class="code">edu-it</code></td><td class="" data-sort="2026-12-01T09:30:00&#43;08:00">2026年12月1日 09:30</td>`,
		">撤回</button>"} {
		if !strings.Contains(body, want) {
			t.Errorf("the department's request page lacks %s", want)
		}
	}
	if strings.Contains(body, ">批准</button>") {
		t.Error("the department is offered the authority's approval")
	}
	_, body = get(t, detailConsole(t, "authority"), "/requests/r-1")
	if !strings.Contains(body, ">批准</button>") || !strings.Contains(body, ">驳回</button>") || strings.Contains(body, ">撤回</button>") {
		t.Errorf("the authority's buttons at review:\n%.3000s", body)
	}
	if status, _ := get(t, detailConsole(t, ""), "/requests/r-2"); status != http.StatusNotFound {
		t.Errorf("an unknown request: HTTP %d", status)
	}
}
