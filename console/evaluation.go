package console

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/evaluation"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/interchange"
)

// /evaluation (SPEC: Evaluation; issue 26): a quarter's providers' scores with each
// indicator, the survey answers, the department efficiency table; the authority's forms
// (the scheme, an expert score, the publication, which asks first) and the department's
// survey form while the survey is open. What each role reads is the API's
// (EvaluationService/GetQuarter): a provider its own row and never who rated, a department
// its own answers and efficiency.

// indicatorNames are the indicators' names for officials (evaluation.Indicator.Name), in the
// report's order.
var indicatorNames = func() (out []struct{ code, zh, en string }) {
	for _, i := range evaluation.Indicators {
		zh, en := i.Name()
		out = append(out, struct{ code, zh, en string }{string(i), zh, en})
	}
	return out
}()

// schemeLabels are the scheme's settings for officials, in interchange.SchemeValues' order.
var schemeLabels = [][2]string{{"服务时效权重", "Weight: SLA"}, {"可用性权重", "Weight: availability"}, {"满意度权重", "Weight: satisfaction"},
	{"专家评审权重", "Weight: expert review"}, {"可用性下限（%）", "Availability floor (%)"}, {"可用性目标（%）", "Availability target (%)"},
	{"满意度调查工作日数", "Survey working days"}, {"合格线", "Pass score"}}

// quarterLabel names a quarter for officials: its settlement year, number and days.
func quarterLabel(rq *pageRequest, q calendar.Quarter) string {
	return fmt.Sprintf(rq.t("%d 结算年度第 %d 季度（%s 至 %s）", "Settlement year %d, quarter %d (%s – %s)"), q.Year, q.Q, q.First(), q.Last())
}

// defaultQuarter is the quarter whose survey is the latest to open: the current one on its
// last day, else the one before.
func defaultQuarter(now time.Time) calendar.Quarter {
	today := calendar.DateOf(now)
	q := calendar.QuarterOf(today)
	if today != q.Last() {
		q = q.Prev()
	}
	return q
}

