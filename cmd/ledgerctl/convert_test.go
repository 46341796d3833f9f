package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"google.golang.org/protobuf/proto"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/interchange"
	"github.com/cloudledger/cloudledger/ledger"
)

// decodeOne decodes the single row of a CSV file of a kind.
func decodeOne(t *testing.T, kind interchange.Kind, csv string) interchange.Row {
	t.Helper()
	d, err := interchange.NewDecoder(kind, "test.csv", strings.NewReader(csv), interchange.FormatCSV, "f1")
	if err != nil {
		t.Fatal(err)
	}
	row, rerr, ok := d.Next()
	if !ok || rerr != nil {
		t.Fatalf("decode: ok=%v err=%v", ok, rerr)
	}
	return row
}

// fromProto parses an API command back the way the server does (server/convert.go): with
// interchange's field parsers over the string fields.
func fromProto(t *testing.T, c *v1.Command) ledger.Command {
	t.Helper()
	fields := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	out := ledger.Command{Key: c.GetKey()}
	var err *errcode.Error
	switch b := c.GetBody().(type) {
	case *v1.Command_Event:
		e := b.Event
		out.Body, err = interchange.ParseEvent(fields(map[string]string{"op": e.Op, "time": e.Time, "department": e.Department,
			"project": e.Project, "provider": e.Provider, "resource": e.Resource, "item": e.Item, "kind": e.Kind,
			"quantity": e.Quantity, "expires": e.Expires}))
	case *v1.Command_Department:
		d := b.Department
		out.Body, err = interchange.ParseDepartment(fields(map[string]string{"department": d.Department, "name": d.Name, "parent": d.Parent, "funding": d.Funding}))
	case *v1.Command_Provider:
		p := b.Provider
		out.Body, err = interchange.ParseProvider(fields(map[string]string{"provider": p.Provider, "name": p.Name, "contract_start": p.ContractStart, "contract_end": p.ContractEnd}))
	case *v1.Command_ProjectQuota:
		p := b.ProjectQuota
		out.Body, err = interchange.ParseProjectQuota(fields(map[string]string{"project": p.Project, "department": p.Department, "name": p.Name, "quota_class": p.QuotaClass, "quota": p.Quota}))
	case *v1.Command_CatalogPrice:
		p := b.CatalogPrice
		out.Body, err = interchange.ParseCatalogPrice(fields(map[string]string{"item": p.Item, "name": p.Name, "category": p.Category, "unit": p.Unit,
			"billing": p.Billing, "quota_class": p.QuotaClass, "price": p.Price, "provider": p.Provider, "effective_from": p.EffectiveFrom, "proration": p.Proration}))
	case *v1.Command_ApprovalGrant:
		a := b.ApprovalGrant
		ceiling, perr := ledger.ParseDecimal(a.Ceiling)
		if perr != nil {
			t.Fatal(perr)
		}
		out.Body = &ledger.GrantApproval{Department: a.Department, QuotaClass: a.QuotaClass, Ceiling: ceiling, Ref: a.Ref}
	case *v1.Command_PeriodClose:
		m, perr := calendar.ParseMonth(b.PeriodClose.Month)
		if perr != nil {
			t.Fatal(perr)
		}
		out.Body = &ledger.ClosePeriod{Month: m}
	case *v1.Command_CalendarYear:
		s, perr := calendar.ParseYearSchedule([]byte(b.CalendarYear.Json))
		if perr != nil {
			t.Fatal(perr)
		}
		out.Body = &ledger.LoadCalendar{Schedule: s}
	default:
		t.Fatalf("no body: %v", c)
	}
	if err != nil {
		t.Fatalf("the server would refuse %v: %v", c, err)
	}
	return out
}

// sameCommand: the API command means exactly what the row meant — the same key and the same
// canonical encoding, so idempotency and the hash chain see no difference between a file
// row and its API form.
func sameCommand(t *testing.T, want, got ledger.Command) {
	t.Helper()
	if want.Key != got.Key {
		t.Fatalf("key %q, want %q", got.Key, want.Key)
	}
	if !bytes.Equal(ledger.EncodeBody(want.Body), ledger.EncodeBody(got.Body)) {
		t.Fatalf("canonical encodings differ:\n got %#v\nwant %#v", got.Body, want.Body)
	}
}

