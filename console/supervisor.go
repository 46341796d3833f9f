package console

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
)

// The supervisor's pages (经济信息化主管部门): the overrun report with its drill-down to a
// department's pages, and the approvals (grant, list, revoke).

var flashes = map[string][2]string{
	"granted":           {"审批已记入台账", "The approval is on the ledger"},
	"revoked":           {"审批已撤销", "The approval was revoked"},
	"closed":            {"已关账", "The month is closed"},
	"settled":           {"结算操作已记入台账", "The settlement step is on the ledger"},
	"imported":          {"导入完成", "The import is done"},
	"request":           {"申请已记入台账", "The request is on the ledger"},
	"finding":           {"已记入台账", "It is on the ledger"},
	"evaluation":        {"已记入台账", "It is on the ledger"},
	"account_disable":   {"账号已停用", "The account is disabled"},
	"account_enable":    {"账号已启用", "The account is enabled"},
	"account_confirmed": {"账号已确认", "The account is confirmed"},
	"notice_replayed":   {"已重新投递", "The notice is queued again"},
	"totp_removed":      {"动态口令已移除，登录只需密码", "The second factor is removed: signing in takes the password alone"},
}

func flash(rq *pageRequest, p *Page) *Page {
	if f, ok := flashes[rq.r.URL.Query().Get("flash")]; ok {
		p.Flash = rq.t(f[0], f[1])
	}
	return p
}

func (c *Console) supervisorHome(rq *pageRequest) (*Page, error) {
	res, err := c.ledger.QuotaOverruns(rq.ctx(), connect.NewRequest(&v1.QuotaOverrunsRequest{}))
	if err != nil {
		return nil, err
	}
	t := &Table{ID: "overruns", Columns: []Column{{rq.t("使用单位", "Department"), Text},
		{rq.t("配额类别", "Quota class"), Text}, {rq.t("配额", "Quota"), Number}, {rq.t("已分配", "Allocated"), Number},
		{rq.t("已分配/配额", "Allocated/quota"), Number}, {rq.t("状态", "Status"), Text}, {rq.t("批准上限", "Ceiling"), Number}, {rq.t("审批文号", "Approval"), Text}, {rq.t("操作", "Action"), Text}}}
	counts := map[string]int{}
	for _, o := range res.Msg.GetOverruns() {
		counts[o.GetStatus()]++
		ratio := ""
		if o.GetRatio() != "" {
			r := rq.figure("ratio", o.GetRatio())
			ratio = r.Shift(2).StringFixed(1) + "%"
		}
		dept := named(o.GetDepartmentName(), o.GetDepartment())
		dept.Href = "/d/" + url.PathEscape(o.GetDepartment())
		t.add(o.GetStatus(), dept, rq.classCell(o.GetQuotaClass()),
			C(o.GetQuota()), C(o.GetAllocated()), C(ratio), Cell{Text: rq.word("overrun", o.GetStatus()), Class: "status"}, C(o.GetCeiling()), C(o.GetApprovalRef()),
			Link(rq.t("审批", "Approve"), "/supervisor/approvals?department="+url.QueryEscape(o.GetDepartment())+"&class="+url.QueryEscape(o.GetQuotaClass())))
	}
	return flash(rq, &Page{Title: rq.t("超配报告", "Overrun report"), Sections: []*Section{
		{Facts: []Fact{{Label: rq.word("overrun", "over"), Value: fmt.Sprint(counts["over"])},
			{Label: rq.word("overrun", "approved"), Value: fmt.Sprint(counts["approved"])},
			{Label: rq.word("overrun", "violation"), Value: fmt.Sprint(counts["violation"]), Class: warnIf(counts["violation"] > 0)}},
			Note: rq.t("列出已分配超过配额的单位与类别；超过 120% 且无有效审批为违规（SH 20）。点单位查看其项目与资源。", "Every department and class allocated above its quota; above 120 % without a covering approval is a violation (SH 20). Click a department for its projects and resources.")},
		{Table: t},
	}}), nil
}

// newKey is a form's idempotency key, made when the page is drawn: pressing twice, or
// sending the form again, is the same write (issue 23: the client names the key).
func newKey() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// formKey is the posted form's key under prefix; a form without one (drawn before keys,
// or forged) is refused rather than given a key that every such form would share.
func formKey(rq *pageRequest, prefix string) (string, error) {
	k := strings.TrimSpace(rq.r.PostFormValue("key"))
	if k == "" || len(k) > 64 || strings.ContainsFunc(k, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) {
		return "", connect.NewError(connect.CodeInvalidArgument, errors.New(rq.t("表单缺少幂等键，请刷新页面后重试", "The form has no idempotency key; reload the page and try again")))
	}
	return prefix + k, nil
}

