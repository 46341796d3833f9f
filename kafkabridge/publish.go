package kafkabridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cloudledger/cloudledger/ledger"
	"github.com/cloudledger/cloudledger/notice"
)

// LedgerRecord is the value of a record of the ledger topic; its key is the department.
type LedgerRecord struct {
	Seq        uint64          `json:"seq"`
	RaftIndex  uint64          `json:"raft_index"`
	Hash       string          `json:"hash"`
	Key        string          `json:"key"`
	Type       string          `json:"type"`
	Actor      string          `json:"actor"`
	RecordedAt time.Time       `json:"recorded_at"`
	Department string          `json:"department,omitempty"`
	Body       json.RawMessage `json:"body"`
}

// DeadLetter is the value of a dead-letter record; its key is "topic/partition/offset" of
// the source record. Seq numbers the dead letters from 1 in the order they were decided.
type DeadLetter struct {
	Seq       uint64 `json:"seq"`
	Topic     string `json:"source_topic"`
	Partition int    `json:"source_partition"`
	Offset    int64  `json:"source_offset"`
	Code      string `json:"code"`
	Reason    string `json:"reason"`
	Value     string `json:"value"`
	// ValueMissing: the source record was no longer in the usage topic when the dead
	// letter was published (retention), so Value is empty.
	ValueMissing bool `json:"value_missing,omitempty"`
}

// collect returns the messages of a stream from sequence from on, and the last sequence
// they cover (0: nothing to publish yet).
type collect func(ctx context.Context, from uint64) ([]kafka.Message, uint64, error)

// publish sends everything of a replicated stream after its published mark, in sequence
// order, then records the new mark through Raft. A failure starts again from the mark, here
// or on the next leader, with identical records.
func (b *Bridge) publish(ctx context.Context, topic, stream string, next collect) {
	w := b.writer(topic)
	defer w.Close()
	for ctx.Err() == nil {
		from := b.ledger.Published(stream) + 1
		msgs, last, err := next(ctx, from)
		if err != nil {
			b.log.Error("kafka: reading what to publish", "stream", stream, "from", from, "err", err)
			sleep(ctx, time.Second)
			continue
		}
		if len(msgs) == 0 {
			sleep(ctx, idlePoll)
			continue
		}
		if !b.node.IsLeader() {
			sleep(ctx, idlePoll) // a deposed leader stops writing at once; Run stops the rest
			continue
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			if ctx.Err() == nil {
				b.log.Warn("kafka: publishing", "topic", topic, "from", from, "err", err)
				sleep(ctx, idlePoll)
			}
			continue
		}
		mark := ledger.Submission{Actor: "kafka", Commands: []ledger.Command{{Body: &ledger.MarkPublished{Stream: stream, Seq: last}}}}
		if _, err := b.node.Propose(ctx, []ledger.Submission{mark}); err != nil {
			if ctx.Err() == nil {
				b.log.Warn("kafka: recording the published mark", "stream", stream, "seq", last, "err", err)
				sleep(ctx, idlePoll)
			}
			continue
		}
		switch stream {
		case LedgerStream:
			LineItemsSent.Add(int64(len(msgs)))
		case DLQStream:
			DeadLettersSent.Add(int64(len(msgs)))
		default:
			NoticesSent.Add(int64(len(msgs)))
		}
	}
}

// lineItems collects committed line items for the ledger topic.
func (b *Bridge) lineItems(_ context.Context, from uint64) ([]kafka.Message, uint64, error) {
	var msgs []kafka.Message
	var last uint64
	err := b.ledger.LineItems(from, func(li *ledger.LineItem) bool {
		msgs = append(msgs, b.ledgerMessage(li))
		last = li.Seq
		return len(msgs) < publishBatch
	})
	return msgs, last, err
}

func (b *Bridge) ledgerMessage(li *ledger.LineItem) kafka.Message {
	rec := LedgerRecord{Seq: li.Seq, RaftIndex: li.RaftIndex, Hash: li.Hash.String(), Key: li.Key, Type: ledger.TypeName(li.Body.Type()),
		Actor: li.Actor, RecordedAt: li.RecordedAt}
	if e, ok := li.Body.(*ledger.Event); ok {
		rec.Department = e.Department
		if rec.Department == "" {
			if r, ok := b.ledger.Resource(e.Resource); ok {
				rec.Department = r.Department
			}
		}
	}
	rec.Body, _ = json.Marshal(li.Body)
	v, _ := json.Marshal(rec)
	return kafka.Message{Key: []byte(rec.Department), Value: v}
}

