package rating

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/ledger"
)

// keptLedger is a real ledger store written through its state machine, one proposal per
// call, as Raft would.
type keptLedger struct {
	t     *testing.T
	l     *ledger.Ledger
	index uint64
	n     int
}

func newKeptLedger(t *testing.T) *keptLedger {
	l, err := ledger.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return &keptLedger{t: t, l: l}
}

// apply writes the bodies as one submission at now; it reports whether they were accepted
// (a refusal — a closed month, an operation out of order — is part of the random world).
func (k *keptLedger) apply(now time.Time, bodies ...ledger.Body) bool {
	k.t.Helper()
	var cmds []ledger.Command
	for _, b := range bodies {
		k.n++
		cmds = append(cmds, ledger.Command{Key: fmt.Sprintf("k/%d", k.n), Body: b})
	}
	k.index++
	data := ledger.EncodeProposal(&ledger.Proposal{RecordedAt: now, Submissions: []ledger.Submission{{Actor: "test", Commands: cmds}}})
	res := k.l.ApplyBatch([]ledger.Entry{{Index: k.index, Data: data}})[0].(*ledger.ProposalResult)
	if res.Err != nil {
		k.t.Fatalf("proposal refused: %v", res.Err)
	}
	return res.Submissions[0].Err == nil
}

func (k *keptLedger) must(now time.Time, bodies ...ledger.Body) {
	k.t.Helper()
	if !k.apply(now, bodies...) {
		k.t.Fatalf("refused: %+v", bodies)
	}
}

// resultText is everything of a Result a reader sees: lines, totals, provisional lines and
// unscored days.
func resultText(r *Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "head %d %s\n", r.Head.Seq, r.Head.Hash)
	for _, l := range r.Lines {
		fmt.Fprintf(&b, "%s %s %s %s %s %s %s %s %s %s %s %d\n", l.Month, l.Department, l.Project, l.Provider, l.Item, l.Billing,
			l.Quantity, l.Unit, l.BaseAmount, l.Multiplier, l.Amount, l.ProvisionalDays)
	}
	fmt.Fprintf(&b, "total %s %s %d\n", r.Total.BaseAmount, r.Total.Amount, r.Total.Lines)
	for _, l := range r.Provisional {
		fmt.Fprintf(&b, "provisional %s %s %s\n", l.Month, l.Department, l.Item)
	}
	for _, u := range r.Unscored {
		fmt.Fprintf(&b, "unscored %s %v\n", u.Provider, u.Days)
	}
	return b.String()
}

// Issue 28, must show 2: over random ledgers written through the state machine — late
// history (operations dated months back, interleaved across resources), time-limited
// resources expiring by tick and extended late, test resources, metered use, prices that
// change, scores and band tables arriving late, closed months refusing what falls in them —
// the kept charges equal Rate over a full read, line for line, for every month, settlement
// years, long ranges and each department's and provider's filter, read at several points
// while the ledger grows (so the kept figures are caught up incrementally, not built once).
func TestPropertyKeptChargesEqualTheReference(t *testing.T) {
	seeds := 8
	if testing.Short() {
		seeds = 4
	}
	for seed := int64(1); seed <= int64(seeds); seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { keptAgainstReference(t, seed) })
	}
}

