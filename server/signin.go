package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudledger/cloudledger/errcode"
)

// What comes before authentication is bounded (SPEC: Access, sign-in failures; issue 22):
// every password check (argon2id, 19 MiB each) runs in a pool of HashPoolSize() slots
// (one a core, 2 to 4: a check is all CPU, more at once only costs memory), a caller
// waiting longer than HashPoolWait for one is told resource_exhausted; one account's
// checks run one at a time, so a burst of guesses is counted one by one and the lock
// (5 failures) stops it after 5; failed sign-ins are also counted per source address.
// Every failure answers the same code and message after one password check, whether the
// account exists, is disabled, locked or has no password, and whether the password or the
// TOTP code was wrong.
const (
	HashPoolWait = 2 * time.Second
	// AddressFailureLimit failed sign-ins or activations from one address within
	// AddressFailureWindow: further attempts from it are refused unchecked until the
	// oldest falls out of the window.
	AddressFailureLimit  = 30
	AddressFailureWindow = 15 * time.Minute
	// MaxTOTPCodeBytes bounds the TOTP field of a sign-in (6 digits are used).
	MaxTOTPCodeBytes = 16
	// maxTrackedAddresses bounds the failure counters kept (a flood of addresses cannot
	// grow them without end; the oldest go first).
	maxTrackedAddresses = 100_000
)

// signInFailed is the one answer to a failed sign-in.
func signInFailed() error {
	return detailError(errcode.Errf(errcode.Unauthenticated, "", "wrong account, password or code"), 0)
}

// guard holds the bounds of the work before authentication.
type guard struct {
	pool chan struct{}
	// hashing counts the checks in flight: while there are any, the Go runtime's memory
	// limit holds the process to what it held before plus the pool's hashes (argon2
	// allocates its 19 MiB afresh for every check, and the collector, paced by GOGC=400,
	// would otherwise let a burst of them grow the heap fivefold before collecting).
	hashingNow atomic.Int32
	limit      atomic.Int64 // bytes, while checks run
	limitMu    sync.Mutex

	mu       sync.Mutex
	accounts map[string]*sync.Mutex // one sign-in at a time per account (known accounts only)
	failures map[string][]time.Time // per address, the failures within the window
	order    []string               // addresses in the order first seen, for eviction
}

// HashPoolSize is how many password checks run at once: one a core, at least 2, at most 4.
func HashPoolSize() int { return min(4, max(2, runtime.GOMAXPROCS(0))) }

func newGuard() *guard {
	return &guard{pool: make(chan struct{}, HashPoolSize()), accounts: map[string]*sync.Mutex{}, failures: map[string][]time.Time{}}
}

// hashing runs fn (a password hash or check) in the pool.
func (g *guard) hashing(ctx context.Context, fn func()) error {
	t := time.NewTimer(HashPoolWait)
	defer t.Stop()
	select {
	case g.pool <- struct{}{}:
	case <-t.C:
		return detailError(errcode.Errf(errcode.ResourceExhausted, "", "the node is checking %d passwords already; retry in a moment", cap(g.pool)), 0)
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-g.pool }()
	g.enter()
	defer g.leave()
	fn()
	// The collector, paced by GOGC and capped in CPU, can fall behind a burst of checks on
	// few cores: past the burst's bound, collect now, on the checking goroutine (which
	// slows the burst, not the node's other work).
	if limit := g.limit.Load(); limit > 0 && int64(runtimeTotal()) > limit {
		runtime.GC()
	}
	return nil
}

// argonMiB is what one password check allocates (argonMemory KiB).
const argonMiB = argonMemory >> 10

func (g *guard) enter() {
	g.limitMu.Lock()
	defer g.limitMu.Unlock()
	if g.hashingNow.Add(1) == 1 {
		limit := int64(burstBase()) + int64(cap(g.pool)*argonMiB+16)<<20
		limit = min(limit, processLimit.enter())
		g.limit.Store(limit)
		debug.SetMemoryLimit(limit)
	}
}

