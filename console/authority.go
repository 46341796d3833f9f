package console

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"

	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/importrun"
	"github.com/cloudledger/cloudledger/interchange"
)

// The authority's pages (主管部门): file import (upload, whole-file validation listing
// every bad row, apply with progress), periods and settlement, catalog and scores.

// Import limits.
const (
	// An account keeps at most MaxImportJobsPerAccount imports on a node (its own oldest
	// goes first), the node at most MaxImportJobs; a new upload past that waits for one to
	// expire: nobody's upload evicts another account's.
	MaxImportJobsPerAccount = 4
	MaxImportJobs           = 64
	importJobTTL            = 2 * time.Hour
	maxShownErrors          = importrun.MaxShownErrors
)

func (c *Console) authorityImport(rq *pageRequest) (*Page, error) {
	kinds := []Option{}
	for _, k := range interchange.Kinds() {
		kinds = append(kinds, Option{string(k), rq.word("file_kind", string(k))})
	}
	form := &Form{Action: "/authority", Multipart: true, Submit: rq.t("上传并校验", "Upload and validate"), Fields: []Field{
		{Name: "kind", Label: rq.t("文件类型", "Kind"), Type: "select", Value: orDefault(rq.r.FormValue("kind"), "events"), Options: kinds},
		{Name: "file", Label: rq.t("文件（CSV、XLSX 或 JSON 行格式）", "File (CSV, XLSX or JSON lines)"), Type: "file", Required: true}}}
	page := flash(rq, &Page{Title: rq.t("导入", "Import"), Sections: []*Section{{Form: form,
		Note: rq.t("先校验整个文件：有任何错误行则全部列出且不写入；无误后点“写入台账”，按每批 1,000 行写入并显示进度。重复导入同一文件不会重复记账。",
			"The whole file is validated first: every bad row is listed and nothing is written. A good file is then applied in batches of 1,000 rows with progress. Importing a file again never duplicates anything.")}}})
	if rq.r.Method != "POST" {
		return c.withOverview(rq, page)
	}
	kind, err := interchange.ParseKind(rq.r.FormValue("kind"))
	if err != nil {
		page.Error, page.Status = err.Error(), 400
		return page, nil
	}
	file, hdr, err := rq.r.FormFile("file")
	if err != nil {
		page.Error, page.Status = rq.t("请选择文件", "Choose a file"), 400
		return page, nil
	}
	defer file.Close()
	body, err := io.ReadAll(io.LimitReader(file, c.cfg.MaxUploadBytes+1))
	if err != nil || int64(len(body)) > c.cfg.MaxUploadBytes {
		page.Error, page.Status = fmt.Sprintf(rq.t("文件超过 %d MiB", "The file is larger than %d MiB"), c.cfg.MaxUploadBytes>>20), 413
		return page, nil
	}
	job := &importJob{owner: rq.me.Account, kind: kind, name: filepath.Base(hdr.Filename), body: body, created: time.Now()}
	v, err := c.importOf(job, rq.caller).Validate(rq.ctx())
	var fe *importrun.FileError
	switch {
	case errors.As(err, &fe):
		v = &importrun.Validation{File: job.name, LocalCount: 1}
		if fe.Row != nil {
			v.Local = []*interchange.RowError{fe.Row}
		} else {
			v.Local = []*interchange.RowError{{File: job.name, Line: 1, Code: errcode.Malformed, Message: fe.Error()}}
		}
	case err != nil:
		return nil, err
	}
	job.validation, job.rows = v, v.Rows
	if bad, rows, local := v.Errors(), v.Rows, v.LocalCount; v.Bad() > 0 {
		t := &Table{ID: "import-errors", Columns: []Column{{rq.t("文件", "File"), Mono}, {rq.t("行", "Line"), Number},
			{rq.t("字段", "Field"), Mono}, {rq.t("错误码", "Code"), Mono}, {rq.t("说明", "Message"), Text}}}
		for i, e := range bad {
			if i == maxShownErrors {
				break
			}
			t.add("violation", C(e.File), C(strconv.Itoa(e.Line)), C(e.Field), C(string(e.Code)), errMessage(e))
		}
		page.Error, page.ErrorDetail = importRefusal(rq, rows+local, v.Bad()), job.name
		page.Status = 422
		page.Sections = append(page.Sections, &Section{ID: "bad-rows", Title: rq.t("错误行", "Bad rows"), Table: t})
		return page, nil
	}
	id, ok := c.imports.add(job)
	job.id = id
	if !ok {
		page.Error, page.Status = fmt.Sprintf(rq.t("本节点已有 %d 个导入在进行，请稍后再试", "This node holds %d imports already; try again later"), MaxImportJobs), 503
		return page, nil
	}
	return &Page{Redirect: "/authority/import/" + id}, nil
}

