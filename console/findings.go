package console

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/interchange"
)

// The findings of SPEC: Utilisation (资源利用率问题; SH 25, HLJ 17, SH 18): the department
// sees its own with deadline, evidence and advice, turns an advice into a reduce request in
// one action or explains; the authority works the queue (warn, dismiss, accept, reject,
// enforce) and sets the rules and the projects' seasons; the supervisor and the auditor
// read. The API decides who may; the page offers each role the buttons of its steps.

func (c *Console) findingsPage(rq *pageRequest) (*Page, error) {
	if rq.r.Method == "POST" {
		return c.findingAction(rq)
	}
	q := rq.r.URL.Query()
	req := &v1.ListFindingsRequest{State: q.Get("state"), Kind: q.Get("kind"), Open: q.Get("open") != "0"}
	if rq.me.Role == "department" {
		req.Department = rq.me.Department
	}
	res, err := c.findings.ListFindings(rq.ctx(), connect.NewRequest(req))
	if err != nil {
		return nil, err
	}
	t := &Table{ID: "findings", Columns: []Column{{rq.t("编号", "Id"), Mono}, {rq.t("问题类型", "Kind"), Text}, {rq.t("资源 / 项目", "Resource / project"), Mono},
		{rq.t("使用单位", "Department"), Text}, {rq.t("发现日", "Raised on"), Date}, {rq.t("状态", "State"), Text}, {rq.t("办理期限", "Deadline"), Date},
		{rq.t("依据", "Evidence"), Text}, {rq.t("现有数量", "Quantity"), Number}, {rq.t("调整建议", "Advice"), Number}, {rq.t("关闭日", "Closed on"), Date},
		{rq.t("操作", "Action"), Text}}}
	for _, f := range res.Msg.GetFindings() {
		class := ""
		switch f.GetState() {
		case "overdue", "enforced":
			class = "violation"
		case "detected", "warned", "explained":
			class = "over"
		}
		dept := named(f.GetDepartmentName(), f.GetDepartment())
		t.add(class, Link(f.GetId(), "/findings?id="+url.QueryEscape(f.GetId())+"&open=0"), C(rq.word("finding_kind", f.GetKind())), C(f.GetSubject()),
			dept, C(f.GetRaisedOn()), C(rq.word("finding_state", f.GetState())), C(findingDeadline(rq, f)), C(evidenceText(rq, f)),
			C(f.GetQuantity()), C(f.GetAdvice()), C(f.GetClosedOn()), Cell{Forms: findingButtons(rq, f)})
	}
	states := []Option{{"", rq.t("全部", "all")}}
	for _, s := range []string{"detected", "warned", "explained", "overdue", "enforced", "dismissed", "closed", "rectified"} {
		states = append(states, Option{s, rq.word("finding_state", s)})
	}
	kinds := []Option{{"", rq.t("全部", "all")}}
	for _, k := range []string{"no_monitoring", "low_utilisation", "zombie"} {
		kinds = append(kinds, Option{k, rq.word("finding_kind", k)})
	}
	open := "1"
	if q.Get("open") == "0" {
		open = "0"
	}
	filter := &Form{Method: "get", Action: "/findings", Submit: rq.t("筛选", "Filter"), Fields: []Field{
		{Name: "open", Label: rq.t("范围", "Which"), Type: "select", Value: open, Options: []Option{{"1", rq.t("未关闭", "open")}, {"0", rq.t("全部（含已关闭）", "all, closed too")}}},
		{Name: "state", Label: rq.t("状态", "State"), Type: "select", Value: q.Get("state"), Options: states},
		{Name: "kind", Label: rq.t("问题类型", "Kind"), Type: "select", Value: q.Get("kind"), Options: kinds}}}
	note := rq.t("依据监测数据逐日评估（SH 25、HLJ 17）：监测数据缺失、使用率长期较低、僵尸系统。期限按工作日计算；逾期未整改的标红。",
		"Evaluated day by day from the monitoring rows (SH 25, HLJ 17): no monitoring data, long-term low utilisation, zombie systems. Deadlines count working days; overdue ones are red.")
	p := flash(rq, &Page{Title: rq.t("资源利用率问题", "Utilisation findings"), Sections: []*Section{{Form: filter, Note: note}}})
	if s := res.Msg.GetSuspended(); len(s) > 0 {
		p.Sections = append(p.Sections, &Section{Class: "violation", Title: rq.t("停止发放资源的单位", "Departments whose resources are suspended"),
			Note: rq.t("以下单位经警告拒不整改，整改完成前不予新增或扩容资源（经信主管部门同意的应急资源除外）：", "Warned and not rectified: no new or expanded resources until the finding closes (emergency resources the supervisor agreed excepted): ") + deptNames(rq, s)})
	}
	p.Sections = append(p.Sections, &Section{ID: "findings", Table: t})
	if id := q.Get("id"); id != "" {
		sec, err := c.findingDetail(rq, id)
		if err != nil {
			return nil, err
		}
		p.Sections = append(p.Sections, sec...)
	}
	return p, nil
}

