package access

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	bolt "go.etcd.io/bbolt"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/internal/testcluster"
)

// Issue 11, must show 4 (SPEC: Access, the access trail): N calls of mixed roles, refusals
// and failed sign-ins among them, each appear once with their fields; altering one stored
// record is found by the trail's verify.
func TestAccessTrailRecordsEveryCallOnce(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	lc := cloudledgerv1connect.NewLedgerServiceClient(w.c.HTTP, w.url)
	ac := cloudledgerv1connect.NewAccountServiceClient(w.c.HTTP, w.url)
	const n = 70
	type call struct{ account, role, result string }
	want := map[string]call{} // by target
	for i := 0; i < n; i++ {
		role := roleOrder[i%len(roleOrder)]
		year := int32(3000 + i)
		_, err := lc.SettleStatus(ctx, authed(&v1.SettleStatusRequest{Year: year}, w.tokens[roleAccount[role]]))
		result := codeOf(err)
		want[fmt.Sprintf("year=%d", year)] = call{roleAccount[role], role, result}
	}
	for i := 0; i < 10; i++ { // failed sign-ins: unknown accounts and a wrong password
		id := fmt.Sprintf("ghost-%d", i)
		if _, err := ac.SignIn(ctx, connect.NewRequest(&v1.SignInRequest{Account: id, Password: "Wrong-pass-1"})); connect.CodeOf(err) != connect.CodeUnauthenticated {
			t.Fatalf("sign-in of %s: %v", id, err)
		}
	}
	var recs []*v1.AccessRecord
	deadline := time.Now().Add(10 * time.Second)
	for {
		recs = recs[:0]
		var after uint64
		for {
			res, err := ac.AccessLog(ctx, authed(&v1.AccessLogRequest{AfterSeq: after, Limit: 50}, w.tokens["security1"]))
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, res.Msg.GetRecords()...)
			if after = res.Msg.GetNextSeq(); after == 0 {
				break
			}
		}
		ghosts := 0
		for _, r := range recs {
			if strings.HasPrefix(r.GetAccount(), "ghost-") {
				ghosts++
			}
		}
		if ghosts >= 10 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	seen := map[string]int{}
	ghosts := map[string]int{}
	for i, r := range recs {
		if r.GetSeq() != uint64(i+1) {
			t.Fatalf("record %d has seq %d", i+1, r.GetSeq())
		}
		if r.GetTime() == "" || r.GetNode() != "node1" || r.GetAddress() != "127.0.0.1" || len(r.GetHash()) != 64 {
			t.Fatalf("record without its fields: %+v", r)
		}
		if c, ok := want[r.GetTarget()]; ok && strings.HasSuffix(r.GetProcedure(), "/SettleStatus") {
			seen[r.GetTarget()]++
			if r.GetAccount() != c.account || r.GetRole() != c.role || r.GetResult() != c.result {
				t.Errorf("%s: recorded %s/%s/%s, want %s/%s/%s", r.GetTarget(), r.GetAccount(), r.GetRole(), r.GetResult(), c.account, c.role, c.result)
			}
		}
		if strings.HasPrefix(r.GetAccount(), "ghost-") {
			ghosts[r.GetAccount()]++
			if !strings.HasSuffix(r.GetProcedure(), "/SignIn") || r.GetResult() != "unauthenticated" {
				t.Errorf("failed sign-in recorded as %+v", r)
			}
		}
	}
	for target := range want {
		if seen[target] != 1 {
			t.Errorf("%s recorded %d times, want once", target, seen[target])
		}
	}
	if len(ghosts) != 10 {
		t.Errorf("failed sign-ins recorded: %v, want ghost-0 … ghost-9 once each", ghosts)
	}
	for g, k := range ghosts {
		if k != 1 {
			t.Errorf("%s recorded %d times", g, k)
		}
	}

	// The chain verifies; alter one stored record on disk and it no longer does.
	v, err := ac.VerifyAccessTrail(ctx, authed(&v1.VerifyAccessTrailRequest{}, w.tokens["auditor1"]))
	if err != nil || v.Msg.GetRecords() < n {
		t.Fatalf("verify: %v %v", v, err)
	}
	nd := w.c.Nodes[0]
	w.c.Stop(nd)
	db, err := bolt.Open(filepath.Join(nd.DataDir, "ledger.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("access_trail"))
		k, val := b.Cursor().First()
		k, val = append([]byte(nil), k...), append([]byte(nil), val...)
		i := strings.Index(string(val), "127.0.0.1")
		if i < 0 {
			return fmt.Errorf("no address in the first record")
		}
		copy(val[i:], "127.0.0.9") // the caller's address, altered
		return b.Put(k, val)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	w.c.Restart(nd)
	if err := w.c.WaitReady(nd, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testcluster.CtlBinary(t), "--server", w.url, "--lang", "en", "access", "verify")
	cmd.Env = append(os.Environ(), "CLOUDLEDGER_TOKEN="+w.tokens["auditor1"])
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "access_trail_broken") || !strings.Contains(string(out), "record 1 ") {
		t.Fatalf("verify of an altered trail: %v\n%s", err, out)
	}
}

// Issue 11, must show 6: the line items written through each role carry that account as
// their actor; and no secret (a token, its SHA-256, a password, its hash) is in the line
// items (what the Kafka ledger topic publishes), an export, or the node's log.
func TestActorsAndSecrets(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	lc := cloudledgerv1connect.NewLedgerServiceClient(w.c.HTTP, w.url)
	ac := cloudledgerv1connect.NewAccountServiceClient(w.c.HTTP, w.url)
	ev := &v1.Command{Key: "actor-event", Body: &v1.Command_Event{Event: &v1.Event{Op: "allocate", Time: "2026-03-05T10:00:00+08:00", Department: "edu",
		Project: "edu-exam", Provider: "aliyun", Resource: "actor-vm", Item: "ecs.vcpu", Kind: "standard", Quantity: "1"}}}
	if _, err := lc.Submit(ctx, authed(&v1.SubmitRequest{Commands: []*v1.Command{ev}}, w.tokens["aliyun-am"])); err != nil {
		t.Fatal(err)
	}
	w.ctl(w.tokens["authority1"], "--key", "actor-close", "period", "close", "2025-09")
	if _, err := lc.Settle(ctx, authed(&v1.SettleRequest{Year: 2026, Action: "pay"}, w.tokens["authority1"])); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Errorf("the authority records a payment: %v, want permission_denied (the finance bureau's)", err)
	}
	// A program's account (its token from security, once a second person confirmed it) and a
	// person's (an activation code; the person sets the password).
	if _, err := ac.AddAccount(ctx, authed(&v1.AddAccountRequest{Key: "account/add/new1", Id: "new1", Name: "新账号", Role: "auditor", Program: true}, w.tokens["security1"])); err != nil {
		t.Fatal(err)
	}
	if _, err := ac.ConfirmAccount(ctx, authed(&v1.ConfirmAccountRequest{Key: testcluster.FreshKey(), Id: "new1"}, w.tokens["auditor1"])); err != nil {
		t.Fatal(err)
	}
	tok, err := ac.IssueToken(ctx, authed(&v1.IssueTokenRequest{Key: "token/new1/1", Account: "new1"}, w.tokens["security1"]))
	if err != nil {
		t.Fatal(err)
	}
	person, err := ac.AddAccount(ctx, authed(&v1.AddAccountRequest{Key: "account/add/new2", Id: "new2", Name: "新用户", Role: "department", Department: "edu"}, w.tokens["security1"]))
	if err != nil {
		t.Fatal(err)
	}
	const password = "Shen-ji-2026!"
	if _, err := ac.Activate(ctx, connect.NewRequest(&v1.ActivateRequest{Key: "activated/new2/1", Account: "new2", Code: person.Msg.GetActivationCode(), Password: password})); err != nil {
		t.Fatal(err)
	}
	items, err := lc.ListLineItems(ctx, authed(&v1.ListLineItemsRequest{Limit: 10000}, w.tokens["auditor1"]))
	if err != nil {
		t.Fatal(err)
	}
	actors := map[string]string{}
	var all strings.Builder
	for _, it := range items.Msg.GetItems() {
		actors[it.GetKey()] = it.GetActor()
		fmt.Fprintf(&all, "%s %s %s %x\n", it.GetKey(), it.GetBodyJson(), it.GetCommand(), it.GetBody())
	}
	for key, want := range map[string]string{"actor-event": "aliyun-am", "actor-close": "authority1", "demo/approval": "supervisor1", "account/add/new1": "security1"} {
		if actors[key] != want {
			t.Errorf("line item %s: actor %q, want %q", key, actors[key], want)
		}
	}
	n := 0
	for key, actor := range actors {
		want := map[bool]string{true: "security1", false: "new2"}[strings.HasPrefix(key, "token/new1/") || key == "account/add/new2/activation"]
		if strings.HasPrefix(key, "token/new1/") || key == "account/add/new2/activation" || strings.HasPrefix(key, "activated/new2/") {
			n++
			if actor != want {
				t.Errorf("%s: actor %q, want %q", key, actor, want)
			}
		}
	}
	if n != 3 {
		t.Errorf("%d credential line items, want 3 (new1's token issued, new2's code issued and used)", n)
	}
	export := filepath.Join(t.TempDir(), "items.csv")
	w.ctl(w.tokens["auditor1"], "lineitems", "export", "-o", export)
	exported, _ := os.ReadFile(export)
	trail := w.ctl(w.tokens["auditor1"], "access", "log", "--format", "csv")
	log := w.c.Log(w.c.Nodes[0])
	sum := sha256Hex(tok.Msg.GetToken())
	code := person.Msg.GetActivationCode()
	for _, secret := range []string{tok.Msg.GetToken(), sum, password, "argon2id", testcluster.Token, sha256Hex(testcluster.Token), code, strings.ReplaceAll(code, "-", "")} {
		for where, text := range map[string]string{"line items": all.String(), "export": string(exported), "access log": trail, "node log": log} {
			if strings.Contains(text, secret) {
				t.Errorf("the %s hold a secret (%.12s…)", where, secret)
			}
		}
	}
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// codeOf is the error code of a call's ErrorDetail, "ok" without an error.
func codeOf(err error) string {
	if err == nil {
		return "ok"
	}
	if ce, ok := err.(*connect.Error); ok {
		for _, d := range ce.Details() {
			if m, e := d.Value(); e == nil {
				if ed, ok := m.(*v1.ErrorDetail); ok {
					return ed.GetCode()
				}
			}
		}
	}
	return err.Error()
}

// Issue 22, must show 4: idempotency keys are scoped to the tenant. Two providers using
// the same key both land; each one's retry returns its own line item; a conflict names
// nothing of the other's; the cloud-wide roles' key is a namespace of its own. (Before,
// one global namespace let a provider squat another's keys and probe them by conflicts.)
func TestKeysPerTenant(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	lc := cloudledgerv1connect.NewLedgerServiceClient(w.c.HTTP, w.url)
	hw := testcluster.RoleToken(t, w.c.HTTP, w.url, "hw-am", "provider", "hwcloud")
	usage := func(prov, res string) []*v1.Command {
		return []*v1.Command{{Key: "shared-key-1", Body: &v1.Command_Event{Event: &v1.Event{Op: "usage", Time: "2026-03-05T10:00:00+08:00", Department: "edu",
			Project: "edu-exam", Provider: prov, Resource: res, Item: "oss.egress", Kind: "standard", Quantity: "1"}}}}
	}
	a, err := lc.Submit(ctx, authed(&v1.SubmitRequest{Commands: usage("aliyun", "bucket-a")}, w.tokens["aliyun-am"]))
	if err != nil {
		t.Fatal(err)
	}
	h, err := lc.Submit(ctx, authed(&v1.SubmitRequest{Commands: usage("hwcloud", "bucket-h")}, hw))
	if err != nil {
		t.Fatalf("hwcloud's use of the same key: %v", err)
	}
	if a.Msg.Results[0].Seq == h.Msg.Results[0].Seq || h.Msg.Results[0].Duplicate {
		t.Fatalf("the second provider's key did not land: %+v %+v", a.Msg.Results[0], h.Msg.Results[0])
	}
	again, err := lc.Submit(ctx, authed(&v1.SubmitRequest{Commands: usage("aliyun", "bucket-a")}, w.tokens["aliyun-am"]))
	if err != nil || !again.Msg.Results[0].Duplicate || again.Msg.Results[0].Seq != a.Msg.Results[0].Seq {
		t.Fatalf("aliyun's retry: %v %+v", err, again)
	}
	_, err = lc.Submit(ctx, authed(&v1.SubmitRequest{Commands: usage("hwcloud", "bucket-other")}, hw))
	if codeOf(err) != "idempotency_conflict" || strings.Contains(err.Error(), fmt.Sprint(a.Msg.Results[0].Seq)) || strings.Contains(err.Error(), "aliyun") {
		t.Fatalf("hwcloud's conflict: %v (must name nothing of aliyun's)", err)
	}
	wide, err := lc.Submit(ctx, authed(&v1.SubmitRequest{Commands: usage("ctyun", "bucket-c")}, w.tokens["authority1"]))
	if err != nil || wide.Msg.Results[0].Duplicate {
		t.Fatalf("the authority's own key: %v %+v", err, wide)
	}
}
