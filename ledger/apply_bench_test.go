package ledger

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// benchFixture is a seeded ledger on disk, closed when the benchmark ends.
func benchFixture(b *testing.B) *fixture {
	l, err := Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	f := &fixture{t: &testing.T{}, l: l, now: at("2026-11-20T12:00:00+08:00")}
	f.seed()
	return f
}

// BenchmarkApplyImportBatch measures the state machine alone: one Raft entry of 1,000
// allocate events per op, applied and made durable (one bbolt transaction, fsync on).
func BenchmarkApplyImportBatch(b *testing.B) {
	f := benchFixture(b)
	l := f.l
	f.ok(&SetProjectQuota{Project: "prj1", Department: "d1", Name: "预算系统", QuotaClass: "vcpu", Quota: dec("1000000000")})
	base := at("2026-01-01T00:00:00+08:00")
	entries := make([][]byte, b.N)
	for n := 0; n < b.N; n++ {
		req := Submission{Actor: "bench"}
		for i := 0; i < 1000; i++ {
			k := n*1000 + i
			req.Commands = append(req.Commands, Command{Key: fmt.Sprintf("bench/%d", k), Body: &Event{Op: OpAllocate, Time: base.Add(time.Duration(k) * time.Second),
				Department: "d1", Project: "prj1", Provider: "p1", Resource: fmt.Sprintf("r%d", k), Item: "ecs.vcpu", Kind: KindStandard, Quantity: dec("1")}})
		}
		entries[n] = EncodeProposal(&Proposal{RecordedAt: f.now, Submissions: []Submission{req}})
	}
	b.ResetTimer()
	start := time.Now()
	for n := 0; n < b.N; n++ {
		f.index++
		res := l.ApplyBatch([]Entry{{Index: f.index, Data: entries[n]}})[0].(*ProposalResult)
		if res.Submissions[0].Err != nil {
			b.Fatal(res.Submissions[0].Err)
		}
		if n%10 == 9 {
			l.Flush() // the server flushes every few ms: about every 10 entries under load
		}
	}
	l.Flush()
	b.ReportMetric(float64(b.N*1000)/time.Since(start).Seconds(), "items/s")
}

// BenchmarkApplyKafkaBatch compares a Kafka batch (type 13, 1,000 usage records and the
// offset advance) with the same records as one plain request: the cost of applying each
// record on its own layer inside the batch.
func BenchmarkApplyKafkaBatch(b *testing.B) {
	for _, kafka := range []bool{true, false} {
		b.Run(fmt.Sprintf("kafka=%v", kafka), func(b *testing.B) {
			f := benchFixture(b)
			l := f.l
			base := at("2026-01-01T00:00:00+08:00")
			entries := make([][]byte, b.N)
			for n := 0; n < b.N; n++ {
				batch := &AdvanceOffsets{Topic: "u", From: int64(n * 1000), Next: int64(n*1000 + 1000)}
				req := Submission{Actor: "bench"}
				for i := 0; i < 1000; i++ {
					k := n*1000 + i
					e := &Event{Op: OpUsage, Time: base.Add(time.Duration(k) * time.Second), Department: "d1", Project: "prj1", Provider: "p1",
						Resource: fmt.Sprintf("b%d", i%64), Item: "oss.egress", Kind: KindStandard, Quantity: dec("1.5")}
					batch.Records = append(batch.Records, KafkaRecord{Offset: int64(k), Key: fmt.Sprintf("bench/%d", k), Event: e})
					req.Commands = append(req.Commands, Command{Key: fmt.Sprintf("bench/%d", k), Body: e})
				}
				if kafka {
					req.Commands = []Command{{Body: batch}}
				}
				entries[n] = EncodeProposal(&Proposal{RecordedAt: f.now, Submissions: []Submission{req}})
			}
			b.ResetTimer()
			start := time.Now()
			for n := 0; n < b.N; n++ {
				f.index++
				if res := l.ApplyBatch([]Entry{{Index: f.index, Data: entries[n]}})[0].(*ProposalResult); res.Submissions[0].Err != nil {
					b.Fatal(res.Submissions[0].Err)
				}
				if n%10 == 9 {
					l.Flush()
				}
			}
			l.Flush()
			b.ReportMetric(float64(b.N*1000)/time.Since(start).Seconds(), "records/s")
		})
	}
}
