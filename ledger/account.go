package ledger

import (
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/cloudledger/cloudledger/errcode"
)

// Accounts (SPEC: Access). An account acts with one role, scoped to a department or a
// provider where the role is. Account changes are line items naming the acting account;
// credentials are split in two: the public fact (a token was issued, a password set) is a
// line item, the secret's hash travels in a bookkeeping command beside it in the same
// request, so no hash ever enters the hash chain, the line-item export or the Kafka topic.
const (
	TypeAccountChange    CommandType = 21 // add, disable, enable an account
	TypeCredentialChange CommandType = 22 // the public record of a credential change
	TypeCredentialSecret CommandType = 23 // bookkeeping: the hash of a new credential
	TypeSignInAttempt    CommandType = 24 // bookkeeping: a password check's outcome (lockout)
	TypeSessionKey       CommandType = 25 // bookkeeping: the cluster's session-signing key
	TypeSessionEnd       CommandType = 26 // bookkeeping: a signed-out session
	TypeBootstrapAccount CommandType = 27 // the first authority and security accounts
	TypeSignInResult     CommandType = 36 // bookkeeping: a sign-in's outcome with the TOTP step used (version 5)
)

func init() {
	register(TypeAccountChange, "account", writesLineItem, func() Body { return new(AccountChange) })
	register(TypeCredentialChange, "credential", writesLineItem, func() Body { return new(CredentialChange) })
	register(TypeCredentialSecret, "credential_secret", noLineItem, func() Body { return new(CredentialSecret) })
	register(TypeSignInAttempt, "sign_in_attempt", noLineItem, func() Body { return new(SignInAttempt) })
	register(TypeSessionKey, "session_key", noLineItem, func() Body { return new(SetSessionKey) })
	register(TypeSessionEnd, "session_end", noLineItem, func() Body { return new(EndSession) })
	register(TypeBootstrapAccount, "bootstrap_accounts", writesLineItem, func() Body { return new(BootstrapAccounts) })
	register(TypeSignInResult, "sign_in_result", noLineItem, func() Body { return new(SignInResult) })
}

// Role is what an account may do (SPEC: Access, the table of roles).
type Role string

const (
	RoleAuthority  Role = "authority"
	RoleSupervisor Role = "supervisor"
	RoleFinance    Role = "finance"
	RoleProvider   Role = "provider"
	RoleDepartment Role = "department"
	RoleAuditor    Role = "auditor"
	RoleSecurity   Role = "security"
)

// Roles lists every role, in SPEC's order.
var Roles = []Role{RoleAuthority, RoleSupervisor, RoleFinance, RoleProvider, RoleDepartment, RoleAuditor, RoleSecurity}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Password policy and lockout (SPEC: Access).
const (
	MaxFailedSignIns = 5                // failures in a row that lock a password
	LockoutDuration  = 30 * time.Minute // how long it stays locked
	MaxTokenIDLen    = 32
)

// The bootstrap accounts: the admin token of a ledger bootstrapped before accounts existed
// becomes their credential, so an existing data directory keeps working.
const (
	BootstrapAuthority = "admin"
	BootstrapSecurity  = "security"
	BootstrapTokenID   = "bootstrap"
)

// Account is one person's or program's identity.
type Account struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Role       Role   `json:"role"`
	Department string `json:"department,omitempty"` // the scope of a department account
	Provider   string `json:"provider,omitempty"`   // the scope of a provider account
	Disabled   bool   `json:"disabled,omitempty"`
	// Program: a program's account (tokens from security, no password); otherwise a
	// person's (an activation code, then their own password and tokens). Version 5 on.
	Program bool `json:"program,omitempty"`
	// Pending: a privileged account waiting for a second person's confirmation (SPEC:
	// Access, 三员分立); it cannot act until confirmed. CreatedBy and ConfirmedBy name them.
	Pending     bool   `json:"pending,omitempty"`
	CreatedBy   string `json:"created_by,omitempty"`
	ConfirmedBy string `json:"confirmed_by,omitempty"`
	// SessionsFrom: sessions issued before this time are over for good (a disable or a
	// reset ends them; re-enabling does not bring them back).
	SessionsFrom time.Time `json:"sessions_from,omitzero"`
}

