package server

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/ledger"
	"github.com/cloudledger/cloudledger/utilpull"
)

// UtilisationConfig turns on the leader's pull of daily utilisation rows from Prometheus
// (SPEC: Utilisation).
type UtilisationConfig struct {
	PrometheusURL string
	Queries       utilpull.Queries
	// Since is the first day pulled; a day is pulled once its end plus Lateness has passed,
	// in order, each once: a day whose pull fails holds the later ones back until it lands.
	Since    calendar.Date
	Lateness time.Duration
	// Interval is how often the leader looks for days due (default 1 minute).
	Interval time.Duration
}

// pulledDay is the last day the pull has passed on this node while it led.
type pulledDay struct {
	mu  sync.Mutex
	day calendar.Date
}

func (p *pulledDay) set(d calendar.Date) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.day = d
}

func (p *pulledDay) get() calendar.Date {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.day
}

// waitsForPull reports whether day d's findings must wait for the pull: with Prometheus
// configured, a day the pull has not passed yet would be judged without its rows (a pull
// outage must not raise no_monitoring everywhere and break every run).
func (s *Server) waitsForPull(d calendar.Date) bool {
	uc := s.cfg.Utilisation
	return uc != nil && !d.Before(uc.Since) && s.pulledThrough.get().Before(d)
}

// utilisationKey is the key of a day's pull: two leaders cannot both land a day.
func utilisationKey(d calendar.Date) string { return "utilisation/prometheus/" + d.String() }

func (s *Server) utilisationLoop(ctx context.Context) {
	uc := s.cfg.Utilisation
	puller, err := utilpull.New(uc.PrometheusURL, uc.Queries)
	if err != nil {
		s.log.Error("utilisation pull off", "err", err)
		return
	}
	interval := uc.Interval
	if interval <= 0 {
		interval = time.Minute
	}
	empty := map[calendar.Date]bool{} // days Prometheus had nothing for (asked again after a restart)
	pull := func() {
		if !s.node.IsLeader() {
			return
		}
		now := s.cfg.Now()
		for d := uc.Since; !now.Before(d.AddDays(1).Start().Add(uc.Lateness)); d = d.AddDays(1) {
			if ctx.Err() != nil || !s.node.IsLeader() {
				return
			}
			if _, done := s.ledger.LineItemByKey("", utilisationKey(d)); done || empty[d] {
				s.pulledThrough.set(d)
				continue
			}
			n, err := s.pullDay(ctx, puller, d)
			if err != nil {
				s.metrics.utilisationPullErrors.Inc()
				s.log.Warn("utilisation pull: the day waits, and the days after it", "day", d.String(), "err", err)
				return // in order: the next tick tries this day again
			}
			if n == 0 {
				empty[d] = true
			}
			s.pulledThrough.set(d)
		}
	}
	pull()
	every(ctx, interval, pull)
}

// pullDay pulls one closed day and proposes its rows; it returns how many.
func (s *Server) pullDay(ctx context.Context, puller *utilpull.Puller, d calendar.Date) (int, error) {
	qctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	start := time.Now()
	rows, st, err := puller.Day(qctx, d, s.ledger.MonitoredClass)
	if err != nil {
		return 0, err
	}
	s.metrics.utilisationClamped.WithLabelValues("above_100").Add(float64(st.Above100))
	s.metrics.utilisationClamped.WithLabelValues("mean_above_peak").Add(float64(st.MeanAbovePeak))
	s.metrics.utilisationSkipped.WithLabelValues("not_monitored").Add(float64(st.Unknown))
	s.metrics.utilisationSkipped.WithLabelValues("incomplete").Add(float64(st.Incomplete))
	if len(rows) == 0 {
		return 0, nil
	}
	// The parts in reverse: the first part's key, which says the day is pulled, lands last,
	// so a day whose later part failed is pulled again rather than taken as whole.
	last := (len(rows) - 1) / ledger.MaxUtilisationRows * ledger.MaxUtilisationRows
	for at := last; at >= 0; at -= ledger.MaxUtilisationRows {
		part := rows[at:min(at+ledger.MaxUtilisationRows, len(rows))]
		key := utilisationKey(d)
		if at > 0 {
			key = fmt.Sprintf("%s/%d", key, at/ledger.MaxUtilisationRows)
		}
		res, _, err := s.prop.submit(ctx, ledger.Submission{Actor: "system", Commands: []ledger.Command{{Key: key, Body: &ledger.UtilisationDelivery{Rows: part}}}})
		if err != nil {
			return 0, err
		}
		if res.Err != nil {
			return 0, res.Err
		}
	}
	s.metrics.utilisationDaysPulled.Inc()
	s.log.Info("utilisation pulled", "day", d.String(), "rows", len(rows), "took", time.Since(start).Round(time.Millisecond))
	return len(rows), nil
}