// withOverview adds what the ledger holds to the authority's home page.
func (c *Console) withOverview(rq *pageRequest, p *Page) (*Page, error) {
	// The count and head as the node holds them (Status), not a re-check of the chain
	// (Verify reads every line item: the auditor's page does that).
	st, err := c.cluster.Status(rq.ctx(), connect.NewRequest(&v1.StatusRequest{}))
	if err != nil {
		return nil, err
	}
	dir, err := c.ledger.Directory(rq.ctx(), connect.NewRequest(&v1.DirectoryRequest{}))
	if err != nil {
		return nil, err
	}
	items := map[string]bool{}
	for _, pr := range dir.Msg.GetPrices() {
		items[pr.GetItem()] = true
	}
	projects := map[string]bool{}
	for _, pr := range dir.Msg.GetProjects() {
		projects[pr.GetProject()] = true
	}
	n := func(i int) string { return formatNumber(rq.lang, strconv.Itoa(i)) }
	reachable := 0
	for _, nd := range st.Msg.GetNodes() {
		if nd.GetReachable() {
			reachable++
		}
	}
	p.Sections = append(p.Sections, &Section{Title: rq.t("台账概况", "The ledger"), Facts: []Fact{
		{Label: rq.t("台账记录", "Line items"), Value: formatNumber(rq.lang, strconv.FormatUint(st.Msg.GetLineItems(), 10))},
		{Label: rq.t("使用单位", "Departments"), Value: n(len(dir.Msg.GetDepartments()))},
		{Label: rq.t("项目", "Projects"), Value: n(len(projects))},
		{Label: rq.t("服务商", "Providers"), Value: n(len(dir.Msg.GetProviders())), Href: "/authority/catalog"},
		{Label: rq.t("目录项", "Catalog items"), Value: n(len(items)), Href: "/authority/catalog"},
		{Label: rq.t("节点在线", "Nodes reachable"), Value: fmt.Sprintf("%d / %d", reachable, len(st.Msg.GetNodes())), Class: warnIf(reachable < len(st.Msg.GetNodes()))},
		{Label: rq.t("链头哈希", "Head hash"), Value: st.Msg.GetHeadHash(), Mono: true}}})
	return p, nil
}

// importRefusal says how many of a file's rows are bad: "4 行中有 3 行有错误" (issue 27:
// it read 3 行中有 4 行 once).
// The file's name is the page's error detail (marked as code).
func importRefusal(rq *pageRequest, rows, bad int) string {
	if rq.lang == "en" {
		return fmt.Sprintf("%d bad rows of %d; nothing was written", bad, rows)
	}
	return fmt.Sprintf("%d 行中有 %d 行有错误，整个文件未写入", rows, bad)
}

// errMessage is a bad row's error: the code's Chinese meaning, the decoder's or the
// ledger's own words beside it marked as code.
func errMessage(e *interchange.RowError) Cell {
	if zh := e.Code.Zh(); zh != "" {
		return Cell{Text: zh, Code: e.Message}
	}
	return Cell{Text: e.Message, Code: e.Message}
}

