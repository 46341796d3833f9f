package ledger

import (
	"slices"
	"sort"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
)

// ItemResult is the outcome of one accepted command.
type ItemResult struct {
	Seq       uint64 // the line item written, or the original one for a duplicate
	Duplicate bool   // the key was used before with the same content: nothing was written
	Unchanged bool   // the command restated what the ledger already holds: nothing was written
}

// RequestResult is the outcome of one request: all of its commands applied, or Err says
// which one failed (Err.Index) and nothing of the request was applied.
type RequestResult struct {
	Items []ItemResult
	Err   *Error
}

// ProposalResult is what applying one Raft entry returns.
type ProposalResult struct {
	Requests []RequestResult
	Err      *Error // the entry itself could not be decoded (nothing applied)
}

// applyContext is what every command of a request shares.
type applyContext struct {
	actor      string
	recordedAt time.Time
	raftIndex  uint64
}

var (
	ratioLimit  = decimal.RequireFromString("1.2")  // SPEC: Quota, the 20 % rule
	devFraction = decimal.RequireFromString("0.15") // SPEC: Quota, dev resources
)

// errUnchanged marks a command that restates the ledger: accepted, nothing written.
var errUnchanged = &Error{Code: "unchanged", Index: -1}

// applyProposal applies one decoded entry on t (the root for real applies, a dry-run
// layer otherwise). Each request runs in a child txn that is merged only if it succeeds.
func (t *txn) applyProposal(p *Proposal, raftIndex uint64) *ProposalResult {
	res := &ProposalResult{}
	if p.RecordedAt.After(t.clock) {
		t.clock = p.RecordedAt
	}
	for _, r := range p.Requests {
		res.Requests = append(res.Requests, t.applyRequest(r, applyContext{actor: r.Actor, recordedAt: p.RecordedAt, raftIndex: raftIndex}))
	}
	return res
}

func (t *txn) applyRequest(r Request, ctx applyContext) RequestResult {
	c := t.child()
	out := RequestResult{Items: make([]ItemResult, 0, len(r.Commands))}
	for i, cmd := range r.Commands {
		ir, err := c.applyCommand(cmd, ctx)
		if err != nil {
			e := *err
			e.Index = i
			return RequestResult{Err: &e}
		}
		out.Items = append(out.Items, ir)
	}
	c.commit()
	return out
}

func (t *txn) applyCommand(cmd Command, ctx applyContext) (ItemResult, *Error) {
	if _, ok := cmd.Body.(*Tick); ok {
		// Only an explicit tick (or a month close) expires resources, never an ordinary
		// write: a bulk import of history must not see its resources expire between batches.
		t.expireDue(ctx.recordedAt, ctx.raftIndex)
		return ItemResult{Unchanged: true}, nil
	}
	if err := ValidateCommand(cmd); err != nil {
		return ItemResult{}, err
	}
	if isBookkeeping(cmd.Body) {
		if err := t.applyBookkeeping(cmd.Body, ctx); err != nil {
			return ItemResult{}, err
		}
		return ItemResult{Unchanged: true}, nil
	}
	body := EncodeBody(cmd.Body)
	content := contentHash(body)
	if rec, ok := t.lookupKey(cmd.Key); ok {
		if rec.Content != content {
			return ItemResult{}, Errf(CodeIdempotencyConflict, "key", "key %q was used before (line item %d) with other content", cmd.Key, rec.Seq)
		}
		return ItemResult{Seq: rec.Seq, Duplicate: true}, nil
	}
	var err *Error
	switch b := cmd.Body.(type) {
	case *Event:
		err = t.applyEvent(b)
	case *SetDepartment:
		err = t.applySetDepartment(b)
	case *SetProvider:
		err = t.applySetProvider(b)
	case *SetProjectQuota:
		err = t.applySetProjectQuota(b)
	case *SetCatalogPrice:
		err = t.applySetCatalogPrice(b)
	case *GrantApproval:
		err = t.applyGrantApproval(b, ctx)
	case *ClosePeriod:
		err = t.applyClosePeriod(b, ctx)
	case *LoadCalendar:
		err = t.applyLoadCalendar(b)
	case *SetAdminToken:
		err = t.applySetAdminToken(b)
	case *SetEvaluation:
		err = t.applySetEvaluation(b)
	case *SetBandTable:
		err = t.applySetBandTable(b)
	case *SettlementRun:
		err = t.applySettlementRun(b, ctx)
	case *SettlementAudit:
		err = t.applySettlementAudit(b, ctx)
	case *SettlementAdvance:
		err = t.applySettlementAdvance(b, ctx)
	case *SetSettlementWindow:
		err = t.applySetSettlementWindow(b)
	case *RecordReconciliation:
		err = t.applyRecordReconciliation(b, ctx)
	default:
		err = Errf(CodeMalformed, "", "unsupported command %T", cmd.Body)
	}
	if err == errUnchanged {
		return ItemResult{Unchanged: true}, nil
	}
	if err != nil {
		return ItemResult{}, err
	}
	li := t.appendEncoded(cmd.Key, ctx.actor, ctx.recordedAt, ctx.raftIndex, cmd.Body, body, content)
	return ItemResult{Seq: li.Seq}, nil
}