// statementFindings are a statement row's findings in words, with the advice
// (使用率长期较低（警告提示），建议 19).
func statementFindings(rq *pageRequest, r *v1.StatementResource) string {
	var parts []string
	for _, f := range r.GetFindings() {
		parts = append(parts, rq.word("finding_kind", f.GetKind())+rq.t("（", " (")+rq.word("finding_state", f.GetState())+rq.t("）", ")"))
	}
	s := strings.Join(parts, rq.t("；", "; "))
	if r.GetAdvice() != "" {
		s += rq.t("，建议 ", ", advice ") + r.GetAdvice()
	}
	return s
}

// findingsSummary is a department's open findings in one block for its home page (none: nil);
// red when its resources are suspended.
func (c *Console) findingsSummary(rq *pageRequest, dept string) (*Section, error) {
	res, err := c.findings.ListFindings(rq.ctx(), connect.NewRequest(&v1.ListFindingsRequest{Department: dept, Open: true}))
	if err != nil {
		return nil, err
	}
	fs := res.Msg.GetFindings()
	if len(fs) == 0 {
		return nil, nil
	}
	late := 0
	for _, f := range fs {
		if f.GetState() == "overdue" || f.GetState() == "enforced" {
			late++
		}
	}
	sec := &Section{Title: rq.t("资源利用率问题", "Utilisation findings"), Facts: []Fact{
		{Label: rq.t("未关闭", "Open"), Value: fmt.Sprint(len(fs)), Href: "/findings"},
		{Label: rq.t("逾期或停止发放", "Overdue or enforced"), Value: fmt.Sprint(late)}}}
	if len(res.Msg.GetSuspended()) > 0 {
		sec.Class = "violation"
		sec.Note = rq.t("经警告拒不整改，停止新增和扩容资源，直至问题整改完毕（SH 25）；经信主管部门同意的应急资源除外。",
			"Warned and not rectified: no new or expanded resources until the finding is rectified (SH 25), emergency resources the supervisor agrees to excepted.")
	}
	return sec, nil
}

// deptNames are departments by name, joined as a list is in Chinese.
func deptNames(rq *pageRequest, codes []string) string {
	out := make([]string, len(codes))
	for i, c := range codes {
		out[i] = rq.deptName(c)
	}
	return strings.Join(out, rq.t("、", ", "))
}

// findingDeadline is the current step's due day, or "unknown until loaded" (SPEC: Lifecycle).
func findingDeadline(rq *pageRequest, f *v1.Finding) string {
	if f.GetDeadlineUnknown() {
		return rq.t("待该年度日历加载", "unknown until loaded")
	}
	return f.GetDeadline()
}

// evidenceText is a finding's window and its figures, in one line.
func evidenceText(rq *pageRequest, f *v1.Finding) string {
	e := f.GetEvidence()
	if e == nil || e.GetFrom() == "" {
		return ""
	}
	s := fmt.Sprintf(rq.t("%s 至 %s，%d 天", "%s to %s, %d days"), formatDate(rq.lang, e.GetFrom()), formatDate(rq.lang, e.GetTo()), e.GetDays())
	if e.GetRows() == 0 {
		return s + rq.t("，无监测数据", ", no monitoring rows")
	}
	return s + fmt.Sprintf(rq.t("，平均 %s%%，峰值 %s%%", ", mean %s %%, peak %s %%"), e.GetMeanPct(), e.GetPeakPct())
}

