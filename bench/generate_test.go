package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/ledger"
)

// stateMachine writes commands into a ledger store through its state machine, as Raft
// would: proposals of ratingCommandsPerTx commands at a fixed clock, a flush every ten.
type stateMachine struct {
	b     *testing.B
	l     *ledger.Ledger
	now   time.Time
	index uint64
	n     int
	cmds  []ledger.Command
}

func newStateMachine(b *testing.B, l *ledger.Ledger) *stateMachine {
	return &stateMachine{b: b, l: l, now: calendar.NewDate(2026, 11, 1).Start()}
}

func (w *stateMachine) add(body ledger.Body) {
	w.n++
	w.cmds = append(w.cmds, ledger.Command{Key: fmt.Sprintf("g/%d", w.n), Body: body})
	if len(w.cmds) == ratingCommandsPerTx {
		w.flush()
	}
}

func (w *stateMachine) flush() {
	if len(w.cmds) == 0 {
		return
	}
	w.index++
	data := ledger.EncodeProposal(&ledger.Proposal{RecordedAt: w.now, Submissions: []ledger.Submission{{Actor: "bench", Commands: w.cmds}}})
	res := w.l.ApplyBatch([]ledger.Entry{{Index: w.index, Data: data}})[0].(*ledger.ProposalResult)
	if res.Err != nil || res.Submissions[0].Err != nil {
		w.b.Fatalf("generate: %v %v", res.Err, res.Submissions[0].Err)
	}
	if w.index%10 == 0 {
		w.l.Flush()
	}
	w.cmds = w.cmds[:0]
}

// benchItem is a catalog item of the generated ledgers.
type benchItem struct {
	id, class string
	billing   ledger.Billing
	proration ledger.Proration
	price     string
}

// benchItems are the generated ledgers' catalog: daily and monthly allocation items and a
// metered one (the last).
var benchItems = []benchItem{
	{"ecs.vcpu", "vcpu", ledger.BillingAllocation, ledger.ProrationDaily, "40"},
	{"ecs.memory", "memory_gb", ledger.BillingAllocation, ledger.ProrationDaily, "15"},
	{"disk.ssd", "storage_gb", ledger.BillingAllocation, ledger.ProrationDaily, "1.1"},
	{"sec.host", "", ledger.BillingAllocation, ledger.ProrationMonthly, "66"},
	{"oss.egress", "", ledger.BillingMetered, ledger.ProrationDaily, "0.8"},
}

var benchProviders = []string{"ctyun", "hwcloud", "aliyun"}

// writeMasterData writes the providers (with quarterly scores from the quarter starting
// scoredFrom), the catalog (prices from since; Huawei's own vCPU price from 2026) and the
// departments, each with one project holding a large quota of every class.
// writer takes commands in order: the state machine itself, or a node's API (BenchmarkScaleNode).
type writer interface {
	add(body ledger.Body)
	flush()
}

func writeMasterData(w writer, since, scoredFrom calendar.Date, quarters, departments int) {
	d := decimal.RequireFromString
	for i, p := range benchProviders {
		w.add(&ledger.SetProvider{Provider: ledger.Provider{ID: p, Name: p, ContractStart: since, ContractEnd: calendar.NewDate(2028, 12, 31)}})
		for q := 0; q < quarters; q++ {
			from := scoredFrom.AddMonths(3 * q)
			w.add(&ledger.SetEvaluation{Provider: p, From: from, To: from.AddMonths(3).AddDays(-1), Score: decimal.NewFromInt(int64(75 + 5*i + q%4))})
		}
	}
	for _, it := range benchItems {
		w.add(&ledger.SetCatalogPrice{Item: it.id, Name: it.id, Unit: "u", Billing: it.billing, QuotaClass: it.class, Proration: it.proration, Price: d(it.price), EffectiveFrom: since})
	}
	w.add(&ledger.SetCatalogPrice{Item: "ecs.vcpu", Name: "ecs.vcpu", Unit: "u", Billing: ledger.BillingAllocation, QuotaClass: "vcpu", Proration: ledger.ProrationDaily, Price: d("38"), Provider: "hwcloud", EffectiveFrom: calendar.NewDate(2026, 1, 1)})
	for i := 0; i < departments; i++ {
		dep := fmt.Sprintf("dep%03d", i)
		w.add(&ledger.SetDepartment{Department: ledger.Department{ID: dep, Name: dep, Funding: ledger.FundingBudget}})
		for _, class := range []string{"vcpu", "memory_gb", "storage_gb"} {
			w.add(&ledger.SetProjectQuota{Project: dep + "-sys", Department: dep, Name: dep, QuotaClass: class, Quota: d("100000000")})
		}
	}
	w.flush()
}

// benchResource is resource r of the generated ledgers: its department, item and the event
// its operations share; one resource in ratingMeteredShare is metered.
func benchResource(r, departments int) (benchItem, ledger.Event) {
	dep := fmt.Sprintf("dep%03d", r%departments)
	it := benchItems[r%len(benchItems)]
	if r%ratingMeteredShare == 0 {
		it = benchItems[len(benchItems)-1]
	} else if it.billing == ledger.BillingMetered {
		it = benchItems[0]
	}
	return it, ledger.Event{Department: dep, Project: dep + "-sys", Provider: benchProviders[r%len(benchProviders)], Resource: fmt.Sprintf("res%06d", r),
		Item: it.id, Kind: ledger.KindStandard}
}

// benchOp is resource r's k-th operation: use for a metered item; allocate, then expand
// and reduce in turn, and (one in three) reclaim as the last.
func benchOp(it benchItem, r, k int, last bool) (ledger.Op, decimal.Decimal) {
	switch {
	case it.billing == ledger.BillingMetered:
		return ledger.OpUsage, decimal.NewFromInt(int64(1 + (r+k)%97))
	case k == 0:
		return ledger.OpAllocate, decimal.NewFromInt(int64(4 + r%13))
	case last && r%3 == 0:
		return ledger.OpReclaim, decimal.Zero
	case k%2 == 1:
		return ledger.OpExpand, decimal.NewFromInt(2)
	}
	return ledger.OpReduce, decimal.NewFromInt(1)
}
