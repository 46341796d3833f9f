package main

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/cloudledger/cloudledger/backupfile"
)

// verifyAccessArchives checks a directory of access-trail archives offline: each file on its
// own (checksum, chain) and the files as one chain, in order (backupfile.VerifyAccessArchives).
func verifyAccessArchives(g *globals, dir string) error {
	a, err := backupfile.VerifyAccessArchives(dir)
	var pathErr *fs.PathError
	switch {
	case errors.Is(err, backupfile.ErrNoArchives):
		return &cliError{code: codeFile, message: fmt.Sprintf("%s holds no access-*.archive file", dir), exit: exitFailure}
	case errors.As(err, &pathErr):
		return &cliError{code: codeFile, message: pathErr.Error(), exit: exitFailure}
	case err != nil:
		return &cliError{code: codeBackupRefused, message: err.Error(), exit: exitFailure}
	}
	l := g.l()
	return renderPairs(g.stdout, [][2]string{
		{l.h("访问记录归档", "Access archives"), l.h("完好（离线重算）", "intact (recomputed offline)")},
		{l.h("文件数", "Files"), fmt.Sprint(a.Files)},
		{l.h("记录", "Records"), fmt.Sprintf("%d–%d", a.First, a.Last)},
		{l.h("末条哈希", "Last hash"), a.Head},
	})
}