func (c *Console) evaluationPage(rq *pageRequest) (*Page, error) {
	if rq.r.Method == "POST" {
		return c.evaluationAction(rq)
	}
	q := defaultQuarter(time.Now())
	if s := rq.r.URL.Query().Get("quarter"); s != "" {
		var err error
		if q, err = calendar.ParseQuarter(s); err != nil {
			return nil, connect.NewError(connect.CodeInvalidArgument, errors.New(rq.t("季度无效", "Not a quarter")))
		}
	}
	res, err := c.eval.GetQuarter(rq.ctx(), connect.NewRequest(&v1.GetQuarterRequest{Quarter: q.String()}))
	if err != nil {
		return nil, err
	}
	m := res.Msg
	var opts []Option
	for o, i := defaultQuarter(time.Now()).Next(), 0; i < 9; o, i = o.Prev(), i+1 {
		opts = append(opts, Option{o.String(), quarterLabel(rq, o)})
	}
	pick := &Form{Method: "get", Action: "/evaluation", Submit: rq.t("查看", "Show"), Fields: []Field{
		{Name: "quarter", Label: rq.t("季度", "Quarter"), Type: "select", Value: q.String(), Options: opts}}}
	state := rq.t("草稿（按台账现有数据计算，尚未发布）", "Draft (computed from what the ledger holds now; not published)")
	if m.GetPublished() {
		state = rq.t("已发布 ", "Published ") + formatDate(rq.lang, m.GetPublishedAt())
	}
	survey := rq.t("未开放", "Not open")
	switch {
	case m.GetSurveyOpen():
		survey = fmt.Sprintf(rq.t("开放中，至 %s", "Open until %s"), m.GetSurveyUntil())
	case m.GetPublished() || m.GetSurveyUntil() != "" && calendar.DateOf(time.Now()).String() > m.GetSurveyUntil():
		survey = rq.t("已关闭", "Closed")
	}
	sc := m.GetScheme()
	weights := make([]string, 0, 4)
	for i, ind := range indicatorNames {
		weights = append(weights, rq.t(ind.zh, ind.en)+" "+*interchange.SchemeValues(sc)[i])
	}
	facts := []Fact{{Label: rq.t("季度", "Quarter"), Value: quarterLabel(rq, q), Code: q.String()}, {Label: rq.t("状态", "State"), Value: state},
		{Label: rq.t("满意度调查", "Survey"), Value: survey}, {Label: rq.t("权重", "Weights"), Value: strings.Join(weights, rq.t("，", ", "))},
		{Label: rq.t("合格线", "Pass score"), Value: sc.GetPassScore()}}
	for _, p := range m.GetFlagged() {
		facts = append(facts, Fact{Label: rq.t("连续两年不合格，应予更换", "Below the pass line two years running: re-procure"), Value: rq.provName(p), Code: p, Class: "over"})
	}
	p := flash(rq, &Page{Title: rq.t("服务质量考核", "Evaluation"), Sections: []*Section{{Title: quarterLabel(rq, q), Facts: facts, Form: pick}}})

	if rq.me.Role != "department" {
		cols := []Column{{rq.t("云服务商", "Provider"), Text}}
		for _, ind := range indicatorNames {
			cols = append(cols, Column{rq.t(ind.zh+"得分", ind.en+" points"), Text})
		}
		cols = append(cols, Column{rq.t("得分", "Score"), Text}, Column{rq.t("倍数", "Multiplier"), Text}, Column{rq.t("专家评审文号", "Panel document"), Text},
			Column{rq.t("录入得分（该日期段内优先）", "Entered scores (win on their days)"), Text})
		t := &Table{ID: "evaluation-scores", Columns: cols, Empty: rq.t("没有云服务商", "No provider")}
		for _, pq := range m.GetProviders() {
			cells := []Cell{rq.provCell(pq.GetProvider())}
			have := map[string]*v1.IndicatorPoints{}
			for _, ind := range pq.GetIndicators() {
				have[ind.GetIndicator()] = ind
			}
			for _, ind := range indicatorNames {
				x := have[ind.code]
				if x == nil || !x.GetHasData() {
					cells = append(cells, C(rq.t("无数据", "no data")))
					continue
				}
				cells = append(cells, C(fmt.Sprintf(rq.t("%s（原始值 %s，%d 项）", "%s (raw %s, %d)"), x.GetPoints(), x.GetRaw(), x.GetCount())))
			}
			class := ""
			if pq.GetScored() {
				cells = append(cells, C(pq.GetScore()), C(pq.GetMultiplier()))
			} else {
				class = "over"
				cells = append(cells, C(rq.t("无得分（费用暂估）", "No score (charges provisional)")), C(""))
			}
			var entered []string
			for _, e := range pq.GetEntered() {
				s := fmt.Sprintf(rq.t("%s 至 %s：%s", "%s – %s: %s"), e.GetFrom(), e.GetTo(), e.GetScore())
				if e.GetReason() != "" {
					s += fmt.Sprintf(rq.t("（%s）", " (%s)"), e.GetReason())
				}
				entered = append(entered, s)
			}
			t.add(class, append(cells, C(pq.GetExpertRef()), C(strings.Join(entered, rq.t("；", "; "))))...)
		}
		p.Sections = append(p.Sections, &Section{ID: "scores", Title: rq.t("各云服务商得分", "Providers' scores"), Table: t,
			Note: rq.t("得分为有数据指标的加权平均（权重按有数据的指标重新分配），精确计算后四舍五入至两位小数；发布后即为该季度各日的计费得分，倍数按得分档位确定。满意度只显示平均分，不显示评分单位。",
				"The score is the weighted mean of the indicators with data (weights redistributed over them), exact, rounded half-up to 2 decimals; once published it is the provider's score for the quarter's days and the bands give the multiplier. Satisfaction shows the mean only, never who rated.")})
	}
	if rq.me.Role != "provider" {
		at := &Table{ID: "survey-answers", Columns: []Column{{rq.t("使用单位", "Department"), Text}, {rq.t("云服务商", "Provider"), Text}, {rq.t("评分", "Rating"), Number}, {rq.t("时间", "At"), Text}},
			Empty: rq.t("尚无答卷", "No answers yet")}
		for _, a := range m.GetAnswers() {
			at.add("", rq.deptCell(a.GetDepartment()), rq.provCell(a.GetProvider()), C(a.GetScore()), C(formatDate(rq.lang, a.GetAt())))
		}
		p.Sections = append(p.Sections, &Section{ID: "answers", Title: rq.t("满意度调查答卷", "Survey answers"), Table: at})
		et := &Table{ID: "efficiency", Columns: []Column{{rq.t("使用单位", "Department"), Text}, {rq.t("配额类别", "Quota class"), Text},
			{rq.t("使用效率（%）", "Efficiency (%)"), Number}, {rq.t("资源日", "Resource-days"), Number}, {rq.t("排名", "Rank"), Text}},
			Empty: rq.t("本季度没有利用率数据", "No utilisation rows in the quarter")}
		for _, e := range m.GetEfficiency() {
			et.add("", rq.deptCell(e.GetDepartment()), rq.classCell(e.GetQuotaClass()), C(e.GetEfficiencyPct()), C(fmt.Sprint(e.GetResourceDays())),
				C(fmt.Sprintf(rq.t("第 %d 名，共 %d 个单位", "%d of %d"), e.GetRank(), e.GetRanked())))
		}
		p.Sections = append(p.Sections, &Section{ID: "efficiency", Title: rq.t("使用单位资源使用效率（SH 33）", "Departments' efficiency (SH 33)"), Table: et,
			Note: rq.t("按配额类别，各单位自有标准资源的加权平均利用率，及其在该类别有数据单位中的排名。", "Per quota class, each department's quantity-weighted mean utilisation of its own standard resources, and its rank among the departments with a figure.")})
	}
	switch rq.me.Role {
	case "authority":
		p.Sections = append(p.Sections, c.authorityEvaluationForms(rq, q, m)...)
	case "department":
		if m.GetSurveyOpen() {
			p.Sections = append(p.Sections, &Section{ID: "survey", Title: rq.t("填写满意度调查", "Answer the survey"),
				Note: rq.t("对本季度使用过的云服务商评分（0–100），调查开放期间可修改；上级单位可为下级单位填写。", "Rate each provider you used in the quarter (0–100); an answer can be changed while the survey is open; a parent department may answer for a child."),
				Form: &Form{Action: "/evaluation", Submit: rq.t("提交评分", "Submit the rating"), Fields: []Field{
					{Name: "key", Type: "hidden", Value: newKey()}, {Name: "op", Type: "hidden", Value: "survey"}, {Name: "quarter", Type: "hidden", Value: q.String()},
					{Name: "department", Label: rq.t("使用单位", "Department"), Type: "select", Value: rq.me.Department, Options: rq.deptOptions()},
					{Name: "provider", Label: rq.t("云服务商", "Provider"), Type: "select", Options: rq.provOptions()},
					{Name: "score", Label: rq.t("评分（0–100）", "Rating (0–100)"), Required: true}}}})
		}
	}
	return p, nil
}

