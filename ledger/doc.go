// Package ledger is CloudLedger's domain and deterministic state machine: departments,
// providers, projects and their quotas, the priced catalog, resources and every line item
// operation on them, supervisor approvals, closed months and the working-day calendar in force.
//
// It owns the rules of SPEC.md (Ledger, Quota) and enforces them at apply time, the hash
// chain over line items, idempotency keys, and the bbolt store with snapshot/restore.
//
// Adding a command: one file here declaring its type number, its Body (fields, encode,
// decode, validate, apply) and one register call; a state it keeps is one entry of tables
// (tables.go). A command clients send is then its proto message and v1.Command field and
// one row of apimap.Catalog; one the server builds is named in apimap's list of internal
// commands. A new command comes with a new rules version (rulesversion.go).
//
// Words (a reader should never have to ask which is meant):
//   - Proposal: the body of one Raft entry, the leader's clock and the Submissions it carries
//     (group commit).
//   - Submission: what one client sent in one call — commands that apply all or none, under
//     one actor. (The API calls the call Submit.)
//   - Command: one change with its idempotency key and Body; a Body of a registered type.
//   - Line item: what a command that changes money or quota appends to the hash chain.
//   - ResourceRequest (申请): a department's request for resources, SH 19–24, and its steps;
//     the RPC RequestService.SubmitRequest files one.
//   - ResourceKind: standard, test, dev, emergency, temporary (a resource's kind);
//     interchange.FileKind: the kind of an imported file; console.ColumnKind: how a column
//     shows; NoticeKind and RequestKind: what a notice or a resource request is about.
//
// It must not import raftnode, net/http or anything that reads the clock: time arrives
// inside commands (the leader stamps a proposal with its clock), so applying the same log
// yields byte-identical state on every node.
package ledger
