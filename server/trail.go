package server

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"connectrpc.com/connect"

	"github.com/cloudledger/cloudledger/errcode"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/ledger"
)

// The access trail's collection on each node (SPEC: Access). Records wait in a bounded
// buffer and go to the ledger in groups (one AppendAccess entry per TrailFlushInterval or
// TrailBatchRecords), so the trail costs the write path one small Raft entry per group. A
// follower sends its records to the leader, signed with the session key. When the buffer
// is full the node refuses calls (unavailable) rather than serve calls it cannot record.
const (
	TrailFlushInterval = 100 * time.Millisecond
	TrailBatchRecords  = 2000
	MaxTrailBuffer     = 100_000
	trailPath          = "/internal/access-trail"
	trailMACHeader     = "Cloudledger-Trail-Mac"
	maxTrailBodyBytes  = 8 << 20
	// trailBatchBytes bounds one delivery, so that a follower's batch always fits in what
	// the leader's end accepts (maxTrailBodyBytes), whatever its records hold.
	trailBatchBytes = 2 << 20
)

type trailRecorder struct {
	s    *Server
	mu   sync.Mutex
	buf  []ledger.AccessRecord
	wake chan struct{}
}

func newTrailRecorder(s *Server) *trailRecorder {
	return &trailRecorder{s: s, wake: make(chan struct{}, 1)}
}

func (t *trailRecorder) full() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.buf) >= MaxTrailBuffer
}

// add records one call with its outcome.
func (t *trailRecorder) add(rec ledger.AccessRecord, err error) {
	if !accessControl {
		return
	}
	rec.Time = t.s.cfg.Now()
	rec.Result = resultOf(err)
	rec.Bound() // a caller's oversized value is cut and marked, never refused
	if rec.Result == string(errcode.PermissionDenied) {
		t.s.metrics.accessRefusals.Inc()
	}
	t.mu.Lock()
	t.buf = append(t.buf, rec)
	n := len(t.buf)
	t.mu.Unlock()
	if n >= TrailBatchRecords {
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
}

func (t *trailRecorder) run(ctx context.Context) {
	tick := time.NewTicker(TrailFlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			// A last attempt for what is buffered; the node is stopping.
			fctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			for t.deliver(fctx) == nil && t.pending() > 0 {
			}
			cancel()
			return
		case <-tick.C:
		case <-t.wake:
		}
		for t.pending() > 0 {
			if err := t.deliver(ctx); err != nil {
				if ctx.Err() == nil {
					t.s.log.Debug("access trail: delivery failed, will retry", "err", err, "pending", t.pending())
				}
				break
			}
		}
	}
}

func (t *trailRecorder) pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.buf)
}

// deliver sends the oldest records; on failure they stay, in order, for the next attempt.
func (t *trailRecorder) deliver(ctx context.Context) error {
	t.mu.Lock()
	n, size := 0, 0
	for n < len(t.buf) && n < ledger.MaxAccessRecordsPerEntry && size < trailBatchBytes {
		r := &t.buf[n]
		size += len(r.Account) + len(r.Role) + len(r.Address) + len(r.Node) + len(r.Procedure) + len(r.Target) + len(r.Result) + 128
		n++
	}
	batch := append([]ledger.AccessRecord(nil), t.buf[:n]...)
	t.mu.Unlock()
	if n == 0 {
		return nil
	}
	var err error
	if t.s.node.IsLeader() {
		err = t.s.appendTrail(ctx, batch)
	} else {
		err = t.s.sendTrail(ctx, batch)
	}
	if errors.Is(err, errTrailBatchRefused) {
		// Retrying a batch the ledger refuses would hold every later record behind it
		// forever: drop it, loudly. Records are bounded (Bound) and batches sized below the
		// limits, so this is a bug, not a caller's doing.
		t.s.log.Error("access trail: the ledger refused a batch; dropping it", "records", n, "first_procedure", batch[0].Procedure, "err", err)
		t.s.metrics.trailDropped.Add(float64(n))
	} else if err != nil {
		return err
	}
	t.mu.Lock()
	t.buf = append(t.buf[:0], t.buf[n:]...)
	t.mu.Unlock()
	return nil
}

