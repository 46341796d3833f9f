package ledger

import (
	"slices"
	"testing"
	"time"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
)

func (f *fixture) request(id string) ResourceRequest {
	f.t.Helper()
	r, ok := f.l.ResourceRequest(id)
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
	if n := len(f.l.ResourceRequests()); n != 1 {
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

// Issue 15, must show 1 (SH 19–21, SPEC.md's 2026 calendar): deadlines count working days of
// the official calendar across National Day (10/1–7 off, 9/20 and 10/10 worked) and the
// Spring Festival (2/15–23 off, 2/14 and 2/28 worked).
func TestRequestDeadlinesAcrossHolidays(t *testing.T) {
	cal := calendar.New(calendar.Builtin()...)
	at := func(s string) time.Time { return mustTime(t, s) }
	for _, c := range []struct {
		name string
		req  ResourceRequest
		step string
		due  string
	}{
		// Submitted Tuesday 29 September: 9/30, 10/8, 10/9, 10/10 (a worked Saturday), 10/12.
		{"expand review over National Day (SH 20)", ResourceRequest{Kind: RequestExpand, State: RequestSubmitted,
			Steps: []RequestStep{{State: RequestSubmitted, At: at("2026-09-29T10:00:00+08:00")}}}, "review", "2026-10-12"},
		// Approved Friday 13 February: 2/14 (a worked Saturday), then 2/24, 2/25, 2/26, 2/27.
		{"expand fulfilment over the Spring Festival (SH 20)", ResourceRequest{Kind: RequestExpand, State: RequestApproved,
			Steps: []RequestStep{{State: RequestSubmitted, At: at("2026-02-10T10:00:00+08:00")}, {State: RequestApproved, At: at("2026-02-13T16:00:00+08:00")}}}, "fulfil", "2026-02-27"},
		// A reclaim: 10 working days from the submission for both steps (SH 21). Friday 25
		// September is 中秋 (9/25–27 off): 9/28, 9/29, 9/30, 10/8, 10/9, 10/10, 10/12, 10/13, 10/14, 10/15.
		{"reclaim (SH 21)", ResourceRequest{Kind: RequestReclaim, State: RequestApproved,
			Steps: []RequestStep{{State: RequestSubmitted, At: at("2026-09-25T10:00:00+08:00")}, {State: RequestApproved, At: at("2026-09-28T10:00:00+08:00")}}}, "fulfil", "2026-10-15"},
		// Test resources: reviewed and opened within 5 working days of the submission (SH 19).
		{"test resource (SH 19)", ResourceRequest{Kind: RequestTest, State: RequestApproved,
			Steps: []RequestStep{{State: RequestSubmitted, At: at("2026-02-12T10:00:00+08:00")}, {State: RequestApproved, At: at("2026-02-13T10:00:00+08:00")}}}, "fulfil", "2026-02-26"},
		// Formal opening 2 working days after the approval (SH 19): Friday 9/18 → 9/20 (worked Sunday), 9/21.
		{"open (SH 19)", ResourceRequest{Kind: RequestOpen, State: RequestApproved,
			Steps: []RequestStep{{State: RequestSubmitted, At: at("2026-09-14T10:00:00+08:00")}, {State: RequestApproved, At: at("2026-09-18T10:00:00+08:00")}}}, "fulfil", "2026-09-21"},
		// Submitted Wednesday 30 September: 10/8, 10/9, 10/10, 10/12, 10/13.
		{"a supervisor's decision", ResourceRequest{Kind: RequestOpen, State: RequestSubmitted, NeedsSupervisor: true,
			Steps: []RequestStep{{State: RequestSubmitted, At: at("2026-09-30T10:00:00+08:00")}}}, "supervisor", "2026-10-13"},
	} {
		step, due, article, err := c.req.Due(cal)
		if err != nil || step != c.step || due.String() != c.due || article == "" {
			t.Errorf("%s: %s due %s (%s, %v), want %s due %s", c.name, step, due, article, err, c.step, c.due)
		}
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Issue 15, Deadlines: an authority loads its city's table (here XM 12: 5 working days to
// open virtual resources) from a day on; a request submitted from then keeps it, one
// submitted before keeps SH's; a table missing a step or naming an unknown one is refused.
func TestCityDeadlineTable(t *testing.T) {
	f := newFixture(t)
	f.now = at("2026-09-14T10:00:00+08:00")
	f.seed()
	open := &SubmitRequest{Kind: RequestOpen, ResourceKind: KindStandard, Department: "d1", Project: "prj1", Provider: "p1", Item: "ecs.vcpu", Quantity: dec("2")}
	f.ok(open) // REQ-000001 under SH
	xm := DeadlineTable{EffectiveFrom: day("2026-09-15"), Name: "XM 12"}
	for _, r := range ShanghaiDeadlines {
		if r.Kind == RequestOpen && r.Step == StepFulfil {
			r.WorkingDays, r.Article = 5, "XM 12"
		}
		xm.Rules = append(xm.Rules, r)
	}
	short := xm
	short.Rules = xm.Rules[1:]
	f.reject(errcode.MissingField, &SetDeadlineTable{short})
	bad := xm
	bad.Rules = append(slices.Clone(xm.Rules), DeadlineRule{Kind: RequestOpen, Step: StepVerify, Months: 1, Article: "x"})
	f.reject(errcode.UnknownDeadlines, &SetDeadlineTable{bad})
	f.ok(&SetDeadlineTable{xm})
	f.now = at("2026-09-15T10:00:00+08:00")
	f.ok(open) // REQ-000002 under XM
	for _, id := range []string{"REQ-000001", "REQ-000002"} {
		f.ok(&DecideRequest{ID: id, Decision: DecisionApprove})
	}
	// Approved Tuesday 9/15: SH's 2 working days → 9/17; XM's 5 → 9/16, 9/17, 9/18, 9/20
	// (worked Sunday), 9/21.
	cal := f.l.Calendar()
	for id, want := range map[string]string{"REQ-000001": "fulfil 2026-09-17 SH 19", "REQ-000002": "fulfil 2026-09-21 XM 12"} {
		r := f.request(id)
		step, due, article, err := r.Due(cal)
		if got := step + " " + due.String() + " " + article; err != nil || got != want {
			t.Errorf("%s: %q (%v), want %q", id, got, err, want)
		}
	}
	if r := f.request("REQ-000002"); r.DeadlineTable != "XM 12" {
		t.Fatalf("%+v", r)
	}
}
