package main

import (
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/interchange"
)

// UtilisationColumns are the columns `utilisation show --format csv` writes: a report's
// row layout (SPEC: Utilisation), then where the row came from.
var utilisationColumns = []string{"resource", "date", "mean_pct", "peak_pct", "availability_pct", "source", "delivery_seq"}

func newUtilisationCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "utilisation",
		Short: "Daily utilisation of resources (资源利用率): show the rows in force; import reports with `import utilisation FILE`",
		RunE:  needSubcommand,
	}
	var resource, department, provider, from, to, month, format, output string
	show := &cobra.Command{
		Use:   "show (--month M | --from DATE --to DATE) [--resource R | --department D | --provider P]",
		Short: "The daily rows in force (mean, peak, availability %) of the resources you see",
		Long: `The daily utilisation rows in force, by resource then date: each resource's mean and peak
utilisation of what it was allocated and the share of the day it was up, in percent, with
the row's source (prometheus, authority, provider, kafka) and the line item of its delivery.
One resource, a department's (and the departments below it), a provider's, or every
resource you see; at most 366 days.`,
		Args: cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, formatTable, formatCSV, formatJSON); err != nil {
				return err
			}
			if month != "" { // SPEC's form: a month, its first to its last day
				m, err := calendar.ParseMonth(month)
				if err != nil || from != "" || to != "" {
					return inputErr(errcode.InvalidValue, "month", "--month is YYYY-MM, instead of --from and --to, not %q", month)
				}
				from, to = m.First().String(), m.Last().String()
			}
			for _, d := range []struct{ name, v string }{{"from", from}, {"to", to}} {
				if _, err := calendar.ParseDate(d.v); err != nil {
					return inputErr(errcode.InvalidDate, d.name, "must be a date YYYY-MM-DD, got %q", d.v)
				}
			}
			res, err := call(cmd.Context(), g, readPolicy, "utilisation show",
				&v1.UtilisationRequest{Resource: resource, Department: department, Provider: provider, From: from, To: to},
				func(ep *endpoint) rpc[v1.UtilisationRequest, v1.UtilisationResponse] { return ep.ledger.Utilisation })
			if err != nil {
				return err
			}
			w := g.stdout
			if output != "" && output != "-" {
				f, err := os.Create(output)
				if err != nil {
					return &cliError{code: codeFile, message: err.Error(), exit: exitFailure}
				}
				defer f.Close()
				w = f
			}
			rows := make([][]string, len(res.GetRows()))
			for i, r := range res.GetRows() {
				rows[i] = []string{r.GetResource(), r.GetDate(), r.GetMeanPct(), r.GetPeakPct(), r.GetAvailabilityPct(), r.GetSource(), itoa(r.GetDeliverySeq())}
			}
			switch format {
			case formatCSV:
				return writeCSV(w, utilisationColumns, rows)
			case formatJSON:
				return writeJSON(w, res)
			}
			l := g.l()
			t := &table{headers: []string{l.h("资源", "Resource"), l.h("日期", "Date"), l.h("平均 %", "Mean %"), l.h("峰值 %", "Peak %"),
				l.h("可用率 %", "Availability %"), l.h("来源", "Source"), l.h("交付条目", "Delivery")}, right: []bool{false, false, true, true, true, false, true}}
			for _, r := range rows {
				t.add(r...)
			}
			return t.render(w)
		}),
	}
	f := show.Flags()
	f.StringVar(&resource, "resource", "", "one resource")
	f.StringVar(&department, "department", "", "a department's resources (and its children's)")
	f.StringVar(&provider, "provider", "", "a provider's resources")
	f.StringVar(&from, "from", "", "first day, YYYY-MM-DD (or --month)")
	f.StringVar(&to, "to", "", "last day, YYYY-MM-DD, inclusive (or --month)")
	f.StringVar(&month, "month", "", "a month, YYYY-MM: its first to its last day")
	f.StringVar(&format, "format", formatTable, "table, csv or json")
	f.StringVarP(&output, "output", "o", "", "write to this file instead of stdout")
	var encoding string
	imp := &cobra.Command{
		Use:   "import FILE",
		Short: "Import a utilisation report (the same as import utilisation FILE)",
		Args:  cobra.ExactArgs(1),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			if encoding != interchange.EncodingUTF8 && encoding != interchange.EncodingGB18030 {
				return usageErr("--encoding must be utf-8 or gb18030, not %q", encoding)
			}
			return g.importFile(cmd.Context(), interchange.KindUtilisation, args[0], encoding)
		}),
	}
	imp.Flags().StringVar(&encoding, "encoding", interchange.EncodingUTF8, "the file's encoding: utf-8 or gb18030 (GBK)")
	var effDept, quarter, effFormat string
	eff := &cobra.Command{
		Use:   "efficiency --department D --quarter YYYYQn",
		Short: "A department's resource-use efficiency per quota class over an evaluation quarter (SH 33)",
		Long: `Σ(q_d × mean_d) ÷ Σ q_d over the department's standard resource-days with a row, q_d the
quantity the resource held at the end of day d, per quota class, half-up to 2 decimals.
Quarters follow the settlement year: 2026Q1 is September–November 2025, 2026Q2
December–February, 2026Q3 March–May, 2026Q4 June–August 2026.`,
		Args: cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(effFormat, formatTable, formatJSON); err != nil {
				return err
			}
			res, err := call(cmd.Context(), g, readPolicy, "utilisation efficiency", &v1.EfficiencyRequest{Department: effDept, Quarter: quarter},
				func(ep *endpoint) rpc[v1.EfficiencyRequest, v1.EfficiencyResponse] { return ep.ledger.Efficiency })
			if err != nil {
				return err
			}
			if effFormat == formatJSON {
				return writeJSON(g.stdout, res)
			}
			l := g.l()
			t := &table{headers: []string{l.h("配额类别", "Quota class"), l.h("效率 %", "Efficiency %"), l.h("资源·天", "Resource-days")}, right: []bool{false, true, true}}
			for _, c := range res.GetClasses() {
				t.add(c.GetQuotaClass(), c.GetEfficiencyPct(), itoa(uint64(c.GetResourceDays())))
			}
			return t.render(g.stdout)
		}),
	}
	eff.Flags().StringVar(&effDept, "department", "", "the department (required)")
	eff.Flags().StringVar(&quarter, "quarter", "", "the evaluation quarter, YYYYQn (required)")
	eff.Flags().StringVar(&effFormat, "format", formatTable, "table or json")
	_ = eff.MarkFlagRequired("department")
	_ = eff.MarkFlagRequired("quarter")
	cmd.AddCommand(show, imp, eff, newUtilisationRulesCommand(g))
	return cmd
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
