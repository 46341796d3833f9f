package errcode

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"testing"
)

// Issue 12, item 6: every error code declared in errcode.go has a Chinese message.
func TestEveryCodeHasChinese(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "errcode.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	ast.Inspect(f, func(node ast.Node) bool {
		vs, ok := node.(*ast.ValueSpec)
		if !ok || len(vs.Values) != 1 {
			return true
		}
		if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Code" {
			return true
		}
		lit, ok := vs.Values[0].(*ast.BasicLit)
		if !ok {
			return true
		}
		code, _ := strconv.Unquote(lit.Value)
		n++
		if Code(code).Zh() == "" {
			t.Errorf("code %s (%s) has no Chinese message", vs.Names[0].Name, code)
		}
		return true
	})
	if n < 50 {
		t.Fatalf("found only %d codes in errcode.go", n)
	}
}
