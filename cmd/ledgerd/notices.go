package main

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/cloudledger/cloudledger/notice"
	"github.com/cloudledger/cloudledger/server"
)

// noticeFlags are the optional webhook settings: without --notice-webhook notices stay in
// the outbox (and go to Kafka when it is configured).
type noticeFlags struct {
	url, secretFile       string
	timeout, base, maxGap time.Duration
	attempts              int
}

func (n *noticeFlags) register() {
	flag.StringVar(&n.url, "notice-webhook", "", "URL notices are POSTed to (signed, see the README); empty: no webhook")
	flag.StringVar(&n.secretFile, "notice-webhook-secret-file", "", "file holding the webhooks' HMAC-SHA256 key, the same on every node (required with --notice-webhook; never on the command line)")
	flag.DurationVar(&n.timeout, "notice-timeout", notice.DefaultTimeout, "how long one delivery attempt may take")
	flag.DurationVar(&n.base, "notice-retry-base", notice.DefaultRetryBase, "wait after a notice's first failed attempt; doubled after each")
	flag.DurationVar(&n.maxGap, "notice-retry-max", notice.DefaultRetryMax, "longest wait between attempts")
	flag.IntVar(&n.attempts, "notice-max-attempts", notice.DefaultMaxAttempts, "attempts before a notice goes to the dead-letter list")
}

func (n *noticeFlags) config(cfg *server.Config) error {
	if n.url == "" {
		return nil
	}
	u, err := url.Parse(n.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--notice-webhook: want an http(s) URL, not %q", n.url)
	}
	if u.User != nil {
		return fmt.Errorf("--notice-webhook: no credentials in the URL (they would be in the process list); the HMAC key is --notice-webhook-secret-file")
	}
	if n.secretFile == "" {
		return fmt.Errorf("--notice-webhook needs --notice-webhook-secret-file")
	}
	raw, err := os.ReadFile(n.secretFile)
	if err != nil {
		return fmt.Errorf("--notice-webhook-secret-file: %v", err)
	}
	secret := strings.TrimSpace(string(raw))
	if len(secret) < 16 {
		return fmt.Errorf("--notice-webhook-secret-file: the key must be at least 16 characters")
	}
	cfg.Notices = &notice.Config{URL: n.url, Secret: []byte(secret), Timeout: n.timeout, RetryBase: n.base, RetryMax: n.maxGap, MaxAttempts: n.attempts}
	return nil
}
