package ledger

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/shopspring/decimal"
	bolt "go.etcd.io/bbolt"

	"github.com/cloudledger/cloudledger/calendar"
)

// OverrunStatus classifies a (department, quota class) whose allocation exceeds its quota.
type OverrunStatus string

const (
	StatusWithin    OverrunStatus = "within"    // A ≤ Q (QuotaUse only)
	StatusOver      OverrunStatus = "over"      // A > Q, at most 120 %
	StatusApproved  OverrunStatus = "approved"  // above 120 % under a covering approval
	StatusViolation OverrunStatus = "violation" // above 120 % with no covering approval
)

// Overrun is one row of the overrun report (SPEC: Quota).
type Overrun struct {
	Department     string
	DepartmentName string
	QuotaClass     string
	Quota          decimal.Decimal // Q
	Allocated      decimal.Decimal // A
	Ratio          decimal.Decimal // A/Q rounded half-up to 4 places; zero when Q = 0
	Status         OverrunStatus
	Ceiling        decimal.Decimal // the approval's ceiling, zero if none
	ApprovalRef    string
}

// Overruns lists every (department, class) with A > Q, sorted by department and class, Q
// the quotas in force on the ledger's day (a season's, SH 18).
func (l *Ledger) Overruns() []Overrun { return l.quotaRows(false, calendar.Date{}) }

// OverrunsOn is Overruns with the quotas in force on day d (what is held is today's).
func (l *Ledger) OverrunsOn(d calendar.Date) []Overrun { return l.quotaRows(false, d) }

// QuotaUse lists every (department, class) with a quota or an allocation, A ≤ Q among
// them (status within): the quota page of the console.
func (l *Ledger) QuotaUse() []Overrun { return l.quotaRows(true, calendar.Date{}) }

func (l *Ledger) quotaRows(within bool, day calendar.Date) []Overrun {
	l.mu.RLock()
	defer l.mu.RUnlock()
	t := l.root
	if day.IsZero() {
		day = calendar.DateOf(t.clock)
	}
	keys := map[deptClass]bool{}
	t.held.each(func(k deptClass, a decimal.Decimal) { keys[k] = true })
	if within {
		t.projects.each(func(_ string, p *Project) {
			if p.Closed {
				return
			}
			for c := range p.Quotas {
				keys[deptClass{Department: p.Department, QuotaClass: c}] = true
			}
			if ss, ok := t.seasons.get(p.ID); ok {
				for _, s := range ss.Seasons {
					keys[deptClass{Department: p.Department, QuotaClass: s.QuotaClass}] = true
				}
			}
		})
	}
	var out []Overrun
	for k := range keys {
		a, _ := t.held.get(k)
		q := t.deptQuota(k.Department, k.QuotaClass, day)
		if !a.GreaterThan(q) && !within {
			continue
		}
		row := Overrun{Department: k.Department, QuotaClass: k.QuotaClass, Quota: q, Allocated: a, Status: StatusWithin}
		if a.GreaterThan(q) {
			row.Status = StatusOver
		}
		if d, ok := t.departments.get(k.Department); ok {
			row.DepartmentName = d.Name
		}
		if q.IsPositive() {
			row.Ratio = a.DivRound(q, 4)
		}
		if appr, ok := t.approvals.get(k); ok && appr.InForce(t.clock) {
			row.Ceiling, row.ApprovalRef = appr.Ceiling, appr.Ref
		}
		if a.GreaterThan(q.Mul(ratioLimit)) {
			if row.ApprovalRef != "" && row.Ceiling.GreaterThanOrEqual(a) {
				row.Status = StatusApproved
			} else {
				row.Status = StatusViolation
			}
		}
		out = append(out, row)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Department != out[j].Department {
			return out[i].Department < out[j].Department
		}
		return out[i].QuotaClass < out[j].QuotaClass
	})
	return out
}

// sortedCopies copies the values of one table of the committed state, sorted by id.
func sortedCopies[V any](l *Ledger, table func(*txn) *layer[string, *V], id func(*V) string) []V {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []V
	table(l.root).each(func(_ string, v *V) { out = append(out, *v) })
	sort.Slice(out, func(i, j int) bool { return id(&out[i]) < id(&out[j]) })
	return out
}

// Projects lists the projects, closed ones included, sorted by id.
func (l *Ledger) Projects() []Project {
	return sortedCopies(l, func(t *txn) *layer[string, *Project] { return t.projects }, func(v *Project) string { return v.ID })
}

// ResourceFilter narrows Resources; empty fields match everything.
type ResourceFilter struct {
	Department func(string) bool // nil: every department
	Project    string
	Kind       ResourceKind
	Provider   string
	OpenOnly   bool
}

