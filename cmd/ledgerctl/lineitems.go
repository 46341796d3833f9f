package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/cloudledger/cloudledger/csvfile"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
)

// exportColumns are the columns of a line-item export (README, "Verifying the chain"), in
// CSV and as the fields of each JSON line.
var exportColumns = []string{"seq", "raft_index", "key", "actor", "recorded_at", "recorded_at_unix_nano", "type", "body_hex", "hash"}

// exportPage is how many line items an export asks for at a time.
const exportPage = 10000

func newLineItemsCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "lineitems", Short: "Line items (台账条目): export them with their hashes for an audit", RunE: needSubcommand}
	var format, output string
	var from uint64
	export := &cobra.Command{
		Use:   "export [--from SEQ] [--format csv|jsonl] -o FILE",
		Short: "Export line items with their canonical bodies and hashes, to recompute the chain anywhere",
		Long: `Export every line item from --from on (default 1) with the fields the hash chain covers:
` + strings.Join(exportColumns, ",") + `. body_hex is the canonical encoding of the line
item's body as hashed; README "Verifying the chain" says how to recompute each hash
without CloudLedger, and ledgerctl verify --file EXPORT does it. CSV (UTF-8 with a BOM) or
JSON lines.`,
		Args: cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, formatCSV, "jsonl"); err != nil {
				return err
			}
			w, closeOut, err := createOutput(output, g.stdout)
			if err != nil {
				return err
			}
			ew := newExportWriter(w, format)
			n := 0
			for next := max(from, 1); next != 0; {
				res, err := call(cmd.Context(), g, readPolicy, "lineitems export", &v1.ListLineItemsRequest{FromSeq: next, Limit: exportPage},
					func(ep *endpoint) rpc[v1.ListLineItemsRequest, v1.ListLineItemsResponse] {
						return ep.ledger.ListLineItems
					})
				if err != nil {
					closeOut()
					return err
				}
				for _, li := range res.GetItems() {
					if err := ew.write(li); err != nil {
						closeOut()
						return err
					}
					n++
				}
				next = res.GetNextSeq()
			}
			if err := ew.flush(); err != nil {
				closeOut()
				return err
			}
			if err := closeOut(); err != nil {
				return err
			}
			fmt.Fprintf(g.stderr, "%s\n", g.l().m(fmt.Sprintf("已导出 %d 条台账条目", n), fmt.Sprintf("exported %d line items", n)))
			return nil
		}),
	}
	export.Flags().StringVar(&format, "format", formatCSV, "csv or jsonl")
	export.Flags().StringVarP(&output, "output", "o", "-", "file to write (- for stdout)")
	export.Flags().Uint64Var(&from, "from", 1, "first sequence number")
	cmd.AddCommand(export)
	return cmd
}

// createOutput opens -o (stdout for "-").
func createOutput(path string, stdout io.Writer) (io.Writer, func() error, error) {
	if path == "" || path == "-" {
		return stdout, func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, &cliError{code: codeFile, message: err.Error(), exit: exitFailure}
	}
	bw := bufio.NewWriter(f)
	return bw, func() error {
		if err := bw.Flush(); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}, nil
}

type exportWriter struct {
	format string
	w      io.Writer
	cw     *csvfile.Writer
}

func newExportWriter(w io.Writer, format string) *exportWriter {
	return &exportWriter{format: format, w: w}
}

func exportFields(li *v1.LineItem) []string {
	return []string{strconv.FormatUint(li.GetSeq(), 10), strconv.FormatUint(li.GetRaftIndex(), 10), li.GetKey(), li.GetActor(),
		li.GetRecordedAt(), strconv.FormatInt(li.GetRecordedAtUnixNano(), 10), li.GetType(), hex.EncodeToString(li.GetBody()), li.GetHash()}
}

func (ew *exportWriter) write(li *v1.LineItem) error {
	fields := exportFields(li)
	if ew.format == formatCSV {
		if err := ew.start(); err != nil {
			return err
		}
		return ew.cw.Write(fields) // a key or actor like "=x" is defused, reversibly (csvfile)
	}
	m := make(map[string]any, len(fields))
	for i, c := range exportColumns {
		m[c] = fields[i]
	}
	m["seq"], m["raft_index"], m["recorded_at_unix_nano"] = li.GetSeq(), li.GetRaftIndex(), li.GetRecordedAtUnixNano()
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(ew.w, "%s\n", raw)
	return err
}

// start writes the BOM and the header once (an empty export still has its header).
func (ew *exportWriter) start() error {
	if ew.cw != nil {
		return nil
	}
	cw, err := csvfile.New(ew.w, true)
	if err != nil {
		return err
	}
	ew.cw = cw
	return cw.Write(exportColumns)
}

func (ew *exportWriter) flush() error {
	if ew.format != formatCSV {
		return nil
	}
	if err := ew.start(); err != nil {
		return err
	}
	return ew.cw.Flush()
}

