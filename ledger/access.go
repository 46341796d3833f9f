package ledger

import (
	"encoding/binary"
	"fmt"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"github.com/cloudledger/cloudledger/errcode"
)

// The access trail (SPEC: Access; 等保 2.0 level 3 security audit): every sign-in, call and
// export, as a chain of its own beside the line items — sha256(previous ‖ record) — so the
// trail is tamper-evident like the ledger without numbering line items. Nodes collect their
// records and propose them in groups (AppendAccess), so the trail costs one Raft entry per
// group, not one per call. Records past their retention (SPEC: at least 180 days) leave the
// live state for sealed archive files (access_archive.go); the chain runs on across them.
const TypeAppendAccess CommandType = 28

func init() {
	register(TypeAppendAccess, "access_records", noLineItem, func() Body { return new(AppendAccess) })
}

// Limits of the trail.
const (
	MaxAccessRecordsPerEntry = 10_000
	maxAccessField           = 512
	// MaxAccessFieldBytes is what a field of a record keeps; Bound cuts the rest.
	MaxAccessFieldBytes = maxAccessField
)

// Bound cuts every field of the record to MaxAccessFieldBytes, marking the cut with the
// bytes left out, so that the trail never refuses a record (issue 22: one sign-in with a
// 600-byte account name used to make every later batch undecodable) and a cut value is
// never mistaken for a whole one.
func (r *AccessRecord) Bound() {
	for _, f := range []*string{&r.Account, &r.Role, &r.Address, &r.Node, &r.Procedure, &r.Target, &r.Result} {
		*f = boundField(*f)
	}
}

func boundField(v string) string {
	if len(v) <= MaxAccessFieldBytes {
		return v
	}
	mark := fmt.Sprintf("…[cut %d bytes]", len(v))
	keep := MaxAccessFieldBytes - len(mark)
	for keep > 0 && !utf8.RuneStart(v[keep]) { // never split a character
		keep--
	}
	return v[:keep] + mark
}

var bucketAccess = []byte("access_trail")

// AccessRecord is one entry of the access trail.
type AccessRecord struct {
	Seq       uint64    `json:"seq"`
	Time      time.Time `json:"time"` // the serving node's clock when the call ended
	Account   string    `json:"account"`
	Role      string    `json:"role"`
	Address   string    `json:"address"` // the caller's address (the original one for a forwarded call)
	Node      string    `json:"node"`    // the node that served the call
	Procedure string    `json:"procedure"`
	Target    string    `json:"target"` // department=…, provider=…, year=…
	Result    string    `json:"result"` // ok, or the error code
	Hash      Hash      `json:"-"`
}

// Denied reports whether the record is a refusal by role or scope.
func (r *AccessRecord) Denied() bool { return r.Result == string(errcode.PermissionDenied) }

func (r *AccessRecord) encodeFields(e *encoder) {
	e.tm(r.Time)
	e.str(r.Account)
	e.str(r.Role)
	e.str(r.Address)
	e.str(r.Node)
	e.str(r.Procedure)
	e.str(r.Target)
	e.str(r.Result)
}

func (r *AccessRecord) decodeFields(d *decoder) {
	r.Time = d.tm()
	r.Account, r.Role, r.Address, r.Node = d.str(maxAccessField), d.str(maxAccessField), d.str(maxAccessField), d.str(maxAccessField)
	r.Procedure, r.Target, r.Result = d.str(maxAccessField), d.str(maxAccessField), d.str(maxAccessField)
}

// canonical is the encoding hashed into the trail's chain: the sequence and the fields.
func (r *AccessRecord) canonical() []byte {
	e := encoder{b: make([]byte, 0, 128)}
	e.uvarint(r.Seq)
	r.encodeFields(&e)
	return e.b
}

// AppendAccess appends records to the access trail. Their order is the order they arrive
// in committed entries, so every node holds the same chain.
type AppendAccess struct{ Records []AccessRecord }