// findingButtons are the steps the signed-in role takes on the finding in its state.
func findingButtons(rq *pageRequest, f *v1.Finding) []*Form {
	hidden := func(op string) []Field {
		// The form's key makes a second press (or a resent form) the same step, not another.
		return []Field{{Name: "id", Type: "hidden", Value: f.GetId()}, {Name: "op", Type: "hidden", Value: op}, {Name: "key", Type: "hidden", Value: newKey()}}
	}
	step := func(op, zh, en, confirmZh, confirmEn string, reason bool) *Form {
		fm := &Form{Action: "/findings", Inline: true, Submit: rq.t(zh, en), Fields: hidden(op)}
		if reason {
			fm.Fields = append(fm.Fields, Field{Name: "reason", Placeholder: rq.t("理由（必填）", "reason (required)"), Required: true})
		}
		if confirmZh != "" {
			fm.Confirm = rq.t(confirmZh, confirmEn)
		}
		return fm
	}
	var out []*Form
	switch st := f.GetState(); {
	case rq.me.Role == "authority" && st == "detected":
		out = append(out, step("warn", "警告提示", "Warn", "向该单位发出警告提示并开始计算整改期限？", "Warn the department and start the rectification period?", false))
		d := step("dismiss", "不予警告", "Dismiss", "", "", true)
		d.Class = "secondary"
		out = append(out, d)
	case rq.me.Role == "authority" && st == "explained":
		out = append(out, step("accept", "采纳说明", "Accept", "采纳情况说明并关闭该问题？", "Accept the explanation and close the finding?", false))
		r := step("reject", "不予采纳", "Reject", "", "", true)
		r.Class = "danger"
		out = append(out, r)
	case rq.me.Role == "authority" && st == "overdue":
		e := step("enforce", "停止发放并回收", "Enforce", "停止向该单位发放资源并发起回收申请？此操作记入台账，不可撤销。",
			"Suspend the department's resources and raise reclaim requests? This is written to the ledger and cannot be undone.", false)
		e.Class = "danger"
		out = append(out, e)
	case rq.me.Role == "department" && (st == "detected" || st == "warned" || st == "overdue"):
		if f.GetKind() == "low_utilisation" && f.GetAdvice() != "" {
			a := step("reduce", "按建议减容至 "+f.GetAdvice(), "Reduce to "+f.GetAdvice()+" as advised",
				"提交减容申请，将 "+f.GetSubject()+" 减至 "+f.GetAdvice()+"？", "Submit a request to reduce "+f.GetSubject()+" to "+f.GetAdvice()+"?", false)
			out = append(out, a)
		}
		if st == "warned" {
			out = append(out, step("explain", "提交情况说明", "Explain", "", "", true))
		}
	}
	return out
}

// findingDetail is one finding's evidence and its steps.
func (c *Console) findingDetail(rq *pageRequest, id string) ([]*Section, error) {
	res, err := c.findings.GetFinding(rq.ctx(), connect.NewRequest(&v1.GetFindingRequest{Id: id}))
	if err != nil {
		return nil, err
	}
	f := res.Msg.GetFinding()
	facts := []Fact{{Label: rq.t("问题类型", "Kind"), Value: rq.word("finding_kind", f.GetKind())}, {Label: rq.t("对象", "Subject"), Value: f.GetSubject(), Mono: true},
		{Label: rq.t("使用单位", "Department"), Value: orDefault(f.GetDepartmentName(), f.GetDepartment()), Code: f.GetDepartment()}, {Label: rq.t("状态", "State"), Value: rq.word("finding_state", f.GetState())},
		{Label: rq.t("办理期限", "Deadline"), Value: findingDeadline(rq, f)}, {Label: rq.t("依据", "Evidence"), Value: evidenceText(rq, f)}}
	if f.GetAdvice() != "" {
		facts = append(facts, Fact{Label: rq.t("调整建议（HLJ 17）", "Adjustment advice (HLJ 17)"), Value: f.GetQuantity() + " → " + f.GetAdvice()})
	}
	steps := &Table{ID: "finding-" + f.GetId(), Columns: []Column{{rq.t("时间", "Time"), Date}, {rq.t("办理人", "By"), Mono}, {rq.t("结果", "Result"), Text}, {rq.t("理由", "Reason"), Text}}}
	for _, s := range f.GetSteps() {
		steps.add("", C(s.GetAt()), C(s.GetActor()), C(rq.word("finding_state", s.GetState())), C(s.GetReason()))
	}
	return []*Section{{Title: rq.t("问题 ", "Finding ") + f.GetId(), Facts: facts}, {Title: rq.t("办理记录", "Steps"), Table: steps}}, nil
}

