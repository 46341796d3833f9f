package server

import (
	"context"
	"strconv"
	"time"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/ledger"
	"github.com/cloudledger/cloudledger/settlement"
)

// The leader's duties: expiry ticks, the settlement deadline watch, and on every node the
// flush of applied line items to the state file.

// leaderLoop runs on every node and acts while this node leads: it proposes a tick whenever
// a resource's expiry has passed or an expiry notice is due.
func (s *Server) leaderLoop(ctx context.Context) {
	every(ctx, s.cfg.TickInterval, func() {
		if !s.node.IsLeader() {
			return
		}
		// No waiting for imports to be quiet: an operation dated before an expiry is
		// accepted after the expire was written (late history, ledger version 3).
		now := s.cfg.Now()
		if next := s.ledger.NextExpiry(); (!next.IsZero() && !next.After(now)) || s.ledger.NoticesDue(now) || s.ledger.FindingsDue(now) {
			if _, _, err := s.prop.submit(ctx, ledger.Submission{Actor: "system", Commands: []ledger.Command{{Body: &ledger.Tick{}}}}); err != nil {
				s.log.Warn("expiry tick", "err", err)
			}
		}
		s.evaluateDays(ctx, now)
		s.archiveAccess(ctx, now)
	})
}

// accessArchiveCheck is how often the leader looks for access records past their retention.
const accessArchiveCheck = time.Hour

// archiveAccess proposes, at most every accessArchiveCheck, to archive the access records
// recorded before now − AccessRetention (ledger/access_archive.go).
func (s *Server) archiveAccess(ctx context.Context, now time.Time) {
	if s.cfg.AccessRetention == 0 || now.Sub(s.lastArchiveCheck) < accessArchiveCheck {
		return
	}
	s.lastArchiveCheck = now
	before := now.Add(-s.cfg.AccessRetention)
	through := s.ledger.AccessArchivable(before)
	if through <= s.ledger.AccessArchived() {
		return
	}
	// The key names the cut: a second proposal of it (an unknown outcome) is a duplicate.
	res, _, err := s.prop.submit(ctx, ledger.Submission{Actor: "system", Commands: []ledger.Command{{
		Key: "access-archive/" + strconv.FormatUint(through, 10), Body: &ledger.ArchiveAccess{Through: through, Before: before}}}})
	if err != nil || res.Err != nil {
		s.log.Warn("archiving the access trail", "through", through, "err", err, "result", res.Err)
		return
	}
	s.log.Info("access records archived", "through", through, "recorded_before", before)
}

// evaluateDays proposes the days due for evaluation (SPEC: Utilisation, findings), in order,
// one day per entry so that no entry's work grows with a backlog; a backlog of rules switched
// on from a past date is worked through here, at most maxDaysPerTick days and about
// maxEvaluationPerTick of time a tick, so that the tick's other duties are not held up.
func (s *Server) evaluateDays(ctx context.Context, now time.Time) {
	start := time.Now()
	for n := 0; n < maxDaysPerTick && time.Since(start) < maxEvaluationPerTick && s.node.IsLeader() && ctx.Err() == nil; n++ {
		day, due := s.ledger.NextDayToEvaluate(now)
		if !due || s.waitsForPull(day) {
			return
		}
		if _, _, err := s.prop.submit(ctx, ledger.Submission{Actor: "system", Commands: []ledger.Command{{Body: &ledger.EvaluateDay{Day: day}}}}); err != nil {
			s.log.Warn("findings evaluation", "day", day.String(), "err", err)
			return
		}
		if next, _ := s.ledger.NextDayToEvaluate(now); next == day {
			// Applied but not moved on (rules changed under it): the next tick tries again.
			return
		}
		s.metrics.daysEvaluated.Inc()
		if n > 0 && n%30 == 0 {
			s.log.Info("findings backlog", "evaluated_through", day.String())
		}
	}
}

// maxDaysPerTick and maxEvaluationPerTick bound one tick's evaluations (a year and a month of
// backlog, or about 2 s: some three days of 100,000 resources); the rest wait for the next
// tick.
const (
	maxDaysPerTick       = 400
	maxEvaluationPerTick = 2 * time.Second
)

// every calls fn every interval until ctx ends.
func every(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// FlushInterval is how often applied line items are committed to the bbolt state file
// (one transaction and fsync for everything applied since the last flush; the Raft log
// already holds them durably).
const FlushInterval = 10 * time.Millisecond

func (s *Server) flushLoop(ctx context.Context) {
	every(ctx, FlushInterval, func() {
		if s.ledger.AppliedIndex() == s.ledger.FlushedIndex() {
			return // nothing to flush: not a flush to time
		}
		start := time.Now()
		s.ledger.Flush()
		s.metrics.flushSeconds.Observe(time.Since(start).Seconds())
	})
}

// watchLeaderChanges counts the changes of leader this node sees (cloudledger_leader_changes_total).
func (s *Server) watchLeaderChanges(ctx context.Context) {
	last, _, _ := s.node.Leader()
	every(ctx, leaderWatchInterval, func() {
		if id, _, _ := s.node.Leader(); id != last {
			if id != "" {
				s.metrics.leaderChanges.Inc()
			}
			last = id
		}
	})
}

const leaderWatchInterval = 100 * time.Millisecond

// DeadlineCheckInterval is how often the leader checks the settlement deadline;
// deadlineRetryInterval how soon it looks again while no watched year's days are known.
const (
	DeadlineCheckInterval = time.Hour
	deadlineRetryInterval = 10 * time.Second
)

// deadlineLoop logs a warning on the leader while a settlement year has fewer than
// settlement.WarnWorkingDays working days left before 30 September and is not submitted
// (the same warning `settle status` shows).
func (s *Server) deadlineLoop(ctx context.Context) {
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Until a watched year's working days are known (a leader, a ledger with a clock, its
		// calendar loaded), look again soon; then hourly.
		t.Reset(deadlineRetryInterval)
		if !s.node.IsLeader() {
			continue
		}
		data, err := s.ledger.View(ledger.ViewFilter{MasterDataOnly: true})
		if err != nil || data.Clock.IsZero() {
			continue
		}
		s.metrics.workingDaysLeft.Reset()
		for _, year := range deadlineYears(data) {
			st, err := settlement.YearStatus(data, s.ledger.Calendar(), year, false)
			if err != nil {
				s.log.Warn("settlement deadline check", "year", year, "err", err)
				continue
			}
			if st.WorkingDaysLeft != settlement.UnknownWorkingDays {
				t.Reset(DeadlineCheckInterval)
			}
			s.metrics.setWorkingDaysLeft(year, st)
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

// leaderNode gives the leader's background workers — the Kafka bridge, the notice
// deliverer — leadership, readiness and one-entry proposals.
type leaderNode struct{ s *Server }

func (k leaderNode) IsLeader() bool { return k.s.node.IsLeader() }

func (k leaderNode) Ready(ctx context.Context) error { return k.s.node.LinearizableRead(ctx) }

func (k leaderNode) Propose(ctx context.Context, reqs []ledger.Submission) ([]ledger.SubmissionResult, error) {
	res, _, err := k.s.prop.apply(ctx, &ledger.Proposal{RecordedAt: k.s.cfg.Now(), Submissions: reqs})
	if err != nil {
		return nil, err
	}
	return res.Submissions, nil
}
