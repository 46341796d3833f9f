package rating

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/ledger"
)

// A node keeps its charges current in memory; without a copy on disk, a restarted node
// would read every line item again before answering charges (issue 28: 49 s at 10,000,000).
// Save writes what Kept holds with the line item it was read up to (sequence and chain
// hash); Load takes such a file back only if the ledger's line item at that sequence has
// that hash — the chain hash covers every line item before it, so what was read is what
// the ledger holds — and the next read catches up from there. The file is derived, never
// replicated: deleting it costs a full read, nothing else.

// keptFileMagic starts the file; a change of layout changes it (an older file is then read
// again from the ledger).
const keptFileMagic = "CLOUDLEDGER-KEPT-CHARGES-1\n"

// keptDerivation names how what is kept is derived from the line items. Bump it with any
// change to what Kept.add, steps or the packed histories compute, even if the layout stays:
// a copy made by other code is then read again from the ledger instead of standing for
// what this code would keep.
const keptDerivation = 1

// ErrKeptFileStale says the file was written for another history than the ledger's (a
// restore, another node's data): it is not used.
var ErrKeptFileStale = errors.New("rating: the kept charges' file was written for another ledger history, or by code that keeps them otherwise")

var errKeptDerivation = errors.New("rating: the kept charges' file was derived by other code")

// Save writes Kept to w and returns the line item it holds up to. It encodes under the read
// lock (readers go on, a catch-up waits) and writes w after letting go of it.
func (k *Kept) Save(w io.Writer) (uint64, error) {
	if err := k.Broken(); err != nil {
		return 0, err
	}
	var buf bytes.Buffer
	seq, err := k.encode(&buf)
	if err != nil {
		return 0, err
	}
	// The disk is written after the lock is let go: a catch-up waiting for it would hold
	// every reader behind it.
	sum := sha256.Sum256(buf.Bytes())
	if _, err := w.Write(buf.Bytes()); err != nil {
		return 0, err
	}
	if _, err := w.Write(sum[:]); err != nil {
		return 0, err
	}
	return seq, nil
}

// encode writes the file's body (magic to the last resource) under the read lock.
func (k *Kept) encode(w io.Writer) (uint64, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.seq == 0 {
		return 0, errors.New("rating: nothing kept yet")
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	e := &keptEncoder{w: bw}
	e.raw([]byte(keptFileMagic))
	e.uvarint(keptDerivation)
	e.uvarint(k.seq)
	e.raw(k.head[:])
	index := make(map[*series]int, len(k.series))
	e.uvarint(uint64(len(k.series)))
	for key, s := range k.series {
		if s.stale < len(s.months) {
			return 0, errors.New("rating: Save of a series whose starts are not summed") // catchUp sums them before it lets go of the lock
		}
		index[s] = len(index)
		e.key(key)
		e.bool(s.metered)
		e.varint(int64(s.first.Year))
		e.varint(int64(s.first.Month))
		e.uvarint(uint64(len(s.months)))
		for _, m := range s.months {
			e.qty(m.start)
			e.qty(m.sum)
			for _, n := range m.whole {
				e.varint(n)
			}
			e.uvarint(uint64(len(m.frac)))
			for day := int8(0); day < 31; day++ { // in day order: the file is the same for the same Kept
				if f, ok := m.frac[day]; ok {
					e.varint(int64(day))
					e.decimal(f)
				}
			}
		}
	}
	e.uvarint(uint64(len(k.res)))
	for id, kr := range k.res {
		e.string(id)
		e.key(kr.key)
		e.string(string(kr.kind))
		e.bool(kr.ignored)
		e.uvarint(uint64(kr.policy))
		if kr.series == nil {
			e.varint(-1)
		} else {
			e.varint(int64(index[kr.series]))
		}
		e.bytes(kr.hist.packed)
		e.varint(int64(kr.hist.last))
		e.uvarint(uint64(len(kr.hist.live)))
		for _, st := range kr.hist.live {
			e.varint(int64(st.day))
			e.decimal(st.delta)
		}
		e.time(kr.opened)
		e.time(kr.baseTime)
		e.decimal(kr.base)
		e.uvarint(uint64(len(kr.tail)))
		for _, op := range kr.tail {
			e.time(op.Time)
			e.string(string(op.Op))
			e.decimal(op.Quantity)
		}
		e.time(kr.expires)
	}
	if e.err == nil {
		e.err = bw.Flush()
	}
	if e.err != nil {
		return 0, e.err
	}
	return k.seq, nil
}

// Load reads a file Save wrote into an empty Kept, if hashAt — the ledger's chain hash of
// a line item — confirms it is of the ledger's history (ErrKeptFileStale if not).
func (k *Kept) Load(r io.Reader, hashAt func(seq uint64) (ledger.Hash, bool)) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if len(raw) < len(keptFileMagic)+sha256.Size || string(raw[:len(keptFileMagic)]) != keptFileMagic {
		return errors.New("rating: not a kept charges' file of this version")
	}
	body, sum := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	if s := sha256.Sum256(body); !bytes.Equal(s[:], sum) {
		return errors.New("rating: the kept charges' file is damaged (checksum)")
	}
	seq, head, res, keys, err := decodeKept(body[len(keptFileMagic):])
	if errors.Is(err, errKeptDerivation) {
		return ErrKeptFileStale
	}
	if err != nil {
		return err
	}
	if h, ok := hashAt(seq); !ok || h != head {
		return ErrKeptFileStale
	}
	if err := k.Broken(); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.seq != 0 {
		return errors.New("rating: Load into a Kept that has read line items already")
	}
	k.seq, k.head, k.res, k.series = seq, head, res, keys
	k.ratedMu.Lock()
	k.rated, k.ratedAt = nil, 0
	k.ratedMu.Unlock()
	k.heldMu.Lock()
	k.held = nil
	k.heldMu.Unlock()
	return nil
}

