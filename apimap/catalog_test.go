package apimap

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/ledger"
)

// internalCommands are the ledger's commands no client sends through Submit: the
// machinery's bookkeeping, and the workflows whose RPCs build them on the server (accounts,
// credentials, resource requests, settlement, notices, deadlines, reconciliation). Each
// has its reason here; a new ledger command must join the catalog or this list.
var internalCommands = map[string]string{
	"tick":               "the leader's clock: expiries and reminders",
	"kafka_offsets":      "the Kafka bridge's batches",
	"kafka_published":    "the Kafka ledger topic's progress",
	"access_records":     "the access trail",
	"admin_token_secret": "the bootstrap credential's hash",
	"admin_token":        "the bootstrap credential's record",
	"bootstrap_accounts": "the accounts of the bootstrap credential",
	"session_key":        "the cluster's session key",
	"session_end":        "a sign-out",
	"sign_in_attempt":    "a sign-in's check",
	"sign_in_result":     "a sign-in's outcome",
	"notice_outcome":     "a notice's delivery",
	"credential_secret":  "a secret's hash, beside its public record",
	"account":            "AccountService",
	"credential":         "AccountService",
	"totp_roles":         "AccountService/SetTOTPRoles",
	"request":            "RequestService/SubmitRequest",
	"request_decision":   "RequestService/DecideRequest",
	"deadline_table":     "RequestService/SetDeadlineTable",
	"settlement_run":     "LedgerService/Settle",
	"settlement_audit":   "LedgerService/Settle",
	"settlement_advance": "LedgerService/Settle",
	"reconciliation":     "LedgerService/InvoiceReconcile",
	"utilisation_record": "a utilisation delivery's line item (the ledger writes it)",
	"findings_evaluate":  "the leader's evaluation of a day",
	"finding_step":       "FindingService/StepFinding",
	"finding_record":     "a step the ledger takes itself (the ledger writes it)",
	"survey_answer":      "EvaluationService/Survey",
	"access_archive":     "the leader's archive of access records past their retention",
}

// Issue 23, must show 2: every command the ledger registers is either a catalog row (so it
// has its API form, parser, roles and scope) or named here as internal, and nothing else.
func TestEveryLedgerCommandIsInTheCatalogOrInternal(t *testing.T) {
	seen := map[string]bool{}
	for _, ct := range ledger.CommandTypes() {
		name := ledger.TypeName(ct)
		seen[name] = true
		k := KindOfType(ct)
		_, internal := internalCommands[name]
		switch {
		case k != nil && internal:
			t.Errorf("%s is both a catalog row and internal", name)
		case k == nil && !internal:
			t.Errorf("ledger command %s (type %d) is neither in apimap.Catalog nor listed as internal", name, ct)
		}
	}
	for name := range internalCommands {
		if !seen[name] {
			t.Errorf("%s is listed as internal but the ledger has no such command", name)
		}
	}
	if len(Catalog) < 14 {
		t.Fatalf("only %d catalog rows", len(Catalog))
	}
}

// FuzzCatalogRoundTrip (issue 23, must show 4): for every catalog command, the body a
// client could have sent shows in the API form and parses back to the same bytes:
// Encode(Parse(Show(b))) == Encode(b). Inputs are encoded bodies (the seeds, one a kind,
// and whatever the fuzzer makes of them); a body the ledger's rules refuse is no client's.
func FuzzCatalogRoundTrip(f *testing.F) {
	for _, c := range sampleCommands() {
		f.Add(ledger.EncodeBody(c.Body))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, err := ledger.DecodeBody(raw)
		if err != nil || !bytes.Equal(ledger.EncodeBody(b), raw) {
			return
		}
		k := KindOfType(b.Type())
		if k == nil || ledger.ValidateCommand(ledger.Command{Key: "k", Body: b}) != nil {
			return
		}
		shown := k.Show(b)
		shown.Key = "k"
		first, perr := Command(shown)
		if perr != nil {
			t.Fatalf("%s: the API form %v of a valid body does not parse: %v", k.Field(), shown, perr)
		}
		// A client's body is one the parser makes (it trims, defaults, canonicalises): from
		// there, showing and parsing again changes nothing.
		want := ledger.EncodeBody(first.Body)
		again := k.Show(first.Body)
		again.Key = "k"
		back, perr := Command(again)
		if perr != nil {
			t.Fatalf("%s: the API form %v of a parsed body does not parse: %v", k.Field(), again, perr)
		}
		if got := ledger.EncodeBody(back.Body); !bytes.Equal(got, want) {
			t.Fatalf("%s: Parse(Show(b)) encodes to\n%x\nnot\n%x\n(API form %v)", k.Field(), got, want, again)
		}
	})
}

// Every catalog row has a sample, and every sample round-trips (the fuzz target's seeds,
// run by go test as a plain test too).
func TestEveryCatalogRowHasASample(t *testing.T) {
	have := map[string]bool{}
	for _, c := range sampleCommands() {
		if k := KindOfType(c.Body.Type()); k != nil {
			have[k.Field()] = true
		}
		if err := ledger.ValidateCommand(ledger.Command{Key: "k", Body: c.Body}); err != nil {
			t.Errorf("sample %T is not valid: %v", c.Body, err)
		}
		// A parsed body shows and parses back to the same bytes.
		k := KindOfType(c.Body.Type())
		shown := k.Show(c.Body)
		shown.Key = "k"
		back, err := Command(shown)
		if err != nil || !bytes.Equal(ledger.EncodeBody(back.Body), ledger.EncodeBody(c.Body)) {
			t.Errorf("%s: Parse(Show(b)) differs from b: %v (API form %v)", k.Field(), err, shown)
		}
	}
	for _, k := range Catalog {
		if !have[k.Field()] {
			t.Errorf("no sample of catalog command %s", k.Field())
		}
	}
}

