package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
)

// Notices (the outbox and its dead-letter list) and deadline tables (issue 15).

func newNoticeCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notice",
		Short: "Notices to departments, providers and the supervisor (通知): the outbox, its deliveries, replay",
		RunE:  needSubcommand,
	}
	var delivery, format string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the notices the caller may see, with their delivery state (pending, delivered, dead)",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, formatTable, formatCSV, formatJSON); err != nil {
				return err
			}
			res, err := requestCall(cmd.Context(), g, readPolicy, "notice list", &v1.ListNoticesRequest{Delivery: delivery},
				func(c cloudledgerv1connect.RequestServiceClient) rpc[v1.ListNoticesRequest, v1.ListNoticesResponse] {
					return c.ListNotices
				})
			if err != nil {
				return err
			}
			return writeNotices(g.stdout, format, g.l(), res.GetNotices())
		}),
	}
	list.Flags().StringVar(&delivery, "delivery", "", "only pending, delivered or dead (the dead-letter list)")
	list.Flags().StringVar(&format, "format", formatTable, "table, csv or json")
	var id string
	replay := &cobra.Command{
		Use:   "replay",
		Short: "Deliver a dead notice again, under its own delivery id (role authority)",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if _, err := requestCall(cmd.Context(), g, writePolicy, "notice replay", &v1.ReplayNoticeRequest{Id: id, Key: g.keyFor("notice-replay")},
				func(c cloudledgerv1connect.RequestServiceClient) rpc[v1.ReplayNoticeRequest, v1.ReplayNoticeResponse] {
					return c.ReplayNotice
				}); err != nil {
				return err
			}
			_, err := fmt.Fprintln(g.stdout, g.l().m("已重新排队投递", "queued again")+": "+id)
			return err
		}),
	}
	replay.Flags().StringVar(&id, "id", "", "notice id, NTC-… (required)")
	_ = replay.MarkFlagRequired("id")
	cmd.AddCommand(list, replay)
	return cmd
}

var noticeColumns = []string{"id", "kind", "party", "recipient", "request", "resource", "due", "raised_at", "delivery", "delivered_at", "error", "replays", "title_zh", "title_en"}

func noticeFields(n *v1.Notice) []string {
	return []string{n.GetId(), n.GetKind(), n.GetParty(), n.GetRecipient(), n.GetRequest(), n.GetResource(), n.GetDue(), n.GetRaisedAt(),
		n.GetDelivery(), n.GetDeliveredAt(), n.GetError(), strconv.Itoa(int(n.GetReplays())), n.GetTitleZh(), n.GetTitleEn()}
}

func writeNotices(w io.Writer, format string, l lang, list []*v1.Notice) error {
	switch format {
	case formatCSV:
		rows := make([][]string, 0, len(list))
		for _, n := range list {
			rows = append(rows, noticeFields(n))
		}
		return writeCSV(w, noticeColumns, rows)
	case formatJSON:
		return writeJSON(w, list)
	}
	t := &table{headers: []string{l.h("通知编号", "Notice"), l.h("对象", "To"), l.h("申请/资源", "Request/resource"), l.h("期限", "Due"),
		l.h("投递", "Delivery"), l.h("内容", "Text")}}
	for _, n := range list {
		to := n.GetParty()
		if n.GetRecipient() != "" {
			to += " " + n.GetRecipient()
		}
		about := n.GetRequest()
		if about == "" {
			about = n.GetResource()
		}
		text := l.m(n.GetTitleZh(), n.GetTitleEn())
		t.add(n.GetId(), to, about, n.GetDue(), n.GetDelivery(), text)
	}
	return t.render(w)
}

// deadlineColumns is the header of a deadline table file.
var deadlineColumns = []string{"kind", "step", "working_days", "months", "from_submission", "article"}

func newDeadlinesCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deadlines",
		Short: "Deadline tables of the request steps (办理时限): SH's by default, or a city's from a date",
		RunE:  needSubcommand,
	}
	var effective, name string
	set := &cobra.Command{
		Use:   "set --effective-from DATE --name NAME FILE.csv",
		Short: "Load the deadline table in force for requests submitted from a date on (role authority)",
		Long: `FILE is a CSV with the header ` + strings.Join(deadlineColumns, ",") + `: one row per kind
(test, open, expand, reduce, reclaim, extend) and step (supervisor, review, fulfil; for test
also verify and formal_open), every pair present. working_days is the period in working
days of the official calendar (1–250); verify counts months instead (months 1–12,
working_days 0). from_submission true counts from the submission, false from the step
before. article names the regulation (e.g. "XM 12"). A request keeps the table in force
on the day it was submitted.`,
		Args: cobra.ExactArgs(1),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			from, err := calendar.ParseDate(effective)
			if err != nil {
				return inputErr(errcode.InvalidDate, "effective-from", "must be a date YYYY-MM-DD, got %q", effective)
			}
			raw, err := os.ReadFile(args[0])
			if err != nil {
				return &cliError{code: codeFile, message: err.Error(), exit: exitFailure}
			}
			rows, err := parseDeadlines(args[0], raw)
			if err != nil {
				return err
			}
			if _, err := requestCall(cmd.Context(), g, writePolicy, "request deadlines set",
				&v1.SetDeadlineTableRequest{Table: &v1.DeadlineTable{EffectiveFrom: from.String(), Name: name, Rows: rows}, Key: g.keyFor("deadline-table")},
				func(c cloudledgerv1connect.RequestServiceClient) rpc[v1.SetDeadlineTableRequest, v1.SetDeadlineTableResponse] {
					return c.SetDeadlineTable
				}); err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "%s %s (%s): %s\n", g.l().h("时限表", "deadline table"), name, from, g.l().m("已载入", "loaded"))
			return err
		}),
	}
	set.Flags().StringVar(&effective, "effective-from", "", "first submission day the table applies to, YYYY-MM-DD (required)")
	set.Flags().StringVar(&name, "name", "", "the table's name, e.g. the city and article (required)")
	_ = set.MarkFlagRequired("effective-from")
	_ = set.MarkFlagRequired("name")
	var format string
	show := &cobra.Command{
		Use:   "show",
		Short: "List the deadline tables: the built-in SH table, then those loaded",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, formatTable, formatJSON); err != nil {
				return err
			}
			res, err := requestCall(cmd.Context(), g, readPolicy, "request deadlines show", &v1.ListDeadlineTablesRequest{},
				func(c cloudledgerv1connect.RequestServiceClient) rpc[v1.ListDeadlineTablesRequest, v1.ListDeadlineTablesResponse] {
					return c.ListDeadlineTables
				})
			if err != nil {
				return err
			}
			if format == formatJSON {
				return writeJSON(g.stdout, res.GetTables())
			}
			l := g.l()
			t := &table{headers: []string{l.h("生效日期", "Effective from"), l.h("时限表", "Table"), l.h("类型", "Kind"), l.h("环节", "Step"),
				l.h("工作日", "Working days"), l.h("月", "Months"), l.h("自申请起算", "From submission"), l.h("依据", "Article")},
				right: []bool{false, false, false, false, true, true, false, false}}
			for _, tb := range res.GetTables() {
				from := tb.GetEffectiveFrom()
				if from == "" {
					from = l.h("默认", "default")
				}
				for _, r := range tb.GetRows() {
					t.add(from, tb.GetName(), r.GetKind(), r.GetStep(), strconv.Itoa(int(r.GetWorkingDays())), strconv.Itoa(int(r.GetMonths())),
						strconv.FormatBool(r.GetFromSubmission()), r.GetArticle())
				}
			}
			return t.render(g.stdout)
		}),
	}
	show.Flags().StringVar(&format, "format", formatTable, "table or json")
	cmd.AddCommand(set, show)
	return cmd
}

// parseDeadlines decodes a deadline table file (the ledger checks the values' meaning).
func parseDeadlines(path string, raw []byte) ([]*v1.DeadlineRow, error) {
	var rows []*v1.DeadlineRow
	err := readCSVTable(path, raw, deadlineColumns, func(line int, rec []string) error {
		if len(rows) >= 64 {
			return rowError(path, line, "", errcode.TooLarge, "at most 64 rows")
		}
		row := &v1.DeadlineRow{Kind: strings.TrimSpace(rec[0]), Step: strings.TrimSpace(rec[1]), Article: strings.TrimSpace(rec[5])}
		for i, into := range []*uint32{&row.WorkingDays, &row.Months} {
			if s := strings.TrimSpace(rec[2+i]); s != "" {
				n, err := strconv.ParseUint(s, 10, 16)
				if err != nil {
					return rowError(path, line, deadlineColumns[2+i], errcode.InvalidValue, "%q is not a whole number of days or months", rec[2+i])
				}
				*into = uint32(n)
			}
		}
		switch strings.ToLower(strings.TrimSpace(rec[4])) {
		case "true", "yes", "1", "是":
			row.FromSubmission = true
		case "false", "no", "0", "否", "":
		default:
			return rowError(path, line, "from_submission", errcode.InvalidValue, "%q: want true or false", rec[4])
		}
		rows = append(rows, row)
		return nil
	})
	return rows, err
}
