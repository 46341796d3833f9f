package testcluster

import (
	"fmt"
	"time"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
)

// SeedCommands is the master data that load tests write against: department d1, provider p1,
// project prj1 with a quota no load reaches, and the item ecs.vcpu.
func SeedCommands() []*v1.Command {
	return []*v1.Command{
		{Key: "seed/d1", Body: &v1.Command_Department{Department: &v1.Department{Department: "d1", Name: "市财政局", Funding: "budget"}}},
		{Key: "seed/p1", Body: &v1.Command_Provider{Provider: &v1.Provider{Provider: "p1", Name: "云商一", ContractStart: "2025-01-01", ContractEnd: "2027-12-31"}}},
		{Key: "seed/prj1", Body: &v1.Command_ProjectQuota{ProjectQuota: &v1.ProjectQuota{Project: "prj1", Department: "d1", Name: "预算系统", QuotaClass: "vcpu", Quota: "1000000000"}}},
		{Key: "seed/item", Body: &v1.Command_CatalogPrice{CatalogPrice: &v1.CatalogPrice{Item: "ecs.vcpu", Name: "vCPU", Category: "IaaS", Unit: "核·月", Billing: "allocation", QuotaClass: "vcpu", Price: "40", EffectiveFrom: "2025-01-01"}}},
	}
}

// Allocate is load event i: a 1-vCPU standard resource r<i> of d1/prj1/p1 allocated i seconds
// after 2026-01-01 00:00 (Asia/Shanghai; wrapping every 10⁶), keyed <prefix>/<i>.
func Allocate(prefix string, i int) *v1.Command {
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600)).Add(time.Duration(i%1_000_000) * time.Second)
	return &v1.Command{Key: fmt.Sprintf("%s/%d", prefix, i), Body: &v1.Command_Event{Event: &v1.Event{
		Op: "allocate", Time: t.Format(time.RFC3339), Department: "d1", Project: "prj1", Provider: "p1",
		Resource: fmt.Sprintf("r%d", i), Item: "ecs.vcpu", Kind: "standard", Quantity: "1"}}}
}
