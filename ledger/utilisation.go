package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/shopspring/decimal"
	bolt "go.etcd.io/bbolt"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
)

// Daily utilisation rows (SPEC: Utilisation; issue 24, rules version 7). A delivery of rows
// — pulled from Prometheus by the leader, imported from a provider's monthly report or by
// the authority, or streamed through Kafka — is one command; its line item is a record of
// it (source, date range, row count and the SHA-256 of its rows in the canonical order),
// and the rows go to their own tables: every delivered row (so each delivery stays
// checkable) and the row in force per resource and day. Rows are not line items: the chain
// covers them through their delivery's SHA-256.
//
// The tables live in bbolt only, not in memory: a city's year of rows is tens of millions.
// What a batch writes waits in the txn's layers until the flush, which then lets go of it.

const (
	// TypeUtilisationDelivery carries the rows; TypeUtilisationRecord is its line item.
	TypeUtilisationDelivery CommandType = 39
	TypeUtilisationRecord   CommandType = 40
	// MaxUtilisationRows bounds the rows of one delivery (a day of 100,000 resources).
	MaxUtilisationRows = 100_000
)

func init() {
	register(TypeUtilisationDelivery, "utilisation_delivery", writesLineItem, func() Body { return new(UtilisationDelivery) })
	commands[TypeUtilisationDelivery].record = utilisationRecordOf
	register(TypeUtilisationRecord, "utilisation_record", noLineItem, func() Body { return new(UtilisationRecord) })
}

// UtilisationSource is where a delivery came from.
type UtilisationSource string

const (
	SourcePrometheus UtilisationSource = "prometheus" // the leader's pull
	SourceAuthority  UtilisationSource = "authority"  // imported by the authority
	SourceProvider   UtilisationSource = "provider"   // a provider's monthly report
	SourceKafka      UtilisationSource = "kafka"      // the cloudledger.utilisation topic
)

// outranks reports whether a row from s may not be replaced by one from next: a provider's
// row never replaces one from Prometheus, the authority or the monitoring stream.
func (s UtilisationSource) outranks(next UtilisationSource) bool {
	return next == SourceProvider && s != SourceProvider
}

// UtilisationRow is one resource's day: mean and peak utilisation of what it was allocated
// and the share of the day it was up, in percent with at most 2 decimals.
type UtilisationRow struct {
	Resource     string          `json:"resource"`
	Date         calendar.Date   `json:"date"`
	Mean         decimal.Decimal `json:"mean_pct"`
	Peak         decimal.Decimal `json:"peak_pct"`
	Availability decimal.Decimal `json:"availability_pct"`
}

// Canonical is the row as the delivery's SHA-256 reads it: resource,date,mean,peak,
// availability with two decimals each.
func (r UtilisationRow) Canonical() string {
	return strings.Join([]string{r.Resource, r.Date.String(), r.Mean.StringFixed(2), r.Peak.StringFixed(2), r.Availability.StringFixed(2)}, ",")
}

