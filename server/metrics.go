package server

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	gometrics "github.com/hashicorp/go-metrics"
	gmprom "github.com/hashicorp/go-metrics/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cloudledger/cloudledger/settlement"
)

// Metrics at /metrics (issue 13), in Prometheus' conventions: the cloudledger_ prefix, base
// units, _total counters, _seconds histograms, no label with unbounded values (no resource,
// department or account). Each node has its own registry (tests run several in one
// process); hashicorp/raft's metrics go through go-metrics' Prometheus sink, which is
// process-wide, as is go-metrics.
type nodeMetrics struct {
	reg            *prometheus.Registry
	lineItems      prometheus.Counter
	applySeconds   prometheus.Histogram
	flushSeconds   prometheus.Histogram
	proposals      prometheus.Counter
	proposalBytes  prometheus.Histogram
	importRows     prometheus.Counter
	ratingSeconds  prometheus.Histogram
	exportSeconds  *prometheus.HistogramVec
	accessRefusals prometheus.Counter
	// passwordChecks counts the sign-ins whose password was checked against an account's
	// hash (not the equal-cost check of a failure decided before: a locked, unknown or
	// disabled account), hashFull the checks refused because the hashing pool stayed full.
	passwordChecks prometheus.Counter
	hashFull       prometheus.Counter
	trailDropped   prometheus.Counter // access records the ledger refused as a batch (never expected)
	// The utilisation pull (utilisation_pull.go).
	utilisationDaysPulled, utilisationPullErrors prometheus.Counter
	daysEvaluated                                prometheus.Counter
	utilisationClamped, utilisationSkipped       *prometheus.CounterVec
	leaderChanges                                prometheus.Counter
	accessPending                                prometheus.GaugeFunc
	// Backups served by this node (backup.go), scheduled or asked for.
	backups, backupFailures                    prometheus.Counter
	backupLastSuccess, backupBytes, backupSecs prometheus.Gauge
	workingDaysLeft                            *prometheus.GaugeVec
}

var (
	raftSinkOnce sync.Once
	raftRegistry = prometheus.NewRegistry()
)

// installRaftSink sends go-metrics (hashicorp/raft's) to raftRegistry, once per process.
func installRaftSink() {
	raftSinkOnce.Do(func() {
		sink, err := gmprom.NewPrometheusSinkFrom(gmprom.PrometheusOpts{Expiration: time.Minute, Registerer: raftRegistry})
		if err != nil {
			return
		}
		cfg := gometrics.DefaultConfig("cloudledger")
		cfg.EnableHostname, cfg.EnableRuntimeMetrics, cfg.EnableServiceLabel = false, false, false
		_, _ = gometrics.NewGlobal(cfg, raftSink{sink})
	})
}

