package ledger

import "github.com/cloudledger/cloudledger/errcode"

// The ledger's errors are errcode's (every code is declared there, in one place).
type (
	Code  = errcode.Code
	Error = errcode.Error
)

// Errf builds an *Error.
func Errf(code Code, field, format string, args ...any) *Error {
	return errcode.Errf(code, field, format, args...)
}
