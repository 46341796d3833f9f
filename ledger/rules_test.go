package ledger

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloudledger/cloudledger/errcode"
)

// SPEC.md, Quota: "An allocate or expand that would make A > 1.2 × Q is rejected
// (quota_overrun_needs_approval) unless a supervisor approval for (D, C) with a ceiling ≥ the
// new A is on the ledger."
func TestQuotaTwentyPercentRule(t *testing.T) {
	f := newFixture(t)
	f.seed()
	// Q(d1, vcpu) = 100 + 50 = 150, so 1.2 × Q = 180: exactly 180 is allowed.
	f.ok(alloc("vm1", "ecs.vcpu", KindStandard, "180", time.Time{}))
	// 181 > 180 needs an approval.
	err := f.reject(errcode.QuotaOverrun, change(OpExpand, "vm1", "1", "2026-03-03T09:00:00+08:00"))
	if !strings.Contains(err.Message, "181") || err.Field != "quantity" {
		t.Fatalf("message should name the new allocation and field: %v", err)
	}
	// A new resource is refused the same way.
	f.reject(errcode.QuotaOverrun, alloc("vm2", "ecs.vcpu", KindStandard, "0.5", time.Time{}))
	// An approval with a ceiling ≥ the new A lets it through…
	f.ok(&GrantApproval{Department: "d1", QuotaClass: "vcpu", Ceiling: dec("200"), Ref: "经信〔2026〕1号"})
	f.ok(change(OpExpand, "vm1", "20", "2026-03-03T09:00:00+08:00")) // A = 200 = ceiling
	// …but not past its ceiling.
	f.reject(errcode.QuotaOverrun, change(OpExpand, "vm1", "0.01", "2026-03-03T10:00:00+08:00"))
	// Another department's quota is separate: d2 has Q = 10, 1.2 × Q = 12.
	f.ok(&Event{Op: OpAllocate, Time: at("2026-03-02T10:00:00+08:00"), Department: "d2", Project: "prj3", Provider: "p1",
		Resource: "vm-d2", Item: "ecs.vcpu", Kind: KindStandard, Quantity: dec("12")})
}

// SPEC.md, Quota: "Q = 0 means any allocation in C needs approval."
func TestQuotaZeroNeedsApproval(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.reject(errcode.QuotaOverrun, alloc("disk1", "disk.ssd", KindStandard, "1", time.Time{}))
	f.ok(&GrantApproval{Department: "d1", QuotaClass: "storage_gb", Ceiling: dec("500"), Ref: "批复"})
	f.ok(alloc("disk1", "disk.ssd", KindStandard, "500", time.Time{}))
	// Items with no quota class never touch a quota.
	f.ok(alloc("vpc1", "net.vpc", KindStandard, "1000", time.Time{}))
}

// SPEC.md, Quota: "A = … current quantities of D's open resources of kind standard, test or
// dev"; SPEC.md, Ledger: emergency and temporary are "not counted toward the 20 % rule".
func TestQuotaKindsCounted(t *testing.T) {
	f := newFixture(t)
	f.seed()
	exp := endOf("2026-04-01")
	f.ok(alloc("em1", "ecs.vcpu", KindEmergency, "1000", exp))
	f.ok(alloc("tmp1", "ecs.vcpu", KindTemporary, "1000", exp))
	f.ok(alloc("t1", "ecs.vcpu", KindTest, "100", exp))
	f.ok(alloc("dev1", "ecs.vcpu", KindDev, "15", exp))
	// test + dev = 115 count; 65 more reach 180.
	f.ok(alloc("vm1", "ecs.vcpu", KindStandard, "65", time.Time{}))
	f.reject(errcode.QuotaOverrun, alloc("vm2", "ecs.vcpu", KindStandard, "1", time.Time{}))
	// Reducing a counted resource frees room; reclaiming too.
	f.ok(change(OpReduce, "t1", "10", "2026-03-02T11:00:00+08:00"))
	f.ok(alloc("vm2", "ecs.vcpu", KindStandard, "10", time.Time{}))
	f.ok(change(OpReclaim, "vm2", "", "2026-03-02T12:00:00+08:00"))
	f.ok(alloc("vm3", "ecs.vcpu", KindStandard, "10", time.Time{}))
}

