package console

import (
	"net/url"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
)

// noticesPage is the notices the account sees (the API scopes them: a department, a
// provider and the supervisor their own), newest first, with their delivery; the
// authority sends an undelivered one again.
func (c *Console) noticesPage(rq *pageRequest) (*Page, error) {
	if rq.r.Method == "POST" {
		key, err := formKey(rq, "console/notice/")
		if err != nil {
			return nil, err
		}
		if _, err := c.requests.ReplayNotice(rq.ctx(), connect.NewRequest(&v1.ReplayNoticeRequest{Id: rq.r.PostFormValue("id"), Key: key})); err != nil {
			return nil, err
		}
		return &Page{Redirect: "/notices?flash=notice_replayed"}, nil
	}
	delivery := rq.r.URL.Query().Get("delivery")
	res, err := c.requests.ListNotices(rq.ctx(), connect.NewRequest(&v1.ListNoticesRequest{Delivery: delivery}))
	if err != nil {
		return nil, err
	}
	t := &Table{ID: "notices", Columns: []Column{{rq.t("时间", "Raised"), Date}, {rq.t("通知", "Notice"), Text}, {rq.t("对象", "Party"), Text},
		{rq.t("资源申请", "Request"), Mono}, {rq.t("资源", "Resource"), Mono}, {rq.t("投递", "Delivery"), Text}, {rq.t("操作", "Action"), Text}}}
	ns := res.Msg.GetNotices()
	for i := len(ns) - 1; i >= 0; i-- {
		n := ns[i]
		title := rq.t(n.GetTitleZh(), n.GetTitleEn())
		if title == "" || title == n.GetKind() { // a kind the notices have no title for: its word
			title = rq.word("notice", n.GetKind())
		}
		req := C(n.GetRequest())
		if n.GetRequest() != "" {
			req = Link(n.GetRequest(), "/requests/"+url.PathEscape(n.GetRequest()))
		}
		var act Cell
		class := ""
		if n.GetDelivery() == "dead" {
			class = "violation"
			if rq.me.Role == "authority" {
				act = Cell{Form: &Form{Action: "/notices", Inline: true, Submit: rq.t("重新投递", "Send again"),
					Fields: []Field{{Name: "id", Type: "hidden", Value: n.GetId()}, {Name: "key", Type: "hidden", Value: newKey()}}}}
			}
		}
		t.add(class, C(n.GetRaisedAt()), C(title), C(rq.partyName(n.GetParty())), req, C(n.GetResource()), C(rq.word("delivery", n.GetDelivery())), act)
	}
	opts := []Option{{"", rq.t("全部", "all")}}
	for _, d := range []string{"pending", "delivered", "dead"} {
		opts = append(opts, Option{d, rq.word("delivery", d)})
	}
	filter := &Form{Method: "get", Action: "/notices", Submit: rq.t("筛选", "Filter"), Fields: []Field{
		{Name: "delivery", Label: rq.t("投递", "Delivery"), Type: "select", Value: delivery, Options: opts}}}
	return flash(rq, &Page{Title: rq.t("通知", "Notices"), Sections: []*Section{
		{Form: filter, Note: rq.t("资源申请的办理结果、到期提醒与利用率问题的通知；投递失败的由运行管理单位重新投递。",
			"Request decisions, expiry reminders and finding notices; the authority sends an undelivered one again.")},
		{Table: t}}}), nil
}

// partyName is a notice's party by name: a department's or a provider's, else as it is.
func (rq *pageRequest) partyName(code string) string {
	if n := rq.names().dept[code]; n != "" {
		return n
	}
	if n := rq.names().prov[code]; n != "" {
		return n
	}
	return rq.word("role", code)
}
