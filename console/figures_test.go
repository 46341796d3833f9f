package console

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
)

// fakeAPI answers the console's calls as a real node would, with charges of its choosing.
type fakeAPI struct {
	cloudledgerv1connect.UnimplementedLedgerServiceHandler
	cloudledgerv1connect.UnimplementedAccountServiceHandler
	lines []*v1.ChargeLine
}

func (f *fakeAPI) WhoAmI(context.Context, *connect.Request[v1.WhoAmIRequest]) (*connect.Response[v1.WhoAmIResponse], error) {
	return connect.NewResponse(&v1.WhoAmIResponse{Account: "edu-it", Role: "department", Department: "edu"}), nil
}

func (f *fakeAPI) Charges(context.Context, *connect.Request[v1.ChargesRequest]) (*connect.Response[v1.ChargesResponse], error) {
	return connect.NewResponse(&v1.ChargesResponse{Lines: f.lines, TotalAmount: "1.13", TotalBaseAmount: "1.13"}), nil
}

func consoleOver(t *testing.T, api *fakeAPI) *httptest.Server {
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

func get(t *testing.T, srv *httptest.Server, path string) (int, string) {
	req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	req.AddCookie(&http.Cookie{Name: SessionCookie, Value: "s.x"})
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// Issue 23, must show 5: the console rounds half-up as the ledger does (an amount of 1.125
// shows as 1.13), and a page whose figures it cannot read is not shown — it summed them as
// zero before and showed a wrong total.
func TestTheConsoleShowsOnlyFiguresItCanRead(t *testing.T) {
	api := &fakeAPI{lines: []*v1.ChargeLine{{Month: "2026-03", Department: "edu", Amount: "1.125", BaseAmount: "1.125", Quantity: "1"}}}
	status, body := get(t, consoleOver(t, api), "/d/edu/charges?from=2026-03-01&to=2026-03-31")
	if status != http.StatusOK || !strings.Contains(body, "1.13") || strings.Contains(body, "1.12<") {
		t.Fatalf("charges of 1.125: HTTP %d, want 1.13 shown:\n%.2000s", status, body)
	}
	api.lines = append(api.lines, &v1.ChargeLine{Month: "2026-03", Department: "edu", Amount: "12,5", BaseAmount: "1", Quantity: "1"})
	status, body = get(t, consoleOver(t, api), "/d/edu/charges?from=2026-03-01&to=2026-03-31")
	if status != http.StatusBadGateway || !strings.Contains(body, "figure_unreadable") {
		t.Fatalf("a charge of 12,5: HTTP %d, want 502 figure_unreadable:\n%.2000s", status, body)
	}
}
