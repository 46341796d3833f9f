package apimap

import (
	"cmp"
	"fmt"
	"io"
	"slices"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/interchange"
	"github.com/cloudledger/cloudledger/ledger"
	"github.com/cloudledger/cloudledger/settlement"
)

// LineError is a bad line of an invoice: its line in the file and why.
type LineError struct {
	Line uint32
	Err  *errcode.Error
}

// Limits of an invoice.
const (
	MaxInvoiceLines  = settlement.MaxInvoiceLines
	maxInvoiceErrors = interchange.MaxInvoiceErrors
)

// InvoiceLines parses a provider's invoice for month (SPEC: Settlement; the rows of an
// invoice file as the interchange decoder read them): month YYYY-MM (the month reconciled),
// department, project, item (ids as on the ledger), amount (a plain decimal in yuan, negative
// for a credit), each (department, project, item) once. Every bad line is reported; any bad
// line rejects the invoice.
func InvoiceLines(in []*v1.InvoiceLine, month calendar.Month) ([]settlement.InvoiceLine, []LineError) {
	var out []settlement.InvoiceLine
	var bad []LineError
	if len(in) > MaxInvoiceLines {
		return nil, []LineError{{0, errf(errcode.TooLarge, "lines", "more than %d lines", MaxInvoiceLines)}}
	}
	seen := map[[3]string]uint32{}
	for _, l := range in {
		if len(bad) == maxInvoiceErrors {
			bad = append(bad, LineError{l.GetLine(), errf(errcode.TooLarge, "", "more than %d bad lines: the rest of the invoice is not checked", maxInvoiceErrors)})
			break
		}
		line, err := invoiceLine(l, month)
		if err != nil {
			bad = append(bad, LineError{l.GetLine(), err})
			continue
		}
		k := [3]string{line.Department, line.Project, line.Item}
		if first, dup := seen[k]; dup {
			bad = append(bad, LineError{l.GetLine(), errf(errcode.DuplicateLine, "item", "%s/%s/%s is already on line %d", k[0], k[1], k[2], first)})
			continue
		}
		seen[k] = l.GetLine()
		out = append(out, line)
	}
	return out, bad
}

func invoiceLine(l *v1.InvoiceLine, month calendar.Month) (settlement.InvoiceLine, *errcode.Error) {
	out := settlement.InvoiceLine{Line: int(l.GetLine()), Department: l.GetDepartment(), Project: l.GetProject(), Item: l.GetItem()}
	switch m := l.GetMonth(); {
	case m == "":
		return out, errf(errcode.MissingField, "month", "month is required (YYYY-MM)")
	default:
		got, err := calendar.ParseMonth(m)
		if err != nil {
			return out, errf(errcode.InvalidValue, "month", "a month is YYYY-MM, not %s", interchange.Echo(m))
		}
		if got != month {
			return out, errf(errcode.InvalidValue, "month", "the line is for %s, the invoice for %s", got, month)
		}
	}
	for _, f := range []struct{ field, v string }{{"department", out.Department}, {"project", out.Project}, {"item", out.Item}} {
		if err := ledger.CheckID(f.field, f.v); err != nil {
			return out, err
		}
	}
	amount := l.GetAmount()
	if amount == "" {
		return out, errf(errcode.MissingField, "amount", "amount is required")
	}
	d, err := ledger.ParseDecimal(amount)
	if err != nil {
		return out, errf(errcode.InvalidQuantity, "amount", "an amount is a plain decimal, not %s", interchange.Echo(amount))
	}
	out.Amount = d
	return out, nil
}

// ParseInvoiceFile reads an invoice file for month (CSV with the header of
// settlement.InvoiceColumns, or JSON lines with those fields): the interchange decoder's
// errors and InvoiceLines' together, in line order, as FILE:LINE: FIELD: CODE: MESSAGE.
// Any bad line rejects the file. For servers reading an uploaded file; ledgerctl decodes
// the file itself and lets the ledger check the lines.
func ParseInvoiceFile(name string, r io.Reader, format interchange.Format, month calendar.Month) ([]settlement.InvoiceLine, []*interchange.RowError) {
	rows, errs := interchange.ReadInvoice(name, r, format)
	lines, bad := InvoiceLines(rows, month)
	for _, b := range bad {
		errs = append(errs, &interchange.RowError{File: name, Line: int(b.Line), Field: b.Err.Field, Code: b.Err.Code, Message: b.Err.Message})
	}
	slices.SortStableFunc(errs, func(a, b *interchange.RowError) int { return cmp.Compare(a.Line, b.Line) })
	if len(errs) > maxInvoiceErrors {
		last := errs[maxInvoiceErrors]
		errs = append(errs[:maxInvoiceErrors], &interchange.RowError{File: name, Line: last.Line, Code: errcode.TooLarge,
			Message: fmt.Sprintf("more than %d bad lines: the rest of the file is not checked", maxInvoiceErrors)})
	}
	return lines, errs
}