// decodeKept reads the body of a kept charges' file (after the magic, before the checksum).
func decodeKept(body []byte) (seq uint64, head ledger.Hash, res map[string]*keptResource, keys map[seriesKey]*series, err error) {
	d := &keptDecoder{b: body, strings: map[string]string{}}
	if v := d.uvarint(); d.err == nil && v != keptDerivation {
		return 0, ledger.Hash{}, nil, nil, fmt.Errorf("%w (%d, this code keeps %d)", errKeptDerivation, v, keptDerivation)
	}
	seq = d.uvarint()
	copy(head[:], d.take(len(head)))
	keys = make(map[seriesKey]*series)
	var bySeq []*series
	for n := d.count(); n > 0 && d.err == nil; n-- {
		key := d.key()
		s := &series{metered: d.bool(), first: calendar.Month{Year: int(d.varint()), Month: time.Month(d.varint())}}
		s.months = make([]*monthUnits, d.count())
		for i := range s.months {
			m := &monthUnits{start: d.qty(), sum: d.qty()}
			for j := range m.whole {
				m.whole[j] = d.varint()
			}
			if nf := d.count(); nf > 0 {
				m.frac = make(map[int8]decimal.Decimal, nf)
				for ; nf > 0 && d.err == nil; nf-- {
					day := d.varint()
					if day < 0 || day > 30 {
						d.fail("a day of month %d", day)
					}
					m.frac[int8(day)] = d.decimal()
				}
			}
			s.months[i] = m
		}
		s.stale = len(s.months)
		keys[key] = s
		bySeq = append(bySeq, s)
	}
	res = make(map[string]*keptResource)
	for n := d.count(); n > 0 && d.err == nil; n-- {
		id := d.string()
		kr := &keptResource{key: d.key(), kind: ledger.ResourceKind(d.name()), ignored: d.bool(), policy: policy(d.uvarint())}
		if si := d.varint(); si >= 0 {
			if si >= int64(len(bySeq)) {
				d.fail("series %d of %d", si, len(bySeq))
				break
			}
			kr.series = bySeq[si]
		}
		kr.hist.packed = d.bytes()
		kr.hist.last = int(d.varint())
		if nl := d.count(); nl > 0 {
			kr.hist.live = make([]step, nl)
			for i := range kr.hist.live {
				kr.hist.live[i] = step{day: int(d.varint()), delta: d.decimal()}
			}
		}
		kr.opened, kr.baseTime, kr.base = d.time(), d.time(), d.decimal()
		if nt := d.count(); nt > 0 {
			kr.tail = make([]ledger.ResourceOp, nt)
			for i := range kr.tail {
				kr.tail[i] = ledger.ResourceOp{Time: d.time(), Op: ledger.Op(d.name()), Quantity: d.decimal()}
			}
		}
		kr.expires = d.time()
		res[id] = kr
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d bytes left over", len(d.b))
	}
	if d.err != nil {
		return 0, ledger.Hash{}, nil, nil, d.err
	}
	return seq, head, res, keys, nil
}