// Privileged reports whether the role needs a second person's confirmation (SPEC: Access).
func (r Role) Privileged() bool {
	switch r {
	case RoleAuthority, RoleSupervisor, RoleFinance, RoleSecurity, RoleAuditor:
		return true
	}
	return false
}

// Bootstrap reports whether the account is one of the two the bootstrap credential stands for.
func (a *Account) Bootstrap() bool { return a.ID == BootstrapAuthority || a.ID == BootstrapSecurity }

// Acts reports whether the account may act now: enabled and, if privileged, confirmed.
func (a *Account) Acts() bool { return !a.Disabled && !a.Pending }

// Credentials are an account's password state. They live in their own table, never in
// Account, so nothing that lists accounts can leak a hash.
type Credentials struct {
	Account       string    `json:"account"`
	PasswordHash  string    `json:"password_hash,omitempty"` // argon2id, PHC string
	PasswordSetAt time.Time `json:"password_set_at,omitzero"`
	Failures      int       `json:"failures,omitempty"` // failed sign-ins in a row
	LockedUntil   time.Time `json:"locked_until,omitzero"`
	TOTPSecret    string    `json:"totp_secret,omitempty"`
	// ActivationSHA256 is the hash of the one-time activation code of a person's account
	// (new, or reset), until ActivationExpires or its use.
	ActivationSHA256  string    `json:"activation_sha256,omitempty"`
	ActivationExpires time.Time `json:"activation_expires,omitzero"`
	// LastTOTPStep is the last TOTP time step accepted: a code is good once.
	LastTOTPStep uint64 `json:"last_totp_step,omitempty"`
}

// TokenGrants are the accounts a token (by its SHA-256) authenticates. The bootstrap token
// is granted to two accounts; every other token to one.
type TokenGrants struct {
	SHA256 string       `json:"sha256"`
	Grants []TokenGrant `json:"grants"`
}

// TokenGrant is one account's use of a token.
type TokenGrant struct {
	Account string    `json:"account"`
	ID      string    `json:"id"`
	Expires time.Time `json:"expires,omitzero"` // zero: no expiry
	Revoked bool      `json:"revoked,omitempty"`
}

// EndedSession is a session signed out before its idle limit.
type EndedSession struct {
	ID string    `json:"id"`
	At time.Time `json:"at"`
}

// Account operations. add_program and confirm are version 5's (三员分立).
const (
	AccountAdd        = "add"         // a person's account
	AccountAddProgram = "add_program" // a program's account
	AccountDisable    = "disable"
	AccountEnable     = "enable"
	AccountConfirm    = "confirm" // the second person confirms a privileged account
)

// AccountChange adds, disables, re-enables or confirms an account.
type AccountChange struct {
	Op         string // AccountAdd, AccountAddProgram, AccountDisable, AccountEnable, AccountConfirm
	ID         string
	Name       string
	Role       Role
	Department string
	Provider   string
}

func (*AccountChange) Type() CommandType { return TypeAccountChange }

func (b *AccountChange) encode(e *encoder) {
	e.str(b.Op)
	e.str(b.ID)
	e.str(b.Name)
	e.str(string(b.Role))
	e.str(b.Department)
	e.str(b.Provider)
}

func (b *AccountChange) decode(d *decoder) {
	b.Op, b.ID, b.Name = d.str(MaxIDLen), d.str(MaxIDLen), d.str(MaxTextLen)
	b.Role, b.Department, b.Provider = Role(d.str(MaxIDLen)), d.str(MaxIDLen), d.str(MaxIDLen)
}

