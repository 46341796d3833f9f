package console

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"image/png"
	"net/http"
	"strings"

	"connectrpc.com/connect"
	"github.com/pquerna/otp"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
)

// Accounts (SPEC: Access, 三员分立): the security officer's account pages (list, create,
// reset, disable, enable), the confirmations a second person gives (authority, security,
// auditor), the page where a person activates their account with the one-time code, and
// the page where everyone changes their own password. The API decides who may do what.

func (c *Console) accountsPage(rq *pageRequest) (*Page, error) {
	page := &Page{Title: rq.t("账号管理", "Accounts")}
	if rq.r.Method == "POST" {
		done, err := c.accountAction(rq, page)
		if err != nil {
			return nil, err
		}
		if done != nil {
			return done, nil
		}
	}
	res, err := c.accounts.ListAccounts(rq.ctx(), connect.NewRequest(&v1.ListAccountsRequest{}))
	if err != nil {
		return nil, err
	}
	t := &Table{ID: "accounts", Columns: []Column{{rq.t("账号", "Account"), Mono}, {rq.t("名称", "Name"), Text}, {rq.t("角色", "Role"), Text},
		{rq.t("范围", "Scope"), Text}, {rq.t("类型", "Kind"), Text}, {rq.t("状态", "Status"), Text}, {rq.t("创建人", "Created by"), Mono},
		{rq.t("确认人", "Confirmed by"), Mono}, {rq.t("凭证", "Credentials"), Text}, {rq.t("操作", "Action"), Text}}}
	for _, a := range res.Msg.GetAccounts() {
		kind := rq.t("人员", "person")
		if a.GetProgram() {
			kind = rq.t("程序", "program")
		}
		cred := ""
		switch {
		case a.GetActivationPending():
			cred = rq.t("待激活", "awaiting activation")
		case a.GetPasswordSet():
			cred = rq.t("已设密码", "password set")
		}
		if a.GetTotp() {
			cred += rq.t("，动态口令", ", TOTP")
		}
		if a.GetLockedUntil() != "" {
			cred += rq.t("，锁定至 ", ", locked until ") + formatDate(rq.lang, a.GetLockedUntil())
		}
		var actions []*Form
		hidden := func(op string) []Field {
			return []Field{{Name: "op", Type: "hidden", Value: op}, {Name: "id", Type: "hidden", Value: a.GetId()}}
		}
		switch a.GetStatus() {
		case "disabled":
			actions = append(actions, &Form{Action: "/accounts", Inline: true, Submit: rq.t("启用", "Enable"), Fields: hidden("enable")})
		case "retired":
		default:
			actions = append(actions, &Form{Action: "/accounts", Inline: true, Submit: rq.t("停用", "Disable"), Class: "danger",
				Confirm: fmt.Sprintf(rq.t("停用账号 %s？其令牌与会话立即失效。", "Disable %s? Its tokens and sessions stop at once."), a.GetId()), Fields: hidden("disable")})
			if !a.GetProgram() {
				actions = append(actions, &Form{Action: "/accounts", Inline: true, Submit: rq.t("重置", "Reset"),
					Confirm: fmt.Sprintf(rq.t("重置 %s？现有密码、动态口令与会话失效，须用新激活码重新激活。", "Reset %s? Its password, TOTP key and sessions end; it activates again with a new code."), a.GetId()), Fields: hidden("reset")})
			}
		}
		class := map[string]string{"pending": "over", "disabled": "violation", "retired": "violation"}[a.GetStatus()]
		t.add(class, C(a.GetId()), C(accountName(rq, a.GetName())), C(rq.word("role", a.GetRole())), scopeCell(rq, a), C(kind),
			C(rq.word("account_status", a.GetStatus())), C(a.GetCreatedBy()), C(a.GetConfirmedBy()), C(cred), Cell{Forms: actions})
	}
	roleOpts := []Option{}
	for _, r := range []string{"department", "provider", "authority", "supervisor", "finance", "auditor", "security"} {
		roleOpts = append(roleOpts, Option{r, rq.word("role", r)})
	}
	// A refused form keeps what was typed; after an account is made the form is empty again
	// (typed into, the old id would run into the next one's).
	typed := func(k string) string {
		if page.Error == "" {
			return ""
		}
		return rq.r.PostFormValue(k)
	}
	add := &Form{Action: "/accounts", Submit: rq.t("创建账号", "Create account"), Fields: []Field{
		{Name: "op", Type: "hidden", Value: "add"},
		{Name: "id", Label: rq.t("账号", "Account id"), Required: true, Placeholder: "edu-zhang", Value: typed("id")},
		{Name: "name", Label: rq.t("姓名或名称", "Name"), Required: true, Value: typed("name")},
		{Name: "role", Label: rq.t("角色", "Role"), Type: "select", Options: roleOpts, Value: typed("role")},
		{Name: "department", Label: rq.t("所属使用单位（使用单位角色）", "Department (department role)"), Type: "select", Value: typed("department"), Options: scopeOptions(rq, rq.deptOptions())},
		{Name: "provider", Label: rq.t("所属云服务商（云服务商角色）", "Provider (provider role)"), Type: "select", Value: typed("provider"), Options: scopeOptions(rq, rq.provOptions())},
		{Name: "program", Label: rq.t("程序账号（仅令牌，无密码）", "Program account (tokens only, no password)"), Type: "checkbox", Value: "1"},
	}}
	page.Sections = append(page.Sections,
		&Section{Title: rq.t("创建账号", "Create an account"), Form: add, Note: rq.t(
			"人员账号获得一次性激活码（72 小时有效，只显示一次），交由本人激活并自行设置密码；主管部门、经信、财政、审计、安全管理员账号须由第二人确认后方可使用（三员分立）。",
			"A person's account gets a one-time activation code (valid 72 hours, shown once) to hand to the person, who sets their own password; authority, supervisor, finance, auditor and security accounts act only once a second person confirms them.")},
		&Section{Title: rq.t("全部账号", "All accounts"), Table: t})
	return page, nil
}

