// Package backupfile is the format of a CloudLedger backup (SPEC: Backup and disaster
// recovery): a logical copy of a node's state as of one Raft index, written as a stream so
// that neither the node nor the reader ever holds it whole, and checkable offline without
// the state machine (ledgerctl links no storage engine). It knows buckets of key/value
// pairs and the two hash chains (line items and the access trail), nothing of what the
// values mean.
//
//	magic "CLBACKUP" | frames | end frame
//	frame      = kind byte | uvarint length | payload
//	'H' header = JSON (Header), first and once
//	'B' bucket = its name; the pairs that follow are its
//	'P' pair   = uvarint key length | key | value
//	'E' end    = SHA-256 of every byte before this frame (magic included), last
package backupfile

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"time"
)

// Format is the version of the format this package writes and reads.
const Format = 1

// KindAccessArchive is the Kind of an archive of access records.
const KindAccessArchive = "access-archive"

// Limits of what a reader accepts, so that a damaged or hostile file cannot make it
// allocate without bound.
const (
	MaxHeaderBytes = 1 << 20  // the header frame
	MaxFrameBytes  = 64 << 20 // any other frame: a bucket name or one key/value pair
)

var magic = []byte("CLBACKUP")

// The buckets whose values are hash chains: key = big-endian sequence from 1, value =
// canonical encoding ‖ SHA-256(previous hash ‖ canonical encoding).
const (
	BucketLineItems = "line_items"
	BucketTrail     = "access_trail"
)

