package interchange

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// Row is one decoded row: the physical line it starts on and its command as the API carries
// it (the row's fields, trimmed, and its idempotency key); for KindInvoice, its invoice line
// instead. The ledger parses and validates the fields (apimap), so that a value means the
// same thing whether it came from a file, a Kafka record or an RPC.
type Row struct {
	Line    int
	Command *v1.Command
	Invoice *v1.InvoiceLine
}

// Decoder streams the rows of one interchange file. It holds one row at a time, never the
// whole file.
type Decoder struct {
	kind   FileKind
	name   string
	format Format
	fileID string
	known  map[string]bool // the columns of kind
	get    func(string) string
	done   bool
	// recordKey keys a row without a key of its own (a Kafka record: derived from its
	// topic, partition and offset); empty for files, whose events rows must carry one.
	recordKey string

	csv   *csvSource
	jsonl *jsonlSource
}

// maxFileIDLen bounds a file id so that master-data keys stay well inside ledger.MaxKeyLen.
const maxFileIDLen = 64

// NewDecoder returns a decoder of a file of the kind in the format; name is the file name
// errors report. fileID makes the idempotency keys of master-data rows
// ("<kind>:<fileID>:<line>"); it is required for every kind but events, whose rows carry
// their own key. A CSV header problem is returned as a *RowError (the header's line, 1).
func NewDecoder(kind FileKind, name string, r io.Reader, format Format, fileID string) (*Decoder, error) {
	if _, ok := columnSets[kind]; !ok {
		return nil, fmt.Errorf("interchange: unknown kind %s", echo(string(kind)))
	}
	if format == FormatXLSX {
		buf, err := xlsxToCSV(r)
		if err != nil {
			return nil, &RowError{File: name, Line: 1, Code: errcode.Malformed, Message: err.Error()}
		}
		r, format = buf, FormatCSV
	}
	if kind.isMasterData() {
		if fileID == "" || len(fileID) > maxFileIDLen || strings.ContainsAny(fileID, ": \t\r\n") {
			return nil, fmt.Errorf("interchange: %s rows need a file id (1–%d characters, no ':' or space) for their keys, got %s", kind, maxFileIDLen, echo(fileID))
		}
	}
	d := &Decoder{kind: kind, name: name, format: format, fileID: fileID, known: map[string]bool{}}
	for _, c := range Columns(kind) {
		d.known[c] = true
	}
	switch format {
	case FormatCSV:
		src, rerr := newCSVSource(d, r)
		if rerr != nil {
			return nil, rerr
		}
		d.csv = src
		d.get = src.field
	case FormatJSONL:
		d.jsonl = newJSONLSource(r)
		d.get = d.jsonl.field
	default:
		return nil, fmt.Errorf("interchange: unknown format %s (want csv or jsonl)", echo(string(format)))
	}
	return d, nil
}

// OpenFile opens the file at path as a decoder of the kind, its format from the extension
// (FormatFor). The file is read once to hash it: its id, for master-data keys, is the first
// 16 hex characters of its SHA-256, so re-importing the same file is a no-op and a corrected
// file applies. The caller closes the returned Closer when done.
func OpenFile(kind FileKind, path string) (*Decoder, io.Closer, error) {
	return OpenFileEncoded(kind, path, EncodingUTF8)
}

// Encodings a file may be read in.
const (
	EncodingUTF8    = "utf-8"
	EncodingGB18030 = "gb18030" // GB18030, which includes GBK and GB2312: what Excel saves as CSV on Chinese Windows
)

// OpenFileEncoded is OpenFile for a file in an encoding: GB18030 is converted to UTF-8 as
// it is read (the file id stays the hash of the file's own bytes).
func OpenFileEncoded(kind FileKind, path, encoding string) (*Decoder, io.Closer, error) {
	if encoding != EncodingUTF8 && encoding != EncodingGB18030 {
		return nil, nil, fmt.Errorf("interchange: unknown encoding %s (want utf-8 or gb18030)", echo(encoding))
	}
	if _, ok := columnSets[kind]; !ok {
		return nil, nil, fmt.Errorf("interchange: unknown kind %s", echo(string(kind)))
	}
	format, err := FormatFor(path)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	fileID, err := hashFile(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("interchange: %s: %w", path, err)
	}
	var r io.Reader = f
	if encoding == EncodingGB18030 {
		r = newStrictGB18030(f)
	}
	d, err := NewDecoder(kind, path, r, format, fileID)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return d, f, nil
}

// hashFile returns the file id of f and rewinds it.
func hashFile(f *os.File) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// FileID is the id that master-data keys of this file carry.
func (d *Decoder) FileID() string { return d.fileID }

// Next returns the next row. ok is false at the end of the file. A bad row gives a
// *RowError (and ok true); decoding continues with the next row, so a caller collects every
// error of a file by calling Next until ok is false. After an unrecoverable problem (a read
// error, a record over MaxRecordBytes) that error is the last thing Next returns.
func (d *Decoder) Next() (Row, *RowError, bool) {
	if d.done {
		return Row{}, nil, false
	}
	if d.csv != nil {
		return d.nextCSV()
	}
	return d.nextJSONL()
}