func (g *guard) leave() {
	g.limitMu.Lock()
	defer g.limitMu.Unlock()
	if g.hashingNow.Add(-1) == 0 {
		g.limit.Store(0)
		processLimit.leave()
	}
}

// processLimit remembers the process's own memory limit (GOMEMLIMIT; none: MaxInt64) while
// any guard's burst lowers it: the limit is the process's, and a process may run several
// servers (tests do), whose bursts overlap.
var processLimit ownLimit

type ownLimit struct {
	mu     sync.Mutex
	bursts int
	own    int64
}

// enter notes a burst and returns the process's own limit (read when the first begins).
func (p *ownLimit) enter() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bursts == 0 {
		p.own = debug.SetMemoryLimit(-1)
	}
	p.bursts++
	return p.own
}

// leave ends a burst; the last one gives the process its own limit back.
func (p *ownLimit) leave() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bursts--; p.bursts == 0 {
		debug.SetMemoryLimit(p.own)
	}
}

// runtimeTotal is the memory the Go runtime holds (what the memory limit counts).
func runtimeTotal() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() - s[1].Value.Uint64()
}

// burstBase is the memory the process needs without garbage: what the runtime holds
// beside the heap, plus the heap's objects live at the last collection (free and
// fragmented heap memory left from an earlier burst does not count).
func burstBase() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/released:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	var v [6]uint64
	for i, x := range s {
		if x.Value.Kind() != metrics.KindUint64 {
			return 0
		}
		v[i] = x.Value.Uint64()
	}
	return v[0] - v[1] - v[2] - v[3] - v[4] + v[5]
}

// account serializes the sign-ins of one (existing) account.
func (g *guard) account(id string) func() {
	g.mu.Lock()
	m, ok := g.accounts[id]
	if !ok {
		m = &sync.Mutex{}
		g.accounts[id] = m
	}
	g.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// addressBlocked reports whether addr has used up its failures; it refuses before any work.
func (g *guard) addressBlocked(addr string, now time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	recent := g.recentLocked(addr, now)
	if len(recent) < AddressFailureLimit {
		return nil
	}
	wait := recent[0].Add(AddressFailureWindow).Sub(now).Round(time.Second)
	return detailError(errcode.Errf(errcode.ResourceExhausted, "", "%d failed sign-ins from this address within %s: wait %s", AddressFailureLimit, AddressFailureWindow, wait), 0)
}

func (g *guard) recentLocked(addr string, now time.Time) []time.Time {
	list := g.failures[addr]
	i := 0
	for i < len(list) && now.Sub(list[i]) > AddressFailureWindow {
		i++
	}
	if i > 0 {
		list = list[i:]
		g.failures[addr] = list
	}
	return list
}

// failed counts a failure of addr.
func (g *guard) failed(addr string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.failures[addr]; !ok {
		if len(g.order) >= maxTrackedAddresses {
			delete(g.failures, g.order[0])
			g.order = g.order[1:]
		}
		g.order = append(g.order, addr)
	}
	g.failures[addr] = append(g.recentLocked(addr, now), now)
}

// dummyPHC is checked instead of a password hash when there is none to check (an unknown
// account, one without a password, or one that must not be guessed at now), so that every
// failure costs the same.
var dummyPHC = hashPassword("no account has this password: it only costs the same time")

// TOTP (RFC 6238, SHA-1, 6 digits, 30 s): a code is accepted for the step before, the
// current one and the one after (clock skew), and only for a step later than the last
// accepted one (single use).
const (
	totpPeriod = 30
	totpSkew   = 1
)

// totpStep returns the time step a code is good for now, after the last accepted step,
// or 0 when it is good for none.
func totpStep(secret, code string, now time.Time, last uint64) uint64 {
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(strings.TrimRight(secret, "=")))
	if err != nil || len(code) != 6 {
		return 0
	}
	cur := uint64(now.Unix()) / totpPeriod
	for s := cur - totpSkew; s <= cur+totpSkew; s++ {
		if s > last && hmac.Equal([]byte(totpCode(key, s)), []byte(code)) {
			return s
		}
	}
	return 0
}

func totpCode(key []byte, step uint64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], step)
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%1_000_000)
}
