package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudledger/cloudledger/internal/testcluster"
)

// clockAt moves the node's clock (the chaos build's offset).
func (e *env) clockAt(at string) { e.c.Nodes[0].ClockAt(e.t, at) }

// finding is one element of `finding list --format json`.
type findingRow struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Subject  string `json:"subject"`
	RaisedOn string `json:"raised_on"`
	State    string `json:"state"`
	Deadline string `json:"deadline"`
	ClosedOn string `json:"closed_on"`
	Advice   string `json:"advice"`
	Quantity string `json:"quantity"`
}

func (r *roleEnv) findings() []findingRow {
	r.e.t.Helper()
	var out []findingRow
	if err := json.Unmarshal([]byte(r.must("finding", "list", "--format", "json")), &out); err != nil {
		r.e.t.Fatal(err)
	}
	return out
}

func (r *roleEnv) finding(kind, subject string) findingRow {
	r.e.t.Helper()
	for _, f := range r.findings() {
		if f.Kind == kind && f.Subject == subject {
			return f
		}
	}
	r.e.t.Fatalf("no %s finding of %s in %+v", kind, subject, r.findings())
	return findingRow{}
}

// waitFor polls until cond holds (the leader's tick and evaluations run every second).
func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("waited 30 s for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Issue 25, must show 2, through ledgerctl against a node whose clock the test moves (SPEC:
// Utilisation, Findings and Lifecycle): a resource without monitoring rows detected →
// warned (deadline across National Day) → explained → rejected (the original deadline) →
// overdue → enforced: the department's expansion refused resources_suspended, a
// supervisor-approved emergency resource still opens, the reclaim request raised and
// fulfilled closes the finding; another department's low utilisation rectified by a reduce
// to the advised quantity, and not by a reduce of 1 of 64.
func TestFindingLifecycleThroughLedgerctl(t *testing.T) {
	c := testcluster.Start(t, 1, testcluster.Options{BuildTags: "chaos"})
	e := &env{t: t, c: c, url: c.Nodes[0].URL, dir: t.TempDir()}
	e.admin = testcluster.AuthorityToken(t, nil, e.url)

	e.clockAt("2031-08-01T09:00:00+08:00")
	e.must("calendar", "load", e.write("2031.json", testcluster.Calendar2031))
	for _, f := range []struct{ kind, body string }{
		{"departments", "department,name,parent,funding\nd1,市教育局,,budget\nd2,市交通局,,budget\n"},
		{"providers", "provider,name,contract_start,contract_end\np1,云商一,2030-01-01,2035-12-31\n"},
		{"projects", "project,department,name,quota_class,quota\nprj1,d1,智慧教育,vcpu,100\nprj2,d2,交通调度,vcpu,100\n"},
		{"catalog", "item,name,category,unit,billing,quota_class,price,provider,effective_from\necs.vcpu,云服务器vCPU,IaaS,核·月,allocation,vcpu,40,,2030-01-01\n"},
		{"events", "key,time,op,department,project,provider,resource,item,kind,quantity,expires\n" +
			"a1,2031-08-01T10:00:00+08:00,allocate,d1,prj1,p1,vm,ecs.vcpu,standard,8,\n" +
			"a2,2031-08-01T10:00:00+08:00,allocate,d2,prj2,p1,big,ecs.vcpu,standard,64,\n"},
	} {
		e.must("import", f.kind, e.write(f.kind+".csv", f.body))
	}
	dept := &roleEnv{e: e, token: testcluster.RoleToken(t, nil, e.url, "d1-it", "department", "d1")}
	dept2 := &roleEnv{e: e, token: testcluster.RoleToken(t, nil, e.url, "d2-it", "department", "d2")}
	sup := e.as("supervisor")
	prov := &roleEnv{e: e, token: testcluster.RoleToken(t, nil, e.url, "p1-am", "provider", "p1")}
	auth := &roleEnv{e: e, token: e.admin}

	// 29 September: the rows of big (d2) from 2 August, low (mean 5, peak 20); none of vm.
	// The rules are switched on from 2 August: the backlog is evaluated, to 26 September
	// (lateness 2 days).
	e.clockAt("2031-09-29T10:00:00+08:00")
	var rows strings.Builder
	rows.WriteString("resource,date,mean_pct,peak_pct,availability_pct\n")
	for d := time.Date(2031, 8, 2, 0, 0, 0, 0, time.UTC); d.Before(time.Date(2031, 9, 29, 0, 0, 0, 0, time.UTC)); d = d.AddDate(0, 0, 1) {
		rows.WriteString("big," + d.Format("2006-01-02") + ",5,20,100\n")
	}
	e.must("import", "utilisation", e.write("rows.csv", rows.String()))
	e.must("utilisation", "rules", "set", "--effective-from", "2031-08-02", e.write("rules.csv", "rule,value\nlow_days,30\n"))
	e.waitFor("the backlog evaluated through 26 September", func() bool {
		var rs struct {
			EvaluatedThrough string `json:"evaluated_through"`
		}
		_ = json.Unmarshal([]byte(auth.must("utilisation", "rules", "show", "--format", "json")), &rs)
		return rs.EvaluatedThrough == "2031-09-26"
	})
	// vm: the 7th counted day without a row is 8 August; big: the 30th low day is 31
	// August, advice ceil(64 × 20 ÷ 70) = ceil(18.29) = 19.
	vm := auth.finding("no_monitoring", "vm")
	if vm.RaisedOn != "2031-08-08" || vm.State != "detected" {
		t.Fatalf("vm's finding: %+v, want no_monitoring raised on 2031-08-08, detected", vm)
	}
	low := auth.finding("low_utilisation", "big")
	if low.RaisedOn != "2031-08-31" || low.Advice != "19" || low.Quantity != "64" {
		t.Fatalf("big's finding: %+v, want raised on 2031-08-31 with the advice 19 of 64", low)
	}
	if fs := prov.findings(); len(fs) != 2 {
		t.Errorf("p1 sees %+v, want the findings of the two resources it runs", fs)
	}
	if fs := dept.findings(); len(fs) != 1 || fs[0].ID != vm.ID {
		t.Errorf("d1 sees %+v, want its own finding only", fs)
	}

	// Warned on Monday 29 September: 20 working days are 09-30, (10-01…07 off) 10-08, 10-09,
	// 10-10, Sat 10-11 (worked), 10-13…17, 10-20…24, 10-27…31: the deadline is 31 October
	// (27 October without the holiday).
	if out, code := dept.run("finding", "warn", "--id", vm.ID); code == 0 || !strings.Contains(out, "permission_denied") {
		t.Errorf("a department warning: exit %d\n%s", code, out)
	}
	auth.must("finding", "warn", "--id", vm.ID, "--key", "warn-vm")
	if f := auth.finding("no_monitoring", "vm"); f.State != "warned" || f.Deadline != "2031-10-31" {
		t.Fatalf("warned: %+v, want the deadline 2031-10-31", f)
	}
	// The same key again: the original step, not a second one; a new key: said unchanged.
	auth.must("finding", "warn", "--id", vm.ID, "--key", "warn-vm")
	if out := auth.must("finding", "warn", "--id", vm.ID, "--key", "warn-vm-again"); !strings.Contains(out, "unchanged") {
		t.Errorf("warning a warned finding does not say unchanged:\n%s", out)
	}
	var shown struct {
		Steps []struct{ State string } `json:"steps"`
	}
	if err := json.Unmarshal([]byte(auth.must("finding", "show", "--id", vm.ID, "--format", "json")), &shown); err != nil {
		t.Fatal(err)
	}
	if warned := slices.IndexFunc(shown.Steps, func(s struct{ State string }) bool { return s.State == "warned" }); warned < 0 ||
		slices.ContainsFunc(shown.Steps[warned+1:], func(s struct{ State string }) bool { return s.State == "warned" }) {
		t.Errorf("after three warn calls the steps are %+v, want one warning", shown.Steps)
	}
	// Another department cannot explain it, however the id is written (the check reads the
	// id as the ledger does); nor can the authority write the department's explanation.
	for _, id := range []string{vm.ID, " " + vm.ID, vm.ID + " "} {
		if out, code := dept2.run("finding", "explain", "--id", id, "--reason", "不是我们的"); code == 0 || !strings.Contains(out, "permission_denied") {
			t.Errorf("d2 explaining d1's finding as %q: exit %d\n%s", id, code, out)
		}
	}
	if out, code := auth.run("finding", "explain", "--id", vm.ID, "--reason", "代为说明"); code == 0 || !strings.Contains(out, "permission_denied") {
		t.Errorf("the authority explaining: exit %d\n%s", code, out)
	}
	// Explained on Monday 13 October: the authority reviews within 5 working days, by 20 October.
	e.clockAt("2031-10-13T15:00:00+08:00")
	dept.must("finding", "explain", "--id", vm.ID, "--reason", "监测代理升级中")
	if f := auth.finding("no_monitoring", "vm"); f.State != "explained" || f.Deadline != "2031-10-20" {
		t.Fatalf("explained: %+v, want the review deadline 2031-10-20", f)
	}
	e.clockAt("2031-10-14T09:30:00+08:00")
	auth.must("finding", "reject", "--id", vm.ID, "--reason", "未提供升级计划")
	if f := auth.finding("no_monitoring", "vm"); f.State != "warned" || f.Deadline != "2031-10-31" {
		t.Fatalf("rejected: %+v, want warned with the original deadline 2031-10-31", f)
	}

	// On its deadline day still warned; the next day the tick writes overdue.
	e.clockAt("2031-10-31T23:00:00+08:00")
	time.Sleep(1500 * time.Millisecond) // a tick or more
	if f := auth.finding("no_monitoring", "vm"); f.State != "warned" {
		t.Fatalf("on the deadline day: %+v", f)
	}
	e.clockAt("2031-11-01T00:05:00+08:00")
	e.waitFor("overdue", func() bool { return auth.finding("no_monitoring", "vm").State == "overdue" })

	e.clockAt("2031-11-03T10:00:00+08:00")
	var enforced struct {
		State    string   `json:"state"`
		Requests []string `json:"requests"`
	}
	if err := json.Unmarshal([]byte(auth.must("finding", "enforce", "--id", vm.ID, "--format", "json")), &enforced); err != nil {
		t.Fatal(err)
	}
	if enforced.State != "enforced" || len(enforced.Requests) != 1 {
		t.Fatalf("enforced: %+v, want one reclaim request", enforced)
	}
	if out, code := dept.run("request", "cancel", "--id", enforced.Requests[0]); code == 0 || !strings.Contains(out, "permission_denied") {
		t.Errorf("the department withdrawing the enforcement's reclaim: exit %d\n%s", code, out)
	}
	// Every allocate and expand of d1, from any source, refused.
	if out, code := dept.run("request", "submit", "--kind", "expand", "--department", "d1", "--resource", "vm", "--quantity", "4", "--reason", "扩容"); code == 0 || !strings.Contains(out, "resources_suspended") {
		t.Errorf("an expansion request of a suspended department: exit %d\n%s", code, out)
	}
	if out, code := e.run("import", "events", e.write("more.csv", "key,time,op,department,project,provider,resource,item,kind,quantity,expires\n"+
		"x1,2031-11-03T10:00:00+08:00,expand,d1,prj1,p1,vm,ecs.vcpu,standard,4,\n")); code == 0 || !strings.Contains(out, "resources_suspended") {
		t.Errorf("an imported expansion of a suspended department: exit %d\n%s", code, out)
	}
	// A supervisor-approved emergency resource still opens.
	em := strings.TrimSpace(dept.must("request", "submit", "--kind", "open", "--resource-kind", "emergency", "--department", "d1", "--project", "prj1",
		"--provider", "p1", "--item", "ecs.vcpu", "--quantity", "4", "--expires", "2031-12-31", "--reason", "防汛应急"))
	sup.must("request", "approve", "--id", em)
	auth.must("request", "approve", "--id", em)
	prov.must("request", "fulfil", "--id", em, "--resource", "em1")
	if out := auth.must("request", "show", "--id", em, "--format", "json"); !strings.Contains(out, `"state": "fulfilled"`) {
		t.Errorf("the emergency request:\n%s", out)
	}
	// The provider fulfils the reclaim: the finding closes, and d1 may expand again.
	e.clockAt("2031-11-04T10:00:00+08:00")
	prov.must("request", "fulfil", "--id", enforced.Requests[0])
	if f := auth.finding("no_monitoring", "vm"); f.State != "rectified" || f.ClosedOn != "2031-11-04" {
		t.Fatalf("after the reclaim: %+v, want rectified on 2031-11-04", f)
	}
	if out, code := dept.run("request", "submit", "--kind", "expand", "--department", "d1", "--resource", "em1", "--quantity", "1"); code != 0 {
		t.Errorf("d1 after its finding closed: exit %d\n%s", code, out)
	}

	// d2: a reduce by 1 of 64 does not rectify; a reduce to the advice (63 → 19) does.
	reduce := func(by string) {
		id := strings.TrimSpace(dept2.must("request", "submit", "--kind", "reduce", "--department", "d2", "--resource", "big", "--quantity", by, "--reason", "按调整建议减容"))
		auth.must("request", "approve", "--id", id)
		prov.must("request", "fulfil", "--id", id)
	}
	reduce("1")
	if f := auth.finding("low_utilisation", "big"); f.State == "rectified" || f.ClosedOn != "" {
		t.Fatalf("after a reduce by 1 of 64: %+v, want it still open", f)
	}
	// September's statement of d2 lists the finding open in it, with the advice (SPEC:
	// Utilisation, Reports): big's row ends with the findings and the advice columns.
	stmt := dept2.must("statement", "--department", "d2", "--month", "2031-09", "--format", "csv")
	if want := "," + low.ID + ":low_utilisation:detected,19"; !strings.Contains(stmt, "resource,d2,prj2,p1,ecs.vcpu,big,") || !strings.Contains(stmt, want) {
		t.Errorf("d2's September statement lacks %q:\n%s", want, stmt)
	}
	// vm's finding, raised on 8 August and rectified since, is in d1's August statement with its state now.
	if stmt := dept.must("statement", "--department", "d1", "--month", "2031-08", "--format", "csv"); !strings.Contains(stmt, vm.ID+":no_monitoring:rectified,") {
		t.Errorf("d1's August statement lacks vm's finding:\n%s", stmt)
	}
	reduce("44")
	if f := auth.finding("low_utilisation", "big"); f.State != "rectified" || f.ClosedOn != "2031-11-04" {
		t.Fatalf("after a reduce to 19: %+v, want rectified on 2031-11-04", f)
	}
	// Every step is a line item of the chain, the ledger's own too (SPEC: Lifecycle), and
	// the chain verifies offline from its export.
	e.must("lineitems", "export", "--format", "jsonl", "-o", "export.jsonl")
	raw, err := os.ReadFile(filepath.Join(e.dir, "export.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	export := string(raw)
	for _, want := range []string{"finding/" + vm.ID + "/detected", "finding/" + vm.ID + "/overdue", "finding/" + vm.ID + "/rectified", "finding/" + low.ID + "/rectified"} {
		if !strings.Contains(export, `"`+want+`"`) {
			t.Errorf("the line items have no %s", want)
		}
	}
	e.must("verify", "--file", filepath.Join(e.dir, "export.jsonl"))
}

// Issue 25, must show 4 (SPEC: Utilisation, seasonal workloads; SH 18): a project's season
// raises its quota from 100 to 200 vCPU in June–August. d1 holds 4 + 110 = 114 (within
// 120 % of 100); an expansion of 50 on 10 May (164 > 120) is refused, the same on 1 June
// (164 ≤ 240) is allowed; the overrun report on 1 June shows nothing over (164 of 200), on
// 1 September 164 of 100, a violation.
func TestSeasonalQuotaThroughLedgerctl(t *testing.T) {
	e := setup(t)
	bad, code := e.run("project", "seasons", "set", "--project", "prj1", e.write("bad.csv", "from,to,quota_class,quota\n06-01,08-31,vcpu,200\n06-31,07-01,vcpu,50\n"))
	if code == 0 || !strings.Contains(bad, "bad.csv:3: from: invalid_value") {
		t.Fatalf("a season from 31 June: exit %d\n%s", code, bad)
	}
	// The ledger checks a rules file's values; ledgerctl names the line of the one refused.
	if out, code := e.run("utilisation", "rules", "set", "--effective-from", "2026-01-01", e.write("rules.csv", "rule,value\nlow_days,30\nlow_peak_pct,150\n")); code == 0 ||
		!strings.Contains(out, "rules.csv:3: low_peak_pct: invalid_value") {
		t.Fatalf("a low peak of 150 %%: exit %d\n%s", code, out)
	}
	if out, code := e.run("project", "seasons", "set", "--project", "prj1", e.write("class.csv", "from,to,quota_class,quota\n06-01,08-31,vcpu,200\n01-01,01-31,gpu_cards,2\n")); code == 0 ||
		!strings.Contains(out, "class.csv:3: quota_class: unknown_quota_class") {
		t.Errorf("a season of a quota class nothing uses: exit %d\n%s", code, out)
	}
	e.write("seasons.csv", "from,to,quota_class,quota\n06-01,08-31,vcpu,200\n")
	if out, code := e.run("project", "seasons", "set", "--project", "nosuch", filepath.Join(e.dir, "seasons.csv")); code == 0 ||
		!strings.Contains(out, "unknown_project: project:") || strings.Contains(out, "seasons.csv:") {
		t.Errorf("an unknown --project is the flag's error, not the file's: exit %d\n%s", code, out)
	}
	e.must("project", "seasons", "set", "--project", "prj1", filepath.Join(e.dir, "seasons.csv"))
	if out := e.must("project", "seasons", "show", "--format", "json"); !strings.Contains(out, `"06-01"`) || !strings.Contains(out, `"200"`) {
		t.Errorf("seasons show:\n%s", out)
	}
	e.must("import", "events", e.write("alloc.csv", "key,time,op,department,project,provider,resource,item,kind,quantity,expires\n"+
		"s1,2026-04-01T10:00:00+08:00,allocate,d1,prj1,p1,exam,ecs.vcpu,standard,110,\n"))
	out, code := e.run("import", "events", e.write("may.csv", "key,time,op,department,project,provider,resource,item,kind,quantity,expires\n"+
		"s2,2026-05-10T10:00:00+08:00,expand,d1,prj1,p1,exam,ecs.vcpu,standard,50,\n"))
	if code == 0 || !strings.Contains(out, "quota_overrun_needs_approval") {
		t.Fatalf("an expansion to 164 outside the season: exit %d\n%s", code, out)
	}
	e.must("import", "events", e.write("june.csv", "key,time,op,department,project,provider,resource,item,kind,quantity,expires\n"+
		"s3,2026-06-01T10:00:00+08:00,expand,d1,prj1,p1,exam,ecs.vcpu,standard,50,\n"))
	type overrun struct{ Department, Quota, Allocated, Status string }
	report := func(on string) []overrun {
		var rows []overrun
		if err := json.Unmarshal([]byte(e.must("quota", "overruns", "--on", on, "--format", "json")), &rows); err != nil {
			t.Fatal(err)
		}
		var d1 []overrun
		for _, r := range rows {
			if r.Department == "d1" {
				d1 = append(d1, r)
			}
		}
		return d1
	}
	if rows := report("2026-06-01"); len(rows) != 0 {
		t.Errorf("the report on 1 June (164 of the season's 200): %+v, want nothing over", rows)
	}
	if rows := report("2026-09-01"); len(rows) != 1 || rows[0].Quota != "100" || rows[0].Allocated != "164" || rows[0].Status != "violation" {
		t.Errorf("the report on 1 September: %+v, want 164 of 100, a violation", rows)
	}
	if out, code := e.run("quota", "overruns", "--on", "2026-02-30"); code == 0 || !strings.Contains(out, "invalid_date") {
		t.Errorf("--on 2026-02-30: exit %d\n%s", code, out)
	}
}
