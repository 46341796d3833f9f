package rating

import (
	"strings"
	"testing"

	"github.com/cloudledger/cloudledger/errcode"
	"github.com/cloudledger/cloudledger/ledger"
)

// Hand-worked cases of SPEC.md "Rating" and RATING_DEFAULTS.md. Every expected figure is
// worked out in the comments; none is produced by the code under test. Unless a case says
// otherwise, provider p1 scores 95 all year (multiplier 1.00, RATING_DEFAULTS s ≥ 90).

const (
	alloc    = ledger.OpAllocate
	expand   = ledger.OpExpand
	reduce   = ledger.OpReduce
	reclaim  = ledger.OpReclaim
	expire   = ledger.OpExpire
	usage    = ledger.OpUsage
	daily    = ledger.ProrationDaily
	monthly  = ledger.ProrationMonthly
	alloBill = ledger.BillingAllocation
	metered  = ledger.BillingMetered
)

func scoredWorld() *world {
	w := newWorld()
	w.score("p1", "2025-01-01", "2028-12-31", "95")
	return w
}

// SPEC: "a part day counts as a whole day: allocate at 23:00 pays that day; reclaim at 01:00
// pays that day".
func TestAllocateAt2300ReclaimAt0100PaysBothPartDays(t *testing.T) {
	w := scoredWorld()
	w.item("vcpu", alloBill, daily, "@2025-01-01=31")
	w.resource("r1", "proj", "p1", "vcpu", ledger.KindStandard,
		op("2026-03-10T23:00:00+08:00", alloc, "2"),
		op("2026-03-12T01:00:00+08:00", reclaim, ""))
	// Held on 10 Mar (from 23:00), 11 Mar (all day) and 12 Mar (until 01:00): 3 days × 2 = 6
	// unit-days. March has 31 days: base = 31 × 6 / 31 = 6.00; multiplier 1.00 → amount 6.00.
	wantLine(t, only(t, w.rate(t, "2026-03-01", "2026-03-31")), "6", "6.00", "1.0000", "6.00")
}

// SPEC: "q_d = the largest quantity the resource held at any instant of d".
func TestExpandAndReduceOnTheSameDayPayTheDaysPeak(t *testing.T) {
	w := scoredWorld()
	w.item("vcpu", alloBill, daily, "@2025-01-01=62")
	w.resource("r1", "proj", "p1", "vcpu", ledger.KindStandard,
		op("2026-03-01T00:00:00+08:00", alloc, "4"),
		op("2026-03-05T10:00:00+08:00", expand, "6"), // 4 → 10
		op("2026-03-05T15:00:00+08:00", reduce, "8"), // 10 → 2
		op("2026-03-07T00:00:00+08:00", reclaim, "")) // at 00:00: nothing held on 7 Mar
	// 1–4 Mar: 4 × 4 = 16; 5 Mar: max(4, 10, 2) = 10; 6 Mar: 2; total 28 unit-days.
	// base = 62 × 28 / 31 = 56.00.
	wantLine(t, only(t, w.rate(t, "2026-03-01", "2026-03-31")), "28", "56.00", "1.0000", "56.00")
}

// SPEC: "Charge for d = P_d × q_d / (days in d's month), P_d the price in force on d".
func TestPriceChangeInTheMiddleOfAMonth(t *testing.T) {
	w := scoredWorld()
	w.item("vcpu", alloBill, daily, "@2025-01-01=30", "@2026-04-16=45")
	w.resource("r1", "proj", "p1", "vcpu", ledger.KindStandard, op("2026-04-01T00:00:00+08:00", alloc, "1"))
	// April has 30 days. 1–15 Apr at 30: 15 × 30 / 30 = 15.00; 16–30 Apr at 45: 15 × 45 / 30 =
	// 22.50. base = 37.50 over 30 unit-days.
	wantLine(t, only(t, w.rate(t, "2026-04-01", "2026-04-30")), "30", "37.50", "1.0000", "37.50")
}

