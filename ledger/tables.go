package ledger

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	bolt "go.etcd.io/bbolt"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/evaluation"
)

// tables declares every table of the state once: its layer in txn and, for a stored table,
// its bbolt bucket and codec. The copy-on-write transaction (child, commit), the flush, the
// load at open and the read view (View) all iterate this list; adding an entity is one entry
// here and one field of txn. Line items and the chain head live outside it (store.go).
var tables = []tableDecl{
	jsonTable("departments", func(t *txn) **layer[string, *Department] { return &t.departments },
		func(d *Department) string { return d.ID }, stringKey, inView),
	jsonTable("providers", func(t *txn) **layer[string, *Provider] { return &t.providers },
		func(p *Provider) string { return p.ID }, stringKey, inView),
	jsonTable("projects", func(t *txn) **layer[string, *Project] { return &t.projects },
		func(p *Project) string { return p.ID }, stringKey, inView),
	jsonTable("catalog_items", func(t *txn) **layer[string, *CatalogItem] { return &t.items },
		func(i *CatalogItem) string { return i.ID }, stringKey, inView),
	&table[string, *Resource]{bucket: []byte("resources"), layer: func(t *txn) **layer[string, *Resource] { return &t.resources },
		key: stringKey, encode: func(r *Resource) ([]byte, error) { return encodeResource(r), nil },
		decode: func(k, v []byte) (string, *Resource, error) {
			r, err := decodeResource(v)
			if err != nil {
				return "", nil, err
			}
			return r.ID, r, nil
		}},
	jsonTable("approvals", func(t *txn) **layer[deptClass, *Approval] { return &t.approvals },
		func(a *Approval) deptClass { return deptClass{a.Department, a.QuotaClass} },
		func(k deptClass) []byte { return []byte(k.Department + "\x00" + k.QuotaClass) }, notInView),
	&table[calendar.Month, bool]{bucket: []byte("closed_months"), layer: func(t *txn) **layer[calendar.Month, bool] { return &t.closed },
		key: func(m calendar.Month) []byte { return []byte(m.String()) }, encode: func(bool) ([]byte, error) { return []byte{1}, nil },
		decode: func(k, _ []byte) (calendar.Month, bool, error) {
			m, err := calendar.ParseMonth(string(k))
			return m, true, err
		}, view: true},
	&table[int, calendar.YearSchedule]{bucket: []byte("calendars"), layer: func(t *txn) **layer[int, calendar.YearSchedule] { return &t.calendars },
		key: func(y int) []byte { return []byte(strconv.Itoa(y)) }, encode: func(s calendar.YearSchedule) ([]byte, error) { return json.Marshal(s) },
		decode: func(_, v []byte) (int, calendar.YearSchedule, error) {
			var s calendar.YearSchedule
			err := json.Unmarshal(v, &s)
			return s.Year, s, err
		}},
	&table[string, string]{bucket: []byte("settings"), layer: func(t *txn) **layer[string, string] { return &t.settings },
		key: stringKey, encode: func(v string) ([]byte, error) { return []byte(v), nil },
		decode: func(k, v []byte) (string, string, error) { return string(k), string(v), nil }, view: true},
	jsonTable("evaluations", func(t *txn) **layer[string, *ProviderScores] { return &t.evaluations },
		func(p *ProviderScores) string { return p.Provider }, stringKey, inView),
	jsonTable("band_tables", func(t *txn) **layer[calendar.Date, *BandTable] { return &t.bandTables },
		func(b *BandTable) calendar.Date { return b.EffectiveFrom }, func(d calendar.Date) []byte { return []byte(d.String()) }, inView),
	jsonTable("settlements", func(t *txn) **layer[int, *Settlement] { return &t.settlements },
		func(s *Settlement) int { return s.Year }, func(y int) []byte { return []byte(strconv.Itoa(y)) }, inView),
	jsonTable("reconciliations", func(t *txn) **layer[string, *ProviderReconciliations] { return &t.reconciled },
		func(p *ProviderReconciliations) string { return p.Provider }, stringKey, inView),

	// Utilisation rows, in bbolt only (utilisation.go).
	utilCurrentTable,
	utilDeliveredTable,
	// Findings (findings.go) and seasons (seasons.go).
	jsonTable("utilisation_rules", func(t *txn) **layer[calendar.Date, *UtilisationRules] { return &t.utilRules },
		func(r *UtilisationRules) calendar.Date { return r.EffectiveFrom }, func(d calendar.Date) []byte { return []byte(d.String()) }, notInView),
	jsonTable("findings", func(t *txn) **layer[string, *Finding] { return &t.findings },
		func(f *Finding) string { return f.ID }, stringKey, notInView),
	&table[string, string]{bucket: []byte("open_findings"), layer: func(t *txn) **layer[string, string] { return &t.openFindings },
		key: stringKey, encode: func(v string) ([]byte, error) { return []byte(v), nil },
		decode: func(k, v []byte) (string, string, error) { return string(k), string(v), nil }},
	keyedJSONTable("utilisation_runs", func(t *txn) **layer[string, *runs] { return &t.utilRuns }),
	keyedJSONTable("project_runs", func(t *txn) **layer[string, *projectRuns] { return &t.projectRuns }),
	keyedJSONTable("suspensions", func(t *txn) **layer[string, *Suspension] { return &t.suspensions }),
	jsonTable("project_seasons", func(t *txn) **layer[string, *ProjectSeasons] { return &t.seasons },
		func(s *ProjectSeasons) string { return s.Project }, stringKey, notInView),
	// Evaluation (evaluation_quarter.go).
	jsonTable("evaluation_schemes", func(t *txn) **layer[calendar.Date, *evaluation.Scheme] { return &t.evalSchemes },
		func(s *evaluation.Scheme) calendar.Date { return s.EffectiveFrom }, func(d calendar.Date) []byte { return []byte(d.String()) }, notInView),
	jsonTable("evaluation_quarters", func(t *txn) **layer[string, *QuarterEvaluation] { return &t.evalQuarters },
		func(q *QuarterEvaluation) string { return q.Quarter.String() }, stringKey, notInView),

	// The Kafka bridge's replicated positions and its dead-letter outbox.
	&table[string, int64]{bucket: []byte("kafka_offsets"), layer: func(t *txn) **layer[string, int64] { return &t.kafkaOffsets },
		key: stringKey, encode: func(n int64) ([]byte, error) { return []byte(strconv.FormatInt(n, 10)), nil },
		decode: func(k, v []byte) (string, int64, error) {
			n, err := strconv.ParseInt(string(v), 10, 64)
			return string(k), n, err
		}},
	&table[string, uint64]{bucket: []byte("kafka_published"), layer: func(t *txn) **layer[string, uint64] { return &t.kafkaPublished },
		key: stringKey, encode: func(n uint64) ([]byte, error) { return []byte(strconv.FormatUint(n, 10)), nil },
		decode: func(k, v []byte) (string, uint64, error) {
			n, err := strconv.ParseUint(string(v), 10, 64)
			return string(k), n, err
		}},
	jsonTable("kafka_dead_letters", func(t *txn) **layer[uint64, *DeadLetter] { return &t.deadLetters },
		func(d *DeadLetter) uint64 { return d.Seq }, seqKey, notInView),

	// Accounts and their credentials (account.go). Credentials and tokens hold hashes: no
	// read view, list or export iterates them.
	jsonTable("accounts", func(t *txn) **layer[string, *Account] { return &t.accounts },
		func(a *Account) string { return a.ID }, stringKey, notInView),
	jsonTable("credentials", func(t *txn) **layer[string, *Credentials] { return &t.credentials },
		func(c *Credentials) string { return c.Account }, stringKey, notInView),
	jsonTable("tokens", func(t *txn) **layer[string, *TokenGrants] { return &t.tokens },
		func(g *TokenGrants) string { return g.SHA256 }, stringKey, notInView),
	jsonTable("requests", func(t *txn) **layer[string, *ResourceRequest] { return &t.requests },
		func(r *ResourceRequest) string { return r.ID }, stringKey, notInView),
	jsonTable("notices", func(t *txn) **layer[uint64, *Notice] { return &t.notices },
		func(n *Notice) uint64 { return n.Seq }, seqKey, notInView),
	// Which expiry notices were raised (one mark per resource, expiry and notice), kept out
	// of settings so that a read view does not load them.
	&table[string, string]{bucket: []byte("notice_marks"), layer: func(t *txn) **layer[string, string] { return &t.noticeMarks },
		key: stringKey, encode: func(v string) ([]byte, error) { return []byte(v), nil },
		decode: func(k, v []byte) (string, string, error) { return string(k), string(v), nil }},
	jsonTable("deadline_tables", func(t *txn) **layer[calendar.Date, *DeadlineTable] { return &t.deadlineTables },
		func(d *DeadlineTable) calendar.Date { return d.EffectiveFrom }, func(d calendar.Date) []byte { return []byte(d.String()) }, notInView),
	jsonTable("ended_sessions", func(t *txn) **layer[string, *EndedSession] { return &t.endedSessions },
		func(e *EndedSession) string { return e.ID }, stringKey, notInView),
	jsonTable("import_leases", func(t *txn) **layer[string, *Lease] { return &t.leases },
		func(l *Lease) string { return l.ID }, stringKey, notInView),

	// Derived indexes: rebuilt from the tables above at load (deriveIndexes), never stored.
	derivedTable(func(t *txn) **layer[deptClass, decimal.Decimal] { return &t.held }),
	derivedTable(func(t *txn) **layer[projectClass, decimal.Decimal] { return &t.devHeld }),
	derivedTable(func(t *txn) **layer[string, []string] { return &t.deptProjects }),
	derivedTable(func(t *txn) **layer[string, time.Time] { return &t.timeLimited }),
}