// exportRow is one line item of an export as read back.
type exportRow struct {
	line               int
	seq, raftIndex     uint64
	key, actor, hash   string
	recordedAtUnixNano int64
	body               []byte
}

// verifyExport recomputes the chain of an export from its fields alone: each hash is
// sha256(previous hash ‖ canonical encoding), the canonical encoding built from the row's
// seq, raft_index, key, actor, recorded_at_unix_nano and body (README, "Verifying the
// chain"). It returns the count and the head hash, or the first row that does not verify.
func verifyExport(path string) (uint64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", &cliError{code: codeFile, message: err.Error(), exit: exitFailure}
	}
	defer f.Close()
	var next func() (*exportRow, error)
	if strings.HasSuffix(strings.ToLower(path), ".csv") {
		next = csvRows(f)
	} else {
		next = jsonlRows(f)
	}
	var prev [32]byte
	var n uint64
	for {
		r, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, "", &cliError{code: "malformed", message: fmt.Sprintf("%s: %v", path, err), exit: exitFailure}
		}
		n++
		if r.seq != n {
			return n, "", chainBroken(path, r.line, "sequence %d where %d was expected: a line item is missing or out of order", r.seq, n)
		}
		h := sha256.New()
		h.Write(prev[:])
		h.Write(canonical(r))
		got := h.Sum(nil)
		if hex.EncodeToString(got) != r.hash {
			return n, "", chainBroken(path, r.line, "line item %d (key %q): hash %s, recomputed %x: content or order altered", r.seq, r.key, r.hash, got)
		}
		copy(prev[:], got)
	}
	return n, hex.EncodeToString(prev[:]), nil
}

func chainBroken(path string, line int, format string, args ...any) error {
	return &cliError{code: "chain_broken", message: fmt.Sprintf("%s:%d: %s", path, line, fmt.Sprintf(format, args...)), exit: exitFailure}
}

// canonical is a line item's canonical encoding: uvarint seq, uvarint raft index, key and
// actor each as uvarint length then bytes, the recorded time as a zigzag varint of Unix
// nanoseconds, the body as uvarint length then bytes.
func canonical(r *exportRow) []byte {
	b := binary.AppendUvarint(nil, r.seq)
	b = binary.AppendUvarint(b, r.raftIndex)
	b = binary.AppendUvarint(b, uint64(len(r.key)))
	b = append(b, r.key...)
	b = binary.AppendUvarint(b, uint64(len(r.actor)))
	b = append(b, r.actor...)
	b = binary.AppendVarint(b, r.recordedAtUnixNano)
	b = binary.AppendUvarint(b, uint64(len(r.body)))
	return append(b, r.body...)
}

func csvRows(r io.Reader) func() (*exportRow, error) {
	br := bufio.NewReader(r)
	if p, _ := br.Peek(3); string(p) == utf8BOM {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = len(exportColumns)
	header := true
	return func() (*exportRow, error) {
		if header {
			h, err := cr.Read()
			if err != nil {
				return nil, err
			}
			if strings.Join(h, ",") != strings.Join(exportColumns, ",") {
				return nil, fmt.Errorf("line 1: the header is not %s", strings.Join(exportColumns, ","))
			}
			header = false
		}
		rec, err := cr.Read()
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		return parseExportRow(line, func(i int) string { return csvfile.Unquote(rec[i]) })
	}
}

func jsonlRows(r io.Reader) func() (*exportRow, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	line := 0
	return func() (*exportRow, error) {
		for sc.Scan() {
			line++
			if strings.TrimSpace(sc.Text()) == "" {
				continue
			}
			var m map[string]any
			dec := json.NewDecoder(strings.NewReader(sc.Text()))
			dec.UseNumber()
			if err := dec.Decode(&m); err != nil {
				return nil, fmt.Errorf("line %d: %v", line, err)
			}
			return parseExportRow(line, func(i int) string { return fmt.Sprint(m[exportColumns[i]]) })
		}
		if err := sc.Err(); err != nil {
			return nil, err
		}
		return nil, io.EOF
	}
}

func parseExportRow(line int, field func(int) string) (*exportRow, error) {
	// recorded_at and type are for people; the chain covers recorded_at_unix_nano and the body.
	r := &exportRow{line: line, key: field(2), actor: field(3), hash: field(8)}
	var err error
	if r.seq, err = strconv.ParseUint(field(0), 10, 64); err != nil {
		return nil, fmt.Errorf("line %d: seq: %v", line, err)
	}
	if r.raftIndex, err = strconv.ParseUint(field(1), 10, 64); err != nil {
		return nil, fmt.Errorf("line %d: raft_index: %v", line, err)
	}
	if r.recordedAtUnixNano, err = strconv.ParseInt(field(5), 10, 64); err != nil {
		return nil, fmt.Errorf("line %d: recorded_at_unix_nano: %v", line, err)
	}
	if r.body, err = hex.DecodeString(field(7)); err != nil {
		return nil, fmt.Errorf("line %d: body_hex: %v", line, err)
	}
	return r, nil
}