// TestToProtoEachKind: every interchange kind converts to the API's string fields as
// ledger.proto documents them (times RFC 3339 with offset, dates YYYY-MM-DD, plain
// decimals, zero expiry ""), carries the row's line, and parses back to the same command.
func TestToProtoEachKind(t *testing.T) {
	evHeader := "key,time,op,department,project,provider,resource,item,kind,quantity,expires\n"
	cases := []struct {
		name string
		kind interchange.Kind
		csv  string
		want *v1.Command
	}{
		{"event allocate with a date expiry", interchange.KindEvents,
			evHeader + "e1,2026-03-01T02:00:00Z,allocate,d1,prj1,p1,vm1,ecs.vcpu,dev,8.50,2026-03-31\n",
			&v1.Command{Key: "e1", Line: 2, Body: &v1.Command_Event{Event: &v1.Event{Op: "allocate", Time: "2026-03-01T10:00:00+08:00",
				Department: "d1", Project: "prj1", Provider: "p1", Resource: "vm1", Item: "ecs.vcpu", Kind: "dev", Quantity: "8.5",
				Expires: "2026-04-01T00:00:00+08:00"}}}},
		{"event reclaim: no quantity, no expiry", interchange.KindEvents,
			evHeader + "e2,2026-03-02T10:00:00.25+08:00,reclaim,,,,vm1,,,,\n",
			&v1.Command{Key: "e2", Line: 2, Body: &v1.Command_Event{Event: &v1.Event{Op: "reclaim", Time: "2026-03-02T10:00:00.25+08:00", Resource: "vm1"}}}},
		{"event usage defaults to standard", interchange.KindEvents,
			evHeader + "e3,2026-03-02T10:00:00+08:00,usage,d1,prj1,p1,bucket1,oss.egress,,12,\n",
			&v1.Command{Key: "e3", Line: 2, Body: &v1.Command_Event{Event: &v1.Event{Op: "usage", Time: "2026-03-02T10:00:00+08:00",
				Department: "d1", Project: "prj1", Provider: "p1", Resource: "bucket1", Item: "oss.egress", Kind: "standard", Quantity: "12"}}}},
		{"event extend to a time", interchange.KindEvents,
			evHeader + "e4,2026-03-02T10:00:00+08:00,extend,,,,vm1,,,,2026-05-01T12:00:00+08:00\n",
			&v1.Command{Key: "e4", Line: 2, Body: &v1.Command_Event{Event: &v1.Event{Op: "extend", Time: "2026-03-02T10:00:00+08:00",
				Resource: "vm1", Expires: "2026-05-01T12:00:00+08:00"}}}},
		{"department", interchange.KindDepartments,
			"department,name,parent,funding\nd2,市公交集团,d1,self\n",
			&v1.Command{Key: "departments:f1:2", Line: 2, Body: &v1.Command_Department{Department: &v1.Department{Department: "d2", Name: "市公交集团", Parent: "d1", Funding: "self"}}}},
		{"provider", interchange.KindProviders,
			"provider,name,contract_start,contract_end\np1,云商一,2025-01-01,2027-12-31\n",
			&v1.Command{Key: "providers:f1:2", Line: 2, Body: &v1.Command_Provider{Provider: &v1.Provider{Provider: "p1", Name: "云商一", ContractStart: "2025-01-01", ContractEnd: "2027-12-31"}}}},
		{"project quota", interchange.KindProjects,
			"project,department,name,quota_class,quota\nprj1,d1,预算系统,vcpu,100.000\n",
			&v1.Command{Key: "projects:f1:2", Line: 2, Body: &v1.Command_ProjectQuota{ProjectQuota: &v1.ProjectQuota{Project: "prj1", Department: "d1", Name: "预算系统", QuotaClass: "vcpu", Quota: "100"}}}},
		{"catalog price, proration defaulted", interchange.KindCatalog,
			"item,name,category,unit,billing,quota_class,price,provider,effective_from\necs.vcpu,云服务器vCPU,IaaS,核·月,allocation,vcpu,40.5,p1,2025-07-01\n",
			&v1.Command{Key: "catalog:f1:2", Line: 2, Body: &v1.Command_CatalogPrice{CatalogPrice: &v1.CatalogPrice{Item: "ecs.vcpu", Name: "云服务器vCPU",
				Category: "IaaS", Unit: "核·月", Billing: "allocation", QuotaClass: "vcpu", Price: "40.5", Provider: "p1", EffectiveFrom: "2025-07-01", Proration: "daily"}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			row := decodeOne(t, c.kind, c.csv)
			got, err := toProto(row.Command, row.Line)
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, c.want) {
				t.Fatalf("toProto:\n got %v\nwant %v", got, c.want)
			}
			sameCommand(t, row.Command, fromProto(t, got))
		})
	}
}

