package apimap

import (
	"encoding/json"
	"fmt"
	"github.com/shopspring/decimal"
	"reflect"
	"slices"
	"strings"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/ledger"
)

// The catalog of client commands (issue 23): every command a client may cause through
// LedgerService.Submit is one field of v1.Command's body and one row here. A row says, typed
// with generics so that the two directions must agree, how the API form parses into the
// ledger body (Parse) and how a body shows back (Show), who may send it (Roles) and which
// department or provider it touches (Scope). Submit's parsing, the line items' API form
// (ListLineItems), the authorization rule of each command (server/authz.go) and the test of
// completeness all derive from it. Adding a client command: its file in ledger/, its proto
// message and field, one row here — and its page or CLI verb.

// Kind is one row of the catalog, its types erased.
type Kind interface {
	// Field is the v1.Command body field ("event").
	Field() string
	// Type is the ledger command type it makes.
	Type() ledger.CommandType
	// Roles may send it (SPEC: Access).
	Roles() []ledger.Role
	// Parse makes the ledger body of a command whose body is this kind's field (not yet
	// validated by the ledger's rules: Command does that).
	Parse(c *v1.Command) (ledger.Body, *errcode.Error)
	// Show is the API form of a body of Type.
	Show(b ledger.Body) *v1.Command
	// Scope is what the command touches, for the caller's scope.
	Scope(c *v1.Command) Scope
	// bodyType is the Go type of v1.Command's body for this kind (its oneof wrapper).
	bodyType() reflect.Type
}

// Scope is the department, provider or resource request a command acts on ("" for none).
type Scope struct {
	Department, Provider, Request string
}

// row is a catalog row for API message P and ledger body B.
type row[P any, B ledger.Body] struct {
	field string
	typ   ledger.CommandType
	roles []ledger.Role
	get   func(*v1.Command) P // nil when the body is another field
	wrap  func(P) *v1.Command
	parse func(P) (B, *errcode.Error)
	show  func(B) P
	scope func(P) Scope
}

func (r row[P, B]) Field() string            { return r.field }
func (r row[P, B]) Type() ledger.CommandType { return r.typ }
func (r row[P, B]) Roles() []ledger.Role     { return r.roles }

func (r row[P, B]) Parse(c *v1.Command) (ledger.Body, *errcode.Error) {
	b, err := r.parse(r.get(c))
	if err != nil {
		return nil, err
	}
	return b, nil
}

func (r row[P, B]) Show(b ledger.Body) *v1.Command { return r.wrap(r.show(b.(B))) }

func (r row[P, B]) bodyType() reflect.Type {
	var zero P
	return reflect.TypeOf(r.wrap(zero).Body)
}

func (r row[P, B]) Scope(c *v1.Command) Scope {
	if r.scope == nil {
		return Scope{}
	}
	return r.scope(r.get(c))
}

var (
	authority   = []ledger.Role{ledger.RoleAuthority}
	supervisor  = []ledger.Role{ledger.RoleSupervisor}
	importRoles = []ledger.Role{ledger.RoleAuthority, ledger.RoleProvider} // who imports events holds its months
)

