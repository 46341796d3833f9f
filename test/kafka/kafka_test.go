// Package kafka tests the Kafka bridge of issue 5 against a real-protocol broker (franz-go's
// kfake, in process) and real ledgerd processes.
package kafka

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/segmentio/kafka-go"
	"github.com/shopspring/decimal"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/internal/kafkatest"
	"github.com/cloudledger/cloudledger/internal/testcluster"
	"github.com/cloudledger/cloudledger/kafkabridge"
)

const partitions = 4

func broker(t *testing.T) string {
	return kafkatest.Broker(t, partitions, kafkabridge.DefaultUsageTopic, kafkabridge.DefaultDLQTopic, kafkabridge.DefaultLedgerTopic, kafkabridge.DefaultNoticesTopic)
}

func seed() []*v1.Command {
	return []*v1.Command{
		{Key: "seed/d1", Body: &v1.Command_Department{Department: &v1.Department{Department: "d1", Name: "市财政局", Funding: "budget"}}},
		{Key: "seed/p1", Body: &v1.Command_Provider{Provider: &v1.Provider{Provider: "p1", Name: "云商一", ContractStart: "2025-01-01", ContractEnd: "2027-12-31"}}},
		{Key: "seed/prj1", Body: &v1.Command_ProjectQuota{ProjectQuota: &v1.ProjectQuota{Project: "prj1", Department: "d1", Name: "预算系统", QuotaClass: "vcpu", Quota: "1"}}},
		{Key: "seed/egress", Body: &v1.Command_CatalogPrice{CatalogPrice: &v1.CatalogPrice{Item: "oss.egress", Name: "流量", Category: "IaaS", Unit: "GB", Billing: "metered", Price: "0.8", EffectiveFrom: "2025-01-01"}}},
	}
}

// record i: usage on one of 64 resources, each resource always on the same partition (the
// message key) and in time order, as a provider's metering system would publish.
func record(i int) (key string, value []byte, quantity int64) {
	res := fmt.Sprintf("bucket-%02d", i%64)
	q := int64(1 + i%17)
	t := time.Date(2026, 10, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600)).Add(time.Duration(i) * time.Second)
	v := fmt.Sprintf(`{"key":"u-%d","time":"%s","op":"usage","department":"d1","project":"prj1","provider":"p1","resource":"%s","item":"oss.egress","kind":"standard","quantity":%d}`,
		i, t.Format(time.RFC3339), res, q)
	return res, []byte(v), q
}

// planted reports whether record i is replaced by a bad one, and its value: two kinds the
// leader cannot decode, one the ledger refuses when it applies it (an unknown project).
func planted(i int) ([]byte, bool) {
	switch {
	case i%1019 == 13:
		return []byte(fmt.Sprintf(`{"key":"bad-%d","time":"2026-10-01T00:00:00+08:00","op":"usage","department":"d1","project":"nope","provider":"p1","resource":"x","item":"oss.egress","kind":"standard","quantity":5}`, i)), true
	case i%1009 == 7:
		return []byte(fmt.Sprintf(`{"key":"bad-%d","time":"not a time","op":"usage"`, i)), true
	case i%1013 == 11:
		return []byte(fmt.Sprintf(`{"key":"bad-%d","time":"2026-10-01T00:00:00+08:00","op":"usage","department":"d1","project":"prj1","provider":"p1","resource":"x","item":"oss.egress","kind":"standard","quantity":-5}`, i)), true
	}
	return nil, false
}

func records() int {
	if n, err := strconv.Atoi(os.Getenv("KAFKA_TEST_RECORDS")); err == nil && n > 0 {
		return n
	}
	return 200_000
}

