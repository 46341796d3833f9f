package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/cloudledger/cloudledger/importrun"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
)

// Limits and timings of the client.
const (
	maxResponseBytes = 64 << 20 // one response message
	maxDialTimeout   = 10 * time.Second
	initialBackoff   = 200 * time.Millisecond
	maxBackoff       = 5 * time.Second
	staleHeader      = "Cloudledger-Stale"
	// retryNoteInterval spaces out repeated notes of the same failure.
	retryNoteInterval = 10 * time.Second
)

// retryPolicy says how long a call keeps trying after failures that may be transient
// (connection refused, no leader, timeouts, an unknown outcome).
type retryPolicy struct {
	// budget is the time after the first attempt within which another one may start; 0
	// tries each server once.
	budget time.Duration
	// write marks a call that changes the ledger: a timeout is an unknown outcome.
	write bool
	// selfTimed marks a call that bounds itself (a stream with an idle timeout): do sets
	// no deadline of --timeout on it.
	selfTimed bool
}

var (
	// readPolicy fails over to each server once: a read is cheap to re-run by hand.
	readPolicy = retryPolicy{}
	// writePolicy retries a single write (its idempotency key makes that safe) for a while.
	writePolicy = retryPolicy{budget: 20 * time.Second, write: true}
	// batchPolicy retries an import batch for about two minutes: long enough for a leader
	// election or a node restart.
	batchPolicy = retryPolicy{budget: 2 * time.Minute, write: true}
	// adminPolicy is for membership changes: they are not keyed, so each server is tried once.
	adminPolicy = retryPolicy{write: true}
	// validatePolicy is for the ValidateImport stream: a read, re-run from the start of the
	// file on another node for a short while (nothing is applied yet, so giving up early
	// costs little), bounded by an idle timeout instead of a total one.
	validatePolicy = retryPolicy{budget: 10 * time.Second, selfTimed: true}
)

// endpoint is one node's API.
type endpoint struct {
	url     string
	ledger  cloudledgerv1connect.LedgerServiceClient
	cluster cloudledgerv1connect.ClusterServiceClient
	account cloudledgerv1connect.AccountServiceClient
	request cloudledgerv1connect.RequestServiceClient
	finding cloudledgerv1connect.FindingServiceClient
	eval    cloudledgerv1connect.EvaluationServiceClient
}

// client calls the cluster through a list of nodes, failing over to the next one when a
// node cannot be reached or has no leader.
type client struct {
	endpoints []endpoint
	hc        *http.Client // for the plain HTTP endpoints (the backup stream)
	cur       int          // the node the next call goes to
	token     string
	stale     bool
	timeout   time.Duration // of each call
	log       io.Writer     // where retries are noted
	sleep     func(context.Context, time.Duration) error
	retries   int // calls re-sent after a failure, over the client's life

	lastNote   string
	lastNoteAt time.Time
}

func newClient(urls []string, token string, stale bool, timeout time.Duration, tc *tls.Config, log io.Writer) *client {
	hc := newHTTPClient(timeout, tc)
	c := &client{token: token, stale: stale, timeout: timeout, log: log, sleep: sleepCtx, hc: hc}
	for _, u := range urls {
		c.endpoints = append(c.endpoints, endpoint{
			url:     u,
			ledger:  cloudledgerv1connect.NewLedgerServiceClient(hc, u, connect.WithReadMaxBytes(maxResponseBytes)),
			cluster: cloudledgerv1connect.NewClusterServiceClient(hc, u, connect.WithReadMaxBytes(maxResponseBytes)),
			account: cloudledgerv1connect.NewAccountServiceClient(hc, u, connect.WithReadMaxBytes(maxResponseBytes)),
			request: cloudledgerv1connect.NewRequestServiceClient(hc, u, connect.WithReadMaxBytes(maxResponseBytes)),
			finding: cloudledgerv1connect.NewFindingServiceClient(hc, u, connect.WithReadMaxBytes(maxResponseBytes)),
			eval:    cloudledgerv1connect.NewEvaluationServiceClient(hc, u, connect.WithReadMaxBytes(maxResponseBytes)),
		})
	}
	return c
}

// newHTTPClient speaks HTTP/1.1 (HTTP/2 over TLS when a URL is https). It has no overall
// Client.Timeout, since a ValidateImport stream of a big file runs for long: every call has
// its own deadline, and the transport bounds each step of a connection.
func newHTTPClient(timeout time.Duration, tc *tls.Config) *http.Client {
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:       tc,
		ForceAttemptHTTP2:     true,
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: min(timeout, maxDialTimeout), KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   min(timeout, maxDialTimeout),
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   4,
	}}
}

// parseServers splits a comma-separated list of node URLs; "host:port" means http://host:port.
func parseServers(s string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "://") {
			part = "http://" + part
		}
		u, err := url.Parse(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not a URL: %v", part, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%q is not an http:// or https:// URL of a node", part)
		}
		out = append(out, strings.TrimRight(part, "/"))
	}
	if len(out) == 0 {
		return nil, errors.New("no server URL given")
	}
	return out, nil
}

