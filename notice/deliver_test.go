package notice

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/ledger"
)

// localNode applies proposals straight to a ledger: a one-node "cluster" that always leads.
type localNode struct {
	mu     sync.Mutex
	l      *ledger.Ledger
	index  uint64
	leader atomic.Bool
}

func (n *localNode) IsLeader() bool { return n.leader.Load() }

func (n *localNode) Propose(_ context.Context, reqs []ledger.Submission) ([]ledger.SubmissionResult, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.index++
	data := ledger.EncodeProposal(&ledger.Proposal{RecordedAt: time.Date(2026, 9, 29, 10, 0, 0, 0, calendar.Shanghai), Submissions: reqs})
	res := n.l.ApplyBatch([]ledger.Entry{{Index: n.index, Data: data}})[0].(*ledger.ProposalResult)
	if res.Err != nil {
		return nil, res.Err
	}
	return res.Submissions, nil
}

func (n *localNode) ok(t *testing.T, bodies ...ledger.Body) {
	t.Helper()
	for i, b := range bodies {
		res, err := n.Propose(context.Background(), []ledger.Submission{{Actor: "test", Commands: []ledger.Command{{Key: "k" + time.Now().Format("150405.000000000") + string(rune('a'+i)), Body: b}}}})
		if err != nil || res[0].Err != nil {
			t.Fatalf("%T: %v %v", b, err, res)
		}
	}
}

