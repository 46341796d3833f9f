package ledger

import (
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/evaluation"
)

// layer is one level of a copy-on-write map. The root layer's map is the committed state;
// a child layer holds what a request (or a dry-run import) changed, and is merged into its
// parent only when the whole request succeeded, so a rejected request leaves nothing behind.
type layer[K comparable, V any] struct {
	m      map[K]V
	parent *layer[K, V]
	dirty  map[K]struct{} // root only: what the next flush must write to bbolt
}

func newRoot[K comparable, V any](persisted bool) *layer[K, V] {
	l := &layer[K, V]{m: map[K]V{}}
	if persisted {
		l.dirty = map[K]struct{}{}
	}
	return l
}

func (l *layer[K, V]) child() *layer[K, V] { return &layer[K, V]{parent: l} }

func (l *layer[K, V]) get(k K) (V, bool) {
	for x := l; x != nil; x = x.parent {
		if v, ok := x.m[k]; ok {
			return v, true
		}
	}
	var zero V
	return zero, false
}

func (l *layer[K, V]) put(k K, v V) {
	if l.m == nil {
		l.m = map[K]V{}
	}
	l.m[k] = v
	if l.dirty != nil {
		l.dirty[k] = struct{}{}
	}
}

// each calls fn once for every key of l and its parents, with the value in force (the
// nearest layer's), in no particular order.
func (l *layer[K, V]) each(fn func(K, V)) {
	if l.parent == nil {
		for k, v := range l.m {
			fn(k, v)
		}
		return
	}
	seen := map[K]struct{}{}
	for x := l; x != nil; x = x.parent {
		for k, v := range x.m {
			if _, ok := seen[k]; ok {
				continue
			}
			seen[k] = struct{}{}
			fn(k, v)
		}
	}
}

func (l *layer[K, V]) mergeIntoParent() {
	for k, v := range l.m {
		l.parent.put(k, v)
	}
}

// keyRecord is what an idempotency key was used for.
type keyRecord struct {
	Seq     uint64
	Content [16]byte
	Actor   string // of a line item not yet flushed (tenantkeys.go)
}

// txn is a view of the ledger state with a stack of uncommitted changes on top. The root
// txn is the committed state itself. Its tables are declared in tables.go.
type txn struct {
	parent *txn
	store  *Ledger // for idempotency keys and line items that live only in bbolt

	departments *layer[string, *Department]
	providers   *layer[string, *Provider]
	projects    *layer[string, *Project]
	items       *layer[string, *CatalogItem]
	resources   *layer[string, *Resource]
	approvals   *layer[deptClass, *Approval]
	closed      *layer[calendar.Month, bool]
	calendars   *layer[int, calendar.YearSchedule]
	settings    *layer[string, string] // admin token, settlement window and other small settings
	evaluations *layer[string, *ProviderScores]
	bandTables  *layer[calendar.Date, *BandTable]
	settlements *layer[int, *Settlement]
	reconciled  *layer[string, *ProviderReconciliations]

	// Utilisation rows (utilisation.go): in force per resource and day, and as delivered.
	utilCurrent   *layer[dayKey, *StoredUtilisation]
	utilDelivered *layer[deliveredKey, *UtilisationRow]
	// Findings (findings.go) and seasons (seasons.go).
	utilRules    *layer[calendar.Date, *UtilisationRules]
	findings     *layer[string, *Finding]
	openFindings *layer[string, string] // kind NUL subject → the open finding's id ("" once closed)
	utilRuns     *layer[string, *runs]
	projectRuns  *layer[string, *projectRuns]
	seasons      *layer[string, *ProjectSeasons]
	suspensions  *layer[string, *Suspension] // department → its enforced findings (SH 25)
	// Evaluation (evaluation_quarter.go).
	evalSchemes  *layer[calendar.Date, *evaluation.Scheme]
	evalQuarters *layer[string, *QuarterEvaluation] // by quarter, 2026Q4

	kafkaOffsets   *layer[string, int64]  // "topic/partition" → next offset to apply
	kafkaPublished *layer[string, uint64] // stream → last sequence published
	deadLetters    *layer[uint64, *DeadLetter]

	accounts       *layer[string, *Account]
	credentials    *layer[string, *Credentials]
	tokens         *layer[string, *TokenGrants] // by the token's SHA-256
	endedSessions  *layer[string, *EndedSession]
	requests       *layer[string, *ResourceRequest]
	notices        *layer[uint64, *Notice] // the notice outbox, by sequence
	noticeMarks    *layer[string, string]  // expiry notices raised (notice.go)
	deadlineTables *layer[calendar.Date, *DeadlineTable]
	leases         *layer[string, *Lease] // import leases (importlease.go)

	// derived indexes, rebuilt at load, never persisted
	held         *layer[deptClass, decimal.Decimal] // A of SPEC's Quota rule
	devHeld      *layer[projectClass, decimal.Decimal]
	deptProjects *layer[string, []string]
	timeLimited  *layer[string, time.Time] // open time-limited resources → expiry

	keys        map[string]keyRecord // keys used in this layer
	added       []*LineItem          // line items appended in this layer
	seq         uint64
	head        Hash
	clock       time.Time   // the latest proposal time seen
	deadLetterN uint64      // entries of the dead-letter outbox (numbered 1..deadLetterN)
	access      accessChain // the access trail's records appended in this layer, and its head
	cal         *calendar.Calendar
	// systemSteps are finding steps the ledger took in the command being applied, written
	// as line items after it (finding_steps.go).
	systemSteps []*FindingRecord
}

