package ledger

import (
	"errors"
	"fmt"
)

// Code is a stable error code. The API and the CLI print the same code; SPEC.md names
// several of them. Never rename a code: scripts match on it.
type Code string

// Error codes. Grouped by where they usually arise.
const (
	// Input shape.
	CodeMalformed       Code = "malformed"        // cannot be decoded at all
	CodeMissingField    Code = "missing_field"    // a required field is empty
	CodeInvalidValue    Code = "invalid_value"    // a field has a value outside its domain
	CodeInvalidTime     Code = "invalid_time"     // not RFC 3339 with an offset, or out of range
	CodeInvalidDate     Code = "invalid_date"     // not YYYY-MM-DD
	CodeInvalidQuantity Code = "invalid_quantity" // non-numeric, negative, zero where positive needed, too many digits
	CodeTooLarge        Code = "too_large"        // a limit of limits.go exceeded

	// References.
	CodeUnknownDepartment Code = "unknown_department"
	CodeUnknownProvider   Code = "unknown_provider"
	CodeUnknownProject    Code = "unknown_project"
	CodeUnknownItem       Code = "unknown_item"
	CodeUnknownResource   Code = "unknown_resource"
	CodeProjectMismatch   Code = "project_department_mismatch"
	CodeResourceMismatch  Code = "resource_mismatch"
	CodeCatalogConflict   Code = "catalog_item_conflict"

	// Quota (SPEC: Quota).
	CodeQuotaOverrun Code = "quota_overrun_needs_approval"
	CodeDevLimit     Code = "dev_limit_exceeded"

	// Resource life cycle (SPEC: Ledger).
	CodeResourceExists   Code = "resource_exists"
	CodeResourceClosed   Code = "resource_closed"
	CodeResourceExpired  Code = "resource_expired"
	CodeBelowZero        Code = "quantity_below_zero"
	CodeOutOfOrder       Code = "out_of_order"
	CodeBillingMismatch  Code = "billing_mismatch"
	CodeExpiryRequired   Code = "expiry_required"
	CodeExpiryNotAllowed Code = "expiry_not_allowed"
	CodeExpiryTooLong    Code = "expiry_too_long"
	CodeNotTimeLimited   Code = "not_time_limited"
	CodeExtensionTooLate Code = "extension_too_late"
	CodeExtensionTooLong Code = "extension_too_long"
	CodeContractInactive Code = "provider_contract_inactive"

	// Periods and calendar.
	CodePeriodClosed    Code = "period_closed"
	CodePeriodNotEnded  Code = "period_not_ended"
	CodeCalendarUnknown Code = "calendar_year_unknown"

	// Rating data (SPEC: Rating; RATING_DEFAULTS.md)
	CodeInvalidScore     Code = "invalid_score"      // an evaluation score outside 0–100
	CodeInvalidBandTable Code = "invalid_band_table" // bands that overlap, leave a gap, or miss 0–100
	CodeInvalidRange     Code = "invalid_range"      // a date range that ends before it starts

	// Settlement (SPEC: Settlement)
	CodeSettlementState   Code = "settlement_state"   // a transition the year's state does not allow
	CodeSettlementBlocked Code = "settlement_blocked" // audit refused: open months or provisional charges
	CodeStaleFigures      Code = "stale_figures"      // the ledger moved on while the figures were computed
	CodeWindowOverlap     Code = "window_overlap"     // a settlement year whose window shares months with another year's

	// Idempotency.
	CodeIdempotencyConflict Code = "idempotency_conflict"

	// Kafka bridge (issue 5).
	CodeKafkaOffsetGap Code = "kafka_offset_gap" // a batch or a read that would skip offsets of a partition

	// Infrastructure, used by the server and CLI so that every failure has a code.
	CodeUnauthenticated Code = "unauthenticated"
	CodeRequestTooLarge Code = "request_too_large"
	CodeUnavailable     Code = "unavailable"
	CodeUnknownOutcome  Code = "unknown_outcome"
	CodeInternal        Code = "internal"
)

// Error is a domain error: a rejected command is a result, never a panic.
type Error struct {
	Code    Code
	Field   string // the offending field in interchange names (e.g. "quantity"), if any
	Message string
	// Index is the position of the failing command inside its request (-1 when not known).
	Index int
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errf builds an *Error.
func Errf(code Code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...), Index: -1}
}

// CodeOf returns the code of err, or CodeInternal for an error that carries none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}
