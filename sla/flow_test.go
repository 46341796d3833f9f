package sla

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/ledger"
)

// book is a ledger driven with an injected clock: every proposal carries the time the test
// sets, the only clock the ledger has.
type book struct {
	t     *testing.T
	l     *ledger.Ledger
	index uint64
	now   time.Time
	n     int
}

func newBook(t *testing.T) *book {
	l, err := ledger.Open(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return &book{t: t, l: l}
}

// at sets the clock to a Shanghai time "2026-09-29 10:00".
func (b *book) at(s string) *book {
	v, err := time.ParseInLocation("2006-01-02 15:04", s, calendar.Shanghai)
	if err != nil {
		b.t.Fatal(err)
	}
	b.now = v
	return b
}

func (b *book) ok(bodies ...ledger.Body) {
	b.t.Helper()
	for _, body := range bodies {
		b.apply(ledger.Command{Key: fmt.Sprintf("k%d", b.n), Body: body})
	}
}

func (b *book) apply(cmds ...ledger.Command) {
	b.t.Helper()
	b.n++
	for i := range cmds {
		if cmds[i].Key == "" {
			cmds[i].Key = fmt.Sprintf("k%d-%d", b.n, i)
		}
	}
	b.index++
	data := ledger.EncodeProposal(&ledger.Proposal{RecordedAt: b.now, Submissions: []ledger.Submission{{Actor: "test", Commands: cmds}}})
	res := b.l.ApplyBatch([]ledger.Entry{{Index: b.index, Data: data}})[0].(*ledger.ProposalResult)
	if res.Err != nil || res.Submissions[0].Err != nil {
		b.t.Fatalf("%s: %v %v", b.now.Format("2006-01-02"), res.Err, res.Submissions[0].Err)
	}
}

func (b *book) decide(id, decision, reason string) {
	b.ok(&ledger.DecideRequest{ID: id, Decision: decision, Reason: reason})
}

// fulfil writes the request's fulfilment as the provider's call does.
func (b *book) fulfil(id, resource string) {
	b.t.Helper()
	r, _ := b.l.ResourceRequest(id)
	cmds, err := r.Fulfilment(resource, b.now)
	if err != nil {
		b.t.Fatal(err)
	}
	b.apply(cmds...)
}

// due is the request's current step and its last day.
func (b *book) due(id string) string {
	r, _ := b.l.ResourceRequest(id)
	step, due, article, err := r.Due(b.l.Calendar())
	if err != nil {
		b.t.Fatal(err)
	}
	if step == "" {
		return string(r.State)
	}
	return step + " " + due.String() + " " + article
}

func (b *book) wantDue(id, want string) {
	b.t.Helper()
	if got := b.due(id); got != want {
		b.t.Fatalf("%s on %s: %q, want %q", id, b.now.Format("2006-01-02"), got, want)
	}
}

func qty(n int64) decimal.Decimal { return decimal.NewFromInt(n) }

// expiresEnd is an expiry given as a date: the end of that day.
func expiresEnd(y int, m time.Month, d int) time.Time {
	return calendar.NewDate(y, m, d).AddDays(1).Start()
}

// Issue 15, must shows 1 and 3: every request kind end to end, with the due date of each
// step computed across the 2026 Spring Festival (2/15–23 off, 2/14 and 2/28 worked) and
// National Day (10/1–7 off, 9/25–27 中秋, 9/20 and 10/10 worked), citing the article; the
// ledger's clock is injected; steps taken after their due day are late, steps open past it
// are overdue in the month's SLA report, checked against the months worked by hand.
func TestEveryKindAcrossHolidays(t *testing.T) {
	b := newBook(t).at("2026-02-02 09:00")
	b.ok(
		&ledger.SetDepartment{Department: ledger.Department{ID: "d1", Name: "市财政局", Funding: ledger.FundingBudget}},
		&ledger.SetProvider{Provider: ledger.Provider{ID: "p1", Name: "云商一", ContractStart: calendar.NewDate(2025, 1, 1), ContractEnd: calendar.NewDate(2027, 12, 31)}},
		&ledger.SetProjectQuota{Project: "prj1", Department: "d1", Name: "预算系统", QuotaClass: "vcpu", Quota: qty(200)},
		&ledger.SetCatalogPrice{Item: "ecs.vcpu", Name: "vCPU", Category: "IaaS", Unit: "核·月", Billing: ledger.BillingAllocation, QuotaClass: "vcpu",
			Proration: ledger.ProrationDaily, Price: qty(40), EffectiveFrom: calendar.NewDate(2025, 1, 1)},
		&ledger.Event{Op: ledger.OpAllocate, Time: b.now, Department: "d1", Project: "prj1", Provider: "p1", Resource: "vm1", Item: "ecs.vcpu", Kind: ledger.KindStandard, Quantity: qty(50)},
	)

	// REQ-000001 expand (SH 20), submitted Thursday 12 February: review due 2/13, 2/14
	// (worked Saturday), 2/24, 2/25, 2/26; approved 2/13; fulfilment due 2/14, 2/24, 2/25,
	// 2/26, 2/27; fulfilled Monday 3/2 — late.
	b.at("2026-02-12 10:00").ok(&ledger.SubmitRequest{Kind: ledger.RequestExpand, Department: "d1", Resource: "vm1", Quantity: qty(10)})
	b.wantDue("REQ-000001", "review 2026-02-26 SH 20")
	b.at("2026-02-13 09:00").decide("REQ-000001", ledger.DecisionApprove, "")
	b.wantDue("REQ-000001", "fulfil 2026-02-27 SH 20")
	// REQ-000002 reduce (SH 20), submitted Friday 13 February: review due 2/27; still open
	// at the end of February; rejected 3/3 — late.
	b.ok(&ledger.SubmitRequest{Kind: ledger.RequestReduce, Department: "d1", Resource: "vm1", Quantity: qty(5)})
	b.wantDue("REQ-000002", "review 2026-02-27 SH 20")

	b.at("2026-02-28 18:00").ok(&ledger.Tick{}) // the clock moves on: both are overdue now
	feb := report(t, b, 2026, 2)
	wantReport(t, feb, "authority 1 1 0 1|p1 0 0 0 1", "REQ-000001 fulfil p1 2026-02-27 open|REQ-000002 review authority 2026-02-27 open")

	b.at("2026-03-02 10:00").fulfil("REQ-000001", "")
	b.at("2026-03-03 10:00").decide("REQ-000002", ledger.DecisionReject, "缩容后不满足业务需要")
	b.wantDue("REQ-000002", "rejected")
	// February's report judged again later still shows what was open at its end.
	wantReport(t, report(t, b, 2026, 2), "authority 1 1 0 1|p1 0 0 0 1", "REQ-000001 fulfil p1 2026-02-27 open|REQ-000002 review authority 2026-02-27 open")
	wantReport(t, report(t, b, 2026, 3), "authority 1 0 1 0|p1 1 0 1 0", "REQ-000001 fulfil p1 2026-02-27 2026-03-02|REQ-000002 review authority 2026-02-27 2026-03-03")

	// Resources for the autumn: a temporary one (to extend) and one to reclaim.
	b.at("2026-09-01 09:00").ok(
		&ledger.Event{Op: ledger.OpAllocate, Time: b.now, Department: "d1", Project: "prj1", Provider: "p1", Resource: "tmp1", Item: "ecs.vcpu",
			Kind: ledger.KindTemporary, Quantity: qty(4), Expires: expiresEnd(2026, 12, 31)},
		&ledger.Event{Op: ledger.OpAllocate, Time: b.now, Department: "d1", Project: "prj1", Provider: "p1", Resource: "old1", Item: "ecs.vcpu", Kind: ledger.KindStandard, Quantity: qty(8)},
	)
	// REQ-000003 reclaim (SH 21), submitted Friday 25 September (中秋): review and reclaim
	// both within 10 working days of the submission: 9/28, 9/29, 9/30, 10/8, 10/9, 10/10,
	// 10/12, 10/13, 10/14, 10/15; approved 9/28; reclaimed 10/15 — on time.
	b.at("2026-09-25 10:00").ok(&ledger.SubmitRequest{Kind: ledger.RequestReclaim, Department: "d1", Resource: "old1"})
	b.wantDue("REQ-000003", "review 2026-10-15 SH 21")
	b.at("2026-09-28 10:00").decide("REQ-000003", ledger.DecisionApprove, "")
	b.wantDue("REQ-000003", "fulfil 2026-10-15 SH 21")
	// REQ-000004 test (SH 19), submitted Tuesday 29 September: reviewed and opened within 5
	// working days of the submission: 9/30, 10/8, 10/9, 10/10, 10/12.
	b.at("2026-09-29 10:00").ok(&ledger.SubmitRequest{Kind: ledger.RequestTest, Department: "d1", Project: "prj1", Provider: "p1", Item: "ecs.vcpu",
		Quantity: qty(2), Expires: expiresEnd(2026, 10, 28)})
	b.wantDue("REQ-000004", "review 2026-10-12 SH 19")
	// REQ-000005 open (SH 19), submitted Wednesday 30 September: review due 10/8, 10/9,
	// 10/10, 10/12, 10/13; approved 10/14 — late; opening due 2 working days later: 10/16.
	b.at("2026-09-30 10:00").ok(&ledger.SubmitRequest{Kind: ledger.RequestOpen, ResourceKind: ledger.KindStandard, Department: "d1", Project: "prj1",
		Provider: "p1", Item: "ecs.vcpu", Quantity: qty(4)})
	b.wantDue("REQ-000005", "review 2026-10-13 SH 19")
	// REQ-000006 extend (SH 23–24) of the temporary resource, asked 9/30 (more than 15
	// working days before 12/31): the supervisor first, due 10/13; agreed 10/8; review due
	// 10/9, 10/10, 10/12, 10/13, 10/14; approved 10/14; extension due 10/15, 10/16, 10/19,
	// 10/20, 10/21; done 10/22 — late.
	b.ok(&ledger.SubmitRequest{Kind: ledger.RequestExtend, Department: "d1", Resource: "tmp1", Expires: expiresEnd(2027, 3, 31)})
	b.wantDue("REQ-000006", "supervisor 2026-10-13 SH 23–24")

	b.at("2026-10-08 10:00").decide("REQ-000006", ledger.DecisionSupervise, "经信审〔2026〕9号")
	b.wantDue("REQ-000006", "review 2026-10-14 SH 23–24")
	b.at("2026-10-09 10:00").decide("REQ-000004", ledger.DecisionApprove, "")
	b.wantDue("REQ-000004", "fulfil 2026-10-12 SH 19")
	b.at("2026-10-12 10:00").fulfil("REQ-000004", "test1")
	// The test resource is open: the department verifies it within a month (SH 19).
	b.wantDue("REQ-000004", "verify 2026-11-12 SH 19")
	b.at("2026-10-14 10:00").decide("REQ-000005", ledger.DecisionApprove, "")
	b.decide("REQ-000006", ledger.DecisionApprove, "")
	b.wantDue("REQ-000005", "fulfil 2026-10-16 SH 19")
	b.wantDue("REQ-000006", "fulfil 2026-10-21 SH 23–24")
	b.at("2026-10-15 10:00").fulfil("REQ-000003", "")
	b.at("2026-10-16 10:00").fulfil("REQ-000005", "vm2")
	// The department confirms 10/20; the formal opening is due 2 working days later
	// (10/21, 10/22); done 10/23 — late. It reclaims the test resource and opens a
	// standard one in its place, in one request.
	b.at("2026-10-20 10:00").decide("REQ-000004", ledger.DecisionConfirm, "验证通过")
	b.wantDue("REQ-000004", "formal_open 2026-10-22 SH 19")
	b.at("2026-10-22 10:00").fulfil("REQ-000006", "")
	b.at("2026-10-23 10:00").fulfil("REQ-000004", "vm3")
	for id, want := range map[string]string{"REQ-000003": "fulfilled", "REQ-000004": "fulfilled", "REQ-000005": "fulfilled", "REQ-000006": "fulfilled"} {
		b.wantDue(id, want)
	}
	if r, _ := b.l.Resource("test1"); !r.Closed {
		t.Fatalf("the test resource is still open after the formal opening: %+v", r)
	}
	if r, _ := b.l.Resource("vm3"); r.Kind != ledger.KindStandard || !r.Quantity.Equal(qty(2)) || r.Closed {
		t.Fatalf("the formal resource: %+v", r)
	}
	if r, _ := b.l.Resource("tmp1"); !r.Expires.Equal(expiresEnd(2027, 3, 31)) {
		t.Fatalf("the extension: %+v", r)
	}

	// October by hand: authority — REQ-4 review 10/9 (due 10/12) on time, REQ-5 10/14 (due
	// 10/13) late, REQ-6 10/14 (due 10/14) on time; supervisor — REQ-6 10/8 (due 10/13) on
	// time; p1 — REQ-4 opening 10/12 (due 10/12) on time, REQ-3 10/15 (due 10/15) on time,
	// REQ-5 10/16 (due 10/16) on time, REQ-6 10/22 (due 10/21) late, REQ-4 formal opening
	// 10/23 (due 10/22) late. The department's verification is not a service level.
	b.at("2026-11-02 09:00").ok(&ledger.Tick{})
	wantReport(t, report(t, b, 2026, 10), "authority 3 2 1 0|p1 5 3 2 0|supervisor 1 1 0 0",
		"REQ-000005 review authority 2026-10-13 2026-10-14|REQ-000006 fulfil p1 2026-10-21 2026-10-22|REQ-000004 formal_open p1 2026-10-22 2026-10-23")
}

func report(t *testing.T, b *book, y int, m time.Month) *Report {
	t.Helper()
	rep, err := Build(b.l.ResourceRequests(), b.l.Calendar(), calendar.Month{Year: y, Month: m}, b.l.Clock())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// wantReport compares rows "party handled on_time late open" and the overdue list
// "request step party due done|open".
func wantReport(t *testing.T, rep *Report, rows, overdue string) {
	t.Helper()
	var got []string
	for _, r := range rep.Rows {
		got = append(got, fmt.Sprintf("%s %d %d %d %d", r.Party, r.Handled, r.OnTime, r.Late, r.Open))
	}
	if s := strings.Join(got, "|"); s != rows {
		t.Errorf("%s rows: %q, want %q", rep.Month, s, rows)
	}
	got = nil
	for _, o := range rep.Overdue {
		done := "open"
		if !o.Done.IsZero() {
			done = calendar.DateOf(o.Done).String()
		}
		got = append(got, fmt.Sprintf("%s %s %s %s %s", o.Request, o.Step, o.Party, o.Due, done))
	}
	if s := strings.Join(got, "|"); s != overdue {
		t.Errorf("%s overdue: %q, want %q", rep.Month, s, overdue)
	}
}
