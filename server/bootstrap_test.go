package server

import (
	"context"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/gen/cloudledger/v1/cloudledgerv1connect"
	"github.com/cloudledger/cloudledger/internal/testport"
)

// The admin token is installed at bootstrap, not at the first expiry tick: with a tick
// interval of an hour the API must answer an authenticated call within seconds (issue 9).
func TestTokenInstalledAtBootstrapWhateverTheTickInterval(t *testing.T) {
	s, err := Start(Config{DataDir: t.TempDir(), HTTPAddr: testport.Addr(t), RaftAddr: testport.Addr(t), Token: "bootstrap-test-token",
		TickInterval: time.Hour, FastTimeouts: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := cloudledgerv1connect.NewLedgerServiceClient(http.DefaultClient, s.URL)
	deadline := time.Now().Add(10 * time.Second)
	for {
		req := connect.NewRequest(&v1.VerifyRequest{})
		req.Header().Set("Authorization", "Bearer bootstrap-test-token")
		_, err := c.Verify(context.Background(), req)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("an authenticated call still fails 10 s after start: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
