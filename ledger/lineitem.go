package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/cloudledger/cloudledger/errcode"
)

// Hash is a SHA-256 digest in the chain.
type Hash [32]byte

func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// LineItem is one accepted entry of the append-only ledger. Resource operations are the
// common case; administrative changes (quotas, prices, approvals, closed months) are line
// items too, so the hash chain covers everything that moves money.
type LineItem struct {
	Seq        uint64
	RaftIndex  uint64
	Key        string
	Actor      string
	RecordedAt time.Time // the leader's clock when proposed
	Body       Body
	body       []byte   // canonical encoding of Body
	canon      []byte   // canonical encoding of the whole item, computed once when appended
	content    [16]byte // contentHash(body), for the idempotency index
	indexKey   string   // the key in the idempotency index: Key, scoped by tenant from version 5 (tenantkeys.go)
	Hash       Hash     // sha256(previous hash ‖ canonical encoding of this item)
}

// BodyBytes is the canonical encoding of the body, as hashed into the chain.
func (li *LineItem) BodyBytes() []byte { return li.body }

// canonical is the encoding hashed into the chain and stored in bbolt (without the hash).
func (li *LineItem) canonical() []byte {
	e := encoder{b: make([]byte, 0, 64+len(li.body)+len(li.Key))}
	e.uvarint(li.Seq)
	e.uvarint(li.RaftIndex)
	e.str(li.Key)
	e.str(li.Actor)
	e.tm(li.RecordedAt)
	e.bytes(li.body)
	return e.b
}

func chainHash(prev Hash, canonical []byte) Hash {
	h := sha256.New()
	h.Write(prev[:])
	h.Write(canonical)
	var out Hash
	h.Sum(out[:0])
	return out
}

// encodeStored is canonical ‖ hash.
func (li *LineItem) encodeStored() []byte {
	c := li.canon
	if c == nil {
		c = li.canonical()
	}
	out := make([]byte, 0, len(c)+len(li.Hash))
	return append(append(out, c...), li.Hash[:]...)
}

// decodeLineItem decodes a stored line item and returns its canonical part for verification.
func decodeLineItem(p []byte) (*LineItem, []byte, error) {
	if len(p) < len(Hash{}) {
		return nil, nil, Errf(errcode.Malformed, "", "stored line item too short")
	}
	canon := p[:len(p)-len(Hash{})]
	d := decoder{b: canon}
	li := &LineItem{Seq: d.uvarint(), RaftIndex: d.uvarint(), Key: d.str(MaxKeyLen), Actor: d.str(MaxTextLen), RecordedAt: d.tm()}
	li.body = d.raw(MaxBatchEncodedBytes)
	d.done()
	if d.err != nil {
		return nil, nil, d.err
	}
	b, err := DecodeBody(li.body)
	if err != nil {
		return nil, nil, err
	}
	li.Body = b
	copy(li.Hash[:], p[len(canon):])
	return li, canon, nil
}

// contentHash identifies what a key was used for: a retry with the same key and the same
// body is a no-op, with another body an idempotency_conflict.
func contentHash(body []byte) [16]byte {
	s := sha256.Sum256(body)
	var out [16]byte
	copy(out[:], s[:16])
	return out
}
