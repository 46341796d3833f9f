package apimap

import (
	"encoding/json"
	"time"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/ledger"
)

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
			Department: b.Department, QuotaClass: b.QuotaClass, Ceiling: b.Ceiling.String(), Ref: b.Ref,
		}}
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
