// Package interchange decodes CloudLedger's interchange files (SPEC.md, "Interchange
// formats") into ledger commands: UTF-8 CSV with a header row, or JSON lines with the same
// field names, one file per kind (departments, providers, projects, catalog, events).
//
// It owns:
//   - the column sets of each kind and the header rules (every required column present, no
//     unknown or duplicate column, any order, an Excel BOM stripped);
//   - a streaming Decoder that yields one ledger.Command per row and a *RowError (file,
//     physical line, field, stable errcode.Code) per bad row, carrying on after each bad row
//     so that an import can list every problem of a file at once;
//   - the per-kind field parsers (ParseEvent, ParseDepartment, …) shared with the API server,
//     so that a value means the same thing in a CSV row, a JSON line and an RPC request;
//   - the idempotency keys of master-data rows ("<kind>:<fileID>:<line>"), so re-running an
//     import of the same file is a no-op and a corrected file applies.
//
// Every command it returns has passed ledger.ValidateCommand: whatever the ledger would refuse
// without looking at its state is reported at decode time. Rules that need the ledger's state
// (unknown references, quotas, closed periods) are the ledger's, not this package's.
//
// It must not hold a whole file in memory (event files may have millions of rows), read the
// clock, or talk to a server: it is pure input decoding. Every input is bounded (a record or
// line of at most MaxRecordBytes, decimals through ledger.ParseDecimal, echoes of user input
// in messages capped at MaxEcho characters).
package interchange
