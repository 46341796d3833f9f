package ledger

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
)

// Resource requests (issue 15; SH 19–24): a department applies (申请), the supervisor decides
// where SPEC's quota rule or the resource kind needs it, the authority approves or rejects
// (审核), the provider fulfils (开通): the fulfilment is the resource's own line item (an
// Event naming the request). Every transition is a line item with its account and time.
const (
	TypeSubmitRequest CommandType = 31
	TypeDecideRequest CommandType = 32
)

func init() {
	register(TypeSubmitRequest, "request", writesLineItem, func() Body { return new(SubmitRequest) })
	register(TypeDecideRequest, "request_decision", writesLineItem, func() Body { return new(DecideRequest) })
}

// RequestKind is what a request asks for.
type RequestKind string

const (
	RequestTest    RequestKind = "test"    // a test resource (SH 19)
	RequestOpen    RequestKind = "open"    // a resource of any other kind
	RequestExpand  RequestKind = "expand"  // SH 20
	RequestReduce  RequestKind = "reduce"  //
	RequestReclaim RequestKind = "reclaim" // SH 21
	RequestExtend  RequestKind = "extend"  // SH 22–24
)

// Op is the line item operation that fulfils the kind.
func (k RequestKind) Op() Op {
	switch k {
	case RequestTest, RequestOpen:
		return OpAllocate
	case RequestExpand:
		return OpExpand
	case RequestReduce:
		return OpReduce
	case RequestReclaim:
		return OpReclaim
	case RequestExtend:
		return OpExtend
	}
	return ""
}

// RequestState is where a request stands.
type RequestState string

const (
	RequestSubmitted  RequestState = "submitted"
	RequestSupervised RequestState = "supervisor_approved" // the supervisor agreed; the authority reviews next
	RequestApproved   RequestState = "approved"
	RequestVerifying  RequestState = "verifying" // a test resource is open: the department verifies it (SH 19)
	RequestVerified   RequestState = "verified"  // the department confirmed: the formal opening is due
	RequestRejected   RequestState = "rejected"
	RequestFulfilled  RequestState = "fulfilled"
	RequestCancelled  RequestState = "cancelled"
)

// Final reports whether nothing more can happen to a request in the state.
func (s RequestState) Final() bool {
	return s == RequestRejected || s == RequestFulfilled || s == RequestCancelled
}

// ResourceRequest is one request and its history.
type ResourceRequest struct {
	ID           string          `json:"id"`
	Kind         RequestKind     `json:"kind"`
	ResourceKind ResourceKind    `json:"resource_kind,omitempty"`
	Department   string          `json:"department"`
	Project      string          `json:"project,omitempty"`
	Provider     string          `json:"provider,omitempty"`
	Item         string          `json:"item,omitempty"`
	Resource     string          `json:"resource,omitempty"`
	Quantity     decimal.Decimal `json:"quantity,omitzero"`
	Expires      time.Time       `json:"expires,omitzero"`
	Reason       string          `json:"reason,omitempty"`
	// NeedsSupervisor: an emergency or temporary resource (SH 23–24), or a request that would
	// take the department above 120 % of its quota (SH 20), needs the supervisor first.
	NeedsSupervisor bool `json:"needs_supervisor,omitempty"`
	// Deadlines are the periods of the table in force when it was submitted (DeadlineTable
	// names it); empty in requests of before tables: SH's.
	DeadlineTable  string         `json:"deadline_table,omitempty"`
	Deadlines      []DeadlineRule `json:"deadlines,omitempty"`
	FormalResource string         `json:"formal_resource,omitempty"` // a test request's formally opened resource
	// Finding is the finding whose enforcement raised the request (a reclaim, SH 25): only
	// the authority withdraws it, and its closing withdraws it.
	Finding string        `json:"finding,omitempty"`
	Seq     uint64        `json:"seq"` // the line item that opened it
	State   RequestState  `json:"state"`
	Steps   []RequestStep `json:"steps"`
}

