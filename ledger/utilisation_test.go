package ledger

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/cloudledger/cloudledger/errcode"
)

func urow(res, date, mean, peak, avail string) UtilisationRow {
	return UtilisationRow{Resource: res, Date: day(date), Mean: dec(mean), Peak: dec(peak), Availability: dec(avail)}
}

// utilFixture: d1/prj1 at p1 holds a vCPU resource "vm1" and a memory resource "mem1"
// (monitored), a VPC "vpc1" (not monitored); p2 holds "vm2". p1-am and p2-am are the
// providers' accounts.
func utilFixture(t *testing.T) *fixture {
	f := newFixture(t)
	f.seed()
	f.ok(&SetProvider{Provider{ID: "p2", Name: "云商二", ContractStart: day("2025-01-01"), ContractEnd: day("2027-12-31")}},
		alloc("vm1", "ecs.vcpu", KindStandard, "4", time.Time{}), alloc("mem1", "ecs.memory", KindStandard, "8", time.Time{}),
		alloc("vpc1", "net.vpc", KindStandard, "1", time.Time{}))
	vm2 := alloc("vm2", "ecs.vcpu", KindStandard, "2", time.Time{})
	vm2.Provider = "p2"
	f.ok(vm2)
	f.ok(&AccountChange{Op: AccountAdd, ID: "p1-am", Name: "p1", Role: RoleProvider, Provider: "p1"},
		&AccountChange{Op: AccountAdd, ID: "p2-am", Name: "p2", Role: RoleProvider, Provider: "p2"})
	return f
}

