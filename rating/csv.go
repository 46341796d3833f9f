package rating

import (
	"github.com/cloudledger/cloudledger/csvfile"
	"github.com/cloudledger/cloudledger/money"
	"io"
	"strings"

	"github.com/cloudledger/cloudledger/interchange"
	"github.com/cloudledger/cloudledger/ledger"
)

// Columns are the columns of charges.csv, in SPEC's order.
var Columns = interchange.ChargeColumns

// Record is a line as the strings of charges.csv: money with two places, the multiplier
// with four, the quantity as it is (no float formatting anywhere).
func (l Line) Record() []string {
	return []string{l.Month.String(), l.Department, l.Project, l.Provider, l.Item, string(l.Billing),
		l.Quantity.String(), l.Unit, money.Text(l.BaseAmount), money.Multiplier(l.Multiplier), money.Text(l.Amount)}
}

// WriteCSV writes charges.csv: the header, then one row per line, in the lines' order.
func WriteCSV(w io.Writer, lines []Line) error {
	cw, err := csvfile.New(w, false)
	if err != nil {
		return err
	}
	if err := cw.Write(Columns); err != nil {
		return err
	}
	for _, l := range lines {
		if err := cw.Write(l.Record()); err != nil {
			return err
		}
	}
	return cw.Flush()
}

// QuantityUnit is what a charge line's quantity counts (SPEC: Rating): unit-days of the
// item's base unit for allocation billing ("GB·天" for an item priced per "GB·月": 6,400 GB
// held 31 days is 198,400 GB·天), the catalog unit for metered billing.
func QuantityUnit(item *ledger.CatalogItem) string {
	if item.Billing == ledger.BillingMetered {
		return item.Unit
	}
	return BaseUnit(item.Unit) + "·天"
}

// BaseUnit is a catalog unit without its period: "GB·月" → "GB", "核/月" → "核".
func BaseUnit(unit string) string {
	for _, suffix := range []string{"·月", "/月", "／月", "/month", "·month"} {
		if u, ok := strings.CutSuffix(unit, suffix); ok && u != "" {
			return u
		}
	}
	return unit
}
