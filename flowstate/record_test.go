package flowstate

import (
	"slices"
	"testing"
)

// longFlow returns the segments of a flow whose handshake ACK the server
// ignores (its SYN-ACK resent a second later, revising the ACK's states
// in hindsight), then n data segments each acknowledged, then a reset.
func longFlow(n int) []Segment {
	const base = int64(1_700_000_000e9)
	const cISN, sISN = Seq(1000), Seq(5000)
	var out []Segment
	add := func(ms float64, from Side, flags Flags, rseq, rack, length uint32) {
		g := Segment{Time: base + int64(ms*1e6), Flags: flags, Len: length, Window: 512, Order: int64(len(out))}
		g.Opt.WScale = -1
		if from == Client {
			g.Src, g.SrcPort, g.Dst, g.DstPort = cliAddr, 41001, srvAddr, 8080
			g.Seq, g.Ack = cISN+Seq(rseq), sISN+Seq(rack)
		} else {
			g.Src, g.SrcPort, g.Dst, g.DstPort = srvAddr, 8080, cliAddr, 41001
			g.Seq, g.Ack = sISN+Seq(rseq), cISN+Seq(rack)
		}
		if flags&ACK == 0 {
			g.Ack = 0
		}
		out = append(out, g)
	}
	add(0, Client, SYN, 0, 0, 0)
	add(0.1, Server, SYN|ACK, 0, 1, 0)
	add(0.2, Client, ACK, 1, 1, 0)
	add(1000, Server, SYN|ACK, 0, 1, 0)
	add(1000.1, Client, ACK, 1, 1, 0)
	add(1000.2, Client, PSH|ACK, 1, 1, 100)
	add(1000.3, Server, ACK, 1, 101, 0)
	seq := uint32(101)
	for i := 0; i < n; i++ {
		ms := 1001 + float64(i)
		add(ms, Client, PSH|ACK, seq, 1, 100)
		seq += 100
		add(ms+0.5, Server, ACK, 1, seq, 0)
	}
	add(1001+float64(n)+1, Server, RST|ACK, 1, seq, 0)
	return out
}

func runFlow(segs []Segment, cfg Config) *Flow {
	f := NewFlow(&segs[0], cfg)
	for i := range segs {
		f.Process(&segs[i])
	}
	f.Finish(segs[len(segs)-1].Time, "reset")
	return f
}

// Under RecordLimit a flow keeps its first and last packets exactly as a
// flow recording everything sees them (hindsight revisions included),
// counts the rest, and concludes the same.
func TestRecordLimitKeepsHeadAndTail(t *testing.T) {
	segs := longFlow(500)
	full := runFlow(segs, Config{Record: true})
	for _, limit := range []int{7, 8, 64, 1001, len(segs), len(segs) + 5} {
		f := runFlow(segs, Config{Record: true, RecordLimit: limit})
		n := len(segs)
		kept := min(limit, n)
		if len(f.Packets) != kept || f.Elided != n-kept || f.NPackets != n {
			t.Fatalf("limit %d: %d packets kept, %d elided, NPackets %d", limit, len(f.Packets), f.Elided, f.NPackets)
		}
		head := (limit + 1) / 2
		if f.Elided == 0 {
			head = n
		}
		if f.Elided > 0 && f.ElidedAt != head {
			t.Errorf("limit %d: ElidedAt %d, want %d", limit, f.ElidedAt, head)
		}
		for i := range f.Packets {
			gi := f.PacketIndex(i)
			if gi < 0 || gi >= n || f.Packets[i] != full.Packets[gi] {
				t.Fatalf("limit %d: kept packet %d (flow packet %d) is %+v, the full recording's %+v", limit, i, gi, f.Packets[i], full.Packets[min(max(gi, 0), n-1)])
			}
		}
		if f.Labels != full.Labels || !slices.Equal(f.Findings, full.Findings) || f.EP[Client].State != full.EP[Client].State || f.EP[Server].State != full.EP[Server].State {
			t.Errorf("limit %d: labels %v findings %v, want %v %v", limit, f.Labels, f.Findings, full.Labels, full.Findings)
		}
	}
	if !full.Labels.Has(LabelSynAckAfterAck) || full.Packets[2].State[Server] != StateSynReceivedAckIgnored {
		t.Errorf("the fixture flow lost its hindsight revision: labels %v, ACK's server state %v", full.Labels, full.Packets[2].State[Server])
	}
}
