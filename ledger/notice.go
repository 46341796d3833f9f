package ledger

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
)

// Notices (issue 15; SH 21, 23–24): what the department, the provider or the supervisor is
// told. A notice is raised by applying the line item it is about (a request's transition)
// or by a tick (a time-limited resource's expiry ahead), so every node holds the same
// outbox; only the leader delivers it (package notice), and records each delivery's
// outcome here so that a new leader resumes without losing or inventing one. The notice id
// is the delivery id every retry carries.
const (
	TypeNoticeOutcome CommandType = 33 // the leader delivered a notice, or gave up on it (bookkeeping)
	TypeReplayNotice  CommandType = 34 // an operator sends a dead notice again (a line item)
)

func init() {
	register(TypeNoticeOutcome, "notice_outcome", noLineItem, func() Body { return new(NoticeOutcome) })
	register(TypeReplayNotice, "notice_replay", writesLineItem, func() Body { return new(ReplayNotice) })
}

// NoticeKind is what a notice is about.
type NoticeKind string

const (
	NoticeSubmitted      NoticeKind = "request_waiting"    // to the supervisor: a request waits for its decision
	NoticeDecided        NoticeKind = "request_decided"    // to the department: its request was agreed, approved or rejected
	NoticeToFulfil       NoticeKind = "request_to_fulfil"  // to the provider: an approved request to carry out
	NoticeFulfilled      NoticeKind = "request_fulfilled"  // to the department: its request was carried out
	NoticeExpiry         NoticeKind = "expiry_ahead"       // to the department: 20 working days before an expiry
	NoticeExtensionLimit NoticeKind = "extension_deadline" // to the department: the last day to ask for an extension (15 working days before)
	NoticeAccountChange  NoticeKind = "account_change"     // to the auditors: an account or credential step (三员分立)
	NoticeStatements     NoticeKind = "statements_ready"   // to departments and providers: last month's statements (XM 18, SD 27)
	NoticeFinding        NoticeKind = "finding"            // a finding's step: to the authority (review due) or the department (SH 25)
)

// Parties a notice is for.
const (
	NoticeToDepartment = "department"
	NoticeToProvider   = "provider"
	NoticeToSupervisor = "supervisor"
	NoticeToAuditor    = "auditor"
	NoticeToAuthority  = "authority"
)

// Delivery states of a notice.
const (
	NoticePending   = "pending"
	NoticeDelivered = "delivered"
	NoticeDead      = "dead" // attempts exhausted: on the dead-letter list until replayed
)

// Working days before an expiry the department is told (SH 21: "提前通知"; SH 23–24: the
// second is the last day to ask for an extension).
const (
	ExpiryNoticeWorkingDays = 20
)

// Notice is one entry of the outbox.
type Notice struct {
	ID        string        `json:"id"` // NTC-00000001…: the delivery id
	Seq       uint64        `json:"seq"`
	Kind      NoticeKind    `json:"kind"`
	Party     string        `json:"party"`               // department | provider | supervisor
	Recipient string        `json:"recipient,omitempty"` // the department or provider; "" for the supervisor
	Request   string        `json:"request,omitempty"`
	Account   string        `json:"account,omitempty"` // an account step's account
	Actor     string        `json:"actor,omitempty"`   // who took an account step
	Resource  string        `json:"resource,omitempty"`
	State     RequestState  `json:"state,omitempty"` // the request's state the notice tells of
	Reason    string        `json:"reason,omitempty"`
	Due       calendar.Date `json:"due,omitzero"`    // the next step's last day, or the extension deadline
	Month     string        `json:"month,omitempty"` // a statements notice's month (YYYY-MM)
	// Finding and FindingState: a finding notice's finding and the state it tells of.
	Finding      string       `json:"finding,omitempty"`
	FindingState FindingState `json:"finding_state,omitempty"`
	Expires      time.Time    `json:"expires,omitzero"` // a resource's expiry
	RaisedAt     time.Time    `json:"raised_at"`        // the ledger time that raised it
	LineItem     uint64       `json:"line_item,omitempty"`
	Delivery     string       `json:"delivery"` // pending | delivered | dead
	// DeliveredAt: the leader's time of the successful delivery; Error: why it was given
	// up; Replays: how many times an operator sent it again.
	DeliveredAt time.Time `json:"delivered_at,omitzero"`
	Error       string    `json:"error,omitempty"`
	Replays     int       `json:"replays,omitempty"`
}

