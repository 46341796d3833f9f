package ledger

import (
	"encoding/hex"
	"encoding/json"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
)

// ValidateCommand checks what can be checked without the ledger's state: required fields,
// domains, limits. The leader runs it before proposing; apply runs it again, because a Raft
// entry is outside input too.
func ValidateCommand(c Command) *Error {
	if c.Body == nil {
		return Errf(CodeMalformed, "", "empty command")
	}
	if _, tick := c.Body.(*Tick); !tick && !isBookkeeping(c.Body) {
		if c.Key == "" {
			return Errf(CodeMissingField, "key", "an idempotency key is required")
		}
		if err := text("key", c.Key, MaxKeyLen); err != nil {
			return err
		}
	}
	switch b := c.Body.(type) {
	case *Event:
		return validateEvent(b)
	case *SetDepartment:
		d := b.Department
		if err := firstErr(id("department", d.ID, true), text("name", d.Name, MaxTextLen), required("name", d.Name), id("parent", d.Parent, false)); err != nil {
			return err
		}
		if d.Funding != FundingBudget && d.Funding != FundingSelf {
			return Errf(CodeInvalidValue, "funding", "funding must be budget or self, not %q", d.Funding)
		}
	case *SetProvider:
		p := b.Provider
		if err := firstErr(id("provider", p.ID, true), text("name", p.Name, MaxTextLen), required("name", p.Name),
			dateInRange("contract_start", p.ContractStart), dateInRange("contract_end", p.ContractEnd)); err != nil {
			return err
		}
		if p.ContractEnd.Before(p.ContractStart) {
			return Errf(CodeInvalidValue, "contract_end", "contract ends %s before it starts %s", p.ContractEnd, p.ContractStart)
		}
	case *SetProjectQuota:
		return firstErr(id("project", b.Project, true), id("department", b.Department, true), text("name", b.Name, MaxTextLen),
			required("name", b.Name), id("quota_class", b.QuotaClass, true), nonNegative("quota", b.Quota))
	case *SetCatalogPrice:
		if err := firstErr(id("item", b.Item, true), text("name", b.Name, MaxTextLen), required("name", b.Name),
			text("category", b.Category, MaxTextLen), text("unit", b.Unit, MaxTextLen), required("unit", b.Unit),
			id("quota_class", b.QuotaClass, false), nonNegative("price", b.Price), id("provider", b.Provider, false),
			dateInRange("effective_from", b.EffectiveFrom)); err != nil {
			return err
		}
		if b.Billing != BillingAllocation && b.Billing != BillingMetered {
			return Errf(CodeInvalidValue, "billing", "billing must be allocation or metered, not %q", b.Billing)
		}
		if b.Proration != ProrationDaily && b.Proration != ProrationMonthly {
			return Errf(CodeInvalidValue, "proration", "proration must be daily or monthly, not %q", b.Proration)
		}
	case *GrantApproval:
		return firstErr(id("department", b.Department, true), id("quota_class", b.QuotaClass, true),
			nonNegative("ceiling", b.Ceiling), text("ref", b.Ref, MaxTextLen), required("ref", b.Ref))
	case *ClosePeriod:
		if b.Month.Year < MinYear || b.Month.Year > MaxYear || b.Month.Month < 1 || b.Month.Month > 12 {
			return Errf(CodeInvalidValue, "month", "month out of range")
		}
	case *LoadCalendar:
		raw, err := json.Marshal(b.Schedule)
		if err != nil {
			return Errf(CodeMalformed, "days", "%v", err)
		}
		if _, err := calendar.ParseYearSchedule(raw); err != nil {
			return Errf(CodeInvalidValue, "days", "%v", err)
		}
	case *SetAdminToken:
		if raw, err := hex.DecodeString(b.TokenSHA256); err != nil || len(raw) != 32 {
			return Errf(CodeInvalidValue, "token", "not a hex SHA-256")
		}
	case *SetEvaluation:
		return validateEvaluation(b)
	case *SetBandTable:
		if err := dateInRange("effective_from", b.Table.EffectiveFrom); err != nil {
			return err
		}
		return validateBands(b.Table.Bands)
	case *AdvanceOffsets, *MarkPublished:
		return validateBookkeeping(b)
	case *SettlementRun, *SettlementAudit, *SettlementAdvance, *SetSettlementWindow, *RecordReconciliation:
		return validateSettlement(b)
	case *Tick:
	default:
		return Errf(CodeMalformed, "", "unsupported command %T", c.Body)
	}
	return nil
}

