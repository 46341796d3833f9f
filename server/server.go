package server

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudledger/cloudledger/console"
	"github.com/cloudledger/cloudledger/errcode"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/gen/openapi"
	"github.com/cloudledger/cloudledger/internal/pki"
	"github.com/cloudledger/cloudledger/internal/ticket"
	"github.com/cloudledger/cloudledger/kafkabridge"
	"github.com/cloudledger/cloudledger/ledger"
	"github.com/cloudledger/cloudledger/notice"
	"github.com/cloudledger/cloudledger/raftnode"
	"github.com/cloudledger/cloudledger/rating"
)

// Config is what ledgerd's flags set.
type Config struct {
	DataDir       string
	HTTPAddr      string // listen address of the API
	HTTPAdvertise string // URL other nodes use to reach this API; default http://HTTPAddr
	RaftAddr      string // listen address of the Raft transport
	RaftAdvertise string
	NodeID        string
	Join          string // API URL of the member whose host made JoinTicket; empty = bootstrap or restart
	JoinTicket    string // the operator's join ticket (ledgerctl cluster add --data-dir … on that host)
	Token         string // admin token to install at bootstrap; empty = generate
	// Restore is a backup file to start a new cluster from (backup.go); the data directory
	// must be new.
	Restore string
	// RestoreExpectHead, with Restore, is the head hash the backup's chain must end in.
	RestoreExpectHead string
	// Scheduled backups (backup.go): every BackupInterval into BackupDir, the newest
	// BackupKeep kept; an empty BackupDir takes none.
	BackupDir      string
	BackupInterval time.Duration
	BackupKeep     int
	// AccessRetention: the leader archives access records older than this out of the live
	// state (leader.go); 0 keeps every record live. At least ledger.MinAccessRetention.
	AccessRetention time.Duration

	TickInterval      time.Duration // how often the leader checks for due expiries; default 1s
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	TrailingLogs      uint64
	FastTimeouts      bool // test clusters on loopback: sub-second elections
	Logger            *slog.Logger
	Now               func() time.Time    // the leader's clock; default time.Now
	Kafka             *kafkabridge.Config // nil: no Kafka (the embedded default)
	Notices           *notice.Config      // nil: no webhook (notices stay in the outbox, and go to Kafka if configured)
	Utilisation       *UtilisationConfig  // nil: no pull from Prometheus

	// Raft transport security (raft_tls.go): mutual TLS with the cluster's own CA unless
	// RaftInsecure, or the operator's PKI when RaftCA, RaftCert and RaftKey are set.
	RaftInsecure              bool
	RaftCA, RaftCert, RaftKey string

	// API TLS (tls.go): TLSCert and TLSKey serve the API over TLS only; TLSClientCA also
	// requires a client certificate of that CA; TLSCA verifies other nodes' API
	// certificates (joining, forwarding to the leader), with the system roots and the Raft CA.
	TLSCert, TLSKey, TLSClientCA, TLSCA string
}

// stateFile is the ledger's state file in a data directory.
func stateFile(dataDir string) string { return filepath.Join(dataDir, "ledger.db") }