func (c *Console) supervisorApprovals(rq *pageRequest) (*Page, error) {
	if rq.r.Method == "POST" {
		return c.approvalAction(rq)
	}
	res, err := c.ledger.ListApprovals(rq.ctx(), connect.NewRequest(&v1.ListApprovalsRequest{}))
	if err != nil {
		return nil, err
	}
	t := &Table{ID: "approvals", Columns: []Column{{rq.t("使用单位", "Department"), Text}, {rq.t("配额类别", "Quota class"), Text},
		{rq.t("批准上限", "Ceiling"), Number}, {rq.t("文号", "Reference"), Text}, {rq.t("有效至", "Expires"), Date}, {rq.t("状态", "Status"), Text},
		{rq.t("审批人", "Granted by"), Mono}, {rq.t("审批时间", "Granted at"), Date}, {rq.t("操作", "Action"), Text}}}
	for _, a := range res.Msg.GetApprovals() {
		action := C("")
		class := ""
		if a.GetStatus() == "active" {
			class = "approved"
			action = Cell{Form: &Form{Action: "/supervisor/approvals", Inline: true, Submit: rq.t("撤销", "Revoke"), Class: "danger",
				Confirm: rq.t("撤销该审批？", "Revoke this approval?"), Fields: []Field{
					{Name: "op", Type: "hidden", Value: "revoke"}, {Name: "department", Type: "hidden", Value: a.GetDepartment()},
					{Name: "class", Type: "hidden", Value: a.GetQuotaClass()}, {Name: "ref", Type: "hidden", Value: a.GetRef()},
					{Name: "key", Type: "hidden", Value: newKey()}}}}
		}
		t.add(class, rq.deptCell(a.GetDepartment()), rq.classCell(a.GetQuotaClass()), C(a.GetCeiling()), C(a.GetRef()), C(a.GetExpires()),
			C(rq.word("approval", a.GetStatus())), C(a.GetGrantedBy()), C(a.GetGrantedAt()), action)
	}
	q := rq.r.URL.Query()
	grant := &Form{Action: "/supervisor/approvals", Submit: rq.t("批准", "Grant"), Fields: []Field{
		{Name: "op", Type: "hidden", Value: "grant"}, {Name: "key", Type: "hidden", Value: newKey()},
		{Name: "department", Label: rq.t("使用单位", "Department"), Type: "select", Value: q.Get("department"), Options: rq.deptOptions()},
		{Name: "class", Label: rq.t("配额类别", "Quota class"), Type: "select", Value: q.Get("class"), Options: rq.classOptions()},
		{Name: "ceiling", Label: rq.t("批准上限", "Ceiling"), Required: true},
		{Name: "ref", Label: rq.t("审批文号", "Reference"), Required: true, Placeholder: "经信审〔2026〕1号"},
		{Name: "expires", Label: rq.t("有效至（可空）", "Expires (optional)"), Type: "date"}}}
	return flash(rq, &Page{Title: rq.t("超配审批", "Overrun approvals"), Sections: []*Section{
		{Title: rq.t("批准超配", "Grant an approval"), Form: grant, Note: rq.t("新的审批取代该单位该类别现有的审批（SH 20）。", "A new approval replaces the one in force for the department and class (SH 20).")},
		{Title: rq.t("全部审批", "All approvals"), Table: t},
	}}), nil
}

// approvalAction grants or revokes through Submit; the form's key makes a second click
// the same line item, not another.
func (c *Console) approvalAction(rq *pageRequest) (*Page, error) {
	f := rq.r.PostFormValue
	key, err := formKey(rq, "console/approval/")
	if err != nil {
		return nil, err
	}
	var cmd *v1.Command
	switch f("op") {
	case "grant":
		cmd = &v1.Command{Key: key, Body: &v1.Command_ApprovalGrant{ApprovalGrant: &v1.ApprovalGrant{Department: strings.TrimSpace(f("department")),
			QuotaClass: strings.TrimSpace(f("class")), Ceiling: strings.TrimSpace(f("ceiling")), Ref: strings.TrimSpace(f("ref")), Expires: f("expires")}}}
	case "revoke":
		cmd = &v1.Command{Key: key, Body: &v1.Command_ApprovalRevoke{ApprovalRevoke: &v1.ApprovalRevoke{Department: f("department"), QuotaClass: f("class"), Ref: f("ref")}}}
	default:
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("unknown action %q", f("op")))
	}
	if _, err := c.ledger.Submit(rq.ctx(), connect.NewRequest(&v1.SubmitRequest{Commands: []*v1.Command{cmd}})); err != nil {
		return nil, err
	}
	if f("op") == "grant" {
		return &Page{Redirect: "/supervisor?flash=granted"}, nil
	}
	return &Page{Redirect: "/supervisor/approvals?flash=revoked"}, nil
}
