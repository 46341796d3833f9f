package apimap

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"google.golang.org/protobuf/proto"

	"github.com/cloudledger/cloudledger/calendar"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	. "github.com/cloudledger/cloudledger/interchange"
	"github.com/cloudledger/cloudledger/ledger"
)

// commandOf decodes the single row of a CSV file of a kind and maps it.
func commandOf(t *testing.T, kind FileKind, csv string) ledger.Command {
	t.Helper()
	d, err := NewDecoder(kind, "test.csv", strings.NewReader(csv), FormatCSV, "f1")
	if err != nil {
		t.Fatal(err)
	}
	row, rerr, ok := d.Next()
	if !ok || rerr != nil {
		t.Fatalf("decode: ok=%v err=%v", ok, rerr)
	}
	cmd, err2 := Command(row.Command)
	if err2 != nil {
		t.Fatal(err2)
	}
	return cmd
}

// sameCommand checks that the API form of want maps back to want.
func sameCommand(t *testing.T, want ledger.Command, api *v1.Command) {
	t.Helper()
	got, err := Command(api)
	if err != nil {
		t.Fatalf("%v does not map back: %v", api, err)
	}
	if got.Key != want.Key || !bytes.Equal(ledger.EncodeBody(want.Body), ledger.EncodeBody(got.Body)) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
}

// TestFromCommandEachKind: the API form of every kind of command (a line item's body in
// ListLineItems) is the string fields ledger.proto documents (times RFC 3339 with offset,
// dates YYYY-MM-DD, plain decimals, zero expiry ""), and it maps back to the same command.
func TestFromCommandEachKind(t *testing.T) {
	evHeader := "key,time,op,department,project,provider,resource,item,kind,quantity,expires\n"
	cases := []struct {
		name string
		kind FileKind
		csv  string
		want *v1.Command
	}{
		{"event allocate with a date expiry", KindEvents,
			evHeader + "e1,2026-03-01T02:00:00Z,allocate,d1,prj1,p1,vm1,ecs.vcpu,dev,8.50,2026-03-31\n",
			&v1.Command{Key: "e1", Body: &v1.Command_Event{Event: &v1.Event{Op: "allocate", Time: "2026-03-01T10:00:00+08:00",
				Department: "d1", Project: "prj1", Provider: "p1", Resource: "vm1", Item: "ecs.vcpu", Kind: "dev", Quantity: "8.5",
				Expires: "2026-04-01T00:00:00+08:00"}}}},
		{"event reclaim: no quantity, no expiry", KindEvents,
			evHeader + "e2,2026-03-02T10:00:00.25+08:00,reclaim,,,,vm1,,,,\n",
			&v1.Command{Key: "e2", Body: &v1.Command_Event{Event: &v1.Event{Op: "reclaim", Time: "2026-03-02T10:00:00.25+08:00", Resource: "vm1"}}}},
		{"event usage defaults to standard", KindEvents,
			evHeader + "e3,2026-03-02T10:00:00+08:00,usage,d1,prj1,p1,bucket1,oss.egress,,12,\n",
			&v1.Command{Key: "e3", Body: &v1.Command_Event{Event: &v1.Event{Op: "usage", Time: "2026-03-02T10:00:00+08:00",
				Department: "d1", Project: "prj1", Provider: "p1", Resource: "bucket1", Item: "oss.egress", Kind: "standard", Quantity: "12"}}}},
		{"event extend to a time", KindEvents,
			evHeader + "e4,2026-03-02T10:00:00+08:00,extend,,,,vm1,,,,2026-05-01T12:00:00+08:00\n",
			&v1.Command{Key: "e4", Body: &v1.Command_Event{Event: &v1.Event{Op: "extend", Time: "2026-03-02T10:00:00+08:00",
				Resource: "vm1", Expires: "2026-05-01T12:00:00+08:00"}}}},
		{"department", KindDepartments,
			"department,name,parent,funding\nd2,市公交集团,d1,self\n",
			&v1.Command{Key: "departments:f1:2", Body: &v1.Command_Department{Department: &v1.Department{Department: "d2", Name: "市公交集团", Parent: "d1", Funding: "self"}}}},
		{"provider", KindProviders,
			"provider,name,contract_start,contract_end\np1,云商一,2025-01-01,2027-12-31\n",
			&v1.Command{Key: "providers:f1:2", Body: &v1.Command_Provider{Provider: &v1.Provider{Provider: "p1", Name: "云商一", ContractStart: "2025-01-01", ContractEnd: "2027-12-31"}}}},
		{"project quota", KindProjects,
			"project,department,name,quota_class,quota\nprj1,d1,预算系统,vcpu,100.000\n",
			&v1.Command{Key: "projects:f1:2", Body: &v1.Command_ProjectQuota{ProjectQuota: &v1.ProjectQuota{Project: "prj1", Department: "d1", Name: "预算系统", QuotaClass: "vcpu", Quota: "100"}}}},
		{"catalog price, proration defaulted", KindCatalog,
			"item,name,category,unit,billing,quota_class,price,provider,effective_from\necs.vcpu,云服务器vCPU,IaaS,核·月,allocation,vcpu,40.5,p1,2025-07-01\n",
			&v1.Command{Key: "catalog:f1:2", Body: &v1.Command_CatalogPrice{CatalogPrice: &v1.CatalogPrice{Item: "ecs.vcpu", Name: "云服务器vCPU",
				Category: "IaaS", Unit: "核·月", Billing: "allocation", QuotaClass: "vcpu", Price: "40.5", Provider: "p1", EffectiveFrom: "2025-07-01", Proration: "daily"}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := commandOf(t, c.kind, c.csv)
			got := FromCommand(cmd)
			if !proto.Equal(got, c.want) {
				t.Fatalf("FromCommand:\n got %v\nwant %v", got, c.want)
			}
			sameCommand(t, cmd, got)
		})
	}
}

// TestFromCommandCommandLineKinds: the commands written from ledgerctl's flags map back too;
// the leader's own commands have no API form.
func TestFromCommandCommandLineKinds(t *testing.T) {
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
		got := FromCommand(c.cmd)
		if !proto.Equal(got, c.want) {
			t.Fatalf("FromCommand:\n got %v\nwant %v", got, c.want)
		}
		sameCommand(t, c.cmd, got)
	}
	cal := ledger.Command{Key: "k3", Body: &ledger.LoadCalendar{Schedule: sched}}
	sameCommand(t, cal, FromCommand(cal))
	if got := FromCommand(ledger.Command{Key: "k4", Body: &ledger.Tick{}}); got != nil {
		t.Fatalf("a Tick is the leader's own command and has no API form: %v", got)
	}
}
