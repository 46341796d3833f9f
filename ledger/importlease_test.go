package ledger

import (
	"testing"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
)

// Issue 22: while an import holds a month, the month cannot be closed; a lease is refused
// for a month already closed (so nothing of the file is applied); a lease ends when
// released or after ImportLeaseTTL without renewal; another account cannot take it over.
func TestImportLeaseHoldsItsMonths(t *testing.T) {
	f := newFixture(t)
	f.now = at("2026-05-10T09:00:00+08:00")
	mar, apr := calendar.Month{Year: 2026, Month: 3}, calendar.Month{Year: 2026, Month: 4}
	f.asOK("importer", &ImportLease{ID: "imp-1", Months: []calendar.Month{mar, apr}})
	f.asRefused(errcode.ImportInProgress, "authority", &ClosePeriod{Month: apr})
	f.asRefused(errcode.PermissionDenied, "someone", &ImportLease{ID: "imp-1", Months: []calendar.Month{mar}, Release: true})
	f.asOK("authority", &ClosePeriod{Month: calendar.Month{Year: 2026, Month: 2}}) // not held
	f.asRefused(errcode.PeriodClosed, "importer", &ImportLease{ID: "imp-2", Months: []calendar.Month{calendar.Month{Year: 2026, Month: 2}, mar}})
	f.asRefused(errcode.InvalidValue, "importer", &ImportLease{ID: "imp-3", Months: []calendar.Month{apr, mar}})

	f.asOK("importer", &ImportLease{ID: "imp-1", Months: []calendar.Month{mar, apr}, Release: true})
	f.asOK("authority", &ClosePeriod{Month: apr})

	f.asOK("importer", &ImportLease{ID: "imp-4", Months: []calendar.Month{mar}})
	f.now = f.now.Add(ImportLeaseTTL - 1)
	f.asRefused(errcode.ImportInProgress, "authority", &ClosePeriod{Month: mar})
	f.now = f.now.Add(2) // not renewed: ended
	f.asOK("authority", &ClosePeriod{Month: mar})

	f.version = 4
	f.asRefused(errcode.Malformed, "importer", &ImportLease{ID: "imp-5"})
}
