package server

import (
	"reflect"
	"testing"
)

// hashicorp/raft's series as Prometheus names them (issue 29: promtool accepts them): a
// timing in seconds, a count and a ratio unchanged, a gauge in milliseconds in seconds.
func TestRaftSeriesNames(t *testing.T) {
	for _, c := range []struct {
		key     []string
		sample  bool
		val     float64
		want    []string
		wantVal float64
	}{
		{[]string{"cloudledger", "raft", "commitTime"}, true, 1500, []string{"cloudledger", "raft", "commit_time", "seconds"}, 1.5},
		{[]string{"cloudledger", "raft", "fsm", "applyBatchNum"}, true, 64, []string{"cloudledger", "raft", "fsm", "apply_batch_num"}, 64},
		{[]string{"cloudledger", "raft", "thread", "main", "saturation"}, true, 0.5, []string{"cloudledger", "raft", "thread", "main", "saturation"}, 0.5},
		{[]string{"cloudledger", "raft", "fsm", "lastRestoreDuration"}, false, 250, []string{"cloudledger", "raft", "fsm", "last_restore_duration", "seconds"}, 0.25},
		{[]string{"cloudledger", "raft", "peers"}, false, 3, []string{"cloudledger", "raft", "peers"}, 3},
		{[]string{"cloudledger", "raft", "appendEntries", "rpc"}, true, 2, []string{"cloudledger", "raft", "append_entries", "rpc", "seconds"}, 0.002},
	} {
		var k []string
		var v float64
		if c.sample {
			kk, vv := sample(c.key, float32(c.val))
			k, v = kk, float64(vv)
		} else {
			k, v = gauge(c.key, c.val)
		}
		if !reflect.DeepEqual(k, c.want) || v < c.wantVal*0.999 || v > c.wantVal*1.001 {
			t.Errorf("%v %v: %v %v, want %v %v", c.key, c.val, k, v, c.want, c.wantVal)
		}
	}
	if got := snakeCase("FSM"); got != "fsm" {
		t.Errorf("FSM → %q", got)
	}
}
