package analyze

import (
	"testing"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// tableRun feeds segments to one table and returns the flows it finishes,
// in order, keeping new flows as pending flows from the first one.
func tableRun(segs []flowstate.Segment) []finished { return tableRunFrom(segs, 0) }

// tableRunFrom is tableRun keeping new flows pending once the table holds
// above pendingFrom full flows.
func tableRunFrom(segs []flowstate.Segment, pendingFrom int) []finished {
	defer func(n int) { pendingAbove = n }(pendingAbove)
	pendingAbove = pendingFrom
	var out []finished
	t := newTable(flowstate.Config{}, Timeouts{}, keyHasher(1), func(x finished) {
		if x.F == nil {
			x.F = x.flow(flowstate.Config{}, nil)
		}
		out = append(out, x)
	})
	var last int64
	for i := range segs {
		segs[i].Order = int64(i)
		k := keyOf(&segs[i])
		if i == 0 || segs[i].Time > last {
			last = segs[i].Time
		}
		t.add(&segs[i], t.hasher.hash(&k), last)
	}
	t.flush(last)
	return out
}

func syn(ms int64, seq flowstate.Seq) flowstate.Segment {
	return flowstate.Segment{Time: 1e18 + ms*1e6, Src: flowstate.AddrFrom4([4]byte{10, 0, 0, 2}), SrcPort: 41001,
		Dst: flowstate.AddrFrom4([4]byte{10, 0, 0, 1}), DstPort: 80, Flags: flowstate.SYN, Seq: seq,
		Opt: flowstate.Options{WScale: -1}}
}

// A new SYN with another ISN on the tuple of a flow that showed only a SYN
// is a new connection (port reuse), not the old one's second packet.
func TestPortReuseOnAPendingFlow(t *testing.T) {
	got := tableRun([]flowstate.Segment{syn(0, 1000), syn(500, 9000)})
	if len(got) != 2 || got[0].Reason != "port reused" || got[0].F.EP[flowstate.Client].ISS != 1000 ||
		got[1].F.EP[flowstate.Client].ISS != 9000 {
		for _, x := range got {
			t.Logf("flow ISN %d reason %q", x.F.EP[flowstate.Client].ISS, x.Reason)
		}
		t.Fatalf("%d flows, want the first finished by port reuse and a second with the new ISN", len(got))
	}
	// The same SYN again is a retransmission of the one connection.
	got = tableRun([]flowstate.Segment{syn(0, 1000), syn(1000, 1000)})
	if len(got) != 1 || got[0].F.EP[flowstate.Client].SYNRetransmits != 1 {
		t.Fatalf("%d flows, want one with its SYN retransmitted once", len(got))
	}
}

// Flows finish in the order of their finish times, ties by first packet,
// and a pending flow expires after the handshake timeout.
func TestFinishOrder(t *testing.T) {
	a := syn(0, 1)
	b := syn(10, 2)
	b.SrcPort = 41002
	c := syn(200_000, 3) // 200 s later: a and b expired at 75 s
	c.SrcPort = 41003
	got := tableRun([]flowstate.Segment{a, b, c})
	if len(got) != 3 {
		t.Fatalf("%d flows, want 3", len(got))
	}
	for i, want := range []struct {
		port   uint16
		reason string
	}{{41001, "idle"}, {41002, "idle"}, {41003, "end of capture"}} {
		if p := got[i].F.EP[flowstate.Client].Port; p != want.port || got[i].Reason != want.reason {
			t.Errorf("flow %d: port %d reason %q, want %d %q", i, p, got[i].Reason, want.port, want.reason)
		}
	}
	if got[0].At != a.Time+75e9 {
		t.Errorf("first flow finished at %d, want its SYN + 75 s", got[0].At-a.Time)
	}
}

// A SYN answered by a SYN-ACK leaves the client ESTABLISHED, so its flow
// waits the idle timeout, not the handshake one, whether it is kept
// pending or full: an ACK 100 s later still belongs to it. (A pending
// flow once timed out after 75 s here and the ACK began a second flow; a
// FuzzRun input showed it.)
func TestAnsweredPendingFlowWaitsTheIdleTimeout(t *testing.T) {
	c := syn(0, 1000)
	sa := flowstate.Segment{Time: c.Time + 1e6, Src: c.Dst, SrcPort: c.DstPort, Dst: c.Src, DstPort: c.SrcPort,
		Flags: flowstate.SYN | flowstate.ACK, Seq: 5000, Ack: 1001, Opt: flowstate.Options{WScale: -1}}
	ack := flowstate.Segment{Time: c.Time + 100e9, Src: c.Src, SrcPort: c.SrcPort, Dst: c.Dst, DstPort: c.DstPort,
		Flags: flowstate.ACK, Seq: 1001, Ack: 5001, Opt: flowstate.Options{WScale: -1}}
	for _, from := range []int{0, 1 << 15} {
		got := tableRunFrom([]flowstate.Segment{c, sa, ack}, from)
		if len(got) != 1 || got[0].F.NPackets != 3 || got[0].Reason != "end of capture" {
			for _, x := range got {
				t.Logf("flow of %d packets, reason %q", x.F.NPackets, x.Reason)
			}
			t.Errorf("pending from %d flows: %d flows, want one of 3 packets that lasted to the end", from, len(got))
		}
	}
}
