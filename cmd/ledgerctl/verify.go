package main

import (
	"fmt"

	"github.com/spf13/cobra"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
)

func newVerifyCommand(g *globals) *cobra.Command {
	var file, backup string
	cmd := &cobra.Command{
		Use:   "verify [--file EXPORT | --backup FILE]",
		Short: "Re-check the hash chain; print the line-item count and head hash",
		Long: `Ask the node to re-check the whole hash chain (each line item's hash is sha256 of the
previous hash and its canonical encoding) and print the line-item count, the head hash, the
Raft index it was checked at and the node that checked it. A broken chain fails with
chain_broken. With --stale the addressed node checks its own copy.

With --file, recompute the chain of an export (lineitems export, CSV or JSON lines) here,
without asking any node: the count and head hash it prints can be compared with a node's
verify, or with an earlier export.

With --backup, check a backup file (ledgerctl backup -o FILE) here, without asking any node:
its checksum, both hash chains (line items, access trail) recomputed, and the counts and
heads its header states; a damaged or truncated file fails with backup_refused.`,
		Args: cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if backup != "" {
				if file != "" {
					return usageErr("give --file or --backup, not both")
				}
				return verifyBackup(g, backup)
			}
			if file != "" {
				n, head, err := verifyExport(file)
				if err != nil {
					return err
				}
				l := g.l()
				return renderPairs(g.stdout, [][2]string{
					{l.h("哈希链", "Hash chain"), l.h("完好（离线重算）", "intact (recomputed offline)")},
					{l.h("条目数", "Line items"), fmt.Sprint(n)},
					{l.h("链头哈希", "Head hash"), head},
					{l.h("文件", "File"), file},
				})
			}
			res, err := call(cmd.Context(), g, readPolicy, "verify", &v1.VerifyRequest{},
				func(ep *endpoint) rpc[v1.VerifyRequest, v1.VerifyResponse] { return ep.ledger.Verify })
			if err != nil {
				return err
			}
			return renderPairs(g.stdout, verifyPairs(g.l(), res))
		}),
	}
	cmd.Flags().StringVar(&file, "file", "", "an export of lineitems export to recompute offline")
	cmd.Flags().StringVar(&backup, "backup", "", "a backup file (ledgerctl backup -o FILE) to check offline")
	return cmd
}

func verifyPairs(l lang, r *v1.VerifyResponse) [][2]string {
	return [][2]string{
		{l.h("哈希链", "Hash chain"), l.h("完好", "intact")},
		{l.h("条目数", "Line items"), fmt.Sprint(r.GetLineItems())},
		{l.h("链头哈希", "Head hash"), r.GetHeadHash()},
		{l.h("已应用索引", "Applied index"), fmt.Sprint(r.GetAppliedIndex())},
		{l.h("校验节点", "Node"), r.GetNodeId()},
	}
}
