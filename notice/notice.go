// Package notice delivers the ledger's notice outbox (issue 15) by signed webhooks: the
// leader posts every pending notice, retries with backoff under the same delivery id, and
// records the outcome through Raft (ledger.NoticeOutcome) — delivered, or dead after its
// attempts, where an operator can replay it. A new leader starts from the outbox, so a
// notice is never lost (a receiver may see one twice, with the same id and body) and never
// invented (every notice is a replicated entry). It imports the ledger, never the server.
package notice

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/ledger"
)

// Webhook headers.
const (
	HeaderDelivery  = "Cloudledger-Delivery"  // the notice id: the same on every retry
	HeaderTimestamp = "Cloudledger-Timestamp" // Unix seconds of this attempt
	HeaderSignature = "Cloudledger-Signature" // "v1=" + hex HMAC-SHA256(secret, timestamp "." body)
)

// Payload is a webhook's JSON body and the value of a record of the notices topic. It is a
// function of the replicated notice alone, so every attempt by every leader sends the same
// bytes.
type Payload struct {
	DeliveryID string `json:"delivery_id"`
	Kind       string `json:"kind"`
	Party      string `json:"party"`               // department | provider | supervisor
	Recipient  string `json:"recipient,omitempty"` // the department's or provider's id
	Request    string `json:"request,omitempty"`
	Resource   string `json:"resource,omitempty"`
	State      string `json:"state,omitempty"`
	Reason     string `json:"reason,omitempty"`
	Due        string `json:"due,omitempty"`     // YYYY-MM-DD
	Expires    string `json:"expires,omitempty"` // RFC 3339
	Month      string `json:"month,omitempty"`   // a statements notice's month, YYYY-MM
	Finding    string `json:"finding,omitempty"` // a finding notice's finding and the state it tells of
	FindingSt  string `json:"finding_state,omitempty"`
	RaisedAt   string `json:"raised_at"`
	LineItem   uint64 `json:"line_item,omitempty"`
	TitleZh    string `json:"title_zh"`
	TitleEn    string `json:"title_en"`
}

// PayloadOf is the payload of a notice.
func PayloadOf(n ledger.Notice) Payload {
	p := Payload{DeliveryID: n.ID, Kind: string(n.Kind), Party: n.Party, Recipient: n.Recipient, Request: n.Request, Resource: n.Resource,
		State: string(n.State), Reason: n.Reason, RaisedAt: n.RaisedAt.In(calendar.Shanghai).Format(time.RFC3339), LineItem: n.LineItem, Month: n.Month,
		Finding: n.Finding, FindingSt: string(n.FindingState)}
	if !n.Due.IsZero() {
		p.Due = n.Due.String()
	}
	if !n.Expires.IsZero() {
		p.Expires = n.Expires.In(calendar.Shanghai).Format(time.RFC3339)
	}
	p.TitleZh, p.TitleEn = titles(n)
	return p
}

// Body is the JSON of a notice's payload.
func Body(n ledger.Notice) []byte {
	b, err := json.Marshal(PayloadOf(n))
	if err != nil {
		panic(err) // strings and numbers only
	}
	return b
}

// stateZh is how a request's state reads in a notice.
var stateZh = map[ledger.RequestState]string{
	ledger.RequestSupervised: "经信主管部门已同意", ledger.RequestApproved: "已审核通过", ledger.RequestRejected: "未通过审核",
	ledger.RequestFulfilled: "已开通（办结）", ledger.RequestVerifying: "测试资源已开通，请于一个月内完成验证",
	ledger.RequestVerified: "验证通过，待正式开通",
}

