package ledger

import (
	"github.com/cloudledger/cloudledger/errcode"
	"github.com/shopspring/decimal"
)

// TypeGrantApproval records a supervisor approval for (department, quota class).
const TypeGrantApproval CommandType = 6

func init() {
	register(TypeGrantApproval, "approval", writesLineItem, func() Body { return new(GrantApproval) })
}

// GrantApproval records a supervisor approval for (department, quota class).
type GrantApproval struct {
	Department string
	QuotaClass string
	Ceiling    decimal.Decimal
	Ref        string
}

func (*GrantApproval) Type() CommandType { return TypeGrantApproval }

func (b *GrantApproval) encode(e *encoder) {
	e.str(b.Department)
	e.str(b.QuotaClass)
	e.dec(b.Ceiling)
	e.str(b.Ref)
}

func (b *GrantApproval) decode(d *decoder) {
	b.Department = d.str(MaxIDLen)
	b.QuotaClass = d.str(MaxIDLen)
	b.Ceiling = d.dec()
	b.Ref = d.str(MaxTextLen)
}

func (b *GrantApproval) validate() *Error {
	return firstErr(id("department", b.Department, true), id("quota_class", b.QuotaClass, true),
		nonNegative("ceiling", b.Ceiling), text("ref", b.Ref, MaxTextLen), required("ref", b.Ref))
}

func (b *GrantApproval) apply(t *txn, ctx applyContext) *Error {
	if _, ok := t.departments.get(b.Department); !ok {
		return Errf(errcode.UnknownDepartment, "department", "unknown department %q", b.Department)
	}
	t.approvals.put(deptClass{b.Department, b.QuotaClass}, &Approval{Department: b.Department, QuotaClass: b.QuotaClass,
		Ceiling: b.Ceiling, Ref: b.Ref, Actor: ctx.actor, Time: ctx.recordedAt})
	return nil
}
