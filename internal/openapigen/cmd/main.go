// Command openapigen writes gen/openapi/openapi.yaml (make proto).
package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/cloudledger/cloudledger/internal/openapigen"
)

func main() {
	var b bytes.Buffer
	if err := openapigen.Write(&b); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile(os.Args[1], b.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
