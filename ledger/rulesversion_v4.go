//go:build rulesv4

package ledger

// maxRulesVersion held back to 4: a build for the mixed-version test (test/cluster), a node
// "from before" rules version 5 with everything else of this tree.
const maxRulesVersion = 4
