package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/interchange"
)

func newSettleCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "settle",
		Short: "The annual settlement: run, audit, submit, pay, status (年度结算)",
		RunE:  needSubcommand,
	}
	steps := []struct{ action, short, long string }{
		{"run", "Open settlement year Y as a draft (window 1 Sep Y−1 – 31 Aug Y by default)", ""},
		{"audit", "Audit year Y: freeze its figures (先审再付)",
			`Audit settlement year Y: the leader rates the window and records the figures per
(department, project, provider, item) with the Raft index and head hash they were computed
at; they never change afterwards. Refused with settlement_blocked, listing every reason,
while a month of the window is open or any charge of the window is provisional (a day
without an evaluation score).`},
		{"submit", "Mark audited year Y as submitted to the finance bureau", ""},
		{"pay", "Mark submitted year Y as paid", ""},
	}
	for _, s := range steps {
		var year int
		c := &cobra.Command{
			Use:   s.action + " --year Y",
			Short: s.short,
			Long:  s.long,
			Args:  cobra.NoArgs,
			RunE: action(func(cmd *cobra.Command, _ []string) error {
				if err := checkYear(year); err != nil {
					return err
				}
				res, err := call(cmd.Context(), g, writePolicy, "settle "+s.action, &v1.SettleRequest{Year: int32(year), Action: s.action},
					func(ep *endpoint) rpc[v1.SettleRequest, v1.SettleResponse] { return ep.ledger.Settle })
				if err != nil {
					return g.blockedAudit(cmd.Context(), year, err)
				}
				l := g.l()
				what := l.m(fmt.Sprintf("结算年度 %d：%s", year, res.GetStatus().GetState()), fmt.Sprintf("settlement year %d: %s", year, res.GetStatus().GetState()))
				if res.GetUnchanged() {
					what += " (" + l.m("未变更", "unchanged") + ")"
				} else {
					what += fmt.Sprintf(" (%s %d)", l.h("条目", "line item"), res.GetSeq())
				}
				_, err = fmt.Fprintln(g.stdout, what)
				return err
			}),
		}
		c.Flags().IntVar(&year, "year", 0, "settlement year (required)")
		_ = c.MarkFlagRequired("year")
		cmd.AddCommand(c)
	}
	var endMonth int
	window := &cobra.Command{
		Use:   "window --end-month M",
		Short: "Set the last month (1–12) of the window of settlement years run from now on (default 8: 1 Sep Y−1 – 31 Aug Y)",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			c := &v1.Command{Key: g.keyFor("settle-window"), Body: &v1.Command_SettlementWindow{SettlementWindow: &v1.SettlementWindow{EndMonth: int32(endMonth)}}}
			return g.submitAndSay(cmd.Context(), "settle window", c, map[string]string{"end_month": "end-month"},
				g.l().h("结算期间末月", "settlement window end month")+" "+fmt.Sprint(endMonth))
		}),
	}
	window.Flags().IntVar(&endMonth, "end-month", 0, "last month of the window, 1–12 (required)")
	_ = window.MarkFlagRequired("end-month")
	cmd.AddCommand(window)
	var year int
	var format string
	status := &cobra.Command{
		Use:   "status --year Y",
		Short: "State, days left before 30 September, and what blocks the audit",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, formatTable, formatJSON); err != nil {
				return err
			}
			if err := checkYear(year); err != nil {
				return err
			}
			st, err := call(cmd.Context(), g, readPolicy, "settle status", &v1.SettleStatusRequest{Year: int32(year)},
				func(ep *endpoint) rpc[v1.SettleStatusRequest, v1.SettleStatusResponse] { return ep.ledger.SettleStatus })
			if err != nil {
				return err
			}
			if format == formatJSON {
				return writeJSON(g.stdout, st)
			}
			return writeSettleStatus(g.stdout, g.l(), st)
		}),
	}
	status.Flags().IntVar(&year, "year", 0, "settlement year (required)")
	status.Flags().StringVar(&format, "format", formatTable, "table or json")
	_ = status.MarkFlagRequired("year")
	cmd.AddCommand(status)
	return cmd
}

