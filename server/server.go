package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/kafkabridge"
	"github.com/cloudledger/cloudledger/ledger"
	"github.com/cloudledger/cloudledger/raftnode"
	"github.com/cloudledger/cloudledger/settlement"
)

// Config is what ledgerd's flags set.
type Config struct {
	DataDir       string
	HTTPAddr      string // listen address of the API
	HTTPAdvertise string // URL other nodes use to reach this API; default http://HTTPAddr
	RaftAddr      string // listen address of the Raft transport
	RaftAdvertise string
	NodeID        string
	Join          string // API URL of any cluster member; empty = bootstrap or restart
	Token         string // admin token to install at bootstrap / to authenticate a join; empty = generate

	TickInterval      time.Duration // how often the leader checks for due expiries; default 1s
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	TrailingLogs      uint64
	FastTimeouts      bool // test clusters on loopback: sub-second elections
	Logger            *slog.Logger
	Now               func() time.Time    // the leader's clock; default time.Now
	Kafka             *kafkabridge.Config // nil: no Kafka (the embedded default)
}

// Server is a running node.
type Server struct {
	cfg      Config
	log      *slog.Logger
	ledger   *ledger.Ledger
	node     *raftnode.Node
	prop     *proposer
	bridge   *kafkabridge.Bridge // nil without Kafka
	http     *http.Server
	listener net.Listener
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	closeMu  sync.Mutex
	closed   bool
	// lastImport is when an import last validated or submitted a batch (Unix nanoseconds);
	// ticks wait while one is running (see leaderLoop).
	lastImport atomic.Int64
	// URL is the base URL this node serves the API on.
	URL string
}

// TokenFile is where the admin token is written inside the data dir.
const TokenFile = "admin.token"

// Start opens the state, starts Raft and serves the API. It returns once the API listens.
func Start(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TickInterval == 0 {
		cfg.TickInterval = time.Second
	}
	if cfg.NodeID == "" {
		cfg.NodeID = "node1"
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", cfg.HTTPAddr, err)
	}
	if cfg.HTTPAdvertise == "" {
		cfg.HTTPAdvertise = "http://" + ln.Addr().String()
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("node", cfg.NodeID), listener: ln, URL: cfg.HTTPAdvertise}

	fresh := !raftStateExists(cfg.DataDir)
	token, err := s.prepareToken(fresh)
	if err != nil {
		ln.Close()
		return nil, err
	}
	s.ledger, err = ledger.Open(filepath.Join(cfg.DataDir, "ledger.db"))
	if err != nil {
		ln.Close()
		return nil, err
	}
	rc := raftnode.Config{
		NodeID: cfg.NodeID, DataDir: cfg.DataDir, RaftBind: cfg.RaftAddr, RaftAdvertise: cfg.RaftAdvertise,
		HTTPURL: cfg.HTTPAdvertise, Bootstrap: cfg.Join == "",
		SnapshotThreshold: cfg.SnapshotThreshold, SnapshotInterval: cfg.SnapshotInterval, TrailingLogs: cfg.TrailingLogs,
		Logger: hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: os.Stderr}),
	}
	if cfg.FastTimeouts {
		rc.HeartbeatTimeout, rc.ElectionTimeout, rc.LeaderLeaseTimeout, rc.CommitTimeout = 300*time.Millisecond, 300*time.Millisecond, 200*time.Millisecond, 5*time.Millisecond
	}
	s.node, err = raftnode.Open(rc, fsm{l: s.ledger, log: s.log})
	if err != nil {
		s.ledger.Close()
		ln.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.prop = newProposer(s.node, cfg.Now)
	if cfg.Kafka != nil {
		s.bridge = kafkabridge.New(*cfg.Kafka, kafkaNode{s}, s.ledger) // before the API serves /kafka
	}
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.prop.run(ctx) }()

	s.http = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true) // h2c, so gRPC clients work without TLS
	s.http.Protocols = p
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "err", err)
		}
	}()
	if cfg.Join == "" {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.installTokenLoop(ctx, token) }()
	}
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.leaderLoop(ctx) }()
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.flushLoop(ctx) }()
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.deadlineLoop(ctx) }()
	if s.bridge != nil {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.bridge.Run(ctx) }()
	}

	if cfg.Join != "" && fresh {
		if err := s.join(ctx, cfg.Join, token); err != nil {
			s.Close()
			return nil, err
		}
	}
	s.log.Info("ledger node started", "api", s.URL, "raft", cfg.RaftAddr, "data_dir", cfg.DataDir)
	return s, nil
}

