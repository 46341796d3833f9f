// Package importrun runs an import of an interchange file the one way every client does it
// (ledgerctl and the console; issue 23): pass 1 decodes the whole file and streams its rows
// to LedgerService.ValidateImport, which dry-runs them — nothing is written while any row
// is bad; pass 2 reads the file again and applies it in atomic batches, each sent again
// with the same keys until its outcome is known, under an import lease that keeps the
// file's months from being closed meanwhile. It speaks only the API (it imports neither
// the ledger nor its mapping), and its callers differ only in how they reach a node.
package importrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/interchange"
)

// Sizes of what the import sends.
const (
	// ValidateChunkRows and BatchRows bound the rows of one ValidateImport message and one
	// Submit; ChunkBytes bounds either by its encoded size (well under the API's limits).
	ValidateChunkRows = 5000
	BatchRows         = 1000
	ChunkBytes        = 8 << 20 // the API takes 32 MiB
	// MaxShownErrors is how many bad rows a validation keeps (it counts them all).
	MaxShownErrors = 1000
	// DeliveryRows bounds the rows of one utilisation delivery (the ledger's
	// MaxUtilisationRows: a day of 100,000 resources).
	DeliveryRows = 100_000
	// DefaultCallTimeout bounds a Submit, and how long the validation stream may be idle;
	// DefaultRetryFor is how long a batch is sent again while its outcome is unknown.
	DefaultCallTimeout = 30 * time.Second
	DefaultRetryFor    = 2 * time.Minute
)

// API is the ledger as an import sees it: one attempt of each call, on the node the caller
// addresses now. Failover moves the caller to its next node after a failure that may be
// transient (a caller of one node, like the console, does nothing).
type API interface {
	ValidateImport(ctx context.Context) *connect.ClientStreamForClient[v1.ValidateImportRequest, v1.ValidateImportResponse]
	Submit(ctx context.Context, cmds []*v1.Command) (*v1.SubmitResponse, error)
	Failover(err error)
}

// Import is one file's import.
type Import struct {
	Kind interchange.FileKind
	// File names the file in errors and notes.
	File string
	// Open opens the file for a pass (it is read twice and never kept).
	Open func() (*interchange.Decoder, io.Closer, error)
	API  API
	// LeasePrefix starts the import lease's id ("ctl-import", "console-import").
	LeasePrefix string
	CallTimeout time.Duration
	RetryFor    time.Duration
	// Progress is told the rows done (and the total: 0 while validating) as they go.
	Progress func(done, total int)
	// Retrying is told, before each, that a call is sent again and why.
	Retrying func(what string, err error)
	// Retries counts the calls sent again (a lost answer may have applied rows: they come
	// back as duplicates).
	Retries int
}

// Validation is what pass 1 learned of a file.
type Validation struct {
	FileID string
	Rows   int                     // rows that decoded, sent to the ledger
	Local  []*interchange.RowError // rows that did not decode (the first MaxShownErrors)
	// LocalCount is every row that did not decode; RemoteCount every row the ledger
	// refused (Remote holds those it reported).
	LocalCount, RemoteCount int
	Remote                  []*v1.ErrorDetail
	Duplicates              int // rows the ledger already holds
	// Months (YYYY-MM) are the months of the file's events, held while it applies.
	Months map[string]bool
	// File names the file in the row errors of the ledger's verdicts.
	File string
}

// Bad is the number of bad rows; an import applies nothing while there is one.
func (v *Validation) Bad() int { return v.LocalCount + v.RemoteCount }

// Errors are the bad rows as errors of the file, sorted by line: at most MaxShownErrors.
func (v *Validation) Errors() []*interchange.RowError {
	all := append([]*interchange.RowError(nil), v.Local...)
	for _, d := range v.Remote {
		all = append(all, RowError(v.File, d))
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Line < all[j].Line })
	if len(all) > MaxShownErrors {
		all = all[:MaxShownErrors]
	}
	return all
}

// RowError is the ledger's verdict on a row of file as a row error.
func RowError(file string, d *v1.ErrorDetail) *interchange.RowError {
	// A utilisation row is checked as a delivery of one: its fields are the row's columns.
	field := strings.TrimPrefix(d.GetField(), "rows[0].")
	return &interchange.RowError{File: file, Line: int(d.GetLine()), Field: field, Code: errcode.Code(d.GetCode()), Message: d.GetMessage()}
}

func (v *Validation) noteMonth(c *v1.Command) {
	ev := c.GetEvent()
	if ev == nil {
		return
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(ev.GetTime()))
	if err != nil {
		return // the ledger refuses the row
	}
	if v.Months == nil {
		v.Months = map[string]bool{}
	}
	v.Months[t.In(shanghai).Format("2006-01")] = true
}