// Resources lists the resources the filter matches, sorted by id.
func (l *Ledger) Resources(f ResourceFilter) []Resource {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []Resource
	l.root.resources.each(func(_ string, r *Resource) {
		switch {
		case f.Department != nil && !f.Department(r.Department),
			f.Project != "" && r.Project != f.Project,
			f.Kind != "" && r.Kind != f.Kind,
			f.Provider != "" && r.Provider != f.Provider,
			f.OpenOnly && r.Closed:
			return
		}
		out = append(out, *r)
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// CatalogItems lists the catalog with every price version, sorted by item.
func (l *Ledger) CatalogItems() []CatalogItem {
	return sortedCopies(l, func(t *txn) *layer[string, *CatalogItem] { return t.items }, func(v *CatalogItem) string { return v.ID })
}

// EvaluationScores lists each provider's evaluation scores, sorted by provider.
func (l *Ledger) EvaluationScores() []ProviderScores {
	return sortedCopies(l, func(t *txn) *layer[string, *ProviderScores] { return t.evaluations }, func(v *ProviderScores) string { return v.Provider })
}

// Providers lists the providers, sorted by id.
func (l *Ledger) Providers() []Provider {
	return sortedCopies(l, func(t *txn) *layer[string, *Provider] { return t.providers }, func(v *Provider) string { return v.ID })
}

// Departments lists the departments, sorted by id.
func (l *Ledger) Departments() []Department {
	return sortedCopies(l, func(t *txn) *layer[string, *Department] { return t.departments }, func(v *Department) string { return v.ID })
}

// Head is the chain's head: the number of line items and the hash of the last.
type Head struct {
	Seq  uint64
	Hash Hash
	// AppliedIndex is the Raft index of the state: the last entry applied that changed
	// more than the access trail (whose entries do not change what is rated or exported).
	AppliedIndex uint64
}

// Head returns the current head of the chain.
func (l *Ledger) Head() Head {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return Head{Seq: l.root.seq, Hash: l.root.head, AppliedIndex: l.stateIndex}
}

// Verify re-reads every stored line item, recomputes the hash chain and checks it against
// the stored hashes and the head. A mismatch names the first altered line item.
func (l *Ledger) Verify() (Head, error) {
	l.ensureFlushed()
	l.mu.RLock()
	defer l.mu.RUnlock()
	want := Head{Seq: l.root.seq, Hash: l.root.head, AppliedIndex: l.stateIndex}
	var prev Hash
	var n uint64
	err := l.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketLineItems).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			n++
			if binary.BigEndian.Uint64(k) != n {
				return fmt.Errorf("line item %d missing (found %d)", n, binary.BigEndian.Uint64(k))
			}
			li, canon, err := decodeLineItem(v)
			if err != nil {
				return fmt.Errorf("line item %d: %v", n, err)
			}
			if li.Seq != n {
				return fmt.Errorf("line item %d claims sequence %d", n, li.Seq)
			}
			h := chainHash(prev, canon)
			if h != li.Hash {
				return fmt.Errorf("line item %d (key %q): hash mismatch: content or order altered", n, li.Key)
			}
			prev = h
		}
		return nil
	})
	if err != nil {
		return Head{}, err
	}
	if n != want.Seq || prev != want.Hash {
		return Head{}, fmt.Errorf("chain ends at %d %s but the head says %d %s", n, prev, want.Seq, want.Hash)
	}
	return want, nil
}

// HashAt is the chain hash of line item seq, and whether the ledger holds it: what a copy
// derived from the line items up to seq (rating.Kept's file) is checked against.
func (l *Ledger) HashAt(seq uint64) (h Hash, ok bool) {
	l.LineItems(seq, func(li *LineItem) bool {
		h, ok = li.Hash, li.Seq == seq
		return false
	})
	return h, ok
}

// LineItems calls fn for each line item with sequence ≥ from, in order, until fn returns false.
func (l *Ledger) LineItems(from uint64, fn func(*LineItem) bool) error {
	l.ensureFlushed()
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketLineItems).Cursor()
		var start [8]byte
		binary.BigEndian.PutUint64(start[:], from)
		for k, v := c.Seek(start[:]); k != nil; k, v = c.Next() {
			li, _, err := decodeLineItem(v)
			if err != nil {
				return err
			}
			if !fn(li) {
				return nil
			}
		}
		return nil
	})
}

// LineItemByKey returns the line item an idempotency key produced: a cloud-wide key
// (tenant ""), or a tenant's ("provider:P", "department:D"; see tenantkeys.go).
func (l *Ledger) LineItemByKey(tenant, key string) (*LineItem, bool) {
	l.ensureFlushed()
	l.mu.RLock()
	defer l.mu.RUnlock()
	rec, _, ok := l.root.lookupTenantKey(tenant, key)
	if !ok {
		return nil, false
	}
	li := l.lineItemAt(rec.Seq)
	return li, li != nil
}