// SPEC.md, Quota: "A dev allocate/expand making the project's dev quantity in C exceed
// 0.15 × the project's quota in C is rejected (dev_limit_exceeded)."
func TestDevLimitFifteenPercent(t *testing.T) {
	f := newFixture(t)
	f.seed()
	exp := endOf("2026-05-01")
	// prj1 vcpu quota 100 → dev at most 15 (not 15 % of the department's 150).
	f.ok(alloc("dev1", "ecs.vcpu", KindDev, "10", exp))
	f.ok(alloc("dev2", "ecs.vcpu", KindDev, "5", exp))
	f.reject(errcode.DevLimit, change(OpExpand, "dev2", "0.001", "2026-03-02T11:00:00+08:00"))
	// The limit is per quota class: memory_gb quota 200 → 30.
	f.ok(alloc("devm", "ecs.memory", KindDev, "30", exp))
	f.reject(errcode.DevLimit, alloc("devm2", "ecs.memory", KindDev, "1", exp))
}

// SPEC.md, Ledger, resource kinds table: expiry required for test (≤ 30 days), dev and
// emergency (≤ 3 months), temporary (≤ 6 months); none for standard.
func TestResourceKindExpiryLimits(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.ok(&GrantApproval{Department: "d1", QuotaClass: "vcpu", Ceiling: dec("100000"), Ref: "r"})
	cases := []struct {
		name    string
		kind    ResourceKind
		expires time.Time
		want    Code // "" = accepted
	}{
		{"standard with expiry", KindStandard, endOf("2026-04-01"), errcode.ExpiryNotAllowed},
		{"test without expiry", KindTest, time.Time{}, errcode.ExpiryRequired},
		{"test 30 days", KindTest, endOf("2026-04-01"), ""}, // 2026-03-02 + 30 days = 2026-04-01
		{"test 31 days", KindTest, endOf("2026-04-02"), errcode.ExpiryTooLong},
		{"dev 3 months", KindDev, endOf("2026-06-02"), ""},
		{"dev 3 months + 1 day", KindDev, endOf("2026-06-03"), errcode.ExpiryTooLong},
		{"dev without expiry", KindDev, time.Time{}, errcode.ExpiryRequired},
		{"emergency 3 months", KindEmergency, endOf("2026-06-02"), ""},
		{"emergency past 3 months", KindEmergency, endOf("2026-06-03"), errcode.ExpiryTooLong},
		{"temporary 6 months", KindTemporary, endOf("2026-09-02"), ""},
		{"temporary past 6 months", KindTemporary, endOf("2026-09-03"), errcode.ExpiryTooLong},
		{"expiry before allocation", KindTest, at("2026-03-01T00:00:00+08:00"), errcode.InvalidValue},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			qty := "0.1" // dev stays under 15 % of 100
			e := alloc("r"+string(rune('a'+i)), "ecs.vcpu", c.kind, qty, c.expires)
			if c.want == "" {
				f.ok(e)
				return
			}
			f.reject(c.want, e)
		})
	}
}