func validateEvent(e *Event) *Error {
	if err := firstErr(id("resource", e.Resource, true), id("department", e.Department, false), id("project", e.Project, false),
		id("provider", e.Provider, false), id("item", e.Item, false), instant("time", e.Time, true), instant("expires", e.Expires, false)); err != nil {
		return err
	}
	if e.Kind != "" && !e.Kind.valid() {
		return Errf(CodeInvalidValue, "kind", "kind must be standard, test, dev, emergency or temporary, not %q", e.Kind)
	}
	if !checkDecimalBounds(e.Quantity) {
		return Errf(CodeInvalidQuantity, "quantity", "quantity out of range")
	}
	needRefs := func() *Error {
		return firstErr(required("department", e.Department), required("project", e.Project), required("provider", e.Provider), required("item", e.Item))
	}
	switch e.Op {
	case OpAllocate, OpUsage:
		if e.Kind == "" {
			return Errf(CodeMissingField, "kind", "kind is required (standard, test, dev, emergency, temporary)")
		}
		if err := needRefs(); err != nil {
			return err
		}
		if err := positive("quantity", e.Quantity); err != nil {
			return err
		}
		if e.Op == OpUsage && !e.Expires.IsZero() {
			return Errf(CodeExpiryNotAllowed, "expires", "usage has no expiry")
		}
	case OpExpand, OpReduce:
		if err := positive("quantity", e.Quantity); err != nil {
			return err
		}
		if !e.Expires.IsZero() {
			return Errf(CodeExpiryNotAllowed, "expires", "%s takes no expiry: use extend", e.Op)
		}
	case OpReclaim:
		if !e.Quantity.IsZero() {
			return Errf(CodeInvalidQuantity, "quantity", "reclaim takes no quantity: it returns the whole resource")
		}
		if !e.Expires.IsZero() {
			return Errf(CodeExpiryNotAllowed, "expires", "reclaim takes no expiry")
		}
	case OpExtend:
		if !e.Quantity.IsZero() {
			return Errf(CodeInvalidQuantity, "quantity", "extend takes no quantity")
		}
		if e.Expires.IsZero() {
			return Errf(CodeExpiryRequired, "expires", "extend needs the new expiry")
		}
	case OpExpire:
		return Errf(CodeInvalidValue, "op", "expire is written by the ledger itself")
	case "":
		return Errf(CodeMissingField, "op", "op is required")
	default:
		return Errf(CodeInvalidValue, "op", "op must be allocate, expand, reduce, reclaim, usage or extend, not %q", e.Op)
	}
	return nil
}

func firstErr(errs ...*Error) *Error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func required(field, v string) *Error {
	if v == "" {
		return Errf(CodeMissingField, field, "%s is required", field)
	}
	return nil
}

func text(field, v string, max int) *Error {
	if len(v) > max {
		return Errf(CodeTooLarge, field, "longer than %d bytes", max)
	}
	if !utf8.ValidString(v) {
		return Errf(CodeInvalidValue, field, "not valid UTF-8")
	}
	return nil
}

// CheckID checks a required identifier read from outside a command (an invoice line's
// department, project or item) by the rules every command's ids follow.
func CheckID(field, v string) *Error { return id(field, v, true) }

// id checks an identifier: printable, no spaces or control characters, bounded.
func id(field, v string, req bool) *Error {
	if v == "" {
		if req {
			return Errf(CodeMissingField, field, "%s is required", field)
		}
		return nil
	}
	if err := text(field, v, MaxIDLen); err != nil {
		return err
	}
	for _, r := range v {
		if r <= ' ' || r == 0x7f {
			return Errf(CodeInvalidValue, field, "%q contains a space or control character", v)
		}
	}
	return nil
}

func nonNegative(field string, d decimal.Decimal) *Error {
	if !checkDecimalBounds(d) {
		return Errf(CodeInvalidQuantity, field, "out of range")
	}
	if d.IsNegative() {
		return Errf(CodeInvalidQuantity, field, "must not be negative, got %s", d)
	}
	return nil
}

func positive(field string, d decimal.Decimal) *Error {
	if err := nonNegative(field, d); err != nil {
		return err
	}
	if !d.IsPositive() {
		return Errf(CodeInvalidQuantity, field, "must be positive, got %s", d)
	}
	return nil
}

func instant(field string, t time.Time, req bool) *Error {
	if t.IsZero() {
		if req {
			return Errf(CodeMissingField, field, "%s is required", field)
		}
		return nil
	}
	if y := t.In(calendar.Shanghai).Year(); y < MinYear || y > MaxYear {
		return Errf(CodeInvalidTime, field, "year %d outside %d–%d", y, MinYear, MaxYear)
	}
	return nil
}

func dateInRange(field string, d calendar.Date) *Error {
	if d.Year < MinYear || d.Year > MaxYear {
		return Errf(CodeInvalidDate, field, "date %s outside %d–%d", d, MinYear, MaxYear)
	}
	return nil
}
