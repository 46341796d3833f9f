package console

import (
	"fmt"
	"html"
	"html/template"

	"github.com/cloudledger/cloudledger/money"

	"net/url"
	"strings"
	"time"
)

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return l
}()

var funcs = template.FuncMap{
	"t": func(lang, zh, en string) string {
		if lang == "en" {
			return en
		}
		return zh
	},
	"cell":     formatCell,
	"cellBody": cellBody,
	"codeOf":   codeHTML,
	"hashOf":   hashHTML,
	"numeric":  func(k ColumnKind) bool { return k == Money || k == Number },
	"roleName": roleName,
	"formArgs": func(p *Page, f *Form) formArgs { return formArgs{p, f} },
	// Every form that posts carries an idempotency key made when it is drawn (formKey).
	"newKey": newKey,
	"needsKey": func(fields []Field) bool {
		for _, f := range fields {
			if f.Name == "key" {
				return false
			}
		}
		return true
	},
	"tableArgs": func(p *Page, t *Table) tableArgs { return tableArgs{p, t} },
	"downloadURL": func(p *Page, table, format string) string {
		q, _ := url.ParseQuery(p.Query)
		q.Set("download", format)
		q.Set("table", table)
		return p.Path + "?" + q.Encode()
	},
}

type formArgs struct {
	Page *Page
	Form *Form
}

type tableArgs struct {
	Page  *Page
	Table *Table
}

// roleName is a role in the words of GLOSSARY.md.
func roleName(lang, role string) string {
	zh := map[string]string{"authority": "主管部门", "supervisor": "经济信息化主管部门", "finance": "财政局",
		"provider": "云服务商", "department": "使用单位", "auditor": "审计管理员", "security": "安全管理员"}
	if lang == "en" || zh[role] == "" {
		return role
	}
	return zh[role]
}

// formatCell is a cell's text as the page shows it. A money or number cell whose text is
// not a plain decimal is not shown at all (unreadable), never as zero or as it came.
func formatCell(k ColumnKind, lang, v string) string {
	switch k {
	case Money:
		return formatMoney(lang, v)
	case Number:
		return formatNumber(lang, v)
	case Date:
		return formatDate(lang, v)
	}
	return v
}

// cellBody is a cell's content as the page shows it: a code or a hash inside an element
// marked as code, a name with its code small beside it, anything else as formatCell says.
// Every text is escaped here.
func cellBody(k ColumnKind, lang string, c Cell) template.HTML {
	switch {
	case k == Hash:
		return hashHTML(c.Text)
	case k == Mono || c.Code != "" && c.Code == c.Text:
		return codeHTML(c.Text)
	case c.Code != "":
		return template.HTML(html.EscapeString(formatCell(k, lang, c.Text))) + " " + codeHTML(c.Code)
	}
	return template.HTML(html.EscapeString(formatCell(k, lang, c.Text)))
}

// codeHTML is a code in an element marked as code (small, monospaced; the Latin-text
// scan of the pages passes over it).
func codeHTML(s string) template.HTML {
	if s == "" {
		return ""
	}
	return template.HTML(`<code class="code">` + html.EscapeString(s) + `</code>`)
}

// hashShown is how many characters of a hash a table shows.
const hashShown = 12

// hashHTML is a hash shortened to its first characters, the whole in the title to hover
// or copy.
func hashHTML(s string) template.HTML {
	if len(s) <= hashShown+1 {
		return codeHTML(s)
	}
	return template.HTML(`<code class="code hash" title="` + html.EscapeString(s) + `">` + html.EscapeString(s[:hashShown]) + `…</code>`)
}

// unreadable is what a figure the console cannot read shows instead.
func unreadable(lang string) string {
	if lang == "en" {
		return "⚠ unreadable figure"
	}
	return "⚠ 数值无法识别"
}

// formatMoney is an amount with thousands separators and two decimals, half-up:
// 1,234,567.80 (package money: the ledger's rounding, not the banker's).
func formatMoney(lang, s string) string {
	if s == "" {
		return ""
	}
	d, err := money.Parse(s)
	if err != nil {
		return unreadable(lang)
	}
	return money.Grouped(d)
}

// formatNumber is a quantity with thousands separators and its own decimals.
func formatNumber(lang, s string) string {
	if s == "" {
		return ""
	}
	num, percent := strings.CutSuffix(s, "%") // a ratio shown as 98.5%
	d, err := money.Parse(num)
	if err != nil {
		return unreadable(lang)
	}
	if percent {
		return money.Group(num) + "%"
	}
	return money.Group(d.String())
}

// formatDate shows YYYY-MM-DD, an RFC 3339 time or YYYY-MM as 2026年3月1日 (Chinese) or
// 1 Mar 2026; anything else as it is.
func formatDate(lang, s string) string {
	if s == "" {
		return ""
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		t = t.In(shanghai)
		if lang == "en" {
			return t.Format("2 Jan 2006 15:04")
		}
		return fmt.Sprintf("%d年%d月%d日 %s", t.Year(), int(t.Month()), t.Day(), t.Format("15:04"))
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		if lang == "en" {
			return t.Format("2 Jan 2006")
		}
		return fmt.Sprintf("%d年%d月%d日", t.Year(), int(t.Month()), t.Day())
	}
	if t, err := time.Parse("2006-01", s); err == nil {
		if lang == "en" {
			return t.Format("Jan 2006")
		}
		return fmt.Sprintf("%d年%d月", t.Year(), int(t.Month()))
	}
	return s
}
