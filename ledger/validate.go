package ledger

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	"github.com/shopspring/decimal"
)

// ValidateCommand checks what can be checked without the ledger's state, by the rules in
// force now: the idempotency key of a command that writes a line item, then the command's
// own validate. The leader runs it before proposing.
func ValidateCommand(c Command) *Error { return validateCommand(c, currentRules) }

// validateCommand checks a command by the rules of a proposal version: apply runs it again,
// because a Raft entry is outside input too, with the rules the entry was written under, so
// that replaying an old log gives the state it gave then.
func validateCommand(c Command, rl rules) *Error {
	if c.Body == nil {
		return Errf(errcode.Malformed, "", "empty command")
	}
	spec := specOf(c.Body)
	if spec == nil {
		return Errf(errcode.Malformed, "", "unsupported command %T", c.Body)
	}
	if spec.lineItem {
		if c.Key == "" {
			return Errf(errcode.MissingField, "key", "an idempotency key is required")
		}
		if err := rl.key(c.Key); err != nil {
			return err
		}
		if rl.findings && strings.HasPrefix(c.Key, systemFindingKeyPrefix) {
			// The ledger's own finding records are keyed so: a client's key there would
			// collide with one (version 8 on).
			return Errf(errcode.InvalidValue, "key", "keys beginning %q are the ledger's own", systemFindingKeyPrefix)
		}
	}
	return c.Body.validate(rl)
}

// rules are the stateless rules of one proposal version.
type rules struct {
	// strictText (version 2 on): ids and keys refuse control, format (zero-width, bidi
	// overrides), line and paragraph separators and every space, so that two ids cannot look
	// the same in a statement; names and other text refuse C0 and C1 controls.
	strictText bool
	// lateHistory (version 3 on; issue 12): an operation dated before a resource's expiry is
	// accepted while its month is open even after the expire line item was written, and the
	// expire no longer moves the resource's last operation time (see event.go, tick.go).
	lateHistory bool
	// notices (version 4 on; issue 15): request transitions and ticks raise notices.
	notices bool
	// separation (version 5 on; issue 22): 三员分立 holds against the security officer —
	// privileged accounts wait for a second person's confirmation, people set their own
	// secrets (activation codes), the bootstrap credential only initialises, the last
	// auditor and security account stay — and idempotency keys are scoped to the tenant.
	separation bool
	// fulfilInApply (version 6 on; issue 23): a request's fulfilment is one command whose
	// events apply derives from the request and the entry's time (fulfil.go).
	fulfilInApply bool
	// utilisation (version 7 on; issue 24): deliveries of daily utilisation rows.
	utilisation bool
	// findings (version 8 on; issue 25): rules, evaluated days, findings and their
	// lifecycle, seasons and seasonal quotas.
	findings bool
	// trailArchive (version 9 on; issue 28): access records past their retention leave the
	// live state for sealed archive files (access_archive.go).
	trailArchive bool
	// evaluation (version 10 on; issue 26): the evaluation scheme, the survey, expert scores
	// and the publication of quarters.
	evaluation bool
	// totpRemoval (version 11 on; issue 27): a person removes their own TOTP second factor
	// where their role does not require one (CredTOTPRemoved).
	totpRemoval bool
}

// Rules by proposal version: 1 before the stricter characters of issue 10, 2 since, 3 with
// late history, 4 with notices, 5 with 三员分立 and tenant-scoped keys, 6 with the
// fulfilment command, 7 with utilisation rows, 8 with findings and seasons, 9 with the
// access trail's archives, 10 with evaluation, 11 with the removal of one's own TOTP key.
var (
	rulesV1      = rules{}
	rulesV2      = rules{strictText: true}
	rulesV3      = rules{strictText: true, lateHistory: true}
	rulesV4      = rules{strictText: true, lateHistory: true, notices: true}
	rulesV5      = rules{strictText: true, lateHistory: true, notices: true, separation: true}
	rulesV6      = rules{strictText: true, lateHistory: true, notices: true, separation: true, fulfilInApply: true}
	rulesV7      = rules{strictText: true, lateHistory: true, notices: true, separation: true, fulfilInApply: true, utilisation: true}
	rulesV8      = rules{strictText: true, lateHistory: true, notices: true, separation: true, fulfilInApply: true, utilisation: true, findings: true}
	rulesV9      = rules{strictText: true, lateHistory: true, notices: true, separation: true, fulfilInApply: true, utilisation: true, findings: true, trailArchive: true}
	rulesV10     = rules{strictText: true, lateHistory: true, notices: true, separation: true, fulfilInApply: true, utilisation: true, findings: true, trailArchive: true, evaluation: true}
	currentRules = rules{strictText: true, lateHistory: true, notices: true, separation: true, fulfilInApply: true, utilisation: true, findings: true, trailArchive: true, evaluation: true, totpRemoval: true}
)

