package apimap

import (
	"encoding/json"
	"github.com/cloudledger/cloudledger/money"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/interchange"
	"github.com/cloudledger/cloudledger/ledger"
)

// Command converts an API command into a ledger command that has passed
// ledger.ValidateCommand, with the same field parsers for every source.
func Command(c *v1.Command) (ledger.Command, *errcode.Error) {
	out := ledger.Command{Key: c.GetKey()}
	var err *errcode.Error
	switch b := c.GetBody().(type) {
	case *v1.Command_Event:
		e := b.Event
		// A switch, not a map: this runs for every event of every import.
		out.Body, err = ParseEvent(func(k string) string {
			switch k {
			case "op":
				return e.Op
			case "time":
				return e.Time
			case "department":
				return e.Department
			case "project":
				return e.Project
			case "provider":
				return e.Provider
			case "resource":
				return e.Resource
			case "item":
				return e.Item
			case "kind":
				return e.Kind
			case "quantity":
				return e.Quantity
			case "expires":
				return e.Expires
			}
			return ""
		})
	case *v1.Command_Department:
		d := b.Department
		out.Body, err = ParseDepartment(fields(map[string]string{
			"department": d.Department, "name": d.Name, "parent": d.Parent, "funding": d.Funding,
		}))
	case *v1.Command_Provider:
		p := b.Provider
		out.Body, err = ParseProvider(fields(map[string]string{
			"provider": p.Provider, "name": p.Name, "contract_start": p.ContractStart, "contract_end": p.ContractEnd,
		}))
	case *v1.Command_ProjectQuota:
		p := b.ProjectQuota
		out.Body, err = ParseProjectQuota(fields(map[string]string{
			"project": p.Project, "department": p.Department, "name": p.Name, "quota_class": p.QuotaClass, "quota": p.Quota,
		}))
	case *v1.Command_CatalogPrice:
		p := b.CatalogPrice
		out.Body, err = ParseCatalogPrice(fields(map[string]string{
			"item": p.Item, "name": p.Name, "category": p.Category, "unit": p.Unit, "billing": p.Billing,
			"quota_class": p.QuotaClass, "price": p.Price, "provider": p.Provider, "effective_from": p.EffectiveFrom, "proration": p.Proration,
		}))
	case *v1.Command_ApprovalGrant:
		a := b.ApprovalGrant
		ceiling, perr := ledger.ParseDecimal(a.Ceiling)
		if perr != nil {
			le := errcode.Errf(errcode.InvalidQuantity, "ceiling", "%v", perr.(*errcode.Error).Message)
			return out, le
		}
		g := &ledger.GrantApproval{Department: strings.TrimSpace(a.Department), QuotaClass: strings.TrimSpace(a.QuotaClass), Ceiling: ceiling, Ref: strings.TrimSpace(a.Ref)}
		if s := strings.TrimSpace(a.Expires); s != "" {
			if g.Expires, err = parseDate("expires", s); err != nil {
				return out, err
			}
		}
		out.Body = g
	case *v1.Command_ApprovalRevoke:
		a := b.ApprovalRevoke
		out.Body = &ledger.RevokeApproval{Department: strings.TrimSpace(a.Department), QuotaClass: strings.TrimSpace(a.QuotaClass), Ref: strings.TrimSpace(a.Ref)}
	case *v1.Command_PeriodClose:
		m, perr := calendar.ParseMonth(b.PeriodClose.Month)
		if perr != nil {
			return out, errcode.Errf(errcode.InvalidValue, "month", "%v", perr)
		}
		out.Body = &ledger.ClosePeriod{Month: m}
	case *v1.Command_CalendarYear:
		s, perr := calendar.ParseYearSchedule([]byte(b.CalendarYear.Json))
		if perr != nil {
			return out, errcode.Errf(errcode.InvalidValue, "json", "%v", perr)
		}
		out.Body = &ledger.LoadCalendar{Schedule: s}
	case *v1.Command_Evaluation:
		e := b.Evaluation
		out.Body, err = ParseEvaluation(fields(map[string]string{
			"provider": e.Provider, "from": e.From, "to": e.To, "score": e.Score,
		}))
	case *v1.Command_BandTable:
		out.Body, err = toBandTable(b.BandTable)
	case *v1.Command_SettlementWindow:
		out.Body = &ledger.SetSettlementWindow{EndMonth: int(b.SettlementWindow.GetEndMonth())}
	case *v1.Command_ImportLease:
		l := &ledger.ImportLease{ID: strings.TrimSpace(b.ImportLease.GetId()), Release: b.ImportLease.GetRelease()}
		for _, s := range b.ImportLease.GetMonths() {
			m, perr := calendar.ParseMonth(s)
			if perr != nil {
				return out, errcode.Errf(errcode.InvalidValue, "months", "%v", perr)
			}
			l.Months = append(l.Months, m)
		}
		out.Body = l
	default:
		return out, errcode.Errf(errcode.MissingField, "body", "a command needs a body")
	}
	if err != nil {
		return out, err
	}
	if verr := ledger.ValidateCommand(out); verr != nil {
		return out, verr
	}
	return out, nil
}

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

