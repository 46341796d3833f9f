package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/cloudledger/cloudledger/apimap"
	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
)

// Issue 11, must show 1 (the half that needs no server): every procedure of every service
// of the API has an access rule, and every command of Submit a command rule, so an RPC or a
// command added later without one fails here (and is refused at run time: fail closed).
func TestEveryProcedureAndCommandHasARule(t *testing.T) {
	n := 0
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if fd.Package() != "cloudledger.v1" {
			return true
		}
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				proc := "/" + string(sd.FullName()) + "/" + string(sd.Methods().Get(j).Name())
				n++
				if _, ok := rules[proc]; !ok {
					t.Errorf("%s has no access rule in authz.go", proc)
				}
			}
		}
		return true
	})
	if n < 30 {
		t.Fatalf("found only %d procedures: is the generated code registered?", n)
	}
	// Every command of v1.Command's body has its catalog row, which carries its rule.
	body := (&v1.Command{}).ProtoReflect().Descriptor().Oneofs().ByName("body")
	for i := 0; i < body.Fields().Len(); i++ {
		name := string(body.Fields().Get(i).Name())
		k := apimap.KindOf(kindProbe(body.Fields().Get(i)))
		if k == nil || k.Field() != name || len(k.Roles()) == 0 {
			t.Errorf("command %s has no catalog row with roles", name)
		}
	}
}

// kindProbe is a command whose body is field f, its message empty.
func kindProbe(f protoreflect.FieldDescriptor) *v1.Command {
	c := &v1.Command{}
	m := c.ProtoReflect()
	m.Set(f, protoreflect.ValueOfMessage(m.NewField(f).Message()))
	return c
}

// Issue 23: the read barrier is the interceptor's, from each rule's placement — no handler
// calls it by hand (it was called at 25 places, and a new read could forget it).
func TestTheReadBarrierIsAppliedInOnePlace(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(src), "\n") {
			if strings.Contains(line, "readBarrier(") && !strings.HasPrefix(line, "func ") {
				calls++
				if f != "ledger_service.go" || !strings.Contains(line, "return s.readBarrier(ctx, h)") {
					t.Errorf("%s calls the read barrier by hand: %s", f, strings.TrimSpace(line))
				}
			}
		}
	}
	if calls != 1 {
		t.Errorf("%d calls of readBarrier, want the one in barrierFor", calls)
	}
}