// sampleCommands is one valid command of every catalog row, parsed from its API form.
func sampleCommands() []ledger.Command {
	cal, err := os.ReadFile(filepath.Join("..", "calendar", "data", "2026.json"))
	if err != nil {
		panic(err)
	}
	var out []ledger.Command
	for i, c := range []*v1.Command{
		{Body: &v1.Command_Event{Event: &v1.Event{Op: "allocate", Time: "2026-03-01T09:30:00+08:00", Department: "d1", Project: "prj1", Provider: "p1",
			Resource: "r1", Item: "ecs.vcpu", Kind: "temporary", Quantity: "1.500", Expires: "2026-04-30"}}},
		{Body: &v1.Command_Event{Event: &v1.Event{Op: "expand", Time: "2026-03-02T00:00:00Z", Resource: "r1", Quantity: "2", Request: "req-1"}}},
		{Body: &v1.Command_Department{Department: &v1.Department{Department: "d2", Name: "二局", Parent: "d1", Funding: "self"}}},
		{Body: &v1.Command_Provider{Provider: &v1.Provider{Provider: "p2", Name: "云二", ContractStart: "2025-01-01", ContractEnd: "2027-12-31"}}},
		{Body: &v1.Command_ProjectQuota{ProjectQuota: &v1.ProjectQuota{Project: "prj1", Department: "d1", Name: "系统", QuotaClass: "vcpu", Quota: "200.5"}}},
		{Body: &v1.Command_CatalogPrice{CatalogPrice: &v1.CatalogPrice{Item: "ecs.vcpu", Name: "vCPU", Category: "IaaS", Unit: "核·月",
			Billing: "metered", QuotaClass: "vcpu", Price: "0.0015", Provider: "p1", EffectiveFrom: "2026-01-01", Proration: "monthly"}}},
		{Body: &v1.Command_ApprovalGrant{ApprovalGrant: &v1.ApprovalGrant{Department: "d1", QuotaClass: "vcpu", Ceiling: "150", Ref: "经信〔2026〕1号", Expires: "2026-12-31"}}},
		{Body: &v1.Command_PeriodClose{PeriodClose: &v1.PeriodClose{Month: "2025-06"}}},
		{Body: &v1.Command_CalendarYear{CalendarYear: &v1.CalendarYear{Json: string(cal)}}},
		{Body: &v1.Command_Evaluation{Evaluation: &v1.Evaluation{Provider: "p1", From: "2026-01-01", To: "2026-03-31", Score: "91.5"}}},
		{Body: &v1.Command_BandTable{BandTable: &v1.BandTable{EffectiveFrom: "2027-01-01", Bands: []*v1.Band{
			{MinScore: "0", MaxScore: "60", Multiplier: "0.8"}, {MinScore: "60", MaxScore: "100", Multiplier: "0.955"}}}}},
		{Body: &v1.Command_SettlementWindow{SettlementWindow: &v1.SettlementWindow{EndMonth: 8}}},
		{Body: &v1.Command_ApprovalRevoke{ApprovalRevoke: &v1.ApprovalRevoke{Department: "d1", QuotaClass: "vcpu", Ref: "经信〔2026〕1号"}}},
		{Body: &v1.Command_ImportLease{ImportLease: &v1.ImportLease{Id: "lease-1", Months: []string{"2026-02", "2026-03"}}}},
		{Body: &v1.Command_FulfilRequest{FulfilRequest: &v1.FulfilRequest{Id: "req-1", Resource: "r-new"}}},
		{Body: &v1.Command_NoticeReplay{NoticeReplay: &v1.NoticeReplay{Id: "n-17"}}},
		{Body: &v1.Command_UtilisationDelivery{UtilisationDelivery: &v1.UtilisationDelivery{Rows: []*v1.UtilisationRow{
			{Resource: "vm2", Date: "2026-03-02", MeanPct: "5.5", PeakPct: "12.25", AvailabilityPct: "100"},
			{Resource: "vm1", Date: "2026-03-02", MeanPct: "40", PeakPct: "88", AvailabilityPct: "99.95"}}}}},
		{Body: &v1.Command_UtilisationRules{UtilisationRules: &v1.UtilisationRules{EffectiveFrom: "2026-01-01", LatenessDays: "40", LowMeanPct: "12.5"}}},
		{Body: &v1.Command_ProjectSeasons{ProjectSeasons: &v1.ProjectSeasons{Project: "prj1", Seasons: []*v1.Season{
			{From: "05-15", To: "07-15", QuotaClass: "vcpu", Quota: "200"}, {From: "12-01", To: "02-28", QuotaClass: "memory_gb", Quota: "64.5"}}}}},
		{Body: &v1.Command_EvaluationScheme{EvaluationScheme: &v1.EvaluationScheme{EffectiveFrom: "2026-06-01", WeightExpert: "10", SurveyWorkingDays: "15", AvailabilityFloorPct: "98.5"}}},
		{Body: &v1.Command_ExpertScore{ExpertScore: &v1.ExpertScore{Quarter: "2026Q4", Provider: "p1", Score: "85.5", Ref: "评审〔2026〕7号"}}},
		{Body: &v1.Command_QuarterPublish{QuarterPublish: &v1.QuarterPublish{Quarter: "2026Q4"}}},
	} {
		c.Key = fmt.Sprint("sample/", i)
		cmd, err := Command(c)
		if err != nil {
			panic(fmt.Sprintf("sample %d (%v): %v", i, c, err))
		}
		out = append(out, cmd)
	}
	return out
}
