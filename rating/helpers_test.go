package rating

import (
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/ledger"
)

// world builds ledger.View by hand for the tests of this package.
type world struct {
	d *ledger.View
}

func newWorld() *world {
	d := &ledger.View{Departments: map[string]*ledger.Department{}, Providers: map[string]*ledger.Provider{},
		Projects: map[string]*ledger.Project{}, Items: map[string]*ledger.CatalogItem{}, Evaluations: map[string]*ledger.ProviderScores{}}
	d.Departments["edu"] = &ledger.Department{ID: "edu", Name: "市教育局", Funding: ledger.FundingBudget}
	d.Departments["fin"] = &ledger.Department{ID: "fin", Name: "市财政局", Funding: ledger.FundingBudget}
	for _, p := range []string{"p1", "p2"} {
		d.Providers[p] = &ledger.Provider{ID: p, Name: p}
	}
	return &world{d: d}
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func day(s string) calendar.Date {
	d, err := calendar.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// item adds a catalog item; prices are "provider@YYYY-MM-DD=price" or "@YYYY-MM-DD=price".
func (w *world) item(id string, billing ledger.Billing, proration ledger.Proration, prices ...string) {
	it := &ledger.CatalogItem{ID: id, Name: id, Unit: "unit", Billing: billing, Proration: proration}
	for _, p := range prices {
		var prov, date, price string
		i := 0
		for i < len(p) && p[i] != '@' {
			i++
		}
		prov = p[:i]
		rest := p[i+1:]
		date, price = rest[:10], rest[11:]
		it.Prices = append(it.Prices, ledger.PriceVersion{Provider: prov, EffectiveFrom: day(date), Price: dec(price)})
	}
	w.d.Items[id] = it
}

// resource adds a resource of department edu; ops are "RFC3339 op quantity".
func (w *world) resource(id, project, provider, item string, kind ledger.ResourceKind, ops ...ledger.ResourceOp) {
	w.d.Resources = append(w.d.Resources, &ledger.ResourceHistory{ID: id, Department: "edu", Project: project, Provider: provider,
		Item: item, Kind: kind, Ops: ops})
}

func op(t string, o ledger.Op, q string) ledger.ResourceOp {
	r := ledger.ResourceOp{Time: at(t), Op: o}
	if q != "" {
		r.Quantity = dec(q)
	}
	return r
}

func (w *world) score(provider, from, to, score string) {
	ps := w.d.Evaluations[provider]
	if ps == nil {
		ps = &ledger.ProviderScores{Provider: provider}
		w.d.Evaluations[provider] = ps
	}
	ps.Scores = append(ps.Scores, ledger.Evaluation{From: day(from), To: day(to), Score: dec(score)})
}

func (w *world) rate(t *testing.T, from, to string) *Result {
	t.Helper()
	res, err := Rate(w.d, Options{From: day(from), To: day(to)})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// only returns the single line of a result, failing otherwise.
func only(t *testing.T, res *Result) Line {
	t.Helper()
	if len(res.Lines) != 1 {
		t.Fatalf("want 1 line, got %d: %+v", len(res.Lines), res.Lines)
	}
	return res.Lines[0]
}

func lineOf(t *testing.T, res *Result, month, project, provider, item string) Line {
	t.Helper()
	for _, l := range res.Lines {
		if l.Month.String() == month && l.Project == project && l.Provider == provider && l.Item == item {
			return l
		}
	}
	t.Fatalf("no line %s/%s/%s/%s in %+v", month, project, provider, item, res.Lines)
	return Line{}
}

func wantLine(t *testing.T, l Line, quantity, base, multiplier, amount string) {
	t.Helper()
	got := []string{l.Quantity.String(), l.BaseAmount.StringFixed(2), l.Multiplier.StringFixed(4), l.Amount.StringFixed(2)}
	want := []string{quantity, base, multiplier, amount}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("line %v: quantity/base/multiplier/amount = %v, want %v", l.Key, got, want)
			return
		}
	}
}

type stringsBuilder = strings.Builder
