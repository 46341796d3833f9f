package main

import (
	"fmt"

	"github.com/spf13/cobra"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
)

func newClusterCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Raft cluster membership (集群)",
		RunE:  needSubcommand,
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "Show the nodes of the cluster as the addressed node sees them, the leader marked",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			res, err := call(cmd.Context(), g, readPolicy, "cluster status", &v1.StatusRequest{},
				func(ep *endpoint) rpc[v1.StatusRequest, v1.StatusResponse] { return ep.cluster.Status })
			if err != nil {
				return err
			}
			if err := renderPairs(g.stdout, statusPairs(g.l(), res)); err != nil {
				return err
			}
			fmt.Fprintln(g.stdout)
			return nodesTable(g.l(), res.GetNodes()).render(g.stdout)
		}),
	}

	var nodeID, raftAddr, httpURL string
	add := &cobra.Command{
		Use:   "add",
		Short: "Add a voter to the cluster (ledgerd --join does this itself)",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			_, err := call(cmd.Context(), g, adminPolicy, "cluster add",
				&v1.AddNodeRequest{NodeId: nodeID, RaftAddr: raftAddr, HttpUrl: httpURL},
				func(ep *endpoint) rpc[v1.AddNodeRequest, v1.AddNodeResponse] { return ep.cluster.AddNode })
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "%s %s: %s\n", g.l().h("节点", "node"), nodeID, g.l().m("已加入", "added"))
			return err
		}),
	}
	add.Flags().StringVar(&nodeID, "node-id", "", "the new node's Raft server ID (required)")
	add.Flags().StringVar(&raftAddr, "raft", "", "its Raft address HOST:PORT (required)")
	add.Flags().StringVar(&httpURL, "http", "", "its API URL, e.g. http://10.0.0.3:8080 (required)")
	for _, name := range []string{"node-id", "raft", "http"} {
		_ = add.MarkFlagRequired(name)
	}

	var removeID string
	remove := &cobra.Command{
		Use:   "remove",
		Short: "Remove a node from the cluster",
		Args:  cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			_, err := call(cmd.Context(), g, adminPolicy, "cluster remove", &v1.RemoveNodeRequest{NodeId: removeID},
				func(ep *endpoint) rpc[v1.RemoveNodeRequest, v1.RemoveNodeResponse] { return ep.cluster.RemoveNode })
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "%s %s: %s\n", g.l().h("节点", "node"), removeID, g.l().m("已移除", "removed"))
			return err
		}),
	}
	remove.Flags().StringVar(&removeID, "node-id", "", "the node's Raft server ID (required)")
	_ = remove.MarkFlagRequired("node-id")

	cmd.AddCommand(status, add, remove)
	return cmd
}

func statusPairs(l lang, r *v1.StatusResponse) [][2]string {
	leader := r.GetLeaderId()
	if leader == "" {
		leader = l.m("无（选举中）", "none (election in progress)")
	}
	return [][2]string{
		{l.h("应答节点", "Answered by"), r.GetNodeId()},
		{l.h("领导者", "Leader"), leader},
		{l.h("已应用索引", "Applied index"), fmt.Sprint(r.GetAppliedIndex())},
		{l.h("已提交索引", "Commit index"), fmt.Sprint(r.GetCommitIndex())},
		{l.h("条目数", "Line items"), fmt.Sprint(r.GetLineItems())},
		{l.h("链头哈希", "Head hash"), r.GetHeadHash()},
	}
}

// nodesTable lists the members, the leader marked in the Role column.
func nodesTable(l lang, nodes []*v1.ClusterNode) *table {
	t := &table{headers: []string{
		l.h("节点", "Node"), l.h("角色", "Role"), l.h("投票权", "Suffrage"), l.h("可达", "Reachable"), l.h("已应用", "Applied"),
		l.h("落后", "Lag"), l.h("Raft 地址", "Raft address"), l.h("API 地址", "API URL"),
	}, right: []bool{false, false, false, false, true, true, false, false}}
	for _, n := range nodes {
		role := l.h("跟随者", "follower")
		if n.GetLeader() {
			role = "★ " + l.h("领导者", "leader")
		}
		reach, applied, lag := l.h("是", "yes"), fmt.Sprint(n.GetAppliedIndex()), fmt.Sprint(n.GetLag())
		if !n.GetReachable() {
			reach, applied, lag = "✗ "+l.h("不可达", "unreachable"), "-", "-"
		}
		t.add(n.GetNodeId(), role, n.GetSuffrage(), reach, applied, lag, n.GetRaftAddr(), n.GetHttpUrl())
	}
	return t
}
