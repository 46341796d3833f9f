package ledger

import (
	"strings"
	"testing"
	"time"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
)

// closeWindow closes the twelve months of settlement year 2026's default window.
func (f *fixture) closeWindow() {
	f.t.Helper()
	for m := (calendar.Month{Year: 2025, Month: time.September}); m != (calendar.Month{Year: 2026, Month: time.September}); m = m.Next() {
		f.ok(&ClosePeriod{Month: m})
	}
}

// audit2026 is an audit of year 2026 computed at the ledger's current head.
func (f *fixture) audit2026(lines ...AuditedLine) *SettlementAudit {
	h := f.l.Head()
	return &SettlementAudit{Year: 2026, AtIndex: h.AppliedIndex, AtHead: h.Hash.String(), Lines: lines}
}

func (f *fixture) settlement(year int) *Settlement {
	f.t.Helper()
	d, err := f.l.View(ViewFilter{MasterDataOnly: true})
	if err != nil {
		f.t.Fatal(err)
	}
	return d.Settlements[year]
}

var auditedLines = []AuditedLine{
	{Department: "d1", Project: "prj1", Provider: "p1", Item: "ecs.vcpu", Quantity: dec("3650"), BaseAmount: dec("4800.00"), Amount: dec("4704.00")},
	{Department: "d2", Project: "prj3", Provider: "p1", Item: "ecs.vcpu", Quantity: dec("365"), BaseAmount: dec("480.00"), Amount: dec("480.00")},
}

// SPEC.md, Settlement: "States: draft → audited → submitted → paid, each transition a line
// item with actor and time; audited figures never change afterwards." Apply re-checks what
// the leader checked: the year is a draft, every month of its window is closed, and nothing
// was written since the figures were computed.
func TestSettlementStateMachine(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.reject(errcode.SettlementState, f.audit2026())
	f.reject(errcode.SettlementState, &SettlementAdvance{Year: 2026, To: SettlementSubmitted})
	f.ok(&SettlementRun{Year: 2026})
	if items := f.ok(&SettlementRun{Year: 2026}); !items[0].Unchanged {
		t.Fatal("a second settle run wrote a line item")
	}
	s := f.settlement(2026)
	if s.State != SettlementDraft || s.From != day("2025-09-01") || s.To != day("2026-08-31") || s.RunBy != "test" || !s.RunAt.Equal(f.now) {
		t.Fatalf("after run: %+v", s)
	}
	f.reject(errcode.SettlementState, &SettlementAdvance{Year: 2026, To: SettlementSubmitted})

	// Open months: every one is named.
	f.ok(&ClosePeriod{Month: calendar.Month{Year: 2025, Month: time.September}})
	err := f.reject(errcode.SettlementBlocked, f.audit2026(auditedLines...))
	if !strings.Contains(err.Message, "2025-10") || !strings.Contains(err.Message, "2026-08") || strings.Contains(err.Message, "2025-09") {
		t.Fatalf("blocked audit message: %v", err)
	}
	f.closeWindow()

	// Figures computed before the last write are stale.
	stale := f.audit2026(auditedLines...)
	f.ok(&ClosePeriod{Month: calendar.Month{Year: 2026, Month: time.September}})
	f.reject(errcode.StaleFigures, stale)

	f.now = f.now.Add(time.Hour)
	f.ok(f.audit2026(auditedLines...))
	s = f.settlement(2026)
	if s.State != SettlementAudited || len(s.Lines) != 2 || s.TotalBase.StringFixed(2) != "5280.00" || s.TotalAmount.StringFixed(2) != "5184.00" ||
		s.AuditedBy != "test" || !s.AuditedAt.Equal(f.now) || s.AuditHead == "" {
		t.Fatalf("after audit: %+v", s)
	}
	// The funding of each audited department is frozen with the figures (the budget export
	// keeps them on the sheet they were audited on).
	if len(s.Funding) != 2 || s.Funding["d1"] != FundingBudget || s.Funding["d2"] != FundingSelf {
		t.Fatalf("funding at audit: %v", s.Funding)
	}
	f.ok(&SetDepartment{Department{ID: "d2", Name: "自筹单位", Funding: FundingBudget}})
	if s = f.settlement(2026); s.Funding["d2"] != FundingSelf {
		t.Fatalf("a later funding change altered the audited record: %v", s.Funding)
	}
	// Audited figures never change: a second audit is refused, even with the same figures.
	f.reject(errcode.SettlementState, f.audit2026(auditedLines[:1]...))
	f.reject(errcode.SettlementState, &SettlementAdvance{Year: 2026, To: SettlementPaid})
	f.ok(&SettlementAdvance{Year: 2026, To: SettlementSubmitted})
	if items := f.ok(&SettlementAdvance{Year: 2026, To: SettlementSubmitted}); !items[0].Unchanged {
		t.Fatal("submitting twice wrote a line item")
	}
	f.ok(&SettlementAdvance{Year: 2026, To: SettlementPaid})
	s = f.settlement(2026)
	if s.State != SettlementPaid || s.SubmittedBy != "test" || s.PaidBy != "test" || s.TotalAmount.StringFixed(2) != "5184.00" {
		t.Fatalf("after pay: %+v", s)
	}
	f.reject(errcode.SettlementState, f.audit2026(auditedLines...))
}