// scopeOptions are a scope's choices by name (the code is each option's value), after an
// empty choice for the roles that have no such scope.
func scopeOptions(rq *pageRequest, opts []Option) []Option {
	return append([]Option{{"", rq.t("（请选择）", "(choose)")}}, opts...)
}

// scopeCell is an account's department or provider by name, its code beside it.
func scopeCell(rq *pageRequest, a *v1.Account) Cell {
	if a.GetDepartment() != "" {
		return rq.deptCell(a.GetDepartment())
	}
	return optional(rq.provCell, a.GetProvider())
}

// accountName is an account's name as the page shows it: the ledger names its two
// initial credentials "… (bootstrap)", which reads 初始凭证 here.
func accountName(rq *pageRequest, name string) string {
	if n, ok := strings.CutSuffix(name, " (bootstrap)"); ok {
		return n + rq.t("（初始凭证）", " (bootstrap)")
	}
	return name
}

// accountAction carries out a form of the accounts page. A new activation code is shown
// on the page (once) rather than redirected to, so that it is in no URL or history.
func (c *Console) accountAction(rq *pageRequest, page *Page) (*Page, error) {
	f := func(k string) string { return strings.TrimSpace(rq.r.PostFormValue(k)) }
	id := f("id")
	var code, expires string
	key, err := formKey(rq, "console/account/")
	if err != nil {
		return nil, err
	}
	switch f("op") {
	case "add":
		req := &v1.AddAccountRequest{Key: key, Id: id, Name: f("name"), Role: f("role"), Program: f("program") != ""}
		switch req.Role {
		case "department":
			req.Department = f("department")
		case "provider":
			req.Provider = f("provider")
		}
		var res *connect.Response[v1.AddAccountResponse]
		if res, err = c.accounts.AddAccount(rq.ctx(), connect.NewRequest(req)); err == nil {
			code, expires = res.Msg.GetActivationCode(), res.Msg.GetActivationExpires()
			page.Flash = fmt.Sprintf(rq.t("账号 %s 已创建", "Account %s created"), id)
			if res.Msg.GetPending() {
				page.Flash += rq.t("，待第二人确认后方可使用", "; it acts once a second person confirms it")
			}
		}
	case "reset":
		var res *connect.Response[v1.ResetAccountResponse]
		if res, err = c.accounts.ResetAccount(rq.ctx(), connect.NewRequest(&v1.ResetAccountRequest{Key: key, Id: id})); err == nil {
			code, expires = res.Msg.GetActivationCode(), res.Msg.GetActivationExpires()
			page.Flash = fmt.Sprintf(rq.t("账号 %s 已重置", "Account %s reset"), id)
		}
	case "disable", "enable":
		_, err = c.accounts.SetAccountStatus(rq.ctx(), connect.NewRequest(&v1.SetAccountStatusRequest{Key: key, Id: id, Disabled: f("op") == "disable"}))
		if err == nil {
			return &Page{Redirect: "/accounts?flash=account_" + f("op")}, nil
		}
	default:
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("unknown action %q", f("op")))
	}
	if err != nil {
		page.ErrorCode, page.Error = apiError(err)
		page.ErrorDetail = apiDetail(err)
		page.Status = http.StatusUnprocessableEntity
		return nil, nil
	}
	if code != "" {
		page.Sections = append(page.Sections, &Section{ID: "activation-code", Title: rq.t("一次性激活码", "One-time activation code"),
			Facts: []Fact{{Label: rq.t("账号", "Account"), Value: id, Mono: true}, {Label: rq.t("激活码", "Code"), Value: code, Mono: true},
				{Label: rq.t("有效至", "Valid until"), Value: formatDate(rq.lang, expires)}},
			Note: rq.t("此码只显示这一次：请当面或经可靠渠道交给本人，本人在“激活账号”页面用它设置自己的密码。", "Shown this once: hand it to the person, who sets their own password with it on the Activate page.")})
	}
	return nil, nil
}

