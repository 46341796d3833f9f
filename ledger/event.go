package ledger

import (
	"time"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	"github.com/shopspring/decimal"
)

// TypeEvent is a line item operation on a resource (SPEC: Ledger; events.csv).
const TypeEvent CommandType = 1

func init() {
	register(TypeEvent, "event", writesLineItem, func() Body { return new(Event) })
}

// Event is a line item operation on a resource (SPEC: Ledger; events.csv).
type Event struct {
	Op         Op
	Time       time.Time // effective time
	Department string
	Project    string
	Provider   string
	Resource   string
	Item       string
	Kind       ResourceKind
	Quantity   decimal.Decimal // allocate: initial; expand/reduce: positive delta; usage: consumed
	Expires    time.Time       // allocate of a time-limited kind, extend: the new expiry
	// Request is the resource request the event fulfils (issue 15), "" for none. Encoded
	// only when set, so events written before keep their encoding and hashes.
	Request string
}

func (*Event) Type() CommandType { return TypeEvent }

func (b *Event) encode(e *encoder) {
	e.str(string(b.Op))
	e.tm(b.Time)
	e.str(b.Department)
	e.str(b.Project)
	e.str(b.Provider)
	e.str(b.Resource)
	e.str(b.Item)
	e.str(string(b.Kind))
	e.dec(b.Quantity)
	e.tm(b.Expires)
	if b.Request != "" {
		e.str(b.Request)
	}
}

func (b *Event) decode(d *decoder) {
	var f eventFields
	f.decode(d)
	f.decodeTail(d)
	b.Op = Op(f.op)
	b.Time = f.time
	b.Department = string(f.department)
	b.Project = string(f.project)
	b.Provider = string(f.provider)
	b.Resource = string(f.resource)
	b.Item = string(f.item)
	b.Kind = ResourceKind(f.kind)
	b.Quantity = d.decimalOf(f.quantity)
	b.Expires = f.expires
	b.Request = string(f.request)
}

// eventFields are an encoded Event as stored, its strings still pointing into the encoding:
// Event.decode copies them, View's lean reader copies only what it keeps.
type eventFields struct {
	op, department, project, provider, resource, item, kind, quantity []byte
	time, expires                                                     time.Time
	request                                                           []byte
}

// decode reads the layout of Event.encode.
func (f *eventFields) decode(d *decoder) {
	f.op = d.raw(MaxIDLen)
	f.time = d.tm()
	f.department = d.raw(MaxIDLen)
	f.project = d.raw(MaxIDLen)
	f.provider = d.raw(MaxIDLen)
	f.resource = d.raw(MaxIDLen)
	f.item = d.raw(MaxIDLen)
	f.kind = d.raw(MaxIDLen)
	f.quantity = d.raw(MaxDecimalLen)
	f.expires = d.tm()
}

// decodeTail reads the optional request of an event that is a whole body (a line item);
// an event inside a Kafka batch has none (decodeEmbedded).
func (f *eventFields) decodeTail(d *decoder) {
	if d.err == nil && len(d.b) > 0 {
		f.request = d.raw(MaxIDLen)
	}
}

// decodeEmbedded decodes an event inside another body, which never names a request.
func (b *Event) decodeEmbedded(d *decoder) {
	var f eventFields
	f.decode(d)
	b.Op, b.Time, b.Department, b.Project, b.Provider = Op(f.op), f.time, string(f.department), string(f.project), string(f.provider)
	b.Resource, b.Item, b.Kind, b.Quantity, b.Expires = string(f.resource), string(f.item), ResourceKind(f.kind), d.decimalOf(f.quantity), f.expires
}

