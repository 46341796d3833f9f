package ledger

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/cloudledger/cloudledger/errcode"
)

const usageTopic = "cloudledger.usage"

func usage(res, qty, when string) *Event {
	return &Event{Op: OpUsage, Time: at(when), Department: "d1", Project: "prj1", Provider: "p1", Resource: res, Item: "oss.egress",
		Kind: KindStandard, Quantity: dec(qty)}
}

// batch is partition 0's records at offsets from.., one per event; a nil event is a record
// the leader could not decode.
func batch(from int64, events ...*Event) *AdvanceOffsets {
	b := &AdvanceOffsets{Topic: usageTopic, From: from, Next: from + int64(len(events))}
	for i, e := range events {
		r := KafkaRecord{Offset: from + int64(i), Key: "kafka:" + usageTopic + "/0/" + string(rune('a'+i)), Event: e}
		if e == nil {
			r.Code, r.Reason = errcode.Malformed, "not JSON"
		}
		b.Records = append(b.Records, r)
	}
	return b
}

func (f *fixture) deadLetters() []DeadLetter {
	f.t.Helper()
	d, err := f.l.DeadLetters(1, 1000)
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

// Issue 5: a batch and its offset advance round-trip through the canonical encoding.
func TestKafkaCommandsRoundTrip(t *testing.T) {
	for _, b := range []Body{
		batch(7, usage("b1", "1.5", "2026-03-02T10:00:00+08:00"), nil, usage("b2", "2", "2026-03-02T11:00:00+08:00")),
		&AdvanceOffsets{Topic: usageTopic, Partition: 3, From: 10, Next: 12},
		&MarkPublished{Stream: "ledger", Seq: 1 << 40},
	} {
		got, err := DecodeBody(EncodeBody(b))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(EncodeBody(got), EncodeBody(b)) || got.Type() != b.Type() {
			t.Fatalf("round trip of %T changed it", b)
		}
	}
	bad := batch(0, usage("b1", "1", "2026-03-02T10:00:00+08:00"))
	bad.Records[0].Offset = 5 // beyond Next
	if err := ValidateCommand(Command{Body: bad}); err == nil || err.Code != errcode.InvalidValue {
		t.Fatalf("a record outside the batch's offsets: %v", err)
	}
}

// Issue 5: one refused or undecodable record neither blocks its partition nor undoes the
// other records of its batch; it becomes a dead letter in the replicated outbox, and the
// offset moves past the whole batch. Bookkeeping writes no line item of its own.
func TestKafkaBatchAppliesEachRecordOnItsOwn(t *testing.T) {
	f := newFixture(t)
	f.seed()
	head := f.l.Head().Seq
	wrongProject := usage("b3", "4", "2026-03-02T12:00:00+08:00")
	wrongProject.Project = "nope"
	r := f.propose(Command{Body: batch(0,
		usage("b1", "1.5", "2026-03-02T10:00:00+08:00"),
		nil,
		wrongProject,
		usage("b2", "2", "2026-03-02T11:00:00+08:00"),
	)})
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if got := f.l.Head().Seq - head; got != 2 {
		t.Fatalf("%d line items written, want the 2 good records", got)
	}
	if got := f.l.KafkaOffset(usageTopic, 0); got != 4 {
		t.Fatalf("next offset %d, want 4", got)
	}
	dead := f.deadLetters()
	want := []DeadLetter{
		{Seq: 1, Topic: usageTopic, Partition: 0, Offset: 1, Code: errcode.Malformed, Reason: "not JSON"},
		{Seq: 2, Topic: usageTopic, Partition: 0, Offset: 2, Code: errcode.UnknownProject},
	}
	if len(dead) != 2 || f.l.DeadLetterCount() != 2 {
		t.Fatalf("dead letters %+v", dead)
	}
	for i := range want {
		want[i].Reason = dead[i].Reason
		if dead[i] != want[i] || dead[i].Reason == "" {
			t.Fatalf("dead letter %d: %+v, want %+v", i, dead[i], want[i])
		}
	}
}

// Issue 5: a batch proposed again (an unknown outcome, a new leader) changes nothing; a
// batch overlapping the handled offsets applies only the new ones; a batch that would skip
// offsets is refused whole.
func TestKafkaBatchAppliesEveryOffsetOnce(t *testing.T) {
	f := newFixture(t)
	f.seed()
	first := batch(0, usage("b1", "1", "2026-03-02T10:00:00+08:00"), nil)
	f.propose(Command{Body: first})
	head, digest := f.l.Head(), f.digest()
	if r := f.propose(Command{Body: first}); r.Err != nil || f.l.Head().Hash != head.Hash || f.digest() != digest {
		t.Fatalf("the same batch again changed the ledger: %+v", r)
	}
	// Offsets 0..3: 0 and 1 were handled (1 is a dead letter already), 2 and 3 are new.
	overlap := batch(0, usage("b1", "1", "2026-03-02T10:00:00+08:00"), nil, usage("b1", "2", "2026-03-02T10:30:00+08:00"), nil)
	overlap.Records[2].Key = "own-key-2"
	if r := f.propose(Command{Body: overlap}); r.Err != nil {
		t.Fatal(r.Err)
	}
	if got := f.l.Head().Seq - head.Seq; got != 1 {
		t.Fatalf("the overlapping batch wrote %d line items, want 1", got)
	}
	if dead := f.deadLetters(); len(dead) != 2 || dead[0].Offset != 1 || dead[1].Offset != 3 {
		t.Fatalf("dead letters %+v: want offsets 1 and 3, once each", dead)
	}
	head, digest = f.l.Head(), f.digest()
	r := f.propose(Command{Body: batch(9, usage("b1", "3", "2026-03-02T11:00:00+08:00"))})
	if r.Err == nil || r.Err.Code != errcode.KafkaOffsetGap {
		t.Fatalf("a batch from offset 9 after next offset 4: %+v", r)
	}
	if f.l.Head().Hash != head.Hash || f.digest() != digest || f.l.KafkaOffset(usageTopic, 0) != 4 {
		t.Fatal("a refused batch changed the ledger")
	}
	// A record whose own key was used with other content is a dead letter, not a block.
	clash := batch(4, usage("b1", "5", "2026-03-02T12:00:00+08:00"))
	clash.Records[0].Key = "own-key-2"
	if r := f.propose(Command{Body: clash}); r.Err != nil {
		t.Fatal(r.Err)
	}
	if dead := f.deadLetters(); len(dead) != 3 || dead[2].Code != errcode.IdempotencyConflict || f.l.KafkaOffset(usageTopic, 0) != 5 {
		t.Fatalf("dead letters %+v", dead)
	}
}

// Issue 5: positions move forward only, and the offsets, marks and outbox survive a restart
// and a snapshot.
func TestKafkaPositionsMoveForwardAndSurviveSnapshots(t *testing.T) {
	f := newFixture(t)
	f.seed()
	head := f.l.Head().Seq
	f.propose(Command{Body: &AdvanceOffsets{Topic: usageTopic, Partition: 2, Next: 500}}, Command{Body: &MarkPublished{Stream: "ledger", Seq: 7}})
	f.propose(Command{Body: &AdvanceOffsets{Topic: usageTopic, Partition: 2, Next: 400}}, Command{Body: &MarkPublished{Stream: "ledger", Seq: 3}})
	f.propose(Command{Body: batch(0, nil, usage("b1", "1", "2026-03-02T10:00:00+08:00"))})
	if got := f.l.Head().Seq; got != head+1 {
		t.Fatalf("bookkeeping wrote line items: head %d → %d", head, got)
	}
	f.reopen()
	if got := f.l.KafkaOffset(usageTopic, 2); got != 500 {
		t.Fatalf("offset %d, want 500 (never backwards)", got)
	}
	if got := f.l.Published("ledger"); got != 7 {
		t.Fatalf("published %d, want 7", got)
	}
	wantDead := f.deadLetters()
	other := restoredCopy(t, f.l)
	gotDead, err := other.DeadLetters(1, 10)
	if err != nil || !reflect.DeepEqual(gotDead, wantDead) || len(gotDead) != 1 {
		t.Fatalf("restored dead letters %+v (%v), want %+v", gotDead, err, wantDead)
	}
	if !reflect.DeepEqual(other.KafkaOffsets(), f.l.KafkaOffsets()) || other.Published("ledger") != 7 {
		t.Fatalf("restored offsets %v", other.KafkaOffsets())
	}
	if r := f.propose(Command{Body: &AdvanceOffsets{Topic: "t", Partition: -1, Next: 1}}); r.Err == nil || r.Err.Code != errcode.InvalidValue {
		t.Fatalf("negative partition: %+v", r)
	}
}