func (b *AccountChange) validate(rl rules) *Error {
	if err := rl.id("account", b.ID, true); err != nil {
		return err
	}
	switch b.Op {
	case AccountDisable, AccountEnable:
		return nil
	case AccountConfirm:
		if !rl.separation {
			return Errf(errcode.InvalidValue, "op", "account op %q: want add, disable or enable", b.Op)
		}
		return nil
	case AccountAdd:
	case AccountAddProgram:
		if !rl.separation {
			return Errf(errcode.InvalidValue, "op", "account op %q: want add, disable or enable", b.Op)
		}
	default:
		return Errf(errcode.InvalidValue, "op", "account op %q: want add, add_program, disable, enable or confirm", b.Op)
	}
	if err := firstErr(required("name", b.Name), rl.text("name", b.Name, MaxTextLen)); err != nil {
		return err
	}
	if !b.Role.Valid() {
		return Errf(errcode.InvalidValue, "role", "unknown role %q", b.Role)
	}
	if err := firstErr(rl.id("department", b.Department, false), rl.id("provider", b.Provider, false)); err != nil {
		return err
	}
	if (b.Role == RoleDepartment) != (b.Department != "") {
		return Errf(errcode.InvalidValue, "department", "a department account, and only one, names its department")
	}
	if (b.Role == RoleProvider) != (b.Provider != "") {
		return Errf(errcode.InvalidValue, "provider", "a provider account, and only one, names its provider")
	}
	return nil
}

func (b *AccountChange) apply(t *txn, ctx applyContext) *Error {
	if ctx.rules.separation {
		return b.applySeparated(t, ctx)
	}
	a, ok := t.accounts.get(b.ID)
	if b.Op == "add" {
		if ok {
			return Errf(errcode.AccountExists, "account", "account %q exists", b.ID)
		}
		if b.Department != "" {
			if _, ok := t.departments.get(b.Department); !ok {
				return Errf(errcode.UnknownDepartment, "department", "unknown department %q", b.Department)
			}
		}
		if b.Provider != "" {
			if _, ok := t.providers.get(b.Provider); !ok {
				return Errf(errcode.UnknownProvider, "provider", "unknown provider %q", b.Provider)
			}
		}
		t.accounts.put(b.ID, &Account{ID: b.ID, Name: b.Name, Role: b.Role, Department: b.Department, Provider: b.Provider})
		return nil
	}
	if !ok {
		return Errf(errcode.UnknownAccount, "account", "unknown account %q", b.ID)
	}
	disabled := b.Op == "disable"
	if a.Disabled == disabled {
		return errUnchanged
	}
	n := *a
	n.Disabled = disabled
	t.accounts.put(b.ID, &n)
	return nil
}

// Credential operations. The activation ones are version 5's (三员分立): a person's
// account gets a one-time code (shown once to whoever created or reset it), with which the
// person sets their own password and TOTP key.
const (
	CredTokenIssued      = "token_issued"
	CredTokenRevoked     = "token_revoked"
	CredPasswordSet      = "password_set"
	CredTOTPSet          = "totp_set"
	CredTOTPRemoved      = "totp_removed"      // a person removes their own second factor (version 11)
	CredActivationIssued = "activation_issued" // a new code: the account's secrets are cleared until it is used
	CredActivated        = "activated"         // the person used the code
	// Secret-only operations (CredentialSecret): the code's hash, and the code presented.
	CredActivationCode = "activation_code"
	CredActivate       = "activate"
)

// ActivationValidity is how long an activation code stays good (SPEC: 72 h).
const ActivationValidity = 72 * time.Hour

// CredentialChange is the public record of a credential change: which account, which
// token, when it expires. It never holds a secret or a hash.
type CredentialChange struct {
	Op      string
	Account string
	TokenID string    // token_issued, token_revoked (empty: every token of the account)
	Expires time.Time // token_issued
}

func (*CredentialChange) Type() CommandType { return TypeCredentialChange }

func (b *CredentialChange) encode(e *encoder) {
	e.str(b.Op)
	e.str(b.Account)
	e.str(b.TokenID)
	e.tm(b.Expires)
}

