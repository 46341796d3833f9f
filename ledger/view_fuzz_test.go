package ledger

import "testing"

// View's lean event decoder never panics, and wherever Event.decode reads an event it
// reads the same one.
func FuzzRatingEventDecode(f *testing.F) {
	for _, ev := range []*Event{
		alloc("r1", "ecs.vcpu", KindTemporary, "2.5", endOf("2026-10-12")),
		change(OpReduce, "r1", "1", "2026-03-05T00:00:00+08:00"),
		{Op: OpUsage, Time: at("2026-03-07T23:59:59+08:00"), Department: "d1", Project: "prj1", Provider: "p1", Resource: "b1", Item: "oss.egress", Kind: KindStandard, Quantity: dec("12.5")},
	} {
		var e encoder
		ev.encode(&e)
		f.Add(e.b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var rd ratingEventReader
		var lean ratingEvent
		leanErr := rd.decode(b, &lean)
		var full Event
		d := decoder{b: b}
		full.decode(&d)
		if d.err != nil {
			return
		}
		if leanErr != nil {
			t.Fatalf("Event.decode read %+v, the lean decoder failed: %v", full, leanErr)
		}
		q, qErr := rd.quantity(lean.quantity)
		if qErr != nil || !q.Equal(full.Quantity) || !lean.time.Equal(full.Time) || !lean.expires.Equal(full.Expires) ||
			string(lean.resource) != full.Resource || string(lean.department) != full.Department || string(lean.project) != full.Project ||
			string(lean.provider) != full.Provider || string(lean.item) != full.Item || ResourceKind(lean.kind) != full.Kind {
			t.Fatalf("lean %+v (quantity %s, %v), full %+v", lean, q, qErr, full)
		}
		switch full.Op {
		case OpAllocate, OpExpand, OpReduce, OpReclaim, OpExpire, OpUsage, OpExtend:
			if lean.ratingOp != full.Op {
				t.Fatalf("op %q read as %q", full.Op, lean.ratingOp)
			}
		default:
			if lean.ratingOp != "" {
				t.Fatalf("op %q read as %q", full.Op, lean.ratingOp)
			}
		}
	})
}
