package rating

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"
	"testing/quick"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/ledger"
)

// randomWorld is a year of random resources: both policies, metered use, test kinds,
// prices that change and differ by provider, and scores with gaps. Operations of one
// resource share instants now and then, to exercise order independence.
func randomWorld(seed int64) *world {
	rng := rand.New(rand.NewSource(seed))
	w := newWorld()
	w.item("vcpu", alloBill, daily, "@2025-01-01=40", "@2026-03-17=42.5", "p2@2026-06-09=38")
	w.item("disk", alloBill, daily, "@2025-01-01=1.1")
	w.item("sec", alloBill, monthly, "@2025-01-01=66", "@2026-07-01=70")
	w.item("egress", metered, daily, "@2025-01-01=0.8", "p1@2026-02-11=0.75")
	for _, p := range []string{"p1", "p2"} {
		for q := 0; q < 4; q++ {
			if rng.Intn(5) == 0 {
				continue // a quarter without a score: provisional days
			}
			from := calendar.NewDate(2026, time.Month(1+3*q), 1)
			w.score(p, from.String(), from.AddMonths(3).AddDays(-1).String(), fmt.Sprint(50+rng.Intn(51)))
		}
	}
	start := calendar.NewDate(2026, 1, 1).Start()
	for i := 0; i < 40; i++ {
		provider := []string{"p1", "p2"}[rng.Intn(2)]
		kind := []ledger.ResourceKind{ledger.KindStandard, ledger.KindStandard, ledger.KindDev, ledger.KindTest}[rng.Intn(4)]
		item := []string{"vcpu", "disk", "sec", "egress"}[rng.Intn(4)]
		t := start.Add(time.Duration(rng.Int63n(int64(300 * 24 * time.Hour))))
		var ops []ledger.ResourceOp
		step := func() time.Time {
			if rng.Intn(4) == 0 {
				return t // same instant as the previous operation
			}
			t = t.Add(time.Duration(rng.Int63n(int64(40 * 24 * time.Hour))))
			return t
		}
		if item == "egress" {
			for j := 0; j < 1+rng.Intn(6); j++ {
				ops = append(ops, ledger.ResourceOp{Time: step(), Op: ledger.OpUsage, Quantity: decimal.NewFromInt(int64(1 + rng.Intn(500)))})
			}
		} else {
			held := int64(2 + rng.Intn(30))
			ops = append(ops, ledger.ResourceOp{Time: t, Op: ledger.OpAllocate, Quantity: decimal.NewFromInt(held)})
			for j := 0; j < rng.Intn(5); j++ {
				if rng.Intn(2) == 0 {
					ops = append(ops, ledger.ResourceOp{Time: step(), Op: ledger.OpExpand, Quantity: decimal.NewFromInt(int64(1 + rng.Intn(8)))})
				} else {
					ops = append(ops, ledger.ResourceOp{Time: step(), Op: ledger.OpReduce, Quantity: decimal.NewFromInt(1)})
				}
			}
			if rng.Intn(2) == 0 {
				ops = append(ops, ledger.ResourceOp{Time: step(), Op: ledger.OpReclaim})
			}
		}
		w.resource(fmt.Sprintf("r%03d", i), fmt.Sprintf("proj%d", rng.Intn(4)), provider, item, kind, ops...)
	}
	return w
}

func csvOf(t *testing.T, lines []Line) string {
	var b stringsBuilder
	if err := WriteCSV(&b, lines); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// SPEC: lines are per month, so charges over a range equal the charges over its
// month-aligned sub-ranges, line for line and in total.
func TestPropertyRangeEqualsSumOfMonthAlignedSubRanges(t *testing.T) {
	f := func(seed int64) bool {
		w := randomWorld(seed)
		whole := w.rate(t, "2026-01-01", "2026-12-31")
		var parts []Line
		total := decimal.Zero
		for m := 1; m <= 12; m++ {
			mo := calendar.Month{Year: 2026, Month: time.Month(m)}
			r := w.rate(t, mo.First().String(), mo.Last().String())
			parts = append(parts, r.Lines...)
			total = total.Add(r.Total.Amount)
		}
		if csvOf(t, whole.Lines) != csvOf(t, parts) || !total.Equal(whole.Total.Amount) {
			t.Logf("seed %d: whole year and months differ (totals %s vs %s)", seed, whole.Total.Amount, total)
			return false
		}
		return true
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 30}); err != nil {
		t.Fatal(err)
	}
}

