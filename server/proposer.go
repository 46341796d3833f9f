package server

import (
	"context"
	"fmt"
	"time"

	"github.com/cloudledger/cloudledger/ledger"
	"github.com/cloudledger/cloudledger/raftnode"
)

// Limits of group commit: concurrent requests share one Raft entry up to these sizes.
const (
	maxRequestsPerEntry = 512
	maxCommandsPerEntry = 20_000
	maxEntriesInFlight  = 4
	proposerQueueLength = 4096
)

// proposer groups concurrent write requests into one Raft entry each round (group commit),
// stamping it with the leader's clock. Each request stays atomic on its own inside the entry.
type proposer struct {
	node *raftnode.Node
	now  func() time.Time
	// version is the rules version to write: the newest every voter supports (rules_gate.go).
	version func() uint8
	queue   chan *pending
	slots   chan struct{}
	// observe, if set, is told the size of each entry proposed (metrics).
	observe func(bytes int)
}

type pending struct {
	req  ledger.Submission
	done chan proposeResult
}

type proposeResult struct {
	res   ledger.SubmissionResult
	index uint64
	err   error
}

func newProposer(node *raftnode.Node, now func() time.Time, version func() uint8) *proposer {
	return &proposer{node: node, now: now, version: version, queue: make(chan *pending, proposerQueueLength), slots: make(chan struct{}, maxEntriesInFlight)}
}

// submit proposes one request and waits for its result.
func (p *proposer) submit(ctx context.Context, req ledger.Submission) (ledger.SubmissionResult, uint64, error) {
	pd := &pending{req: req, done: make(chan proposeResult, 1)}
	select {
	case p.queue <- pd:
	case <-ctx.Done():
		return ledger.SubmissionResult{}, 0, ctx.Err()
	}
	select {
	case r := <-pd.done:
		return r.res, r.index, r.err
	case <-ctx.Done():
		// The entry may still commit: the caller retries with the same keys.
		return ledger.SubmissionResult{}, 0, fmt.Errorf("%w: %v", raftnode.ErrUnknownOutcome, ctx.Err())
	}
}

// run collects what is queued while earlier entries are in flight, so the batch size adapts
// to load: one request alone goes at once, 64 concurrent writers share a few entries.
func (p *proposer) run(ctx context.Context) {
	for {
		var first *pending
		select {
		case first = <-p.queue:
		case <-ctx.Done():
			return
		}
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			first.done <- proposeResult{err: ctx.Err()}
			return
		}
		batch := []*pending{first}
		commands := len(first.req.Commands)
	drain:
		for len(batch) < maxRequestsPerEntry && commands < maxCommandsPerEntry {
			select {
			case pd := <-p.queue:
				batch = append(batch, pd)
				commands += len(pd.req.Commands)
			default:
				break drain
			}
		}
		go func(batch []*pending) {
			defer func() { <-p.slots }()
			p.propose(ctx, batch)
		}(batch)
	}
}

func (p *proposer) propose(ctx context.Context, batch []*pending) {
	prop := &ledger.Proposal{RecordedAt: p.now(), Submissions: make([]ledger.Submission, len(batch)), Version: p.version()}
	for i, pd := range batch {
		prop.Submissions[i] = pd.req
	}
	res, index, err := p.apply(ctx, prop)
	for i, pd := range batch {
		if err != nil {
			pd.done <- proposeResult{err: err}
			continue
		}
		pd.done <- proposeResult{res: res.Submissions[i], index: index}
	}
}

func (p *proposer) apply(ctx context.Context, prop *ledger.Proposal) (*ledger.ProposalResult, uint64, error) {
	data := ledger.EncodeProposal(prop)
	if p.observe != nil {
		p.observe(len(data))
	}
	out, err := p.node.Apply(ctx, data)
	if err != nil {
		return nil, 0, err
	}
	res, ok := out.(*ledger.ProposalResult)
	if !ok {
		return nil, 0, fmt.Errorf("unexpected apply result %T", out)
	}
	if res.Err != nil {
		return nil, 0, res.Err
	}
	if len(res.Submissions) != len(prop.Submissions) {
		return nil, 0, fmt.Errorf("apply returned %d results for %d requests", len(res.Submissions), len(prop.Submissions))
	}
	return res, p.node.AppliedIndex(), nil
}

// submitAsCaller proposes commands as one request by the calling account; a refusal is
// the API's error with its code.
func (s *Server) submitAsCaller(ctx context.Context, cmds ...ledger.Command) (ledger.SubmissionResult, error) {
	res, _, err := s.prop.submit(ctx, ledger.Submission{Actor: actorOf(ctx), Commands: cmds})
	if err != nil {
		return res, toConnect(err)
	}
	if res.Err != nil {
		return res, detailError(res.Err, 0)
	}
	return res, nil
}