// ---- resource operations (SPEC: Ledger, Quota) ----

func (t *txn) applyEvent(e *Event) *Error {
	if t.isClosed(calendar.MonthOf(calendar.DateOf(e.Time))) {
		return Errf(CodePeriodClosed, "time", "%s falls in closed month %s", e.Time.Format(time.RFC3339), calendar.MonthOf(calendar.DateOf(e.Time)))
	}
	switch e.Op {
	case OpAllocate:
		return t.applyAllocate(e)
	case OpExpand, OpReduce, OpReclaim:
		return t.applyChange(e)
	case OpUsage:
		return t.applyUsage(e)
	case OpExtend:
		return t.applyExtend(e)
	}
	return Errf(CodeInvalidValue, "op", "unknown op %q", e.Op)
}

// references resolves and cross-checks the department, project, provider and item of an event.
func (t *txn) references(e *Event) (*Project, *Provider, *CatalogItem, *Error) {
	if _, ok := t.departments.get(e.Department); !ok {
		return nil, nil, nil, Errf(CodeUnknownDepartment, "department", "unknown department %q", e.Department)
	}
	p, ok := t.projects.get(e.Project)
	if !ok {
		return nil, nil, nil, Errf(CodeUnknownProject, "project", "unknown project %q", e.Project)
	}
	if p.Department != e.Department {
		return nil, nil, nil, Errf(CodeProjectMismatch, "project", "project %q belongs to department %q, not %q", e.Project, p.Department, e.Department)
	}
	prov, ok := t.providers.get(e.Provider)
	if !ok {
		return nil, nil, nil, Errf(CodeUnknownProvider, "provider", "unknown provider %q", e.Provider)
	}
	item, ok := t.items.get(e.Item)
	if !ok {
		return nil, nil, nil, Errf(CodeUnknownItem, "item", "unknown catalog item %q", e.Item)
	}
	return p, prov, item, nil
}

func checkContract(prov *Provider, at time.Time) *Error {
	d := calendar.DateOf(at)
	if d.Before(prov.ContractStart) || d.After(prov.ContractEnd) {
		return Errf(CodeContractInactive, "provider", "provider %q has no contract on %s (contract %s to %s)", prov.ID, d, prov.ContractStart, prov.ContractEnd)
	}
	return nil
}

