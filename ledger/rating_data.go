package ledger

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	bolt "go.etcd.io/bbolt"

	"github.com/cloudledger/cloudledger/calendar"
)

// RatingData is everything the rating engine reads, as of one Raft index. It is read in one
// bbolt transaction, so it is consistent while later entries apply, and every node that has
// applied the same entries reads the same data.
type RatingData struct {
	Head        Head      // the chain head and Raft index the data is as of
	Clock       time.Time // the leader's clock of the last applied entry
	Departments map[string]*Department
	Providers   map[string]*Provider
	Projects    map[string]*Project
	Items       map[string]*CatalogItem
	Evaluations map[string]*ProviderScores
	BandTables  []BandTable        // sorted by EffectiveFrom
	Resources   []*ResourceHistory // sorted by ID

	ClosedMonths    map[calendar.Month]bool
	Settlements     map[int]*Settlement
	WindowEndMonth  int // the last month of a settlement window (SetSettlementWindow)
	Reconciliations map[string]*ProviderReconciliations
}

// ResourceHistory is one resource and the operations that change what it holds or used,
// in ledger order (which is time order per resource: see the out_of_order rule).
type ResourceHistory struct {
	ID, Department, Project, Provider, Item string
	Kind                                    Kind
	Ops                                     []ResourceOp
	// Expires is the expiry of a time-limited resource (its allocate's, moved by extends),
	// zero for none. The expire line item is written when the leader next ticks, with the
	// expiry as its time; until then rating needs the expiry itself (SPEC: Ledger, expire).
	Expires time.Time
}

// ResourceOp is one quantity-changing operation: allocate, expand, reduce, reclaim,
// expire or usage.
type ResourceOp struct {
	Time     time.Time
	Op       Op
	Quantity decimal.Decimal
}

// RatingFilter narrows what RatingData reads; zero values read everything.
type RatingFilter struct {
	Before     time.Time // operations at or after this instant are left out
	Department string
	Provider   string
	// MasterDataOnly skips the line items: no resources are read.
	MasterDataOnly bool
}

// RatingData reads the rating inputs. It flushes first, then reads without holding the
// ledger's lock, so applying goes on while a large year is read.
func (l *Ledger) RatingData(f RatingFilter) (*RatingData, error) {
	l.Flush()
	l.mu.RLock()
	db := l.db
	l.mu.RUnlock()
	if db == nil {
		return nil, fmt.Errorf("ledger: closed")
	}
	d := &RatingData{Departments: map[string]*Department{}, Providers: map[string]*Provider{}, Projects: map[string]*Project{},
		Items: map[string]*CatalogItem{}, Evaluations: map[string]*ProviderScores{}, ClosedMonths: map[calendar.Month]bool{},
		Settlements: map[int]*Settlement{}, WindowEndMonth: DefaultWindowEndMonth, Reconciliations: map[string]*ProviderReconciliations{}}
	err := db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		d.Head.AppliedIndex = getUint(m, "applied")
		d.Head.Seq = getUint(m, "seq")
		copy(d.Head.Hash[:], m.Get([]byte("head")))
		if v := m.Get([]byte("clock")); v != nil {
			n, _ := strconv.ParseInt(string(v), 10, 64)
			d.Clock = time.Unix(0, n).In(calendar.Shanghai)
		}
		if err := firstError(
			readJSONMap(tx, bucketDepartments, d.Departments, func(x *Department) string { return x.ID }),
			readJSONMap(tx, bucketProviders, d.Providers, func(x *Provider) string { return x.ID }),
			readJSONMap(tx, bucketProjects, d.Projects, func(x *Project) string { return x.ID }),
			readJSONMap(tx, bucketItems, d.Items, func(x *CatalogItem) string { return x.ID }),
			readJSONMap(tx, bucketEvaluations, d.Evaluations, func(x *ProviderScores) string { return x.Provider }),
			readJSONMap(tx, bucketReconciled, d.Reconciliations, func(x *ProviderReconciliations) string { return x.Provider }),
		); err != nil {
			return err
		}
		settlements := map[string]*Settlement{}
		if err := readJSONMap(tx, bucketSettlements, settlements, func(x *Settlement) string { return strconv.Itoa(x.Year) }); err != nil {
			return err
		}
		for _, s := range settlements {
			d.Settlements[s.Year] = s
		}
		if err := tx.Bucket(bucketClosed).ForEach(func(k, _ []byte) error {
			m, err := calendar.ParseMonth(string(k))
			if err == nil {
				d.ClosedMonths[m] = true
			}
			return err
		}); err != nil {
			return err
		}
		if v := tx.Bucket(bucketSettings).Get([]byte(metaWindowEndMonth)); v != nil {
			if n, err := strconv.Atoi(string(v)); err == nil && n >= 1 && n <= 12 {
				d.WindowEndMonth = n
			}
		}
		tables := map[string]*BandTable{}
		if err := readJSONMap(tx, bucketBandTables, tables, func(x *BandTable) string { return x.EffectiveFrom.String() }); err != nil {
			return err
		}
		for _, t := range tables {
			d.BandTables = append(d.BandTables, *t)
		}
		slices.SortFunc(d.BandTables, func(a, b BandTable) int { return a.EffectiveFrom.Compare(b.EffectiveFrom) })
		if f.MasterDataOnly {
			return nil
		}
		var err error
		d.Resources, err = readResourceHistories(tx, f)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

func firstError(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func readJSONMap[V any](tx *bolt.Tx, bucket []byte, into map[string]*V, key func(*V) string) error {
	return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
		x := new(V)
		if err := json.Unmarshal(v, x); err != nil {
			return fmt.Errorf("%s/%s: %w", bucket, k, err)
		}
		into[key(x)] = x
		return nil
	})
}

