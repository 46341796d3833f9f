// Package history tests issue 12, item 1 on a real three-node cluster: a year of events
// delivered in parts, with expiry ticks, restarts and leader changes between the parts,
// rates exactly like the same year imported at once (SPEC.md, Ledger: an expire "is
// effective at the expiry itself, so a ledger fed history in bulk rates exactly like one
// that lived through it").
package history

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/internal/testcluster"
)

// splits is the number of random deliveries of the year the property is checked on.
const splits = 20

// op is one event of the year, for namespace-free generation.
type op struct {
	at, op, resource, item, kind, quantity, expires string
}

// year is a settlement year of a department's resources: every time-limited kind, an
// extension, and operations dated before an expiry that a split may deliver after the
// leader has written the expire (the times are Asia/Shanghai).
var year = []op{
	{"2025-09-03T09:00:00", "allocate", "std", "ecs.vcpu", "standard", "8", ""},
	{"2025-09-15T10:00:00", "usage", "oss", "oss.egress", "standard", "100", ""},
	{"2025-10-01T09:00:00", "allocate", "tst", "ecs.vcpu", "test", "10", "2025-10-25"},
	{"2025-10-20T15:00:00", "reduce", "tst", "", "", "3", ""},
	{"2025-11-10T09:00:00", "expand", "std", "", "", "4", ""},
	{"2025-12-01T09:00:00", "allocate", "dev", "ecs.vcpu", "dev", "2", "2026-02-28"},
	{"2026-01-05T09:00:00", "allocate", "tmp", "ecs.vcpu", "temporary", "6", "2026-04-30"},
	{"2026-01-10T10:00:00", "usage", "oss", "oss.egress", "standard", "50", ""},
	{"2026-01-15T09:00:00", "expand", "dev", "", "", "1", ""},
	{"2026-02-01T09:00:00", "reduce", "std", "", "", "2", ""},
	{"2026-02-20T09:00:00", "reduce", "dev", "", "", "1", ""},
	{"2026-03-01T09:00:00", "allocate", "emg", "ecs.vcpu", "emergency", "4", "2026-05-31"},
	{"2026-03-20T09:00:00", "extend", "tmp", "", "", "", "2026-06-30"},
	{"2026-05-10T09:00:00", "reduce", "tmp", "", "", "2", ""},
	{"2026-05-20T09:00:00", "reclaim", "emg", "", "", "", ""},
	{"2026-06-01T09:00:00", "allocate", "tst2", "ecs.vcpu", "test", "5", "2026-06-20"},
	{"2026-06-10T09:00:00", "expand", "tst2", "", "", "1", ""},
	{"2026-06-15T09:00:00", "reclaim", "std", "", "", "", ""},
	{"2026-07-01T10:00:00", "usage", "oss", "oss.egress", "standard", "25", ""},
	{"2026-08-10T09:00:00", "allocate", "std2", "ecs.vcpu", "standard", "3", ""},
}

// events is the year in namespace ns: department ns, project ns-web, resources ns-….
func events(ns string) []*v1.Command {
	out := make([]*v1.Command, len(year))
	for i, o := range year {
		ev := &v1.Event{Op: o.op, Time: o.at + "+08:00", Resource: ns + "-" + o.resource, Item: o.item, Kind: o.kind, Quantity: o.quantity}
		if o.op == "allocate" || o.op == "usage" {
			ev.Department, ev.Project, ev.Provider = ns, ns+"-web", "p1"
		}
		if o.expires != "" {
			d, _ := time.Parse("2006-01-02", o.expires)
			ev.Expires = d.AddDate(0, 0, 1).Format("2006-01-02") + "T00:00:00+08:00" // the end of that day
		}
		out[i] = &v1.Command{Key: fmt.Sprintf("%s/%02d", ns, i), Body: &v1.Command_Event{Event: ev}}
	}
	return out
}

func masterData(namespaces []string) []*v1.Command {
	cmds := []*v1.Command{
		{Key: "md/p1", Body: &v1.Command_Provider{Provider: &v1.Provider{Provider: "p1", Name: "云商一", ContractStart: "2025-01-01", ContractEnd: "2027-12-31"}}},
		{Key: "md/vcpu", Body: &v1.Command_CatalogPrice{CatalogPrice: &v1.CatalogPrice{Item: "ecs.vcpu", Name: "云服务器vCPU", Category: "IaaS", Unit: "核·月", Billing: "allocation", QuotaClass: "vcpu", Price: "40", EffectiveFrom: "2025-01-01"}}},
		{Key: "md/oss", Body: &v1.Command_CatalogPrice{CatalogPrice: &v1.CatalogPrice{Item: "oss.egress", Name: "对象存储流量", Category: "IaaS", Unit: "GB", Billing: "metered", Price: "0.5", EffectiveFrom: "2025-01-01"}}},
	}
	for _, ns := range namespaces {
		cmds = append(cmds,
			&v1.Command{Key: "md/" + ns, Body: &v1.Command_Department{Department: &v1.Department{Department: ns, Name: "部门 " + ns, Funding: "budget"}}},
			&v1.Command{Key: "md/" + ns + "-web", Body: &v1.Command_ProjectQuota{ProjectQuota: &v1.ProjectQuota{Project: ns + "-web", Department: ns, Name: "网站", QuotaClass: "vcpu", Quota: "1000"}}})
	}
	return cmds
}