// RequestStep is one transition: who, when, to which state, why.
type RequestStep struct {
	State  RequestState `json:"state"`
	Actor  string       `json:"actor"`
	At     time.Time    `json:"at"`
	Reason string       `json:"reason,omitempty"`
}

// SubmitRequest opens a request; the ledger numbers it (REQ-000001, …) in apply order.
type SubmitRequest struct {
	Kind         RequestKind
	ResourceKind ResourceKind
	Department   string
	Project      string
	Provider     string
	Item         string
	Resource     string
	Quantity     decimal.Decimal
	Expires      time.Time
	Reason       string
}

func (*SubmitRequest) Type() CommandType { return TypeSubmitRequest }

func (b *SubmitRequest) encode(e *encoder) {
	e.str(string(b.Kind))
	e.str(string(b.ResourceKind))
	e.str(b.Department)
	e.str(b.Project)
	e.str(b.Provider)
	e.str(b.Item)
	e.str(b.Resource)
	e.dec(b.Quantity)
	e.tm(b.Expires)
	e.str(b.Reason)
}

func (b *SubmitRequest) decode(d *decoder) {
	b.Kind, b.ResourceKind = RequestKind(d.str(MaxIDLen)), ResourceKind(d.str(MaxIDLen))
	b.Department, b.Project, b.Provider, b.Item, b.Resource = d.str(MaxIDLen), d.str(MaxIDLen), d.str(MaxIDLen), d.str(MaxIDLen), d.str(MaxIDLen)
	b.Quantity, b.Expires, b.Reason = d.dec(), d.tm(), d.str(MaxTextLen)
}

func (b *SubmitRequest) validate(rl rules) *Error {
	if err := firstErr(rl.id("department", b.Department, true), rl.id("project", b.Project, false), rl.id("provider", b.Provider, false),
		rl.id("item", b.Item, false), rl.id("resource", b.Resource, false), rl.text("reason", b.Reason, MaxTextLen), instant("expires", b.Expires, false)); err != nil {
		return err
	}
	if !checkDecimalBounds(b.Quantity) {
		return Errf(errcode.InvalidQuantity, "quantity", "quantity out of range")
	}
	switch b.Kind {
	case RequestTest, RequestOpen:
		if err := firstErr(required("project", b.Project), required("provider", b.Provider), required("item", b.Item), positive("quantity", b.Quantity)); err != nil {
			return err
		}
		rk := b.ResourceKind
		if b.Kind == RequestTest {
			if rk != "" && rk != KindTest {
				return Errf(errcode.InvalidValue, "resource_kind", "a test request is for a test resource, not %s", rk)
			}
			rk = KindTest
		} else if rk == "" || !rk.valid() || rk == KindTest {
			return Errf(errcode.InvalidValue, "resource_kind", "an open request names the resource kind: standard, dev, emergency or temporary (test resources: --kind test)")
		}
		if limited := rk.timeLimited(); limited && b.Expires.IsZero() {
			return Errf(errcode.ExpiryRequired, "expires", "a %s resource needs an expiry", rk)
		} else if !limited && !b.Expires.IsZero() {
			return Errf(errcode.ExpiryNotAllowed, "expires", "a %s resource has no expiry", rk)
		}
	case RequestExpand, RequestReduce:
		return firstErr(required("resource", b.Resource), positive("quantity", b.Quantity))
	case RequestReclaim:
		return required("resource", b.Resource)
	case RequestExtend:
		if b.Expires.IsZero() {
			return Errf(errcode.ExpiryRequired, "expires", "an extension names the new expiry")
		}
		return required("resource", b.Resource)
	default:
		return Errf(errcode.InvalidValue, "kind", "request kind %q: want test, open, expand, reduce, reclaim or extend", b.Kind)
	}
	return nil
}

const metaRequestSeq = "request_seq"

