package ledger

import (
	"bytes"
	"testing"
	"time"

	"github.com/cloudledger/cloudledger/errcode"
)

func bands(spec ...string) []Band {
	// spec: "min,max,multiplier"
	var out []Band
	for _, s := range spec {
		var parts [3]string
		j := 0
		for _, c := range s {
			if c == ',' {
				j++
				continue
			}
			parts[j] += string(c)
		}
		out = append(out, Band{MinScore: dec(parts[0]), MaxScore: dec(parts[1]), Multiplier: dec(parts[2])})
	}
	return out
}

// SPEC: Rating — scores are 0–100 and cover date ranges; issue 3 must show 5.
func TestEvaluationScoresAreCheckedAndKept(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.ok(&SetEvaluation{Provider: "p1", From: day("2026-01-01"), To: day("2026-03-31"), Score: dec("92.5")})
	f.reject(errcode.InvalidScore, &SetEvaluation{Provider: "p1", From: day("2026-04-01"), To: day("2026-06-30"), Score: dec("100.01")})
	f.reject(errcode.InvalidScore, &SetEvaluation{Provider: "p1", From: day("2026-04-01"), To: day("2026-06-30"), Score: dec("-1")})
	f.reject(errcode.InvalidRange, &SetEvaluation{Provider: "p1", From: day("2026-06-30"), To: day("2026-04-01"), Score: dec("80")})
	f.reject(errcode.UnknownProvider, &SetEvaluation{Provider: "nope", From: day("2026-04-01"), To: day("2026-06-30"), Score: dec("80")})
	// Restating the latest score writes nothing; a correction is a new line item.
	if r := f.ok(&SetEvaluation{Provider: "p1", From: day("2026-01-01"), To: day("2026-03-31"), Score: dec("92.5")}); !r[0].Unchanged {
		t.Fatalf("restated score: %+v, want unchanged", r[0])
	}
	f.ok(&SetEvaluation{Provider: "p1", From: day("2026-03-01"), To: day("2026-03-31"), Score: dec("79")})
	f.reopen()
	d, err := f.l.View(ViewFilter{})
	if err != nil {
		t.Fatal(err)
	}
	got := d.Evaluations["p1"]
	if got == nil || len(got.Scores) != 2 || got.Scores[1].Score.String() != "79" || got.Scores[0].To != day("2026-03-31") {
		t.Fatalf("evaluations after reopen: %+v", got)
	}
}

// RATING_DEFAULTS.md: the bands must cover 0–100 once (issue 3 must show 5).
func TestBandTableMustCoverZeroToHundredWithoutOverlapOrGap(t *testing.T) {
	f := newFixture(t)
	f.seed()
	from := day("2026-07-01")
	for name, bad := range map[string][]Band{
		"overlap":        bands("0,60,0.8", "50,100,1"),
		"gap":            bands("0,60,0.8", "70,100,1"),
		"not from 0":     bands("10,100,1"),
		"not to 100":     bands("0,90,1"),
		"empty band":     bands("0,60,0.8", "60,60,0.9", "60,100,1"),
		"multiplier < 0": bands("0,100,-1"),
		"none":           nil,
	} {
		t.Run(name, func(t *testing.T) {
			f.reject(errcode.InvalidBandTable, &SetBandTable{Table: BandTable{EffectiveFrom: from, Bands: bad}})
		})
	}
	table := bands("0,50,0.7", "50,90,0.95", "90,100,1.02")
	f.ok(&SetBandTable{Table: BandTable{EffectiveFrom: from, Bands: table}})
	if r := f.ok(&SetBandTable{Table: BandTable{EffectiveFrom: from, Bands: table}}); !r[0].Unchanged {
		t.Fatalf("same table again: %+v, want unchanged", r[0])
	}
	f.reopen()
	d, err := f.l.View(ViewFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.BandTables) != 1 || d.BandTables[0].EffectiveFrom != from || len(d.BandTables[0].Bands) != 3 {
		t.Fatalf("band tables after reopen: %+v", d.BandTables)
	}
	// The last band includes 100; the others are half-open.
	for score, want := range map[string]string{"0": "0.7", "49.99": "0.7", "50": "0.95", "90": "1.02", "100": "1.02"} {
		if m, ok := d.BandTables[0].Multiplier(dec(score)); !ok || m.String() != want {
			t.Errorf("score %s → %s (%v), want %s", score, m, ok, want)
		}
	}
}

// The default table of RATING_DEFAULTS.md.
func TestDefaultBandTable(t *testing.T) {
	def := DefaultBandTable()
	if err := validateBands(def.Bands); err != nil {
		t.Fatal(err)
	}
	for score, want := range map[string]string{"100": "1", "90": "1", "89.99": "0.98", "80": "0.98", "79": "0.95", "70": "0.95",
		"69.5": "0.9", "60": "0.9", "59.99": "0.8", "0": "0.8"} {
		if m, _ := def.Multiplier(dec(score)); m.String() != want {
			t.Errorf("score %s → %s, want %s", score, m, want)
		}
	}
}

