package ledger

import (
	"testing"
	"time"

	"github.com/cloudledger/cloudledger/errcode"
)

// Issue 12, item 2: an approval names a department and a quota class the ledger knows
// (SPEC.md, Quota: "a catalog item names the class it draws on").
func TestApprovalRefusesUnknownDepartmentAndClass(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.reject(errcode.UnknownQuotaClass, &GrantApproval{Department: "d1", QuotaClass: "vpcu", Ceiling: dec("200"), Ref: "r"})
	f.reject(errcode.UnknownDepartment, &GrantApproval{Department: "d9", QuotaClass: "vcpu", Ceiling: dec("200"), Ref: "r"})
	// storage_gb is used by a catalog item only (no project has a quota in it): known.
	f.ok(&GrantApproval{Department: "d1", QuotaClass: "storage_gb", Ceiling: dec("10"), Ref: "r"})
	if len(f.l.root.approvals.m) != 1 {
		t.Fatalf("%d approvals recorded, want 1", len(f.l.root.approvals.m))
	}
}

// Issue 12, item 2 (SPEC.md, Command line: approval revoke): a revoked approval no longer
// covers an overrun; the revoke must name the approval in force.
func TestApprovalRevoke(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.ok(&GrantApproval{Department: "d1", QuotaClass: "vcpu", Ceiling: dec("200"), Ref: "经信〔2026〕1号"})
	f.ok(alloc("vm1", "ecs.vcpu", KindStandard, "190", time.Time{})) // above 1.2 × 150 = 180
	if o := f.l.Overruns(); len(o) != 1 || o[0].Status != StatusApproved {
		t.Fatalf("overruns %+v, want approved", o)
	}
	f.reject(errcode.UnknownApproval, &RevokeApproval{Department: "d1", QuotaClass: "vcpu", Ref: "another"})
	f.reject(errcode.UnknownApproval, &RevokeApproval{Department: "d1", QuotaClass: "memory_gb", Ref: "经信〔2026〕1号"})
	f.ok(&RevokeApproval{Department: "d1", QuotaClass: "vcpu", Ref: "经信〔2026〕1号"})
	if r := f.propose(f.cmd(&RevokeApproval{Department: "d1", QuotaClass: "vcpu", Ref: "经信〔2026〕1号"})); r.Err != nil || !r.Items[0].Unchanged {
		t.Fatalf("a second revoke: %+v", r)
	}
	if o := f.l.Overruns(); len(o) != 1 || o[0].Status != StatusViolation || o[0].ApprovalRef != "" {
		t.Fatalf("overruns after the revoke %+v, want a violation with no approval", o)
	}
	// An operation dated after the revoke is refused; one dated while the approval was in
	// force (history arriving late) is still covered.
	f.reject(errcode.QuotaOverrun, change(OpExpand, "vm1", "1", "2026-11-21T09:00:00+08:00"))
	f.ok(change(OpExpand, "vm1", "1", "2026-03-04T09:00:00+08:00"))
	list, _ := f.l.Approvals()
	if len(list) != 1 || list[0].Status(f.now) != "revoked" || list[0].RevokedBy != "test" {
		t.Fatalf("approvals %+v", list)
	}
}

// Issue 12, item 2: an approval for a temporary need ends with its expiry date (in force
// through the end of that day, Asia/Shanghai).
func TestApprovalExpires(t *testing.T) {
	f := newFixture(t)
	f.now = at("2026-03-01T09:00:00+08:00")
	f.seed()
	f.ok(&GrantApproval{Department: "d1", QuotaClass: "vcpu", Ceiling: dec("300"), Ref: "临时", Expires: day("2026-03-31")})
	f.ok(alloc("vm1", "ecs.vcpu", KindStandard, "190", time.Time{}))
	f.ok(change(OpExpand, "vm1", "10", "2026-03-31T23:59:59+08:00"))
	f.reject(errcode.QuotaOverrun, change(OpExpand, "vm1", "10", "2026-04-01T00:00:00+08:00"))
	// The overrun report judges by the ledger's clock: approved in March, a violation after.
	if o := f.l.Overruns(); len(o) != 1 || o[0].Status != StatusApproved {
		t.Fatalf("overruns in March %+v", o)
	}
	f.now = at("2026-04-01T08:00:00+08:00")
	f.ok(&SetDepartment{Department{ID: "d3", Name: "新部门", Funding: FundingBudget}}) // moves the clock
	if o := f.l.Overruns(); len(o) != 1 || o[0].Status != StatusViolation {
		t.Fatalf("overruns in April %+v, want a violation", o)
	}
	// An expiry already past is refused.
	f.reject(errcode.InvalidValue, &GrantApproval{Department: "d1", QuotaClass: "vcpu", Ceiling: dec("300"), Ref: "迟", Expires: day("2026-03-31")})
}

// A grant without an expiry keeps the encoding grants had before approvals could expire,
// so their line items keep their hashes; one with an expiry round-trips.
func TestGrantApprovalEncoding(t *testing.T) {
	old := &GrantApproval{Department: "d1", QuotaClass: "vcpu", Ceiling: dec("200"), Ref: "r"}
	e := encoder{}
	e.str("d1")
	e.str("vcpu")
	e.dec(dec("200"))
	e.str("r")
	if got := EncodeBody(old); string(got[1:]) != string(e.b) {
		t.Fatalf("encoding changed: %x, want %x", got[1:], e.b)
	}
	withExpiry := &GrantApproval{Department: "d1", QuotaClass: "vcpu", Ceiling: dec("200"), Ref: "r", Expires: day("2026-12-31")}
	b, err := DecodeBody(EncodeBody(withExpiry))
	if err != nil || b.(*GrantApproval).Expires != withExpiry.Expires {
		t.Fatalf("round trip: %+v %v", b, err)
	}
}