// readResourceHistories scans the line items once and groups the resource operations.
// A year holds millions of events of a few hundred thousand resources, so each event is
// decoded lean (ratingEvent): its strings are only copied for the first event of a resource.
func readResourceHistories(tx *bolt.Tx, f RatingFilter) ([]*ResourceHistory, error) {
	byID := map[string]*ResourceHistory{}
	skipped := map[string]bool{} // resources the filter leaves out
	var rd ratingEventReader
	c := tx.Bucket(bucketLineItems).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		body, err := storedBody(v)
		if err != nil {
			return nil, fmt.Errorf("line item %x: %w", k, err)
		}
		if len(body) == 0 || CommandType(body[0]) != TypeEvent {
			continue
		}
		var e ratingEvent
		if err := rd.decode(body[1:], &e); err != nil {
			return nil, fmt.Errorf("line item %x: %w", k, err)
		}
		if e.ratingOp == "" { // an operation that changes no quantity and no expiry
			continue
		}
		if !f.Before.IsZero() && !e.time.Before(f.Before) {
			continue
		}
		h := byID[string(e.resource)]
		if h == nil {
			if skipped[string(e.resource)] {
				continue
			}
			if f.Department != "" && string(e.department) != f.Department || f.Provider != "" && string(e.provider) != f.Provider {
				skipped[string(e.resource)] = true
				continue
			}
			h = &ResourceHistory{ID: string(e.resource), Department: rd.intern(e.department), Project: rd.intern(e.project),
				Provider: rd.intern(e.provider), Item: rd.intern(e.item), Kind: Kind(rd.intern(e.kind))}
			byID[h.ID] = h
		}
		switch e.ratingOp {
		case OpExtend:
			h.Expires = e.expires // an extend changes no quantity
			continue
		case OpAllocate:
			h.Expires = e.expires
		}
		q, err := rd.quantity(e.quantity)
		if err != nil {
			return nil, fmt.Errorf("line item %x: %w", k, err)
		}
		h.Ops = append(h.Ops, ResourceOp{Time: e.time, Op: e.ratingOp, Quantity: q})
	}
	out := make([]*ResourceHistory, 0, len(byID))
	for _, h := range byID {
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b *ResourceHistory) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// ratingEvent is an Event as readResourceHistories needs it: the fields as stored (valid for
// the read transaction only) and ratingOp, "" for operations that do not matter to rating.
type ratingEvent struct {
	eventFields
	ratingOp Op
}

// ratingEventReader decodes events lean and shares what repeats: department, project,
// provider, item and kind strings, and the decimal of each distinct quantity (up to a bound).
type ratingEventReader struct {
	strs  map[string]string
	quant map[string]decimal.Decimal
}

// maxCachedQuantities bounds the quantity cache (metered use may differ every time).
const maxCachedQuantities = 1 << 16

// ratingOps are the operations that change a quantity held or used, or an expiry.
var ratingOps = []Op{OpAllocate, OpExpand, OpReduce, OpReclaim, OpExpire, OpUsage, OpExtend}

// decode reads an encoded Event (Event.encode's layout, as Event.decode does).
func (rd *ratingEventReader) decode(b []byte, e *ratingEvent) error {
	d := decoder{b: b}
	e.eventFields.decode(&d)
	for _, o := range ratingOps {
		if string(e.op) == string(o) {
			e.ratingOp = o
		}
	}
	if d.err != nil {
		return d.err
	}
	return nil
}

func (rd *ratingEventReader) intern(b []byte) string {
	if s, ok := rd.strs[string(b)]; ok {
		return s
	}
	if rd.strs == nil {
		rd.strs = map[string]string{}
	}
	s := string(b)
	rd.strs[s] = s
	return s
}

// quantity parses a stored quantity as Event.decode does (ParseDecimal), once per distinct
// text while the cache has room. Decimals are values that operations never modify, so
// sharing one is safe.
func (rd *ratingEventReader) quantity(b []byte) (decimal.Decimal, error) {
	if q, ok := rd.quant[string(b)]; ok {
		return q, nil
	}
	q, err := ParseDecimal(string(b))
	if err != nil {
		return decimal.Zero, Errf(CodeMalformed, "", "bad decimal")
	}
	if rd.quant == nil {
		rd.quant = map[string]decimal.Decimal{}
	}
	if len(rd.quant) < maxCachedQuantities {
		rd.quant[string(b)] = q
	}
	return q, nil
}

// storedBody returns the command body of a stored line item without decoding the rest.
func storedBody(p []byte) ([]byte, error) {
	_, body, err := storedKeyBody(p)
	return body, err
}

// storedKeyBody returns the idempotency key and command body of a stored line item.
func storedKeyBody(p []byte) (string, []byte, error) {
	if len(p) < len(Hash{}) {
		return "", nil, Errf(CodeMalformed, "", "stored line item too short")
	}
	d := decoder{b: p[:len(p)-len(Hash{})]}
	d.uvarint()
	d.uvarint()
	key := d.raw(MaxKeyLen)
	d.raw(MaxTextLen)
	d.tm()
	body := d.raw(MaxBatchEncodedBytes)
	if d.err != nil {
		return "", nil, d.err
	}
	return string(key), body, nil
}