// metaNoticeSeq is the settings key of the outbox's last sequence.
const metaNoticeSeq = "notice_seq"

// raiseNotice appends a notice to the outbox.
func (t *txn) raiseNotice(n Notice, ctx applyContext) {
	if !ctx.rules.notices {
		return // entries written before notices existed raise none when replayed
	}
	s, _ := t.settings.get(metaNoticeSeq)
	seq, _ := strconv.ParseUint(s, 10, 64)
	seq++
	t.settings.put(metaNoticeSeq, strconv.FormatUint(seq, 10))
	n.Seq, n.ID = seq, fmt.Sprintf("NTC-%08d", seq)
	n.RaisedAt, n.Delivery = ctx.recordedAt, NoticePending
	t.notices.put(seq, &n)
}

// requestNotices raises what a request's new state tells: the supervisor of a request
// waiting for it, the department of each decision and of the fulfilment, the provider of
// an approval. due is the next step's last day.
func (t *txn) requestNotices(r *ResourceRequest, ctx applyContext, lineItem uint64) {
	base := Notice{Request: r.ID, Resource: r.Resource, State: r.State, LineItem: lineItem, Expires: r.Expires}
	if _, due, _, err := r.Due(t.cal); err == nil {
		base.Due = due
	}
	if len(r.Steps) > 0 {
		base.Reason = r.Steps[len(r.Steps)-1].Reason
	}
	to := func(kind NoticeKind, party, recipient string) {
		n := base
		n.Kind, n.Party, n.Recipient = kind, party, recipient
		t.raiseNotice(n, ctx)
	}
	switch r.State {
	case RequestSubmitted:
		if r.NeedsSupervisor {
			to(NoticeSubmitted, NoticeToSupervisor, "")
		}
	case RequestSupervised, RequestRejected:
		to(NoticeDecided, NoticeToDepartment, r.Department)
	case RequestApproved:
		to(NoticeDecided, NoticeToDepartment, r.Department)
		to(NoticeToFulfil, NoticeToProvider, r.Provider)
	case RequestFulfilled, RequestVerifying: // verifying: the test resource is open, the month starts
		to(NoticeFulfilled, NoticeToDepartment, r.Department)
	case RequestVerified: // the department confirmed: the provider opens it formally (SH 19)
		to(NoticeToFulfil, NoticeToProvider, r.Provider)
	}
}

// expiryNotice is one expiry notice that is due.
type expiryNotice struct {
	resource *Resource
	kind     NoticeKind
	due      calendar.Date // the notice's day (for the extension deadline: the last day to ask)
	key      string        // its mark in noticeMarks, so a tick raises it once
}

// dueExpiryNotices lists the expiry notices due on day today and not yet raised, in
// (expiry, resource) order: the 20-working-day notice from its day until the extension
// deadline, the extension-deadline notice from that day until the expiry. A resource opened
// too late for the first gets only the second; a year the calendar does not know raises
// nothing (the calendar decides when).
func (t *txn) dueExpiryNotices(today calendar.Date) []expiryNotice {
	var out []expiryNotice
	for _, d := range t.openTimeLimited() {
		r := must(t.resources, d.id, "time-limited resource")
		exp := ExpiryDay(r.Expires)
		if !today.Before(exp) {
			continue // expiring now: the tick writes the expire
		}
		first, err1 := t.cal.Deadline(exp, ExpiryNoticeWorkingDays)
		last, err2 := t.cal.Deadline(exp, ExtensionNoticeWorkingDays)
		if err1 != nil || err2 != nil {
			continue
		}
		kind, due := NoticeExpiry, first
		switch {
		case !today.Before(last):
			kind, due = NoticeExtensionLimit, last
		case today.Before(first):
			continue
		}
		key := string(kind) + "/" + r.ID + "/" + r.Expires.UTC().Format(time.RFC3339)
		if _, raised := t.noticeMarks.get(key); raised {
			continue
		}
		out = append(out, expiryNotice{resource: r, kind: kind, due: due, key: key})
	}
	return out
}

