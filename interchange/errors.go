package interchange

import (
	"encoding/csv"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cloudledger/cloudledger/errcode"
)

// Limits on decoded input (TIGER_STYLE: named, tested at the boundary).
const (
	MaxRecordBytes = 1 << 20 // one JSON line, or one CSV record (approximately: bounded by its read-ahead)
	MaxEcho        = 64      // characters of user input quoted back in an error message
)

// RowError is one bad row (or header) of an interchange file.
type RowError struct {
	File    string // the name given to the decoder (the path, for OpenFile)
	Line    int    // physical line where the row starts, 1-based (the header is line 1)
	Field   string // the interchange field (column) at fault, "" for the row as a whole
	Code    errcode.Code
	Message string
}

// Error formats the error on one line: "events.csv:12: quantity: invalid_quantity: must be
// positive, got -3" (without the field part when Field is empty).
func (e *RowError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	} else {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(oneLine(e.Field))
		b.WriteString(": ")
	}
	b.WriteString(string(e.Code))
	b.WriteString(": ")
	b.WriteString(oneLine(e.Message))
	return b.String()
}

// Unwrap exposes the error as a *errcode.Error, so errcode.Of and errors.As see its code.
func (e *RowError) Unwrap() error {
	return &errcode.Error{Code: e.Code, Field: e.Field, Message: e.Message, Index: -1}
}

func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

// rowErr turns a field parser's or the ledger's error into a RowError.
func rowErr(file string, line int, err *errcode.Error) *RowError {
	return &RowError{File: file, Line: line, Field: err.Field, Code: err.Code, Message: err.Message}
}

// Echo quotes user input for an error message, capped at MaxEcho characters.
func Echo(s string) string { return echo(s) }

func echo(s string) string {
	if utf8.RuneCountInString(s) <= MaxEcho {
		return strconv.Quote(s)
	}
	n := 0
	for i := range s {
		if n == MaxEcho {
			return strconv.Quote(s[:i]) + "…"
		}
		n++
	}
	return strconv.Quote(s)
}

func errf(code errcode.Code, field, format string, args ...any) *errcode.Error {
	return errcode.Errf(code, field, format, args...)
}

// CSVErrorLine is the line an encoding/csv error points at, 0 when it names none.
func CSVErrorLine(err error) int {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Line
	}
	return 0
}