// SPEC: "a provider may have its own price for an item (its procurement price, HLJ 4), which
// overrides the default" — from its effective day.
func TestProviderPriceOverridesTheDefaultFromItsEffectiveDay(t *testing.T) {
	w := scoredWorld()
	w.score("p2", "2025-01-01", "2028-12-31", "95")
	w.item("vcpu", alloBill, daily, "@2025-01-01=30", "p1@2026-04-11=24")
	w.resource("r1", "proj", "p1", "vcpu", ledger.KindStandard, op("2026-04-01T00:00:00+08:00", alloc, "1"))
	w.resource("r2", "proj", "p2", "vcpu", ledger.KindStandard, op("2026-04-01T00:00:00+08:00", alloc, "1"))
	res := w.rate(t, "2026-04-01", "2026-04-30")
	// p1: 1–10 Apr at the default 30: 10 × 30 / 30 = 10.00; 11–30 Apr at its own 24:
	// 20 × 24 / 30 = 16.00; base 26.00.
	wantLine(t, lineOf(t, res, "2026-04", "proj", "p1", "vcpu"), "30", "26.00", "1.0000", "26.00")
	// p2 has no price of its own: the default 30 all month, 30 × 30 / 30 = 30.00.
	wantLine(t, lineOf(t, res, "2026-04", "proj", "p2", "vcpu"), "30", "30.00", "1.0000", "30.00")
	if res.Total.BaseAmount.StringFixed(2) != "56.00" {
		t.Errorf("total base %s, want 26.00 + 30.00 = 56.00", res.Total.BaseAmount.StringFixed(2))
	}
}

// One day of one unit at 28.00 a month costs 28 / (days in the month).
func TestMonthsOf28_29_30And31Days(t *testing.T) {
	cases := []struct {
		day, base string
	}{
		{"2026-02-10", "1.00"}, // 28 / 28 = 1.00
		{"2028-02-10", "0.97"}, // 28 / 29 = 0.96551… → 0.97 (leap year)
		{"2026-04-10", "0.93"}, // 28 / 30 = 0.93333… → 0.93
		{"2026-03-10", "0.90"}, // 28 / 31 = 0.90322… → 0.90
	}
	for _, c := range cases {
		w := scoredWorld()
		w.item("vcpu", alloBill, daily, "@2025-01-01=28")
		w.resource("r1", "proj", "p1", "vcpu", ledger.KindStandard,
			op(c.day+"T10:00:00+08:00", alloc, "1"), op(c.day+"T11:00:00+08:00", reclaim, ""))
		wantLine(t, only(t, w.rate(t, c.day, c.day)), "1", c.base, "1.0000", c.base)
	}
}

// SPEC: "metered billing: charge = quantity × P, P the price in force on the usage's day".
func TestMeteredUseAcrossAPriceChange(t *testing.T) {
	w := scoredWorld()
	w.item("egress", metered, daily, "@2025-01-01=0.5", "@2026-05-15=0.8")
	w.resource("u1", "proj", "p1", "egress", ledger.KindStandard,
		op("2026-05-14T23:30:00+08:00", usage, "100"), // 100 × 0.5 = 50.00
		op("2026-05-15T00:30:00+08:00", usage, "100")) // 100 × 0.8 = 80.00
	// quantity 200 units, base 130.00.
	wantLine(t, only(t, w.rate(t, "2026-05-01", "2026-05-31")), "200", "130.00", "1.0000", "130.00")
}

// SPEC: "test resources are never charged and appear in no charge line".
func TestTestResourceIsFreeAndInNoLine(t *testing.T) {
	w := scoredWorld()
	w.item("vcpu", alloBill, daily, "@2025-01-01=30")
	w.resource("t1", "proj", "p1", "vcpu", ledger.KindTest, op("2026-06-01T00:00:00+08:00", alloc, "8"),
		op("2026-06-20T00:00:00+08:00", expire, ""))
	if res := w.rate(t, "2026-06-01", "2026-06-30"); len(res.Lines) != 0 {
		t.Fatalf("a test resource produced lines: %+v", res.Lines)
	}
}

