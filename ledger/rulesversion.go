package ledger

import "fmt"

// Rules versions and rolling upgrades (issue 23). Every proposal names the rules version it
// was written under (its first byte); a node applies the versions up to MaxRulesVersion and
// no further. An entry of a newer version stops the node with InvRulesVersionKnown — it is
// not skipped: skipping would let an old follower's state part from the leader's without a
// word. The leader proposes only versions every voter supports (server/rules_gate.go), so
// the stop is the safety net for a node that was not asked, or lied.

// InvRulesVersionKnown names the stop for an entry of a rules version this binary does not
// know. Upgrade the node's binary; the entry is applied after the restart.
const InvRulesVersionKnown = "rules_version_known"

// maxFutureVersion bounds what a first byte may be and still be read as a rules version of
// a newer binary: above it the entry is not a proposal at all (malformed).
const maxFutureVersion = 63

// MaxRulesVersion is the newest rules version this binary applies and proposes.
func MaxRulesVersion() uint8 { return maxRulesVersion }

// ProposalRulesVersion is the version a proposal's encoding names, 0 for an empty entry.
func ProposalRulesVersion(data []byte) uint8 {
	if len(data) == 0 {
		return 0
	}
	return data[0]
}

// checkRulesVersion panics with InvRulesVersionKnown for an entry of a newer rules version.
func checkRulesVersion(index uint64, data []byte) {
	if v := ProposalRulesVersion(data); v > maxRulesVersion && v <= maxFutureVersion {
		panic(&InvariantError{Name: InvRulesVersionKnown, Detail: fmt.Sprintf(
			"entry %d is written under rules version %d; this binary applies versions 1 to %d: upgrade it (the entry is applied after the restart)", index, v, maxRulesVersion)})
	}
}