func (b *CredentialChange) decode(d *decoder) {
	b.Op, b.Account, b.TokenID, b.Expires = d.str(MaxIDLen), d.str(MaxIDLen), d.str(MaxTokenIDLen), d.tm()
}

func (b *CredentialChange) validate(rl rules) *Error {
	switch b.Op {
	case CredTokenIssued, CredTokenRevoked, CredPasswordSet, CredTOTPSet:
	case CredActivationIssued, CredActivated:
		if !rl.separation {
			return Errf(errcode.InvalidValue, "op", "credential op %q", b.Op)
		}
	case CredTOTPRemoved:
		if !rl.totpRemoval {
			return Errf(errcode.InvalidValue, "op", "removing a TOTP key needs rules version 11 (the cluster is upgrading)")
		}
	default:
		return Errf(errcode.InvalidValue, "op", "credential op %q", b.Op)
	}
	if b.Op == CredTokenIssued && b.TokenID == "" {
		return Errf(errcode.MissingField, "token_id", "an issued token has an id")
	}
	return firstErr(rl.id("account", b.Account, true), rl.id("token_id", b.TokenID, false))
}

func (b *CredentialChange) apply(t *txn, ctx applyContext) *Error {
	target, ok := t.accounts.get(b.Account)
	if !ok {
		return Errf(errcode.UnknownAccount, "account", "unknown account %q", b.Account)
	}
	if ctx.rules.separation {
		if err := t.mayChangeCredential(b.Op, target, ctx); err != nil {
			return err
		}
	}
	switch b.Op {
	case CredTokenIssued:
		// The secret was staged by the CredentialSecret before it in the same request.
		found := false
		t.tokens.each(func(_ string, g *TokenGrants) {
			for _, x := range g.Grants {
				found = found || (x.Account == b.Account && x.ID == b.TokenID)
			}
		})
		invariant(found, InvCredentialStaged, "token %s/%s recorded without its hash", b.Account, b.TokenID)
	case CredTokenRevoked:
		n := 0
		var changed []*TokenGrants
		t.tokens.each(func(_ string, g *TokenGrants) {
			c := *g
			c.Grants = slices.Clone(g.Grants)
			hit := false
			for i, x := range c.Grants {
				if x.Account == b.Account && !x.Revoked && (b.TokenID == "" || x.ID == b.TokenID) {
					c.Grants[i].Revoked, hit = true, true
					n++
				}
			}
			if hit {
				changed = append(changed, &c)
			}
		})
		if n == 0 {
			return Errf(errcode.UnknownToken, "token_id", "account %q has no token in force%s", b.Account, tokenSuffix(b.TokenID))
		}
		for _, c := range changed {
			t.tokens.put(c.SHA256, c)
		}
	case CredPasswordSet, CredTOTPSet:
		c, ok := t.credentials.get(b.Account)
		invariant(ok && (b.Op != CredPasswordSet || c.PasswordHash != "") && (b.Op != CredTOTPSet || c.TOTPSecret != ""),
			InvCredentialStaged, "%s for %s recorded without its hash", b.Op, b.Account)
	case CredTOTPRemoved:
		if err := t.removeTOTP(target); err != nil {
			return err
		}
	case CredActivationIssued:
		c, ok := t.credentials.get(b.Account)
		invariant(ok && c.ActivationSHA256 != "", InvCredentialStaged, "an activation code for %s recorded without its hash", b.Account)
	case CredActivated:
		c, ok := t.credentials.get(b.Account)
		invariant(ok && c.ActivationSHA256 == "" && c.PasswordHash != "", InvCredentialStaged, "%s activated without using its code and setting a password", b.Account)
		t.endRecovery(b.Account, ctx)
	}
	if ctx.rules.separation {
		t.tellAuditors(b.Op, b.Account, ctx)
	}
	return nil
}

func tokenSuffix(id string) string {
	if id == "" {
		return ""
	}
	return " with id " + id
}

