package ledger

import (
	"time"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
)

// TypeClosePeriod closes a month.
const TypeClosePeriod CommandType = 7

func init() {
	register(TypeClosePeriod, "period_close", writesLineItem, func() Body { return new(ClosePeriod) })
}

// ClosePeriod closes a month: later line items dated in it are rejected.
type ClosePeriod struct{ Month calendar.Month }

func (*ClosePeriod) Type() CommandType { return TypeClosePeriod }

func (b *ClosePeriod) encode(e *encoder) {
	e.varint(int64(b.Month.Year))
	e.u8(uint8(b.Month.Month))
}

func (b *ClosePeriod) decode(d *decoder) {
	y := d.varint()
	m := d.u8()
	if d.err == nil && (y < MinYear || y > MaxYear || m < 1 || m > 12) {
		d.fail("bad month")
	}
	b.Month = calendar.Month{Year: int(y), Month: time.Month(m)}
}

func (b *ClosePeriod) validate(rl rules) *Error {
	if b.Month.Year < MinYear || b.Month.Year > MaxYear || b.Month.Month < 1 || b.Month.Month > 12 {
		return Errf(errcode.InvalidValue, "month", "month out of range")
	}
	return nil
}

func (b *ClosePeriod) apply(t *txn, ctx applyContext) *Error {
	end := b.Month.Next().First().Start()
	if ctx.recordedAt.Before(end) {
		return Errf(errcode.PeriodNotEnded, "month", "month %s has not ended (the ledger clock reads %s)", b.Month, ctx.recordedAt.Format(time.RFC3339))
	}
	if t.isClosed(b.Month) {
		return errUnchanged
	}
	if l := t.leaseOn(b.Month, ctx.recordedAt); l != nil && ctx.rules.separation {
		return Errf(errcode.ImportInProgress, "month", "an import by %s writes into %s (lease %s, until %s): close the month once it ends",
			l.Holder, b.Month, l.ID, l.Until.In(calendar.Shanghai).Format(time.RFC3339))
	}
	// Write the month's due expiries before it closes, so none lands in a closed month later.
	t.expireDue(ctx.recordedAt, ctx.raftIndex, ctx.rules)
	t.closed.put(b.Month, true)
	return nil
}

func (t *txn) isClosed(m calendar.Month) bool {
	v, _ := t.closed.get(m)
	return v
}
