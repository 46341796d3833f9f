package openapigen

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

func committed(t *testing.T) []byte {
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "gen", "openapi", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Issue 13, must show 3: the committed OpenAPI file is what make proto generates from the
// current proto (a stale one fails), and every RPC of every service appears in it.
func TestOpenAPIIsCurrentAndComplete(t *testing.T) {
	var fresh bytes.Buffer
	if err := Write(&fresh); err != nil {
		t.Fatal(err)
	}
	spec := committed(t)
	if !bytes.Equal(fresh.Bytes(), spec) {
		t.Fatal("gen/openapi/openapi.yaml is stale: run make proto")
	}
	n := 0
	protoregistry.GlobalFiles.RangeFilesByPackage(Package, func(fd protoreflect.FileDescriptor) bool {
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				n++
				path := "  /" + string(sd.FullName()) + "/" + string(sd.Methods().Get(j).Name()) + ":\n"
				if !strings.Contains(string(spec), path) {
					t.Errorf("%s is not in openapi.yaml", strings.TrimSpace(path))
				}
			}
		}
		return true
	})
	if n < 30 {
		t.Fatalf("only %d RPCs found", n)
	}
	// It is valid YAML with the shape of OpenAPI 3, when a YAML parser is at hand.
	if _, err := exec.LookPath("python3"); err == nil {
		cmd := exec.Command("python3", "-c", `import sys, yaml
d = yaml.safe_load(sys.stdin)
assert d["openapi"].startswith("3."), d["openapi"]
for p, item in d["paths"].items():
    op = item["post"]
    for ref in (op["requestBody"]["content"], op["responses"]["200"]["content"]):
        for ct in ref.values():
            name = ct["schema"]["$ref"].split("/")[-1]
            assert name in d["components"]["schemas"], name
print(len(d["paths"]))`)
		cmd.Stdin = bytes.NewReader(spec)
		out, err := cmd.CombinedOutput()
		if err != nil {
			if strings.Contains(string(out), "No module named 'yaml'") {
				t.Skip("python3 has no yaml module")
			}
			t.Fatalf("openapi.yaml does not parse: %v\n%s", err, out)
		}
		if strings.TrimSpace(string(out)) != strconv.Itoa(n) {
			t.Fatalf("the YAML has %s paths, the proto %d RPCs", out, n)
		}
	}
}