// CredentialSecret stores the hash of a new credential. The server puts it in the same
// request as the CredentialChange that records the fact; it writes no line item.
type CredentialSecret struct {
	Op      string // CredTokenIssued | CredPasswordSet | CredTOTPSet
	Account string
	TokenID string
	Secret  string // token: hex SHA-256; password: argon2id PHC string; TOTP: the base32 key
	Expires time.Time
}

func (*CredentialSecret) Type() CommandType { return TypeCredentialSecret }

func (b *CredentialSecret) encode(e *encoder) {
	e.str(b.Op)
	e.str(b.Account)
	e.str(b.TokenID)
	e.str(b.Secret)
	e.tm(b.Expires)
}

func (b *CredentialSecret) decode(d *decoder) {
	b.Op, b.Account, b.TokenID, b.Secret, b.Expires = d.str(MaxIDLen), d.str(MaxIDLen), d.str(MaxTokenIDLen), d.str(MaxTextLen), d.tm()
}

func (b *CredentialSecret) validate(rl rules) *Error {
	if err := firstErr(rl.id("account", b.Account, true), required("secret", b.Secret)); err != nil {
		return err
	}
	switch b.Op {
	case CredActivationCode, CredActivate:
		if !rl.separation {
			return Errf(errcode.InvalidValue, "op", "credential secret op %q", b.Op)
		}
		if raw, err := hex.DecodeString(b.Secret); err != nil || len(raw) != 32 {
			return Errf(errcode.InvalidValue, "secret", "not a hex SHA-256")
		}
		return nil
	case CredTokenIssued:
		if raw, err := hex.DecodeString(b.Secret); err != nil || len(raw) != 32 {
			return Errf(errcode.InvalidValue, "secret", "not a hex SHA-256")
		}
		return rl.id("token_id", b.TokenID, true)
	case CredPasswordSet, CredTOTPSet:
		return nil
	}
	return Errf(errcode.InvalidValue, "op", "credential secret op %q", b.Op)
}

func (b *CredentialSecret) apply(t *txn, ctx applyContext) *Error {
	a, ok := t.accounts.get(b.Account)
	if !ok {
		return Errf(errcode.UnknownAccount, "account", "unknown account %q", b.Account)
	}
	if ctx.rules.separation {
		if err := t.maySetSecret(b.Op, a, ctx); err != nil {
			return err
		}
	}
	switch b.Op {
	case CredTokenIssued:
		g, _ := t.tokens.get(b.Secret)
		n := &TokenGrants{SHA256: b.Secret}
		if g != nil {
			n.Grants = slices.Clone(g.Grants)
		}
		n.Grants = append(n.Grants, TokenGrant{Account: b.Account, ID: b.TokenID, Expires: b.Expires})
		t.tokens.put(b.Secret, n)
	case CredPasswordSet:
		c := t.credentialsOf(b.Account)
		c.PasswordHash, c.PasswordSetAt, c.Failures, c.LockedUntil = b.Secret, ctx.recordedAt, 0, time.Time{}
		t.credentials.put(b.Account, c)
	case CredTOTPSet:
		c := t.credentialsOf(b.Account)
		c.TOTPSecret, c.LastTOTPStep = b.Secret, 0
		t.credentials.put(b.Account, c)
	case CredActivationCode:
		// A new code: whatever the account could sign in with is gone, and so are its
		// sessions, until the person uses the code.
		c := t.credentialsOf(b.Account)
		c.ActivationSHA256, c.ActivationExpires = b.Secret, ctx.recordedAt.Add(ActivationValidity)
		c.PasswordHash, c.PasswordSetAt, c.TOTPSecret, c.LastTOTPStep, c.Failures, c.LockedUntil = "", time.Time{}, "", 0, 0, time.Time{}
		t.credentials.put(b.Account, c)
		n := *a
		n.SessionsFrom = ctx.recordedAt
		t.accounts.put(a.ID, &n)
	case CredActivate:
		c := t.credentialsOf(b.Account)
		if c.ActivationSHA256 == "" || c.ActivationSHA256 != b.Secret || !ctx.recordedAt.Before(c.ActivationExpires) {
			return Errf(errcode.Unauthenticated, "code", "wrong or expired activation code")
		}
		c.ActivationSHA256, c.ActivationExpires = "", time.Time{}
		t.credentials.put(b.Account, c)
	}
	return nil
}

