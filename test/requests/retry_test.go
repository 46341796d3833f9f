package requests

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/cloudledger/cloudledger/apimap"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/internal/testcluster"
)

// dropFirst carries every call to the node but loses the answer of the first one: the
// write happened, the client does not know (an unknown outcome).
type dropFirst struct {
	rt      http.RoundTripper
	dropped bool
}

var errAnswerLost = errors.New("the answer was lost")

func (d *dropFirst) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := d.rt.RoundTrip(r)
	if err == nil && !d.dropped {
		d.dropped = true
		res.Body.Close()
		return nil, errAnswerLost
	}
	return res, err
}

// Issue 23, must show 3: for every command of the catalog, the same v1.Command sent again
// after its first answer was lost returns the original result (the same line item, marked
// a duplicate; or, for bookkeeping, the same unchanged answer), never idempotency_conflict;
// and the FulfilRequest RPC retried with its key does the same — it answered
// idempotency_conflict when the server stamped the event with its own clock.
func TestEveryCommandSurvivesALostAnswer(t *testing.T) {
	c := testcluster.Start(t, 1, testcluster.Options{})
	url := c.Nodes[0].URL
	authority := testcluster.AuthorityToken(t, c.HTTP, url)
	ctx := context.Background()
	send := func(token string, cmd *v1.Command, drop bool) (*v1.SubmitResponse, error) {
		hc := c.HTTP
		if drop {
			hc = &http.Client{Timeout: 30 * time.Second, Transport: &dropFirst{rt: c.HTTP.Transport}}
		}
		req := connect.NewRequest(&v1.SubmitRequest{Commands: []*v1.Command{cmd}})
		req.Header().Set("Authorization", "Bearer "+token)
		res, err := cloudledgerv1connect.NewLedgerServiceClient(hc, url).Submit(ctx, req)
		if err != nil {
			return nil, err
		}
		return res.Msg, nil
	}
	mustSend := func(token string, cmds ...*v1.Command) {
		t.Helper()
		for _, cmd := range cmds {
			if _, err := send(token, cmd, false); err != nil {
				t.Fatalf("%s: %v", cmd.GetKey(), err)
			}
		}
	}
	calendar2026, err := os.ReadFile(filepath.Join(testcluster.RepoRoot(), "calendar", "data", "2026.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The master data the commands below stand on.
	mustSend(authority,
		&v1.Command{Key: "m/d1", Body: &v1.Command_Department{Department: &v1.Department{Department: "d1", Name: "一局", Funding: "budget"}}},
		&v1.Command{Key: "m/p1", Body: &v1.Command_Provider{Provider: &v1.Provider{Provider: "p1", Name: "云一", ContractStart: "2025-01-01", ContractEnd: "2027-12-31"}}},
		&v1.Command{Key: "m/prj", Body: &v1.Command_ProjectQuota{ProjectQuota: &v1.ProjectQuota{Project: "prj1", Department: "d1", Name: "系统", QuotaClass: "vcpu", Quota: "100"}}},
		&v1.Command{Key: "m/item", Body: &v1.Command_CatalogPrice{CatalogPrice: &v1.CatalogPrice{Item: "ecs.vcpu", Name: "vCPU", Category: "IaaS", Unit: "核·月",
			Billing: "allocation", QuotaClass: "vcpu", Price: "40", EffectiveFrom: "2025-01-01"}}})
	supervisor := testcluster.RoleToken(t, c.HTTP, url, "supervisor1", "supervisor", "")
	provider := testcluster.RoleToken(t, c.HTTP, url, "p1-am", "provider", "p1")
	department := testcluster.RoleToken(t, c.HTTP, url, "d1-it", "department", "d1")

	// A request approved for p1 to fulfil.
	rs := func(token string) cloudledgerv1connect.RequestServiceClient {
		return cloudledgerv1connect.NewRequestServiceClient(c.HTTP, url)
	}
	auth := func(token string, r interface{ Header() http.Header }) {
		r.Header().Set("Authorization", "Bearer "+token)
	}
	open := connect.NewRequest(&v1.SubmitRequestRequest{Key: "req/open", Kind: "open", ResourceKind: "standard", Department: "d1", Project: "prj1",
		Provider: "p1", Item: "ecs.vcpu", Quantity: "2", Reason: "新系统上线"})
	auth(department, open)
	opened, err := rs(department).SubmitRequest(ctx, open)
	if err != nil {
		t.Fatal(err)
	}
	approve := connect.NewRequest(&v1.DecideRequestRequest{Id: opened.Msg.GetId(), Decision: "approve", Key: "req/approve"})
	auth(authority, approve)
	if _, err := rs(authority).DecideRequest(ctx, approve); err != nil {
		t.Fatal(err)
	}
	second := connect.NewRequest(&v1.SubmitRequestRequest{Key: "req/open2", Kind: "open", ResourceKind: "standard", Department: "d1", Project: "prj1",
		Provider: "p1", Item: "ecs.vcpu", Quantity: "1", Reason: "第二个"})
	auth(department, second)
	opened2, err := rs(department).SubmitRequest(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	approve2 := connect.NewRequest(&v1.DecideRequestRequest{Id: opened2.Msg.GetId(), Decision: "approve", Key: "req/approve2"})
	auth(authority, approve2)
	if _, err := rs(authority).DecideRequest(ctx, approve2); err != nil {
		t.Fatal(err)
	}

	// A notice the request raised (delivered or waiting, not dead).
	ln := connect.NewRequest(&v1.ListNoticesRequest{})
	auth(authority, ln)
	notices, err := rs(authority).ListNotices(ctx, ln)
	if err != nil || len(notices.Msg.GetNotices()) == 0 {
		t.Fatalf("the requests raised no notice: %v", err)
	}
	noticeID := notices.Msg.GetNotices()[0].GetId()

	now := time.Now().In(time.FixedZone("CST", 8*3600))
	samples := map[string]struct {
		token string
		cmd   *v1.Command
	}{
		"event": {provider, &v1.Command{Body: &v1.Command_Event{Event: &v1.Event{Op: "allocate", Time: now.Add(-time.Hour).Format(time.RFC3339), Department: "d1",
			Project: "prj1", Provider: "p1", Resource: "r1", Item: "ecs.vcpu", Kind: "standard", Quantity: "1.500"}}}},
		"department":    {authority, &v1.Command{Body: &v1.Command_Department{Department: &v1.Department{Department: "d2", Name: "二局", Parent: "d1", Funding: "self"}}}},
		"provider":      {authority, &v1.Command{Body: &v1.Command_Provider{Provider: &v1.Provider{Provider: "p2", Name: "云二", ContractStart: "2025-01-01", ContractEnd: "2027-12-31"}}}},
		"project_quota": {authority, &v1.Command{Body: &v1.Command_ProjectQuota{ProjectQuota: &v1.ProjectQuota{Project: "prj1", Department: "d1", Name: "系统", QuotaClass: "vcpu", Quota: "200"}}}},
		"catalog_price": {authority, &v1.Command{Body: &v1.Command_CatalogPrice{CatalogPrice: &v1.CatalogPrice{Item: "ecs.vcpu", Name: "vCPU", Category: "IaaS", Unit: "核·月",
			Billing: "allocation", QuotaClass: "vcpu", Price: "41.125", EffectiveFrom: "2026-01-01"}}}},
		"approval_grant":    {supervisor, &v1.Command{Body: &v1.Command_ApprovalGrant{ApprovalGrant: &v1.ApprovalGrant{Department: "d1", QuotaClass: "vcpu", Ceiling: "150", Ref: "经信〔2026〕1号"}}}},
		"period_close":      {authority, &v1.Command{Body: &v1.Command_PeriodClose{PeriodClose: &v1.PeriodClose{Month: "2025-06"}}}},
		"calendar_year":     {authority, &v1.Command{Body: &v1.Command_CalendarYear{CalendarYear: &v1.CalendarYear{Json: string(calendar2026)}}}},
		"evaluation":        {authority, &v1.Command{Body: &v1.Command_Evaluation{Evaluation: &v1.Evaluation{Provider: "p1", From: "2026-01-01", To: "2026-03-31", Score: "91.5"}}}},
		"band_table":        {authority, &v1.Command{Body: &v1.Command_BandTable{BandTable: &v1.BandTable{EffectiveFrom: "2027-01-01", Bands: []*v1.Band{{MinScore: "0", MaxScore: "100", Multiplier: "0.955"}}}}}},
		"settlement_window": {authority, &v1.Command{Body: &v1.Command_SettlementWindow{SettlementWindow: &v1.SettlementWindow{EndMonth: 8}}}},
		"approval_revoke":   {supervisor, &v1.Command{Body: &v1.Command_ApprovalRevoke{ApprovalRevoke: &v1.ApprovalRevoke{Department: "d1", QuotaClass: "vcpu", Ref: "经信〔2026〕1号"}}}},
		"import_lease":      {authority, &v1.Command{Body: &v1.Command_ImportLease{ImportLease: &v1.ImportLease{Id: "lease-1", Months: []string{now.Format("2006-01")}}}}},
		"fulfil_request":    {provider, &v1.Command{Body: &v1.Command_FulfilRequest{FulfilRequest: &v1.FulfilRequest{Id: opened.Msg.GetId(), Resource: "r-new"}}}},
		// No notice is dead here (they are delivered or waiting): the replay is refused,
		// and refused the same way again, never as a conflict with itself.
		"notice_replay": {authority, &v1.Command{Body: &v1.Command_NoticeReplay{NoticeReplay: &v1.NoticeReplay{Id: noticeID}}}},
		"utilisation_delivery": {provider, &v1.Command{Body: &v1.Command_UtilisationDelivery{UtilisationDelivery: &v1.UtilisationDelivery{Rows: []*v1.UtilisationRow{
			{Resource: "r1", Date: now.AddDate(0, 0, -1).Format("2006-01-02"), MeanPct: "12.5", PeakPct: "40", AvailabilityPct: "100"}}}}}},
		"utilisation_rules": {authority, &v1.Command{Body: &v1.Command_UtilisationRules{UtilisationRules: &v1.UtilisationRules{EffectiveFrom: now.AddDate(0, 0, -10).Format("2006-01-02"),
			LowDays: "30", LowPeakPct: "30"}}}},
		"project_seasons": {authority, &v1.Command{Body: &v1.Command_ProjectSeasons{ProjectSeasons: &v1.ProjectSeasons{Project: "prj1",
			Seasons: []*v1.Season{{From: "06-01", To: "07-31", QuotaClass: "vcpu", Quota: "300"}}}}}},
		"evaluation_scheme": {authority, &v1.Command{Body: &v1.Command_EvaluationScheme{EvaluationScheme: &v1.EvaluationScheme{EffectiveFrom: "2027-01-01", WeightSla: "40"}}}},
		"expert_score":      {authority, &v1.Command{Body: &v1.Command_ExpertScore{ExpertScore: &v1.ExpertScore{Quarter: "2026Q1", Provider: "p1", Score: "80", Ref: "专家〔2025〕9号"}}}},
		"quarter_publish":   {authority, &v1.Command{Body: &v1.Command_QuarterPublish{QuarterPublish: &v1.QuarterPublish{Quarter: "2026Q1"}}}},
	}
	refused := map[string]string{"notice_replay": "notice_state"}
	for _, k := range apimap.Catalog {
		s, ok := samples[k.Field()]
		if !ok {
			t.Errorf("no sample of catalog command %s: every command must be shown to survive a lost answer", k.Field())
			continue
		}
		s.cmd.Key = "retry/" + k.Field()
		if _, err := send(s.token, s.cmd, true); !errors.Is(err, errAnswerLost) {
			t.Errorf("%s: the first call: %v, want its answer lost", k.Field(), err)
			continue
		}
		res, err := send(s.token, s.cmd, false)
		if want := refused[k.Field()]; want != "" {
			if got := codeOf(err); got != want {
				t.Errorf("%s sent again: %v, want %s as the first time", k.Field(), err, want)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s sent again after a lost answer: %v, want the original result", k.Field(), err)
			continue
		}
		it := res.GetResults()[0]
		if !it.GetDuplicate() && !it.GetUnchanged() {
			t.Errorf("%s sent again: %+v, want the first one's line item marked duplicate (or unchanged)", k.Field(), it)
		}
		if it.GetDuplicate() {
			list := connect.NewRequest(&v1.ListLineItemsRequest{Key: s.cmd.Key, FromSeq: 1, Limit: 100})
			auth(authority, list) // the authority reads every tenant's keys

			items, err := cloudledgerv1connect.NewLedgerServiceClient(c.HTTP, url).ListLineItems(ctx, list)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(items.Msg.GetItems()); n != 1 || items.Msg.GetItems()[0].GetSeq() != it.GetSeq() {
				t.Errorf("%s: %d line items under its key, want one, line item %d", k.Field(), n, it.GetSeq())
			}
		}
	}

	// The RPC: FulfilRequest with a key, its first answer lost, then again.
	lossy := cloudledgerv1connect.NewRequestServiceClient(&http.Client{Timeout: 30 * time.Second, Transport: &dropFirst{rt: c.HTTP.Transport}}, url)
	fulfil := func() (*v1.FulfilRequestResponse, error) {
		r := connect.NewRequest(&v1.FulfilRequestRequest{Id: opened2.Msg.GetId(), Resource: "r-new2", Key: "rpc/fulfil"})
		auth(provider, r)
		res, err := lossy.FulfilRequest(ctx, r)
		if err != nil {
			return nil, err
		}
		return res.Msg, nil
	}
	if _, err := fulfil(); !errors.Is(err, errAnswerLost) {
		t.Fatalf("the first FulfilRequest: %v, want its answer lost", err)
	}
	time.Sleep(1100 * time.Millisecond) // the leader's clock moves on: the same call must not carry it
	again, err := fulfil()
	if err != nil {
		t.Fatalf("FulfilRequest again after a lost answer: %v (it answered idempotency_conflict when the event carried the handler's clock)", err)
	}
	if got := again.GetRequest().GetState(); got != "fulfilled" {
		t.Errorf("the request is %q after the retried fulfilment, want fulfilled", got)
	}
	noKey := connect.NewRequest(&v1.FulfilRequestRequest{Id: opened2.Msg.GetId(), Resource: "r-new2"})
	auth(provider, noKey)
	if _, err := rs(provider).FulfilRequest(ctx, noKey); err == nil || !strings.Contains(err.Error(), "key") {
		t.Errorf("a FulfilRequest without a key: %v, want missing_field key", err)
	}
}

// codeOf is the SPEC code of an API error ("" for none).
func codeOf(err error) string {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return ""
	}
	for _, d := range ce.Details() {
		if m, derr := d.Value(); derr == nil {
			if ed, ok := m.(*v1.ErrorDetail); ok {
				return ed.GetCode()
			}
		}
	}
	return ce.Code().String()
}
