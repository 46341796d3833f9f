package apimap

import (
	"github.com/cloudledger/cloudledger/errcode"
	"github.com/cloudledger/cloudledger/interchange"
	"github.com/cloudledger/cloudledger/ledger"
)

// The field parsers turn the string fields of one API message (the fields of one row of an
// interchange file, a Kafka record, or an RPC request: the same strings) into a command body. get returns a field's raw string, "" when absent;
// surrounding white space is ignored. They check what needs parsing or a closed set of
// values, with messages that quote at most MaxEcho characters of input; the caller runs
// ledger.ValidateCommand on the finished command for the rest (required ids, lengths, ranges).

var ops = []string{string(ledger.OpAllocate), string(ledger.OpExpand), string(ledger.OpReduce),
	string(ledger.OpReclaim), string(ledger.OpUsage), string(ledger.OpExtend)}

var kinds = []string{string(ledger.KindStandard), string(ledger.KindTest), string(ledger.KindDev),
	string(ledger.KindEmergency), string(ledger.KindTemporary)}

// ParseEvent parses an events row: key aside (the caller owns it), the fields time, op,
// department, project, provider, resource, item, kind, quantity, expires (SPEC.md,
// "Interchange formats"). quantity is required and positive for allocate, expand, reduce
// and usage, and must be empty for reclaim and extend; kind defaults to standard for
// allocate and usage, so the canonical command always carries one; op expire is refused
// (only the ledger writes it).
func ParseEvent(get func(string) string) (*ledger.Event, *errcode.Error) {
	get = trimmed(get)
	op := get("op")
	if op == string(ledger.OpExpire) {
		return nil, errf(errcode.InvalidValue, "op", "expire is written by the ledger itself when a resource passes its expiry")
	}
	if err := oneOf("op", op, ops...); err != nil {
		return nil, err
	}
	e := &ledger.Event{
		Op:         ledger.Op(op),
		Department: get("department"),
		Project:    get("project"),
		Provider:   get("provider"),
		Resource:   get("resource"),
		Item:       get("item"),
		Kind:       ledger.ResourceKind(get("kind")),
	}
	var err *errcode.Error
	if e.Time, err = ParseTime("time", get("time")); err != nil {
		return nil, err
	}
	if e.Kind == "" && (e.Op == ledger.OpAllocate || e.Op == ledger.OpUsage) {
		e.Kind = ledger.KindStandard
	}
	if e.Kind != "" {
		if err := oneOf("kind", string(e.Kind), kinds...); err != nil {
			return nil, err
		}
	}
	q := get("quantity")
	switch e.Op {
	case ledger.OpReclaim, ledger.OpExtend:
		if q != "" {
			return nil, errf(errcode.InvalidQuantity, "quantity", "must be empty for %s, got %s", op, interchange.Echo(q))
		}
	default:
		if e.Quantity, err = parseAmount("quantity", q, true); err != nil {
			return nil, err
		}
	}
	if e.Expires, err = ParseExpires(get("expires")); err != nil {
		return nil, err
	}
	return e, nil
}

// ParseDepartment parses a departments row: department, name, parent, funding (budget|self).
func ParseDepartment(get func(string) string) (*ledger.SetDepartment, *errcode.Error) {
	get = trimmed(get)
	d := ledger.Department{ID: get("department"), Name: get("name"), Parent: get("parent"), Funding: ledger.Funding(get("funding"))}
	if err := oneOf("funding", string(d.Funding), string(ledger.FundingBudget), string(ledger.FundingSelf)); err != nil {
		return nil, err
	}
	return &ledger.SetDepartment{Department: d}, nil
}

// ParseProvider parses a providers row: provider, name, contract_start, contract_end (dates
// YYYY-MM-DD).
func ParseProvider(get func(string) string) (*ledger.SetProvider, *errcode.Error) {
	get = trimmed(get)
	p := ledger.Provider{ID: get("provider"), Name: get("name")}
	var err *errcode.Error
	if p.ContractStart, err = parseDate("contract_start", get("contract_start")); err != nil {
		return nil, err
	}
	if p.ContractEnd, err = parseDate("contract_end", get("contract_end")); err != nil {
		return nil, err
	}
	return &ledger.SetProvider{Provider: p}, nil
}

// ParseProjectQuota parses a projects row: project, department, name, quota_class, quota
// (a non-negative decimal). A project with several classes has a row per class.
func ParseProjectQuota(get func(string) string) (*ledger.SetProjectQuota, *errcode.Error) {
	get = trimmed(get)
	p := &ledger.SetProjectQuota{Project: get("project"), Department: get("department"), Name: get("name"), QuotaClass: get("quota_class")}
	var err *errcode.Error
	if p.Quota, err = parseAmount("quota", get("quota"), false); err != nil {
		return nil, err
	}
	return p, nil
}

// ParseCatalogPrice parses a catalog row: item, name, category, unit, billing
// (allocation|metered), quota_class, price (a non-negative decimal), provider ("" = the
// default price), effective_from (YYYY-MM-DD) and the optional proration (daily|monthly,
// "" = daily).
func ParseCatalogPrice(get func(string) string) (*ledger.SetCatalogPrice, *errcode.Error) {
	get = trimmed(get)
	c := &ledger.SetCatalogPrice{
		Item: get("item"), Name: get("name"), Category: get("category"), Unit: get("unit"),
		Billing: ledger.Billing(get("billing")), QuotaClass: get("quota_class"),
		Provider: get("provider"), Proration: ledger.Proration(get("proration")),
	}
	if err := oneOf("billing", string(c.Billing), string(ledger.BillingAllocation), string(ledger.BillingMetered)); err != nil {
		return nil, err
	}
	var err *errcode.Error
	if c.Price, err = parseAmount("price", get("price"), false); err != nil {
		return nil, err
	}
	if c.EffectiveFrom, err = parseDate("effective_from", get("effective_from")); err != nil {
		return nil, err
	}
	if c.Proration == "" {
		c.Proration = ledger.ProrationDaily
	}
	if err := oneOf("proration", string(c.Proration), string(ledger.ProrationDaily), string(ledger.ProrationMonthly)); err != nil {
		return nil, err
	}
	return c, nil
}

// ParseEvaluation parses an evaluations row: provider, from and to (YYYY-MM-DD, inclusive),
// score (a decimal, 0–100) and an optional reason.
func ParseEvaluation(get func(string) string) (*ledger.SetEvaluation, *errcode.Error) {
	get = trimmed(get)
	e := &ledger.SetEvaluation{Provider: get("provider"), Reason: get("reason")}
	var err *errcode.Error
	if e.From, err = parseDate("from", get("from")); err != nil {
		return nil, err
	}
	if e.To, err = parseDate("to", get("to")); err != nil {
		return nil, err
	}
	score := get("score")
	if score == "" {
		return nil, errf(errcode.MissingField, "score", "score is required")
	}
	var perr error
	if e.Score, perr = ledger.ParseDecimal(score); perr != nil {
		return nil, errf(errcode.InvalidScore, "score", "a score is a number from 0 to 100, not %s", interchange.Echo(score))
	}
	return e, nil
}
