package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"

	"github.com/cloudledger/cloudledger/errcode"
)

// as applies one request as actor and returns its result.
func (f *fixture) as(actor string, cmds ...Command) SubmissionResult {
	f.t.Helper()
	f.index++
	data := EncodeProposal(&Proposal{RecordedAt: f.now, Submissions: []Submission{{Actor: actor, Commands: cmds}}})
	if f.version != 0 {
		data[0] = f.version
	}
	res := f.l.ApplyBatch([]Entry{{Index: f.index, Data: data}})[0].(*ProposalResult)
	if res.Err != nil {
		f.t.Fatalf("proposal rejected: %v", res.Err)
	}
	return res.Submissions[0]
}

func (f *fixture) asOK(actor string, bodies ...Body) {
	f.t.Helper()
	cmds := make([]Command, len(bodies))
	for i, b := range bodies {
		cmds[i] = f.cmd(b)
	}
	if r := f.as(actor, cmds...); r.Err != nil {
		f.t.Fatalf("%s: want success, got %v", actor, r.Err)
	}
}

func (f *fixture) asRefused(code Code, actor string, bodies ...Body) *Error {
	f.t.Helper()
	before := f.digest()
	cmds := make([]Command, len(bodies))
	for i, b := range bodies {
		cmds[i] = f.cmd(b)
	}
	r := f.as(actor, cmds...)
	if r.Err == nil || r.Err.Code != code {
		f.t.Fatalf("%s: want %s, got %v", actor, code, r.Err)
	}
	if f.digest() != before {
		f.t.Fatalf("a refused request (%s) changed the ledger", code)
	}
	return r.Err
}

func add(id string, role Role, program bool) *AccountChange {
	op := AccountAdd
	if program {
		op = AccountAddProgram
	}
	return &AccountChange{Op: op, ID: id, Name: id, Role: role}
}

func (f *fixture) account(id string) Account {
	f.t.Helper()
	a, ok := f.l.Account(id)
	if !ok {
		f.t.Fatalf("no account %s", id)
	}
	return a
}

