// Command ledgerd runs one CloudLedger node: flags → config → server.Start.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/cloudledger/cloudledger/server"
)

func main() {
	var cfg server.Config
	flag.StringVar(&cfg.DataDir, "data-dir", "./data", "directory for the Raft log, snapshots, the ledger state and admin.token")
	flag.StringVar(&cfg.HTTPAddr, "http", "127.0.0.1:8080", "listen address of the API (Connect, gRPC; HTTP/1.1 and h2c, or HTTPS with --tls-cert)")
	flag.StringVar(&cfg.HTTPAdvertise, "advertise-http", "", "API URL other nodes and clients reach this node at (default http(s)://<--http>)")
	flag.StringVar(&cfg.RaftAddr, "raft", "127.0.0.1:8081", "listen address of the Raft transport (mutual TLS unless --raft-insecure)")
	flag.StringVar(&cfg.RaftAdvertise, "advertise-raft", "", "Raft address other nodes reach this node at (default --raft)")
	flag.StringVar(&cfg.NodeID, "node-id", "node1", "this node's Raft server ID, unique in the cluster")
	flag.StringVar(&cfg.Join, "join", "", "API URL of the cluster member whose host made this node's join ticket (empty: bootstrap a single-node cluster on an empty data dir, or restart)")
	joinTicketFile := flag.String("join-ticket-file", "", "file holding the operator's join ticket for this node id (or the environment variable CLOUDLEDGER_JOIN_TICKET), made on the --join member's host with `ledgerctl cluster add --data-dir DIR --node-id ID`")
	tokenFile := flag.String("token-file", "", "file holding the admin token to install at bootstrap (or the environment variable CLOUDLEDGER_TOKEN; default: generate one). Never on the command line")
	flag.Func("token", "refused: a token on the command line is visible to every user of the host (use --token-file or CLOUDLEDGER_TOKEN)", func(string) error {
		return fmt.Errorf("a token on the command line shows in ps and /proc: use --token-file FILE or the environment variable CLOUDLEDGER_TOKEN")
	})
	flag.BoolVar(&cfg.RaftInsecure, "raft-insecure", false, "run Raft over plain TCP: anyone who reaches the Raft port can then write to the ledger (benchmark baselines only)")
	flag.StringVar(&cfg.RaftCA, "raft-ca", "", "PEM CA of the operator's PKI for Raft (with --raft-cert, --raft-key; default: the cluster's own CA in the data dir)")
	flag.StringVar(&cfg.RaftCert, "raft-cert", "", "PEM certificate of this node for Raft, its common name the node id")
	flag.StringVar(&cfg.RaftKey, "raft-key", "", "PEM key of --raft-cert")
	flag.StringVar(&cfg.TLSCert, "tls-cert", "", "PEM certificate of the API: serve it over TLS only (with --tls-key)")
	flag.StringVar(&cfg.TLSKey, "tls-key", "", "PEM key of --tls-cert")
	flag.StringVar(&cfg.TLSClientCA, "tls-client-ca", "", "PEM CA whose client certificates the API requires (mutual TLS)")
	flag.StringVar(&cfg.TLSCA, "tls-ca", "", "PEM CA that signed the other nodes' API certificates (for joining and forwarding; the system roots and the Raft CA are trusted too)")
	flag.DurationVar(&cfg.TickInterval, "tick-interval", time.Second, "how often the leader checks for expiries that are due")
	flag.Uint64Var(&cfg.SnapshotThreshold, "snapshot-threshold", 8192, "Raft entries between snapshots")
	flag.DurationVar(&cfg.SnapshotInterval, "snapshot-interval", 2*time.Minute, "how often Raft checks whether --snapshot-threshold entries have accumulated")
	flag.Uint64Var(&cfg.TrailingLogs, "trailing-logs", 10240, "Raft entries kept after a snapshot for followers that lag")
	flag.BoolVar(&cfg.FastTimeouts, "fast-elections", false, "sub-second Raft timeouts, for clusters on one machine (tests, benchmarks)")
	flag.StringVar(&cfg.Restore, "restore", "", "start a new cluster from this backup file (ledgerctl backup -o FILE) in a new --data-dir: new cluster, Raft indexes continuing after the backup's, a new bootstrap credential")
	flag.StringVar(&cfg.BackupDir, "backup-dir", "", "write a backup into this directory every --backup-interval (the same file ledgerctl backup writes); empty: no scheduled backups")
	flag.DurationVar(&cfg.BackupInterval, "backup-interval", 24*time.Hour, "how often a scheduled backup is written (with --backup-dir)")
	flag.IntVar(&cfg.BackupKeep, "backup-keep", 7, "how many scheduled backups are kept (the oldest removed first)")
	retentionDays := flag.Int("access-retention-days", 366, "archive access records older than this many days out of the live state into DIR/access-archive (at least 180; 0: keep every record live)")
	flag.StringVar(&cfg.RestoreExpectHead, "restore-expect-head", "", "with --restore: the head hash the backup's chain must end in (recorded independently, e.g. an auditor's ledgerctl verify when the backup was taken); a backup ending elsewhere is refused")
	promote := flag.Bool("promote", false, "turn this node's data directory (a disaster-recovery replica whose main site is lost) into a new cluster of this node alone, then serve; asks no other member; the former members can never rejoin")
	pprofAddr := flag.String("pprof", "", "serve Go's /debug/pprof on this address (e.g. 127.0.0.1:6060; off by default)")
	logLevel := flag.String("log-level", "info", "debug, info, warn or error")
	logFormat := flag.String("log-format", "text", "text or json (one JSON object per line; hashicorp/raft's lines too)")
	var kf kafkaFlags
	kf.register()
	var nf noticeFlags
	nf.register()
	var uf utilisationFlags
	uf.register()
	flag.Parse()
	if *tokenFile != "" {
		raw, err := os.ReadFile(*tokenFile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "ledgerd: --token-file: %v\n", err)
			os.Exit(2)
		}
		cfg.Token = strings.TrimSpace(string(raw))
	} else {
		cfg.Token = os.Getenv("CLOUDLEDGER_TOKEN")
	}
	if *joinTicketFile != "" {
		raw, err := os.ReadFile(*joinTicketFile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "ledgerd: --join-ticket-file: %v\n", err)
			os.Exit(2)
		}
		cfg.JoinTicket = strings.TrimSpace(string(raw))
	} else {
		cfg.JoinTicket = os.Getenv("CLOUDLEDGER_JOIN_TICKET")
	}

	if os.Getenv("GOGC") == "" {
		// The ledger allocates many short-lived decimals per line item; trading some heap for
		// fewer collections is worth it on a server (override with GOGC).
		debug.SetGCPercent(400)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "ledgerd: --log-level: %v\n", err)
		os.Exit(2)
	}
	hopts := &slog.HandlerOptions{Level: lvl}
	switch *logFormat {
	case "text":
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, hopts))
	case "json":
		cfg.Logger = slog.New(slog.NewJSONHandler(os.Stderr, hopts))
	default:
		fmt.Fprintf(os.Stderr, "ledgerd: --log-format must be text or json, not %q\n", *logFormat)
		os.Exit(2)
	}
	kc, err := kf.config(cfg.Logger)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ledgerd: %v\n", err)
		os.Exit(2)
	}
	cfg.Kafka = kc
	if err := nf.config(&cfg); err != nil {
		fmt.Fprintf(os.Stderr, "ledgerd: %v\n", err)
		os.Exit(2)
	}
	if cfg.Utilisation, err = uf.config(time.Now()); err != nil {
		fmt.Fprintf(os.Stderr, "ledgerd: %v\n", err)
		os.Exit(2)
	}
	cfg.AccessRetention = time.Duration(*retentionDays) * 24 * time.Hour
	for _, hook := range chaosHooks {
		hook(&cfg)
	}
	if *promote {
		if cfg.Restore != "" || cfg.Join != "" {
			fmt.Fprintln(os.Stderr, "ledgerd: --promote takes neither --restore nor --join")
			os.Exit(2)
		}
		rep, err := server.Promote(cfg)
		if err != nil {
			cfg.Logger.Error("promotion failed: the data directory is as it was unless the message says otherwise", "err", err)
			os.Exit(1)
		}
		cfg.Logger.Warn("promoted: this node is now a new cluster of its own; the former members are retired and can never rejoin",
			"applied_before", rep.AppliedBefore, "applied", rep.Applied, "retired", strings.Join(rep.Retired, ","), "former_raft_state", rep.OldRaftDir)
	}
	s, err := server.Start(cfg)
	if err != nil {
		cfg.Logger.Error("ledgerd could not start", "err", err)
		os.Exit(1)
	}
	cfg.Logger.Info("ledgerd serving", "node", cfg.NodeID, "api", s.URL, "admin_token_file", cfg.DataDir+"/"+server.TokenFile)
	if *pprofAddr != "" {
		// DefaultServeMux carries net/http/pprof and expvar; the admin token is required.
		dbg := &http.Server{Addr: *pprofAddr, Handler: s.DebugHandler(), ReadHeaderTimeout: server.ReadHeaderTimeout}
		go func() { _ = dbg.ListenAndServe() }()
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-sig:
	case <-s.Failed():
		// An invariant of our own state was violated: stop loudly, leave the data as it is.
		cfg.Logger.Error("ledgerd stopped: invariant violated", "err", s.Failure())
		_ = s.Close()
		os.Exit(3)
	}
	cfg.Logger.Info("ledgerd shutting down")
	if err := s.Close(); err != nil {
		cfg.Logger.Error("ledgerd shutdown", "err", err)
		os.Exit(1)
	}
}

// chaosHooks change the configuration in a binary built for the fault-injection suite
// (-tags chaos); empty otherwise.
var chaosHooks []func(*server.Config)
