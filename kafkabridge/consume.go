package kafkabridge

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cloudledger/cloudledger/apimap"
	"github.com/cloudledger/cloudledger/errcode"
	"github.com/cloudledger/cloudledger/ledger"
)

// ErrGap stops a partition whose next offset is no longer in the log.
var ErrGap = errors.New("offset gap")

// RecordKey is the idempotency key of a record without a "key" of its own.
func RecordKey(topic string, partition int, offset int64) string {
	return "kafka:" + topic + "/" + strconv.Itoa(partition) + "/" + strconv.FormatInt(offset, 10)
}

// consume reads one partition from its replicated next offset until ctx ends. A gap stops
// it until an operator moves the replicated offset (Skip), then it resumes from there.
func (b *Bridge) consume(ctx context.Context, p int) {
	for ctx.Err() == nil {
		stoppedAt, gap := b.consumeUntilGap(ctx, p)
		if !gap {
			return
		}
		for ctx.Err() == nil && b.ledger.KafkaOffset(b.cfg.UsageTopic, int32(p)) == stoppedAt {
			sleep(ctx, time.Second)
		}
	}
}

// consumeUntilGap reads a partition until ctx ends (false) or a gap at the returned offset
// stops it (true).
func (b *Bridge) consumeUntilGap(ctx context.Context, p int) (int64, bool) {
	topic := b.cfg.UsageTopic
	next := b.ledger.KafkaOffset(topic, int32(p))
	b.setStatus(p, next, nil)
	for ctx.Err() == nil {
		err := b.checkOffset(ctx, p, next)
		if err == nil {
			break
		}
		if errors.Is(err, ErrGap) {
			b.stopPartition(p, next, err)
			return next, true
		}
		b.log.Warn("kafka: reading the partition's offsets", "partition", p, "err", err)
		sleep(ctx, time.Second)
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: b.cfg.Brokers, Topic: topic, Partition: p, Dialer: b.cfg.Dialer,
		MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 100 * time.Millisecond, QueueCapacity: maxBatchRecords})
	defer r.Close()
	if err := r.SetOffset(next); err != nil {
		b.log.Error("kafka: set offset", "partition", p, "offset", next, "err", err)
		return next, false
	}
	parser, err := apimap.NewEventRecordParser()
	if err != nil {
		panic(err) // events records have keys: a bug
	}
	for ctx.Err() == nil {
		batch, err := b.fetch(ctx, r)
		if err != nil {
			if ctx.Err() != nil {
				continue
			}
			b.log.Warn("kafka: fetch", "partition", p, "err", err)
			if errors.Is(err, kafka.OffsetOutOfRange) {
				if gerr := b.checkOffset(ctx, p, next); errors.Is(gerr, ErrGap) {
					b.stopPartition(p, next, gerr)
					return next, true
				}
			}
			sleep(ctx, idlePoll)
			continue
		}
		for len(batch) > 0 && batch[0].Offset < next {
			batch = batch[1:] // never expected: the reader starts at next
		}
		if len(batch) == 0 {
			continue
		}
		if batch[0].Offset > next {
			// kafka-go jumps to the earliest offset when ours fell out of retention. Holes
			// left by compaction or transaction markers are fine; lost records are not.
			if err := b.checkOffset(ctx, p, next); err != nil {
				if errors.Is(err, ErrGap) {
					b.stopPartition(p, next, err)
					return next, true
				}
				b.log.Warn("kafka: reading the partition's offsets", "partition", p, "err", err)
				next = b.resync(ctx, r, p)
				continue
			}
		}
		cmd := b.batchCommand(parser, p, next, batch)
		if err := b.propose(ctx, p, cmd); err != nil {
			if ctx.Err() != nil {
				return next, false
			}
			// Leadership wavered or the batch was refused: start again from the replicated
			// offset (this node may lead again without Run noticing the gap in between).
			b.log.Warn("kafka: apply", "partition", p, "err", err)
			sleep(ctx, idlePoll)
			next = b.resync(ctx, r, p)
			continue
		}
		RecordsHandled.Add(int64(len(cmd.Records)))
		next = cmd.Next
		b.setStatus(p, next, nil)
		b.setLag(p, r.Lag())
	}
	return next, false
}

func (b *Bridge) resync(ctx context.Context, r *kafka.Reader, p int) int64 {
	next := b.ledger.KafkaOffset(b.cfg.UsageTopic, int32(p))
	if err := r.SetOffset(next); err != nil && ctx.Err() == nil {
		b.log.Error("kafka: set offset", "partition", p, "offset", next, "err", err)
	}
	b.setStatus(p, next, nil)
	return next
}

