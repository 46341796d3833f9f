package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/interchange"
)

func newChargesCommand(g *globals) *cobra.Command {
	var from, to, department, provider, format, output string
	cmd := &cobra.Command{
		Use:   "charges --from DATE --to DATE",
		Short: "Rated charges of a day range (计费明细)",
		Long: `Rate the ledger over the inclusive days --from..--to (Asia/Shanghai) as SPEC.md's Rating
section defines: catalog price × actual use × the provider's evaluation multiplier, one
line per (month, department, project, provider, item).

--format csv writes charges.csv (UTF-8 with a BOM for Excel) with exactly the columns
` + strings.Join(interchange.ChargeColumns, ",") + `;
json an object with the lines, totals, the Raft index and head hash rated; table (default)
a bilingual table with totals. A line with days that had no evaluation score is provisional
(multiplier 1 on those days): the table and JSON mark it, and every format reports the count
on stderr with each provider's unscored days (also "unscored" in the JSON). The leader
computes (linearizable); --stale asks the addressed node.`,
		Args: cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, formatTable, formatCSV, formatJSON); err != nil {
				return err
			}
			f, err := calendar.ParseDate(from)
			if err != nil {
				return inputErr(errcode.InvalidDate, "from", "must be a date YYYY-MM-DD, got %q", from)
			}
			t, err := calendar.ParseDate(to)
			if err != nil {
				return inputErr(errcode.InvalidDate, "to", "must be a date YYYY-MM-DD, got %q", to)
			}
			if t.Before(f) {
				return inputErr(errcode.InvalidRange, "to", "the range ends %s before it starts %s", t, f)
			}
			res, err := call(cmd.Context(), g, readPolicy, "charges",
				&v1.ChargesRequest{From: f.String(), To: t.String(), Department: department, Provider: provider},
				func(ep *endpoint) rpc[v1.ChargesRequest, v1.ChargesResponse] { return ep.ledger.Charges })
			if err != nil {
				return err
			}
			w := g.stdout
			if output != "" && output != "-" {
				file, err := os.Create(output)
				if err != nil {
					return &cliError{code: codeFile, message: err.Error(), exit: exitFailure}
				}
				defer file.Close()
				w = file
			}
			if err := writeCharges(w, format, g.l(), res); err != nil {
				return err
			}
			if n := res.GetProvisionalLines(); n > 0 {
				fmt.Fprintf(g.stderr, "ledgerctl: %s\n", g.l().m(
					fmt.Sprintf("%d 行含无评估得分的日期，为暂估（倍数按 1 计）", n),
					fmt.Sprintf("%d lines have days without an evaluation score and are provisional (multiplier 1 on those days)", n)))
				for _, u := range res.GetUnscored() {
					days := dayRanges(u)
					fmt.Fprintf(g.stderr, "ledgerctl: %s\n", g.l().m(u.GetProvider()+" 无得分日期："+days, u.GetProvider()+" unscored: "+days))
				}
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&from, "from", "", "first day, YYYY-MM-DD (required)")
	cmd.Flags().StringVar(&to, "to", "", "last day, YYYY-MM-DD, inclusive (required)")
	cmd.Flags().StringVar(&department, "department", "", "only this department")
	cmd.Flags().StringVar(&provider, "provider", "", "only this provider")
	cmd.Flags().StringVar(&format, "format", formatTable, "table, csv or json")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to this file instead of standard output")
	_ = cmd.MarkFlagRequired("from")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

func chargeFields(l *v1.ChargeLine) []string {
	return []string{l.GetMonth(), l.GetDepartment(), l.GetProject(), l.GetProvider(), l.GetItem(), l.GetBilling(),
		l.GetQuantity(), l.GetUnit(), l.GetBaseAmount(), l.GetMultiplier(), l.GetAmount()}
}

type chargeLineJSON struct {
	Month           string `json:"month"`
	Department      string `json:"department"`
	Project         string `json:"project"`
	Provider        string `json:"provider"`
	Item            string `json:"item"`
	Billing         string `json:"billing"`
	Quantity        string `json:"quantity"`
	Unit            string `json:"unit"`
	BaseAmount      string `json:"base_amount"`
	Multiplier      string `json:"multiplier"`
	Amount          string `json:"amount"`
	ProvisionalDays uint32 `json:"provisional_days"`
}

type chargesJSON struct {
	AppliedIndex     uint64             `json:"applied_index"`
	HeadHash         string             `json:"head_hash"`
	TotalBaseAmount  string             `json:"total_base_amount"`
	TotalAmount      string             `json:"total_amount"`
	ProvisionalLines uint32             `json:"provisional_lines"`
	Unscored         []unscoredDaysJSON `json:"unscored"`
	Lines            []chargeLineJSON   `json:"lines"`
}

// unscoredDaysJSON is a provider's days without an evaluation score in the rated range.
type unscoredDaysJSON struct {
	Provider string         `json:"provider"`
	Days     []dayRangeJSON `json:"days"`
}

type dayRangeJSON struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// dayRanges writes a provider's unscored days as "2026-07-01..2026-08-31, 2026-10-01".
func dayRanges(u *v1.UnscoredDays) string {
	var parts []string
	for _, d := range u.GetDays() {
		if d.GetFrom() == d.GetTo() {
			parts = append(parts, d.GetFrom())
		} else {
			parts = append(parts, d.GetFrom()+".."+d.GetTo())
		}
	}
	return strings.Join(parts, ", ")
}

// writeCharges writes the rated lines in a format (table, csv or json).
func writeCharges(w io.Writer, format string, l lang, res *v1.ChargesResponse) error {
	switch format {
	case formatCSV:
		recs := make([][]string, 0, len(res.GetLines()))
		for _, c := range res.GetLines() {
			recs = append(recs, chargeFields(c))
		}
		return writeCSV(w, interchange.ChargeColumns, recs)
	case formatJSON:
		out := chargesJSON{AppliedIndex: res.GetAppliedIndex(), HeadHash: res.GetHeadHash(), TotalBaseAmount: res.GetTotalBaseAmount(),
			TotalAmount: res.GetTotalAmount(), ProvisionalLines: res.GetProvisionalLines(), Unscored: []unscoredDaysJSON{}, Lines: []chargeLineJSON{}}
		for _, u := range res.GetUnscored() {
			uj := unscoredDaysJSON{Provider: u.GetProvider(), Days: []dayRangeJSON{}}
			for _, d := range u.GetDays() {
				uj.Days = append(uj.Days, dayRangeJSON{d.GetFrom(), d.GetTo()})
			}
			out.Unscored = append(out.Unscored, uj)
		}
		for _, c := range res.GetLines() {
			f := chargeFields(c)
			out.Lines = append(out.Lines, chargeLineJSON{f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10], c.GetProvisionalDays()})
		}
		return writeJSON(w, out)
	}
	if len(res.GetLines()) == 0 {
		_, err := io.WriteString(w, l.m("无计费", "no charges")+"\n")
		return err
	}
	t := &table{
		headers: []string{l.h("月份", "Month"), l.h("部门", "Department"), l.h("项目", "Project"), l.h("服务商", "Provider"),
			l.h("服务项", "Item"), l.h("计费方式", "Billing"), l.h("数量", "Quantity"), l.h("单位", "Unit"),
			l.h("基础金额", "Base"), l.h("倍数", "Multiplier"), l.h("金额", "Amount"), l.h("暂估", "Provisional")},
		right: []bool{false, false, false, false, false, false, true, false, true, true, true, false},
	}
	for _, c := range res.GetLines() {
		note := ""
		if d := c.GetProvisionalDays(); d > 0 {
			note = l.h(fmt.Sprintf("%d天无得分", d), unscoredDaysText(d))
		}
		t.add(append(chargeFields(c), note)...)
	}
	t.add(l.h("合计", "Total"), "", "", "", "", "", "", "", res.GetTotalBaseAmount(), "", res.GetTotalAmount(), "")
	return t.render(w)
}

// unscoredDaysText is the English note of a line's provisional days: "1 day unscored".
func unscoredDaysText(days uint32) string {
	if days == 1 {
		return "1 day unscored"
	}
	return fmt.Sprintf("%d days unscored", days)
}