// SPEC: "an expire effective at the expiry itself": expiry 2026-06-10 (end of that day) is
// the expire line item at 2026-06-11T00:00+08:00.
func TestDevResourceLeftToExpireIsNotChargedAfterItsExpiryDay(t *testing.T) {
	w := scoredWorld()
	w.item("vcpu", alloBill, daily, "@2025-01-01=30")
	w.resource("d1", "proj", "p1", "vcpu", ledger.KindDev, op("2026-06-01T00:00:00+08:00", alloc, "2"),
		op("2026-06-11T00:00:00+08:00", expire, ""))
	// 1–10 Jun: 10 days × 2 = 20 unit-days; June has 30 days: 30 × 20 / 30 = 20.00. Nothing
	// from 11 Jun on.
	wantLine(t, only(t, w.rate(t, "2026-06-01", "2026-06-30")), "20", "20.00", "1.0000", "20.00")
	if res := w.rate(t, "2026-06-11", "2026-07-31"); len(res.Lines) != 0 {
		t.Fatalf("charged after the expiry day: %+v", res.Lines)
	}
}

// SPEC: the expire's "effective time is the expiry itself, whenever the item is written":
// before the leader's tick has written it, the expiry alone ends the charges, and the figures
// are those of the ledger that has the expire.
func TestExpiryEndsChargesBeforeTheExpireIsWritten(t *testing.T) {
	w := scoredWorld()
	w.item("vcpu", alloBill, daily, "@2025-01-01=30")
	w.item("sec", alloBill, monthly, "@2025-01-01=100")
	w.resource("d1", "proj", "p1", "vcpu", ledger.KindDev, op("2026-06-01T00:00:00+08:00", alloc, "2"))
	w.resource("d2", "proj", "p1", "sec", ledger.KindTemporary, op("2026-04-03T09:00:00+08:00", alloc, "1"))
	// Expiry 2026-06-10 (end of that day) = 2026-06-11T00:00+08:00; no expire line item yet.
	w.d.Resources[0].Expires = at("2026-06-11T00:00:00+08:00")
	// d2: opened 3 Apr (day 1–15: April free), expires 2026-07-15 10:00.
	w.d.Resources[1].Expires = at("2026-07-15T10:00:00+08:00")
	res := w.rate(t, "2026-06-01", "2026-08-31")
	// d1 as in the test above: 1–10 Jun, 10 days × 2 = 20 unit-days, 30 × 20 / 30 = 20.00; nothing
	// in July or August.
	wantLine(t, lineOf(t, res, "2026-06", "proj", "p1", "vcpu"), "20", "20.00", "1.0000", "20.00")
	// d2 (monthly): June pays 100 (30 unit-days); July, the month of its release, pays in full:
	// 100 (31 unit-days); August nothing. 3 lines in all, 20 + 100 + 100 = 220.00.
	wantLine(t, lineOf(t, res, "2026-06", "proj", "p1", "sec"), "30", "100.00", "1.0000", "100.00")
	wantLine(t, lineOf(t, res, "2026-07", "proj", "p1", "sec"), "31", "100.00", "1.0000", "100.00")
	if len(res.Lines) != 3 || res.Total.BaseAmount.StringFixed(2) != "220.00" {
		t.Fatalf("%d lines, total %s; want 3 lines, 220.00: %+v", len(res.Lines), res.Total.BaseAmount, res.Lines)
	}
	// Once the tick writes the expires, at the expiries, nothing changes.
	w.d.Resources[0].Ops = append(w.d.Resources[0].Ops, op("2026-06-11T00:00:00+08:00", expire, ""))
	w.d.Resources[1].Ops = append(w.d.Resources[1].Ops, op("2026-07-15T10:00:00+08:00", expire, ""))
	written := w.rate(t, "2026-06-01", "2026-08-31")
	if a, b := csvOf(t, res.Lines), csvOf(t, written.Lines); a != b {
		t.Fatalf("before the expire is written:\n%s\nafter:\n%s", a, b)
	}
}

// SPEC: "The score in force on a day maps to a multiplier"; amount = Σ (charge of day ×
// multiplier of day), so the line's multiplier is the day-weighted one.
func TestEvaluationRangeEndingMidMonthWeightsTheMultiplierByDay(t *testing.T) {
	w := newWorld()
	w.score("p1", "2026-01-01", "2026-03-15", "95") // ≥ 90 → 1.00
	w.score("p1", "2026-03-16", "2026-06-30", "85") // 80–90 → 0.98
	w.item("vcpu", alloBill, daily, "@2025-01-01=31")
	w.resource("r1", "proj", "p1", "vcpu", ledger.KindStandard, op("2026-03-01T00:00:00+08:00", alloc, "1"))
	// Each March day costs 31 × 1 / 31 = 1.00: base 31.00.
	// amount = 15 days × 1.00 × 1.00 + 16 days × 1.00 × 0.98 = 15.00 + 15.68 = 30.68.
	// multiplier = 30.68 / 31 = 0.989677… → 0.9897.
	l := only(t, w.rate(t, "2026-03-01", "2026-03-31"))
	wantLine(t, l, "31", "31.00", "0.9897", "30.68")
	if l.Provisional() {
		t.Error("every day had a score, yet the line is provisional")
	}
}

