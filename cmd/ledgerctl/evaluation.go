package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	"github.com/cloudledger/cloudledger/evaluation"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/interchange"
)

// Evaluation (SPEC: Evaluation; SH 33–34, SD 36–38): the scheme, the survey, the expert
// score, the publication and the report.

func evalCall[Req, Res any](ctx context.Context, g *globals, p retryPolicy, what string, msg *Req, pick func(cloudledgerv1connect.EvaluationServiceClient) rpc[Req, Res]) (*Res, error) {
	return call(ctx, g, p, what, msg, func(ep *endpoint) rpc[Req, Res] { return pick(ep.eval) })
}

func checkQuarter(flag, s string) error {
	if _, err := calendar.ParseQuarter(s); err != nil {
		return inputErr(errcode.InvalidValue, flag, "%v", err)
	}
	return nil
}

func newEvaluationCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "evaluation",
		Short: "Provider evaluation (服务质量考核, SH 33–34, SD 36–38): scheme, survey, expert score, publication, report",
		Long: `Quarters follow the settlement year: 2026Q1 is September–November 2025, 2026Q2
December–February, 2026Q3 March–May, 2026Q4 June–August 2026. A provider's score is the
weighted mean of its indicators with data (sla, availability, satisfaction, expert); the
published score is its evaluation for the quarter's days and the bands give the multiplier.`,
		RunE: needSubcommand,
	}
	cmd.AddCommand(newSchemeCommand(g), newSurveyCommand(g), newExpertCommand(g), newPublishCommand(g), newEvalReportCommand(g))
	return cmd
}

func newSchemeCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "scheme", Short: "The evaluation scheme (weights, availability floor and target, survey days, pass line)", RunE: needSubcommand}
	var effective string
	set := &cobra.Command{
		Use:   "set --effective-from DATE FILE",
		Short: "Set the scheme from a date (the authority); it applies to the quarters ending on or after it",
		Long: `FILE is a CSV "setting,value" with any of the rows weight_sla, weight_availability,
weight_satisfaction, weight_expert, availability_floor_pct, availability_target_pct,
survey_working_days, pass_score; a row left out takes its default (30, 30, 20, 20, 99.0,
99.95, 10, 60).`,
		Args: cobra.ExactArgs(1),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			if _, err := calendar.ParseDate(effective); err != nil {
				return inputErr(errcode.InvalidDate, "effective-from", "must be a date YYYY-MM-DD, got %q", effective)
			}
			f, err := os.Open(args[0])
			if err != nil {
				return &cliError{code: codeFile, message: err.Error(), exit: exitFailure}
			}
			defer f.Close()
			scheme, lines, rerr := interchange.ReadSchemeFile(args[0], f, effective)
			if rerr != nil {
				return fileRejected(args[0], rerr)
			}
			res, err := g.submitOne(cmd.Context(), "evaluation scheme set", &v1.Command{Key: g.keyFor("evaluation-scheme"), Body: &v1.Command_EvaluationScheme{EvaluationScheme: scheme}})
			if err != nil {
				return onFileLine(args[0], lines, err)
			}
			_, err = fmt.Fprintln(g.stdout, resultText(g.l(), res))
			return err
		}),
	}
	set.Flags().StringVar(&effective, "effective-from", "", "the first day the scheme is in force, YYYY-MM-DD (required)")
	_ = set.MarkFlagRequired("effective-from")
	var format string
	show := &cobra.Command{
		Use:   "show",
		Short: "Show the scheme in force and those set",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, formatTable, formatJSON); err != nil {
				return err
			}
			res, err := evalCall(cmd.Context(), g, readPolicy, "evaluation scheme show", &v1.ListEvaluationSchemesRequest{},
				func(c cloudledgerv1connect.EvaluationServiceClient) rpc[v1.ListEvaluationSchemesRequest, v1.ListEvaluationSchemesResponse] {
					return c.ListEvaluationSchemes
				})
			if err != nil {
				return err
			}
			if format == formatJSON {
				return writeJSON(g.stdout, res)
			}
			l := g.l()
			headers := []string{l.h("设置", "Setting"), l.h("现行", "In force")}
			right := []bool{false, true}
			for _, s := range res.GetSchemes() {
				headers = append(headers, l.h("自", "from")+" "+s.GetEffectiveFrom())
				right = append(right, true)
			}
			t := &table{headers: headers, right: right}
			for i, name := range evaluation.Settings {
				row := []string{name, *interchange.SchemeValues(res.GetInForce())[i]}
				for _, s := range res.GetSchemes() {
					row = append(row, *interchange.SchemeValues(s)[i])
				}
				t.add(row...)
			}
			return t.render(g.stdout)
		}),
	}
	show.Flags().StringVar(&format, "format", formatTable, "table or json")
	cmd.AddCommand(set, show)
	return cmd
}