// importOf is the job's import with the runner every client uses (package importrun),
// speaking for the caller that uploaded it.
func (c *Console) importOf(j *importJob, cl *caller) *importrun.Import {
	return &importrun.Import{Kind: j.kind, File: j.name, API: consoleImportAPI{c: c, cl: cl}, LeasePrefix: "console-import", CallTimeout: pageTimeout,
		Open: func() (*interchange.Decoder, io.Closer, error) {
			format, err := interchange.FormatFor(j.name)
			if err != nil {
				return nil, nil, &interchange.RowError{File: j.name, Line: 1, Code: errcode.Malformed, Message: err.Error()}
			}
			sum := sha256.Sum256(j.body)
			dec, err := interchange.NewDecoder(j.kind, j.name, bytes.NewReader(j.body), format, hex.EncodeToString(sum[:])[:16])
			return dec, io.NopCloser(nil), err
		},
		Progress: func(done, total int) {
			if total > 0 {
				j.mu.Lock()
				j.done = done
				j.mu.Unlock()
			}
		}}
}

// consoleImportAPI is the import runner's view of the API in this process, as the caller.
type consoleImportAPI struct {
	c  *Console
	cl *caller
}

func (a consoleImportAPI) ValidateImport(ctx context.Context) *connect.ClientStreamForClient[v1.ValidateImportRequest, v1.ValidateImportResponse] {
	return a.c.ledger.ValidateImport(ctx)
}

func (a consoleImportAPI) Submit(ctx context.Context, cmds []*v1.Command) (*v1.SubmitResponse, error) {
	res, err := a.c.ledger.Submit(ctx, connect.NewRequest(&v1.SubmitRequest{Commands: cmds}))
	if err != nil {
		return nil, err
	}
	a.cl.mu.Lock()
	if a.cl.renewed != "" {
		a.cl.session = a.cl.renewed // keep the session alive through a long import
	}
	a.cl.mu.Unlock()
	return res.Msg, nil
}

func (consoleImportAPI) Failover(error) {} // one node: this one

// importJob is a validated file being applied in the background.
type importJob struct {
	id      string
	owner   string
	kind    interchange.FileKind
	name    string
	body    []byte
	rows    int
	created time.Time
	// validation is pass 1's outcome; pass 2 applies it.
	validation *importrun.Validation

	mu                      sync.Mutex
	started, finished       bool
	done, written, repeated int
	err                     error
}

type importJobs struct {
	mu   sync.Mutex
	jobs map[string]*importJob
}

func newImportJobs() *importJobs { return &importJobs{jobs: map[string]*importJob{}} }

func (js *importJobs) add(j *importJob) (string, bool) {
	js.mu.Lock()
	defer js.mu.Unlock()
	mine := 0
	for id, old := range js.jobs { // drop the expired
		if time.Since(old.created) > importJobTTL {
			delete(js.jobs, id)
		} else if old.owner == j.owner {
			mine++
		}
	}
	for ; mine >= MaxImportJobsPerAccount; mine-- { // then the owner's own oldest
		oldest := ""
		for id, old := range js.jobs {
			if old.owner == j.owner && (oldest == "" || old.created.Before(js.jobs[oldest].created)) {
				oldest = id
			}
		}
		delete(js.jobs, oldest)
	}
	if len(js.jobs) >= MaxImportJobs {
		return "", false
	}
	id := newKey()
	js.jobs[id] = j
	return id, true
}

func (js *importJobs) get(id, owner string) (*importJob, bool) {
	js.mu.Lock()
	defer js.mu.Unlock()
	j, ok := js.jobs[id]
	if !ok || j.owner != owner {
		return nil, false // another account's import is not found, as if it did not exist
	}
	return j, true
}