func (b *SubmitRequest) apply(t *txn, ctx applyContext) *Error {
	r := &ResourceRequest{Kind: b.Kind, ResourceKind: b.ResourceKind, Department: b.Department, Project: b.Project, Provider: b.Provider,
		Item: b.Item, Resource: b.Resource, Quantity: b.Quantity, Expires: b.Expires, Reason: b.Reason, State: RequestSubmitted}
	if r.Kind == RequestTest {
		r.ResourceKind = KindTest
	}
	if _, ok := t.departments.get(b.Department); !ok {
		return Errf(errcode.UnknownDepartment, "department", "unknown department %q", b.Department)
	}
	switch r.Kind {
	case RequestTest, RequestOpen:
		ev := &Event{Op: OpAllocate, Time: ctx.recordedAt, Department: r.Department, Project: r.Project, Provider: r.Provider, Item: r.Item, Kind: r.ResourceKind}
		p, prov, item, err := t.references(ev)
		if err != nil {
			return err
		}
		if p.Closed {
			return Errf(errcode.UnknownProject, "project", "project %q is closed", p.ID)
		}
		if item.Billing != BillingAllocation {
			return Errf(errcode.BillingMismatch, "item", "item %q is billed by use: it is not requested", item.ID)
		}
		if err := checkContract(prov, ctx.recordedAt); err != nil {
			return err
		}
		if err := t.checkExpiry(r.ResourceKind, ctx.recordedAt, r.Expires); err != nil {
			return err
		}
		res := &Resource{Department: r.Department, Project: r.Project, Kind: r.ResourceKind, QuotaClass: item.QuotaClass, Billing: BillingAllocation}
		over, err := t.quotaNeedsSupervisor(res, r.Quantity, calendar.DateOf(ctx.recordedAt))
		if err != nil {
			return err
		}
		r.NeedsSupervisor = over || r.ResourceKind == KindEmergency || r.ResourceKind == KindTemporary
		if err := t.checkSuspended(r.Department, r.ResourceKind, true); err != nil {
			return err // an emergency resource is asked for: the supervisor decides
		}
	default:
		res, ok := t.resources.get(r.Resource)
		if !ok {
			return Errf(errcode.UnknownResource, "resource", "unknown resource %q", r.Resource)
		}
		if res.Department != r.Department {
			return Errf(errcode.ResourceMismatch, "department", "resource %q belongs to department %q, not %q", res.ID, res.Department, r.Department)
		}
		if res.Closed || res.Billing != BillingAllocation {
			return Errf(errcode.ResourceClosed, "resource", "resource %q is closed or billed by use", res.ID)
		}
		r.Project, r.Provider, r.Item, r.ResourceKind = res.Project, res.Provider, res.Item, res.Kind
		switch r.Kind {
		case RequestExpand:
			if err := t.checkSuspended(r.Department, res.Kind, true); err != nil {
				return err
			}
			over, err := t.quotaNeedsSupervisor(res, r.Quantity, calendar.DateOf(ctx.recordedAt))
			if err != nil {
				return err
			}
			// A suspended department's emergency resource grows only as the supervisor agrees.
			r.NeedsSupervisor = over || res.Kind == KindEmergency && t.suspended(r.Department)
		case RequestReduce:
			if r.Quantity.GreaterThan(res.Quantity) {
				return Errf(errcode.BelowZero, "quantity", "resource %q holds %s; reducing by %s would go below zero", res.ID, res.Quantity, r.Quantity)
			}
		case RequestExtend:
			if res.Expires.IsZero() {
				return Errf(errcode.NotTimeLimited, "resource", "resource %q (%s) has no expiry to extend", res.ID, res.Kind)
			}
			if err := t.checkExtension(res, ctx.recordedAt, r.Expires); err != nil {
				return err
			}
			r.NeedsSupervisor = res.Kind == KindEmergency || res.Kind == KindTemporary
		}
	}
	r.ID = t.nextRequestID()
	r.Steps = []RequestStep{{State: RequestSubmitted, Actor: ctx.actor, At: ctx.recordedAt}}
	r.DeadlineTable, r.Deadlines = t.deadlinesOn(calendar.DateOf(ctx.recordedAt), r.Kind)
	r.Seq = t.seq + 1 // the line item this command appends next
	t.requests.put(r.ID, r)
	t.requestNotices(r, ctx, r.Seq)
	return nil
}

