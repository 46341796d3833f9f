package raftnode

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
)

// ServerInfo describes one member of the raft configuration.
type ServerInfo struct {
	ID, RaftAddr, HTTPURL string
	Suffrage              string // raft.ServerSuffrage: "Voter", "Nonvoter", "Staging"
	Leader                bool
}

// ErrRetired is returned when a removed member's id is to be added again: a removed node
// never comes back under its old id (its certificate and disk may be in anyone's hands).
var ErrRetired = errors.New("raftnode: the id belonged to a removed member")

// ErrMemberExists is returned by AddMember for an id that is a member with another address
// or suffrage: changing a member is removing it and adding a new one.
var ErrMemberExists = errors.New("raftnode: the id is a member already")

// ErrAddressInUse is returned by AddMember for a Raft address another member has.
var ErrAddressInUse = errors.New("raftnode: the address is another member's")

// ErrNotAnswering is returned by AddMember, over TLS, when nothing answers at the new
// member's Raft address with a certificate of the cluster's CA for its id.
var ErrNotAnswering = errors.New("raftnode: the new member does not answer at its Raft address as itself")

// probeTimeout bounds the TLS handshake AddMember makes with a new member.
const probeTimeout = 5 * time.Second

// AddVoter adds (or updates the address of) a voting member, then replicates
// its node metadata. Leader only. Calling it again for an identical member
// changes nothing.
func (n *Node) AddVoter(ctx context.Context, id, raftAddr, httpURL string) error {
	return n.addServer(ctx, id, raftAddr, httpURL, raft.Voter, true)
}

// AddMember adds a new member, a voter or (nonvoter) a replica that receives the log
// without voting. Leader only. It refuses the id of a removed member (ErrRetired) and of a
// member with another address or suffrage (ErrMemberExists); for an identical member it
// changes nothing, so a retried admission succeeds.
func (n *Node) AddMember(ctx context.Context, id, raftAddr, httpURL string, nonvoter bool) error {
	suffrage := raft.Voter
	if nonvoter {
		suffrage = raft.Nonvoter
	}
	return n.addServer(ctx, id, raftAddr, httpURL, suffrage, false)
}

func (n *Node) addServer(ctx context.Context, id, raftAddr, httpURL string, suffrage raft.ServerSuffrage, mayChange bool) error {
	if id == "" || raftAddr == "" {
		return errors.New("raftnode: adding a member needs an id and a raft address")
	}
	if _, err := encodeNodeMetaCommand(nodeMetaCommand{Op: nodeMetaOpSet, ID: id, HTTPURL: httpURL}); err != nil {
		return fmt.Errorf("raftnode: add member: %w", err)
	}
	if err := n.precheck(ctx); err != nil {
		return err
	}
	if n.Retired(id) {
		return fmt.Errorf("%w: %s", ErrRetired, id)
	}
	member, err := n.member(id)
	if err != nil {
		return err
	}
	same := member != nil && member.Address == raft.ServerAddress(raftAddr) && member.Suffrage == suffrage
	if member != nil && !same && !mayChange {
		return fmt.Errorf("%w: %s is a %s at %s", ErrMemberExists, id, member.Suffrage, member.Address)
	}
	if other, err := n.memberAt(raftAddr); err != nil {
		return err
	} else if other != "" && other != id {
		return fmt.Errorf("%w: %s is the Raft address of member %s", ErrAddressInUse, raftAddr, other)
	}
	if !same && n.stream != nil {
		// The node must answer at its address as itself before it counts towards the
		// quorum: a wrong address would cost a vote, another member's would be a hijack.
		if err := n.stream.probe(raftAddr, id, probeTimeout); err != nil {
			return fmt.Errorf("%w: %s at %s: %v", ErrNotAnswering, id, raftAddr, err)
		}
	}
	if !same {
		var f raft.IndexFuture
		if suffrage == raft.Nonvoter {
			f = n.raft.AddNonvoter(raft.ServerID(id), raft.ServerAddress(raftAddr), 0, enqueueTimeout(ctx))
		} else {
			f = n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(raftAddr), 0, enqueueTimeout(ctx))
		}
		if err := n.await(ctx, f); err != nil {
			return fmt.Errorf("raftnode: add %s %s: %w", suffrage, id, err)
		}
	}
	if url, ok := n.nodeURL(id); ok && url == httpURL {
		return nil
	}
	return n.proposeNodeMeta(ctx, nodeMetaCommand{Op: nodeMetaOpSet, ID: id, HTTPURL: httpURL})
}