// pendingPage lists the accounts waiting for a second person and confirms one; the ledger
// says whether this account may (never the creator, an authority for the business roles,
// a second security officer or an auditor for security and auditor accounts).
func (c *Console) pendingPage(rq *pageRequest) (*Page, error) {
	page := flash(rq, &Page{Title: rq.t("待确认账号", "Accounts to confirm")})
	if rq.r.Method == "POST" {
		id := strings.TrimSpace(rq.r.PostFormValue("id"))
		key, err := formKey(rq, "console/confirm/")
		if err != nil {
			return nil, err
		}
		if _, err := c.accounts.ConfirmAccount(rq.ctx(), connect.NewRequest(&v1.ConfirmAccountRequest{Key: key, Id: id})); err != nil {
			page.ErrorCode, page.Error = apiError(err)
			page.ErrorDetail = apiDetail(err)
			page.ErrorDetail = apiDetail(err)
			page.Status = http.StatusUnprocessableEntity
		} else {
			return &Page{Redirect: "/accounts/pending?flash=account_confirmed"}, nil
		}
	}
	t := &Table{ID: "pending", Columns: []Column{{rq.t("账号", "Account"), Mono}, {rq.t("名称", "Name"), Text}, {rq.t("角色", "Role"), Text},
		{rq.t("创建人", "Created by"), Mono}, {rq.t("操作", "Action"), Text}}}
	res, err := c.accounts.ListAccounts(rq.ctx(), connect.NewRequest(&v1.ListAccountsRequest{}))
	if err != nil {
		return nil, err
	}
	{
		for _, a := range res.Msg.GetAccounts() {
			if a.GetStatus() != "pending" {
				continue
			}
			t.add("over", C(a.GetId()), C(accountName(rq, a.GetName())), C(rq.word("role", a.GetRole())), C(a.GetCreatedBy()), Cell{Forms: []*Form{{Action: "/accounts/pending",
				Inline: true, Submit: rq.t("确认", "Confirm"), Fields: []Field{{Name: "id", Type: "hidden", Value: a.GetId()}}}}})
		}
	}
	form := &Form{Action: "/accounts/pending", Submit: rq.t("确认", "Confirm"), Fields: []Field{
		{Name: "id", Label: rq.t("待确认的账号", "Account to confirm"), Required: true}}}
	page.Sections = append(page.Sections, &Section{Title: rq.t("确认账号", "Confirm an account"), Form: form, Note: rq.t(
		"作为第二人确认新建的特权账号：主管部门确认主管部门、经信、财政账号；另一安全管理员（无则审计管理员）确认安全与审计账号；创建人不能确认自己创建的账号。",
		"Confirm a new privileged account as the second person: an authority confirms authority, supervisor and finance accounts; another security officer (else an auditor) confirms security and auditor accounts; the creator never confirms.")})
	if len(t.Rows) > 0 {
		page.Sections = append(page.Sections, &Section{Title: rq.t("等待确认", "Waiting"), Table: t})
	}
	return page, nil
}