// Evaluations and band tables are idempotent commands like every other.
func TestEvaluationIdempotencyKey(t *testing.T) {
	f := newFixture(t)
	f.seed()
	ev := &SetEvaluation{Provider: "p1", From: day("2026-01-01"), To: day("2026-03-31"), Score: dec("88")}
	first := f.propose(Command{Key: "evaluations:abc:2", Body: ev})
	again := f.propose(Command{Key: "evaluations:abc:2", Body: ev})
	if first.Err != nil || again.Err != nil || !again.Items[0].Duplicate || again.Items[0].Seq != first.Items[0].Seq {
		t.Fatalf("first %+v, again %+v: want a duplicate of the same line item", first, again)
	}
	other := f.propose(Command{Key: "evaluations:abc:2", Body: &SetEvaluation{Provider: "p1", From: day("2026-01-01"), To: day("2026-03-31"), Score: dec("89")}})
	if other.Err == nil || other.Err.Code != errcode.IdempotencyConflict {
		t.Fatalf("same key, other content: %+v, want idempotency_conflict", other)
	}
}

// View groups each resource's quantity operations, in ledger order.
func TestRatingDataGroupsOperationsByResource(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.ok(alloc("r1", "ecs.vcpu", KindStandard, "4", time.Time{}))
	d, err := f.l.View(ViewFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Resources) != 1 || d.Resources[0].ID != "r1" || len(d.Resources[0].Ops) != 1 || d.Resources[0].Ops[0].Quantity.String() != "4" {
		t.Fatalf("resources: %+v", d.Resources)
	}
	if d.Head.Seq == 0 || d.Head.AppliedIndex != f.index || d.Items["ecs.vcpu"] == nil || d.Departments["d1"] == nil {
		t.Fatalf("head %+v, items %d, departments %d", d.Head, len(d.Items), len(d.Departments))
	}
	if d2, _ := f.l.View(ViewFilter{Department: "d2"}); len(d2.Resources) != 0 {
		t.Fatalf("department filter kept %+v", d2.Resources)
	}
}

