package console

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
)

// The resource requests of SH 19–24 (资源申请): every party's list with the step it is at
// and its due day; the department submits, cancels and confirms a test resource, the
// supervisor and the authority decide, the provider fulfils. The API decides who may; the
// page offers each role the buttons of its steps.

func (c *Console) requestsPage(rq *pageRequest) (*Page, error) {
	var failed error // a submission refused: the page again, with what was typed
	if rq.r.Method == "POST" {
		p, err := c.requestAction(rq)
		if err == nil || rq.r.PostFormValue("op") != "submit" || rq.me.Role != "department" {
			return p, err
		}
		failed = err
	}
	q := rq.r.URL.Query()
	mine := q.Get("mine") == "1"
	res, err := c.requests.ListRequests(rq.ctx(), connect.NewRequest(&v1.ListRequestsRequest{State: q.Get("state"), Overdue: q.Get("overdue") == "1"}))
	if err != nil {
		return nil, err
	}
	t := &Table{ID: "requests", Columns: []Column{{rq.t("编号", "Id"), Mono}, {rq.t("申请类型", "Kind"), Text}, {rq.t("使用单位", "Department"), Text},
		{rq.t("项目", "Project"), Text}, {rq.t("服务商", "Provider"), Text}, {rq.t("目录项 / 资源", "Item / resource"), Text}, {rq.t("数量", "Quantity"), Number},
		{rq.t("到期", "Expires"), Date}, {rq.t("状态", "State"), Text}, {rq.t("当前环节", "Step"), Text}, {rq.t("办理时限", "Due"), Date},
		{rq.t("依据", "Article"), Text}, {rq.t("申请理由", "Reason"), Text}, {rq.t("操作", "Action"), Text}}}
	for _, r := range res.Msg.GetRequests() {
		if mine && !myStep(rq.me.Role, r.GetStep()) {
			continue
		}
		class := ""
		if r.GetOverdue() {
			class = "violation"
		}
		what := rq.itemCell(r.GetItem())
		if r.GetResource() != "" {
			what = Cell{Text: r.GetResource(), Code: r.GetResource()}
		}
		t.add(class, Link(r.GetId(), "/requests/"+url.PathEscape(r.GetId())), C(rq.word("request", r.GetKind())), optional(rq.deptCell, r.GetDepartment()), optional(rq.projectCell, r.GetProject()),
			optional(rq.provCell, r.GetProvider()), what, C(r.GetQuantity()), C(r.GetExpires()), C(rq.word("request_state", r.GetState())),
			C(rq.word("step", r.GetStep())), C(r.GetDue()), C(r.GetArticle()), C(r.GetReason()), Cell{Form: requestButtons(rq, r)})
	}
	states := []Option{{"", rq.t("全部", "all")}}
	for _, s := range []string{"submitted", "supervisor_approved", "approved", "verifying", "verified", "fulfilled", "rejected", "cancelled"} {
		states = append(states, Option{s, rq.word("request_state", s)})
	}
	filter := &Form{Method: "get", Action: "/requests", Submit: rq.t("筛选", "Filter"), Fields: []Field{
		{Name: "state", Label: rq.t("状态", "State"), Type: "select", Value: q.Get("state"), Options: states},
		{Name: "overdue", Label: rq.t("超时", "Overdue"), Type: "select", Value: q.Get("overdue"), Options: []Option{{"", rq.t("全部", "all")}, {"1", rq.t("仅超时", "overdue only")}}}}}
	if myStepRoles[rq.me.Role] {
		filter.Fields = append(filter.Fields, Field{Name: "mine", Label: rq.t("环节", "Step"), Type: "select", Value: q.Get("mine"),
			Options: []Option{{"", rq.t("全部", "all")}, {"1", rq.t("待我办理", "waiting for me")}}})
	}
	p := flash(rq, &Page{Title: rq.t("资源申请", "Resource requests"), Sections: []*Section{
		{Form: filter, Note: rq.t("办理时限按工作日计算（SH 19–24）；超时的申请标红。", "Deadlines count working days (SH 19–24); overdue requests are red.")},
		{ID: "requests", Table: t},
	}})
	if rq.me.Role == "department" {
		form, err := c.requestForm(rq)
		if err != nil {
			return nil, err
		}
		p.Sections = append(p.Sections, &Section{ID: "submit-request", Title: rq.t("提交申请", "Submit a request"), Form: form})
	}
	if failed != nil {
		p.ErrorCode, p.Error = apiError(failed)
		p.ErrorDetail = apiDetail(failed)
		p.Status = http.StatusUnprocessableEntity
	}
	return p, nil
}