func newSurveyCommand(g *globals) *cobra.Command {
	var department, provider, quarter, score string
	cmd := &cobra.Command{
		Use:   "survey --department D --provider P --quarter Q --score N",
		Short: "Answer the satisfaction survey (满意度调查, a department) for a provider it used in the quarter",
		Long: `Open from the quarter's last day through the survey's working days after it, or until
the quarter is published; an answer may be changed while it is open. A parent department's
account answers for itself or a child, naming it.`,
		Args: cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkQuarter("quarter", quarter); err != nil {
				return err
			}
			res, err := evalCall(cmd.Context(), g, writePolicy, "evaluation survey",
				&v1.SurveyRequest{Key: g.keyFor("survey"), Quarter: quarter, Department: department, Provider: provider, Score: score},
				func(c cloudledgerv1connect.EvaluationServiceClient) rpc[v1.SurveyRequest, v1.SurveyResponse] {
					return c.Survey
				})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(g.stdout, resultText(g.l(), &v1.ItemResult{Seq: res.GetSeq(), Unchanged: res.GetUnchanged()}))
			return err
		}),
	}
	f := cmd.Flags()
	f.StringVar(&department, "department", "", "the department answering (yours, or one below it) (required)")
	f.StringVar(&provider, "provider", "", "the provider rated (required)")
	f.StringVar(&quarter, "quarter", "", "the quarter, e.g. 2026Q4 (required)")
	f.StringVar(&score, "score", "", "the rating, 0–100 (required)")
	for _, n := range []string{"department", "provider", "quarter", "score"} {
		_ = cmd.MarkFlagRequired(n)
	}
	return cmd
}

func newExpertCommand(g *globals) *cobra.Command {
	var provider, quarter, score, ref string
	cmd := &cobra.Command{
		Use:   "expert --provider P --quarter Q --score N --ref TEXT",
		Short: "Enter the expert panel's score of a provider for a quarter, with its document number (the authority)",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkQuarter("quarter", quarter); err != nil {
				return err
			}
			res, err := g.submitOne(cmd.Context(), "evaluation expert", &v1.Command{Key: g.keyFor("expert-score"),
				Body: &v1.Command_ExpertScore{ExpertScore: &v1.ExpertScore{Quarter: quarter, Provider: provider, Score: score, Ref: ref}}})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(g.stdout, resultText(g.l(), res))
			return err
		}),
	}
	f := cmd.Flags()
	f.StringVar(&provider, "provider", "", "the provider (required)")
	f.StringVar(&quarter, "quarter", "", "the quarter, e.g. 2026Q4 (required)")
	f.StringVar(&score, "score", "", "the panel's score, 0–100 (required)")
	f.StringVar(&ref, "ref", "", "the panel's document number (required)")
	for _, n := range []string{"provider", "quarter", "score", "ref"} {
		_ = cmd.MarkFlagRequired(n)
	}
	return cmd
}

