package ledger

import (
	"errors"
	"testing"

	"github.com/cloudledger/cloudledger/errcode"
)

// Issue 23, must show 4: a body is accepted only in the one encoding the encoder writes. An
// event whose quantity is written "1.500", "+1" or "01" (each a decimal ParseDecimal
// accepts) is refused as malformed, where it was accepted and re-encoded as 1.5 (what got
// hashed was not what was proposed). So is an overlong varint in the envelope.
func TestOnlyTheCanonicalEncodingDecodes(t *testing.T) {
	base := at("2026-03-02T10:00:00+08:00")
	eventWith := func(quantity string) []byte {
		e := encoder{}
		e.u8(uint8(TypeEvent))
		for _, s := range []string{"allocate"} {
			e.str(s)
		}
		e.tm(base)
		for _, s := range []string{"d1", "p", "x", "r", "i", "standard", quantity} {
			e.str(s)
		}
		e.tm(base.AddDate(0, 1, 0))
		return e.b
	}
	proposal := func(body []byte) []byte {
		e := encoder{}
		e.u8(proposalVersion)
		e.tm(base)
		e.uvarint(1)
		e.str("a")
		e.uvarint(1)
		e.str("k")
		e.bytes(body)
		return e.b
	}
	if _, err := DecodeProposal(proposal(eventWith("1.5"))); err != nil {
		t.Fatalf("the canonical 1.5: %v", err)
	}
	for _, q := range []string{"1.500", "+1", "01", "-0", "1."} {
		_, err := DecodeProposal(proposal(eventWith(q)))
		var le *Error
		if !errors.As(err, &le) || le.Code != errcode.Malformed {
			t.Errorf("quantity %q: %v, want malformed", q, err)
		}
	}
	// The count of submissions, 1, written in two bytes (0x81 0x00) instead of one.
	good := proposal(eventWith("1.5"))
	at := 1 + len(encodeVarint(base.UnixNano()))
	overlong := append(append(append([]byte{}, good[:at]...), 0x81, 0x00), good[at+1:]...)
	if _, err := DecodeProposal(overlong); err == nil {
		t.Error("an overlong varint decoded")
	}
}

func encodeVarint(v int64) []byte {
	e := encoder{}
	e.varint(v)
	return e.b
}

// Issue 23, must show 6 (the ledger's half): an entry of a rules version this binary does
// not know stops the node with InvRulesVersionKnown, where it was recorded as a malformed
// entry and skipped; nothing of it is applied, and the same entry applies once the binary
// knows it (here: once it is re-encoded under the known version).
func TestAnEntryOfANewerRulesVersionStopsTheNode(t *testing.T) {
	l := newFixture(t).l
	base := at("2026-03-02T10:00:00+08:00")
	p := &Proposal{RecordedAt: base, Submissions: []Submission{{Actor: "a", Commands: []Command{
		{Key: "d", Body: &SetDepartment{Department{ID: "d1", Name: "n", Funding: FundingBudget}}}}}}}
	newer := EncodeProposal(p)
	newer[0] = MaxRulesVersion() + 1
	func() {
		defer func() {
			ie, ok := recover().(*InvariantError)
			if !ok || ie.Name != InvRulesVersionKnown {
				t.Fatalf("applying rules version %d: %v, want the %s stop", newer[0], ie, InvRulesVersionKnown)
			}
		}()
		l.ApplyBatch([]Entry{{Index: 1, Data: newer}})
	}()
	if l.AppliedIndex() != 0 || l.Head().Seq != 0 {
		t.Fatalf("applied %d, %d line items after the stop; want nothing", l.AppliedIndex(), l.Head().Seq)
	}
	res := l.ApplyBatch([]Entry{{Index: 1, Data: EncodeProposal(p)}})
	if r := res[0].(*ProposalResult); r.Err != nil || r.Submissions[0].Err != nil || l.Head().Seq != 1 {
		t.Fatalf("the entry under the known version: %+v", r)
	}
}