// requestDetail is one request (/requests/{id}): what was asked and why, where it stands —
// the step, its due day and the article setting it — and every step taken, with who and
// when; the buttons of the signed-in role's step, none when the step is not its own.
func (c *Console) requestDetail(rq *pageRequest) (*Page, error) {
	res, err := c.requests.GetRequest(rq.ctx(), connect.NewRequest(&v1.GetRequestRequest{Id: rq.r.PathValue("id")}))
	if err != nil {
		return nil, err
	}
	r := res.Msg.GetRequest()
	what := Fact{Label: rq.t("目录项", "Item"), Value: rq.names().item[r.GetItem()], Code: r.GetItem()}
	if r.GetResource() != "" {
		what = Fact{Label: rq.t("资源", "Resource"), Value: r.GetResource(), Mono: true}
	}
	facts := []Fact{{Label: rq.t("编号", "Id"), Value: r.GetId(), Mono: true},
		{Label: rq.t("申请类型", "Kind"), Value: rq.word("request", r.GetKind())},
		{Label: rq.t("使用单位", "Department"), Value: rq.deptName(r.GetDepartment()), Code: r.GetDepartment()}}
	if r.GetProject() != "" {
		facts = append(facts, Fact{Label: rq.t("项目", "Project"), Value: orDefault(rq.names().project[r.GetProject()], r.GetProject()), Code: r.GetProject()})
	}
	if r.GetProvider() != "" {
		facts = append(facts, Fact{Label: rq.t("服务商", "Provider"), Value: rq.provName(r.GetProvider()), Code: r.GetProvider()})
	}
	if r.GetItem() != "" || r.GetResource() != "" {
		facts = append(facts, what)
	}
	if r.GetQuantity() != "" {
		facts = append(facts, Fact{Label: rq.t("数量", "Quantity"), Value: formatNumber(rq.lang, r.GetQuantity())})
	}
	if r.GetExpires() != "" {
		facts = append(facts, Fact{Label: rq.t("到期", "Expires"), Value: formatDate(rq.lang, r.GetExpires())})
	}
	facts = append(facts, Fact{Label: rq.t("状态", "State"), Value: rq.word("request_state", r.GetState())})
	if r.GetStep() != "" {
		due := Fact{Label: rq.t("当前环节办理时限", "Due"), Value: formatDate(rq.lang, r.GetDue()) + " · " + r.GetArticle()}
		if r.GetOverdue() {
			due.Class, due.Value = "warn", due.Value+rq.t("（已超时）", " (overdue)")
		}
		facts = append(facts, Fact{Label: rq.t("当前环节", "Step"), Value: rq.word("step", r.GetStep())}, due)
	}
	steps := &Table{ID: "request-steps-" + r.GetId(), Columns: []Column{{rq.t("序号", "No."), Number}, {rq.t("办理结果", "Outcome"), Text},
		{rq.t("办理人", "By"), Mono}, {rq.t("时间", "When"), Date}, {rq.t("理由", "Reason"), Text}}}
	for i, s := range r.GetSteps() {
		steps.add("", C(fmt.Sprint(i+1)), C(rq.word("request_state", s.GetState())), C(s.GetActor()), C(s.GetAt()), C(s.GetReason()))
	}
	p := &Page{Title: rq.t("资源申请", "Resource request") + " · " + rq.word("request", r.GetKind()) + " · " + rq.deptName(r.GetDepartment()), Sections: []*Section{
		{Facts: facts},
		{Title: rq.t("申请理由", "Reason"), Note: orDefault(r.GetReason(), rq.t("（未填写）", "(none given)"))},
		{Title: rq.t("办理经过", "Steps"), Table: steps},
	}}
	if f := requestButtons(rq, r); f != nil {
		p.Sections = append(p.Sections, &Section{Title: rq.t("办理", "Act"), Form: f})
	}
	return p, nil
}

