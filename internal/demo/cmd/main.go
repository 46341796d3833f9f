// Command demo writes the demo data set: go run ./internal/demo/cmd -out examples/demo
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cloudledger/cloudledger/internal/demo"
)

func main() {
	out := flag.String("out", "examples/demo", "directory to write the CSV files to")
	catalog := flag.String("catalog", "../shared/data/sample-catalog.csv", "the sample catalog")
	flag.Parse()
	raw, err := os.ReadFile(*catalog)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	for name, content := range demo.Generate(string(raw)) {
		if err := os.WriteFile(filepath.Join(*out, name), []byte(content), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "demo:", err)
			os.Exit(1)
		}
	}
}
