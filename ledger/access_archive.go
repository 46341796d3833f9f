package ledger

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/cloudledger/cloudledger/backupfile"
	"github.com/cloudledger/cloudledger/errcode"
	"github.com/cloudledger/cloudledger/internal/durable"
)

// Archives of the access trail (SPEC: Access, kept at least 180 days; issue 28): a node's
// state would otherwise grow with every call ever made. ArchiveAccess moves the records up
// to a sequence out of the live state; every node writes them, as its flush removes them,
// into a sealed file of its data directory (DIR/access-archive, backupfile's format, kind
// access-archive) that names the hash it continues from. The live chain goes on from the
// last archived record's hash, so archives and live state check as one chain. Line items
// are never archived.

// TypeArchiveAccess is recorded as a line item: who archived what, and up to when.
const TypeArchiveAccess CommandType = 60

func init() {
	register(TypeArchiveAccess, "access_archive", writesLineItem, func() Body { return new(ArchiveAccess) })
}

// MaxAccessRecordsPerArchive bounds one archive file (and the flush that writes it).
const MaxAccessRecordsPerArchive = 1_000_000

// MinAccessRetention is the least a record stays in the live state (SPEC: at least 180 days).
const MinAccessRetention = 180 * 24 * time.Hour

// AccessArchiveDir is where a node keeps its archives, beside its state file.
const AccessArchiveDir = "access-archive"

const (
	metaAccessArchivedSeq  = "access_archived_seq"
	metaAccessArchivedHead = "access_archived_head"
)

// ArchiveAccess archives the access records through Through, every one of which was
// recorded before Before (the retention's cut, at least MinAccessRetention before the
// entry's time: the proposer picks Through so; apply checks what it can see).
type ArchiveAccess struct {
	Through uint64
	Before  time.Time
}

func (*ArchiveAccess) Type() CommandType { return TypeArchiveAccess }
func (b *ArchiveAccess) encode(e *encoder) {
	e.uvarint(b.Through)
	e.tm(b.Before)
}
func (b *ArchiveAccess) decode(d *decoder) { b.Through, b.Before = d.uvarint(), d.tm() }

func (b *ArchiveAccess) validate(rl rules) *Error {
	if !rl.trailArchive {
		return Errf(errcode.InvalidValue, "", "archiving the access trail needs rules version 9")
	}
	if b.Through == 0 {
		return Errf(errcode.InvalidValue, "through", "the last record to archive is at least 1")
	}
	return nil
}

func (b *ArchiveAccess) apply(t *txn, ctx applyContext) *Error {
	switch {
	case b.Through <= t.access.archived:
		return errUnchanged
	case b.Through > t.access.seq:
		return Errf(errcode.InvalidValue, "through", "the trail holds %d records, not %d", t.access.seq, b.Through)
	case b.Before.After(ctx.recordedAt.Add(-MinAccessRetention)):
		return Errf(errcode.InvalidValue, "before", "records are kept at least 180 days: %s is later than %s",
			b.Before.Format(time.RFC3339), ctx.recordedAt.Add(-MinAccessRetention).Format(time.RFC3339))
	}
	t.access.archived = b.Through
	return nil
}

func (l *Ledger) archiveDir() string { return filepath.Join(filepath.Dir(l.path), AccessArchiveDir) }

