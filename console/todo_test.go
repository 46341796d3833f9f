package console

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
)

// todoAPI answers the lists the to-do box counts: requests at every step (the review one
// overdue), findings in three states, a notice of today and a dead one of last month, two
// accounts waiting for confirmation (one made by authority1 itself, one an auditor's).
type todoAPI struct {
	cloudledgerv1connect.UnimplementedRequestServiceHandler
	cloudledgerv1connect.UnimplementedFindingServiceHandler
	cloudledgerv1connect.UnimplementedAccountServiceHandler
	cloudledgerv1connect.UnimplementedLedgerServiceHandler
	role string
}

// SettleStatus: this calendar year's settlement year is submitted to finance, the others not.
func (*todoAPI) SettleStatus(_ context.Context, r *connect.Request[v1.SettleStatusRequest]) (*connect.Response[v1.SettleStatusResponse], error) {
	st := "draft"
	if int(r.Msg.GetYear()) == time.Now().In(shanghai).Year() {
		st = "submitted"
	}
	return connect.NewResponse(&v1.SettleStatusResponse{Year: r.Msg.GetYear(), State: st}), nil
}

func (a *todoAPI) WhoAmI(context.Context, *connect.Request[v1.WhoAmIRequest]) (*connect.Response[v1.WhoAmIResponse], error) {
	return connect.NewResponse(&v1.WhoAmIResponse{Account: a.role + "1", Role: a.role, Department: map[string]string{"department": "edu"}[a.role],
		Provider: map[string]string{"provider": "aliyun"}[a.role]}), nil
}

func (*todoAPI) ListRequests(context.Context, *connect.Request[v1.ListRequestsRequest]) (*connect.Response[v1.ListRequestsResponse], error) {
	return connect.NewResponse(&v1.ListRequestsResponse{Requests: []*v1.ResourceRequest{
		{Id: "r-1", Step: "review", Overdue: true}, {Id: "r-2", Step: "review"}, {Id: "r-3", Step: "supervisor"},
		{Id: "r-4", Step: "fulfil"}, {Id: "r-5", Step: "verify"}, {Id: "r-6", State: "fulfilled"}}}), nil
}

func (*todoAPI) ListFindings(context.Context, *connect.Request[v1.ListFindingsRequest]) (*connect.Response[v1.ListFindingsResponse], error) {
	return connect.NewResponse(&v1.ListFindingsResponse{Findings: []*v1.Finding{
		{Id: "f-1", Kind: "zombie", State: "warned"}, {Id: "f-2", Kind: "zombie", State: "explained"}, {Id: "f-3", Kind: "zombie", State: "detected"}}}), nil
}

func (*todoAPI) ListNotices(context.Context, *connect.Request[v1.ListNoticesRequest]) (*connect.Response[v1.ListNoticesResponse], error) {
	return connect.NewResponse(&v1.ListNoticesResponse{Notices: []*v1.Notice{
		{Id: "n-1", RaisedAt: time.Now().Add(-time.Hour).Format(time.RFC3339), Delivery: "delivered"},
		{Id: "n-2", RaisedAt: time.Now().AddDate(0, -1, 0).Format(time.RFC3339), Delivery: "dead"}}}), nil
}

func (*todoAPI) ListAccounts(context.Context, *connect.Request[v1.ListAccountsRequest]) (*connect.Response[v1.ListAccountsResponse], error) {
	return connect.NewResponse(&v1.ListAccountsResponse{Accounts: []*v1.Account{
		{Id: "auth2", Role: "authority", Status: "pending", CreatedBy: "security1"}, {Id: "sup2", Role: "supervisor", Status: "pending", CreatedBy: "authority1"},
		{Id: "aud2", Role: "auditor", Status: "pending", CreatedBy: "security2"}, {Id: "edu-li", Role: "department", Status: "active"}}}), nil
}

// todoFor is the to-do box of a role, as facts "label=count→link".
func todoFor(t *testing.T, role string) string {
	t.Helper()
	api := &todoAPI{role: role}
	mux := http.NewServeMux()
	mux.Handle(cloudledgerv1connect.NewRequestServiceHandler(api))
	mux.Handle(cloudledgerv1connect.NewFindingServiceHandler(api))
	mux.Handle(cloudledgerv1connect.NewAccountServiceHandler(api))
	mux.Handle(cloudledgerv1connect.NewLedgerServiceHandler(api))
	con, err := New(Config{API: mux, CSRFKey: func() []byte { return make([]byte, 32) }})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(&http.Cookie{Name: SessionCookie, Value: "s.x"})
	rq := con.newRequest(r)
	if err := con.whoAmI(rq); err != nil {
		t.Fatal(err)
	}
	sec, err := con.todoSection(rq)
	if err != nil {
		t.Fatalf("%s's to-do box: %v", role, err)
	}
	if sec == nil {
		return ""
	}
	var out []string
	for _, f := range sec.Facts {
		out = append(out, f.Label+"="+f.Value+"→"+f.Href)
	}
	return strings.Join(out, "; ")
}

// Issue 27: each role's to-do box counts what waits for that account — requests at its own
// step (overdue ones apart), findings to answer (the department: the warned one) or to
// review (the authority: the explained and the detected), the notices of the last week
// (the dead one is old: only the authority counts it, to send again), accounts a second
// person must confirm (only those of the roles it confirms, never those it made itself) —
// each linking to its page; finance's, the settlement document submitted to it.
func TestTodoBox(t *testing.T) {
	for role, want := range map[string]string{
		"department": "待确认验证的申请=1→/requests?mine=1; 待答复的利用率问题=1→/findings; 近 7 日的通知=1→/notices",
		"supervisor": "待经信审批的申请=1→/requests?mine=1; 近 7 日的通知=1→/notices",
		"provider":   "待开通的申请=1→/requests?mine=1; 近 7 日的通知=1→/notices",
		"authority": "待审核的申请=2→/requests?mine=1; 其中已超时=1→/requests?mine=1&overdue=1; 待审查的利用率问题=2→/findings; " +
			"近 7 日的通知=1→/notices; 投递失败待重发的通知=1→/notices?delivery=dead; 待确认的账号=1→/accounts/pending",
		"auditor":  "近 7 日的通知=1→/notices; 待确认的账号=1→/accounts/pending",
		"security": "近 7 日的通知=1→/notices; 待确认的账号=1→/accounts/pending",
		"finance":  fmt.Sprintf("已提交待签收的结算单=1→/finance/settlement?year=%d", time.Now().In(shanghai).Year()),
	} {
		if got := todoFor(t, role); got != want {
			t.Errorf("%s's to-do box:\n got %s\nwant %s", role, got, want)
		}
	}
}
