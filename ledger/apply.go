package ledger

import (
	"time"

	"github.com/cloudledger/cloudledger/errcode"
)

// ItemResult is the outcome of one accepted command.
type ItemResult struct {
	Seq       uint64 // the line item written, or the original one for a duplicate
	Duplicate bool   // the key was used before with the same content: nothing was written
	Unchanged bool   // the command restated what the ledger already holds: nothing was written
}

// SubmissionResult is the outcome of one submission: all of its commands applied, or Err says
// which one failed (Err.Index) and nothing of the submission was applied.
type SubmissionResult struct {
	Items []ItemResult
	Err   *Error
}

// ProposalResult is what applying one Raft entry returns.
type ProposalResult struct {
	Submissions []SubmissionResult
	Err         *Error // the entry itself could not be decoded (nothing applied)
}

// applyContext is what every command of a request shares.
type applyContext struct {
	actor      string
	recordedAt time.Time
	raftIndex  uint64
	rules      rules // the stateless rules of the entry's proposal version
}

// errUnchanged marks a command that restates the ledger: accepted, nothing written.
var errUnchanged = &Error{Code: errcode.Unchanged, Index: -1}

// applyProposal applies one decoded entry on t (the root for real applies, a dry-run
// layer otherwise). Each request runs in a child txn that is merged only if it succeeds.
func (t *txn) applyProposal(p *Proposal, raftIndex uint64) *ProposalResult {
	res := &ProposalResult{}
	rl := rulesFor(p.Version)
	recordedAt := p.RecordedAt
	if rl.lateHistory && recordedAt.Before(t.clock) {
		// A leader whose clock is behind (a new leader, a clock stepped back) must not
		// stamp an earlier time than the ledger holds: line items' times never go back,
		// and expiry ticks never see an earlier "now" (version 3 on; older entries keep
		// the time they were proposed with).
		recordedAt = t.clock
	}
	if recordedAt.After(t.clock) {
		t.clock = recordedAt
	}
	for _, r := range p.Submissions {
		res.Submissions = append(res.Submissions, t.applySubmission(r, applyContext{actor: r.Actor, recordedAt: recordedAt, raftIndex: raftIndex, rules: rl}))
	}
	return res
}

func (t *txn) applySubmission(r Submission, ctx applyContext) SubmissionResult {
	c := t.child()
	out := SubmissionResult{Items: make([]ItemResult, 0, len(r.Commands))}
	for i, cmd := range r.Commands {
		ir, err := c.applyCommand(cmd, ctx)
		if err != nil {
			e := *err
			e.Index = i
			return SubmissionResult{Err: &e}
		}
		out.Items = append(out.Items, ir)
	}
	c.commit()
	return out
}

// applyCommand validates and applies one command through its registration: bookkeeping
// applies as it is; a command that writes a line item is first checked against its
// idempotency key (a repeat with the same content returns the original line item).
func (t *txn) applyCommand(cmd Command, ctx applyContext) (ItemResult, *Error) {
	if err := validateCommand(cmd, ctx.rules); err != nil {
		return ItemResult{}, err
	}
	defer func() { t.systemSteps = nil }() // a refused command leaves none queued
	if !specOf(cmd.Body).lineItem {
		if err := cmd.Body.apply(t, ctx); err != nil {
			return ItemResult{}, err
		}
		t.appendSystemSteps(ctx)
		return ItemResult{Unchanged: true}, nil
	}
	stored := cmd.Body
	body := cmd.encoded // the proposal's own bytes, checked canonical when decoded
	if rec := specOf(cmd.Body).record; rec != nil {
		stored = rec(cmd.Body, t, ctx) // the line item keeps a record of the command
		body = EncodeBody(stored)
	} else if body == nil {
		body = EncodeBody(cmd.Body)
	}
	content := contentHash(body)
	lookup := t.lookupKey
	if ctx.rules.separation {
		t.markScoped()
		tenant := t.tenantOf(ctx.actor)
		lookup = func(k string) (keyRecord, bool, bool) { return t.lookupTenantKey(tenant, k) }
	}
	if rec, pending, ok := lookup(cmd.Key); ok {
		if rec.Content != content && pending {
			return ItemResult{}, Errf(errcode.IdempotencyConflict, "key", "key %q is used twice in this request, with other content", cmd.Key)
		}
		if rec.Content != content {
			return ItemResult{}, Errf(errcode.IdempotencyConflict, "key", "key %q was used before (line item %d) with other content", cmd.Key, rec.Seq)
		}
		return ItemResult{Seq: rec.Seq, Duplicate: true}, nil
	}
	err := cmd.Body.apply(t, ctx)
	if err == errUnchanged {
		t.appendSystemSteps(ctx) // none today; if a restatement ever steps a finding, its record stays
		return ItemResult{Unchanged: true}, nil
	}
	if err != nil {
		return ItemResult{}, err
	}
	li := t.appendEncoded(cmd.Key, ctx.actor, ctx.recordedAt, ctx.raftIndex, stored, body, content)
	t.appendSystemSteps(ctx)
	return ItemResult{Seq: li.Seq}, nil
}
