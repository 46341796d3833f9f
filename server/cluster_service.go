package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/ledger"
)

type clusterService struct{ s *Server }

func (h *clusterService) Status(ctx context.Context, _ *connect.Request[v1.StatusRequest]) (*connect.Response[v1.StatusResponse], error) {
	servers, err := h.s.node.Servers()
	if err != nil {
		return nil, toConnect(err)
	}
	leaderID, _, _ := h.s.node.Leader()
	head := h.s.ledger.Head()
	out := &v1.StatusResponse{NodeId: h.s.cfg.NodeID, LeaderId: leaderID, AppliedIndex: h.s.node.AppliedIndex(),
		CommitIndex: h.s.node.CommitIndex(), LineItems: head.Seq, HeadHash: head.Hash.String(), ProposalRulesVersion: uint32(h.s.proposalRulesVersion())}
	nodes := make([]*v1.ClusterNode, len(servers))
	var wg sync.WaitGroup
	for i, sv := range servers {
		n := &v1.ClusterNode{NodeId: sv.ID, RaftAddr: sv.RaftAddr, HttpUrl: sv.HTTPURL, Suffrage: sv.Suffrage, Leader: sv.Leader}
		nodes[i] = n
		wg.Add(1)
		go func() { defer wg.Done(); h.s.probe(ctx, n, out.CommitIndex) }()
	}
	wg.Wait()
	out.Nodes = nodes
	return connect.NewResponse(out), nil
}

// ProbeTimeout bounds cluster status's probe of each member's API.
const ProbeTimeout = time.Second

// probe asks a member's /healthz whether it answers and how far it has applied, so that a
// stopped node never shows as a healthy follower.
func (s *Server) probe(ctx context.Context, n *v1.ClusterNode, commit uint64) {
	if n.GetNodeId() == s.cfg.NodeID {
		n.Reachable, n.AppliedIndex, n.RulesVersion = true, s.node.AppliedIndex(), uint32(ledger.MaxRulesVersion())
		n.Lag = commit - min(commit, n.AppliedIndex)
		return
	}
	if n.GetHttpUrl() == "" {
		n.Error = "no API address known"
		return
	}
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(n.GetHttpUrl(), "/")+"/healthz", nil)
	if err != nil {
		n.Error = err.Error()
		return
	}
	res, err := s.probeClient.Do(req)
	if err != nil {
		n.Error = err.Error()
		return
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
	if res.StatusCode != http.StatusOK {
		n.Error = fmt.Sprintf("HTTP %d", res.StatusCode)
		return
	}
	for _, f := range strings.Fields(string(body)) {
		if v, ok := strings.CutPrefix(f, "applied="); ok {
			n.AppliedIndex, _ = strconv.ParseUint(v, 10, 64)
		}
		if v, ok := strings.CutPrefix(f, "rules="); ok {
			r, _ := strconv.ParseUint(v, 10, 8)
			n.RulesVersion = uint32(r)
		}
	}
	n.Reachable = true
	n.Lag = commit - min(commit, n.AppliedIndex)
}
