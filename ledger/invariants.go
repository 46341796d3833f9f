package ledger

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// InvariantError is a violated invariant of the ledger's own state: a bug or a damaged
// state file, never a client's mistake, so it is never a reply. Apply panics with it (the
// node stops; Raft replays the entry after a fix), Open returns it (the node refuses to
// serve). Name is stable, for logs and alerts.
type InvariantError struct {
	Name   string
	Detail string
}

func (e *InvariantError) Error() string {
	return fmt.Sprintf("ledger invariant %s violated: %s", e.Name, e.Detail)
}

// Invariant names.
const (
	InvHeldNonNegative   = "held_non_negative"    // a resource, or a department's class, holds less than zero
	InvSeqDense          = "sequence_dense"       // line items are numbered 1, 2, 3, … without a gap
	InvHeadIsLastItem    = "head_is_last_item"    // the stored head is the last stored line item's hash
	InvReferenceResolves = "reference_resolves"   // an entity the state refers to exists
	InvTableKey          = "table_key_consistent" // a stored entity sits under its own key
	InvCredentialStaged  = "credential_staged"    // a credential's record follows its hash in the same request
)

// invariant panics with an *InvariantError when ok is false.
func invariant(ok bool, name, format string, args ...any) {
	if !ok {
		panic(&InvariantError{Name: name, Detail: fmt.Sprintf(format, args...)})
	}
}

// must returns the value of a key that the state guarantees to exist.
func must[K comparable, V any](l *layer[K, V], k K, what string) V {
	v, ok := l.get(k)
	invariant(ok, InvReferenceResolves, "%s %v is referred to but missing", what, k)
	return v
}

// checkOpened checks what a state file must satisfy when it opens: the line items end at
// the stored sequence with the stored head hash, and no quantity held is negative.
func (l *Ledger) checkOpened(tx *bolt.Tx) error {
	r := l.root
	k, v := tx.Bucket(bucketLineItems).Cursor().Last()
	switch {
	case k == nil && r.seq != 0:
		return &InvariantError{InvSeqDense, fmt.Sprintf("the head says %d line items, the state file holds none", r.seq)}
	case k != nil:
		last := binary.BigEndian.Uint64(k)
		if last != r.seq {
			return &InvariantError{InvSeqDense, fmt.Sprintf("the head says %d line items, the last stored is %d", r.seq, last)}
		}
		li, _, err := decodeLineItem(v)
		if err != nil {
			return &InvariantError{InvHeadIsLastItem, fmt.Sprintf("line item %d cannot be decoded: %v", last, err)}
		}
		if li.Hash != r.head {
			return &InvariantError{InvHeadIsLastItem, fmt.Sprintf("the stored head %s is not the hash %s of line item %d", r.head, li.Hash, last)}
		}
	}
	for id, res := range r.resources.m {
		if res.Quantity.IsNegative() {
			return &InvariantError{InvHeldNonNegative, fmt.Sprintf("resource %q holds %s", id, res.Quantity)}
		}
	}
	for k, q := range r.held.m {
		if q.IsNegative() {
			return &InvariantError{InvHeldNonNegative, fmt.Sprintf("department %q holds %s of class %q", k.Department, q, k.QuotaClass)}
		}
	}
	return nil
}
