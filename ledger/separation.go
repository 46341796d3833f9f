package ledger

import (
	"fmt"

	"github.com/cloudledger/cloudledger/errcode"
)

// 三员分立 (SPEC: Access; issue 22), from proposal version 5. Whoever manages accounts never
// acts alone and never learns another's secret:
//   - a privileged account (authority, supervisor, finance, security, auditor) is Pending
//     until a second person confirms it — an authority confirms authority, supervisor and
//     finance accounts; a security account other than the creator confirms security and
//     auditor accounts, or, while there is none, an auditor, or, while there is neither (the
//     first auditor of a new cluster), an authority; the confirmer is never the creator and
//     never the bootstrap credential;
//   - the bootstrap credential only initialises: it creates the first security and the
//     first authority account (active at once) and the tokens of those two when they are
//     programs; the server refuses it once both exist (BootstrapRetired);
//   - a person's account gets a one-time activation code; the person sets their own
//     password and TOTP key with it and issues their own tokens; a program's tokens come
//     from security, a privileged program's only once it is confirmed;
//   - the last active auditor and the last active security account cannot be disabled;
//   - every step is a line item and a notice to the auditors.
// Accounts that existed before version 5 stay as they are (active).

// applySeparated is AccountChange.apply under version 5.
func (b *AccountChange) applySeparated(t *txn, ctx applyContext) *Error {
	actor, _ := t.accounts.get(ctx.actor)
	a, exists := t.accounts.get(b.ID)
	if actor != nil && actor.Bootstrap() && b.Op != AccountAdd && b.Op != AccountAddProgram {
		return Errf(errcode.PermissionDenied, "", "the bootstrap credential only initialises: it creates the first security and authority accounts, nothing else")
	}
	switch b.Op {
	case AccountAdd, AccountAddProgram:
		if exists {
			return Errf(errcode.AccountExists, "account", "account %q exists", b.ID)
		}
		if err := t.checkScope(b.Department, b.Provider); err != nil {
			return err
		}
		n := &Account{ID: b.ID, Name: b.Name, Role: b.Role, Department: b.Department, Provider: b.Provider,
			Program: b.Op == AccountAddProgram, CreatedBy: ctx.actor, Pending: b.Role.Privileged()}
		if actor != nil && actor.Bootstrap() {
			if (b.Role != RoleSecurity && b.Role != RoleAuthority) || t.hasAccountOfRole(b.Role) {
				return Errf(errcode.PermissionDenied, "role", "the bootstrap credential only initialises: it creates the first security and the first authority account, nothing else")
			}
			n.Pending = false // the first of each: nobody could confirm them yet
		}
		t.accounts.put(b.ID, n)
	case AccountConfirm:
		if !exists {
			return Errf(errcode.UnknownAccount, "account", "unknown account %q", b.ID)
		}
		if !a.Pending {
			return errUnchanged
		}
		if err := t.mayConfirm(actor, a); err != nil {
			return err
		}
		n := *a
		n.Pending, n.ConfirmedBy = false, ctx.actor
		t.accounts.put(b.ID, &n)
	case AccountDisable, AccountEnable:
		if !exists {
			return Errf(errcode.UnknownAccount, "account", "unknown account %q", b.ID)
		}
		disabled := b.Op == AccountDisable
		if a.Disabled == disabled {
			return errUnchanged
		}
		if disabled && a.Acts() && (a.Role == RoleAuditor || a.Role == RoleSecurity) && t.actingOfRole(a.Role, a.ID) == 0 {
			return Errf(errcode.LastOfRole, "account", "%s is the last active %s account: another must be active first (SPEC: Access, 三员分立)", a.ID, a.Role)
		}
		n := *a
		n.Disabled = disabled
		if disabled {
			n.SessionsFrom = ctx.recordedAt // its sessions end for good, re-enabled or not
		}
		t.accounts.put(b.ID, &n)
	}
	t.tellAuditors(b.Op, b.ID, ctx)
	return nil
}

func (t *txn) checkScope(department, provider string) *Error {
	if department != "" {
		if _, ok := t.departments.get(department); !ok {
			return Errf(errcode.UnknownDepartment, "department", "unknown department %q", department)
		}
	}
	if provider != "" {
		if _, ok := t.providers.get(provider); !ok {
			return Errf(errcode.UnknownProvider, "provider", "unknown provider %q", provider)
		}
	}
	return nil
}

// mayConfirm says whether actor may confirm the pending account a.
func (t *txn) mayConfirm(actor, a *Account) *Error {
	switch {
	case actor == nil:
		return Errf(errcode.PermissionDenied, "", "only an account confirms an account")
	case actor.Bootstrap():
		return Errf(errcode.PermissionDenied, "", "the bootstrap credential never confirms an account: a second person does")
	case !actor.Acts():
		return Errf(errcode.PermissionDenied, "", "account %s is not active", actor.ID)
	case actor.ID == a.CreatedBy:
		return Errf(errcode.PermissionDenied, "", "%s created %s: the confirmer is a second person, never the creator", actor.ID, a.ID)
	case actor.ID == a.ID:
		return Errf(errcode.PermissionDenied, "", "an account does not confirm itself")
	}
	want := t.confirmerRole(a)
	if actor.Role != want {
		return Errf(errcode.PermissionDenied, "", "a %s account is confirmed by a %s account (SPEC: Access, 三员分立)", a.Role, want)
	}
	return nil
}