// TestToProtoCommandLineKinds: the commands ledgerctl builds from flags convert too.
func TestToProtoCommandLineKinds(t *testing.T) {
	sched := calendar.YearSchedule{Year: 2027, Days: []calendar.Day{{Name: "元旦", Date: "2027-01-01", IsOffDay: true}}}
	cases := []struct {
		cmd  ledger.Command
		want *v1.Command
	}{
		{ledger.Command{Key: "k1", Body: &ledger.GrantApproval{Department: "health", QuotaClass: "vcpu", Ceiling: decimal.RequireFromString("200.50"), Ref: "经信审〔2025〕12号"}},
			&v1.Command{Key: "k1", Body: &v1.Command_ApprovalGrant{ApprovalGrant: &v1.ApprovalGrant{Department: "health", QuotaClass: "vcpu", Ceiling: "200.5", Ref: "经信审〔2025〕12号"}}}},
		{ledger.Command{Key: "k2", Body: &ledger.ClosePeriod{Month: calendar.Month{Year: 2026, Month: time.March}}},
			&v1.Command{Key: "k2", Body: &v1.Command_PeriodClose{PeriodClose: &v1.PeriodClose{Month: "2026-03"}}}},
	}
	for _, c := range cases {
		got, err := toProto(c.cmd, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(got, c.want) {
			t.Fatalf("toProto:\n got %v\nwant %v", got, c.want)
		}
		sameCommand(t, c.cmd, fromProto(t, got))
	}
	cal := ledger.Command{Key: "k3", Body: &ledger.LoadCalendar{Schedule: sched}}
	got, err := toProto(cal, 0)
	if err != nil {
		t.Fatal(err)
	}
	sameCommand(t, cal, fromProto(t, got))

	if _, err := toProto(ledger.Command{Key: "k4", Body: &ledger.Tick{}}, 0); err == nil {
		t.Fatal("a Tick is the leader's own command and must not be sent")
	}
}

// TestCommandLineWrites: approval, period and extend commands are checked locally; a bad
// value is a usage error naming the flag, with the ledger's code.
func TestCommandLineWrites(t *testing.T) {
	if _, err := approvalCommand("k", "health", "vcpu", "200", "ref"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name        string
		err         error
		code, field string
	}{
		{"bad ceiling", second(approvalCommand("k", "health", "vcpu", "1E9", "ref")), "invalid_quantity", "ceiling"},
		{"missing class", second(approvalCommand("k", "health", "", "200", "ref")), "missing_field", "class"},
		{"bad month", second(periodCommand("k", "2026-13")), "invalid_value", "month"},
		{"extend without offset", second(extendCommand("k", "vm1", "2026-05-01", "2026-03-01T10:00:00")), "invalid_time", "requested-at"},
		{"extend bad expiry", second(extendCommand("k", "vm1", "2026-5-1", "2026-03-01T10:00:00+08:00")), "invalid_date", "expires"},
		{"extend no resource", second(extendCommand("k", "", "2026-05-01", "2026-03-01T10:00:00+08:00")), "missing_field", "resource"},
	} {
		ce, ok := c.err.(*cliError)
		if !ok {
			t.Fatalf("%s: error %v (%T), want a *cliError", c.name, c.err, c.err)
		}
		if ce.code != c.code || ce.field != c.field || ce.exit != exitUsage {
			t.Fatalf("%s: got %q %q exit %d, want %q %q exit %d", c.name, ce.code, ce.field, ce.exit, c.code, c.field, exitUsage)
		}
	}
	c, err := extendCommand("k", "vm1", "2026-05-01", "2026-03-01T10:00:00+08:00")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := toProto(c, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := &v1.Event{Op: "extend", Time: "2026-03-01T10:00:00+08:00", Resource: "vm1", Expires: "2026-05-02T00:00:00+08:00"}
	if !proto.Equal(pc.GetEvent(), want) {
		t.Fatalf("extend event %v, want %v", pc.GetEvent(), want)
	}
}

func second[T any](_ T, err error) error { return err }

// TestNewKey: a fresh random key per invocation, named after the command.
func TestNewKey(t *testing.T) {
	a, b := newKey("approval"), newKey("approval")
	if a == b || !strings.HasPrefix(a, "ctl/approval/") || len(a) != len("ctl/approval/")+32 {
		t.Fatalf("keys %q %q", a, b)
	}
}
