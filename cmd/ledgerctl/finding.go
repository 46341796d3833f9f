package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/interchange"
)

// Findings, utilisation rules and project seasons (SPEC: Utilisation; SH 25, HLJ 17, SH 18).

func findingCall[Req, Res any](ctx context.Context, g *globals, p retryPolicy, what string, msg *Req, pick func(cloudledgerv1connect.FindingServiceClient) rpc[Req, Res]) (*Res, error) {
	return call(ctx, g, p, what, msg, func(ep *endpoint) rpc[Req, Res] { return pick(ep.finding) })
}

// unknownUntilLoaded is how a deadline in a year whose calendar is not loaded reads (SPEC:
// Utilisation, Lifecycle) — in the JSON too, so that no script takes it for "no deadline".
const unknownUntilLoaded = "unknown until loaded"

func newFindingCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "finding",
		Short: "Utilisation findings (资源利用率问题): no monitoring, long-term low utilisation, zombie systems (SH 25, HLJ 17)",
		Long: `Findings the ledger raises from the daily utilisation rows, and their lifecycle:
detected → the authority warns (a rectification deadline) or dismisses (with a reason) →
the department explains (the authority accepts: closed; or rejects: warned again, the
original deadline) or rectifies → past the deadline the tick writes overdue → the authority
enforces: no allocate or expand for the department until the finding closes, and reclaim
requests raised for its resources. A finding closes by itself (rectified) when use recovers,
or for low utilisation when the resource is reduced to the advised quantity or reclaimed.`,
		RunE: needSubcommand,
	}
	var state, kind, department, lformat string
	var open bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List the findings you may see, with their deadlines and advice",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(lformat, formatTable, formatCSV, formatJSON); err != nil {
				return err
			}
			res, err := findingCall(cmd.Context(), g, readPolicy, "finding list", &v1.ListFindingsRequest{State: state, Kind: kind, Department: department, Open: open},
				func(c cloudledgerv1connect.FindingServiceClient) rpc[v1.ListFindingsRequest, v1.ListFindingsResponse] {
					return c.ListFindings
				})
			if err != nil {
				return err
			}
			return writeFindings(g.stdout, lformat, g.l(), res.GetFindings())
		}),
	}
	lf := list.Flags()
	lf.StringVar(&state, "state", "", "only this state: detected, warned, dismissed, explained, closed, overdue, enforced, rectified")
	lf.StringVar(&kind, "kind", "", "only this kind: no_monitoring, low_utilisation, zombie")
	lf.StringVar(&department, "department", "", "only this department's (and the departments below it)")
	lf.BoolVar(&open, "open", false, "only findings still open")
	lf.StringVar(&lformat, "format", formatTable, "table, csv or json")

	var sid, sformat string
	show := &cobra.Command{
		Use:   "show",
		Short: "Show a finding: its evidence, advice, deadline and steps",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(sformat, formatTable, formatJSON); err != nil {
				return err
			}
			res, err := findingCall(cmd.Context(), g, readPolicy, "finding show", &v1.GetFindingRequest{Id: sid},
				func(c cloudledgerv1connect.FindingServiceClient) rpc[v1.GetFindingRequest, v1.GetFindingResponse] {
					return c.GetFinding
				})
			if err != nil {
				return err
			}
			return writeFinding(g.stdout, sformat, g.l(), res.GetFinding(), nil)
		}),
	}
	show.Flags().StringVar(&sid, "id", "", "finding id (required)")
	show.Flags().StringVar(&sformat, "format", formatTable, "table or json")
	_ = show.MarkFlagRequired("id")

	step := func(verb, short string, reasonRequired bool) *cobra.Command {
		var id, reason, format string
		c := &cobra.Command{
			Use:   verb,
			Short: short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				if err := checkFormat(format, formatTable, formatJSON); err != nil {
					return err
				}
				res, err := findingCall(cmd.Context(), g, writePolicy, "finding "+verb,
					&v1.StepFindingRequest{Id: id, Action: verb, Reason: reason, Key: g.keyFor("finding-" + verb)},
					func(c cloudledgerv1connect.FindingServiceClient) rpc[v1.StepFindingRequest, v1.StepFindingResponse] {
						return c.StepFinding
					})
				if err != nil {
					return err
				}
				if res.GetUnchanged() {
					fmt.Fprintln(g.stderr, g.l().m("未变更：问题已是此状态，未记入台账", "unchanged: the finding is already so; nothing was written"))
				}
				return writeFinding(g.stdout, format, g.l(), res.GetFinding(), res.GetRequests())
			},
		}
		c.Flags().StringVar(&id, "id", "", "finding id (required)")
		c.Flags().StringVar(&format, "format", formatTable, "table or json")
		_ = c.MarkFlagRequired("id")
		if reasonRequired {
			c.Flags().StringVar(&reason, "reason", "", "why (required)")
			_ = c.MarkFlagRequired("reason")
		} else {
			c.Flags().StringVar(&reason, "reason", "", "why, or the document's number")
		}
		c.RunE = action(c.RunE)
		return c
	}
	cmd.AddCommand(list, show,
		step("warn", "Warn the department (警告提示, the authority): the rectification deadline starts", false),
		step("dismiss", "Dismiss a detected finding (不予警告, the authority), with --reason", true),
		step("explain", "Explain a warned finding (情况说明, the department), with --reason", true),
		step("accept", "Accept the department's explanation (the authority): the finding closes", false),
		step("reject", "Reject the explanation (the authority), with --reason: warned again, the original deadline", true),
		step("enforce", "Enforce an overdue finding (停止发放并回收, the authority): the department's allocate and expand refused until it closes; reclaim requests raised", false),
	)
	return cmd
}

