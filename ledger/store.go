package ledger

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/cloudledger/cloudledger/calendar"
	"github.com/cloudledger/cloudledger/errcode"
	"github.com/cloudledger/cloudledger/internal/durable"
)

// Buckets of the bbolt state file besides the tables (tables.go): the chain's bookkeeping
// and the line items, in the canonical binary encoding keyed by big-endian sequence number.
var (
	bucketMeta      = []byte("meta")
	bucketLineItems = []byte("line_items")
	bucketKeys      = []byte("idempotency_keys") // no longer written: see keyIndex; kept so older files open
)

const schemaVersion = "1"

// Ledger is the state machine: an in-memory view of the entities for fast rule checks,
// backed by a bbolt file that holds everything (line items and idempotency keys only there)
// and is written once per applied batch.
type Ledger struct {
	mu   sync.RWMutex
	path string
	db   *bolt.DB
	root *txn
	// applied is the last Raft index applied (in memory); flushed the last one in bbolt.
	applied uint64
	flushed uint64
	// stateIndex is the last applied entry that changed more than the access trail: the
	// index reads and exports name, so that the trail's own entries (which every call
	// causes) do not make two exports of the same figures differ.
	stateIndex uint64
	// flushedSeq is the last line item in bbolt; flushedAccess the last access record;
	// flushedState the state index in bbolt.
	flushedSeq    uint64
	flushedAccess uint64
	flushedState  uint64
	// batchTx is a read transaction open while ApplyBatch runs (under the write lock), so
	// idempotency lookups do not open one each.
	batchTx *bolt.Tx
	// keys indexes the idempotency keys of the flushed line items (the line items are the
	// replicated record of them; the index is rebuilt from them at open).
	keys *keyIndex
	// compaction is what the last open's compaction did.
	compaction Compaction
	// master is the master data of the last state read (view.go).
	master masterCache
}

// Entry is one committed Raft entry for the ledger.
type Entry struct {
	Index uint64
	Data  []byte
}

// Open opens (or creates) the state file at path and loads it.
func Open(path string) (*Ledger, error) {
	l := &Ledger{path: path}
	if err := l.open(true); err != nil {
		return nil, err
	}
	return l, nil
}

// boltOptions: a large initial map (address space only) spares the writer most remaps,
// which would wait for long readers such as a snapshot or a year's rating to finish.
var boltOptions = bolt.Options{Timeout: 5 * time.Second, NoFreelistSync: true, InitialMmapSize: 1 << 30}

func (l *Ledger) open(compact bool) error {
	_ = os.Remove(l.path + compactSuffix) // a compaction a crash cut short: the state file is whole
	opts := boltOptions
	db, err := bolt.Open(l.path, 0o600, &opts)
	if err != nil {
		return fmt.Errorf("ledger: open %s: %w", l.path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketLineItems, bucketKeys, bucketAccess} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		for _, tb := range tables {
			if tb.stored() {
				if _, err := tx.CreateBucketIfNotExists(tb.bucketName()); err != nil {
					return err
				}
			}
		}
		if err := legacyKafkaSettings(tx); err != nil {
			return err
		}
		m := tx.Bucket(bucketMeta)
		if v := m.Get([]byte("schema")); v == nil {
			return m.Put([]byte("schema"), []byte(schemaVersion))
		} else if string(v) != schemaVersion {
			return fmt.Errorf("state schema %s, this binary reads %s", v, schemaVersion)
		}
		return nil
	}); err != nil {
		db.Close()
		return fmt.Errorf("ledger: init %s: %w", l.path, err)
	}
	if compact {
		if db, err = l.compact(db); err != nil {
			return fmt.Errorf("ledger: compact %s: %w", l.path, err)
		}
	}
	l.db = db
	if err := l.load(); err != nil {
		db.Close()
		return fmt.Errorf("ledger: load %s: %w", l.path, err)
	}
	releaseMappedPages(db)
	return nil
}

