package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/cloudledger/cloudledger/calendar"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/interchange"
)

// Limits of an import (TIGER_STYLE: named).
const (
	validateChunkRows = 5_000   // commands per ValidateImport message
	submitBatchRows   = 1_000   // commands per Submit request, each applied atomically
	maxChunkBytes     = 8 << 20 // encoded commands per message or request (the API takes 32 MiB)
	maxShownErrors    = 1_000   // bad rows printed; the rest are counted
	progressInterval  = 100 * time.Millisecond
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

// importer runs one import.
type importer struct {
	c        *client
	encoding string // interchange.EncodingUTF8 or EncodingGB18030
	kind     interchange.FileKind
	path     string
	l        lang
	stderr   io.Writer
	tty      bool
}

// importFile imports one interchange file: pass 1 checks every row (locally, then by the
// ledger, streamed), and only a file without a bad row gets pass 2, which re-reads it and
// applies it in atomic batches. Neither pass holds more than a few batches in memory.
func (g *globals) importFile(ctx context.Context, kind interchange.FileKind, path, encoding string) error {
	c, err := g.conn()
	if err != nil {
		return err
	}
	im := &importer{c: c, kind: kind, path: path, encoding: encoding, l: g.l(), stderr: g.stderr, tty: isTerminal(g.stderr)}
	start := time.Now()
	v, err := im.validate(ctx)
	if err != nil {
		return err
	}
	if v.bad() > 0 {
		return v.rejection(path)
	}
	retriesBefore := c.retries
	sum, err := im.submit(ctx, v)
	if err != nil {
		return err
	}
	sum.elapsed = time.Since(start)
	sum.retries = c.retries - retriesBefore // of Submit calls only: they can make duplicates
	return sum.render(g.stdout, g.l())
}

// fileFailure is an input file that cannot be read at all (exit status 1): a bad header is
// reported like a bad row.
func fileFailure(path string, err error) *cliError {
	var re *interchange.RowError
	if errors.As(err, &re) {
		return &cliError{rows: []string{re.Error()}, code: codeImportRejected, exit: exitFailure,
			message: fmt.Sprintf("%s: the header is bad; nothing was applied", path)}
	}
	msg := err.Error()
	if !strings.Contains(msg, path) {
		msg = path + ": " + msg
	}
	return &cliError{code: codeFile, message: strings.TrimPrefix(msg, "interchange: "), exit: exitFailure}
}

// validation is what pass 1 learned about a file.
type validation struct {
	fileID     string
	rows       int // rows that decoded, sent to the ledger
	local      []*interchange.RowError
	localCount int // rows that did not decode (local holds the first maxShownErrors)
	remote     []*v1.ErrorDetail
	// remoteCount is the rows the ledger refused (remote holds the first it reported).
	remoteCount int
	duplicates  int // rows the ledger already holds
	// months are the months (YYYY-MM) the file's events are dated in: an import holds them
	// (an import lease) so that none is closed while it runs.
	months map[string]bool
}

// noteMonth records the month of an event row's time.
func (v *validation) noteMonth(c *v1.Command) {
	ev := c.GetEvent()
	if ev == nil {
		return
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(ev.GetTime()))
	if err != nil {
		return // the ledger refuses the row
	}
	if v.months == nil {
		v.months = map[string]bool{}
	}
	v.months[t.In(calendar.Shanghai).Format("2006-01")] = true
}

func (v *validation) bad() int { return v.localCount + v.remoteCount }

func (v *validation) addLocal(e *interchange.RowError) {
	v.localCount++
	if len(v.local) < maxShownErrors {
		v.local = append(v.local, e)
	}
}

// rejection is the failure of a file with bad rows: each on a line, sorted by line.
func (v *validation) rejection(path string) *cliError {
	return &cliError{
		rows: rowErrorLines(path, v.local, v.remote, v.bad()),
		code: codeImportRejected, exit: exitFailure,
		message: fmt.Sprintf("%s: %d of %d rows are bad; nothing was applied", path, v.bad(), v.localCount+v.rows),
	}
}

// rowErrorLines merges the rows that failed to decode with the rows the ledger refused,
// sorted by line, formatted FILE:LINE: FIELD: CODE: MESSAGE; at most maxShownErrors, then
// "… and N more" for the rest of total.
func rowErrorLines(path string, local []*interchange.RowError, remote []*v1.ErrorDetail, total int) []string {
	all := make([]*interchange.RowError, 0, len(local)+len(remote))
	all = append(all, local...)
	for _, d := range remote {
		all = append(all, detailRowError(path, d))
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Line < all[j].Line })
	if len(all) > maxShownErrors {
		all = all[:maxShownErrors]
	}
	out := make([]string, 0, len(all)+1)
	for _, e := range all {
		out = append(out, e.Error())
	}
	if rest := total - len(all); rest > 0 {
		out = append(out, fmt.Sprintf("… and %d more", rest))
	}
	return out
}