// row builds and keys the command of the row at line whose fields d.get serves.
func (d *Decoder) row(line int) (Row, *RowError, bool) {
	get := func(name string) string { return strings.TrimSpace(d.get(name)) }
	for _, c := range Columns(d.kind) { // in SPEC order: the same field is named every time
		if v := d.get(c); !utf8.ValidString(v) {
			return Row{}, d.errAt(line, notUTF8(c, v)), true
		}
	}
	if d.kind == KindInvoice {
		return Row{Line: line, Invoice: &v1.InvoiceLine{Line: apiLine(line), Month: get("month"), Department: get("department"),
			Project: get("project"), Item: get("item"), Amount: get("amount")}}, nil, true
	}
	cmd := &v1.Command{Line: apiLine(line)}
	if d.kind.isMasterData() {
		cmd.Key = string(d.kind) + ":" + d.fileID + ":" + strconv.Itoa(line)
	} else if cmd.Key = get("key"); cmd.Key == "" {
		if d.recordKey == "" {
			return Row{}, d.errAt(line, errf(errcode.MissingField, "key", "an idempotency key is required")), true
		}
		cmd.Key = d.recordKey
	}
	switch d.kind {
	case KindEvents:
		cmd.Body = &v1.Command_Event{Event: &v1.Event{Op: get("op"), Time: get("time"), Department: get("department"), Project: get("project"),
			Provider: get("provider"), Resource: get("resource"), Item: get("item"), Kind: get("kind"), Quantity: get("quantity"), Expires: get("expires")}}
	case KindDepartments:
		cmd.Body = &v1.Command_Department{Department: &v1.Department{Department: get("department"), Name: get("name"), Parent: get("parent"), Funding: get("funding")}}
	case KindProviders:
		cmd.Body = &v1.Command_Provider{Provider: &v1.Provider{Provider: get("provider"), Name: get("name"), ContractStart: get("contract_start"), ContractEnd: get("contract_end")}}
	case KindProjects:
		cmd.Body = &v1.Command_ProjectQuota{ProjectQuota: &v1.ProjectQuota{Project: get("project"), Department: get("department"), Name: get("name"),
			QuotaClass: get("quota_class"), Quota: get("quota")}}
	case KindCatalog:
		cmd.Body = &v1.Command_CatalogPrice{CatalogPrice: &v1.CatalogPrice{Item: get("item"), Name: get("name"), Category: get("category"), Unit: get("unit"),
			Billing: get("billing"), QuotaClass: get("quota_class"), Price: get("price"), Provider: get("provider"), EffectiveFrom: get("effective_from"), Proration: get("proration")}}
	case KindEvaluations:
		cmd.Body = &v1.Command_Evaluation{Evaluation: &v1.Evaluation{Provider: get("provider"), From: get("from"), To: get("to"), Score: get("score"), Reason: get("reason")}}
	case KindUtilisation:
		// A row is checked as a delivery of one; the import applies the file as deliveries
		// of many (importrun).
		cmd.Body = &v1.Command_UtilisationDelivery{UtilisationDelivery: &v1.UtilisationDelivery{Rows: []*v1.UtilisationRow{{Resource: get("resource"),
			Date: get("date"), MeanPct: get("mean_pct"), PeakPct: get("peak_pct"), AvailabilityPct: get("availability_pct")}}}}
	default:
		return Row{}, d.errAt(line, errf(errcode.Malformed, "", "unknown kind %s", echo(string(d.kind)))), true
	}
	return Row{Line: line, Command: cmd}, nil, true
}

// apiLine is a row's line as the API carries it.
func apiLine(line int) uint32 {
	if line <= 0 {
		return 0
	}
	return uint32(min(int64(line), math.MaxUint32))
}

func (d *Decoder) errAt(line int, err *errcode.Error) *RowError { return rowErr(d.name, line, err) }

// fatal ends decoding with one last error.
func (d *Decoder) fatal(line int, err error) (Row, *RowError, bool) {
	d.done = true
	code := errcode.Internal
	msg := "read: " + err.Error()
	if errors.Is(err, errTooLarge) {
		code = errcode.TooLarge
		msg = fmt.Sprintf("a row longer than %d bytes: the rest of the file is not read", MaxRecordBytes)
	}
	return Row{}, &RowError{File: d.name, Line: line, Code: code, Message: msg}, true
}

var errTooLarge = errors.New("record too large")

// bom is the UTF-8 byte order mark Excel writes at the start of a CSV file.
const bom = "\xef\xbb\xbf"

// skipBOM drops a leading UTF-8 BOM.
func skipBOM(br *bufio.Reader) {
	if p, _ := br.Peek(len(bom)); string(p) == bom {
		br.Discard(len(bom))
	}
}

// notUTF8 says a field is not UTF-8, and when its bytes read as GB18030 (GBK), how to fix it.
func notUTF8(field, v string) *errcode.Error {
	if zh, err := simplifiedchinese.GB18030.NewDecoder().String(v); err == nil && utf8.ValidString(zh) {
		return errf(errcode.InvalidValue, field, "not UTF-8: the file looks like GB18030/GBK (%s), as Excel saves CSV on Chinese Windows; "+
			"save it as \"CSV UTF-8\" (另存为 CSV UTF-8), or import it with --encoding gb18030", echo(zh))
	}
	return errf(errcode.InvalidValue, field, "not valid UTF-8")
}