// SPEC.md, Settlement: line items dated in a closed month are refused (period_closed), and
// an audited window is frozen: nor may prices, scores or band tables whose effect reaches
// into it change its charges. Corrections go into the next open month.
func TestAuditedWindowIsFrozen(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.ok(alloc("vm1", "ecs.vcpu", KindStandard, "10", time.Time{})) // 2026-03-02
	f.ok(&SettlementRun{Year: 2026})
	f.closeWindow()
	f.ok(f.audit2026(auditedLines...))

	// A line item dated inside the window.
	f.reject(errcode.PeriodClosed, change(OpExpand, "vm1", "1", "2026-08-31T23:59:59+08:00"))
	f.reject(errcode.PeriodClosed, &Event{Op: OpUsage, Time: at("2026-03-10T10:00:00+08:00"), Department: "d1", Project: "prj1", Provider: "p1",
		Resource: "bucket", Item: "oss.egress", Kind: KindStandard, Quantity: dec("5")})
	// A price, a score, a band table reaching into the window.
	late := catalog("ecs.vcpu", BillingAllocation, "vcpu", "41")
	late.EffectiveFrom = day("2025-08-01") // before the window, in force through it
	f.reject(errcode.PeriodClosed, late)
	err := f.reject(errcode.PeriodClosed, &SetEvaluation{Provider: "p1", From: day("2026-07-01"), To: day("2026-09-30"), Score: dec("95")})
	if !strings.Contains(err.Message, "settlement year 2026") {
		t.Fatalf("message should name the audited year: %v", err)
	}
	bands := DefaultBandTable()
	bands.EffectiveFrom = day("2026-01-01")
	f.reject(errcode.PeriodClosed, &SetBandTable{Table: bands})

	// The same corrections in the next open month are accepted.
	f.ok(change(OpExpand, "vm1", "1", "2026-09-01T00:00:00+08:00"))
	late.EffectiveFrom = day("2026-09-01")
	f.ok(late)
	f.ok(&SetEvaluation{Provider: "p1", From: day("2026-09-01"), To: day("2026-09-30"), Score: dec("95")})
	bands.EffectiveFrom = day("2026-09-01")
	f.ok(&SetBandTable{Table: bands})
}

// The window is a ledger setting (SetSettlementWindow): a year run afterwards covers the
// twelve months ending with the configured month; a year already run keeps its window.
func TestSettlementWindowSetting(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.ok(&SettlementRun{Year: 2025})
	if items := f.ok(&SetSettlementWindow{EndMonth: DefaultWindowEndMonth}); !items[0].Unchanged {
		t.Fatal("setting the default window wrote a line item")
	}
	f.ok(&SetSettlementWindow{EndMonth: 12})
	f.ok(&SettlementRun{Year: 2026})
	if s := f.settlement(2026); s.From != day("2026-01-01") || s.To != day("2026-12-31") {
		t.Fatalf("calendar-year window: %s – %s", s.From, s.To)
	}
	if s := f.settlement(2025); s.From != day("2024-09-01") || s.To != day("2025-08-31") {
		t.Fatalf("a year run before keeps its window: %s – %s", s.From, s.To)
	}
	// A window reaching back into another year's would settle those months twice.
	f.ok(&SetSettlementWindow{EndMonth: 2})
	err := f.reject(errcode.WindowOverlap, &SettlementRun{Year: 2027})
	if !strings.Contains(err.Message, "2026-03-01 – 2027-02-28") || !strings.Contains(err.Message, "year 2026") {
		t.Fatalf("overlap message: %v", err)
	}
	f.ok(&SettlementRun{Year: 2028}) // 2027-03-01 – 2028-02-29: after 2026's window (a gap, not an overlap)
	if err := ValidateCommand(Command{Key: "w", Body: &SetSettlementWindow{EndMonth: 13}}); err == nil || err.Code != errcode.InvalidValue {
		t.Fatalf("end month 13: %v", err)
	}
}

// Each invoice reconciliation is kept per provider, oldest first, with actor and time, so a
// provider's dispute history is auditable.
func TestReconciliationHistory(t *testing.T) {
	f := newFixture(t)
	f.seed()
	rec := Reconciliation{Provider: "p1", Month: calendar.Month{Year: 2026, Month: time.March}, InvoiceSHA256: strings.Repeat("ab", 32),
		Matched: 3, Mismatched: 1, InvoiceTotal: dec("100.00"), RatedTotal: dec("98.00"), Tolerance: dec("0")}
	f.ok(&RecordReconciliation{Result: rec})
	rec.Mismatched, rec.Matched, rec.InvoiceTotal = 0, 4, dec("98.00")
	f.ok(&RecordReconciliation{Result: rec})
	bad := rec
	bad.Provider = "nobody"
	f.reject(errcode.UnknownProvider, &RecordReconciliation{Result: bad})
	bad = rec
	bad.InvoiceSHA256 = "not-a-hash"
	f.reject(errcode.InvalidValue, &RecordReconciliation{Result: bad})
	d, err := f.l.View(ViewFilter{MasterDataOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	h := d.Reconciliations["p1"].History
	if len(h) != 2 || h[0].Mismatched != 1 || h[1].Mismatched != 0 || h[1].Actor != "test" || !h[1].Time.Equal(f.now) {
		t.Fatalf("history %+v", h)
	}
}
