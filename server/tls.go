package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"time"
)

// loadAPITLS reads the API's certificate (--tls-cert, --tls-key) and, with --tls-client-ca,
// the CA whose client certificates the API requires. nil: plain HTTP.
func (s *Server) loadAPITLS() (*tls.Config, error) {
	c := s.cfg
	if c.TLSCert == "" && c.TLSKey == "" {
		if c.TLSClientCA != "" {
			return nil, fmt.Errorf("--tls-client-ca needs --tls-cert and --tls-key")
		}
		return nil, nil
	}
	if c.TLSCert == "" || c.TLSKey == "" {
		return nil, fmt.Errorf("--tls-cert and --tls-key go together")
	}
	pair, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("API TLS: %w", err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}, NextProtos: []string{"h2", "http/1.1"}}
	if c.TLSClientCA != "" {
		pool, err := readPool(c.TLSClientCA)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// clientHTTP is the client this node calls other nodes' APIs with (joining, forwarding):
// HTTPS verified with --tls-ca, the Raft CA and the system roots; h2c for plain URLs.
func (s *Server) clientHTTP(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: s.clientTransport()}
}

func (s *Server) clientTransport() *http.Transport {
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if s.cfg.TLSCA != "" {
		if raw, err := os.ReadFile(s.cfg.TLSCA); err == nil {
			roots.AppendCertsFromPEM(raw)
		} else {
			s.log.Warn("reading --tls-ca", "err", err)
		}
	}
	if s.raftCA != nil {
		roots.AddCert(s.raftCA.Cert)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
	if s.apiTLS != nil && s.cfg.TLSClientCA != "" {
		tc.Certificates = s.apiTLS.Certificates // the other nodes require a client certificate too
	}
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetHTTP2(true)
	p.SetUnencryptedHTTP2(true)
	return &http.Transport{TLSClientConfig: tc, MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second, Protocols: p, ForceAttemptHTTP2: true}
}

func readPool(path string) (*x509.CertPool, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(raw) {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return pool, nil
}
