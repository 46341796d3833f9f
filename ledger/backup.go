package ledger

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/cloudledger/cloudledger/backupfile"
	"github.com/cloudledger/cloudledger/internal/durable"
)

// Backups (SPEC: Backup and disaster recovery): a logical copy of the state file as of one
// applied index, streamed from a read transaction, carrying no secret. A restore rebuilds a
// state file from it for a new cluster.

// backupSecrets says what a backup leaves out of a bucket: every value of a bucket (nil
// key set) or the listed keys. Password hashes, TOTP keys and activation-code hashes live
// in credentials, token hashes in tokens, the session-signing key and the admin token's
// hash in settings; nothing else of the state is secret.
var backupSecrets = map[string][]string{
	"credentials": nil,
	"tokens":      nil,
	"settings":    {metaSessionKey, metaAdminToken},
}

// BackupBuckets lists the buckets a backup carries, in the order it carries them: the
// chain's own buckets, then every stored table of tables.go.
func BackupBuckets() []string {
	out := []string{string(bucketMeta), string(bucketLineItems), string(bucketAccess), string(bucketKeys)}
	for _, tb := range tables {
		if tb.stored() {
			out = append(out, string(tb.bucketName()))
		}
	}
	return out
}

func backupOmitted() []string {
	var out []string
	for _, b := range BackupBuckets() {
		keys, ok := backupSecrets[b]
		switch {
		case !ok:
		case keys == nil:
			out = append(out, b+" (every value)")
		default:
			for _, k := range keys {
				out = append(out, b+"/"+k)
			}
		}
	}
	return out
}

// Backup writes a backup of the state as of the last applied entry to w, streaming from a
// read transaction: later batches apply meanwhile, and memory does not grow with the state.
func (l *Ledger) Backup(w io.Writer, sourceNode string, now time.Time) (backupfile.Header, error) {
	l.mu.Lock()
	l.mustFlush()
	tx, err := l.db.Begin(false)
	l.mu.Unlock()
	if err != nil {
		return backupfile.Header{}, err
	}
	defer func() { _ = tx.Rollback() }()
	m := tx.Bucket(bucketMeta)
	applied := getUint(m, "applied")
	h := backupfile.Header{CreatedAt: now.UTC(), SourceNode: sourceNode, RaftIndex: applied,
		StateIndex: stateIndexOf(tx, applied), LineItems: getUint(m, "seq"), TrailRecords: getUint(m, "access_seq"),
		Buckets: BackupBuckets(), Omitted: backupOmitted()}
	if h.LineItems > 0 {
		h.Head = hex.EncodeToString(m.Get([]byte("head")))
	}
	if h.TrailRecords > 0 {
		h.TrailHead = hex.EncodeToString(m.Get([]byte("access_head")))
	}
	if h.TrailFrom = getUint(m, metaAccessArchivedSeq); h.TrailFrom > 0 {
		h.TrailPrev = hex.EncodeToString(m.Get([]byte(metaAccessArchivedHead)))
	}
	bw, err := backupfile.NewWriter(w, h)
	if err != nil {
		return h, err
	}
	for _, name := range h.Buckets {
		if err := bw.Bucket(name); err != nil {
			return h, err
		}
		b := tx.Bucket([]byte(name))
		if b == nil {
			continue // a bucket this file never had (an old state file): empty
		}
		secret, some := backupSecrets[name]
		if some && secret == nil {
			continue
		}
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if v == nil || slices.Contains(secret, string(k)) {
				continue // nested buckets: none; secrets: left out
			}
			if err := bw.Pair(k, v); err != nil {
				return h, err
			}
		}
	}
	return h, bw.Close()
}

// Restored is what a state restored from a backup records of its origin (settings key
// restored_from): until a security officer has activated again, the new bootstrap
// credential may give security officers activation codes and nothing else.
type Restored struct {
	RaftIndex uint64    `json:"raft_index"`
	Head      string    `json:"head"`
	CreatedAt time.Time `json:"created_at"`
}

const metaRestoredFrom = "restored_from"