// raiseExpiryNotices raises the expiry notices due at now.
func (t *txn) raiseExpiryNotices(ctx applyContext) {
	if !ctx.rules.notices {
		return
	}
	if ctx.rules.utilisation {
		t.raiseStatementNotices(ctx)
	}
	for _, n := range t.dueExpiryNotices(calendar.DateOf(ctx.recordedAt)) {
		t.noticeMarks.put(n.key, n.resource.ID)
		t.raiseNotice(Notice{Kind: n.kind, Party: NoticeToDepartment, Recipient: n.resource.Department, Resource: n.resource.ID,
			Due: n.due, Expires: n.resource.Expires}, ctx)
	}
}

// ExpiryNoticesDue reports whether a tick at now would raise an expiry notice (the leader
// proposes one then).
func (l *Ledger) ExpiryNoticesDue(now time.Time) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.root.dueExpiryNotices(calendar.DateOf(now))) > 0
}

// NoticesDue reports whether a tick at now would raise a notice: an expiry's, or the
// month's statements (the leader proposes one then).
func (l *Ledger) NoticesDue(now time.Time) bool {
	l.mu.RLock()
	_, statements := l.root.dueStatementMonth(calendar.DateOf(now))
	l.mu.RUnlock()
	return statements || l.ExpiryNoticesDue(now)
}

// dueStatementMonth is the month whose statements are to be announced on day d (SPEC:
// Utilisation, Reports: on the first working day of a month, the previous month's): ok
// once d is on or after that first working day, until announced. A month of a year the
// calendar does not know waits for it.
func (t *txn) dueStatementMonth(d calendar.Date) (calendar.Month, bool) {
	this := calendar.MonthOf(d)
	prev := calendar.Month{Year: this.Year, Month: this.Month}.Prev()
	first, err := t.cal.Due(this.First().AddDays(-1), 1)
	if err != nil || d.Before(first) {
		return prev, false
	}
	_, done := t.noticeMarks.get("statements/" + prev.String())
	return prev, !done
}

// raiseStatementNotices tells every department and provider that last month's statements
// are ready, once, on the first working day of the month or the first tick after it.
func (t *txn) raiseStatementNotices(ctx applyContext) {
	m, due := t.dueStatementMonth(calendar.DateOf(ctx.recordedAt))
	if !due {
		return
	}
	t.noticeMarks.put("statements/"+m.String(), "")
	var depts, provs []string
	t.departments.each(func(id string, _ *Department) { depts = append(depts, id) })
	t.providers.each(func(id string, _ *Provider) { provs = append(provs, id) })
	slices.Sort(depts)
	slices.Sort(provs)
	for _, d := range depts {
		t.raiseNotice(Notice{Kind: NoticeStatements, Party: NoticeToDepartment, Recipient: d, Month: m.String()}, ctx)
	}
	for _, p := range provs {
		t.raiseNotice(Notice{Kind: NoticeStatements, Party: NoticeToProvider, Recipient: p, Month: m.String()}, ctx)
	}
}

// NoticeOutcome records what the leader's delivery of a notice came to.
type NoticeOutcome struct {
	ID      string
	Outcome string    // delivered | dead
	At      time.Time // the leader's time of the delivery or of the last attempt
	Error   string    // dead: the last attempt's error
}

