package main

import (
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
)

func newQuotaCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "quota",
		Short: "Quota reports (配额)",
		RunE:  needSubcommand,
	}
	var format, on string
	overruns := &cobra.Command{
		Use:   "overruns",
		Short: "List departments whose allocations exceed their quota (超配)",
		Long: `List every (department, quota class) whose allocation A exceeds its quota Q (the sum of
the quotas of the department's active projects), with A÷Q and a status:
  over       超配     A ≤ 120 % of Q
  approved   已审批   A > 120 % of Q under a supervisor approval whose ceiling covers A
  violation  违规     A > 120 % of Q with no covering approval

--format csv writes a UTF-8 CSV with a BOM (Excel opens it with Chinese intact) and the
columns ` + strings.Join(overrunColumns, ",") + `; --format json an array of objects
with the same fields.`,
		Args: cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, formatTable, formatCSV, formatJSON); err != nil {
				return err
			}
			if _, err := calendar.ParseDate(on); on != "" && err != nil {
				return inputErr(errcode.InvalidDate, "on", "must be a date YYYY-MM-DD, got %q", on)
			}
			res, err := call(cmd.Context(), g, readPolicy, "quota overruns", &v1.QuotaOverrunsRequest{On: on},
				func(ep *endpoint) rpc[v1.QuotaOverrunsRequest, v1.QuotaOverrunsResponse] {
					return ep.ledger.QuotaOverruns
				})
			if err != nil {
				return err
			}
			return writeOverruns(g.stdout, format, g.l(), res.GetOverruns())
		}),
	}
	overruns.Flags().StringVar(&format, "format", formatTable, "table, csv or json")
	overruns.Flags().StringVar(&on, "on", "", "the report on this day, YYYY-MM-DD: the quotas of that day's project seasons (default: the ledger's today)")
	cmd.AddCommand(overruns)
	return cmd
}

// overrunColumns are the CSV columns and JSON fields of the overrun report, in SPEC order
// (SPEC.md, Quota: Q, A, A/Q and status), then the approval that covers it.
var overrunColumns = []string{"department", "department_name", "quota_class", "quota", "allocated", "ratio", "status", "ceiling", "approval_ref"}

// overrunJSON is one row of the JSON report; numbers stay decimal strings.
type overrunJSON struct {
	Department     string `json:"department"`
	DepartmentName string `json:"department_name"`
	QuotaClass     string `json:"quota_class"`
	Quota          string `json:"quota"`
	Allocated      string `json:"allocated"`
	Ratio          string `json:"ratio"` // "" when the quota is 0
	Status         string `json:"status"`
	Ceiling        string `json:"ceiling"`
	ApprovalRef    string `json:"approval_ref"`
}

func overrunFields(o *v1.QuotaOverrun) []string {
	return []string{o.GetDepartment(), o.GetDepartmentName(), o.GetQuotaClass(), o.GetQuota(), o.GetAllocated(),
		o.GetRatio(), o.GetStatus(), o.GetCeiling(), o.GetApprovalRef()}
}

// writeOverruns writes the overrun report in a format (table, csv or json).
func writeOverruns(w io.Writer, format string, l lang, rows []*v1.QuotaOverrun) error {
	switch format {
	case formatCSV:
		recs := make([][]string, 0, len(rows))
		for _, o := range rows {
			recs = append(recs, overrunFields(o))
		}
		return writeCSV(w, overrunColumns, recs)
	case formatJSON:
		out := make([]overrunJSON, 0, len(rows))
		for _, o := range rows {
			out = append(out, overrunJSON{o.GetDepartment(), o.GetDepartmentName(), o.GetQuotaClass(), o.GetQuota(),
				o.GetAllocated(), o.GetRatio(), o.GetStatus(), o.GetCeiling(), o.GetApprovalRef()})
		}
		return writeJSON(w, out)
	}
	if len(rows) == 0 {
		_, err := io.WriteString(w, l.m("无超配", "no overruns")+"\n")
		return err
	}
	return overrunTable(l, rows).render(w)
}

func overrunTable(l lang, rows []*v1.QuotaOverrun) *table {
	t := &table{
		headers: []string{
			l.h("部门", "Department"), l.h("部门名称", "Name"), l.h("配额类别", "Quota class"),
			l.h("配额", "Quota Q"), l.h("已分配", "Allocated A"), l.h("比例", "A÷Q"),
			l.h("状态", "Status"), l.h("批准上限", "Ceiling"), l.h("批准文号", "Approval ref"),
		},
		right: []bool{false, false, false, true, true, true, false, true, false},
	}
	for _, o := range rows {
		ratio := o.GetRatio()
		if ratio == "" {
			ratio = "∞" // Q = 0: any allocation is over
		}
		t.add(o.GetDepartment(), o.GetDepartmentName(), o.GetQuotaClass(), o.GetQuota(), o.GetAllocated(),
			ratio, statusText(l, o.GetStatus()), o.GetCeiling(), o.GetApprovalRef())
	}
	return t
}

// statusText is an overrun status for people: "超配 over" in zh, "over" in en.
func statusText(l lang, status string) string {
	zh := map[string]string{"over": "超配", "approved": "已审批", "violation": "违规"}[status]
	if zh == "" || l == "en" {
		return status
	}
	return zh + " " + status
}
