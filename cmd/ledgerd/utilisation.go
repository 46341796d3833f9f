package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/server"
	"github.com/cloudledger/cloudledger/utilpull"
)

// utilisationFlags turn on the leader's pull of daily utilisation rows (SPEC: Utilisation).
type utilisationFlags struct {
	url, queries, since string
	lateness, interval  time.Duration
}

func (u *utilisationFlags) register() {
	flag.StringVar(&u.url, "prometheus", "", "URL of the Prometheus (or Thanos, Mimir, VictoriaMetrics) HTTP query API the leader pulls daily utilisation rows from; empty: no pull")
	flag.StringVar(&u.queries, "prometheus-queries", "", "CSV `query,promql` replacing default queries (<class>.mean, <class>.peak for vcpu, memory_gb, storage_gb, bandwidth_mbps; availability)")
	flag.StringVar(&u.since, "utilisation-since", "", "first day (YYYY-MM-DD) the pull reads; default: 30 days before today (each day is pulled once: days already on the ledger are not asked again)")
	flag.DurationVar(&u.lateness, "utilisation-lateness", 2*time.Hour, "how long after a day ends (Asia/Shanghai) it is pulled, so that late samples are in")
	flag.DurationVar(&u.interval, "utilisation-pull-interval", time.Minute, "how often the leader looks for days due")
}

func (u *utilisationFlags) config(now time.Time) (*server.UtilisationConfig, error) {
	if u.url == "" {
		return nil, nil
	}
	c := &server.UtilisationConfig{PrometheusURL: u.url, Queries: utilpull.DefaultQueries(), Lateness: u.lateness, Interval: u.interval,
		Since: calendar.DateOf(now).AddDays(-30)}
	if u.since != "" {
		d, err := calendar.ParseDate(u.since)
		if err != nil {
			return nil, fmt.Errorf("--utilisation-since: %w", err)
		}
		c.Since = d
	}
	if u.queries != "" {
		f, err := os.Open(u.queries)
		if err != nil {
			return nil, fmt.Errorf("--prometheus-queries: %w", err)
		}
		defer f.Close()
		if c.Queries, err = utilpull.ReadQueries(f, u.queries); err != nil {
			return nil, err
		}
	}
	return c, nil
}
