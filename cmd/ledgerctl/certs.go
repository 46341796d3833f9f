package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudledger/cloudledger/internal/pki"
)

func newCertsCommand(g *globals) *cobra.Command {
	var out string
	var nodes []string
	cmd := &cobra.Command{
		Use:   "certs --out DIR --node ID=HOST[,HOST…] …",
		Short: "Make a cluster's certificates: a CA and one certificate per node, for the API and Raft",
		Long: `Make the certificates of a cluster that uses the operator's PKI: DIR/ca.pem and
DIR/ca-key.pem (keep the key offline), and for each --node ID=HOST,… DIR/ID.pem and
DIR/ID-key.pem, a certificate whose common name is the node id (Raft checks peers by node id)
and whose names are the hosts and addresses clients reach the node's API at. Give each node
--tls-cert/--tls-key and --raft-ca/--raft-cert/--raft-key with its files, and --tls-ca
DIR/ca.pem; clients use ledgerctl --ca DIR/ca.pem. Existing files are not overwritten.`,
		Args: cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if out == "" || len(nodes) == 0 {
				return usageErr("certs needs --out and at least one --node ID=HOST")
			}
			if _, err := os.Stat(filepath.Join(out, "ca.pem")); err == nil {
				return &cliError{code: codeFile, exit: exitFailure, message: filepath.Join(out, "ca.pem") + " exists: certs does not overwrite a CA"}
			}
			ca, err := pki.NewCA("CloudLedger cluster CA", time.Now())
			if err != nil {
				return err
			}
			if err := os.MkdirAll(out, 0o700); err != nil {
				return err
			}
			write := func(name string, data []byte, mode os.FileMode) error {
				return os.WriteFile(filepath.Join(out, name), data, mode)
			}
			if err := write("ca.pem", ca.CertPEM, 0o644); err != nil {
				return err
			}
			if err := write("ca-key.pem", ca.KeyPEM, 0o600); err != nil {
				return err
			}
			for _, n := range nodes {
				id, hostList, ok := strings.Cut(n, "=")
				if !ok || id == "" || strings.ContainsAny(id, "/ ") {
					return usageErr("--node %q: want ID=HOST[,HOST…]", n)
				}
				hosts := strings.Split(hostList, ",")
				cert, key, err := ca.NewNode(id, hosts, time.Now())
				if err != nil {
					return err
				}
				if err := write(id+".pem", cert, 0o644); err != nil {
					return err
				}
				if err := write(id+"-key.pem", key, 0o600); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "%s: %s, %s (%s)\n", id, filepath.Join(out, id+".pem"), filepath.Join(out, id+"-key.pem"), strings.Join(hosts, ", "))
			}
			fmt.Fprintf(g.stdout, "CA: %s (its key %s: keep it offline)\n", filepath.Join(out, "ca.pem"), filepath.Join(out, "ca-key.pem"))
			return nil
		}),
	}
	cmd.Flags().StringVar(&out, "out", "", "directory to write the files to (required)")
	cmd.Flags().StringArrayVar(&nodes, "node", nil, "a node: ID=HOST[,HOST…] (repeat for each)")
	return cmd
}
