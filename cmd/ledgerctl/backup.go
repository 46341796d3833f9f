package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudledger/cloudledger/backupfile"
)

// backupPath is the node's backup stream (server/backup.go).
const backupPath = "/v1/backup"

func newBackupCommand(g *globals) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "backup -o FILE",
		Short: "Save a backup of the ledger (authority, auditor): a consistent copy as of one Raft index, without secrets",
		Long: `Stream a backup from the addressed node (SPEC: Backup and disaster recovery): its state as of
one Raft index — every line item, the access trail, every table — with the line-item count,
the head hash and the trail's head, and no secret (no password hash, TOTP key, token hash or
session key: people re-activate after a restore). The file is written next to FILE, checked
whole (checksum and both hash chains recomputed), and only then renamed to FILE. Restore it
with ledgerd --restore FILE; check it again any time with ledgerctl verify --backup FILE.`,
		Args: cobra.NoArgs,
		RunE: action(func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageErr("backup needs -o FILE")
			}
			c, err := g.conn()
			if err != nil {
				return err
			}
			ep := c.endpoints[c.cur]
			tmp, err := os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".partial-*")
			if err != nil {
				return &cliError{code: codeFile, message: err.Error(), exit: exitFailure}
			}
			defer os.Remove(tmp.Name())
			defer tmp.Close()
			req, err := http.NewRequestWithContext(cmd.Context(), http.MethodGet, ep.url+backupPath, nil)
			if err != nil {
				return err
			}
			c.authorize(req.Header)
			start := time.Now()
			resp, err := c.hc.Do(req)
			if err != nil {
				return &cliError{code: codeUnavailable, message: ep.url + ": " + err.Error(), exit: exitFailure}
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return httpFailure(ep.url, resp)
			}
			n, err := io.Copy(tmp, resp.Body)
			if err == nil {
				err = tmp.Sync()
			}
			if err != nil {
				return &cliError{code: codeUnavailable, message: fmt.Sprintf("%s: the backup stream broke after %d bytes: %v", ep.url, n, err), exit: exitFailure}
			}
			if _, err := tmp.Seek(0, io.SeekStart); err != nil {
				return err
			}
			sum, err := backupfile.Read(tmp, nil)
			if err != nil {
				return &cliError{code: codeBackupRefused, message: fmt.Sprintf("the backup from %s did not check out (%v); nothing was written to %s", ep.url, err, out), exit: exitFailure}
			}
			if err := tmp.Close(); err != nil {
				return err
			}
			if err := os.Rename(tmp.Name(), out); err != nil {
				return &cliError{code: codeFile, message: err.Error(), exit: exitFailure}
			}
			pairs := backupPairs(g.l(), sum, out)
			pairs = append(pairs, [2]string{g.l().h("用时", "Took"), time.Since(start).Round(time.Millisecond).String()})
			return renderPairs(g.stdout, pairs)
		}),
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write the backup to (replaced only once the new one checks out)")
	return cmd
}

// verifyBackup checks a backup file offline.
func verifyBackup(g *globals, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return &cliError{code: codeFile, message: err.Error(), exit: exitFailure}
	}
	defer f.Close()
	sum, err := backupfile.Read(f, nil)
	if err != nil {
		return &cliError{code: codeBackupRefused, message: fmt.Sprintf("%s: %v", path, err), exit: exitFailure}
	}
	return renderPairs(g.stdout, backupPairs(g.l(), sum, path))
}

func backupPairs(l lang, s backupfile.Summary, path string) [][2]string {
	h := s.Header
	return [][2]string{
		{l.h("备份", "Backup"), l.h("完好（校验和与两条哈希链已重算）", "intact (checksum and both hash chains recomputed)")},
		{l.h("条目数", "Line items"), fmt.Sprint(h.LineItems)},
		{l.h("链头哈希", "Head hash"), h.Head},
		{l.h("访问记录数", "Access records"), fmt.Sprint(h.TrailRecords)},
		{l.h("访问记录链头", "Trail head"), h.TrailHead},
		{l.h("Raft 索引", "Raft index"), fmt.Sprint(h.RaftIndex)},
		{l.h("状态索引", "State index"), fmt.Sprint(h.StateIndex)},
		{l.h("备份节点", "Node"), h.SourceNode},
		{l.h("备份时间", "Taken at"), h.CreatedAt.Format(time.RFC3339)},
		{l.h("未含（机密）", "Left out (secrets)"), fmt.Sprint(h.Omitted)},
		{l.h("大小（字节）", "Size (bytes)"), fmt.Sprint(s.Bytes)},
		{l.h("文件", "File"), path},
	}
}

// httpFailure reads a refusal of a plain HTTP endpoint (Connect's error JSON).
func httpFailure(url string, resp *http.Response) error {
	var body struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body)
	code := codeUnavailable
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		code = codeUnauthenticated
	case http.StatusForbidden:
		code = "permission_denied"
	}
	msg := body.Message
	if msg == "" {
		msg = resp.Status
	}
	return &cliError{code: code, message: url + ": " + msg, exit: exitFailure}
}
