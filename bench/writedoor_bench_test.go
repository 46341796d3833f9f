package bench

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	v1 "github.com/cloudledger/cloudledger/gen/cloudledger/v1"
	"github.com/cloudledger/cloudledger/internal/testcluster"
)

// beforeWriteDoor is the commit before issue 23 (one write door, canonical bodies, the
// rules gate, the catalog).
const beforeWriteDoor = "1750eda"

// BenchmarkWriteDoorAgainstBefore is issue 23's must-show 7: the write loads of
// BenchmarkWrites (64 single-item writers; an import of 1,000 items a request) on a 3-node
// cluster of this tree's ledgerd and of the one before issue 23, in two rounds in opposite
// order (now, before, before, now) in one run; ratios of the rounds' sums. Target ≥ 0.95.
func BenchmarkWriteDoorAgainstBefore(b *testing.B) {
	before := testcluster.BinaryAt(b, beforeWriteDoor)
	type round struct{ single, imp result }
	run := func(name, bin string) round {
		c := testcluster.Start(b, 3, testcluster.Options{SnapshotThreshold: 1 << 20, TrailingLogs: 1 << 20, Binary: bin})
		defer c.StopAll()
		lead := c.WaitLeader(20 * time.Second)
		ctx := context.Background()
		cl := testcluster.NewClient(c.HTTP, lead.URL)
		if _, err := cl.Submit(ctx, seed()); err != nil {
			b.Fatal(err)
		}
		single, err := drive(name+": 64 writers × 1 item", singleWriters, singleItems, 1, func(i int) error {
			_, err := cl.Submit(ctx, []*v1.Command{event(i)})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		imp, err := drive(name+": import, 1,000 items/request", importConcurrency, importItems/importBatchSize, importBatchSize, func(i int) error {
			cmds := make([]*v1.Command, importBatchSize)
			for j := range cmds {
				cmds[j] = event(singleItems + i*importBatchSize + j)
			}
			_, err := cl.Submit(ctx, cmds)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		st := c.WaitConverged(120 * time.Second)
		fmt.Fprintf(os.Stdout, "%s converged: %d line items on every node\n", name, st.LineItems)
		return round{single, imp}
	}
	now1 := run("now", "")
	old1 := run("before", before)
	old2 := run("before", before)
	now2 := run("now", "")
	now := round{combine(now1.single, now2.single), combine(now1.imp, now2.imp)}
	old := round{combine(old1.single, old2.single), combine(old1.imp, old2.imp)}
	report(b, []result{now.single, old.single, now.imp, old.imp}, map[string]result{now.single.name: old.single, now.imp.name: old.imp})
	fmt.Fprintf(os.Stdout, "rounds (items/s): 64 writers now %.0f/%.0f before %.0f/%.0f; import now %.0f/%.0f before %.0f/%.0f\n",
		now1.single.rate(), now2.single.rate(), old1.single.rate(), old2.single.rate(), now1.imp.rate(), now2.imp.rate(), old1.imp.rate(), old2.imp.rate())
	writers, imports := now.single.rate()/old.single.rate(), now.imp.rate()/old.imp.rate()
	fmt.Fprintf(os.Stdout, "now ÷ before (%s): 64 writers %.2f, import %.2f\n", beforeWriteDoor, writers, imports)
	b.ReportMetric(writers, "writers-ratio")
	b.ReportMetric(imports, "import-ratio")
}