// RestoreBackup builds a new state file at path from a backup read from r, and grants the
// new bootstrap credential (adminTokenSHA256) to the bootstrap security account. The file
// appears at path only if the whole backup checks out — and, when expectHead is given, if
// its chain ends in that hash (the operator's record of the ledger, e.g. an auditor's
// verify, so that a file altered consistently is not taken); path must not exist.
func RestoreBackup(path string, r io.Reader, adminTokenSHA256, expectHead string) (backupfile.Summary, error) {
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		return backupfile.Summary{}, fmt.Errorf("restore: %s exists: a backup is restored into a new data directory only", path)
	}
	tmp := path + ".restoring"
	_ = os.Remove(tmp)
	db, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: 5 * time.Second, NoFreelistSync: true})
	if err != nil {
		return backupfile.Summary{}, err
	}
	rv := &restoreVisitor{db: db, allowed: map[string]bool{}}
	for _, b := range BackupBuckets() {
		rv.allowed[b] = true
	}
	sum, err := backupfile.Read(r, rv)
	if err == nil && expectHead != "" && sum.Header.Head != expectHead {
		err = fmt.Errorf("restore: the backup's chain ends in %s, not the expected %s", sum.Header.Head, expectHead)
	}
	if err == nil {
		err = rv.commit()
	} else if rv.tx != nil {
		_ = rv.tx.Rollback()
	}
	if err == nil {
		err = db.Update(func(tx *bolt.Tx) error { return sealRestored(tx, sum.Header, adminTokenSHA256) })
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return sum, err
	}
	if err := durable.SyncFile(tmp); err != nil {
		return sum, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return sum, err
	}
	return sum, durable.SyncDir(filepath.Dir(path))
}

// sealRestored checks the restored chains' bookkeeping against the backup's header and
// installs the new bootstrap credential.
func sealRestored(tx *bolt.Tx, h backupfile.Header, adminTokenSHA256 string) error {
	m := tx.Bucket(bucketMeta)
	if m == nil {
		return errors.New("restore: the backup carries no meta bucket")
	}
	if got := getUint(m, "applied"); got != h.RaftIndex {
		return fmt.Errorf("restore: the state says applied index %d, the header %d", got, h.RaftIndex)
	}
	if got := getUint(m, "seq"); got != h.LineItems {
		return fmt.Errorf("restore: the state says %d line items, the chain holds %d", got, h.LineItems)
	}
	// The chains' bookkeeping must be what the chains recomputed say (a file altered and its
	// checksum recomputed is caught here if its meta and chains disagree).
	hexOf := func(k string) string {
		if v := m.Get([]byte(k)); len(v) > 0 {
			return hex.EncodeToString(v)
		}
		return ""
	}
	switch {
	case h.LineItems > 0 && hexOf("head") != h.Head:
		return fmt.Errorf("restore: the state's head %s is not the chain's %s", hexOf("head"), h.Head)
	case getUint(m, "access_seq") != h.TrailRecords || (h.TrailRecords > h.TrailFrom && hexOf("access_head") != h.TrailHead):
		return fmt.Errorf("restore: the state's access trail (%d, %s) is not the chain's (%d, %s)", getUint(m, "access_seq"), hexOf("access_head"), h.TrailRecords, h.TrailHead)
	case getUint(m, metaAccessArchivedSeq) != h.TrailFrom || hexOf(metaAccessArchivedHead) != h.TrailPrev:
		return fmt.Errorf("restore: the state's archived trail does not match the header's")
	case getUint(m, "state_index") > h.RaftIndex:
		return fmt.Errorf("restore: the state index %d is beyond the applied index %d", getUint(m, "state_index"), h.RaftIndex)
	}
	settings, err := tx.CreateBucketIfNotExists([]byte("settings"))
	if err != nil {
		return err
	}
	origin, _ := json.Marshal(Restored{RaftIndex: h.RaftIndex, Head: h.Head, CreatedAt: h.CreatedAt})
	if err := settings.Put([]byte(metaRestoredFrom), origin); err != nil {
		return err
	}
	if err := settings.Put([]byte(metaAdminToken), []byte(adminTokenSHA256)); err != nil {
		return err
	}
	accounts, err := tx.CreateBucketIfNotExists([]byte("accounts"))
	if err != nil {
		return err
	}
	if accounts.Get([]byte(BootstrapSecurity)) == nil {
		a, _ := json.Marshal(&Account{ID: BootstrapSecurity, Name: "安全管理员 (bootstrap)", Role: RoleSecurity})
		if err := accounts.Put([]byte(BootstrapSecurity), a); err != nil {
			return err
		}
	}
	tokens, err := tx.CreateBucketIfNotExists([]byte("tokens"))
	if err != nil {
		return err
	}
	g, _ := json.Marshal(&TokenGrants{SHA256: adminTokenSHA256, Grants: []TokenGrant{{Account: BootstrapSecurity, ID: BootstrapTokenID}}})
	return tokens.Put([]byte(adminTokenSHA256), g)
}