// SPEC: "No score for a day: the multiplier is 1 and the charge is provisional".
func TestDayWithoutScoreIsProvisional(t *testing.T) {
	w := newWorld()
	w.score("p1", "2026-03-01", "2026-03-20", "75") // 70–80 → 0.95
	w.item("vcpu", alloBill, daily, "@2025-01-01=31")
	w.resource("r1", "proj", "p1", "vcpu", ledger.KindStandard, op("2026-03-01T00:00:00+08:00", alloc, "1"))
	// base 31.00; amount = 20 × 1.00 × 0.95 + 11 × 1.00 × 1 (no score, 21–31 Mar) = 19.00 +
	// 11.00 = 30.00; multiplier 30 / 31 = 0.967741… → 0.9677; 11 provisional days.
	res := w.rate(t, "2026-03-01", "2026-03-31")
	l := only(t, res)
	wantLine(t, l, "31", "31.00", "0.9677", "30.00")
	if l.ProvisionalDays != 11 || len(res.Provisional) != 1 {
		t.Fatalf("provisional days %d (want 11), provisional lines %d (want 1)", l.ProvisionalDays, len(res.Provisional))
	}
	// And it says which days: p1 has no score 21–31 Mar.
	wantUnscored(t, res, "p1: 2026-03-21..2026-03-31")
}

// Settlement must know which days to score (先审再付): the unscored days of each provider
// with a provisional line, as date ranges — here a gap inside March and all of April.
func TestUnscoredDaysAreListedPerProvider(t *testing.T) {
	w := newWorld()
	w.score("p1", "2026-03-01", "2026-03-10", "95")
	w.score("p1", "2026-03-21", "2026-03-31", "95")
	w.score("p2", "2026-03-01", "2026-04-30", "95") // p2 is scored throughout: not listed
	w.item("vcpu", alloBill, daily, "@2025-01-01=31")
	w.resource("r1", "proj", "p1", "vcpu", ledger.KindStandard, op("2026-03-01T00:00:00+08:00", alloc, "1"))
	w.resource("r2", "proj", "p2", "vcpu", ledger.KindStandard, op("2026-03-01T00:00:00+08:00", alloc, "1"))
	res := w.rate(t, "2026-03-01", "2026-04-30")
	// p1, March: 11–20 Mar unscored = 10 days; April: all 30 days unscored.
	if m, a := lineOf(t, res, "2026-03", "proj", "p1", "vcpu"), lineOf(t, res, "2026-04", "proj", "p1", "vcpu"); m.ProvisionalDays != 10 || a.ProvisionalDays != 30 {
		t.Errorf("provisional days March %d (want 10), April %d (want 30)", m.ProvisionalDays, a.ProvisionalDays)
	}
	if len(res.Provisional) != 2 {
		t.Errorf("%d provisional lines, want p1's two", len(res.Provisional))
	}
	wantUnscored(t, res, "p1: 2026-03-11..2026-03-20 2026-04-01..2026-04-30")
}

func wantUnscored(t *testing.T, res *Result, want ...string) {
	t.Helper()
	var got []string
	for _, u := range res.Unscored {
		s := u.Provider + ":"
		for _, d := range u.Days {
			s += " " + d.From.String() + ".." + d.To.String()
		}
		got = append(got, s)
	}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("unscored days %q, want %q", got, want)
	}
}