// notices collects the notice outbox for the notices topic, keyed by the recipient
// ("supervisor" for the supervisor's), the value the webhook's payload.
func (b *Bridge) notices(_ context.Context, from uint64) ([]kafka.Message, uint64, error) {
	ns := b.ledger.Notices(from, publishBatch)
	if len(ns) == 0 {
		return nil, 0, nil
	}
	msgs := make([]kafka.Message, len(ns))
	for i, n := range ns {
		key := n.Recipient
		if key == "" {
			key = n.Party
		}
		msgs[i] = kafka.Message{Key: []byte(key), Value: notice.Body(n), Headers: []kafka.Header{{Key: notice.HeaderDelivery, Value: []byte(n.ID)}}}
	}
	return msgs, ns[len(ns)-1].Seq, nil
}

// deadLetters collects entries of the replicated outbox for the dead-letter topic, each
// with its source record's value read back from the usage topic.
func (b *Bridge) deadLetters(ctx context.Context, from uint64) ([]kafka.Message, uint64, error) {
	entries, err := b.ledger.DeadLetters(from, publishBatch)
	if err != nil || len(entries) == 0 {
		return nil, 0, err
	}
	conns := map[int]*kafka.Conn{}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	msgs := make([]kafka.Message, 0, len(entries))
	for _, e := range entries {
		d := DeadLetter{Seq: e.Seq, Topic: e.Topic, Partition: int(e.Partition), Offset: e.Offset, Code: string(e.Code), Reason: e.Reason}
		value, err := b.sourceValue(ctx, conns, e)
		switch {
		case errors.Is(err, errSourceGone):
			d.ValueMissing = true
		case err != nil:
			return nil, 0, fmt.Errorf("reading the source of dead letter %d (%s/%d/%d): %w", e.Seq, e.Topic, e.Partition, e.Offset, err)
		}
		d.Value = string(value)
		v, _ := json.Marshal(d)
		msgs = append(msgs, kafka.Message{Key: []byte(e.Topic + "/" + strconv.Itoa(d.Partition) + "/" + strconv.FormatInt(e.Offset, 10)), Value: v})
	}
	return msgs, entries[len(entries)-1].Seq, nil
}

var errSourceGone = errors.New("the source record is no longer in its topic")

// sourceValue reads one record of the usage topic by offset, on a connection per partition.
func (b *Bridge) sourceValue(ctx context.Context, conns map[int]*kafka.Conn, e ledger.DeadLetter) ([]byte, error) {
	p := int(e.Partition)
	conn := conns[p]
	if conn == nil {
		var err error
		for _, broker := range b.cfg.Brokers {
			if conn, err = b.cfg.Dialer.DialLeader(ctx, "tcp", broker, e.Topic, p); err == nil {
				break
			}
		}
		if err != nil {
			return nil, err
		}
		conns[p] = conn
	}
	if _, err := conn.Seek(e.Offset, kafka.SeekAbsolute); err != nil {
		return nil, err
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	batch := conn.ReadBatch(1, 16<<20)
	defer batch.Close()
	for {
		m, err := batch.ReadMessage()
		if err != nil {
			if errors.Is(err, kafka.OffsetOutOfRange) {
				return nil, errSourceGone
			}
			return nil, err
		}
		if m.Offset == e.Offset {
			return m.Value, nil
		}
		if m.Offset > e.Offset {
			return nil, errSourceGone // compacted away
		}
	}
}

func (b *Bridge) writer(topic string) *kafka.Writer {
	// BatchTimeout: kafka-go's default of 1 s would hold every synchronous write that long.
	return &kafka.Writer{Addr: kafka.TCP(b.cfg.Brokers...), Topic: topic, Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll,
		BatchTimeout: 2 * time.Millisecond, BatchSize: publishBatch, Transport: &kafka.Transport{Dial: b.cfg.Dialer.DialFunc, SASL: b.cfg.Dialer.SASLMechanism, TLS: b.cfg.Dialer.TLS}}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
