package server

import (
	"context"

	"connectrpc.com/connect"

	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
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
		CommitIndex: h.s.node.CommitIndex(), LineItems: head.Seq, HeadHash: head.Hash.String()}
	for _, sv := range servers {
		out.Nodes = append(out.Nodes, &v1.ClusterNode{NodeId: sv.ID, RaftAddr: sv.RaftAddr, HttpUrl: sv.HTTPURL, Suffrage: sv.Suffrage, Leader: sv.Leader})
	}
	return connect.NewResponse(out), nil
}

func (h *clusterService) AddNode(ctx context.Context, req *connect.Request[v1.AddNodeRequest]) (*connect.Response[v1.AddNodeResponse], error) {
	m := req.Msg
	if m.GetNodeId() == "" || m.GetRaftAddr() == "" || m.GetHttpUrl() == "" {
		return nil, errf(errcode.MissingField, "node_id, raft_addr and http_url are required")
	}
	out, err := h.s.admitCertificate(req.Peer().Addr, m)
	if err != nil {
		return nil, toConnect(err)
	}
	if !m.GetCertificateOnly() {
		if err := h.s.node.AddVoter(ctx, m.GetNodeId(), m.GetRaftAddr(), m.GetHttpUrl()); err != nil {
			return nil, toConnect(err)
		}
	}
	servers, err := h.s.node.Servers()
	if err != nil {
		return nil, toConnect(err)
	}
	for _, sv := range servers {
		out.Members = append(out.Members, sv.ID)
	}
	return connect.NewResponse(out), nil
}

func (h *clusterService) RemoveNode(ctx context.Context, req *connect.Request[v1.RemoveNodeRequest]) (*connect.Response[v1.RemoveNodeResponse], error) {
	if req.Msg.GetNodeId() == "" {
		return nil, errf(errcode.MissingField, "node_id is required")
	}
	if err := h.s.node.RemoveServer(ctx, req.Msg.GetNodeId()); err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&v1.RemoveNodeResponse{}), nil
}