// UtilisationDigest is the SHA-256 of rows (SPEC: Utilisation): sorted by resource then
// date, each Canonical, joined by "\n" (no newline after the last).
func UtilisationDigest(rows []UtilisationRow) [32]byte {
	sorted := slices.Clone(rows)
	sortRows(sorted)
	h := sha256.New()
	for i, r := range sorted {
		if i > 0 {
			h.Write([]byte{'\n'})
		}
		h.Write([]byte(r.Canonical()))
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

func sortRows(rows []UtilisationRow) {
	slices.SortFunc(rows, func(a, b UtilisationRow) int {
		if c := strings.Compare(a.Resource, b.Resource); c != 0 {
			return c
		}
		return a.Date.Compare(b.Date)
	})
}

// UtilisationDelivery is a delivery of rows. Its source is its actor's (the leader's pull,
// a provider, the authority, the Kafka bridge), never the command's to claim.
type UtilisationDelivery struct {
	Rows []UtilisationRow // sorted by resource then date, each (resource, date) once
}

func (*UtilisationDelivery) Type() CommandType { return TypeUtilisationDelivery }

func (b *UtilisationDelivery) encode(e *encoder) {
	e.uvarint(uint64(len(b.Rows)))
	for _, r := range b.Rows {
		e.str(r.Resource)
		e.date(r.Date)
		e.dec(r.Mean)
		e.dec(r.Peak)
		e.dec(r.Availability)
	}
}

func (b *UtilisationDelivery) decode(d *decoder) {
	n := d.uvarint()
	if d.err == nil && n > MaxUtilisationRows {
		d.fail("too many utilisation rows")
		return
	}
	b.Rows = make([]UtilisationRow, 0, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		b.Rows = append(b.Rows, UtilisationRow{Resource: d.str(MaxIDLen), Date: d.date(), Mean: d.dec(), Peak: d.dec(), Availability: d.dec()})
	}
}

var hundred = decimal.NewFromInt(100)

func (b *UtilisationDelivery) validate(rl rules) *Error {
	if !rl.utilisation {
		return Errf(errcode.InvalidValue, "", "utilisation rows need rules version 7 (the cluster is upgrading: every voter must run a binary that applies them)")
	}
	if len(b.Rows) == 0 {
		return Errf(errcode.MissingField, "rows", "a delivery has at least one row")
	}
	if len(b.Rows) > MaxUtilisationRows {
		return Errf(errcode.TooLarge, "rows", "%d rows; at most %d a delivery", len(b.Rows), MaxUtilisationRows)
	}
	for i, r := range b.Rows {
		at := func(e *Error) *Error { e.Field = fmt.Sprintf("rows[%d].%s", i, e.Field); return e }
		if err := rl.id("resource", r.Resource, true); err != nil {
			return at(err)
		}
		if err := dateInRange("date", r.Date); err != nil {
			return at(err)
		}
		for _, f := range []struct {
			name string
			v    decimal.Decimal
		}{{"mean_pct", r.Mean}, {"peak_pct", r.Peak}, {"availability_pct", r.Availability}} {
			if f.v.IsNegative() || f.v.GreaterThan(hundred) || f.v.Exponent() < -2 && !f.v.Equal(f.v.Round(2)) {
				return at(Errf(errcode.InvalidValue, f.name, "%s is a percentage from 0 to 100 with at most 2 decimals, not %s", f.name, f.v))
			}
		}
		if r.Mean.GreaterThan(r.Peak) {
			return at(Errf(errcode.InvalidValue, "mean_pct", "the mean %s is above the peak %s", r.Mean, r.Peak))
		}
		if i > 0 {
			p := b.Rows[i-1]
			if c := strings.Compare(p.Resource, r.Resource); c > 0 || c == 0 && p.Date.Compare(r.Date) >= 0 {
				return at(Errf(errcode.InvalidValue, "resource", "rows are sorted by resource then date, each (resource, date) once: %s %s follows %s %s", r.Resource, r.Date, p.Resource, p.Date))
			}
		}
	}
	return nil
}

// utilisationSourceOf is the source of a delivery by its actor.
func (t *txn) utilisationSourceOf(actor string) (UtilisationSource, *Error) {
	switch {
	case actor == "system":
		return SourcePrometheus, nil
	case actor == "kafka" || strings.HasPrefix(actor, "kafka:"):
		return SourceKafka, nil
	}
	a, ok := t.accounts.get(actor)
	switch {
	case !ok && actor == BootstrapAuthority:
		return SourceAuthority, nil
	case !ok:
		return "", Errf(errcode.PermissionDenied, "", "%s may not deliver utilisation rows", actor)
	case a.Role == RoleProvider:
		return SourceProvider, nil
	case a.Role == RoleAuthority:
		return SourceAuthority, nil
	}
	return "", Errf(errcode.PermissionDenied, "", "a %s account does not deliver utilisation rows", a.Role)
}

// monitoredClasses are the quota classes whose resources are monitored (SPEC: Utilisation).
var monitoredClasses = map[string]bool{"vcpu": true, "memory_gb": true, "storage_gb": true, "bandwidth_mbps": true}

// Monitored reports whether an item's resources are monitored: its quota class is one that
// utilisation measures.
func (t *txn) monitored(r *Resource) bool {
	it, ok := t.items.get(r.Item)
	return ok && monitoredClasses[it.QuotaClass]
}

func (b *UtilisationDelivery) apply(t *txn, ctx applyContext) *Error {
	source, err := t.utilisationSourceOf(ctx.actor)
	if err != nil {
		return err
	}
	var provider string
	if source == SourceProvider {
		a, _ := t.accounts.get(ctx.actor)
		provider = a.Provider
	}
	seq := t.seq + 1 // the delivery's line item, written right after apply
	for i, row := range b.Rows {
		r, ok := t.resources.get(row.Resource)
		field := fmt.Sprintf("rows[%d].resource", i)
		if !ok {
			return Errf(errcode.UnknownResource, field, "unknown resource %q", row.Resource)
		}
		if provider != "" && r.Provider != provider {
			return Errf(errcode.PermissionDenied, field, "resource %s is %s's: a provider reports its own resources only", row.Resource, r.Provider)
		}
		if !t.monitored(r) {
			return Errf(errcode.InvalidValue, field, "resource %s (%s) is not monitored: only vcpu, memory_gb, storage_gb and bandwidth_mbps items are", row.Resource, r.Item)
		}
		t.utilDelivered.put(deliveredKey{seq, uint32(i)}, &row)
		cur, ok := t.utilRow(row.Resource, row.Date)
		if ok && cur.Source.outranks(source) {
			continue // kept in its delivery, not in force
		}
		t.utilCurrent.put(dayKey{row.Resource, row.Date}, &StoredUtilisation{UtilisationRow: row, Source: source, Seq: seq})
		if ctx.rules.findings {
			t.noteLateRow(r, row.Date)
		}
	}
	return nil
}

// UtilisationRecord is a delivery's line item.
type UtilisationRecord struct {
	Source   UtilisationSource
	From, To calendar.Date
	Rows     uint32
	SHA256   [32]byte
}

func (*UtilisationRecord) Type() CommandType { return TypeUtilisationRecord }

// MarshalJSON is the record as line item exports show it, its SHA-256 in hex.
func (b *UtilisationRecord) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Source UtilisationSource `json:"source"`
		From   string            `json:"from"`
		To     string            `json:"to"`
		Rows   uint32            `json:"rows"`
		SHA256 string            `json:"sha256"`
	}{b.Source, b.From.String(), b.To.String(), b.Rows, hex.EncodeToString(b.SHA256[:])})
}

