package console

import (
	"net/url"
	"strconv"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
)

// departmentsPage lists the departments the account sees (the authority, the supervisor,
// finance, the auditor: every one), by name, with their funding, their projects and the
// way into each department's pages — quota, resources, charges, statements.
func (c *Console) departmentsPage(rq *pageRequest) (*Page, error) {
	res, err := c.ledger.Directory(rq.ctx(), connect.NewRequest(&v1.DirectoryRequest{}))
	if err != nil {
		return nil, err
	}
	projects := map[string]map[string]bool{}
	for _, p := range res.Msg.GetProjects() {
		if projects[p.GetDepartment()] == nil {
			projects[p.GetDepartment()] = map[string]bool{}
		}
		projects[p.GetDepartment()][p.GetProject()] = true
	}
	t := &Table{ID: "departments", Columns: []Column{{rq.t("使用单位", "Department"), Text}, {rq.t("上级单位", "Parent"), Text},
		{rq.t("经费来源", "Funding"), Text}, {rq.t("项目数", "Projects"), Number}, {rq.t("费用", "Charges"), Text},
		{rq.t("月度使用情况表", "Statements"), Text}, {rq.t("云资源", "Resources"), Text}}}
	for _, d := range res.Msg.GetDepartments() {
		base := "/d/" + url.PathEscape(d.GetDepartment())
		dept := named(d.GetName(), d.GetDepartment())
		dept.Href = base
		t.add("", dept, optional(rq.deptCell, d.GetParent()), C(rq.word("funding", d.GetFunding())),
			C(strconv.Itoa(len(projects[d.GetDepartment()]))), Link(rq.t("查看费用", "Charges"), base+"/charges"),
			Link(rq.t("查看", "Statements"), base+"/statement"), Link(rq.t("查看资源", "Resources"), base+"/resources"))
	}
	return &Page{Title: rq.t("使用单位", "Departments"), Sections: []*Section{
		{Note: rq.t("点单位名称查看其项目与配额；费用、月度使用情况表与云资源各有其页。", "Click a department for its projects and quota; its charges, statements and resources have their own pages."), Table: t},
	}}, nil
}

// providersPage lists the cloud providers under contract (the authority's list, like the
// departments'), by name, with the contract's dates and the way into each provider's
// charges, statements and invoice checks.
func (c *Console) providersPage(rq *pageRequest) (*Page, error) {
	res, err := c.ledger.Directory(rq.ctx(), connect.NewRequest(&v1.DirectoryRequest{}))
	if err != nil {
		return nil, err
	}
	t := &Table{ID: "providers", Columns: []Column{{rq.t("云服务商", "Provider"), Text}, {rq.t("合同起", "Contract from"), Date},
		{rq.t("合同止", "Contract to"), Date}, {rq.t("月度使用情况表", "Statements"), Text}, {rq.t("账单核对记录", "Invoice checks"), Text}}}
	for _, p := range res.Msg.GetProviders() {
		base := "/p/" + url.PathEscape(p.GetProvider())
		prov := named(p.GetName(), p.GetProvider())
		prov.Href = base
		t.add("", prov, C(p.GetContractStart()), C(p.GetContractEnd()), Link(rq.t("查看", "Statements"), base+"/statement"),
			Link(rq.t("查看", "Invoice checks"), base+"/invoices"))
	}
	return &Page{Title: rq.t("云服务商", "Providers"), Sections: []*Section{
		{Note: rq.t("点服务商名称查看其费用；月度使用情况表与账单核对记录各有其页。", "Click a provider for its charges; its statements and invoice checks have their own pages."), Table: t},
	}}, nil
}

// projectsPage lists every project the account sees with its department and its quota per
// class (the ledger holds a row per project and class), each linking to the project's
// resources.
func (c *Console) projectsPage(rq *pageRequest) (*Page, error) {
	res, err := c.ledger.Directory(rq.ctx(), connect.NewRequest(&v1.DirectoryRequest{}))
	if err != nil {
		return nil, err
	}
	dept := rq.r.URL.Query().Get("department")
	depts := map[string]string{}
	for _, d := range res.Msg.GetDepartments() {
		depts[d.GetDepartment()] = d.GetName()
	}
	t := &Table{ID: "projects", Columns: []Column{{rq.t("项目", "Project"), Text}, {rq.t("使用单位", "Department"), Text},
		{rq.t("配额类别", "Quota class"), Text}, {rq.t("配额", "Quota"), Number}}}
	for _, p := range res.Msg.GetProjects() {
		if dept != "" && p.GetDepartment() != dept {
			continue
		}
		proj := named(p.GetName(), p.GetProject())
		proj.Href = "/d/" + url.PathEscape(p.GetDepartment()) + "/resources?project=" + url.QueryEscape(p.GetProject())
		d := named(depts[p.GetDepartment()], p.GetDepartment())
		d.Href = "/d/" + url.PathEscape(p.GetDepartment())
		t.add("", proj, d, rq.classCell(p.GetQuotaClass()), C(p.GetQuota()))
	}
	opts := []Option{{"", rq.t("全部", "all")}}
	for _, k := range sortedKeys(depts) {
		opts = append(opts, Option{k, orDefault(depts[k], k)})
	}
	filter := &Form{Method: "get", Action: "/projects", Submit: rq.t("筛选", "Filter"), Fields: []Field{
		{Name: "department", Label: rq.t("使用单位", "Department"), Type: "select", Value: dept, Options: opts}}}
	return &Page{Title: rq.t("项目", "Projects"), Sections: []*Section{
		{Form: filter, Note: rq.t("每个项目每个配额类别一行；点项目名称查看其云资源，点单位名称查看其项目与配额。",
			"A row per project and quota class; click a project for its resources, a department for its projects and quota."), Table: t},
	}}, nil
}