// passwordPage: a person changes their own password (the session ends with the old one)
// and their own TOTP second factor — enrols it, replaces its key (the new key shown once,
// on this page, never in a URL), or removes it where the role does not require one.
func (c *Console) passwordPage(rq *pageRequest) (*Page, error) {
	page := flash(rq, &Page{Title: rq.t("密码与动态口令", "Password and second factor")})
	var newKey string
	if rq.r.Method == "POST" {
		switch rq.r.PostFormValue("op") {
		case "totp_enrol", "totp_remove":
			done, url, err := c.changeTOTP(rq, page)
			if err != nil || done != nil {
				return done, err
			}
			newKey = url
		default:
			if done, err := c.changePassword(rq, page); err != nil || done != nil {
				return done, err
			}
		}
	}
	form := &Form{Action: "/password", Submit: rq.t("修改密码", "Change password"), Fields: []Field{
		{Name: "old", Label: rq.t("当前密码", "Current password"), Type: "password", Required: true},
		{Name: "new", Label: rq.t("新密码（至少 8 位，含 3 类字符）", "New password (8+ characters of 3 classes)"), Type: "password", Required: true},
		{Name: "again", Label: rq.t("再输一次新密码", "New password again"), Type: "password", Required: true}}}
	page.Sections = []*Section{{ID: "password", Title: rq.t("修改密码", "Change password"), Form: form}}
	page.Sections = append(page.Sections, c.totpSections(rq, newKey)...)
	return page, nil
}

// changePassword carries out the password form: nil, nil when the page shows an error.
func (c *Console) changePassword(rq *pageRequest, page *Page) (*Page, error) {
	if rq.r.PostFormValue("new") != rq.r.PostFormValue("again") {
		page.Error, page.Status = rq.t("两次输入的新密码不一致", "The two new passwords differ"), http.StatusUnprocessableEntity
		return nil, nil
	}
	key, err := formKey(rq, "console/password/")
	if err != nil {
		return nil, err
	}
	_, err = c.accounts.ChangePassword(rq.ctx(), connect.NewRequest(&v1.ChangePasswordRequest{Key: key, OldPassword: rq.r.PostFormValue("old"), NewPassword: rq.r.PostFormValue("new")}))
	if err != nil {
		page.ErrorCode, page.Error = apiError(err)
		page.ErrorDetail = apiDetail(err)
		page.Status = http.StatusUnprocessableEntity
		return nil, nil
	}
	return &Page{Redirect: "/signin?changed=1", SignedOut: true}, nil
}

// changeTOTP carries out a TOTP form: enrolled, the new key's URL for the page to show
// once; removed, a redirect; refused, the error on the page.
func (c *Console) changeTOTP(rq *pageRequest, page *Page) (*Page, string, error) {
	key, err := formKey(rq, "console/totp/")
	if err != nil {
		return nil, "", err
	}
	remove := rq.r.PostFormValue("op") == "totp_remove"
	res, err := c.accounts.ChangeTOTP(rq.ctx(), connect.NewRequest(&v1.ChangeTOTPRequest{Key: key, Remove: remove,
		Password: rq.r.PostFormValue("password"), TotpCode: strings.TrimSpace(rq.r.PostFormValue("code"))}))
	if err != nil {
		page.ErrorCode, page.Error = apiError(err)
		page.ErrorDetail = apiDetail(err)
		if page.ErrorCode == "unauthenticated" {
			page.Error = rq.t("当前密码或动态口令错误（连续 5 次错误将锁定 30 分钟）", "Wrong password or TOTP code (5 in a row lock the account for 30 minutes)")
		}
		page.Status = http.StatusUnprocessableEntity
		return nil, "", nil
	}
	if remove {
		return &Page{Redirect: "/password?flash=totp_removed"}, "", nil
	}
	rq.me.TOTP = true
	page.Flash = rq.t("动态口令已启用：下次登录起须输入新密钥生成的口令。", "The second factor is on: from the next sign-in, enter a code of the new key.")
	return nil, res.Msg.GetTotpUrl(), nil
}

