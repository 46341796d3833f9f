package ledger

import (
	"slices"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	"github.com/shopspring/decimal"
)

// TypeSetCatalogPrice creates or updates a catalog item and one price version (catalog.csv).
const TypeSetCatalogPrice CommandType = 5

func init() {
	register(TypeSetCatalogPrice, "catalog_price", writesLineItem, func() Body { return new(SetCatalogPrice) })
}

// SetCatalogPrice creates or updates a catalog item and one price version (catalog.csv).
type SetCatalogPrice struct {
	Item          string
	Name          string
	Category      string
	Unit          string
	Billing       Billing
	QuotaClass    string
	Proration     Proration
	Price         decimal.Decimal
	Provider      string // "" = the default price for all providers
	EffectiveFrom calendar.Date
}

func (*SetCatalogPrice) Type() CommandType { return TypeSetCatalogPrice }

func (b *SetCatalogPrice) encode(e *encoder) {
	e.str(b.Item)
	e.str(b.Name)
	e.str(b.Category)
	e.str(b.Unit)
	e.str(string(b.Billing))
	e.str(b.QuotaClass)
	e.str(string(b.Proration))
	e.dec(b.Price)
	e.str(b.Provider)
	e.date(b.EffectiveFrom)
}

func (b *SetCatalogPrice) decode(d *decoder) {
	b.Item = d.str(MaxIDLen)
	b.Name = d.str(MaxTextLen)
	b.Category = d.str(MaxTextLen)
	b.Unit = d.str(MaxTextLen)
	b.Billing = Billing(d.str(MaxIDLen))
	b.QuotaClass = d.str(MaxIDLen)
	b.Proration = Proration(d.str(MaxIDLen))
	b.Price = d.dec()
	b.Provider = d.str(MaxIDLen)
	b.EffectiveFrom = d.date()
}

func (b *SetCatalogPrice) validate(rl rules) *Error {
	if err := firstErr(rl.id("item", b.Item, true), rl.text("name", b.Name, MaxTextLen), required("name", b.Name),
		rl.text("category", b.Category, MaxTextLen), rl.text("unit", b.Unit, MaxTextLen), required("unit", b.Unit),
		rl.id("quota_class", b.QuotaClass, false), nonNegative("price", b.Price), rl.id("provider", b.Provider, false),
		dateInRange("effective_from", b.EffectiveFrom)); err != nil {
		return err
	}
	if b.Billing != BillingAllocation && b.Billing != BillingMetered {
		return Errf(errcode.InvalidValue, "billing", "billing must be allocation or metered, not %q", b.Billing)
	}
	if b.Proration != ProrationDaily && b.Proration != ProrationMonthly {
		return Errf(errcode.InvalidValue, "proration", "proration must be daily or monthly, not %q", b.Proration)
	}
	return nil
}

func (b *SetCatalogPrice) apply(t *txn, _ applyContext) *Error {
	if b.Provider != "" {
		if _, ok := t.providers.get(b.Provider); !ok {
			return Errf(errcode.UnknownProvider, "provider", "unknown provider %q", b.Provider)
		}
	}
	n := &CatalogItem{ID: b.Item, Name: b.Name, Category: b.Category, Unit: b.Unit, Billing: b.Billing, QuotaClass: b.QuotaClass, Proration: b.Proration}
	old, exists := t.items.get(b.Item)
	if exists {
		if old.Billing != b.Billing || old.QuotaClass != b.QuotaClass || old.Proration != b.Proration {
			return Errf(errcode.CatalogConflict, "billing", "item %q is %s/%s/%s; billing, quota class and proration cannot change (add a new item)",
				b.Item, old.Billing, old.QuotaClass, old.Proration)
		}
		n.Prices = slices.Clone(old.Prices)
	}
	pv := PriceVersion{Provider: b.Provider, EffectiveFrom: b.EffectiveFrom, Price: b.Price}
	i, found := slices.BinarySearchFunc(n.Prices, pv, comparePriceVersion)
	if !found || !n.Prices[i].Price.Equal(b.Price) {
		// The version is in force until the next one of the same provider.
		var until calendar.Date
		for _, v := range n.Prices {
			if v.Provider == b.Provider && v.EffectiveFrom.After(b.EffectiveFrom) && (until.IsZero() || v.EffectiveFrom.Before(until)) {
				until = v.EffectiveFrom
			}
		}
		if y, ok := t.auditedOverlap(b.EffectiveFrom, until); ok {
			return errAudited("effective_from", y)
		}
	}
	if found {
		if n.Prices[i].Price.Equal(b.Price) && old.Name == b.Name && old.Category == b.Category && old.Unit == b.Unit {
			return errUnchanged
		}
		if !n.Prices[i].Price.Equal(b.Price) && t.isClosed(calendar.MonthOf(b.EffectiveFrom)) {
			return Errf(errcode.PeriodClosed, "effective_from", "the price of %q from %s is in closed month %s and cannot change", b.Item, b.EffectiveFrom, calendar.MonthOf(b.EffectiveFrom))
		}
		n.Prices[i] = pv
	} else {
		if t.isClosed(calendar.MonthOf(b.EffectiveFrom)) {
			return Errf(errcode.PeriodClosed, "effective_from", "a price effective %s would change closed month %s", b.EffectiveFrom, calendar.MonthOf(b.EffectiveFrom))
		}
		n.Prices = slices.Insert(n.Prices, i, pv)
	}
	t.items.put(n.ID, n)
	return nil
}

func comparePriceVersion(a, b PriceVersion) int {
	if a.Provider != b.Provider {
		if a.Provider < b.Provider {
			return -1
		}
		return 1
	}
	return a.EffectiveFrom.Compare(b.EffectiveFrom)
}
