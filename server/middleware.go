package server

import (
	"compress/gzip"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/cloudledger/cloudledger/errcode"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
)

// Limits of the API (TIGER_STYLE: named, tested at the boundary).
const (
	MaxUnaryBodyBytes   = 32 << 20 // one request body, e.g. a Submit of 1,000 events is ~0.3 MiB
	MaxMessageBytes     = 32 << 20 // one message of the ValidateImport stream
	StaleHeader         = "Cloudledger-Stale"
	forwardedHeader     = "Cloudledger-Forwarded-By"
	streamingValidation = cloudledgerv1connect.LedgerServiceValidateImportProcedure
)

func (s *Server) handlerOptions() []connect.HandlerOption {
	return []connect.HandlerOption{
		connect.WithReadMaxBytes(MaxMessageBytes),
		connect.WithCompression("gzip", s.newDecompressor, func() connect.Compressor { return gzip.NewWriter(io.Discard) }),
		// Gzip only what is worth it: compressing every small reply cost a fifth of the
		// leader's CPU under 64 concurrent writers.
		connect.WithCompressMinBytes(8 << 10),
		connect.WithCodec(strictJSONCodec{"json"}),
		connect.WithCodec(strictJSONCodec{"json; charset=utf-8"}),
		connect.WithInterceptors(authInterceptor{s}),
	}
}

var errorWriter = connect.NewErrorWriter()

func writeErr(w http.ResponseWriter, r *http.Request, err error) {
	_ = errorWriter.Write(w, r, toConnect(err))
}

// leaderOnly says whether a procedure must run on the leader: writes always, reads unless
// the caller asked for a stale read. Cluster status is always local.
func leaderOnly(r *http.Request) bool {
	switch rules[r.URL.Path].placement {
	case write:
		return true
	case local:
		return false
	}
	return !isStale(r)
}

func isStale(r *http.Request) bool { return staleAsked(r.Header) }

// staleAsked is the one reading of Cloudledger-Stale: forwarding and the read barrier must
// agree on it (they disagreed on "TRUE": served here, yet waiting for the leader).
func staleAsked(h interface{ Get(string) string }) bool {
	v := strings.ToLower(strings.TrimSpace(h.Get(StaleHeader)))
	return v == "true" || v == "1" || v == "yes"
}

// withForwarding sends a request that needs the leader to the leader's API, unchanged, so a
// client may talk to any node.
func (s *Server) withForwarding(next http.Handler) http.Handler {
	var transport http.RoundTripper = &http.Transport{
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		Protocols:           h2cOnly(),
	}
	if s.apiTLS != nil {
		transport = s.clientTransport() // the leader's API is HTTPS too
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/cloudledger.") || !leaderOnly(r) || s.node.IsLeader() {
			next.ServeHTTP(w, r)
			return
		}
		if r.Header.Get(forwardedHeader) != "" {
			writeErr(w, r, errcode.Errf(errcode.Unavailable, "", "not the leader, and the request was already forwarded once"))
			return
		}
		leaderID, _, leaderURL := s.node.Leader()
		if leaderURL == "" {
			writeErr(w, r, errcode.Errf(errcode.Unavailable, "", "no leader known right now; retry"))
			return
		}
		target, err := url.Parse(leaderURL)
		if err != nil {
			writeErr(w, r, errcode.Errf(errcode.Internal, "", "leader %s has a bad URL %q", leaderID, leaderURL))
			return
		}
		proxy := &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(target)
				pr.Out.Header.Set(forwardedHeader, s.cfg.NodeID)
				// The leader authenticates and authorizes the call again; what it learns
				// from us is only the caller's address, signed.
				addr := s.callerAddress(r.Header, r.RemoteAddr)
				pr.Out.Header.Set(forwardedForHeader, addr)
				pr.Out.Header.Set(forwardedMACHeader, hex.EncodeToString(s.forwardMAC(addr)))
			},
			Transport:     transport,
			FlushInterval: -1,
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				writeErr(w, r, errcode.Errf(errcode.Unavailable, "", "forwarding to leader %s: %v", leaderID, err))
			},
		}
		proxy.ServeHTTP(w, r)
	})
}

func h2cOnly() *http.Protocols {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	return p
}
