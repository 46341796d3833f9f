package raftnode

import "testing"

// Who may speak Raft to a node: the members of the configuration it knows; while that
// configuration does not hold the node itself (it installed a snapshot taken before it was
// admitted: the entry admitting it is still ahead in the log), also the members it was told
// of at admission — else a leader it has not yet heard of, admitted after that snapshot,
// could never send it the entries (found by TestDisasterRecovery: node8, admitted to a
// cluster whose only snapshot was the promoted replica's, refused the leader node6).
func TestIsMemberWhileCatchingUp(t *testing.T) {
	s := &tlsStream{nodeID: "node8", cfg: TLS{Members: []string{"node5", "node6", "node7"}}}
	for id, want := range map[string]bool{"node6": true, "node4": false} {
		if got := s.isMember(id); got != want {
			t.Errorf("no configuration known: isMember(%s) = %v, want %v", id, got, want)
		}
	}
	s.setMembers(map[string]string{"node4": "b:8081"}) // the old snapshot's configuration
	for id, want := range map[string]bool{"node4": true, "node6": true, "node9": false} {
		if got := s.isMember(id); got != want {
			t.Errorf("catching up: isMember(%s) = %v, want %v", id, got, want)
		}
	}
	s.setMembers(map[string]string{"node5": "a", "node7": "c", "node8": "d"}) // in it: the configuration alone
	for id, want := range map[string]bool{"node5": true, "node6": false, "node4": false} {
		if got := s.isMember(id); got != want {
			t.Errorf("caught up: isMember(%s) = %v, want %v", id, got, want)
		}
	}
	// Removed later, it never again takes the word of the members named at its admission.
	s.setMembers(map[string]string{"node5": "a", "node7": "c"})
	if s.isMember("node6") {
		t.Error("a removed node accepts a member named at its admission")
	}
}