// builtinCalendar is the official schedules built in, made once (a Calendar is not changed
// after it is made: With returns another).
var builtinCalendar = sync.OnceValue(func() *calendar.Calendar { return calendar.New(calendar.Builtin()...) })

type deptClass struct{ Department, QuotaClass string }
type projectClass struct{ Project, QuotaClass string }

func newRootTxn(store *Ledger) *txn {
	t := &txn{store: store, keys: map[string]keyRecord{}, cal: builtinCalendar()}
	for _, tb := range tables {
		tb.newRoot(t)
	}
	return t
}

func (t *txn) child() *txn {
	c := &txn{parent: t, store: t.store, seq: t.seq, head: t.head, clock: t.clock, deadLetterN: t.deadLetterN, cal: t.cal, access: t.access.child()}
	for _, tb := range tables {
		tb.child(c, t)
	}
	return c
}

// commit merges a child into its parent.
func (t *txn) commit() {
	p := t.parent
	for _, tb := range tables {
		tb.commit(t)
	}
	if p.keys == nil {
		p.keys = map[string]keyRecord{}
	}
	for k, v := range t.keys {
		p.keys[k] = v
	}
	p.added = append(p.added, t.added...)
	p.seq, p.head, p.clock, p.deadLetterN, p.cal = t.seq, t.head, t.clock, t.deadLetterN, t.cal
	p.access.merge(t.access)
}

// lookupKey finds an idempotency key in the pending layers, then in bbolt. pending says the
// line item it names is not committed yet (it is in a request still being applied, which
// may roll back), so a message must not name it as if it existed.
func (t *txn) lookupKey(k string) (rec keyRecord, pending, ok bool) {
	for x := t; x != nil; x = x.parent {
		if r, ok := x.keys[k]; ok {
			return r, x.parent != nil, true
		}
	}
	rec, ok = t.store.storedKey(k)
	return rec, false, ok
}

func (t *txn) heldOf(k deptClass) decimal.Decimal {
	v, _ := t.held.get(k)
	return v
}

func (t *txn) devHeldOf(k projectClass) decimal.Decimal {
	v, _ := t.devHeld.get(k)
	return v
}

func (t *txn) addHeld(r *Resource, delta decimal.Decimal) {
	if r.QuotaClass == "" || r.Billing != BillingAllocation {
		return
	}
	if r.Kind.countsTowardQuota() {
		k := deptClass{r.Department, r.QuotaClass}
		n := t.heldOf(k).Add(delta)
		invariant(!n.IsNegative(), InvHeldNonNegative, "department %q would hold %s of class %q", r.Department, n, r.QuotaClass)
		t.held.put(k, n)
	}
	if r.Kind == KindDev {
		k := projectClass{r.Project, r.QuotaClass}
		n := t.devHeldOf(k).Add(delta)
		invariant(!n.IsNegative(), InvHeldNonNegative, "project %q would hold %s of dev class %q", r.Project, n, r.QuotaClass)
		t.devHeld.put(k, n)
	}
}

// deptQuota is Q of SPEC's Quota rule: the sum of the quotas of the department's active
// projects in a class.
func (t *txn) deptQuota(dept, class string, day calendar.Date) decimal.Decimal {
	ids, _ := t.deptProjects.get(dept)
	q := decimal.Zero
	for _, id := range ids {
		p, ok := t.projects.get(id)
		if !ok || p.Closed {
			continue
		}
		pq, _ := t.quotaOn(p, class, day)
		q = q.Add(pq)
	}
	return q
}

// appendItem adds a line item to the chain of this txn.
func (t *txn) appendItem(key, actor string, recordedAt time.Time, raftIndex uint64, body Body) *LineItem {
	enc := EncodeBody(body)
	return t.appendEncoded(key, actor, recordedAt, raftIndex, body, enc, contentHash(enc))
}

// appendEncoded is appendItem for a body already encoded (and its content hash computed)
// by the caller: apply needs both for the idempotency check anyway.
func (t *txn) appendEncoded(key, actor string, recordedAt time.Time, raftIndex uint64, body Body, enc []byte, content [16]byte) *LineItem {
	li := &LineItem{Seq: t.seq + 1, RaftIndex: raftIndex, Key: key, Actor: actor, RecordedAt: recordedAt, Body: body, body: enc, content: content}
	li.canon = li.canonical()
	li.Hash = chainHash(t.head, li.canon)
	li.indexKey = t.indexKeyOf(key, actor, li.Seq)
	t.seq, t.head = li.Seq, li.Hash
	t.added = append(t.added, li)
	if key != "" {
		if t.keys == nil {
			t.keys = map[string]keyRecord{}
		}
		t.keys[li.indexKey] = keyRecord{Seq: li.Seq, Content: content, Actor: actor}
	}
	return li
}
