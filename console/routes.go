package console

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"strings"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
)

// handler builds one page from a console request.
type handler func(rq *pageRequest) (*Page, error)

func (c *Console) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /{$}", c.home)
	m.HandleFunc("GET /signin", c.signInPage)
	m.HandleFunc("POST /signin", c.signIn)
	m.HandleFunc("GET /lang", c.switchLang)
	m.Handle("POST /signout", c.page(c.signOut))

	m.Handle("/d/{dept}", c.page(c.departmentHome))
	m.Handle("/d/{dept}/resources", c.page(c.departmentResources))
	m.Handle("/d/{dept}/charges", c.page(c.departmentCharges))
	m.Handle("/d/{dept}/statement", c.page(c.departmentStatement))

	m.Handle("/p/{prov}", c.page(c.providerHome))
	m.Handle("/p/{prov}/statement", c.page(c.providerStatement))
	m.Handle("/p/{prov}/invoice", c.upload(c.providerInvoice, func(rq *pageRequest) bool {
		return rq.me.Role == "authority" || rq.me.Role == "provider" && rq.me.Provider == rq.r.PathValue("prov")
	}))
	m.Handle("/p/{prov}/invoices", c.page(c.providerInvoices))

	m.Handle("/supervisor", c.page(c.supervisorHome))
	m.Handle("/supervisor/approvals", c.page(c.supervisorApprovals))

	m.Handle("/finance", c.page(c.financeHome))
	m.Handle("/finance/settlement", c.page(c.settlementDocument))

	m.Handle("/authority", c.upload(c.authorityImport, func(rq *pageRequest) bool { return rq.me.Role == "authority" }))
	m.Handle("/authority/import/{job}", c.page(c.authorityImportJob))
	m.Handle("/authority/periods", c.page(c.authorityPeriods))
	m.Handle("/authority/catalog", c.page(c.authorityCatalog))

	m.Handle("/auditor", c.page(c.auditorHome))
	m.Handle("/auditor/line-items", c.page(c.auditorLineItems))
	m.Handle("/access", c.page(c.accessTrail))
	m.Handle("/requests", c.page(c.requestsPage))
	m.Handle("GET /requests/{id}", c.page(c.requestDetail))
	m.Handle("/utilisation", c.page(c.utilisationPage))
	m.Handle("/findings", c.page(c.findingsPage))
	m.Handle("/findings/rules", c.page(c.findingRulesPage))
	m.Handle("/evaluation", c.page(c.evaluationPage))
	m.Handle("/accounts", c.page(c.accountsPage))
	m.Handle("/accounts/pending", c.page(c.pendingPage))
	m.Handle("/password", c.page(c.passwordPage))
	m.HandleFunc("GET /activate", c.activatePage)
	m.HandleFunc("POST /activate", c.activate)
	m.Handle("/departments", c.page(c.departmentsPage))
	m.Handle("/notices", c.page(c.noticesPage))
	m.Handle("/providers", c.page(c.providersPage))
	m.Handle("/projects", c.page(c.projectsPage))
	m.HandleFunc("/", c.notFound)
	c.mux = m
}

// page serves a handler for a signed-in account: the session is checked by the API
// (WhoAmI), a form must carry this session's CSRF token, and the page is rendered, or one
// of its tables downloaded, or the form answered with a redirect. A page takes no file.
func (c *Console) page(h handler) http.Handler { return c.serve(h, nil) }

// upload is page for a page that takes a file: may says, before a byte of the body is read,
// whether the signed-in account's role could use what it uploads (the API decides again
// when it is used; this only spares parsing a workbook for a caller it would refuse).
func (c *Console) upload(h handler, may func(rq *pageRequest) bool) http.Handler {
	return c.serve(h, may)
}

