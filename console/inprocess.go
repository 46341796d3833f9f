package console

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// The console calls the ledger's API in process, as the signed-in account: the request
// goes through the API's whole handler (limits, authentication, the authorization rules,
// the access trail, forwarding of writes to the leader), so the console holds no rule of
// its own about who may see or do what.

// SessionHeader is the API's header with a renewed session (server.SessionHeader).
const SessionHeader = "Cloudledger-Session"

// caller is who a console request speaks for, carried in the context of its API calls.
type caller struct {
	session string // the API session; empty before sign-in
	addr    string // the browser's address (host:port), recorded by the access trail
	mu      sync.Mutex
	renewed string // the latest renewal of the session the API answered
}

type callerKey struct{}

func withCaller(ctx context.Context, c *caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

func callerOf(ctx context.Context) *caller {
	c, _ := ctx.Value(callerKey{}).(*caller)
	return c
}

// inProcess is an http.RoundTripper that serves a request with the API's handler.
type inProcess struct{ api http.Handler }

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	c := callerOf(r.Context())
	r = r.Clone(r.Context())
	r.RequestURI = r.URL.RequestURI()
	r.Header.Del("Authorization")
	if c != nil {
		r.RemoteAddr = c.addr
		if c.session != "" {
			r.Header.Set("Authorization", "Session "+c.session)
		}
	}
	if r.Body == nil {
		r.Body = http.NoBody
	}
	rec := &recorder{header: http.Header{}}
	t.api.ServeHTTP(rec, r)
	if c != nil {
		if v := rec.header.Get(SessionHeader); v != "" {
			c.mu.Lock()
			c.renewed = v
			c.mu.Unlock()
		}
	}
	code := rec.code
	if code == 0 {
		code = http.StatusOK
	}
	return &http.Response{
		Status: strconv.Itoa(code) + " " + http.StatusText(code), StatusCode: code,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: rec.header, Body: io.NopCloser(bytes.NewReader(rec.body.Bytes())),
		ContentLength: int64(rec.body.Len()), Request: r,
	}, nil
}

// recorder is the API's answer to one in-process call.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }
func (w *recorder) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *recorder) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.body.Write(b)
}
func (w *recorder) Flush() {}
