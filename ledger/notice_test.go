package ledger

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloudledger/cloudledger/errcode"
)

// noticeLine is a notice as the tests compare it: kind, party, recipient, request, due.
func noticeLine(n Notice) string {
	due := ""
	if !n.Due.IsZero() {
		due = " due " + n.Due.String()
	}
	return fmt.Sprintf("%s %s %s→%s %s%s", n.ID, n.Kind, n.Party, n.Recipient, n.Request, due)
}

func noticeLines(ns []Notice) string {
	var b strings.Builder
	for _, n := range ns {
		b.WriteString(noticeLine(n) + "\n")
	}
	return b.String()
}

// Issue 15, Notices: the supervisor is told of a request waiting for it, the department of
// each decision and of the fulfilment, the provider of the approval; ids are dense and in
// apply order; a refused transition raises none.
func TestRequestTransitionsRaiseNotices(t *testing.T) {
	f := newFixture(t)
	f.now = at("2026-09-29T10:00:00+08:00") // Tuesday before National Day
	f.seed()
	f.ok(alloc("vm1", "ecs.vcpu", KindStandard, "150", time.Time{}))                                  // d1's vcpu quota: 150
	f.ok(&SubmitRequest{Kind: RequestExpand, Department: "d1", Resource: "vm1", Quantity: dec("40")}) // 127 %: the supervisor
	f.reject(errcode.SupervisorRequired, &DecideRequest{ID: "REQ-000001", Decision: DecisionApprove})
	f.now = at("2026-09-30T10:00:00+08:00")
	f.ok(&DecideRequest{ID: "REQ-000001", Decision: DecisionSupervise, Reason: "经信审〔2026〕3号"})
	f.now = at("2026-10-09T10:00:00+08:00")
	f.ok(&DecideRequest{ID: "REQ-000001", Decision: DecisionApprove})
	exp := change(OpExpand, "vm1", "40", "2026-10-10T10:00:00+08:00")
	exp.Request = "REQ-000001"
	f.now = at("2026-10-10T10:00:00+08:00")
	f.ok(exp)
	f.ok(&SubmitRequest{Kind: RequestReduce, Department: "d1", Resource: "vm1", Quantity: dec("10")}) // within quota: no one to tell yet
	f.ok(&DecideRequest{ID: "REQ-000002", Decision: DecisionReject, Reason: "无需缩容"})

	// Hand-worked dues: supervised 9/30 → review 5 working days from 9/30: 10/8, 10/9,
	// 10/10 (worked Saturday), 10/12, 10/13; approved 10/9 → fulfil 10/10, 10/12, 10/13,
	// 10/14, 10/15 (SH 20). The waiting notice's due is the supervisor's, 5 working days
	// from the submission on 9/29: 9/30, 10/8, 10/9, 10/10, 10/12.
	want := `NTC-00000001 request_waiting supervisor→ REQ-000001 due 2026-10-12
NTC-00000002 request_decided department→d1 REQ-000001 due 2026-10-13
NTC-00000003 request_decided department→d1 REQ-000001 due 2026-10-15
NTC-00000004 request_to_fulfil provider→p1 REQ-000001 due 2026-10-15
NTC-00000005 request_fulfilled department→d1 REQ-000001
NTC-00000006 request_decided department→d1 REQ-000002
`
	got := f.l.Notices(0, 0)
	if s := noticeLines(got); s != want {
		t.Fatalf("notices:\n%s\nwant:\n%s", s, want)
	}
	if got[5].Reason != "无需缩容" || got[5].State != RequestRejected || got[0].LineItem == 0 {
		t.Fatalf("the rejection notice: %+v", got[5])
	}
	if p := f.l.PendingNotices(0); len(p) != 6 {
		t.Fatalf("%d pending", len(p))
	}
}

