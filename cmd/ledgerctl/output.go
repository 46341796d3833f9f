package main

import (
	"encoding/json"
	"fmt"
	"github.com/cloudledger/cloudledger/csvfile"
	"io"
	"strings"

	"github.com/cloudledger/cloudledger/errcode"
)

// Codes of failures that happen around the ledger rather than in it. The first four are
// the ledger's own infrastructure codes, so the CLI and the API print the same word.
const (
	codeUnauthenticated = string(errcode.Unauthenticated)
	codeRequestTooLarge = string(errcode.RequestTooLarge)
	codeUnavailable     = string(errcode.Unavailable)
	codeUnknownOutcome  = string(errcode.UnknownOutcome)
	codeInternal        = string(errcode.Internal)
	codeCanceled        = "canceled"
	codeUsage           = "usage"
	codeFile            = "file_error"      // an input file cannot be opened or read
	codeImportRejected  = "import_rejected" // a file with bad rows: nothing applied
	codeImportStopped   = "import_stopped"  // a batch failed after earlier batches applied
	codeBackupRefused   = "backup_refused"  // a backup file that is damaged, truncated or not one
)

func init() {
	for code, zh := range map[string]string{
		codeCanceled: "已取消", codeUsage: "用法错误", codeFile: "文件无法读取",
		codeImportRejected: "文件有错误行，未导入任何内容", codeImportStopped: "导入中途停止（重新执行同一导入即可补全）",
		codeInvoiceMismatch: "发票与计费不一致",
		codeBackupRefused:   "备份文件损坏、不完整或不是备份",
	} {
		errcode.Describe(errcode.Code(code), zh)
	}
}

// withChinese puts the Chinese meaning of a code before the message (Chinese first; the
// code stays, for scripts): "ledgerctl: CODE: FIELD: 中文说明：message".
func withChinese(code, message string) string {
	if zh := errcode.Code(code).Zh(); zh != "" {
		return zh + "：" + message
	}
	return message
}

// localize does the same for a FILE:LINE: FIELD: CODE: MESSAGE line of a file's bad rows
// (or a listed reason, "  CODE: MESSAGE"): the meaning goes after the code.
func localize(line string) string {
	parts := strings.Split(line, ": ")
	for i, p := range parts[:len(parts)-1] {
		if zh := errcode.Code(strings.TrimSpace(p)).Zh(); zh != "" && i+1 < len(parts) {
			parts[i+1] = zh + "：" + parts[i+1]
			return strings.Join(parts, ": ")
		}
	}
	return line
}

// cliError is a failure of one command line: the one-line reason printed on stderr, and
// the exit status.
type cliError struct {
	code    string
	field   string
	message string
	exit    int
	// rows are printed, one per line, before the reason (the bad rows of an import).
	rows []string
}

func (e *cliError) Error() string { return errorLine(e.code, e.field, e.message) }

// lines is everything printed on stderr for the failure.
func (e *cliError) lines() []string { return append(append([]string(nil), e.rows...), e.Error()) }

// errorLine formats the one-line reason of a failure: "ledgerctl: CODE: FIELD: MESSAGE",
// without the FIELD part when there is none; line breaks inside become spaces.
func errorLine(code, field, message string) string {
	var b strings.Builder
	b.WriteString("ledgerctl: ")
	b.WriteString(oneLine(code))
	b.WriteString(": ")
	if field != "" {
		b.WriteString(oneLine(field))
		b.WriteString(": ")
	}
	b.WriteString(oneLine(message))
	return b.String()
}

// usageErr is a usage error: exit status 2.
func usageErr(format string, args ...any) *cliError {
	return &cliError{code: codeUsage, message: fmt.Sprintf(format, args...), exit: exitUsage}
}

// inputErr is a bad value given on the command line for a field: exit status 2, with the
// ledger's code for that kind of value (invalid_date, invalid_quantity …).
func inputErr(code errcode.Code, field, format string, args ...any) *cliError {
	return &cliError{code: string(code), field: field, message: fmt.Sprintf(format, args...), exit: exitUsage}
}

func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)), " ")
}

// lang is the language of headers and messages: "zh" puts Chinese first, then English;
// "en" is English only.
type lang string

// h is a table header or label: "部门 Department" in zh, "Department" in en.
func (l lang) h(zh, en string) string {
	if l == "en" {
		return en
	}
	return zh + " " + en
}

// m is a message: "无超配 / no overruns" in zh, "no overruns" in en.
func (l lang) m(zh, en string) string {
	if l == "en" {
		return en
	}
	return zh + " / " + en
}