// Issue 24 (the ledger's half): a delivery's line item records its source, its range, its
// row count and the SHA-256 of its rows in the canonical order (worked here by hand from
// SPEC's words); the rows are in force per resource and day; a provider's row never
// replaces one from Prometheus, while Prometheus replaces a provider's; a provider cannot
// report another's resource, nor anyone an unmonitored one, and a refused delivery leaves
// nothing; the same delivery again under its key is the same line item.
func TestUtilisationDeliveries(t *testing.T) {
	f := utilFixture(t)
	rows := []UtilisationRow{urow("mem1", "2026-03-03", "40", "55.5", "100"), urow("vm1", "2026-03-03", "12.25", "30", "99.5"), urow("vm1", "2026-03-04", "0", "0", "100")}
	prom := Command{Key: "utilisation/prometheus/2026-03-03", Body: &UtilisationDelivery{Rows: rows}}
	r := f.as("system", prom)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	seq := r.Items[0].Seq
	var li *LineItem
	f.l.Flush()
	_ = f.l.LineItems(seq, func(x *LineItem) bool { li = x; return false })
	rec, ok := li.Body.(*UtilisationRecord)
	if !ok {
		t.Fatalf("the delivery's line item is a %T", li.Body)
	}
	canonical := "mem1,2026-03-03,40.00,55.50,100.00\nvm1,2026-03-03,12.25,30.00,99.50\nvm1,2026-03-04,0.00,0.00,100.00"
	if rec.Source != SourcePrometheus || rec.From != day("2026-03-03") || rec.To != day("2026-03-04") || rec.Rows != 3 || rec.SHA256 != sha256.Sum256([]byte(canonical)) {
		t.Fatalf("record %+v, want prometheus 2026-03-03..04, 3 rows, sha256 of %q", rec, canonical)
	}
	if again := f.as("system", prom); again.Err != nil || !again.Items[0].Duplicate || again.Items[0].Seq != seq {
		t.Fatalf("the same delivery again: %+v", again)
	}

	// p1's report for the same days: vm1 on 03-03 stays Prometheus'; 03-05 is new.
	rep := &UtilisationDelivery{Rows: []UtilisationRow{urow("vm1", "2026-03-03", "90", "95", "100"), urow("vm1", "2026-03-05", "20", "40", "100")}}
	if r := f.as("p1-am", f.cmd(rep)); r.Err != nil {
		t.Fatal(r.Err)
	}
	got := f.l.UtilisationRows("vm1", day("2026-03-01"), day("2026-03-31"))
	want := []string{"2026-03-03 12.25 30 prometheus", "2026-03-04 0 0 prometheus", "2026-03-05 20 40 provider"}
	if len(got) != len(want) {
		t.Fatalf("vm1's rows: %+v", got)
	}
	for i, g := range got {
		if s := fmt.Sprintf("%s %s %s %s", g.Date, g.Mean, g.Peak, g.Source); s != want[i] {
			t.Errorf("vm1 row %d: %s, want %s", i, s, want[i])
		}
	}
	// Prometheus correcting the provider's 03-05 replaces it.
	if r := f.as("system", f.cmd(&UtilisationDelivery{Rows: []UtilisationRow{urow("vm1", "2026-03-05", "21", "41", "99")}})); r.Err != nil {
		t.Fatal(r.Err)
	}
	if got := f.l.UtilisationRows("vm1", day("2026-03-05"), day("2026-03-05")); len(got) != 1 || got[0].Source != SourcePrometheus || !got[0].Mean.Equal(dec("21")) {
		t.Fatalf("vm1 on 03-05 after Prometheus: %+v", got)
	}
	// The provider's delivery keeps both its rows, the one not in force too.
	delivered, err := f.l.DeliveryRows(seq + 1)
	if err != nil || len(delivered) != 2 || !delivered[0].Mean.Equal(dec("90")) {
		t.Fatalf("the provider's delivered rows: %+v %v", delivered, err)
	}

	before := f.digest()
	for _, c := range []struct {
		actor string
		rows  []UtilisationRow
		code  Code
	}{
		{"p2-am", []UtilisationRow{urow("vm1", "2026-03-06", "1", "2", "100")}, errcode.PermissionDenied}, // p1's resource
		{"system", []UtilisationRow{urow("vpc1", "2026-03-06", "1", "2", "100")}, errcode.InvalidValue},   // not monitored
		{"system", []UtilisationRow{urow("nope", "2026-03-06", "1", "2", "100")}, errcode.UnknownResource},
		{"system", []UtilisationRow{urow("vm1", "2026-03-06", "3", "2", "100")}, errcode.InvalidValue},                                             // mean above peak
		{"system", []UtilisationRow{urow("vm1", "2026-03-06", "1", "2", "100.5")}, errcode.InvalidValue},                                           // over 100
		{"system", []UtilisationRow{urow("vm1", "2026-03-06", "1.125", "2", "100")}, errcode.InvalidValue},                                         // 3 decimals
		{"system", []UtilisationRow{urow("vm1", "2026-03-07", "1", "2", "100"), urow("vm1", "2026-03-06", "1", "2", "100")}, errcode.InvalidValue}, // unsorted
	} {
		r := f.as(c.actor, f.cmd(&UtilisationDelivery{Rows: append([]UtilisationRow{urow("mem1", "2026-03-06", "1", "1", "100")}, c.rows...)}))
		if r.Err == nil || r.Err.Code != c.code {
			t.Errorf("%s delivering %+v: %v, want %s", c.actor, c.rows, r.Err, c.code)
		}
	}
	if f.digest() != before {
		t.Fatal("a refused delivery changed the ledger")
	}

	// Flushed and read back from bbolt, and after a restart.
	f.l.Flush()
	f.reopen()
	if got := f.l.UtilisationRows("mem1", day("2026-03-03"), day("2026-03-03")); len(got) != 1 || !got[0].Peak.Equal(dec("55.5")) || got[0].Seq != seq {
		t.Fatalf("mem1 after a restart: %+v", got)
	}
}

// Issue 24 (Reports): on the first working day of a month — 2 March 2026 on the official
// calendar (1 March is a Sunday) — the tick announces February's statements to every
// department and provider, once.
func TestStatementsAreAnnouncedOnTheFirstWorkingDay(t *testing.T) {
	f := newFixture(t)
	f.now = at("2026-02-27T10:00:00+08:00") // the ledger's clock never goes back: start before
	f.seed()
	statements := func() []Notice {
		var out []Notice
		for _, n := range f.l.Notices(0, 0) {
			if n.Kind == NoticeStatements {
				out = append(out, n)
			}
		}
		return out
	}
	f.now = at("2026-03-01T23:00:00+08:00")
	f.ok(&Tick{})
	if n := statements(); len(n) != 0 {
		t.Fatalf("announced on Sunday 1 March: %+v", n)
	}
	f.now = at("2026-03-02T08:00:00+08:00")
	f.ok(&Tick{})
	f.ok(&Tick{})
	got := statements()
	want := []string{"department d1", "department d2", "provider p1"}
	if len(got) != len(want) {
		t.Fatalf("announcements %+v, want %v", got, want)
	}
	for i, n := range got {
		if s := n.Party + " " + n.Recipient; s != want[i] || n.Month != "2026-02" {
			t.Errorf("announcement %d: %s of %s, want %s of 2026-02", i, s, n.Month, want[i])
		}
	}
}
