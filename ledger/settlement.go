package ledger

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
)

// SettlementState is where a settlement year stands (SPEC: Settlement).
type SettlementState string

const (
	SettlementDraft     SettlementState = "draft"
	SettlementAudited   SettlementState = "audited"
	SettlementSubmitted SettlementState = "submitted"
	SettlementPaid      SettlementState = "paid"
)

// DefaultWindowEndMonth ends settlement year Y's window with August Y (SPEC: 1 September
// Y−1 to 31 August Y).
const DefaultWindowEndMonth = 8

// MaxAuditedLines bounds the frozen figures of one audit.
const MaxAuditedLines = 500_000

// SettlementWindow is the window of year Y: the twelve months ending with endMonth of Y.
func SettlementWindow(year, endMonth int) (from, to calendar.Date) {
	end := calendar.Month{Year: year, Month: time.Month(endMonth)}
	return end.First().AddMonths(-11), end.Last()
}

// AuditedLine is one frozen figure of an audited year: the window's fees of one
// (department, project, provider, item).
type AuditedLine struct {
	Department string          `json:"department"`
	Project    string          `json:"project"`
	Provider   string          `json:"provider"`
	Item       string          `json:"item"`
	Quantity   decimal.Decimal `json:"quantity"`
	BaseAmount decimal.Decimal `json:"base_amount"`
	Amount     decimal.Decimal `json:"amount"`
}

// Settlement is a settlement year and its workflow; each transition is a line item whose
// actor and time are kept here too.
type Settlement struct {
	Year       int             `json:"year"`
	State      SettlementState `json:"state"`
	From       calendar.Date   `json:"from"`
	To         calendar.Date   `json:"to"`
	RunBy      string          `json:"run_by"`
	RunAt      time.Time       `json:"run_at"`
	AuditedBy  string          `json:"audited_by,omitempty"`
	AuditedAt  time.Time       `json:"audited_at,omitzero"`
	AuditIndex uint64          `json:"audit_index,omitempty"` // the Raft index the figures were computed at
	AuditHead  string          `json:"audit_head,omitempty"`  // and the chain head then
	Lines      []AuditedLine   `json:"lines,omitempty"`
	// Funding is how each department of Lines was funded when the year was audited: the
	// frozen figures stay on the sheet they were audited on if a department's funding
	// changes later (SPEC: audited figures never change afterwards).
	Funding     map[string]Funding `json:"funding,omitempty"`
	TotalBase   decimal.Decimal    `json:"total_base"`
	TotalAmount decimal.Decimal    `json:"total_amount"`
	SubmittedBy string             `json:"submitted_by,omitempty"`
	SubmittedAt time.Time          `json:"submitted_at,omitzero"`
	PaidBy      string             `json:"paid_by,omitempty"`
	PaidAt      time.Time          `json:"paid_at,omitzero"`
}

const (
	TypeSettlementRun        CommandType = 15 // open a settlement year as a draft
	TypeSettlementAudit      CommandType = 16 // freeze a year's figures
	TypeSettlementAdvance    CommandType = 17 // audited → submitted → paid
	TypeSetSettlementWindow  CommandType = 18 // the last month of settlement windows
	TypeRecordReconciliation CommandType = 19 // an invoice reconciliation's outcome
)

func init() {
	register(TypeSettlementRun, "settlement_run", writesLineItem, func() Body { return new(SettlementRun) })
	register(TypeSettlementAudit, "settlement_audit", writesLineItem, func() Body { return new(SettlementAudit) })
	register(TypeSettlementAdvance, "settlement_advance", writesLineItem, func() Body { return new(SettlementAdvance) })
	register(TypeSetSettlementWindow, "settlement_window", writesLineItem, func() Body { return new(SetSettlementWindow) })
	register(TypeRecordReconciliation, "reconciliation", writesLineItem, func() Body { return new(RecordReconciliation) })
}

// SettlementRun opens settlement year Year as a draft.
type SettlementRun struct{ Year int }

// SettlementAudit freezes the year's figures, computed by the leader at AtIndex with the
// chain head AtHead; apply refuses them if anything was written since.
type SettlementAudit struct {
	Year    int
	AtIndex uint64
	AtHead  string
	Lines   []AuditedLine
}

// SettlementAdvance moves an audited year to submitted, or a submitted one to paid.
type SettlementAdvance struct {
	Year int
	To   SettlementState
}

