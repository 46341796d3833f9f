package server

import (
	"bytes"
	"compress/gzip"
	"io"
	"net"
	"testing"
	"time"
)

// MaxBytesInFlight: exactly the budget is granted, one byte more is not, and released
// bytes can be taken again.
func TestBytesInFlightBoundary(t *testing.T) {
	var f inFlight
	if !f.acquire(MaxBytesInFlight) {
		t.Fatal("the whole budget was refused")
	}
	if f.acquire(1) {
		t.Fatal("a byte past the budget was granted")
	}
	f.release(1)
	if !f.acquire(1) {
		t.Fatal("a released byte could not be taken again")
	}
}

// A gzip body inflating to exactly MaxMessageBytes is read; one byte more is refused.
func TestGzipInflationBoundary(t *testing.T) {
	s := &Server{}
	for _, size := range []int{MaxMessageBytes, MaxMessageBytes + 1} {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(make([]byte, size))
		zw.Close()
		d := s.newDecompressor()
		if err := d.Reset(&z); err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, d)
		d.Close()
		if size == MaxMessageBytes && (err != nil || n != int64(size)) {
			t.Fatalf("%d bytes: read %d, %v", size, n, err)
		}
		if size > MaxMessageBytes && err == nil {
			t.Fatalf("%d bytes inflated without an error", size)
		}
	}
	if got := s.inFlight.n.Load(); got != 0 {
		t.Fatalf("%d bytes still taken after the decompressors closed", got)
	}
}

// The connection limit: n connections are accepted, the next waits until one closes.
func TestConnectionLimitBoundary(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const n = 3
	ln := newLimitListener(raw, n)
	defer ln.Close()
	accepted := make(chan net.Conn, n+1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	for range n + 1 {
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	var held []net.Conn
	for range n {
		select {
		case c := <-accepted:
			held = append(held, c)
		case <-time.After(2 * time.Second):
			t.Fatalf("only %d of %d connections accepted", len(held), n)
		}
	}
	select {
	case <-accepted:
		t.Fatalf("connection %d accepted past the limit of %d", n+1, n)
	case <-time.After(200 * time.Millisecond):
	}
	held[0].Close()
	select {
	case c := <-accepted:
		c.Close()
	case <-time.After(2 * time.Second):
		t.Fatal("a freed slot was not used")
	}
	for _, c := range held[1:] {
		c.Close()
	}
}