// nextRequestID numbers a new request (REQ-000001, …) in apply order.
func (t *txn) nextRequestID() string {
	n, _ := t.settings.get(metaRequestSeq)
	seq, _ := strconv.Atoi(n)
	seq++
	t.settings.put(metaRequestSeq, strconv.Itoa(seq))
	return fmt.Sprintf("REQ-%06d", seq)
}

// quotaNeedsSupervisor reports whether raising r by delta takes its department above 120 %
// of its quota in the class (SH 20: the supervisor decides); a dev request over its 15 %
// (SH 22) is an error no one can approve.
func (t *txn) quotaNeedsSupervisor(r *Resource, delta decimal.Decimal, day calendar.Date) (bool, *Error) {
	over, _, _, err := t.quotaAfter(r, delta, day)
	return over, err
}

// Request decisions.
const (
	DecisionSupervise = "supervise" // the supervisor agrees (SH 20, 23, 24)
	DecisionApprove   = "approve"   // the authority approves
	DecisionReject    = "reject"    // the authority or the supervisor refuses, with a reason
	DecisionCancel    = "cancel"    // the department withdraws it
	DecisionConfirm   = "confirm"   // the department confirms a test resource verified (SH 19)
)

// decisionFrom lists the states each decision may be taken in and the state it leads to.
var decisionFrom = map[string]struct {
	from []RequestState
	to   RequestState
}{
	DecisionSupervise: {[]RequestState{RequestSubmitted}, RequestSupervised},
	DecisionApprove:   {[]RequestState{RequestSubmitted, RequestSupervised}, RequestApproved},
	DecisionReject:    {[]RequestState{RequestSubmitted, RequestSupervised}, RequestRejected},
	DecisionCancel:    {[]RequestState{RequestSubmitted, RequestSupervised, RequestApproved, RequestVerifying, RequestVerified}, RequestCancelled},
	DecisionConfirm:   {[]RequestState{RequestVerifying}, RequestVerified},
}

// DecideRequest moves a request on. Who may take which decision is authorization's
// (server/authz.go); the ledger checks the states.
type DecideRequest struct {
	ID       string
	Decision string
	Reason   string
}

func (*DecideRequest) Type() CommandType { return TypeDecideRequest }
func (b *DecideRequest) encode(e *encoder) {
	e.str(b.ID)
	e.str(b.Decision)
	e.str(b.Reason)
}
func (b *DecideRequest) decode(d *decoder) {
	b.ID, b.Decision, b.Reason = d.str(MaxIDLen), d.str(MaxIDLen), d.str(MaxTextLen)
}

func (b *DecideRequest) validate(rl rules) *Error {
	if err := firstErr(rl.id("id", b.ID, true), rl.text("reason", b.Reason, MaxTextLen)); err != nil {
		return err
	}
	switch b.Decision {
	case DecisionSupervise, DecisionApprove, DecisionCancel, DecisionConfirm:
	case DecisionReject:
		return required("reason", strings.TrimSpace(b.Reason))
	default:
		return Errf(errcode.InvalidValue, "decision", "decision %q: want supervise, approve, reject, cancel or confirm", b.Decision)
	}
	return nil
}