func raftStateExists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "raft", "raft.db"))
	return err == nil
}

// prepareToken returns the admin token this node installs (bootstrap) or presents (join).
// On first start it is written to DIR/admin.token with mode 0600.
func (s *Server) prepareToken(fresh bool) (string, error) {
	path := filepath.Join(s.cfg.DataDir, TokenFile)
	if raw, err := os.ReadFile(path); err == nil {
		tok := strings.TrimSpace(string(raw))
		if s.cfg.Token != "" && s.cfg.Token != tok {
			s.log.Warn("--token differs from the token file; the ledger keeps the token it was bootstrapped with", "file", path)
		}
		return tok, nil
	}
	tok := s.cfg.Token
	if tok == "" {
		if s.cfg.Join != "" {
			return "", fmt.Errorf("joining a cluster needs the cluster's admin token (--token or CLOUDLEDGER_TOKEN)")
		}
		var b [24]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		tok = hex.EncodeToString(b[:])
	}
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", err
	}
	s.log.Info("admin token written", "path", path)
	return tok, nil
}

func tokenHash(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// installTokenLoop installs the admin token on a cluster bootstrapped by this node as soon
// as it leads, independent of the tick interval (with --tick-interval 1h the API would
// otherwise refuse every call for an hour). It ends once the ledger holds a token.
func (s *Server) installTokenLoop(ctx context.Context, token string) {
	t := time.NewTicker(tokenInstallPoll)
	defer t.Stop()
	for s.ledger.AdminTokenSHA256() == "" {
		if s.node.IsLeader() {
			req := ledger.Request{Actor: "system", Commands: []ledger.Command{{Key: "admin-token/bootstrap", Body: &ledger.SetAdminToken{TokenSHA256: tokenHash(token)}}}}
			if _, _, err := s.prop.submit(ctx, req); err != nil {
				s.log.Warn("installing admin token", "err", err)
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// tokenInstallPoll is how often a bootstrapping node checks whether it leads yet.
const tokenInstallPoll = 50 * time.Millisecond

// leaderLoop runs on every node and acts while this node leads: it proposes a tick whenever
// a resource's expiry has passed.
func (s *Server) leaderLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.TickInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !s.node.IsLeader() {
			continue
		}
		// An import of history sent in several requests must not see its resources expire
		// between them (an expand dated before the expiry would then be refused), so expiry
		// ticks wait until imports have been quiet for ImportQuietPeriod.
		if time.Since(time.Unix(0, s.lastImport.Load())) < ImportQuietPeriod {
			continue
		}
		if next := s.ledger.NextExpiry(); !next.IsZero() && !next.After(s.cfg.Now()) {
			if _, _, err := s.prop.submit(ctx, ledger.Request{Actor: "system", Commands: []ledger.Command{{Body: &ledger.Tick{}}}}); err != nil {
				s.log.Warn("expiry tick", "err", err)
			}
		}
	}
}

// ImportQuietPeriod is how long expiry ticks wait after the last import activity.
const ImportQuietPeriod = 30 * time.Second

// markImport notes import activity (a validation, or a request of many commands).
func (s *Server) markImport() { s.lastImport.Store(time.Now().UnixNano()) }

// FlushInterval is how often applied line items are committed to the bbolt state file
// (one transaction and fsync for everything applied since the last flush; the Raft log
// already holds them durably).
const FlushInterval = 10 * time.Millisecond

func (s *Server) flushLoop(ctx context.Context) {
	t := time.NewTicker(FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.ledger.Flush()
		}
	}
}

// Close stops the node: API, proposer, Raft, state file.
func (s *Server) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.http.Shutdown(ctx)
	s.cancel()
	s.wg.Wait()
	err := s.node.Shutdown()
	if cerr := s.ledger.Close(); err == nil {
		err = cerr
	}
	return err
}

// Ledger exposes the state machine (tests, benchmarks).
func (s *Server) Ledger() *ledger.Ledger { return s.ledger }

// Node exposes the Raft node (tests, benchmarks).
func (s *Server) Node() *raftnode.Node { return s.node }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	opts := handlerOptions()
	path, h := cloudledgerv1connect.NewLedgerServiceHandler(&ledgerService{s: s}, opts...)
	mux.Handle(path, h)
	path, h = cloudledgerv1connect.NewClusterServiceHandler(&clusterService{s: s}, opts...)
	mux.Handle(path, h)
	mux.HandleFunc("/kafka", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		rep := kafkabridge.Report{}
		if s.bridge != nil {
			rep = s.bridge.Report()
		}
		_ = json.NewEncoder(w).Encode(rep)
	})
	mux.HandleFunc("POST /kafka/skip", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Partition int   `json:"partition"`
			To        int64 `json:"to"`
		}
		if err := s.checkToken(r); err != nil {
			writeErr(w, r, err)
			return
		}
		switch {
		case s.bridge == nil:
			http.Error(w, "kafka is not configured", http.StatusNotFound)
		case !s.node.IsLeader():
			_, _, leaderURL := s.node.Leader()
			http.Error(w, "not the leader; ask "+leaderURL, http.StatusConflict)
		case json.NewDecoder(io.LimitReader(r.Body, 1<<10)).Decode(&req) != nil || req.Partition < 0 || req.To < 0:
			http.Error(w, `want {"partition": N, "to": OFFSET}`, http.StatusBadRequest)
		default:
			if err := s.bridge.Skip(r.Context(), req.Partition, req.To); err != nil {
				http.Error(w, err.Error(), http.StatusConflict)
				return
			}
			_ = json.NewEncoder(w).Encode(s.bridge.Report())
		}
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		leaderID, _, _ := s.node.Leader()
		fmt.Fprintf(w, "ok node=%s leader=%s applied=%d\n", s.cfg.NodeID, leaderID, s.node.AppliedIndex())
	})
	return s.withLimits(s.withAuth(s.withForwarding(mux)))
}

