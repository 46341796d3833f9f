package rating

import (
	"testing"

	"github.com/cloudledger/cloudledger/ledger"
)

// Issue 12, item 3: an allocation line's quantity is unit-days and says so ("198400 GB·月"
// was printed for 6,400 GB held 31 days); a metered line's is the catalog unit.
func TestQuantityUnit(t *testing.T) {
	for _, c := range []struct {
		unit    string
		billing ledger.Billing
		want    string
	}{
		{"GB·月", ledger.BillingAllocation, "GB·天"},
		{"核·月", ledger.BillingAllocation, "核·天"},
		{"Mbps/月", ledger.BillingAllocation, "Mbps·天"},
		{"台", ledger.BillingAllocation, "台·天"},
		{"GB", ledger.BillingMetered, "GB"},
		{"次", ledger.BillingMetered, "次"},
	} {
		if got := QuantityUnit(&ledger.CatalogItem{Unit: c.unit, Billing: c.billing}); got != c.want {
			t.Errorf("%s %s: %q, want %q", c.unit, c.billing, got, c.want)
		}
	}
}
