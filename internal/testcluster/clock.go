package testcluster

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Calendar2031 is an official calendar of 2031 as tests make it (2031 is far enough ahead
// that a node's clock can be moved into it, forward only): National Day 1–7 October off,
// Saturday 11 October worked (the pattern of 2026); every other weekday works.
const Calendar2031 = `{"year": 2031, "days": [
 {"name": "国庆节", "date": "2031-10-01", "isOffDay": true}, {"name": "国庆节", "date": "2031-10-02", "isOffDay": true},
 {"name": "国庆节", "date": "2031-10-03", "isOffDay": true}, {"name": "国庆节", "date": "2031-10-04", "isOffDay": true},
 {"name": "国庆节", "date": "2031-10-05", "isOffDay": true}, {"name": "国庆节", "date": "2031-10-06", "isOffDay": true},
 {"name": "国庆节", "date": "2031-10-07", "isOffDay": true}, {"name": "国庆节", "date": "2031-10-11", "isOffDay": false}]}`

// ClockAt moves the clock of a node of the chaos build (Options.BuildTags "chaos") so that
// it reads at, an RFC 3339 time, and waits until the node has read it. The ledger's clock
// only moves forward: a test moves it ahead, never back.
func (n *Node) ClockAt(tb testing.TB, at string) {
	tb.Helper()
	n.writeClockOffset(tb, at)
	time.Sleep(250 * time.Millisecond) // the node re-reads the offset every 100 ms
}

func (n *Node) writeClockOffset(tb testing.TB, at string) {
	tb.Helper()
	target, err := time.Parse(time.RFC3339, at)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(n.DataDir, "chaos-clock-offset"), []byte(time.Until(target).String()), 0o600); err != nil {
		tb.Fatal(err)
	}
}