// requestButtons are the decisions the signed-in role takes at the request's step.
func requestButtons(rq *pageRequest, r *v1.ResourceRequest) *Form {
	// The form's key makes a second press (or a resent form) the same write, not another.
	hidden := []Field{{Name: "id", Type: "hidden", Value: r.GetId()}, {Name: "key", Type: "hidden", Value: newKey()}}
	button := func(op, zh, en string, fields ...Field) *Form {
		return &Form{Action: "/requests", Inline: true, Submit: rq.t(zh, en), Fields: append(append(slices.Clone(hidden), Field{Name: "op", Type: "hidden", Value: op}), fields...)}
	}
	decide := func(yes, zh, en string) *Form {
		return &Form{Action: "/requests", Inline: true, Fields: append(slices.Clone(hidden), Field{Name: "reason", Placeholder: rq.t("理由（驳回必填）", "reason (needed to reject)")}),
			Buttons: []Button{{Name: "op", Value: yes, Label: rq.t(zh, en)}, {Name: "op", Value: "reject", Label: rq.t("驳回", "Reject"), Class: "danger"}}}
	}
	switch step := r.GetStep(); {
	case rq.me.Role == "supervisor" && step == "supervisor":
		return decide("supervise", "同意", "Agree")
	case rq.me.Role == "authority" && step == "review":
		return decide("approve", "批准", "Approve")
	case rq.me.Role == "provider" && (step == "fulfil" || step == "formal_open"):
		var f []Field
		if r.GetKind() == "test" || r.GetKind() == "open" {
			f = append(f, Field{Name: "resource", Placeholder: rq.t("新资源编号", "new resource id"), Required: true})
		}
		return button("fulfil", "开通", "Fulfil", f...)
	case rq.me.Role == "department" && step == "verify":
		return button("confirm", "确认验证通过", "Confirm verified")
	case rq.me.Role == "department" && step != "" && r.GetFinding() == "": // an enforcement's reclaim is the authority's to withdraw
		f := button("cancel", "撤回", "Cancel")
		f.Class, f.Confirm = "danger", rq.t("撤回该申请？", "Cancel this request?")
		return f
	}
	return nil
}

// requestAction takes a decision, a fulfilment or a submission through the API.
func (c *Console) requestAction(rq *pageRequest) (*Page, error) {
	f := func(k string) string { return strings.TrimSpace(rq.r.PostFormValue(k)) }
	key, err := formKey(rq, "console/")
	if err != nil {
		return nil, err
	}
	switch op := f("op"); op {
	case "submit":
		dept := f("department")
		if rq.me.Role == "department" && dept == "" {
			dept = rq.me.Department
		}
		_, err = c.requests.SubmitRequest(rq.ctx(), connect.NewRequest(&v1.SubmitRequestRequest{Key: key + "/request", Kind: f("kind"),
			ResourceKind: f("resource_kind"), Department: dept, Project: f("project"), Provider: f("provider"), Item: f("item"),
			Resource: f("resource"), Quantity: f("quantity"), Expires: f("expires"), Reason: f("reason")}))
	case "fulfil":
		_, err = c.requests.FulfilRequest(rq.ctx(), connect.NewRequest(&v1.FulfilRequestRequest{Id: f("id"), Resource: f("resource"), Key: key + "/fulfil"}))
	case "supervise", "approve", "cancel", "confirm", "reject":
		_, err = c.requests.DecideRequest(rq.ctx(), connect.NewRequest(&v1.DecideRequestRequest{Id: f("id"), Decision: op, Reason: f("reason"), Key: key + "/" + op}))
	default:
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("unknown action %q", op))
	}
	if err != nil {
		return nil, err
	}
	return &Page{Redirect: "/requests?flash=request"}, nil
}

