package ledger

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
)

type calendarMonth = calendar.Month

var parseMonth = calendar.ParseMonth

func (f *fixture) reopen() {
	f.t.Helper()
	path := f.l.path
	if err := f.l.Close(); err != nil {
		f.t.Fatal(err)
	}
	l, err := Open(path)
	if err != nil {
		f.t.Fatal(err)
	}
	f.l = l
	f.t.Cleanup(func() { l.Close() })
}

// restoredCopy is a new ledger restored from a snapshot of l, closed when the test ends.
func restoredCopy(t *testing.T, l *Ledger) *Ledger {
	t.Helper()
	snap, err := l.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := snap.Persist(&buf); err != nil {
		t.Fatal(err)
	}
	snap.Release()
	other, err := Open(filepath.Join(t.TempDir(), "other.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	if err := other.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	return other
}

func populated(t *testing.T) *fixture {
	f := newFixture(t)
	f.seed()
	f.ok(alloc("vm1", "ecs.vcpu", KindStandard, "10", time.Time{}))
	f.ok(alloc("t1", "ecs.vcpu", KindTest, "5", endOf("2026-03-20")))
	f.ok(change(OpExpand, "vm1", "2.5", "2026-03-05T00:00:00+08:00"))
	f.propose(Command{Body: &Tick{}})
	return f
}

// A restart reloads the same state and never applies an entry twice.
func TestRestartKeepsStateAndSkipsApplied(t *testing.T) {
	f := populated(t)
	d, head := f.digest(), f.l.Head()
	f.reopen()
	if f.digest() != d || f.l.Head() != head {
		t.Fatal("state differs after reopen")
	}
	// Raft replays an entry at or below the applied index after a crash: it must be a no-op.
	data := EncodeProposal(&Proposal{RecordedAt: f.now, Submissions: []Submission{{Actor: "x", Commands: []Command{
		{Key: "replayed", Body: alloc("vm9", "ecs.vcpu", KindStandard, "1", time.Time{})}}}}})
	f.l.ApplyBatch([]Entry{{Index: f.index, Data: data}})
	if f.digest() != d {
		t.Fatal("an already-applied index was applied again")
	}
}

// Snapshot and restore carry the whole state, and two ledgers fed the same log agree byte
// for byte (SPEC.md, Rating: "every node … produces byte-identical output").
func TestSnapshotRestoreAndDeterminism(t *testing.T) {
	f := populated(t)
	other := restoredCopy(t, f.l)
	g := &fixture{t: t, l: other}
	if g.digest() != f.digest() || other.AppliedIndex() != f.l.AppliedIndex() {
		t.Fatal("restored state differs")
	}
	if _, err := other.Verify(); err != nil {
		t.Fatal(err)
	}

	// Replay the same entries into a fresh ledger: same digest, same chain.
	replica := newFixture(t)
	replica.seed()
	replica.ok(alloc("vm1", "ecs.vcpu", KindStandard, "10", time.Time{}))
	replica.ok(alloc("t1", "ecs.vcpu", KindTest, "5", endOf("2026-03-20")))
	replica.ok(change(OpExpand, "vm1", "2.5", "2026-03-05T00:00:00+08:00"))
	replica.propose(Command{Body: &Tick{}})
	if replica.digest() != f.digest() {
		t.Fatal("two ledgers fed the same log differ")
	}
}

// Verify detects any alteration of a stored line item.
func TestVerifyDetectsTampering(t *testing.T) {
	f := populated(t)
	head, err := f.l.Verify()
	if err != nil {
		t.Fatal(err)
	}
	if head.Seq == 0 {
		t.Fatal("empty chain")
	}
	path := f.l.path
	f.l.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		var k [8]byte
		binary.BigEndian.PutUint64(k[:], 3)
		b := tx.Bucket(bucketLineItems)
		v := bytes.Clone(b.Get(k[:]))
		// change the actor's first byte: "test" → "best"
		i := bytes.Index(v, []byte("test"))
		v[i] = 'b'
		return b.Put(k[:], v)
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Verify(); err == nil || !strings.Contains(err.Error(), "line item 3") {
		t.Fatalf("tampering not detected: %v", err)
	}
}

// A bad Raft entry is a result, never a panic, and changes nothing.
func TestBadEntryIsAResult(t *testing.T) {
	f := populated(t)
	d := f.digest()
	for _, data := range [][]byte{nil, {0}, {1, 2, 3}, {proposalVersion, 0xff, 0xff, 0xff}, []byte("garbage garbage")} {
		f.index++
		res := f.l.ApplyBatch([]Entry{{Index: f.index, Data: data}})[0].(*ProposalResult)
		if res.Err == nil {
			t.Fatalf("entry %x accepted", data)
		}
	}
	if f.digest() != d {
		t.Fatal("a bad entry changed the ledger")
	}
}

// A dry run sees its own earlier rows and changes nothing.
func TestDryRun(t *testing.T) {
	f := newFixture(t)
	f.seed()
	d := f.digest()
	dry := f.l.NewDryRun()
	r1 := dry.Apply(Submission{Commands: []Command{{Key: "a", Body: alloc("vm1", "ecs.vcpu", KindStandard, "100", time.Time{})}}}, f.now)
	r2 := dry.Apply(Submission{Commands: []Command{{Key: "b", Body: change(OpExpand, "vm1", "80", "2026-03-03T00:00:00+08:00")}}}, f.now)
	r3 := dry.Apply(Submission{Commands: []Command{{Key: "c", Body: change(OpExpand, "vm1", "1", "2026-03-03T00:00:00+08:00")}}}, f.now)
	if r1.Err != nil || r2.Err != nil || r3.Err == nil || r3.Err.Code != errcode.QuotaOverrun {
		t.Fatalf("dry run: %v %v %v", r1.Err, r2.Err, r3.Err)
	}
	if f.digest() != d {
		t.Fatal("a dry run changed the ledger")
	}
}
