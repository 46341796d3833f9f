package ledger

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
)

// fixture is a ledger on disk with a Raft index of its own, fed proposals like raftnode would.
type fixture struct {
	t       *testing.T
	l       *Ledger
	index   uint64
	now     time.Time // the "leader clock" stamped on proposals
	n       int       // key counter
	version uint8     // proposal version written (0: the current one)
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	l, err := Open(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return &fixture{t: t, l: l, now: at("2026-11-20T12:00:00+08:00")}
}

func at(s string) time.Time {
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return v.In(calendar.Shanghai)
}

func day(s string) calendar.Date {
	d, err := calendar.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// endOf is the stored form of an expiry given as a date: the next day's 00:00 in Shanghai.
func endOf(s string) time.Time { return day(s).AddDays(1).Start() }

func (f *fixture) key() string { f.n++; return fmt.Sprintf("k%d", f.n) }

// propose applies one proposal holding one request.
func (f *fixture) propose(cmds ...Command) SubmissionResult {
	f.t.Helper()
	f.index++
	data := EncodeProposal(&Proposal{RecordedAt: f.now, Submissions: []Submission{{Actor: "test", Commands: cmds}}})
	if f.version != 0 {
		data[0] = f.version // as a binary of that version wrote it
	}
	res := f.l.ApplyBatch([]Entry{{Index: f.index, Data: data}})[0].(*ProposalResult)
	if res.Err != nil {
		f.t.Fatalf("proposal rejected: %v", res.Err)
	}
	return res.Submissions[0]
}

func (f *fixture) cmd(b Body) Command { return Command{Key: f.key(), Body: b} }

func (f *fixture) ok(bodies ...Body) []ItemResult {
	f.t.Helper()
	cmds := make([]Command, len(bodies))
	for i, b := range bodies {
		cmds[i] = f.cmd(b)
	}
	r := f.propose(cmds...)
	if r.Err != nil {
		f.t.Fatalf("want success, got %v", r.Err)
	}
	return r.Items
}

// reject asserts that the request fails with code and leaves the ledger exactly as it was.
func (f *fixture) reject(code Code, bodies ...Body) *Error {
	f.t.Helper()
	before := f.digest()
	cmds := make([]Command, len(bodies))
	for i, b := range bodies {
		cmds[i] = f.cmd(b)
	}
	r := f.propose(cmds...)
	if r.Err == nil {
		f.t.Fatalf("want %s, got success", code)
	}
	if r.Err.Code != code {
		f.t.Fatalf("want %s, got %v", code, r.Err)
	}
	if after := f.digest(); after != before {
		f.t.Fatalf("a rejected request (%s) changed the ledger", code)
	}
	return r.Err
}

// digest fingerprints everything the ledger holds: entities, derived quota sums, the head.
func (f *fixture) digest() string {
	f.l.mu.RLock()
	defer f.l.mu.RUnlock()
	r := f.l.root
	h := sha256.New()
	dump := func(name string, v any) {
		raw, err := json.Marshal(v)
		if err != nil {
			f.t.Fatal(err)
		}
		fmt.Fprintf(h, "%s=%s\n", name, raw)
	}
	dump("departments", r.departments.m)
	dump("providers", r.providers.m)
	dump("projects", r.projects.m)
	dump("items", r.items.m)
	dump("resources", r.resources.m)
	var held []string
	for k, v := range r.held.m {
		held = append(held, k.Department+"/"+k.QuotaClass+"="+v.String())
	}
	sort.Strings(held)
	dump("held", held)
	var appr []string
	for k, v := range r.approvals.m {
		appr = append(appr, k.Department+"/"+k.QuotaClass+"="+v.Ceiling.String())
	}
	sort.Strings(appr)
	dump("approvals", appr)
	var closed []string
	for m := range r.closed.m {
		closed = append(closed, m.String())
	}
	sort.Strings(closed)
	dump("closed", closed)
	dump("meta", r.settings.m)
	dump("kafka_offsets", r.kafkaOffsets.m)
	dump("kafka_published", r.kafkaPublished.m)
	dump("dead_letters", r.deadLetters.m)
	fmt.Fprintf(h, "dead_letter_count=%d\n", r.deadLetterN)
	dump("evaluations", r.evaluations.m)
	var tables []string
	for d, bt := range r.bandTables.m {
		raw, _ := json.Marshal(bt)
		tables = append(tables, d.String()+"="+string(raw))
	}
	sort.Strings(tables)
	dump("band_tables", tables)
	dump("settlements", r.settlements.m)
	dump("reconciled", r.reconciled.m)
	var schemes []string
	for d, s := range r.evalSchemes.m {
		raw, _ := json.Marshal(s)
		schemes = append(schemes, d.String()+"="+string(raw))
	}
	sort.Strings(schemes)
	dump("evaluation_schemes", schemes)
	dump("evaluation_quarters", r.evalQuarters.m)
	fmt.Fprintf(h, "head=%d %s\n", r.seq, r.head)
	return fmt.Sprintf("%x", h.Sum(nil))
}

// seed loads the master data most tests share:
//   - d1 (budget) with projects prj1 (vcpu 100, memory_gb 200) and prj2 (vcpu 50): Q(d1,vcpu) = 150
//   - d2 (self) with prj3 (vcpu 10)
//   - provider p1 under contract 2025-01-01..2027-12-31
//   - items ecs.vcpu (vcpu), ecs.memory (memory_gb), disk.ssd (storage_gb), net.vpc (no class),
//     oss.egress (metered)
func (f *fixture) seed() {
	f.ok(
		&SetDepartment{Department{ID: "d1", Name: "财政局", Funding: FundingBudget}},
		&SetDepartment{Department{ID: "d2", Name: "自筹单位", Funding: FundingSelf}},
		&SetProvider{Provider{ID: "p1", Name: "云商一", ContractStart: day("2025-01-01"), ContractEnd: day("2027-12-31")}},
		&SetProjectQuota{Project: "prj1", Department: "d1", Name: "预算系统", QuotaClass: "vcpu", Quota: dec("100")},
		&SetProjectQuota{Project: "prj1", Department: "d1", Name: "预算系统", QuotaClass: "memory_gb", Quota: dec("200")},
		&SetProjectQuota{Project: "prj2", Department: "d1", Name: "门户", QuotaClass: "vcpu", Quota: dec("50")},
		&SetProjectQuota{Project: "prj3", Department: "d2", Name: "自建", QuotaClass: "vcpu", Quota: dec("10")},
		catalog("ecs.vcpu", BillingAllocation, "vcpu", "40"),
		catalog("ecs.memory", BillingAllocation, "memory_gb", "15"),
		catalog("disk.ssd", BillingAllocation, "storage_gb", "1.1"),
		catalog("net.vpc", BillingAllocation, "", "44"),
		catalog("oss.egress", BillingMetered, "", "0.5"),
	)
}

func catalog(item string, b Billing, class, price string) *SetCatalogPrice {
	return &SetCatalogPrice{Item: item, Name: item, Category: "IaaS", Unit: "unit", Billing: b, QuotaClass: class,
		Proration: ProrationDaily, Price: dec(price), EffectiveFrom: day("2025-01-01")}
}

// alloc is an allocate event of d1/prj1/p1 on 2026-03-02 10:00.
func alloc(res, item string, kind ResourceKind, qty string, expires time.Time) *Event {
	return &Event{Op: OpAllocate, Time: at("2026-03-02T10:00:00+08:00"), Department: "d1", Project: "prj1", Provider: "p1",
		Resource: res, Item: item, Kind: kind, Quantity: dec(qty), Expires: expires}
}

func change(op Op, res, qty, when string) *Event {
	e := &Event{Op: op, Time: at(when), Resource: res}
	if qty != "" {
		e.Quantity = dec(qty)
	}
	return e
}
