package interchange

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cloudledger/cloudledger/errcode"
)

const csvBufferBytes = 64 << 10

// csvSource reads CSV records; index maps a column name to its position in the header.
type csvSource struct {
	counter  *countingReader
	r        *csv.Reader
	index    map[string]int
	ncols    int
	record   []string
	lastLine int // the last physical line known to be read, for errors that have no position
}

// countingReader counts the bytes read since the last reset and fails, for good, once a
// single record has needed more than MaxRecordBytes (plus the read-ahead), so that one
// enormous quoted field cannot exhaust memory: encoding/csv has no limit of its own.
type countingReader struct {
	r     io.Reader
	n     int
	limit int
	err   error
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.n > c.limit {
		c.err = errTooLarge
		return 0, c.err
	}
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func (c *countingReader) reset() { c.n = 0 }

func newCSVSource(d *Decoder, r io.Reader) (*csvSource, *RowError) {
	counter := &countingReader{r: r, limit: MaxRecordBytes + csvBufferBytes}
	br := bufio.NewReaderSize(counter, csvBufferBytes)
	skipBOM(br)
	cr := csv.NewReader(br) // reuses br: it is a *bufio.Reader large enough
	cr.FieldsPerRecord = -1 // counted here, so a short row is an error of that row only
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	s := &csvSource{counter: counter, r: cr}
	if err := s.readHeader(d); err != nil {
		return nil, err
	}
	return s, nil
}

// field returns the trimmed value of a column of the current record, "" if the header has
// no such column.
func (s *csvSource) field(name string) string {
	i, ok := s.index[name]
	if !ok || i >= len(s.record) {
		return ""
	}
	return strings.TrimSpace(s.record[i])
}

func (s *csvSource) readHeader(d *Decoder) *RowError {
	headerErr := func(line int, code errcode.Code, field, format string, args ...any) *RowError {
		return &RowError{File: d.name, Line: line, Field: field, Code: code, Message: fmt.Sprintf(format, args...)}
	}
	want := strings.Join(Columns(d.kind), ",")
	s.counter.reset()
	rec, err := s.r.Read()
	if err == io.EOF {
		return headerErr(1, errcode.Malformed, "", "empty file: a header row is required (%s)", want)
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return headerErr(pe.StartLine, errcode.Malformed, "", "header: %s", parseErrorMessage(pe))
		}
		if errors.Is(err, errTooLarge) {
			return headerErr(1, errcode.TooLarge, "", "header longer than %d bytes", MaxRecordBytes)
		}
		return headerErr(1, errcode.Internal, "", "read: %v", err)
	}
	line, _ := s.r.FieldPos(0)
	s.lastLine, _ = s.r.FieldPos(len(rec) - 1)
	s.index = make(map[string]int, len(rec))
	for i, raw := range rec {
		name := strings.TrimSpace(raw)
		switch {
		case name == "":
			return headerErr(line, errcode.Malformed, "", "header column %d has no name (want %s)", i+1, want)
		case !d.known[name]:
			return headerErr(line, errcode.Malformed, fieldName(name), "unknown column %s in the header (want %s)", echo(name), want)
		}
		if _, dup := s.index[name]; dup {
			return headerErr(line, errcode.Malformed, name, "column %q appears twice in the header", name)
		}
		s.index[name] = i
	}
	for _, c := range columnSets[d.kind].required {
		if _, ok := s.index[c]; !ok {
			return headerErr(line, errcode.MissingField, c, "the header has no column %q (want %s)", c, want)
		}
	}
	s.ncols = len(rec)
	return nil
}

// fieldName caps an unknown column name used as a RowError field.
func fieldName(s string) string {
	n := 0
	for i := range s {
		if n == MaxEcho {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

func (d *Decoder) nextCSV() (Row, *RowError, bool) {
	s := d.csv
	for {
		s.counter.reset()
		rec, err := s.r.Read()
		if err == io.EOF {
			d.done = true
			return Row{}, nil, false
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				s.lastLine = pe.Line
				return Row{}, &RowError{File: d.name, Line: pe.StartLine, Code: errcode.Malformed, Message: parseErrorMessage(pe)}, true
			}
			return d.fatal(s.lastLine+1, err)
		}
		line, _ := s.r.FieldPos(0)
		s.lastLine, _ = s.r.FieldPos(len(rec) - 1)
		if blank(rec) {
			continue
		}
		if len(rec) != s.ncols {
			return Row{}, &RowError{File: d.name, Line: line, Code: errcode.Malformed,
				Message: fmt.Sprintf("%d fields, but the header has %d columns", len(rec), s.ncols)}, true
		}
		s.record = rec
		return d.row(line)
	}
}

// blank reports whether a record holds nothing but white space (a blank line, or the empty
// rows spreadsheets leave behind, ",,,,").
func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func parseErrorMessage(pe *csv.ParseError) string {
	if errors.Is(pe.Err, csv.ErrQuote) && pe.Line > pe.StartLine {
		return fmt.Sprintf("a quoted field of the row starting on line %d is not closed properly (%v, line %d, column %d)", pe.StartLine, pe.Err, pe.Line, pe.Column)
	}
	return fmt.Sprintf("%v (line %d, column %d)", pe.Err, pe.Line, pe.Column)
}