// validate checks an event without the ledger: required fields per op, domains, limits.
func (e *Event) validate(rl rules) *Error {
	if err := firstErr(rl.id("resource", e.Resource, true), rl.id("department", e.Department, false), rl.id("project", e.Project, false),
		rl.id("provider", e.Provider, false), rl.id("item", e.Item, false), instant("time", e.Time, true), instant("expires", e.Expires, false),
		rl.id("request", e.Request, false)); err != nil {
		return err
	}
	if e.Kind != "" && !e.Kind.valid() {
		return Errf(errcode.InvalidValue, "kind", "kind must be standard, test, dev, emergency or temporary, not %q", e.Kind)
	}
	if !checkDecimalBounds(e.Quantity) {
		return Errf(errcode.InvalidQuantity, "quantity", "quantity out of range")
	}
	needRefs := func() *Error {
		return firstErr(required("department", e.Department), required("project", e.Project), required("provider", e.Provider), required("item", e.Item))
	}
	switch e.Op {
	case OpAllocate, OpUsage:
		if e.Kind == "" {
			return Errf(errcode.MissingField, "kind", "kind is required (standard, test, dev, emergency, temporary)")
		}
		if err := needRefs(); err != nil {
			return err
		}
		if err := positive("quantity", e.Quantity); err != nil {
			return err
		}
		if e.Op == OpUsage && !e.Expires.IsZero() {
			return Errf(errcode.ExpiryNotAllowed, "expires", "usage has no expiry")
		}
	case OpExpand, OpReduce:
		if err := positive("quantity", e.Quantity); err != nil {
			return err
		}
		if !e.Expires.IsZero() {
			return Errf(errcode.ExpiryNotAllowed, "expires", "%s takes no expiry: use extend", e.Op)
		}
	case OpReclaim:
		if !e.Quantity.IsZero() {
			return Errf(errcode.InvalidQuantity, "quantity", "reclaim takes no quantity: it returns the whole resource")
		}
		if !e.Expires.IsZero() {
			return Errf(errcode.ExpiryNotAllowed, "expires", "reclaim takes no expiry")
		}
	case OpExtend:
		if !e.Quantity.IsZero() {
			return Errf(errcode.InvalidQuantity, "quantity", "extend takes no quantity")
		}
		if e.Expires.IsZero() {
			return Errf(errcode.ExpiryRequired, "expires", "extend needs the new expiry")
		}
	case OpExpire:
		return Errf(errcode.InvalidValue, "op", "expire is written by the ledger itself")
	case "":
		return Errf(errcode.MissingField, "op", "op is required")
	default:
		return Errf(errcode.InvalidValue, "op", "op must be allocate, expand, reduce, reclaim, usage or extend, not %q", e.Op)
	}
	return nil
}

var (
	ratioLimit  = decimal.RequireFromString("1.2")  // SPEC: Quota, the 20 % rule
	devFraction = decimal.RequireFromString("0.15") // SPEC: Quota, dev resources
)

// apply enforces SPEC: Ledger and Quota for one resource operation.
func (e *Event) apply(t *txn, ctx applyContext) *Error {
	if t.isClosed(calendar.MonthOf(calendar.DateOf(e.Time))) {
		return Errf(errcode.PeriodClosed, "time", "%s falls in closed month %s", e.Time.Format(time.RFC3339), calendar.MonthOf(calendar.DateOf(e.Time)))
	}
	waive := false // a request the supervisor agreed to is past the 20 % rule (SH 20)
	if e.Request != "" {
		var err *Error
		if waive, err = t.fulfil(e, ctx); err != nil {
			return err
		}
	}
	switch e.Op {
	case OpAllocate:
		return t.applyAllocate(e, waive)
	case OpExpand, OpReduce, OpReclaim:
		return t.applyChange(e, ctx, waive)
	case OpUsage:
		return t.applyUsage(e)
	case OpExtend:
		return t.applyExtend(e, ctx.rules)
	}
	return Errf(errcode.InvalidValue, "op", "unknown op %q", e.Op)
}

// references resolves and cross-checks the department, project, provider and item of an event.
func (t *txn) references(e *Event) (*Project, *Provider, *CatalogItem, *Error) {
	if _, ok := t.departments.get(e.Department); !ok {
		return nil, nil, nil, Errf(errcode.UnknownDepartment, "department", "unknown department %q", e.Department)
	}
	p, ok := t.projects.get(e.Project)
	if !ok {
		return nil, nil, nil, Errf(errcode.UnknownProject, "project", "unknown project %q", e.Project)
	}
	if p.Department != e.Department {
		return nil, nil, nil, Errf(errcode.ProjectMismatch, "project", "project %q belongs to department %q, not %q", e.Project, p.Department, e.Department)
	}
	prov, ok := t.providers.get(e.Provider)
	if !ok {
		return nil, nil, nil, Errf(errcode.UnknownProvider, "provider", "unknown provider %q", e.Provider)
	}
	item, ok := t.items.get(e.Item)
	if !ok {
		return nil, nil, nil, Errf(errcode.UnknownItem, "item", "unknown catalog item %q", e.Item)
	}
	return p, prov, item, nil
}

