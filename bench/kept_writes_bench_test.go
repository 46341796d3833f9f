package bench

import "testing"

// beforeKept is the last commit before the charges were kept current (rating.Kept, caught up
// every second on every node), issue 28.
const beforeKept = "c06c3ba"

// BenchmarkKeptWritesAgainstBefore: the write loads with the kept charges against the binary
// before them (ABBA, the rounds' sums).
func BenchmarkKeptWritesAgainstBefore(b *testing.B) { writesAgainst(b, beforeKept) }