func newPublishCommand(g *globals) *cobra.Command {
	var quarter string
	cmd := &cobra.Command{
		Use:   "publish --quarter Q",
		Short: "Publish a quarter once it has ended (the authority): its scores become the providers' evaluations and its survey closes",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkQuarter("quarter", quarter); err != nil {
				return err
			}
			res, err := g.submitOne(cmd.Context(), "evaluation publish", &v1.Command{Key: g.keyFor("publish-" + quarter),
				Body: &v1.Command_QuarterPublish{QuarterPublish: &v1.QuarterPublish{Quarter: quarter}}})
			if err != nil {
				return err
			}
			l := g.l()
			fmt.Fprintln(g.stdout, resultText(l, res))
			q, err := getQuarter(cmd.Context(), g, quarter)
			if err != nil {
				return err
			}
			for _, p := range q.GetUnscored() {
				fmt.Fprintln(g.stdout, l.m("无得分（无任何指标数据，日期仍为暂估）："+p, "no score (no indicator with data; its days stay provisional): "+p))
			}
			for _, p := range q.GetFlagged() {
				fmt.Fprintln(g.stdout, l.m("连续两年考核不合格，应予更换："+p, "below the pass line two years in a row, re-procurement: "+p))
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&quarter, "quarter", "", "the quarter, e.g. 2026Q4 (required)")
	_ = cmd.MarkFlagRequired("quarter")
	return cmd
}

func getQuarter(ctx context.Context, g *globals, q string) (*v1.GetQuarterResponse, error) {
	return getQuarterOf(ctx, g, q, "")
}

// getQuarterOf reads a quarter, one provider's row only when provider is given.
func getQuarterOf(ctx context.Context, g *globals, q, provider string) (*v1.GetQuarterResponse, error) {
	return evalCall(ctx, g, readPolicy, "evaluation report", &v1.GetQuarterRequest{Quarter: q, Provider: provider},
		func(c cloudledgerv1connect.EvaluationServiceClient) rpc[v1.GetQuarterRequest, v1.GetQuarterResponse] {
			return c.GetQuarter
		})
}

// indicatorJSON is one indicator of a report row.
type indicatorJSON struct {
	HasData bool   `json:"has_data"`
	Count   int32  `json:"count"`
	Raw     string `json:"raw"`
	Points  string `json:"points"`
	Weight  string `json:"weight"`
}

// evalRowJSON is one provider's quarter in `evaluation report --format json` (SPEC: at least
// provider, quarter, score, multiplier and each indicator's points).
type evalRowJSON struct {
	Provider   string                   `json:"provider"`
	Quarter    string                   `json:"quarter"`
	Status     string                   `json:"status"` // published | draft
	Scored     bool                     `json:"scored"`
	Score      string                   `json:"score"`
	Multiplier string                   `json:"multiplier"`
	ExpertRef  string                   `json:"expert_ref,omitempty"`
	Indicators map[string]indicatorJSON `json:"indicators"`
	// Entered are the scores entered by hand (evaluations.csv) on days of the quarter: on
	// those days they, not this score, give the multiplier.
	Entered []enteredJSON `json:"entered,omitempty"`
}

type enteredJSON struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Score  string `json:"score"`
	Reason string `json:"reason,omitempty"`
}

// enteredText is a row's entered scores in one cell: "FROM..TO:SCORE" joined by ";".
func enteredText(r evalRowJSON) string {
	parts := make([]string, len(r.Entered))
	for i, e := range r.Entered {
		parts[i] = e.From + ".." + e.To + ":" + e.Score
	}
	return strings.Join(parts, ";")
}

type yearJSON struct {
	Provider  string `json:"provider"`
	Year      int32  `json:"year"`
	Score     string `json:"score"`
	Quarters  int32  `json:"quarters"`
	PassScore string `json:"pass_score"`
	BelowPass bool   `json:"below_pass"`
	Flagged   bool   `json:"flagged"`
}

// efficiencyJSON is one row of the department efficiency table: a department's efficiency
// in a quota class over a quarter and its rank among the departments of the class.
type efficiencyJSON struct {
	Quarter       string `json:"quarter"`
	Department    string `json:"department"`
	QuotaClass    string `json:"quota_class"`
	EfficiencyPct string `json:"efficiency_pct"`
	ResourceDays  uint32 `json:"resource_days"`
	Rank          int32  `json:"rank"`
	Ranked        int32  `json:"ranked"`
}

type evalReportJSON struct {
	Quarters   []string         `json:"quarters"`
	Rows       []evalRowJSON    `json:"rows"`
	Yearly     []yearJSON       `json:"yearly,omitempty"`
	Efficiency []efficiencyJSON `json:"efficiency"`
}

func efficiencyRows(q *v1.GetQuarterResponse) []efficiencyJSON {
	var out []efficiencyJSON
	for _, e := range q.GetEfficiency() {
		out = append(out, efficiencyJSON{Quarter: q.GetQuarter(), Department: e.GetDepartment(), QuotaClass: e.GetQuotaClass(),
			EfficiencyPct: e.GetEfficiencyPct(), ResourceDays: e.GetResourceDays(), Rank: e.GetRank(), Ranked: e.GetRanked()})
	}
	return out
}