func (t *txn) applyAllocate(e *Event) *Error {
	if _, ok := t.resources.get(e.Resource); ok {
		return Errf(CodeResourceExists, "resource", "resource %q already exists", e.Resource)
	}
	p, prov, item, err := t.references(e)
	if err != nil {
		return err
	}
	if p.Closed {
		return Errf(CodeUnknownProject, "project", "project %q is closed", p.ID)
	}
	if item.Billing != BillingAllocation {
		return Errf(CodeBillingMismatch, "op", "item %q is billed by use: record usage, not allocate", item.ID)
	}
	if err := checkContract(prov, e.Time); err != nil {
		return err
	}
	if err := t.checkExpiry(e.Kind, e.Time, e.Expires); err != nil {
		return err
	}
	r := &Resource{ID: e.Resource, Department: e.Department, Project: e.Project, Provider: e.Provider, Item: e.Item,
		Kind: e.Kind, QuotaClass: item.QuotaClass, Billing: BillingAllocation, Quantity: e.Quantity,
		Opened: e.Time, LastTime: e.Time, Expires: e.Expires}
	if err := t.checkQuota(r, e.Quantity); err != nil {
		return err
	}
	t.resources.put(r.ID, r)
	t.addHeld(r, e.Quantity)
	if !r.Expires.IsZero() {
		t.timeLimited.put(r.ID, r.Expires)
	}
	return nil
}

// checkExpiry enforces the kinds table of SPEC: Ledger.
func (t *txn) checkExpiry(kind Kind, at, expires time.Time) *Error {
	maxDay, limited := kind.maxExpiry(calendar.DateOf(at))
	if !limited {
		if !expires.IsZero() {
			return Errf(CodeExpiryNotAllowed, "expires", "a %s resource has no expiry", kind)
		}
		return nil
	}
	if expires.IsZero() {
		return Errf(CodeExpiryRequired, "expires", "a %s resource needs an expiry", kind)
	}
	if !expires.After(at) {
		return Errf(CodeInvalidValue, "expires", "expiry %s is not after %s", expires.Format(time.RFC3339), at.Format(time.RFC3339))
	}
	if day := ExpiryDay(expires); day.After(maxDay) {
		return Errf(CodeExpiryTooLong, "expires", "a %s resource allocated on %s may expire on %s at the latest, not %s", kind, calendar.DateOf(at), maxDay, day)
	}
	if m := calendar.MonthOf(ExpiryDay(expires)); t.isClosed(m) {
		return Errf(CodePeriodClosed, "expires", "expiry falls in closed month %s", m)
	}
	return nil
}

// checkQuota applies SPEC's Quota rules to raising r's quantity by delta (r holds the
// quantity before the change).
func (t *txn) checkQuota(r *Resource, delta decimal.Decimal) *Error {
	if r.QuotaClass == "" {
		return nil
	}
	if r.Kind.countsTowardQuota() {
		k := deptClass{r.Department, r.QuotaClass}
		newA := t.heldOf(k).Add(delta)
		q := t.deptQuota(r.Department, r.QuotaClass)
		if newA.GreaterThan(q.Mul(ratioLimit)) {
			a, ok := t.approvals.get(k)
			if !ok || a.Ceiling.LessThan(newA) {
				return Errf(CodeQuotaOverrun, "quantity", "department %q class %q would hold %s against a quota of %s (limit 120%% = %s); a supervisor approval with a ceiling of at least %s is needed",
					r.Department, r.QuotaClass, newA, q, q.Mul(ratioLimit), newA)
			}
		}
	}
	if r.Kind == KindDev {
		k := projectClass{r.Project, r.QuotaClass}
		newDev := t.devHeldOf(k).Add(delta)
		p, _ := t.projects.get(r.Project)
		limit := p.Quotas[r.QuotaClass].Mul(devFraction)
		if newDev.GreaterThan(limit) {
			return Errf(CodeDevLimit, "quantity", "project %q would hold %s %s of dev resources, above 15%% of its quota (%s)", r.Project, newDev, r.QuotaClass, limit)
		}
	}
	return nil
}

