package sla

import (
	"strings"
	"testing"
	"time"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/ledger"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func steps(pairs ...string) []ledger.RequestStep {
	var out []ledger.RequestStep
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, ledger.RequestStep{State: ledger.RequestState(pairs[i]), At: at(pairs[i+1])})
	}
	return out
}

// Issue 15, must show 3: the SLA report of October 2026 against a month worked by hand
// (2026 calendar: 10/1–7 off, 10/10 a worked Saturday).
//
//	R1 expand p1: submitted 9/29, review due 10/12 (9/30, 10/8, 10/9, 10/10, 10/12); approved
//	   10/9 — on time; fulfil due 5 working days after 10/9: 10/10, 10/12, 10/13, 10/14,
//	   10/15; fulfilled 10/16 — late.
//	R2 open p2 (supervisor): submitted 10/8; supervisor due 10/14 (10/9, 10/10, 10/12,
//	   10/13, 10/14); supervised 10/13 — on time; review due 5 after 10/13 (10/14, 10/15,
//	   10/16, 10/19, 10/20); still open on 10/31 — open past due.
//	R3 reclaim p1: submitted 10/12, review due 10 working days later: 10/26; rejected 10/27
//	   — late.
//	R4 expand p2: submitted 9/15, approved 9/18 (September: not in October's figures);
//	   fulfil due 5 after 9/18 (9/20, a worked Sunday, 9/21, 9/22, 9/23, 9/24): fulfilled
//	   10/8 — late.
func TestOctoberByHand(t *testing.T) {
	cal := calendar.New(calendar.Builtin()...)
	reqs := []ledger.ResourceRequest{
		{ID: "R1", Kind: ledger.RequestExpand, Provider: "p1", Department: "d1", State: ledger.RequestFulfilled,
			Steps: steps("submitted", "2026-09-29T10:00:00+08:00", "approved", "2026-10-09T10:00:00+08:00", "fulfilled", "2026-10-16T10:00:00+08:00")},
		{ID: "R2", Kind: ledger.RequestOpen, Provider: "p2", Department: "d1", State: ledger.RequestSupervised, NeedsSupervisor: true,
			Steps: steps("submitted", "2026-10-08T10:00:00+08:00", "supervisor_approved", "2026-10-13T10:00:00+08:00")},
		{ID: "R3", Kind: ledger.RequestReclaim, Provider: "p1", Department: "d2", State: ledger.RequestRejected,
			Steps: steps("submitted", "2026-10-12T10:00:00+08:00", "rejected", "2026-10-27T10:00:00+08:00")},
		{ID: "R4", Kind: ledger.RequestExpand, Provider: "p2", Department: "d2", State: ledger.RequestFulfilled,
			Steps: steps("submitted", "2026-09-15T10:00:00+08:00", "approved", "2026-09-18T10:00:00+08:00", "fulfilled", "2026-10-08T10:00:00+08:00")},
	}
	rep, err := Build(reqs, cal, calendar.Month{Year: 2026, Month: 10}, at("2026-11-15T00:00:00+08:00"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Row{
		"authority":  {Party: "authority", Handled: 2, OnTime: 1, Late: 1, Open: 1}, // R1 on time, R3 late; R2 open past 10/20
		"supervisor": {Party: "supervisor", Handled: 1, OnTime: 1},                  // R2 on 10/13, due 10/14
		"p1":         {Party: "p1", Handled: 1, Late: 1},                            // R1 fulfilled 10/16, due 10/15
		"p2":         {Party: "p2", Handled: 1, Late: 1},                            // R4 fulfilled 10/8, due 9/24
	}
	if len(rep.Rows) != len(want) {
		t.Fatalf("rows %+v", rep.Rows)
	}
	for _, r := range rep.Rows {
		if r != want[r.Party] {
			t.Errorf("%s: %+v, want %+v", r.Party, r, want[r.Party])
		}
	}
	var late []string
	for _, o := range rep.Overdue {
		late = append(late, o.Request+"/"+o.Step+"/"+o.Due.String())
	}
	wantLate := "[R4/fulfil/2026-09-24 R1/fulfil/2026-10-15 R2/review/2026-10-20 R3/review/2026-10-26]"
	if got := "[" + strings.Join(late, " ") + "]"; got != wantLate {
		t.Errorf("overdue %s, want %s", got, wantLate)
	}
}
