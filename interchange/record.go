package interchange

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
)

// RecordParser decodes single JSON-lines objects of one kind that arrive one at a time (a
// Kafka record), with the same rules and codes as a file, reusing its buffers. It is not
// safe for concurrent use.
type RecordParser struct {
	d *Decoder
}

// NewRecordParser returns a parser of events records (kinds with their own keys only).
func NewRecordParser(kind FileKind) (*RecordParser, error) {
	if kind.isMasterData() {
		return nil, fmt.Errorf("interchange: %s records have no keys of their own", kind)
	}
	d, err := NewDecoder(kind, "record", bytes.NewReader(nil), FormatJSONL, "")
	if err != nil {
		return nil, err
	}
	return &RecordParser{d: d}, nil
}

// Parse decodes one record: a single JSON object, optionally followed by a newline. A
// record without a "key" of its own gets defaultKey (for Kafka: derived from its topic,
// partition and offset, so it is deterministic); an empty defaultKey makes "key" required.
func (p *RecordParser) Parse(value []byte, defaultKey string) (*v1.Command, *errcode.Error) {
	p.d.recordKey = defaultKey
	line := bytes.TrimSpace(value)
	if len(line) > MaxRecordBytes {
		return nil, errf(errcode.TooLarge, "", "a record longer than %d bytes", MaxRecordBytes)
	}
	if bytes.ContainsAny(line, "\r\n") {
		return nil, errf(errcode.Malformed, "", "a record is one JSON object on one line")
	}
	if len(line) == 0 {
		return nil, errf(errcode.Malformed, "", "an empty record")
	}
	if perr := p.d.jsonl.parseObject(line, p.d.known); perr != nil {
		return nil, perr
	}
	row, rerr, _ := p.d.row(1)
	if rerr != nil {
		return nil, &errcode.Error{Code: rerr.Code, Field: rerr.Field, Message: rerr.Message, Index: -1}
	}
	return row.Command, nil
}

// MaxInvoiceErrors stops listing the bad lines of a file that is plainly not an invoice.
const MaxInvoiceErrors = 100

// ReadInvoice decodes a whole invoice file (kind invoice): its lines as read, and the lines
// that do not decode (at most MaxInvoiceErrors; a header problem is the one error). The
// ledger parses the lines (apimap.InvoiceLines).
func ReadInvoice(name string, r io.Reader, format Format) ([]*v1.InvoiceLine, []*RowError) {
	dec, err := NewDecoder(KindInvoice, name, r, format, "")
	if err != nil {
		var re *RowError
		if !errors.As(err, &re) {
			re = &RowError{File: name, Line: 1, Code: errcode.Malformed, Message: err.Error()}
		}
		return nil, []*RowError{re}
	}
	var lines []*v1.InvoiceLine
	var bad []*RowError
	for len(bad) < MaxInvoiceErrors {
		row, rerr, ok := dec.Next()
		if !ok {
			break
		}
		if rerr != nil {
			bad = append(bad, rerr)
			continue
		}
		lines = append(lines, row.Invoice)
	}
	return lines, bad
}