// removeTOTP removes an account's TOTP key, unless its role requires one: a person's
// own step (mayChangeCredential), with no secret to stage.
func (t *txn) removeTOTP(a *Account) *Error {
	c, ok := t.credentials.get(a.ID)
	if !ok || c.TOTPSecret == "" {
		return Errf(errcode.InvalidValue, "account", "%s has no TOTP key to remove", a.ID)
	}
	if t.totpRequired(a.Role) {
		return Errf(errcode.PermissionDenied, "account", "the %s role signs in with a TOTP code: its key can be replaced, not removed", a.Role)
	}
	n := *c
	n.TOTPSecret, n.LastTOTPStep = "", 0
	t.credentials.put(a.ID, &n)
	return nil
}

// credentialsOf returns a copy of the account's credentials to change.
func (t *txn) credentialsOf(account string) *Credentials {
	if c, ok := t.credentials.get(account); ok {
		n := *c
		return &n
	}
	return &Credentials{Account: account}
}

// SignInAttempt records a password check, so that MaxFailedSignIns failures in a row lock
// the password on every node. The time is the proposal's.
type SignInAttempt struct {
	Account string
	OK      bool
}

func (*SignInAttempt) Type() CommandType { return TypeSignInAttempt }
func (b *SignInAttempt) encode(e *encoder) {
	e.str(b.Account)
	e.boolean(b.OK)
}
func (b *SignInAttempt) decode(d *decoder)        { b.Account, b.OK = d.str(MaxIDLen), d.boolean() }
func (b *SignInAttempt) validate(rl rules) *Error { return rl.id("account", b.Account, true) }

func (b *SignInAttempt) apply(t *txn, ctx applyContext) *Error {
	if _, ok := t.accounts.get(b.Account); !ok {
		return Errf(errcode.UnknownAccount, "account", "unknown account %q", b.Account)
	}
	c := t.credentialsOf(b.Account)
	if b.OK {
		if c.Failures == 0 {
			return nil
		}
		c.Failures = 0
	} else {
		c.Failures++
		if c.Failures >= MaxFailedSignIns {
			c.Failures, c.LockedUntil = 0, ctx.recordedAt.Add(LockoutDuration)
		}
	}
	t.credentials.put(b.Account, c)
	return nil
}

// SignInResult records a sign-in check like SignInAttempt, and the TOTP time step a good
// one used: a TOTP code is accepted once (SPEC: Access), on every node.
type SignInResult struct {
	Account  string
	OK       bool
	TOTPStep uint64 // 0: no TOTP code was used
}

func (*SignInResult) Type() CommandType { return TypeSignInResult }
func (b *SignInResult) encode(e *encoder) {
	e.str(b.Account)
	e.boolean(b.OK)
	e.uvarint(b.TOTPStep)
}
func (b *SignInResult) decode(d *decoder) {
	b.Account, b.OK, b.TOTPStep = d.str(MaxIDLen), d.boolean(), d.uvarint()
}
func (b *SignInResult) validate(rl rules) *Error { return rl.id("account", b.Account, true) }

func (b *SignInResult) apply(t *txn, ctx applyContext) *Error {
	if b.OK && b.TOTPStep > 0 {
		if c, ok := t.credentials.get(b.Account); ok && b.TOTPStep <= c.LastTOTPStep {
			return Errf(errcode.Unauthenticated, "totp_code", "the TOTP code was used already")
		}
	}
	if err := (&SignInAttempt{Account: b.Account, OK: b.OK}).apply(t, ctx); err != nil {
		return err
	}
	if b.OK && b.TOTPStep > 0 {
		c := t.credentialsOf(b.Account)
		c.LastTOTPStep = b.TOTPStep
		t.credentials.put(b.Account, c)
	}
	return nil
}