// titles are the notice's one-line texts, Chinese first.
func titles(n ledger.Notice) (zh, en string) {
	due := ""
	if !n.Due.IsZero() {
		due = n.Due.String()
	}
	switch n.Kind {
	case ledger.NoticeSubmitted:
		return "资源申请 " + n.Request + " 待经信主管部门审核，时限 " + due, "Request " + n.Request + " waits for the supervisor's decision, due " + due
	case ledger.NoticeDecided:
		zh = "资源申请 " + n.Request + " " + stateZh[n.State]
		en = "Request " + n.Request + " is " + string(n.State)
		if n.Reason != "" {
			zh += "：" + n.Reason
			en += ": " + n.Reason
		}
		if due != "" {
			zh += "；下一环节时限 " + due
			en += "; the next step is due " + due
		}
		return zh, en
	case ledger.NoticeToFulfil:
		return "资源申请 " + n.Request + " 已审核通过，请于 " + due + " 前开通", "Request " + n.Request + " is approved: fulfil it by " + due
	case ledger.NoticeFulfilled:
		if n.State == ledger.RequestVerifying {
			return "资源申请 " + n.Request + " 测试资源已开通（资源 " + n.Resource + "），请于 " + due + " 前完成验证",
				"Request " + n.Request + ": the test resource " + n.Resource + " is open; verify it by " + due
		}
		return "资源申请 " + n.Request + " 已开通（资源 " + n.Resource + "）", "Request " + n.Request + " is fulfilled (resource " + n.Resource + ")"
	case ledger.NoticeExpiry:
		exp := ledger.ExpiryDay(n.Expires).String()
		return "资源 " + n.Resource + " 将于 " + exp + " 到期回收；如需延期，请于到期前 15 个工作日提出申请",
			"Resource " + n.Resource + " expires on " + exp + "; an extension must be asked 15 working days before"
	case ledger.NoticeStatements:
		return n.Month + " 月度使用情况表（含资源利用率）已生成，请查阅", "The monthly statement of " + n.Month + " (with resource utilisation) is ready"
	case ledger.NoticeFinding:
		return findingTitles(n, due)
	case ledger.NoticeReprocurement:
		return "云服务商 " + n.Recipient + " 连续两个结算年度考核不合格，应予更换（SD 38）", "Provider " + n.Recipient + " was below the pass line two settlement years in a row: re-procurement (SD 38)"
	case ledger.NoticeExtensionLimit:
		exp := ledger.ExpiryDay(n.Expires).String()
		return "资源 " + n.Resource + " 将于 " + exp + " 到期；今日（" + due + "）为申请延期的最后一天",
			"Resource " + n.Resource + " expires on " + exp + "; " + due + " is the last day to ask for an extension"
	}
	return string(n.Kind), string(n.Kind)
}

// findingStateZh is how a finding's state reads in a notice (GLOSSARY.md).
var findingStateZh = map[ledger.FindingState]string{
	ledger.FindingDetected: "待审核", ledger.FindingWarned: "警告提示", ledger.FindingDismissed: "不予警告", ledger.FindingExplained: "已提交情况说明",
	ledger.FindingClosed: "情况说明已采纳，已关闭", ledger.FindingOverdue: "逾期未整改", ledger.FindingEnforced: "停止发放并回收", ledger.FindingRectified: "已整改",
}

// findingTitles: what a finding's step tells its party (SPEC: Lifecycle).
func findingTitles(n ledger.Notice, due string) (zh, en string) {
	subject := n.Resource
	if subject == "" {
		subject = "（项目）"
	}
	zh = "资源利用率问题 " + n.Finding + "（" + subject + "）" + findingStateZh[n.FindingState]
	en = "Utilisation finding " + n.Finding + " (" + n.Resource + ") is " + string(n.FindingState)
	switch st := n.FindingState; {
	case (st == ledger.FindingDetected || st == ledger.FindingExplained || st == ledger.FindingWarned) && due == "":
		zh += "，期限待该年度日历加载后确定"
		en += "; the deadline is unknown until the calendar of its year is loaded"
	case st == ledger.FindingDetected || st == ledger.FindingExplained:
		zh += "，请于 " + due + " 前审核"
		en += ": review it by " + due
	case st == ledger.FindingWarned:
		zh += "，请于 " + due + " 前完成整改"
		en += ": rectify it by " + due
	case st == ledger.FindingEnforced:
		zh += "：整改完成前停止新增和扩容资源，相关资源将被回收"
		en += ": no new or expanded resources until it is rectified; the resources are reclaimed"
	}
	if n.Reason != "" {
		zh += "；理由：" + n.Reason
		en += "; reason: " + n.Reason
	}
	return zh, en
}

// Sign is the signature header's value for body sent at timestamp ts (Unix seconds).
func Sign(secret []byte, ts int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a delivery's signature, as a receiver does; a timestamp older than maxAge
// (before now) is refused too, so a captured delivery cannot be replayed later.
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time, maxAge time.Duration) bool {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return false
	}
	if age := now.Sub(time.Unix(ts, 0)); age > maxAge || age < -maxAge {
		return false
	}
	return hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signature))
}