// SetSettlementWindow sets the last month of every later settlement year's window.
type SetSettlementWindow struct{ EndMonth int }

// Reconciliation is the outcome of checking a provider's invoice for a month against the
// rated charges, kept so that a provider's dispute history is auditable.
type Reconciliation struct {
	Provider      string          `json:"provider"`
	Month         calendar.Month  `json:"month"`
	InvoiceSHA256 string          `json:"invoice_sha256"`
	Matched       int             `json:"matched"`
	Mismatched    int             `json:"mismatched"`
	Missing       int             `json:"missing"`
	Unexpected    int             `json:"unexpected"`
	InvoiceTotal  decimal.Decimal `json:"invoice_total"`
	RatedTotal    decimal.Decimal `json:"rated_total"`
	Tolerance     decimal.Decimal `json:"tolerance"`
	Actor         string          `json:"actor"`
	Time          time.Time       `json:"time"`
}

// ProviderReconciliations is every reconciliation of one provider, oldest first.
type ProviderReconciliations struct {
	Provider string           `json:"provider"`
	History  []Reconciliation `json:"history"`
}

// RecordReconciliation stores a reconciliation result.
type RecordReconciliation struct{ Result Reconciliation }

func (*SettlementRun) Type() CommandType        { return TypeSettlementRun }
func (*SettlementAudit) Type() CommandType      { return TypeSettlementAudit }
func (*SettlementAdvance) Type() CommandType    { return TypeSettlementAdvance }
func (*SetSettlementWindow) Type() CommandType  { return TypeSetSettlementWindow }
func (*RecordReconciliation) Type() CommandType { return TypeRecordReconciliation }

func (b *SettlementRun) encode(e *encoder) { e.varint(int64(b.Year)) }
func (b *SettlementRun) decode(d *decoder) { b.Year = int(d.varint()) }

func (b *SettlementAudit) encode(e *encoder) {
	e.varint(int64(b.Year))
	e.uvarint(b.AtIndex)
	e.str(b.AtHead)
	e.uvarint(uint64(len(b.Lines)))
	for _, l := range b.Lines {
		e.str(l.Department)
		e.str(l.Project)
		e.str(l.Provider)
		e.str(l.Item)
		e.dec(l.Quantity)
		e.dec(l.BaseAmount)
		e.dec(l.Amount)
	}
}

func (b *SettlementAudit) decode(d *decoder) {
	b.Year = int(d.varint())
	b.AtIndex = d.uvarint()
	b.AtHead = d.str(MaxIDLen)
	n := d.uvarint()
	if n > MaxAuditedLines {
		d.fail("too many audited lines")
		return
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		b.Lines = append(b.Lines, AuditedLine{Department: d.str(MaxIDLen), Project: d.str(MaxIDLen), Provider: d.str(MaxIDLen),
			Item: d.str(MaxIDLen), Quantity: d.dec(), BaseAmount: d.dec(), Amount: d.dec()})
	}
}

func (b *SettlementAdvance) encode(e *encoder) { e.varint(int64(b.Year)); e.str(string(b.To)) }
func (b *SettlementAdvance) decode(d *decoder) {
	b.Year = int(d.varint())
	b.To = SettlementState(d.str(MaxIDLen))
}

func (b *SetSettlementWindow) encode(e *encoder) { e.varint(int64(b.EndMonth)) }
func (b *SetSettlementWindow) decode(d *decoder) { b.EndMonth = int(d.varint()) }

func (b *RecordReconciliation) encode(e *encoder) {
	r := b.Result
	e.str(r.Provider)
	e.str(r.Month.String())
	e.str(r.InvoiceSHA256)
	for _, n := range []int{r.Matched, r.Mismatched, r.Missing, r.Unexpected} {
		e.uvarint(uint64(n))
	}
	e.dec(r.InvoiceTotal)
	e.dec(r.RatedTotal)
	e.dec(r.Tolerance)
}

func (b *RecordReconciliation) decode(d *decoder) {
	r := &b.Result
	r.Provider = d.str(MaxIDLen)
	m, err := calendar.ParseMonth(d.str(MaxIDLen))
	if err != nil && d.err == nil {
		d.fail("bad month")
	}
	r.Month = m
	r.InvoiceSHA256 = d.str(MaxIDLen)
	for _, n := range []*int{&r.Matched, &r.Mismatched, &r.Missing, &r.Unexpected} {
		*n = int(d.uvarint())
	}
	r.InvoiceTotal = d.dec()
	r.RatedTotal = d.dec()
	r.Tolerance = d.dec()
}