// requestForm is the department's request form: the resource, the project, the provider
// and the item chosen from its own open resources, its projects and the catalog, by name;
// after a refusal it holds what was chosen and typed. ?resource= preselects a resource and
// the expansion (the way in from the resources page).
func (c *Console) requestForm(rq *pageRequest) (*Form, error) {
	v := func(k, d string) string {
		if rq.r.Method == "POST" {
			return rq.r.PostFormValue(k)
		}
		if q := rq.r.URL.Query().Get(k); q != "" {
			return q
		}
		return d
	}
	kinds := []Option{}
	for _, k := range []string{"expand", "reduce", "reclaim", "extend", "open", "test"} {
		kinds = append(kinds, Option{k, rq.word("request", k)})
	}
	rkinds := []Option{{"", "—"}}
	for _, k := range []string{"standard", "dev", "temporary", "emergency"} {
		rkinds = append(rkinds, Option{k, rq.word("kind", k)})
	}
	res, err := c.ledger.ListResources(rq.ctx(), connect.NewRequest(&v1.ListResourcesRequest{Department: rq.me.Department, OpenOnly: true}))
	if err != nil {
		return nil, err
	}
	resources := []Option{{"", "—"}}
	for _, r := range res.Msg.GetResources() {
		// By name, quantity and opening day: an option cannot mark the resource's id as code.
		resources = append(resources, Option{r.GetResource(), rq.projectCell(r.GetProject()).Text + " · " + rq.itemCell(r.GetItem()).Text + " · " +
			formatNumber(rq.lang, r.GetQuantity()) + " · " + formatDate(rq.lang, r.GetOpened()) + rq.t("开通", " opened")})
	}
	n := rq.names()
	dir, err := c.ledger.Directory(rq.ctx(), connect.NewRequest(&v1.DirectoryRequest{}))
	if err != nil {
		return nil, err
	}
	projects, seen := []Option{{"", "—"}}, map[string]bool{}
	for _, p := range dir.Msg.GetProjects() {
		if p.GetDepartment() == rq.me.Department && !seen[p.GetProject()] {
			seen[p.GetProject()] = true
			projects = append(projects, Option{p.GetProject(), orDefault(p.GetName(), p.GetProject())})
		}
	}
	providers := []Option{{"", "—"}}
	for _, p := range dir.Msg.GetProviders() {
		providers = append(providers, Option{p.GetProvider(), orDefault(p.GetName(), p.GetProvider())})
	}
	items := []Option{{"", "—"}}
	for _, k := range sortedKeys(n.item) {
		items = append(items, Option{k, orDefault(n.item[k], k)})
	}
	return &Form{Action: "/requests", Submit: rq.t("提交", "Submit"), Fields: []Field{
		{Name: "op", Type: "hidden", Value: "submit"}, {Name: "key", Type: "hidden", Value: newKey()},
		{Name: "kind", Label: rq.t("申请类型", "Kind"), Type: "select", Value: v("kind", "expand"), Options: kinds},
		{Name: "resource", Label: rq.t("资源（扩容、减容、回收、延期）", "Resource (expand, reduce, reclaim, extend)"), Type: "select", Value: v("resource", ""), Options: resources},
		{Name: "quantity", Label: rq.t("数量", "Quantity"), Value: v("quantity", "")},
		{Name: "resource_kind", Label: rq.t("资源类型（开通）", "Resource kind (open)"), Type: "select", Value: v("resource_kind", ""), Options: rkinds},
		{Name: "project", Label: rq.t("项目（开通、测试）", "Project (open, test)"), Type: "select", Value: v("project", ""), Options: projects},
		{Name: "provider", Label: rq.t("服务商（开通、测试）", "Provider (open, test)"), Type: "select", Value: v("provider", ""), Options: providers},
		{Name: "item", Label: rq.t("目录项（开通、测试）", "Item (open, test)"), Type: "select", Value: v("item", ""), Options: items},
		{Name: "expires", Label: rq.t("到期日（限时资源、延期）", "Expires (time-limited, extend)"), Type: "date", Value: v("expires", "")},
		{Name: "reason", Label: rq.t("理由", "Reason"), Value: v("reason", "")}}}, nil
}

// myStepRoles are the roles that take a step of a request.
var myStepRoles = map[string]bool{"department": true, "supervisor": true, "authority": true, "provider": true}