// Compaction (issue 28). bbolt never gives pages back to the file system: the pages of
// access records archived out of the state are reused by later writes, but the file keeps
// its size. At open — before anything reads or writes the state — a file whose free pages
// are at least CompactMinFree and a quarter of it is rewritten into a new one (bbolt's
// Compact: the same buckets, pairs and sequences, pages filled), synced, and renamed over
// it. A crash before the rename leaves the old file whole and the copy is removed at the
// next open; a compaction that fails (a full disk) leaves the old file in use, as it was.
const compactSuffix = ".compact"

// compactTxBytes bounds one transaction of the copy: the pages it writes are held in memory
// until it commits (copying 8,000,000 access records, 1.3 GiB: peak heap 249 MiB in
// transactions of 64 MiB, 89 MiB in transactions of 8 MiB, and 12.2 s instead of 15.0 s).
const compactTxBytes = 8 << 20

// CompactMinFree is the least free space worth a compaction at open.
var CompactMinFree int64 = 16 << 20

// Compaction is what the last open's compaction did: the file's size before and after and
// the time it took; zero when the free pages were not worth it; Err when it failed.
type Compaction struct {
	Before, After int64
	Took          time.Duration
	Err           error
}

// Compacted reports the compaction at the last open.
func (l *Ledger) Compacted() Compaction {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.compaction
}

// compact rewrites the state file if its free pages are worth it and returns the database
// to use: the compacted one, or db itself. An error is returned only when neither is open.
func (l *Ledger) compact(db *bolt.DB) (*bolt.DB, error) {
	l.compaction = Compaction{}
	st, err := os.Stat(l.path)
	if err != nil {
		db.Close()
		return nil, err
	}
	free := int64(db.Stats().FreeAlloc)
	if free < CompactMinFree || free < st.Size()/4 {
		return db, nil
	}
	start := time.Now()
	tmp := l.path + compactSuffix
	failed := func(err error) (*bolt.DB, error) {
		_ = os.Remove(tmp)
		l.compaction = Compaction{Before: st.Size(), After: st.Size(), Took: time.Since(start), Err: err}
		return db, nil
	}
	// Unsynced commits of bounded size; one sync of the whole before the rename.
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second, NoFreelistSync: true, NoSync: true, InitialMmapSize: 1 << 30})
	if err != nil {
		return failed(err)
	}
	err = bolt.Compact(dst, db, compactTxBytes)
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return failed(err)
	}
	if err := db.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, l.path); err != nil {
		_ = os.Remove(tmp)
		return nil, err
	}
	if err := durable.SyncDir(filepath.Dir(l.path)); err != nil {
		return nil, err
	}
	opts := boltOptions
	if db, err = bolt.Open(l.path, 0o600, &opts); err != nil {
		return nil, err
	}
	after, _ := os.Stat(l.path)
	l.compaction = Compaction{Before: st.Size(), After: after.Size(), Took: time.Since(start)}
	return db, nil
}

// Close closes the state file.
func (l *Ledger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.db == nil {
		return nil
	}
	l.mustFlush()
	err := l.db.Close()
	l.db = nil
	return err
}

// load rebuilds the in-memory view from bbolt. A violated invariant is an error: the node
// refuses to serve a damaged state file.
func (l *Ledger) load() (err error) {
	defer func() {
		if p := recover(); p != nil {
			ie, ok := p.(*InvariantError)
			if !ok {
				panic(p)
			}
			l.root, err = nil, ie
		}
	}()
	root := newRootTxn(l)
	err = l.db.View(func(tx *bolt.Tx) error {
		l.applied = readChainMeta(tx, root)
		l.flushed = l.applied
		l.stateIndex = stateIndexOf(tx, l.applied)
		// The key index reads every line item (a third of a large ledger's open) and depends
		// only on the accounts and settings (keys are scoped by them): it is read on a second
		// core, in a read transaction of its own, while the other tables load.
		for _, tb := range tables {
			if keyScopeTable(tb) {
				if err := tb.load(tx, root); err != nil {
					return err
				}
			}
		}
		var wg sync.WaitGroup
		var keysErr error
		wg.Go(func() { keysErr = l.loadKeyIndexAside(root) })
		defer wg.Wait() // also when a table's load fails or panics: the state file closes next
		for _, tb := range tables {
			if !keyScopeTable(tb) {
				if err := tb.load(tx, root); err != nil {
					return err
				}
			}
		}
		if wg.Wait(); keysErr != nil {
			return keysErr
		}
		if k, _ := tx.Bucket([]byte("kafka_dead_letters")).Cursor().Last(); k != nil {
			root.deadLetterN = beUint64(k)
		}
		root.deriveIndexes()
		l.root = root
		return l.checkOpened(tx)
	})
	if err != nil {
		l.root = nil
		return err
	}
	l.flushedSeq = root.seq
	l.flushedAccess = root.access.seq
	l.flushedState = l.stateIndex
	clearDirty(root)
	return nil
}

