package kafkabridge

import (
	"context"
	"expvar"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cloudledger/cloudledger/ledger"
)

// Defaults of the topics (SPEC-free names, configurable with ledgerd flags).
const (
	DefaultUsageTopic  = "cloudledger.usage"
	DefaultDLQTopic    = "cloudledger.usage.dlq"
	DefaultLedgerTopic = "cloudledger.ledger"
	// DefaultNoticesTopic carries the notice outbox (issue 15), the webhook's payload as value.
	DefaultNoticesTopic = "cloudledger.notices"
	// LedgerStream and DLQStream name the published marks in the replicated state.
	LedgerStream  = "ledger"
	DLQStream     = "dlq"
	NoticesStream = "notices"
)

// Limits of one batch.
const (
	maxBatchRecords = 5_000
	batchLinger     = 20 * time.Millisecond
	publishBatch    = 2_000
	idlePoll        = 100 * time.Millisecond
)

// Counters (expvar, on /debug/vars): partitions stopped by an offset gap, records handled
// (applied or dead-lettered), dead letters and line items published.
var (
	Gaps            = expvar.NewInt("cloudledger_kafka_partition_gaps")
	RecordsHandled  = expvar.NewInt("cloudledger_kafka_records_handled")
	DeadLettersSent = expvar.NewInt("cloudledger_kafka_dead_letters_published")
	LineItemsSent   = expvar.NewInt("cloudledger_kafka_line_items_published")
	NoticesSent     = expvar.NewInt("cloudledger_kafka_notices_published")
)

// Config configures the bridge.
type Config struct {
	Brokers     []string
	UsageTopic  string
	DLQTopic    string
	LedgerTopic string
	NoticeTopic string
	Dialer      *kafka.Dialer // TLS and SASL for real clusters; nil: plain TCP
	Logger      *slog.Logger
}

// Node is what the bridge needs of the server.
type Node interface {
	IsLeader() bool
	// Ready returns once this node leads and has applied everything committed before the
	// call, so the replicated positions it reads next are current.
	Ready(ctx context.Context) error
	// Propose applies the requests in one Raft entry and returns their results.
	Propose(ctx context.Context, reqs []ledger.Submission) ([]ledger.SubmissionResult, error)
}

// PartitionStatus is the state of one usage partition on this node.
type PartitionStatus struct {
	Partition  int    `json:"partition"`
	NextOffset int64  `json:"next_offset"`
	Stopped    bool   `json:"stopped"`
	Error      string `json:"error,omitempty"`
	// Lag is the records of the partition after NextOffset as of the last fetch (-1: not
	// known yet).
	Lag int64 `json:"lag"`
}

// Bridge runs ingestion and export while this node leads.
type Bridge struct {
	cfg    Config
	node   Node
	ledger *ledger.Ledger
	log    *slog.Logger

	mu     sync.Mutex
	status map[int]*PartitionStatus
}

