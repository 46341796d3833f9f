package ledger

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
)

// CommandType tags a command body on the log and in the hash chain. Never reuse a number.
type CommandType uint8

const (
	TypeEvent                CommandType = 1 // a line item operation on a resource
	TypeSetDepartment        CommandType = 2
	TypeSetProvider          CommandType = 3
	TypeSetProjectQuota      CommandType = 4
	TypeSetCatalogPrice      CommandType = 5
	TypeGrantApproval        CommandType = 6
	TypeClosePeriod          CommandType = 7
	TypeLoadCalendar         CommandType = 8
	TypeSetAdminToken        CommandType = 9
	TypeTick                 CommandType = 10 // leader's periodic clock: writes due expire items
	TypeSetEvaluation        CommandType = 11 // a provider's evaluation score over a date range
	TypeSetBandTable         CommandType = 12 // the score → multiplier table from a date on
	TypeAdvanceOffsets       CommandType = 13 // Kafka: next offset of a partition (bookkeeping)
	TypeMarkPublished        CommandType = 14 // Kafka: last sequence published (bookkeeping)
	TypeSettlementRun        CommandType = 15 // open a settlement year as a draft
	TypeSettlementAudit      CommandType = 16 // freeze a year's figures
	TypeSettlementAdvance    CommandType = 17 // audited → submitted → paid
	TypeSetSettlementWindow  CommandType = 18 // the last month of settlement windows
	TypeRecordReconciliation CommandType = 19 // an invoice reconciliation's outcome

	// typeIgnorableFlag marks a type that older binaries may skip (Consul's trick for
	// rolling upgrades): an unknown type with this bit set is ignored, without it rejected.
	typeIgnorableFlag CommandType = 0x80
)

// Body is the typed payload of a command.
type Body interface {
	Type() CommandType
	encode(e *encoder)
	decode(d *decoder)
}

// Command is one request to change the ledger, identified by an idempotency key.
type Command struct {
	Key  string
	Body Body
}

// Event is a line item operation on a resource (SPEC: Ledger; events.csv).
type Event struct {
	Op         Op
	Time       time.Time // effective time
	Department string
	Project    string
	Provider   string
	Resource   string
	Item       string
	Kind       Kind
	Quantity   decimal.Decimal // allocate: initial; expand/reduce: positive delta; usage: consumed
	Expires    time.Time       // allocate of a time-limited kind, extend: the new expiry
}

// SetDepartment creates or updates a department (departments.csv).
type SetDepartment struct{ Department Department }

// SetProvider creates or updates a provider (providers.csv).
type SetProvider struct{ Provider Provider }