func sha(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

// bootstrapped is a version-5 ledger with the bootstrap accounts, the first security
// account sec1 and the first authority auth1 (programs), made with the bootstrap credential.
func bootstrapped(t *testing.T) *fixture {
	f := newFixture(t)
	f.ok(&SetAdminToken{TokenSHA256: sha("boot")}, &BootstrapAccounts{})
	f.asOK(BootstrapSecurity, add("sec1", RoleSecurity, true))
	f.asOK(BootstrapSecurity, add("auth1", RoleAuthority, true))
	return f
}

// Issue 22 (SPEC: Access, 三员分立): the bootstrap credential creates the first security and
// the first authority account, active at once, and nothing else; then it is retired.
func TestBootstrapOnlyInitialises(t *testing.T) {
	f := newFixture(t)
	f.ok(&SetAdminToken{TokenSHA256: sha("boot")}, &BootstrapAccounts{})
	f.asRefused(errcode.PermissionDenied, BootstrapSecurity, add("sup1", RoleSupervisor, false))
	f.asRefused(errcode.PermissionDenied, BootstrapSecurity, add("aud1", RoleAuditor, false))
	f.asOK(BootstrapSecurity, add("sec1", RoleSecurity, false))
	if f.l.BootstrapRetired() {
		t.Fatal("retired with only the first security account")
	}
	f.asRefused(errcode.PermissionDenied, BootstrapSecurity, add("sec2", RoleSecurity, false)) // not the first
	f.asOK(BootstrapSecurity, add("auth1", RoleAuthority, false))
	if a := f.account("auth1"); a.Pending || a.CreatedBy != BootstrapSecurity {
		t.Fatalf("the first authority: %+v", a)
	}
	if !f.l.BootstrapRetired() {
		t.Fatal("not retired once the first security and authority accounts exist")
	}
	f.asRefused(errcode.PermissionDenied, BootstrapSecurity, &AccountChange{Op: AccountDisable, ID: "sec1"})
	f.asRefused(errcode.PermissionDenied, BootstrapSecurity, &AccountChange{Op: AccountConfirm, ID: "auth1"})
}

// Issue 22, must show 1 (ledger half): a privileged account waits for a second person of
// the right role; the creator, the account itself and the bootstrap credential never
// confirm; the first auditor of a new cluster is confirmed by an authority, the second
// security officer by that auditor, the second auditor by the other security officer.
func TestPrivilegedAccountsNeedASecondPerson(t *testing.T) {
	f := bootstrapped(t)
	f.asOK("sec1", add("sup1", RoleSupervisor, true))
	if !f.account("sup1").Pending {
		t.Fatal("a supervisor account is active without confirmation")
	}
	f.asOK("sec1", &SetDepartment{Department: Department{ID: "edu", Name: "教育局", Funding: FundingBudget}},
		&AccountChange{Op: AccountAddProgram, ID: "edu-prog", Name: "教育局接口", Role: RoleDepartment, Department: "edu"})
	if f.account("edu-prog").Pending {
		t.Fatal("a department account waits for confirmation: only privileged ones do")
	}
	f.asRefused(errcode.UnknownDepartment, "sec1", &AccountChange{Op: AccountAddProgram, ID: "x", Name: "x", Role: RoleDepartment, Department: "nowhere"})
	f.asRefused(errcode.PermissionDenied, "sec1", &AccountChange{Op: AccountConfirm, ID: "sup1"}) // the creator
	f.asRefused(errcode.PermissionDenied, "sup1", &AccountChange{Op: AccountConfirm, ID: "sup1"}) // itself
	f.asRefused(errcode.PermissionDenied, BootstrapAuthority, &AccountChange{Op: AccountConfirm, ID: "sup1"})
	f.asOK("auth1", &AccountChange{Op: AccountConfirm, ID: "sup1"})
	if a := f.account("sup1"); a.Pending || a.ConfirmedBy != "auth1" {
		t.Fatalf("after confirmation: %+v", a)
	}

	f.asOK("sec1", add("aud1", RoleAuditor, true))
	f.asRefused(errcode.PermissionDenied, "sup1", &AccountChange{Op: AccountConfirm, ID: "aud1"}) // not the confirming role
	f.asOK("auth1", &AccountChange{Op: AccountConfirm, ID: "aud1"})                               // no other security, no auditor yet
	f.asOK("sec1", add("sec2", RoleSecurity, true))
	f.asRefused(errcode.PermissionDenied, "auth1", &AccountChange{Op: AccountConfirm, ID: "sec2"}) // an auditor exists now
	f.asOK("aud1", &AccountChange{Op: AccountConfirm, ID: "sec2"})
	f.asOK("sec2", add("aud2", RoleAuditor, true))
	f.asRefused(errcode.PermissionDenied, "aud1", &AccountChange{Op: AccountConfirm, ID: "aud2"}) // another security officer exists
	f.asOK("sec1", &AccountChange{Op: AccountConfirm, ID: "aud2"})

	// The last active auditor and security account stay.
	f.asOK("sec1", &AccountChange{Op: AccountDisable, ID: "aud2"})
	f.asRefused(errcode.LastOfRole, "sec1", &AccountChange{Op: AccountDisable, ID: "aud1"})
	f.asOK("sec1", &AccountChange{Op: AccountDisable, ID: "sec2"})
	f.asRefused(errcode.LastOfRole, "sec1", &AccountChange{Op: AccountDisable, ID: "sec1"})

	// Each step told the auditors.
	n := 0
	for _, no := range f.l.Notices(0, 1000) {
		if no.Party == NoticeToAuditor && no.Kind == NoticeAccountChange {
			n++
		}
	}
	// By hand: the bootstrap's sec1 and auth1 (2); sec1's sup1, edu-prog, aud1, sec2 and
	// sec2's aud2 (5); the confirmations of sup1, aud1, sec2, aud2 (4); the disables of aud2
	// and sec2 (2). Refused steps tell nothing (nothing of them is applied).
	if n != 13 {
		t.Fatalf("%d notices to the auditors, want 13", n)
	}
}

// Issue 22: nobody learns another's secret. Security issues a program's tokens (once it
// is confirmed), never a person's; a person issues their own; a password or TOTP key is
// set only by its account; an activation code works once, before it expires; a disable
// ends the account's sessions for good.
func TestNobodyLearnsAnothersSecret(t *testing.T) {
	f := bootstrapped(t)
	f.asOK("sec1", add("fin-prog", RoleFinance, true))
	tok := func(acct string) []Body {
		return []Body{&CredentialSecret{Op: CredTokenIssued, Account: acct, TokenID: "t1", Secret: sha(acct)},
			&CredentialChange{Op: CredTokenIssued, Account: acct, TokenID: "t1"}}
	}
	f.asRefused(errcode.AwaitingConfirmation, "sec1", tok("fin-prog")...)
	f.asOK("auth1", &AccountChange{Op: AccountConfirm, ID: "fin-prog"})
	f.asOK("sec1", tok("fin-prog")...)

	f.asOK("sec1", add("fin1", RoleFinance, false))
	f.asOK("auth1", &AccountChange{Op: AccountConfirm, ID: "fin1"})
	f.asRefused(errcode.PermissionDenied, "sec1", tok("fin1")...) // a person's token
	f.asRefused(errcode.PermissionDenied, "sec1",
		&CredentialSecret{Op: CredPasswordSet, Account: "fin1", Secret: "$argon2id$x"}, &CredentialChange{Op: CredPasswordSet, Account: "fin1"})
	f.asRefused(errcode.PermissionDenied, "sec1",
		&CredentialSecret{Op: CredTOTPSet, Account: "fin1", Secret: "JBSWY3DPEHPK3PXP"}, &CredentialChange{Op: CredTOTPSet, Account: "fin1"})

	code := func(c string) []Body {
		return []Body{&CredentialSecret{Op: CredActivationCode, Account: "fin1", Secret: sha(c)}, &CredentialChange{Op: CredActivationIssued, Account: "fin1"}}
	}
	f.asRefused(errcode.PermissionDenied, "auth1", code("c1")...) // security issues codes
	f.asOK("sec1", code("c1")...)
	activate := func(c string) []Body {
		return []Body{&CredentialSecret{Op: CredActivate, Account: "fin1", Secret: sha(c)},
			&CredentialSecret{Op: CredPasswordSet, Account: "fin1", Secret: "$argon2id$hash"}, &CredentialChange{Op: CredActivated, Account: "fin1"}}
	}
	f.asRefused(errcode.Unauthenticated, "fin1", activate("wrong")...)
	f.asRefused(errcode.PermissionDenied, "sec1", activate("c1")...) // the security officer who saw the code
	f.asOK("fin1", activate("c1")...)
	f.asRefused(errcode.Unauthenticated, "fin1", activate("c1")...) // once
	if c, _ := f.l.CredentialsOf("fin1"); c.PasswordHash != "$argon2id$hash" || c.ActivationSHA256 != "" {
		t.Fatalf("after activation: %+v", c)
	}
	f.asOK("fin1", tok("fin1")...) // their own token
	f.asRefused(errcode.PermissionDenied, "fin1", tok("fin-prog")...)

	f.asOK("sec1", code("c2")...) // a reset: the password is gone until the person uses the code
	if c, _ := f.l.CredentialsOf("fin1"); c.PasswordHash != "" {
		t.Fatal("a reset left the old password")
	}
	f.now = f.now.Add(ActivationValidity)
	f.asRefused(errcode.Unauthenticated, "fin1", activate("c2")...) // expired

	f.asOK("sec1", &AccountChange{Op: AccountDisable, ID: "fin1"})
	disabledAt := f.account("fin1").SessionsFrom
	f.now = f.now.Add(1)
	f.asOK("sec1", &AccountChange{Op: AccountEnable, ID: "fin1"})
	if got := f.account("fin1").SessionsFrom; !got.Equal(disabledAt) || got.IsZero() {
		t.Fatalf("sessions from %v after re-enabling, want %v", got, disabledAt)
	}
}

// Issue 22, must show 4 (ledger half): two providers using the same key both land; a
// retry by each returns its own line item; before version 5 the namespace was one (an old
// log replays as it was), and a provider retrying after the upgrade a key it used before
// finds its old line item. The index is rebuilt the same at open.
func TestIdempotencyKeysPerTenant(t *testing.T) {
	f := newFixture(t)
	f.version = 4
	f.ok(&SetProvider{Provider: Provider{ID: "p1", Name: "云一", ContractStart: day("2025-01-01"), ContractEnd: day("2027-12-31")}},
		&SetProvider{Provider: Provider{ID: "p2", Name: "云二", ContractStart: day("2025-01-01"), ContractEnd: day("2027-12-31")}})
	f.ok(&AccountChange{Op: AccountAdd, ID: "p1-am", Name: "p1", Role: RoleProvider, Provider: "p1"},
		&AccountChange{Op: AccountAdd, ID: "p2-am", Name: "p2", Role: RoleProvider, Provider: "p2"})
	dept := func(id string) Body {
		return &SetDepartment{Department: Department{ID: id, Name: id, Funding: FundingBudget}}
	}
	// Version 4: one namespace — p2 reusing p1's key with other content is a conflict.
	if r := f.as("p1-am", Command{Key: "old", Body: dept("d-old")}); r.Err != nil {
		t.Fatal(r.Err)
	}
	if r := f.as("p2-am", Command{Key: "old", Body: dept("d-other")}); r.Err == nil || r.Err.Code != errcode.IdempotencyConflict {
		t.Fatalf("version 4, another tenant's key: %v", r.Err)
	}

	f.version = 0 // version 5
	r1 := f.as("p1-am", Command{Key: "k", Body: dept("d1")})
	r2 := f.as("p2-am", Command{Key: "k", Body: dept("d2")})
	if r1.Err != nil || r2.Err != nil || r1.Items[0].Seq == r2.Items[0].Seq {
		t.Fatalf("two providers' key k: %+v %+v", r1, r2)
	}
	again := f.as("p2-am", Command{Key: "k", Body: dept("d2")})
	if again.Err != nil || !again.Items[0].Duplicate || again.Items[0].Seq != r2.Items[0].Seq {
		t.Fatalf("p2's retry: %+v", again)
	}
	conflict := f.as("p2-am", Command{Key: "k", Body: dept("d9")})
	if conflict.Err == nil || conflict.Err.Code != errcode.IdempotencyConflict || strings.Contains(conflict.Err.Message, "line item "+strconv.FormatUint(r1.Items[0].Seq, 10)) {
		t.Fatalf("p2's conflict: %v (must not name p1's line item)", conflict.Err)
	}
	old := f.as("p1-am", Command{Key: "old", Body: dept("d-old")})
	if old.Err != nil || !old.Items[0].Duplicate {
		t.Fatalf("p1 retrying its version-4 key after the upgrade: %+v", old)
	}
	if r := f.as("p2-am", Command{Key: "old", Body: dept("d-p2")}); r.Err != nil || r.Items[0].Duplicate {
		t.Fatalf("p2 using p1's version-4 key after the upgrade: %+v", r)
	}
	wide := f.as("test", Command{Key: "k", Body: dept("d-wide")})
	if wide.Err != nil || wide.Items[0].Duplicate {
		t.Fatalf("a cloud-wide key k beside the tenants': %+v", wide)
	}
	if li, ok := f.l.LineItemByKey("provider:p2", "k"); !ok || li.Seq != r2.Items[0].Seq {
		t.Fatalf("p2's k: %v %v", li, ok)
	}

	// Reopened: the index is rebuilt the same.
	path := f.l.path
	if err := f.l.Close(); err != nil {
		t.Fatal(err)
	}
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	f.l = l
	for _, c := range []struct {
		actor, key string
		seq        uint64
	}{{"p1-am", "k", r1.Items[0].Seq}, {"p2-am", "k", r2.Items[0].Seq}, {"test", "k", wide.Items[0].Seq}} {
		r := f.as(c.actor, Command{Key: c.key, Body: dept(map[string]string{"p1-am": "d1", "p2-am": "d2", "test": "d-wide"}[c.actor])})
		if r.Err != nil || !r.Items[0].Duplicate || r.Items[0].Seq != c.seq {
			t.Fatalf("after reopening, %s's %s: %+v, want line item %d", c.actor, c.key, r, c.seq)
		}
	}
}

// Issue 27 (SPEC: Access, a TOTP second factor that a role can be required to use): a
// person enrols, replaces and removes their own TOTP key, nobody else; a role that
// requires one keeps it (replaced, never removed); each step is a line item and a notice
// to the auditors; before rules version 11 the removal is refused, so a mixed cluster
// cannot part over it.
func TestAPersonChangesTheirOwnTOTP(t *testing.T) {
	f := bootstrapped(t)
	f.asOK("sec1", add("sup1", RoleSupervisor, false))
	f.asOK("auth1", &AccountChange{Op: AccountConfirm, ID: "sup1"})
	enrol := func(secret string) []Body {
		return []Body{&CredentialSecret{Op: CredTOTPSet, Account: "sup1", Secret: secret}, &CredentialChange{Op: CredTOTPSet, Account: "sup1"}}
	}
	removal := &CredentialChange{Op: CredTOTPRemoved, Account: "sup1"}
	f.asRefused(errcode.InvalidValue, "sup1", removal) // nothing to remove
	f.asOK("sup1", enrol("JBSWY3DPEHPK3PXP")...)
	f.asOK("sup1", enrol("KRSXG5CTMVRXEZLU")...) // a new key replaces the old
	if c, _ := f.l.CredentialsOf("sup1"); c.TOTPSecret != "KRSXG5CTMVRXEZLU" {
		t.Fatalf("after re-enrolling: %+v", c)
	}
	f.asRefused(errcode.PermissionDenied, "sec1", removal)
	f.asRefused(errcode.PermissionDenied, "sec1", enrol("MFRGGZDFMZTWQ2LK")...)

	f.asOK("sec1", &SetTOTPRoles{Roles: []Role{RoleSupervisor}})
	f.asRefused(errcode.PermissionDenied, "sup1", removal) // the role requires it
	f.asOK("sup1", enrol("MFRGGZDFMZTWQ2LK")...)           // replaced, still
	f.asOK("sec1", &SetTOTPRoles{})

	f.version = 10
	f.asRefused(errcode.InvalidValue, "sup1", removal)
	f.version = 0
	f.asOK("sup1", removal)
	if c, _ := f.l.CredentialsOf("sup1"); c.TOTPSecret != "" || c.LastTOTPStep != 0 {
		t.Fatalf("after removing: %+v", c)
	}
	n := 0
	for _, no := range f.l.Notices(0, 1000) {
		if no.Party == NoticeToAuditor && no.Kind == NoticeAccountChange && no.Account == "sup1" &&
			(strings.HasPrefix(no.Reason, CredTOTPSet) || strings.HasPrefix(no.Reason, CredTOTPRemoved)) {
			n++
		}
	}
	if n != 4 { // three keys set, one removal
		t.Fatalf("%d notices to the auditors of sup1's TOTP steps, want 4", n)
	}
}