// withTwoNotices is a ledger whose outbox holds two notices: an emergency resource's request
// waits for the supervisor (one), then the supervisor agrees (the department is told: two).
func withTwoNotices(t *testing.T) *localNode {
	l, err := ledger.Open(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	n := &localNode{l: l}
	n.leader.Store(true)
	n.ok(t,
		&ledger.SetDepartment{Department: ledger.Department{ID: "edu", Name: "教育局", Funding: ledger.FundingBudget}},
		&ledger.SetProvider{Provider: ledger.Provider{ID: "aliyun", Name: "阿里云", ContractStart: calendar.NewDate(2025, 1, 1), ContractEnd: calendar.NewDate(2027, 12, 31)}},
		&ledger.SetProjectQuota{Project: "edu-portal", Department: "edu", Name: "门户", QuotaClass: "vcpu", Quota: decimal.NewFromInt(100)},
		&ledger.SetCatalogPrice{Item: "ecs.vcpu", Name: "vCPU", Category: "IaaS", Unit: "核·月", Billing: ledger.BillingAllocation, QuotaClass: "vcpu",
			Proration: ledger.ProrationDaily, Price: decimal.NewFromInt(40), EffectiveFrom: calendar.NewDate(2025, 1, 1)},
		&ledger.SubmitRequest{Kind: ledger.RequestOpen, ResourceKind: ledger.KindEmergency, Department: "edu", Project: "edu-portal", Provider: "aliyun",
			Item: "ecs.vcpu", Quantity: decimal.NewFromInt(4), Expires: calendar.NewDate(2026, 11, 30).AddDays(1).Start()},
		&ledger.DecideRequest{ID: "REQ-000001", Decision: ledger.DecisionSupervise},
	)
	if got := len(l.Notices(0, 0)); got != 2 {
		t.Fatalf("%d notices", got)
	}
	return n
}

// Issue 15, must show 4: a receiver that fails the first three deliveries and times out on
// the fourth still gets each notice, always with the same delivery id, the same body and a
// valid signature; the outcome is on the ledger.
func TestRetriesKeepTheDeliveryID(t *testing.T) {
	node := withTwoNotices(t)
	secret := []byte("webhook-secret-of-the-test")
	type hit struct {
		id, body string
		signed   bool
	}
	var mu sync.Mutex
	var hits []hit
	perID := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id := r.Header.Get(HeaderDelivery)
		mu.Lock()
		hits = append(hits, hit{id, string(body), Verify(secret, r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), body, time.Now(), 5*time.Minute)})
		perID[id]++
		k := perID[id]
		mu.Unlock()
		switch {
		case k <= 3:
			http.Error(w, "busy", http.StatusInternalServerError)
		case k == 4:
			time.Sleep(400 * time.Millisecond) // past the 150 ms timeout
		}
	}))
	defer srv.Close()
	d := New(Config{URL: srv.URL, Secret: secret, Timeout: 150 * time.Millisecond, RetryBase: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond, MaxAttempts: 6}, node, node.l)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for len(node.l.PendingNotices(0)) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	for _, n := range node.l.Notices(0, 0) {
		if n.Delivery != ledger.NoticeDelivered {
			t.Fatalf("%s: %s (%s)", n.ID, n.Delivery, n.Error)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	bodies := map[string]string{}
	for _, h := range hits {
		if !h.signed {
			t.Fatalf("attempt of %s: the signature does not verify", h.id)
		}
		if b, ok := bodies[h.id]; ok && b != h.body {
			t.Fatalf("%s: a retry sent another body:\n%s\n%s", h.id, b, h.body)
		}
		bodies[h.id] = h.body
	}
	if len(perID) != 2 || perID["NTC-00000001"] != 5 || perID["NTC-00000002"] != 5 {
		t.Fatalf("attempts per delivery id: %v (want 5 each: 3 failures, a timeout, the delivery)", perID)
	}
	if d.FailedAttempts.Load() != 8 || d.Delivered.Load() != 2 {
		t.Fatalf("counters: %d failed, %d delivered", d.FailedAttempts.Load(), d.Delivered.Load())
	}
}

// A receiver that never answers well: the notice goes dead after MaxAttempts, and an
// operator's replay sends it again with the same id.
func TestDeadLetterAndReplay(t *testing.T) {
	node := withTwoNotices(t)
	var fail atomic.Bool
	fail.Store(true)
	var mu sync.Mutex
	got := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got[r.Header.Get(HeaderDelivery)]++
		mu.Unlock()
		if fail.Load() {
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	defer srv.Close()
	d := New(Config{URL: srv.URL, Secret: []byte("k"), Timeout: time.Second, RetryBase: 5 * time.Millisecond, RetryMax: 10 * time.Millisecond, MaxAttempts: 3}, node, node.l)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
	waitFor(t, func() bool { return len(node.l.PendingNotices(0)) == 0 })
	ns := node.l.Notices(0, 0)
	if ns[0].Delivery != ledger.NoticeDead || ns[0].Error == "" || got["NTC-00000001"] != 3 {
		t.Fatalf("%+v after %v", ns[0], got)
	}
	fail.Store(false)
	node.ok(t, &ledger.ReplayNotice{ID: "NTC-00000001"})
	waitFor(t, func() bool { return node.l.Notices(1, 1)[0].Delivery == ledger.NoticeDelivered })
	if ns := node.l.Notices(0, 0); ns[1].Delivery != ledger.NoticeDead || got["NTC-00000001"] != 4 {
		t.Fatalf("after the replay: %+v, attempts %v", ns, got)
	}
}

// Off the leader nothing is posted.
func TestOnlyTheLeaderDelivers(t *testing.T) {
	node := withTwoNotices(t)
	node.leader.Store(false)
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	d := New(Config{URL: srv.URL, Secret: []byte("k")}, node, node.l)
	ctx, cancel := context.WithCancel(context.Background())
	go d.Run(ctx)
	time.Sleep(5 * pollInterval)
	if hits.Load() != 0 {
		t.Fatalf("a follower posted %d notices", hits.Load())
	}
	node.leader.Store(true)
	waitFor(t, func() bool { return len(node.l.PendingNotices(0)) == 0 })
	cancel()
	if hits.Load() != 2 {
		t.Fatalf("%d posts", hits.Load())
	}
}

func TestVerifyRefusesAlteredAndOld(t *testing.T) {
	secret, body := []byte("s"), []byte(`{"delivery_id":"NTC-00000001"}`)
	now := time.Unix(1_790_000_000, 0)
	sig := Sign(secret, now.Unix(), body)
	ts := "1790000000"
	if !Verify(secret, ts, sig, body, now, time.Minute) {
		t.Fatal("a good signature refused")
	}
	for name, ok := range map[string]bool{
		"altered body": Verify(secret, ts, sig, []byte(`{"delivery_id":"NTC-00000002"}`), now, time.Minute),
		"other key":    Verify([]byte("t"), ts, sig, body, now, time.Minute),
		"old":          Verify(secret, ts, sig, body, now.Add(2*time.Minute), time.Minute),
		"other time":   Verify(secret, "1790000001", sig, body, now, time.Minute),
	} {
		if ok {
			t.Errorf("%s: accepted", name)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("timed out")
}