func newNodeMetrics(s *Server) *nodeMetrics {
	installRaftSink()
	m := &nodeMetrics{reg: prometheus.NewRegistry()}
	seconds := prometheus.ExponentialBuckets(0.0005, 2, 16) // 0.5 ms … 16 s
	m.lineItems = prometheus.NewCounter(prometheus.CounterOpts{Name: "cloudledger_line_items_applied_total", Help: "Line items appended to the chain by this node's state machine."})
	m.applySeconds = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cloudledger_apply_seconds", Help: "Time to apply one batch of committed Raft entries.", Buckets: seconds})
	m.flushSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cloudledger_flush_seconds", Help: "Time to commit applied state to the bbolt file (fsync included).", Buckets: seconds})
	m.proposals = prometheus.NewCounter(prometheus.CounterOpts{Name: "cloudledger_proposals_total", Help: "Raft entries proposed by this node as leader."})
	m.proposalBytes = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cloudledger_proposal_bytes", Help: "Size of the Raft entries proposed.", Buckets: prometheus.ExponentialBuckets(64, 4, 12)})
	m.importRows = prometheus.NewCounter(prometheus.CounterOpts{Name: "cloudledger_import_rows_total", Help: "Commands received by Submit and rows validated by ValidateImport."})
	m.ratingSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cloudledger_rating_seconds", Help: "Time to read the ledger and rate a range.", Buckets: seconds})
	m.exportSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cloudledger_export_seconds", Help: "Time to render an export.", Buckets: seconds}, []string{"export"})
	m.accessRefusals = prometheus.NewCounter(prometheus.CounterOpts{Name: "cloudledger_access_refusals_total", Help: "Calls refused by role or scope (permission_denied)."})
	m.passwordChecks = prometheus.NewCounter(prometheus.CounterOpts{Name: "cloudledger_password_checks_total", Help: "Sign-ins whose password was checked against the account's hash (at most 5 in a row per account before the lock)."})
	m.hashFull = prometheus.NewCounter(prometheus.CounterOpts{Name: "cloudledger_password_pool_full_total", Help: "Password checks refused (resource_exhausted) because the hashing pool stayed full."})
	m.trailDropped = prometheus.NewCounter(prometheus.CounterOpts{Name: "cloudledger_access_records_dropped_total", Help: "Access-trail records dropped because the ledger refused their batch as malformed or too large (a bug; the node's log names the batch)."})
	m.daysEvaluated = prometheus.NewCounter(prometheus.CounterOpts{Name: "cloudledger_findings_evaluations_total", Help: "Days the leader proposed for findings evaluation and the ledger evaluated."})
	m.utilisationDaysPulled = prometheus.NewCounter(prometheus.CounterOpts{Name: "cloudledger_utilisation_pulls_total", Help: "Days of utilisation rows the leader pulled from Prometheus and landed."})
	m.utilisationPullErrors = prometheus.NewCounter(prometheus.CounterOpts{Name: "cloudledger_utilisation_pull_errors_total", Help: "Pulls of a day that failed (Prometheus unreachable, a query refused): the day is tried again, the later days wait."})
	m.utilisationClamped = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cloudledger_utilisation_values_clamped_total", Help: "Pulled values taken in: above 100 as 100, a mean above its peak as the peak."}, []string{"what"})
	m.utilisationSkipped = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cloudledger_utilisation_series_skipped_total", Help: "Pulled series left out: of resources the ledger does not monitor, or without all of mean, peak and availability."}, []string{"why"})
	for _, w := range []string{"above_100", "mean_above_peak"} {
		m.utilisationClamped.WithLabelValues(w)
	}
	for _, w := range []string{"not_monitored", "incomplete"} {
		m.utilisationSkipped.WithLabelValues(w)
	}
	poolSize := prometheus.NewGauge(prometheus.GaugeOpts{Name: "cloudledger_password_pool_size", Help: "Password checks (argon2id, 19 MiB each) that run at once."})
	poolSize.Set(float64(HashPoolSize()))
	m.reg.MustRegister(poolSize)
	m.leaderChanges = prometheus.NewCounter(prometheus.CounterOpts{Name: "cloudledger_leader_changes_total", Help: "Changes of the leader this node observed."})
	m.accessPending = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cloudledger_access_records_pending", Help: "Access-trail records collected and not yet on the ledger."},
		func() float64 { return float64(s.trail.pending()) })
	m.workingDaysLeft = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "cloudledger_settlement_workdays_left", Help: "Working days before a settlement year's deadline (negative: overdue); absent while the calendar is unknown."}, []string{"year"})
	m.backups = prometheus.NewCounter(prometheus.CounterOpts{Name: "cloudledger_backups_total", Help: "Backups this node wrote completely (streamed or scheduled)."})
	m.backupFailures = prometheus.NewCounter(prometheus.CounterOpts{Name: "cloudledger_backup_failures_total", Help: "Backups this node began and could not finish (the reader went away or stalled, the disk failed)."})
	m.backupLastSuccess = prometheus.NewGauge(prometheus.GaugeOpts{Name: "cloudledger_backup_last_success_timestamp_seconds", Help: "Unix time of this node's last complete backup (0: none since it started)."})
	m.backupBytes = prometheus.NewGauge(prometheus.GaugeOpts{Name: "cloudledger_backup_last_bytes", Help: "Size of this node's last complete backup."})
	m.backupSecs = prometheus.NewGauge(prometheus.GaugeOpts{Name: "cloudledger_backup_last_duration_seconds", Help: "Time this node's last complete backup took."})
	for _, e := range []string{"budget", "statement"} {
		m.exportSeconds.WithLabelValues(e) // exposed from the start, so dashboards find it
	}
	m.reg.MustRegister(m.lineItems, m.applySeconds, m.flushSeconds, m.proposals, m.proposalBytes, m.importRows, m.ratingSeconds,
		m.exportSeconds, m.accessRefusals, m.passwordChecks, m.hashFull, m.trailDropped, m.utilisationDaysPulled, m.utilisationPullErrors, m.daysEvaluated, m.utilisationClamped, m.utilisationSkipped, m.leaderChanges, m.accessPending, m.workingDaysLeft,
		m.backups, m.backupFailures, m.backupLastSuccess, m.backupBytes, m.backupSecs,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&raftNodeCollector{s: s}, &kafkaCollector{s: s}, &noticeCollector{s: s})
	return m
}

// handler serves both registries.
func (m *nodeMetrics) handler() http.Handler {
	return promhttp.HandlerFor(prometheus.Gatherers{m.reg, raftRegistry}, promhttp.HandlerOpts{})
}

