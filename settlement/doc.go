// Package settlement is the annual settlement of SPEC.md (Settlement) on top of rating: the
// settlement year's window and blockers (先审再付), the frozen figures an audit records, the
// budget export for the finance bureau, monthly statements and invoice reconciliation.
//
// Like rating it is pure: functions of ledger.View (the ledger as of one Raft index)
// and the working-day calendar, never the clock, so the same index gives the same bytes.
package settlement