func validYear(y int) *Error {
	if y < MinYear || y > MaxYear {
		return Errf(errcode.InvalidValue, "year", "year %d outside %d–%d", y, MinYear, MaxYear)
	}
	return nil
}

func (b *SettlementRun) validate(rl rules) *Error { return validYear(b.Year) }

func (b *SettlementAudit) validate(rl rules) *Error {
	if err := validYear(b.Year); err != nil {
		return err
	}
	if len(b.Lines) > MaxAuditedLines {
		return Errf(errcode.TooLarge, "lines", "at most %d audited lines", MaxAuditedLines)
	}
	for _, l := range b.Lines {
		if !checkDecimalBounds(l.Quantity) || !checkDecimalBounds(l.BaseAmount) || !checkDecimalBounds(l.Amount) {
			return Errf(errcode.InvalidQuantity, "lines", "an audited figure out of range")
		}
	}
	return nil
}

func (b *SettlementAdvance) validate(rl rules) *Error {
	if err := validYear(b.Year); err != nil {
		return err
	}
	if b.To != SettlementSubmitted && b.To != SettlementPaid {
		return Errf(errcode.InvalidValue, "state", "a year moves to submitted or paid, not %q", b.To)
	}
	return nil
}

func (b *SetSettlementWindow) validate(rl rules) *Error {
	if b.EndMonth < 1 || b.EndMonth > 12 {
		return Errf(errcode.InvalidValue, "end_month", "a month 1–12, not %d", b.EndMonth)
	}
	return nil
}

func (b *RecordReconciliation) validate(rl rules) *Error {
	r := b.Result
	if err := rl.id("provider", r.Provider, true); err != nil {
		return err
	}
	if r.Month.Year < MinYear || r.Month.Year > MaxYear {
		return Errf(errcode.InvalidValue, "month", "month out of range")
	}
	if raw, err := hex.DecodeString(r.InvoiceSHA256); err != nil || len(raw) != sha256.Size {
		return Errf(errcode.InvalidValue, "invoice_sha256", "the invoice file's SHA-256 is 64 hex digits")
	}
	if !checkDecimalBounds(r.InvoiceTotal) || !checkDecimalBounds(r.RatedTotal) || !checkDecimalBounds(r.Tolerance) {
		return Errf(errcode.InvalidQuantity, "amount", "an amount out of range")
	}
	return nil
}

const metaWindowEndMonth = "settlement_window_end_month"

// windowEndMonth is the configured last month of a settlement window.
func (t *txn) windowEndMonth() int {
	if v, ok := t.settings.get(metaWindowEndMonth); ok {
		var m int
		if _, err := fmt.Sscan(v, &m); err == nil && m >= 1 && m <= 12 {
			return m
		}
	}
	return DefaultWindowEndMonth
}

func (b *SetSettlementWindow) apply(t *txn, _ applyContext) *Error {
	if t.windowEndMonth() == b.EndMonth {
		return errUnchanged
	}
	t.settings.put(metaWindowEndMonth, fmt.Sprint(b.EndMonth))
	return nil
}

func (b *SettlementRun) apply(t *txn, ctx applyContext) *Error {
	if _, ok := t.settlements.get(b.Year); ok {
		return errUnchanged
	}
	from, to := SettlementWindow(b.Year, t.windowEndMonth())
	// A day's fees are settled once: after the window setting changed, a new year must not
	// reach back into another year's window.
	for _, s := range t.settlementYears() {
		if !from.After(s.To) && !s.From.After(to) {
			return Errf(errcode.WindowOverlap, "year", "the window of settlement year %d (%s – %s) overlaps that of year %d (%s – %s)",
				b.Year, from, to, s.Year, s.From, s.To)
		}
	}
	t.settlements.put(b.Year, &Settlement{Year: b.Year, State: SettlementDraft, From: from, To: to, RunBy: ctx.actor, RunAt: ctx.recordedAt})
	return nil
}

// openMonths lists the months of [from, to] that are not closed.
func (t *txn) openMonths(from, to calendar.Date) []string {
	var open []string
	for m := calendar.MonthOf(from); m != calendar.MonthOf(to).Next(); m = m.Next() {
		if !t.isClosed(m) {
			open = append(open, m.String())
		}
	}
	return open
}

