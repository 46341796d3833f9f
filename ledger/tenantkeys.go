package ledger

import (
	"strconv"
)

// Idempotency keys per tenant (SPEC: Access; issue 22), from proposal version 5: a
// provider's keys, a department's keys and the cloud-wide roles' keys are three kinds of
// namespaces, so one tenant can neither claim nor probe another's keys. The tenant is the
// acting account's scope (its provider, its department), "" for the cloud-wide roles and
// for actors that are not accounts (the system's own line items).
//
// The line item keeps the key as the client sent it; only the index is scoped. A tenant's
// key is indexed as scopedKey(tenant, key); the cloud-wide roles keep the plain key (the
// one namespace every key had before version 5). A tenant retrying, after the upgrade, a
// key it used before version 5 finds its old line item: the plain index is consulted for
// items before the first version-5 line item (metaScopedKeysFrom) of the same tenant.

// metaScopedKeysFrom is the settings key of the first line item written under version 5.
const metaScopedKeysFrom = "scoped_keys_from_seq"

// scopedKey is the index key of a tenant's key. NUL cannot be part of a key (validate
// refuses control characters), so no plain key looks like a scoped one.
func scopedKey(tenant, key string) string {
	if tenant == "" || key == "" {
		return key
	}
	return "\x00" + tenant + "\x00" + key
}

// KeyTenant is the idempotency-key namespace of an account: "provider:P",
// "department:D", or "" for the cloud-wide roles.
func KeyTenant(a *Account) string {
	switch {
	case a == nil:
		return ""
	case a.Provider != "":
		return "provider:" + a.Provider
	case a.Department != "":
		return "department:" + a.Department
	}
	return ""
}

func (t *txn) tenantOf(actor string) string {
	a, _ := t.accounts.get(actor)
	return KeyTenant(a)
}

// scopedFrom is the first line item written under version 5 (0: none yet).
func (t *txn) scopedFrom() uint64 {
	v, _ := t.settings.get(metaScopedKeysFrom)
	n, _ := strconv.ParseUint(v, 10, 64)
	return n
}

// markScoped records, once, that line items from the next one on are scoped.
func (t *txn) markScoped() {
	if t.scopedFrom() == 0 {
		t.settings.put(metaScopedKeysFrom, strconv.FormatUint(t.seq+1, 10))
	}
}

// indexKeyOf is the index key a stored line item's key is held under. It reads the accounts
// and the settings only: the open reads the key index beside the other tables once those two
// are loaded (keyScopeTable in store.go names them; a table read here must be named there).
func (t *txn) indexKeyOf(key, actor string, seq uint64) string {
	if from := t.scopedFrom(); from == 0 || seq < from {
		return key
	}
	return scopedKey(t.tenantOf(actor), key)
}

// lookupTenantKey finds what key means for tenant under version 5: its own scoped key,
// or a plain key it used before version 5.
func (t *txn) lookupTenantKey(tenant, key string) (rec keyRecord, pending, ok bool) {
	ik := scopedKey(tenant, key)
	if ik == key {
		return t.lookupKey(key)
	}
	if rec, pending, ok = t.lookupKey(ik); ok {
		return rec, pending, true
	}
	from := t.scopedFrom()
	mine := func(actor string, seq uint64) bool { return seq < from && t.tenantOf(actor) == tenant }
	for x := t; x != nil; x = x.parent {
		if r, ok := x.keys[key]; ok {
			return r, x.parent != nil, mine(r.Actor, r.Seq)
		}
	}
	rec, ok = t.store.storedKeyWhere(key, func(k, actor string, seq uint64) bool { return k == key && mine(actor, seq) })
	return rec, false, ok
}
