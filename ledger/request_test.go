package ledger

import (
	"testing"
	"time"

	"github.com/cloudledger/cloudledger/errcode"
)

func (f *fixture) request(id string) ResourceRequest {
	f.t.Helper()
	r, ok := f.l.Request(id)
	if !ok {
		f.t.Fatalf("no request %s", id)
	}
	return r
}

// Issue 15, must show 2 (SH 19, 20): a request within the quota goes submitted → approved →
// fulfilled by the allocate that names it; a fulfilment that differs from the request, or of
// a request not approved, is refused; the same request submitted twice with one key is one.
func TestRequestLifecycle(t *testing.T) {
	f := newFixture(t)
	f.seed()
	open := &SubmitRequest{Kind: RequestOpen, ResourceKind: KindStandard, Department: "d1", Project: "prj1", Provider: "p1", Item: "ecs.vcpu", Quantity: dec("8"), Reason: "预算系统上线"}
	r := f.propose(Command{Key: "req-1", Body: open})
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if again := f.propose(Command{Key: "req-1", Body: open}); again.Err != nil || !again.Items[0].Duplicate {
		t.Fatalf("the same request again: %+v", again)
	}
	if n := len(f.l.Requests()); n != 1 {
		t.Fatalf("%d requests after submitting one twice", n)
	}
	req := f.request("REQ-000001")
	if req.State != RequestSubmitted || req.NeedsSupervisor {
		t.Fatalf("%+v", req)
	}
	fulfil := alloc("vm1", "ecs.vcpu", KindStandard, "8", time.Time{})
	fulfil.Request = req.ID
	f.reject(errcode.RequestState, fulfil) // not approved yet
	f.ok(&DecideRequest{ID: req.ID, Decision: DecisionApprove})
	wrong := alloc("vm1", "ecs.vcpu", KindStandard, "9", time.Time{})
	wrong.Request = req.ID
	f.reject(errcode.RequestMismatch, wrong)
	f.ok(fulfil)
	if got := f.request(req.ID); got.State != RequestFulfilled || got.Resource != "vm1" || len(got.Steps) != 3 {
		t.Fatalf("after the fulfilment: %+v", got)
	}
	f.reject(errcode.RequestState, &DecideRequest{ID: req.ID, Decision: DecisionCancel})

	// A rejected request cannot be fulfilled.
	f.ok(&SubmitRequest{Kind: RequestExpand, Department: "d1", Resource: "vm1", Quantity: dec("2")})
	f.reject(errcode.MissingField, &DecideRequest{ID: "REQ-000002", Decision: DecisionReject})
	f.ok(&DecideRequest{ID: "REQ-000002", Decision: DecisionReject, Reason: "配额不足"})
	exp := change(OpExpand, "vm1", "2", "2026-03-03T10:00:00+08:00")
	exp.Request = "REQ-000002"
	f.reject(errcode.RequestState, exp)
}

// SH 20: an expansion above 120 % of the department's quota needs the supervisor; the
// authority cannot approve it before, and the supervisor's agreement stands for the
// approval when it is fulfilled.
func TestExpansionAbove120NeedsTheSupervisor(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.ok(alloc("vm1", "ecs.vcpu", KindStandard, "150", time.Time{}))                                  // d1 vcpu quota 150: A = 150
	f.ok(&SubmitRequest{Kind: RequestExpand, Department: "d1", Resource: "vm1", Quantity: dec("40")}) // → 190 > 180
	req := f.request("REQ-000001")
	if !req.NeedsSupervisor {
		t.Fatal("an expansion to 127 % needs no supervisor")
	}
	f.reject(errcode.SupervisorRequired, &DecideRequest{ID: req.ID, Decision: DecisionApprove})
	f.ok(&DecideRequest{ID: req.ID, Decision: DecisionSupervise, Reason: "经信审〔2026〕3号"})
	f.ok(&DecideRequest{ID: req.ID, Decision: DecisionApprove})
	exp := change(OpExpand, "vm1", "40", "2026-03-04T10:00:00+08:00")
	f.reject(errcode.QuotaOverrun, exp) // without the request: the 20 % rule
	exp.Request = req.ID
	f.ok(exp)
	if r, _ := f.l.Resource("vm1"); !r.Quantity.Equal(dec("190")) {
		t.Fatalf("vm1 holds %s", r.Quantity)
	}
}

// Issue 15, must show 5: bad requests are refused with their code, nothing written.
func TestBadRequests(t *testing.T) {
	f := newFixture(t)
	f.seed()
	for _, c := range []struct {
		code Code
		body *SubmitRequest
	}{
		{errcode.UnknownProject, &SubmitRequest{Kind: RequestOpen, ResourceKind: KindStandard, Department: "d1", Project: "nope", Provider: "p1", Item: "ecs.vcpu", Quantity: dec("1")}},
		{errcode.UnknownItem, &SubmitRequest{Kind: RequestOpen, ResourceKind: KindStandard, Department: "d1", Project: "prj1", Provider: "p1", Item: "nope", Quantity: dec("1")}},
		{errcode.DevLimit, &SubmitRequest{Kind: RequestOpen, ResourceKind: KindDev, Department: "d1", Project: "prj1", Provider: "p1", Item: "ecs.vcpu", Quantity: dec("16"), Expires: endOf("2026-12-31")}},
		{errcode.ExpiryTooLong, &SubmitRequest{Kind: RequestTest, Department: "d1", Project: "prj1", Provider: "p1", Item: "ecs.vcpu", Quantity: dec("1"), Expires: endOf("2027-03-01")}},
		{errcode.ExpiryRequired, &SubmitRequest{Kind: RequestOpen, ResourceKind: KindTemporary, Department: "d1", Project: "prj1", Provider: "p1", Item: "ecs.vcpu", Quantity: dec("1")}},
		{errcode.UnknownResource, &SubmitRequest{Kind: RequestReclaim, Department: "d1", Resource: "nope"}},
		{errcode.InvalidValue, &SubmitRequest{Kind: "buy", Department: "d1"}},
	} {
		f.reject(c.code, c.body)
	}
	f.reject(errcode.UnknownRequest, &DecideRequest{ID: "REQ-000009", Decision: DecisionApprove})
}
