package console

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
)

// The auditor's pages (审计管理员): verify the chain, browse and search the line items,
// the access trail (also the security officer's).

func (c *Console) auditorHome(rq *pageRequest) (*Page, error) {
	start := time.Now()
	res, err := c.ledger.Verify(rq.ctx(), connect.NewRequest(&v1.VerifyRequest{}))
	if err != nil {
		return nil, err
	}
	took := time.Since(start)
	trail, err := c.accounts.VerifyAccessTrail(rq.ctx(), connect.NewRequest(&v1.VerifyAccessTrailRequest{}))
	if err != nil {
		return nil, err
	}
	m := res.Msg
	recent, err := c.ledger.ListLineItems(rq.ctx(), connect.NewRequest(&v1.ListLineItemsRequest{FromSeq: max(m.GetLineItems(), 10) - 9, Limit: 10}))
	if err != nil {
		return nil, err
	}
	return &Page{Title: rq.t("台账校验", "Verify the ledger"), Sections: []*Section{
		{ID: "verify", Title: rq.t("哈希链完整", "The hash chain is intact"),
			Note: rq.t("每次打开本页都重新计算整条哈希链；任何被改动的记录都会使校验失败。", "Each visit recomputes the whole hash chain; any altered line item fails it."),
			Facts: []Fact{{Label: rq.t("台账记录数", "Line items"), Value: formatNumber(rq.lang, strconv.FormatUint(m.GetLineItems(), 10))},
				{Label: rq.t("链头哈希", "Head hash"), Value: m.GetHeadHash(), Hash: true},
				{Label: rq.t("共识日志索引", "Raft index"), Value: strconv.FormatUint(m.GetAppliedIndex(), 10)},
				{Label: rq.t("节点", "Node"), Value: m.GetNodeId(), Mono: true},
				{Label: rq.t("用时", "Took"), Value: fmt.Sprintf(rq.t("%d 毫秒", "%d ms"), took.Milliseconds())}}},
		{Title: rq.t("访问记录链完整", "The access trail is intact"), Facts: []Fact{
			{Label: rq.t("访问记录数", "Records"), Value: formatNumber(rq.lang, strconv.FormatUint(trail.Msg.GetRecords(), 10))},
			{Label: rq.t("链头哈希", "Head hash"), Value: trail.Msg.GetHeadHash(), Hash: true}}},
		{Title: rq.t("最近的台账记录", "The latest line items"), Table: lineItemTable(rq, "latest-line-items", recent.Msg.GetItems())},
	}}, nil
}

func lineItemTable(rq *pageRequest, id string, items []*v1.LineItem) *Table {
	t := &Table{ID: id, Columns: []Column{{rq.t("序号", "Seq"), Number}, {rq.t("共识日志索引", "Raft index"), Number}, {rq.t("记账时间", "Recorded"), Date},
		{rq.t("类型", "Type"), Mono}, {rq.t("操作人", "Actor"), Mono}, {rq.t("幂等键", "Key"), Hash}, {rq.t("内容", "Content"), Text}, {rq.t("哈希", "Hash"), Hash}}}
	for _, li := range items {
		t.add("", C(strconv.FormatUint(li.GetSeq(), 10)), C(strconv.FormatUint(li.GetRaftIndex(), 10)), C(li.GetRecordedAt()), C(li.GetType()),
			C(li.GetActor()), C(li.GetKey()), summary(rq, li), C(li.GetHash()))
	}
	return t
}

// LineItemPage is the line-item browser's page size.
const LineItemPage = 50

