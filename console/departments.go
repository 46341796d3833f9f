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
