package server

import (
	"errors"

	"connectrpc.com/connect"

	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/raftnode"
)

// connectCode maps a ledger code to the Connect code clients branch on; the ledger code
// itself always travels in the ErrorDetail.
func connectCode(c errcode.Code) connect.Code {
	switch c {
	case errcode.Malformed, errcode.MissingField, errcode.InvalidValue, errcode.InvalidTime,
		errcode.InvalidDate, errcode.InvalidQuantity, errcode.TooLarge,
		errcode.InvalidScore, errcode.InvalidBandTable, errcode.InvalidRange:
		return connect.CodeInvalidArgument
	case errcode.UnknownDepartment, errcode.UnknownProvider, errcode.UnknownProject, errcode.UnknownItem, errcode.UnknownResource:
		return connect.CodeNotFound
	case errcode.ResourceExists, errcode.IdempotencyConflict, errcode.AlreadyDone:
		return connect.CodeAlreadyExists
	case errcode.Unauthenticated, errcode.SessionExpired, errcode.AccountLocked, errcode.AccountDisabled, errcode.TOTPRequired:
		return connect.CodeUnauthenticated
	case errcode.PermissionDenied, errcode.LastOfRole:
		return connect.CodePermissionDenied
	case errcode.UnknownAccount, errcode.UnknownToken:
		return connect.CodeNotFound
	case errcode.AccountExists:
		return connect.CodeAlreadyExists
	case errcode.RequestTooLarge, errcode.ResourceExhausted:
		return connect.CodeResourceExhausted
	case errcode.Unavailable:
		return connect.CodeUnavailable
	case errcode.UnknownOutcome:
		return connect.CodeAborted
	case errcode.Internal:
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
	var le *errcode.Error
	switch {
	case errors.As(err, &le):
	case errors.Is(err, raftnode.ErrUnknownOutcome):
		le = errcode.Errf(errcode.UnknownOutcome, "", "%v; retry with the same idempotency key", err)
	case errors.Is(err, raftnode.ErrNotLeader):
		le = errcode.Errf(errcode.Unavailable, "", "no leader reachable: %v", err)
	default:
		le = errcode.Errf(errcode.Internal, "", "%v", err)
	}
	return detailError(le, 0)
}

func detailError(le *errcode.Error, line uint32) *connect.Error {
	ce := connect.NewError(connectCode(le.Code), errors.New(le.Error()))
	if d, err := connect.NewErrorDetail(&v1.ErrorDetail{Code: string(le.Code), Field: le.Field, Message: le.Message, Index: int32(le.Index), Line: line}); err == nil {
		ce.AddDetail(d)
	}
	return ce
}

func errf(code errcode.Code, format string, args ...any) error {
	return detailError(errcode.Errf(code, "", format, args...), 0)
}