// setWorkingDaysLeft records a watched year's working days left (the deadline loop's status).
func (m *nodeMetrics) setWorkingDaysLeft(year int, st *settlement.Status) {
	if st.WorkingDaysLeft != settlement.UnknownWorkingDays {
		m.workingDaysLeft.WithLabelValues(strconv.Itoa(year)).Set(float64(st.WorkingDaysLeft))
	}
}

// backupDone records a complete backup.
func (m *nodeMetrics) backupDone(bytes int64, took time.Duration) {
	m.backups.Inc()
	m.backupLastSuccess.Set(float64(time.Now().Unix()))
	m.backupBytes.Set(float64(bytes))
	m.backupSecs.Set(took.Seconds())
}

func observeSince(h interface{ Observe(float64) }, start time.Time) {
	h.Observe(time.Since(start).Seconds())
}

// noticeCollector reads the notice outbox and this node's deliveries at scrape time.
type noticeCollector struct{ s *Server }

var (
	descNoticesPending   = prometheus.NewDesc("cloudledger_notices_pending", "Notices in the outbox waiting for a webhook delivery.", nil, nil)
	descNoticesDelivered = prometheus.NewDesc("cloudledger_notices_delivered_total", "Notices this node delivered as leader.", nil, nil)
	descNoticesFailed    = prometheus.NewDesc("cloudledger_notice_attempts_failed_total", "Failed webhook attempts of this node.", nil, nil)
	descNoticesDead      = prometheus.NewDesc("cloudledger_notices_dead_total", "Notices this node gave up on (dead-letter list).", nil, nil)
)

func (c *noticeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descNoticesPending, descNoticesDelivered, descNoticesFailed, descNoticesDead} {
		ch <- d
	}
}

func (c *noticeCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descNoticesPending, prometheus.GaugeValue, float64(len(c.s.ledger.PendingNotices(0))))
	var delivered, failed, dead int64
	if d := c.s.notices; d != nil {
		delivered, failed, dead = d.Delivered.Load(), d.FailedAttempts.Load(), d.Dead.Load()
	}
	ch <- prometheus.MustNewConstMetric(descNoticesDelivered, prometheus.CounterValue, float64(delivered))
	ch <- prometheus.MustNewConstMetric(descNoticesFailed, prometheus.CounterValue, float64(failed))
	ch <- prometheus.MustNewConstMetric(descNoticesDead, prometheus.CounterValue, float64(dead))
}

// raftNodeCollector reads this node's Raft position at scrape time.
type raftNodeCollector struct{ s *Server }

var (
	descApplied  = prometheus.NewDesc("cloudledger_raft_applied_index", "The last Raft index applied by this node.", nil, nil)
	descCommit   = prometheus.NewDesc("cloudledger_raft_commit_index", "The Raft commit index this node knows.", nil, nil)
	descLeader   = prometheus.NewDesc("cloudledger_raft_is_leader", "1 while this node leads.", nil, nil)
	descChain    = prometheus.NewDesc("cloudledger_line_items", "Line items in the chain.", nil, nil)
	descContact  = prometheus.NewDesc("cloudledger_raft_leader_contact_age_seconds", "Time since this node last heard from the leader (0 on the leader; absent before it ever has): a disaster-recovery replica's lag in time.", nil, nil)
	descKafkaLag = prometheus.NewDesc("cloudledger_kafka_lag_records", "Records of a partition not yet applied.", []string{"partition"}, nil)
	descGaps     = prometheus.NewDesc("cloudledger_kafka_partition_gaps_total", "Offset gaps found (records that would have been skipped).", nil, nil)
	descDead     = prometheus.NewDesc("cloudledger_kafka_dead_letters", "Records in the dead-letter outbox.", nil, nil)
)

func (c *raftNodeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descApplied
	ch <- descCommit
	ch <- descLeader
	ch <- descChain
	ch <- descContact
}

func (c *raftNodeCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descApplied, prometheus.GaugeValue, float64(c.s.node.AppliedIndex()))
	ch <- prometheus.MustNewConstMetric(descCommit, prometheus.GaugeValue, float64(c.s.node.CommitIndex()))
	lead := 0.0
	if c.s.node.IsLeader() {
		lead = 1
	}
	ch <- prometheus.MustNewConstMetric(descLeader, prometheus.GaugeValue, lead)
	ch <- prometheus.MustNewConstMetric(descChain, prometheus.GaugeValue, float64(c.s.ledger.Head().Seq))
	if age := c.s.node.SinceLeaderContact(); age >= 0 {
		ch <- prometheus.MustNewConstMetric(descContact, prometheus.GaugeValue, age.Seconds())
	}
}