func (*NoticeOutcome) Type() CommandType { return TypeNoticeOutcome }
func (b *NoticeOutcome) encode(e *encoder) {
	e.str(b.ID)
	e.str(b.Outcome)
	e.tm(b.At)
	e.str(b.Error)
}
func (b *NoticeOutcome) decode(d *decoder) {
	b.ID, b.Outcome, b.At, b.Error = d.str(MaxIDLen), d.str(MaxIDLen), d.tm(), d.str(MaxTextLen)
}

func (b *NoticeOutcome) validate(rl rules) *Error {
	if err := firstErr(rl.id("id", b.ID, true), instant("at", b.At, true)); err != nil {
		return err
	}
	if b.Outcome != NoticeDelivered && b.Outcome != NoticeDead {
		return Errf(errcode.InvalidValue, "outcome", "outcome %q: want delivered or dead", b.Outcome)
	}
	return nil
}

func (b *NoticeOutcome) apply(t *txn, _ applyContext) *Error {
	n, err := t.notice(b.ID)
	if err != nil {
		return err
	}
	if n.Delivery != NoticePending {
		return nil // delivered or given up before: a deposed leader's late outcome changes nothing
	}
	c := *n
	c.Delivery = b.Outcome
	if b.Outcome == NoticeDelivered {
		c.DeliveredAt, c.Error = b.At, ""
	} else {
		c.Error = truncate(b.Error, MaxTextLen)
	}
	t.notices.put(c.Seq, &c)
	return nil
}

// ReplayNotice puts a dead notice back in the outbox, to be delivered again with its own
// delivery id.
type ReplayNotice struct{ ID string }

func (*ReplayNotice) Type() CommandType          { return TypeReplayNotice }
func (b *ReplayNotice) encode(e *encoder)        { e.str(b.ID) }
func (b *ReplayNotice) decode(d *decoder)        { b.ID = d.str(MaxIDLen) }
func (b *ReplayNotice) validate(rl rules) *Error { return rl.id("id", b.ID, true) }

func (b *ReplayNotice) apply(t *txn, _ applyContext) *Error {
	n, err := t.notice(b.ID)
	if err != nil {
		return err
	}
	if n.Delivery != NoticeDead {
		return Errf(errcode.NoticeState, "id", "notice %s is %s: only a dead notice is replayed", n.ID, n.Delivery)
	}
	c := *n
	c.Delivery, c.Replays = NoticePending, n.Replays+1
	t.notices.put(c.Seq, &c)
	return nil
}

// notice finds a notice by id.
func (t *txn) notice(id string) (*Notice, *Error) {
	var seq uint64
	if _, err := fmt.Sscanf(id, "NTC-%d", &seq); err == nil {
		if n, ok := t.notices.get(seq); ok && n.ID == id {
			return n, nil
		}
	}
	return nil, Errf(errcode.UnknownNotice, "id", "unknown notice %q", id)
}

// Notices lists the outbox from sequence from on, at most limit entries (0: all).
func (l *Ledger) Notices(from uint64, limit int) []Notice {
	l.mu.RLock()
	defer l.mu.RUnlock()
	s, _ := l.root.settings.get(metaNoticeSeq)
	n, _ := strconv.ParseUint(s, 10, 64)
	var out []Notice
	for seq := max(from, 1); seq <= n && (limit <= 0 || len(out) < limit); seq++ {
		x := must(l.root.notices, seq, "notice") // the outbox is dense
		out = append(out, *x)
	}
	return out
}

// PendingNotices lists the notices waiting for delivery, oldest first.
func (l *Ledger) PendingNotices(limit int) []Notice {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []Notice
	l.root.notices.each(func(_ uint64, n *Notice) {
		if n.Delivery == NoticePending {
			out = append(out, *n)
		}
	})
	slices.SortFunc(out, func(a, b Notice) int { return cmp.Compare(a.Seq, b.Seq) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}
