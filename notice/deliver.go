package notice

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudledger/cloudledger/ledger"
)

// Defaults of the delivery (ledgerd's --notice-* flags).
const (
	DefaultTimeout     = 10 * time.Second // one attempt, connection to the last byte of the answer
	DefaultRetryBase   = 2 * time.Second  // the wait after the first failure; doubled after each
	DefaultRetryMax    = 10 * time.Minute // the longest wait between attempts
	DefaultMaxAttempts = 10               // then the notice is dead (about 34 minutes of trying)
	pollInterval       = 100 * time.Millisecond
	maxInFlight        = 4
	maxAnswerBytes     = 64 << 10
)

// Config is where and how notices are posted.
type Config struct {
	URL         string // the receiver (e.g. the government messaging gateway); the recipient is in the body
	Secret      []byte // HMAC key, the same on every node
	Timeout     time.Duration
	RetryBase   time.Duration
	RetryMax    time.Duration
	MaxAttempts int
	Client      *http.Client // default: one with Timeout
	Log         *slog.Logger
	Now         func() time.Time
}

// Node is what delivery needs of the Raft node: whether it leads, and a way to record.
type Node interface {
	IsLeader() bool
	Propose(ctx context.Context, reqs []ledger.Submission) ([]ledger.SubmissionResult, error)
}

// Deliverer posts the outbox while its node leads.
type Deliverer struct {
	cfg    Config
	node   Node
	ledger *ledger.Ledger

	mu       sync.Mutex
	schedule map[string]*attempts // by notice id: this leader's attempts so far
	inFlight map[string]bool

	// Counters for /metrics.
	Delivered, FailedAttempts, Dead atomic.Int64
}

// attempts is this leader's record of one notice: how many failed, when to try next
// (guarded by Deliverer.mu).
type attempts struct {
	n    int
	next time.Time
}

// New makes a deliverer; Run starts it.
func New(cfg Config, node Node, l *ledger.Ledger) *Deliverer {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = DefaultRetryBase
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = DefaultRetryMax
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Deliverer{cfg: cfg, node: node, ledger: l, schedule: map[string]*attempts{}, inFlight: map[string]bool{}}
}

// Run delivers until ctx ends. Off the leader it forgets its attempts: the next leader
// counts its own.
func (d *Deliverer) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !d.node.IsLeader() {
			d.mu.Lock()
			clear(d.schedule)
			d.mu.Unlock()
			continue
		}
		now := d.cfg.Now()
		for _, n := range d.ledger.PendingNotices(1000) {
			d.mu.Lock()
			a := d.schedule[n.ID]
			if a == nil {
				a = &attempts{}
				d.schedule[n.ID] = a
			}
			busy := d.inFlight[n.ID] || len(d.inFlight) >= maxInFlight || now.Before(a.next)
			if !busy {
				d.inFlight[n.ID] = true
			}
			d.mu.Unlock()
			if busy {
				continue
			}
			wg.Add(1)
			go func(n ledger.Notice) {
				defer wg.Done()
				d.attempt(ctx, n, a)
				d.mu.Lock()
				delete(d.inFlight, n.ID)
				d.mu.Unlock()
			}(n)
		}
	}
}

// attempt posts a notice once and records what that came to.
func (d *Deliverer) attempt(ctx context.Context, notice ledger.Notice, a *attempts) {
	err := d.post(ctx, notice)
	if ctx.Err() != nil {
		return
	}
	if err == nil {
		d.Delivered.Add(1)
		d.record(ctx, &ledger.NoticeOutcome{ID: notice.ID, Outcome: ledger.NoticeDelivered, At: d.cfg.Now()})
		return
	}
	d.FailedAttempts.Add(1)
	d.mu.Lock()
	a.n++
	n := a.n
	wait := d.cfg.RetryBase << min(n-1, 30)
	if wait > d.cfg.RetryMax || wait <= 0 {
		wait = d.cfg.RetryMax
	}
	a.next = d.cfg.Now().Add(wait)
	d.mu.Unlock()
	d.cfg.Log.Warn("notice: delivery failed", "notice", notice.ID, "attempt", n, "of", d.cfg.MaxAttempts, "retry_in", wait, "err", err)
	if n >= d.cfg.MaxAttempts {
		d.Dead.Add(1)
		d.record(ctx, &ledger.NoticeOutcome{ID: notice.ID, Outcome: ledger.NoticeDead, At: d.cfg.Now(),
			Error: fmt.Sprintf("%d attempts; the last: %v", n, err)})
	}
}

// record proposes an outcome; on failure the notice stays pending and is tried again.
func (d *Deliverer) record(ctx context.Context, o *ledger.NoticeOutcome) {
	req := ledger.Submission{Actor: "system", Commands: []ledger.Command{{Body: o}}}
	if _, err := d.node.Propose(ctx, []ledger.Submission{req}); err != nil {
		d.cfg.Log.Warn("notice: recording the outcome", "notice", o.ID, "outcome", o.Outcome, "err", err)
		return
	}
	d.mu.Lock()
	delete(d.schedule, o.ID)
	d.mu.Unlock()
}

// post sends one attempt: 2xx is delivered, anything else (or no answer within the
// timeout) a failure.
func (d *Deliverer) post(ctx context.Context, n ledger.Notice) error {
	body := Body(n)
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	ts := d.cfg.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "CloudLedger-Notices/1")
	req.Header.Set(HeaderDelivery, n.ID)
	req.Header.Set(HeaderTimestamp, fmt.Sprint(ts))
	req.Header.Set(HeaderSignature, Sign(d.cfg.Secret, ts, body))
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswerBytes))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}