// Header says what the backup holds. The counts and heads are checked against the chains
// the file carries.
type Header struct {
	Format int `json:"format"`
	// Kind is "" for a backup of a node's state, KindAccessArchive for a sealed archive of
	// access records (the trail's bucket alone).
	Kind       string    `json:"kind,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	SourceNode string    `json:"source_node"`
	// RaftIndex is the last Raft entry the state reflects; StateIndex the last that wrote
	// more than access records (the index reads name).
	RaftIndex  uint64 `json:"raft_index"`
	StateIndex uint64 `json:"state_index"`
	LineItems  uint64 `json:"line_items"`
	Head       string `json:"head"` // hex SHA-256 of the last line item, "" for none
	// TrailRecords and TrailHead: the access trail's length and head.
	TrailRecords uint64 `json:"trail_records"`
	TrailHead    string `json:"trail_head"`
	// TrailFrom and TrailPrev: the trail's records in the file follow record TrailFrom,
	// whose hash is TrailPrev (records archived before, or an earlier archive); 0 and "":
	// from the first record.
	TrailFrom uint64 `json:"trail_from,omitempty"`
	TrailPrev string `json:"trail_prev,omitempty"`
	// Buckets are the buckets the file carries, in order; Omitted what was left out of them
	// on purpose (secrets), e.g. "credentials (every value: password hashes, TOTP keys)".
	Buckets []string `json:"buckets"`
	Omitted []string `json:"omitted"`
}

// Error is a refusal of a backup file: what is wrong and where (the byte offset).
type Error struct {
	Offset int64
	Reason string
}

func (e *Error) Error() string {
	return fmt.Sprintf("backup refused at byte %d: %s", e.Offset, e.Reason)
}

// ErrTruncated is wrapped by the error of a file that ends before its end frame.
var ErrTruncated = errors.New("the file ends before its end frame: it is incomplete (truncated)")

// Writer writes a backup. Bucket and Pair stream; nothing is held beyond a buffer.
type Writer struct {
	w       *bufio.Writer
	sum     hash.Hash
	scratch []byte
	err     error
	bucket  bool
}

// NewWriter writes the magic and the header.
func NewWriter(w io.Writer, h Header) (*Writer, error) {
	h.Format = Format
	body, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	if len(body) > MaxHeaderBytes {
		return nil, fmt.Errorf("backup header of %d bytes exceeds %d", len(body), MaxHeaderBytes)
	}
	bw := &Writer{w: bufio.NewWriterSize(w, 256<<10), sum: sha256.New()}
	bw.write(magic)
	bw.frame('H', body)
	return bw, bw.err
}

func (bw *Writer) write(p []byte) {
	if bw.err != nil {
		return
	}
	bw.sum.Write(p)
	_, bw.err = bw.w.Write(p)
}

func (bw *Writer) frame(kind byte, payload ...[]byte) {
	n := 0
	for _, p := range payload {
		n += len(p)
	}
	if n > MaxFrameBytes && bw.err == nil {
		bw.err = fmt.Errorf("backup frame of %d bytes exceeds %d", n, MaxFrameBytes)
	}
	bw.scratch = binary.AppendUvarint(append(bw.scratch[:0], kind), uint64(n))
	bw.write(bw.scratch)
	for _, p := range payload {
		bw.write(p)
	}
}

// Bucket starts a bucket: the pairs written next are its.
func (bw *Writer) Bucket(name string) error {
	bw.bucket = true
	bw.frame('B', []byte(name))
	return bw.err
}

// Pair writes one key/value pair of the current bucket.
func (bw *Writer) Pair(k, v []byte) error {
	if !bw.bucket && bw.err == nil {
		bw.err = errors.New("backup: a pair before any bucket")
	}
	var kl [binary.MaxVarintLen64]byte
	bw.frame('P', kl[:binary.PutUvarint(kl[:], uint64(len(k)))], k, v)
	return bw.err
}

// Close writes the end frame and flushes; it does not close the underlying writer.
func (bw *Writer) Close() error {
	sum := bw.sum.Sum(nil)
	bw.frame('E', sum)
	if bw.err == nil {
		bw.err = bw.w.Flush()
	}
	return bw.err
}

// Visitor receives what a Reader reads, in file order. The whole file is only known to be
// good when Read returns nil: a restore writes into a place it discards on error.
type Visitor interface {
	Bucket(name string) error
	Pair(k, v []byte) error
}

// Summary is what a read found: the header, and the chains as recomputed.
type Summary struct {
	Header Header
	Pairs  uint64
	Bytes  int64
}

// Read reads and checks a whole backup: the magic, every frame, the checksum, both hash
// chains (dense sequences, every hash recomputed) and the header's counts and heads
// against them. v (nil: only check) sees each bucket and pair as it is read.
func Read(r io.Reader, v Visitor) (Summary, error) {
	cr := &countingReader{r: bufio.NewReaderSize(r, 256<<10), sum: sha256.New()}
	var s Summary
	fail := func(format string, args ...any) (Summary, error) {
		return s, &Error{Offset: cr.n, Reason: fmt.Sprintf(format, args...)}
	}
	head := make([]byte, len(magic))
	if _, err := io.ReadFull(cr, head); err != nil {
		return fail("%v", truncated(err))
	}
	if !bytes.Equal(head, magic) {
		return fail("not a CloudLedger backup (it does not begin with %q)", magic)
	}
	kind, body, err := cr.frame(MaxHeaderBytes)
	if err != nil {
		return fail("%v", err)
	}
	if kind != 'H' {
		return fail("the first frame is %q, not the header", kind)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s.Header); err != nil {
		return fail("the header is not valid: %v", err)
	}
	if s.Header.Format != Format {
		return fail("format %d; this program reads format %d", s.Header.Format, Format)
	}
	trail := &chain{n: s.Header.TrailFrom}
	if s.Header.TrailPrev != "" {
		prev, err := hex.DecodeString(s.Header.TrailPrev)
		if err != nil || len(prev) != 32 {
			return fail("the header's trail_prev is not a SHA-256")
		}
		copy(trail.head[:], prev)
	}
	var chains = map[string]*chain{BucketLineItems: {}, BucketTrail: trail}
	required := []string{BucketLineItems, BucketTrail}
	switch s.Header.Kind {
	case "":
	case KindAccessArchive:
		delete(chains, BucketLineItems)
		required = []string{BucketTrail}
	default:
		return fail("unknown kind %q", s.Header.Kind)
	}
	var cur *chain
	var bucket string
	seen := map[string]bool{}
	for {
		before := cr.sum.Sum(nil)
		kind, body, err := cr.frame(MaxFrameBytes)
		if err != nil {
			return fail("%v", err)
		}
		switch kind {
		case 'B':
			bucket = string(body)
			if seen[bucket] {
				return fail("bucket %q appears twice", bucket)
			}
			seen[bucket] = true
			cur = chains[bucket]
			if v != nil {
				if err := v.Bucket(bucket); err != nil {
					return s, err
				}
			}
		case 'P':
			if bucket == "" {
				return fail("a pair before any bucket")
			}
			kl, n := binary.Uvarint(body)
			if n <= 0 || kl > uint64(len(body)-n) {
				return fail("a pair of bucket %q with a bad key length", bucket)
			}
			k, val := body[n:n+int(kl)], body[n+int(kl):]
			if cur != nil {
				if reason := cur.next(k, val); reason != "" {
					return fail("%s: %s", bucket, reason)
				}
			}
			s.Pairs++
			if v != nil {
				if err := v.Pair(k, val); err != nil {
					return s, err
				}
			}
		case 'E':
			if !bytes.Equal(body, before) {
				return fail("checksum mismatch: the file was altered or damaged after it was written")
			}
			if _, err := cr.r.ReadByte(); err != io.EOF {
				return fail("bytes after the end frame")
			}
			s.Bytes = cr.n
			h := s.Header
			for _, c := range []struct {
				name       string
				count      uint64
				head       string
				countField string
			}{{BucketLineItems, h.LineItems, h.Head, "line items"}, {BucketTrail, h.TrailRecords, h.TrailHead, "access records"}} {
				got := chains[c.name]
				if !slices.Contains(required, c.name) {
					continue
				}
				if !seen[c.name] {
					return fail("the bucket %q is missing", c.name)
				}
				if got.n != c.count || got.headHex() != c.head {
					return fail("the header says %d %s ending in %q; the file holds %d ending in %q", c.count, c.countField, c.head, got.n, got.headHex())
				}
			}
			for _, b := range h.Buckets {
				if !seen[b] {
					return fail("the header lists bucket %q, the file does not carry it", b)
				}
			}
			return s, nil
		default:
			return fail("unknown frame kind %q", kind)
		}
	}
}

func truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrTruncated
	}
	return err
}

type countingReader struct {
	r   *bufio.Reader
	sum hash.Hash
	n   int64
	buf []byte
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.sum.Write(p[:n])
	c.n += int64(n)
	return n, err
}

func (c *countingReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.sum.Write([]byte{b})
		c.n++
	}
	return b, err
}

// frame reads one frame; its payload is valid until the next call.
func (c *countingReader) frame(limit int) (byte, []byte, error) {
	kind, err := c.ReadByte()
	if err != nil {
		return 0, nil, truncated(err)
	}
	n, err := binary.ReadUvarint(c)
	if err != nil {
		return 0, nil, truncated(err)
	}
	if n > uint64(limit) {
		return 0, nil, fmt.Errorf("a frame of %d bytes exceeds the limit of %d: the file is damaged", n, limit)
	}
	if cap(c.buf) < int(n) {
		c.buf = make([]byte, n)
	}
	c.buf = c.buf[:n]
	if _, err := io.ReadFull(c, c.buf); err != nil {
		return 0, nil, truncated(err)
	}
	return kind, c.buf, nil
}

// chain recomputes one hash chain.
type chain struct {
	n    uint64
	head [32]byte
}

func (c *chain) next(k, v []byte) string {
	if len(k) != 8 || binary.BigEndian.Uint64(k) != c.n+1 {
		return fmt.Sprintf("entry %d is not followed by %d (key %x)", c.n, c.n+1, k)
	}
	if len(v) < 32 {
		return fmt.Sprintf("entry %d is too short", c.n+1)
	}
	canon, stored := v[:len(v)-32], v[len(v)-32:]
	if seq, n := binary.Uvarint(canon); n <= 0 || seq != c.n+1 {
		return fmt.Sprintf("entry %d claims another sequence number", c.n+1)
	}
	h := sha256.New()
	h.Write(c.head[:])
	h.Write(canon)
	var got [32]byte
	h.Sum(got[:0])
	if !bytes.Equal(got[:], stored) {
		return fmt.Sprintf("entry %d does not match its hash: content or order altered", c.n+1)
	}
	c.n, c.head = c.n+1, got
	return ""
}

func (c *chain) headHex() string {
	if c.n == 0 {
		return ""
	}
	return hex.EncodeToString(c.head[:])
}