func (b *SettlementAudit) apply(t *txn, ctx applyContext) *Error {
	s, ok := t.settlements.get(b.Year)
	if !ok {
		return Errf(errcode.SettlementState, "year", "settlement year %d has not been run (settle run)", b.Year)
	}
	if s.State != SettlementDraft {
		return Errf(errcode.SettlementState, "year", "settlement year %d is %s, not draft", b.Year, s.State)
	}
	if open := t.openMonths(s.From, s.To); len(open) > 0 {
		return Errf(errcode.SettlementBlocked, "month", "months of the window still open: %s", strings.Join(open, ", "))
	}
	if t.head.String() != b.AtHead {
		return Errf(errcode.StaleFigures, "head", "the ledger moved on since the figures were computed (head %s, figures at %s): compute again", t.head, b.AtHead)
	}
	n := *s
	n.State, n.AuditedBy, n.AuditedAt, n.AuditIndex, n.AuditHead = SettlementAudited, ctx.actor, ctx.recordedAt, b.AtIndex, b.AtHead
	n.Lines = append([]AuditedLine(nil), b.Lines...)
	n.TotalBase, n.TotalAmount = decimal.Zero, decimal.Zero
	n.Funding = map[string]Funding{}
	for _, l := range b.Lines {
		if d, ok := t.departments.get(l.Department); ok {
			n.Funding[l.Department] = d.Funding
		}
		n.TotalBase = n.TotalBase.Add(l.BaseAmount)
		n.TotalAmount = n.TotalAmount.Add(l.Amount)
	}
	t.settlements.put(b.Year, &n)
	return nil
}

func (b *SettlementAdvance) apply(t *txn, ctx applyContext) *Error {
	s, ok := t.settlements.get(b.Year)
	if !ok {
		return Errf(errcode.SettlementState, "year", "settlement year %d has not been run (settle run)", b.Year)
	}
	want := map[SettlementState]SettlementState{SettlementSubmitted: SettlementAudited, SettlementPaid: SettlementSubmitted}[b.To]
	if s.State == b.To {
		return errUnchanged
	}
	if s.State != want {
		return Errf(errcode.SettlementState, "year", "settlement year %d is %s; only a %s year can become %s", b.Year, s.State, want, b.To)
	}
	n := *s
	n.State = b.To
	if b.To == SettlementSubmitted {
		n.SubmittedBy, n.SubmittedAt = ctx.actor, ctx.recordedAt
	} else {
		n.PaidBy, n.PaidAt = ctx.actor, ctx.recordedAt
	}
	t.settlements.put(b.Year, &n)
	return nil
}

func (b *RecordReconciliation) apply(t *txn, ctx applyContext) *Error {
	if _, ok := t.providers.get(b.Result.Provider); !ok {
		return Errf(errcode.UnknownProvider, "provider", "unknown provider %q", b.Result.Provider)
	}
	n := &ProviderReconciliations{Provider: b.Result.Provider}
	if old, ok := t.reconciled.get(b.Result.Provider); ok {
		n.History = append(n.History, old.History...)
	}
	r := b.Result
	r.Actor, r.Time = ctx.actor, ctx.recordedAt
	n.History = append(n.History, r)
	t.reconciled.put(r.Provider, n)
	return nil
}

// settlementYears are every settlement year that has been run, oldest first.
func (t *txn) settlementYears() []*Settlement {
	seen := map[int]bool{}
	var out []*Settlement
	for x := t.settlements; x != nil; x = x.parent {
		for y := range x.m {
			if seen[y] {
				continue
			}
			seen[y] = true
			if s, _ := t.settlements.get(y); s != nil {
				out = append(out, s)
			}
		}
	}
	slices.SortFunc(out, func(a, b *Settlement) int { return cmp.Compare(a.Year, b.Year) })
	return out
}

// auditedOverlap reports an audited (or later) settlement year whose window shares a day
// with [from, until): its figures are frozen, so nothing may change the charges of those days.
func (t *txn) auditedOverlap(from, until calendar.Date) (int, bool) {
	for _, s := range t.settlementYears() {
		if s.State == SettlementDraft {
			continue
		}
		if from.Compare(s.To) <= 0 && (until.IsZero() || until.After(s.From)) {
			return s.Year, true
		}
	}
	return 0, false
}

func errAudited(field string, year int) *Error {
	return Errf(errcode.PeriodClosed, field, "it would change the charges of settlement year %d, which is audited; corrections go into an open month", year)
}