// DeadlineCheckInterval is how often the leader checks the settlement deadline.
const DeadlineCheckInterval = time.Hour

// deadlineLoop logs a warning on the leader while a settlement year has fewer than
// settlement.WarnWorkingDays working days left before 30 September and is not submitted
// (the same warning `settle status` shows).
func (s *Server) deadlineLoop(ctx context.Context) {
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		t.Reset(DeadlineCheckInterval)
		if !s.node.IsLeader() {
			continue
		}
		data, err := s.ledger.View(ledger.ViewFilter{MasterDataOnly: true})
		if err != nil || data.Clock.IsZero() {
			continue
		}
		for _, year := range deadlineYears(data) {
			st, err := settlement.YearStatus(data, s.ledger.Calendar(), year, false)
			if err != nil {
				s.log.Warn("settlement deadline check", "year", year, "err", err)
				continue
			}
			if st.Warning != "" {
				s.log.Warn("settlement deadline", "year", year, "state", st.State, "working_days_left", st.WorkingDaysLeft, "warning", st.Warning)
			}
		}
	}
}

// deadlineYears are the settlement years whose deadline the leader watches: the year of the
// ledger's clock, and last year's while it has been run but not submitted (an overdue year
// stays overdue after New Year) or while its deadline is still ahead (a window ending in
// September or later is due the next year).
func deadlineYears(d *ledger.View) []int {
	year := d.Clock.Year()
	last := d.Settlements[year-1]
	if last != nil && (last.State == ledger.SettlementSubmitted || last.State == ledger.SettlementPaid) {
		return []int{year}
	}
	_, to := settlement.Window(d, year-1)
	if last != nil || !settlement.Deadline(to).Before(calendar.DateOf(d.Clock)) {
		return []int{year - 1, year}
	}
	return []int{year}
}

// kafkaNode gives the Kafka bridge leadership and one-entry proposals.
type kafkaNode struct{ s *Server }

func (k kafkaNode) IsLeader() bool { return k.s.node.IsLeader() }

func (k kafkaNode) Ready(ctx context.Context) error { return k.s.node.LinearizableRead(ctx) }

func (k kafkaNode) Propose(ctx context.Context, reqs []ledger.Request) ([]ledger.RequestResult, error) {
	res, _, err := k.s.prop.apply(ctx, &ledger.Proposal{RecordedAt: k.s.cfg.Now(), Requests: reqs})
	if err != nil {
		return nil, err
	}
	return res.Requests, nil
}