// Catalog is every client command, in the order of v1.Command's fields.
var Catalog = []Kind{
	row[*v1.Event, *ledger.Event]{field: "event", typ: ledger.TypeEvent, roles: importRoles,
		get:   (*v1.Command).GetEvent,
		wrap:  func(p *v1.Event) *v1.Command { return &v1.Command{Body: &v1.Command_Event{Event: p}} },
		parse: parseEvent, show: showEvent,
		scope: func(p *v1.Event) Scope {
			return Scope{Department: p.GetDepartment(), Provider: p.GetProvider(), Request: p.GetRequest()}
		}},
	row[*v1.Department, *ledger.SetDepartment]{field: "department", typ: ledger.TypeSetDepartment, roles: authority,
		get:  (*v1.Command).GetDepartment,
		wrap: func(p *v1.Department) *v1.Command { return &v1.Command{Body: &v1.Command_Department{Department: p}} },
		parse: func(d *v1.Department) (*ledger.SetDepartment, *errcode.Error) {
			return ParseDepartment(fields(map[string]string{"department": d.GetDepartment(), "name": d.GetName(), "parent": d.GetParent(), "funding": d.GetFunding()}))
		},
		show: func(b *ledger.SetDepartment) *v1.Department {
			d := b.Department
			return &v1.Department{Department: d.ID, Name: d.Name, Parent: d.Parent, Funding: string(d.Funding)}
		}},
	row[*v1.Provider, *ledger.SetProvider]{field: "provider", typ: ledger.TypeSetProvider, roles: authority,
		get:  (*v1.Command).GetProvider,
		wrap: func(p *v1.Provider) *v1.Command { return &v1.Command{Body: &v1.Command_Provider{Provider: p}} },
		parse: func(p *v1.Provider) (*ledger.SetProvider, *errcode.Error) {
			return ParseProvider(fields(map[string]string{"provider": p.GetProvider(), "name": p.GetName(), "contract_start": p.GetContractStart(), "contract_end": p.GetContractEnd()}))
		},
		show: func(b *ledger.SetProvider) *v1.Provider {
			p := b.Provider
			return &v1.Provider{Provider: p.ID, Name: p.Name, ContractStart: p.ContractStart.String(), ContractEnd: p.ContractEnd.String()}
		}},
	row[*v1.ProjectQuota, *ledger.SetProjectQuota]{field: "project_quota", typ: ledger.TypeSetProjectQuota, roles: authority,
		get: (*v1.Command).GetProjectQuota,
		wrap: func(p *v1.ProjectQuota) *v1.Command {
			return &v1.Command{Body: &v1.Command_ProjectQuota{ProjectQuota: p}}
		},
		parse: func(p *v1.ProjectQuota) (*ledger.SetProjectQuota, *errcode.Error) {
			return ParseProjectQuota(fields(map[string]string{"project": p.GetProject(), "department": p.GetDepartment(), "name": p.GetName(), "quota_class": p.GetQuotaClass(), "quota": p.GetQuota()}))
		},
		show: func(b *ledger.SetProjectQuota) *v1.ProjectQuota {
			return &v1.ProjectQuota{Project: b.Project, Department: b.Department, Name: b.Name, QuotaClass: b.QuotaClass, Quota: b.Quota.String()}
		}},
	row[*v1.CatalogPrice, *ledger.SetCatalogPrice]{field: "catalog_price", typ: ledger.TypeSetCatalogPrice, roles: authority,
		get: (*v1.Command).GetCatalogPrice,
		wrap: func(p *v1.CatalogPrice) *v1.Command {
			return &v1.Command{Body: &v1.Command_CatalogPrice{CatalogPrice: p}}
		},
		parse: func(p *v1.CatalogPrice) (*ledger.SetCatalogPrice, *errcode.Error) {
			return ParseCatalogPrice(fields(map[string]string{"item": p.GetItem(), "name": p.GetName(), "category": p.GetCategory(), "unit": p.GetUnit(), "billing": p.GetBilling(),
				"quota_class": p.GetQuotaClass(), "price": p.GetPrice(), "provider": p.GetProvider(), "effective_from": p.GetEffectiveFrom(), "proration": p.GetProration()}))
		},
		show: func(b *ledger.SetCatalogPrice) *v1.CatalogPrice {
			return &v1.CatalogPrice{Item: b.Item, Name: b.Name, Category: b.Category, Unit: b.Unit, Billing: string(b.Billing), QuotaClass: b.QuotaClass,
				Price: b.Price.String(), Provider: b.Provider, EffectiveFrom: b.EffectiveFrom.String(), Proration: string(b.Proration)}
		}},
	row[*v1.ApprovalGrant, *ledger.GrantApproval]{field: "approval_grant", typ: ledger.TypeGrantApproval, roles: supervisor,
		get: (*v1.Command).GetApprovalGrant,
		wrap: func(p *v1.ApprovalGrant) *v1.Command {
			return &v1.Command{Body: &v1.Command_ApprovalGrant{ApprovalGrant: p}}
		},
		parse: parseApprovalGrant,
		show: func(b *ledger.GrantApproval) *v1.ApprovalGrant {
			return &v1.ApprovalGrant{Department: b.Department, QuotaClass: b.QuotaClass, Ceiling: b.Ceiling.String(), Ref: b.Ref, Expires: dateText(b.Expires)}
		},
		scope: func(p *v1.ApprovalGrant) Scope { return Scope{Department: p.GetDepartment()} }},
	row[*v1.PeriodClose, *ledger.ClosePeriod]{field: "period_close", typ: ledger.TypeClosePeriod, roles: authority,
		get:  (*v1.Command).GetPeriodClose,
		wrap: func(p *v1.PeriodClose) *v1.Command { return &v1.Command{Body: &v1.Command_PeriodClose{PeriodClose: p}} },
		parse: func(p *v1.PeriodClose) (*ledger.ClosePeriod, *errcode.Error) {
			m, err := calendar.ParseMonth(p.GetMonth())
			if err != nil {
				return nil, errcode.Errf(errcode.InvalidValue, "month", "%v", err)
			}
			return &ledger.ClosePeriod{Month: m}, nil
		},
		show: func(b *ledger.ClosePeriod) *v1.PeriodClose { return &v1.PeriodClose{Month: b.Month.String()} }},
	row[*v1.CalendarYear, *ledger.LoadCalendar]{field: "calendar_year", typ: ledger.TypeLoadCalendar, roles: authority,
		get: (*v1.Command).GetCalendarYear,
		wrap: func(p *v1.CalendarYear) *v1.Command {
			return &v1.Command{Body: &v1.Command_CalendarYear{CalendarYear: p}}
		},
		parse: func(p *v1.CalendarYear) (*ledger.LoadCalendar, *errcode.Error) {
			s, err := calendar.ParseYearSchedule([]byte(p.GetJson()))
			if err != nil {
				return nil, errcode.Errf(errcode.InvalidValue, "json", "%v", err)
			}
			return &ledger.LoadCalendar{Schedule: s}, nil
		},
		show: func(b *ledger.LoadCalendar) *v1.CalendarYear {
			js, _ := json.Marshal(b.Schedule) // a validated schedule always marshals
			return &v1.CalendarYear{Json: string(js)}
		}},
	row[*v1.Evaluation, *ledger.SetEvaluation]{field: "evaluation", typ: ledger.TypeSetEvaluation, roles: authority,
		get:  (*v1.Command).GetEvaluation,
		wrap: func(p *v1.Evaluation) *v1.Command { return &v1.Command{Body: &v1.Command_Evaluation{Evaluation: p}} },
		parse: func(e *v1.Evaluation) (*ledger.SetEvaluation, *errcode.Error) {
			return ParseEvaluation(fields(map[string]string{"provider": e.GetProvider(), "from": e.GetFrom(), "to": e.GetTo(), "score": e.GetScore(), "reason": e.GetReason()}))
		},
		show: func(b *ledger.SetEvaluation) *v1.Evaluation {
			return &v1.Evaluation{Provider: b.Provider, From: b.From.String(), To: b.To.String(), Score: b.Score.String(), Reason: b.Reason}
		},
		scope: func(p *v1.Evaluation) Scope { return Scope{Provider: p.GetProvider()} }},
	row[*v1.BandTable, *ledger.SetBandTable]{field: "band_table", typ: ledger.TypeSetBandTable, roles: authority,
		get:   (*v1.Command).GetBandTable,
		wrap:  func(p *v1.BandTable) *v1.Command { return &v1.Command{Body: &v1.Command_BandTable{BandTable: p}} },
		parse: toBandTable,
		show:  func(b *ledger.SetBandTable) *v1.BandTable { return BandTable(b.Table) }},
	row[*v1.SettlementWindow, *ledger.SetSettlementWindow]{field: "settlement_window", typ: ledger.TypeSetSettlementWindow, roles: authority,
		get: (*v1.Command).GetSettlementWindow,
		wrap: func(p *v1.SettlementWindow) *v1.Command {
			return &v1.Command{Body: &v1.Command_SettlementWindow{SettlementWindow: p}}
		},
		parse: func(p *v1.SettlementWindow) (*ledger.SetSettlementWindow, *errcode.Error) {
			return &ledger.SetSettlementWindow{EndMonth: int(p.GetEndMonth())}, nil
		},
		show: func(b *ledger.SetSettlementWindow) *v1.SettlementWindow {
			return &v1.SettlementWindow{EndMonth: int32(b.EndMonth)}
		}},
	row[*v1.ApprovalRevoke, *ledger.RevokeApproval]{field: "approval_revoke", typ: ledger.TypeRevokeApproval, roles: supervisor,
		get: (*v1.Command).GetApprovalRevoke,
		wrap: func(p *v1.ApprovalRevoke) *v1.Command {
			return &v1.Command{Body: &v1.Command_ApprovalRevoke{ApprovalRevoke: p}}
		},
		parse: func(a *v1.ApprovalRevoke) (*ledger.RevokeApproval, *errcode.Error) {
			return &ledger.RevokeApproval{Department: strings.TrimSpace(a.GetDepartment()), QuotaClass: strings.TrimSpace(a.GetQuotaClass()), Ref: strings.TrimSpace(a.GetRef())}, nil
		},
		show: func(b *ledger.RevokeApproval) *v1.ApprovalRevoke {
			return &v1.ApprovalRevoke{Department: b.Department, QuotaClass: b.QuotaClass, Ref: b.Ref}
		},
		scope: func(p *v1.ApprovalRevoke) Scope { return Scope{Department: p.GetDepartment()} }},
	row[*v1.ImportLease, *ledger.ImportLease]{field: "import_lease", typ: ledger.TypeImportLease, roles: importRoles,
		get:   (*v1.Command).GetImportLease,
		wrap:  func(p *v1.ImportLease) *v1.Command { return &v1.Command{Body: &v1.Command_ImportLease{ImportLease: p}} },
		parse: parseImportLease,
		show: func(b *ledger.ImportLease) *v1.ImportLease {
			out := &v1.ImportLease{Id: b.ID, Release: b.Release}
			for _, m := range b.Months {
				out.Months = append(out.Months, m.String())
			}
			return out
		}},
	row[*v1.FulfilRequest, *ledger.FulfilRequest]{field: "fulfil_request", typ: ledger.TypeFulfilRequest, roles: importRoles,
		get: (*v1.Command).GetFulfilRequest,
		wrap: func(p *v1.FulfilRequest) *v1.Command {
			return &v1.Command{Body: &v1.Command_FulfilRequest{FulfilRequest: p}}
		},
		parse: func(p *v1.FulfilRequest) (*ledger.FulfilRequest, *errcode.Error) {
			return &ledger.FulfilRequest{ID: strings.TrimSpace(p.GetId()), Resource: strings.TrimSpace(p.GetResource())}, nil
		},
		show: func(b *ledger.FulfilRequest) *v1.FulfilRequest {
			return &v1.FulfilRequest{Id: b.ID, Resource: b.Resource}
		},
		scope: func(p *v1.FulfilRequest) Scope { return Scope{Request: p.GetId()} }},
	row[*v1.NoticeReplay, *ledger.ReplayNotice]{field: "notice_replay", typ: ledger.TypeReplayNotice, roles: authority,
		get: (*v1.Command).GetNoticeReplay,
		wrap: func(p *v1.NoticeReplay) *v1.Command {
			return &v1.Command{Body: &v1.Command_NoticeReplay{NoticeReplay: p}}
		},
		parse: func(p *v1.NoticeReplay) (*ledger.ReplayNotice, *errcode.Error) {
			return &ledger.ReplayNotice{ID: strings.TrimSpace(p.GetId())}, nil
		},
		show: func(b *ledger.ReplayNotice) *v1.NoticeReplay { return &v1.NoticeReplay{Id: b.ID} }},
	row[*v1.UtilisationDelivery, *ledger.UtilisationDelivery]{field: "utilisation_delivery", typ: ledger.TypeUtilisationDelivery, roles: importRoles,
		get: (*v1.Command).GetUtilisationDelivery,
		wrap: func(p *v1.UtilisationDelivery) *v1.Command {
			return &v1.Command{Body: &v1.Command_UtilisationDelivery{UtilisationDelivery: p}}
		},
		parse: parseUtilisationDelivery, show: showUtilisationDelivery},
	row[*v1.UtilisationRules, *ledger.SetUtilisationRules]{field: "utilisation_rules", typ: ledger.TypeUtilisationRules, roles: authority,
		get: (*v1.Command).GetUtilisationRules,
		wrap: func(p *v1.UtilisationRules) *v1.Command {
			return &v1.Command{Body: &v1.Command_UtilisationRules{UtilisationRules: p}}
		},
		parse: parseUtilisationRules,
		show:  func(b *ledger.SetUtilisationRules) *v1.UtilisationRules { return UtilisationRulesOf(b.Rules) }},
	row[*v1.ProjectSeasons, *ledger.SetProjectSeasons]{field: "project_seasons", typ: ledger.TypeProjectSeasons, roles: authority,
		get: (*v1.Command).GetProjectSeasons,
		wrap: func(p *v1.ProjectSeasons) *v1.Command {
			return &v1.Command{Body: &v1.Command_ProjectSeasons{ProjectSeasons: p}}
		},
		parse: parseProjectSeasons,
		show:  func(b *ledger.SetProjectSeasons) *v1.ProjectSeasons { return ProjectSeasonsOf(b.Project, b.Seasons) }},
	row[*v1.EvaluationScheme, *ledger.SetEvaluationScheme]{field: "evaluation_scheme", typ: ledger.TypeEvaluationScheme, roles: authority,
		get: (*v1.Command).GetEvaluationScheme,
		wrap: func(p *v1.EvaluationScheme) *v1.Command {
			return &v1.Command{Body: &v1.Command_EvaluationScheme{EvaluationScheme: p}}
		},
		parse: parseEvaluationScheme,
		show:  func(b *ledger.SetEvaluationScheme) *v1.EvaluationScheme { return EvaluationSchemeOf(b.Scheme) }},
	row[*v1.ExpertScore, *ledger.SetExpertScore]{field: "expert_score", typ: ledger.TypeExpertScore, roles: authority,
		get: (*v1.Command).GetExpertScore,
		wrap: func(p *v1.ExpertScore) *v1.Command {
			return &v1.Command{Body: &v1.Command_ExpertScore{ExpertScore: p}}
		},
		parse: parseExpertScore,
		show: func(b *ledger.SetExpertScore) *v1.ExpertScore {
			return &v1.ExpertScore{Quarter: b.Quarter.String(), Provider: b.Provider, Score: b.Score.String(), Ref: b.Ref}
		},
		scope: func(p *v1.ExpertScore) Scope { return Scope{Provider: p.GetProvider()} }},
	row[*v1.QuarterPublish, *ledger.PublishQuarter]{field: "quarter_publish", typ: ledger.TypePublishQuarter, roles: authority,
		get: (*v1.Command).GetQuarterPublish,
		wrap: func(p *v1.QuarterPublish) *v1.Command {
			return &v1.Command{Body: &v1.Command_QuarterPublish{QuarterPublish: p}}
		},
		parse: parseQuarterPublish,
		show: func(b *ledger.PublishQuarter) *v1.QuarterPublish {
			return &v1.QuarterPublish{Quarter: b.Quarter.String()}
		}},
}