// Skip moves the replicated next offset of a partition stopped at a gap to `to`: an
// operator's decision, proposed through Raft and logged; the records in between are never
// applied. Leader only; a partition that is not stopped is refused.
func (b *Bridge) Skip(ctx context.Context, p int, to int64) error {
	b.mu.Lock()
	st := b.status[p]
	stopped := st != nil && st.Stopped
	b.mu.Unlock()
	if !stopped {
		return fmt.Errorf("partition %d is not stopped at a gap here", p)
	}
	cur := b.ledger.KafkaOffset(b.cfg.UsageTopic, int32(p))
	if to <= cur {
		return fmt.Errorf("partition %d is already at offset %d", p, cur)
	}
	cmd := &ledger.AdvanceOffsets{Topic: b.cfg.UsageTopic, Partition: int32(p), From: cur, Next: to}
	if err := b.propose(ctx, p, cmd); err != nil {
		return err
	}
	b.log.Warn("kafka: an operator skipped offsets: the records in between are not applied", "topic", b.cfg.UsageTopic, "partition", p, "from", cur, "to", to)
	return nil
}

func (b *Bridge) stopPartition(p int, next int64, err error) {
	Gaps.Add(1)
	b.setStatus(p, next, err)
	b.log.Error("kafka: partition stopped: records would be lost; nothing is skipped, an operator must decide",
		"topic", b.cfg.UsageTopic, "partition", p, "err", err)
}

// checkOffset returns an ErrGap when next is no longer (or not yet) in the partition's log:
// below its first offset (retention or deleted records) or above its end (a recreated topic).
func (b *Bridge) checkOffset(ctx context.Context, p int, next int64) error {
	first, last, err := b.offsets(ctx, p)
	if err != nil {
		return err
	}
	switch {
	case next < first:
		return fmt.Errorf("%w: %s/%d: expected offset %d, the log now starts at %d", ErrGap, b.cfg.UsageTopic, p, next, first)
	case next > last:
		return fmt.Errorf("%w: %s/%d: expected offset %d, the log ends at %d (was the topic recreated?)", ErrGap, b.cfg.UsageTopic, p, next, last)
	}
	return nil
}

// offsets are the first offset of a partition's log and the offset after its last record.
func (b *Bridge) offsets(ctx context.Context, p int) (first, last int64, err error) {
	for _, broker := range b.cfg.Brokers {
		var conn *kafka.Conn
		conn, err = b.cfg.Dialer.DialLeader(ctx, "tcp", broker, b.cfg.UsageTopic, p)
		if err != nil {
			continue
		}
		first, last, err = conn.ReadOffsets()
		conn.Close()
		if err == nil {
			return first, last, nil
		}
	}
	return 0, 0, err
}

// fetch blocks for one record, then takes what arrives within batchLinger.
func (b *Bridge) fetch(ctx context.Context, r *kafka.Reader) ([]kafka.Message, error) {
	m, err := r.FetchMessage(ctx)
	if err != nil {
		return nil, err
	}
	batch := []kafka.Message{m}
	lctx, cancel := context.WithTimeout(ctx, batchLinger)
	defer cancel()
	for len(batch) < maxBatchRecords {
		m, err := r.FetchMessage(lctx)
		if err != nil {
			break
		}
		batch = append(batch, m)
	}
	return batch, nil
}

// batchCommand decodes a batch read from offset from. A record that cannot be decoded is
// carried as a dead letter with its code and reason; the state machine records it.
func (b *Bridge) batchCommand(parser *apimap.EventRecordParser, p int, from int64, batch []kafka.Message) *ledger.AdvanceOffsets {
	cmd := &ledger.AdvanceOffsets{Topic: b.cfg.UsageTopic, Partition: int32(p), From: from, Next: batch[len(batch)-1].Offset + 1,
		Records: make([]ledger.KafkaRecord, 0, len(batch))}
	for _, m := range batch {
		key := RecordKey(m.Topic, m.Partition, m.Offset)
		c, perr := parser.Parse(m.Value, key)
		r := ledger.KafkaRecord{Offset: m.Offset, Key: key}
		if perr != nil {
			r.Code, r.Reason = perr.Code, perr.Error()
		} else if e, ok := c.Body.(*ledger.Event); ok {
			r.Key, r.Event = c.Key, e
		} else {
			r.Code, r.Reason = errcode.Malformed, "not an event"
		}
		cmd.Records = append(cmd.Records, r)
	}
	return cmd
}

// propose applies a batch in one Raft entry. While the outcome is unknown it proposes the
// same batch again: the state machine handles each offset once, so a batch that did commit
// changes nothing the second time.
func (b *Bridge) propose(ctx context.Context, p int, cmd *ledger.AdvanceOffsets) error {
	req := []ledger.Submission{{Actor: "kafka:" + b.cfg.UsageTopic, Commands: []ledger.Command{{Body: cmd}}}}
	for {
		if !b.node.IsLeader() {
			return errors.New("not the leader")
		}
		res, err := b.node.Propose(ctx, req)
		if err == nil {
			if res[0].Err != nil {
				return fmt.Errorf("partition %d: the batch %d..%d was refused: %w", p, cmd.From, cmd.Next, res[0].Err)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		b.log.Warn("kafka: propose (trying the same batch again)", "partition", p, "err", err)
		sleep(ctx, idlePoll)
	}
}
