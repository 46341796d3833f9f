package console

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/internal/testcluster"
)

// TestConsoleOnEveryNode: every node serves the console, a session and a form token of one
// node are good on another, and a form posted to a follower is written through the leader.
func TestConsoleOnEveryNode(t *testing.T) {
	c := testcluster.Start(t, 3, testcluster.Options{})
	leader := c.WaitLeader(30 * time.Second)
	var followers []*testcluster.Node
	for _, nd := range c.Nodes {
		if nd != leader {
			followers = append(followers, nd)
		}
	}
	d := personWithPassword(t, c, "sup-cluster")
	d.url = followers[0].URL
	lc := cloudledgerv1connect.NewLedgerServiceClient(c.HTTP, leader.URL)
	dept := []*v1.Command{{Key: "cluster/dept", Body: &v1.Command_Department{Department: &v1.Department{Department: "water", Name: "市水务局", Funding: "budget"}}},
		{Key: "cluster/proj", Body: &v1.Command_ProjectQuota{ProjectQuota: &v1.ProjectQuota{Project: "water-gis", Department: "water", Name: "水务地理信息", QuotaClass: "vcpu", Quota: "16"}}}}
	if _, err := lc.Submit(context.Background(), testcluster.Authorize(connect.NewRequest(&v1.SubmitRequest{Commands: dept}), false)); err != nil {
		t.Fatal(err)
	}
	hc := d.httpClient()
	d.signInHTTP(t, hc, "sup-cluster") // on a follower
	tok := formToken(t, hc, followers[0].URL+"/supervisor/approvals")
	res, err := hc.PostForm(followers[1].URL+"/supervisor/approvals", url.Values{"csrf": {tok}, "op": {"grant"}, "key": {"cluster-grant"},
		"department": {"water"}, "class": {"vcpu"}, "ceiling": {"50"}, "ref": {"经信审〔2026〕9号"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("a grant posted to the other follower: HTTP %d\n%.1500s", res.StatusCode, body)
	}
	list, err := lc.ListApprovals(context.Background(), testcluster.Authorize(connect.NewRequest(&v1.ListApprovalsRequest{}), false))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range list.Msg.GetApprovals() {
		found = found || (a.GetRef() == "经信审〔2026〕9号" && a.GetGrantedBy() == "sup-cluster")
	}
	if !found {
		t.Errorf("the leader does not hold the grant made on a follower: %v", list.Msg.GetApprovals())
	}
	for _, nd := range c.Nodes {
		res, err := hc.Get(nd.URL + "/supervisor/approvals")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !contains(b, "经信审〔2026〕9号") {
			t.Errorf("%s's approvals page: HTTP %d, without the grant", nd.ID, res.StatusCode)
		}
	}
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }
