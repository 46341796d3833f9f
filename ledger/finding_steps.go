package ledger

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
)

// The lifecycle of a finding (SPEC: Utilisation, Lifecycle): the authority reviews a detected
// finding (warn or dismiss), the department explains (the authority accepts or rejects) or
// rectifies, the tick writes overdue past the rectification deadline, the authority
// enforces (SH 25: 停止资源发放并回收). Who may take which action is authorization's
// (server/authz.go); the ledger checks the states.

// TypeFindingAction is one step of a finding's lifecycle (rules version 8).
const TypeFindingAction CommandType = 44

func init() {
	register(TypeFindingAction, "finding_step", writesLineItem, func() Body { return new(FindingAction) })
}

// Finding actions.
const (
	ActionWarn    = "warn"    // the authority: 警告提示, the rectification period starts
	ActionDismiss = "dismiss" // the authority: 不予警告, with a reason
	ActionExplain = "explain" // the department: 情况说明, with a reason
	ActionAccept  = "accept"  // the authority accepts the explanation: closed
	ActionReject  = "reject"  // the authority rejects it: warned again, the original deadline
	ActionEnforce = "enforce" // the authority: 停止发放并回收
)

// FindingActions lists the actions in lifecycle order.
var FindingActions = []string{ActionWarn, ActionDismiss, ActionExplain, ActionAccept, ActionReject, ActionEnforce}

// actionFrom lists the states each action may be taken in and the state it leads to.
var actionFrom = map[string]struct {
	from []FindingState
	to   FindingState
}{
	ActionWarn:    {[]FindingState{FindingDetected}, FindingWarned},
	ActionDismiss: {[]FindingState{FindingDetected}, FindingDismissed},
	ActionExplain: {[]FindingState{FindingWarned}, FindingExplained}, // past the deadline it is too late: overdue
	ActionAccept:  {[]FindingState{FindingExplained}, FindingClosed},
	ActionReject:  {[]FindingState{FindingExplained}, FindingWarned},
	ActionEnforce: {[]FindingState{FindingOverdue}, FindingEnforced},
}

// FindingAction moves a finding on.
type FindingAction struct {
	ID     string
	Action string
	Reason string
}

func (*FindingAction) Type() CommandType { return TypeFindingAction }
func (b *FindingAction) encode(e *encoder) {
	e.str(b.ID)
	e.str(b.Action)
	e.str(b.Reason)
}
func (b *FindingAction) decode(d *decoder) {
	b.ID, b.Action, b.Reason = d.str(MaxIDLen), d.str(MaxIDLen), d.str(MaxTextLen)
}

func (b *FindingAction) validate(rl rules) *Error {
	if !rl.findings {
		return Errf(errcode.InvalidValue, "", "findings need rules version 8 (the cluster is upgrading)")
	}
	if err := firstErr(rl.id("id", b.ID, true), rl.text("reason", b.Reason, MaxTextLen)); err != nil {
		return err
	}
	switch b.Action {
	case ActionWarn, ActionAccept, ActionEnforce:
	case ActionDismiss, ActionExplain, ActionReject:
		return required("reason", strings.TrimSpace(b.Reason))
	default:
		return Errf(errcode.InvalidValue, "action", "action %q: want %s", b.Action, strings.Join(FindingActions, ", "))
	}
	return nil
}

func (b *FindingAction) apply(t *txn, ctx applyContext) *Error {
	f, ok := t.findings.get(b.ID)
	if !ok {
		return Errf(errcode.UnknownFinding, "id", "unknown finding %q", b.ID)
	}
	rule := actionFrom[b.Action]
	if !slices.Contains(rule.from, f.State) {
		if f.State == rule.to && b.Action != ActionReject {
			return errUnchanged
		}
		return Errf(errcode.FindingState, "id", "finding %s is %s: it cannot be %s now", f.ID, f.State, rule.to)
	}
	rl := t.findingRules(f)
	var change func(n *Finding)
	switch b.Action {
	case ActionWarn:
		change = func(n *Finding) {
			n.WarnedAt, n.RectifyDays = ctx.recordedAt, rl.RectifyWorkingDays
			t.setDeadline(n, ctx.recordedAt, rl.RectifyWorkingDays)
		}
	case ActionExplain:
		change = func(n *Finding) { t.setDeadline(n, ctx.recordedAt, rl.ReviewWorkingDays) }
	case ActionReject: // back to warned, its original deadline (the tick makes it overdue if past)
		change = func(n *Finding) { t.setDeadline(n, n.WarnedAt, n.RectifyDays) }
	case ActionDismiss, ActionAccept:
		change = func(n *Finding) {
			n.ClosedOn = calendar.DateOf(ctx.recordedAt)
			clearDeadline(n)
		}
	case ActionEnforce:
		change = clearDeadline
	}
	n := t.stepFinding(f, rule.to, ctx.actor, b.Reason, ctx, change)
	if b.Action == ActionEnforce {
		t.raiseReclaims(n, ctx)
	}
	return nil
}

// raiseReclaims raises a reclaim request at the provider's step for the finding's resource,
// or for each open resource of a zombie project (SH 25: 回收).
func (t *txn) raiseReclaims(f *Finding, ctx applyContext) {
	var ids []string
	if f.Kind == FindingZombie {
		t.resources.each(func(id string, r *Resource) {
			if r.Project == f.Subject && !r.Closed && r.Billing == BillingAllocation {
				ids = append(ids, id)
			}
		})
		slices.Sort(ids)
	} else if r, ok := t.resources.get(f.Subject); ok && !r.Closed {
		ids = []string{r.ID}
	}
	for _, id := range ids {
		res := must(t.resources, id, "resource")
		r := &ResourceRequest{Kind: RequestReclaim, ResourceKind: res.Kind, Department: res.Department, Project: res.Project,
			Provider: res.Provider, Item: res.Item, Resource: res.ID, State: RequestApproved, Finding: f.ID,
			Reason: fmt.Sprintf("%s %s", f.ID, f.Kind)}
		r.ID = t.nextRequestID()
		// Raised and approved by the enforcement at once: its timeline starts at the
		// provider's step (SPEC: Lifecycle), so both steps are written.
		why := "finding " + f.ID + " enforced (SH 25)"
		r.Steps = []RequestStep{{State: RequestSubmitted, Actor: ctx.actor, At: ctx.recordedAt, Reason: why},
			{State: RequestApproved, Actor: ctx.actor, At: ctx.recordedAt, Reason: why}}
		r.DeadlineTable, r.Deadlines = t.deadlinesOn(calendar.DateOf(ctx.recordedAt), r.Kind)
		r.Seq = t.seq + 1 // the enforcement's line item
		t.requests.put(r.ID, r)
		t.requestNotices(r, ctx, r.Seq)
	}
}

// setSuspension keeps the department's suspension (SH 25: 停止资源发放) in step with its
// enforced findings: suspended while one is enforced.
func (t *txn) setSuspension(f *Finding) {
	cur, _ := t.suspensions.get(f.Department)
	var ids []string
	if cur != nil {
		ids = slices.Clone(cur.Findings)
	}
	has := slices.Contains(ids, f.ID)
	switch {
	case f.State == FindingEnforced && !has:
		ids = append(ids, f.ID)
		slices.Sort(ids)
	case f.State != FindingEnforced && has:
		ids = slices.DeleteFunc(ids, func(id string) bool { return id == f.ID })
	default:
		return
	}
	t.suspensions.put(f.Department, &Suspension{Findings: ids})
}

// Suspension is a department's enforced findings.
type Suspension struct {
	Findings []string `json:"findings"`
}

// suspended reports whether a department's resources are suspended (an enforced finding).
func (t *txn) suspended(department string) bool {
	s, ok := t.suspensions.get(department)
	return ok && len(s.Findings) > 0
}

// cancelReclaims withdraws the reclaim requests a finding's enforcement raised that the
// provider has not fulfilled, once the finding closes another way (a reduce to the advice,
// recovered use): nothing is left to reclaim for it.
func (t *txn) cancelReclaims(f *Finding, ctx applyContext) {
	var ids []string
	t.requests.each(func(id string, r *ResourceRequest) {
		if r.Finding == f.ID && r.State == RequestApproved {
			ids = append(ids, id)
		}
	})
	slices.Sort(ids)
	for _, id := range ids {
		r := must(t.requests, id, "request")
		n := *r
		n.State = RequestCancelled
		n.Steps = append(slices.Clone(r.Steps), RequestStep{State: RequestCancelled, Actor: "system", At: ctx.recordedAt, Reason: "finding " + f.ID + " closed"})
		t.requests.put(n.ID, &n)
		t.requestNotices(&n, ctx, 0) // the closing may be an evaluation's, which writes no line item
	}
}

// checkSuspended refuses an allocate or expand of a suspended department; an emergency
// resource the supervisor approved (through a request: waived) is excepted.
func (t *txn) checkSuspended(department string, kind ResourceKind, supervisorApproved bool) *Error {
	if !t.suspended(department) || kind == KindEmergency && supervisorApproved {
		return nil
	}
	s, _ := t.suspensions.get(department)
	return Errf(errcode.ResourcesSuspended, "department", "department %s's resources are suspended until finding %s closes (SH 25); only an emergency resource the supervisor approves is opened", department, strings.Join(s.Findings, ", "))
}

// rectifyByChange closes what a reduce or reclaim of resource r rectifies (SPEC: a reclaim,
// or a reduce to at most the advised quantity): its open findings on a reclaim, its
// low_utilisation finding on such a reduce, and a zombie finding of its project once no
// monitored standard resource of it is open.
func (t *txn) rectifyByChange(r *Resource, at time.Time, ctx applyContext) {
	if !ctx.rules.findings {
		return
	}
	day := calendar.DateOf(at)
	if r.Closed {
		for _, k := range []FindingKind{FindingNoMonitoring, FindingLow} {
			if f := t.openFinding(k, r.ID); f != nil {
				t.closeFinding(f, day, ctx)
			}
		}
		if f := t.openFinding(FindingZombie, r.Project); f != nil && !t.projectHasMonitoredOpen(r.Project) {
			t.closeFinding(f, day, ctx)
		}
		return
	}
	if f := t.openFinding(FindingLow, r.ID); f != nil && !r.Quantity.GreaterThan(f.Advice) {
		t.closeFinding(f, day, ctx)
	}
}

func (t *txn) projectHasMonitoredOpen(project string) bool {
	found := false
	t.resources.each(func(_ string, r *Resource) {
		if !found && r.Project == project && !r.Closed && r.Kind == KindStandard && t.monitored(r) {
			found = true
		}
	})
	return found
}

// Finding notices (SPEC: each step a notice to whom it concerns).
func (t *txn) findingNotices(f *Finding, ctx applyContext) {
	// Resource names the subject: a resource, or a zombie's project.
	base := Notice{Kind: NoticeFinding, Finding: f.ID, FindingState: f.State, Resource: f.Subject, Due: f.Deadline}
	if len(f.Steps) > 0 {
		base.Reason = f.Steps[len(f.Steps)-1].Reason
	}
	to := func(party, recipient string) {
		n := base
		n.Party, n.Recipient = party, recipient
		t.raiseNotice(n, ctx)
	}
	switch f.State {
	case FindingDetected, FindingExplained: // the authority's review is due
		to(NoticeToAuthority, "")
	case FindingOverdue, FindingRectified:
		to(NoticeToDepartment, f.Department)
		to(NoticeToAuthority, "")
	case FindingEnforced: // the supervisor decides the emergency resources it still allows
		to(NoticeToDepartment, f.Department)
		to(NoticeToSupervisor, "")
	default: // warned, dismissed, closed
		to(NoticeToDepartment, f.Department)
	}
}

// TypeFindingRecord is the line item of a step the ledger takes itself (SPEC: Lifecycle,
// each step a line item): a finding detected by an evaluation, made overdue by the tick, or
// rectified by recovered use, a reduce or a reclaim. The authority's and the department's
// steps are their own commands' line items.
const TypeFindingRecord CommandType = 45

func init() {
	register(TypeFindingRecord, "finding_record", noLineItem, func() Body { return new(FindingRecord) })
}

// FindingRecord records a finding's state as a system step left it.
type FindingRecord struct {
	ID         string
	Kind       FindingKind
	Subject    string
	Department string
	State      FindingState
	Day        calendar.Date   // the day raised on, or closed on; the tick's day for overdue
	Deadline   calendar.Date   // the current step's due day (zero when none or unknown)
	Advice     decimal.Decimal // a low_utilisation finding's advice
}

func (*FindingRecord) Type() CommandType { return TypeFindingRecord }

func (b *FindingRecord) encode(e *encoder) {
	e.str(b.ID)
	e.str(string(b.Kind))
	e.str(b.Subject)
	e.str(b.Department)
	e.str(string(b.State))
	e.date(b.Day)
	e.boolean(!b.Deadline.IsZero()) // a date is always a real day: none is said apart
	if !b.Deadline.IsZero() {
		e.date(b.Deadline)
	}
	e.dec(b.Advice)
}

func (b *FindingRecord) decode(d *decoder) {
	b.ID, b.Kind, b.Subject, b.Department = d.str(MaxIDLen), FindingKind(d.str(MaxIDLen)), d.str(MaxIDLen), d.str(MaxIDLen)
	b.State, b.Day = FindingState(d.str(MaxIDLen)), d.date()
	if d.boolean() {
		b.Deadline = d.date()
	}
	b.Advice = d.dec()
}

func (*FindingRecord) validate(rules) *Error {
	return Errf(errcode.InvalidValue, "", "a finding record is written by the ledger, not sent")
}

func (*FindingRecord) apply(*txn, applyContext) *Error {
	return Errf(errcode.InvalidValue, "", "a finding record is written by the ledger, not sent")
}

// recordSystemStep queues the line item of a step the ledger took itself; applyCommand
// appends it after the line item of the command that caused it (so a command's own line
// item keeps the sequence number it expects).
func (t *txn) recordSystemStep(f *Finding, day calendar.Date) {
	t.systemSteps = append(t.systemSteps, &FindingRecord{ID: f.ID, Kind: f.Kind, Subject: f.Subject, Department: f.Department,
		State: f.State, Day: day, Deadline: f.Deadline, Advice: f.Advice})
}

// systemFindingKeyPrefix starts the keys of the ledger's finding records; no client may use it.
const systemFindingKeyPrefix = "finding/"

// appendSystemSteps writes the queued records, keyed by finding and state (each once).
func (t *txn) appendSystemSteps(ctx applyContext) {
	for _, r := range t.systemSteps {
		t.appendItem(systemFindingKeyPrefix+r.ID+"/"+string(r.State), "system", ctx.recordedAt, ctx.raftIndex, r)
	}
	t.systemSteps = nil
}
