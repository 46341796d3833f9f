package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/internal/ticket"
)

// removalTicketTTL: a removal ticket is used at once by the command that made it.
const removalTicketTTL = 5 * time.Minute

// operatorHost checks that dir is a node's data directory on this host and returns the
// fingerprint of the cluster's CA when the node runs the cluster's own CA (a join token
// carries it, so the joining node can tell it reached the right cluster).
func operatorHost(g *globals, dir string) (string, error) {
	if _, err := os.Stat(filepath.Join(dir, "raft", "raft.db")); err != nil {
		return "", &cliError{code: codeFile, exit: exitFailure, message: dir + " is not the data directory of a CloudLedger node on this host (no raft/raft.db): membership tickets are made on a member's host"}
	}
	pin, err := ticket.DataDirPin(dir)
	if err != nil {
		return "", &cliError{code: codeFile, exit: exitFailure, message: err.Error()}
	}
	if _, err := os.Stat(filepath.Join(dir, "raft-tls", "ca-key.pem")); pin != "" && err != nil {
		fmt.Fprintln(g.stderr, g.l().m("注意：此节点不持有集群 CA 私钥，无法为新节点签发证书；新节点须自带集群 CA 签发的证书（--raft-ca/--raft-cert/--raft-key）",
			"note: this node holds no CA key and cannot sign the new node's certificate; the new node must bring a certificate of the cluster's CA (--raft-ca/--raft-cert/--raft-key)"))
	}
	return pin, nil
}

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

	var dataDir, nodeID string
	var ttl time.Duration
	var nonvoter bool
	add := &cobra.Command{
		Use:   "add --data-dir DIR --node-id ID [--ttl 1h] [--nonvoter]",
		Short: "Make a join ticket for a new node: an operator's act on a member's host (no API call)",
		Long: `Make a single-use join ticket for one node id, on the host of a running member, by
writing into that member's data directory (membership is not a business role: no account
can add a node). Prints the ticket alone on stdout, once; the member keeps only its hash.

Start the new node with --join <that member's API URL> and the ticket in
--join-ticket-file FILE (or CLOUDLEDGER_JOIN_TICKET). It makes its own key; the member
signs its certificate when it holds the cluster's CA key (raft-tls/ca-key.pem) — never for
an id that is or was a member — and has the leader add it. With the operator's PKI, give
the node its certificate (--raft-ca/--raft-cert/--raft-key) instead.`,
		Args: cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			pin, err := operatorHost(g, dataDir)
			if err != nil {
				return err
			}
			tok, err := ticket.Make(dataDir, ticket.Join, nodeID, nonvoter, ttl, pin, time.Now())
			if err != nil {
				return usageErr("%v", err)
			}
			kind := g.l().m("投票成员", "a voter")
			if nonvoter {
				kind = g.l().m("无投票权的副本", "a replica without a vote")
			}
			fmt.Fprintf(g.stderr, "%s %s (%s), %s %s; %s\n", g.l().m("加入凭证：节点", "join ticket for node"), nodeID, kind,
				g.l().m("有效至", "valid until"), time.Now().Add(ttl).Format(time.RFC3339), g.l().m("仅可使用一次", "single use"))
			_, err = fmt.Fprintln(g.stdout, tok)
			return err
		}),
	}
	add.Flags().StringVar(&dataDir, "data-dir", "", "data directory of the member on this host (required)")
	add.Flags().StringVar(&nodeID, "node-id", "", "the new node's id (required)")
	add.Flags().DurationVar(&ttl, "ttl", ticket.DefaultTTL, fmt.Sprintf("how long the ticket waits for its node (at most %s)", ticket.MaxTTL))
	add.Flags().BoolVar(&nonvoter, "nonvoter", false, "admit a replica that receives the log without voting (a disaster-recovery site)")
	for _, name := range []string{"data-dir", "node-id"} {
		_ = add.MarkFlagRequired(name)
	}

	var removeDir, removeID string
	remove := &cobra.Command{
		Use:   "remove --data-dir DIR --node-id ID",
		Short: "Remove a member: an operator's act on a member's host, presented to that member (--server)",
		Long: `Remove a member of the cluster. The operator's local credential is a removal ticket
written into the data directory of the member on this host (DIR); the command then presents
it to that member's API (--server, or CLOUDLEDGER_SERVER), which has the leader remove the
node. No account is needed or accepted. A removed node's id is never admitted again.`,
		Args: cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if _, err := operatorHost(g, removeDir); err != nil {
				return err
			}
			tok, err := ticket.Make(removeDir, ticket.Remove, removeID, false, removalTicketTTL, "", time.Now())
			if err != nil {
				return usageErr("%v", err)
			}
			id, proof, err := ticket.Present(tok, ticket.RemoveMessage(removeID))
			if err != nil {
				return err
			}
			c, err := g.publicConn()
			if err != nil {
				return err
			}
			_, err = unary(cmd.Context(), c, adminPolicy, "cluster remove", &v1.RemoveMemberRequest{NodeId: removeID, TicketId: id, TicketProof: proof},
				func(ep *endpoint) rpc[v1.RemoveMemberRequest, v1.RemoveMemberResponse] {
					return ep.cluster.RemoveMember
				})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "%s %s: %s\n", g.l().h("节点", "node"), removeID, g.l().m("已移除", "removed"))
			return err
		}),
	}
	remove.Flags().StringVar(&removeDir, "data-dir", "", "data directory of the member on this host, the one --server addresses (required)")
	remove.Flags().StringVar(&removeID, "node-id", "", "the id of the member to remove (required)")
	for _, name := range []string{"data-dir", "node-id"} {
		_ = remove.MarkFlagRequired(name)
	}

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
		{l.h("写入规则版本", "Rules version written"), fmt.Sprint(r.GetProposalRulesVersion())},
	}
}

// nodesTable lists the members, the leader marked in the Role column.
func nodesTable(l lang, nodes []*v1.ClusterNode) *table {
	t := &table{headers: []string{
		l.h("节点", "Node"), l.h("角色", "Role"), l.h("投票权", "Suffrage"), l.h("可达", "Reachable"), l.h("已应用", "Applied"),
		l.h("落后", "Lag"), l.h("规则版本", "Rules"), l.h("Raft 地址", "Raft address"), l.h("API 地址", "API URL"),
	}, right: []bool{false, false, false, false, true, true, true, false, false}}
	for _, n := range nodes {
		role := l.h("跟随者", "follower")
		if n.GetLeader() {
			role = "★ " + l.h("领导者", "leader")
		}
		reach, applied, lag, rules := l.h("是", "yes"), fmt.Sprint(n.GetAppliedIndex()), fmt.Sprint(n.GetLag()), fmt.Sprint(n.GetRulesVersion())
		if !n.GetReachable() {
			reach, applied, lag, rules = "✗ "+l.h("不可达", "unreachable"), "-", "-", "-"
		}
		if rules == "0" {
			rules = "?" // a binary from before rules versions were advertised
		}
		t.add(n.GetNodeId(), role, n.GetSuffrage(), reach, applied, lag, rules, n.GetRaftAddr(), n.GetHttpUrl())
	}
	return t
}