// keyScopeTable says whether the key index needs tb loaded before it is read (indexKeyOf).
func keyScopeTable(tb tableDecl) bool {
	n := string(tb.bucketName())
	return n == "accounts" || n == "settings"
}

// loadKeyIndexAside reads the key index into l.keys in a read transaction of its own.
func (l *Ledger) loadKeyIndexAside(root *txn) error {
	return l.db.View(func(tx *bolt.Tx) error {
		keys, err := loadKeyIndex(tx, root)
		if err == nil {
			l.keys = keys
		}
		return err
	})
}

// readChainMeta reads the applied index, the chain head and the clock into t.
func readChainMeta(tx *bolt.Tx, t *txn) (applied uint64) {
	m := tx.Bucket(bucketMeta)
	t.seq = getUint(m, "seq")
	copy(t.head[:], m.Get([]byte("head")))
	t.access.seq = getUint(m, "access_seq")
	copy(t.access.head[:], m.Get([]byte("access_head")))
	t.access.archived = getUint(m, metaAccessArchivedSeq)
	if v := m.Get([]byte("clock")); v != nil {
		n, _ := strconv.ParseInt(string(v), 10, 64)
		t.clock = time.Unix(0, n).In(calendar.Shanghai)
	}
	return getUint(m, "applied")
}

// stateIndexOf reads the state index; a file written before it existed has none, and
// there its applied index is the state index.
func stateIndexOf(tx *bolt.Tx, applied uint64) uint64 {
	if v := getUint(tx.Bucket(bucketMeta), "state_index"); v != 0 {
		return v
	}
	return applied
}

// deriveIndexes rebuilds the derived tables of a freshly loaded root from the stored ones.
func (root *txn) deriveIndexes() {
	for _, p := range root.projects.m {
		root.deptProjects.m[p.Department] = append(root.deptProjects.m[p.Department], p.ID)
	}
	for d, ids := range root.deptProjects.m {
		slices.Sort(ids)
		root.deptProjects.m[d] = ids
	}
	for _, r := range root.resources.m {
		if r.Closed {
			continue
		}
		root.addHeld(r, r.Quantity)
		if !r.Expires.IsZero() {
			root.timeLimited.m[r.ID] = r.Expires
		}
	}
	root.rebuildCalendar()
}

func clearDirty(t *txn) {
	for _, tb := range tables {
		tb.clearDirty(t)
	}
}

func getUint(b *bolt.Bucket, k string) uint64 {
	v := b.Get([]byte(k))
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func putUint(b *bolt.Bucket, k string, v uint64) error {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], v)
	return b.Put([]byte(k), buf[:])
}

// storedKey looks an idempotency key up among the flushed line items: the in-memory index
// gives the sequence, the stored line item its key (checked) and content.
func (l *Ledger) storedKey(k string) (keyRecord, bool) {
	return l.storedKeyWhere(k, func(key, actor string, seq uint64) bool { return l.root.indexKeyOf(key, actor, seq) == k })
}

// storedKeyWhere finds the flushed line item the index holds under index key k, if
// accept confirms it by its own key, actor and sequence (a 64-bit hash of k finds it).
func (l *Ledger) storedKeyWhere(k string, accept func(key, actor string, seq uint64) bool) (keyRecord, bool) {
	seq, ok := l.keys.lookup(k)
	if !ok {
		return keyRecord{}, false
	}
	var rec keyRecord
	found := false
	get := func(tx *bolt.Tx) error {
		var sk [8]byte
		binary.BigEndian.PutUint64(sk[:], seq)
		v := tx.Bucket(bucketLineItems).Get(sk[:])
		if v == nil {
			return nil
		}
		key, actor, body, err := storedKeyBody(v)
		if err == nil && accept(key, actor, seq) {
			rec, found = keyRecord{Seq: seq, Content: contentHash(body)}, true
		}
		return nil
	}
	if l.batchTx != nil {
		_ = get(l.batchTx)
	} else {
		_ = l.db.View(get)
	}
	return rec, found
}