func (*AppendAccess) Type() CommandType { return TypeAppendAccess }

func (b *AppendAccess) encode(e *encoder) {
	e.uvarint(uint64(len(b.Records)))
	for i := range b.Records {
		b.Records[i].encodeFields(e)
	}
}

func (b *AppendAccess) decode(d *decoder) {
	n := d.uvarint()
	if n > MaxAccessRecordsPerEntry {
		d.fail("access records")
		return
	}
	b.Records = make([]AccessRecord, n)
	for i := range b.Records {
		b.Records[i].decodeFields(d)
	}
}

func (b *AppendAccess) validate(rules) *Error {
	if len(b.Records) == 0 || len(b.Records) > MaxAccessRecordsPerEntry {
		return Errf(errcode.TooLarge, "records", "%d access records; 1 to %d per entry", len(b.Records), MaxAccessRecordsPerEntry)
	}
	for i := range b.Records {
		r := &b.Records[i]
		for _, f := range []string{r.Account, r.Role, r.Address, r.Node, r.Procedure, r.Target, r.Result} {
			if len(f) > maxAccessField {
				return Errf(errcode.TooLarge, "records", "access record %d has a field of %d bytes (at most %d: Bound it)", i, len(f), maxAccessField)
			}
		}
	}
	return nil
}

func (b *AppendAccess) apply(t *txn, _ applyContext) *Error {
	for i := range b.Records {
		r := b.Records[i]
		t.access.append(&r)
	}
	return nil
}

// accessChain is the trail's head and the records a txn layer appended.
type accessChain struct {
	seq   uint64
	head  Hash
	added []*AccessRecord
	// archived is the last record that left the live state for an archive (records
	// 1..archived are in archive files; the flush moves them).
	archived uint64
}

func (c accessChain) child() accessChain {
	return accessChain{seq: c.seq, head: c.head, archived: c.archived}
}

func (c *accessChain) merge(ch accessChain) {
	c.seq, c.head, c.archived = ch.seq, ch.head, ch.archived
	c.added = append(c.added, ch.added...)
}

func (c *accessChain) append(r *AccessRecord) {
	r.Seq = c.seq + 1
	r.Hash = chainHash(c.head, r.canonical())
	c.seq, c.head = r.Seq, r.Hash
	c.added = append(c.added, r)
}

// flushAccess writes the records appended since the last flush and the trail's head.
func flushAccess(tx *bolt.Tx, c *accessChain, flushedSeq uint64, archiveDir string) error {
	b := tx.Bucket(bucketAccess)
	b.FillPercent = 1.0
	next := flushedSeq + 1
	var k [8]byte
	for _, r := range c.added {
		invariant(r.Seq == next, InvSeqDense, "flushing access record %d after %d", r.Seq, next-1)
		next++
		binary.BigEndian.PutUint64(k[:], r.Seq)
		v := append(r.canonical(), r.Hash[:]...)
		if err := b.Put(k[:], v); err != nil {
			return err
		}
	}
	m := tx.Bucket(bucketMeta)
	if err := putUint(m, "access_seq", c.seq); err != nil {
		return err
	}
	if err := m.Put([]byte("access_head"), c.head[:]); err != nil {
		return err
	}
	return archiveAccess(tx, c.archived, archiveDir)
}

func decodeAccessRecord(v []byte) (*AccessRecord, []byte, error) {
	if len(v) < len(Hash{}) {
		return nil, nil, Errf(errcode.Malformed, "", "stored access record too short")
	}
	canon := v[:len(v)-len(Hash{})]
	d := decoder{b: canon}
	r := &AccessRecord{Seq: d.uvarint()}
	r.decodeFields(&d)
	d.done()
	if d.err != nil {
		return nil, nil, d.err
	}
	copy(r.Hash[:], v[len(canon):])
	return r, canon, nil
}

// AccessFilter selects records of the trail; zero fields select everything.
type AccessFilter struct {
	From, To time.Time // From ≤ Time < To
	Account  string
	Result   string // ok | denied | failed (any error but a refusal)
	AfterSeq uint64
	Limit    int
}