// authorize sets the headers every call carries.
func (c *client) authorize(h http.Header) {
	if c.token != "" {
		h.Set("Authorization", "Bearer "+c.token)
	}
	if c.stale {
		h.Set(staleHeader, "true")
	}
}

// callError is a failed call with the node it went to.
type callError struct {
	url   string
	err   error
	write bool
	after time.Duration // the call's time limit
	// uncertain: this or an earlier attempt of the same write may have been applied.
	uncertain bool
}

func (e *callError) Error() string { return e.url + ": " + e.err.Error() }
func (e *callError) Unwrap() error { return e.err }

// do runs call against the current node and, after a failure that may be transient, against
// the next ones, as p allows. call must only return connect errors for failed calls: any
// other error ends the retries at once.
func (c *client) do(ctx context.Context, p retryPolicy, what string, call func(ctx context.Context, ep *endpoint) error) error {
	start := time.Now()
	backoff := initialBackoff
	uncertain := false
	for attempt := 1; ; attempt++ {
		ep := &c.endpoints[c.cur]
		callCtx, cancel := ctx, context.CancelFunc(func() {})
		if !p.selfTimed {
			callCtx, cancel = context.WithTimeout(ctx, c.timeout)
		}
		err := call(callCtx, ep)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		uncertain = uncertain || outcomeUnknown(err)
		err = &callError{url: ep.url, err: err, write: p.write, after: c.timeout, uncertain: uncertain}
		if !retryable(err) {
			return err
		}
		c.cur = (c.cur + 1) % len(c.endpoints)
		wait := time.Duration(0)
		if attempt%len(c.endpoints) == 0 { // every node tried once more: back off
			wait = backoff
			backoff = min(2*backoff, maxBackoff)
		}
		if p.budget == 0 {
			if attempt >= len(c.endpoints) {
				return err
			}
		} else if time.Since(start)+wait > p.budget {
			return err
		}
		c.noteRetry(what, err)
		if err := c.sleep(ctx, wait); err != nil {
			return err
		}
		c.retries++
	}
}

// noteRetry says on stderr that a call is retried: the first retry of a call, then at most
// one note every retryNoteInterval. A note is not a failure line: it does not start with
// "ledgerctl:".
func (c *client) noteRetry(what string, err error) {
	if c.log == nil {
		return
	}
	if what == c.lastNote && time.Since(c.lastNoteAt) < retryNoteInterval {
		return
	}
	c.lastNote, c.lastNoteAt = what, time.Now()
	ce := callFailure(err)
	fmt.Fprintf(c.log, "retrying %s on %s (%s: %s)\n", what, c.endpoints[c.cur].url, ce.code, oneLine(ce.message))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retryable says whether a failed call may succeed on another try or another node: the
// node was unreachable, had no leader, timed out, or lost the outcome of a write. A ledger
// decision (any other ErrorDetail code) is final.
func retryable(err error) bool { return importrun.Retryable(err) }

// detailOf returns the ErrorDetail a CloudLedger node attaches to every failed call.
func detailOf(ce *connect.Error) *v1.ErrorDetail {
	if d := detailsOf(ce); len(d) > 0 {
		return d[0]
	}
	return nil
}

// detailsOf returns every ErrorDetail of a failed call (a refused invoice has one per line).
func detailsOf(ce *connect.Error) []*v1.ErrorDetail {
	var out []*v1.ErrorDetail
	for _, d := range ce.Details() {
		v, err := d.Value()
		if err != nil {
			continue
		}
		if ed, ok := v.(*v1.ErrorDetail); ok {
			out = append(out, ed)
		}
	}
	return out
}

// callFailure turns a failed call into the CLI's failure, with the ledger's code when the
// node sent one and a code of ours for failures around the ledger; nil when err is not a
// failed call. A write that failed for want of a node after an earlier attempt of it may
// have been applied is an unknown outcome.
func callFailure(err error) *cliError {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return nil
	}
	var call *callError
	errors.As(err, &call)
	out := connectFailure(ce, call)
	if call != nil && call.write && call.uncertain && (out.code == codeUnavailable || out.code == codeInternal) {
		out.code = codeUnknownOutcome
		out.message += "; an earlier attempt got no answer, so the change may or may not have been applied"
	}
	return out
}