// detailRowError is the ledger's verdict on an imported row, as a row error of the file.
func detailRowError(path string, d *v1.ErrorDetail) *interchange.RowError {
	return &interchange.RowError{File: path, Line: int(d.GetLine()), Field: d.GetField(), Code: errcode.Code(d.GetCode()), Message: d.GetMessage()}
}

// validate is pass 1: decode the whole file, collecting every bad row, and stream the good
// rows to ValidateImport, which dry-runs them against the ledger and reports every row it
// would refuse. Nothing is kept of the rows but their count.
func (im *importer) validate(ctx context.Context) (*validation, error) {
	var out *validation
	err := im.c.do(ctx, validatePolicy, "validate "+im.path, func(ctx context.Context, ep *endpoint) error {
		v, err := im.validateOn(ctx, ep)
		out = v
		return err
	})
	return out, err
}

var errIdle = errors.New("idle")

func (im *importer) validateOn(ctx context.Context, ep *endpoint) (*validation, error) {
	dec, closer, err := interchange.OpenFileEncoded(im.kind, im.path, im.encoding)
	if err != nil {
		return nil, fileFailure(im.path, err)
	}
	defer closer.Close()
	v := &validation{fileID: dec.FileID()}

	// The stream may run as long as the file is big, but never idle longer than --timeout.
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idle := time.AfterFunc(im.c.timeout, func() { cancel(errIdle) })
	defer idle.Stop()
	touch := func() { idle.Reset(im.c.timeout) }

	stream := ep.ledger.ValidateImport(sctx)
	im.c.authorize(stream.RequestHeader())
	p := newProgress(im.stderr, im.tty, im.l, im.path, 0)
	chunk, chunkBytes := make([]*v1.Command, 0, validateChunkRows), 0
	var sendErr error
	send := func() {
		if len(chunk) == 0 || sendErr != nil {
			return
		}
		touch()
		sendErr = stream.Send(&v1.ValidateImportRequest{Commands: chunk})
		touch()
		chunk, chunkBytes = make([]*v1.Command, 0, validateChunkRows), 0
		p.update(v.rows + v.localCount)
	}
	for sendErr == nil {
		row, rerr, ok := dec.Next()
		if !ok {
			break
		}
		if rerr != nil {
			v.addLocal(rerr)
			continue
		}
		pc := row.Command
		v.rows++
		v.noteMonth(pc)
		chunk = append(chunk, pc)
		chunkBytes += proto.Size(pc)
		if len(chunk) >= validateChunkRows || chunkBytes >= maxChunkBytes {
			send()
		}
	}
	send()
	p.clear()
	touch()
	res, err := stream.CloseAndReceive()
	if err != nil {
		if errors.Is(context.Cause(sctx), errIdle) && ctx.Err() == nil {
			return nil, connect.NewError(connect.CodeDeadlineExceeded, fmt.Errorf("validation made no progress for %s", im.c.timeout))
		}
		return nil, err
	}
	r := res.Msg
	if int(r.GetRows()) != v.rows {
		return nil, &cliError{code: codeInternal, exit: exitFailure,
			message: fmt.Sprintf("%s: the ledger validated %d rows, %d were sent", im.path, r.GetRows(), v.rows)}
	}
	v.remote = r.GetErrors()
	v.remoteCount = int(r.GetRows() - r.GetAccepted())
	v.duplicates = int(r.GetDuplicates())
	return v, nil
}

