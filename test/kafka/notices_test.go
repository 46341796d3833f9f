package kafka

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/segmentio/kafka-go"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/internal/testcluster"
	"github.com/cloudledger/cloudledger/kafkabridge"
	"github.com/cloudledger/cloudledger/notice"
)

// Issue 15, Notices: with Kafka configured the notice outbox is published on
// cloudledger.notices — every notice once per delivery id, keyed by its recipient, the
// webhook's payload as value.
func TestNoticesTopic(t *testing.T) {
	addr := broker(t)
	c := testcluster.Start(t, 1, testcluster.Options{ExtraArgs: []string{"--kafka-brokers", addr}})
	c.WaitLeader(20 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl := testcluster.NewClient(c.HTTP, c.URLs()...)
	cmds := append(seed(), &v1.Command{Key: "seed/vcpu", Body: &v1.Command_CatalogPrice{CatalogPrice: &v1.CatalogPrice{Item: "ecs.vcpu", Name: "vCPU",
		Category: "IaaS", Unit: "核·月", Billing: "allocation", QuotaClass: "vcpu", Price: "40", EffectiveFrom: "2025-01-01"}}})
	if _, err := cl.Submit(ctx, cmds); err != nil {
		t.Fatal(err)
	}
	rs := cloudledgerv1connect.NewRequestServiceClient(c.HTTP, c.Nodes[0].URL)
	const n = 3
	for i := 0; i < n; i++ {
		res, err := rs.SubmitRequest(ctx, testcluster.Authorize(connect.NewRequest(&v1.SubmitRequestRequest{Key: fmt.Sprint("r", i), Kind: "test", Department: "d1",
			Project: "prj1", Provider: "p1", Item: "ecs.vcpu", Quantity: "0.1", Expires: time.Now().AddDate(0, 0, 20).Format("2006-01-02")}), false))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rs.DecideRequest(ctx, testcluster.Authorize(connect.NewRequest(&v1.DecideRequestRequest{Id: res.Msg.GetId(), Decision: "approve", Key: fmt.Sprint("approve-", i)}), false)); err != nil {
			t.Fatal(err)
		}
	}
	// Each approval tells the department and the provider.
	var mu sync.Mutex // readAll reads the partitions in parallel
	keys := map[string]string{}
	seen := readAll(t, addr, kafkabridge.DefaultNoticesTopic, func(m kafka.Message) (string, bool) {
		var p notice.Payload
		if json.Unmarshal(m.Value, &p) != nil || p.DeliveryID == "" || p.Kind == "statements_ready" {
			// last month's statements, announced by the leader's first tick: not this test's
			return "", false
		}
		mu.Lock()
		keys[p.DeliveryID] = string(m.Key) + " " + p.Kind
		mu.Unlock()
		for _, h := range m.Headers {
			if h.Key == notice.HeaderDelivery && string(h.Value) != p.DeliveryID {
				return "", false
			}
		}
		return p.DeliveryID, true
	}, 2*n, 30*time.Second)
	if len(seen) != 2*n {
		t.Fatalf("%d notices on the topic, want %d: %v", len(seen), 2*n, seen)
	}
	// In delivery-id order, each approval's two notices: the department's, then the provider's.
	ids := make([]string, 0, len(keys))
	for id := range keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for i, id := range ids {
		want := "d1 request_decided"
		if i%2 == 1 {
			want = "p1 request_to_fulfil"
		}
		if keys[id] != want {
			t.Errorf("%s: %q, want %q", id, keys[id], want)
		}
	}
}
