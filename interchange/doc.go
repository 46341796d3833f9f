// Package interchange reads CloudLedger's interchange files (SPEC.md, "Interchange formats"):
// UTF-8 CSV with a header row, or JSON lines with the same field names, one file per kind
// (departments, providers, projects, catalog, evaluations, events, and providers' invoices).
//
// It owns:
//   - the column sets of each kind and the header rules (every required column present, no
//     unknown or duplicate column, any order, an Excel BOM stripped), and the columns of the
//     files CloudLedger writes (charges, statements, reconciliation reports);
//   - a streaming Decoder that yields one API Command per row (the row's fields, trimmed, as
//     the API carries them) and a *RowError (file, physical line, field, stable
//     errcode.Code) per row it cannot read, carrying on after each bad row so that an import
//     can list every problem of a file at once;
//   - the idempotency keys of master-data rows ("<kind>:<fileID>:<line>"), so re-running an
//     import of the same file is a no-op and a corrected file applies.
//
// It does not interpret the fields: the ledger does (apimap), so that a value means the same
// thing in a CSV row, a JSON line, a Kafka record and an RPC request, and ledgerctl, which
// uses this package, does not link the state machine.
//
// It must not hold a whole file in memory (event files may have millions of rows), read the
// clock, or talk to a server: it is pure input decoding. Every input is bounded (a record or
// line of at most MaxRecordBytes, echoes of user input in messages capped at MaxEcho
// characters).
package interchange
