package server

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudledger/cloudledger/ledger"
)

// The rules gate (issue 23): a leader writes only a rules version every voter applies, so a
// rolling upgrade writes the old rules until the last voter runs the new binary. Each node
// advertises the newest version it applies on /healthz (rules=N) and asks the others every
// RulesProbeInterval — followers too, so that a new leader knows before its first proposal.
// A voter that has never answered does not hold the version back: if it is older and comes
// back, the first newer entry stops it by name (ledger.InvRulesVersionKnown) instead of
// letting it skip the entry, and the gate learns its version at the next probe.

// RulesProbeInterval is how often a node asks the other members which rules they apply.
const RulesProbeInterval = 2 * time.Second

type rulesGate struct {
	mu      sync.Mutex
	peers   map[string]uint8 // member id → the newest rules version it last advertised
	version atomic.Uint32    // what to propose now; 0 until the first round
}

// proposalRulesVersion is the rules version this node writes when it leads.
func (s *Server) proposalRulesVersion() uint8 {
	if v := s.gate.version.Load(); v != 0 {
		return uint8(v)
	}
	return ledger.MaxRulesVersion()
}

func (s *Server) rulesGateLoop(ctx context.Context) {
	tick := time.NewTicker(RulesProbeInterval)
	defer tick.Stop()
	for {
		s.probeRules(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// probeRules asks every other member for its rules version and recomputes the gate over
// the voters of the latest configuration.
func (s *Server) probeRules(ctx context.Context) {
	servers, err := s.node.Servers()
	if err != nil {
		return
	}
	var wg sync.WaitGroup
	for _, sv := range servers {
		if sv.ID == s.cfg.NodeID || sv.HTTPURL == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if v, ok := s.askRules(ctx, sv.HTTPURL); ok {
				s.gate.mu.Lock()
				if s.gate.peers == nil {
					s.gate.peers = map[string]uint8{}
				}
				s.gate.peers[sv.ID] = v
				s.gate.mu.Unlock()
			}
		}()
	}
	wg.Wait()
	v := ledger.MaxRulesVersion()
	s.gate.mu.Lock()
	for _, sv := range servers {
		if sv.Suffrage == "Nonvoter" {
			continue // a replica without a vote never holds the cluster back
		}
		if pv, ok := s.gate.peers[sv.ID]; ok && pv > 0 && pv < v {
			v = pv
		}
	}
	s.gate.mu.Unlock()
	if old := uint8(s.gate.version.Swap(uint32(v))); old != 0 && old != v {
		s.log.Info("rules version to write changed", "from", old, "to", v)
	}
}

// askRules reads rules=N from a member's /healthz; ok is false when it does not answer or
// does not say.
func (s *Server) askRules(ctx context.Context, url string) (uint8, bool) {
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(url, "/")+"/healthz", nil)
	if err != nil {
		return 0, false
	}
	res, err := s.probeClient.Do(req)
	if err != nil {
		return 0, false
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
	if res.StatusCode != http.StatusOK {
		return 0, false
	}
	for _, f := range strings.Fields(string(body)) {
		if v, ok := strings.CutPrefix(f, "rules="); ok {
			n, err := strconv.ParseUint(v, 10, 8)
			return uint8(n), err == nil && n > 0
		}
	}
	return 0, false
}
