package console

import (
	"errors"
	"html/template"
	"net/http"
	"strings"

	"connectrpc.com/connect"

	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
)

// Page is what a page handler returns; the console fills in the rest (who, language, the
// form token, the menu) and renders it with the page template, or downloads one of its
// tables, or redirects.
type Page struct {
	Title    string
	Template string // "" is "page": the sections one under another
	Sections []*Section
	// Redirect answers a form with a redirect (post, redirect, get).
	Redirect string
	// Download answers with a file the API rendered (a statement, the budget export).
	Download *Download
	Refresh  int // seconds: a page of progress reloads itself
	// SignedOut clears the session cookie (sign-out).
	SignedOut bool

	// Filled in by the console.
	Me        *Me
	MeUnit    string // the signed-in account's department or provider, by name
	Lang      string
	CSRF      string
	Nav       []NavLink
	Path      string
	Query     string
	Status    int
	Error     string
	ErrorCode string
	// ErrorDetail is the ledger's own words for an error (English, technical), shown
	// small and marked as code after the Chinese message.
	ErrorDetail string
	Flash       string
}

// Section is one block of a page.
type Section struct {
	ID       string
	Title    string
	Note     string
	Facts    []Fact
	Chart    template.HTML // SVG from chart.go: built from escaped text only
	Image    *Image        // a picture the console drew (the QR code of a new TOTP key)
	Table    *Table
	Form     *Form
	Actions  []*Form // buttons in one row
	Progress *Progress
	Stamp    string // the statement's box for the seal (盖章) of the party it names
	Class    string
}

// Image is a square PNG drawn by the console, inline (the pages load nothing else).
type Image struct {
	Src  template.URL // data:image/png;base64,…
	Alt  string
	Size int
}

// Fact is a labelled value.
type Fact struct {
	Label, Value string
	Code         string // beside the value, marked as code (a name's code)
	Hash         bool   // a hash: shortened, the whole in its title
	Mono         bool
	Class        string
	Href         string
}

// Progress is a bar of work done.
type Progress struct {
	Done, Total int
	Label       string
}

// Percent is the share done, 0–100.
func (p *Progress) Percent() int {
	if p.Total <= 0 {
		return 0
	}
	return p.Done * 100 / p.Total
}

// Form is a form of fields.
type Form struct {
	Action    string
	Submit    string
	Fields    []Field
	Multipart bool
	Inline    bool
	Method    string // "" is post
	Class     string // of the submit button
	Confirm   string
	// Disabled, when set, is why the step is not possible now: the button is disabled and
	// the reason shown beside it.
	Disabled string
	// Buttons replace the one submit button: each posts its own value of its name (a
	// decision's approve and reject).
	Buttons []Button
}

// Button is one submit button of a form.
type Button struct {
	Name, Value, Label, Class string
	Confirm                   string // asked before the form is sent
}

// Field is one input.
type Field struct {
	Name, Label, Type, Value, Placeholder string
	Options                               []Option
	Required                              bool
}

// Option is a choice of a select.
type Option struct {
	Value, Label string
}

// Download is a file to send.
type Download struct {
	Name, ContentType string
	Body              []byte
}

// NavLink is an entry of the menu.
type NavLink struct {
	Href, Label string
	Active      bool
}

func (p *Page) fill(rq *pageRequest) {
	p.Lang, p.Me, p.Path = rq.lang, rq.me, rq.r.URL.Path
	p.Query = rq.r.URL.RawQuery
	p.CSRF = rq.csrf
	if p.Me != nil {
		switch {
		case p.Me.Department != "":
			p.MeUnit = rq.deptName(p.Me.Department)
		case p.Me.Provider != "":
			p.MeUnit = rq.provName(p.Me.Provider)
		}
		p.Nav = nav(rq)
		best := -1 // the entry whose link is the longest prefix of the path
		for i, n := range p.Nav {
			if (p.Path == n.Href || strings.HasPrefix(p.Path, n.Href+"/")) && (best < 0 || len(n.Href) > len(p.Nav[best].Href)) {
				best = i
			}
		}
		if best >= 0 {
			p.Nav[best].Active = true
		}
	}
}