func writeSettleStatus(w io.Writer, l lang, st *v1.SettleStatusResponse) error {
	state := st.GetState()
	if state == "" {
		state = l.m("未开始", "not run")
	}
	days := l.m(fmt.Sprintf("剩余 %d 天（%d 个工作日）", st.GetDaysLeft(), st.GetWorkingDaysLeft()), fmt.Sprintf("%d days left (%d working days)", st.GetDaysLeft(), st.GetWorkingDaysLeft()))
	switch {
	case st.GetWorkingDaysLeft() < 0:
		days = l.m(fmt.Sprintf("剩余 %d 天（工作日未知：该年度法定日历未载入）", st.GetDaysLeft()), fmt.Sprintf("%d days left (working days unknown: that year's calendar is not loaded)", st.GetDaysLeft()))
	case st.GetState() == "submitted" || st.GetState() == "paid":
		days = l.m("已报送，无需倒计时", "submitted: nothing left to count down") // a submitted year is never overdue
	case st.GetDaysLeft() < 0:
		days = l.m(fmt.Sprintf("已逾期 %d 天", -st.GetDaysLeft()), fmt.Sprintf("overdue by %d days", -st.GetDaysLeft()))
	}
	t := &table{headers: []string{l.h("项目", "Field"), l.h("值", "Value")}}
	t.add(l.h("结算年度", "Year"), fmt.Sprint(st.GetYear()))
	t.add(l.h("状态", "State"), state)
	t.add(l.h("结算期间", "Window"), st.GetWindowFrom()+" – "+st.GetWindowTo())
	t.add(l.h("报送截止", "Deadline"), st.GetDeadline()+"  "+days)
	if st.GetAuditIndex() > 0 {
		t.add(l.h("审定金额", "Audited total"), st.GetTotalAmount())
		t.add(l.h("审定索引", "Audit index"), fmt.Sprint(st.GetAuditIndex()))
		t.add(l.h("审定链头", "Audit head"), st.GetAuditHead())
	}
	if st.GetWarning() != "" {
		t.add(l.h("警告", "Warning"), st.GetWarning())
	}
	for _, b := range st.GetBlockers() {
		t.add(l.h("阻碍审定", "Blocks audit"), b.GetCode()+": "+b.GetMessage())
	}
	return t.render(w)
}

func newBudgetCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "budget", Short: "Budget export for the finance bureau (预算)", RunE: needSubcommand}
	var year int
	var format, output string
	export := &cobra.Command{
		Use:   "export --year Y --format csv|xlsx|json -o FILE",
		Short: "Export the audited fees of settlement year Y and the next-year estimate",
		Long: `Export settlement year Y for the finance bureau: per budget-funded department the audited
fees by project, provider and item, a next-year estimate (current allocations × current
prices × 12 months), totals; the self-funded departments apart (their own sheet in XLSX, a
funding column in CSV); and in XLSX and JSON a summary per department and a cover with year,
window, Raft index, head hash, audit and submission actor and time, and the deadline status. Headers are Chinese with
English beneath; amounts are exact numbers. The same Raft index always gives the same bytes.`,
		Args: cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, formatCSV, "xlsx", formatJSON); err != nil {
				return err
			}
			if format == "xlsx" && (output == "" || output == "-") {
				return usageErr("--format xlsx needs -o FILE")
			}
			if err := checkYear(year); err != nil {
				return err
			}
			res, err := call(cmd.Context(), g, readPolicy, "budget export", &v1.BudgetExportRequest{Year: int32(year), Format: format},
				func(ep *endpoint) rpc[v1.BudgetExportRequest, v1.BudgetExportResponse] { return ep.ledger.BudgetExport })
			if err != nil {
				return err
			}
			if err := writeOutput(g, output, res.GetContent()); err != nil {
				return err
			}
			// Where the export came from, for the CSV (which has no cover) and the record;
			// on stderr when the export itself went to stdout.
			note := g.stdout
			if output == "" || output == "-" {
				note = g.stderr
			}
			_, err = fmt.Fprintln(note, g.l().m(fmt.Sprintf("结算年度 %d 预算导出：Raft 索引 %d，链头 %s", year, res.GetAppliedIndex(), res.GetHeadHash()),
				fmt.Sprintf("settlement year %d budget export: Raft index %d, head %s", year, res.GetAppliedIndex(), res.GetHeadHash())))
			return err
		}),
	}
	export.Flags().IntVar(&year, "year", 0, "settlement year (required)")
	export.Flags().StringVar(&format, "format", formatCSV, "csv, xlsx or json")
	export.Flags().StringVarP(&output, "output", "o", "", "file to write (standard output if empty; required for xlsx)")
	_ = export.MarkFlagRequired("year")
	cmd.AddCommand(export)
	return cmd
}