func (c *Console) serve(h handler, mayUpload func(rq *pageRequest) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rq := c.newRequest(r)
		ctx, cancel := context.WithTimeout(rq.context, pageTimeout)
		defer cancel()
		rq.context = ctx
		if err := c.whoAmI(rq); err != nil {
			c.fail(w, r, rq, err)
			return
		}
		rq.csrf = c.csrfToken(rq.csrfBind())
		switch r.Method {
		case http.MethodGet, http.MethodHead:
		case http.MethodPost:
			if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
				if mayUpload == nil || !mayUpload(rq) {
					c.refusePage(w, r, rq, http.StatusForbidden, "permission_denied", rq.t("无权上传到此页面", "This account may not upload here"))
					return
				}
				if r.ContentLength > c.cfg.MaxUploadBytes+1<<20 {
					c.refusePage(w, r, rq, http.StatusRequestEntityTooLarge, "upload_too_large", fmt.Sprintf(rq.t("文件超过 %d MiB", "The file is larger than %d MiB"), c.cfg.MaxUploadBytes>>20))
					return
				}
				r.Body = http.MaxBytesReader(w, r.Body, c.cfg.MaxUploadBytes+1<<20)
				if err := r.ParseMultipartForm(8 << 20); err != nil {
					c.refusePage(w, r, rq, http.StatusRequestEntityTooLarge, "upload_too_large", rq.t("文件过大或表单无效", "The file is too large or the form is bad"))
					return
				}
			} else {
				r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
			}
			if !c.checkCSRF(rq) {
				c.refusePage(w, r, rq, http.StatusForbidden, "csrf_token_invalid", rq.t("表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试", "The form expired or came from elsewhere (CSRF check failed); reload the page and try again"))
				return
			}
		default:
			c.refuse(w, r, rq, http.StatusMethodNotAllowed, "method_not_allowed", rq.t("此页面不接受该请求方式", "This page does not take that method"))
			return
		}
		p, err := h(rq)
		if err == nil && r.Method == http.MethodGet {
			err = c.withTodo(rq, p)
		}
		if err != nil {
			c.fail(w, r, rq, err)
			return
		}
		if len(rq.unreadable) > 0 {
			c.cfg.Log.Error("console: the API answered figures the page cannot read", "path", r.URL.Path, "figures", strings.Join(rq.unreadable, " "))
			c.refusePage(w, r, rq, http.StatusBadGateway, "figure_unreadable", rq.t("服务返回了无法识别的数值，本页不予显示（以免按零计算）。请联系运行管理单位。",
				"The service answered a figure this page cannot read; the page is not shown (rather than count it as zero). Tell the cloud authority."))
			return
		}
		switch {
		case p.Redirect != "":
			if p.SignedOut {
				c.clearSession(w)
			} else {
				c.renewCookie(w, rq)
			}
			http.Redirect(w, r, p.Redirect, http.StatusSeeOther)
		case p.Download != nil:
			c.renewCookie(w, rq)
			sendFile(w, p.Download)
		case r.URL.Query().Get("download") != "":
			c.download(w, r, rq, p)
		default:
			c.render(w, r, rq, statusOf(p), orDefault(p.Template, "page"), p)
		}
	})
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// download sends one of the page's tables as CSV or XLSX.
func (c *Console) download(w http.ResponseWriter, r *http.Request, rq *pageRequest, p *Page) {
	q := r.URL.Query()
	var t *Table
	for _, s := range p.Sections {
		if s.Table != nil && s.Table.ID == q.Get("table") && !s.Table.NoDownload {
			t = s.Table
		}
	}
	if t == nil {
		c.refuse(w, r, rq, http.StatusNotFound, "unknown_table", rq.t("没有这个表格", "No such table"))
		return
	}
	c.renewCookie(w, rq)
	switch q.Get("download") {
	case "csv":
		sendFile(w, &Download{Name: t.ID + ".csv", ContentType: "text/csv; charset=utf-8", Body: t.CSV()})
	case "xlsx":
		b, err := t.XLSX(p.Title)
		if err != nil {
			c.fail(w, r, rq, err)
			return
		}
		sendFile(w, &Download{Name: t.ID + ".xlsx", ContentType: xlsxType, Body: b})
	default:
		c.refuse(w, r, rq, http.StatusBadRequest, "unknown_format", rq.t("格式只能是 xlsx 或 csv", "The format is xlsx or csv"))
	}
}

const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

