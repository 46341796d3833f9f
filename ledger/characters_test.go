package ledger

import (
	"strings"
	"testing"

	"github.com/cloudledger/cloudledger/errcode"
)

// Issue 10, must show 7: ids and keys refuse characters that do not show (so two resources
// cannot look the same in a statement); names refuse C0 and C1 controls and keep Chinese.
func TestIDsAndNamesRefuseInvisibleCharacters(t *testing.T) {
	dept := func(id, name string) Command {
		return Command{Key: "k", Body: &SetDepartment{Department{ID: id, Name: name, Funding: FundingBudget}}}
	}
	for _, c := range []struct {
		what, id, name string
	}{
		{"zero-width space in an id", "edu\u200b", "教育局"},
		{"right-to-left override in an id", "edu\u202e", "教育局"},
		{"no-break space in an id", "edu\u00a0x", "教育局"},
		{"line separator in an id", "edu\u2028", "教育局"},
		{"NUL in an id", "edu\x00", "教育局"},
		{"ESC in an id", "edu\x1b", "教育局"},
		{"ideographic space in an id", "edu\u3000", "教育局"},
		{"NUL in a name", "edu", "教育\x00局"},
		{"ESC in a name", "edu", "教育\x1b[31m局"},
		{"C1 control in a name", "edu", "教育\u0085局"},
	} {
		err := ValidateCommand(dept(c.id, c.name))
		if err == nil || err.Code != errcode.InvalidValue {
			t.Errorf("%s: %v, want invalid_value", c.what, err)
		}
	}
	if err := ValidateCommand(dept("edu", "市教育局（含 基础教育处）")); err != nil {
		t.Fatalf("a Chinese name with a space: %v", err)
	}
	if err := ValidateCommand(Command{Key: "key\u200b", Body: &SetDepartment{Department{ID: "edu", Name: "教育局", Funding: FundingBudget}}}); err == nil || err.Field != "key" {
		t.Fatalf("a key with a zero-width space: %v", err)
	}
}

// Entries written under proposal version 1 apply by version 1's rules, so a log of then
// replays to the state it gave then.
func TestVersion1EntriesApplyByTheirRules(t *testing.T) {
	f := newFixture(t)
	p := &Proposal{RecordedAt: f.now, Submissions: []Submission{{Actor: "old", Commands: []Command{
		{Key: "k1", Body: &SetDepartment{Department{ID: "d1", Name: "旧\x1b名", Funding: FundingBudget}}}}}}}
	raw := EncodeProposal(p)
	raw[0] = 1 // as the binary of then wrote it
	f.index++
	res := f.l.ApplyBatch([]Entry{{Index: f.index, Data: raw}})[0].(*ProposalResult)
	if res.Err != nil || res.Submissions[0].Err != nil {
		t.Fatalf("a version 1 entry refused: %+v %+v", res.Err, res.Submissions)
	}
	raw[0] = proposalVersion
	f.index++
	res = f.l.ApplyBatch([]Entry{{Index: f.index, Data: raw}})[0].(*ProposalResult)
	if res.Submissions[0].Err == nil || res.Submissions[0].Err.Code != errcode.InvalidValue {
		t.Fatalf("the same entry as version 2: %+v", res.Submissions[0])
	}
}

// Issue 10: a conflict with a key used earlier in the same request (which rolls back) names
// no line item: the one it would name never exists.
func TestConflictInsideARolledBackRequestNamesNoLineItem(t *testing.T) {
	f := newFixture(t)
	r := f.propose(
		Command{Key: "dup", Body: &SetDepartment{Department{ID: "d1", Name: "一", Funding: FundingBudget}}},
		Command{Key: "dup", Body: &SetDepartment{Department{ID: "d2", Name: "二", Funding: FundingBudget}}})
	if r.Err == nil || r.Err.Code != errcode.IdempotencyConflict || strings.Contains(r.Err.Message, "line item") {
		t.Fatalf("%+v", r.Err)
	}
	if f.l.Head().Seq != 0 {
		t.Fatalf("the request was half applied: %d line items", f.l.Head().Seq)
	}
}
