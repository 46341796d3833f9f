package console

import (
	"context"
	"errors"
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
	role  string // "" is edu-it, a department's account
}

func (f *fakeAPI) WhoAmI(context.Context, *connect.Request[v1.WhoAmIRequest]) (*connect.Response[v1.WhoAmIResponse], error) {
	if f.role == "authority" {
		return connect.NewResponse(&v1.WhoAmIResponse{Account: "authority1", Role: "authority"}), nil
	}
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

func (f *fakeAPI) Utilisation(_ context.Context, r *connect.Request[v1.UtilisationRequest]) (*connect.Response[v1.UtilisationResponse], error) {
	if r.Msg.GetMonth() != "2026-03" || r.Msg.GetDepartment() != "edu" && r.Msg.GetResource() == "" {
		return nil, connect.NewError(connect.CodePermissionDenied, errors.New("the console asked outside the department's scope"))
	}
	return connect.NewResponse(&v1.UtilisationResponse{
		Months: []*v1.UtilisationMonth{{Resource: "vm1", Department: "edu", Provider: "p1", Item: "ecs.vcpu", MeanPct: "23.33", PeakPct: "50.00", AvailabilityPct: "99.50", DaysWithData: 3}},
		Rows: []*v1.UtilisationDay{{Resource: "vm1", Date: "2026-03-03", MeanPct: "10", PeakPct: "30", AvailabilityPct: "100", Source: "provider"},
			{Resource: "vm1", Date: "2026-03-04", MeanPct: "20", PeakPct: "50", AvailabilityPct: "99.5", Source: "prometheus"}}}), nil
}

// Issue 24: a department's utilisation page shows its resources' months (mean, peak,
// availability, days with data, as the API answers them) and one resource's days as a chart
// and a table, the source in words.
func TestTheUtilisationPage(t *testing.T) {
	status, body := get(t, consoleOver(t, &fakeAPI{}), "/utilisation?month=2026-03&resource=vm1")
	for _, want := range []string{"23.33", "50.00", "99.50", "<svg", "服务商月报", "监测系统", "资源利用率"} {
		if status != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("HTTP %d, want %q on the page", status, want)
		}
	}
}
