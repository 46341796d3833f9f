// Package calendar owns China's official working-day calendar and the civil date
// types the rest of CloudLedger uses (SPEC.md, Ledger: working days).
//
// Working days follow the State Council General Office (国务院办公厅) holiday notices:
// Saturdays and Sundays are off, public holidays are off even on a weekday, and the
// adjusted working weekends (调休) announced with them are worked. The notices are
// published one year at a time, so a Calendar only answers for the years whose
// schedule it holds. A date in any other year is an error (ErrUnknownYear), never a
// weekends-only guess: a guess would silently misjudge every holiday of that year.
//
// Schedules use the community holiday-cn JSON layout. The years published when this
// release was built are embedded (Builtin); an operator loads a newly published year
// with `ledgerctl calendar load FILE.json`, which reaches this package as bytes for
// ParseYearSchedule.
//
// Days and months are Asia/Shanghai civil days and months. Shanghai is a fixed +08:00
// zone, which is exact for every date handled here (China has had no DST since 1991)
// and needs no tzdata in a FROM scratch image.
//
// The package is pure so that every Raft replica, and a ledger replayed from its log,
// computes the same answers: it must not read the clock or the file system, and its
// package-level variables never change after initialisation. It only parses bytes
// handed to it, plus the schedules embedded at build time.
package calendar
