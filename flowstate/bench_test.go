package flowstate

import "testing"

// BenchmarkProcess measures the state machine alone: a healthy connection
// of 12 segments (handshake, request, response, close), per segment.
func BenchmarkProcess(b *testing.B) {
	s := newScript(&testing.T{}, 1000, 5000)
	var segs []Segment
	add := func(ms float64, from Side, flags Flags, rseq, rack, length uint32) {
		g := Segment{Time: s.base + int64(ms*1e6), Flags: flags, Len: length, Window: 512}
		if from == Client {
			g.Src, g.SrcPort, g.Dst, g.DstPort = cliAddr, 41001, srvAddr, 8080
			g.Seq, g.Ack = s.cISN+Seq(rseq), s.sISN+Seq(rack)
		} else {
			g.Src, g.SrcPort, g.Dst, g.DstPort = srvAddr, 8080, cliAddr, 41001
			g.Seq, g.Ack = s.sISN+Seq(rseq), s.cISN+Seq(rack)
		}
		segs = append(segs, g)
	}
	add(0, Client, S, 0, 0, 0)
	add(0.05, Server, SA, 0, 1, 0)
	add(0.1, Client, A, 1, 1, 0)
	add(0.2, Client, PA, 1, 1, 100)
	add(0.25, Server, A, 1, 101, 0)
	add(5, Server, PA, 1, 101, 1000)
	add(5.1, Client, A, 101, 1001, 0)
	add(5.2, Server, PA, 1001, 101, 1000)
	add(5.3, Client, A, 101, 2001, 0)
	add(6, Client, FA, 101, 2001, 0)
	add(6.1, Server, FA, 2001, 102, 0)
	add(6.2, Client, A, 102, 2002, 0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f := NewFlow(&segs[0], Config{})
		for j := range segs {
			f.Process(&segs[j])
		}
		f.Finish(segs[len(segs)-1].Time, "closed")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(segs)), "ns/segment")
}
