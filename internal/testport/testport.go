// Package testport picks loopback ports for test servers that restart on the same address.
package testport

import (
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// Nodes listen on ports below the kernel's ephemeral range (32768 and up here): a port
// handed out by "127.0.0.1:0" comes from that range, and while its node is stopped an
// outgoing connection of any process may take it as its local port, so the node could not
// listen again when it restarts.
const (
	portLow  = 20000
	portHigh = 32000
)

var nextPort = struct {
	sync.Mutex
	n int
}{n: portLow + int((time.Now().UnixNano()/1000+int64(os.Getpid())*7919)%int64(portHigh-portLow))} // test processes run in parallel: start apart

// Addr returns a free loopback address ("127.0.0.1:port") for a test server that may be
// stopped and started again on the same address.
func Addr(tb testing.TB) string {
	tb.Helper()
	nextPort.Lock()
	defer nextPort.Unlock()
	for range portHigh - portLow {
		p := nextPort.n
		nextPort.n++
		if nextPort.n >= portHigh {
			nextPort.n = portLow
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue // in use
		}
		ln.Close()
		return fmt.Sprintf("127.0.0.1:%d", p)
	}
	tb.Fatal("testport: no free port below the ephemeral range")
	return ""
}