func TestResourceLifecycleErrors(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.ok(alloc("vm1", "ecs.vcpu", KindStandard, "4", time.Time{}))
	// SPEC.md, Ledger: reduce changes quantity by a positive delta; below zero is refused.
	f.reject(errcode.BelowZero, change(OpReduce, "vm1", "5", "2026-03-03T00:00:00+08:00"))
	f.ok(change(OpReduce, "vm1", "4", "2026-03-03T00:00:00+08:00")) // exactly zero is fine
	f.reject(errcode.ResourceExists, alloc("vm1", "ecs.vcpu", KindStandard, "1", time.Time{}))
	f.reject(errcode.UnknownResource, change(OpExpand, "nope", "1", "2026-03-03T00:00:00+08:00"))
	f.reject(errcode.OutOfOrder, change(OpExpand, "vm1", "1", "2026-03-02T23:00:00+08:00"))
	// SPEC.md, Ledger: reclaim closes the resource; any later op on it is refused.
	f.ok(change(OpReclaim, "vm1", "", "2026-03-04T00:00:00+08:00"))
	for _, op := range []*Event{
		change(OpExpand, "vm1", "1", "2026-03-05T00:00:00+08:00"),
		change(OpReduce, "vm1", "1", "2026-03-05T00:00:00+08:00"),
		change(OpReclaim, "vm1", "", "2026-03-05T00:00:00+08:00"),
		{Op: OpExtend, Time: at("2026-03-05T00:00:00+08:00"), Resource: "vm1", Expires: endOf("2026-04-01")},
	} {
		f.reject(errcode.ResourceClosed, op)
	}
	r, _ := f.l.Resource("vm1")
	if !r.Closed || !r.Quantity.IsZero() {
		t.Fatalf("reclaimed resource: %+v", r)
	}
	// Reference errors.
	bad := alloc("vm9", "ecs.vcpu", KindStandard, "1", time.Time{})
	bad.Department = "dX"
	f.reject(errcode.UnknownDepartment, bad)
	bad = alloc("vm9", "ecs.vcpu", KindStandard, "1", time.Time{})
	bad.Project = "prj3" // belongs to d2
	f.reject(errcode.ProjectMismatch, bad)
	bad = alloc("vm9", "ecs.vcpu", KindStandard, "1", time.Time{})
	bad.Provider = "pX"
	f.reject(errcode.UnknownProvider, bad)
	bad = alloc("vm9", "nope.item", KindStandard, "1", time.Time{})
	f.reject(errcode.UnknownItem, bad)
	f.reject(errcode.BillingMismatch, alloc("vm9", "oss.egress", KindStandard, "1", time.Time{}))
	bad = alloc("vm9", "ecs.vcpu", KindStandard, "1", time.Time{})
	bad.Time = at("2028-01-01T00:00:00+08:00") // after the contract
	f.reject(errcode.ContractInactive, bad)
}

// SPEC.md, Ledger: usage "needs no prior allocate … repeated usage on one resource adds up".
func TestUsageAddsUp(t *testing.T) {
	f := newFixture(t)
	f.seed()
	u := func(qty string) *Event {
		return &Event{Op: OpUsage, Time: at("2026-03-02T10:00:00+08:00"), Department: "d1", Project: "prj1", Provider: "p1",
			Resource: "bucket1", Item: "oss.egress", Kind: KindStandard, Quantity: dec(qty)}
	}
	f.ok(u("10.5"))
	f.ok(u("2"))
	r, _ := f.l.Resource("bucket1")
	if !r.Quantity.Equal(dec("12.5")) {
		t.Fatalf("usage total %s, want 12.5", r.Quantity)
	}
	f.reject(errcode.BillingMismatch, change(OpExpand, "bucket1", "1", "2026-03-03T00:00:00+08:00"))
	other := u("1")
	other.Project = "prj2"
	f.reject(errcode.ResourceMismatch, other)
}