func (b *UtilisationRecord) encode(e *encoder) {
	e.str(string(b.Source))
	e.date(b.From)
	e.date(b.To)
	e.uvarint(uint64(b.Rows))
	e.bytes(b.SHA256[:])
}

func (b *UtilisationRecord) decode(d *decoder) {
	b.Source = UtilisationSource(d.str(MaxIDLen))
	b.From, b.To = d.date(), d.date()
	b.Rows = uint32(d.uvarint())
	copy(b.SHA256[:], d.raw(32))
}

func (*UtilisationRecord) validate(rules) *Error {
	return Errf(errcode.InvalidValue, "", "a utilisation record is written by the ledger, not sent")
}

func (*UtilisationRecord) apply(*txn, applyContext) *Error {
	return Errf(errcode.InvalidValue, "", "a utilisation record is written by the ledger, not sent")
}

// utilisationRecordOf is the line item of a delivery: what the chain keeps of it.
func utilisationRecordOf(b Body, t *txn, ctx applyContext) Body {
	d := b.(*UtilisationDelivery)
	source, _ := t.utilisationSourceOf(ctx.actor)
	rec := &UtilisationRecord{Source: source, From: d.Rows[0].Date, To: d.Rows[0].Date, Rows: uint32(len(d.Rows)), SHA256: UtilisationDigest(d.Rows)}
	for _, r := range d.Rows {
		if r.Date.Before(rec.From) {
			rec.From = r.Date
		}
		if rec.To.Before(r.Date) {
			rec.To = r.Date
		}
	}
	return rec
}

// StoredUtilisation is the row in force for a resource and day, with its delivery.
type StoredUtilisation struct {
	UtilisationRow
	Source UtilisationSource `json:"source"`
	Seq    uint64            `json:"delivery_seq"`
}