// importSummary is what an import did.
type importSummary struct {
	file       string
	rows       int
	newItems   int // line items written
	duplicates int // rows whose key the ledger already held with the same content
	unchanged  int // rows restating what the ledger already holds
	retries    int
	elapsed    time.Duration
}

func (s *importSummary) add(r *v1.SubmitResponse) {
	for _, it := range r.GetResults() {
		switch {
		case it.GetDuplicate():
			s.duplicates++
		case it.GetUnchanged():
			s.unchanged++
		default:
			s.newItems++
		}
	}
}

func (s *importSummary) render(w io.Writer, l lang) error {
	pairs := [][2]string{
		{l.h("文件", "File"), s.file},
		{l.h("行数", "Rows"), fmt.Sprint(s.rows)},
		{l.h("新增条目", "New line items"), fmt.Sprint(s.newItems)},
		{l.h("重复（已应用）", "Duplicates (already applied)"), fmt.Sprint(s.duplicates)},
		{l.h("未变", "Unchanged"), fmt.Sprint(s.unchanged)},
		{l.h("用时", "Elapsed"), s.elapsed.Round(time.Millisecond).String()},
	}
	if s.retries > 0 {
		pairs = append(pairs, [2]string{l.h("重试", "Retries"),
			fmt.Sprintf("%d (%s)", s.retries, l.m("重复数含中断请求已写入的行", "duplicates include rows a lost request had applied"))})
	}
	return renderPairs(w, pairs)
}

// batch is one Submit request of pass 2, or the decoding failure that ends it.
type batch struct {
	cmds     []*v1.Command
	lastLine int
	err      error
}

// submit is pass 2: re-read the file (it was not kept) and apply it in atomic batches,
// each retried with the same keys until its outcome is known. Decoding runs one batch
// ahead of the calls.
func (im *importer) submit(ctx context.Context, v *validation) (*importSummary, error) {
	sum := &importSummary{file: im.path, rows: v.rows}
	if v.rows == 0 {
		return sum, nil
	}
	dec, closer, err := interchange.OpenFileEncoded(im.kind, im.path, im.encoding)
	if err != nil {
		return nil, fileFailure(im.path, err)
	}
	if dec.FileID() != v.fileID {
		closer.Close()
		return nil, &cliError{code: codeFile, exit: exitFailure,
			message: fmt.Sprintf("%s changed while it was being imported; nothing was applied", im.path)}
	}
	pctx, stop := context.WithCancel(ctx)
	batches := make(chan batch, 2)
	go produceBatches(pctx, dec, closer, im.path, batches)
	defer func() {
		stop()
		for range batches { // let the producer finish and close the file
		}
	}()

	// Hold the file's months so that none is closed before the last batch (refused, before
	// anything is applied, if one is closed already); each batch renews the hold.
	lease := importLease(v)
	if lease != nil {
		if _, err := im.c.submit(ctx, writePolicy, "hold the months of "+im.path, []*v1.Command{lease}); err != nil {
			ce := callFailure(err)
			if ce == nil {
				ce = &cliError{code: codeInternal, message: err.Error(), exit: exitFailure}
			}
			ce.message += fmt.Sprintf("; nothing of %s was applied", im.path)
			return nil, ce
		}
		defer im.releaseLease(lease)
	}
	p := newProgress(im.stderr, im.tty, im.l, im.path, v.rows)
	if v.rows <= submitBatchRows {
		p = nil // one request: no progress to show
	}
	done := 0
	for b := range batches {
		if b.err != nil {
			p.clear()
			return nil, b.err
		}
		what := fmt.Sprintf("%s rows to line %d", im.path, b.lastLine)
		cmds := b.cmds
		if lease != nil {
			cmds = append([]*v1.Command{lease}, b.cmds...)
		}
		res, err := im.c.submit(ctx, batchPolicy, what, cmds)
		if err != nil {
			p.clear()
			return nil, im.stopped(err, done, v.rows)
		}
		if len(res.GetResults()) != len(cmds) {
			p.clear()
			return nil, &cliError{code: codeInternal, exit: exitFailure,
				message: fmt.Sprintf("the node returned %d results for %d commands", len(res.GetResults()), len(cmds))}
		}
		if lease != nil {
			res.Results = res.Results[1:]
		}
		sum.add(res)
		done += len(b.cmds)
		p.update(done)
	}
	p.finish()
	if done != v.rows {
		return nil, &cliError{code: codeFile, exit: exitFailure,
			message: fmt.Sprintf("%s: %d rows read for applying, %d when checking; %d were applied", im.path, done, v.rows, done)}
	}
	return sum, nil
}