var (
	kindByField = map[string]Kind{}
	kindByType  = map[ledger.CommandType]Kind{}
	kindByBody  = map[reflect.Type]Kind{}
)

func init() {
	for _, k := range Catalog {
		if kindByField[k.Field()] != nil || kindByType[k.Type()] != nil {
			panic("apimap: catalog row " + k.Field() + " twice")
		}
		kindByField[k.Field()], kindByType[k.Type()], kindByBody[k.bodyType()] = k, k, k
	}
}

// KindOf is the catalog row of a command's body, nil for an empty body. (By the body's Go
// type: it runs twice for every command of every import.)
func KindOf(c *v1.Command) Kind {
	if c.GetBody() == nil {
		return nil
	}
	return kindByBody[reflect.TypeOf(c.GetBody())]
}

// KindOfType is the catalog row of a ledger command type, nil for a type no client sends.
func KindOfType(t ledger.CommandType) Kind { return kindByType[t] }

// Command converts an API command into a ledger command that has passed
// ledger.ValidateCommand, with the same field parsers for every source.
func Command(c *v1.Command) (ledger.Command, *errcode.Error) {
	out := ledger.Command{Key: c.GetKey()}
	k := KindOf(c)
	if k == nil {
		return out, errcode.Errf(errcode.MissingField, "body", "a command needs a body")
	}
	b, err := k.Parse(c)
	if err != nil {
		return out, err
	}
	out.Body = b
	if verr := ledger.ValidateCommand(out); verr != nil {
		return out, verr
	}
	return out, nil
}

