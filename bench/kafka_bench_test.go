package bench

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/internal/kafkatest"
	"github.com/cloudledger/cloudledger/internal/testcluster"
	"github.com/cloudledger/cloudledger/kafkabridge"
)

// Issue 5, must show 4: the ingest rate from Kafka into a 3-node cluster (fsync on).
const kafkaRecords = 200_000

func BenchmarkKafkaIngest(b *testing.B) {
	addr := kafkatest.Broker(b, 4, kafkabridge.DefaultUsageTopic, kafkabridge.DefaultDLQTopic, kafkabridge.DefaultLedgerTopic)
	c := testcluster.Start(b, 3, testcluster.Options{SnapshotThreshold: 1 << 20, TrailingLogs: 1 << 20, ExtraArgs: []string{"--kafka-brokers", addr}})
	lead := c.WaitLeader(20 * time.Second)
	cl := testcluster.NewClient(c.HTTP, lead.URL)
	ctx := context.Background()
	if _, err := cl.Submit(ctx, []*v1.Command{
		{Key: "seed/d1", Body: &v1.Command_Department{Department: &v1.Department{Department: "d1", Name: "d", Funding: "budget"}}},
		{Key: "seed/p1", Body: &v1.Command_Provider{Provider: &v1.Provider{Provider: "p1", Name: "p", ContractStart: "2025-01-01", ContractEnd: "2027-12-31"}}},
		{Key: "seed/prj1", Body: &v1.Command_ProjectQuota{ProjectQuota: &v1.ProjectQuota{Project: "prj1", Department: "d1", Name: "x", QuotaClass: "vcpu", Quota: "1"}}},
		{Key: "seed/egress", Body: &v1.Command_CatalogPrice{CatalogPrice: &v1.CatalogPrice{Item: "oss.egress", Name: "e", Category: "c", Unit: "GB", Billing: "metered", Price: "0.8", EffectiveFrom: "2025-01-01"}}},
	}); err != nil {
		b.Fatal(err)
	}
	base := c.WaitConverged(30 * time.Second).LineItems
	w := &kafka.Writer{Addr: kafka.TCP(addr), Topic: kafkabridge.DefaultUsageTopic, Balancer: &kafka.Hash{}, BatchSize: 5000, BatchTimeout: 5 * time.Millisecond}
	defer w.Close()
	start := time.Now()
	var produced time.Duration
	go func() {
		msgs := make([]kafka.Message, 0, 5000)
		t0 := time.Date(2026, 10, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
		for i := 0; i < kafkaRecords; i++ {
			res := fmt.Sprintf("bucket-%03d", i%256)
			v := fmt.Sprintf(`{"key":"u-%d","time":"%s","op":"usage","department":"d1","project":"prj1","provider":"p1","resource":"%s","item":"oss.egress","kind":"standard","quantity":%d}`,
				i, t0.Add(time.Duration(i)*time.Second).Format(time.RFC3339), res, 1+i%9)
			msgs = append(msgs, kafka.Message{Key: []byte(res), Value: []byte(v)})
			if len(msgs) == cap(msgs) {
				if err := w.WriteMessages(ctx, msgs...); err != nil {
					panic(err)
				}
				msgs = msgs[:0]
			}
		}
		produced = time.Since(start)
	}()
	want := base + kafkaRecords
	for {
		s, err := c.Status(ctx, lead)
		if err == nil && s.LineItems >= want {
			break
		}
		if time.Since(start) > 10*time.Minute {
			b.Fatalf("only %d of %d line items after 10 minutes", s.GetLineItems(), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(start)
	st := c.WaitConverged(120 * time.Second)
	rate := float64(kafkaRecords) / elapsed.Seconds()
	fmt.Fprintf(os.Stdout, "\nkafka ingest: %d usage records into a 3-node cluster in %s (produced in %s): %.0f records/s; %d line items on every node\n",
		kafkaRecords, elapsed.Round(time.Millisecond), produced.Round(time.Millisecond), rate, st.LineItems)
	b.ReportMetric(rate, "records/s")
}