// findingColumns are the CSV columns and JSON fields of `finding list` (SPEC: Utilisation —
// at least id, kind, subject, raised_on, state, deadline, closed_on, advice).
var findingColumns = []string{"id", "kind", "subject", "department", "department_name", "project", "item", "raised_on", "state", "deadline",
	"closed_on", "quantity", "advice", "evidence_from", "evidence_to", "evidence_days", "mean_pct", "peak_pct"}

func deadlineText(f *v1.Finding) string {
	if f.GetDeadlineUnknown() {
		return unknownUntilLoaded
	}
	return f.GetDeadline()
}

func findingFields(f *v1.Finding) []string {
	e := f.GetEvidence()
	return []string{f.GetId(), f.GetKind(), f.GetSubject(), f.GetDepartment(), f.GetDepartmentName(), f.GetProject(), f.GetItem(), f.GetRaisedOn(),
		f.GetState(), deadlineText(f), f.GetClosedOn(), f.GetQuantity(), f.GetAdvice(), e.GetFrom(), e.GetTo(), itoa(uint64(e.GetDays())),
		e.GetMeanPct(), e.GetPeakPct()}
}

// findingJSON is a finding as `--format json` prints it: the columns, then its steps.
func findingJSON(f *v1.Finding) map[string]any {
	row := map[string]any{}
	for i, v := range findingFields(f) {
		row[findingColumns[i]] = v
	}
	row["evidence_days"] = f.GetEvidence().GetDays()
	row["open"] = f.GetOpen()
	row["deadline_unknown"] = f.GetDeadlineUnknown()
	steps := []map[string]string{}
	for _, s := range f.GetSteps() {
		steps = append(steps, map[string]string{"state": s.GetState(), "actor": s.GetActor(), "at": s.GetAt(), "reason": s.GetReason()})
	}
	row["steps"] = steps
	return row
}

func writeFindings(w io.Writer, format string, l lang, fs []*v1.Finding) error {
	switch format {
	case formatCSV:
		rows := make([][]string, len(fs))
		for i, f := range fs {
			rows[i] = findingFields(f)
		}
		return writeCSV(w, findingColumns, rows)
	case formatJSON:
		out := make([]map[string]any, 0, len(fs))
		for _, f := range fs {
			out = append(out, findingJSON(f))
		}
		return writeJSON(w, out)
	}
	if len(fs) == 0 {
		_, err := io.WriteString(w, l.m("无资源利用率问题", "no findings")+"\n")
		return err
	}
	t := &table{headers: []string{l.h("编号", "Id"), l.h("类型", "Kind"), l.h("对象", "Subject"), l.h("部门", "Department"),
		l.h("发现日", "Raised on"), l.h("状态", "State"), l.h("办理期限", "Deadline"), l.h("建议数量", "Advice"), l.h("关闭日", "Closed on")},
		right: []bool{false, false, false, false, false, false, false, true, false}}
	for _, f := range fs {
		dl := deadlineText(f)
		if f.GetDeadlineUnknown() {
			dl = l.m("待日历加载", unknownUntilLoaded)
		}
		t.add(f.GetId(), findingKindText(l, f.GetKind()), f.GetSubject(), f.GetDepartmentName(), f.GetRaisedOn(), findingStateText(l, f.GetState()),
			dl, f.GetAdvice(), f.GetClosedOn())
	}
	return t.render(w)
}