var shanghai = time.FixedZone("Asia/Shanghai", 8*3600) // no daylight saving since 1991

// FileError is a file that cannot be read at all, or whose header is bad (Row set).
type FileError struct {
	File string
	Row  *interchange.RowError
	Err  error
}

func (e *FileError) Error() string {
	if e.Row != nil {
		return e.Row.Error()
	}
	msg := strings.TrimPrefix(e.Err.Error(), "interchange: ")
	if !strings.Contains(msg, e.File) {
		msg = e.File + ": " + msg
	}
	return msg
}

func (e *FileError) Unwrap() error { return e.Err }

func (im *Import) open() (*interchange.Decoder, io.Closer, error) {
	dec, closer, err := im.Open()
	if err != nil {
		fe := &FileError{File: im.File, Err: err}
		errors.As(err, &fe.Row)
		return nil, nil, fe
	}
	return dec, closer, nil
}

func (im *Import) callTimeout() time.Duration {
	if im.CallTimeout > 0 {
		return im.CallTimeout
	}
	return DefaultCallTimeout
}

func (im *Import) retryFor() time.Duration {
	if im.RetryFor > 0 {
		return im.RetryFor
	}
	return DefaultRetryFor
}

// Retryable says whether a failed call may succeed on another try or another node: the
// node was unreachable, had no leader, timed out, or lost the outcome of a write. A ledger
// decision (any other SPEC code) is final. Every client of the API decides it this way.
func Retryable(err error) bool {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return false
	}
	if d := Detail(ce); d != nil {
		return d.GetCode() == string(errcode.Unavailable) || d.GetCode() == "unknown_outcome"
	}
	switch ce.Code() {
	case connect.CodeUnavailable, connect.CodeDeadlineExceeded, connect.CodeAborted,
		connect.CodeUnknown, connect.CodeInternal, connect.CodeCanceled:
		return true
	}
	return false
}

// Detail is the first ErrorDetail of a failed call, nil without one.
func Detail(ce *connect.Error) *v1.ErrorDetail {
	for _, d := range ce.Details() {
		if m, err := d.Value(); err == nil {
			if ed, ok := m.(*v1.ErrorDetail); ok {
				return ed
			}
		}
	}
	return nil
}

