package kafka

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cloudledger/cloudledger/internal/kafkatest"
	"github.com/cloudledger/cloudledger/internal/testcluster"
	"github.com/cloudledger/cloudledger/kafkabridge"
)

// Issue 5, must show 3: when the partition's next offset is no longer in the log (deleted
// by retention), consumption of that partition stops and says so; nothing is skipped.
func TestOffsetGapStopsThePartition(t *testing.T) {
	addr := broker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// 100 records on partition 0, then the log start moves to 50 before the ledger read any.
	w := &kafka.Writer{Addr: kafka.TCP(addr), Topic: kafkabridge.DefaultUsageTopic, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond,
		Balancer: kafka.BalancerFunc(func(kafka.Message, ...int) int { return 0 })}
	var msgs []kafka.Message
	for i := 0; i < 100; i++ {
		k, v, _ := record(i * 64) // one resource, in time order
		msgs = append(msgs, kafka.Message{Key: []byte(k), Value: v})
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	w.Close()
	kafkatest.DeleteRecords(t, addr, kafkabridge.DefaultUsageTopic, 0, 50)

	c := testcluster.Start(t, 1, testcluster.Options{ExtraArgs: []string{"--kafka-brokers", addr}})
	c.WaitLeader(20 * time.Second)
	type status struct {
		Partitions []kafkabridge.PartitionStatus `json:"partitions"`
		Gaps       int64                         `json:"gaps"`
	}
	var st status
	for {
		r, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.Nodes[0].URL+"/kafka", nil)
		r.Header.Set("Authorization", "Bearer "+testcluster.Token)
		resp, err := c.HTTP.Do(r)
		if err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
		}
		if len(st.Partitions) > 0 && st.Partitions[0].Stopped {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("partition 0 never stopped: %+v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	p0 := st.Partitions[0]
	if p0.NextOffset != 0 || st.Gaps < 1 || p0.Error == "" {
		t.Fatalf("partition 0: %+v, gaps %d; want stopped at offset 0 with an error", p0, st.Gaps)
	}
	if log := c.Log(c.Nodes[0]); !strings.Contains(log, "partition stopped") || !strings.Contains(log, "expected offset 0, the log now starts at 50") {
		t.Fatalf("no loud error in the log:\n%s", log)
	}
	// Nothing of the partition was applied: the ledger holds only the admin token and the
	// bootstrap accounts.
	if s, err := c.Status(ctx, c.Nodes[0]); err != nil || s.LineItems > 2 {
		t.Fatalf("line items after a gap: %+v %v", s, err)
	}
	// An operator decides: without the token nothing moves; with it the partition resumes at
	// offset 50. (The master data is not loaded, so the records become dead letters.)
	skip := func(token string) int {
		r, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.Nodes[0].URL+"/kafka/skip", strings.NewReader(`{"partition":0,"to":50}`))
		r.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.HTTP.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := skip("wrong"); code == http.StatusOK {
		t.Fatal("skip without the admin token was accepted")
	}
	if code := skip(testcluster.Token); code != http.StatusOK {
		t.Fatalf("skip: HTTP %d", code)
	}
	for {
		r, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.Nodes[0].URL+"/kafka", nil)
		r.Header.Set("Authorization", "Bearer "+testcluster.Token) // SPEC: Access — /kafka needs a role
		resp, err := c.HTTP.Do(r)
		var rep kafkabridge.Report
		if err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&rep)
			resp.Body.Close()
		}
		if len(rep.Partitions) > 0 && !rep.Partitions[0].Stopped && rep.Partitions[0].NextOffset == 100 && rep.DeadLettersPublished == 50 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("partition 0 did not resume after the skip: %+v", rep)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
