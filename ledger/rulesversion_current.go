//go:build !rulesv4

package ledger

// maxRulesVersion is proposalVersion: this binary applies and proposes every version it has.
const maxRulesVersion = proposalVersion
