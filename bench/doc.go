// Package bench holds CloudLedger's benchmarks (`make bench`): throughput and latency of a
// 3-node cluster through the real API with fsync on, and the same loads against a bare
// hashicorp/raft cluster with a no-op state machine, the baseline that shows what our layers
// cost.
package bench