// archiveAccess moves the live records up to through into an archive file, then out of the
// state, within the flush's transaction: the file is written and synced before the
// transaction commits, so a crash in between leaves the records in the state and the same
// file is written again.
func archiveAccess(tx *bolt.Tx, through uint64, dir string) error {
	m := tx.Bucket(bucketMeta)
	from := getUint(m, metaAccessArchivedSeq)
	if through <= from {
		return nil
	}
	var prev Hash
	copy(prev[:], m.Get([]byte(metaAccessArchivedHead)))
	b := tx.Bucket(bucketAccess)
	var last Hash
	var lastTime time.Time
	// The header names the archive's last record and head, read first.
	v := b.Get(seqKey(through))
	invariant(v != nil, InvSeqDense, "archiving access records through %d: record %d is not in the state", through, through)
	r, _, err := decodeAccessRecord(v)
	if err != nil {
		return err
	}
	last, lastTime = r.Hash, r.Time
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	name := filepath.Join(dir, fmt.Sprintf("access-%012d-%012d.archive", from+1, through))
	f, err := os.CreateTemp(dir, ".partial-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	h := backupfile.Header{Kind: backupfile.KindAccessArchive, CreatedAt: lastTime.UTC(), TrailFrom: from,
		TrailRecords: through, TrailHead: hex.EncodeToString(last[:]), Buckets: []string{string(bucketAccess)}}
	if from > 0 {
		h.TrailPrev = hex.EncodeToString(prev[:])
	}
	w, err := backupfile.NewWriter(f, h)
	if err == nil {
		err = w.Bucket(string(bucketAccess))
	}
	c := b.Cursor()
	var keys [][]byte
	for k, v := c.Seek(seqKey(from + 1)); err == nil && k != nil && binary.BigEndian.Uint64(k) <= through; k, v = c.Next() {
		err = w.Pair(k, v)
		keys = append(keys, k)
	}
	if err == nil {
		err = w.Close()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing the access archive %s: %w", name, err)
	}
	invariant(uint64(len(keys)) == through-from, InvSeqDense, "archiving access records %d–%d: %d in the state", from+1, through, len(keys))
	if err := os.Rename(f.Name(), name); err != nil {
		return err
	}
	if err := durable.SyncDir(dir); err != nil {
		return err
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	if err := putUint(m, metaAccessArchivedSeq, through); err != nil {
		return err
	}
	return m.Put([]byte(metaAccessArchivedHead), last[:])
}

// AccessArchivable is the last access record that may be archived for a cut: the end of the
// longest run of live records, from the oldest, all recorded before before (records are
// appended in the order they arrive, not strictly by time: the run stops at the first
// younger one). 0 when none may.
func (l *Ledger) AccessArchivable(before time.Time) uint64 {
	l.ensureFlushed()
	// No l.mu here: the read transaction is its own snapshot, and holding the lock over a scan
	// of up to MaxAccessRecordsPerArchive records would hold every apply up.
	var through uint64
	_ = l.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAccess).Cursor()
		n := 0
		for k, v := c.First(); k != nil && n < MaxAccessRecordsPerArchive; k, v = c.Next() {
			r, _, err := decodeAccessRecord(v)
			if err != nil || !r.Time.Before(before) {
				return nil
			}
			through = r.Seq
			n++
		}
		return nil
	})
	return through
}

// AccessArchived is the last record archived out of the live state (0: none).
func (l *Ledger) AccessArchived() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.root.access.archived
}

// VerifyAccessTrailWithArchives checks the whole access trail, archived and live, as one
// chain: the archives in dir offline (backupfile.VerifyAccessArchives, what `ledgerctl access
// verify --archive` runs), the live trail (VerifyAccessTrail), and the join — the archives
// begin at record 1 and end exactly at the record, and the hash, the live trail continues
// from. It returns what the archives hold and the trail's length and head.
func (l *Ledger) VerifyAccessTrailWithArchives(dir string) (backupfile.Archives, uint64, Hash, error) {
	a, err := backupfile.VerifyAccessArchives(dir)
	if err != nil {
		return a, 0, Hash{}, Errf(errcode.TrailBroken, "", "the access archives: %v", err)
	}
	l.ensureFlushed()
	var through uint64
	var head Hash
	_ = l.db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		through = getUint(m, metaAccessArchivedSeq)
		copy(head[:], m.Get([]byte(metaAccessArchivedHead)))
		return nil
	})
	if a.First != 1 || a.Last != through || a.Head != hex.EncodeToString(head[:]) {
		return a, 0, Hash{}, Errf(errcode.TrailBroken, "", "the archives hold records %d–%d ending in %s; the live trail continues from record %d, %s",
			a.First, a.Last, a.Head, through, hex.EncodeToString(head[:]))
	}
	n, h, verr := l.VerifyAccessTrail()
	if verr != nil { // a nil *Error must not be answered as a non-nil error
		return a, n, h, verr
	}
	return a, n, h, nil
}
