package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/importrun"
	"github.com/cloudledger/cloudledger/interchange"
)

// Limits of an import: its sizes are importrun's (one runner for every client).
const (
	maxShownErrors   = importrun.MaxShownErrors // bad rows printed; the rest are counted
	progressInterval = 100 * time.Millisecond
)

var kindHelp = map[interchange.FileKind]string{
	interchange.KindDepartments: "departments (使用单位)",
	interchange.KindProviders:   "providers (云服务商)",
	interchange.KindProjects:    "projects and their quotas, one row per quota class (项目配额)",
	interchange.KindCatalog:     "catalog items and prices (服务目录)",
	interchange.KindEvaluations: "providers' evaluation scores, 0–100 over a date range (效能评估)",
	interchange.KindEvents:      "resource events: allocate, expand, reduce, reclaim, usage, extend (资源变更)",
}

func newImportCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import KIND FILE",
		Short: "Import an interchange file (CSV, or JSON lines with the same fields)",
		Long: `Import an interchange file of SPEC.md's formats: UTF-8 CSV with a header row (.csv), or
JSON lines with the same field names (.jsonl, .ndjson, .json).

The whole file is checked first, locally and by the ledger against its current state. A
file with any bad row is rejected whole: every bad row is listed on stderr as
FILE:LINE: FIELD: CODE: MESSAGE and nothing is applied. A good file is then applied in
requests of 1,000 rows, each atomic; a request whose outcome is unknown (leader lost, node
down, timeout) is retried with the same keys for about two minutes, failing over between
the --server URLs. Re-running an import never duplicates anything: rows already applied
count as duplicates.

Files saved by Excel on Chinese Windows are often GB18030 (GBK): such a file is refused
with the advice to save it as "CSV UTF-8", or give --encoding gb18030 to read it as it is.`,
		RunE: needSubcommand,
	}
	var encoding string
	cmd.PersistentFlags().StringVar(&encoding, "encoding", interchange.EncodingUTF8, "the file's encoding: utf-8 or gb18030 (GBK)")
	for _, kind := range interchange.Kinds() {
		cmd.AddCommand(&cobra.Command{
			Use:   string(kind) + " FILE",
			Short: "Import " + kindHelp[kind],
			Long: fmt.Sprintf("Import %s.\n\nColumns (CSV header, or JSON field names): %s",
				kindHelp[kind], strings.Join(interchange.Columns(kind), ",")),
			Args: cobra.ExactArgs(1),
			RunE: action(func(cmd *cobra.Command, args []string) error {
				if encoding != interchange.EncodingUTF8 && encoding != interchange.EncodingGB18030 {
					return usageErr("--encoding must be utf-8 or gb18030, not %q", encoding)
				}
				return g.importFile(cmd.Context(), kind, args[0], encoding)
			}),
		})
	}
	return cmd
}

// importFile imports one interchange file with the import runner every client uses
// (package importrun): pass 1 checks every row (locally, then by the ledger, streamed), and
// only a file without a bad row gets pass 2, which re-reads it and applies it in atomic
// batches under an import lease. Neither pass holds more than a few batches in memory.
func (g *globals) importFile(ctx context.Context, kind interchange.FileKind, path, encoding string) error {
	c, err := g.conn()
	if err != nil {
		return err
	}
	l, tty := g.l(), isTerminal(g.stderr)
	var p *progress
	im := &importrun.Import{Kind: kind, File: path, API: ctlImportAPI{c}, LeasePrefix: "ctl-import", CallTimeout: c.timeout,
		RetryFor: batchPolicy.budget,
		Open: func() (*interchange.Decoder, io.Closer, error) {
			return interchange.OpenFileEncoded(kind, path, encoding)
		},
		Progress: func(done, total int) {
			if p == nil || p.total != total {
				p.clear()
				p = newProgress(g.stderr, tty, l, path, total)
				if total > 0 && total <= importrun.BatchRows {
					p = nil // one request: no progress to show
				}
			}
			p.update(done)
		},
		Retrying: func(what string, err error) { c.noteRetry(what, err) },
	}
	start := time.Now()
	v, err := im.Validate(ctx)
	p.clear()
	p = nil
	if err != nil {
		return importFailure(path, err)
	}
	if v.Bad() > 0 {
		return &cliError{
			rows: rowErrorLines(v.Errors(), v.Bad()),
			code: codeImportRejected, exit: exitFailure,
			message: fmt.Sprintf("%s: %d of %d rows are bad; nothing was applied", path, v.Bad(), v.LocalCount+v.Rows),
		}
	}
	retriesBefore := im.Retries
	sum, err := im.Apply(ctx, v)
	if err != nil {
		p.clear()
		return importFailure(path, err)
	}
	p.finish()
	return (&importSummary{file: path, Summary: *sum, elapsed: time.Since(start), retries: im.Retries - retriesBefore}).render(g.stdout, l)
}