// openResource finds an open allocation-billed resource for an op at time at.
func (t *txn) openResource(e *Event) (*Resource, *Error) {
	r, ok := t.resources.get(e.Resource)
	if !ok {
		return nil, Errf(CodeUnknownResource, "resource", "unknown resource %q", e.Resource)
	}
	if r.Closed {
		return nil, Errf(CodeResourceClosed, "resource", "resource %q was reclaimed or expired", e.Resource)
	}
	if !r.Expires.IsZero() && !e.Time.Before(r.Expires) {
		return nil, Errf(CodeResourceExpired, "resource", "resource %q expired at %s", e.Resource, r.Expires.Format(time.RFC3339))
	}
	if err := matches(r, e); err != nil {
		return nil, err
	}
	return r, nil
}

// matches checks that the optional descriptive columns of an event agree with the resource.
func matches(r *Resource, e *Event) *Error {
	for _, f := range []struct{ field, got, want string }{
		{"department", e.Department, r.Department}, {"project", e.Project, r.Project},
		{"provider", e.Provider, r.Provider}, {"item", e.Item, r.Item}, {"kind", string(e.Kind), string(r.Kind)},
	} {
		if f.got != "" && f.got != f.want {
			return Errf(CodeResourceMismatch, f.field, "resource %q has %s %q, not %q", r.ID, f.field, f.want, f.got)
		}
	}
	return nil
}

func (t *txn) applyChange(e *Event) *Error {
	r, err := t.openResource(e)
	if err != nil {
		return err
	}
	if r.Billing != BillingAllocation {
		return Errf(CodeBillingMismatch, "op", "resource %q is billed by use: only usage applies", r.ID)
	}
	if e.Time.Before(r.LastTime) {
		return Errf(CodeOutOfOrder, "time", "resource %q already has an operation at %s, later than %s", r.ID, r.LastTime.Format(time.RFC3339), e.Time.Format(time.RFC3339))
	}
	n := *r
	n.LastTime = e.Time
	var delta decimal.Decimal
	switch e.Op {
	case OpExpand:
		prov, _ := t.providers.get(r.Provider)
		if err := checkContract(prov, e.Time); err != nil {
			return err
		}
		if err := t.checkQuota(r, e.Quantity); err != nil {
			return err
		}
		delta = e.Quantity
	case OpReduce:
		if e.Quantity.GreaterThan(r.Quantity) {
			return Errf(CodeBelowZero, "quantity", "resource %q holds %s; reducing by %s would go below zero", r.ID, r.Quantity, e.Quantity)
		}
		delta = e.Quantity.Neg()
	case OpReclaim:
		delta = r.Quantity.Neg()
		n.Closed = true
		t.timeLimited.put(r.ID, time.Time{})
	}
	n.Quantity = r.Quantity.Add(delta)
	t.resources.put(n.ID, &n)
	t.addHeld(r, delta)
	return nil
}

func (t *txn) applyUsage(e *Event) *Error {
	if r, ok := t.resources.get(e.Resource); ok {
		if err := matches(r, e); err != nil {
			return err
		}
		if r.Billing != BillingMetered {
			return Errf(CodeBillingMismatch, "op", "resource %q is billed by allocation: usage does not apply", r.ID)
		}
		n := *r
		n.Quantity = r.Quantity.Add(e.Quantity)
		if e.Time.After(n.LastTime) {
			n.LastTime = e.Time
		}
		t.resources.put(n.ID, &n)
		return nil
	}
	_, prov, item, err := t.references(e)
	if err != nil {
		return err
	}
	if item.Billing != BillingMetered {
		return Errf(CodeBillingMismatch, "op", "item %q is billed by allocation: allocate it, usage does not apply", item.ID)
	}
	if err := checkContract(prov, e.Time); err != nil {
		return err
	}
	t.resources.put(e.Resource, &Resource{ID: e.Resource, Department: e.Department, Project: e.Project, Provider: e.Provider,
		Item: e.Item, Kind: e.Kind, Billing: BillingMetered, Quantity: e.Quantity, Opened: e.Time, LastTime: e.Time})
	return nil
}

