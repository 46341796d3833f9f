package apimap

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/interchange"
	"github.com/cloudledger/cloudledger/ledger"
)

func fields(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func toBandTable(t *v1.BandTable) (*ledger.SetBandTable, *errcode.Error) {
	from, err := calendar.ParseDate(t.GetEffectiveFrom())
	if err != nil {
		return nil, errcode.Errf(errcode.InvalidDate, "effective_from", "%v", err)
	}
	out := &ledger.SetBandTable{Table: ledger.BandTable{EffectiveFrom: from}}
	if len(t.GetBands()) > ledger.MaxBands {
		return nil, errcode.Errf(errcode.InvalidBandTable, "bands", "at most %d bands", ledger.MaxBands)
	}
	for i, b := range t.GetBands() {
		var band ledger.Band
		for _, f := range []struct {
			name string
			s    string
			into *decimal.Decimal
		}{{"min_score", b.MinScore, &band.MinScore}, {"max_score", b.MaxScore, &band.MaxScore}, {"multiplier", b.Multiplier, &band.Multiplier}} {
			d, err := ledger.ParseDecimal(f.s)
			if err != nil {
				return nil, errcode.Errf(errcode.InvalidBandTable, f.name, "band %d: %s %q is not a number", i+1, f.name, f.s)
			}
			*f.into = d
		}
		out.Table.Bands = append(out.Table.Bands, band)
	}
	return out, nil
}

// BandTable is the API form of a band table, in the one form the band table has: its
// decimals exact (a multiplier of 0.955 is 0.955, not 0.96).
func BandTable(t ledger.BandTable) *v1.BandTable {
	out := &v1.BandTable{}
	if t.EffectiveFrom.Valid() {
		out.EffectiveFrom = t.EffectiveFrom.String()
	}
	for _, b := range t.Bands {
		out.Bands = append(out.Bands, &v1.Band{MinScore: b.MinScore.String(), MaxScore: b.MaxScore.String(), Multiplier: b.Multiplier.String()})
	}
	return out
}

// EventRecordParser parses single JSON-lines records of events (Kafka messages) into ledger
// commands, with the rules and codes of a file row. It is not safe for concurrent use.
type EventRecordParser struct{ p *interchange.RecordParser }

// NewEventRecordParser returns a parser of events records.
func NewEventRecordParser() (*EventRecordParser, error) {
	p, err := interchange.NewRecordParser(interchange.KindEvents)
	if err != nil {
		return nil, err
	}
	return &EventRecordParser{p: p}, nil
}

// Parse decodes one record; a record without a "key" of its own gets defaultKey (see
// interchange.RecordParser.Parse).
func (p *EventRecordParser) Parse(value []byte, defaultKey string) (ledger.Command, *errcode.Error) {
	c, err := p.p.Parse(value, defaultKey)
	if err != nil {
		return ledger.Command{}, err
	}
	return Command(c)
}

// protoTime is t as RFC 3339 with its offset, "" for the zero time.
func protoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

// eventQuantity is an event's quantity, "" for the operations that carry none (reclaim,
// extend), as in events.csv.
func eventQuantity(e *ledger.Event) string {
	switch e.Op {
	case ledger.OpReclaim, ledger.OpExtend:
		if e.Quantity.IsZero() {
			return ""
		}
	}
	return e.Quantity.String()
}

// dateText is a date as the API carries it, "" for none.
func dateText(d calendar.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}
