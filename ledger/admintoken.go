package ledger

import (
	"encoding/hex"

	"github.com/cloudledger/cloudledger/errcode"
)

// TypeSetAdminToken replaces the SHA-256 of the admin token every node checks requests against.
const TypeSetAdminToken CommandType = 9

// TypeInstallAdminToken installs it as bookkeeping, without a line item: a new cluster's
// bootstrap uses it, so that no hash of a credential is in the chain (SPEC: Access). Ledgers
// bootstrapped before keep their SetAdminToken line item; history is never rewritten.
const TypeInstallAdminToken CommandType = 29

func init() {
	register(TypeSetAdminToken, "admin_token", writesLineItem, func() Body { return new(SetAdminToken) })
	register(TypeInstallAdminToken, "admin_token_secret", noLineItem, func() Body { return new(InstallAdminToken) })
}

// InstallAdminToken is SetAdminToken as bookkeeping.
type InstallAdminToken struct{ SetAdminToken }

func (*InstallAdminToken) Type() CommandType { return TypeInstallAdminToken }

func (b *InstallAdminToken) apply(t *txn, ctx applyContext) *Error {
	if err := b.SetAdminToken.apply(t, ctx); err != errUnchanged {
		return err
	}
	return nil
}

// SetAdminToken replaces the SHA-256 of the admin token every node checks requests against.
type SetAdminToken struct{ TokenSHA256 string }

func (*SetAdminToken) Type() CommandType { return TypeSetAdminToken }

func (b *SetAdminToken) encode(e *encoder) { e.str(b.TokenSHA256) }

func (b *SetAdminToken) decode(d *decoder) { b.TokenSHA256 = d.str(MaxIDLen) }

func (b *SetAdminToken) validate(rl rules) *Error {
	if raw, err := hex.DecodeString(b.TokenSHA256); err != nil || len(raw) != 32 {
		return Errf(errcode.InvalidValue, "token", "not a hex SHA-256")
	}
	return nil
}

func (b *SetAdminToken) apply(t *txn, _ applyContext) *Error {
	if old, _ := t.settings.get(metaAdminToken); old == b.TokenSHA256 {
		return errUnchanged
	}
	t.settings.put(metaAdminToken, b.TokenSHA256)
	return nil
}

const metaAdminToken = "admin_token_sha256"