// applyExtend enforces SH 23–24 as SPEC states them: requested at least 15 working days
// before the current expiry, moving it by at most the kind's maximum duration.
func (t *txn) applyExtend(e *Event) *Error {
	r, err := t.openResource(e)
	if err != nil {
		return err
	}
	if r.Expires.IsZero() {
		return Errf(CodeNotTimeLimited, "resource", "resource %q (%s) has no expiry to extend", r.ID, r.Kind)
	}
	if !e.Expires.After(r.Expires) {
		return Errf(CodeInvalidValue, "expires", "new expiry %s is not later than the current %s", e.Expires.Format(time.RFC3339), r.Expires.Format(time.RFC3339))
	}
	current := ExpiryDay(r.Expires)
	deadline, cerr := t.cal.Deadline(current, ExtensionNoticeWorkingDays)
	if cerr != nil {
		return Errf(CodeCalendarUnknown, "expires", "%v", cerr)
	}
	if requested := calendar.DateOf(e.Time); requested.After(deadline) {
		return Errf(CodeExtensionTooLate, "time", "an extension of resource %q expiring %s had to be requested by %s (%d working days before); requested %s",
			r.ID, current, deadline, ExtensionNoticeWorkingDays, requested)
	}
	maxDay, _ := r.Kind.maxExpiry(current)
	if day := ExpiryDay(e.Expires); day.After(maxDay) {
		return Errf(CodeExtensionTooLong, "expires", "a %s resource expiring %s may be extended to %s at the latest, not %s", r.Kind, current, maxDay, day)
	}
	if m := calendar.MonthOf(ExpiryDay(e.Expires)); t.isClosed(m) {
		return Errf(CodePeriodClosed, "expires", "new expiry falls in closed month %s", m)
	}
	n := *r
	n.Expires = e.Expires
	t.resources.put(n.ID, &n)
	t.timeLimited.put(n.ID, n.Expires)
	return nil
}

// ExtensionNoticeWorkingDays is SH 23–24's notice period for an extension.
const ExtensionNoticeWorkingDays = 15

// expireDue writes an expire line item for every open time-limited resource whose expiry
// is at or before now, in (expiry, resource) order. The item's effective time is the expiry
// itself (SPEC: Ledger), so when it is written does not change rating.
func (t *txn) expireDue(now time.Time, raftIndex uint64) int {
	type due struct {
		id string
		at time.Time
	}
	var list []due
	seen := map[string]bool{}
	for x := t.timeLimited; x != nil; x = x.parent {
		for id, at := range x.m {
			if seen[id] {
				continue
			}
			seen[id] = true
			if !at.IsZero() && !at.After(now) {
				list = append(list, due{id, at})
			}
		}
	}
	sort.Slice(list, func(i, j int) bool {
		if !list[i].at.Equal(list[j].at) {
			return list[i].at.Before(list[j].at)
		}
		return list[i].id < list[j].id
	})
	for _, d := range list {
		r, _ := t.resources.get(d.id)
		n := *r
		n.Closed = true
		n.Quantity = decimal.Zero
		n.LastTime = r.Expires
		t.resources.put(n.ID, &n)
		t.addHeld(r, r.Quantity.Neg())
		t.timeLimited.put(n.ID, time.Time{})
		body := &Event{Op: OpExpire, Time: r.Expires, Department: r.Department, Project: r.Project, Provider: r.Provider,
			Resource: r.ID, Item: r.Item, Kind: r.Kind, Quantity: r.Quantity}
		t.appendItem("expire/"+r.ID, "system", now, raftIndex, body)
	}
	return len(list)
}