// authorityEvaluationForms are the authority's: an expert score and the publication while
// the quarter is a draft, and the scheme.
func (c *Console) authorityEvaluationForms(rq *pageRequest, q calendar.Quarter, m *v1.GetQuarterResponse) []*Section {
	var out []*Section
	hidden := func(op string) []Field {
		return []Field{{Name: "key", Type: "hidden", Value: newKey()}, {Name: "op", Type: "hidden", Value: op}, {Name: "quarter", Type: "hidden", Value: q.String()}}
	}
	if !m.GetPublished() {
		var provs []Option
		for _, pq := range m.GetProviders() {
			provs = append(provs, Option{pq.GetProvider(), rq.provName(pq.GetProvider())})
		}
		out = append(out, &Section{ID: "expert", Title: rq.t("录入专家评审得分", "Enter the expert panel's score"),
			Form: &Form{Action: "/evaluation", Submit: rq.t("记入台账", "Write to the ledger"), Fields: append(hidden("expert"),
				Field{Name: "provider", Label: rq.t("云服务商", "Provider"), Type: "select", Options: rq.provOptions()},
				Field{Name: "score", Label: rq.t("得分（0–100）", "Score (0–100)"), Required: true},
				Field{Name: "ref", Label: rq.t("评审文号", "Document number"), Placeholder: "评审〔2026〕7号", Required: true})}})
		unscored := make([]string, 0, len(m.GetUnscored()))
		for _, p := range m.GetUnscored() {
			unscored = append(unscored, rq.provName(p))
		}
		confirm := fmt.Sprintf(rq.t("发布%s的评估结果？发布后得分不再改变，满意度调查关闭，得分成为该季度各日的计费依据。", "Publish %s? The scores no longer change, the survey closes and the scores rate the quarter's days."), quarterLabel(rq, q))
		if len(unscored) > 0 {
			confirm += fmt.Sprintf(rq.t("无得分、费用仍为暂估：%s。", " No score, charges stay provisional: %s."), strings.Join(unscored, rq.t("、", ", ")))
		}
		out = append(out, &Section{ID: "publish", Title: rq.t("发布本季度评估结果", "Publish the quarter"),
			Note: rq.t("季度结束后方可发布，每季度一次（SH 34 定期发布评估结果）。", "Once the quarter has ended, once per quarter (SH 34)."),
			Form: &Form{Action: "/evaluation", Submit: rq.t("发布", "Publish"), Class: "danger", Confirm: confirm, Fields: hidden("publish")}})
	}
	fields := append(hidden("scheme"), Field{Name: "effective_from", Label: rq.t("生效日", "Effective from"), Type: "date", Required: true})
	for i, v := range interchange.SchemeValues(m.GetScheme()) {
		fields = append(fields, Field{Name: evaluation.Settings[i], Label: rq.t(schemeLabels[i][0], schemeLabels[i][1]), Value: *v, Placeholder: rq.t("默认", "default")})
	}
	out = append(out, &Section{ID: "scheme", Title: rq.t("设置考核方案", "Set the scheme"),
		Note: rq.t("方案自生效日起适用于此后结束的季度；留空取默认值。", "A scheme applies to the quarters ending on or after its date; an empty setting takes its default."),
		Form: &Form{Action: "/evaluation", Submit: rq.t("记入台账", "Write to the ledger"), Confirm: rq.t("按此方案自生效日起考核？", "Evaluate with this scheme from its date?"), Fields: fields}})
	return out
}