// Evaluations and band tables travel in snapshots, are on the hash chain like every other
// line item, and a ledger fed the same log holds the same scores and tables.
func TestEvaluationsAndBandTablesSurviveSnapshotRestore(t *testing.T) {
	build := func(f *fixture) {
		f.seed()
		f.ok(&SetEvaluation{Provider: "p1", From: day("2026-01-01"), To: day("2026-03-31"), Score: dec("88")},
			&SetEvaluation{Provider: "p1", From: day("2026-02-01"), To: day("2026-02-28"), Score: dec("61.5")},
			&SetBandTable{Table: BandTable{EffectiveFrom: day("2026-07-01"), Bands: bands("0,75,0.9", "75,100,1")}})
	}
	f := newFixture(t)
	build(f)
	other := restoredCopy(t, f.l)
	g := &fixture{t: t, l: other}
	if g.digest() != f.digest() {
		t.Fatal("restored evaluations or band tables differ")
	}
	if n, err := other.Verify(); err != nil || n.Seq != f.l.Head().Seq {
		t.Fatalf("verify after restore: %+v, %v (head seq %d)", n, err, f.l.Head().Seq)
	}
	d, err := other.View(ViewFilter{MasterDataOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if ps := d.Evaluations["p1"]; ps == nil || len(ps.Scores) != 2 || ps.Scores[1].Score.String() != "61.5" ||
		len(d.BandTables) != 1 || d.BandTables[0].EffectiveFrom != day("2026-07-01") {
		t.Fatalf("restored rating data: evaluations %+v, band tables %+v", d.Evaluations["p1"], d.BandTables)
	}
	replica := newFixture(t)
	build(replica)
	if replica.digest() != f.digest() {
		t.Fatal("two ledgers fed the same evaluations and band tables differ")
	}
}

// View gives each time-limited resource its current expiry (the allocate's, moved by
// an extend) so that rating can end its charges at the expiry before the tick writes the
// expire (SPEC: Ledger, expire: "its effective time is the expiry itself").
func TestRatingDataCarriesTheCurrentExpiry(t *testing.T) {
	f := newFixture(t)
	f.seed()
	e := alloc("tmp1", "ecs.vcpu", KindTemporary, "2", endOf("2026-10-12"))
	e.Time = at("2026-06-01T09:00:00+08:00")
	f.ok(e)
	// In time (deadline 2026-09-15, see TestExtensionRules): the expiry moves to 2026-10-31.
	f.ok(&Event{Op: OpExtend, Time: at("2026-09-15T18:00:00+08:00"), Resource: "tmp1", Expires: endOf("2026-10-31")})
	read := func() *ResourceHistory {
		d, err := f.l.View(ViewFilter{})
		if err != nil || len(d.Resources) != 1 {
			t.Fatalf("rating data: %v, %+v", err, d)
		}
		return d.Resources[0]
	}
	h := read()
	if !h.Expires.Equal(endOf("2026-10-31")) || len(h.Ops) != 1 || h.Ops[0].Op != OpAllocate {
		t.Fatalf("before the tick: expires %s, ops %+v; want 2026-10-31 and the allocate alone (an extend holds nothing)", h.Expires, h.Ops)
	}
	f.propose(Command{Body: &Tick{}}) // the fixture's clock is 2026-11-20: tmp1 has expired
	h = read()
	if n := len(h.Ops); n != 2 || h.Ops[1].Op != OpExpire || !h.Ops[1].Time.Equal(endOf("2026-10-31")) {
		t.Fatalf("after the tick: ops %+v; want the expire at the expiry", h.Ops)
	}
}

// The lean decoder of View reads Event.encode's layout exactly as Event.decode does.
func TestRatingEventDecodeAgreesWithEventDecode(t *testing.T) {
	var rd ratingEventReader
	for _, ev := range []*Event{
		alloc("r1", "ecs.vcpu", KindTemporary, "2.5", endOf("2026-10-12")),
		change(OpExpand, "r1", "0.25", "2026-03-05T00:00:00+08:00"),
		change(OpReclaim, "r1", "", "2026-03-06T01:00:00+08:00"),
		{Op: OpUsage, Time: at("2026-03-07T23:59:59+08:00"), Department: "d1", Project: "prj1", Provider: "p1", Resource: "bucket-1", Item: "oss.egress", Kind: KindStandard, Quantity: dec("123456789012.5")},
		{Op: OpExtend, Time: at("2026-03-08T00:00:00+08:00"), Resource: "r1", Expires: endOf("2026-12-31")},
		{Op: OpExpire, Time: endOf("2026-12-31"), Department: "d1", Project: "prj1", Provider: "p1", Resource: "r1", Item: "ecs.vcpu", Kind: KindDev, Quantity: dec("3")},
	} {
		var e encoder
		ev.encode(&e)
		var full Event
		d := decoder{b: e.b}
		full.decode(&d)
		var lean ratingEvent
		if err := rd.decode(e.b, &lean); err != nil || d.err != nil {
			t.Fatalf("%s: %v / %v", ev.Op, err, d.err)
		}
		q, err := rd.quantity(lean.quantity)
		if err != nil {
			t.Fatal(err)
		}
		if lean.ratingOp != full.Op || !lean.time.Equal(full.Time) || !lean.expires.Equal(full.Expires) || string(lean.resource) != full.Resource ||
			string(lean.department) != full.Department || string(lean.project) != full.Project || string(lean.provider) != full.Provider ||
			string(lean.item) != full.Item || ResourceKind(lean.kind) != full.Kind || !q.Equal(full.Quantity) {
			t.Fatalf("%s: lean %+v (quantity %s), full %+v", ev.Op, lean, q, full)
		}
	}
	var e encoder
	e.str("correct") // not an operation rating reads
	var lean ratingEvent
	if err := rd.decode(e.b, &lean); err == nil || lean.ratingOp != "" {
		t.Fatalf("a truncated event: %v, op %q", err, lean.ratingOp)
	}
}

// evaluations.csv's optional reason (SPEC: Evaluation, "an entered score (evaluations.csv,
// with an optional reason column)"): from rules version 10 it is kept with the score; a
// score without one keeps the encoding it always had (old entries replay unchanged), and
// a version-9 entry cannot carry one.
func TestEnteredScoreReason(t *testing.T) {
	f := newFixture(t)
	f.seed()
	plain := &SetEvaluation{Provider: "p1", From: day("2026-01-01"), To: day("2026-01-31"), Score: dec("90")}
	// provider, from, to, score as version 1 wrote them: no byte more.
	var e encoder
	e.str("p1")
	e.date(day("2026-01-01"))
	e.date(day("2026-01-31"))
	e.dec(dec("90"))
	if got := EncodeBody(plain); !bytes.HasSuffix(got, e.b) || len(got)-len(e.b) > 2 { // the type's varint before it, nothing after
		t.Fatalf("a score without a reason encodes as %x, want it to end in %x and no more", got, e.b)
	}
	withReason := &SetEvaluation{Provider: "p1", From: day("2026-02-01"), To: day("2026-02-28"), Score: dec("85.5"), Reason: "专家组复评（政务云〔2026〕3号）"}
	raw := EncodeBody(withReason)
	back, err := DecodeBody(raw)
	if err != nil || back.(*SetEvaluation).Reason != withReason.Reason {
		t.Fatalf("decoded %+v (%v)", back, err)
	}
	f.version = 9
	f.reject(errcode.InvalidValue, withReason)
	f.version = 0
	f.ok(plain, withReason)
	var got []Evaluation
	for _, ps := range f.l.EvaluationScores() {
		if ps.Provider == "p1" {
			got = ps.Scores
		}
	}
	if len(got) != 2 || got[0].Reason != "" || got[1].Reason != withReason.Reason {
		t.Fatalf("stored scores of p1: %+v", got)
	}
}