// dayKey and deliveredKey key the two tables; their byte forms sort by resource then date,
// and by delivery then position.
type dayKey struct {
	Resource string
	Date     calendar.Date
}

type deliveredKey struct {
	Seq   uint64
	Index uint32
}

func (k dayKey) bytes() []byte { return []byte(k.Resource + "\x00" + k.Date.String()) }

func (k deliveredKey) bytes() []byte {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, k.Seq), k.Index)
}

var (
	bucketUtilCurrent   = []byte("utilisation_rows")
	bucketUtilDelivered = []byte("utilisation_delivered")
)

// utilRow is the row in force for (resource, date): the pending layers, then bbolt.
func (t *txn) utilRow(resource string, date calendar.Date) (*StoredUtilisation, bool) {
	k := dayKey{resource, date}
	if v, ok := t.utilCurrent.get(k); ok {
		return v, true
	}
	var out *StoredUtilisation
	t.store.readBolt(func(tx *bolt.Tx) {
		if raw := tx.Bucket(bucketUtilCurrent).Get(k.bytes()); raw != nil {
			out = decodeStoredUtil(resource, date, raw)
		}
	})
	return out, out != nil
}

// Stored rows are written compactly: source, delivery, mean, peak, availability.
func encodeStoredUtil(v *StoredUtilisation) []byte {
	e := encoder{}
	e.str(string(v.Source))
	e.uvarint(v.Seq)
	e.dec(v.Mean)
	e.dec(v.Peak)
	e.dec(v.Availability)
	return e.b
}

func decodeStoredUtil(resource string, date calendar.Date, raw []byte) *StoredUtilisation {
	d := decoder{b: raw}
	v := &StoredUtilisation{UtilisationRow: UtilisationRow{Resource: resource, Date: date}}
	v.Source, v.Seq = UtilisationSource(d.str(MaxIDLen)), d.uvarint()
	v.Mean, v.Peak, v.Availability = d.dec(), d.dec(), d.dec()
	d.done()
	invariant(d.err == nil, InvTableKey, "utilisation row %s %s: %v", resource, date, d.err)
	return v
}

func encodeDeliveredRow(r *UtilisationRow) []byte {
	e := encoder{}
	e.str(r.Resource)
	e.date(r.Date)
	e.dec(r.Mean)
	e.dec(r.Peak)
	e.dec(r.Availability)
	return e.b
}

func decodeDeliveredRow(raw []byte) (UtilisationRow, error) {
	d := decoder{b: raw}
	r := UtilisationRow{Resource: d.str(MaxIDLen), Date: d.date(), Mean: d.dec(), Peak: d.dec(), Availability: d.dec()}
	d.done()
	if d.err != nil {
		return r, d.err
	}
	return r, nil
}

// diskTable is a table kept in bbolt only: a batch's writes wait in the root layer until
// the flush writes them, then the root lets go of them (reads fall through to bbolt).
type diskTable[K comparable, V any] struct {
	bucket []byte
	layer  func(*txn) **layer[K, V]
	key    func(K) []byte
	encode func(V) []byte
}

func (tb *diskTable[K, V]) stored() bool              { return true }
func (tb *diskTable[K, V]) inView() bool              { return false }
func (tb *diskTable[K, V]) bucketName() []byte        { return tb.bucket }
func (tb *diskTable[K, V]) newRoot(t *txn)            { *tb.layer(t) = newRoot[K, V](true) }
func (tb *diskTable[K, V]) child(c, p *txn)           { *tb.layer(c) = (*tb.layer(p)).child() }
func (tb *diskTable[K, V]) commit(c *txn)             { (*tb.layer(c)).mergeIntoParent() }
func (tb *diskTable[K, V]) clearDirty(t *txn)         { clear((*tb.layer(t)).dirty) }
func (tb *diskTable[K, V]) load(*bolt.Tx, *txn) error { return nil } // read on demand
func (tb *diskTable[K, V]) flush(tx *bolt.Tx, t *txn) error {
	pairs := dirtyPairs(*tb.layer(t), tb.key)
	if len(pairs) == 0 {
		return nil
	}
	b := tx.Bucket(tb.bucket)
	for _, p := range pairs {
		if err := b.Put(p.k, tb.encode(p.v)); err != nil {
			return fmt.Errorf("%s/%x: %w", tb.bucket, p.k, err)
		}
	}
	return nil
}

