// Package demo generates CloudLedger's demo data set: a few departments, three providers,
// the sample catalog, projects with quotas and a settlement year of events (1 September 2025
// to 31 August 2026). It is deterministic: the same code writes the same files.
package demo

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"
)

// Files maps a file name to its CSV content.
type Files map[string]string

var cst = time.FixedZone("CST", 8*3600)

type dept struct {
	id, name, funding string
}

type project struct {
	id, dept, name string
	// target peak allocation per class; the quota is set from it
	vcpu, mem, storage, bw int
	overrun                bool // allocates past 120 % (needs the supervisor approval the demo grants)
}

var departments = []dept{
	{"fin", "市财政局", "budget"},
	{"edu", "市教育局", "budget"},
	{"health", "市卫生健康委员会", "budget"},
	{"police", "市公安局", "budget"},
	{"bigdata", "市大数据管理局", "budget"},
	{"bus", "市公交集团", "self"},
}

var providers = [][4]string{
	{"ctyun", "中国电信天翼云", "2025-01-01", "2027-12-31"},
	{"hwcloud", "华为云", "2025-01-01", "2027-12-31"},
	{"aliyun", "阿里云", "2025-06-01", "2028-05-31"},
}

var projects = []project{
	{"fin-budget", "fin", "预算管理一体化系统", 64, 256, 4000, 50, false},
	{"fin-portal", "fin", "财政门户网站", 16, 32, 800, 20, false},
	{"edu-exam", "edu", "招生考试信息平台", 96, 192, 6000, 100, false},
	{"edu-cloudclass", "edu", "智慧教育云课堂", 48, 96, 3000, 200, false},
	{"health-his", "health", "全民健康信息平台", 80, 320, 8000, 60, true},
	{"health-vax", "health", "疫苗接种管理系统", 24, 48, 1000, 20, false},
	{"police-case", "police", "案件管理系统", 120, 480, 12000, 80, false},
	{"bigdata-share", "bigdata", "政务数据共享交换平台", 160, 640, 20000, 150, false},
	{"bus-dispatch", "bus", "智能公交调度系统", 32, 64, 2000, 40, false},
}

