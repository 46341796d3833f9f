package server

import (
	"compress/gzip"
	"errors"
	"github.com/cloudledger/cloudledger/console"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	"github.com/cloudledger/cloudledger/errcode"
)

// Limits on what a client can make a node hold (TIGER_STYLE: named, tested at the boundary,
// README "Limits"). Anyone who can reach the API port is assumed hostile.
const (
	// MaxConnections bounds the API's open connections; more wait in the kernel's backlog.
	MaxConnections = 4096
	// ReadHeaderTimeout: a client has this long to send a request's headers.
	ReadHeaderTimeout = 5 * time.Second
	// BodyReadTimeout: a unary request's body must have arrived this long after its headers.
	BodyReadTimeout = 60 * time.Second
	// StreamIdleTimeout: a streaming request (ValidateImport) may pause this long between reads.
	StreamIdleTimeout = 60 * time.Second
	// IdleTimeout closes a keep-alive connection without a request.
	IdleTimeout = 2 * time.Minute
	// MaxBytesInFlight bounds the request bytes all requests together may hold while being
	// read (by Content-Length, or as read), inflated ones included. A request that would pass
	// it is refused with unavailable (retry later) before its body is read.
	MaxBytesInFlight = 96 << 20
	// MaxStreamBytes and MaxStreamRows bound one ValidateImport stream (the dry run holds
	// what the rows change).
	MaxStreamBytes = 2 << 30
	MaxStreamRows  = 5_000_000
)

// inFlight counts request bytes being held across all requests.
type inFlight struct{ n atomic.Int64 }

// acquire takes n bytes of the budget, or reports that it is spent.
func (f *inFlight) acquire(n int64) bool {
	if n <= 0 {
		return true
	}
	for {
		cur := f.n.Load()
		if cur+n > MaxBytesInFlight {
			return false
		}
		if f.n.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

func (f *inFlight) release(n int64) { f.n.Add(-n) }

var errBudget = errors.New("the node holds too many request bytes right now; retry")

// budgetReader takes the budget as a body of unknown length is read.
type budgetReader struct {
	r     io.ReadCloser
	f     *inFlight
	taken int64
}

func (b *budgetReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if n > 0 {
		if !b.f.acquire(int64(n)) {
			return 0, errBudget
		}
		b.taken += int64(n)
	}
	return n, err
}

func (b *budgetReader) Close() error { return b.r.Close() }

// deadlineReader moves a stream's read deadline on while it makes progress.
type deadlineReader struct {
	r     io.ReadCloser
	rc    *http.ResponseController
	total int64
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	_ = d.rc.SetReadDeadline(time.Now().Add(StreamIdleTimeout))
	n, err := d.r.Read(p)
	d.total += int64(n)
	if d.total > MaxStreamBytes {
		return n, errcode.Errf(errcode.RequestTooLarge, "", "an import stream of more than %d bytes", int64(MaxStreamBytes))
	}
	return n, err
}

func (d *deadlineReader) Close() error { return d.r.Close() }

// withLimits refuses oversized bodies before they are read, bounds the bytes all requests
// hold at once, and gives every body a deadline.
func (s *Server) withLimits(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if r.URL.Path == streamingValidation {
			// A stream holds up to one message at a time: it takes that much of the budget.
			if !s.inFlight.acquire(MaxMessageBytes) {
				writeErr(w, r, errcode.Errf(errcode.Unavailable, "", "%v", errBudget))
				return
			}
			defer s.inFlight.release(MaxMessageBytes)
			r.Body = &deadlineReader{r: r.Body, rc: rc}
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > MaxUnaryBodyBytes {
			if s.consolePages != nil && console.IsPage(r.URL.Path) {
				s.consolePages.TooLarge(w, r, MaxUnaryBodyBytes) // a person's upload: the page, not JSON
				return
			}
			writeErr(w, r, errcode.Errf(errcode.RequestTooLarge, "", "request body of %d bytes is over the limit of %d", r.ContentLength, MaxUnaryBodyBytes))
			return
		}
		_ = rc.SetReadDeadline(time.Now().Add(BodyReadTimeout))
		r.Body = http.MaxBytesReader(w, r.Body, MaxUnaryBodyBytes)
		if r.ContentLength > 0 {
			if !s.inFlight.acquire(r.ContentLength) {
				writeErr(w, r, errcode.Errf(errcode.Unavailable, "", "%v", errBudget))
				return
			}
			defer s.inFlight.release(r.ContentLength)
		} else if r.ContentLength < 0 {
			br := &budgetReader{r: r.Body, f: &s.inFlight}
			defer func() { s.inFlight.release(br.taken) }()
			r.Body = br
		}
		next.ServeHTTP(w, r)
	})
}

// gzipDecompressor inflates a request body from the budget, and no further than one
// message: a small gzip body that inflates to gigabytes is refused as soon as it passes.
type gzipDecompressor struct {
	f     *inFlight
	zr    *gzip.Reader
	taken int64
	err   error
}

func (s *Server) newDecompressor() connect.Decompressor { return &gzipDecompressor{f: &s.inFlight} }

func (d *gzipDecompressor) Reset(r io.Reader) error {
	d.release()
	d.err = nil
	if d.zr == nil {
		zr, err := gzip.NewReader(r)
		d.zr, d.err = zr, err
		return err
	}
	d.err = d.zr.Reset(r)
	return d.err
}

func (d *gzipDecompressor) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	n, err := d.zr.Read(p)
	if n > 0 {
		if d.taken+int64(n) > MaxMessageBytes {
			return 0, connect.NewError(connect.CodeResourceExhausted, errcode.Errf(errcode.RequestTooLarge, "", "the request inflates to more than %d bytes", MaxMessageBytes))
		}
		if !d.f.acquire(int64(n)) {
			return 0, connect.NewError(connect.CodeUnavailable, errBudget)
		}
		d.taken += int64(n)
	}
	return n, err
}

func (d *gzipDecompressor) release() {
	d.f.release(d.taken)
	d.taken = 0
}

func (d *gzipDecompressor) Close() error {
	d.release()
	if d.zr == nil {
		return nil
	}
	return d.zr.Close()
}

// limitListener bounds open connections; Accept waits while the limit is reached.
type limitListener struct {
	net.Listener
	sem       chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func newLimitListener(ln net.Listener, n int) net.Listener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, n), done: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
