package analyze

import (
	"testing"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// TestMemoCache: finished flows are remembered for the timeout, the latest
// flow of a key wins, and entries leave in finish order whatever the
// index's probe runs look like.
func TestMemoCache(t *testing.T) {
	c := memoCache{ttl: 100}
	key := func(i int) flowKey {
		var k flowKey
		k.a = flowstate.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		k.b = flowstate.AddrFrom4([4]byte{10, 1, 0, 1})
		k.pa, k.pb = uint16(40000+i%7), 80
		return k
	}
	memo := func(k flowKey, base flowstate.Seq) flowstate.ConvMemo {
		return flowstate.ConvMemo{A: k.a, PA: k.pa, Base: [2]flowstate.Seq{base, base + 1}, Set: [2]bool{true, true}}
	}
	const n = 5000
	for i := 0; i < n; i++ {
		k := key(i)
		c.add(&k, int64(i), memo(k, flowstate.Seq(i)), false)
	}
	// A second flow on key 7 supersedes the first.
	k7 := key(7)
	c.add(&k7, n, memo(k7, 777), false)
	syn := func(k flowKey, seq flowstate.Seq) *flowstate.Segment {
		return &flowstate.Segment{Src: k.a, SrcPort: k.pa, Dst: k.b, DstPort: k.pb, Flags: flowstate.SYN, Seq: seq}
	}
	reused := func(i int, seq flowstate.Seq, now int64) bool {
		k := key(i)
		s := syn(k, seq)
		s.Time = now
		f := flowstate.NewFlow(s, flowstate.Config{Record: true})
		c.resume(&k, f, s)
		f.Process(s)
		return f.Packets[0].Analysis.Has(flowstate.AnalysisReusedPorts)
	}
	if !reused(7, 7, n) || reused(7, 777, n) {
		t.Error("key 7: the second flow's base is not the one compared with")
	}
	if !reused(4950, 1, n) || reused(4950, 4950, n) {
		t.Error("key 4950: a SYN with the old ISN is a retransmission, another ISN a reuse")
	}
	// At n+50, flows finished before n-50 are forgotten.
	if reused(10, 1, n+50) || reused(4940, 1, n+50) || !reused(4999, 1, n+50) {
		t.Error("expiry: old flows remembered, or recent ones forgotten")
	}
	if c.n > 60 {
		t.Errorf("%d entries left after expiry", c.n)
	}
	for i := 4951; i < n; i++ {
		if k := key(i); c.find(&k) == nil {
			t.Fatalf("key %d lost from the index after deletions", i)
		}
	}
}