func (b *DecideRequest) apply(t *txn, ctx applyContext) *Error {
	r, ok := t.requests.get(b.ID)
	if !ok {
		return Errf(errcode.UnknownRequest, "id", "unknown request %q", b.ID)
	}
	rule := decisionFrom[b.Decision]
	to := rule.to
	bad := func(why string) *Error {
		return Errf(errcode.RequestState, "id", "request %s is %s: %s", r.ID, r.State, why)
	}
	switch {
	case r.State.Final():
		return bad("nothing more can be decided")
	case b.Decision == DecisionApprove && r.State == RequestApproved:
		return errUnchanged
	case b.Decision == DecisionSupervise && !r.NeedsSupervisor:
		return bad("no supervisor decision is due")
	case !slices.Contains(rule.from, r.State):
		return bad(fmt.Sprintf("it cannot be %s now", to))
	case b.Decision == DecisionApprove && r.NeedsSupervisor && r.State != RequestSupervised:
		return Errf(errcode.SupervisorRequired, "id", "request %s needs the supervisor's decision first (above 120 %% of the quota, or an emergency or temporary resource: SH 20, 23, 24)", r.ID)
	}
	if b.Decision == DecisionApprove && (r.Kind == RequestOpen || r.Kind == RequestTest || r.Kind == RequestExpand) && !r.NeedsSupervisor {
		// The quota rule again, at approval: the department may have grown since.
		if err := t.checkRequestQuota(r, calendar.DateOf(ctx.recordedAt)); err != nil {
			return err
		}
	}
	n := *r
	n.State = to
	n.Steps = append(slices.Clone(r.Steps), RequestStep{State: to, Actor: ctx.actor, At: ctx.recordedAt, Reason: b.Reason})
	t.requests.put(n.ID, &n)
	t.requestNotices(&n, ctx, t.seq+1)
	return nil
}

// checkRequestQuota refuses approving a request that would now take the department past
// 120 % without the supervisor.
func (t *txn) checkRequestQuota(r *ResourceRequest, day calendar.Date) *Error {
	class := ""
	if item, ok := t.items.get(r.Item); ok {
		class = item.QuotaClass
	}
	res := &Resource{Department: r.Department, Project: r.Project, Kind: r.ResourceKind, QuotaClass: class}
	over, err := t.quotaNeedsSupervisor(res, r.Quantity, day)
	if err != nil {
		return err
	}
	if over {
		return Errf(errcode.QuotaOverrun, "quantity", "request %s would now take department %q above 120 %% of its %s quota: the supervisor decides (SH 20)", r.ID, r.Department, class)
	}
	return nil
}

// Fulfilment is what does what the request asks, dated at — an extension is dated when it
// was asked, which SH 23–24's notice rule is about — as commands with their idempotency
// keys. resource names the new resource of a test or open request, and of a test
// resource's formal opening: that reclaims the test resource and allocates a standard one
// in its place, in one request (SH 19).
func (r *ResourceRequest) Fulfilment(resource string, at time.Time) ([]Command, *Error) {
	e := &Event{Op: r.Kind.Op(), Time: at, Resource: r.Resource, Request: r.ID}
	key := "fulfil/" + r.ID
	switch r.Kind {
	case RequestTest, RequestOpen:
		if resource == "" {
			return nil, Errf(errcode.MissingField, "resource", "a new resource needs its id")
		}
		e.Resource, e.Department, e.Project, e.Provider, e.Item = resource, r.Department, r.Project, r.Provider, r.Item
		e.Kind, e.Quantity, e.Expires = r.ResourceKind, r.Quantity, r.Expires
		if r.Kind == RequestTest && r.State == RequestVerified {
			e.Kind, e.Expires = KindStandard, time.Time{}
			return []Command{
				{Key: key + "/test-reclaim", Body: &Event{Op: OpReclaim, Time: at, Resource: r.Resource}},
				{Key: key + "/formal", Body: e},
			}, nil
		}
	case RequestExpand, RequestReduce:
		e.Quantity = r.Quantity
	case RequestExtend:
		e.Time, e.Expires = r.Steps[0].At, r.Expires
	}
	return []Command{{Key: key, Body: e}}, nil
}