// Generate builds the data set; catalog is the sample catalog CSV (shared/data).
func Generate(catalog string) Files {
	f := Files{}
	var b strings.Builder
	b.WriteString("department,name,parent,funding\n")
	for _, d := range departments {
		fmt.Fprintf(&b, "%s,%s,,%s\n", d.id, d.name, d.funding)
	}
	f["departments.csv"] = b.String()

	b.Reset()
	b.WriteString("provider,name,contract_start,contract_end\n")
	for _, p := range providers {
		fmt.Fprintf(&b, "%s,%s,%s,%s\n", p[0], p[1], p[2], p[3])
	}
	f["providers.csv"] = b.String()

	b.Reset()
	b.WriteString("project,department,name,quota_class,quota\n")
	for _, p := range projects {
		// The quota is what the project was approved for; the demo uses ~80–95 % of it,
		// and the overrun project ~130 %.
		for _, q := range []struct {
			class string
			peak  int
		}{{"vcpu", p.vcpu}, {"memory_gb", p.mem}, {"storage_gb", p.storage}, {"bandwidth_mbps", p.bw}} {
			fmt.Fprintf(&b, "%s,%s,%s,%s,%d\n", p.id, p.dept, p.name, q.class, q.peak)
		}
	}
	f["projects.csv"] = b.String()

	// The sample catalog, a provider's own procurement price (HLJ 4) and a price cut.
	b.Reset()
	b.WriteString(strings.TrimRight(catalog, "\n") + "\n")
	b.WriteString("ecs.vcpu,云服务器vCPU,IaaS,核·月,allocation,vcpu,38,hwcloud,2025-07-01\n")
	b.WriteString("disk.ssd,SSD云盘,IaaS,GB·月,allocation,storage_gb,1.0,,2026-01-01\n")
	f["catalog.csv"] = b.String()

	// Later quota decisions lower two quotas below what is allocated: a department over its
	// quota (within 120 %) and one past 120 % with no approval (a violation).
	f["projects-2026-adjust.csv"] = "project,department,name,quota_class,quota\n" +
		"edu-exam,edu,招生考试信息平台,vcpu,80\n" +
		"bigdata-share,bigdata,政务数据共享交换平台,storage_gb,12000\n"

	// Quarterly evaluation scores (效能评估) of the settlement year 2026. Aliyun's last
	// quarter is not scored yet, so its charges from June on are provisional.
	f["evaluations.csv"] = "provider,from,to,score\n" +
		"ctyun,2025-07-01,2025-09-30,92\nctyun,2025-10-01,2025-12-31,88.5\nctyun,2026-01-01,2026-03-31,91\nctyun,2026-04-01,2026-06-30,94\nctyun,2026-07-01,2026-09-30,90\n" +
		"hwcloud,2025-07-01,2025-09-30,85\nhwcloud,2025-10-01,2025-12-31,79\nhwcloud,2026-01-01,2026-03-31,83\nhwcloud,2026-04-01,2026-06-30,86\nhwcloud,2026-07-01,2026-09-30,88\n" +
		"aliyun,2025-07-01,2025-09-30,93\naliyun,2025-10-01,2025-12-31,91\naliyun,2026-01-01,2026-03-31,68\naliyun,2026-04-01,2026-05-31,75\n"
	// Aliyun's score of June–August, published after the quarter: make run imports it once
	// the year's events are in, so that settlement year 2026 can be audited.
	f["evaluations-late.csv"] = "provider,from,to,score\naliyun,2026-06-01,2026-08-31,82\n"
	f["events.csv"] = events()
	return f
}

type event struct {
	t                                                     time.Time
	op, dept, project, provider, resource, item, kind, qt string
	expires                                               string
}