func checkContract(prov *Provider, at time.Time) *Error {
	d := calendar.DateOf(at)
	if d.Before(prov.ContractStart) || d.After(prov.ContractEnd) {
		return Errf(errcode.ContractInactive, "provider", "provider %q has no contract on %s (contract %s to %s)", prov.ID, d, prov.ContractStart, prov.ContractEnd)
	}
	return nil
}

func (t *txn) applyAllocate(e *Event, waive120 bool) *Error {
	if _, ok := t.resources.get(e.Resource); ok {
		return Errf(errcode.ResourceExists, "resource", "resource %q already exists", e.Resource)
	}
	p, prov, item, err := t.references(e)
	if err != nil {
		return err
	}
	if p.Closed {
		return Errf(errcode.UnknownProject, "project", "project %q is closed", p.ID)
	}
	if item.Billing != BillingAllocation {
		return Errf(errcode.BillingMismatch, "op", "item %q is billed by use: record usage, not allocate", item.ID)
	}
	if err := checkContract(prov, e.Time); err != nil {
		return err
	}
	if err := t.checkExpiry(e.Kind, e.Time, e.Expires); err != nil {
		return err
	}
	if err := t.checkSuspended(e.Department, e.Kind, waive120); err != nil {
		return err
	}
	r := &Resource{ID: e.Resource, Department: e.Department, Project: e.Project, Provider: e.Provider, Item: e.Item,
		Kind: e.Kind, QuotaClass: item.QuotaClass, Billing: BillingAllocation, Quantity: e.Quantity,
		Opened: e.Time, LastTime: e.Time, Expires: e.Expires}
	if err := t.checkQuota(r, e.Quantity, e.Time, waive120); err != nil {
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
func (t *txn) checkExpiry(kind ResourceKind, at, expires time.Time) *Error {
	maxDay, limited := kind.maxExpiry(calendar.DateOf(at))
	if !limited {
		if !expires.IsZero() {
			return Errf(errcode.ExpiryNotAllowed, "expires", "a %s resource has no expiry", kind)
		}
		return nil
	}
	if expires.IsZero() {
		return Errf(errcode.ExpiryRequired, "expires", "a %s resource needs an expiry", kind)
	}
	if !expires.After(at) {
		return Errf(errcode.InvalidValue, "expires", "expiry %s is not after %s", expires.Format(time.RFC3339), at.Format(time.RFC3339))
	}
	if day := ExpiryDay(expires); day.After(maxDay) {
		return Errf(errcode.ExpiryTooLong, "expires", "a %s resource allocated on %s may expire on %s at the latest, not %s", kind, calendar.DateOf(at), maxDay, day)
	}
	if m := calendar.MonthOf(ExpiryDay(expires)); t.isClosed(m) {
		return Errf(errcode.PeriodClosed, "expires", "expiry falls in closed month %s", m)
	}
	return nil
}

// checkQuota applies SPEC's Quota rules to raising r's quantity by delta at time at (r holds the
// quantity before the change); an approval covers the raise if it is in force at at.
//
// waive120: the raise fulfils a request the supervisor agreed to, which stands for the
// approval (the dev limit still holds).
func (t *txn) checkQuota(r *Resource, delta decimal.Decimal, at time.Time, waive120 bool) *Error {
	over, newA, q, devErr := t.quotaAfter(r, delta, calendar.DateOf(at))
	if over && !waive120 {
		if a, ok := t.approvals.get(deptClass{r.Department, r.QuotaClass}); !ok || !a.InForce(at) || a.Ceiling.LessThan(newA) {
			return Errf(errcode.QuotaOverrun, "quantity", "department %q class %q would hold %s against a quota of %s (limit 120%% = %s); a supervisor approval with a ceiling of at least %s is needed",
				r.Department, r.QuotaClass, newA, q, q.Mul(ratioLimit), newA)
		}
	}
	return devErr
}

// quotaAfter applies SPEC's Quota rules to raising r by delta, before any approval: over says
// the department's A would pass 1.2 × Q (newA and Q given); devErr is the dev limit of 15 %,
// which no approval lifts.
//
// The quotas are those in force on day (a project's season's, SH 18).
func (t *txn) quotaAfter(r *Resource, delta decimal.Decimal, day calendar.Date) (over bool, newA, q decimal.Decimal, devErr *Error) {
	if r.QuotaClass == "" {
		return false, newA, q, nil
	}
	if r.Kind.countsTowardQuota() {
		newA = t.heldOf(deptClass{r.Department, r.QuotaClass}).Add(delta)
		q = t.deptQuota(r.Department, r.QuotaClass, day)
		over = newA.GreaterThan(q.Mul(ratioLimit))
	}
	if r.Kind == KindDev {
		newDev := t.devHeldOf(projectClass{r.Project, r.QuotaClass}).Add(delta)
		p := must(t.projects, r.Project, "project of resource "+r.ID)
		pq, _ := t.quotaOn(p, r.QuotaClass, day)
		if limit := pq.Mul(devFraction); newDev.GreaterThan(limit) {
			devErr = Errf(errcode.DevLimit, "quantity", "project %q would hold %s %s of dev resources, above 15%% of its quota (%s)", r.Project, newDev, r.QuotaClass, limit)
		}
	}
	return over, newA, q, devErr
}

// openResource finds the allocation-billed resource an op at e.Time changes: an open one,
// or by version 3's rules one closed by its expiry if the op is dated before the expiry
// (late history: SPEC's expire is effective at the expiry itself, whenever it was written).
// late reports the second case.
func (t *txn) openResource(e *Event, rl rules) (r *Resource, late bool, err *Error) {
	r, ok := t.resources.get(e.Resource)
	if !ok {
		return nil, false, Errf(errcode.UnknownResource, "resource", "unknown resource %q", e.Resource)
	}
	if !r.Expires.IsZero() && !e.Time.Before(r.Expires) {
		return nil, false, Errf(errcode.ResourceExpired, "resource", "resource %q expired at %s", e.Resource, r.Expires.Format(time.RFC3339))
	}
	if r.Closed && !(rl.lateHistory && r.Expired) {
		return nil, false, Errf(errcode.ResourceClosed, "resource", "resource %q was reclaimed or expired", e.Resource)
	}
	if err := matches(r, e); err != nil {
		return nil, false, err
	}
	return r, r.Closed, nil
}

// matches checks that the optional descriptive columns of an event agree with the resource.
func matches(r *Resource, e *Event) *Error {
	for _, f := range []struct{ field, got, want string }{
		{"department", e.Department, r.Department}, {"project", e.Project, r.Project},
		{"provider", e.Provider, r.Provider}, {"item", e.Item, r.Item}, {"kind", string(e.Kind), string(r.Kind)},
	} {
		if f.got != "" && f.got != f.want {
			return Errf(errcode.ResourceMismatch, f.field, "resource %q has %s %q, not %q", r.ID, f.field, f.want, f.got)
		}
	}
	return nil
}

func (t *txn) applyChange(e *Event, ctx applyContext, waive120 bool) *Error {
	r, late, err := t.openResource(e, ctx.rules)
	if err != nil {
		return err
	}
	if r.Billing != BillingAllocation {
		return Errf(errcode.BillingMismatch, "op", "resource %q is billed by use: only usage applies", r.ID)
	}
	if e.Time.Before(r.LastTime) {
		return Errf(errcode.OutOfOrder, "time", "resource %q already has an operation at %s, later than %s", r.ID, r.LastTime.Format(time.RFC3339), e.Time.Format(time.RFC3339))
	}
	n := *r
	n.LastTime = e.Time
	// held is what the resource holds when the op takes effect: now, or until its expiry
	// for a late op on an expired resource (which holds nothing now).
	held := r.Quantity
	if late {
		held = r.HeldAtExpiry
	}
	var delta decimal.Decimal
	switch e.Op {
	case OpExpand:
		prov := must(t.providers, r.Provider, "provider of resource "+r.ID)
		if err := checkContract(prov, e.Time); err != nil {
			return err
		}
		if err := t.checkSuspended(r.Department, r.Kind, waive120); err != nil {
			return err
		}
		// A late expand is checked against what the department holds when it arrives,
		// plus the expansion (README: late history and quotas).
		if err := t.checkQuota(r, e.Quantity, e.Time, waive120); err != nil {
			return err
		}
		delta = e.Quantity
	case OpReduce:
		if e.Quantity.GreaterThan(held) {
			return Errf(errcode.BelowZero, "quantity", "resource %q holds %s; reducing by %s would go below zero", r.ID, held, e.Quantity)
		}
		delta = e.Quantity.Neg()
	case OpReclaim:
		delta = held.Neg()
		n.Closed, n.Expired = true, false
		t.timeLimited.put(r.ID, time.Time{})
	}
	if late {
		n.HeldAtExpiry = held.Add(delta) // nothing held now changes
		t.resources.put(n.ID, &n)
		return nil
	}
	n.Quantity = r.Quantity.Add(delta)
	t.resources.put(n.ID, &n)
	t.addHeld(r, delta)
	if e.Op != OpReclaim {
		t.noteQuantityChange(&n, e.Time, delta, ctx)
	}
	if e.Op != OpExpand {
		t.rectifyByChange(&n, e.Time, ctx)
	}
	return nil
}

func (t *txn) applyUsage(e *Event) *Error {
	if r, ok := t.resources.get(e.Resource); ok {
		if err := matches(r, e); err != nil {
			return err
		}
		if r.Billing != BillingMetered {
			return Errf(errcode.BillingMismatch, "op", "resource %q is billed by allocation: usage does not apply", r.ID)
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
		return Errf(errcode.BillingMismatch, "op", "item %q is billed by allocation: allocate it, usage does not apply", item.ID)
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
func (t *txn) applyExtend(e *Event, rl rules) *Error {
	r, late, err := t.openResource(e, rl)
	if err != nil {
		return err
	}
	if r.Expires.IsZero() {
		return Errf(errcode.NotTimeLimited, "resource", "resource %q (%s) has no expiry to extend", r.ID, r.Kind)
	}
	if !e.Expires.After(r.Expires) {
		return Errf(errcode.InvalidValue, "expires", "new expiry %s is not later than the current %s", e.Expires.Format(time.RFC3339), r.Expires.Format(time.RFC3339))
	}
	if err := t.checkExtension(r, e.Time, e.Expires); err != nil {
		return err
	}
	if m := calendar.MonthOf(ExpiryDay(e.Expires)); t.isClosed(m) {
		return Errf(errcode.PeriodClosed, "expires", "new expiry falls in closed month %s", m)
	}
	n := *r
	n.Expires = e.Expires
	if late {
		// An extension asked in time but delivered after the expire was written re-opens
		// the resource: it never stopped. Its expire line item no longer counts (rating
		// reads only the expire at the final expiry); the next tick writes the new one.
		n.Closed, n.Expired, n.Quantity, n.HeldAtExpiry = false, false, r.HeldAtExpiry, decimal.Zero
		t.addHeld(&n, n.Quantity)
	}
	t.resources.put(n.ID, &n)
	t.timeLimited.put(n.ID, n.Expires)
	return nil
}

// checkExtension applies SH 23–24 to extending r to expires, asked at requested: at least
// ExtensionNoticeWorkingDays working days before the current expiry, by at most the kind's
// maximum duration.
func (t *txn) checkExtension(r *Resource, requested, expires time.Time) *Error {
	current := ExpiryDay(r.Expires)
	deadline, cerr := t.cal.Deadline(current, ExtensionNoticeWorkingDays)
	if cerr != nil {
		return Errf(errcode.CalendarUnknown, "expires", "%v", cerr)
	}
	if day := calendar.DateOf(requested); day.After(deadline) {
		return Errf(errcode.ExtensionTooLate, "time", "an extension of resource %q expiring %s had to be requested by %s (%d working days before); requested %s",
			r.ID, current, deadline, ExtensionNoticeWorkingDays, day)
	}
	maxDay, _ := r.Kind.maxExpiry(current)
	if day := ExpiryDay(expires); day.After(maxDay) {
		return Errf(errcode.ExtensionTooLong, "expires", "a %s resource expiring %s may be extended to %s at the latest, not %s", r.Kind, current, maxDay, day)
	}
	return nil
}

// ExtensionNoticeWorkingDays is SH 23–24's notice period for an extension.
const ExtensionNoticeWorkingDays = 15