// NextExpiry is the earliest expiry of an open time-limited resource (zero if none); the
// leader proposes a tick when it has passed.
func (t *txn) nextExpiry() time.Time {
	var next time.Time
	for id, at := range t.timeLimited.m {
		_ = id
		if !at.IsZero() && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	return next
}

func (t *txn) isClosed(m calendar.Month) bool {
	v, _ := t.closed.get(m)
	return v
}

// ---- master data ----

func (t *txn) applySetDepartment(b *SetDepartment) *Error {
	d := b.Department
	if d.Parent != "" {
		if d.Parent == d.ID {
			return Errf(CodeInvalidValue, "parent", "department %q cannot be its own parent", d.ID)
		}
		if _, ok := t.departments.get(d.Parent); !ok {
			return Errf(CodeUnknownDepartment, "parent", "unknown parent department %q", d.Parent)
		}
		for p, hops := d.Parent, 0; p != ""; hops++ {
			if p == d.ID || hops > 64 {
				return Errf(CodeInvalidValue, "parent", "parent %q would make a cycle", d.Parent)
			}
			pd, _ := t.departments.get(p)
			p = pd.Parent
		}
	}
	if old, ok := t.departments.get(d.ID); ok && *old == d {
		return errUnchanged
	}
	t.departments.put(d.ID, &d)
	return nil
}

func (t *txn) applySetProvider(b *SetProvider) *Error {
	p := b.Provider
	if old, ok := t.providers.get(p.ID); ok && *old == p {
		return errUnchanged
	}
	t.providers.put(p.ID, &p)
	return nil
}

func (t *txn) applySetProjectQuota(b *SetProjectQuota) *Error {
	if _, ok := t.departments.get(b.Department); !ok {
		return Errf(CodeUnknownDepartment, "department", "unknown department %q", b.Department)
	}
	old, exists := t.projects.get(b.Project)
	if exists {
		if old.Department != b.Department {
			return Errf(CodeProjectMismatch, "department", "project %q belongs to department %q, not %q", b.Project, old.Department, b.Department)
		}
		if q, ok := old.Quotas[b.QuotaClass]; ok && q.Equal(b.Quota) && old.Name == b.Name {
			return errUnchanged
		}
	}
	n := &Project{ID: b.Project, Department: b.Department, Name: b.Name, Quotas: map[string]decimal.Decimal{}}
	if exists {
		n.Closed = old.Closed
		for k, v := range old.Quotas {
			n.Quotas[k] = v
		}
	} else {
		ids, _ := t.deptProjects.get(b.Department)
		ids = append(slices.Clone(ids), b.Project)
		slices.Sort(ids)
		t.deptProjects.put(b.Department, ids)
	}
	n.Quotas[b.QuotaClass] = b.Quota
	t.projects.put(n.ID, n)
	return nil
}

func (t *txn) applySetCatalogPrice(b *SetCatalogPrice) *Error {
	if b.Provider != "" {
		if _, ok := t.providers.get(b.Provider); !ok {
			return Errf(CodeUnknownProvider, "provider", "unknown provider %q", b.Provider)
		}
	}
	n := &CatalogItem{ID: b.Item, Name: b.Name, Category: b.Category, Unit: b.Unit, Billing: b.Billing, QuotaClass: b.QuotaClass, Proration: b.Proration}
	old, exists := t.items.get(b.Item)
	if exists {
		if old.Billing != b.Billing || old.QuotaClass != b.QuotaClass || old.Proration != b.Proration {
			return Errf(CodeCatalogConflict, "billing", "item %q is %s/%s/%s; billing, quota class and proration cannot change (add a new item)",
				b.Item, old.Billing, old.QuotaClass, old.Proration)
		}
		n.Prices = slices.Clone(old.Prices)
	}
	pv := PriceVersion{Provider: b.Provider, EffectiveFrom: b.EffectiveFrom, Price: b.Price}
	i, found := slices.BinarySearchFunc(n.Prices, pv, comparePriceVersion)
	if !found || !n.Prices[i].Price.Equal(b.Price) {
		// The version is in force until the next one of the same provider.
		var until calendar.Date
		for _, v := range n.Prices {
			if v.Provider == b.Provider && v.EffectiveFrom.After(b.EffectiveFrom) && (until.IsZero() || v.EffectiveFrom.Before(until)) {
				until = v.EffectiveFrom
			}
		}
		if y, ok := t.auditedOverlap(b.EffectiveFrom, until); ok {
			return errAudited("effective_from", y)
		}
	}
	if found {
		if n.Prices[i].Price.Equal(b.Price) && old.Name == b.Name && old.Category == b.Category && old.Unit == b.Unit {
			return errUnchanged
		}
		if !n.Prices[i].Price.Equal(b.Price) && t.isClosed(calendar.MonthOf(b.EffectiveFrom)) {
			return Errf(CodePeriodClosed, "effective_from", "the price of %q from %s is in closed month %s and cannot change", b.Item, b.EffectiveFrom, calendar.MonthOf(b.EffectiveFrom))
		}
		n.Prices[i] = pv
	} else {
		if t.isClosed(calendar.MonthOf(b.EffectiveFrom)) {
			return Errf(CodePeriodClosed, "effective_from", "a price effective %s would change closed month %s", b.EffectiveFrom, calendar.MonthOf(b.EffectiveFrom))
		}
		n.Prices = slices.Insert(n.Prices, i, pv)
	}
	t.items.put(n.ID, n)
	return nil
}

func comparePriceVersion(a, b PriceVersion) int {
	if a.Provider != b.Provider {
		if a.Provider < b.Provider {
			return -1
		}
		return 1
	}
	return a.EffectiveFrom.Compare(b.EffectiveFrom)
}

func (t *txn) applyGrantApproval(b *GrantApproval, ctx applyContext) *Error {
	if _, ok := t.departments.get(b.Department); !ok {
		return Errf(CodeUnknownDepartment, "department", "unknown department %q", b.Department)
	}
	t.approvals.put(deptClass{b.Department, b.QuotaClass}, &Approval{Department: b.Department, QuotaClass: b.QuotaClass,
		Ceiling: b.Ceiling, Ref: b.Ref, Actor: ctx.actor, Time: ctx.recordedAt})
	return nil
}

func (t *txn) applyClosePeriod(b *ClosePeriod, ctx applyContext) *Error {
	end := b.Month.Next().First().Start()
	if ctx.recordedAt.Before(end) {
		return Errf(CodePeriodNotEnded, "month", "month %s has not ended (the ledger clock reads %s)", b.Month, ctx.recordedAt.Format(time.RFC3339))
	}
	if t.isClosed(b.Month) {
		return errUnchanged
	}
	// Write the month's due expiries before it closes, so none lands in a closed month later.
	t.expireDue(ctx.recordedAt, ctx.raftIndex)
	t.closed.put(b.Month, true)
	return nil
}

func (t *txn) applyLoadCalendar(b *LoadCalendar) *Error {
	if old, ok := t.calendars.get(b.Schedule.Year); ok && slices.Equal(old.Days, b.Schedule.Days) {
		return errUnchanged
	}
	t.calendars.put(b.Schedule.Year, b.Schedule)
	t.rebuildCalendar()
	return nil
}

// rebuildCalendar is the built-in schedules with every loaded year on top.
func (t *txn) rebuildCalendar() {
	years := calendar.Builtin()
	var loaded []int
	for x := t.calendars; x != nil; x = x.parent {
		for y := range x.m {
			loaded = append(loaded, y)
		}
	}
	slices.Sort(loaded)
	loaded = slices.Compact(loaded)
	for _, y := range loaded {
		s, _ := t.calendars.get(y)
		years = append(years, s)
	}
	t.cal = calendar.New(years...)
}

func (t *txn) applySetAdminToken(b *SetAdminToken) *Error {
	if old, _ := t.meta.get(metaAdminToken); old == b.TokenSHA256 {
		return errUnchanged
	}
	t.meta.put(metaAdminToken, b.TokenSHA256)
	return nil
}

const metaAdminToken = "admin_token_sha256"