// tableDecl is what the transaction, the flush and the loaders need of a table.
type tableDecl interface {
	newRoot(t *txn)
	child(c, parent *txn)
	commit(c *txn)
	clearDirty(t *txn)
	// stored reports whether the table has a bucket; inView whether View reads it.
	stored() bool
	inView() bool
	bucketName() []byte
	load(tx *bolt.Tx, t *txn) error
	flush(tx *bolt.Tx, t *txn) error
}

// table is one table: K → V in a layer of txn, stored in bucket (nil: derived, not stored).
type table[K comparable, V any] struct {
	bucket []byte
	layer  func(*txn) **layer[K, V]
	key    func(K) []byte
	encode func(V) ([]byte, error)
	// decode returns the key and value of a stored pair; the key is taken from the value
	// where the value holds it, so a pair stored under another key is detected.
	decode func(k, v []byte) (K, V, error)
	view   bool
}

const (
	inView    = true
	notInView = false
)

func stringKey(k string) []byte { return []byte(k) }

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// jsonTable declares a table of JSON values that carry their own key.
func jsonTable[K comparable, V any](bucket string, l func(*txn) **layer[K, *V], keyOf func(*V) K, key func(K) []byte, view bool) *table[K, *V] {
	return &table[K, *V]{bucket: []byte(bucket), layer: l, key: key, view: view,
		encode: func(v *V) ([]byte, error) { return json.Marshal(v) },
		decode: func(_, raw []byte) (K, *V, error) {
			x := new(V)
			if err := json.Unmarshal(raw, x); err != nil {
				var zero K
				return zero, nil, err
			}
			return keyOf(x), x, nil
		}}
}