func (c *Console) auditorLineItems(rq *pageRequest) (*Page, error) {
	q := rq.r.URL.Query()
	from, _ := strconv.ParseUint(q.Get("from"), 10, 64)
	req := &v1.ListLineItemsRequest{FromSeq: max(from, 1), Limit: LineItemPage, Department: q.Get("department"), Resource: q.Get("resource"), Key: q.Get("key")}
	res, err := c.ledger.ListLineItems(rq.ctx(), connect.NewRequest(req))
	if err != nil {
		return nil, err
	}
	t := lineItemTable(rq, "line-items", res.Msg.GetItems())
	search := &Form{Method: "get", Action: "/auditor/line-items", Submit: rq.t("查找", "Search"), Fields: []Field{
		{Name: "from", Label: rq.t("起始序号", "From seq"), Value: q.Get("from"), Type: "number"},
		{Name: "department", Label: rq.t("使用单位", "Department"), Value: req.Department},
		{Name: "resource", Label: rq.t("资源", "Resource"), Value: req.Resource},
		{Name: "key", Label: rq.t("幂等键", "Key"), Value: req.Key}}}
	page := func(seq uint64) string {
		v := url.Values{}
		for _, k := range []string{"department", "resource", "key"} {
			if q.Get(k) != "" {
				v.Set(k, q.Get(k))
			}
		}
		v.Set("from", strconv.FormatUint(seq, 10))
		return "/auditor/line-items?" + v.Encode()
	}
	facts := []Fact{{Label: rq.t("台账记录总数", "Line items on the ledger"), Value: formatNumber(rq.lang, strconv.FormatUint(res.Msg.GetHeadSeq(), 10))},
		{Label: rq.t("本页查看", "Examined for this page"), Value: formatNumber(rq.lang, strconv.FormatUint(res.Msg.GetExamined(), 10))}}
	if req.FromSeq > 1 {
		facts = append(facts, Fact{Label: rq.t("第一页", "First page"), Value: "1", Href: page(1)})
		if req.Department == "" && req.Resource == "" && req.Key == "" {
			facts = append(facts, Fact{Label: rq.t("上一页", "Previous page"), Value: strconv.FormatUint(max(req.FromSeq, LineItemPage+1)-LineItemPage, 10), Href: page(max(req.FromSeq, LineItemPage+1) - LineItemPage)})
		}
	}
	if n := res.Msg.GetNextSeq(); n > 0 {
		facts = append(facts, Fact{Label: rq.t("下一页（自序号）", "Next page (from seq)"), Value: strconv.FormatUint(n, 10), Href: page(n)})
	}
	return &Page{Title: rq.t("台账明细", "Line items"), Sections: []*Section{
		{Form: search, Note: fmt.Sprintf(rq.t("每页 %d 条，按序号读取，不会一次载入全部台账；按单位或资源查找时每页最多查看 50,000 条。", "%d per page, read by sequence, never the whole ledger at once; a search by department or resource looks at up to 50,000 line items per page."), LineItemPage), Facts: facts},
		{Table: t},
	}}, nil
}

// summary is a line item's content: an event as its operation in words with the resource
// (department/project resource, marked as code), anything else as its fields, name: value,
// never raw JSON.
func summary(rq *pageRequest, li *v1.LineItem) Cell {
	cmd := li.GetCommand()
	if ev := cmd.GetEvent(); ev != nil {
		return Cell{Text: rq.word("op", ev.GetOp()) + " ×" + formatNumber(rq.lang, ev.GetQuantity()) + " · " + formatDate(rq.lang, ev.GetTime()),
			Code: ev.GetDepartment() + "/" + ev.GetProject() + " " + ev.GetResource(), Class: "fields"}
	}
	raw := li.GetBodyJson()
	if cmd != nil {
		body := proto.Clone(cmd).(*v1.Command)
		body.Key = "" // shown in its own column
		b, _ := protojson.Marshal(body)
		raw = string(b)
	}
	s := fieldsOf(raw)
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return Cell{Text: s, Code: s, Class: "fields"}
}

// fieldsOf is a JSON object as its fields, "name: value" joined by " · ", nested objects
// by their dotted path, in key order; what is not an object stays as it is.
func fieldsOf(raw string) string {
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return raw
	}
	var parts []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for _, k := range sortedKeys(x) {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, x[k])
			}
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", prefix, i), e)
			}
		default:
			if x == nil || x == "" || x == "0001-01-01T00:00:00Z" {
				return // an empty field says nothing
			}
			parts = append(parts, fmt.Sprintf("%s: %v", prefix, x))
		}
	}
	walk("", v)
	return strings.Join(parts, " · ")
}

