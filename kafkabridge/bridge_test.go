package kafkabridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/internal/kafkatest"
	"github.com/cloudledger/cloudledger/ledger"
)

// directNode applies proposals straight to a ledger, like a single-node Raft would. It can
// be told to apply an entry and then report an unknown outcome (ErrLeadershipLost).
type directNode struct {
	l       *ledger.Ledger
	mu      sync.Mutex
	index   uint64
	unknown int // the next this many proposals apply, then fail
}

func (n *directNode) IsLeader() bool                  { return true }
func (n *directNode) Ready(ctx context.Context) error { return nil }

func (n *directNode) Propose(_ context.Context, reqs []ledger.Submission) ([]ledger.SubmissionResult, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.index++
	out := n.l.ApplyBatch([]ledger.Entry{{Index: n.index, Data: ledger.EncodeProposal(&ledger.Proposal{RecordedAt: time.Now(), Submissions: reqs})}})
	res := out[0].(*ledger.ProposalResult)
	if n.unknown > 0 {
		n.unknown--
		return nil, errors.New("leadership lost while committing: outcome unknown")
	}
	return res.Submissions, nil
}

func kfakeBroker(t *testing.T, partitions int) string {
	return kafkatest.Broker(t, partitions, DefaultUsageTopic, DefaultDLQTopic, DefaultLedgerTopic)
}

func produce(t *testing.T, addr string, values ...string) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(addr), Topic: DefaultUsageTopic, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond,
		Balancer: kafka.BalancerFunc(func(kafka.Message, ...int) int { return 0 })}
	defer w.Close()
	var msgs []kafka.Message
	for _, v := range values {
		msgs = append(msgs, kafka.Message{Value: []byte(v)})
	}
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
}

func usage(i int, project string) string {
	return fmt.Sprintf(`{"time":"2026-10-01T10:%02d:00+08:00","op":"usage","department":"d1","project":"%s","provider":"p1","resource":"b1","item":"oss.egress","kind":"standard","quantity":%d}`,
		i, project, i+1)
}

func newLedger(t *testing.T, n *directNode) {
	l, err := ledger.Open(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	n.l = l
	day := func(s string) calendar.Date { d, _ := calendar.ParseDate(s); return d }
	_, err = n.Propose(context.Background(), []ledger.Submission{{Actor: "seed", Commands: []ledger.Command{
		{Key: "d1", Body: &ledger.SetDepartment{Department: ledger.Department{ID: "d1", Name: "d", Funding: ledger.FundingBudget}}},
		{Key: "p1", Body: &ledger.SetProvider{Provider: ledger.Provider{ID: "p1", Name: "p", ContractStart: day("2025-01-01"), ContractEnd: day("2027-12-31")}}},
		{Key: "prj1", Body: &ledger.SetProjectQuota{Project: "prj1", Department: "d1", Name: "x", QuotaClass: "vcpu", Quota: decimal.RequireFromString("1")}},
		{Key: "egress", Body: &ledger.SetCatalogPrice{Item: "oss.egress", Name: "e", Category: "c", Unit: "GB", Billing: ledger.BillingMetered,
			Proration: ledger.ProrationDaily, Price: decimal.RequireFromString("0.8"), EffectiveFrom: day("2025-01-01")}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Issue 5: records without a key of their own are keyed by topic/partition/offset; a batch
// whose outcome was unknown and is proposed again changes nothing; the refused and the
// undecodable records reach the dead-letter topic once each, with their source values.
func TestBridgeAppliesOnceAndDeadLettersBySourceOffset(t *testing.T) {
	addr := kfakeBroker(t, 1)
	n := &directNode{}
	newLedger(t, n)
	base := n.l.Head().Seq
	n.unknown = 1 // the first batch commits but its proposer hears nothing
	produce(t, addr, usage(0, "prj1"), `{"not json`, usage(2, "nope"), usage(3, "prj1"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := New(Config{Brokers: []string{addr}, Logger: slog.New(slog.DiscardHandler)}, n, n.l)
	done := make(chan struct{})
	go func() { defer close(done); b.Run(ctx) }()
	waitFor(t, "the dead letters to be published", func() bool { return n.l.Published(DLQStream) == 2 })
	if got := n.l.Head().Seq - base; got != 2 {
		t.Fatalf("%d line items, want 2", got)
	}
	if got := n.l.KafkaOffset(DefaultUsageTopic, 0); got != 4 {
		t.Fatalf("next offset %d, want 4", got)
	}
	var keys []string
	_ = n.l.LineItems(base+1, func(li *ledger.LineItem) bool { keys = append(keys, li.Key); return true })
	if strings.Join(keys, " ") != "kafka:cloudledger.usage/0/0 kafka:cloudledger.usage/0/3" {
		t.Fatalf("keys %v", keys)
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, Topic: DefaultDLQTopic, Partition: 0, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	for i, want := range []DeadLetter{
		{Seq: 1, Topic: DefaultUsageTopic, Partition: 0, Offset: 1, Code: "malformed", Value: `{"not json`},
		{Seq: 2, Topic: DefaultUsageTopic, Partition: 0, Offset: 2, Code: "resource_mismatch", Value: usage(2, "nope")},
	} {
		rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
		m, err := r.ReadMessage(rctx)
		rcancel()
		if err != nil {
			t.Fatal(err)
		}
		var got DeadLetter
		if err := json.Unmarshal(m.Value, &got); err != nil {
			t.Fatal(err)
		}
		want.Reason = got.Reason
		if got != want || got.Reason == "" || string(m.Key) != fmt.Sprintf("cloudledger.usage/0/%d", want.Offset) {
			t.Fatalf("dead letter %d: %+v keyed %s, want %+v", i, got, m.Key, want)
		}
	}
	cancel()
	<-done
}

// Issue 5, must show 3: records deleted from the log past the replicated next offset (here
// 2 of 6 handled, the first 5 deleted) stop the partition, loudly; nothing is applied.
func TestBridgeStopsAtAGapAfterHandledRecords(t *testing.T) {
	addr := kfakeBroker(t, 1)
	n := &directNode{}
	newLedger(t, n)
	// The replicated position says 2 records were handled; the log loses its first 5.
	if _, err := n.Propose(context.Background(), []ledger.Submission{{Actor: "t", Commands: []ledger.Command{
		{Body: &ledger.AdvanceOffsets{Topic: DefaultUsageTopic, Partition: 0, Next: 2}}}}}); err != nil {
		t.Fatal(err)
	}
	produce(t, addr, usage(0, "prj1"), usage(1, "prj1"), usage(2, "prj1"), usage(3, "prj1"), usage(4, "prj1"), usage(5, "prj1"))
	kafkatest.DeleteRecords(t, addr, DefaultUsageTopic, 0, 5)
	head := n.l.Head().Seq
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := New(Config{Brokers: []string{addr}, Logger: slog.New(slog.DiscardHandler)}, n, n.l)
	go b.Run(ctx)
	waitFor(t, "the partition to stop", func() bool { s := b.Status(); return len(s) == 1 && s[0].Stopped })
	s := b.Status()[0]
	if s.NextOffset != 2 || !strings.Contains(s.Error, "expected offset 2, the log now starts at 5") || n.l.Head().Seq != head {
		t.Fatalf("status %+v, %d line items after the gap", s, n.l.Head().Seq-head)
	}
}
