package ledger

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// Flushes run while entries apply:
// every key stays findable throughout — a retried command is a duplicate whether its line
// item is pending, being written or flushed — and the chain verifies at the end.
func TestFlushConcurrentWithApply(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.ok(&SetProjectQuota{Project: "prj1", Department: "d1", Name: "预算系统", QuotaClass: "vcpu", Quota: dec("1000000")})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				f.l.Flush()
			}
		}
	}()
	base := at("2026-03-02T10:00:00+08:00")
	for i := 0; i < 400; i++ {
		cmd := func(j int) Command {
			return Command{Key: fmt.Sprintf("c/%d", j), Body: &Event{Op: OpAllocate, Time: base.Add(time.Duration(j) * time.Second),
				Department: "d1", Project: "prj1", Provider: "p1", Resource: fmt.Sprintf("r%d", j), Item: "ecs.vcpu", Kind: KindStandard, Quantity: dec("1")}}
		}
		r := f.propose(cmd(i))
		if r.Err != nil || r.Items[0].Duplicate {
			t.Fatalf("command %d: %+v %v", i, r.Items, r.Err)
		}
		// Retry a recent one: wherever its line item is, it is found.
		j := i - i%7
		again := f.propose(cmd(j))
		if again.Err != nil || !again.Items[0].Duplicate {
			t.Fatalf("retry of %d after %d: %+v %v", j, i, again.Items, again.Err)
		}
	}
	close(stop)
	wg.Wait()
	if _, err := f.l.Verify(); err != nil {
		t.Fatal(err)
	}
	f.reopen()
	if r := f.propose(Command{Key: "c/5", Body: &Event{Op: OpAllocate, Time: base.Add(5 * time.Second), Department: "d1", Project: "prj1", Provider: "p1",
		Resource: "r5", Item: "ecs.vcpu", Kind: KindStandard, Quantity: dec("1")}}); r.Err != nil || !r.Items[0].Duplicate {
		t.Fatalf("after reopen: %+v %v", r.Items, r.Err)
	}
}
