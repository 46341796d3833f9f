package raftnode

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// Node metadata maps a raft server id to the HTTP URL of its API so that any
// node can tell a client where the leader is. It is replicated through 0x02
// log entries, applied on the apply goroutine only (so it is deterministic),
// persisted in the stable store with the index of the last metadata entry
// applied, and carried in snapshots.

// Envelope bytes: the first byte of every log command raftnode writes.
const (
	envelopeUser     byte = 0x01
	envelopeNodeMeta byte = 0x02
)

// Limits on node metadata, checked when proposing and again when applying.
const (
	maxNodeIDBytes      = 256
	maxHTTPURLBytes     = 2048
	maxNodeMetaCmdBytes = 4096
)

const (
	nodeMetaOpSet    = "set"
	nodeMetaOpDelete = "delete"
)

// nodeMetaStableKey is the stable-store key holding nodeMetaState. raft's own
// keys (CurrentTerm, LastVoteTerm, LastVoteCand) cannot collide with it.
var nodeMetaStableKey = []byte("raftnode/node-metadata")

// nodeMetaCommand is the body of a 0x02 entry. Unknown JSON fields are
// ignored so that a newer writer does not break an older reader.
type nodeMetaCommand struct {
	Op      string `json:"op"`
	ID      string `json:"id"`
	HTTPURL string `json:"http_url,omitempty"`
	// Retire, with a delete, records that the id was a member: no certificate or admission
	// is ever given to it again. (A node of an older version ignores it and only deletes.)
	Retire bool `json:"retire,omitempty"`
}

// nodeMetaState is what the stable store and snapshots hold.
type nodeMetaState struct {
	// Index is the log index of the last metadata entry applied.
	Index uint64            `json:"index"`
	Nodes map[string]string `json:"nodes"`
	// Retired are the ids of removed members.
	Retired map[string]bool `json:"retired,omitempty"`
}

func (c nodeMetaCommand) validate() error {
	switch c.Op {
	case nodeMetaOpSet, nodeMetaOpDelete:
	default:
		return fmt.Errorf("unknown node metadata op %q", c.Op)
	}
	if c.ID == "" || len(c.ID) > maxNodeIDBytes {
		return fmt.Errorf("node id must be 1..%d bytes, got %d", maxNodeIDBytes, len(c.ID))
	}
	if len(c.HTTPURL) > maxHTTPURLBytes {
		return fmt.Errorf("http url longer than %d bytes", maxHTTPURLBytes)
	}
	return nil
}

// encodeNodeMetaCommand returns the full log command, envelope byte included.
func encodeNodeMetaCommand(c nodeMetaCommand) ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	body, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	return append([]byte{envelopeNodeMeta}, body...), nil
}

// decodeNodeMetaCommand decodes the body of a 0x02 entry (envelope stripped).
func decodeNodeMetaCommand(body []byte) (nodeMetaCommand, error) {
	var c nodeMetaCommand
	if len(body) > maxNodeMetaCmdBytes {
		return c, fmt.Errorf("node metadata command of %d bytes exceeds %d", len(body), maxNodeMetaCmdBytes)
	}
	if err := json.Unmarshal(body, &c); err != nil {
		return c, fmt.Errorf("node metadata command: %v", err)
	}
	return c, c.validate()
}

func (c nodeMetaCommand) applyTo(s *nodeMetaState) {
	switch c.Op {
	case nodeMetaOpSet:
		s.Nodes[c.ID] = c.HTTPURL
	case nodeMetaOpDelete:
		delete(s.Nodes, c.ID)
		if c.Retire {
			if s.Retired == nil {
				s.Retired = map[string]bool{}
			}
			s.Retired[c.ID] = true
		}
	}
}

func loadNodeMeta(store *raftboltdb.BoltStore) (nodeMetaState, error) {
	state := nodeMetaState{Nodes: map[string]string{}}
	raw, err := store.Get(nodeMetaStableKey)
	if errors.Is(err, raftboltdb.ErrKeyNotFound) {
		return state, nil
	}
	if err != nil {
		return state, fmt.Errorf("raftnode: load node metadata: %w", err)
	}
	if err := json.Unmarshal(raw, &state); err != nil {
		return state, fmt.Errorf("raftnode: decode node metadata: %w", err)
	}
	if state.Nodes == nil {
		state.Nodes = map[string]string{}
	}
	return state, nil
}

func saveNodeMeta(store *raftboltdb.BoltStore, state nodeMetaState) error {
	raw, err := json.Marshal(state)
	if err != nil {
		return err
	}
	return store.Set(nodeMetaStableKey, raw)
}

// setNodeMeta installs a new metadata state in memory and, best effort, on
// disk. A failed write is logged, not fatal: the in-memory state is right, and
// after a restart the lower stored index makes the log replay (or the
// snapshot) bring it back.
func (n *Node) setNodeMeta(state nodeMetaState) {
	if err := saveNodeMeta(n.store, state); err != nil {
		n.logger.Error("raftnode: persisting node metadata failed", "index", state.Index, "error", err)
	}
	n.mu.Lock()
	n.nodes = state.Nodes
	n.retired = state.Retired
	n.metaIndex = state.Index
	n.broadcastLocked()
	n.mu.Unlock()
}

// nodeMetaSnapshot returns a copy of the current metadata.
func (n *Node) nodeMetaSnapshot() nodeMetaState {
	n.mu.Lock()
	defer n.mu.Unlock()
	return nodeMetaState{Index: n.metaIndex, Nodes: maps.Clone(n.nodes), Retired: maps.Clone(n.retired)}
}

// Retired reports whether id was a member and has been removed (as this node has applied).
func (n *Node) Retired(id string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.retired[id]
}

func (n *Node) nodeURL(id string) (string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	url, ok := n.nodes[id]
	return url, ok
}
