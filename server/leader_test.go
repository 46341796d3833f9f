package server

import (
	"testing"

	"github.com/cloudledger/cloudledger/calendar"
)

// With Prometheus configured, findings wait for the pull: a day the pull has not passed
// (an outage) is not judged without its rows; days before the pull's first day, and every
// day without Prometheus, do not wait (SPEC: Utilisation — days evaluated once past the
// allowance, with what arrived).
func TestFindingsWaitForThePull(t *testing.T) {
	d := func(s string) calendar.Date {
		v, err := calendar.ParseDate(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	s := &Server{}
	if s.waitsForPull(d("2026-03-05")) {
		t.Error("without Prometheus a day waits")
	}
	s.cfg.Utilisation = &UtilisationConfig{Since: d("2026-03-01")}
	for _, c := range []struct {
		pulled, day string
		wait        bool
	}{{"", "2026-02-28", false}, {"", "2026-03-01", true}, {"2026-03-04", "2026-03-04", false}, {"2026-03-04", "2026-03-05", true}} {
		if c.pulled != "" {
			s.pulledThrough.set(d(c.pulled))
		}
		if got := s.waitsForPull(d(c.day)); got != c.wait {
			t.Errorf("pulled through %q, day %s: waits %v, want %v", c.pulled, c.day, got, c.wait)
		}
	}
}