func connectFailure(ce *connect.Error, call *callError) *cliError {
	if d := detailOf(ce); d != nil && d.GetCode() != "" {
		return &cliError{code: d.GetCode(), field: d.GetField(), message: d.GetMessage(), exit: exitFailure}
	}
	msg := ce.Message()
	if msg == "" {
		msg = ce.Code().String()
	}
	code := ce.Code().String()
	switch ce.Code() {
	case connect.CodeUnauthenticated:
		code = codeUnauthenticated
	case connect.CodeResourceExhausted:
		code = codeRequestTooLarge
	case connect.CodeUnavailable:
		code = codeUnavailable
	case connect.CodeAborted:
		code = codeUnknownOutcome
	case connect.CodeDeadlineExceeded:
		code = codeUnavailable
		if call != nil {
			msg = fmt.Sprintf("no answer within %s", call.after)
			if call.write {
				code = codeUnknownOutcome
				msg += "; the change may or may not have been applied"
			}
		}
	case connect.CodeInternal, connect.CodeUnknown:
		code = codeInternal
	}
	if call != nil {
		msg = call.url + ": " + msg
	}
	return &cliError{code: code, message: msg, exit: exitFailure}
}

// outcomeUnknown says whether a failed write may have been applied all the same: the node
// did not say it refused it (timeout, lost leadership, a broken connection).
func outcomeUnknown(err error) bool {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return false
	}
	if d := detailOf(ce); d != nil {
		return d.GetCode() == codeUnknownOutcome
	}
	switch ce.Code() {
	case connect.CodeDeadlineExceeded, connect.CodeAborted, connect.CodeUnknown, connect.CodeInternal, connect.CodeCanceled:
		return true
	}
	return false
}

// rpc is the shape of every unary method of the generated clients.
type rpc[Req, Res any] func(context.Context, *connect.Request[Req]) (*connect.Response[Res], error)

// unary calls one unary method, picked from the current node's clients, under policy p.
// call connects (once per run) and makes one unary call: the usual body of a command.
func call[Req, Res any](ctx context.Context, g *globals, p retryPolicy, what string, msg *Req, pick func(*endpoint) rpc[Req, Res]) (*Res, error) {
	c, err := g.conn()
	if err != nil {
		return nil, err
	}
	return unary(ctx, c, p, what, msg, pick)
}

func unary[Req, Res any](ctx context.Context, c *client, p retryPolicy, what string, msg *Req, pick func(*endpoint) rpc[Req, Res]) (*Res, error) {
	var out *Res
	err := c.do(ctx, p, what, func(ctx context.Context, ep *endpoint) error {
		req := connect.NewRequest(msg)
		c.authorize(req.Header())
		res, err := pick(ep)(ctx, req)
		if err != nil {
			return err
		}
		out = res.Msg
		return nil
	})
	return out, err
}

// submit applies cmds atomically, retrying under p with the same idempotency keys.
func (c *client) submit(ctx context.Context, p retryPolicy, what string, cmds []*v1.Command) (*v1.SubmitResponse, error) {
	return unary(ctx, c, p, what, &v1.SubmitRequest{Commands: cmds},
		func(ep *endpoint) rpc[v1.SubmitRequest, v1.SubmitResponse] { return ep.ledger.Submit })
}

// newKey returns a fresh idempotency key for one invocation of a write command:
// "ctl/<noun>/<32 hex digits>". Retries of that invocation reuse it.
func newKey(noun string) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error()) // never happens on a supported OS
	}
	return "ctl/" + noun + "/" + hex.EncodeToString(b[:])
}

// keyFor is --key when given, else a fresh key for this invocation.
func (g *globals) keyFor(noun string) string {
	if g.key != "" {
		return g.key
	}
	return newKey(noun)
}

// submitOne applies one keyed command of a write command line and returns its result.
func (g *globals) submitOne(ctx context.Context, what string, cmd *v1.Command) (*v1.ItemResult, error) {
	c, err := g.conn()
	if err != nil {
		return nil, err
	}
	res, err := c.submit(ctx, writePolicy, what, []*v1.Command{cmd})
	if err != nil {
		return nil, err
	}
	if len(res.GetResults()) != 1 {
		return nil, &cliError{code: codeInternal, message: fmt.Sprintf("the node returned %d results for 1 command", len(res.GetResults())), exit: exitFailure}
	}
	return res.GetResults()[0], nil
}

// resultText describes what a write did.
func resultText(l lang, r *v1.ItemResult) string {
	switch {
	case r.GetUnchanged():
		return l.m("未变更：台账已是此状态", "unchanged: the ledger already holds this")
	case r.GetDuplicate():
		return l.m(fmt.Sprintf("已记录过，条目 %d", r.GetSeq()), fmt.Sprintf("already recorded as line item %d", r.GetSeq()))
	}
	return l.m(fmt.Sprintf("已记录，条目 %d", r.GetSeq()), fmt.Sprintf("recorded as line item %d", r.GetSeq()))
}

// tlsClientConfig trusts the system roots and, with --ca, the CA of the nodes' certificates.
func tlsClientConfig(caPath string) (*tls.Config, error) {
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if caPath != "" {
		raw, err := os.ReadFile(caPath)
		if err != nil {
			return nil, err
		}
		if !roots.AppendCertsFromPEM(raw) {
			return nil, fmt.Errorf("%s holds no PEM certificate", caPath)
		}
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}, nil
}
