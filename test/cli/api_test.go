package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/internal/testcluster"
)

// postJSON speaks the Connect JSON protocol exactly as `curl -H 'Content-Type:
// application/json' -d …` does.
func postJSON(t *testing.T, url, procedure, token string, body io.Reader, length int64) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+procedure, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = length
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(raw, &out)
	if out == nil {
		out = map[string]any{"raw": string(raw)}
	}
	return res.StatusCode, out
}

func detailCode(out map[string]any) string {
	// Connect JSON errors carry details as base64 protobuf; the message starts with our code.
	msg, _ := out["message"].(string)
	code, _, _ := strings.Cut(msg, ":")
	return code
}

// Issue 2: the Connect JSON protocol works with plain HTTP; request size limits; huge
// decimal exponents rejected before they are parsed; wrong or missing token.
func TestAPIBoundaries(t *testing.T) {
	e := setup(t)
	before := e.head()
	submit := cloudledgerv1connect.LedgerServiceSubmitProcedure

	status, out := postJSON(t, e.url, cloudledgerv1connect.LedgerServiceQuotaOverrunsProcedure, e.admin, strings.NewReader("{}"), 2)
	if status != http.StatusOK {
		t.Fatalf("plain JSON call: %d %v", status, out)
	}
	if status, out = postJSON(t, e.url, submit, "", strings.NewReader("{}"), 2); status != http.StatusUnauthorized || detailCode(out) != "unauthenticated" {
		t.Fatalf("missing token: %d %v", status, out)
	}
	if status, out = postJSON(t, e.url, submit, "nope", strings.NewReader("{}"), 2); status != http.StatusUnauthorized || detailCode(out) != "unauthenticated" {
		t.Fatalf("wrong token: %d %v", status, out)
	}
	huge := `{"commands":[{"key":"h1","event":{"op":"allocate","time":"2026-03-05T10:00:00+08:00","department":"d1","project":"prj1",` +
		`"provider":"p1","resource":"vmh","item":"ecs.vcpu","kind":"standard","quantity":"1E1000000000"}}]}`
	if status, out = postJSON(t, e.url, submit, e.admin, strings.NewReader(huge), int64(len(huge))); status != http.StatusBadRequest || detailCode(out) != "invalid_quantity" {
		t.Fatalf("huge exponent: %d %v", status, out)
	}
	// An oversized body is refused from its Content-Length, before it is read.
	big := int64(64 << 20)
	if status, out = postJSON(t, e.url, submit, e.admin, io.LimitReader(zeroReader{}, big), big); status != http.StatusTooManyRequests || detailCode(out) != "request_too_large" {
		t.Fatalf("oversized body: %d %v", status, out)
	}
	// …and one without a length is cut off at the limit.
	status, out = postJSON(t, e.url, submit, e.admin, io.MultiReader(strings.NewReader(`{"commands":[{"key":"`), io.LimitReader(repeatReader('a'), big)), -1)
	if status < 400 {
		t.Fatalf("chunked oversized body accepted: %d %v", status, out)
	}
	if after := e.head(); after != before {
		t.Fatal("a rejected API request changed the ledger")
	}
}