func events() string {
	rng := rand.New(rand.NewPCG(2025, 9))
	start := time.Date(2025, 9, 1, 9, 0, 0, 0, cst)
	var evs []event
	provs := []string{"ctyun", "hwcloud", "aliyun"}
	for pi, p := range projects {
		prov := provs[pi%len(provs)]
		at := start.Add(time.Duration(rng.IntN(20*24)) * time.Hour)
		share := 0.85
		if p.overrun {
			share = 1.1 // 110 % of the project's own quota, 130 % once its second VM comes
		}
		n := 0
		res := func(kind string) string { n++; return fmt.Sprintf("%s-%s-%02d", p.id, kind, n) }
		add := func(e event) { e.dept, e.project, e.provider = p.dept, p.id, prov; evs = append(evs, e) }
		// Two VMs (vCPU + memory), a disk and bandwidth.
		vcpu1 := int(float64(p.vcpu) * share / 2)
		vm1, mem1 := res("vcpu"), res("mem")
		add(event{t: at, op: "allocate", resource: vm1, item: "ecs.vcpu", kind: "standard", qt: fmt.Sprint(vcpu1)})
		add(event{t: at, op: "allocate", resource: mem1, item: "ecs.memory", kind: "standard", qt: fmt.Sprint(int(float64(p.mem) * share / 2))})
		disk := res("disk")
		add(event{t: at.Add(time.Hour), op: "allocate", resource: disk, item: "disk.ssd", kind: "standard", qt: fmt.Sprint(int(float64(p.storage) * 0.6))})
		bw := res("bw")
		add(event{t: at.Add(2 * time.Hour), op: "allocate", resource: bw, item: "net.bandwidth", kind: "standard", qt: fmt.Sprint(p.bw / 2)})
		add(event{t: at.Add(2 * time.Hour), op: "allocate", resource: res("vpc"), item: "net.vpc", kind: "standard", qt: "1"})
		add(event{t: at.Add(3 * time.Hour), op: "allocate", resource: res("sec"), item: "sec.host", kind: "standard", qt: "2"})
		// A second VM some months later.
		at2 := at.Add(time.Duration(60+rng.IntN(90)) * 24 * time.Hour)
		vcpu2 := int(float64(p.vcpu)*share) - vcpu1
		if p.overrun {
			vcpu2 = int(float64(p.vcpu)*1.3) - vcpu1 // to 130 %: covered by the demo's approval
		}
		vm2 := res("vcpu")
		add(event{t: at2, op: "allocate", resource: vm2, item: "ecs.vcpu", kind: "standard", qt: fmt.Sprint(vcpu2)})
		add(event{t: at2, op: "allocate", resource: res("mem"), item: "ecs.memory", kind: "standard", qt: fmt.Sprint(int(float64(p.mem)*share) - int(float64(p.mem)*share/2))})
		// Disk growth, then a reduction of bandwidth after the school term, etc.
		add(event{t: at2.Add(24 * time.Hour), op: "expand", resource: disk, qt: fmt.Sprint(int(float64(p.storage) * 0.2))})
		add(event{t: at2.Add(30 * 24 * time.Hour), op: "expand", resource: bw, qt: fmt.Sprint(p.bw / 4)})
		add(event{t: at2.Add(90 * 24 * time.Hour), op: "reduce", resource: bw, qt: fmt.Sprint(p.bw / 8)})
		// A test resource (free, 30 days) and a dev resource (≤ 15 % of the quota, 3 months).
		tst := at.Add(10 * 24 * time.Hour)
		add(event{t: tst, op: "allocate", resource: res("test"), item: "ecs.vcpu", kind: "test", qt: "2",
			expires: tst.AddDate(0, 0, 30).Format("2006-01-02")})
		dev := at.Add(15 * 24 * time.Hour)
		add(event{t: dev, op: "allocate", resource: res("dev"), item: "ecs.vcpu", kind: "dev", qt: fmt.Sprint(max(1, p.vcpu/10)),
			expires: dev.AddDate(0, 3, 0).Format("2006-01-02")})
		// A short-lived VM reclaimed within the year.
		tmp := res("vcpu")
		ts := at.Add(time.Duration(100+rng.IntN(100)) * 24 * time.Hour)
		add(event{t: ts, op: "allocate", resource: tmp, item: "ecs.vcpu", kind: "emergency", qt: "8",
			expires: ts.AddDate(0, 2, 0).Format("2006-01-02")})
		add(event{t: ts.Add(20 * 24 * time.Hour), op: "reclaim", resource: tmp})
		// Metered use: object storage egress and backups, monthly.
		bucket := p.id + "-oss"
		for m := 0; m < 12; m++ {
			u := time.Date(2025, time.September+time.Month(m), 28, 23, 0, 0, 0, cst)
			add(event{t: u, op: "usage", resource: bucket, item: "oss.egress", kind: "standard", qt: fmt.Sprintf("%d.%02d", 50+rng.IntN(500), rng.IntN(100))})
			add(event{t: u.Add(30 * time.Minute), op: "usage", resource: p.id + "-backup", item: "backup.data", kind: "standard", qt: fmt.Sprint(100 + rng.IntN(900))})
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].t.Before(evs[j].t) })
	var b strings.Builder
	b.WriteString("key,time,op,department,project,provider,resource,item,kind,quantity,expires\n")
	for i, e := range evs {
		dept, proj, prov, item, kind := e.dept, e.project, e.provider, e.item, e.kind
		if e.op == "expand" || e.op == "reduce" || e.op == "reclaim" {
			item, kind = "", ""
		}
		fmt.Fprintf(&b, "demo-%05d,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", i+1, e.t.Format(time.RFC3339), e.op, dept, proj, prov, e.resource, item, kind, e.qt, e.expires)
	}
	return b.String()
}