// kafkaCollector reports the bridge, when Kafka is configured.
type kafkaCollector struct{ s *Server }

func (c *kafkaCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descKafkaLag
	ch <- descGaps
	ch <- descDead
}

func (c *kafkaCollector) Collect(ch chan<- prometheus.Metric) {
	if c.s.bridge == nil {
		return
	}
	rep := c.s.bridge.Report()
	for _, p := range rep.Partitions {
		if p.Lag >= 0 {
			ch <- prometheus.MustNewConstMetric(descKafkaLag, prometheus.GaugeValue, float64(p.Lag), strconv.Itoa(p.Partition))
		}
	}
	ch <- prometheus.MustNewConstMetric(descGaps, prometheus.CounterValue, float64(rep.Gaps))
	ch <- prometheus.MustNewConstMetric(descDead, prometheus.GaugeValue, float64(rep.DeadLetters))
}

// raftSink names go-metrics' series (hashicorp/raft's) as Prometheus wants them, so that
// `promtool check metrics` accepts /metrics: snake_case (commitTime → commit_time),
// counters with _total, timings in seconds (go-metrics measures them in milliseconds) with
// _seconds.
type raftSink struct{ *gmprom.PrometheusSink }

// promKey is a go-metrics key in Prometheus' words, with a suffix when one is due.
func promKey(key []string, suffix string) []string {
	out := make([]string, 0, len(key)+1)
	for _, part := range key {
		out = append(out, snakeCase(part))
	}
	if suffix != "" && out[len(out)-1] != suffix {
		out = append(out, suffix)
	}
	return out
}

// snakeCase is commitTime → commit_time, FSM → fsm, appendEntries → append_entries.
func snakeCase(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		upper := r >= 'A' && r <= 'Z'
		if upper && i > 0 && (rs[i-1] >= 'a' && rs[i-1] <= 'z' || i+1 < len(rs) && rs[i+1] >= 'a' && rs[i+1] <= 'z' && rs[i-1] != '_') {
			b.WriteByte('_')
		}
		if upper {
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Which of hashicorp/raft's series are not what their method suggests: samples that are no
// timings (a count, a ratio), and gauges that are timings in milliseconds.
var (
	untimedSamples    = map[string]bool{"applyBatchNum": true, "saturation": true}
	millisecondGauges = map[string]bool{"lastRestoreDuration": true, "oldestLogAge": true}
)

// gauge is a gauge's key and value as exposed: milliseconds become seconds.
func gauge(key []string, val float64) ([]string, float64) {
	if millisecondGauges[key[len(key)-1]] {
		return promKey(key, "seconds"), val / 1000
	}
	return promKey(key, ""), val
}

// sample is a sample's key and value as exposed: a timing (milliseconds) becomes seconds.
func sample(key []string, val float32) ([]string, float32) {
	if untimedSamples[key[len(key)-1]] {
		return promKey(key, ""), val
	}
	return promKey(key, "seconds"), val / 1000
}

func (c raftSink) SetGauge(key []string, val float32) {
	k, v := gauge(key, float64(val))
	c.PrometheusSink.SetGauge(k, float32(v))
}
func (c raftSink) SetGaugeWithLabels(key []string, val float32, labels []gometrics.Label) {
	k, v := gauge(key, float64(val))
	c.PrometheusSink.SetGaugeWithLabels(k, float32(v), labels)
}
func (c raftSink) SetPrecisionGauge(key []string, val float64) {
	k, v := gauge(key, val)
	c.PrometheusSink.SetPrecisionGauge(k, v)
}
func (c raftSink) SetPrecisionGaugeWithLabels(key []string, val float64, labels []gometrics.Label) {
	k, v := gauge(key, val)
	c.PrometheusSink.SetPrecisionGaugeWithLabels(k, v, labels)
}
func (c raftSink) EmitKey(key []string, val float32) { c.PrometheusSink.EmitKey(promKey(key, ""), val) }
func (c raftSink) IncrCounter(key []string, val float32) {
	c.PrometheusSink.IncrCounter(promKey(key, "total"), val)
}
func (c raftSink) IncrCounterWithLabels(key []string, val float32, labels []gometrics.Label) {
	c.PrometheusSink.IncrCounterWithLabels(promKey(key, "total"), val, labels)
}
func (c raftSink) AddSample(key []string, val float32) {
	k, v := sample(key, val)
	c.PrometheusSink.AddSample(k, v)
}
func (c raftSink) AddSampleWithLabels(key []string, val float32, labels []gometrics.Label) {
	k, v := sample(key, val)
	c.PrometheusSink.AddSampleWithLabels(k, v, labels)
}
