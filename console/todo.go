package console

import (
	"fmt"
	"strconv"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
)

// The to-do box (待办) at the top of every role's home page: what waits for this account —
// requests at its role's step, findings to answer (a department) or to review (the
// authority), the notices of the last week, accounts to confirm as the second person,
// settlement documents submitted to finance — each a count linking to the page where it is
// done. The counts come from the same API lists as those pages, read as the account.

// todoNoticeDays is how far back the box counts notices.
const todoNoticeDays = 7

// myStep says whether a request at step waits for role.
func myStep(role, step string) bool {
	switch role {
	case "department":
		return step == "verify"
	case "supervisor":
		return step == "supervisor"
	case "authority":
		return step == "review"
	case "provider":
		return step == "fulfil" || step == "formal_open"
	}
	return false
}

// todoSection is the signed-in account's to-do box; nil for a role with nothing to list.
func (c *Console) todoSection(rq *pageRequest) (*Section, error) {
	role := rq.me.Role
	var facts []Fact
	// A count of work waiting (more than none) is marked todo-open.
	item := func(zh, en string, n int, href string) {
		f := Fact{Label: rq.t(zh, en), Value: strconv.Itoa(n), Href: href}
		if n > 0 {
			f.Class = "todo-open"
		}
		facts = append(facts, f)
	}
	switch role {
	case "department", "supervisor", "authority", "provider":
		res, err := c.requests.ListRequests(rq.ctx(), connect.NewRequest(&v1.ListRequestsRequest{}))
		if err != nil {
			return nil, err
		}
		n, late := 0, 0
		for _, r := range res.Msg.GetRequests() {
			if myStep(role, r.GetStep()) {
				n++
				if r.GetOverdue() {
					late++
				}
			}
		}
		label := map[string][2]string{"department": {"待确认验证的申请", "Requests to confirm verified"},
			"supervisor": {"待经信审批的申请", "Requests for the supervisor's decision"},
			"authority":  {"待审核的申请", "Requests to review"}, "provider": {"待开通的申请", "Requests to fulfil"}}[role]
		item(label[0], label[1], n, "/requests?mine=1")
		if late > 0 {
			facts[len(facts)-1].Class = "warn"
			item("其中已超时", "of them overdue", late, "/requests?mine=1&overdue=1")
		}
	}
	if role == "department" || role == "authority" {
		req := &v1.ListFindingsRequest{Open: true}
		if role == "department" {
			req.Department = rq.me.Department
		}
		res, err := c.findings.ListFindings(rq.ctx(), connect.NewRequest(req))
		if err != nil {
			return nil, err
		}
		n := 0
		for _, f := range res.Msg.GetFindings() {
			if len(findingButtons(rq, f)) > 0 {
				n++
			}
		}
		if role == "department" {
			item("待答复的利用率问题", "Findings to answer", n, "/findings")
		} else {
			item("待审查的利用率问题", "Findings to review", n, "/findings")
		}
	}
	if role != "finance" {
		res, err := c.requests.ListNotices(rq.ctx(), connect.NewRequest(&v1.ListNoticesRequest{}))
		if err != nil {
			return nil, err
		}
		since := time.Now().AddDate(0, 0, -todoNoticeDays)
		recent, dead := 0, 0
		for _, n := range res.Msg.GetNotices() {
			if at, err := time.Parse(time.RFC3339, n.GetRaisedAt()); err == nil && at.After(since) {
				recent++
			}
			if n.GetDelivery() == "dead" {
				dead++
			}
		}
		item(fmt.Sprintf("近 %d 日的通知", todoNoticeDays), fmt.Sprintf("Notices of the last %d days", todoNoticeDays), recent, "/notices")
		facts[len(facts)-1].Class = "" // to read, not to act on: not marked as waiting
		if role == "authority" {
			item("投递失败待重发的通知", "Notices not delivered, to send again", dead, "/notices?delivery=dead")
		}
	}
	if role == "authority" || role == "auditor" || role == "security" {
		res, err := c.accounts.ListAccounts(rq.ctx(), connect.NewRequest(&v1.ListAccountsRequest{}))
		if err != nil {
			return nil, err
		}
		n := 0
		for _, a := range res.Msg.GetAccounts() {
			if a.GetStatus() == "pending" && a.GetCreatedBy() != rq.me.Account && confirms[role][a.GetRole()] {
				n++
			}
		}
		item("待确认的账号", "Accounts to confirm", n, "/accounts/pending")
	}
	if role == "finance" {
		now := time.Now().In(shanghai)
		n, href := 0, "/finance"
		for y := now.Year() - 1; y <= now.Year()+1; y++ {
			res, err := rq.settleStatus(int32(y))
			if err != nil {
				return nil, err
			}
			if res.GetState() == "submitted" {
				n, href = n+1, fmt.Sprintf("/finance/settlement?year=%d", y)
			}
		}
		item("已提交待签收的结算单", "Settlement documents submitted to sign", n, href)
	}
	if len(facts) == 0 {
		return nil, nil
	}
	return &Section{ID: "todo", Title: rq.t("待办", "To do"), Facts: facts, Class: "todo"}, nil
}

// withTodo puts the to-do box on top of a role's home page.
func (c *Console) withTodo(rq *pageRequest, p *Page) error {
	if rq.me == nil || rq.r.URL.Path != rq.me.Home() || p.Redirect != "" || p.Download != nil {
		return nil
	}
	sec, err := c.todoSection(rq)
	if err != nil || sec == nil {
		return err
	}
	p.Sections = append([]*Section{sec}, p.Sections...)
	return nil
}

// confirms are the roles of the new accounts each role confirms as the second person
// (SPEC: Access, 三员分立): the authority the business roles, a security officer or an
// auditor the security and auditor accounts. The ledger decides again on confirmation.
var confirms = map[string]map[string]bool{
	"authority": {"authority": true, "supervisor": true, "finance": true},
	"security":  {"security": true, "auditor": true},
	"auditor":   {"security": true, "auditor": true},
}
