// Package ledger is CloudLedger's domain and deterministic state machine: departments,
// providers, projects and their quotas, the priced catalog, resources and every line item
// operation on them, supervisor approvals, closed months and the working-day calendar in force.
//
// It owns the rules of SPEC.md (Ledger, Quota) and enforces them at apply time, the hash
// chain over line items, idempotency keys, and the bbolt store with snapshot/restore.
//
// Adding a command: one file here declaring its type number, its Body (fields, encode,
// decode, validate, apply) and one register call; a state it keeps is one entry of tables
// (tables.go). Then the proto message and its mapping in apimap/command.go. Nothing else.
//
// It must not import raftnode, net/http or anything that reads the clock: time arrives
// inside commands (the leader stamps a proposal with its clock), so applying the same log
// yields byte-identical state on every node.
package ledger