// BandTable is the API form of a band table.
func BandTable(t ledger.BandTable) *v1.BandTable {
	out := &v1.BandTable{}
	if t.EffectiveFrom.Valid() {
		out.EffectiveFrom = t.EffectiveFrom.String()
	}
	for _, b := range t.Bands {
		out.Bands = append(out.Bands, &v1.Band{MinScore: b.MinScore.String(), MaxScore: b.MaxScore.String(), Multiplier: money.Text(b.Multiplier)})
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

// FromCommand is the API form of a ledger command (a line item's body and key), nil for a
// body that has no API form (the settlement workflow's transitions, reconciliation records,
// the admin token, the machinery's bookkeeping). Every value travels as a string as in the
// interchange files: times RFC 3339 with their offset, dates YYYY-MM-DD, decimals as plain
// numbers; a zero expiry is "". An expire event, which only the ledger writes, has op
// "expire".
func FromCommand(c ledger.Command) *v1.Command {
	out := &v1.Command{Key: c.Key}
	switch b := c.Body.(type) {
	case *ledger.Event:
		out.Body = &v1.Command_Event{Event: &v1.Event{
			Op:         string(b.Op),
			Time:       protoTime(b.Time),
			Department: b.Department,
			Project:    b.Project,
			Provider:   b.Provider,
			Resource:   b.Resource,
			Item:       b.Item,
			Kind:       string(b.Kind),
			Quantity:   eventQuantity(b),
			Expires:    protoTime(b.Expires),
		}}
	case *ledger.SetDepartment:
		d := b.Department
		out.Body = &v1.Command_Department{Department: &v1.Department{
			Department: d.ID, Name: d.Name, Parent: d.Parent, Funding: string(d.Funding),
		}}
	case *ledger.SetProvider:
		p := b.Provider
		out.Body = &v1.Command_Provider{Provider: &v1.Provider{
			Provider: p.ID, Name: p.Name, ContractStart: p.ContractStart.String(), ContractEnd: p.ContractEnd.String(),
		}}
	case *ledger.SetProjectQuota:
		out.Body = &v1.Command_ProjectQuota{ProjectQuota: &v1.ProjectQuota{
			Project: b.Project, Department: b.Department, Name: b.Name, QuotaClass: b.QuotaClass, Quota: b.Quota.String(),
		}}
	case *ledger.SetCatalogPrice:
		out.Body = &v1.Command_CatalogPrice{CatalogPrice: &v1.CatalogPrice{
			Item: b.Item, Name: b.Name, Category: b.Category, Unit: b.Unit, Billing: string(b.Billing),
			QuotaClass: b.QuotaClass, Price: b.Price.String(), Provider: b.Provider,
			EffectiveFrom: b.EffectiveFrom.String(), Proration: string(b.Proration),
		}}
	case *ledger.GrantApproval:
		out.Body = &v1.Command_ApprovalGrant{ApprovalGrant: &v1.ApprovalGrant{
			Department: b.Department, QuotaClass: b.QuotaClass, Ceiling: b.Ceiling.String(), Ref: b.Ref, Expires: dateText(b.Expires),
		}}
	case *ledger.RevokeApproval:
		out.Body = &v1.Command_ApprovalRevoke{ApprovalRevoke: &v1.ApprovalRevoke{Department: b.Department, QuotaClass: b.QuotaClass, Ref: b.Ref}}
	case *ledger.ClosePeriod:
		out.Body = &v1.Command_PeriodClose{PeriodClose: &v1.PeriodClose{Month: b.Month.String()}}
	case *ledger.LoadCalendar:
		js, err := json.Marshal(b.Schedule)
		if err != nil {
			return nil // a schedule that was validated always marshals
		}
		out.Body = &v1.Command_CalendarYear{CalendarYear: &v1.CalendarYear{Json: string(js)}}
	case *ledger.SetEvaluation:
		out.Body = &v1.Command_Evaluation{Evaluation: &v1.Evaluation{
			Provider: b.Provider, From: b.From.String(), To: b.To.String(), Score: b.Score.String(),
		}}
	case *ledger.SetBandTable:
		bt := &v1.BandTable{EffectiveFrom: b.Table.EffectiveFrom.String()}
		for _, band := range b.Table.Bands {
			bt.Bands = append(bt.Bands, &v1.Band{MinScore: band.MinScore.String(), MaxScore: band.MaxScore.String(), Multiplier: band.Multiplier.String()})
		}
		out.Body = &v1.Command_BandTable{BandTable: bt}
	case *ledger.SetSettlementWindow:
		out.Body = &v1.Command_SettlementWindow{SettlementWindow: &v1.SettlementWindow{EndMonth: int32(b.EndMonth)}}
	default:
		return nil
	}
	return out
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