// fulfil checks an event naming a request against it and marks the request fulfilled.
func (t *txn) fulfil(e *Event, ctx applyContext) (waive120 bool, err *Error) {
	r, ok := t.requests.get(e.Request)
	if !ok {
		return false, Errf(errcode.UnknownRequest, "request", "unknown request %q", e.Request)
	}
	formal := r.Kind == RequestTest && r.State == RequestVerified // SH 19's formal opening
	if r.State != RequestApproved && !formal {
		return false, Errf(errcode.RequestState, "request", "request %s is %s: only an approved request (or a verified test resource) is fulfilled", r.ID, r.State)
	}
	if e.Op != r.Kind.Op() {
		return false, Errf(errcode.RequestMismatch, "op", "request %s asks for %s, not %s", r.ID, r.Kind.Op(), e.Op)
	}
	kind, expires := r.ResourceKind, r.Expires
	if formal {
		kind, expires = KindStandard, time.Time{}
		if test, ok := t.resources.get(r.Resource); ok && !test.Closed {
			return false, Errf(errcode.RequestMismatch, "resource", "request %s: the test resource %q is reclaimed when the formal one is opened", r.ID, r.Resource)
		}
	}
	for _, f := range []struct{ field, got, want string }{
		{"department", e.Department, r.Department}, {"project", e.Project, r.Project}, {"provider", e.Provider, r.Provider},
		{"item", e.Item, r.Item}, {"kind", string(e.Kind), string(kind)},
	} {
		if f.got != "" && f.got != f.want {
			return false, Errf(errcode.RequestMismatch, f.field, "request %s is for %s %q, not %q", r.ID, f.field, f.want, f.got)
		}
	}
	if r.Resource != "" && e.Resource != r.Resource && !formal {
		return false, Errf(errcode.RequestMismatch, "resource", "request %s is for resource %q, not %q", r.ID, r.Resource, e.Resource)
	}
	if (e.Op == OpAllocate || e.Op == OpExpand || e.Op == OpReduce) && !e.Quantity.Equal(r.Quantity) {
		return false, Errf(errcode.RequestMismatch, "quantity", "request %s is for %s, not %s", r.ID, r.Quantity, e.Quantity)
	}
	if (e.Op == OpAllocate || e.Op == OpExtend) && !e.Expires.Equal(expires) {
		return false, Errf(errcode.RequestMismatch, "expires", "request %s is for an expiry of %s", r.ID, expires.Format(time.RFC3339))
	}
	n := *r
	n.State = RequestFulfilled
	switch {
	case formal:
		n.FormalResource = e.Resource
	case r.Kind == RequestTest:
		n.State = RequestVerifying // the month of verification starts (SH 19)
		n.Resource = e.Resource
	case n.Resource == "":
		n.Resource = e.Resource
	}
	n.Steps = append(slices.Clone(r.Steps), RequestStep{State: n.State, Actor: ctx.actor, At: ctx.recordedAt})
	t.requests.put(n.ID, &n)
	t.requestNotices(&n, ctx, t.seq+1)
	return r.NeedsSupervisor, nil
}

// ResourceRequests lists the resource requests (申请), by id.
func (l *Ledger) ResourceRequests() []ResourceRequest {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]ResourceRequest, 0, len(l.root.requests.m))
	for _, r := range l.root.requests.m {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b ResourceRequest) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// ResourceRequest returns one resource request (申请).
func (l *Ledger) ResourceRequest(id string) (ResourceRequest, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	r, ok := l.root.requests.get(id)
	if !ok {
		return ResourceRequest{}, false
	}
	return *r, true
}

// Clock is the ledger's clock: the latest proposal time applied (never the wall clock).
func (l *Ledger) Clock() time.Time {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.root.clock
}

// RequestOfLineItem is the id of the request a SubmitRequest line item opened ("" if none).
func (l *Ledger) RequestOfLineItem(seq uint64) string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	for _, r := range l.root.requests.m {
		if r.Seq == seq {
			return r.ID
		}
	}
	return ""
}
