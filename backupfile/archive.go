package backupfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// Archives is what VerifyAccessArchives found in a directory of access-trail archives.
type Archives struct {
	Files       int
	First, Last uint64 // the records they hold, First–Last
	Head        string // the hash of record Last: the one a node's live trail continues from
	Bytes       int64  // the files' size
}

// ErrNoArchives is returned for a directory that holds no access-*.archive file.
var ErrNoArchives = errors.New("no access-*.archive file")

// ArchiveError is a refused archive file: unreadable (Err is the *fs.PathError), damaged or
// altered (Err is the *Error of Read, naming the record whose hash does not match), or not
// continuing the file before it.
type ArchiveError struct {
	File string
	Err  error
}

func (e *ArchiveError) Error() string { return fmt.Sprintf("%s: %v", e.File, e.Err) }
func (e *ArchiveError) Unwrap() error { return e.Err }

// VerifyAccessArchives checks a node's archives of access records offline (what
// `ledgerctl access verify --archive DIR` runs): every file on its own — its checksum, and
// the chain of its records recomputed from the hash it names as its start — and the files as
// one chain, each continuing from the one before, in the order of their names (their first
// and last records, zero-padded). One file is read at a time, as a stream.
func VerifyAccessArchives(dir string) (Archives, error) {
	var a Archives
	names, err := filepath.Glob(filepath.Join(dir, "access-*.archive"))
	if err != nil || len(names) == 0 {
		return a, fmt.Errorf("%s: %w", dir, ErrNoArchives)
	}
	slices.Sort(names)
	for i, name := range names {
		f, err := os.Open(name)
		if err != nil {
			return a, &ArchiveError{File: name, Err: err}
		}
		s, err := Read(f, nil)
		f.Close()
		if err != nil {
			return a, &ArchiveError{File: name, Err: err}
		}
		h := s.Header
		if h.Kind != KindAccessArchive {
			return a, &ArchiveError{File: name, Err: errors.New("not an archive of access records")}
		}
		if i == 0 {
			a.First = h.TrailFrom + 1
		} else if h.TrailFrom != a.Last || h.TrailPrev != a.Head {
			return a, &ArchiveError{File: name, Err: fmt.Errorf("continues from record %d (%s), the archive before it ends at %d (%s): the chain is broken between them",
				h.TrailFrom, h.TrailPrev, a.Last, a.Head)}
		}
		a.Files++
		a.Last, a.Head = h.TrailRecords, h.TrailHead
		a.Bytes += s.Bytes
	}
	return a, nil
}