// gRPC clients work over h2c.
func TestGRPCOverH2C(t *testing.T) {
	e := setup(t)
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	hc := &http.Client{Transport: &http.Transport{Protocols: p}}
	client := cloudledgerv1connect.NewLedgerServiceClient(hc, e.url, connect.WithGRPC())
	res, err := client.Verify(context.Background(), testcluster.Authorize(connect.NewRequest(&v1.VerifyRequest{}), false))
	if err != nil {
		t.Fatal(err)
	}
	if res.Msg.LineItems == 0 || len(res.Msg.HeadHash) != 64 {
		t.Fatalf("verify over gRPC: %+v", res.Msg)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

var _ = bytes.MinRead

// Issue 4: the lines the InvoiceReconcile RPC is sent are parsed on the server (ledgerctl
// sends them as read): duplicate lines, bad ids, bad amounts and a bad file hash are
// refused and nothing is recorded.
func TestInvoiceReconcileChecksItsInput(t *testing.T) {
	e := setup(t)
	before := e.head()
	client := cloudledgerv1connect.NewLedgerServiceClient(http.DefaultClient, e.url)
	sha := strings.Repeat("0f", 32)
	line := func(n uint32, project, amount string) *v1.InvoiceLine {
		return &v1.InvoiceLine{Line: n, Month: "2026-03", Department: "d1", Project: project, Item: "ecs.vcpu", Amount: amount}
	}
	for _, c := range []struct {
		name  string
		req   *v1.InvoiceReconcileRequest
		wants string
	}{
		{"duplicate", &v1.InvoiceReconcileRequest{Provider: "p1", Month: "2026-03", InvoiceSha256: sha, Lines: []*v1.InvoiceLine{line(2, "prj1", "1"), line(3, "prj1", "2")}}, "duplicate_line"},
		{"space in an id", &v1.InvoiceReconcileRequest{Provider: "p1", Month: "2026-03", InvoiceSha256: sha, Lines: []*v1.InvoiceLine{line(2, "prj 1", "1")}}, "invalid_value"},
		{"empty project", &v1.InvoiceReconcileRequest{Provider: "p1", Month: "2026-03", InvoiceSha256: sha, Lines: []*v1.InvoiceLine{line(2, "", "1")}}, "missing_field"},
		{"exponent", &v1.InvoiceReconcileRequest{Provider: "p1", Month: "2026-03", InvoiceSha256: sha, Lines: []*v1.InvoiceLine{line(2, "prj1", "1E9")}}, "invalid_quantity"},
		{"file hash", &v1.InvoiceReconcileRequest{Provider: "p1", Month: "2026-03", InvoiceSha256: "abc", Lines: []*v1.InvoiceLine{line(2, "prj1", "1")}}, "invalid_value"},
	} {
		_, err := client.InvoiceReconcile(context.Background(), testcluster.Authorize(connect.NewRequest(c.req), false))
		if err == nil || !strings.Contains(err.Error(), c.wants) {
			t.Errorf("%s: %v, want %s", c.name, err, c.wants)
		}
	}
	if e.head() != before {
		t.Fatal("a refused reconciliation was recorded")
	}
}

// Issue 10, must show 7: an unknown JSON field is refused (malformed, naming it), never
// dropped — a typo "proation" was once stored as the default and could not be corrected —
// through the plain JSON body and through a gzip-compressed one; nothing is written.
func TestUnknownJSONFieldRefused(t *testing.T) {
	e := setup(t)
	before := e.head()
	body := `{"commands":[{"key":"typo","catalogPrice":{"item":"x.item","name":"x","category":"c","unit":"个·月","billing":"allocation",` +
		`"quotaClass":"","price":"1","provider":"","effectiveFrom":"2026-01-01","proation":"monthly"}}]}`
	status, out := postJSON(t, e.url, cloudledgerv1connect.LedgerServiceSubmitProcedure, e.admin, strings.NewReader(body), int64(len(body)))
	msg, _ := out["message"].(string)
	if status != http.StatusBadRequest || detailCode(out) != "malformed" || !strings.Contains(msg, `"proation"`) {
		t.Fatalf("unknown field: %d %v", status, out)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(body))
	zw.Close()
	req, _ := http.NewRequest(http.MethodPost, e.url+cloudledgerv1connect.LedgerServiceSubmitProcedure, bytes.NewReader(gz.Bytes()))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Authorization", "Bearer "+e.admin)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(raw), "proation") {
		t.Fatalf("unknown field, gzip: %d %s", res.StatusCode, raw)
	}
	if e.head() != before {
		t.Fatal("a refused request changed the ledger")
	}
	// The same body without the typo is accepted: the refusal was the field's.
	good := strings.Replace(body, `,"proation":"monthly"`, `,"proration":"monthly"`, 1)
	if status, out := postJSON(t, e.url, cloudledgerv1connect.LedgerServiceSubmitProcedure, e.admin, strings.NewReader(good), int64(len(good))); status != http.StatusOK {
		t.Fatalf("the corrected body: %d %v", status, out)
	}
}