func evalRows(q *v1.GetQuarterResponse) []evalRowJSON {
	status := "draft"
	if q.GetPublished() {
		status = "published"
	}
	var out []evalRowJSON
	for _, p := range q.GetProviders() {
		r := evalRowJSON{Provider: p.GetProvider(), Quarter: q.GetQuarter(), Status: status, Scored: p.GetScored(), Score: p.GetScore(),
			Multiplier: p.GetMultiplier(), ExpertRef: p.GetExpertRef(), Indicators: map[string]indicatorJSON{}}
		for _, ind := range p.GetIndicators() {
			r.Indicators[ind.GetIndicator()] = indicatorJSON{HasData: ind.GetHasData(), Count: ind.GetCount(), Raw: ind.GetRaw(), Points: ind.GetPoints(), Weight: ind.GetWeight()}
		}
		for _, e := range p.GetEntered() {
			r.Entered = append(r.Entered, enteredJSON{From: e.GetFrom(), To: e.GetTo(), Score: e.GetScore(), Reason: e.GetReason()})
		}
		out = append(out, r)
	}
	return out
}

func newEvalReportCommand(g *globals) *cobra.Command {
	var quarter, format, output, provider string
	var year int
	cmd := &cobra.Command{
		Use:   "report --quarter Q|--year Y [--provider P] [--format table|csv|json|xlsx] [-o FILE]",
		Short: "The evaluation report: per provider and quarter each indicator's raw value, points and weight, the score and the multiplier",
		Long: `Per provider and quarter each indicator's raw value, points and weight, the score and the
multiplier; the department efficiency table (per quarter and quota class, each department's
efficiency and its rank); with --year the yearly scores. CSV has the providers' rows only;
XLSX (-o required) has a sheet each, headers in Chinese with English beneath, figures as
numbers. A provider reads its own row; a department its own efficiency.`,
		Args: cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, formatTable, formatCSV, formatJSON, formatXLSX); err != nil {
				return err
			}
			if format == formatXLSX && (output == "" || output == "-") {
				return usageErr("--format xlsx needs -o FILE")
			}
			var quarters []string
			switch {
			case quarter != "" && year != 0, quarter == "" && year == 0:
				return inputErr(errcode.InvalidValue, "quarter", "give --quarter Q or --year Y")
			case quarter != "":
				if err := checkQuarter("quarter", quarter); err != nil {
					return err
				}
				quarters = []string{quarter}
			default:
				for n := 1; n <= 4; n++ {
					quarters = append(quarters, fmt.Sprintf("%04dQ%d", year, n))
				}
			}
			rep := evalReportJSON{Quarters: quarters, Rows: []evalRowJSON{}, Efficiency: []efficiencyJSON{}}
			for _, q := range quarters {
				res, err := getQuarterOf(cmd.Context(), g, q, provider)
				if err != nil {
					return err
				}
				rep.Rows = append(rep.Rows, evalRows(res)...)
				rep.Efficiency = append(rep.Efficiency, efficiencyRows(res)...)
			}
			// The yearly scores are the providers': a reader shown no provider's quarter (a
			// department) has none to read, and is not refused for asking.
			if year != 0 && len(rep.Rows) > 0 {
				res, err := evalCall(cmd.Context(), g, readPolicy, "evaluation report", &v1.GetYearRequest{Year: int32(year)},
					func(c cloudledgerv1connect.EvaluationServiceClient) rpc[v1.GetYearRequest, v1.GetYearResponse] {
						return c.GetYear
					})
				if err != nil {
					return err
				}
				for _, s := range res.GetScores() {
					if provider != "" && s.GetProvider() != provider {
						continue
					}
					rep.Yearly = append(rep.Yearly, yearJSON{Provider: s.GetProvider(), Year: res.GetYear(), Score: s.GetScore(), Quarters: s.GetQuarters(),
						PassScore: s.GetPassScore(), BelowPass: s.GetBelowPass(), Flagged: s.GetFlagged()})
				}
			}
			w, done, err := createOutput(output, g.stdout)
			if err != nil {
				return err
			}
			if err := writeEvalReport(w, format, g.l(), rep); err != nil {
				return err
			}
			return done()
		}),
	}
	f := cmd.Flags()
	f.StringVar(&quarter, "quarter", "", "one quarter, e.g. 2026Q4")
	f.IntVar(&year, "year", 0, "a settlement year's four quarters and yearly scores")
	f.StringVar(&provider, "provider", "", "one provider's rows only")
	f.StringVar(&format, "format", formatTable, "table, csv, json or xlsx")
	f.StringVarP(&output, "output", "o", "", "write to this file instead of standard output")
	return cmd
}