// totpSections are the second factor's part of the page: whether it is on, the form that
// enrols it or replaces its key (asked to confirm a replacement: the old key stops), the
// new key once, and the removal (asked to confirm) where the role allows it.
func (c *Console) totpSections(rq *pageRequest, newKey string) []*Section {
	on, required := rq.me.TOTP, rq.me.TOTPRequired
	state := rq.t("未启用", "off")
	if on {
		state = rq.t("已启用", "on")
	}
	need := rq.t("否", "no")
	if required {
		need = rq.t("是（不能移除，可更换密钥）", "yes (it can be replaced, not removed)")
	}
	fields := func(op string) []Field {
		f := []Field{{Name: "op", Type: "hidden", Value: op},
			{Name: "password", Label: rq.t("当前密码", "Current password"), Type: "password", Required: true}}
		if on {
			f = append(f, Field{Name: "code", Label: rq.t("当前动态口令（6 位数字）", "Current TOTP code (6 digits)"), Required: true, Placeholder: "123456"})
		}
		return f
	}
	enrol := &Form{Action: "/password", Submit: rq.t("启用动态口令", "Enrol a second factor"), Fields: fields("totp_enrol")}
	if on {
		enrol.Submit = rq.t("更换密钥", "Replace the key")
		enrol.Confirm = rq.t("更换后原密钥立即失效，须把新密钥添加到身份验证器。继续？", "The old key stops at once: add the new one to your authenticator app. Go on?")
	}
	out := []*Section{{ID: "totp", Title: rq.t("动态口令（第二重验证）", "Second factor (TOTP)"), Form: enrol,
		Facts: []Fact{{Label: rq.t("状态", "State"), Value: state}, {Label: rq.t("角色要求", "Required by the role"), Value: need}},
		Note: rq.t("启用后，登录时除密码外还须输入身份验证器（如手机上的验证器应用）每 30 秒生成的 6 位口令。新密钥只显示一次。",
			"Once on, signing in takes the 6-digit code your authenticator app makes every 30 seconds besides the password. The new key is shown once.")}}
	if newKey != "" {
		key := &Section{ID: "totp-key", Title: rq.t("新密钥（只显示这一次）", "The new key (shown this once)"),
			Facts: []Fact{{Label: rq.t("密钥地址", "Key"), Value: newKey, Mono: true}},
			Note: rq.t("请立即用身份验证器扫描二维码（或手工输入密钥）添加此密钥，离开本页后不再显示；本人以外任何人不得知晓。",
				"Scan the QR code with your authenticator app now (or type the key in): it is not shown again once you leave this page, and nobody else may learn it.")}
		if k, err := otp.NewKeyFromURL(newKey); err == nil {
			key.Facts = append(key.Facts, Fact{Label: rq.t("密钥（手工输入）", "Key (to type in)"), Value: k.Secret(), Mono: true})
			if img, err := qrImage(k); err == nil {
				key.Image = &Image{Src: img, Alt: rq.t("密钥二维码", "QR code of the key"), Size: qrSize}
			}
		}
		out = append(out, key)
	}
	if on && !required {
		out = append(out, &Section{ID: "totp-remove", Title: rq.t("移除动态口令", "Remove the second factor"),
			Form: &Form{Action: "/password", Submit: rq.t("移除动态口令", "Remove"), Class: "danger", Fields: fields("totp_remove"),
				Confirm: rq.t("移除后登录只需密码，账号安全性降低。确定移除？", "Signing in will take the password alone. Remove the second factor?")}})
	}
	return out
}

// qrSize is the side of a key's QR code, in pixels.
const qrSize = 200

// qrImage is the key's QR code as a data URL: the key never leaves this answer.
func qrImage(k *otp.Key) (template.URL, error) {
	img, err := k.Image(qrSize, qrSize)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return "", err
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes())), nil
}

