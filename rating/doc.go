// Package rating turns the ledger into money (SPEC.md, Rating; RATING_DEFAULTS.md): catalog
// unit price × actual use × the provider's evaluation multiplier, per charge line (month,
// department, project, provider, item).
//
// Everything here is a pure function of ledger.View, which is the ledger as of one
// Raft index: no I/O, no clock, no floats. Every node and every rerun produces the same
// lines, byte for byte.
package rating