// writeOutput writes content to the file, or to standard output for "" and "-".
func writeOutput(g *globals, path string, content []byte) error {
	if path == "" || path == "-" {
		_, err := g.stdout.Write(content)
		return err
	}
	if err := os.WriteFile(path, content, 0o644); err != nil {
		return &cliError{code: codeFile, message: err.Error(), exit: exitFailure}
	}
	return nil
}

func newStatementCommand(g *globals) *cobra.Command {
	var department, provider, month, format, output string
	cmd := &cobra.Command{
		Use:   "statement --department D | --provider P --month YYYY-MM",
		Short: "Monthly statement of a department or a provider (每月利用情况表)",
		Long: `The month's resources with their quantities and charges, the charge lines, subtotals per
project (department statement) or per department (provider statement), the total, and the
test resources apart (never charged). --format csv (UTF-8 with a BOM; a section column says
resource, line, subtotal, total or test), table (the same rows for a terminal, headers and
sections in the --lang language), xlsx (the same rows, amounts as numbers; -o required) or
json.`,
		Args: cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, formatCSV, formatTable, "xlsx", formatJSON); err != nil {
				return err
			}
			if format == "xlsx" && (output == "" || output == "-") {
				return usageErr("--format xlsx needs -o FILE")
			}
			if (department == "") == (provider == "") {
				return usageErr("give one of --department and --provider")
			}
			if err := checkMonth("month", month); err != nil {
				return err
			}
			c, err := g.conn()
			if err != nil {
				return err
			}
			wire := format
			if format == formatTable {
				wire = formatCSV // the server renders the rows, the table is drawn here
			}
			res, err := unary(cmd.Context(), c, readPolicy, "statement", &v1.StatementRequest{Month: month, Department: department, Provider: provider, Format: wire},
				func(ep *endpoint) rpc[v1.StatementRequest, v1.StatementResponse] { return ep.ledger.Statement })
			if err != nil {
				return err
			}
			if format == formatTable {
				var b bytes.Buffer
				if err := writeStatementTable(&b, g.l(), res.GetContent()); err != nil {
					return err
				}
				return writeOutput(g, output, b.Bytes())
			}
			return writeOutput(g, output, res.GetContent())
		}),
	}
	cmd.Flags().StringVar(&department, "department", "", "the department")
	cmd.Flags().StringVar(&provider, "provider", "", "the provider")
	cmd.Flags().StringVar(&month, "month", "", "the month, YYYY-MM (required)")
	cmd.Flags().StringVar(&format, "format", formatCSV, "csv, table, xlsx or json")
	cmd.Flags().StringVarP(&output, "output", "o", "", "file to write (standard output if empty; required for xlsx)")
	_ = cmd.MarkFlagRequired("month")
	return cmd
}