// SPEC.md, Ledger: "An extension (SH 23–24) is accepted only if requested at least 15
// working days before the current expiry … and moves the expiry by at most the kind's
// maximum duration."
func TestExtensionRules(t *testing.T) {
	f := newFixture(t)
	f.seed()
	// A temporary resource expiring at the end of 2026-10-12 (a Monday after National Day).
	e := alloc("tmp1", "ecs.vcpu", KindTemporary, "2", endOf("2026-10-12"))
	e.Time = at("2026-06-01T09:00:00+08:00")
	f.ok(e)
	// Working days before 2026-10-12, the expiry day not counted: 10/11 Sun off; 10/10 (Sat,
	// adjusted working day)=1, 10/9=2, 10/8=3; 10/1–7 off (国庆); 9/30=4, 9/29=5, 9/28=6;
	// 9/25–27 off (中秋); 9/24=7, 9/23=8, 9/22=9, 9/21=10, 9/20 (Sun, adjusted)=11; 9/19 Sat
	// off; 9/18=12, 9/17=13, 9/16=14, 9/15=15. Deadline: 2026-09-15.
	ext := func(requested, expires string) *Event {
		return &Event{Op: OpExtend, Time: at(requested), Resource: "tmp1", Expires: endOf(expires)}
	}
	err := f.reject(errcode.ExtensionTooLate, ext("2026-09-16T09:00:00+08:00", "2026-12-01"))
	if !strings.Contains(err.Message, "2026-09-15") {
		t.Fatalf("the error should name the deadline 2026-09-15: %v", err)
	}
	// Temporary: at most 6 months past the current expiry day: 2027-04-12.
	f.reject(errcode.ExtensionTooLong, ext("2026-09-15T18:00:00+08:00", "2027-04-13"))
	f.ok(ext("2026-09-15T18:00:00+08:00", "2026-12-31"))
	r, _ := f.l.Resource("tmp1")
	if !r.Expires.Equal(endOf("2026-12-31")) {
		t.Fatalf("expiry now %s", r.Expires)
	}
	// Standard resources have nothing to extend.
	f.ok(alloc("vm1", "ecs.vcpu", KindStandard, "1", time.Time{}))
	f.reject(errcode.NotTimeLimited, &Event{Op: OpExtend, Time: at("2026-03-03T00:00:00+08:00"), Resource: "vm1", Expires: endOf("2026-12-01")})
	// A year with no official schedule is an error, not a weekends-only guess.
	late := alloc("tmp2", "ecs.vcpu", KindTemporary, "1", endOf("2027-01-20"))
	late.Time = at("2026-12-01T00:00:00+08:00")
	f.ok(late)
	f.reject(errcode.CalendarUnknown, &Event{Op: OpExtend, Time: at("2026-12-02T00:00:00+08:00"), Resource: "tmp2", Expires: endOf("2027-02-20")})
}

// SPEC.md, Ledger: "expire: written by the system when a time-limited resource passes its
// expiry … Its effective time is the expiry itself, whenever the item is written."
func TestTickWritesExpireAtExpiry(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.ok(alloc("t1", "ecs.vcpu", KindTest, "100", endOf("2026-03-10")))
	f.ok(alloc("vm1", "ecs.vcpu", KindStandard, "80", time.Time{})) // A = 180
	// The ledger clock is long past the expiry when the tick comes: the item is still dated at it.
	f.now = at("2026-11-20T12:00:00+08:00")
	before := f.l.Head().Seq
	f.propose(Command{Body: &Tick{}})
	if got := f.l.Head().Seq; got != before+1 {
		t.Fatalf("tick wrote %d items, want 1", got-before)
	}
	r, _ := f.l.Resource("t1")
	if !r.Closed || !r.Quantity.IsZero() {
		t.Fatalf("expired resource still open: %+v", r)
	}
	li, ok := f.l.LineItemByKey("", "expire/t1")
	if !ok {
		t.Fatal("no expire line item")
	}
	ev := li.Body.(*Event)
	if ev.Op != OpExpire || !ev.Time.Equal(endOf("2026-03-10")) || !ev.Quantity.Equal(dec("100")) {
		t.Fatalf("expire item %+v", ev)
	}
	// The quota room came back; an op dated after the expiry is refused (one dated before
	// it is late history: TestLateHistoryAfterTheExpireIsWritten).
	f.ok(alloc("vm2", "ecs.vcpu", KindStandard, "100", time.Time{}))
	f.reject(errcode.ResourceExpired, change(OpReduce, "t1", "1", "2026-03-11T00:00:00+08:00"))
	// A second tick has nothing to do.
	f.propose(Command{Body: &Tick{}})
	if f.l.Head().Seq != before+2 {
		t.Fatal("a second tick wrote something")
	}
}