// FromCommand is the API form of a ledger command (a line item's body and key), nil for a
// body no client sends (the settlement workflow's transitions, reconciliation records,
// accounts, the machinery's bookkeeping). Every value travels as a string as in the
// interchange files: times RFC 3339 with their offset, dates YYYY-MM-DD, decimals as plain
// numbers; a zero expiry is "". An expire event, which only the ledger writes, has op
// "expire".
func FromCommand(c ledger.Command) *v1.Command {
	if c.Body == nil {
		return nil
	}
	k := kindByType[c.Body.Type()]
	if k == nil {
		return nil
	}
	out := k.Show(c.Body)
	out.Key = c.Key
	return out
}

func parseEvent(e *v1.Event) (*ledger.Event, *errcode.Error) {
	// A switch, not a map: this runs for every event of every import.
	ev, err := ParseEvent(func(k string) string {
		switch k {
		case "op":
			return e.GetOp()
		case "time":
			return e.GetTime()
		case "department":
			return e.GetDepartment()
		case "project":
			return e.GetProject()
		case "provider":
			return e.GetProvider()
		case "resource":
			return e.GetResource()
		case "item":
			return e.GetItem()
		case "kind":
			return e.GetKind()
		case "quantity":
			return e.GetQuantity()
		case "expires":
			return e.GetExpires()
		}
		return ""
	})
	if err != nil {
		return nil, err
	}
	ev.Request = strings.TrimSpace(e.GetRequest())
	return ev, nil
}