// evalColumns are the CSV columns of the report (one row a provider and quarter).
func evalColumns() []string {
	cols := []string{"quarter", "provider", "status"}
	for _, ind := range evaluation.Indicators {
		cols = append(cols, string(ind)+"_raw", string(ind)+"_points", string(ind)+"_weight")
	}
	return append(cols, "score", "multiplier", "expert_ref", "entered")
}

func evalRecord(r evalRowJSON) []string {
	rec := []string{r.Quarter, r.Provider, r.Status}
	for _, ind := range evaluation.Indicators {
		x := r.Indicators[string(ind)]
		rec = append(rec, x.Raw, x.Points, x.Weight)
	}
	return append(rec, r.Score, r.Multiplier, r.ExpertRef, enteredText(r))
}

func writeEvalReport(w io.Writer, format string, l lang, rep evalReportJSON) error {
	switch format {
	case formatJSON:
		return writeJSON(w, rep)
	case formatCSV:
		var rows [][]string
		for _, r := range rep.Rows {
			rows = append(rows, evalRecord(r))
		}
		return writeCSV(w, evalColumns(), rows)
	case formatXLSX:
		return writeEvalXLSX(w, rep)
	}
	headers := []string{l.h("季度", "Quarter"), l.h("云服务商", "Provider"), l.h("状态", "Status")}
	right := []bool{false, false, false}
	for _, ind := range evaluation.Indicators {
		zh, en := ind.Name()
		headers = append(headers, l.h(zh+"得分", en+" points"))
		right = append(right, true)
	}
	headers = append(headers, l.h("得分", "Score"), l.h("倍数", "Multiplier"))
	right = append(right, true, true)
	t := &table{headers: headers, right: right}
	status := map[string][2]string{"published": {"已发布", "published"}, "draft": {"草稿", "draft"}}
	for _, r := range rep.Rows {
		row := []string{r.Quarter, r.Provider, l.m(status[r.Status][0], status[r.Status][1])}
		for _, ind := range evaluation.Indicators {
			if x := r.Indicators[string(ind)]; x.HasData {
				row = append(row, x.Points)
			} else {
				row = append(row, "—")
			}
		}
		score := r.Score
		if !r.Scored {
			score = l.m("无得分", "no score")
		}
		row = append(row, score, r.Multiplier)
		t.add(row...)
	}
	if err := t.render(w); err != nil {
		return err
	}
	for _, r := range rep.Rows {
		for _, e := range r.Entered {
			fmt.Fprintf(w, "%s %s %s %s..%s: %s\n", r.Quarter, r.Provider, l.m("录入得分（该日期段内优先于上表得分）", "entered score (wins over the score above on its days)"), e.From, e.To, e.Score)
		}
	}
	if len(rep.Efficiency) > 0 {
		fmt.Fprintln(w)
		et := &table{headers: []string{l.h("季度", "Quarter"), l.h("使用单位", "Department"), l.h("配额类别", "Class"), l.h("使用效率%", "Efficiency %"),
			l.h("资源日", "Resource-days"), l.h("排名", "Rank")}, right: []bool{false, false, false, true, true, true}}
		for _, e := range rep.Efficiency {
			et.add(e.Quarter, e.Department, e.QuotaClass, e.EfficiencyPct, fmt.Sprint(e.ResourceDays), fmt.Sprintf("%d/%d", e.Rank, e.Ranked))
		}
		if err := et.render(w); err != nil {
			return err
		}
	}
	for _, y := range rep.Yearly {
		fmt.Fprintf(w, "%s %d %s: %s (%s %d, %s %s)\n", y.Provider, y.Year, l.m("年度得分", "yearly score"), y.Score,
			l.m("季度数", "quarters"), y.Quarters, l.m("合格线", "pass"), y.PassScore+flagText(l, y))
	}
	return nil
}

func flagText(l lang, y yearJSON) string {
	if y.Flagged {
		return "; " + l.m("连续两年不合格，应予更换", "below two years in a row: re-procurement")
	}
	if y.BelowPass {
		return "; " + l.m("不合格", "below the pass line")
	}
	return ""
}