// keyedJSONTable declares a table of JSON values under a string key they do not carry.
func keyedJSONTable[V any](bucket string, l func(*txn) **layer[string, *V]) *table[string, *V] {
	return &table[string, *V]{bucket: []byte(bucket), layer: l, key: stringKey,
		encode: func(v *V) ([]byte, error) { return json.Marshal(v) },
		decode: func(k, raw []byte) (string, *V, error) {
			x := new(V)
			if f, ok := any(x).(storedJSONReader); ok && f.readStoredJSON(raw) {
				return string(k), x, nil
			}
			err := json.Unmarshal(raw, x)
			return string(k), x, err
		}}
}

// storedJSONReader is a value that reads the JSON encoding/json wrote for it without
// reflection where it is read by the million at open (runs); false leaves it to encoding/json.
type storedJSONReader interface{ readStoredJSON(raw []byte) bool }

func derivedTable[K comparable, V any](l func(*txn) **layer[K, V]) *table[K, V] {
	return &table[K, V]{layer: l}
}

func (tb *table[K, V]) stored() bool       { return tb.bucket != nil }
func (tb *table[K, V]) inView() bool       { return tb.view }
func (tb *table[K, V]) bucketName() []byte { return tb.bucket }
func (tb *table[K, V]) newRoot(t *txn)     { *tb.layer(t) = newRoot[K, V](tb.stored()) }
func (tb *table[K, V]) child(c, p *txn)    { *tb.layer(c) = (*tb.layer(p)).child() }
func (tb *table[K, V]) commit(c *txn)      { (*tb.layer(c)).mergeIntoParent() }
func (tb *table[K, V]) clearDirty(t *txn)  { clear((*tb.layer(t)).dirty) }