func keptAgainstReference(t *testing.T, seed int64) {
	rng := rand.New(rand.NewSource(seed))
	k := newKeptLedger(t)
	kept := NewKept()
	clock := calendar.NewDate(2025, 8, 1).Start()
	d := func(s string) decimal.Decimal { return decimal.RequireFromString(s) }
	date := func(y int, m time.Month, dd int) calendar.Date { return calendar.NewDate(y, m, dd) }
	var setup []ledger.Body
	for _, p := range []string{"p1", "p2"} {
		setup = append(setup, &ledger.SetProvider{Provider: ledger.Provider{ID: p, Name: p, ContractStart: date(2025, 1, 1), ContractEnd: date(2028, 12, 31)}})
	}
	setup = append(setup, &ledger.SetDepartment{Department: ledger.Department{ID: "d1", Name: "d1", Funding: ledger.FundingBudget}},
		&ledger.SetDepartment{Department: ledger.Department{ID: "d2", Name: "d2", Funding: ledger.FundingSelf, Parent: "d1"}})
	items := []struct {
		id, class string
		billing   ledger.Billing
		proration ledger.Proration
	}{
		{"vcpu", "vcpu", ledger.BillingAllocation, ledger.ProrationDaily},
		{"disk", "storage_gb", ledger.BillingAllocation, ledger.ProrationDaily},
		{"sec", "", ledger.BillingAllocation, ledger.ProrationMonthly},
		{"egress", "", ledger.BillingMetered, ledger.ProrationDaily},
	}
	for _, it := range items {
		setup = append(setup, &ledger.SetCatalogPrice{Item: it.id, Name: it.id, Unit: "u", Billing: it.billing, QuotaClass: it.class,
			Proration: it.proration, Price: d(fmt.Sprint(1+rng.Intn(60), ".", rng.Intn(100))), EffectiveFrom: date(2025, 1, 1)})
	}
	for _, dep := range []string{"d1", "d2"} {
		for _, class := range []string{"vcpu", "storage_gb"} {
			setup = append(setup, &ledger.SetProjectQuota{Project: dep + "-a", Department: dep, Name: dep, QuotaClass: class, Quota: d("1000000")},
				&ledger.SetProjectQuota{Project: dep + "-b", Department: dep, Name: dep, QuotaClass: class, Quota: d("1000000")})
		}
	}
	k.must(clock, setup...)

	type res struct {
		id, dep, project, provider, item string
		kind                             ledger.ResourceKind
		last                             time.Time // of its latest operation
		open                             bool
		expires                          time.Time
	}
	var resources []*res
	rows, allocations := 0, 0 // resource rows compared; instants whose allocations were
	check := func(when string) {
		t.Helper()
		full, err := k.l.View(ledger.ViewFilter{})
		if err != nil {
			t.Fatal(err)
		}
		ranges := [][2]calendar.Date{{date(2025, 9, 1), date(2026, 8, 31)}, {date(2025, 6, 1), date(2027, 3, 31)}, {date(2026, 2, 10), date(2026, 2, 20)}}
		for m := (calendar.Month{Year: 2025, Month: time.August}); !m.After(calendar.Month{Year: 2027, Month: time.February}); m = m.Next() {
			ranges = append(ranges, [2]calendar.Date{m.First(), m.Last()})
		}
		for _, r := range ranges {
			for _, f := range [][2]string{{"", ""}, {"d1", ""}, {"d2", ""}, {"", "p1"}, {"d2", "p2"}} {
				opt := Options{From: r[0], To: r[1], Department: f[0], Provider: f[1]}
				want, err := Rate(full, opt)
				if err != nil {
					t.Fatal(err)
				}
				got, err := kept.Rate(k.l, opt)
				if err != nil {
					t.Fatal(err)
				}
				if w, g := resultText(want), resultText(got); w != g {
					t.Fatalf("%s, %+v: kept charges differ from the reference\nreference:\n%s\nkept:\n%s", when, opt, w, g)
				}
			}
		}
		// A statement's rows: each resource's charges of a month (to a day within it, as the
		// current month is rated through yesterday), and the most a test resource held.
		for m := (calendar.Month{Year: 2025, Month: time.August}); !m.After(calendar.Month{Year: 2027, Month: time.February}); m = m.Next() {
			for _, f := range [][3]string{{"d1", "", ""}, {"d2", "", "17"}, {"", "p1", ""}} {
				opt := Options{From: m.First(), To: m.Last(), Department: f[0], Provider: f[1]}
				if f[2] != "" {
					opt.To = calendar.NewDate(m.Year, m.Month, 17)
				}
				want, err := RateResources(full, opt)
				if err != nil {
					t.Fatal(err)
				}
				var got []ResourceCharge
				if err := kept.Read(k.l, func(d *ledger.View) (err error) {
					got, err = RateResources(d, opt)
					return err
				}); err != nil {
					t.Fatal(err)
				}
				if w, g := fmt.Sprint(want), fmt.Sprint(got); w != g {
					t.Fatalf("%s, %+v: kept resource charges differ from the reference\nreference:\n%s\nkept:\n%s", when, opt, w, g)
				}
				rows += len(want)
			}
		}
		// What each resource holds now and three days ago (the budget's estimate).
		for _, at := range []time.Time{clock, clock.Add(-72 * time.Hour)} {
			want, err := AllocationsAt(full, at)
			if err != nil {
				t.Fatal(err)
			}
			var got []Allocation
			err = kept.Read(k.l, func(d *ledger.View) (err error) {
				got, err = AllocationsAt(d, at)
				return err
			})
			if errors.Is(err, ErrBeforeKept) {
				continue // a resource has operations dated after at: the budget reads a full view then
			}
			if err != nil {
				t.Fatal(err)
			}
			if w, g := fmt.Sprint(want), fmt.Sprint(got); w != g {
				t.Fatalf("%s, at %s: kept allocations differ from the reference\nreference:\n%s\nkept:\n%s", when, at, w, g)
			}
			// The same summed by line, as the budget's estimate reads it.
			wantLines, err := HeldByLine(full, at)
			if err != nil {
				t.Fatal(err)
			}
			var gotLines map[LineKey]decimal.Decimal
			if err := kept.Read(k.l, func(d *ledger.View) (err error) {
				gotLines, err = HeldByLine(d, at)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if len(wantLines) != len(gotLines) {
				t.Fatalf("%s, at %s: %d lines held, the reference %d", when, at, len(gotLines), len(wantLines))
			}
			for l, q := range wantLines {
				if !gotLines[l].Equal(q) {
					t.Fatalf("%s, at %s: line %v holds %s, the reference %s", when, at, l, gotLines[l], q)
				}
			}
			rows += len(want)
			allocations++
		}
	}

	steps := 400
	for step := 0; step < steps; step++ {
		clock = clock.Add(time.Duration(rng.Int63n(int64(40 * time.Hour))))
		switch x := rng.Intn(100); {
		case x < 22 || len(resources) < 3: // a new resource, now or dated back (late history)
			it := items[rng.Intn(len(items))]
			r := &res{id: fmt.Sprintf("r%d", len(resources)), dep: []string{"d1", "d2"}[rng.Intn(2)], provider: []string{"p1", "p2"}[rng.Intn(2)], item: it.id}
			r.project = r.dep + []string{"-a", "-b"}[rng.Intn(2)]
			at := clock.Add(-time.Duration(rng.Int63n(int64(200 * 24 * time.Hour))))
			if rng.Intn(2) == 0 {
				at = clock.Add(-time.Duration(rng.Int63n(int64(3 * time.Hour))))
			}
			e := &ledger.Event{Time: at, Department: r.dep, Project: r.project, Provider: r.provider, Resource: r.id, Item: it.id}
			if it.billing == ledger.BillingMetered {
				r.kind = []ledger.ResourceKind{ledger.KindStandard, ledger.KindTest}[rng.Intn(2)]
				e.Op, e.Kind, e.Quantity = ledger.OpUsage, r.kind, decimal.NewFromInt(int64(1+rng.Intn(300)))
			} else {
				r.kind = []ledger.ResourceKind{ledger.KindStandard, ledger.KindStandard, ledger.KindDev, ledger.KindTest, ledger.KindTemporary}[rng.Intn(5)]
				e.Op, e.Kind = ledger.OpAllocate, r.kind
				e.Quantity = decimal.NewFromInt(int64(1 + rng.Intn(20)))
				if rng.Intn(4) == 0 {
					e.Quantity = decimal.New(int64(5+rng.Intn(200)), -1) // tenths: 2.5 GB
				}
				switch r.kind {
				case ledger.KindTest:
					e.Expires = calendar.DateOf(at).AddDays(2 + rng.Intn(25)).Start()
				case ledger.KindDev, ledger.KindTemporary:
					e.Expires = calendar.DateOf(at).AddDays(2 + rng.Intn(85)).Start()
				}
			}
			if k.apply(clock, e) {
				r.last, r.open, r.expires = at, true, e.Expires
				resources = append(resources, r)
			}
		case x < 60: // a change to a resource, at or after its last operation
			r := resources[rng.Intn(len(resources))]
			at := r.last
			if rng.Intn(4) != 0 {
				at = r.last.Add(time.Duration(rng.Int63n(int64(20 * 24 * time.Hour))))
			}
			e := &ledger.Event{Time: at, Department: r.dep, Project: r.project, Provider: r.provider, Resource: r.id, Item: r.item, Kind: r.kind}
			switch {
			case r.item == "egress":
				e.Op, e.Quantity = ledger.OpUsage, decimal.NewFromInt(int64(1+rng.Intn(300)))
			case rng.Intn(8) == 0:
				e.Op = ledger.OpReclaim
			case rng.Intn(4) == 0 && !r.expires.IsZero():
				// Asked in time (at least 15 working days ahead), often delivered after the
				// tick has written the expire: the late extension re-opens the resource.
				e.Op, e.Time, e.Expires = ledger.OpExtend, r.expires.AddDate(0, 0, -25-rng.Intn(10)), r.expires.AddDate(0, 0, 5+rng.Intn(20))
				if e.Time.Before(r.last) {
					e.Time = clock
				}
			case rng.Intn(2) == 0:
				e.Op, e.Quantity = ledger.OpExpand, decimal.NewFromInt(int64(1+rng.Intn(5)))
			default:
				e.Op, e.Quantity = ledger.OpReduce, decimal.NewFromInt(1)
			}
			if k.apply(clock, e) {
				if e.Op == ledger.OpExtend {
					r.expires = e.Expires
				} else {
					r.last = at
				}
			}
		case x < 75: // the leader's tick: expiries due are written
			k.apply(clock, &ledger.Tick{})
		case x < 85: // a score, often late
			from := calendar.DateOf(clock).AddDays(-rng.Intn(300))
			k.apply(clock, &ledger.SetEvaluation{Provider: []string{"p1", "p2"}[rng.Intn(2)], From: from, To: from.AddDays(rng.Intn(120)), Score: decimal.NewFromInt(int64(40 + rng.Intn(61)))})
		case x < 89: // a band table from a past or future day
			k.apply(clock, &ledger.SetBandTable{Table: ledger.BandTable{EffectiveFrom: calendar.DateOf(clock).AddDays(rng.Intn(120) - 90), Bands: []ledger.Band{
				{MinScore: d("0"), MaxScore: d("60"), Multiplier: d(fmt.Sprint("0.", 70+rng.Intn(20)))},
				{MinScore: d("60"), MaxScore: d("100"), Multiplier: d(fmt.Sprint("1.0", rng.Intn(5)))}}}})
		case x < 93: // a price change from a later day, for all or one provider
			it := items[rng.Intn(len(items))]
			prov := []string{"", "p1", "p2"}[rng.Intn(3)]
			k.apply(clock, &ledger.SetCatalogPrice{Item: it.id, Name: it.id, Unit: "u", Billing: it.billing, QuotaClass: it.class, Proration: it.proration,
				Price: d(fmt.Sprint(1+rng.Intn(60), ".", rng.Intn(100))), Provider: prov, EffectiveFrom: calendar.DateOf(clock).AddDays(rng.Intn(60))})
		case x < 95: // a month closed (what falls in it is refused from then on)
			m := calendar.MonthOf(calendar.DateOf(clock)).Prev().Prev()
			k.apply(clock, &ledger.ClosePeriod{Month: m})
		default:
			if step%3 == 0 {
				check(fmt.Sprintf("step %d", step))
			}
		}
		if step == steps/3 || step == steps*2/3 {
			check(fmt.Sprintf("step %d", step))
		}
		if step == steps/2 {
			// A restart half way: what is kept is saved, read back into a new Kept (the
			// node's next start), and from there on that one keeps the charges.
			kept = savedAndLoaded(t, k.l, kept)
			check(fmt.Sprintf("step %d, read back from its file", step))
		}
	}
	check("the end")
	// Read again from nothing: a node's first read after a restart.
	kept = NewKept()
	check("a fresh Kept")
	if s := kept.Seq(); s == 0 {
		t.Fatal("kept read nothing")
	}
	var kinds []string
	for _, r := range resources {
		kinds = append(kinds, string(r.kind))
	}
	slices.Sort(kinds)
	t.Logf("seed %d: %d resources (%s…), %d line items, %d resource rows compared, allocations at %d instants", seed, len(resources), strings.Join(slices.Compact(kinds), ","), kept.Seq(), rows, allocations)
	if rows == 0 || allocations == 0 {
		t.Fatalf("compared %d resource rows and the allocations of %d instants", rows, allocations)
	}
}

// feedTwice is a ledger whose feed hands Kept a line item it has read already.
type feedTwice struct{ l *ledger.Ledger }

func (f feedTwice) View(vf ledger.ViewFilter) (*ledger.View, error) {
	if vf.OnRatingEvent == nil {
		return f.l.View(vf)
	}
	d, err := f.l.View(ledger.ViewFilter{MasterDataOnly: true})
	if err != nil {
		return nil, err
	}
	return d, vf.OnRatingEvent(d, &ledger.RatingEvent{Seq: 1, Resource: "r1", Op: ledger.OpUsage})
}

// A line item Kept cannot take stops it keeping, loudly (Broken), and reads are then answered
// from full views — the same figures as the reference — rather than failing or being wrong.
func TestKeptThatCannotReadAnswersFromTheWholeLedger(t *testing.T) {
	k := newKeptLedger(t)
	now := calendar.NewDate(2026, 3, 1).Start()
	k.must(now, &ledger.SetProvider{Provider: ledger.Provider{ID: "p1", Name: "p1", ContractStart: calendar.NewDate(2025, 1, 1), ContractEnd: calendar.NewDate(2028, 12, 31)}},
		&ledger.SetDepartment{Department: ledger.Department{ID: "d1", Name: "d1", Funding: ledger.FundingBudget}},
		&ledger.SetCatalogPrice{Item: "vcpu", Name: "vcpu", Unit: "核", Billing: ledger.BillingAllocation, QuotaClass: "vcpu", Proration: ledger.ProrationDaily, Price: dec("31"), EffectiveFrom: calendar.NewDate(2025, 1, 1)},
		&ledger.SetProjectQuota{Project: "prj", Department: "d1", Name: "prj", QuotaClass: "vcpu", Quota: dec("100")})
	ev := func(op ledger.Op, when string, q string) *ledger.Event {
		return &ledger.Event{Op: op, Time: at(when), Department: "d1", Project: "prj", Provider: "p1", Resource: "r1", Item: "vcpu", Kind: ledger.KindStandard, Quantity: dec(q)}
	}
	k.must(now, ev(ledger.OpAllocate, "2026-03-02T10:00:00+08:00", "4"))
	kept := NewKept()
	opt := Options{From: calendar.NewDate(2026, 3, 1), To: calendar.NewDate(2026, 3, 31)}
	if _, err := kept.Rate(k.l, opt); err != nil || kept.Broken() != nil {
		t.Fatalf("a sound feed: %v, broken %v", err, kept.Broken())
	}
	k.must(now, ev(ledger.OpExpand, "2026-03-10T10:00:00+08:00", "2"))
	full, err := k.l.View(ledger.ViewFilter{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Rate(full, opt)
	got, err := kept.Rate(feedTwice{k.l}, opt)
	if err != nil {
		t.Fatalf("a read after the broken feed failed: %v", err)
	}
	if kept.Broken() == nil || !strings.Contains(kept.Broken().Error(), "read twice") {
		t.Fatalf("Broken() = %v, want the line item read twice", kept.Broken())
	}
	// 4 cores on 2–9 March (8 days), 6 from 10 March (22 days) at 31 a core-month: 4×8 + 6×22 = 164
	// core-days × 31 / 31 days = 164.00.
	if w, g := resultText(want), resultText(got); w != g || got.Total.Amount.StringFixed(2) != "164.00" {
		t.Fatalf("after the broken feed:\n%s\nwant (the reference, 164.00):\n%s", g, w)
	}
}

// savedAndLoaded catches kept up with l, saves it and returns a new Kept loaded from the
// file (Kept.Save, Kept.Load).
func savedAndLoaded(t *testing.T, l *ledger.Ledger, kept *Kept) *Kept {
	t.Helper()
	if err := kept.CatchUp(l); err != nil {
		t.Fatal(err)
	}
	var file bytes.Buffer
	seq, err := kept.Save(&file)
	if err != nil || seq != l.Head().Seq {
		t.Fatalf("save: %d, %v; want the head %d", seq, err, l.Head().Seq)
	}
	loaded := NewKept()
	if err := loaded.Load(bytes.NewReader(file.Bytes()), l.HashAt); err != nil {
		t.Fatal(err)
	}
	if loaded.Seq() != seq {
		t.Fatalf("loaded up to %d, saved up to %d", loaded.Seq(), seq)
	}
	return loaded
}

// A kept charges' file is used only for the history it was written for, and a damaged one
// not at all: the node reads the ledger again instead.
func TestKeptFileOfAnotherHistoryOrDamagedIsNotUsed(t *testing.T) {
	k := newKeptLedger(t)
	now := calendar.NewDate(2026, 3, 1).Start()
	k.must(now, &ledger.SetProvider{Provider: ledger.Provider{ID: "p1", Name: "p1", ContractStart: calendar.NewDate(2025, 1, 1), ContractEnd: calendar.NewDate(2028, 12, 31)}},
		&ledger.SetDepartment{Department: ledger.Department{ID: "d1", Name: "d1", Funding: ledger.FundingBudget}})
	kept := NewKept()
	if err := kept.CatchUp(k.l); err != nil {
		t.Fatal(err)
	}
	var file bytes.Buffer
	if _, err := kept.Save(&file); err != nil {
		t.Fatal(err)
	}
	good := file.Bytes()
	if err := NewKept().Load(bytes.NewReader(good), func(uint64) (ledger.Hash, bool) { return ledger.Hash{1}, true }); !errors.Is(err, ErrKeptFileStale) {
		t.Fatalf("another history's hash: %v, want ErrKeptFileStale", err)
	}
	if err := NewKept().Load(bytes.NewReader(good), func(uint64) (ledger.Hash, bool) { return ledger.Hash{}, false }); !errors.Is(err, ErrKeptFileStale) {
		t.Fatalf("a ledger without that line item: %v, want ErrKeptFileStale", err)
	}
	for _, at := range []int{len(keptFileMagic) + 3, len(good) / 2, len(good) - 1} {
		bad := bytes.Clone(good)
		bad[at] ^= 0x40
		if err := NewKept().Load(bytes.NewReader(bad), k.l.HashAt); err == nil || !strings.Contains(err.Error(), "damaged") {
			t.Fatalf("byte %d of %d changed: %v, want the checksum to refuse it", at, len(good), err)
		}
	}
	if err := NewKept().Load(bytes.NewReader(good[:len(good)-5]), k.l.HashAt); err == nil {
		t.Fatal("a file cut short was read")
	}
	// Kept by other code (another derivation), its checksum intact: read again from the ledger.
	other := bytes.Clone(good[:len(good)-32])
	other[len(keptFileMagic)] = keptDerivation + 1
	sum := sha256.Sum256(other)
	if err := NewKept().Load(bytes.NewReader(append(other, sum[:]...)), k.l.HashAt); !errors.Is(err, ErrKeptFileStale) {
		t.Fatalf("a file of derivation %d: %v, want ErrKeptFileStale", keptDerivation+1, err)
	}
	if err := NewKept().Load(bytes.NewReader(good), k.l.HashAt); err != nil {
		t.Fatalf("the good file: %v", err)
	}
}

// The body of a kept charges' file, whatever it holds, is read or refused, never a panic
// (the checksum keeps damage out; this is what is behind it).
func FuzzKeptFileBody(f *testing.F) {
	f.Add([]byte{})
	f.Add(append(binary.AppendUvarint(nil, 7), make([]byte, 40)...))
	seed := append(binary.AppendUvarint(nil, 3), make([]byte, 32)...)
	seed = binary.AppendUvarint(seed, 1)                                        // one series
	seed = append(seed, 1, 'd', 1, 'p', 1, 'q', 1, 'i', 0, 0x80, 0x1f, 0x02, 1) // key, metered, year, month, one month
	f.Add(seed)
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _, res, keys, err := decodeKept(body)
		if err == nil && (res == nil || keys == nil) {
			t.Fatal("read without error but nothing made")
		}
	})
}

// What a line holds is asked at instants one after another with nothing written between
// (the finance page, again and again): the answer kept for one instant holds only until the
// next operation or expiry of any resource. Worked by hand: r1 holds 4 from 2 March 10:00,
// 6 from its expansion on 10 March 10:00 (in its day's tail); the temporary r2 holds 3 from
// 3 March until its expiry on 20 March.
func TestHeldByLineAtInstantsOneAfterAnother(t *testing.T) {
	k := newKeptLedger(t)
	now := calendar.NewDate(2026, 3, 25).Start()
	k.must(now, &ledger.SetProvider{Provider: ledger.Provider{ID: "p1", Name: "p1", ContractStart: calendar.NewDate(2025, 1, 1), ContractEnd: calendar.NewDate(2028, 12, 31)}},
		&ledger.SetDepartment{Department: ledger.Department{ID: "d1", Name: "d1", Funding: ledger.FundingBudget}},
		&ledger.SetCatalogPrice{Item: "vcpu", Name: "vcpu", Unit: "核", Billing: ledger.BillingAllocation, QuotaClass: "vcpu", Proration: ledger.ProrationDaily, Price: dec("31"), EffectiveFrom: calendar.NewDate(2025, 1, 1)},
		&ledger.SetProjectQuota{Project: "prj", Department: "d1", Name: "prj", QuotaClass: "vcpu", Quota: dec("100")})
	ev := func(res string, kind ledger.ResourceKind, op ledger.Op, when string, q string) *ledger.Event {
		return &ledger.Event{Op: op, Time: at(when), Department: "d1", Project: "prj", Provider: "p1", Resource: res, Item: "vcpu", Kind: kind, Quantity: dec(q)}
	}
	tmp := ev("r2", ledger.KindTemporary, ledger.OpAllocate, "2026-03-03T09:00:00+08:00", "3")
	tmp.Expires = at("2026-03-20T00:00:00+08:00")
	k.must(now, ev("r1", ledger.KindStandard, ledger.OpAllocate, "2026-03-02T10:00:00+08:00", "4"), tmp,
		ev("r1", ledger.KindStandard, ledger.OpExpand, "2026-03-10T10:00:00+08:00", "2"))
	kept := NewKept()
	line := LineKey{"d1", "prj", "p1", "vcpu"}
	for _, c := range []struct{ when, want string }{
		{"2026-03-10T09:00:00+08:00", "7"}, // r1's 4 (its base: the day's start) and r2's 3
		{"2026-03-10T09:59:59+08:00", "7"}, // the same answer
		{"2026-03-10T10:00:00+08:00", "9"}, // the expansion
		{"2026-03-19T23:59:59+08:00", "9"}, // r2 still open
		{"2026-03-20T00:00:00+08:00", "6"}, // r2 expired
		{"2026-03-24T12:00:00+08:00", "6"}, // nothing changes after
		{"2026-03-10T09:30:00+08:00", "7"}, // back before the expansion
	} {
		var got map[LineKey]decimal.Decimal
		if err := kept.Read(k.l, func(d *ledger.View) (err error) {
			got, err = HeldByLine(d, at(c.when))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if !got[line].Equal(dec(c.want)) {
			t.Fatalf("at %s: %s held, want %s", c.when, got[line], c.want)
		}
	}
}

// movingLedger writes a line item before every master-data view a reader asks for, as
// writers do under load, and counts the full views asked for.
type movingLedger struct {
	k     *keptLedger
	n     int
	full  int
	write func(n int)
}

func (m *movingLedger) View(vf ledger.ViewFilter) (*ledger.View, error) {
	if !vf.MasterDataOnly {
		m.full++
	} else if vf.OnRatingEvent == nil {
		m.n++
		m.write(m.n)
	}
	return m.k.l.View(vf)
}

// Under writes that move the head between every view and catch-up, a read still rates from
// the kept charges — caught up and read under the write lock after keptAttempts tries — and
// never from a full view (which held gigabytes at 10,000,000 line items under a soak).
// Worked by hand: 4 cores from 2 March 10:00 (30 days of March at 31 a core-month:
// 4 × 30 × 31 / 31 = 120.00), and the usage written meanwhile at 0.5 a GB.
func TestKeptReadUnderWritesNeverReadsAFullView(t *testing.T) {
	k := newKeptLedger(t)
	now := calendar.NewDate(2026, 4, 1).Start()
	k.must(now, &ledger.SetProvider{Provider: ledger.Provider{ID: "p1", Name: "p1", ContractStart: calendar.NewDate(2025, 1, 1), ContractEnd: calendar.NewDate(2028, 12, 31)}},
		&ledger.SetDepartment{Department: ledger.Department{ID: "d1", Name: "d1", Funding: ledger.FundingBudget}},
		&ledger.SetCatalogPrice{Item: "vcpu", Name: "vcpu", Unit: "核", Billing: ledger.BillingAllocation, QuotaClass: "vcpu", Proration: ledger.ProrationDaily, Price: dec("31"), EffectiveFrom: calendar.NewDate(2025, 1, 1)},
		&ledger.SetCatalogPrice{Item: "egress", Name: "egress", Unit: "GB", Billing: ledger.BillingMetered, Proration: ledger.ProrationDaily, Price: dec("0.5"), EffectiveFrom: calendar.NewDate(2025, 1, 1)},
		&ledger.SetProjectQuota{Project: "prj", Department: "d1", Name: "prj", QuotaClass: "vcpu", Quota: dec("100")})
	k.must(now, &ledger.Event{Op: ledger.OpAllocate, Time: at("2026-03-02T10:00:00+08:00"), Department: "d1", Project: "prj", Provider: "p1", Resource: "r1", Item: "vcpu", Kind: ledger.KindStandard, Quantity: dec("4")})
	src := &movingLedger{k: k, write: func(n int) {
		k.must(now, &ledger.Event{Op: ledger.OpUsage, Time: at("2026-03-15T10:00:00+08:00").Add(time.Duration(n) * time.Minute), Department: "d1", Project: "prj",
			Provider: "p1", Resource: "u1", Item: "egress", Kind: ledger.KindStandard, Quantity: dec("2")})
	}}
	kept := NewKept()
	res, err := kept.Rate(src, Options{From: calendar.NewDate(2026, 3, 1), To: calendar.NewDate(2026, 3, 31)})
	if err != nil {
		t.Fatal(err)
	}
	if src.full != 0 {
		t.Fatalf("%d full views read", src.full)
	}
	if src.n < keptAttempts {
		t.Fatalf("the head moved %d times: the test did not outrun the reader", src.n)
	}
	// What the read rated is one state: the usage written before its last view, 2 GB each.
	want := dec("120").Add(dec("1").Mul(decimal.NewFromInt(int64(src.n))))
	if !res.Total.Amount.Equal(want) {
		t.Fatalf("total %s after %d writes, want %s (120.00 + %d × 2 GB × 0.5)", res.Total.Amount, src.n, want, src.n)
	}
}
