package ledger

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cloudledger/cloudledger/errcode"
)

const (
	TypeAdvanceOffsets CommandType = 13 // Kafka: next offset of a partition (bookkeeping)
	TypeMarkPublished  CommandType = 14 // Kafka: last sequence published (bookkeeping)
)

// The Kafka bridge's replicated positions change no money and write no line item of their
// own (the records of a batch write theirs), need no idempotency key, and are idempotent by
// construction (a position only moves forward).
func init() {
	register(TypeAdvanceOffsets, "kafka_offsets", noLineItem, func() Body { return new(AdvanceOffsets) })
	register(TypeMarkPublished, "kafka_published", noLineItem, func() Body { return new(MarkPublished) })
}

// AdvanceOffsets is one batch of a Kafka partition: the records read from offset From and
// the partition's new next offset, in one command of one Raft entry. Applying it:
//   - does nothing when the replicated next offset is already at or past Next (the batch was
//     proposed again after an unknown outcome, or by a new leader that read it again);
//   - refuses the whole batch (kafka_offset_gap) when From is past the replicated next offset:
//     records in between would be skipped;
//   - applies each record at or past the replicated next offset on its own — a refused record
//     neither blocks nor undoes the others — and records a refused (or undecodable) one as a
//     dead letter in the replicated outbox;
//   - moves the next offset to Next.
//
// So every offset of the partition is handled exactly once, and the set of dead letters is
// exactly the refused records, whatever the leader changes.
type AdvanceOffsets struct {
	Topic     string
	Partition int32
	From      int64 // the replicated next offset the batch was read from
	Next      int64 // one past the last offset the batch covers
	Records   []KafkaRecord
}

// KafkaRecord is one record of a batch. Event is nil for a record the leader could not
// decode; Code and Reason then say why.
type KafkaRecord struct {
	Offset int64
	Key    string // its own idempotency key, or one derived from topic/partition/offset
	Event  *Event
	Code   Code
	Reason string
}

// MarkPublished records the last sequence published to an outgoing stream (the line items,
// or the dead-letter outbox), so a new leader resumes publishing after it. Marks only move
// forward.
type MarkPublished struct {
	Stream string
	Seq    uint64
}

// DeadLetter is an entry of the replicated dead-letter outbox: a record of a Kafka
// partition that was not applied, and why. Seq numbers the outbox from 1.
type DeadLetter struct {
	Seq       uint64 `json:"seq"`
	Topic     string `json:"source_topic"`
	Partition int32  `json:"source_partition"`
	Offset    int64  `json:"source_offset"`
	Code      Code   `json:"code"`
	Reason    string `json:"reason"`
}

// Limits of a Kafka batch.
const (
	MaxKafkaBatchRecords = MaxCommandsPerBatch
	maxDeadLetterReason  = MaxTextLen
)

func (*AdvanceOffsets) Type() CommandType { return TypeAdvanceOffsets }
func (*MarkPublished) Type() CommandType  { return TypeMarkPublished }

func (b *AdvanceOffsets) encode(e *encoder) {
	e.str(b.Topic)
	e.varint(int64(b.Partition))
	e.varint(b.From)
	e.varint(b.Next)
	e.uvarint(uint64(len(b.Records)))
	for _, r := range b.Records {
		e.varint(r.Offset)
		e.str(r.Key)
		if r.Event != nil {
			e.u8(1)
			r.Event.encode(e)
			continue
		}
		e.u8(0)
		e.str(string(r.Code))
		e.str(r.Reason)
	}
}

func (b *AdvanceOffsets) decode(d *decoder) {
	b.Topic = d.str(MaxIDLen)
	b.Partition = int32(d.varint())
	b.From = d.varint()
	b.Next = d.varint()
	n := d.uvarint()
	if d.err == nil && n > MaxKafkaBatchRecords {
		d.fail("too many records")
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		r := KafkaRecord{Offset: d.varint(), Key: d.str(MaxKeyLen)}
		switch d.u8() {
		case 1:
			r.Event = &Event{}
			r.Event.decodeEmbedded(d)
		case 0:
			r.Code = Code(d.str(MaxIDLen))
			r.Reason = d.str(maxDeadLetterReason)
		default:
			d.fail("record kind")
		}
		b.Records = append(b.Records, r)
	}
}

func (b *MarkPublished) encode(e *encoder) { e.str(b.Stream); e.uvarint(b.Seq) }
func (b *MarkPublished) decode(d *decoder) { b.Stream = d.str(MaxIDLen); b.Seq = d.uvarint() }

func (b *AdvanceOffsets) validate(rl rules) *Error {
	if err := rl.id("topic", b.Topic, true); err != nil {
		return err
	}
	if b.Partition < 0 || b.From < 0 || b.Next < b.From {
		return Errf(errcode.InvalidValue, "offset", "partition %d, offsets %d..%d: must not be negative or backwards", b.Partition, b.From, b.Next)
	}
	if len(b.Records) > MaxKafkaBatchRecords {
		return Errf(errcode.TooLarge, "records", "%d records in one batch, at most %d", len(b.Records), MaxKafkaBatchRecords)
	}
	prev := b.From - 1
	for _, r := range b.Records {
		if r.Offset <= prev || r.Offset >= b.Next {
			return Errf(errcode.InvalidValue, "offset", "record offset %d outside %d..%d or out of order", r.Offset, b.From, b.Next)
		}
		prev = r.Offset
		if r.Event == nil && r.Code == "" {
			return Errf(errcode.MissingField, "code", "a dead letter at offset %d has no code", r.Offset)
		}
		if r.Event != nil && r.Event.Request != "" {
			// The batch encoding has no room for it (and a provider's feed fulfils nothing).
			return Errf(errcode.InvalidValue, "request", "a Kafka record names no request (offset %d)", r.Offset)
		}
	}
	return nil
}