// RemoveServer removes a member and its node metadata, and records its id as retired
// (AddMember refuses it from then on). Leader only. Removing an id that is not a member
// only clears leftover metadata. A leader removing itself steps down (and, as raft's
// ShutdownOnRemove says, stops raft).
func (n *Node) RemoveServer(ctx context.Context, id string) error {
	if err := n.precheck(ctx); err != nil {
		return err
	}
	member, err := n.member(id)
	if err != nil {
		return err
	}
	// Retire the id before the configuration changes: a leader that fails between the two
	// leaves an id that can no longer be added back, never a removed member that can. (A
	// leader removing itself could not propose anything afterwards either.)
	if err := n.deleteNodeMeta(ctx, id); err != nil {
		return err
	}
	if member != nil {
		f := n.raft.RemoveServer(raft.ServerID(id), 0, enqueueTimeout(ctx))
		if err := n.await(ctx, f); err != nil {
			return fmt.Errorf("raftnode: remove server %s: %w", id, err)
		}
	}
	return nil
}

// Servers lists the latest raft configuration with each member's HTTP URL.
func (n *Node) Servers() ([]ServerInfo, error) {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, n.mapRaftError(err)
	}
	_, leaderID := n.raft.LeaderWithID()
	servers := f.Configuration().Servers
	out := make([]ServerInfo, 0, len(servers))
	for _, s := range servers {
		url, _ := n.nodeURL(string(s.ID))
		out = append(out, ServerInfo{
			ID: string(s.ID), RaftAddr: string(s.Address), HTTPURL: url,
			Suffrage: s.Suffrage.String(), Leader: s.ID == leaderID,
		})
	}
	return out, nil
}

// memberAt returns the id of the member whose Raft address is addr, or "".
func (n *Node) memberAt(addr string) (string, error) {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return "", n.mapRaftError(err)
	}
	for _, s := range f.Configuration().Servers {
		if s.Address == raft.ServerAddress(addr) {
			return string(s.ID), nil
		}
	}
	return "", nil
}

// member returns the server with id in the latest configuration, or nil.
func (n *Node) member(id string) (*raft.Server, error) {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, n.mapRaftError(err)
	}
	for _, s := range f.Configuration().Servers {
		if s.ID == raft.ServerID(id) {
			return &s, nil
		}
	}
	return nil, nil
}

// ensureNodeMeta proposes id -> httpURL unless it is already applied here.
func (n *Node) ensureNodeMeta(ctx context.Context, id, httpURL string) error {
	if url, ok := n.nodeURL(id); ok && url == httpURL {
		return nil
	}
	return n.proposeNodeMeta(ctx, nodeMetaCommand{Op: nodeMetaOpSet, ID: id, HTTPURL: httpURL})
}

// deleteNodeMeta forgets id's URL and retires the id.
func (n *Node) deleteNodeMeta(ctx context.Context, id string) error {
	if _, ok := n.nodeURL(id); !ok && n.Retired(id) {
		return nil
	}
	return n.proposeNodeMeta(ctx, nodeMetaCommand{Op: nodeMetaOpDelete, ID: id, Retire: true})
}

func (n *Node) proposeNodeMeta(ctx context.Context, c nodeMetaCommand) error {
	cmd, err := encodeNodeMetaCommand(c)
	if err != nil {
		return fmt.Errorf("raftnode: node metadata: %w", err)
	}
	res, err := n.applyCommand(ctx, cmd)
	if err != nil {
		return fmt.Errorf("raftnode: node metadata for %s: %w", c.ID, err)
	}
	if err, ok := res.(error); ok {
		return fmt.Errorf("raftnode: node metadata for %s: %w", c.ID, err)
	}
	return nil
}

// InConfiguration reports whether this node is in its latest Raft configuration: false for
// a node that has not been admitted yet (or was removed).
func (n *Node) InConfiguration() bool {
	m, err := n.member(n.cfg.NodeID)
	return err == nil && m != nil
}
