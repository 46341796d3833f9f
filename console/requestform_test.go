package console

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
)

func (f *fakeAPI) ListResources(context.Context, *connect.Request[v1.ListResourcesRequest]) (*connect.Response[v1.ListResourcesResponse], error) {
	return connect.NewResponse(&v1.ListResourcesResponse{Resources: []*v1.ResourceInfo{{Resource: "edu-exam-vcpu-01", Department: "edu",
		Project: "edu-cloudclass", Provider: "aliyun", Item: "ecs.vcpu", Kind: "standard", Quantity: "8", Opened: "2026-03-01"}}}), nil
}

// refusingRequests refuses every submission, as the ledger refuses a bad one.
type refusingRequests struct{ requestsAPI }

func (refusingRequests) SubmitRequest(context.Context, *connect.Request[v1.SubmitRequestRequest]) (*connect.Response[v1.SubmitRequestResponse], error) {
	return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("quantity: more than the quota allows"))
}

// Issue 27: a department asks by choosing — its open resources by project, item, quantity
// and opening day, its projects, the providers and the catalog by name, no box for a
// typed code; the resources page links each open resource to the form with it chosen;
// a refused request comes back with what was chosen and typed, and the ledger's reason.
func TestRequestFormByChoosing(t *testing.T) {
	mux := http.NewServeMux()
	api := &fakeAPI{}
	mux.Handle(cloudledgerv1connect.NewLedgerServiceHandler(api))
	mux.Handle(cloudledgerv1connect.NewAccountServiceHandler(api))
	mux.Handle(cloudledgerv1connect.NewRequestServiceHandler(refusingRequests{}))
	con, err := New(Config{API: mux, CSRFKey: func() []byte { return make([]byte, 32) }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(con)
	defer srv.Close()
	_, body := get(t, srv, "/requests?kind=expand&resource=edu-exam-vcpu-01")
	for _, want := range []string{`<select name="resource"><option value="">—</option><option value="edu-exam-vcpu-01" selected>智慧教育云课堂 · ecs.vcpu · 8 · 2026年3月1日开通</option></select>`,
		`<option value="edu-cloudclass">智慧教育云课堂</option>`, `<option value="aliyun">阿里云</option>`, `<option value="disk.ssd">SSD云盘</option>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the request form lacks %s", want)
		}
	}
	for _, typed := range []string{`<input type="text" name="resource"`, `<input type="text" name="project"`, `<input type="text" name="provider"`, `<input type="text" name="item"`} {
		if strings.Contains(body, typed) {
			t.Errorf("the request form still has a box for a typed code: %s", typed)
		}
	}
	if _, body := get(t, srv, "/d/edu/resources"); !strings.Contains(body, `<a href="/requests?kind=expand&amp;resource=edu-exam-vcpu-01#submit-request">申请扩容</a>`) {
		t.Errorf("the resources page does not link the open resource to the request form")
	}

	presession := strings.Repeat("p", 20)
	form := url.Values{"csrf": {con.csrfToken("p:" + presession)}, "op": {"submit"}, "key": {"k1"}, "kind": {"expand"},
		"resource": {"edu-exam-vcpu-01"}, "quantity": {"200"}, "reason": {"招生季扩容"}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/requests", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: SessionCookie, Value: "s.x"})
	req.AddCookie(&http.Cookie{Name: PresessionCookie, Value: presession})
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	body = string(b)
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a refused request: HTTP %d\n%.2000s", res.StatusCode, body)
	}
	for _, want := range []string{`<option value="edu-exam-vcpu-01" selected>`, `name="quantity" value="200"`, `name="reason" value="招生季扩容"`,
		"more than the quota allows", `id="t-requests"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the refused request's page lacks %s", want)
		}
	}
}