// findingAction takes a step, or turns an advice into a reduce request.
func (c *Console) findingAction(rq *pageRequest) (*Page, error) {
	f := func(k string) string { return strings.TrimSpace(rq.r.PostFormValue(k)) }
	key, err := formKey(rq, "console/")
	if err != nil {
		return nil, err
	}
	switch op := f("op"); op {
	case "reduce":
		if err := c.reduceToAdvice(rq, f("id"), key); err != nil {
			return nil, err
		}
		return &Page{Redirect: "/requests?flash=request"}, nil
	case "warn", "dismiss", "explain", "accept", "reject", "enforce":
		if _, err := c.findings.StepFinding(rq.ctx(), connect.NewRequest(&v1.StepFindingRequest{Key: key + "/finding-" + op, Id: f("id"), Action: op, Reason: f("reason")})); err != nil {
			return nil, err
		}
	default:
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("unknown action %q", op))
	}
	return &Page{Redirect: "/findings?flash=finding"}, nil
}

// reduceToAdvice submits the reduce request that brings the finding's resource to the
// advised quantity (HLJ 17), from the quantity it holds now.
func (c *Console) reduceToAdvice(rq *pageRequest, id, key string) error {
	fr, err := c.findings.GetFinding(rq.ctx(), connect.NewRequest(&v1.GetFindingRequest{Id: id}))
	if err != nil {
		return err
	}
	f := fr.Msg.GetFinding()
	if f.GetAdvice() == "" || !f.GetOpen() {
		return connect.NewError(connect.CodeFailedPrecondition, errors.New(rq.t("该问题已关闭或没有调整建议", "The finding is closed or has no advice")))
	}
	// One reduce at a time: a second (another tab, a resent form) would go below the advice.
	reqs, err := c.requests.ListRequests(rq.ctx(), connect.NewRequest(&v1.ListRequestsRequest{}))
	if err != nil {
		return err
	}
	for _, r := range reqs.Msg.GetRequests() {
		if r.GetKind() == "reduce" && r.GetResource() == f.GetSubject() && r.GetStep() != "" {
			return connect.NewError(connect.CodeFailedPrecondition, fmt.Errorf(rq.t("资源 %s 已有办理中的减容申请 %s", "Resource %s already has a reduce request in progress, %s"), f.GetSubject(), r.GetId()))
		}
	}
	res, err := c.ledger.GetResource(rq.ctx(), connect.NewRequest(&v1.GetResourceRequest{Resource: f.GetSubject()}))
	if err != nil {
		return err
	}
	by := rq.figure("quantity", res.Msg.GetQuantity()).Sub(rq.figure("advice", f.GetAdvice()))
	if len(rq.unreadable) > 0 {
		return connect.NewError(connect.CodeInternal, errors.New("the resource's quantity or the advice cannot be read"))
	}
	if !by.IsPositive() {
		return connect.NewError(connect.CodeFailedPrecondition, errors.New(rq.t("资源已不超过建议数量", "The resource is already at or below the advice")))
	}
	_, err = c.requests.SubmitRequest(rq.ctx(), connect.NewRequest(&v1.SubmitRequestRequest{Key: key + "/reduce", Kind: "reduce", Department: f.GetDepartment(),
		Resource: f.GetSubject(), Quantity: by.String(), Reason: fmt.Sprintf(rq.t("按调整建议减容（问题 %s：%s → %s）", "Reduce as advised (finding %s: %s → %s)"), f.GetId(), res.Msg.GetQuantity(), f.GetAdvice())}))
	return err
}