// Server is a running node.
type Server struct {
	cfg      Config
	log      *slog.Logger
	ledger   *ledger.Ledger
	kept     *rating.Kept // the charges kept current (kept.go)
	node     *raftnode.Node
	prop     *proposer
	bridge   *kafkabridge.Bridge // nil without Kafka
	notices  *notice.Deliverer   // nil without a webhook
	http     *http.Server
	listener net.Listener
	raftCA   *pki.CA // the Raft CA; its Key is set when this node can sign joining nodes' certificates
	// raftCertPEM is this node's Raft certificate (named when it asks to be admitted).
	raftCertPEM []byte
	// raftKey is this node's Raft key: it signs what this node asks the leader on the
	// members' internal channel (nil without Raft TLS).
	raftKey crypto.Signer
	// membershipClient carries membership changes to the leader (an admission waits for a
	// Raft configuration change).
	membershipClient *http.Client
	seenChanges      nonceCache   // the leader's memory of signed membership changes
	gate             rulesGate    // the rules version every voter applies (rules_gate.go)
	tickets          *ticket.Book // the operator's membership tickets made on this host
	guard            *guard       // the bounds before authentication (signin.go)
	// consolePages is the web console, for the error pages the limits answer it with.
	consolePages *console.Console
	apiTLS       *tls.Config
	trail        *trailRecorder // the access trail's collection (trail.go)
	// pulledThrough is the last day the leader's Prometheus pull has passed (pulled, or
	// found empty): findings wait for it (utilisation_pull.go).
	pulledThrough pulledDay
	metrics       *nodeMetrics // /metrics (metrics.go)
	// trailCancel stops the trail's delivery first at Close, trailDone says it stopped.
	trailCancel context.CancelFunc
	trailDone   chan struct{}
	inFlight    inFlight // request bytes held by all requests (limits.go)
	// probeClient calls the other members' /healthz (cluster status).
	probeClient *http.Client
	cancel      context.CancelFunc
	wg          sync.WaitGroup
	// backupsRunning counts the backups this node is taking (backup.go).
	backupsRunning atomic.Int32
	// lastArchiveCheck is when the leader last looked for access records to archive.
	lastArchiveCheck time.Time
	closeMu          sync.Mutex
	closed           bool
	// URL is the base URL this node serves the API on.
	URL string
}

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
	s := &Server{cfg: cfg, log: cfg.Logger.With("node", cfg.NodeID), tickets: ticket.Open(cfg.DataDir), guard: newGuard(), kept: rating.NewKept()}
	var err error
	if s.apiTLS, err = s.loadAPITLS(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", cfg.HTTPAddr, err)
	}
	scheme := "http://"
	if s.apiTLS != nil {
		scheme = "https://"
	}
	if cfg.HTTPAdvertise == "" {
		cfg.HTTPAdvertise = scheme + ln.Addr().String()
	}
	s.cfg, s.listener, s.URL = cfg, ln, cfg.HTTPAdvertise

	fresh := !raftStateExists(cfg.DataDir)
	if cfg.AccessRetention != 0 && cfg.AccessRetention < ledger.MinAccessRetention {
		ln.Close()
		return nil, fmt.Errorf("access records are kept at least 180 days (SPEC: Access), not %s", cfg.AccessRetention)
	}
	if cfg.BackupDir != "" && cfg.BackupInterval <= 0 {
		ln.Close()
		return nil, fmt.Errorf("--backup-interval must be positive, not %s", cfg.BackupInterval)
	}
	if cfg.Restore != "" && !fresh {
		ln.Close()
		return nil, fmt.Errorf("--restore starts a new cluster in a new data directory; %s holds one already", cfg.DataDir)
	}
	token, err := s.prepareToken(fresh)
	if err != nil {
		ln.Close()
		return nil, err
	}
	if cfg.Restore != "" {
		if err := s.restoreBackup(token); err != nil {
			ln.Close()
			return nil, err
		}
	}
	opening := time.Now()
	s.ledger, err = ledger.Open(stateFile(cfg.DataDir))
	if err != nil {
		ln.Close()
		return nil, err
	}
	s.log.Info("state file opened", "line_items", s.ledger.Head().Seq, "took", time.Since(opening).Round(time.Millisecond))
	switch c := s.ledger.Compacted(); {
	case c.Err != nil:
		s.log.Warn("state file not compacted; it keeps its free pages", "bytes", c.Before, "err", c.Err)
	case c.Before > 0:
		s.log.Info("state file compacted", "bytes_before", c.Before, "bytes_after", c.After, "took", c.Took)
	}
	joinCtx, joinCancel := context.WithTimeout(context.Background(), 2*time.Minute)
	raftTLS, err := s.raftTLS(joinCtx, fresh)
	joinCancel()
	if err != nil {
		s.ledger.Close()
		ln.Close()
		return nil, err
	}
	s.probeClient = s.clientHTTP(ProbeTimeout) // trusts the Raft CA, known now
	s.membershipClient = s.clientHTTP(membershipCallTimeout)
	rc := raftnode.Config{TLS: raftTLS,
		NodeID: cfg.NodeID, DataDir: cfg.DataDir, RaftBind: cfg.RaftAddr, RaftAdvertise: cfg.RaftAdvertise,
		HTTPURL: cfg.HTTPAdvertise, Bootstrap: cfg.Join == "", Seed: cfg.Restore != "",
		SnapshotThreshold: cfg.SnapshotThreshold, SnapshotInterval: cfg.SnapshotInterval, TrailingLogs: cfg.TrailingLogs,
		Logger: newRaftLogger(s.log),
	}
	if cfg.FastTimeouts {
		rc.HeartbeatTimeout, rc.ElectionTimeout, rc.LeaderLeaseTimeout, rc.CommitTimeout = 300*time.Millisecond, 300*time.Millisecond, 200*time.Millisecond, 5*time.Millisecond
	}
	s.metrics = newNodeMetrics(s)
	s.node, err = raftnode.Open(rc, fsm{l: s.ledger, log: s.log, m: s.metrics})
	if err != nil {
		s.ledger.Close()
		ln.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.prop = newProposer(s.node, cfg.Now, s.proposalRulesVersion)
	s.prop.observe = func(n int) { s.metrics.proposals.Inc(); s.metrics.proposalBytes.Observe(float64(n)) }
	if cfg.Kafka != nil {
		s.bridge = kafkabridge.New(*cfg.Kafka, leaderNode{s}, s.ledger) // before the API serves /kafka
	}
	if cfg.Notices != nil {
		nc := *cfg.Notices
		nc.Log, nc.Now = s.log, cfg.Now
		s.notices = notice.New(nc, leaderNode{s}, s.ledger) // before the metrics read its counters
	}
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.prop.run(ctx) }()
	s.trail = newTrailRecorder(s)
	trailCtx, trailCancel := context.WithCancel(context.Background())
	s.trailCancel = trailCancel
	s.trailDone = make(chan struct{})
	go func() { defer close(s.trailDone); s.trail.run(trailCtx) }()

	s.http = &http.Server{Handler: s.routes(), ReadHeaderTimeout: ReadHeaderTimeout, IdleTimeout: IdleTimeout, MaxHeaderBytes: 64 << 10}
	ln = newLimitListener(ln, MaxConnections)
	p := new(http.Protocols)
	p.SetHTTP1(true)
	if s.apiTLS != nil {
		p.SetHTTP2(true)
		s.http.TLSConfig = s.apiTLS
		ln = tls.NewListener(ln, s.apiTLS)
	} else {
		p.SetUnencryptedHTTP2(true) // h2c, so gRPC clients work without TLS
		s.log.Warn("the API is plain HTTP (no --tls-cert): serve it on loopback only", "api", s.URL)
	}
	s.http.Protocols = p
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "err", err)
		}
	}()
	if cfg.Join == "" && token != "" {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.installTokenLoop(ctx, token) }()
	}
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.accessSetupLoop(ctx) }()
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.leaderLoop(ctx) }()
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.rulesGateLoop(ctx) }()
	if cfg.Utilisation != nil {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.utilisationLoop(ctx) }()
	}
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.watchLeaderChanges(ctx) }()
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.flushLoop(ctx) }()
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.keptLoop(ctx) }()
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.deadlineLoop(ctx) }()
	if cfg.BackupDir != "" {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.backupLoop(ctx) }()
	}
	if s.bridge != nil {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.bridge.Run(ctx) }()
	}
	if s.notices != nil {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.notices.Run(ctx) }()
	}

	if cfg.Join != "" && !s.node.InConfiguration() {
		// Fresh, or restarted before its admission reached it: ask to be admitted.
		if _, err := s.joinCall(ctx, joinAdmit, nil, s.raftCertPEM); err != nil {
			s.Close()
			return nil, err
		}
	}
	s.log.Info("ledger node started", "api", s.URL, "raft", cfg.RaftAddr, "raft_tls", raftTLS != nil, "data_dir", cfg.DataDir)
	return s, nil
}