// Issue 15, must show 4 (SH 21, 23–24): the department hears of a time-limited resource's
// expiry 20 working days before it and again on the last day to ask for an extension (15
// working days before), each once, on the right days across National Day.
func TestExpiryNoticesOnTheirWorkingDays(t *testing.T) {
	f := newFixture(t)
	f.now = at("2026-09-01T10:00:00+08:00")
	f.seed()
	tmp := &Event{Op: OpAllocate, Time: f.now, Department: "d1", Project: "prj1", Provider: "p1", Resource: "tmp1",
		Item: "ecs.vcpu", Kind: KindTemporary, Quantity: dec("4"), Expires: endOf("2026-10-30")}
	f.ok(tmp)
	// 20 working days before Friday 30 October, the day itself not counted: 10/29 … 10/12
	// (14), 10/10 (worked Saturday, 15), 10/9 (16), 10/8 (17), National Day 10/1–7 off,
	// 9/30 (18), 9/29 (19), 9/28 (20). 15 working days before: 10/10.
	for _, c := range []struct {
		now    string
		raises bool   // a tick then raises a notice (the leader's ExpiryNoticesDue)
		want   string // the notices after the tick
	}{
		{"2026-09-25T09:00:00+08:00", false, ""},
		{"2026-09-27T23:59:00+08:00", false, ""}, // Sunday (not worked here): still the day before
		{"2026-09-28T00:30:00+08:00", true, "expiry_ahead 2026-09-28"},
		{"2026-09-30T09:00:00+08:00", false, "expiry_ahead 2026-09-28"}, // once
		{"2026-10-09T17:00:00+08:00", false, "expiry_ahead 2026-09-28"},
		{"2026-10-10T08:00:00+08:00", true, "expiry_ahead 2026-09-28|extension_deadline 2026-10-10"},
		{"2026-10-29T08:00:00+08:00", false, "expiry_ahead 2026-09-28|extension_deadline 2026-10-10"},
	} {
		f.now = at(c.now)
		if due := f.l.ExpiryNoticesDue(f.now); due != c.raises {
			t.Errorf("%s: ExpiryNoticesDue %v, want %v", c.now, due, c.raises)
		}
		f.ok(&Tick{})
		var got []string
		for _, n := range f.l.Notices(0, 0) {
			if n.Kind == NoticeStatements {
				continue // the monthly announcement (utilisation_test.go)
			}
			if n.Resource != "tmp1" || n.Recipient != "d1" || n.Party != NoticeToDepartment {
				t.Fatalf("%+v", n)
			}
			got = append(got, string(n.Kind)+" "+n.Due.String())
		}
		if s := strings.Join(got, "|"); s != c.want {
			t.Fatalf("after a tick at %s: %q, want %q", c.now, s, c.want)
		}
	}
	// An extension asked in time moves the expiry: the notices come again for the new one.
	f.now = at("2026-10-10T09:00:00+08:00")
	f.ok(&Event{Op: OpExtend, Time: f.now, Resource: "tmp1", Expires: endOf("2027-01-29")})
	f.now = at("2026-10-12T09:00:00+08:00")
	f.ok(&Tick{})
	if n := len(expiryNotices(f.l.Notices(0, 0))); n != 2 {
		t.Fatalf("%d notices two days after an extension to January", n)
	}
}

// A resource opened too late for the 20-day notice gets only the extension deadline's; a
// proposal of an older version raises none (its replay must not change).
func TestExpiryNoticeLateAndOldVersions(t *testing.T) {
	f := newFixture(t)
	f.now = at("2026-10-12T10:00:00+08:00")
	f.seed()
	f.ok(&Event{Op: OpAllocate, Time: f.now, Department: "d1", Project: "prj1", Provider: "p1", Resource: "tmp2",
		Item: "ecs.vcpu", Kind: KindTemporary, Quantity: dec("1"), Expires: endOf("2026-10-30")})
	f.version = 3
	f.ok(&Tick{})
	if n := len(f.l.Notices(0, 0)); n != 0 {
		t.Fatalf("a version 3 tick raised %d notices", n)
	}
	f.version = 0
	f.ok(&Tick{})
	// Opened after the 20-day notice's day and after the extension deadline: only the latter.
	if s := noticeLines(expiryNotices(f.l.Notices(0, 0))); !strings.HasSuffix(s, "extension_deadline department→d1  due 2026-10-10\n") || strings.Count(s, "\n") != 1 {
		t.Fatalf("%s", s)
	}
}

// The leader's outcome is recorded once; a dead notice is replayed by an operator and is
// pending again under its own id; replaying a pending one is refused.
func TestNoticeOutcomeAndReplay(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.ok(&SubmitRequest{Kind: RequestOpen, ResourceKind: KindEmergency, Department: "d1", Project: "prj1", Provider: "p1",
		Item: "ecs.vcpu", Quantity: dec("2"), Expires: endOf("2026-12-20")})
	f.ok(&SubmitRequest{Kind: RequestOpen, ResourceKind: KindTemporary, Department: "d1", Project: "prj1", Provider: "p1",
		Item: "ecs.vcpu", Quantity: dec("2"), Expires: endOf("2026-12-20")})
	f.reject(errcode.NoticeState, &ReplayNotice{ID: "NTC-00000001"})
	f.reject(errcode.UnknownNotice, &ReplayNotice{ID: "NTC-00000009"})
	f.ok(&NoticeOutcome{ID: "NTC-00000001", Outcome: NoticeDelivered, At: f.now})
	f.ok(&NoticeOutcome{ID: "NTC-00000001", Outcome: NoticeDead, At: f.now, Error: "late"}) // unchanged: a deposed leader's
	f.ok(&NoticeOutcome{ID: "NTC-00000002", Outcome: NoticeDead, At: f.now, Error: "HTTP 500 ×8"})
	ns := f.l.Notices(0, 0)
	if ns[0].Delivery != NoticeDelivered || ns[1].Delivery != NoticeDead || ns[1].Error != "HTTP 500 ×8" {
		t.Fatalf("%+v", ns)
	}
	if p := f.l.PendingNotices(0); len(p) != 0 {
		t.Fatalf("pending: %+v", p)
	}
	f.ok(&ReplayNotice{ID: "NTC-00000002"})
	p := f.l.PendingNotices(0)
	if len(p) != 1 || p[0].ID != "NTC-00000002" || p[0].Replays != 1 {
		t.Fatalf("after the replay: %+v", p)
	}
}

// expiryNotices leaves out the monthly statements' announcements.
func expiryNotices(all []Notice) []Notice {
	var out []Notice
	for _, n := range all {
		if n.Kind != NoticeStatements {
			out = append(out, n)
		}
	}
	return out
}