// activateForm is the page where a person sets their password with the one-time code.
func (c *Console) activateForm(rq *pageRequest, account string) *Page {
	f := &Form{Action: "/activate", Submit: rq.t("激活", "Activate"), Fields: []Field{
		{Name: "account", Label: rq.t("账号", "Account"), Value: account, Required: true},
		{Name: "code", Label: rq.t("一次性激活码", "One-time activation code"), Required: true, Placeholder: "XXXX-XXXX-XXXX-XXXX-XXXX-XXXX"},
		{Name: "password", Label: rq.t("新密码（至少 8 位，含 3 类字符）", "New password (8+ characters of 3 classes)"), Type: "password", Required: true},
		{Name: "again", Label: rq.t("再输一次", "Again"), Type: "password", Required: true},
		{Name: "totp", Label: rq.t("启用动态口令（角色要求时自动启用）", "Enrol a TOTP second factor (automatic where the role requires one)"), Type: "checkbox", Value: "1"},
	}}
	return &Page{Title: rq.t("激活账号", "Activate your account"), Template: "signin", Sections: []*Section{{Form: f}}}
}

func (c *Console) activatePage(w http.ResponseWriter, r *http.Request) {
	rq := c.newRequest(r)
	rq.caller.session = ""
	c.ensurePresession(w, rq)
	rq.csrf = c.csrfToken(rq.csrfBind())
	c.render(w, r, rq, http.StatusOK, "signin", c.activateForm(rq, r.URL.Query().Get("account")))
}

func (c *Console) activate(w http.ResponseWriter, r *http.Request) {
	rq := c.newRequest(r)
	rq.caller.session = ""
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if !c.checkCSRF(rq) {
		if c.cfg.Record != nil {
			c.cfg.Record(r.PostFormValue("account"), "", rq.caller.addr, "console POST /activate", "csrf_token_invalid")
		}
		c.ensurePresession(w, rq)
		rq.csrf = c.csrfToken(rq.csrfBind())
		c.refuse(w, r, rq, http.StatusForbidden, "csrf_token_invalid", rq.t("表单已过期（CSRF 校验失败），请刷新后重试", "The form expired (CSRF check failed); reload and try again"))
		return
	}
	account := strings.TrimSpace(r.PostFormValue("account"))
	rq.csrf = c.csrfToken(rq.csrfBind())
	p := c.activateForm(rq, account)
	if r.PostFormValue("password") != r.PostFormValue("again") {
		p.Error = rq.t("两次输入的密码不一致", "The two passwords differ")
		c.render(w, r, rq, http.StatusUnprocessableEntity, "signin", p)
		return
	}
	key, kerr := formKey(rq, "console/activate/")
	if kerr != nil {
		p.Error = rq.t("表单已过期，请刷新后重试", "The form expired; reload and try again")
		c.render(w, r, rq, http.StatusBadRequest, "signin", p)
		return
	}
	res, err := c.accounts.Activate(rq.ctx(), connect.NewRequest(&v1.ActivateRequest{Key: key, Account: account, Code: strings.TrimSpace(r.PostFormValue("code")),
		Password: r.PostFormValue("password"), Totp: r.PostFormValue("totp") != ""}))
	if err != nil {
		p.ErrorCode, p.Error = apiError(err)
		p.ErrorDetail = apiDetail(err)
		if p.ErrorCode == "unauthenticated" {
			p.Error = rq.t("账号或激活码错误，或激活码已过期", "Wrong account or code, or the code expired")
		}
		c.render(w, r, rq, http.StatusUnauthorized, "signin", p)
		return
	}
	done := &Page{Title: rq.t("账号已激活", "Account activated"), Flash: rq.t("账号已激活，请用新密码登录。", "Your account is active: sign in with your new password.")}
	sec := &Section{Facts: []Fact{{Label: rq.t("账号", "Account"), Value: account, Mono: true}, {Label: rq.t("登录", "Sign in"), Value: "/signin", Href: "/signin"}}}
	if u := res.Msg.GetTotpUrl(); u != "" {
		sec.Facts = append(sec.Facts, Fact{Label: rq.t("动态口令密钥（只显示一次，请添加到身份验证器）", "TOTP key (shown once: add it to your authenticator app)"), Value: u, Mono: true})
		if k, err := otp.NewKeyFromURL(u); err == nil {
			if img, err := qrImage(k); err == nil {
				sec.Image = &Image{Src: img, Alt: rq.t("密钥二维码", "QR code of the key"), Size: qrSize}
			}
		}
	}
	done.Sections = []*Section{sec}
	c.render(w, r, rq, http.StatusOK, "page", done)
}
