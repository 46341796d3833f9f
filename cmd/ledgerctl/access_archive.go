package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/cloudledger/cloudledger/backupfile"
)

// verifyAccessArchives checks a directory of access-trail archives offline: each file on its
// own (checksum, chain) and the files as one chain, in order.
func verifyAccessArchives(g *globals, dir string) error {
	names, err := filepath.Glob(filepath.Join(dir, "access-*.archive"))
	if err != nil || len(names) == 0 {
		return &cliError{code: codeFile, message: fmt.Sprintf("%s holds no access-*.archive file", dir), exit: exitFailure}
	}
	slices.Sort(names) // named by their first and last sequence, zero-padded
	var first, last uint64
	var head string
	for i, name := range names {
		f, err := os.Open(name)
		if err != nil {
			return &cliError{code: codeFile, message: err.Error(), exit: exitFailure}
		}
		s, err := backupfile.Read(f, nil)
		f.Close()
		if err != nil {
			return &cliError{code: codeBackupRefused, message: fmt.Sprintf("%s: %v", name, err), exit: exitFailure}
		}
		h := s.Header
		if h.Kind != backupfile.KindAccessArchive {
			return &cliError{code: codeBackupRefused, message: fmt.Sprintf("%s is not an archive of access records", name), exit: exitFailure}
		}
		if i == 0 {
			first = h.TrailFrom + 1
		} else if h.TrailFrom != last || h.TrailPrev != head {
			return &cliError{code: codeBackupRefused, message: fmt.Sprintf("%s continues from record %d (%s), the archive before it ends at %d (%s): the chain is broken between them",
				name, h.TrailFrom, h.TrailPrev, last, head), exit: exitFailure}
		}
		last, head = h.TrailRecords, h.TrailHead
	}
	l := g.l()
	return renderPairs(g.stdout, [][2]string{
		{l.h("访问记录归档", "Access archives"), l.h("完好（离线重算）", "intact (recomputed offline)")},
		{l.h("文件数", "Files"), fmt.Sprint(len(names))},
		{l.h("记录", "Records"), fmt.Sprintf("%d–%d", first, last)},
		{l.h("末条哈希", "Last hash"), head},
	})
}