// ctlImportAPI is the import runner's view of ledgerctl's client: one attempt on the
// current node, failing over along --server.
type ctlImportAPI struct{ c *client }

func (a ctlImportAPI) ValidateImport(ctx context.Context) *connect.ClientStreamForClient[v1.ValidateImportRequest, v1.ValidateImportResponse] {
	s := a.c.endpoints[a.c.cur].ledger.ValidateImport(ctx)
	a.c.authorize(s.RequestHeader())
	return s
}

func (a ctlImportAPI) Submit(ctx context.Context, cmds []*v1.Command) (*v1.SubmitResponse, error) {
	req := connect.NewRequest(&v1.SubmitRequest{Commands: cmds})
	a.c.authorize(req.Header())
	res, err := a.c.endpoints[a.c.cur].ledger.Submit(ctx, req)
	if err != nil {
		return nil, &callError{url: a.c.endpoints[a.c.cur].url, err: err, write: true, after: a.c.timeout, uncertain: outcomeUnknown(err)}
	}
	return res.Msg, nil
}

func (a ctlImportAPI) Failover(error) {
	a.c.cur = (a.c.cur + 1) % len(a.c.endpoints)
	a.c.retries++
}

// importFailure is the command's failure for an import that could not run or stopped.
func importFailure(path string, err error) error {
	var fe *importrun.FileError
	if errors.As(err, &fe) {
		if fe.Row != nil {
			return &cliError{rows: []string{fe.Row.Error()}, code: codeImportRejected, exit: exitFailure,
				message: fmt.Sprintf("%s: the header is bad; nothing was applied", path)}
		}
		return &cliError{code: codeFile, message: fe.Error(), exit: exitFailure}
	}
	var st *importrun.Stopped
	if !errors.As(err, &st) {
		if ce := callFailure(err); ce != nil {
			return ce
		}
		return &cliError{code: codeInternal, message: err.Error(), exit: exitFailure}
	}
	switch {
	case errors.Is(st.Err, context.Canceled):
		return &cliError{code: codeCanceled, exit: exitFailure,
			message: fmt.Sprintf("interrupted: %d of %d rows of %s known to be applied; re-running the import is safe (applied rows are skipped)", st.Done, st.Total, path)}
	case errors.Is(st.Err, importrun.ErrChanged):
		code := codeImportStopped
		if st.Done == 0 {
			code = codeFile
		}
		return &cliError{code: code, exit: exitFailure, message: fmt.Sprintf("%s changed while it was being imported (%v); %d of %d rows were applied", path, st.Err, st.Done, st.Total)}
	case st.Row != nil:
		// The ledger refused a row that passed validation: the state changed in between.
		return &cliError{rows: []string{st.Row.Error()}, code: codeImportStopped, exit: exitFailure, message: st.Error()}
	}
	ce := callFailure(st.Err)
	if ce == nil {
		ce = &cliError{code: codeInternal, message: st.Err.Error(), exit: exitFailure}
	}
	if st.Done == 0 && st.Total > 0 {
		ce.message += fmt.Sprintf("; nothing of %s was applied", path)
	} else {
		ce.message += fmt.Sprintf("; import of %s stopped after %d of %d rows: re-running it is safe (applied rows are skipped)", path, st.Done, st.Total)
	}
	return ce
}