// Issue 5, must show 1 and 2: 200,000 usage records produced, the leader killed twice during
// consumption; every valid record is in the ledger exactly once (count and sum), the dead
// letters are exactly the planted ones, and the ledger topic holds every line item, repeats
// only with the identical sequence and hash.
func TestExactlyOnceIngestionAcrossLeaderKills(t *testing.T) {
	addr := broker(t)
	c := testcluster.Start(t, 3, testcluster.Options{ExtraArgs: []string{"--kafka-brokers", addr}})
	cl := testcluster.NewClient(c.HTTP, c.URLs()...)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	if _, err := cl.Submit(ctx, seed()); err != nil {
		t.Fatal(err)
	}
	base := c.WaitConverged(30 * time.Second).LineItems // the seed and the admin token
	n := records()
	w := &kafka.Writer{Addr: kafka.TCP(addr), Topic: kafkabridge.DefaultUsageTopic, Balancer: &kafka.Hash{}, BatchSize: 5000, BatchTimeout: 5 * time.Millisecond, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	var validCount int
	sum := decimal.Zero
	plantedValues := map[string]bool{}
	var produceErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		msgs := make([]kafka.Message, 0, 5000)
		for i := 0; i < n; i++ {
			key, v, q := record(i)
			if bad, ok := planted(i); ok {
				v = bad
				plantedValues[string(bad)] = true
			} else {
				validCount++
				sum = sum.Add(decimal.NewFromInt(q))
			}
			msgs = append(msgs, kafka.Message{Key: []byte(key), Value: v})
			if len(msgs) == cap(msgs) || i == n-1 {
				if err := w.WriteMessages(ctx, msgs...); err != nil {
					produceErr = err
					return
				}
				msgs = msgs[:0]
			}
		}
	}()
	// Kill the leader when a third and two thirds of the records are in; restart it so the
	// cluster keeps a quorum for the second kill.
	for _, frac := range []float64{0.33, 0.66} {
		for {
			i := c.LeaderIndex()
			if i < 0 { // between leaders
				time.Sleep(50 * time.Millisecond)
				continue
			}
			lead := c.Nodes[i]
			s, err := c.Status(ctx, lead)
			if err == nil && float64(s.LineItems) >= frac*float64(n) {
				t.Logf("killing leader %s at %d line items", lead.ID, s.LineItems)
				c.Kill(lead)
				c.WaitLeader(30 * time.Second)
				c.Restart(lead)
				break
			}
			if ctx.Err() != nil {
				t.Fatal("timed out before the kill")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	wg.Wait()
	if produceErr != nil {
		t.Fatal(produceErr)
	}
	want := base + uint64(validCount)
	deadline := time.Now().Add(4 * time.Minute)
	for {
		st := c.WaitConverged(60 * time.Second)
		if st.LineItems == want {
			break
		}
		if st.LineItems > want || time.Now().After(deadline) {
			t.Fatalf("the ledger holds %d line items, want %d (%d before + %d valid records)", st.LineItems, want, base, validCount)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Count and sum of the usage line items, on every node.
	hashes := map[uint64]string{}
	var seenMu sync.Mutex
	for node := range c.Nodes {
		got, gotSum := 0, decimal.Zero
		keys := map[string]bool{}
		for from := uint64(1); from != 0; {
			res, err := cl.Ledger(node).ListLineItems(ctx, testcluster.Authorize(connect.NewRequest(&v1.ListLineItemsRequest{FromSeq: from, Limit: 10000}), true))
			if err != nil {
				t.Fatal(err)
			}
			for _, li := range res.Msg.Items {
				hashes[li.Seq] = li.Hash
				if li.Type != "event" {
					continue
				}
				ev := li.GetCommand().GetEvent()
				if ev == nil || li.GetCommand().GetKey() != li.Key {
					t.Fatalf("line item %d: an event without its API form: %v", li.Seq, li)
				}
				got++
				gotSum = gotSum.Add(decimal.RequireFromString(ev.GetQuantity()))
				if keys[li.Key] {
					t.Fatalf("%s: record %s applied twice", c.Nodes[node].ID, li.Key)
				}
				keys[li.Key] = true
			}
			from = res.Msg.NextSeq
		}
		if got != validCount || !gotSum.Equal(sum) {
			t.Fatalf("%s: %d usage items summing %s; produced %d valid records summing %s", c.Nodes[node].ID, got, gotSum, validCount, sum)
		}
	}
	// The dead letters are exactly the planted records, by source partition and offset;
	// a repeat carries the identical dead letter.
	source := readAll(t, addr, kafkabridge.DefaultUsageTopic, func(m kafka.Message) (string, bool) {
		if plantedValues[string(m.Value)] {
			return fmt.Sprintf("%s/%d/%d", m.Topic, m.Partition, m.Offset), true
		}
		return "", false
	}, len(plantedValues), 60*time.Second)
	first := map[string]kafkabridge.DeadLetter{}
	dead := readAll(t, addr, kafkabridge.DefaultDLQTopic, func(m kafka.Message) (string, bool) {
		var d kafkabridge.DeadLetter
		if err := json.Unmarshal(m.Value, &d); err != nil {
			t.Fatalf("dead letter %s: %v", m.Value, err)
		}
		id := fmt.Sprintf("%s/%d/%d", d.Topic, d.Partition, d.Offset)
		if id != string(m.Key) || !plantedValues[d.Value] || d.Code == "" {
			t.Fatalf("dead letter %s keyed %s: not a planted record", m.Value, m.Key)
		}
		seenMu.Lock()
		defer seenMu.Unlock()
		if f, ok := first[id]; ok && f != d {
			t.Fatalf("dead letter %s repeated with other content: %+v, %+v", id, f, d)
		}
		first[id] = d
		return id, true
	}, len(plantedValues), 60*time.Second)
	if len(source) != len(plantedValues) || len(dead) != len(source) {
		t.Fatalf("%d distinct dead letters, %d planted (%d found in the usage topic)", len(dead), len(plantedValues), len(source))
	}
	for id := range source {
		if dead[id] == 0 {
			t.Fatalf("planted record %s missing from the dead-letter topic", id)
		}
	}
	repeats := 0
	for _, n := range dead {
		repeats += n - 1
	}
	t.Logf("%d dead letters (%d repeated after a leader change)", len(dead), repeats)
	// The ledger topic: every line item, repeats only with the identical hash.
	seen := map[uint64]string{}
	highest := map[int]uint64{} // per partition: in order, or a repeat of what came before
	readAll(t, addr, kafkabridge.DefaultLedgerTopic, func(m kafka.Message) (string, bool) {
		var r kafkabridge.LedgerRecord
		if err := json.Unmarshal(m.Value, &r); err != nil {
			t.Fatalf("ledger record %s: %v", m.Value, err)
		}
		seenMu.Lock()
		defer seenMu.Unlock()
		h, repeat := seen[r.Seq]
		if repeat && h != r.Hash {
			t.Fatalf("seq %d published twice with different hashes %s, %s", r.Seq, h, r.Hash)
		}
		if !repeat && r.Seq < highest[m.Partition] {
			t.Fatalf("partition %d: seq %d after %d, and not a repeat", m.Partition, r.Seq, highest[m.Partition])
		}
		highest[m.Partition] = max(highest[m.Partition], r.Seq)
		seen[r.Seq] = r.Hash
		return strconv.FormatUint(r.Seq, 10), true
	}, int(want), 120*time.Second)
	for seq := uint64(1); seq <= want; seq++ {
		if seen[seq] != hashes[seq] {
			t.Fatalf("ledger topic: seq %d has hash %q, the ledger %q", seq, seen[seq], hashes[seq])
		}
	}
}

// readAll reads every partition of a topic until `distinct` distinct ids were seen or the
// time is up, and counts each id.
func readAll(t *testing.T, addr, topic string, id func(kafka.Message) (string, bool), distinct int, limit time.Duration) map[string]int {
	t.Helper()
	out := map[string]int{}
	var mu sync.Mutex
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var wg sync.WaitGroup
	for p := 0; p < partitions; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, Topic: topic, Partition: p, MaxWait: 100 * time.Millisecond})
			defer r.Close()
			for {
				mu.Lock()
				done := len(out) >= distinct
				mu.Unlock()
				if done {
					return
				}
				rctx, rcancel := context.WithTimeout(ctx, 500*time.Millisecond)
				m, err := r.FetchMessage(rctx)
				rcancel()
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					continue
				}
				if k, ok := id(m); ok {
					mu.Lock()
					out[k]++
					mu.Unlock()
				}
			}
		}(p)
	}
	wg.Wait()
	return out
}
