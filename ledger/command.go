package ledger

import (
	"bytes"
	"fmt"
	"time"

	"github.com/cloudledger/cloudledger/errcode"
)

// CommandType tags a command body on the log and in the hash chain. Each command's file
// declares its number; register refuses a number used twice. Never reuse a number.
type CommandType uint8

// typeIgnorableFlag marks a type that older binaries may skip (Consul's trick for rolling
// upgrades): an unknown type with this bit set is ignored, without it rejected.
const typeIgnorableFlag CommandType = 0x80

// Body is the typed payload of a command. Each command type is one unit: its fields, its
// canonical encoding, its validation without state, and its apply against the state.
type Body interface {
	Type() CommandType
	encode(e *encoder)
	decode(d *decoder)
	// validate checks what can be checked without the ledger's state: required fields,
	// domains, limits, by the rules of the entry's proposal version.
	validate(rl rules) *Error
	// apply changes t, or returns why not (errUnchanged: accepted, nothing to write).
	apply(t *txn, ctx applyContext) *Error
}

// Command is one request to change the ledger, identified by an idempotency key.
type Command struct {
	Key  string
	Body Body
	// encoded is Body's encoding when the command was decoded from a log entry (checked
	// canonical there): apply hashes and stores it without encoding the body again.
	encoded []byte
}

// lineItemRule says whether applying a command writes a line item of its own.
type lineItemRule bool

const (
	// writesLineItem: every accepted change is a line item and needs an idempotency key.
	writesLineItem lineItemRule = true
	// noLineItem: the machinery's own bookkeeping (the expiry tick, the Kafka bridge's
	// positions); it needs no key and writes no line item itself (what it causes may).
	noLineItem lineItemRule = false
)

// commandSpec is the registration of one command type.
type commandSpec struct {
	name     string
	lineItem lineItemRule
	new      func() Body
	// record, when set, is what the command's line item holds instead of the command
	// itself (a delivery of utilisation rows keeps its record, the rows go to their table).
	record func(b Body, t *txn, ctx applyContext) Body
}

var commands [256]*commandSpec

// register declares a command type once, from the file that defines it.
func register(t CommandType, name string, rule lineItemRule, newBody func() Body) {
	if commands[t] != nil {
		panic(fmt.Sprintf("ledger: command type %d registered twice (%s, %s)", t, commands[t].name, name))
	}
	if t&typeIgnorableFlag != 0 {
		panic(fmt.Sprintf("ledger: command type %d (%s) has the ignorable flag", t, name))
	}
	if got := newBody().Type(); got != t {
		panic(fmt.Sprintf("ledger: command %s registered as type %d reports type %d", name, t, got))
	}
	commands[t] = &commandSpec{name: name, lineItem: rule, new: newBody}
}

// specOf is the registration of b's type, nil for an unregistered one.
func specOf(b Body) *commandSpec { return commands[b.Type()] }

// EncodeBody returns the canonical encoding of a body: its type byte, then its fields.
func EncodeBody(b Body) []byte {
	e := encoder{b: make([]byte, 0, 128)}
	e.u8(uint8(b.Type()))
	b.encode(&e)
	return e.b
}

// DecodeBody decodes a canonical body. errIgnorable is returned for an unknown type that
// carries the ignorable flag.
func DecodeBody(p []byte) (Body, error) {
	d := decoder{b: p}
	t := CommandType(d.u8())
	if d.err != nil {
		return nil, d.err
	}
	spec := commands[t]
	if spec == nil {
		if t&typeIgnorableFlag != 0 {
			return nil, errIgnorable
		}
		return nil, Errf(errcode.Malformed, "", "unknown command type %d", t)
	}
	b := spec.new()
	b.decode(&d)
	d.done()
	if d.err != nil {
		return nil, d.err
	}
	return b, nil
}

var errIgnorable = Errf(errcode.Malformed, "", "ignorable command type")

