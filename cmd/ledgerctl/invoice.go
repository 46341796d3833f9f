package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/importrun"
	"github.com/cloudledger/cloudledger/interchange"
)

// codeInvoiceMismatch is the exit reason when an invoice does not match within the tolerance.
const codeInvoiceMismatch = "invoice_mismatch"

func newInvoiceCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "invoice", Short: "Provider invoices (发票核对)", RunE: needSubcommand}
	var provider, month, tolerance, format string
	reconcile := &cobra.Command{
		Use:   "reconcile --provider P --month YYYY-MM FILE.csv|FILE.jsonl",
		Short: "Check a provider's invoice against the rated charges of a month",
		Long: `Check a provider's invoice (CSV with the header ` + strings.Join(interchange.Columns(interchange.KindInvoice), ",") + `, or
JSON lines with those fields; the format from the extension, as for import) against the
rated charges of that provider and month, summed per (department, project, item). Each line
is matched (within --tolerance), mismatch (with the difference invoiced − rated), missing
(rated, not invoiced) or unexpected (invoiced, not rated; unknown projects say so); then the
totals. The outcome is recorded on the ledger, so a provider's dispute history is auditable.
A bad file (malformed amount, another month, a duplicate line) is rejected, every bad line
listed as FILE:LINE: FIELD: CODE: MESSAGE. Exit status 0 only when every line matches.`,
		Args: cobra.ExactArgs(1),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, formatTable, formatCSV, formatJSON); err != nil {
				return err
			}
			m, err := calendar.ParseMonth(month)
			if err != nil {
				return inputErr(errcode.InvalidValue, "month", "must be a month YYYY-MM, got %q", month)
			}
			if tol, err := plainDecimal(tolerance); err != nil || tol.IsNegative() {
				return inputErr(errcode.InvalidQuantity, "tolerance", "must be a non-negative decimal, got %q", tolerance)
			}
			fileFormat, err := interchange.FormatFor(args[0])
			if err != nil {
				return importFailure(args[0], &importrun.FileError{File: args[0], Err: err})
			}
			raw, err := os.ReadFile(args[0])
			if err != nil {
				return &cliError{code: codeFile, message: err.Error(), exit: exitFailure}
			}
			sum := sha256.Sum256(raw)
			req := &v1.InvoiceReconcileRequest{Provider: provider, Month: m.String(), InvoiceSha256: hex.EncodeToString(sum[:]), Tolerance: tolerance}
			var bad []*interchange.RowError
			req.Lines, bad = interchange.ReadInvoice(args[0], bytes.NewReader(raw), fileFormat)
			rpcCall := func(ep *endpoint) rpc[v1.InvoiceReconcileRequest, v1.InvoiceReconcileResponse] {
				return ep.ledger.InvoiceReconcile
			}
			if len(bad) > 0 {
				// Ask the ledger for its findings on the lines that did decode, so that every bad
				// line is listed at once; nothing is recorded.
				req.CheckOnly = true
				if _, err := call(cmd.Context(), g, readPolicy, "invoice reconcile", req, rpcCall); err != nil {
					bad = append(bad, invoiceLineErrors(args[0], err)...)
				}
				return invoiceRejected(args[0], bad)
			}
			res, err := call(cmd.Context(), g, writePolicy, "invoice reconcile", req, rpcCall)
			if err != nil {
				if lines := invoiceLineErrors(args[0], err); len(lines) > 0 {
					return invoiceRejected(args[0], lines)
				}
				return err
			}
			rep := res.GetReport()
			if err := writeReport(g.stdout, format, g.l(), rep); err != nil {
				return err
			}
			if !res.GetAllMatch() {
				return &cliError{code: codeInvoiceMismatch, message: fmt.Sprintf("%d mismatched, %d missing, %d unexpected; invoiced %s, rated %s (recorded as line item %d)",
					rep.GetMismatched(), rep.GetMissing(), rep.GetUnexpected(), rep.GetInvoiceTotal(), rep.GetRatedTotal(), res.GetSeq()), exit: exitFailure}
			}
			return nil
		}),
	}
	reconcile.Flags().StringVar(&provider, "provider", "", "the provider (required)")
	reconcile.Flags().StringVar(&month, "month", "", "the invoiced month, YYYY-MM (required)")
	reconcile.Flags().StringVar(&tolerance, "tolerance", "0.00", "largest difference in yuan that still matches")
	reconcile.Flags().StringVar(&format, "format", formatTable, "table, csv or json")
	_ = reconcile.MarkFlagRequired("provider")
	_ = reconcile.MarkFlagRequired("month")
	var histProvider, histFormat string
	history := &cobra.Command{
		Use:   "history --provider P",
		Short: "A provider's recorded reconciliations, oldest first (the dispute history)",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(histFormat, formatTable, formatJSON); err != nil {
				return err
			}
			res, err := call(cmd.Context(), g, readPolicy, "invoice history", &v1.InvoiceHistoryRequest{Provider: histProvider},
				func(ep *endpoint) rpc[v1.InvoiceHistoryRequest, v1.InvoiceHistoryResponse] {
					return ep.ledger.InvoiceHistory
				})
			if err != nil {
				return err
			}
			if histFormat == formatJSON {
				return writeJSON(g.stdout, res)
			}
			l := g.l()
			t := &table{headers: []string{l.h("月份", "Month"), l.h("记录时间", "Recorded at"), l.h("记录人", "By"), l.h("一致", "Matched"),
				l.h("不符", "Mismatched"), l.h("缺项", "Missing"), l.h("多项", "Unexpected"), l.h("发票合计", "Invoiced"),
				l.h("计费合计", "Rated"), l.h("容差", "Tolerance"), l.h("发票 SHA-256", "Invoice SHA-256")},
				right: []bool{false, false, false, true, true, true, true, true, true, true, false}}
			for _, r := range res.GetReconciliations() {
				t.add(r.GetMonth(), r.GetRecordedAt(), r.GetActor(), fmt.Sprint(r.GetMatched()), fmt.Sprint(r.GetMismatched()),
					fmt.Sprint(r.GetMissing()), fmt.Sprint(r.GetUnexpected()), r.GetInvoiceTotal(), r.GetRatedTotal(), r.GetTolerance(), r.GetInvoiceSha256()[:min(16, len(r.GetInvoiceSha256()))])
			}
			return t.render(g.stdout)
		}),
	}
	history.Flags().StringVar(&histProvider, "provider", "", "the provider (required)")
	history.Flags().StringVar(&histFormat, "format", formatTable, "table or json")
	_ = history.MarkFlagRequired("provider")
	cmd.AddCommand(reconcile, history)
	return cmd
}