// SetProjectQuota creates a project or sets one quota class of it (projects.csv, a row per class).
type SetProjectQuota struct {
	Project    string
	Department string
	Name       string
	QuotaClass string
	Quota      decimal.Decimal
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

// GrantApproval records a supervisor approval for (department, quota class).
type GrantApproval struct {
	Department string
	QuotaClass string
	Ceiling    decimal.Decimal
	Ref        string
}

// ClosePeriod closes a month: later line items dated in it are rejected.
type ClosePeriod struct{ Month calendar.Month }

// LoadCalendar installs (or replaces) a year of the official working-day schedule.
type LoadCalendar struct{ Schedule calendar.YearSchedule }

// SetAdminToken replaces the SHA-256 of the admin token every node checks requests against.
type SetAdminToken struct{ TokenSHA256 string }

// Tick carries the leader's clock; applying it writes the expire items that are due.
type Tick struct{}

// SetEvaluation records a provider's evaluation score over From..To (evaluations.csv).
type SetEvaluation struct {
	Provider string
	From, To calendar.Date
	Score    decimal.Decimal
}

// SetBandTable sets the score → multiplier table in force from Table.EffectiveFrom.
type SetBandTable struct{ Table BandTable }

func (*Event) Type() CommandType           { return TypeEvent }
func (*SetDepartment) Type() CommandType   { return TypeSetDepartment }
func (*SetProvider) Type() CommandType     { return TypeSetProvider }
func (*SetProjectQuota) Type() CommandType { return TypeSetProjectQuota }
func (*SetCatalogPrice) Type() CommandType { return TypeSetCatalogPrice }
func (*GrantApproval) Type() CommandType   { return TypeGrantApproval }
func (*ClosePeriod) Type() CommandType     { return TypeClosePeriod }
func (*LoadCalendar) Type() CommandType    { return TypeLoadCalendar }
func (*SetAdminToken) Type() CommandType   { return TypeSetAdminToken }
func (*Tick) Type() CommandType            { return TypeTick }
func (*SetEvaluation) Type() CommandType   { return TypeSetEvaluation }
func (*SetBandTable) Type() CommandType    { return TypeSetBandTable }

func (b *SetEvaluation) encode(e *encoder) {
	e.str(b.Provider)
	e.date(b.From)
	e.date(b.To)
	e.dec(b.Score)
}

func (b *SetEvaluation) decode(d *decoder) {
	b.Provider = d.str(MaxIDLen)
	b.From = d.date()
	b.To = d.date()
	b.Score = d.dec()
}

func (b *SetBandTable) encode(e *encoder) {
	e.date(b.Table.EffectiveFrom)
	e.uvarint(uint64(len(b.Table.Bands)))
	for _, band := range b.Table.Bands {
		e.dec(band.MinScore)
		e.dec(band.MaxScore)
		e.dec(band.Multiplier)
	}
}

func (b *SetBandTable) decode(d *decoder) {
	b.Table.EffectiveFrom = d.date()
	n := d.uvarint()
	if n > MaxBands {
		d.fail("too many bands")
		return
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		b.Table.Bands = append(b.Table.Bands, Band{MinScore: d.dec(), MaxScore: d.dec(), Multiplier: d.dec()})
	}
}

func (b *Event) encode(e *encoder) {
	e.str(string(b.Op))
	e.tm(b.Time)
	e.str(b.Department)
	e.str(b.Project)
	e.str(b.Provider)
	e.str(b.Resource)
	e.str(b.Item)
	e.str(string(b.Kind))
	e.dec(b.Quantity)
	e.tm(b.Expires)
}

func (b *Event) decode(d *decoder) {
	var f eventFields
	f.decode(d)
	b.Op = Op(f.op)
	b.Time = f.time
	b.Department = string(f.department)
	b.Project = string(f.project)
	b.Provider = string(f.provider)
	b.Resource = string(f.resource)
	b.Item = string(f.item)
	b.Kind = Kind(f.kind)
	b.Quantity = d.decimalOf(f.quantity)
	b.Expires = f.expires
}

// eventFields are an encoded Event as stored, its strings still pointing into the encoding:
// Event.decode copies them, RatingData's lean reader copies only what it keeps.
type eventFields struct {
	op, department, project, provider, resource, item, kind, quantity []byte
	time, expires                                                     time.Time
}

// decode reads the layout of Event.encode.
func (f *eventFields) decode(d *decoder) {
	f.op = d.raw(MaxIDLen)
	f.time = d.tm()
	f.department = d.raw(MaxIDLen)
	f.project = d.raw(MaxIDLen)
	f.provider = d.raw(MaxIDLen)
	f.resource = d.raw(MaxIDLen)
	f.item = d.raw(MaxIDLen)
	f.kind = d.raw(MaxIDLen)
	f.quantity = d.raw(MaxDecimalLen)
	f.expires = d.tm()
}

func (b *SetDepartment) encode(e *encoder) {
	e.str(b.Department.ID)
	e.str(b.Department.Name)
	e.str(b.Department.Parent)
	e.str(string(b.Department.Funding))
}

func (b *SetDepartment) decode(d *decoder) {
	b.Department.ID = d.str(MaxIDLen)
	b.Department.Name = d.str(MaxTextLen)
	b.Department.Parent = d.str(MaxIDLen)
	b.Department.Funding = Funding(d.str(MaxIDLen))
}

func (b *SetProvider) encode(e *encoder) {
	e.str(b.Provider.ID)
	e.str(b.Provider.Name)
	e.date(b.Provider.ContractStart)
	e.date(b.Provider.ContractEnd)
}

func (b *SetProvider) decode(d *decoder) {
	b.Provider.ID = d.str(MaxIDLen)
	b.Provider.Name = d.str(MaxTextLen)
	b.Provider.ContractStart = d.date()
	b.Provider.ContractEnd = d.date()
}

func (b *SetProjectQuota) encode(e *encoder) {
	e.str(b.Project)
	e.str(b.Department)
	e.str(b.Name)
	e.str(b.QuotaClass)
	e.dec(b.Quota)
}

func (b *SetProjectQuota) decode(d *decoder) {
	b.Project = d.str(MaxIDLen)
	b.Department = d.str(MaxIDLen)
	b.Name = d.str(MaxTextLen)
	b.QuotaClass = d.str(MaxIDLen)
	b.Quota = d.dec()
}

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

func (b *GrantApproval) encode(e *encoder) {
	e.str(b.Department)
	e.str(b.QuotaClass)
	e.dec(b.Ceiling)
	e.str(b.Ref)
}

func (b *GrantApproval) decode(d *decoder) {
	b.Department = d.str(MaxIDLen)
	b.QuotaClass = d.str(MaxIDLen)
	b.Ceiling = d.dec()
	b.Ref = d.str(MaxTextLen)
}

func (b *ClosePeriod) encode(e *encoder) {
	e.varint(int64(b.Month.Year))
	e.u8(uint8(b.Month.Month))
}

func (b *ClosePeriod) decode(d *decoder) {
	y := d.varint()
	m := d.u8()
	if d.err == nil && (y < MinYear || y > MaxYear || m < 1 || m > 12) {
		d.fail("bad month")
	}
	b.Month = calendar.Month{Year: int(y), Month: time.Month(m)}
}

func (b *LoadCalendar) encode(e *encoder) {
	e.varint(int64(b.Schedule.Year))
	e.uvarint(uint64(len(b.Schedule.Days)))
	for _, day := range b.Schedule.Days {
		e.str(day.Name)
		e.str(day.Date)
		e.boolean(day.IsOffDay)
	}
}

func (b *LoadCalendar) decode(d *decoder) {
	b.Schedule.Year = int(d.varint())
	n := d.uvarint()
	if n > MaxCalendarDays {
		d.fail("too many calendar days")
		return
	}
	b.Schedule.Days = make([]calendar.Day, 0, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		b.Schedule.Days = append(b.Schedule.Days, calendar.Day{Name: d.str(MaxTextLen), Date: d.str(MaxIDLen), IsOffDay: d.boolean()})
	}
}

func (b *SetAdminToken) encode(e *encoder) { e.str(b.TokenSHA256) }
func (b *SetAdminToken) decode(d *decoder) { b.TokenSHA256 = d.str(MaxIDLen) }
func (b *Tick) encode(*encoder)            {}
func (b *Tick) decode(*decoder)            {}

func newBody(t CommandType) Body {
	switch t {
	case TypeEvent:
		return &Event{}
	case TypeSetDepartment:
		return &SetDepartment{}
	case TypeSetProvider:
		return &SetProvider{}
	case TypeSetProjectQuota:
		return &SetProjectQuota{}
	case TypeSetCatalogPrice:
		return &SetCatalogPrice{}
	case TypeGrantApproval:
		return &GrantApproval{}
	case TypeClosePeriod:
		return &ClosePeriod{}
	case TypeLoadCalendar:
		return &LoadCalendar{}
	case TypeSetAdminToken:
		return &SetAdminToken{}
	case TypeTick:
		return &Tick{}
	case TypeSetEvaluation:
		return &SetEvaluation{}
	case TypeSetBandTable:
		return &SetBandTable{}
	case TypeAdvanceOffsets:
		return &AdvanceOffsets{}
	case TypeMarkPublished:
		return &MarkPublished{}
	case TypeSettlementRun:
		return &SettlementRun{}
	case TypeSettlementAudit:
		return &SettlementAudit{}
	case TypeSettlementAdvance:
		return &SettlementAdvance{}
	case TypeSetSettlementWindow:
		return &SetSettlementWindow{}
	case TypeRecordReconciliation:
		return &RecordReconciliation{}
	}
	return nil
}

// EncodeBody returns the canonical encoding of a body: its type byte, then its fields.
func EncodeBody(b Body) []byte {
	e := encoder{b: make([]byte, 0, 128)}
	e.u8(uint8(b.Type()))
	b.encode(&e)
	return e.b
}

// DecodeBody decodes a canonical body. errIgnorable is returned for an unknown type that
// carries the ignorable flag.
func DecodeBody(p []byte) (Body, error) {
	d := decoder{b: p}
	t := CommandType(d.u8())
	if d.err != nil {
		return nil, d.err
	}
	b := newBody(t)
	if b == nil {
		if t&typeIgnorableFlag != 0 {
			return nil, errIgnorable
		}
		return nil, Errf(CodeMalformed, "", "unknown command type %d", t)
	}
	b.decode(&d)
	d.done()
	if d.err != nil {
		return nil, d.err
	}
	return b, nil
}

var errIgnorable = Errf(CodeMalformed, "", "ignorable command type")

// Proposal is the body of one Raft entry: the leader's clock and the requests it carries.
// Concurrent requests share an entry (group commit) but each stays atomic on its own.
type Proposal struct {
	RecordedAt time.Time
	Requests   []Request
}

// Request is what one client asked for: all of its commands apply, or none.
type Request struct {
	Actor    string
	Commands []Command
}

const proposalVersion = 1

// EncodeProposal encodes p for the Raft log.
func EncodeProposal(p *Proposal) []byte {
	e := encoder{b: make([]byte, 0, 256)}
	e.u8(proposalVersion)
	e.tm(p.RecordedAt)
	e.uvarint(uint64(len(p.Requests)))
	for _, r := range p.Requests {
		e.str(r.Actor)
		e.uvarint(uint64(len(r.Commands)))
		for _, c := range r.Commands {
			e.str(c.Key)
			e.bytes(EncodeBody(c.Body))
		}
	}
	return e.b
}

// DecodeProposal decodes a Raft entry. It never panics: a bad entry is an error.
func DecodeProposal(p []byte) (*Proposal, error) {
	d := decoder{b: p}
	if v := d.u8(); d.err == nil && v != proposalVersion {
		return nil, Errf(CodeMalformed, "", "unknown proposal version %d", v)
	}
	out := &Proposal{RecordedAt: d.tm()}
	n := d.uvarint()
	if d.err == nil && n > MaxCommandsPerBatch {
		d.fail("too many requests")
	}
	total := uint64(0)
	for i := uint64(0); i < n && d.err == nil; i++ {
		r := Request{Actor: d.str(MaxTextLen)}
		m := d.uvarint()
		total += m
		if d.err == nil && (m > MaxCommandsPerBatch || total > 4*MaxCommandsPerBatch) {
			d.fail("too many commands")
		}
		for j := uint64(0); j < m && d.err == nil; j++ {
			key := d.str(MaxKeyLen)
			raw := d.raw(MaxBatchEncodedBytes)
			if d.err != nil {
				break
			}
			b, err := DecodeBody(raw)
			if err == errIgnorable {
				continue // a newer binary's optional command: skipped by design
			}
			if err != nil {
				return nil, err
			}
			r.Commands = append(r.Commands, Command{Key: key, Body: b})
		}
		out.Requests = append(out.Requests, r)
	}
	d.done()
	if d.err != nil {
		return nil, d.err
	}
	return out, nil
}

// TypeName is a command type's name in exports and logs.
func TypeName(t CommandType) string {
	switch t {
	case TypeEvent:
		return "event"
	case TypeSetDepartment:
		return "department"
	case TypeSetProvider:
		return "provider"
	case TypeSetProjectQuota:
		return "project_quota"
	case TypeSetCatalogPrice:
		return "catalog_price"
	case TypeGrantApproval:
		return "approval"
	case TypeClosePeriod:
		return "period_close"
	case TypeLoadCalendar:
		return "calendar"
	case TypeSetAdminToken:
		return "admin_token"
	case TypeTick:
		return "tick"
	case TypeSetEvaluation:
		return "evaluation"
	case TypeSetBandTable:
		return "band_table"
	case TypeAdvanceOffsets:
		return "kafka_offsets"
	case TypeMarkPublished:
		return "kafka_published"
	case TypeSettlementRun:
		return "settlement_run"
	case TypeSettlementAudit:
		return "settlement_audit"
	case TypeSettlementAdvance:
		return "settlement_advance"
	case TypeSetSettlementWindow:
		return "settlement_window"
	case TypeRecordReconciliation:
		return "reconciliation"
	}
	return "unknown"
}
