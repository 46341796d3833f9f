package testcluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
)

// Client submits to any of several nodes and retries a request after an unknown outcome
// (leader lost, node killed, timeout) with the same idempotency keys, as ledgerctl does.
type Client struct {
	urls    []string
	clients []cloudledgerv1connect.LedgerServiceClient
	next    atomic.Int64
	// Retries counts re-sent requests (for test assertions and benchmark reports).
	Retries atomic.Int64
}

// NewClient returns a client over the given node URLs.
func NewClient(hc *http.Client, urls ...string) *Client {
	c := &Client{urls: urls}
	for _, u := range urls {
		c.clients = append(c.clients, cloudledgerv1connect.NewLedgerServiceClient(hc, u))
	}
	return c
}

// Ledger returns the client of node i.
func (c *Client) Ledger(i int) cloudledgerv1connect.LedgerServiceClient { return c.clients[i] }

// retryable says whether the outcome of a failed call is unknown or transient.
func retryable(err error) bool {
	switch connect.CodeOf(err) {
	case connect.CodeUnavailable, connect.CodeDeadlineExceeded, connect.CodeAborted, connect.CodeUnknown, connect.CodeInternal, connect.CodeCanceled:
		return true
	}
	return false
}

// Submit sends one request until it has a definite answer or ctx ends.
func (c *Client) Submit(ctx context.Context, cmds []*v1.Command) (*v1.SubmitResponse, error) {
	var last error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			c.Retries.Add(1)
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("%w (last error: %v)", ctx.Err(), last)
			case <-time.After(min(time.Duration(attempt)*50*time.Millisecond, time.Second)):
			}
		}
		i := int(c.next.Load()) % len(c.clients)
		req := connect.NewRequest(&v1.SubmitRequest{Commands: cmds})
		req.Header().Set("Authorization", "Bearer "+adminToken(c.urls[i]))
		callCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		res, err := c.clients[i].Submit(callCtx, req)
		cancel()
		if err == nil {
			return res.Msg, nil
		}
		last = err
		if !retryable(err) {
			return nil, err
		}
		c.next.Add(1) // try the next node
		if errors.Is(ctx.Err(), context.Canceled) {
			return nil, err
		}
	}
}

// Read calls fn with a node's client and the auth header set; stale asks that node to
// answer from its own state.
//
// The credential is the cluster's authority's: the bootstrap token, or authority1's once a
// test made the staff (RoleToken), which retires the bootstrap credential. Tests run their
// clusters one after the other, so the staff of the one cluster alive is meant.
func Authorize[T any](req *connect.Request[T], stale bool) *connect.Request[T] {
	req.Header().Set("Authorization", "Bearer "+liveAdminToken())
	if stale {
		req.Header().Set("Cloudledger-Stale", "true")
	}
	return req
}

// RoleToken returns a token of a program account of the role (department or provider
// scope the roles of those names), creating the account as 三员分立 wants it (SPEC:
// Access): the first call on a cluster makes the staff — security1 and authority1, with
// the bootstrap credential, which is retired from then on (use AuthorityToken instead) —
// and a privileged account is confirmed by a second person before security1 issues its
// token. Asking again for an account returns the same token.
func RoleToken(tb interface {
	Helper()
	Fatalf(string, ...any)
}, hc *http.Client, url, id, role, scope string) string {
	tb.Helper()
	return staffOf(tb, hc, url).token(tb, id, role, scope)
}

// AuthorityToken is the token of the staff's authority1 (making the staff if needed): the
// cluster's authority once the bootstrap credential is retired.
func AuthorityToken(tb interface {
	Helper()
	Fatalf(string, ...any)
}, hc *http.Client, url string) string {
	tb.Helper()
	return staffOf(tb, hc, url).tokens["authority1"]
}