func (c *Console) authorityImportJob(rq *pageRequest) (*Page, error) {
	j, ok := c.imports.get(rq.r.PathValue("job"), rq.me.Account)
	if !ok {
		return &Page{Title: rq.t("导入", "Import"), Status: 404, Error: rq.t("没有这个导入（已过期或不是本账号的）", "No such import (expired, or not this account's)")}, nil
	}
	if rq.r.Method == "POST" {
		j.mu.Lock()
		start := !j.started
		j.started = true
		j.mu.Unlock()
		if start {
			// The apply outlives this request; it speaks for the same session and address.
			cl := &caller{session: rq.caller.session, addr: rq.caller.addr}
			go c.applyImport(withCaller(context.Background(), cl), cl, j)
		}
		return &Page{Redirect: rq.r.URL.Path}, nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	p := &Page{Title: rq.t("导入", "Import") + " · " + j.name}
	facts := []Fact{{Label: rq.t("文件", "File"), Value: j.name, Mono: true}, {Label: rq.t("类型", "Kind"), Value: rq.word("file_kind", string(j.kind))},
		{Label: rq.t("行数", "Rows"), Value: formatNumber(rq.lang, strconv.Itoa(j.rows))}}
	sec := &Section{ID: "import", Facts: facts}
	p.Sections = []*Section{sec}
	switch {
	case !j.started:
		sec.Note = rq.t("整个文件校验通过，尚未写入。", "The whole file validated; nothing is written yet.")
		sec.Form = &Form{Action: rq.r.URL.Path, Submit: rq.t("写入台账", "Apply to the ledger")}
	case !j.finished:
		p.Refresh = 1
		sec.Progress = &Progress{Done: j.done, Total: j.rows, Label: fmt.Sprintf(rq.t("已写入 %s / %s 行", "%s of %s rows applied"), formatNumber(rq.lang, strconv.Itoa(j.done)), formatNumber(rq.lang, strconv.Itoa(j.rows)))}
	default:
		sec.Progress = &Progress{Done: j.done, Total: max(j.rows, 1), Label: fmt.Sprintf(rq.t("已写入 %s / %s 行", "%s of %s rows applied"), formatNumber(rq.lang, strconv.Itoa(j.done)), formatNumber(rq.lang, strconv.Itoa(j.rows)))}
		if j.rows == 0 {
			sec.Progress.Done = 1
		}
		sec.Facts = append(sec.Facts, Fact{Label: rq.t("新记账", "New line items"), Value: formatNumber(rq.lang, strconv.Itoa(j.written))},
			Fact{Label: rq.t("重复（已在台账）", "Already on the ledger"), Value: formatNumber(rq.lang, strconv.Itoa(j.repeated))})
		if j.err != nil {
			_, msg := apiError(j.err)
			p.ErrorDetail = apiDetail(j.err)
			p.Error = fmt.Sprintf(rq.t("导入在第 %d 行后停止：%s（重新导入同一文件是安全的，已写入的行会跳过）", "The import stopped after %d rows: %s (importing the file again is safe: applied rows are skipped)"), j.done, msg)
		} else {
			p.Flash = rq.t("导入完成", "The import is done")
		}
	}
	return p, nil
}

// applyImport applies a validated file in the background (importrun: atomic batches sent
// again with the same keys while their outcome is unknown, under an import lease).
func (c *Console) applyImport(ctx context.Context, cl *caller, j *importJob) {
	sum, err := c.importOf(j, cl).Apply(ctx, j.validation)
	j.mu.Lock()
	defer j.mu.Unlock()
	j.finished = true
	if err != nil {
		j.err = err
		var st *importrun.Stopped
		if errors.As(err, &st) {
			j.done = st.Done
			j.err = st.Err
		}
		return
	}
	j.done, j.written, j.repeated = sum.Rows, sum.New, sum.Duplicates+sum.Unchanged
}

func (c *Console) authorityPeriods(rq *pageRequest) (*Page, error) {
	now := time.Now().In(shanghai)
	if rq.r.Method == "POST" {
		f := rq.r.PostFormValue
		switch f("op") {
		case "close":
			cmd := &v1.Command{Key: "console/close/" + f("month"), Body: &v1.Command_PeriodClose{PeriodClose: &v1.PeriodClose{Month: f("month")}}}
			if _, err := c.ledger.Submit(rq.ctx(), connect.NewRequest(&v1.SubmitRequest{Commands: []*v1.Command{cmd}})); err != nil {
				return nil, err
			}
			return &Page{Redirect: "/authority/periods?flash=closed"}, nil
		case "run", "audit", "submit":
			y, _ := strconv.Atoi(f("year"))
			if _, err := c.ledger.Settle(rq.ctx(), connect.NewRequest(&v1.SettleRequest{Year: int32(y), Action: f("op")})); err != nil {
				if code, _ := apiError(err); code == "settlement_blocked" {
					// The page summarises the blockers (per month, per provider), not one line each.
					return &Page{Redirect: fmt.Sprintf("/authority/periods?year=%d&refused=%s", y, url.QueryEscape(f("op")))}, nil
				}
				return nil, err
			}
			return &Page{Redirect: fmt.Sprintf("/authority/periods?year=%d&flash=settled", y)}, nil
		}
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("unknown action %q", f("op")))
	}
	year, _ := strconv.Atoi(rq.r.URL.Query().Get("year"))
	if year == 0 {
		year = now.Year()
		if now.Month() >= time.September {
			year++ // the window of the year ending next August is the one being filled
		}
	}
	st, err := c.ledger.SettleStatus(rq.ctx(), connect.NewRequest(&v1.SettleStatusRequest{Year: int32(year)}))
	if err != nil {
		return nil, err
	}
	s := st.Msg
	// Per month of the window open or closed, per provider its unscored days: the
	// blockers as data, not one line per charge.
	open := map[string]bool{}
	blockers := &Table{ID: fmt.Sprintf("unscored-%d", year), Columns: []Column{{rq.t("服务商", "Provider"), Text}, {rq.t("未评分日期", "Days without a score"), Text}, {rq.t("说明", "Message"), Text}}}
	for _, b := range s.GetBlockers() {
		if b.GetMonth() != "" {
			open[b.GetMonth()] = true
			continue
		}
		var ranges []string
		for _, d := range b.GetDays() {
			ranges = append(ranges, formatDate(rq.lang, d.GetFrom())+" – "+formatDate(rq.lang, d.GetTo()))
		}
		blockers.add("violation", rq.provCell(b.GetProvider()), C(strings.Join(ranges, "；")),
			C(rq.t("缺效能评估得分，相关费用为暂估；请导入该服务商的评估得分", "No evaluation score: its charges are provisional; import its scores")))
	}
	months := &Table{ID: fmt.Sprintf("months-%d", year), Columns: []Column{{rq.t("月份", "Month"), Date}, {rq.t("状态", "State"), Text}, {rq.t("操作", "Action"), Text}}}
	from, _ := time.Parse("2006-01-02", s.GetWindowFrom())
	to, _ := time.Parse("2006-01-02", s.GetWindowTo())
	thisMonth := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	for m := from; !m.After(to); m = m.AddDate(0, 1, 0) {
		key := m.Format("2006-01")
		switch {
		case open[key] && !m.Before(thisMonth):
			months.add("", C(key), C(rq.t("未关账（本月或以后）", "open (this month or later)")), C(""))
		case open[key]:
			months.add("over", C(key), C(rq.t("未关账", "open")), Cell{Form: &Form{Action: "/authority/periods", Inline: true, Submit: rq.t("关账", "Close"),
				Confirm: rq.t("关闭后该月不再接受新记录，确定？", "A closed month takes no more history. Close it?"),
				Fields:  []Field{{Name: "op", Type: "hidden", Value: "close"}, {Name: "month", Type: "hidden", Value: key}}}})
		default:
			months.add("approved", C(key), C(rq.t("已关账", "closed")), C(""))
		}
	}
	why := settleBlocked(rq, s.GetState(), len(open), len(blockers.Rows))
	var actions []*Form
	for _, a := range []struct{ op, zh, en, confirmZh, confirmEn string }{{"run", "生成草稿", "Run (draft)", "", ""},
		{"audit", "审核", "Audit", "审核后本年度费用冻结，确定审核？", "The audit freezes the year's figures. Audit?"},
		{"submit", "提交财政", "Submit to finance", fmt.Sprintf("将 %d 结算年度的审核结果提交财政局？提交后不可撤回。", year), fmt.Sprintf("Submit settlement year %d's audited figures to the finance bureau? This cannot be undone.", year)}} {
		actions = append(actions, &Form{Action: "/authority/periods", Inline: true, Submit: rq.t(a.zh, a.en), Confirm: rq.t(a.confirmZh, a.confirmEn),
			Disabled: why[a.op], Fields: []Field{{Name: "op", Type: "hidden", Value: a.op}, {Name: "year", Type: "hidden", Value: strconv.Itoa(year)}}})
	}
	yearOpts := []Option{}
	for y := now.Year() + 1; y >= now.Year()-2; y-- {
		yearOpts = append(yearOpts, Option{strconv.Itoa(y), strconv.Itoa(y)})
	}
	summary := &Section{Title: fmt.Sprintf(rq.t("%d 结算年度", "Settlement year %d"), year),
		Form: &Form{Method: "get", Action: "/authority/periods", Submit: rq.t("查看", "Show"), Fields: []Field{{Name: "year", Label: rq.t("年度", "Year"), Type: "select", Value: strconv.Itoa(year), Options: yearOpts}}},
		Facts: []Fact{{Label: rq.t("状态", "State"), Value: rq.word("state", s.GetState())},
			{Label: rq.t("窗口", "Window"), Value: formatDate(rq.lang, s.GetWindowFrom()) + " – " + formatDate(rq.lang, s.GetWindowTo())},
			{Label: rq.t("截止日", "Deadline"), Value: formatDate(rq.lang, s.GetDeadline())},
			{Label: rq.t("剩余天数 / 工作日", "Days / working days left"), Value: fmt.Sprintf("%d / %s", s.GetDaysLeft(), workingDays(s))},
			{Label: rq.t("未关账月份", "Open months"), Value: strconv.Itoa(len(open)), Class: warnIf(len(open) > 0)},
			{Label: rq.t("缺评分的服务商", "Providers with unscored days"), Value: strconv.Itoa(len(blockers.Rows)), Class: warnIf(len(blockers.Rows) > 0)}}}
	summary.Note = settleWarning(rq, s)
	summary.Actions = actions
	p := flash(rq, &Page{Title: rq.t("关账与结算", "Periods and settlement"), Sections: []*Section{summary}})
	if op := rq.r.URL.Query().Get("refused"); op != "" {
		p.ErrorCode = "settlement_blocked"
		p.Error = fmt.Sprintf(rq.t("%d 结算年度不能%s：%d 个月未关账，%d 家服务商有未评分的日期（见下）。", "Settlement year %d cannot be %s: %d months open, %d providers with unscored days (below)."),
			year, rq.word("settle", op), len(open), len(blockers.Rows))
	}
	p.Sections = append(p.Sections, &Section{Title: rq.t("审核阻碍：缺评分", "Blocking the audit: unscored days"), Table: blockers},
		&Section{Title: rq.t("窗口内各月", "Months of the window"), Table: months})
	return p, nil
}

