// Package server joins the ledger to raftnode and serves the Connect API: it turns RPCs into
// ledger commands and queries, checks the admin token, bounds request sizes, forwards writes
// and linearizable reads from followers to the leader, groups concurrent writes into one Raft
// entry, and drives the leader's clock (ticks that write due expiries).
package server
