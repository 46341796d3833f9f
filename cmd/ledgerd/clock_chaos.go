//go:build chaos

package main

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cloudledger/cloudledger/server"
)

// The fault-injection suite's clock (test/chaos; built only with -tags chaos, never by make
// build): the node's clock is the wall clock plus the duration in DIR/chaos-clock-offset,
// re-read at most every 100 ms, so the suite can jump a leader's clock back or forward.
func init() {
	chaosHooks = append(chaosHooks, func(cfg *server.Config) {
		path := filepath.Join(cfg.DataDir, "chaos-clock-offset")
		var mu sync.Mutex
		var offset time.Duration
		var readAt time.Time
		cfg.Now = func() time.Time {
			now := time.Now()
			mu.Lock()
			defer mu.Unlock()
			if now.Sub(readAt) > 100*time.Millisecond {
				readAt, offset = now, 0
				if raw, err := os.ReadFile(path); err == nil {
					if d, err := time.ParseDuration(strings.TrimSpace(string(raw))); err == nil {
						offset = d
					}
				}
			}
			return now.Add(offset)
		}
	})
}