// Options.Department and Options.Provider select from unfiltered data too (settlement may
// rate one department out of a whole year's View).
func TestDepartmentAndProviderOptionsFilterTheResources(t *testing.T) {
	w := scoredWorld()
	w.score("p2", "2025-01-01", "2028-12-31", "95")
	w.item("vcpu", alloBill, daily, "@2025-01-01=30")
	w.resource("r1", "proj", "p1", "vcpu", ledger.KindStandard, op("2026-04-01T00:00:00+08:00", alloc, "1"))
	w.resource("r2", "proj", "p2", "vcpu", ledger.KindStandard, op("2026-04-01T00:00:00+08:00", alloc, "2"))
	w.d.Resources = append(w.d.Resources, &ledger.ResourceHistory{ID: "r3", Department: "fin", Project: "fin-sys", Provider: "p1",
		Item: "vcpu", Kind: ledger.KindStandard, Ops: []ledger.ResourceOp{op("2026-04-01T00:00:00+08:00", alloc, "4")}})
	rate := func(dep, prov string) *Result {
		res, err := Rate(w.d, Options{From: day("2026-04-01"), To: day("2026-04-30"), Department: dep, Provider: prov})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	// April has 30 days at 30 a month: each unit costs 1.00 a day, 30.00 for the month.
	// edu: r1 (1 unit, 30.00) + r2 (2 units, 60.00) = 90.00; fin: r3, 4 units = 120.00;
	// p1: r1 + r3 = 30.00 + 120.00 = 150.00; edu and p2: r2 alone, 60.00; everything:
	// 30.00 + 60.00 + 120.00 = 210.00.
	for _, c := range []struct{ dep, prov, total string }{
		{"", "", "210.00"}, {"edu", "", "90.00"}, {"fin", "", "120.00"}, {"", "p1", "150.00"}, {"edu", "p2", "60.00"},
	} {
		if got := rate(c.dep, c.prov).Total.BaseAmount.StringFixed(2); got != c.total {
			t.Errorf("department %q provider %q: total %s, want %s", c.dep, c.prov, got, c.total)
		}
	}
}

// RATING_DEFAULTS.md, monthly: "A resource opened on day 1–15 is a free trial for the rest of
// that month and pays from the next month; one opened after the 15th is free that month and
// the next; the month of a release or change pays in full at the highest quantity held".
func TestMonthlyPolicyDay15Rule(t *testing.T) {
	w := scoredWorld()
	w.item("host-sec", alloBill, monthly, "@2025-01-01=100")
	w.resource("a", "opened-15th", "p1", "host-sec", ledger.KindStandard, op("2026-03-15T10:00:00+08:00", alloc, "1"))
	w.resource("b", "opened-16th", "p1", "host-sec", ledger.KindStandard, op("2026-03-16T10:00:00+08:00", alloc, "1"))
	w.resource("c", "released", "p1", "host-sec", ledger.KindStandard,
		op("2026-01-05T10:00:00+08:00", alloc, "1"),
		op("2026-04-02T10:00:00+08:00", expand, "2"), // 3 held from 2 Apr
		op("2026-04-03T10:00:00+08:00", reclaim, ""))
	res := w.rate(t, "2026-03-01", "2026-05-31")
	// a: opened 15 Mar → March free; April and May pay 100 × 1 each (30 and 31 unit-days).
	wantLine(t, lineOf(t, res, "2026-04", "opened-15th", "p1", "host-sec"), "30", "100.00", "1.0000", "100.00")
	wantLine(t, lineOf(t, res, "2026-05", "opened-15th", "p1", "host-sec"), "31", "100.00", "1.0000", "100.00")
	// b: opened 16 Mar → March and April free; May pays 100.
	wantLine(t, lineOf(t, res, "2026-05", "opened-16th", "p1", "host-sec"), "31", "100.00", "1.0000", "100.00")
	// c: March pays 100 × 1; April, the month of its change and release, pays in full at the
	// highest quantity held, 3: 100 × 3 = 300.00 (3 × 30 = 90 unit-days); May nothing.
	wantLine(t, lineOf(t, res, "2026-03", "released", "p1", "host-sec"), "31", "100.00", "1.0000", "100.00")
	wantLine(t, lineOf(t, res, "2026-04", "released", "p1", "host-sec"), "90", "300.00", "1.0000", "300.00")
	// 2 + 1 + 2 lines; total 100 + 100 + 100 + 100 + 300 = 700.00.
	if len(res.Lines) != 5 || res.Total.BaseAmount.StringFixed(2) != "700.00" {
		t.Fatalf("%d lines, total %s; want 5 lines, 700.00: %+v", len(res.Lines), res.Total.BaseAmount, res.Lines)
	}
}

// SPEC: "base_amount = Σ charges of its days, rounded half-up to 0.01 … Totals are sums of
// rounded lines".
func TestHalfUpRoundingAtTheLineAndTotalsOfRoundedLines(t *testing.T) {
	w := scoredWorld()
	w.item("disk", alloBill, daily, "@2025-01-01=0.45")
	w.resource("r1", "proj-a", "p1", "disk", ledger.KindStandard,
		op("2026-04-10T10:00:00+08:00", alloc, "1"), op("2026-04-10T11:00:00+08:00", reclaim, ""))
	w.resource("r2", "proj-b", "p1", "disk", ledger.KindStandard,
		op("2026-04-10T10:00:00+08:00", alloc, "1"), op("2026-04-10T11:00:00+08:00", reclaim, ""))
	// Each line: 0.45 × 1 / 30 = 0.015 exactly → half-up 0.02 (half-even would give 0.02 too,
	// so the next check matters): the total is 0.02 + 0.02 = 0.04, not round(0.03) = 0.03.
	res := w.rate(t, "2026-04-01", "2026-04-30")
	for _, l := range res.Lines {
		wantLine(t, l, "1", "0.02", "1.0000", "0.02")
	}
	if got := res.Total.BaseAmount.StringFixed(2); got != "0.04" {
		t.Fatalf("total %s, want the sum of rounded lines 0.04", got)
	}
}

// SPEC: charges.csv rows are sorted by the five key columns, with exactly these columns.
func TestChargesCSVColumnsAndOrder(t *testing.T) {
	w := scoredWorld()
	w.item("vcpu", alloBill, daily, "@2025-01-01=31")
	w.resource("r2", "zeta", "p1", "vcpu", ledger.KindStandard, op("2026-03-31T00:00:00+08:00", alloc, "1"))
	w.resource("r1", "alpha", "p1", "vcpu", ledger.KindStandard, op("2026-03-31T00:00:00+08:00", alloc, "1"))
	var b stringsBuilder
	if err := WriteCSV(&b, w.rate(t, "2026-03-31", "2026-04-01").Lines); err != nil {
		t.Fatal(err)
	}
	// 31 Mar: 31 × 1 / 31 = 1.00 per resource; 1 Apr: 31 × 1 / 30 = 1.0333… → 1.03.
	want := "month,department,project,provider,item,billing,quantity,unit,base_amount,multiplier,amount\n" +
		"2026-03,edu,alpha,p1,vcpu,allocation,1,unit·天,1.00,1.0000,1.00\n" +
		"2026-03,edu,zeta,p1,vcpu,allocation,1,unit·天,1.00,1.0000,1.00\n" +
		"2026-04,edu,alpha,p1,vcpu,allocation,1,unit·天,1.03,1.0000,1.03\n" +
		"2026-04,edu,zeta,p1,vcpu,allocation,1,unit·天,1.03,1.0000,1.03\n"
	if b.String() != want {
		t.Fatalf("charges.csv:\n%s\nwant:\n%s", b.String(), want)
	}
}

// Bad input (issue 3, must show 5): from > to, unknown department or provider.
func TestBadRangeAndUnknownFilters(t *testing.T) {
	w := scoredWorld()
	cases := []struct {
		opt  Options
		code errcode.Code
	}{
		{Options{From: day("2026-04-02"), To: day("2026-04-01")}, errcode.InvalidRange},
		{Options{From: day("2026-04-01"), To: day("2026-04-30"), Department: "nope"}, errcode.UnknownDepartment},
		{Options{From: day("2026-04-01"), To: day("2026-04-30"), Provider: "nope"}, errcode.UnknownProvider},
		{Options{To: day("2026-04-30")}, errcode.InvalidDate},
		{Options{From: day("2016-01-01"), To: day("2026-04-30")}, errcode.TooLarge},
	}
	for _, c := range cases {
		_, err := Rate(w.d, c.opt)
		if errcode.Of(err) != c.code {
			t.Errorf("%+v: error %v, want code %s", c.opt, err, c.code)
		}
	}
}

// RATING_DEFAULTS.md: the table is "versioned by effective date, like catalog prices"; the
// default applies until a table is set.
func TestBandTableAppliesFromItsEffectiveDate(t *testing.T) {
	w := newWorld()
	w.score("p1", "2026-03-01", "2026-03-31", "75")
	w.d.BandTables = []ledger.BandTable{{EffectiveFrom: day("2026-03-16"), Bands: []ledger.Band{
		{MinScore: dec("0"), MaxScore: dec("80"), Multiplier: dec("0.5")},
		{MinScore: dec("80"), MaxScore: dec("100"), Multiplier: dec("1")}}}}
	w.item("vcpu", alloBill, daily, "@2025-01-01=31")
	w.resource("r1", "proj", "p1", "vcpu", ledger.KindStandard, op("2026-03-01T00:00:00+08:00", alloc, "1"))
	// Each March day costs 31 × 1 / 31 = 1.00: base 31.00. 1–15 Mar under the default table,
	// 70 ≤ 75 < 80 → 0.95; 16–31 Mar under the new table, 75 < 80 → 0.5.
	// amount = 15 × 0.95 + 16 × 0.5 = 14.25 + 8.00 = 22.25; multiplier 22.25 / 31 =
	// 0.717741… → 0.7177.
	wantLine(t, only(t, w.rate(t, "2026-03-01", "2026-03-31")), "31", "31.00", "0.7177", "22.25")
}

// ledger.Evaluation: "A later evaluation of the same provider overrides an earlier one on the
// days they share, so a corrected score is a new line item".
func TestCorrectedScoreOverridesOnTheDaysItCovers(t *testing.T) {
	w := newWorld()
	w.score("p1", "2026-01-01", "2026-03-31", "95") // ≥ 90 → 1.00
	w.score("p1", "2026-03-01", "2026-03-10", "65") // the correction: 60–70 → 0.90
	w.item("vcpu", alloBill, daily, "@2025-01-01=31")
	w.resource("r1", "proj", "p1", "vcpu", ledger.KindStandard, op("2026-03-01T00:00:00+08:00", alloc, "1"))
	// base 31 × 1.00 = 31.00; amount = 10 × 0.90 + 21 × 1.00 = 9.00 + 21.00 = 30.00;
	// multiplier 30 / 31 = 0.967741… → 0.9677.
	wantLine(t, only(t, w.rate(t, "2026-03-01", "2026-03-31")), "31", "31.00", "0.9677", "30.00")
}

// A line's provisional days are calendar days of its month, however many resources or usage
// records of the line fall on them.
func TestProvisionalDaysAreDaysOfTheLineNotResourceDays(t *testing.T) {
	w := newWorld()
	w.score("p1", "2026-04-11", "2026-04-30", "95")
	w.item("vcpu", alloBill, daily, "@2025-01-01=30")
	w.item("egress", metered, daily, "@2025-01-01=0.5")
	w.resource("r1", "proj", "p1", "vcpu", ledger.KindStandard, op("2026-04-01T00:00:00+08:00", alloc, "1"))
	w.resource("r2", "proj", "p1", "vcpu", ledger.KindStandard, op("2026-04-05T12:00:00+08:00", alloc, "1"))
	w.resource("u1", "proj", "p1", "egress", ledger.KindStandard,
		op("2026-04-03T08:00:00+08:00", usage, "10"), op("2026-04-03T20:00:00+08:00", usage, "10"),
		op("2026-04-12T08:00:00+08:00", usage, "10"))
	res := w.rate(t, "2026-04-01", "2026-04-30")
	// vcpu: unscored 1–10 Apr; r1 holds all of them, r2 5–10 Apr: still 10 days, not 16.
	// r1 30 unit-days + r2 26 (5–30 Apr) = 56; base 30 × 56 / 30 = 56.00; the multiplier is 1.00
	// on scored days (95 ≥ 90) and 1 on unscored ones → amount 56.00.
	l := lineOf(t, res, "2026-04", "proj", "p1", "vcpu")
	wantLine(t, l, "56", "56.00", "1.0000", "56.00")
	// egress: two records on 3 Apr (unscored) are one day; 12 Apr is scored. 30 units × 0.5 =
	// 15.00.
	m := lineOf(t, res, "2026-04", "proj", "p1", "egress")
	wantLine(t, m, "30", "15.00", "1.0000", "15.00")
	if l.ProvisionalDays != 10 || m.ProvisionalDays != 1 {
		t.Fatalf("provisional days: vcpu %d (want 10), egress %d (want 1)", l.ProvisionalDays, m.ProvisionalDays)
	}
}
