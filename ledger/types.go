package ledger

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
)

// Funding says who pays a department's fees (SPEC: Settlement, SH 27).
type Funding string

const (
	FundingBudget Funding = "budget" // 财政预算单位: fees go into next year's budget
	FundingSelf   Funding = "self"   // 非本市财政预算单位: pays its providers itself
)

// Billing is how a catalog item is rated (SPEC: Rating).
type Billing string

const (
	BillingAllocation Billing = "allocation" // price per unit per month, prorated by day
	BillingMetered    Billing = "metered"    // price per unit consumed
)

// Proration is the policy of RATING_DEFAULTS.md for allocation billing.
type Proration string

const (
	ProrationDaily   Proration = "daily"
	ProrationMonthly Proration = "monthly"
)

// ResourceKind is a resource kind (SPEC: Ledger, SH 19–24).
type ResourceKind string

const (
	KindStandard  ResourceKind = "standard"
	KindTest      ResourceKind = "test"
	KindDev       ResourceKind = "dev"
	KindEmergency ResourceKind = "emergency"
	KindTemporary ResourceKind = "temporary"
)

// Op is a line item operation on a resource.
type Op string

const (
	OpAllocate Op = "allocate"
	OpExpand   Op = "expand"
	OpReduce   Op = "reduce"
	OpReclaim  Op = "reclaim"
	OpUsage    Op = "usage"
	OpExtend   Op = "extend"
	OpExpire   Op = "expire" // written by the ledger itself, never accepted from outside
)

// Department is a using unit (使用单位).
type Department struct {
	ID      string  `json:"department"`
	Name    string  `json:"name"`
	Parent  string  `json:"parent,omitempty"`
	Funding Funding `json:"funding"`
}

// Provider is a cloud provider (云服务商) under contract.
type Provider struct {
	ID            string        `json:"provider"`
	Name          string        `json:"name"`
	ContractStart calendar.Date `json:"contract_start"`
	ContractEnd   calendar.Date `json:"contract_end"`
}

// Project is an information system with a quota per quota class.
type Project struct {
	ID         string                     `json:"project"`
	Department string                     `json:"department"`
	Name       string                     `json:"name"`
	Quotas     map[string]decimal.Decimal `json:"quotas"`
	Closed     bool                       `json:"closed,omitempty"`
}

// PriceVersion is a catalog price in force from a day on; Provider "" is the default price.
type PriceVersion struct {
	Provider      string          `json:"provider,omitempty"`
	EffectiveFrom calendar.Date   `json:"effective_from"`
	Price         decimal.Decimal `json:"price"`
}

// CatalogItem is a priced entry of the service catalog (服务目录).
type CatalogItem struct {
	ID         string         `json:"item"`
	Name       string         `json:"name"`
	Category   string         `json:"category"`
	Unit       string         `json:"unit"`
	Billing    Billing        `json:"billing"`
	QuotaClass string         `json:"quota_class,omitempty"`
	Proration  Proration      `json:"proration"`
	Prices     []PriceVersion `json:"prices"` // sorted by (provider, effective_from)
}

// Resource is a cloud resource (云资源) as the line items so far have left it.
type Resource struct {
	ID         string          `json:"resource"`
	Department string          `json:"department"`
	Project    string          `json:"project"`
	Provider   string          `json:"provider"`
	Item       string          `json:"item"`
	Kind       ResourceKind    `json:"kind"`
	QuotaClass string          `json:"quota_class,omitempty"` // the item's class when allocated
	Billing    Billing         `json:"billing"`
	Quantity   decimal.Decimal `json:"quantity"` // held now (allocation) or consumed in total (metered)
	Opened     time.Time       `json:"opened"`
	LastTime   time.Time       `json:"last_time"`         // effective time of the latest op
	Expires    time.Time       `json:"expires,omitempty"` // zero: not time-limited
	Closed     bool            `json:"closed,omitempty"`
	// Expired (version 3 on) marks a resource closed by its expiry rather than reclaimed:
	// an operation dated before the expiry may still arrive (late history), against
	// HeldAtExpiry, what it held until the expiry as the ledger knows it so far.
	Expired      bool            `json:"expired,omitempty"`
	HeldAtExpiry decimal.Decimal `json:"held_at_expiry,omitzero"`
}

// countsTowardQuota reports whether a kind is part of A in SPEC's Quota rule.
func (k ResourceKind) countsTowardQuota() bool {
	return k == KindStandard || k == KindTest || k == KindDev
}

func (k ResourceKind) valid() bool {
	switch k {
	case KindStandard, KindTest, KindDev, KindEmergency, KindTemporary:
		return true
	}
	return false
}

// timeLimited reports whether a resource of kind k has an expiry.
func (k ResourceKind) timeLimited() bool {
	_, limited := k.maxExpiry(calendar.Date{})
	return limited
}

// maxExpiry is the latest allowed expiry day for a time-limited resource of kind k
// opened (or last expiring) on day d (SPEC: Ledger, resource kinds table).
func (k ResourceKind) maxExpiry(d calendar.Date) (calendar.Date, bool) {
	switch k {
	case KindTest:
		return d.AddDays(30), true
	case KindDev, KindEmergency:
		return d.AddMonths(3), true
	case KindTemporary:
		return d.AddMonths(6), true
	}
	return calendar.Date{}, false
}

// ExpiryDay is the last day a time-limited resource is held: an expiry given as a date means
// the end of that day, stored as the next day's 00:00 (Asia/Shanghai).
func ExpiryDay(expires time.Time) calendar.Date {
	return calendar.DateOf(expires.Add(-time.Nanosecond))
}
