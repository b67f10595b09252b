package flowstate

import "testing"

// healthySegments returns the 12 segments of a healthy connection
// (handshake, request, response, close) from client port port.
func healthySegments(port uint16) []Segment {
	const cISN, sISN, base = 1000, 5000, 1_700_000_000e9
	var segs []Segment
	add := func(ms float64, from Side, flags Flags, rseq, rack, length uint32) {
		g := Segment{Time: base + int64(ms*1e6), Flags: flags, Len: length, Window: 512}
		g.Opt.WScale = -1
		if from == Client {
			g.Src, g.SrcPort, g.Dst, g.DstPort = cliAddr, port, srvAddr, 8080
			g.Seq, g.Ack = cISN+Seq(rseq), sISN+Seq(rack)
		} else {
			g.Src, g.SrcPort, g.Dst, g.DstPort = srvAddr, 8080, cliAddr, port
			g.Seq, g.Ack = sISN+Seq(rseq), cISN+Seq(rack)
		}
		if flags&ACK == 0 {
			g.Ack = 0
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
	return segs
}

// BenchmarkProcess measures the state machine alone on one healthy
// connection at a time, per segment: everything stays in the cache.
func BenchmarkProcess(b *testing.B) {
	segs := healthySegments(41001)
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

// BenchmarkProcessInterleaved feeds 8192 healthy connections a segment
// each in turn, as a busy server's capture does: the flows no longer fit
// in the processor's cache, so this measures the memory a segment touches.
// Finished flows are reset and reused, as the analysis does.
func BenchmarkProcessInterleaved(b *testing.B) {
	const n = 8192
	segs := make([][]Segment, n)
	flows := make([]*Flow, n)
	for i := range segs {
		segs[i] = healthySegments(uint16(10000 + i))
		flows[i] = NewFlow(&segs[i][0], Config{})
	}
	per := len(segs[0])
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range flows {
			flows[j].Reset(&segs[j][0], Config{})
		}
		for k := 0; k < per; k++ {
			for j, f := range flows {
				f.Process(&segs[j][k])
			}
		}
		for j, f := range flows {
			f.Finish(segs[j][per-1].Time, "closed")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n*per), "ns/segment")
}