// findingRulesPage shows the rules in force and, for the authority, the form that sets them
// from a date (SPEC: Utilisation, Rules).
func (c *Console) findingRulesPage(rq *pageRequest) (*Page, error) {
	if rq.r.Method == "POST" {
		return c.rulesAction(rq)
	}
	res, err := c.findings.ListUtilisationRules(rq.ctx(), connect.NewRequest(&v1.ListUtilisationRulesRequest{}))
	if err != nil {
		return nil, err
	}
	rules := res.Msg.GetRules()
	cols := []Column{{rq.t("规则", "Rule"), Text}}
	for _, r := range rules {
		cols = append(cols, Column{rq.t("自 ", "From ") + r.GetEffectiveFrom(), Number})
	}
	t := &Table{ID: "utilisation-rules", Columns: cols, Empty: rq.t("尚未设置规则：监测评估未启用", "No rules yet: monitoring is not switched on")}
	if len(rules) > 0 {
		for i, name := range interchange.RuleNames {
			cells := []Cell{C(ruleLabel(rq, name))}
			for _, r := range rules {
				cells = append(cells, C(*interchange.RuleValues(r)[i]))
			}
			t.add("", cells...)
		}
	}
	facts := []Fact{{Label: rq.t("监测启用日", "Monitoring from"), Value: orDash(res.Msg.GetMonitoringFrom())}, {Label: rq.t("已评估至", "Evaluated through"), Value: orDash(res.Msg.GetEvaluatedThrough())}}
	p := flash(rq, &Page{Title: rq.t("利用率规则与周期", "Utilisation rules and seasons"), Sections: []*Section{
		{Title: rq.t("利用率规则", "Utilisation rules"), Facts: facts, Table: t,
			Note: rq.t("规则自生效日起适用；首次设置即启用监测评估，生效日在过去时按日补评。", "Rules apply from their date; the first rules switch monitoring on, and a past date makes the ledger evaluate the days since then.")}}})
	if rq.me.Role == "authority" {
		var current *v1.UtilisationRules
		if len(rules) > 0 {
			current = rules[len(rules)-1]
		}
		fields := []Field{{Name: "key", Type: "hidden", Value: newKey()}, {Name: "op", Type: "hidden", Value: "rules"},
			{Name: "effective_from", Label: rq.t("生效日", "Effective from"), Type: "date", Required: true}}
		for i, name := range interchange.RuleNames {
			v := ""
			if current != nil {
				v = *interchange.RuleValues(current)[i]
			}
			fields = append(fields, Field{Name: name, Label: ruleLabel(rq, name), Value: v, Placeholder: rq.t("默认", "default")})
		}
		p.Sections = append(p.Sections, &Section{Title: rq.t("设置规则", "Set the rules"), Form: &Form{Action: "/findings/rules", Submit: rq.t("记入台账", "Write to the ledger"),
			Confirm: rq.t("按此规则自生效日起评估？", "Evaluate with these rules from their date?"), Fields: fields}})
	}
	seasons, err := c.seasonsSection(rq)
	if err != nil {
		return nil, err
	}
	p.Sections = append(p.Sections, seasons...)
	return p, nil
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// ruleLabel is a rule's name for officials.
func ruleLabel(rq *pageRequest, name string) string {
	if w, ok := vocab["rule"][name]; ok {
		return rq.t(w[0], w[1])
	}
	return name
}

// seasonsSection lists the projects' seasons; the authority adds and removes them.
func (c *Console) seasonsSection(rq *pageRequest) ([]*Section, error) {
	res, err := c.findings.ListProjectSeasons(rq.ctx(), connect.NewRequest(&v1.ListProjectSeasonsRequest{}))
	if err != nil {
		return nil, err
	}
	version := seasonsVersion(res.Msg.GetProjects())
	t := &Table{ID: "project-seasons", Columns: []Column{{rq.t("项目", "Project"), Text}, {rq.t("自（月-日）", "From (MM-DD)"), Mono}, {rq.t("至（月-日）", "To (MM-DD)"), Mono},
		{rq.t("配额类别", "Quota class"), Text}, {rq.t("周期内配额", "Quota in season"), Number}, {rq.t("操作", "Action"), Text}},
		Empty: rq.t("没有项目声明周期", "No project declares seasons")}
	for _, ps := range res.Msg.GetProjects() {
		for _, s := range ps.GetSeasons() {
			var remove *Form
			if rq.me.Role == "authority" {
				remove = &Form{Action: "/findings/rules", Inline: true, Submit: rq.t("删除", "Remove"), Class: "danger",
					Confirm: rq.t("删除该周期？", "Remove this season?"), Fields: []Field{{Name: "key", Type: "hidden", Value: newKey()},
						{Name: "op", Type: "hidden", Value: "season_remove"}, {Name: "version", Type: "hidden", Value: version}, {Name: "project", Type: "hidden", Value: ps.GetProject()},
						{Name: "from", Type: "hidden", Value: s.GetFrom()}, {Name: "to", Type: "hidden", Value: s.GetTo()},
						{Name: "quota_class", Type: "hidden", Value: s.GetQuotaClass()}}}
			}
			t.add("", rq.projectCell(ps.GetProject()), C(s.GetFrom()), C(s.GetTo()), rq.classCell(s.GetQuotaClass()), C(s.GetQuota()), Cell{Form: remove})
		}
	}
	out := []*Section{{Title: rq.t("周期性业务（SH 18）", "Seasonal workloads (SH 18)"), Table: t,
		Note: rq.t("周期内项目配额按周期配额计算，周期外按基础配额；利用率评估跳过周期外的日子。", "Inside a season the project's quota is the season's, outside its base quota; findings skip the days outside the seasons.")}}
	if rq.me.Role == "authority" {
		out = append(out, &Section{Title: rq.t("增加周期", "Add a season"), Form: &Form{Action: "/findings/rules", Submit: rq.t("记入台账", "Write to the ledger"), Fields: []Field{
			{Name: "key", Type: "hidden", Value: newKey()}, {Name: "op", Type: "hidden", Value: "season_add"}, {Name: "version", Type: "hidden", Value: version},
			{Name: "project", Label: rq.t("项目", "Project"), Required: true},
			{Name: "from", Label: rq.t("自（月-日）", "From (MM-DD)"), Placeholder: "05-15", Required: true},
			{Name: "to", Label: rq.t("至（月-日）", "To (MM-DD)"), Placeholder: "07-15", Required: true},
			{Name: "quota_class", Label: rq.t("配额类别", "Quota class"), Type: "select", Options: rq.classOptions()},
			{Name: "quota", Label: rq.t("周期内配额", "Quota in season"), Required: true}}}})
	}
	return out, nil
}

// seasonsVersion identifies the seasons as a page drew them (a hash of their text).
func seasonsVersion(ps []*v1.ProjectSeasons) string {
	h := sha256.New()
	for _, p := range ps {
		fmt.Fprintf(h, "%s\n", p.GetProject())
		for _, s := range p.GetSeasons() {
			fmt.Fprintf(h, "%s,%s,%s,%s\n", s.GetFrom(), s.GetTo(), s.GetQuotaClass(), s.GetQuota())
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// rulesAction writes the rules, or a project's seasons with one added or removed.
func (c *Console) rulesAction(rq *pageRequest) (*Page, error) {
	f := func(k string) string { return strings.TrimSpace(rq.r.PostFormValue(k)) }
	key, err := formKey(rq, "console/")
	if err != nil {
		return nil, err
	}
	var cmd *v1.Command
	switch f("op") {
	case "rules":
		r := &v1.UtilisationRules{EffectiveFrom: f("effective_from")}
		for i, name := range interchange.RuleNames {
			*interchange.RuleValues(r)[i] = f(name)
		}
		cmd = &v1.Command{Key: key + "/rules", Body: &v1.Command_UtilisationRules{UtilisationRules: r}}
	case "season_add", "season_remove":
		// The form rewrites a project's whole list: it is refused when the seasons changed
		// since the page was drawn (another user's change would be lost).
		all, err := c.findings.ListProjectSeasons(rq.ctx(), connect.NewRequest(&v1.ListProjectSeasonsRequest{}))
		if err != nil {
			return nil, err
		}
		if seasonsVersion(all.Msg.GetProjects()) != f("version") {
			return nil, connect.NewError(connect.CodeAborted, errors.New(rq.t("周期已被修改，请刷新页面后重试", "The seasons changed since the page was drawn; reload it and try again")))
		}
		project := f("project")
		var seasons []*v1.Season
		for _, ps := range all.Msg.GetProjects() {
			if ps.GetProject() == project {
				seasons = append(seasons, ps.GetSeasons()...)
			}
		}
		if f("op") == "season_add" {
			seasons = append(seasons, &v1.Season{From: f("from"), To: f("to"), QuotaClass: f("quota_class"), Quota: f("quota")})
		} else {
			i := slices.IndexFunc(seasons, func(s *v1.Season) bool {
				return s.GetFrom() == f("from") && s.GetTo() == f("to") && s.GetQuotaClass() == f("quota_class")
			})
			if i < 0 {
				return nil, connect.NewError(connect.CodeInvalidArgument, errors.New(rq.t("没有该周期，请刷新页面", "No such season; reload the page")))
			}
			seasons = slices.Delete(seasons, i, i+1)
		}
		cmd = &v1.Command{Key: key + "/seasons", Body: &v1.Command_ProjectSeasons{ProjectSeasons: &v1.ProjectSeasons{Project: project, Seasons: seasons}}}
	default:
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("unknown action %q", f("op")))
	}
	if _, err := c.ledger.Submit(rq.ctx(), connect.NewRequest(&v1.SubmitRequest{Commands: []*v1.Command{cmd}})); err != nil {
		return nil, err
	}
	return &Page{Redirect: "/findings/rules?flash=finding"}, nil
}