// table is a plain text table aligned for a terminal, Chinese characters counted as two
// columns.
type table struct {
	headers []string
	right   []bool // right-align column i (numbers)
	rows    [][]string
}

// emptyCell stands for an empty value in a table (CSV and JSON keep it empty).
const emptyCell = "-"

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

// render writes the header, a rule, and the rows; columns are two spaces apart and no line
// ends in spaces.
func (t *table) render(w io.Writer) error {
	widths := make([]int, len(t.headers))
	for i, h := range t.headers {
		widths[i] = displayWidth(h)
	}
	for _, r := range t.rows {
		for i, c := range r {
			if i < len(widths) {
				widths[i] = max(widths[i], displayWidth(cell(c)))
			}
		}
	}
	rule := make([]string, len(widths))
	for i, n := range widths {
		rule[i] = strings.Repeat("-", n)
	}
	var b strings.Builder
	t.line(&b, widths, t.headers, false)
	t.line(&b, widths, rule, false)
	for _, r := range t.rows {
		t.line(&b, widths, r, true)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// line writes one row; data cells go through cell (empty → "-", one line).
func (t *table) line(b *strings.Builder, widths []int, cells []string, data bool) {
	var l strings.Builder
	for i := range widths {
		c := ""
		if i < len(cells) {
			c = cells[i]
		}
		if data {
			c = cell(c)
		}
		pad := strings.Repeat(" ", widths[i]-displayWidth(c))
		if i > 0 {
			l.WriteString("  ")
		}
		if i < len(t.right) && t.right[i] {
			l.WriteString(pad + c)
		} else {
			l.WriteString(c + pad)
		}
	}
	b.WriteString(strings.TrimRight(l.String(), " "))
	b.WriteByte('\n')
}

func cell(s string) string {
	if s == "" {
		return emptyCell
	}
	return oneLine(s)
}

// renderPairs writes labelled values, the labels padded to one width.
func renderPairs(w io.Writer, pairs [][2]string) error {
	width := 0
	for _, p := range pairs {
		width = max(width, displayWidth(p[0]))
	}
	var b strings.Builder
	for _, p := range pairs {
		b.WriteString(p[0])
		b.WriteString(strings.Repeat(" ", width-displayWidth(p[0])+2))
		b.WriteString(oneLine(p[1]))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// displayWidth is the number of terminal columns s takes: East Asian wide and full-width
// characters take two.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		if isWide(r) {
			n += 2
		} else {
			n++
		}
	}
	return n
}

func isWide(r rune) bool {
	if r < 0x1100 {
		return false
	}
	switch {
	case r <= 0x115F, // Hangul Jamo
		r >= 0x2E80 && r <= 0x303E, // CJK radicals, punctuation (、。〔〕)
		r >= 0x3041 && r <= 0x33FF, // kana, CJK symbols
		r >= 0x3400 && r <= 0x4DBF, // CJK extension A
		r >= 0x4E00 && r <= 0x9FFF, // CJK unified ideographs
		r >= 0xA000 && r <= 0xA4CF, // Yi
		r >= 0xAC00 && r <= 0xD7A3, // Hangul syllables
		r >= 0xF900 && r <= 0xFAFF, // CJK compatibility ideographs
		r >= 0xFE30 && r <= 0xFE4F, // CJK compatibility forms
		r >= 0xFF00 && r <= 0xFF60, // full-width forms (，：（）)
		r >= 0xFFE0 && r <= 0xFFE6,
		r >= 0x20000 && r <= 0x3FFFD: // CJK extensions B…
		return true
	}
	return false
}

// utf8BOM starts every CSV ledgerctl writes, so that Excel reads it as UTF-8 and shows
// Chinese names correctly.
const utf8BOM = "\ufeff"

// writeCSV writes a UTF-8 BOM, the header row and the rows.
func writeCSV(w io.Writer, header []string, rows [][]string) error {
	cw, err := csvfile.New(w, true)
	if err != nil {
		return err
	}
	return cw.WriteAll(append([][]string{header}, rows...))
}

// writeJSON writes v as indented JSON and a newline, without escaping Chinese or '<'.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Output formats of reports.
const (
	formatTable = "table"
	formatCSV   = "csv"
	formatJSON  = "json"
)

func checkFormat(f string, allowed ...string) error {
	for _, a := range allowed {
		if f == a {
			return nil
		}
	}
	return usageErr("--format must be %s or %s, not %q", strings.Join(allowed[:len(allowed)-1], ", "), allowed[len(allowed)-1], f)
}