// LineItemsByKey returns the line items of every tenant written under key, by sequence:
// what a reader of the whole ledger (the authority, an auditor) finds when searching a key
// that two tenants may both have used.
func (l *Ledger) LineItemsByKey(key string) []*LineItem {
	l.ensureFlushed()
	l.mu.RLock()
	defer l.mu.RUnlock()
	tenants := []string{""}
	l.root.providers.each(func(id string, _ *Provider) { tenants = append(tenants, "provider:"+id) })
	l.root.departments.each(func(id string, _ *Department) { tenants = append(tenants, "department:"+id) })
	seen := map[uint64]bool{}
	var out []*LineItem
	for _, tn := range tenants {
		if rec, _, ok := l.root.lookupTenantKey(tn, key); ok && !seen[rec.Seq] {
			seen[rec.Seq] = true
			if li := l.lineItemAt(rec.Seq); li != nil {
				out = append(out, li)
			}
		}
	}
	slices.SortFunc(out, func(a, b *LineItem) int { return cmp.Compare(a.Seq, b.Seq) })
	return out
}

// lineItemAt reads a stored line item (nil if there is none); the caller holds l.mu.
func (l *Ledger) lineItemAt(seq uint64) *LineItem {
	var li *LineItem
	_ = l.db.View(func(tx *bolt.Tx) error {
		var k [8]byte
		binary.BigEndian.PutUint64(k[:], seq)
		if v := tx.Bucket(bucketLineItems).Get(k[:]); v != nil {
			li, _, _ = decodeLineItem(bytes.Clone(v))
		}
		return nil
	})
	return li
}

// Resource returns a copy of a resource's current state.
func (l *Ledger) Resource(id string) (Resource, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	r, ok := l.root.resources.get(id)
	if !ok {
		return Resource{}, false
	}
	return *r, true
}

// Department returns a department.
func (l *Ledger) Department(id string) (Department, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	d, ok := l.root.departments.get(id)
	if !ok {
		return Department{}, false
	}
	return *d, true
}

// Project returns a copy of a project.
func (l *Ledger) Project(id string) (Project, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	p, ok := l.root.projects.get(id)
	if !ok {
		return Project{}, false
	}
	c := *p
	c.Quotas = make(map[string]decimal.Decimal, len(p.Quotas))
	for k, v := range p.Quotas {
		c.Quotas[k] = v
	}
	return c, true
}

// Counts is a summary of what the ledger holds.
type Counts struct {
	Departments, Providers, Projects, Items, Resources, OpenResources, ClosedMonths int
}

// Counts returns entity counts.
func (l *Ledger) Counts() Counts {
	l.mu.RLock()
	defer l.mu.RUnlock()
	t := l.root
	c := Counts{Departments: len(t.departments.m), Providers: len(t.providers.m), Projects: len(t.projects.m),
		Items: len(t.items.m), Resources: len(t.resources.m), ClosedMonths: len(t.closed.m)}
	for _, r := range t.resources.m {
		if !r.Closed {
			c.OpenResources++
		}
	}
	return c
}

// AdminTokenSHA256 is the hex SHA-256 of the admin token, "" before one is set.
func (l *Ledger) AdminTokenSHA256() string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	v, _ := l.root.settings.get(metaAdminToken)
	return v
}

// NextExpiry is the earliest pending expiry (zero if none).
func (l *Ledger) NextExpiry() time.Time {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.root.nextExpiry()
}

// Calendar is the working-day calendar in force (built-in years plus loaded ones).
func (l *Ledger) Calendar() *calendar.Calendar {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.root.cal
}

// IsMonthClosed reports whether a month is closed.
func (l *Ledger) IsMonthClosed(m calendar.Month) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.root.isClosed(m)
}

// DryRun checks requests against the current state plus everything the dry run accepted
// before, without changing the ledger. An import validates a whole file through one DryRun
// before anything is proposed, so rows that depend on earlier rows are checked in order.
type DryRun struct {
	l *Ledger
	t *txn
}

// NewDryRun starts a dry run on top of the current state.
func (l *Ledger) NewDryRun() *DryRun {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return &DryRun{l: l, t: l.root.child()}
}

// Apply checks one request; if it would succeed its effects stay visible to later requests
// of this dry run.
func (d *DryRun) Apply(r Submission, recordedAt time.Time) SubmissionResult {
	d.l.mu.RLock()
	defer d.l.mu.RUnlock()
	return d.t.applySubmission(r, applyContext{actor: r.Actor, recordedAt: recordedAt, rules: currentRules})
}

// BandTables returns the band tables set on the ledger, by effective date.
func (l *Ledger) BandTables() []BandTable {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]BandTable, 0, len(l.root.bandTables.m))
	for _, t := range l.root.bandTables.m {
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].EffectiveFrom.Before(out[j].EffectiveFrom) })
	return out
}