// readBolt runs fn in the batch's read transaction while a batch applies (under the write
// lock), else in a read transaction of its own.
func (l *Ledger) readBolt(fn func(tx *bolt.Tx)) {
	if l.batchTx != nil {
		fn(l.batchTx)
		return
	}
	_ = l.db.View(func(tx *bolt.Tx) error { fn(tx); return nil })
}

// FlushedIndex is the last applied index already in bbolt.
func (l *Ledger) FlushedIndex() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.flushed
}

func (l *Ledger) AppliedIndex() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.applied
}

// ApplyBatch applies committed entries in order. Their effects are visible at once; they
// reach bbolt at the next flush (see Flush), which may cover many batches. Entries at or
// below the applied index are skipped, so a restart never applies anything twice. It
// returns one *ProposalResult per entry.
//
// Deferring the bbolt commit is safe because the Raft log, fsynced on a majority before an
// entry is applied, is the durable record: after a crash Raft replays every entry above the
// applied index bbolt holds. Snapshot flushes first, so the log is never compacted past
// what bbolt has.
func (l *Ledger) ApplyBatch(entries []Entry) []any {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]any, len(entries))
	if tx, err := l.db.Begin(false); err == nil {
		l.batchTx = tx
	}
	for i, e := range entries {
		if e.Index > l.applied && ProposalRulesVersion(e.Data) > maxRulesVersion {
			if l.batchTx != nil {
				_ = l.batchTx.Rollback()
				l.batchTx = nil
			}
			checkRulesVersion(e.Index, e.Data)
		}
		if e.Index <= l.applied {
			out[i] = &ProposalResult{Err: Errf(errcode.Malformed, "", "entry %d already applied", e.Index)}
			continue
		}
		l.applied = e.Index
		p, err := DecodeProposal(e.Data)
		if err != nil {
			out[i] = &ProposalResult{Err: err.(*Error)}
			continue
		}
		out[i] = l.root.applyProposal(p, e.Index)
		if !p.accessOnly() {
			l.stateIndex = e.Index
		}
	}
	if l.batchTx != nil {
		// Closed before any write transaction: bbolt may need to remap the file to grow it.
		_ = l.batchTx.Rollback()
		l.batchTx = nil
	}
	if len(l.root.added) >= MaxUnflushedLineItems {
		l.mustFlush()
	}
	return out
}

// MaxUnflushedLineItems bounds the memory held by line items not yet in bbolt.
const MaxUnflushedLineItems = 200_000

// Flush makes everything applied so far durable in bbolt (one transaction, fsync). The
// server calls it every few milliseconds; queries that read bbolt call it first.
func (l *Ledger) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mustFlush()
}

func (l *Ledger) mustFlush() {
	if l.db == nil || l.applied == l.flushed {
		return
	}
	if err := l.flush(l.applied); err != nil {
		// Our own state could not be made durable: continuing would let memory and disk
		// disagree. Stop loudly (TIGER_STYLE); Raft replays the entries on restart.
		panic(fmt.Sprintf("ledger: cannot persist applied entries up to %d: %v", l.applied, err))
	}
}

// flushForState flushes before a read of the state (View): not when only access records
// are pending — every call appends some, and they change nothing a view reads; the flush
// loop writes them within FlushInterval.
func (l *Ledger) flushForState() {
	l.mu.RLock()
	pending := l.stateIndex != l.flushedState || l.root != nil && l.root.seq != l.flushedSeq
	l.mu.RUnlock()
	if pending {
		l.Flush()
	}
}

// ensureFlushed is called by queries that read bbolt directly.
func (l *Ledger) ensureFlushed() {
	l.mu.RLock()
	pending := l.applied != l.flushed
	l.mu.RUnlock()
	if pending {
		l.Flush()
	}
}