func showEvent(b *ledger.Event) *v1.Event {
	return &v1.Event{Op: string(b.Op), Time: protoTime(b.Time), Department: b.Department, Project: b.Project, Provider: b.Provider,
		Resource: b.Resource, Item: b.Item, Kind: string(b.Kind), Quantity: eventQuantity(b), Expires: protoTime(b.Expires), Request: b.Request}
}

func parseApprovalGrant(a *v1.ApprovalGrant) (*ledger.GrantApproval, *errcode.Error) {
	ceiling, perr := ledger.ParseDecimal(a.GetCeiling())
	if perr != nil {
		return nil, errcode.Errf(errcode.InvalidQuantity, "ceiling", "%v", perr.(*errcode.Error).Message)
	}
	g := &ledger.GrantApproval{Department: strings.TrimSpace(a.GetDepartment()), QuotaClass: strings.TrimSpace(a.GetQuotaClass()), Ceiling: ceiling, Ref: strings.TrimSpace(a.GetRef())}
	if s := strings.TrimSpace(a.GetExpires()); s != "" {
		var err *errcode.Error
		if g.Expires, err = parseDate("expires", s); err != nil {
			return nil, err
		}
	}
	return g, nil
}

func parseImportLease(p *v1.ImportLease) (*ledger.ImportLease, *errcode.Error) {
	l := &ledger.ImportLease{ID: strings.TrimSpace(p.GetId()), Release: p.GetRelease()}
	for _, s := range p.GetMonths() {
		m, err := calendar.ParseMonth(s)
		if err != nil {
			return nil, errcode.Errf(errcode.InvalidValue, "months", "%v", err)
		}
		l.Months = append(l.Months, m)
	}
	return l, nil
}

