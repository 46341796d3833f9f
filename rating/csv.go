package rating

import (
	"encoding/csv"
	"io"

	"github.com/cloudledger/cloudledger/interchange"
)

// Columns are the columns of charges.csv, in SPEC's order.
var Columns = interchange.ChargeColumns

// Record is a line as the strings of charges.csv: money with two places, the multiplier
// with four, the quantity as it is (no float formatting anywhere).
func (l Line) Record() []string {
	return []string{l.Month.String(), l.Department, l.Project, l.Provider, l.Item, string(l.Billing),
		l.Quantity.String(), l.Unit, l.BaseAmount.StringFixed(2), l.Multiplier.StringFixed(4), l.Amount.StringFixed(2)}
}

// WriteCSV writes charges.csv: the header, then one row per line, in the lines' order.
func WriteCSV(w io.Writer, lines []Line) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(Columns); err != nil {
		return err
	}
	for _, l := range lines {
		if err := cw.Write(l.Record()); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