func (c *Console) accessTrail(rq *pageRequest) (*Page, error) {
	q := rq.r.URL.Query()
	now := time.Now().In(shanghai)
	from, to := orDefault(q.Get("from"), now.AddDate(0, 0, -6).Format("2006-01-02")), orDefault(q.Get("to"), now.Format("2006-01-02"))
	after, _ := strconv.ParseUint(q.Get("after"), 10, 64)
	res, err := c.accounts.AccessLog(rq.ctx(), connect.NewRequest(&v1.AccessLogRequest{From: from, To: to, Account: q.Get("account"), Result: q.Get("result"), AfterSeq: after, Limit: 200}))
	if err != nil {
		return nil, err
	}
	t := &Table{ID: "access-trail", Columns: []Column{{rq.t("序号", "Seq"), Number}, {rq.t("时间", "Time"), Date}, {rq.t("账号", "Account"), Mono},
		{rq.t("角色", "Role"), Text}, {rq.t("来源地址", "Address"), Mono}, {rq.t("节点", "Node"), Mono}, {rq.t("操作", "Procedure"), Mono},
		{rq.t("对象", "Target"), Mono}, {rq.t("结果", "Result"), Text}}}
	for _, r := range res.Msg.GetRecords() {
		class := ""
		if r.GetResult() != "ok" {
			class = "violation"
		}
		t.add(class, C(strconv.FormatUint(r.GetSeq(), 10)), C(r.GetTime()), C(r.GetAccount()), C(roleName(rq.lang, r.GetRole())), C(r.GetAddress()),
			C(r.GetNode()), C(procedureName(r.GetProcedure())), C(r.GetTarget()), accessResult(rq, r.GetResult()))
	}
	form := &Form{Method: "get", Action: "/access", Submit: rq.t("查询", "Show"), Fields: []Field{
		{Name: "from", Label: rq.t("起始日", "From"), Type: "date", Value: from}, {Name: "to", Label: rq.t("截止日", "To"), Type: "date", Value: to},
		{Name: "account", Label: rq.t("账号", "Account"), Value: q.Get("account")},
		{Name: "result", Label: rq.t("结果", "Result"), Type: "select", Value: q.Get("result"), Options: []Option{{"", rq.t("全部", "all")},
			{"ok", rq.word("access_result", "ok")}, {"denied", rq.word("access_result", "denied")}, {"failed", rq.word("access_result", "failed")}}}}}
	sec := &Section{Form: form}
	if n := res.Msg.GetNextSeq(); n > 0 {
		v := rq.r.URL.Query()
		v.Set("after", strconv.FormatUint(n, 10))
		sec.Facts = []Fact{{Label: rq.t("更多", "More"), Value: rq.t("下一页", "Next page"), Href: "/access?" + v.Encode()}}
	}
	return &Page{Title: rq.t("访问记录", "Access trail"), Sections: []*Section{sec, {Table: t}}}, nil
}

// procedureName is a procedure of the access trail without its service's path
// (/cloudledger.v1.LedgerService/QuotaUse is QuotaUse); the console's own records
// ("console GET /d/bus") stay as they are.
func procedureName(p string) string {
	if i := strings.LastIndexByte(p, '/'); strings.HasPrefix(p, "/cloudledger.") && i >= 0 {
		return p[i+1:]
	}
	return p
}

// accessResult is an access record's result in words: 成功, 拒绝, 失败; another result (a
// refusal's code) as its code.
func accessResult(rq *pageRequest, result string) Cell {
	if w, ok := vocab["access_result"][result]; ok {
		return C(rq.t(w[0], w[1]))
	}
	return Cell{Text: rq.t("拒绝", "refused"), Code: result}
}