// confirmerRole is the role that confirms a: an authority for the business roles; for
// security and auditor accounts a security account other than the creator, else an
// auditor, else (a new cluster's first auditor or second security officer) an authority.
func (t *txn) confirmerRole(a *Account) Role {
	switch a.Role {
	case RoleSecurity, RoleAuditor:
		if t.actingOfRole(RoleSecurity, a.CreatedBy) > 0 {
			return RoleSecurity
		}
		if t.actingOfRole(RoleAuditor, a.ID) > 0 {
			return RoleAuditor
		}
	}
	return RoleAuthority
}

// actingOfRole counts the accounts of a role that act now, not counting the bootstrap
// accounts nor the account except.
func (t *txn) actingOfRole(r Role, except string) int {
	n := 0
	t.accounts.each(func(_ string, a *Account) {
		if a.Role == r && a.Acts() && !a.Bootstrap() && a.ID != except {
			n++
		}
	})
	return n
}

// hasAccountOfRole reports whether any account of the role exists besides the bootstrap ones.
func (t *txn) hasAccountOfRole(r Role) bool {
	found := false
	t.accounts.each(func(_ string, a *Account) {
		found = found || (a.Role == r && !a.Bootstrap())
	})
	return found
}

// mayChangeCredential checks who records a credential change (CredentialChange, the line
// item) under version 5.
func (t *txn) mayChangeCredential(op string, target *Account, ctx applyContext) *Error {
	actor, _ := t.accounts.get(ctx.actor)
	self := ctx.actor == target.ID
	if actor != nil && actor.Bootstrap() && t.recovering() && op != CredActivationIssued {
		return Errf(errcode.PermissionDenied, "account", "a restored cluster's bootstrap credential only gives a security officer an activation code")
	}
	switch op {
	case CredTokenIssued:
		mayIssue := self && !target.Program || // a person issues their own tokens
			target.Program && actor != nil && actor.Role == RoleSecurity && actor.Acts() && (!actor.Bootstrap() || target.CreatedBy == actor.ID) // a program's come from security (the bootstrap: only for the accounts it made)
		switch {
		case !mayIssue:
			return Errf(errcode.PermissionDenied, "account", "a person's tokens are issued by that person, signed in; a program's (--program) by security")
		case target.Pending:
			return Errf(errcode.AwaitingConfirmation, "account", "%s waits for a second person's confirmation", target.ID)
		}
		return nil
	case CredTokenRevoked:
		if self || actor != nil && actor.Role == RoleSecurity && actor.Acts() && !actor.Bootstrap() {
			return nil
		}
		return Errf(errcode.PermissionDenied, "account", "tokens are revoked by their holder or by security")
	case CredActivationIssued:
		switch {
		case target.Program:
			return Errf(errcode.InvalidValue, "account", "%s is a program's account: it has tokens, not a password", target.ID)
		case actor != nil && actor.Role == RoleSecurity && actor.Acts() && (!actor.Bootstrap() || target.CreatedBy == actor.ID && !t.recovering()):
			return nil
		case actor != nil && actor.Bootstrap() && t.recovering():
			// A restored cluster: one security officer re-activates first, then resets the
			// others (backup.go) — never several at once by whoever holds the credential.
			if target.Role != RoleSecurity || !target.Acts() {
				return Errf(errcode.PermissionDenied, "account", "a restored cluster's bootstrap credential gives an activation code to an active security officer only")
			}
			if other := t.securityActivationPending(target.ID); other != "" {
				return Errf(errcode.PermissionDenied, "account", "security officer %s holds an activation code already: one officer re-activates, then resets the others", other)
			}
			return nil
		}
		return Errf(errcode.PermissionDenied, "account", "activation codes are issued by security")
	case CredActivated, CredPasswordSet, CredTOTPSet, CredTOTPRemoved:
		if self {
			return nil
		}
		return Errf(errcode.PermissionDenied, "account", "a person sets their own password and TOTP key; nobody else learns them")
	}
	return nil
}

// maySetSecret checks the secret staged beside a credential change: a password or TOTP
// key only by the account itself, an activation code only for a person's account.
func (t *txn) maySetSecret(op string, target *Account, ctx applyContext) *Error {
	switch op {
	case CredPasswordSet, CredTOTPSet, CredActivate:
		if ctx.actor != target.ID || target.Program {
			return Errf(errcode.PermissionDenied, "account", "a person sets their own password and TOTP key; nobody else learns them")
		}
	case CredActivationCode:
		if target.Program {
			return Errf(errcode.InvalidValue, "account", "%s is a program's account: it has tokens, not a password", target.ID)
		}
	}
	return nil
}

// tellAuditors raises a notice to the auditors of an account step (SPEC: every such step
// is a line item and a notice to the auditors).
func (t *txn) tellAuditors(op, account string, ctx applyContext) {
	t.raiseNotice(Notice{Kind: NoticeAccountChange, Party: NoticeToAuditor, Account: account, Actor: ctx.actor,
		Reason: fmt.Sprintf("%s %s by %s", op, account, ctx.actor)}, ctx)
}

// BootstrapRetired reports whether the first security and the first authority account
// exist (each besides the bootstrap ones): from then on the bootstrap credential does
// nothing (SPEC: Access).
func (l *Ledger) BootstrapRetired() bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.root.hasAccountOfRole(RoleSecurity) && l.root.hasAccountOfRole(RoleAuthority) && !l.root.recovering()
}