type keptEncoder struct {
	w   *bufio.Writer
	buf [binary.MaxVarintLen64]byte
	err error
}

func (e *keptEncoder) raw(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}
func (e *keptEncoder) uvarint(v uint64) { e.raw(binary.AppendUvarint(e.buf[:0], v)) }
func (e *keptEncoder) varint(v int64)   { e.raw(binary.AppendVarint(e.buf[:0], v)) }
func (e *keptEncoder) bytes(b []byte)   { e.uvarint(uint64(len(b))); e.raw(b) }
func (e *keptEncoder) string(s string)  { e.uvarint(uint64(len(s))); e.raw([]byte(s)) }
func (e *keptEncoder) bool(b bool) {
	if b {
		e.uvarint(1)
	} else {
		e.uvarint(0)
	}
}
func (e *keptEncoder) key(k seriesKey) {
	e.string(k.department)
	e.string(k.project)
	e.string(k.provider)
	e.string(k.item)
}

// decimal is written as its text ("" for zero): exact, whatever its size.
func (e *keptEncoder) decimal(d decimal.Decimal) {
	if d.IsZero() {
		e.string("")
		return
	}
	e.string(d.String())
}
func (e *keptEncoder) qty(q qty) { e.varint(q.n); e.decimal(q.f) }

// time is the instant and the offset it was given in (0 alone: the zero time).
func (e *keptEncoder) time(t time.Time) {
	if t.IsZero() {
		e.uvarint(0)
		return
	}
	_, off := t.Zone()
	e.uvarint(1)
	e.varint(t.UnixNano())
	e.varint(int64(off))
}

// keptDecoder reads what keptEncoder wrote; the first fault stops it (err) and every later
// read returns zero values.
type keptDecoder struct {
	b       []byte
	err     error
	strings map[string]string // the keys' names, held once
}

func (d *keptDecoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("rating: the kept charges' file: "+format, args...)
	}
	d.b = nil
}

func (d *keptDecoder) take(n int) []byte {
	if d.err != nil || n < 0 || n > len(d.b) {
		d.fail("%d bytes wanted, %d left", n, len(d.b))
		return nil
	}
	out := d.b[:n:n]
	d.b = d.b[n:]
	return out
}

func (d *keptDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("a number cut short")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *keptDecoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("a number cut short")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count is a length, at most what is left to read (each element takes a byte at least).
func (d *keptDecoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("%d elements in %d bytes", n, len(d.b))
		return 0
	}
	return int(n)
}

func (d *keptDecoder) bool() bool { return d.uvarint() == 1 }

func (d *keptDecoder) bytes() []byte {
	b := d.take(d.count())
	if len(b) == 0 {
		return nil
	}
	return bytes.Clone(b) // the file's buffer is let go
}

func (d *keptDecoder) string() string { return string(d.take(d.count())) }

// name is a string that many records share (a department, an item, an operation): held once.
func (d *keptDecoder) name() string {
	b := d.take(d.count())
	if s, ok := d.strings[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(d.strings) < 1<<16 {
		d.strings[s] = s
	}
	return s
}

func (d *keptDecoder) key() seriesKey {
	return seriesKey{department: d.name(), project: d.name(), provider: d.name(), item: d.name()}
}

func (d *keptDecoder) decimal() decimal.Decimal {
	b := d.take(d.count())
	if len(b) == 0 {
		return decimal.Decimal{}
	}
	v, err := decimal.NewFromString(string(b))
	if err != nil {
		d.fail("a quantity %q", b)
	}
	return v
}

func (d *keptDecoder) qty() qty { return qty{n: d.varint(), f: d.decimal()} }

func (d *keptDecoder) time() time.Time {
	if d.uvarint() == 0 {
		return time.Time{}
	}
	ns, off := d.varint(), d.varint()
	return time.Unix(0, ns).In(time.FixedZone("", int(off)))
}
