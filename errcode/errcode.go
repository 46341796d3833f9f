// Package errcode is every error code of CloudLedger in one place, and the error that
// carries one. The API, the CLI and the console print the same code; SPEC.md names several
// of them. Never rename a code: scripts match on it. It imports nothing of the project, so
// every package (the CLI included) can use it.
package errcode

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
	Malformed       Code = "malformed"        // cannot be decoded at all
	MissingField    Code = "missing_field"    // a required field is empty
	InvalidValue    Code = "invalid_value"    // a field has a value outside its domain
	InvalidTime     Code = "invalid_time"     // not RFC 3339 with an offset, or out of range
	InvalidDate     Code = "invalid_date"     // not YYYY-MM-DD
	InvalidQuantity Code = "invalid_quantity" // non-numeric, negative, zero where positive needed, too many digits
	TooLarge        Code = "too_large"        // a limit of limits.go exceeded

	// References.
	UnknownDepartment Code = "unknown_department"
	UnknownProvider   Code = "unknown_provider"
	UnknownProject    Code = "unknown_project"
	UnknownItem       Code = "unknown_item"
	UnknownResource   Code = "unknown_resource"
	ProjectMismatch   Code = "project_department_mismatch"
	ResourceMismatch  Code = "resource_mismatch"
	CatalogConflict   Code = "catalog_item_conflict"
	UnknownQuotaClass Code = "unknown_quota_class" // no catalog item or project quota uses the class
	UnknownApproval   Code = "unknown_approval"    // no approval in force for (department, class) with that ref

	// Quota (SPEC: Quota).
	QuotaOverrun Code = "quota_overrun_needs_approval"
	DevLimit     Code = "dev_limit_exceeded"

	// Resource life cycle (SPEC: Ledger).
	ResourceExists   Code = "resource_exists"
	ResourceClosed   Code = "resource_closed"
	ResourceExpired  Code = "resource_expired"
	BelowZero        Code = "quantity_below_zero"
	OutOfOrder       Code = "out_of_order"
	BillingMismatch  Code = "billing_mismatch"
	ExpiryRequired   Code = "expiry_required"
	ExpiryNotAllowed Code = "expiry_not_allowed"
	ExpiryTooLong    Code = "expiry_too_long"
	NotTimeLimited   Code = "not_time_limited"
	ExtensionTooLate Code = "extension_too_late"
	ExtensionTooLong Code = "extension_too_long"
	ContractInactive Code = "provider_contract_inactive"

	// Periods and calendar.
	PeriodClosed    Code = "period_closed"
	PeriodNotEnded  Code = "period_not_ended"
	CalendarUnknown Code = "calendar_year_unknown"

	// Rating data (SPEC: Rating; RATING_DEFAULTS.md)
	InvalidScore     Code = "invalid_score"      // an evaluation score outside 0–100
	InvalidBandTable Code = "invalid_band_table" // bands that overlap, leave a gap, or miss 0–100
	InvalidRange     Code = "invalid_range"      // a date range that ends before it starts

	// Settlement (SPEC: Settlement)
	SettlementState   Code = "settlement_state"   // a transition the year's state does not allow
	SettlementBlocked Code = "settlement_blocked" // audit refused: open months or provisional charges
	StaleFigures      Code = "stale_figures"      // the ledger moved on while the figures were computed
	WindowOverlap     Code = "window_overlap"     // a settlement year whose window shares months with another year's

	// Settlement audit blockers (SPEC: Settlement), listed by settle status and audit.
	OpenMonth   Code = "open_month"  // a month of the window is not closed
	Provisional Code = "provisional" // a charge line has days without an evaluation score

	// Invoices (SPEC: Settlement, invoice reconciliation).
	DuplicateLine Code = "duplicate_line" // an invoice names the same (department, project, item) twice

	// Results that are not failures.
	Unchanged Code = "unchanged" // the command restated what the ledger holds: nothing written

	// Auditing.
	ChainBroken Code = "chain_broken" // verify found a line item altered, missing or out of order

	// Idempotency.
	IdempotencyConflict Code = "idempotency_conflict"

	// Kafka bridge (issue 5).
	KafkaOffsetGap Code = "kafka_offset_gap" // a batch or a read that would skip offsets of a partition

	// Accounts and access (SPEC: Access).
	PermissionDenied Code = "permission_denied" // the caller's role or scope does not allow it
	AccountExists    Code = "account_exists"
	UnknownAccount   Code = "unknown_account"
	UnknownToken     Code = "unknown_token"       // no token in force with that id
	AccountDisabled  Code = "account_disabled"    // sign-in or call by a disabled account
	AccountLocked    Code = "account_locked"      // 5 failed sign-ins in a row: locked for 30 minutes
	SessionExpired   Code = "session_expired"     // idle for 30 minutes, signed out, or too old
	PasswordPolicy   Code = "password_too_weak"   // fewer than 8 characters or 3 classes
	TOTPRequired     Code = "totp_required"       // the account signs in with a TOTP code
	TrailBroken      Code = "access_trail_broken" // the access trail's verify found an altered record
	// 三员分立 (issue 22): a privileged account acts only once a second person confirmed it;
	// the last active auditor or security account stays.
	AwaitingConfirmation Code = "awaiting_confirmation"
	LastOfRole           Code = "last_account_of_role"
	// ResourceExhausted: a bounded resource before authentication (the password-hashing
	// pool, the failed sign-ins of one address) is full: wait and retry.
	ResourceExhausted Code = "resource_exhausted"
	// ImportInProgress: a month close while an import holds the month (an import lease).
	ImportInProgress Code = "import_in_progress"
	// AlreadyDone: a write that made a secret (a token, an activation code, a TOTP key),
	// sent again under its key: it was done, and a secret is shown once — the answer names
	// what was made, never the secret (issue 23).
	AlreadyDone Code = "already_done"

	// Resource requests (issue 15).
	UnknownRequest     Code = "unknown_request"
	RequestState       Code = "request_state"       // the request's state does not allow the step
	SupervisorRequired Code = "supervisor_required" // above 120 % or an emergency/temporary resource: the supervisor decides first
	RequestMismatch    Code = "request_mismatch"    // a fulfilment that does not do what the request asked
	UnknownNotice      Code = "unknown_notice"
	NoticeState        Code = "notice_state"          // only a dead notice is replayed
	UnknownDeadlines   Code = "unknown_deadline_step" // a deadline table row names no kind/step of SPEC

	// Findings (issue 25; SPEC: Utilisation).
	UnknownFinding     Code = "unknown_finding"
	FindingState       Code = "finding_state"       // the finding's state does not allow the step
	ResourcesSuspended Code = "resources_suspended" // an enforced finding: no allocate or expand for the department until it closes

	// Evaluation (issue 26; SPEC: Evaluation).
	InvalidScheme    Code = "invalid_scheme"    // an evaluation scheme setting outside its domain
	SurveyClosed     Code = "survey_closed"     // outside the survey's window, or the quarter is published
	ProviderNotUsed  Code = "provider_not_used" // the department used none of the provider's resources in the quarter
	QuarterNotEnded  Code = "quarter_not_ended" // a quarter is published (or its expert score entered) once it has ended
	QuarterPublished Code = "quarter_published" // each quarter is published once

	// Infrastructure, used by the server and CLI so that every failure has a code.
	Unauthenticated Code = "unauthenticated"
	RequestTooLarge Code = "request_too_large"
	Unavailable     Code = "unavailable"
	UnknownOutcome  Code = "unknown_outcome"
	Internal        Code = "internal"
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

// Of returns the code of err, or Internal for an error that carries none.
func Of(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}
