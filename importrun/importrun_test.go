package importrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/interchange"
)

// fakeLedger validates every row but those of department "bad", and applies Submits,
// keeping one result per key; the first Submit of a batch is applied and its answer lost
// when loseFirst is set.
type fakeLedger struct {
	cloudledgerv1connect.UnimplementedLedgerServiceHandler
	mu        sync.Mutex
	keys      map[string]bool
	submits   int
	loseFirst bool
	leases    []string
}

func (f *fakeLedger) ValidateImport(_ context.Context, s *connect.ClientStream[v1.ValidateImportRequest]) (*connect.Response[v1.ValidateImportResponse], error) {
	out := &v1.ValidateImportResponse{}
	for s.Receive() {
		for _, c := range s.Msg().GetCommands() {
			out.Rows++
			if c.GetDepartment().GetDepartment() == "bad" {
				out.Errors = append(out.Errors, &v1.ErrorDetail{Code: "invalid_value", Field: "department", Message: "bad", Line: c.GetLine()})
				continue
			}
			out.Accepted++
		}
	}
	return connect.NewResponse(out), s.Err()
}

func (f *fakeLedger) Submit(_ context.Context, r *connect.Request[v1.SubmitRequest]) (*connect.Response[v1.SubmitResponse], error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.submits++
	out := &v1.SubmitResponse{}
	for _, c := range r.Msg.GetCommands() {
		if l := c.GetImportLease(); l != nil {
			f.leases = append(f.leases, fmt.Sprint(l.GetMonths(), l.GetRelease()))
			out.Results = append(out.Results, &v1.ItemResult{Unchanged: true})
			continue
		}
		dup := f.keys[c.GetKey()]
		f.keys[c.GetKey()] = true
		out.Results = append(out.Results, &v1.ItemResult{Duplicate: dup})
	}
	if f.loseFirst {
		f.loseFirst = false
		return nil, connect.NewError(connect.CodeUnavailable, errors.New("the leader changed: outcome unknown"))
	}
	return connect.NewResponse(out), nil
}

type oneNode struct {
	cl        cloudledgerv1connect.LedgerServiceClient
	failovers int
}

func (o *oneNode) ValidateImport(ctx context.Context) *connect.ClientStreamForClient[v1.ValidateImportRequest, v1.ValidateImportResponse] {
	return o.cl.ValidateImport(ctx)
}

func (o *oneNode) Submit(ctx context.Context, cmds []*v1.Command) (*v1.SubmitResponse, error) {
	res, err := o.cl.Submit(ctx, connect.NewRequest(&v1.SubmitRequest{Commands: cmds}))
	if err != nil {
		return nil, err
	}
	return res.Msg, nil
}

func (o *oneNode) Failover(error) { o.failovers++ }

func departmentsCSV(n int, bad ...int) string {
	var b strings.Builder
	b.WriteString("department,name,parent,funding\n")
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("d%d", i)
		for _, x := range bad {
			if x == i {
				id = "bad"
			}
		}
		fmt.Fprintf(&b, "%s,单位%d,,budget\n", id, i)
	}
	return b.String()
}

func importOf(t *testing.T, f *fakeLedger, csv string) (*Import, *oneNode) {
	mux := http.NewServeMux()
	mux.Handle(cloudledgerv1connect.NewLedgerServiceHandler(f))
	srv := httptest.NewUnstartedServer(mux)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	node := &oneNode{cl: cloudledgerv1connect.NewLedgerServiceClient(srv.Client(), srv.URL)}
	return &Import{Kind: interchange.KindDepartments, File: "d.csv", API: node, CallTimeout: 5 * time.Second, RetryFor: 10 * time.Second,
		Open: func() (*interchange.Decoder, io.Closer, error) {
			dec, err := interchange.NewDecoder(interchange.KindDepartments, "d.csv", strings.NewReader(csv), interchange.FormatCSV, "f1")
			return dec, io.NopCloser(nil), err
		}}, node
}

// Issue 23, must show 5 (the runner both clients use): a file of 2,500 rows applies in 3
// batches; the first batch's answer is lost after it applied, and it is sent again with the
// same keys — its 1,000 rows come back as duplicates, nothing is written twice.
func TestAnImportSurvivesALostAnswer(t *testing.T) {
	f := &fakeLedger{keys: map[string]bool{}, loseFirst: true}
	im, node := importOf(t, f, departmentsCSV(2500))
	var last [2]int
	im.Progress = func(done, total int) { last = [2]int{done, total} }
	v, err := im.Validate(context.Background())
	if err != nil || v.Bad() != 0 || v.Rows != 2500 {
		t.Fatalf("validate: %v, %d bad, %d rows", err, v.Bad(), v.Rows)
	}
	sum, err := im.Apply(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rows != 2500 || sum.New != 2500-1000 || sum.Duplicates != 1000 || len(f.keys) != 2500 {
		t.Fatalf("summary %+v, %d keys on the ledger; want 1,500 new, 1,000 duplicates (the lost batch again), 2,500 keys", sum, len(f.keys))
	}
	if f.submits != 4 || im.Retries != 1 || node.failovers != 1 {
		t.Fatalf("%d submits, %d retries, %d failovers; want 4, 1, 1", f.submits, im.Retries, node.failovers)
	}
	if last != [2]int{2500, 2500} {
		t.Fatalf("the last progress was %v", last)
	}
}

// A file with a bad row applies nothing: every bad row is listed, sorted by line, and no
// Submit is made.
func TestABadRowAppliesNothing(t *testing.T) {
	f := &fakeLedger{keys: map[string]bool{}}
	im, _ := importOf(t, f, departmentsCSV(30, 20, 7))
	v, err := im.Validate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	errs := v.Errors()
	if v.Bad() != 2 || len(errs) != 2 || errs[0].Line != 8 || errs[1].Line != 21 || errs[0].File != "d.csv" {
		t.Fatalf("%d bad: %v", v.Bad(), errs)
	}
	if _, err := im.Apply(context.Background(), v); err == nil || f.submits != 0 {
		t.Fatalf("apply of a file with bad rows: %v, %d submits", err, f.submits)
	}
}