// Proposal is the body of one Raft entry: the leader's clock and the requests it carries.
// Concurrent requests share an entry (group commit) but each stays atomic on its own.
type Proposal struct {
	RecordedAt  time.Time
	Submissions []Submission
	// Version is the proposal format and rule version it was written under; 0 when
	// encoding means ProposalVersion. Its stateless rules are rulesFor it.
	Version uint8
	// skipped counts the commands of a newer binary's ignorable types decoding dropped.
	skipped int
}

// Submission is what one client asked for: all of its commands apply, or none.
type Submission struct {
	Actor    string
	Commands []Command
}

// proposalVersion is the version new proposals are written as: 1 until issue 10, 2 since
// (stricter characters in ids, keys and names), 3 since late history (issue 12), 4 since
// notices (issue 15), 5 since 三员分立 and tenant-scoped keys (issue 22), 6 since the
// fulfilment command (issue 23), 7 since utilisation rows (issue 24), 8 since findings and
// seasons (issue 25), 9 since the access trail's archives (issue 28), 10 since evaluation on the
// ledger (issue 26), 11 since a person removes their own TOTP key (issue 27). Older versions still
// decode and apply by their own rules.
const proposalVersion = 11

// EncodeProposal encodes p for the Raft log.
func EncodeProposal(p *Proposal) []byte {
	e := encoder{b: make([]byte, 0, 256)}
	v := p.Version
	if v == 0 {
		v = maxRulesVersion
	}
	e.u8(v)
	e.tm(p.RecordedAt)
	e.uvarint(uint64(len(p.Submissions)))
	for _, r := range p.Submissions {
		e.str(r.Actor)
		e.uvarint(uint64(len(r.Commands)))
		for _, c := range r.Commands {
			e.str(c.Key)
			e.bytes(EncodeBody(c.Body))
		}
	}
	return e.b
}

// DecodeProposal decodes a Raft entry. It never panics: a bad entry is an error.
func DecodeProposal(p []byte) (*Proposal, error) {
	d := decoder{b: p}
	v := d.u8()
	if d.err == nil && (v < 1 || v > maxRulesVersion) {
		return nil, Errf(errcode.Malformed, "", "unknown proposal version %d", v)
	}
	out := &Proposal{Version: v, RecordedAt: d.tm()}
	n := d.uvarint()
	if d.err == nil && n > MaxCommandsPerBatch {
		d.fail("too many requests")
	}
	total := uint64(0)
	for i := uint64(0); i < n && d.err == nil; i++ {
		r := Submission{Actor: d.str(MaxTextLen)}
		m := d.uvarint()
		total += m
		if d.err == nil && (m > MaxCommandsPerBatch || total > 4*MaxCommandsPerBatch) {
			d.fail("too many commands")
		}
		for j := uint64(0); j < m && d.err == nil; j++ {
			key := d.str(MaxKeyLen)
			raw := d.raw(MaxBatchEncodedBytes)
			if d.err != nil {
				break
			}
			b, err := DecodeBody(raw)
			if err == errIgnorable {
				out.skipped++
				continue // a newer binary's optional command: skipped by design
			}
			if err != nil {
				return nil, err
			}
			if !bytes.Equal(EncodeBody(b), raw) {
				// One body, one encoding: what is hashed and stored is what was proposed,
				// and a value written two ways (1.500 and 1.5) cannot enter the log.
				return nil, Errf(errcode.Malformed, "", "command %d of submission %d is not in canonical form", j, i)
			}
			r.Commands = append(r.Commands, Command{Key: key, Body: b, encoded: raw})
		}
		out.Submissions = append(out.Submissions, r)
	}
	d.done()
	if d.err != nil {
		return nil, d.err
	}
	return out, nil
}

// CommandTypes lists the registered command types, in order.
func CommandTypes() []CommandType {
	var out []CommandType
	for t := range commands {
		if commands[t] != nil {
			out = append(out, CommandType(t))
		}
	}
	return out
}

// TypeName is a command type's name in exports and logs.
func TypeName(t CommandType) string {
	if s := commands[t]; s != nil {
		return s.name
	}
	return "unknown"
}
