package interchange

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/cloudledger/cloudledger/errcode"
)

const jsonlBufferBytes = 64 << 10

// jsonlSource reads JSON lines: one object per line, the CSV column names as fields.
type jsonlSource struct {
	r      *bufio.Reader
	line   int
	buf    []byte
	fields map[string]string
}

func newJSONLSource(r io.Reader) *jsonlSource {
	br := bufio.NewReaderSize(r, jsonlBufferBytes)
	skipBOM(br)
	return &jsonlSource{r: br, fields: map[string]string{}}
}

func (s *jsonlSource) field(name string) string { return strings.TrimSpace(s.fields[name]) }

// readLine reads one physical line, keeping at most MaxRecordBytes of it in memory: a longer
// line is read to its end and dropped (tooLong). n is the number of bytes the line had.
func (s *jsonlSource) readLine() (line []byte, n int, tooLong bool, err error) {
	s.buf = s.buf[:0]
	for {
		chunk, err := s.r.ReadSlice('\n')
		n += len(chunk)
		if !tooLong {
			if len(s.buf)+len(chunk) > MaxRecordBytes+len("\r\n") {
				tooLong = true
				s.buf = s.buf[:0]
			} else {
				s.buf = append(s.buf, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return s.buf, n, tooLong, err
	}
}

func (d *Decoder) nextJSONL() (Row, *RowError, bool) {
	s := d.jsonl
	for {
		line, n, tooLong, err := s.readLine()
		if n == 0 && err == io.EOF {
			d.done = true
			return Row{}, nil, false
		}
		if err != nil && err != io.EOF {
			return d.fatal(s.line+1, err)
		}
		if err == io.EOF {
			d.done = true // the last line has no newline: nothing follows it
		}
		s.line++
		if tooLong {
			return Row{}, &RowError{File: d.name, Line: s.line, Code: errcode.TooLarge,
				Message: fmt.Sprintf("line longer than %d bytes", MaxRecordBytes)}, true
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			if d.done {
				return Row{}, nil, false
			}
			continue
		}
		if perr := s.parseObject(line, d.known); perr != nil {
			return Row{}, d.errAt(s.line, perr), true
		}
		return d.row(s.line)
	}
}

// parseObject reads one JSON object of string fields into s.fields. Numbers are accepted for
// the numeric fields (their exact text is kept, so ledger.ParseDecimal sees what was
// written); null is an absent field. Unknown and repeated fields are malformed.
//
// The objects are flat, so a small scanner reads them: a field name or value that needs
// unescaping goes through encoding/json, everything else is sliced out of the line. That is
// several times faster than encoding/json's token API and, unlike decoding into a map, sees
// a repeated field.
func (s *jsonlSource) parseObject(line []byte, known map[string]bool) *errcode.Error {
	clear(s.fields)
	p := objectScanner{b: line}
	p.ws()
	if !p.eat('{') {
		if p.i < len(p.b) && (p.b[p.i] == '[' || p.b[p.i] == '"' || p.b[p.i] == '-' || p.b[p.i] == 't' || p.b[p.i] == 'f' || p.b[p.i] == 'n' || isDigit(p.b[p.i])) {
			return errf(errcode.Malformed, "", "each line must hold one JSON object")
		}
		return p.syntax("'{'")
	}
	p.ws()
	if !p.eat('}') {
		for {
			p.ws()
			if p.peek() != '"' {
				return p.syntax("a field name")
			}
			name, ok := p.str()
			if !ok {
				return p.syntax("a well-formed string")
			}
			if !known[name] {
				return errf(errcode.Malformed, fieldName(name), "unknown field %s", echo(name))
			}
			if _, dup := s.fields[name]; dup {
				return errf(errcode.Malformed, name, "field %q appears twice", name)
			}
			p.ws()
			if !p.eat(':') {
				return p.syntax("':'")
			}
			p.ws()
			switch c := p.peek(); {
			case c == '"':
				v, ok := p.str()
				if !ok {
					return p.syntax("a well-formed string")
				}
				s.fields[name] = v
			case c == '-' || isDigit(c):
				v, ok := p.number()
				if !ok {
					return p.syntax("a number")
				}
				if !numericFields[name] {
					return errf(errcode.Malformed, name, "must be a JSON string, not a number")
				}
				s.fields[name] = v
			case c == 'n' && p.lit("null"):
				s.fields[name] = ""
			case c == 't' && p.lit("true"), c == 'f' && p.lit("false"), c == '{', c == '[':
				return errf(errcode.Malformed, name, "must be a JSON string")
			default:
				return p.syntax("a value")
			}
			p.ws()
			if p.eat(',') {
				continue
			}
			if p.eat('}') {
				break
			}
			return p.syntax("',' or '}'")
		}
	}
	p.ws()
	if p.i != len(p.b) {
		return errf(errcode.Malformed, "", "trailing data after the JSON object (column %d)", p.i+1)
	}
	return nil
}

// objectScanner reads JSON (RFC 8259) from b at i.
type objectScanner struct {
	b []byte
	i int
}

func (p *objectScanner) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *objectScanner) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *objectScanner) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *objectScanner) lit(word string) bool {
	if bytes.HasPrefix(p.b[p.i:], []byte(word)) {
		p.i += len(word)
		return true
	}
	return false
}

func (p *objectScanner) syntax(want string) *errcode.Error {
	if p.i >= len(p.b) {
		return errf(errcode.Malformed, "", "not JSON: the object is not complete on this line")
	}
	return errf(errcode.Malformed, "", "not JSON: expected %s at column %d", want, p.i+1)
}

// str reads a string starting at its opening quote.
func (p *objectScanner) str() (string, bool) {
	start := p.i
	escaped, nonASCII := false, false
	for j := start + 1; j < len(p.b); j++ {
		switch c := p.b[j]; {
		case c == '"':
			raw := p.b[start : j+1]
			if !escaped && (!nonASCII || utf8.Valid(raw)) {
				p.i = j + 1
				return string(raw[1 : len(raw)-1]), true
			}
			// Escapes, or bytes that are not UTF-8 (which encoding/json replaces with U+FFFD).
			var v string
			if err := json.Unmarshal(raw, &v); err != nil {
				return "", false
			}
			p.i = j + 1
			return v, true
		case c == '\\':
			escaped = true
			j++ // skip the escaped character; encoding/json checks the escape
		case c < 0x20:
			p.i = j
			return "", false // a control character must be escaped
		case c >= 0x80:
			nonASCII = true
		}
	}
	p.i = len(p.b)
	return "", false
}

// number reads a JSON number and returns its exact text.
func (p *objectScanner) number() (string, bool) {
	start := p.i
	p.eat('-')
	switch {
	case p.eat('0'):
	case p.i < len(p.b) && p.b[p.i] >= '1' && p.b[p.i] <= '9':
		p.digits()
	default:
		return "", false
	}
	if p.eat('.') && !p.digits() {
		return "", false
	}
	if p.eat('e') || p.eat('E') {
		if !p.eat('+') {
			p.eat('-')
		}
		if !p.digits() {
			return "", false
		}
	}
	return string(p.b[start:p.i]), true
}

// digits reads one or more ASCII digits.
func (p *objectScanner) digits() bool {
	start := p.i
	for p.i < len(p.b) && isDigit(p.b[p.i]) {
		p.i++
	}
	return p.i > start
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