func sendFile(w http.ResponseWriter, d *Download) {
	w.Header().Set("Content-Type", d.ContentType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(d.Name, `"`, "")+`"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(d.Body)
}

func (c *Console) refuse(w http.ResponseWriter, r *http.Request, rq *pageRequest, status int, code, msg string) {
	c.render(w, r, rq, status, "error", &Page{Title: rq.t("无法完成", "Not possible"), ErrorCode: code, Error: msg})
}

// refusePage is refuse for a signed-in page, recorded in the access trail like the API's
// own refusals (CSRF failures and uploads refused before the API sees them).
func (c *Console) refusePage(w http.ResponseWriter, r *http.Request, rq *pageRequest, status int, code, msg string) {
	if c.cfg.Record != nil && rq.me != nil {
		c.cfg.Record(rq.me.Account, rq.me.Role, rq.caller.addr, "console "+r.Method+" "+r.URL.Path, code)
	}
	c.refuse(w, r, rq, status, code, msg)
}

// notFound answers a path the console does not have with a page in the reader's
// language (Go's own answer is a bare English "404 page not found"), with the menu for a
// signed-in account.
func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	rq := c.newRequest(r)
	if c.whoAmI(rq) == nil {
		rq.csrf = c.csrfToken(rq.csrfBind())
	}
	c.render(w, r, rq, http.StatusNotFound, "error", &Page{Title: rq.t("页面不存在", "Page not found"), ErrorCode: "not_found",
		Error: rq.t("没有这个页面：地址可能有误，或该页面已移动。请从菜单或首页进入。", "There is no such page: the address may be wrong. Start from the menu or the home page.")})
}

// home sends a signed-in account to its role's page, anyone else to sign in.
func (c *Console) home(w http.ResponseWriter, r *http.Request) {
	rq := c.newRequest(r)
	if err := c.whoAmI(rq); err != nil {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	c.renewCookie(w, rq)
	http.Redirect(w, r, rq.me.Home(), http.StatusSeeOther)
}

func (c *Console) switchLang(w http.ResponseWriter, r *http.Request) {
	to := "zh"
	if r.URL.Query().Get("to") == "en" {
		to = "en"
	}
	http.SetCookie(w, &http.Cookie{Name: LangCookie, Value: to, Path: "/", MaxAge: 365 * 86400, SameSite: http.SameSiteLaxMode, Secure: c.cfg.Secure, HttpOnly: true})
	http.Redirect(w, r, safeNext(r.URL.Query().Get("back")), http.StatusSeeOther)
}

// signInForm always offers the TOTP field: whether an account has a second factor is not
// told before the password is right (SPEC: Access, sign-in failures).
func (c *Console) signInForm(rq *pageRequest, account, next string) *Page {
	f := &Form{Action: "/signin", Submit: rq.t("登录", "Sign in"), Fields: []Field{
		{Name: "account", Label: rq.t("账号", "Account"), Value: account, Required: true},
		{Name: "password", Label: rq.t("密码", "Password"), Type: "password", Required: true},
		{Name: "totp", Label: rq.t("动态口令（已启用时填写）", "TOTP code (if enrolled)"), Placeholder: "123456"},
		{Name: "next", Type: "hidden", Value: next},
	}}
	return &Page{Title: rq.t("登录", "Sign in"), Template: "signin", Sections: []*Section{{Form: f}}}
}

func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	rq := c.newRequest(r)
	rq.caller.session = "" // a sign-in page binds its form to the pre-session, signed in or not
	c.ensurePresession(w, rq)
	rq.csrf = c.csrfToken(rq.csrfBind())
	p := c.signInForm(rq, "", safeNext(r.URL.Query().Get("next")))
	if r.URL.Query().Get("expired") != "" {
		p.Flash = rq.t("会话已结束（30 分钟无操作或已退出），请重新登录。", "The session ended (30 minutes idle, or signed out); please sign in again.")
	}
	if r.URL.Query().Get("changed") != "" {
		p.Flash = rq.t("密码已修改，请用新密码登录。", "The password changed: sign in with the new one.")
	}
	c.render(w, r, rq, http.StatusOK, "signin", p)
}

// signIn checks the password (and TOTP code) through the API and sets the session cookie.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	rq := c.newRequest(r)
	rq.caller.session = ""
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if !c.checkCSRF(rq) {
		if c.cfg.Record != nil {
			c.cfg.Record(r.PostFormValue("account"), "", rq.caller.addr, "console POST /signin", "csrf_token_invalid")
		}
		c.ensurePresession(w, rq)
		rq.csrf = c.csrfToken(rq.csrfBind())
		c.refuse(w, r, rq, http.StatusForbidden, "csrf_token_invalid", rq.t("表单已过期（CSRF 校验失败），请刷新登录页后重试", "The form expired (CSRF check failed); reload the sign-in page"))
		return
	}
	account, next := strings.TrimSpace(r.PostFormValue("account")), safeNext(r.PostFormValue("next"))
	res, err := c.accounts.SignIn(rq.ctx(), connect.NewRequest(&v1.SignInRequest{Account: account, Password: r.PostFormValue("password"), TotpCode: strings.TrimSpace(r.PostFormValue("totp"))}))
	if err != nil {
		code, msg := apiError(err)
		rq.csrf = c.csrfToken(rq.csrfBind())
		p := c.signInForm(rq, account, next)
		p.ErrorCode, p.Error, p.ErrorDetail = code, msg, apiDetail(err)
		if code == "unauthenticated" {
			p.Error = rq.t("账号、密码或动态口令错误（连续 5 次错误将锁定 30 分钟）", "Wrong account, password or TOTP code (5 in a row lock the account for 30 minutes)")
		}
		c.render(w, r, rq, http.StatusUnauthorized, "signin", p)
		return
	}
	http.SetCookie(w, c.cookie(SessionCookie, res.Msg.GetSession(), 0))
	http.SetCookie(w, c.cookie(PresessionCookie, "", -1))
	if next == "/" {
		rq.caller.session = res.Msg.GetSession()
		if c.whoAmI(rq) == nil {
			next = rq.me.Home()
		}
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) signOut(rq *pageRequest) (*Page, error) {
	if _, err := c.accounts.SignOut(rq.ctx(), connect.NewRequest(&v1.SignOutRequest{})); err != nil {
		return nil, err
	}
	return &Page{Redirect: "/signin", SignedOut: true}, nil
}