// retry runs call until it succeeds, fails for good, or RetryFor has passed, failing over
// between attempts.
func (im *Import) retry(ctx context.Context, what string, call func(context.Context) error) error {
	start, backoff := time.Now(), 100*time.Millisecond
	for {
		err := call(ctx)
		if err == nil || ctx.Err() != nil || !Retryable(err) || time.Since(start)+backoff > im.retryFor() {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		im.API.Failover(err)
		if im.Retrying != nil {
			im.Retrying(what, err)
		}
		im.Retries++
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

var errIdle = errors.New("idle")

// Validate is pass 1. A file with bad rows comes back with Bad() > 0 and no error.
func (im *Import) Validate(ctx context.Context) (*Validation, error) {
	var out *Validation
	err := im.retry(ctx, "validate "+im.File, func(ctx context.Context) error {
		v, err := im.validateOnce(ctx)
		out = v
		return err
	})
	return out, err
}

func (im *Import) validateOnce(ctx context.Context) (*Validation, error) {
	dec, closer, err := im.open()
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	v := &Validation{FileID: dec.FileID(), File: im.File}

	// The stream may run as long as the file is big, but never idle longer than a call.
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idle := time.AfterFunc(im.callTimeout(), func() { cancel(errIdle) })
	defer idle.Stop()
	touch := func() { idle.Reset(im.callTimeout()) }

	stream := im.API.ValidateImport(sctx)
	chunk, size := make([]*v1.Command, 0, ValidateChunkRows), 0
	var sendErr error
	send := func() {
		if len(chunk) == 0 || sendErr != nil {
			return
		}
		touch()
		sendErr = stream.Send(&v1.ValidateImportRequest{Commands: chunk})
		touch()
		chunk, size = make([]*v1.Command, 0, ValidateChunkRows), 0
		if im.Progress != nil {
			im.Progress(v.Rows+v.LocalCount, 0)
		}
	}
	for sendErr == nil {
		row, rerr, ok := dec.Next()
		if !ok {
			break
		}
		if rerr != nil {
			v.LocalCount++
			if len(v.Local) < MaxShownErrors {
				v.Local = append(v.Local, rerr)
			}
			continue
		}
		v.Rows++
		v.noteMonth(row.Command)
		chunk = append(chunk, row.Command)
		size += proto.Size(row.Command)
		if len(chunk) >= ValidateChunkRows || size >= ChunkBytes {
			send()
		}
	}
	send() // on a failed send, the answer says why
	touch()
	res, err := stream.CloseAndReceive()
	if err != nil {
		if errors.Is(context.Cause(sctx), errIdle) && ctx.Err() == nil {
			return nil, connect.NewError(connect.CodeDeadlineExceeded, fmt.Errorf("validation made no progress for %s", im.callTimeout()))
		}
		return nil, err
	}
	r := res.Msg
	if int(r.GetRows()) != v.Rows {
		return nil, fmt.Errorf("%s: the ledger validated %d rows, %d were sent", im.File, r.GetRows(), v.Rows)
	}
	v.Remote = r.GetErrors()
	v.RemoteCount = int(r.GetRows() - r.GetAccepted())
	v.Duplicates = int(r.GetDuplicates())
	return v, nil
}

// Summary is what pass 2 did.
type Summary struct {
	Rows       int
	New        int // line items written
	Duplicates int // rows whose key the ledger already held with the same content
	Unchanged  int // rows restating what the ledger already holds
}

func (s *Summary) add(r *v1.SubmitResponse) {
	for _, it := range r.GetResults() {
		switch {
		case it.GetDuplicate():
			s.Duplicates++
		case it.GetUnchanged():
			s.Unchanged++
		default:
			s.New++
		}
	}
}

// Stopped is pass 2 ending early: Done of Total rows are known to be applied; running the
// import again is safe (applied rows come back as duplicates). Row is the ledger's verdict
// on the row it stopped at, when it refused one that validated (the state changed since).
type Stopped struct {
	File        string
	Done, Total int
	Row         *interchange.RowError
	Err         error
}

func (e *Stopped) Error() string {
	if e.Row != nil {
		return fmt.Sprintf("%s: stopped at line %d; %d of %d rows were applied before it (running the import again skips them)", e.File, e.Row.Line, e.Done, e.Total)
	}
	return fmt.Sprintf("import of %s stopped after %d of %d rows: %v (running it again is safe: applied rows are skipped)", e.File, e.Done, e.Total, e.Err)
}

func (e *Stopped) Unwrap() error { return e.Err }

// ErrChanged is the file changing between the passes.
var ErrChanged = errors.New("the file changed while it was being imported")

type batch struct {
	cmds     []*v1.Command
	lastLine int
	err      error
}

// Apply is pass 2 of a file that validated with no bad row.
func (im *Import) Apply(ctx context.Context, v *Validation) (*Summary, error) {
	sum := &Summary{Rows: v.Rows}
	if v.Bad() > 0 {
		return nil, fmt.Errorf("%s has %d bad rows: nothing is applied", im.File, v.Bad())
	}
	if v.Rows == 0 {
		return sum, nil
	}
	dec, closer, err := im.open()
	if err != nil {
		return nil, err
	}
	if dec.FileID() != v.FileID {
		closer.Close()
		return nil, &Stopped{File: im.File, Total: v.Rows, Err: ErrChanged}
	}
	pctx, stop := context.WithCancel(ctx)
	batches := make(chan batch, 2)
	go produce(pctx, dec, closer, im.File, batches)
	defer func() {
		stop()
		for range batches { // let the producer finish and close the file
		}
	}()

	// Hold the file's months so that none is closed before the last batch (refused, before
	// anything is applied, if one is closed already); each batch renews the hold.
	if im.Kind == interchange.KindUtilisation {
		return im.applyDeliveries(ctx, v, batches)
	}
	lease := im.lease(v)
	if lease != nil {
		if _, err := im.submit(ctx, "hold the months of "+im.File, []*v1.Command{lease}); err != nil {
			return nil, &Stopped{File: im.File, Total: v.Rows, Err: err}
		}
		defer im.release(lease)
	}
	done := 0
	for b := range batches {
		if b.err != nil {
			return nil, &Stopped{File: im.File, Done: done, Total: v.Rows, Err: b.err}
		}
		cmds := b.cmds
		if lease != nil {
			cmds = append([]*v1.Command{lease}, b.cmds...)
		}
		res, err := im.submit(ctx, fmt.Sprintf("%s rows to line %d", im.File, b.lastLine), cmds)
		if err != nil {
			st := &Stopped{File: im.File, Done: done, Total: v.Rows, Err: err}
			var ce *connect.Error
			if errors.As(err, &ce) {
				if d := Detail(ce); d != nil && d.GetLine() > 0 {
					st.Row = RowError(im.File, d)
				}
			}
			return nil, st
		}
		if len(res.GetResults()) != len(cmds) {
			return nil, &Stopped{File: im.File, Done: done, Total: v.Rows, Err: fmt.Errorf("the node returned %d results for %d commands", len(res.GetResults()), len(cmds))}
		}
		if lease != nil {
			res.Results = res.Results[1:]
		}
		sum.add(res)
		done += len(b.cmds)
		if im.Progress != nil {
			im.Progress(done, v.Rows)
		}
	}
	if done != v.Rows {
		return nil, &Stopped{File: im.File, Done: done, Total: v.Rows, Err: fmt.Errorf("%d rows read for applying, %d when checking: %w", done, v.Rows, ErrChanged)}
	}
	return sum, nil
}

func (im *Import) submit(ctx context.Context, what string, cmds []*v1.Command) (*v1.SubmitResponse, error) {
	var out *v1.SubmitResponse
	err := im.retry(ctx, what, func(ctx context.Context) error {
		cctx, cancel := context.WithTimeout(ctx, im.callTimeout())
		defer cancel()
		res, err := im.API.Submit(cctx, cmds)
		out = res
		return err
	})
	return out, err
}

// lease is the command holding the file's months, nil when its rows are dated in no month.
func (im *Import) lease(v *Validation) *v1.Command {
	if len(v.Months) == 0 {
		return nil
	}
	months := make([]string, 0, len(v.Months))
	for m := range v.Months {
		months = append(months, m)
	}
	sort.Strings(months)
	return &v1.Command{Body: &v1.Command_ImportLease{ImportLease: &v1.ImportLease{
		Id: fmt.Sprintf("%s/%s/%d", orDefault(im.LeasePrefix, "import"), v.FileID, time.Now().UnixNano()), Months: months}}}
}

// release lets go of the months (best effort: an unreleased lease ends by itself).
func (im *Import) release(lease *v1.Command) {
	rel := proto.Clone(lease).(*v1.Command)
	rel.GetImportLease().Release = true
	ctx, cancel := context.WithTimeout(context.Background(), im.callTimeout())
	defer cancel()
	if _, err := im.API.Submit(ctx, []*v1.Command{rel}); err != nil && im.Retrying != nil {
		im.Retrying("release the months of "+im.File+" (they free themselves in 10 minutes)", err)
	}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// produce decodes the file into batches until the end, a bad row, or ctx ends; it closes
// the file and the channel.
func produce(ctx context.Context, dec *interchange.Decoder, closer io.Closer, file string, out chan<- batch) {
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
	cur, size := batch{cmds: make([]*v1.Command, 0, BatchRows)}, 0
	for {
		row, rerr, ok := dec.Next()
		if !ok {
			break
		}
		if rerr != nil {
			emit(batch{err: fmt.Errorf("line %d no longer decodes (%v): %w", rerr.Line, rerr, ErrChanged)})
			return
		}
		cur.cmds = append(cur.cmds, row.Command)
		cur.lastLine = row.Line
		size += proto.Size(row.Command)
		if len(cur.cmds) >= BatchRows || size >= ChunkBytes {
			if !emit(cur) {
				return
			}
			cur, size = batch{cmds: make([]*v1.Command, 0, BatchRows)}, 0
		}
	}
	if len(cur.cmds) > 0 {
		emit(cur)
	}
}

// applyDeliveries applies a utilisation report: its rows, checked one by one in pass 1, go
// to the ledger as deliveries of up to DeliveryRows rows — each one line item with the
// SHA-256 of its rows (SPEC: Utilisation) — keyed by the file and the part, so running the
// import again changes nothing.
func (im *Import) applyDeliveries(ctx context.Context, v *Validation, batches <-chan batch) (*Summary, error) {
	var rows []*v1.UtilisationRow
	for b := range batches {
		if b.err != nil {
			return nil, &Stopped{File: im.File, Total: v.Rows, Err: b.err}
		}
		for _, c := range b.cmds {
			rows = append(rows, c.GetUtilisationDelivery().GetRows()...)
		}
	}
	if len(rows) != v.Rows {
		return nil, &Stopped{File: im.File, Total: v.Rows, Err: fmt.Errorf("%d rows read for applying, %d when checking: %w", len(rows), v.Rows, ErrChanged)}
	}
	sum := &Summary{Rows: v.Rows}
	done := 0
	for part := 0; done < len(rows); part++ {
		n := min(DeliveryRows, len(rows)-done)
		cmd := &v1.Command{Key: fmt.Sprintf("utilisation/import/%s/%d", v.FileID, part),
			Body: &v1.Command_UtilisationDelivery{UtilisationDelivery: &v1.UtilisationDelivery{Rows: rows[done : done+n]}}}
		res, err := im.submit(ctx, fmt.Sprintf("%s rows %d–%d", im.File, done+1, done+n), []*v1.Command{cmd})
		if err != nil {
			return nil, &Stopped{File: im.File, Done: done, Total: v.Rows, Err: err}
		}
		sum.add(res) // one line item a delivery
		done += n
		if im.Progress != nil {
			im.Progress(done, v.Rows)
		}
	}
	return sum, nil
}