// evict lets go of what the flush wrote (called after the flush committed).
func (tb *diskTable[K, V]) evict(t *txn) {
	l := *tb.layer(t)
	for k := range l.dirty {
		delete(l.m, k)
	}
}

var (
	utilCurrentTable = &diskTable[dayKey, *StoredUtilisation]{bucket: bucketUtilCurrent,
		layer: func(t *txn) **layer[dayKey, *StoredUtilisation] { return &t.utilCurrent },
		key:   dayKey.bytes, encode: encodeStoredUtil}
	utilDeliveredTable = &diskTable[deliveredKey, *UtilisationRow]{bucket: bucketUtilDelivered,
		layer: func(t *txn) **layer[deliveredKey, *UtilisationRow] { return &t.utilDelivered },
		key:   deliveredKey.bytes, encode: encodeDeliveredRow}
)

// UtilisationRows are the rows in force of a resource from one day to another, inclusive,
// by date.
func (l *Ledger) UtilisationRows(resource string, from, to calendar.Date) []StoredUtilisation {
	l.ensureFlushed()
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []StoredUtilisation
	prefix := []byte(resource + "\x00")
	_ = l.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketUtilCurrent).Cursor()
		for k, v := c.Seek(append(slices.Clone(prefix), from.String()...)); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			d, err := calendar.ParseDate(string(k[len(prefix):]))
			if err != nil || d.After(to) {
				break
			}
			out = append(out, *decodeStoredUtil(resource, d, v))
		}
		return nil
	})
	return out
}

// DeliveryRows are the rows a delivery (its line item's sequence) brought, as delivered.
func (l *Ledger) DeliveryRows(seq uint64) ([]UtilisationRow, error) {
	l.ensureFlushed()
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []UtilisationRow
	err := l.db.View(func(tx *bolt.Tx) error {
		prefix := binary.BigEndian.AppendUint64(nil, seq)
		c := tx.Bucket(bucketUtilDelivered).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			r, err := decodeDeliveredRow(v)
			if err != nil {
				return fmt.Errorf("delivery %d: %w", seq, err)
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// MonitoredClass is the quota class utilisation measures for a resource (its item's), ok
// false for a resource the ledger does not have or does not monitor.
func (l *Ledger) MonitoredClass(resource string) (string, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	r, ok := l.root.resources.get(resource)
	if !ok {
		return "", false
	}
	it, ok := l.root.items.get(r.Item)
	if !ok || !monitoredClasses[it.QuotaClass] {
		return "", false
	}
	return it.QuotaClass, true
}

// MonthUtilisation is a resource's month (SPEC: Utilisation, monthly aggregates): the mean
// of its daily means, the largest peak, the mean availability (half-up to 2 decimals), and
// the days with a row.
type MonthUtilisation struct {
	Mean, Peak, Availability decimal.Decimal
	Days                     int
}

// MonthUtilisation aggregates a resource's rows in force of month m; ok is false when it
// has none.
func (l *Ledger) MonthUtilisation(resource string, m calendar.Month) (MonthUtilisation, bool) {
	rows := l.UtilisationRows(resource, m.First(), m.Last())
	return aggregateMonth(rows)
}

func aggregateMonth(rows []StoredUtilisation) (MonthUtilisation, bool) {
	var out MonthUtilisation
	if len(rows) == 0 {
		return out, false
	}
	sumMean, sumAvail := decimal.Zero, decimal.Zero
	for _, r := range rows {
		sumMean = sumMean.Add(r.Mean)
		sumAvail = sumAvail.Add(r.Availability)
		if r.Peak.GreaterThan(out.Peak) {
			out.Peak = r.Peak
		}
	}
	n := decimal.NewFromInt(int64(len(rows)))
	out.Mean = sumMean.DivRound(n, 2)
	out.Availability = sumAvail.DivRound(n, 2)
	out.Days = len(rows)
	return out, true
}