// parseUtilisationDelivery reads a delivery's rows, sorted by resource then date on the way
// in (the order the ledger keeps and hashes); a (resource, date) twice is refused.
func parseUtilisationDelivery(p *v1.UtilisationDelivery) (*ledger.UtilisationDelivery, *errcode.Error) {
	if len(p.GetRows()) > ledger.MaxUtilisationRows {
		return nil, errcode.Errf(errcode.TooLarge, "rows", "%d rows; at most %d a delivery", len(p.GetRows()), ledger.MaxUtilisationRows)
	}
	out := &ledger.UtilisationDelivery{Rows: make([]ledger.UtilisationRow, len(p.GetRows()))}
	for i, r := range p.GetRows() {
		field := func(name string) string { return fmt.Sprintf("rows[%d].%s", i, name) }
		row := ledger.UtilisationRow{Resource: strings.TrimSpace(r.GetResource())}
		var err *errcode.Error
		if row.Date, err = parseDate(field("date"), strings.TrimSpace(r.GetDate())); err != nil {
			return nil, err
		}
		for _, f := range []struct {
			name string
			s    string
			into *decimal.Decimal
		}{{"mean_pct", r.GetMeanPct(), &row.Mean}, {"peak_pct", r.GetPeakPct(), &row.Peak}, {"availability_pct", r.GetAvailabilityPct(), &row.Availability}} {
			if *f.into, err = parseAmount(field(f.name), strings.TrimSpace(f.s), false); err != nil {
				return nil, err
			}
		}
		out.Rows[i] = row
	}
	slices.SortStableFunc(out.Rows, func(a, b ledger.UtilisationRow) int {
		if c := strings.Compare(a.Resource, b.Resource); c != 0 {
			return c
		}
		return a.Date.Compare(b.Date)
	})
	for i := 1; i < len(out.Rows); i++ {
		if a, b := out.Rows[i-1], out.Rows[i]; a.Resource == b.Resource && a.Date == b.Date {
			return nil, errcode.Errf(errcode.InvalidValue, "rows", "resource %s has two rows for %s", a.Resource, a.Date)
		}
	}
	return out, nil
}

func showUtilisationDelivery(b *ledger.UtilisationDelivery) *v1.UtilisationDelivery {
	out := &v1.UtilisationDelivery{Rows: make([]*v1.UtilisationRow, len(b.Rows))}
	for i, r := range b.Rows {
		out.Rows[i] = &v1.UtilisationRow{Resource: r.Resource, Date: r.Date.String(), MeanPct: r.Mean.String(), PeakPct: r.Peak.String(), AvailabilityPct: r.Availability.String()}
	}
	return out
}