// SetSessionKey installs the key that signs console and API sessions on every node. The
// first key stays: a later one is ignored, so sessions survive a new leader.
type SetSessionKey struct{ Key string }

func (*SetSessionKey) Type() CommandType   { return TypeSessionKey }
func (b *SetSessionKey) encode(e *encoder) { e.str(b.Key) }
func (b *SetSessionKey) decode(d *decoder) { b.Key = d.str(MaxIDLen) }
func (b *SetSessionKey) validate(rules) *Error {
	if raw, err := hex.DecodeString(b.Key); err != nil || len(raw) != 32 {
		return Errf(errcode.InvalidValue, "key", "a session key is 32 bytes in hex")
	}
	return nil
}
func (b *SetSessionKey) apply(t *txn, _ applyContext) *Error {
	if v, _ := t.settings.get(metaSessionKey); v != "" {
		return nil
	}
	t.settings.put(metaSessionKey, b.Key)
	return nil
}

const metaSessionKey = "session_key"

// EndSession records a sign-out: the session is refused on every node from then on.
type EndSession struct{ ID string }

func (*EndSession) Type() CommandType          { return TypeSessionEnd }
func (b *EndSession) encode(e *encoder)        { e.str(b.ID) }
func (b *EndSession) decode(d *decoder)        { b.ID = d.str(MaxIDLen) }
func (b *EndSession) validate(rl rules) *Error { return rl.id("session", b.ID, true) }
func (b *EndSession) apply(t *txn, ctx applyContext) *Error {
	t.endedSessions.put(b.ID, &EndedSession{ID: b.ID, At: ctx.recordedAt})
	return nil
}

// BootstrapAccounts creates the first authority (`admin`) and security (`security`)
// accounts with the admin token as their credential. The leader proposes it once the
// admin token is installed, on new and on existing data directories alike.
type BootstrapAccounts struct{}

func (*BootstrapAccounts) Type() CommandType     { return TypeBootstrapAccount }
func (*BootstrapAccounts) encode(*encoder)       {}
func (*BootstrapAccounts) decode(*decoder)       {}
func (*BootstrapAccounts) validate(rules) *Error { return nil }
func (*BootstrapAccounts) apply(t *txn, _ applyContext) *Error {
	tok, _ := t.settings.get(metaAdminToken)
	if tok == "" {
		return Errf(errcode.Unavailable, "", "no admin token installed yet")
	}
	if _, ok := t.accounts.get(BootstrapAuthority); ok {
		return errUnchanged
	}
	if _, ok := t.accounts.get(BootstrapSecurity); ok {
		return errUnchanged
	}
	t.accounts.put(BootstrapAuthority, &Account{ID: BootstrapAuthority, Name: "主管部门管理员 (bootstrap)", Role: RoleAuthority})
	t.accounts.put(BootstrapSecurity, &Account{ID: BootstrapSecurity, Name: "安全管理员 (bootstrap)", Role: RoleSecurity})
	g, _ := t.tokens.get(tok)
	n := &TokenGrants{SHA256: tok}
	if g != nil {
		n.Grants = slices.Clone(g.Grants)
	}
	n.Grants = append(n.Grants, TokenGrant{Account: BootstrapAuthority, ID: BootstrapTokenID}, TokenGrant{Account: BootstrapSecurity, ID: BootstrapTokenID})
	t.tokens.put(tok, n)
	return nil
}

// Accounts lists every account, by id.
func (l *Ledger) Accounts() []Account {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]Account, 0, len(l.root.accounts.m))
	for _, a := range l.root.accounts.m {
		out = append(out, *a)
	}
	slices.SortFunc(out, func(a, b Account) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Account returns one account.
func (l *Ledger) Account(id string) (Account, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	a, ok := l.root.accounts.get(id)
	if !ok {
		return Account{}, false
	}
	return *a, true
}

// AccountCount is the number of accounts (zero until the bootstrap accounts exist).
func (l *Ledger) AccountCount() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.root.accounts.m)
}

