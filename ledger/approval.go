package ledger

import (
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
)

// Supervisor approvals of quota overruns (SPEC: Quota; SH 20): for (department, quota
// class), allocations up to Ceiling are accepted past 120 % of the quota, until the approval
// expires (the end of Expires, if set) or is revoked. A new grant replaces the one in force.
const (
	TypeGrantApproval  CommandType = 6
	TypeRevokeApproval CommandType = 20
)

func init() {
	register(TypeGrantApproval, "approval", writesLineItem, func() Body { return new(GrantApproval) })
	register(TypeRevokeApproval, "approval_revoke", writesLineItem, func() Body { return new(RevokeApproval) })
}

// GrantApproval records a supervisor approval for (department, quota class).
type GrantApproval struct {
	Department string
	QuotaClass string
	Ceiling    decimal.Decimal
	Ref        string
	Expires    calendar.Date // the last day the approval is in force; zero: until revoked
}

// RevokeApproval ends the approval in force for (department, quota class); Ref names it.
type RevokeApproval struct {
	Department string
	QuotaClass string
	Ref        string
}

func (*GrantApproval) Type() CommandType  { return TypeGrantApproval }
func (*RevokeApproval) Type() CommandType { return TypeRevokeApproval }

// encode writes the expiry only when there is one, so that grants written before approvals
// could expire keep their encoding (and their line items their hashes).
func (b *GrantApproval) encode(e *encoder) {
	e.str(b.Department)
	e.str(b.QuotaClass)
	e.dec(b.Ceiling)
	e.str(b.Ref)
	if !b.Expires.IsZero() {
		e.date(b.Expires)
	}
}

func (b *GrantApproval) decode(d *decoder) {
	b.Department = d.str(MaxIDLen)
	b.QuotaClass = d.str(MaxIDLen)
	b.Ceiling = d.dec()
	b.Ref = d.str(MaxTextLen)
	if d.err == nil && len(d.b) > 0 {
		b.Expires = d.date() // never zero: date refuses years before MinYear
	}
}

func (b *RevokeApproval) encode(e *encoder) {
	e.str(b.Department)
	e.str(b.QuotaClass)
	e.str(b.Ref)
}

func (b *RevokeApproval) decode(d *decoder) {
	b.Department = d.str(MaxIDLen)
	b.QuotaClass = d.str(MaxIDLen)
	b.Ref = d.str(MaxTextLen)
}

func (b *GrantApproval) validate(rl rules) *Error {
	if err := firstErr(rl.id("department", b.Department, true), rl.id("quota_class", b.QuotaClass, true),
		nonNegative("ceiling", b.Ceiling), rl.text("ref", b.Ref, MaxTextLen), required("ref", b.Ref)); err != nil {
		return err
	}
	if !b.Expires.IsZero() {
		return dateInRange("expires", b.Expires)
	}
	return nil
}

func (b *RevokeApproval) validate(rl rules) *Error {
	return firstErr(rl.id("department", b.Department, true), rl.id("quota_class", b.QuotaClass, true),
		rl.text("ref", b.Ref, MaxTextLen), required("ref", b.Ref))
}

func (b *GrantApproval) apply(t *txn, ctx applyContext) *Error {
	if _, ok := t.departments.get(b.Department); !ok {
		return Errf(errcode.UnknownDepartment, "department", "unknown department %q", b.Department)
	}
	if !t.knownQuotaClass(b.QuotaClass) {
		return Errf(errcode.UnknownQuotaClass, "quota_class", "no catalog item or project quota uses quota class %q (known: %s)",
			b.QuotaClass, strings.Join(t.quotaClasses(), ", "))
	}
	if !b.Expires.IsZero() && b.Expires.Before(calendar.DateOf(ctx.recordedAt)) {
		return Errf(errcode.InvalidValue, "expires", "the approval would have expired on %s, before today %s", b.Expires, calendar.DateOf(ctx.recordedAt))
	}
	t.approvals.put(deptClass{b.Department, b.QuotaClass}, &Approval{Department: b.Department, QuotaClass: b.QuotaClass,
		Ceiling: b.Ceiling, Ref: b.Ref, Expires: b.Expires, Actor: ctx.actor, Time: ctx.recordedAt})
	return nil
}

func (b *RevokeApproval) apply(t *txn, ctx applyContext) *Error {
	a, ok := t.approvals.get(deptClass{b.Department, b.QuotaClass})
	if !ok {
		return Errf(errcode.UnknownApproval, "quota_class", "department %q has no approval for quota class %q", b.Department, b.QuotaClass)
	}
	if a.Ref != b.Ref {
		return Errf(errcode.UnknownApproval, "ref", "the approval of %s/%s in force is %q, not %q", b.Department, b.QuotaClass, a.Ref, b.Ref)
	}
	if a.Revoked() {
		return errUnchanged
	}
	n := *a
	n.RevokedBy, n.RevokedAt = ctx.actor, ctx.recordedAt
	t.approvals.put(deptClass{b.Department, b.QuotaClass}, &n)
	return nil
}

// Approval is a supervisor approval for a (department, quota class): allocations up to
// Ceiling may exceed 120 % of the quota.
type Approval struct {
	Department string          `json:"department"`
	QuotaClass string          `json:"quota_class"`
	Ceiling    decimal.Decimal `json:"ceiling"`
	Ref        string          `json:"ref"`
	Expires    calendar.Date   `json:"expires,omitzero"` // last day in force; zero: until revoked
	Actor      string          `json:"actor"`
	Time       time.Time       `json:"time"`
	RevokedBy  string          `json:"revoked_by,omitempty"`
	RevokedAt  time.Time       `json:"revoked_at,omitzero"`
}

// Revoked reports whether the approval was revoked.
func (a *Approval) Revoked() bool { return !a.RevokedAt.IsZero() }

// InForce reports whether the approval covers an operation at t: not revoked (a revoke
// ends it for every later line item) and not past its expiry.
func (a *Approval) InForce(at time.Time) bool {
	if a.Revoked() && !at.Before(a.RevokedAt) {
		return false
	}
	return a.Expires.IsZero() || !calendar.DateOf(at).After(a.Expires)
}

// Status is how an approval stands at t: active, expired or revoked.
func (a *Approval) Status(at time.Time) string {
	switch {
	case a.Revoked():
		return "revoked"
	case !a.InForce(at):
		return "expired"
	}
	return "active"
}

// knownQuotaClass reports whether a catalog item or a project quota names the class.
func (t *txn) knownQuotaClass(class string) bool { return slices.Contains(t.quotaClasses(), class) }

// quotaClasses lists the classes named by catalog items and project quotas, sorted.
func (t *txn) quotaClasses() []string {
	set := map[string]bool{}
	t.items.each(func(_ string, i *CatalogItem) {
		if i.QuotaClass != "" {
			set[i.QuotaClass] = true
		}
	})
	t.projects.each(func(_ string, p *Project) {
		for c := range p.Quotas {
			set[c] = true
		}
	})
	out := make([]string, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// Approvals lists every approval on the ledger (in force, expired or revoked), by
// department and class, with the ledger's clock to judge them by.
func (l *Ledger) Approvals() ([]Approval, time.Time) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []Approval
	l.root.approvals.each(func(_ deptClass, a *Approval) { out = append(out, *a) })
	slices.SortFunc(out, func(a, b Approval) int {
		return strings.Compare(a.Department+"\x00"+a.QuotaClass, b.Department+"\x00"+b.QuotaClass)
	})
	return out, l.root.clock
}
