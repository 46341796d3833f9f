package bench

import "testing"

// beforeWriteDoor is the commit before issue 23 (one write door, canonical bodies, the
// rules gate, the catalog).
const beforeWriteDoor = "1750eda"

// BenchmarkWriteDoorAgainstBefore is issue 23's must-show 7: the write loads of
// BenchmarkWrites (64 single-item writers; an import of 1,000 items a request) on a 3-node
// cluster of this tree's ledgerd and of the one before issue 23, in two rounds in opposite
// order (now, before, before, now) in one run; ratios of the rounds' sums. Target ≥ 0.95.
func BenchmarkWriteDoorAgainstBefore(b *testing.B) { writesAgainst(b, beforeWriteDoor) }