// TokenGrants returns the grants of the token with that SHA-256 (hex).
func (l *Ledger) TokenGrants(sha256Hex string) []TokenGrant {
	l.mu.RLock()
	defer l.mu.RUnlock()
	g, ok := l.root.tokens.get(sha256Hex)
	if !ok {
		return nil
	}
	return slices.Clone(g.Grants)
}

// AccountTokens returns the token grants of one account (no hashes), by id.
func (l *Ledger) AccountTokens(account string) []TokenGrant {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []TokenGrant
	for _, g := range l.root.tokens.m {
		for _, x := range g.Grants {
			if x.Account == account {
				out = append(out, x)
			}
		}
	}
	slices.SortFunc(out, func(a, b TokenGrant) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// CredentialsOf returns an account's password state (the server checks passwords with it).
func (l *Ledger) CredentialsOf(account string) (Credentials, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	c, ok := l.root.credentials.get(account)
	if !ok {
		return Credentials{}, false
	}
	return *c, true
}

// SessionKey is the cluster's session-signing key, nil until installed.
func (l *Ledger) SessionKey() []byte {
	l.mu.RLock()
	defer l.mu.RUnlock()
	v, _ := l.root.settings.get(metaSessionKey)
	if v == "" {
		return nil
	}
	k, _ := hex.DecodeString(v)
	return k
}

// SessionEnded reports whether a session was signed out.
func (l *Ledger) SessionEnded(id string) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	_, ok := l.root.endedSessions.get(id)
	return ok
}

// DepartmentWithin reports whether department d is scope or below it (SPEC: a department
// account sees the departments below it through `parent`).
func (l *Ledger) DepartmentWithin(d, scope string) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.root.departmentWithin(d, scope)
}

// TypeSetTOTPRoles names the roles that must sign in with a second factor.
const TypeSetTOTPRoles CommandType = 30

func init() {
	register(TypeSetTOTPRoles, "totp_roles", writesLineItem, func() Body { return new(SetTOTPRoles) })
}

// SetTOTPRoles replaces the set of roles whose accounts must sign in with a TOTP code
// (SPEC: Access, "a TOTP second factor that a role can be required to use").
type SetTOTPRoles struct{ Roles []Role }

func (*SetTOTPRoles) Type() CommandType { return TypeSetTOTPRoles }

func (b *SetTOTPRoles) encode(e *encoder) {
	e.uvarint(uint64(len(b.Roles)))
	for _, r := range b.Roles {
		e.str(string(r))
	}
}

func (b *SetTOTPRoles) decode(d *decoder) {
	n := d.uvarint()
	if n > uint64(len(Roles)) {
		d.fail("roles")
		return
	}
	b.Roles = make([]Role, n)
	for i := range b.Roles {
		b.Roles[i] = Role(d.str(MaxIDLen))
	}
}

func (b *SetTOTPRoles) validate(rules) *Error {
	for i, r := range b.Roles {
		if !r.Valid() {
			return Errf(errcode.InvalidValue, "roles", "unknown role %q", r)
		}
		if i > 0 && b.Roles[i-1] >= r {
			return Errf(errcode.InvalidValue, "roles", "roles sorted and each once")
		}
	}
	return nil
}

func (b *SetTOTPRoles) apply(t *txn, _ applyContext) *Error {
	v := make([]string, len(b.Roles))
	for i, r := range b.Roles {
		v[i] = string(r)
	}
	joined := strings.Join(v, ",")
	if old, _ := t.settings.get(metaTOTPRoles); old == joined {
		return errUnchanged
	}
	t.settings.put(metaTOTPRoles, joined)
	return nil
}

const metaTOTPRoles = "totp_required_roles"

// TOTPRequired reports whether accounts of the role must sign in with a TOTP code.
func (l *Ledger) TOTPRequired(r Role) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.root.totpRequired(r)
}

func (t *txn) totpRequired(r Role) bool {
	v, _ := t.settings.get(metaTOTPRoles)
	return slices.Contains(strings.Split(v, ","), string(r))
}