// charges is a department's year of charge lines with the namespace taken out.
func charges(t *testing.T, c *testcluster.Cluster, ns string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		lead := c.WaitLeader(20 * time.Second)
		res, err := testcluster.NewClient(c.HTTP, lead.URL).Ledger(0).Charges(ctx, testcluster.Authorize(connect.NewRequest(
			&v1.ChargesRequest{From: "2025-09-01", To: "2026-08-31", Department: ns}), false))
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("charges of %s: %v", ns, err)
			}
			time.Sleep(200 * time.Millisecond)
			continue
		}
		var b strings.Builder
		for _, l := range res.Msg.GetLines() {
			fmt.Fprintf(&b, "%s %s %s %s %s %s %s\n", l.GetMonth(), strings.TrimPrefix(l.GetProject(), ns), l.GetItem(), l.GetQuantity(), l.GetUnit(), l.GetBaseAmount(), l.GetAmount())
		}
		fmt.Fprintf(&b, "total %s\n", res.Msg.GetTotalAmount())
		return b.String()
	}
}

// Issue 12, item 1: the property.
func TestDeliveredInPartsRatesLikeOneImport(t *testing.T) {
	c := testcluster.Start(t, 3, testcluster.Options{})
	c.WaitLeader(20 * time.Second)
	ctx := context.Background()
	cl := testcluster.NewClient(c.HTTP, c.URLs()...)
	namespaces := []string{"ref"}
	for i := 0; i < splits; i++ {
		namespaces = append(namespaces, fmt.Sprintf("s%02d", i))
	}
	if _, err := cl.Submit(ctx, masterData(namespaces)); err != nil {
		t.Fatal(err)
	}
	// The reference: the whole year in one request, so no tick falls inside it.
	if _, err := cl.Submit(ctx, events("ref")); err != nil {
		t.Fatalf("the year in one import: %v", err)
	}
	want := charges(t, c, "ref")
	if strings.Count(want, "\n") < 10 {
		t.Fatalf("the reference year rated to little:\n%s", want)
	}

	rng := rand.New(rand.NewPCG(12, 2026))
	faults := map[string]int{}
	for s := 1; s <= splits; s++ {
		ns := namespaces[s]
		evs := events(ns)
		// Random cut points: 2 to 6 deliveries, in order (monthly files, a migration in runs).
		cuts := map[int]bool{}
		for n := 1 + rng.IntN(5); len(cuts) < n; {
			cuts[1+rng.IntN(len(evs)-1)] = true
		}
		var bounds []int
		for k := range cuts {
			bounds = append(bounds, k)
		}
		sort.Ints(bounds)
		bounds = append(bounds, len(evs))
		from := 0
		for i, to := range bounds {
			if _, err := cl.Submit(ctx, evs[from:to]); err != nil {
				t.Fatalf("split %d, delivery %d (events %d–%d): %v", s, i+1, from, to-1, err)
			}
			from = to
			if to == len(evs) {
				break
			}
			// Between deliveries: expiry ticks run (every 200 ms; every expiry of the year
			// is long past), and now and then a restart or a leader change.
			switch k := rng.IntN(6); {
			case k == 0:
				lead := c.Nodes[c.LeaderIndex()]
				c.Kill(lead)
				c.WaitLeader(20 * time.Second)
				c.Restart(lead)
				faults["leader killed and restarted"]++
			case k == 1:
				f := c.Nodes[(c.LeaderIndex()+1)%len(c.Nodes)]
				c.Stop(f)
				c.Restart(f)
				faults["follower restarted"]++
			case k == 2 && s%5 == 0:
				for _, nd := range c.Nodes {
					c.Stop(nd)
				}
				c.Restart(c.Nodes...) // after a full stop: every node ticks as it leads
				faults["whole cluster restarted"]++
			default:
				time.Sleep(500 * time.Millisecond)
				faults["ticks only"]++
			}
		}
		if got := charges(t, c, ns); got != want {
			t.Fatalf("split %d (cuts %v) rates differently from the single import:\n got:\n%s\nwant:\n%s", s, bounds, got, want)
		}
	}
	t.Logf("%d splits, between deliveries: %v", splits, faults)
	st := c.WaitConverged(60 * time.Second)
	t.Logf("converged: %d line items, head %s", st.LineItems, st.HeadHash)
}
