package security

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/internal/testcluster"
	"github.com/cloudledger/cloudledger/server"
)

// procStatus reads a field (kB) of /proc/PID/status.
func procStatus(t *testing.T, pid int, field string) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), &kb)
			return kb
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

func openFDs(t *testing.T, pid int) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// answersWithin checks that /livez and an authenticated call answer within d.
func answersWithin(t *testing.T, nd *testcluster.Node, d time.Duration) {
	t.Helper()
	hc := &http.Client{Timeout: d, Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	res, err := hc.Get(nd.URL + "/livez")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("/livez under load: %v %v", res, err)
	}
	res.Body.Close()
	req := testcluster.Authorize(connect.NewRequest(&v1.VerifyRequest{}), true)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if _, err := cloudledgerv1connect.NewLedgerServiceClient(hc, nd.URL).Verify(ctx, req); err != nil {
		t.Fatalf("an authenticated call under load: %v", err)
	}
	if el := time.Since(start); el > d {
		t.Fatalf("answers took %s", el)
	}
}

// Issue 10, must show 4: 2,000 connections each sending a byte every 2 s. /livez and an
// authenticated call still answer within 1 s, the header timeout closes the slow
// connections, and the node's descriptors stay under MaxConnections + 64.
func TestSlowClients(t *testing.T) {
	c := testcluster.Start(t, 1, testcluster.Options{})
	nd := c.Nodes[0]
	pid := nd.PID()
	const slow = 2000
	conns := make([]net.Conn, 0, slow)
	for range slow {
		conn, err := net.DialTimeout("tcp", nd.HTTPAddr, 5*time.Second)
		if err != nil {
			t.Fatalf("dial: %v (after %d)", err, len(conns))
		}
		conns = append(conns, conn)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	header := "POST /cloudledger.v1.LedgerService/Verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
	var closed sync.WaitGroup
	var mu sync.Mutex
	closedAt := make([]time.Duration, 0, slow)
	start := time.Now()
	for _, conn := range conns {
		closed.Add(1)
		go func(conn net.Conn) {
			defer closed.Done()
			for i := 0; i < 10; i++ { // 10 bytes over 20 s: never a whole header
				if _, err := conn.Write([]byte{header[i]}); err != nil {
					break
				}
				conn.SetReadDeadline(time.Now().Add(2 * time.Second))
				if _, err := conn.Read(make([]byte, 1)); err != nil && !isTimeout(err) {
					break // the server closed it (or answered 408 and closed)
				}
			}
			mu.Lock()
			closedAt = append(closedAt, time.Since(start))
			mu.Unlock()
		}(conn)
	}
	time.Sleep(2 * time.Second)
	answersWithin(t, nd, time.Second)
	fds := openFDs(t, pid)
	if fds > server.MaxConnections+64 {
		t.Fatalf("%d descriptors open", fds)
	}
	closed.Wait()
	for _, d := range closedAt {
		if d > server.ReadHeaderTimeout+5*time.Second {
			t.Fatalf("a slow connection lasted %s, the header timeout is %s", d, server.ReadHeaderTimeout)
		}
	}
	answersWithin(t, nd, time.Second)
	t.Logf("%d slow connections: descriptors at most %d while they were open; all closed within %s", slow, fds, server.ReadHeaderTimeout+5*time.Second)
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// Issue 10, must show 5: 16 concurrent 31 MB bodies and 32 gzip bombs at once: each refused
// with its code, the node's peak resident memory under 1 GiB, and it still serves.
func TestLargeBodiesAndGzipBombs(t *testing.T) {
	c := testcluster.Start(t, 1, testcluster.Options{})
	nd := c.Nodes[0]
	pid := nd.PID()
	big := bytes.Repeat([]byte{0xff}, 31<<20) // not a protobuf message
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	zero := make([]byte, 1<<20)
	for range 2048 { // 2 GiB of zeros
		zw.Write(zero)
	}
	zw.Close()
	t.Logf("gzip bomb: %d bytes inflating to 2 GiB", bomb.Len())
	post := func(body []byte, gz bool) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, nd.URL+cloudledgerv1connect.LedgerServiceSubmitProcedure, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/proto")
		if gz {
			req.Header.Set("Content-Encoding", "gzip")
		}
		req.Header.Set("Authorization", "Bearer "+testcluster.Token)
		res, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(raw)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes := map[string]int{}
	for i := range 48 {
		wg.Add(1)
		go func(gz bool) {
			defer wg.Done()
			body := big
			if gz {
				body = bomb.Bytes()
			}
			status, text := post(body, gz)
			mu.Lock()
			defer mu.Unlock()
			if status == http.StatusOK || status == 0 {
				t.Errorf("a hostile body (gzip %v) got %d %s", gz, status, text)
			}
			code := text
			if i := strings.Index(text, `"code":"`); i >= 0 {
				code = text[i+8:]
				code = code[:strings.IndexByte(code, '"')]
			}
			outcomes[fmt.Sprintf("gzip=%v %d %s", gz, status, code)]++
		}(i >= 16)
	}
	wg.Wait()
	peak := procStatus(t, pid, "VmHWM")
	t.Logf("outcomes %v; peak resident set %d MiB", outcomes, peak>>10)
	if peak > 1<<20 { // kB
		t.Fatalf("peak resident set %d MiB, the bound is 1 GiB", peak>>10)
	}
	answersWithin(t, nd, 2*time.Second)
}