// An operation dated at or after the expiry is refused even before the tick has run.
func TestOpAfterExpiryRefused(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.ok(alloc("t1", "ecs.vcpu", KindTest, "1", endOf("2026-03-10")))
	f.reject(errcode.ResourceExpired, change(OpExpand, "t1", "1", "2026-03-11T00:00:00+08:00"))
}

// SPEC.md, Settlement: "line items dated in a closed month are rejected (period_closed)".
func TestClosedMonth(t *testing.T) {
	f := newFixture(t)
	f.now = at("2026-03-01T00:00:00+08:00") // the ledger's clock moves forward only
	f.seed()
	f.ok(alloc("t1", "ecs.vcpu", KindTest, "1", endOf("2026-03-20")))
	f.now = at("2026-03-31T23:00:00+08:00")
	f.reject(errcode.PeriodNotEnded, &ClosePeriod{Month: month("2026-03")})
	f.now = at("2026-04-01T00:00:00+08:00")
	seq := f.l.Head().Seq
	f.ok(&ClosePeriod{Month: month("2026-03")})
	// Closing wrote the month's due expiry first, then the close itself.
	if got := f.l.Head().Seq - seq; got != 2 {
		t.Fatalf("close wrote %d items, want 2 (expire + close)", got)
	}
	if !f.l.IsMonthClosed(month("2026-03")) {
		t.Fatal("month not closed")
	}
	f.reject(errcode.PeriodClosed, alloc("vm1", "ecs.vcpu", KindStandard, "1", time.Time{}))
	late := alloc("vm1", "ecs.vcpu", KindStandard, "1", time.Time{})
	late.Time = at("2026-04-01T00:00:00+08:00")
	f.ok(late) // corrections go into an open month
	// A price change effective inside a closed month would alter it.
	p := catalog("ecs.vcpu", BillingAllocation, "vcpu", "41")
	p.EffectiveFrom = day("2026-03-15")
	f.reject(errcode.PeriodClosed, p)
	// Closing again restates the ledger: nothing written.
	if items := f.ok(&ClosePeriod{Month: month("2026-03")}); !items[0].Unchanged {
		t.Fatalf("second close: %+v", items)
	}
}

func TestMasterDataRules(t *testing.T) {
	f := newFixture(t)
	f.seed()
	// Restating a department changes nothing and writes nothing.
	seq := f.l.Head().Seq
	if items := f.ok(&SetDepartment{Department{ID: "d1", Name: "财政局", Funding: FundingBudget}}); !items[0].Unchanged || f.l.Head().Seq != seq {
		t.Fatalf("restated department wrote something: %+v", items)
	}
	f.reject(errcode.UnknownDepartment, &SetDepartment{Department{ID: "d3", Name: "x", Parent: "dX", Funding: FundingBudget}})
	f.reject(errcode.ProjectMismatch, &SetProjectQuota{Project: "prj1", Department: "d2", Name: "x", QuotaClass: "vcpu", Quota: dec("1")})
	f.reject(errcode.UnknownDepartment, &SetProjectQuota{Project: "prjX", Department: "dX", Name: "x", QuotaClass: "vcpu", Quota: dec("1")})
	f.reject(errcode.CatalogConflict, catalog("ecs.vcpu", BillingMetered, "vcpu", "40"))
	f.reject(errcode.UnknownProvider, &SetCatalogPrice{Item: "ecs.vcpu", Name: "ecs.vcpu", Category: "IaaS", Unit: "unit", Billing: BillingAllocation,
		QuotaClass: "vcpu", Proration: ProrationDaily, Price: dec("30"), Provider: "pX", EffectiveFrom: day("2026-01-01")})
	// A provider's own price is a separate version of the item.
	f.ok(&SetCatalogPrice{Item: "ecs.vcpu", Name: "ecs.vcpu", Category: "IaaS", Unit: "unit", Billing: BillingAllocation,
		QuotaClass: "vcpu", Proration: ProrationDaily, Price: dec("30"), Provider: "p1", EffectiveFrom: day("2026-01-01")})
	f.l.mu.RLock()
	item, _ := f.l.root.items.get("ecs.vcpu")
	f.l.mu.RUnlock()
	if len(item.Prices) != 2 || item.Prices[0].Provider != "" || item.Prices[1].Provider != "p1" {
		t.Fatalf("prices %+v", item.Prices)
	}
}