// writeStatementTable draws the statement CSV the server rendered as a terminal table.
func writeStatementTable(w io.Writer, l lang, content []byte) error {
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(content, []byte(utf8BOM)))).ReadAll()
	if err != nil || len(recs) == 0 || len(recs[0]) != len(interchange.StatementColumns) {
		return &cliError{code: codeInternal, message: fmt.Sprintf("statement: an unreadable answer (%v)", err), exit: exitFailure}
	}
	// The table's columns, picked from the CSV's by name: the quantity with its unit, the
	// amounts, the month's mean and peak, the findings and the advice.
	shown := []struct{ column, zh, en string }{{"section", "类别", "Section"}, {"department", "部门", "Department"}, {"project", "项目", "Project"},
		{"provider", "服务商", "Provider"}, {"item", "服务项", "Item"}, {"resource", "资源", "Resource"}, {"kind", "类型", "Kind"},
		{"quantity", "用量", "Quantity"}, {"unit", "单位", "Unit"}, {"base_amount", "基础金额", "Base amount"}, {"amount", "金额", "Amount"},
		{"mean_pct", "平均利用率%", "Mean %"}, {"peak_pct", "峰值利用率%", "Peak %"}, {"findings", "利用率问题", "Findings"}, {"advice", "调整建议", "Advice"}}
	t := &table{}
	index := make([]int, len(shown))
	for i, c := range shown {
		index[i] = slices.Index(interchange.StatementColumns, c.column)
		t.headers = append(t.headers, l.h(c.zh, c.en))
		t.right = append(t.right, c.column == "quantity" || strings.HasSuffix(c.column, "amount") || strings.HasSuffix(c.column, "_pct") || c.column == "advice")
	}
	sections := map[string]string{"resource": "资源", "line": "计费行", "subtotal": "小计", "total": "合计", "test": "测试资源"}
	for _, r := range recs[1:] {
		r[0] = l.h(sections[r[0]], r[0])
		row := make([]string, len(shown))
		for i, j := range index {
			row[i] = r[j]
		}
		t.add(row...)
	}
	return t.render(w)
}

// blockedAudit lists the reasons of a refused audit one per line (a month not closed, a
// provider's unscored days), not the one long line of the refusal; settle status --format
// json has every charge line they leave provisional.
func (g *globals) blockedAudit(ctx context.Context, year int, err error) error {
	ce := callFailure(err)
	if ce == nil || ce.code != "settlement_blocked" {
		return err
	}
	st, serr := call(ctx, g, readPolicy, "settle status", &v1.SettleStatusRequest{Year: int32(year)},
		func(ep *endpoint) rpc[v1.SettleStatusRequest, v1.SettleStatusResponse] { return ep.ledger.SettleStatus })
	if serr != nil || len(st.GetBlockers()) == 0 {
		return err
	}
	out := *ce
	for _, b := range st.GetBlockers() {
		out.rows = append(out.rows, "  "+b.GetCode()+": "+b.GetMessage())
	}
	l := g.l()
	out.message = l.m(fmt.Sprintf("结算年度 %d 不能审定：%d 项原因（见上；逐条计费明细见 settle status --year %d --format json）", year, len(out.rows), year),
		fmt.Sprintf("settlement year %d cannot be audited: %d reasons (above; settle status --year %d --format json lists every charge line)", year, len(out.rows), year))
	return &out
}

// checkMonth and checkYear refuse a bad --month or --year as every bad flag value is
// refused: a usage error (exit 2) naming the flag, before any call.
func checkMonth(flag, v string) error {
	if _, err := calendar.ParseMonth(v); err != nil {
		return inputErr(errcode.InvalidValue, flag, "must be a month YYYY-MM, got %q", v)
	}
	return nil
}

func checkYear(y int) error {
	if y < 2000 || y > 2200 {
		return inputErr(errcode.InvalidValue, "year", "a settlement year from 2000 to 2200, not %d", y)
	}
	return nil
}