// writeFinding shows one finding; requests are the reclaim requests an enforcement raised.
func writeFinding(w io.Writer, format string, l lang, f *v1.Finding, requests []string) error {
	if format == formatJSON {
		row := findingJSON(f)
		if requests != nil {
			row["requests"] = requests
		}
		return writeJSON(w, row)
	}
	if err := writeFindings(w, formatTable, l, []*v1.Finding{f}); err != nil {
		return err
	}
	e := f.GetEvidence()
	if e.GetRows() == 0 {
		fmt.Fprintf(w, "%s: %s – %s, %d %s, %s\n", l.h("依据", "Evidence"), e.GetFrom(), e.GetTo(), e.GetDays(), l.h("天", "days"), l.m("无监测数据", "no monitoring rows"))
	} else {
		fmt.Fprintf(w, "%s: %s – %s, %d %s, %s %s %%, %s %s %%\n", l.h("依据", "Evidence"), e.GetFrom(), e.GetTo(), e.GetDays(), l.h("天", "days"),
			l.h("平均", "mean"), e.GetMeanPct(), l.h("峰值", "peak"), e.GetPeakPct())
	}
	if f.GetAdvice() != "" {
		fmt.Fprintf(w, "%s: %s → %s\n", l.h("调整建议", "Advice"), f.GetQuantity(), f.GetAdvice())
	}
	for _, s := range f.GetSteps() {
		fmt.Fprintf(w, "  %s %s %s %s\n", s.GetAt(), s.GetActor(), findingStateText(l, s.GetState()), s.GetReason())
	}
	if len(requests) > 0 {
		fmt.Fprintf(w, "%s: %s\n", l.h("回收申请", "Reclaim requests"), strings.Join(requests, ", "))
	}
	return nil
}

// findingKindText and findingStateText are the glossary's words (GLOSSARY.md).
func findingKindText(l lang, kind string) string {
	return glossaryText(l, kind, map[string]string{"no_monitoring": "监测数据缺失", "low_utilisation": "使用率长期较低", "zombie": "僵尸系统"})
}

func findingStateText(l lang, state string) string {
	return glossaryText(l, state, map[string]string{"detected": "待审核", "warned": "警告提示", "dismissed": "不予警告", "explained": "情况说明",
		"closed": "已关闭", "overdue": "逾期未整改", "enforced": "停止发放并回收", "rectified": "已整改"})
}

func glossaryText(l lang, code string, zh map[string]string) string {
	if w := zh[code]; w != "" && l != "en" {
		return w + " " + code
	}
	return code
}