// SPEC.md, Ledger: "a repeated key with the same content is a no-op that returns the
// original; with different content it is an error".
func TestIdempotencyKeys(t *testing.T) {
	f := newFixture(t)
	f.seed()
	e := alloc("vm1", "ecs.vcpu", KindStandard, "4", time.Time{})
	first := f.propose(Command{Key: "evt-1", Body: e})
	if first.Err != nil {
		t.Fatal(first.Err)
	}
	d := f.digest()
	// Same key, same content (1.50 and 1.5 are the same quantity): the original, nothing new.
	again := f.propose(Command{Key: "evt-1", Body: alloc("vm1", "ecs.vcpu", KindStandard, "4.000", time.Time{})})
	if again.Err != nil || !again.Items[0].Duplicate || again.Items[0].Seq != first.Items[0].Seq {
		t.Fatalf("retry: %+v %v", again.Items, again.Err)
	}
	if f.digest() != d {
		t.Fatal("a duplicate changed the ledger")
	}
	// Same key, other content: an error, nothing applied.
	r := f.propose(Command{Key: "evt-1", Body: alloc("vm1", "ecs.vcpu", KindStandard, "5", time.Time{})})
	if r.Err == nil || r.Err.Code != errcode.IdempotencyConflict || f.digest() != d {
		t.Fatalf("conflict: %v", r.Err)
	}
	// Keys survive a flush and a restart: the stored line items carry them, and the index
	// is rebuilt from them.
	f.l.Flush()
	if again = f.propose(Command{Key: "evt-1", Body: e}); again.Err != nil || !again.Items[0].Duplicate {
		t.Fatalf("after a flush: %+v %v", again.Items, again.Err)
	}
	f.reopen()
	again = f.propose(Command{Key: "evt-1", Body: e})
	if again.Err != nil || !again.Items[0].Duplicate || again.Items[0].Seq != first.Items[0].Seq {
		t.Fatalf("after restart: %+v %v", again.Items, again.Err)
	}
	if r := f.propose(Command{Key: "evt-1", Body: alloc("vm1", "ecs.vcpu", KindStandard, "5", time.Time{})}); r.Err == nil || r.Err.Code != errcode.IdempotencyConflict {
		t.Fatalf("conflict after restart: %v", r.Err)
	}
	// A key repeated inside one request: the second is a duplicate of the first.
	r = f.propose(Command{Key: "evt-2", Body: alloc("vm2", "ecs.vcpu", KindStandard, "1", time.Time{})},
		Command{Key: "evt-2", Body: alloc("vm2", "ecs.vcpu", KindStandard, "1", time.Time{})})
	if r.Err != nil || !r.Items[1].Duplicate {
		t.Fatalf("in-request repeat: %+v %v", r.Items, r.Err)
	}
	// A missing key is refused.
	r = f.propose(Command{Body: alloc("vm3", "ecs.vcpu", KindStandard, "1", time.Time{})})
	if r.Err == nil || r.Err.Code != errcode.MissingField || r.Err.Field != "key" {
		t.Fatalf("missing key: %v", r.Err)
	}
}

// Nothing of a rejected request is half-applied: a request is atomic.
func TestRequestIsAtomic(t *testing.T) {
	f := newFixture(t)
	f.seed()
	err := f.reject(errcode.BelowZero,
		alloc("vm1", "ecs.vcpu", KindStandard, "4", time.Time{}),
		change(OpReduce, "vm1", "5", "2026-03-02T11:00:00+08:00"))
	if err.Index != 1 {
		t.Fatalf("failing command index %d, want 1", err.Index)
	}
	if _, ok := f.l.Resource("vm1"); ok {
		t.Fatal("the first command of a rejected request was applied")
	}
}