func rulesFor(version uint8) rules {
	switch {
	case version < 2:
		return rulesV1
	case version < 3:
		return rulesV2
	case version < 4:
		return rulesV3
	case version < 5:
		return rulesV4
	case version < 6:
		return rulesV5
	case version < 7:
		return rulesV6
	case version < 8:
		return rulesV7
	case version < 9:
		return rulesV8
	case version < 10:
		return rulesV9
	case version < 11:
		return rulesV10
	}
	return currentRules
}

func firstErr(errs ...*Error) *Error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func required(field, v string) *Error {
	if v == "" {
		return Errf(errcode.MissingField, field, "%s is required", field)
	}
	return nil
}

// text checks free text (names, references): bounded, UTF-8, no control characters.
func (rl rules) text(field, v string, max int) *Error {
	if len(v) > max {
		return Errf(errcode.TooLarge, field, "longer than %d bytes", max)
	}
	if !utf8.ValidString(v) {
		return Errf(errcode.InvalidValue, field, "not valid UTF-8")
	}
	if rl.strictText {
		for _, r := range v {
			if unicode.IsControl(r) { // C0, DEL and C1
				return Errf(errcode.InvalidValue, field, "contains the control character %U", r)
			}
		}
	}
	return nil
}

// CheckID checks a required identifier read from outside a command (an invoice line's
// department, project or item) by the rules every command's ids follow.
func CheckID(field, v string) *Error { return currentRules.id(field, v, true) }

// id checks an identifier: printable, no spaces, control or format characters, bounded.
func (rl rules) id(field, v string, req bool) *Error {
	if v == "" {
		if req {
			return Errf(errcode.MissingField, field, "%s is required", field)
		}
		return nil
	}
	if err := rl.text(field, v, MaxIDLen); err != nil {
		return err
	}
	return rl.idChars(field, v)
}

// key checks an idempotency key: bounded, and the characters of an id.
func (rl rules) key(v string) *Error {
	if err := rl.text("key", v, MaxKeyLen); err != nil {
		return err
	}
	if !rl.strictText {
		return nil // version 1 keys were checked as text only
	}
	return rl.idChars("key", v)
}

func (rl rules) idChars(field, v string) *Error {
	for _, r := range v {
		if r <= ' ' || r == 0x7f {
			return Errf(errcode.InvalidValue, field, "%q contains a space or control character", v)
		}
		if r >= 0x80 && rl.strictText && invisible(r) { // ASCII ids (nearly all) skip the tables
			return Errf(errcode.InvalidValue, field, "%+q contains %U, a character that does not show (a space, separator, control or format character)", v, r)
		}
	}
	return nil
}

// invisible reports the characters an id must not hold: controls, format characters
// (zero-width, bidi overrides, BOM), line and paragraph separators and every space.
func invisible(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Zs)
}

func nonNegative(field string, d decimal.Decimal) *Error {
	if !checkDecimalBounds(d) {
		return Errf(errcode.InvalidQuantity, field, "out of range")
	}
	if d.IsNegative() {
		return Errf(errcode.InvalidQuantity, field, "must not be negative, got %s", d)
	}
	return nil
}

func positive(field string, d decimal.Decimal) *Error {
	if err := nonNegative(field, d); err != nil {
		return err
	}
	if !d.IsPositive() {
		return Errf(errcode.InvalidQuantity, field, "must be positive, got %s", d)
	}
	return nil
}

func instant(field string, t time.Time, req bool) *Error {
	if t.IsZero() {
		if req {
			return Errf(errcode.MissingField, field, "%s is required", field)
		}
		return nil
	}
	if y := t.In(calendar.Shanghai).Year(); y < MinYear || y > MaxYear {
		return Errf(errcode.InvalidTime, field, "year %d outside %d–%d", y, MinYear, MaxYear)
	}
	return nil
}

func dateInRange(field string, d calendar.Date) *Error {
	if d.Year < MinYear || d.Year > MaxYear {
		return Errf(errcode.InvalidDate, field, "date %s outside %d–%d", d, MinYear, MaxYear)
	}
	return nil
}