const maxInvoiceErrors = interchange.MaxInvoiceErrors

// invoiceLineErrors are the bad lines a node named in a refusal (one detail per line).
func invoiceLineErrors(path string, err error) []*interchange.RowError {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return nil
	}
	var out []*interchange.RowError
	for _, d := range detailsOf(ce) {
		if d.GetLine() > 0 {
			out = append(out, importrun.RowError(path, d))
		}
	}
	return out
}

// invoiceRejected lists every bad line of an invoice, in line order.
func invoiceRejected(path string, bad []*interchange.RowError) error {
	sort.SliceStable(bad, func(i, j int) bool { return bad[i].Line < bad[j].Line })
	if len(bad) > maxInvoiceErrors {
		bad = append(bad[:maxInvoiceErrors], &interchange.RowError{File: path, Line: bad[maxInvoiceErrors].Line, Code: errcode.TooLarge,
			Message: fmt.Sprintf("more than %d bad lines: the rest of the file is not checked", maxInvoiceErrors)})
	}
	rows := make([]string, len(bad))
	for i, e := range bad {
		rows[i] = e.Error()
	}
	return &cliError{code: codeImportRejected, message: fmt.Sprintf("%s: %d bad lines; nothing was reconciled", path, len(bad)), exit: exitFailure, rows: rows}
}

// reportCells is a report line as CSV cells.
func reportCells(l *v1.ReconciliationLine) []string {
	row := ""
	if l.GetInvoiceLine() > 0 {
		row = fmt.Sprint(l.GetInvoiceLine())
	}
	return []string{l.GetOutcome(), l.GetDepartment(), l.GetProject(), l.GetItem(), l.GetInvoiced(), l.GetRated(), l.GetDifference(), row, l.GetNote()}
}

func writeReport(w io.Writer, format string, l lang, rep *v1.ReconciliationReport) error {
	switch format {
	case formatJSON:
		return writeJSON(w, rep)
	case formatCSV:
		rows := make([][]string, 0, len(rep.GetLines())+1)
		for _, line := range rep.GetLines() {
			rows = append(rows, reportCells(line))
		}
		rows = append(rows, []string{"total", "", "", "", rep.GetInvoiceTotal(), rep.GetRatedTotal(), rep.GetDifference(), "", ""})
		return writeCSV(w, interchange.ReconciliationColumns, rows)
	}
	t := &table{headers: []string{l.h("结果", "Outcome"), l.h("部门", "Department"), l.h("项目", "Project"), l.h("服务项", "Item"),
		l.h("发票金额", "Invoiced"), l.h("计费金额", "Rated"), l.h("差额", "Difference"), l.h("发票行", "Line"), l.h("说明", "Note")},
		right: []bool{false, false, false, false, true, true, true, true, false}}
	names := map[string]string{"matched": "一致", "mismatch": "金额不符", "missing": "发票缺项", "unexpected": "发票多项"}
	for _, line := range rep.GetLines() {
		c := reportCells(line)
		c[0] = l.h(names[line.GetOutcome()], line.GetOutcome())
		t.add(c...)
	}
	t.add(l.h("合计", "Total"), "", "", "", rep.GetInvoiceTotal(), rep.GetRatedTotal(), rep.GetDifference(), "",
		fmt.Sprintf("%d/%d/%d/%d", rep.GetMatched(), rep.GetMismatched(), rep.GetMissing(), rep.GetUnexpected()))
	return t.render(w)
}