// SPEC.md, Quota: the overrun report's statuses.
func TestOverrunReport(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.ok(alloc("vm1", "ecs.vcpu", KindStandard, "170", time.Time{})) // d1 vcpu: 170 / 150
	f.ok(&GrantApproval{Department: "d1", QuotaClass: "memory_gb", Ceiling: dec("300"), Ref: "批复1"})
	f.ok(alloc("m1", "ecs.memory", KindStandard, "300", time.Time{})) // d1 memory: 300 / 200, approved
	e := &Event{Op: OpAllocate, Time: at("2026-03-02T10:00:00+08:00"), Department: "d2", Project: "prj3", Provider: "p1",
		Resource: "vm-d2", Item: "ecs.vcpu", Kind: KindStandard, Quantity: dec("12")}
	f.ok(e)
	// The quota is lowered afterwards: 12 / 5 is a violation.
	f.ok(&SetProjectQuota{Project: "prj3", Department: "d2", Name: "自建", QuotaClass: "vcpu", Quota: dec("5")})
	rows := f.l.Overruns()
	want := []struct {
		dept, class, q, a, ratio string
		status                   OverrunStatus
	}{
		{"d1", "memory_gb", "200", "300", "1.5", StatusApproved},
		{"d1", "vcpu", "150", "170", "1.1333", StatusOver},
		{"d2", "vcpu", "5", "12", "2.4", StatusViolation},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows %+v", rows)
	}
	for i, w := range want {
		r := rows[i]
		if r.Department != w.dept || r.QuotaClass != w.class || !r.Quota.Equal(dec(w.q)) || !r.Allocated.Equal(dec(w.a)) ||
			!r.Ratio.Equal(dec(w.ratio)) || r.Status != w.status {
			t.Errorf("row %d: got %+v, want %+v", i, r, w)
		}
	}
}

func month(s string) calendarMonth {
	m, err := parseMonth(s)
	if err != nil {
		panic(err)
	}
	return m
}