// rowErrorLines formats bad rows FILE:LINE: FIELD: CODE: MESSAGE, then "… and N more" for
// the rest of total.
func rowErrorLines(shown []*interchange.RowError, total int) []string {
	out := make([]string, 0, len(shown)+1)
	for _, e := range shown {
		out = append(out, e.Error())
	}
	if rest := total - len(shown); rest > 0 {
		out = append(out, fmt.Sprintf("… and %d more", rest))
	}
	return out
}

// importSummary is what an import did.
type importSummary struct {
	importrun.Summary
	file    string
	retries int
	elapsed time.Duration
}

func (s *importSummary) render(w io.Writer, l lang) error {
	pairs := [][2]string{
		{l.h("文件", "File"), s.file},
		{l.h("行数", "Rows"), fmt.Sprint(s.Rows)},
		{l.h("新增条目", "New line items"), fmt.Sprint(s.New)},
		{l.h("重复（已应用）", "Duplicates (already applied)"), fmt.Sprint(s.Duplicates)},
		{l.h("未变", "Unchanged"), fmt.Sprint(s.Unchanged)},
		{l.h("用时", "Elapsed"), s.elapsed.Round(time.Millisecond).String()},
	}
	if s.retries > 0 {
		pairs = append(pairs, [2]string{l.h("重试", "Retries"),
			fmt.Sprintf("%d (%s)", s.retries, l.m("重复数含中断请求已写入的行", "duplicates include rows a lost request had applied"))})
	}
	return renderPairs(w, pairs)
}

// progress shows how far an import is on stderr: one line redrawn in place on a terminal,
// else a line at every tenth of the rows. A nil *progress shows nothing.
type progress struct {
	w        io.Writer
	tty      bool
	l        lang
	file     string
	total    int // 0: unknown (counting)
	start    time.Time
	nextPct  int
	lastDraw time.Time
	drawn    bool
}

func newProgress(w io.Writer, tty bool, l lang, file string, total int) *progress {
	return &progress{w: w, tty: tty, l: l, file: file, total: total, start: time.Now(), nextPct: 10}
}

func (p *progress) update(done int) {
	if p == nil {
		return
	}
	now := time.Now()
	if p.tty {
		if now.Sub(p.lastDraw) < progressInterval && done != p.total {
			return
		}
		fmt.Fprintf(p.w, "\r\x1b[K%s", p.text(done, now))
		p.drawn, p.lastDraw = true, now
		return
	}
	if p.total <= 0 {
		return // counting rows: only shown on a terminal
	}
	pct := done * 100 / p.total
	if pct < p.nextPct && done != p.total {
		return
	}
	fmt.Fprintln(p.w, p.text(done, now))
	p.nextPct = (pct/10 + 1) * 10
}

// text is "FILE: 12000/100000 rows (12%), 8500 items/s", or while counting "FILE: checking, 12000 rows".
func (p *progress) text(done int, now time.Time) string {
	if p.total <= 0 {
		return fmt.Sprintf("%s: %s %d", p.file, p.l.h("校验中，已读行数", "checking, rows read"), done)
	}
	rate := 0.0
	if s := now.Sub(p.start).Seconds(); s > 0 {
		rate = float64(done) / s
	}
	return fmt.Sprintf("%s: %d/%d %s (%d%%), %.0f %s", p.file, done, p.total, p.l.h("行", "rows"),
		done*100/p.total, rate, p.l.h("条/秒", "items/s"))
}

// clear removes the progress line from a terminal.
func (p *progress) clear() {
	if p != nil && p.tty && p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

// finish leaves the last progress line on a terminal.
func (p *progress) finish() {
	if p != nil && p.tty && p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0 && fi.Mode()&os.ModeDevice != 0 && f.Name() != os.DevNull
}