func (tb *table[K, V]) load(tx *bolt.Tx, t *txn) error {
	if !tb.stored() {
		return nil
	}
	m := (*tb.layer(t)).m
	return tx.Bucket(tb.bucket).ForEach(func(k, v []byte) error {
		key, val, err := tb.decode(k, v)
		if err != nil {
			return fmt.Errorf("%s/%q: %w", tb.bucket, k, err)
		}
		if !bytes.Equal(tb.key(key), k) {
			return &InvariantError{InvTableKey, fmt.Sprintf("%s/%q: the stored value belongs under key %q", tb.bucket, k, tb.key(key))}
		}
		m[key] = val
		return nil
	})
}

// flush writes the root layer's dirty entries in key order (sorted inserts fill bbolt's
// pages best).
func (tb *table[K, V]) flush(tx *bolt.Tx, t *txn) error {
	if !tb.stored() {
		return nil
	}
	pairs := dirtyPairs(*tb.layer(t), tb.key)
	if len(pairs) == 0 {
		return nil
	}
	b := tx.Bucket(tb.bucket)
	for _, p := range pairs {
		raw, err := tb.encode(p.v)
		if err != nil {
			return fmt.Errorf("%s/%q: %w", tb.bucket, p.k, err)
		}
		if err := b.Put(p.k, raw); err != nil {
			return err
		}
	}
	return nil
}

// keyedValue is an entry a flush writes: its stored key and its value.
type keyedValue[V any] struct {
	k []byte
	v V
}

// dirtyPairs are a root layer's changed entries in stored-key order: a flush writes them so,
// the same pages on every node.
func dirtyPairs[K comparable, V any](l *layer[K, V], key func(K) []byte) []keyedValue[V] {
	pairs := make([]keyedValue[V], 0, len(l.dirty))
	for k := range l.dirty {
		pairs = append(pairs, keyedValue[V]{key(k), l.m[k]})
	}
	slices.SortFunc(pairs, func(a, b keyedValue[V]) int { return bytes.Compare(a.k, b.k) })
	return pairs
}

// legacyKafkaSettings moves the Kafka bridge's positions and outbox out of the settings
// bucket, where state files written before the kafka_* buckets kept them.
func legacyKafkaSettings(tx *bolt.Tx) error {
	s := tx.Bucket([]byte("settings"))
	type move struct {
		bucket, key, val []byte
	}
	var moves []move
	var drop [][]byte
	err := s.ForEach(func(k, v []byte) error {
		name := string(k)
		if rest, ok := strings.CutPrefix(name, "kafka_offset/"); ok {
			moves = append(moves, move{[]byte("kafka_offsets"), []byte(rest), bytes.Clone(v)})
		} else if rest, ok := strings.CutPrefix(name, "kafka_published/"); ok {
			moves = append(moves, move{[]byte("kafka_published"), []byte(rest), bytes.Clone(v)})
		} else if rest, ok := strings.CutPrefix(name, "kafka_dlq/"); ok {
			seq, err := strconv.ParseUint(rest, 10, 64)
			if err != nil {
				return fmt.Errorf("settings/%q: %w", k, err)
			}
			moves = append(moves, move{[]byte("kafka_dead_letters"), seqKey(seq), bytes.Clone(v)})
		} else if name != "kafka_dlq_count" { // the count is derived from the outbox now
			return nil
		}
		drop = append(drop, bytes.Clone(k))
		return nil
	})
	if err != nil {
		return err
	}
	for _, m := range moves {
		if err := tx.Bucket(m.bucket).Put(m.key, m.val); err != nil {
			return err
		}
	}
	for _, k := range drop {
		if err := s.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