// newUtilisationRulesCommand is `utilisation rules set|show` (the authority's rules, SPEC:
// Utilisation, Rules).
func newUtilisationRulesCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "rules", Short: "The authority's utilisation rules (windows, thresholds, deadlines)", RunE: needSubcommand}
	var effective string
	set := &cobra.Command{
		Use:   "set --effective-from DATE FILE",
		Short: "Set the utilisation rules from a date (the authority); the first rules switch monitoring on",
		Long: `FILE is a CSV "rule,value" with any of the rows ` + strings.Join(interchange.RuleNames, ", ") + `;
a row left out takes its default. The first rules switch monitoring on from --effective-from:
a past date makes the ledger evaluate the days since then, in order. A later version applies
from the first day not yet evaluated.`,
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
			rules, lines, rerr := interchange.ReadRulesFile(args[0], f, effective)
			if rerr != nil {
				return fileRejected(args[0], rerr)
			}
			res, err := g.submitOne(cmd.Context(), "utilisation rules set", &v1.Command{Key: g.keyFor("utilisation-rules"), Body: &v1.Command_UtilisationRules{UtilisationRules: rules}})
			if err != nil {
				return onFileLine(args[0], lines, err)
			}
			_, err = fmt.Fprintln(g.stdout, resultText(g.l(), res))
			return err
		}),
	}
	set.Flags().StringVar(&effective, "effective-from", "", "the first day the rules apply to, YYYY-MM-DD (required)")
	_ = set.MarkFlagRequired("effective-from")
	var format string
	show := &cobra.Command{
		Use:   "show",
		Short: "Show the rules in force and from when, and the last day evaluated",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, formatTable, formatJSON); err != nil {
				return err
			}
			res, err := findingCall(cmd.Context(), g, readPolicy, "utilisation rules show", &v1.ListUtilisationRulesRequest{},
				func(c cloudledgerv1connect.FindingServiceClient) rpc[v1.ListUtilisationRulesRequest, v1.ListUtilisationRulesResponse] {
					return c.ListUtilisationRules
				})
			if err != nil {
				return err
			}
			if format == formatJSON {
				return writeJSON(g.stdout, res)
			}
			l := g.l()
			if len(res.GetRules()) == 0 {
				_, err := fmt.Fprintln(g.stdout, l.m("未设置规则：监测评估未启用", "no rules: monitoring is not switched on"))
				return err
			}
			fmt.Fprintf(g.stdout, "%s: %s    %s: %s\n", l.h("监测启用日", "Monitoring from"), res.GetMonitoringFrom(), l.h("已评估至", "Evaluated through"), res.GetEvaluatedThrough())
			headers := []string{l.h("规则", "Rule")}
			right := []bool{false}
			for _, r := range res.GetRules() {
				headers = append(headers, l.h("自", "from")+" "+r.GetEffectiveFrom())
				right = append(right, true)
			}
			t := &table{headers: headers, right: right}
			for i, name := range interchange.RuleNames {
				row := []string{name}
				for _, r := range res.GetRules() {
					row = append(row, *interchange.RuleValues(r)[i])
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

// newProjectCommand is `project seasons set|show` (SH 18: seasonal workloads).
func newProjectCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "project", Short: "Projects (项目): seasons of cyclical workloads and their quotas (SH 18)", RunE: needSubcommand}
	seasons := &cobra.Command{Use: "seasons", Short: "A project's seasons (周期性动态配额)", RunE: needSubcommand}
	var project string
	set := &cobra.Command{
		Use:   "set --project P FILE",
		Short: "Replace a project's seasons (the authority); an empty file (header only) removes them",
		Long: `FILE is a CSV "from,to,quota_class,quota": month-day ranges MM-DD that repeat every year and
may wrap over the year's end (11-15,02-15). Inside a season the project's quota in that class
is the season's, outside it its base quota; findings skip the days outside the seasons.`,
		Args: cobra.ExactArgs(1),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return &cliError{code: codeFile, message: err.Error(), exit: exitFailure}
			}
			defer f.Close()
			list, lines, rerr := interchange.ReadSeasonsFile(args[0], f)
			if rerr != nil {
				return fileRejected(args[0], rerr)
			}
			res, err := g.submitOne(cmd.Context(), "project seasons set",
				&v1.Command{Key: g.keyFor("project-seasons"), Body: &v1.Command_ProjectSeasons{ProjectSeasons: &v1.ProjectSeasons{Project: project, Seasons: list}}})
			if err != nil {
				return onFileLine(args[0], lines, err)
			}
			_, err = fmt.Fprintln(g.stdout, resultText(g.l(), res))
			return err
		}),
	}
	set.Flags().StringVar(&project, "project", "", "the project (required)")
	_ = set.MarkFlagRequired("project")
	var showProject, format string
	show := &cobra.Command{
		Use:   "show",
		Short: "List the projects' seasons you may see",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, formatTable, formatJSON); err != nil {
				return err
			}
			res, err := findingCall(cmd.Context(), g, readPolicy, "project seasons show", &v1.ListProjectSeasonsRequest{Project: showProject},
				func(c cloudledgerv1connect.FindingServiceClient) rpc[v1.ListProjectSeasonsRequest, v1.ListProjectSeasonsResponse] {
					return c.ListProjectSeasons
				})
			if err != nil {
				return err
			}
			if format == formatJSON {
				return writeJSON(g.stdout, res.GetProjects())
			}
			l := g.l()
			t := &table{headers: []string{l.h("项目", "Project"), l.h("自", "From"), l.h("至", "To"), l.h("配额类别", "Quota class"), l.h("季节配额", "Quota")},
				right: []bool{false, false, false, false, true}}
			for _, p := range res.GetProjects() {
				for _, s := range p.GetSeasons() {
					t.add(p.GetProject(), s.GetFrom(), s.GetTo(), s.GetQuotaClass(), s.GetQuota())
				}
			}
			return t.render(g.stdout)
		}),
	}
	show.Flags().StringVar(&showProject, "project", "", "one project")
	show.Flags().StringVar(&format, "format", formatTable, "table or json")
	seasons.AddCommand(set, show)
	cmd.AddCommand(seasons)
	return cmd
}

// onFileLine names the line of a rules or seasons file the ledger refused a value of (its
// error names the field: a rule, or seasons[i]); other failures stay as they are.
func onFileLine(path string, lines interchange.FileLines, err error) error {
	ce := callFailure(err)
	if ce == nil || ce.code == codeUnknownOutcome || !slices.Contains(interchange.RuleNames, ce.field) && !strings.HasPrefix(ce.field, "seasons[") {
		return err // not about the file's rows (the project, the date of the flags …)
	}
	return fileRejected(path, lines.ErrorOf(ce.field, errcode.Code(ce.code), ce.message))
}

// fileRejected is a rules or seasons file with a bad row: the row, then nothing applied.
func fileRejected(path string, e *interchange.RowError) error {
	return &cliError{code: codeImportRejected, message: path + ": " + "nothing was applied", exit: exitFailure, rows: []string{e.Error()}}
}