// restoreVisitor writes what the reader reads, committing every so many pairs so that a
// restore's memory does not grow with the backup.
type restoreVisitor struct {
	db      *bolt.DB
	tx      *bolt.Tx
	bucket  *bolt.Bucket
	name    string
	n       int
	bytes   int
	allowed map[string]bool
}

// A restore commits every restorePairsPerTx pairs or restoreBytesPerTx bytes, whichever
// comes first, so that its memory stays bounded whatever the file holds.
const (
	restorePairsPerTx = 50_000
	restoreBytesPerTx = 64 << 20
)

func (v *restoreVisitor) begin() error {
	if v.tx != nil {
		return nil
	}
	tx, err := v.db.Begin(true)
	if err != nil {
		return err
	}
	v.tx = tx
	if v.name != "" {
		v.bucket, err = tx.CreateBucketIfNotExists([]byte(v.name))
	}
	return err
}

func (v *restoreVisitor) commit() error {
	if v.tx == nil {
		return nil
	}
	err := v.tx.Commit()
	v.tx, v.bucket, v.n = nil, nil, 0
	return err
}

func (v *restoreVisitor) Bucket(name string) error {
	if !v.allowed[name] {
		return fmt.Errorf("restore: the backup carries a bucket %q that a state file does not have", name)
	}
	v.name = name
	if err := v.begin(); err != nil {
		return err
	}
	var err error
	v.bucket, err = v.tx.CreateBucketIfNotExists([]byte(name))
	return err
}

func (v *restoreVisitor) Pair(k, val []byte) error {
	// What a backup never carries is refused, not restored: a file altered to plant a
	// credential, a token or a session key would otherwise hand the new cluster to its author.
	if secret, ok := backupSecrets[v.name]; ok && (secret == nil || slices.Contains(secret, string(k))) {
		return fmt.Errorf("restore: the backup carries %s/%q, a secret no backup holds: refused", v.name, k)
	}
	if v.name == "settings" && (string(k) == metaRestoredFrom || string(k) == metaRecoveryOver) {
		return fmt.Errorf("restore: the backup carries settings/%q, which only a restore writes: refused", k)
	}
	if err := v.begin(); err != nil {
		return err
	}
	if v.name == string(bucketLineItems) || v.name == string(bucketAccess) {
		v.bucket.FillPercent = 1.0 // appended in key order
	}
	if err := v.bucket.Put(slices.Clone(k), slices.Clone(val)); err != nil {
		return err
	}
	v.bytes += len(k) + len(val)
	if v.n++; v.n >= restorePairsPerTx || v.bytes >= restoreBytesPerTx {
		v.bytes = 0
		return v.commit()
	}
	return nil
}

// recovering reports whether the state was restored from a backup and no security officer
// has re-activated since (a backup carries no credential): the new bootstrap credential
// then stands for the bootstrap security account and may give one security officer an
// activation code, nothing else (SPEC: people re-activate their accounts). The end is
// latched (endRecovery): a later password change or disable does not bring it back.
func (t *txn) recovering() bool {
	v, _ := t.settings.get(metaRecoveryOver)
	r, _ := t.settings.get(metaRestoredFrom)
	return r != "" && v == ""
}

// metaRecoveryOver latches the end of a restored cluster's recovery.
const metaRecoveryOver = "recovery_over"

// endRecovery ends the recovery once a security officer (a person) has activated.
func (t *txn) endRecovery(account string, ctx applyContext) {
	if !t.recovering() {
		return
	}
	if a, ok := t.accounts.get(account); ok && a.Role == RoleSecurity && !a.Bootstrap() && !a.Program {
		t.settings.put(metaRecoveryOver, ctx.recordedAt.UTC().Format(time.RFC3339))
	}
}

// securityActivationPending names a security account other than except holding an unused
// activation code ("" for none).
func (t *txn) securityActivationPending(except string) string {
	found := ""
	t.accounts.each(func(_ string, a *Account) {
		if a.Role == RoleSecurity && a.ID != except && (found == "" || a.ID < found) { // the least id: the same answer on every node
			if c, ok := t.credentials.get(a.ID); ok && c.ActivationSHA256 != "" {
				found = a.ID
			}
		}
	})
	return found
}

// RestoredFrom returns the backup a restored state came from.
func (l *Ledger) RestoredFrom() (Restored, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	v, _ := l.root.settings.get(metaRestoredFrom)
	var r Restored
	if v == "" || json.Unmarshal([]byte(v), &r) != nil {
		return r, false
	}
	return r, true
}