func (c *Console) authorityCatalog(rq *pageRequest) (*Page, error) {
	res, err := c.ledger.Directory(rq.ctx(), connect.NewRequest(&v1.DirectoryRequest{}))
	if err != nil {
		return nil, err
	}
	prices := &Table{ID: "catalog", Columns: []Column{{rq.t("目录项", "Item"), Mono}, {rq.t("名称", "Name"), Text}, {rq.t("类别", "Category"), Text},
		{rq.t("计价单位", "Unit"), Text}, {rq.t("计费方式", "Billing"), Text}, {rq.t("配额类别", "Quota class"), Text},
		{rq.t("单价（元）", "Price (CNY)"), Money}, {rq.t("服务商", "Provider"), Text}, {rq.t("生效日", "Effective from"), Date}}}
	for _, p := range res.Msg.GetPrices() {
		prov := C(rq.t("（默认）", "(default)"))
		if p.GetProvider() != "" {
			prov = rq.provCell(p.GetProvider())
		}
		class := C("")
		if p.GetQuotaClass() != "" {
			class = rq.classCell(p.GetQuotaClass())
		}
		prices.add("", C(p.GetItem()), C(p.GetName()), C(p.GetCategory()), C(p.GetUnit()), C(rq.word("billing", p.GetBilling())), class,
			C(p.GetPrice()), prov, C(p.GetEffectiveFrom()))
	}
	scores := &Table{ID: "evaluations", Columns: []Column{{rq.t("服务商", "Provider"), Text}, {rq.t("起", "From"), Date}, {rq.t("止", "To"), Date}, {rq.t("效能评估得分", "Score"), Number}}}
	for _, e := range res.Msg.GetEvaluations() {
		scores.add("", rq.provCell(e.GetProvider()), C(e.GetFrom()), C(e.GetTo()), C(e.GetScore()))
	}
	provs := &Table{ID: "providers", Columns: []Column{{rq.t("服务商", "Provider"), Text}, {rq.t("合同起", "Contract from"), Date}, {rq.t("合同止", "Contract to"), Date}}}
	for _, v := range res.Msg.GetProviders() {
		prov := named(v.GetName(), v.GetProvider())
		prov.Href = "/p/" + url.PathEscape(v.GetProvider())
		provs.add("", prov, C(v.GetContractStart()), C(v.GetContractEnd()))
	}
	return &Page{Title: rq.t("目录与评分", "Catalog and scores"), Sections: []*Section{
		{Title: rq.t("服务目录价格", "Catalog prices"), Note: rq.t("修改价格或评分：在“导入”页导入服务目录与价格文件或效能评估得分文件。", "To change prices or scores, import a catalog or evaluations file."), Table: prices},
		{Title: rq.t("效能评估得分", "Evaluation scores"), Table: scores},
		{Title: rq.t("服务商", "Providers"), Table: provs},
	}}, nil
}