// evaluationAction writes a survey answer, an expert score, the publication or the scheme.
func (c *Console) evaluationAction(rq *pageRequest) (*Page, error) {
	f := func(k string) string { return strings.TrimSpace(rq.r.PostFormValue(k)) }
	key, err := formKey(rq, "console/")
	if err != nil {
		return nil, err
	}
	q := f("quarter")
	var cmd *v1.Command
	switch f("op") {
	case "survey":
		if _, err := c.eval.Survey(rq.ctx(), connect.NewRequest(&v1.SurveyRequest{Key: key + "/survey", Quarter: q, Department: f("department"), Provider: f("provider"), Score: f("score")})); err != nil {
			return nil, err
		}
		return &Page{Redirect: "/evaluation?flash=evaluation&quarter=" + q}, nil
	case "expert":
		cmd = &v1.Command{Key: key + "/expert", Body: &v1.Command_ExpertScore{ExpertScore: &v1.ExpertScore{Quarter: q, Provider: f("provider"), Score: f("score"), Ref: f("ref")}}}
	case "publish":
		cmd = &v1.Command{Key: key + "/publish", Body: &v1.Command_QuarterPublish{QuarterPublish: &v1.QuarterPublish{Quarter: q}}}
	case "scheme":
		s := &v1.EvaluationScheme{EffectiveFrom: f("effective_from")}
		for i, v := range interchange.SchemeValues(s) {
			*v = f(evaluation.Settings[i])
		}
		cmd = &v1.Command{Key: key + "/scheme", Body: &v1.Command_EvaluationScheme{EvaluationScheme: s}}
	default:
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("unknown action %q", f("op")))
	}
	if _, err := c.ledger.Submit(rq.ctx(), connect.NewRequest(&v1.SubmitRequest{Commands: []*v1.Command{cmd}})); err != nil {
		return nil, err
	}
	return &Page{Redirect: "/evaluation?flash=evaluation&quarter=" + q}, nil
}
