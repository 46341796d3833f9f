// Package backup tests backups, restores and the disaster-recovery replica (issue 29; SPEC:
// Backup and disaster recovery) on real ledgerd processes, through ledgerctl.
package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/internal/testcluster"
)

// ctl runs ledgerctl against a node.
type ctl struct {
	t    *testing.T
	bin  string
	node string
}

func (c ctl) run(token, stdin string, args ...string) (string, string, error) {
	c.t.Helper()
	cmd := exec.Command(c.bin, append([]string{"--server", c.node, "--token", token}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

func (c ctl) ok(token, stdin string, args ...string) string {
	c.t.Helper()
	out, stderr, err := c.run(token, stdin, args...)
	if err != nil {
		c.t.Fatalf("ledgerctl %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
	}
	return out
}

func (c ctl) fails(token, stdin string, args ...string) string {
	c.t.Helper()
	out, stderr, err := c.run(token, stdin, args...)
	if err == nil {
		c.t.Fatalf("ledgerctl %s succeeded, want a refusal:\n%s", strings.Join(args, " "), out)
	}
	return stderr
}

// field reads one "label value" line of a ledgerctl pairs table.
func field(t *testing.T, out, label string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, label) {
			f := strings.Fields(line)
			return f[len(f)-1]
		}
	}
	t.Fatalf("no %q in:\n%s", label, out)
	return ""
}

const newPassword = "Restore#2026"

// Issue 29, must show 1 (at test scale; the 2,000,000-line-item run with 64 writers is
// BenchmarkBackupUnderLoad): a backup taken while writers write verifies offline; a
// truncated and a bit-flipped copy are refused; it carries no password hash, TOTP key,
// token or token hash; restored into a new data directory it serves the same count, head
// and charges, its Raft indexes continue after the backup's, and people re-activate (SPEC:
// Backup and disaster recovery) — the new bootstrap credential only gives security officers
// activation codes until one has.
func TestBackupVerifyRestore(t *testing.T) {
	c := testcluster.Start(t, 1, testcluster.Options{})
	nd := c.WaitLeader(20 * time.Second)
	testcluster.LoadDemo(t, nd.URL, nd.DataDir)
	cl := ctl{t: t, bin: testcluster.CtlBinary(t), node: nd.URL}
	tok := func(id string) string { return testcluster.DemoToken(t, nd.DataDir, id) }

	// A person with a TOTP key, whose key must not travel in the backup.
	code := lastLine(cl.ok(tok("security1"), "", "account", "add", "--id", "edu-totp", "--role", "department", "--name", "教育局 二因子", "--department", "edu"))
	otpURL := cl.ok("", code+"\n"+testcluster.DemoPassword+"\n", "account", "activate", "--id", "edu-totp", "--totp")
	u, err := url.Parse(strings.TrimSpace(otpURL))
	if err != nil || u.Query().Get("secret") == "" {
		t.Fatalf("activate --totp printed %q, want an otpauth URL with a secret", otpURL)
	}
	totpSecret := u.Query().Get("secret")

	// Writers write while the backup streams (department d1 of the load seed, apart from the
	// demo's departments whose charges are compared below).
	auth := tok("authority1")
	lc := cloudledgerv1connect.NewLedgerServiceClient(c.HTTP, nd.URL)
	submit := func(cmds []*v1.Command) error {
		req := connect.NewRequest(&v1.SubmitRequest{Commands: cmds})
		req.Header().Set("Authorization", "Bearer "+auth)
		_, err := lc.Submit(context.Background(), req)
		return err
	}
	if err := submit(testcluster.SeedCommands()); err != nil {
		t.Fatal(err)
	}
	var written atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i += 4 {
				select {
				case <-stop:
					return
				default:
				}
				cmd := testcluster.Allocate("backup-load", i) // in December, a month still open
				cmd.GetEvent().Time = time.Date(2026, 12, 1, 0, 0, i%86400, 0, time.FixedZone("CST", 8*3600)).Format(time.RFC3339)
				if err := submit([]*v1.Command{cmd}); err != nil {
					t.Errorf("a write during the backup: %v", err)
					return
				}
				written.Add(1)
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	edu := cl.ok(auth, "", "charges", "--from", "2025-09-01", "--to", "2026-08-31", "--department", "edu", "--format", "csv")
	dir := t.TempDir()
	file := filepath.Join(dir, "ledger.backup")
	out := cl.ok(tok("auditor1"), "", "backup", "-o", file)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	if written.Load() == 0 {
		t.Fatal("no write went through while the backup ran")
	}
	// Not every role takes backups.
	if msg := cl.fails(tok("edu-it"), "", "backup", "-o", filepath.Join(dir, "x")); !strings.Contains(msg, "permission_denied") {
		t.Fatalf("a department's backup: %s", msg)
	}

	// Offline verification names what the backup holds.
	ver := cl.ok("", "", "verify", "--backup", file)
	count, head := field(t, ver, "Line items"), field(t, ver, "Head hash")
	if count != field(t, out, "Line items") || head != field(t, out, "Head hash") || len(head) != 64 {
		t.Fatalf("backup printed\n%s\nverify --backup printed\n%s", out, ver)
	}
	backupIndex := field(t, ver, "Raft index")

	// No secret in its bytes.
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{"the demo password": testcluster.DemoPassword, "a password hash": "$argon2id$",
		"a TOTP key": totpSecret, "the bootstrap token": testcluster.Token, "the bootstrap token's hash": sha(testcluster.Token)}
	for _, id := range []string{"security1", "authority1", "auditor1", "edu-it", "aliyun-am"} {
		secrets[id+"'s token"] = tok(id)
		secrets[id+"'s token hash"] = sha(tok(id))
	}
	for what, s := range secrets {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("the backup holds %s", what)
		}
	}
	if !bytes.Contains(raw, []byte("edu-totp")) {
		t.Fatal("the backup does not hold the accounts (the secrets check would prove nothing)")
	}

	// A truncated and a bit-flipped copy are refused with a clear message.
	trunc := filepath.Join(dir, "truncated.backup")
	if err := os.WriteFile(trunc, raw[:len(raw)*2/3], 0o600); err != nil {
		t.Fatal(err)
	}
	if msg := cl.fails("", "", "verify", "--backup", trunc); !strings.Contains(msg, "backup_refused") || !strings.Contains(msg, "truncated") {
		t.Fatalf("a truncated backup: %s", msg)
	}
	flipped := bytes.Clone(raw)
	flipped[len(flipped)/2] ^= 0x10
	flip := filepath.Join(dir, "flipped.backup")
	if err := os.WriteFile(flip, flipped, 0o600); err != nil {
		t.Fatal(err)
	}
	if msg := cl.fails("", "", "verify", "--backup", flip); !strings.Contains(msg, "backup_refused") {
		t.Fatalf("a bit-flipped backup: %s", msg)
	}
	c.StopAll()

	// A damaged file does not start a node.
	if out, err := exec.Command(testcluster.BinaryWithTags(t, ""), "--data-dir", filepath.Join(dir, "refused"), "--http", "127.0.0.1:0",
		"--raft", "127.0.0.1:0", "--restore", flip).CombinedOutput(); err == nil || !strings.Contains(string(out), "backup refused") {
		t.Fatalf("ledgerd --restore of a bit-flipped backup: %v\n%s", err, out)
	}

	// Restored into a new data directory: a new cluster.
	r := testcluster.Start(t, 1, testcluster.Options{ExtraArgs: []string{"--restore", file}})
	rn := r.Nodes[0] // ready: it knows a leader, itself
	rc := ctl{t: t, bin: cl.bin, node: rn.URL}
	boot := strings.TrimSpace(readFile(t, filepath.Join(rn.DataDir, "admin.token")))
	// The new bootstrap credential gives a security officer an activation code, nothing else.
	if msg := rc.fails(boot, "", "charges", "--from", "2025-09-01", "--to", "2026-08-31"); !strings.Contains(msg, "permission_denied") {
		t.Fatalf("the restored cluster's bootstrap credential read charges: %s", msg)
	}
	if msg := rc.fails(boot, "", "account", "reset", "--id", "authority1"); !strings.Contains(msg, "permission_denied") {
		t.Fatalf("the bootstrap credential reset an authority: %s", msg)
	}
	if msg := rc.fails(tok("security1"), "", "account", "list"); !strings.Contains(msg, "unauthenticated") {
		t.Fatalf("a token of the old cluster worked on the restored one: %s", msg)
	}
	activate := func(token, id string) string {
		code := lastLine(rc.ok(token, "", "account", "reset", "--id", id))
		rc.ok("", code+"\n"+newPassword+"\n", "account", "activate", "--id", id)
		return strings.TrimSpace(rc.ok("", newPassword+"\n", "signin", "--id", id))
	}
	sec := activate(boot, "security1")
	if msg := rc.fails(boot, "", "account", "reset", "--id", "security1"); !strings.Contains(msg, "unauthenticated") {
		t.Fatalf("the bootstrap credential still acts once a security officer re-activated: %s", msg)
	}
	aud := activate(sec, "auditor1")
	authority := activate(sec, "authority1")

	// The restored chain verifies and continues the backup's: its line item number count is
	// the backup's head (the re-activations since are line items of their own).
	rver := rc.ok(aud, "", "verify")
	if n := atoi(t, field(t, rver, "Line items")); n < atoi(t, count) {
		t.Fatalf("the restored ledger verifies as\n%s\nthe backup holds %s items ending %s", rver, count, head)
	}
	items := rc.ok(aud, "", "lineitems", "export", "--from", count, "--format", "jsonl")
	if first := strings.SplitN(items, "\n", 2)[0]; !strings.Contains(first, `"seq":`+count+`,`) || !strings.Contains(first, head) {
		t.Fatalf("line item %s of the restored ledger is %s; the backup's head is %s", count, first, head)
	}
	if got := rc.ok(authority, "", "charges", "--from", "2025-09-01", "--to", "2026-08-31", "--department", "edu", "--format", "csv"); got != edu {
		t.Fatalf("the restored ledger rates edu's year differently:\n%s\nbefore:\n%s", got, edu)
	}
	// Its Raft log continues after the backup's index.
	resp, err := r.HTTP.Get(rn.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	health, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`applied=(\d+)`).FindSubmatch(health)
	if m == nil {
		t.Fatalf("/healthz: %s", health)
	}
	if idx, want := atoi(t, string(m[1])), atoi(t, backupIndex); idx <= want {
		t.Fatalf("the restored node applied up to %d, the backup was at %s: its indexes must continue after it", idx, backupIndex)
	}
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func atoi(t *testing.T, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("%q is not an index", s)
	}
	return n
}

// Issue 29 (Build: scheduled backups): a node with --backup-dir writes a backup every
// --backup-interval and keeps the newest --backup-keep; each verifies.
func TestScheduledBackups(t *testing.T) {
	dir := t.TempDir()
	c := testcluster.Start(t, 1, testcluster.Options{ExtraArgs: []string{"--backup-dir", dir, "--backup-interval", "400ms", "--backup-keep", "2"}})
	nd := c.WaitLeader(20 * time.Second)
	cl := ctl{t: t, bin: testcluster.CtlBinary(t), node: nd.URL}
	deadline := time.Now().Add(20 * time.Second)
	for {
		names, _ := filepath.Glob(filepath.Join(dir, "cloudledger-*.backup"))
		if len(names) > 2 {
			t.Fatalf("%d scheduled backups kept, want at most 2: %v", len(names), names)
		}
		if len(names) == 2 && scheduledTotal(t, c, nd) >= 4 {
			for _, n := range names {
				out := cl.ok("", "", "verify", "--backup", n)
				if field(t, out, "Node") != nd.ID {
					t.Fatalf("%s names node %s", n, field(t, out, "Node"))
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20 s: %v, %v backups written", names, scheduledTotal(t, c, nd))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// scheduledTotal reads cloudledger_backups_total from the node's /metrics.
func scheduledTotal(t *testing.T, c *testcluster.Cluster, nd *testcluster.Node) float64 {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, nd.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+testcluster.Token)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^cloudledger_backups_total (\S+)$`).FindSubmatch(raw)
	if m == nil {
		t.Fatalf("no cloudledger_backups_total in /metrics:\n%.400s", raw)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}