func (f AccessFilter) match(r *AccessRecord) bool {
	if (!f.From.IsZero() && r.Time.Before(f.From)) || (!f.To.IsZero() && !r.Time.Before(f.To)) {
		return false
	}
	if f.Account != "" && r.Account != f.Account {
		return false
	}
	switch f.Result {
	case "ok":
		return r.Result == "ok"
	case "denied":
		return r.Denied()
	case "failed":
		return r.Result != "ok" && !r.Denied()
	}
	return true
}

// AccessRecords returns the records that match f, oldest first, at most f.Limit (0: all),
// and the sequence to continue after (0 when there is no more).
func (l *Ledger) AccessRecords(f AccessFilter) ([]AccessRecord, uint64, error) {
	l.ensureFlushed()
	var out []AccessRecord
	var next uint64
	err := l.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAccess).Cursor()
		var k [8]byte
		binary.BigEndian.PutUint64(k[:], f.AfterSeq+1)
		for key, v := c.Seek(k[:]); key != nil; key, v = c.Next() {
			r, _, err := decodeAccessRecord(v)
			if err != nil {
				return err
			}
			if !f.match(r) {
				continue
			}
			if f.Limit > 0 && len(out) == f.Limit {
				next = out[len(out)-1].Seq
				return nil
			}
			out = append(out, *r)
		}
		return nil
	})
	return out, next, err
}

// VerifyAccessTrail re-computes the trail's chain from the first record and compares it
// with the stored hashes and head.
func (l *Ledger) VerifyAccessTrail() (uint64, Hash, *Error) {
	l.ensureFlushed()
	var n, wantSeq uint64
	var head, want Hash
	var bad *Error
	err := l.db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		wantSeq = getUint(m, "access_seq")
		copy(want[:], m.Get([]byte("access_head")))
		// Archived records are checked in their files (ledgerctl access verify --archive);
		// the live chain continues from the last one's hash.
		n = getUint(m, metaAccessArchivedSeq)
		copy(head[:], m.Get([]byte(metaAccessArchivedHead)))
		return tx.Bucket(bucketAccess).ForEach(func(k, v []byte) error {
			r, canon, err := decodeAccessRecord(v)
			if err != nil {
				bad = Errf(errcode.TrailBroken, "", "access record at key %x: %v", k, err)
				return bad
			}
			if r.Seq != n+1 || binary.BigEndian.Uint64(k) != r.Seq {
				bad = Errf(errcode.TrailBroken, "", "access record %d follows %d", r.Seq, n)
				return bad
			}
			if h := chainHash(head, canon); h != r.Hash {
				bad = Errf(errcode.TrailBroken, "", "access record %d does not match its hash", r.Seq)
				return bad
			}
			n, head = r.Seq, r.Hash
			return nil
		})
	})
	if bad != nil {
		return n, head, bad
	}
	if err != nil {
		return n, head, Errf(errcode.Internal, "", "reading the access trail: %v", err)
	}
	if n != wantSeq || head != want {
		return n, head, Errf(errcode.TrailBroken, "", "the trail holds %d records ending in %s; its head says %d ending in %s", n, head, wantSeq, want)
	}
	return n, head, nil
}

// accessOnly reports whether an entry carries nothing but access: the trail's records and
// the bookkeeping of sign-ins and sign-outs. Such entries do not move the state index
// (SPEC: reads name the state index), so that page views and sign-ins between two reads of
// unchanged figures leave them naming one index and exporting the same bytes.
func (p *Proposal) accessOnly() bool {
	for _, r := range p.Submissions {
		for _, c := range r.Commands {
			switch c.Body.Type() {
			case TypeAppendAccess, TypeSignInAttempt, TypeSignInResult, TypeSessionEnd:
			default:
				return false
			}
		}
	}
	return len(p.Submissions) > 0
}