// importLease is the lease command holding the months of a validated file, nil when its
// rows are dated in no month (master data).
func importLease(v *validation) *v1.Command {
	if len(v.months) == 0 {
		return nil
	}
	months := make([]string, 0, len(v.months))
	for m := range v.months {
		months = append(months, m)
	}
	sort.Strings(months)
	var nonce [6]byte
	_, _ = rand.Read(nonce[:])
	return &v1.Command{Body: &v1.Command_ImportLease{ImportLease: &v1.ImportLease{
		Id: "import/" + v.fileID + "/" + hex.EncodeToString(nonce[:]), Months: months}}}
}

// releaseLease lets go of the months (best effort: an unreleased lease ends by itself).
func (im *importer) releaseLease(lease *v1.Command) {
	rel := proto.Clone(lease).(*v1.Command)
	rel.GetImportLease().Release = true
	ctx, cancel := context.WithTimeout(context.Background(), im.c.timeout)
	defer cancel()
	if _, err := im.c.submit(ctx, readPolicy, "release the months of "+im.path, []*v1.Command{rel}); err != nil {
		fmt.Fprintf(im.stderr, "%s: %v\n", im.l.m("未能释放导入占用的月份（10 分钟后自动释放）", "could not release the import's months (they free themselves in 10 minutes)"), err)
	}
}

// stopped is the failure of a batch after done rows of total were applied.
func (im *importer) stopped(err error, done, total int) error {
	if errors.Is(err, context.Canceled) {
		return &cliError{code: codeCanceled, exit: exitFailure,
			message: fmt.Sprintf("interrupted: %d of %d rows of %s known to be applied; re-running the import is safe (applied rows are skipped)", done, total, im.path)}
	}
	ce := callFailure(err)
	if ce == nil {
		ce = &cliError{code: codeInternal, message: err.Error(), exit: exitFailure}
	}
	var cerr *connect.Error
	if errors.As(err, &cerr) {
		if d := detailOf(cerr); d != nil && d.GetLine() > 0 {
			// The ledger refused a row that passed validation: the state changed in between.
			return &cliError{
				rows: []string{detailRowError(im.path, d).Error()},
				code: codeImportStopped, exit: exitFailure,
				message: fmt.Sprintf("%s: stopped at line %d; %d of %d rows were applied before it (re-running the import skips them)", im.path, d.GetLine(), done, total),
			}
		}
	}
	ce.message += fmt.Sprintf("; import of %s stopped after %d of %d rows: re-running it is safe (applied rows are skipped)", im.path, done, total)
	return ce
}

// produceBatches decodes the file into Submit batches until the end, a bad row, or ctx ends;
// it closes the file and the channel.
func produceBatches(ctx context.Context, dec *interchange.Decoder, closer io.Closer, path string, out chan<- batch) {
	defer close(out)
	defer closer.Close()
	emit := func(b batch) bool {
		select {
		case out <- b:
			return true
		case <-ctx.Done():
			return false
		}
	}
	cur, size := batch{cmds: make([]*v1.Command, 0, submitBatchRows)}, 0
	for {
		row, rerr, ok := dec.Next()
		if !ok {
			break
		}
		if rerr != nil {
			emit(batch{err: &cliError{rows: []string{rerr.Error()}, code: codeImportStopped, exit: exitFailure,
				message: fmt.Sprintf("%s changed while it was being imported (line %d no longer decodes)", path, rerr.Line)}})
			return
		}
		pc := row.Command
		cur.cmds = append(cur.cmds, pc)
		cur.lastLine = row.Line
		size += proto.Size(pc)
		if len(cur.cmds) >= submitBatchRows || size >= maxChunkBytes {
			if !emit(cur) {
				return
			}
			cur, size = batch{cmds: make([]*v1.Command, 0, submitBatchRows)}, 0
		}
	}
	if len(cur.cmds) > 0 {
		emit(cur)
	}
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