// Issue 12, item 1 (SPEC.md, Ledger: an expire "is effective at the expiry itself, so a
// ledger fed history in bulk rates exactly like one that lived through it"): an operation
// dated before a resource's expiry is accepted after the tick wrote the expire, while its
// month is open; version 2's entries keep refusing it, so old logs replay as they did.
func TestLateHistoryAfterTheExpireIsWritten(t *testing.T) {
	for _, version := range []uint8{2, proposalVersion} {
		f := newFixture(t)
		f.version = version
		f.seed()
		f.ok(alloc("t1", "ecs.vcpu", KindTest, "100", endOf("2026-03-20")))
		f.now = at("2026-11-20T12:00:00+08:00") // a restarted node or a new leader ticks at once
		f.propose(Command{Body: &Tick{}})
		if _, ok := f.l.LineItemByKey("", "expire/t1"); !ok {
			t.Fatal("no expire line item")
		}
		late := change(OpReduce, "t1", "30", "2026-03-09T10:00:00+08:00")
		if version == 2 {
			f.reject(errcode.ResourceClosed, late)
			continue
		}
		f.ok(late)
		r, _ := f.l.Resource("t1")
		if !r.Closed || !r.Expired || !r.HeldAtExpiry.Equal(dec("70")) || !r.Quantity.IsZero() {
			t.Fatalf("after the late reduce: %+v", r)
		}
		f.reject(errcode.BelowZero, change(OpReduce, "t1", "71", "2026-03-10T10:00:00+08:00"))
		f.reject(errcode.OutOfOrder, change(OpReduce, "t1", "1", "2026-03-08T10:00:00+08:00"))
		f.reject(errcode.ResourceExpired, change(OpReduce, "t1", "1", "2026-03-21T00:00:00+08:00"))
		// Rating reads the operations by effective time: the late reduce before the expire.
		v, err := f.l.View(ViewFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var ops []Op
		for _, h := range v.Resources {
			if h.ID == "t1" {
				for _, op := range h.Ops {
					ops = append(ops, op.Op)
				}
			}
		}
		if fmt.Sprint(ops) != "[allocate reduce expire]" {
			t.Fatalf("t1's operations in rating order: %v", ops)
		}
		// A late reclaim ends it for good.
		f.ok(&Event{Op: OpReclaim, Time: at("2026-03-12T10:00:00+08:00"), Resource: "t1"})
		f.reject(errcode.ResourceClosed, change(OpReduce, "t1", "1", "2026-03-13T10:00:00+08:00"))
	}
}

// A late extension (asked in time, delivered after the expire was written) re-opens the
// resource; the earlier expire no longer counts and the next tick writes the new one.
func TestLateExtensionReopens(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.ok(alloc("tmp", "ecs.vcpu", KindTemporary, "10", endOf("2026-05-31")))
	f.now = at("2026-11-20T12:00:00+08:00")
	f.propose(Command{Body: &Tick{}})
	f.ok(&Event{Op: OpExtend, Time: at("2026-04-01T10:00:00+08:00"), Resource: "tmp", Expires: endOf("2026-07-31")})
	r, _ := f.l.Resource("tmp")
	if r.Closed || !r.Quantity.Equal(dec("10")) || !r.Expires.Equal(endOf("2026-07-31")) {
		t.Fatalf("after the late extension: %+v", r)
	}
	f.propose(Command{Body: &Tick{}})
	if _, ok := f.l.LineItemByKey("", "expire/tmp/"+endOf("2026-07-31").UTC().Format(time.RFC3339)); !ok {
		t.Fatal("no second expire line item")
	}
	v, _ := f.l.View(ViewFilter{})
	for _, h := range v.Resources {
		if h.ID == "tmp" {
			if len(h.Ops) != 2 || h.Ops[1].Op != OpExpire || !h.Ops[1].Time.Equal(endOf("2026-07-31")) {
				t.Fatalf("tmp's operations: %+v (the first expire must be void)", h.Ops)
			}
		}
	}
}

// Issue 13, must show 5 (the ledger's half): a proposal stamped earlier than the ledger's
// clock — a new leader whose clock is an hour behind — gets the ledger's clock, so line
// items' times never go back and an expiry tick sees no earlier "now"; the tick neither
// fires early nor twice.
func TestRecordedAtNeverGoesBack(t *testing.T) {
	f := newFixture(t)
	f.now = at("2026-03-01T00:00:00+08:00")
	f.seed()
	f.now = at("2026-03-05T12:00:00+08:00")
	f.ok(alloc("t1", "ecs.vcpu", KindTest, "10", endOf("2026-03-05"))) // expires 2026-03-06 00:00
	before := f.l.Head()
	f.now = at("2026-03-05T11:00:00+08:00") // the clock jumped back an hour
	f.ok(alloc("vm9", "ecs.vcpu", KindStandard, "1", time.Time{}))
	var last time.Time
	f.l.LineItems(before.Seq, func(li *LineItem) bool {
		if li.RecordedAt.Before(last) {
			t.Fatalf("line item %d recorded at %s, after one at %s", li.Seq, li.RecordedAt, last)
		}
		last = li.RecordedAt
		return true
	})
	if !last.Equal(at("2026-03-05T12:00:00+08:00")) {
		t.Fatalf("the behind proposal's line item is stamped %s, want the ledger's clock 12:00", last)
	}
	f.propose(Command{Body: &Tick{}}) // behind: 11:00 < the expiry; nothing due
	if _, ok := f.l.LineItemByKey("", "expire/t1"); ok {
		t.Fatal("the tick fired before the expiry")
	}
	f.now = at("2026-03-06T00:00:01+08:00")
	f.propose(Command{Body: &Tick{}})
	f.now = at("2026-03-05T23:00:00+08:00") // and back again
	f.propose(Command{Body: &Tick{}})
	n := 0
	f.l.LineItems(1, func(li *LineItem) bool {
		if ev, ok := li.Body.(*Event); ok && ev.Op == OpExpire {
			n++
		}
		return true
	})
	if n != 1 {
		t.Fatalf("%d expire line items, want 1", n)
	}
}