// settleBlocked is why each settlement step (run, audit, submit) cannot be taken now in a
// year of state with open months and providers with unscored days; a step possible now
// has no entry. The ledger decides again when the step is sent.
func settleBlocked(rq *pageRequest, state string, open, unscored int) map[string]string {
	why := map[string]string{}
	done := rq.t("本年度%s", "This year is already %s") // the state's word: 已审核, 已提交, 已支付
	switch state {
	case "":
		why["audit"] = rq.t("须先生成草稿", "Run a draft first")
		why["submit"] = rq.t("须先审核", "Audit first")
	case "draft":
		why["run"] = rq.t("草稿已生成", "The draft is run")
		why["submit"] = rq.t("须先审核", "Audit first")
	default: // audited, submitted, paid
		why["run"] = fmt.Sprintf(done, rq.word("state", state))
		why["audit"] = fmt.Sprintf(done, rq.word("state", state))
		if state != "audited" {
			why["submit"] = fmt.Sprintf(done, rq.word("state", state))
		}
	}
	if why["audit"] == "" {
		switch {
		case open > 0 && unscored > 0:
			why["audit"] = fmt.Sprintf(rq.t("%d 个月未关账，%d 家服务商缺评分", "%d months open, %d providers without scores"), open, unscored)
		case open > 0:
			why["audit"] = fmt.Sprintf(rq.t("%d 个月未关账", "%d months open"), open)
		case unscored > 0:
			why["audit"] = fmt.Sprintf(rq.t("%d 家服务商缺评分", "%d providers without scores"), unscored)
		}
	}
	return why
}
