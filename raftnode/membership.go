package raftnode

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/raft"
)

// ServerInfo describes one member of the raft configuration.
type ServerInfo struct {
	ID, RaftAddr, HTTPURL string
	Suffrage              string // raft.ServerSuffrage: "Voter", "Nonvoter", "Staging"
	Leader                bool
}

// AddVoter adds (or updates the address of) a voting member, then replicates
// its node metadata. Leader only. Calling it again for an identical member
// changes nothing.
func (n *Node) AddVoter(ctx context.Context, id, raftAddr, httpURL string) error {
	if id == "" || raftAddr == "" {
		return errors.New("raftnode: AddVoter needs an id and a raft address")
	}
	if _, err := encodeNodeMetaCommand(nodeMetaCommand{Op: nodeMetaOpSet, ID: id, HTTPURL: httpURL}); err != nil {
		return fmt.Errorf("raftnode: AddVoter: %w", err)
	}
	if err := n.precheck(ctx); err != nil {
		return err
	}
	member, err := n.member(id)
	if err != nil {
		return err
	}
	if member == nil || member.Address != raft.ServerAddress(raftAddr) || member.Suffrage != raft.Voter {
		f := n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(raftAddr), 0, enqueueTimeout(ctx))
		if err := n.await(ctx, f); err != nil {
			return fmt.Errorf("raftnode: add voter %s: %w", id, err)
		}
	}
	return n.ensureNodeMeta(ctx, id, httpURL)
}

// RemoveServer removes a member and its node metadata. Leader only. Removing
// an id that is not a member only clears leftover metadata. A leader removing
// itself steps down (and, as raft's ShutdownOnRemove says, stops raft).
func (n *Node) RemoveServer(ctx context.Context, id string) error {
	if err := n.precheck(ctx); err != nil {
		return err
	}
	member, err := n.member(id)
	if err != nil {
		return err
	}
	if id == n.cfg.NodeID {
		// Once removed we are no longer leader and could not propose the
		// metadata deletion, so do it first.
		if err := n.deleteNodeMeta(ctx, id); err != nil {
			return err
		}
	}
	if member != nil {
		f := n.raft.RemoveServer(raft.ServerID(id), 0, enqueueTimeout(ctx))
		if err := n.await(ctx, f); err != nil {
			return fmt.Errorf("raftnode: remove server %s: %w", id, err)
		}
	}
	if id == n.cfg.NodeID {
		return nil
	}
	return n.deleteNodeMeta(ctx, id)
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

func (n *Node) deleteNodeMeta(ctx context.Context, id string) error {
	if _, ok := n.nodeURL(id); !ok {
		return nil
	}
	return n.proposeNodeMeta(ctx, nodeMetaCommand{Op: nodeMetaOpDelete, ID: id})
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
