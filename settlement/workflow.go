package settlement

import (
	"context"
	"fmt"

	"github.com/cloudledger/cloudledger/errcode"
	"github.com/cloudledger/cloudledger/ledger"
)

// Node is what the settlement workflow needs of a ledger node: a barrier after which reads
// see everything committed (the leader's linearizable read), a read of the head's state
// that rates as a full view does (a node's kept charges: the audit does not read every line
// item), and a way to submit a request and learn its outcome.
type Node interface {
	Barrier(ctx context.Context) error
	Read(fn func(d *ledger.View) error) error
	Submit(ctx context.Context, r ledger.Submission) (ledger.SubmissionResult, error)
}

// Actions of the settlement workflow (SPEC: Settlement).
const (
	ActionRun    = "run"
	ActionAudit  = "audit"
	ActionSubmit = "submit"
	ActionPay    = "pay"
)

// AuditAttempts bounds recomputing an audit whose figures went stale while it was proposed
// (a tick or another write landed in between).
const AuditAttempts = 3

// Advance moves settlement year to the state of action, as actor: run opens a draft;
// audit rates the window from everything committed, refuses with settlement_blocked while
// anything blocks it, and proposes the figures (again, up to AuditAttempts times, when the
// ledger moved on meanwhile); submit and pay advance an audited year. A year already in
// (or past) the state answers unchanged.
func Advance(ctx context.Context, n Node, actor string, year int, action string) (ledger.ItemResult, error) {
	var body ledger.Body
	switch action {
	case ActionRun:
		body = &ledger.SettlementRun{Year: year}
	case ActionSubmit:
		body = &ledger.SettlementAdvance{Year: year, To: ledger.SettlementSubmitted}
	case ActionPay:
		body = &ledger.SettlementAdvance{Year: year, To: ledger.SettlementPaid}
	case ActionAudit:
	default:
		return ledger.ItemResult{}, errcode.Errf(errcode.InvalidValue, "action", "action is run, audit, submit or pay, not %q", action)
	}
	for attempt := 1; ; attempt++ {
		if action == ActionAudit {
			audit, done, err := prepareAudit(ctx, n, year)
			if err != nil || done {
				return ledger.ItemResult{Unchanged: true}, err
			}
			body = audit
		}
		key := fmt.Sprintf("settle/%d/%s", year, action)
		if a, ok := body.(*ledger.SettlementAudit); ok {
			key += "/" + a.AtHead // figures computed at another head are another command
		}
		cmd := ledger.Command{Key: key, Body: body}
		if err := ledger.ValidateCommand(cmd); err != nil {
			return ledger.ItemResult{}, err
		}
		res, err := n.Submit(ctx, ledger.Submission{Actor: actor, Commands: []ledger.Command{cmd}})
		if err != nil {
			return ledger.ItemResult{}, err
		}
		if res.Err != nil {
			if res.Err.Code == errcode.StaleFigures && attempt < AuditAttempts {
				continue
			}
			return ledger.ItemResult{}, res.Err
		}
		return res.Items[0], nil
	}
}

// prepareAudit computes the audit of year from everything committed; done says the year
// is audited already (a retry whose first attempt committed, or a second audit: the figures
// stand, as a second submit or run changes nothing).
func prepareAudit(ctx context.Context, n Node, year int) (*ledger.SettlementAudit, bool, error) {
	if err := n.Barrier(ctx); err != nil {
		return nil, false, err
	}
	var audit *ledger.SettlementAudit
	var blockers []Blocker
	done := false
	err := n.Read(func(data *ledger.View) (err error) {
		if y := data.Settlements[year]; y != nil && y.State != ledger.SettlementDraft {
			done = true
			return nil
		}
		audit, blockers, err = Prepare(data, year)
		return err
	})
	if err != nil || done {
		return nil, done, err
	}
	if len(blockers) > 0 {
		return nil, false, BlockedError(year, blockers)
	}
	return audit, false, nil
}
