package ledger

import "github.com/cloudledger/cloudledger/errcode"

// TypeFulfilRequest is a provider's fulfilment of an approved resource request (SH 19–24)
// as one command (rules version 6, issue 23): apply derives the events from the request
// and the entry's time, so the command carries no clock and a retry under the same key is
// the same bytes (it answered idempotency_conflict when the server stamped the event).
const TypeFulfilRequest CommandType = 38

func init() {
	register(TypeFulfilRequest, "request_fulfil", writesLineItem, func() Body { return new(FulfilRequest) })
}

// FulfilRequest fulfils request ID; Resource is the new resource's id (test, open).
type FulfilRequest struct {
	ID       string
	Resource string
}

func (*FulfilRequest) Type() CommandType { return TypeFulfilRequest }

func (b *FulfilRequest) encode(e *encoder) {
	e.str(b.ID)
	e.str(b.Resource)
}

func (b *FulfilRequest) decode(d *decoder) {
	b.ID = d.str(MaxIDLen)
	b.Resource = d.str(MaxIDLen)
}

func (b *FulfilRequest) validate(rl rules) *Error {
	if !rl.fulfilInApply {
		return Errf(errcode.InvalidValue, "", "a fulfilment command needs rules version 6 (the cluster is upgrading: every voter must run a binary that applies it)")
	}
	return firstErr(rl.id("id", b.ID, true), rl.id("resource", b.Resource, false))
}

// apply writes the request's events, dated at the entry's time, under keys of the request
// (fulfil/<id>, as the events written directly before version 6), then this command's own
// line item is written by applyCommand.
func (b *FulfilRequest) apply(t *txn, ctx applyContext) *Error {
	r, ok := t.requests.get(b.ID)
	if !ok {
		return Errf(errcode.UnknownRequest, "id", "unknown request %q", b.ID)
	}
	cmds, err := r.Fulfilment(b.Resource, ctx.recordedAt)
	if err != nil {
		return err
	}
	for _, c := range cmds {
		res, err := t.applyCommand(c, ctx)
		if err != nil {
			return err
		}
		if res.Duplicate {
			return Errf(errcode.RequestState, "id", "request %s was fulfilled before (line item %d)", b.ID, res.Seq)
		}
	}
	return nil
}