// New returns a bridge; Run starts it.
func New(cfg Config, node Node, l *ledger.Ledger) *Bridge {
	if cfg.UsageTopic == "" {
		cfg.UsageTopic = DefaultUsageTopic
	}
	if cfg.DLQTopic == "" {
		cfg.DLQTopic = DefaultDLQTopic
	}
	if cfg.NoticeTopic == "" {
		cfg.NoticeTopic = DefaultNoticesTopic
	}
	if cfg.LedgerTopic == "" {
		cfg.LedgerTopic = DefaultLedgerTopic
	}
	if cfg.Dialer == nil {
		cfg.Dialer = &kafka.Dialer{Timeout: 10 * time.Second}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Bridge{cfg: cfg, node: node, ledger: l, log: log.With("component", "kafka"), status: map[int]*PartitionStatus{}}
}

// Report is what GET /kafka answers: this node's view of the bridge.
type Report struct {
	Enabled    bool              `json:"enabled"`
	Partitions []PartitionStatus `json:"partitions"` // consumed here while leading, or last consumed
	// Gaps counts partitions this process stopped because of an offset gap.
	Gaps int64 `json:"gaps"`
	// Replicated positions (the same on every node once applied).
	DeadLetters          uint64 `json:"dead_letters"`
	DeadLettersPublished uint64 `json:"dead_letters_published"`
	LineItemsPublished   uint64 `json:"line_items_published"`
}

// Report returns the partitions, counters and replicated positions.
func (b *Bridge) Report() Report {
	return Report{Enabled: true, Partitions: b.Status(), Gaps: Gaps.Value(), DeadLetters: b.ledger.DeadLetterCount(),
		DeadLettersPublished: b.ledger.Published(DLQStream), LineItemsPublished: b.ledger.Published(LedgerStream)}
}

// Status lists the partitions this node consumes, or last consumed.
func (b *Bridge) Status() []PartitionStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]PartitionStatus, 0, len(b.status))
	for _, s := range b.status {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Partition < out[j].Partition })
	return out
}

func (b *Bridge) setStatus(p int, next int64, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.status[p]
	if s == nil {
		s = &PartitionStatus{Partition: p, Lag: -1}
		b.status[p] = s
	}
	s.NextOffset = next
	s.Stopped, s.Error = err != nil, ""
	if err != nil {
		s.Error = err.Error()
	}
}

func (b *Bridge) setLag(p int, lag int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s := b.status[p]; s != nil {
		s.Lag = lag
	}
}

// Run consumes and publishes while this node is the leader, until ctx ends.
func (b *Bridge) Run(ctx context.Context) {
	var stop func() // non-nil while leading
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		leading := b.node.IsLeader()
		switch {
		case leading && stop == nil:
			stop = b.lead(ctx)
		case !leading && stop != nil:
			b.log.Info("kafka: no longer leading: stopping")
			stop()
			stop = nil
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// lead starts a consumer per usage partition and the three publishers; the returned function
// stops them and waits. It returns nil when the node is not ready to lead yet or the
// partitions cannot be listed yet (Run tries again).
func (b *Bridge) lead(ctx context.Context) func() {
	lctx, cancel := context.WithCancel(ctx)
	rctx, rcancel := context.WithTimeout(lctx, 10*time.Second)
	err := b.node.Ready(rctx)
	rcancel()
	if err != nil {
		b.log.Warn("kafka: waiting to lead", "err", err)
		cancel()
		return nil
	}
	parts, err := b.partitions(lctx)
	if err != nil {
		b.log.Warn("kafka: listing partitions", "topic", b.cfg.UsageTopic, "err", err)
		cancel()
		return nil
	}
	b.log.Info("kafka: leading: consuming and publishing", "partitions", len(parts))
	var wg sync.WaitGroup
	for _, p := range parts {
		wg.Add(1)
		go func(p int) { defer wg.Done(); b.consume(lctx, p) }(p)
	}
	wg.Add(3)
	go func() { defer wg.Done(); b.publish(lctx, b.cfg.LedgerTopic, LedgerStream, b.lineItems) }()
	go func() { defer wg.Done(); b.publish(lctx, b.cfg.NoticeTopic, NoticesStream, b.notices) }()
	go func() { defer wg.Done(); b.publish(lctx, b.cfg.DLQTopic, DLQStream, b.deadLetters) }()
	return func() { cancel(); wg.Wait() }
}

func (b *Bridge) partitions(ctx context.Context) ([]int, error) {
	var lastErr error
	for _, broker := range b.cfg.Brokers {
		ps, err := b.cfg.Dialer.LookupPartitions(ctx, "tcp", broker, b.cfg.UsageTopic)
		if err != nil {
			lastErr = err
			continue
		}
		out := make([]int, len(ps))
		for i, p := range ps {
			out[i] = p.ID
		}
		sort.Ints(out)
		return out, nil
	}
	return nil, lastErr
}