func (b *MarkPublished) validate(rl rules) *Error { return rl.id("stream", b.Stream, true) }

// partitionKey names a partition in the kafka_offsets table.
func partitionKey(topic string, partition int32) string {
	return topic + "/" + strconv.Itoa(int(partition))
}

func (b *MarkPublished) apply(t *txn, _ applyContext) *Error {
	if cur, _ := t.kafkaPublished.get(b.Stream); cur < b.Seq {
		t.kafkaPublished.put(b.Stream, b.Seq)
	}
	return nil
}

func (b *AdvanceOffsets) apply(t *txn, ctx applyContext) *Error {
	k := partitionKey(b.Topic, b.Partition)
	cur, _ := t.kafkaOffsets.get(k)
	if b.Next <= cur {
		return nil // handled before: every offset is applied once
	}
	if b.From > cur {
		return Errf(errcode.KafkaOffsetGap, "offset", "%s/%d: a batch from offset %d, the replicated next offset is %d: records would be skipped", b.Topic, b.Partition, b.From, cur)
	}
	if !t.applyRecordsAtOnce(b, cur, ctx) {
		t.applyRecordsOneByOne(b, cur, ctx)
	}
	t.kafkaOffsets.put(k, b.Next)
	return nil
}

// applyRecordsAtOnce is the common case: every decodable record applies, in one layer. On
// the first refusal it changes nothing and returns false. Either path leaves the same state.
func (t *txn) applyRecordsAtOnce(b *AdvanceOffsets, cur int64, ctx applyContext) bool {
	c := t.child()
	for _, r := range b.Records {
		if r.Offset < cur || r.Event == nil {
			continue
		}
		if _, err := c.applyCommand(Command{Key: r.Key, Body: r.Event}, ctx); err != nil {
			return false
		}
	}
	c.commit()
	for _, r := range b.Records {
		if r.Offset >= cur && r.Event == nil {
			t.addDeadLetter(b, r.Offset, r.Code, r.Reason)
		}
	}
	return true
}

// applyRecordsOneByOne applies each record in a layer of its own, so a refused one neither
// blocks nor undoes the others; it becomes a dead letter.
func (t *txn) applyRecordsOneByOne(b *AdvanceOffsets, cur int64, ctx applyContext) {
	for _, r := range b.Records {
		if r.Offset < cur {
			continue // applied by an earlier batch
		}
		code, reason := r.Code, r.Reason
		if r.Event != nil {
			c := t.child()
			_, err := c.applyCommand(Command{Key: r.Key, Body: r.Event}, ctx)
			if err == nil {
				c.commit()
				continue
			}
			code, reason = err.Code, err.Error()
		}
		t.addDeadLetter(b, r.Offset, code, reason)
	}
}

func (t *txn) addDeadLetter(b *AdvanceOffsets, offset int64, code Code, reason string) {
	t.deadLetterN++
	t.deadLetters.put(t.deadLetterN, &DeadLetter{Seq: t.deadLetterN, Topic: b.Topic, Partition: b.Partition, Offset: offset,
		Code: code, Reason: truncate(reason, maxDeadLetterReason)})
}

// truncate cuts s to at most n bytes, dropping a rune cut in two.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// KafkaOffset is the next offset to consume of a partition (0 when none was recorded).
func (l *Ledger) KafkaOffset(topic string, partition int32) int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	n, _ := l.root.kafkaOffsets.get(partitionKey(topic, partition))
	return n
}

// Published is the last sequence published to a stream (0 when none).
func (l *Ledger) Published(stream string) uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	n, _ := l.root.kafkaPublished.get(stream)
	return n
}

// DeadLetterCount is the number of entries of the dead-letter outbox.
func (l *Ledger) DeadLetterCount() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.root.deadLetterN
}

// DeadLetters returns up to limit outbox entries from sequence from on. A missing entry
// breaks an invariant of our own state (the outbox is dense): an error.
func (l *Ledger) DeadLetters(from uint64, limit int) ([]DeadLetter, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	n := l.root.deadLetterN
	var out []DeadLetter
	for seq := max(from, 1); seq <= n && len(out) < limit; seq++ {
		d, ok := l.root.deadLetters.get(seq)
		if !ok || d.Seq != seq {
			return out, fmt.Errorf("ledger: dead letter %d of %d missing", seq, n)
		}
		out = append(out, *d)
	}
	return out, nil
}

// KafkaOffsets lists every recorded partition position, "topic/partition" → next offset.
func (l *Ledger) KafkaOffsets() map[string]int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := map[string]int64{}
	l.root.kafkaOffsets.each(func(k string, n int64) { out[k] = n })
	return out
}
