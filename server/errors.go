package server

import (
	"errors"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/ledger"
	"github.com/cloudledger/cloudledger/raftnode"
)

// connectCode maps a ledger code to the Connect code clients branch on; the ledger code
// itself always travels in the ErrorDetail.
func connectCode(c ledger.Code) connect.Code {
	switch c {
	case ledger.CodeMalformed, ledger.CodeMissingField, ledger.CodeInvalidValue, ledger.CodeInvalidTime,
		ledger.CodeInvalidDate, ledger.CodeInvalidQuantity, ledger.CodeTooLarge,
		ledger.CodeInvalidScore, ledger.CodeInvalidBandTable, ledger.CodeInvalidRange:
		return connect.CodeInvalidArgument
	case ledger.CodeUnknownDepartment, ledger.CodeUnknownProvider, ledger.CodeUnknownProject, ledger.CodeUnknownItem, ledger.CodeUnknownResource:
		return connect.CodeNotFound
	case ledger.CodeResourceExists, ledger.CodeIdempotencyConflict:
		return connect.CodeAlreadyExists
	case ledger.CodeUnauthenticated:
		return connect.CodeUnauthenticated
	case ledger.CodeRequestTooLarge:
		return connect.CodeResourceExhausted
	case ledger.CodeUnavailable:
		return connect.CodeUnavailable
	case ledger.CodeUnknownOutcome:
		return connect.CodeAborted
	case ledger.CodeInternal:
		return connect.CodeInternal
	}
	return connect.CodeFailedPrecondition
}

// toConnect turns any error into a Connect error carrying an ErrorDetail.
func toConnect(err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce
	}
	var le *ledger.Error
	switch {
	case errors.As(err, &le):
	case errors.Is(err, raftnode.ErrUnknownOutcome):
		le = ledger.Errf(ledger.CodeUnknownOutcome, "", "%v; retry with the same idempotency key", err)
	case errors.Is(err, raftnode.ErrNotLeader):
		le = ledger.Errf(ledger.CodeUnavailable, "", "no leader reachable: %v", err)
	default:
		le = ledger.Errf(ledger.CodeInternal, "", "%v", err)
	}
	return detailError(le, 0)
}

func detailError(le *ledger.Error, line uint32) *connect.Error {
	ce := connect.NewError(connectCode(le.Code), errors.New(le.Error()))
	if d, err := connect.NewErrorDetail(&v1.ErrorDetail{Code: string(le.Code), Field: le.Field, Message: le.Message, Index: int32(le.Index), Line: line}); err == nil {
		ce.AddDetail(d)
	}
	return ce
}

func errf(code ledger.Code, format string, args ...any) error {
	return detailError(ledger.Errf(code, "", format, args...), 0)
}