// flush writes what the root txn changed since the last flush, and the applied index.
func (l *Ledger) flush(applied uint64) error {
	r := l.root
	err := l.db.Update(func(tx *bolt.Tx) error {
		li := tx.Bucket(bucketLineItems)
		var kbuf [8]byte
		li.FillPercent = 1.0 // sequence numbers only ever grow: pack the pages
		next := l.flushedSeq + 1
		for _, item := range r.added {
			invariant(item.Seq == next, InvSeqDense, "flushing line item %d after %d", item.Seq, next-1)
			next++
			binary.BigEndian.PutUint64(kbuf[:], item.Seq)
			if err := li.Put(kbuf[:], item.encodeStored()); err != nil {
				return err
			}
		}
		for _, tb := range tables {
			if err := tb.flush(tx, r); err != nil {
				return err
			}
		}
		if err := flushAccess(tx, &r.access, l.flushedAccess, l.archiveDir()); err != nil {
			return err
		}
		m := tx.Bucket(bucketMeta)
		if err := putUint(m, "applied", applied); err != nil {
			return err
		}
		if err := putUint(m, "state_index", l.stateIndex); err != nil {
			return err
		}
		if err := putUint(m, "seq", r.seq); err != nil {
			return err
		}
		if err := m.Put([]byte("head"), r.head[:]); err != nil {
			return err
		}
		return m.Put([]byte("clock"), []byte(strconv.FormatInt(r.clock.UnixNano(), 10)))
	})
	if err != nil {
		return err
	}
	l.flushed = applied
	l.flushedSeq = r.seq
	l.flushedAccess = r.access.seq
	l.flushedState = l.stateIndex
	clear(r.access.added) // the backing array is reused: let go of what it held
	r.access.added = r.access.added[:0]
	for _, item := range r.added {
		l.keys.add(item.indexKey, item.Seq)
	}
	clear(r.added)
	r.added = r.added[:0]
	clear(r.keys)
	for _, tb := range tables {
		if d, ok := tb.(interface{ evict(*txn) }); ok {
			d.evict(r) // a table in bbolt only lets go of what it just wrote
		}
	}
	clearDirty(r)
	for id, at := range r.timeLimited.m {
		if at.IsZero() {
			delete(r.timeLimited.m, id)
		}
	}
	return nil
}

// StateFileStats is the state file's size, the part of it bbolt has used (its high-water
// mark: past it the file is grown ahead of need), and the bytes of free pages below the mark —
// pages bbolt reuses for later writes (records archived, keys deleted) but keeps in the file.
type StateFileStats struct {
	Size, Used, Free int64
}

// StateFile measures the state file.
func (l *Ledger) StateFile() (StateFileStats, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var s StateFileStats
	st, err := os.Stat(l.path)
	if err != nil {
		return s, err
	}
	s.Size, s.Free = st.Size(), int64(l.db.Stats().FreeAlloc)
	err = l.db.View(func(tx *bolt.Tx) error {
		s.Used = tx.Size()
		return nil
	})
	return s, err
}

// Snapshot is a consistent point-in-time copy of the whole state file.
type Snapshot struct{ tx *bolt.Tx }

// Snapshot opens a read transaction; Persist may then run while later batches apply.
func (l *Ledger) Snapshot() (*Snapshot, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mustFlush() // the snapshot, and the log compaction after it, must not run ahead of bbolt
	tx, err := l.db.Begin(false)
	if err != nil {
		return nil, err
	}
	return &Snapshot{tx: tx}, nil
}

// Persist writes the snapshot.
func (s *Snapshot) Persist(w io.Writer) error {
	_, err := s.tx.WriteTo(w)
	return err
}

// Release ends the snapshot's read transaction.
func (s *Snapshot) Release() { _ = s.tx.Rollback() }

// Restore replaces the whole state with a snapshot written by Persist.
func (l *Ledger) Restore(r io.Reader) error {
	tmp := l.path + ".restore"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.db != nil {
		if err := l.db.Close(); err != nil {
			return err
		}
	}
	l.db = nil // closed: nothing reads it again, whatever fails below
	l.master = masterCache{}
	if err := os.Rename(tmp, l.path); err != nil {
		return err
	}
	// No compaction here: it would hold the lock (every apply and read) for the copy; the
	// next start compacts.
	return l.open(false)
}