// nav is the menu of a role.
func nav(rq *pageRequest) []NavLink {
	me := rq.me
	l := func(href, zh, en string) NavLink { return NavLink{Href: href, Label: rq.t(zh, en)} }
	switch me.Role {
	case "department":
		d := "/d/" + me.Department
		return []NavLink{l(d, "项目与配额", "Projects & quota"), l(d+"/resources", "云资源", "Resources"),
			l(d+"/charges", "费用", "Charges"), l(d+"/statement", "月度使用情况表", "Statements"), l("/utilisation", "资源利用率", "Utilisation"),
			l("/findings", "利用率问题", "Findings"), l("/requests", "资源申请", "Requests"), l("/evaluation", "服务质量考核", "Evaluation"), l("/notices", "通知", "Notices")}
	case "provider":
		p := "/p/" + me.Provider
		return []NavLink{l(p, "费用", "Charges"), l(p+"/statement", "月度使用情况表", "Statements"),
			l(p+"/invoice", "账单核对", "Invoice check"), l(p+"/invoices", "核对记录", "History"), l("/utilisation", "资源利用率", "Utilisation"),
			l("/findings", "利用率问题", "Findings"), l("/requests", "资源申请", "Requests"), l("/evaluation", "服务质量考核", "Evaluation"), l("/notices", "通知", "Notices")}
	case "supervisor":
		return []NavLink{l("/supervisor", "超配报告", "Overrun report"), l("/supervisor/approvals", "审批", "Approvals"), l("/utilisation", "资源利用率", "Utilisation"),
			l("/findings", "利用率问题", "Findings"), l("/requests", "资源申请", "Requests"), l("/notices", "通知", "Notices")}
	case "finance":
		return []NavLink{l("/finance", "年度结算", "Settlement years"), l("/departments", "使用单位", "Departments"), l("/findings", "利用率问题", "Findings"),
			l("/evaluation", "服务质量考核", "Evaluation")}
	case "authority":
		return []NavLink{l("/authority", "导入", "Import"), l("/authority/periods", "关账与结算", "Periods & settlement"),
			l("/authority/catalog", "目录与评分", "Catalog & scores"), l("/departments", "使用单位", "Departments"), l("/providers", "云服务商", "Providers"), l("/projects", "项目", "Projects"),
			l("/requests", "资源申请", "Requests"), l("/notices", "通知", "Notices"), l("/supervisor", "超配报告", "Overrun report"),
			l("/utilisation", "资源利用率", "Utilisation"), l("/findings", "利用率问题", "Findings"), l("/findings/rules", "利用率规则与周期", "Rules & seasons"),
			l("/evaluation", "服务质量考核", "Evaluation"), l("/accounts/pending", "待确认账号", "Accounts to confirm")}
	case "auditor":
		return []NavLink{l("/auditor", "校验", "Verify"), l("/auditor/line-items", "台账明细", "Line items"), l("/access", "访问记录", "Access trail"),
			l("/findings", "利用率问题", "Findings"), l("/evaluation", "服务质量考核", "Evaluation"), l("/notices", "通知", "Notices"),
			l("/accounts/pending", "待确认账号", "Accounts to confirm")}
	case "security":
		return []NavLink{l("/accounts", "账号管理", "Accounts"), l("/accounts/pending", "待确认账号", "Accounts to confirm"), l("/access", "访问记录", "Access trail"), l("/notices", "通知", "Notices")}
	}
	return nil
}

// apiError is an API error's code and the message to show: the code's Chinese meaning
// (errcode), or the message itself when the error is the console's own (no code). The
// ledger's own message, English and technical, is apiDetail's, shown marked as code.
func apiError(err error) (code, msg string) {
	code, detail := errorParts(err)
	if zh := errcode.Code(code).Zh(); zh != "" {
		return code, zh
	}
	if code != "" {
		return code, "操作未完成" // the detail beside it says why, in the ledger's words
	}
	return code, detail
}

// apiDetail is the ledger's own message of an API error whose page message is the code's
// meaning ("" for the console's own errors, whose message is the page's).
func apiDetail(err error) string {
	code, detail := errorParts(err)
	if code == "" {
		return ""
	}
	return detail
}

func errorParts(err error) (code, detail string) {
	var ce *connect.Error
	if !asConnect(err, &ce) {
		return "", err.Error()
	}
	for _, d := range ce.Details() {
		if v, derr := d.Value(); derr == nil {
			if ed, ok := v.(*v1.ErrorDetail); ok {
				code, detail = ed.GetCode(), ed.GetMessage()
				if f := ed.GetField(); f != "" {
					detail = f + ": " + detail
				}
			}
		}
	}
	if detail == "" {
		detail = ce.Message()
	}
	return code, detail
}

func asConnect(err error, target **connect.Error) bool { return errors.As(err, target) }

// statusOf is the HTTP status of a page's answer.
func statusOf(p *Page) int {
	if p.Status != 0 {
		return p.Status
	}
	return http.StatusOK
}
