package apimap

import (
	"fmt"
	"strings"
	"testing"

	. "github.com/cloudledger/cloudledger/interchange"
)

// eventsInput returns n allocate rows of an events file in the format.
func eventsInput(format Format, n int) string {
	var b strings.Builder
	if format == FormatCSV {
		b.WriteString(eventsHeader)
	}
	for i := 0; i < n; i++ {
		if format == FormatCSV {
			fmt.Fprintf(&b, "ev-%d,2026-01-02T10:00:00+08:00,allocate,d.finance,prj.hr,p.telecom,vm-%d,ecs.vcpu,standard,8,\n", i, i)
		} else {
			fmt.Fprintf(&b, `{"key":"ev-%d","time":"2026-01-02T10:00:00+08:00","op":"allocate","department":"d.finance","project":"prj.hr","provider":"p.telecom","resource":"vm-%d","item":"ecs.vcpu","kind":"standard","quantity":8}`+"\n", i, i)
		}
	}
	return b.String()
}

// BenchmarkDecodeEvents measures streaming decode (parse, key, ledger.ValidateCommand) per row.
func BenchmarkDecodeEvents(b *testing.B) {
	for _, format := range []Format{FormatCSV, FormatJSONL} {
		b.Run(string(format), func(b *testing.B) {
			const rows = 10_000
			input := eventsInput(format, rows)
			b.SetBytes(int64(len(input)) / rows)
			b.ReportAllocs()
			b.ResetTimer()
			n := 0
			for n < b.N {
				d, err := NewDecoder(KindEvents, "events", strings.NewReader(input), format, "")
				if err != nil {
					b.Fatal(err)
				}
				for n < b.N {
					_, rerr, ok := d.Next()
					if !ok {
						break
					}
					if rerr != nil {
						b.Fatal(rerr)
					}
					n++
				}
			}
		})
	}
}
