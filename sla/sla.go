// Package sla builds the monthly service-level report of resource requests (issue 15): per
// provider and for the authority and the supervisor, the steps they took in the month on
// time and late, and the steps still open past their due day — an input to the providers'
// evaluation (SH 33–34). It is a pure function of the requests and the official calendar.
package sla

import (
	"sort"
	"time"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/ledger"
)

// Row is one party's month.
type Row struct {
	Party   string // "authority", "supervisor", or the provider's id
	Handled int    // steps taken in the month
	OnTime  int    // of which on or before their due day
	Late    int    // of which after it
	Open    int    // steps not taken by the end of the month (or asOf) and past due
}

// Overdue is one step late or open past its due day.
type Overdue struct {
	Request, Kind, Department, Step, Party string
	Due                                    calendar.Date
	Done                                   time.Time // zero: still open
}

// Report is the month.
type Report struct {
	Month   calendar.Month
	AsOf    time.Time // the ledger's clock: open steps are judged at min(end of month, AsOf)
	Rows    []Row
	Overdue []Overdue
}

// Build makes the report of month m as of the ledger's clock asOf.
func Build(reqs []ledger.ResourceRequest, cal *calendar.Calendar, m calendar.Month, asOf time.Time) (*Report, error) {
	end := m.Next().First() // the first day after the month
	judged := calendar.DateOf(asOf)
	if !judged.Before(end) {
		judged = end.AddDays(-1)
	}
	rows := map[string]*Row{}
	row := func(party string) *Row {
		if rows[party] == nil {
			rows[party] = &Row{Party: party}
		}
		return rows[party]
	}
	rep := &Report{Month: m, AsOf: asOf}
	for i := range reqs {
		r := &reqs[i]
		tl, err := r.Timeline(cal)
		if err != nil {
			return nil, err
		}
		for _, st := range tl {
			party := st.Party
			if party == ledger.PartyDepartment {
				continue // the department's verification is not a service level
			}
			if party == ledger.PartyProvider {
				party = r.Provider
			}
			if !st.Done.IsZero() && calendar.MonthOf(calendar.DateOf(st.Done)) == m {
				x := row(party)
				x.Handled++
				if calendar.DateOf(st.Done).After(st.Due) {
					x.Late++
					rep.Overdue = append(rep.Overdue, Overdue{Request: r.ID, Kind: string(r.Kind), Department: r.Department, Step: st.Step, Party: party, Due: st.Due, Done: st.Done})
				} else {
					x.OnTime++
				}
				continue
			}
			// Open and past its due day when the month is judged (its last day, or the
			// ledger's clock within the month) — also a step taken only after the month —;
			// a step open for months is in each of them.
			open := st.Done.IsZero() || !calendar.DateOf(st.Done).Before(end)
			if open && st.Due.Before(judged) && r.Steps[0].At.Before(end.Start()) {
				row(party).Open++
				rep.Overdue = append(rep.Overdue, Overdue{Request: r.ID, Kind: string(r.Kind), Department: r.Department, Step: st.Step, Party: party, Due: st.Due})
			}
		}
	}
	for _, x := range rows {
		rep.Rows = append(rep.Rows, *x)
	}
	sort.Slice(rep.Rows, func(i, j int) bool { return rep.Rows[i].Party < rep.Rows[j].Party })
	sort.Slice(rep.Overdue, func(i, j int) bool {
		a, b := rep.Overdue[i], rep.Overdue[j]
		if a.Due != b.Due {
			return a.Due.Before(b.Due)
		}
		return a.Request < b.Request
	})
	return rep, nil
}
