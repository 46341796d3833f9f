package raftnode

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"
)

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

// Issue 28 (a new member catches up by snapshot; SPEC: Access — Membership is not a
// business role): a node that knows no configuration yet (it joined and waits for the
// leader's snapshot) keeps the connections of the members named at its admission: the
// membership poll closed every connection not in the configuration, so the leader's
// snapshot stream was cut every 250 ms and a new member never caught up with a ledger of
// 10,000,000 line items (found by BenchmarkScaleNode). A peer it may not hear from is still
// cut off, and so is a member removed later.
func TestSetMembersKeepsTheAdmittingLeadersStream(t *testing.T) {
	s := &tlsStream{nodeID: "node8", cfg: TLS{Members: []string{"node5"}}, conns: map[*tls.Conn]string{}}
	open := func(id string) (*tls.Conn, net.Conn) {
		ours, theirs := net.Pipe()
		c := tls.Client(ours, &tls.Config{InsecureSkipVerify: true})
		s.track(c, id)
		return c, theirs
	}
	closed := func(c *tls.Conn, theirs net.Conn) bool {
		s.mu.Lock()
		_, tracked := s.conns[c]
		s.mu.Unlock()
		_ = theirs.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		_, err := theirs.Read(make([]byte, 1))
		return !tracked && err == io.EOF
	}
	leader, leaderEnd := open("node5")
	stranger, strangerEnd := open("node4")
	s.setMembers(map[string]string{}) // no configuration known yet
	if closed(leader, leaderEnd) || !closed(stranger, strangerEnd) {
		t.Fatalf("no configuration known: the admitting member's connection closed %v (want open), node4's %v (want closed)",
			closed(leader, leaderEnd), closed(stranger, strangerEnd))
	}
	s.setMembers(map[string]string{"node5": "a", "node8": "b"})
	if closed(leader, leaderEnd) {
		t.Fatal("in the configuration with the leader: its connection was closed")
	}
	s.setMembers(map[string]string{"node7": "c", "node8": "b"})
	if !closed(leader, leaderEnd) {
		t.Fatal("node5 removed: its connection is still open")
	}
}