func raftStateExists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "raft", "raft.db"))
	return err == nil
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
	s.trailCancel() // its last delivery needs the proposer: before s.cancel
	<-s.trailDone
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

// Failed is closed when the node stopped because one of its invariants was violated
// (raftnode.InvariantAppliedFinal); Failure says which. ledgerd exits then.
func (s *Server) Failed() <-chan struct{} { return s.node.Failed() }

// Failure is the invariant violation the node stopped for, or nil.
func (s *Server) Failure() error { return s.node.Failure() }

// Node exposes the Raft node (tests, benchmarks).
func (s *Server) Node() *raftnode.Node { return s.node }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	opts := s.handlerOptions()
	path, h := cloudledgerv1connect.NewLedgerServiceHandler(&ledgerService{s: s}, opts...)
	mux.Handle(path, h)
	path, h = cloudledgerv1connect.NewClusterServiceHandler(&clusterService{s: s}, opts...)
	mux.Handle(path, h)
	path, h = cloudledgerv1connect.NewAccountServiceHandler(&accountService{s: s}, opts...)
	mux.Handle(path, h)
	path, h = cloudledgerv1connect.NewRequestServiceHandler(&requestService{s: s}, opts...)
	mux.Handle(path, h)
	path, h = cloudledgerv1connect.NewFindingServiceHandler(&findingService{s: s}, opts...)
	mux.Handle(path, h)
	path, h = cloudledgerv1connect.NewEvaluationServiceHandler(&evaluationService{s: s}, opts...)
	mux.Handle(path, h)
	mux.HandleFunc(trailPath, s.trailHandler)
	mux.HandleFunc(membershipPath, s.membershipHandler)
	s.kafkaRoutes(mux)
	mux.Handle("/metrics", s.authHTTP(pathMetrics, s.metrics.handler()))
	mux.Handle("GET "+pathBackup, s.authHTTP(pathBackup, http.HandlerFunc(s.backupHandler)))
	mux.HandleFunc("/livez", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	s.healthRoutes(mux)
	mux.HandleFunc("GET /openapi.yaml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(openapi.YAML)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		leaderID, _, _ := s.node.Leader()
		fmt.Fprintf(w, "ok node=%s leader=%s applied=%d rules=%d\n", s.cfg.NodeID, leaderID, s.node.AppliedIndex(), ledger.MaxRulesVersion())
	})
	api := s.withLimits(withStrictJSON(s.withForwarding(mux)))
	// The web console at "/" calls this same handler in process, as the signed-in account.
	con, err := console.New(console.Config{API: api, Secure: s.apiTLS != nil, CSRFKey: s.consoleCSRFKey, Log: s.log,
		Record: func(account, role, addr, procedure, result string) {
			if host, _, err := net.SplitHostPort(addr); err == nil {
				addr = host
			}
			s.trail.add(ledger.AccessRecord{Node: s.cfg.NodeID, Account: account, Role: role, Address: addr, Procedure: procedure},
				errcode.Errf(errcode.Code(result), "", "refused by the console"))
		}})
	if err != nil {
		panic(fmt.Sprintf("console templates: %v", err)) // embedded: a build defect, not a runtime condition
	}
	mux.Handle("/", con)
	s.consolePages = con
	return api
}

// consoleCSRFKey is the console forms' CSRF key: derived from the cluster's session key, so
// every node accepts a form another node served.
func (s *Server) consoleCSRFKey() []byte {
	key := s.ledger.SessionKey()
	if key == nil {
		return nil
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("cloudledger console csrf key"))
	return m.Sum(nil)
}

// DebugHandler serves Go's /debug/pprof and /debug/vars (http.DefaultServeMux) to the
// authority and auditor roles only: profiles and expvar tell an attacker much about a node.
func (s *Server) DebugHandler() http.Handler {
	return s.authHTTP(pathDebug, http.DefaultServeMux)
}