// errTrailBatchRefused marks a batch the ledger (or the leader) refuses for what it is,
// not for the moment: retrying it cannot succeed.
var errTrailBatchRefused = errors.New("access trail batch refused")

func (s *Server) appendTrail(ctx context.Context, batch []ledger.AccessRecord) error {
	res, _, err := s.prop.submit(ctx, ledger.Submission{Actor: "system", Commands: []ledger.Command{{Body: &ledger.AppendAccess{Records: batch}}}})
	if err != nil {
		return err
	}
	if res.Err != nil {
		var le *errcode.Error
		if errors.As(res.Err, &le) && (le.Code == errcode.Malformed || le.Code == errcode.TooLarge || le.Code == errcode.InvalidValue) {
			return fmt.Errorf("%w: %v", errTrailBatchRefused, res.Err)
		}
		return res.Err
	}
	return nil
}

func (s *Server) trailMAC(body []byte) []byte {
	key := s.ledger.SessionKey()
	if key == nil {
		return nil
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("access-trail\x00"))
	m.Write(body)
	return m.Sum(nil)
}

// sendTrail hands a follower's records to the leader.
func (s *Server) sendTrail(ctx context.Context, batch []ledger.AccessRecord) error {
	_, _, leaderURL := s.node.Leader()
	if leaderURL == "" || s.ledger.SessionKey() == nil {
		return errors.New("no leader or no session key yet")
	}
	body, err := json.Marshal(batch)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, leaderURL+trailPath, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set(trailMACHeader, hex.EncodeToString(s.trailMAC(body)))
	resp, err := s.probeClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		if resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusRequestEntityTooLarge {
			return fmt.Errorf("%w: leader answered %s: %s", errTrailBatchRefused, resp.Status, msg)
		}
		return fmt.Errorf("leader answered %s: %s", resp.Status, msg)
	}
	return nil
}

// trailHandler receives a follower's records on the leader.
func (s *Server) trailHandler(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxTrailBodyBytes))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	mac, err := hex.DecodeString(r.Header.Get(trailMACHeader))
	want := s.trailMAC(body)
	if err != nil || want == nil || !hmac.Equal(mac, want) {
		http.Error(w, "not signed by a member of this cluster", http.StatusUnauthorized)
		return
	}
	if !s.node.IsLeader() {
		http.Error(w, "not the leader", http.StatusServiceUnavailable)
		return
	}
	var batch []ledger.AccessRecord
	if err := json.Unmarshal(body, &batch); err != nil || len(batch) == 0 || len(batch) > ledger.MaxAccessRecordsPerEntry {
		http.Error(w, "bad batch", http.StatusBadRequest)
		return
	}
	if err := s.appendTrail(r.Context(), batch); err != nil {
		status := http.StatusServiceUnavailable
		if errors.Is(err, errTrailBatchRefused) {
			status = http.StatusBadRequest
		}
		http.Error(w, err.Error(), status)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// resultOf is the result code the trail records: ok, or the error code.
func resultOf(err error) string {
	if err == nil {
		return "ok"
	}
	var le *errcode.Error
	if errors.As(err, &le) {
		return string(le.Code)
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		for _, d := range ce.Details() {
			if m, err := d.Value(); err == nil {
				if ed, ok := m.(*v1.ErrorDetail); ok && ed.GetCode() != "" {
					return ed.GetCode()
				}
			}
		}
		return ce.Code().String()
	}
	var hs httpStatus
	if errors.As(err, &hs) {
		return fmt.Sprintf("http_%d", int(hs))
	}
	return string(errcode.Internal)
}

// httpStatus is the outcome of a plain HTTP endpoint, for the trail.
type httpStatus int

func (h httpStatus) Error() string { return http.StatusText(int(h)) }
