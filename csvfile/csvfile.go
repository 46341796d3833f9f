// Package csvfile writes the CSV files CloudLedger hands to people (exports, statements,
// lists): UTF-8, optionally with the byte-order mark Excel needs to read it as UTF-8, and
// with every text cell a spreadsheet would run as a formula defused (OWASP's CSV
// injection: a cell starting with =, +, -, @, tab or carriage return). Numbers, negative
// amounts included, stay numbers. The quoting is reversible (Unquote), so a verifier reads
// back exactly what was written. It imports nothing of the project: every layer writes
// its CSV through it.
package csvfile

import (
	"encoding/csv"
	"io"
)

// BOM is the UTF-8 byte-order mark.
const BOM = "\ufeff"

// Writer writes records with formula-defused cells.
type Writer struct {
	cw *csv.Writer
}

// New returns a writer to w; with bom, the byte-order mark is written first.
func New(w io.Writer, bom bool) (*Writer, error) {
	if bom {
		if _, err := io.WriteString(w, BOM); err != nil {
			return nil, err
		}
	}
	return &Writer{cw: csv.NewWriter(w)}, nil
}

// Write writes one record, each cell through Quote.
func (w *Writer) Write(record []string) error {
	out := make([]string, len(record))
	for i, c := range record {
		out[i] = Quote(c)
	}
	return w.cw.Write(out)
}

// WriteAll writes the records and flushes.
func (w *Writer) WriteAll(records [][]string) error {
	for _, r := range records {
		if err := w.Write(r); err != nil {
			return err
		}
	}
	return w.Flush()
}

// Flush writes what is buffered and reports an earlier write's error.
func (w *Writer) Flush() error {
	w.cw.Flush()
	return w.cw.Error()
}

// Quote defuses a cell a spreadsheet would read as a formula by prefixing an apostrophe
// (which Excel and LibreOffice show as text and do not display); a number is left as it is.
// A cell that starts with an apostrophe followed by what Quote would defuse gets one more,
// so that Unquote(Quote(s)) == s for every s.
func Quote(s string) string {
	if s == "" || isNumber(s) {
		return s
	}
	if trigger(s[0]) || s[0] == '\'' && len(s) > 1 && (trigger(s[1]) || s[1] == '\'') {
		return "'" + s
	}
	return s
}

// Unquote is Quote's inverse: what a reader of the file (verify --file) applies to a cell.
func Unquote(s string) string {
	if len(s) > 1 && s[0] == '\'' && (trigger(s[1]) || s[1] == '\'') {
		return s[1:]
	}
	return s
}

func trigger(b byte) bool {
	switch b {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}

// isNumber reports whether s is a plain decimal number: an optional sign, digits, an
// optional fraction. Such a cell is a number to a spreadsheet, never a formula.
func isNumber(s string) bool {
	i := 0
	if s[0] == '-' || s[0] == '+' {
		i = 1
	}
	digits, dot := 0, false
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot && digits > 0:
			dot = true
		default:
			return false
		}
	}
	return digits > 0 && s[len(s)-1] != '.'
}
