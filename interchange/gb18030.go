package interchange

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// strictGB18030 reads a GB18030 (GBK, GB2312) file as UTF-8 and refuses, naming the line
// and column, a byte sequence that is not GB18030, instead of writing a replacement
// character into the ledger for ever (issue 22: x/text's decoder replaces them silently).
// A line is decoded, re-encoded and compared with its bytes: GB18030 maps every Unicode
// character both ways, so a line that does not come back the same held an invalid sequence.
type strictGB18030 struct {
	src  *bufio.Reader
	out  bytes.Buffer
	line int
	err  error
}

func newStrictGB18030(r io.Reader) io.Reader {
	return &strictGB18030{src: bufio.NewReaderSize(r, 64<<10)}
}

// ErrNotGB18030 is wrapped by the error of an invalid sequence.
var ErrNotGB18030 = errors.New("not a GB18030 byte sequence")

func (s *strictGB18030) Read(p []byte) (int, error) {
	for s.out.Len() == 0 && s.err == nil {
		s.fill()
	}
	if s.out.Len() > 0 {
		return s.out.Read(p)
	}
	return 0, s.err
}

// fill decodes the next line (0x0A never occurs inside a GB18030 character).
func (s *strictGB18030) fill() {
	raw, err := s.src.ReadSlice('\n')
	for errors.Is(err, bufio.ErrBufferFull) && len(raw) < MaxRecordBytes+1 {
		more, e := s.src.ReadSlice('\n')
		raw, err = append(bytes.Clone(raw), more...), e
	}
	if len(raw) > 0 {
		s.line++
		dec, derr := simplifiedchinese.GB18030.NewDecoder().Bytes(raw)
		if derr == nil {
			back, eerr := simplifiedchinese.GB18030.NewEncoder().Bytes(dec)
			if eerr == nil && bytes.Equal(back, raw) {
				s.out.Write(dec)
			} else {
				derr = errors.New("mismatch")
			}
		}
		if derr != nil {
			col, b := firstInvalid(raw)
			s.err = fmt.Errorf("line %d, column %d (byte 0x%02X): %w: save the file as \"CSV UTF-8\", or correct the cell", s.line, col, b, ErrNotGB18030)
			return
		}
	}
	if err != nil {
		s.err = err
	}
}

// firstInvalid finds the first character of a line that does not decode and encode back
// the same: its column (in characters, from 1) and first byte.
func firstInvalid(raw []byte) (int, byte) {
	col, i := 1, 0
	for i < len(raw) {
		n := gb18030Len(raw[i:])
		if n == 0 {
			return col, raw[i]
		}
		dec, err := simplifiedchinese.GB18030.NewDecoder().Bytes(raw[i : i+n])
		if err != nil || !utf8.Valid(dec) {
			return col, raw[i]
		}
		back, err := simplifiedchinese.GB18030.NewEncoder().Bytes(dec)
		if err != nil || !bytes.Equal(back, raw[i:i+n]) {
			return col, raw[i]
		}
		i += n
		col++
	}
	return col, 0
}

// gb18030Len is the length of the GB18030 character b starts with, 0 if b starts none.
func gb18030Len(b []byte) int {
	switch c := b[0]; {
	case c < 0x80:
		return 1
	case c == 0x80 || c == 0xFF:
		return 0
	case len(b) >= 2 && (b[1] >= 0x40 && b[1] <= 0x7E || b[1] >= 0x80 && b[1] <= 0xFE):
		return 2
	case len(b) >= 4 && b[1] >= 0x30 && b[1] <= 0x39 && b[2] >= 0x81 && b[2] <= 0xFE && b[3] >= 0x30 && b[3] <= 0x39:
		return 4
	}
	return 0
}
