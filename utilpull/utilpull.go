// Package utilpull reads a closed day's utilisation rows from Prometheus — or anything that
// answers its HTTP query API: Thanos, Mimir, VictoriaMetrics (SPEC: Utilisation). The raw
// samples stay where they are; what comes back is one row per resource and day, in the
// ledger's terms. The server's leader decides which day to pull and proposes the rows.
package utilpull

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/shopspring/decimal"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/ledger"
)

// Queries are the PromQL the pull runs at the end of a day (00:00 of the next day, Asia/
// Shanghai), each answering percent of the allocation per series labelled `resource`:
// per monitored quota class its mean and peak over the day, and the availability of every
// resource. The defaults read the metrics an exporter of the cloud's monitoring writes
// (README, Utilisation); an operator gives others with --prometheus-queries FILE.
type Queries struct {
	Mean, Peak   map[string]string // quota class → PromQL
	Availability string
}

// DefaultQueries are the documented defaults.
func DefaultQueries() Queries {
	q := Queries{Mean: map[string]string{}, Peak: map[string]string{},
		Availability: "100 * avg_over_time(cloudledger_resource_up[1d])"}
	for class, metric := range map[string]string{
		"vcpu":           "cloudledger_cpu_utilisation_percent",
		"memory_gb":      "cloudledger_memory_utilisation_percent",
		"storage_gb":     "cloudledger_storage_utilisation_percent",
		"bandwidth_mbps": "cloudledger_bandwidth_utilisation_percent",
	} {
		q.Mean[class] = "avg_over_time(" + metric + "[1d])"
		q.Peak[class] = "max_over_time(" + metric + "[1d])"
	}
	return q
}

// MaxQueryBytes bounds a query of the file.
const MaxQueryBytes = 4096

// ReadQueries reads a queries file: a CSV `query,promql` with the rows `<class>.mean`,
// `<class>.peak` (vcpu, memory_gb, storage_gb, bandwidth_mbps) and `availability`; a row
// left out keeps its default.
func ReadQueries(r io.Reader, name string) (Queries, error) {
	q := DefaultQueries()
	cr := csv.NewReader(io.LimitReader(r, 64<<10))
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil {
		return q, fmt.Errorf("%s: %w", name, err)
	}
	for i, row := range rows {
		if i == 0 && len(row) > 0 && row[0] == "query" {
			continue // the header
		}
		if len(row) != 2 || len(row[1]) > MaxQueryBytes || strings.TrimSpace(row[1]) == "" {
			return q, fmt.Errorf("%s:%d: a row is `query,promql` (PromQL of at most %d bytes)", name, i+1, MaxQueryBytes)
		}
		key, promql := strings.TrimSpace(row[0]), strings.TrimSpace(row[1])
		class, which, _ := strings.Cut(key, ".")
		switch {
		case key == "availability":
			q.Availability = promql
		case which == "mean" && q.Mean[class] != "":
			q.Mean[class] = promql
		case which == "peak" && q.Peak[class] != "":
			q.Peak[class] = promql
		default:
			return q, fmt.Errorf("%s:%d: unknown query %q (want <class>.mean, <class>.peak for vcpu, memory_gb, storage_gb, bandwidth_mbps, or availability)", name, i+1, key)
		}
	}
	return q, nil
}

// Stats count what a pull made of the answers: values above 100 taken as 100, means above
// their peak taken as the peak (SPEC: never failing the day), series of resources the
// ledger does not monitor (skipped), resources without all three values (no row).
type Stats struct {
	Above100, MeanAbovePeak, Unknown, Incomplete int
}

// Puller queries one Prometheus.
type Puller struct {
	api     promv1.API
	queries Queries
}

// New is a puller of the API at url.
func New(url string, q Queries) (*Puller, error) {
	c, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		return nil, err
	}
	return &Puller{api: promv1.NewAPI(c), queries: q}, nil
}

// Day pulls day d's rows of the resources classOf knows as monitored (it answers a
// resource's quota class, ok false for one the ledger does not have). Rows come sorted by
// resource, values half-up to 2 decimals within 0–100, the mean at most the peak.
func (p *Puller) Day(ctx context.Context, d calendar.Date, classOf func(resource string) (string, bool)) ([]ledger.UtilisationRow, Stats, error) {
	var st Stats
	at := d.AddDays(1).Start() // the day's end: [1d] windows cover the day
	avail, err := p.vector(ctx, p.queries.Availability, at)
	if err != nil {
		return nil, st, err
	}
	type vals struct{ mean, peak *decimal.Decimal }
	byRes := map[string]*vals{}
	classes := make([]string, 0, len(p.queries.Mean))
	for c := range p.queries.Mean {
		classes = append(classes, c)
	}
	slices.Sort(classes)
	for _, class := range classes {
		for which, q := range map[string]string{"mean": p.queries.Mean[class], "peak": p.queries.Peak[class]} {
			vec, err := p.vector(ctx, q, at)
			if err != nil {
				return nil, st, err
			}
			for res, v := range vec {
				if c, ok := classOf(res); !ok || c != class {
					st.Unknown++
					continue
				}
				x := byRes[res]
				if x == nil {
					x = &vals{}
					byRes[res] = x
				}
				if which == "mean" {
					x.mean = &v
				} else {
					x.peak = &v
				}
			}
		}
	}
	var rows []ledger.UtilisationRow
	for res, x := range byRes {
		a, ok := avail[res]
		if x.mean == nil || x.peak == nil || !ok {
			st.Incomplete++
			continue
		}
		row := ledger.UtilisationRow{Resource: res, Date: d, Mean: clamp(*x.mean, &st), Peak: clamp(*x.peak, &st), Availability: clamp(a, &st)}
		if row.Mean.GreaterThan(row.Peak) {
			row.Mean = row.Peak
			st.MeanAbovePeak++
		}
		rows = append(rows, row)
	}
	slices.SortFunc(rows, func(a, b ledger.UtilisationRow) int { return strings.Compare(a.Resource, b.Resource) })
	return rows, st, nil
}

var hundred = decimal.NewFromInt(100)

// clamp rounds a value half-up to 2 decimals into 0–100 (above 100 counts in Above100).
func clamp(v decimal.Decimal, st *Stats) decimal.Decimal {
	v = v.Round(2)
	switch {
	case v.GreaterThan(hundred):
		st.Above100++
		return hundred
	case v.IsNegative():
		return decimal.Zero
	}
	return v
}

// vector runs an instant query and returns its samples by their `resource` label, as the
// decimal of their exact text (never a float's rounding).
func (p *Puller) vector(ctx context.Context, q string, at time.Time) (map[string]decimal.Decimal, error) {
	v, _, _, err := p.api.Query(ctx, q, at)
	if err != nil {
		return nil, fmt.Errorf("prometheus: %s: %w", q, err)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("prometheus: %s answered a %s, not a vector", q, v.Type())
	}
	out := make(map[string]decimal.Decimal, len(vec))
	for _, s := range vec {
		res := string(s.Metric["resource"])
		if res == "" {
			continue
		}
		d, err := decimal.NewFromString(strconv.FormatFloat(float64(s.Value), 'f', -1, 64))
		if err != nil {
			continue // NaN or ±Inf: no value
		}
		out[res] = d
	}
	return out, nil
}

// DayOf is the Asia/Shanghai day of an instant.
func DayOf(t time.Time) calendar.Date { return calendar.DateOf(t) }