// Importing the same events in a different order (same times) gives identical output: the
// ledger keeps each resource's operations in time order, and operations at one instant may
// come in any order.
func TestPropertySameEventsInAnotherOrderGiveIdenticalOutput(t *testing.T) {
	f := func(seed int64) bool {
		w := randomWorld(seed)
		want := csvOf(t, w.rate(t, "2026-01-01", "2026-12-31").Lines)
		rng := rand.New(rand.NewSource(seed + 1))
		for _, h := range w.d.Resources {
			// Shuffle, then restore time order with a stable sort: only ties move. A valid
			// ledger opens a resource first and closes it last (resource_closed otherwise).
			rng.Shuffle(len(h.Ops), func(i, j int) { h.Ops[i], h.Ops[j] = h.Ops[j], h.Ops[i] })
			slices.SortStableFunc(h.Ops, func(a, b ledger.ResourceOp) int {
				if c := a.Time.Compare(b.Time); c != 0 {
					return c
				}
				return rank(a.Op) - rank(b.Op)
			})
		}
		rng.Shuffle(len(w.d.Resources), func(i, j int) { w.d.Resources[i], w.d.Resources[j] = w.d.Resources[j], w.d.Resources[i] })
		got := csvOf(t, w.rate(t, "2026-01-01", "2026-12-31").Lines)
		if got != want {
			t.Logf("seed %d: output changed with the order", seed)
		}
		return got == want
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 30}); err != nil {
		t.Fatal(err)
	}
}

func rank(op ledger.Op) int {
	switch op {
	case ledger.OpAllocate:
		return 0
	case ledger.OpReclaim, ledger.OpExpire:
		return 2
	}
	return 1
}

// With the default band table every multiplier is ≤ 1, so no amount exceeds its base.
func TestPropertyAmountAtMostBaseWhenMultipliersAtMostOne(t *testing.T) {
	f := func(seed int64) bool {
		res := randomWorld(seed).rate(t, "2026-01-01", "2026-12-31")
		for _, l := range res.Lines {
			if l.Amount.GreaterThan(l.BaseAmount) || l.Multiplier.GreaterThan(one) {
				t.Logf("seed %d: %+v", seed, l)
				return false
			}
		}
		return len(res.Lines) > 0 && !res.Total.Amount.GreaterThan(res.Total.BaseAmount)
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 30}); err != nil {
		t.Fatal(err)
	}
}

// SPEC: Ledger — an expire's "effective time is the expiry itself, whenever the item is
// written": a ledger whose time-limited resources carry only their expiry rates exactly like
// one where the tick has written the expires.
func TestPropertyExpireWrittenOrNotGivesIdenticalOutput(t *testing.T) {
	f := func(seed int64) bool {
		w := randomWorld(seed)
		rng := rand.New(rand.NewSource(seed + 2))
		var expiring []*ledger.ResourceHistory
		for _, h := range w.d.Resources {
			last := h.Ops[len(h.Ops)-1]
			if w.d.Items[h.Item].Billing == ledger.BillingMetered || last.Op == ledger.OpReclaim {
				continue
			}
			h.Expires = last.Time.Add(time.Duration(1 + rng.Int63n(int64(90*24*time.Hour))))
			expiring = append(expiring, h)
		}
		before := csvOf(t, w.rate(t, "2026-01-01", "2027-03-31").Lines)
		for _, h := range expiring {
			h.Ops = append(h.Ops, ledger.ResourceOp{Time: h.Expires, Op: ledger.OpExpire})
		}
		after := csvOf(t, w.rate(t, "2026-01-01", "2027-03-31").Lines)
		if before != after || len(expiring) == 0 {
			t.Logf("seed %d: %d expiring resources; output differs: %v", seed, len(expiring), before != after)
			return false
		}
		return true
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 30}); err != nil {
		t.Fatal(err)
	}
}
