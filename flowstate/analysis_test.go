package flowstate

import (
	"slices"
	"testing"
	"unsafe"
)

func TestAnalysisNames(t *testing.T) {
	all := AllAnalysis()
	if len(all) != numAnalysis {
		t.Fatalf("%d flags, want %d", len(all), numAnalysis)
	}
	seen := map[string]bool{}
	for _, a := range all {
		name := a.String()
		if name == "" || seen[name] {
			t.Errorf("flag %#x: name %q empty or repeated", uint32(a), name)
		}
		seen[name] = true
		if b, ok := ParseAnalysis("tcp.analysis." + name); !ok || b != a {
			t.Errorf("ParseAnalysis(%q) = %v, %v", name, b, ok)
		}
	}
	set := AnalysisFastRetransmission | AnalysisRetransmission | AnalysisDuplicateAck
	if got := set.Strings(); !slices.Equal(got, []string{"retransmission", "fast_retransmission", "duplicate_ack"}) {
		t.Errorf("Strings: %q", got)
	}
	if got := Analysis(1 << 30).String(); got != "Analysis(0x40000000)" {
		t.Errorf("unknown flag prints %q", got)
	}
}

// TestDuplicateRule: a frame captured twice is the same packet twice,
// proved by the IPv4 ID or by the capture's metadata; two packets alike
// within a millisecond (a burst of dup ACKs, zero-window ACKs) are not.
func TestDuplicateRule(t *testing.T) {
	v6 := Addr{0: 0xfd, 15: 1}
	v6b := Addr{0: 0xfd, 15: 2}
	for _, tc := range []struct {
		name         string
		v6           bool
		id1, id2     uint16
		dir1, dir2   Dir
		if1, if2     uint8
		gapNs        int64
		wantDup      bool
		wantAnalysis Analysis // Wireshark's view of the second copy
	}{
		{name: "same IPv4 ID", id1: 7, id2: 7, wantDup: true, wantAnalysis: AnalysisDuplicateAck},
		{name: "incrementing IPv4 IDs (two dup ACKs)", id1: 7, id2: 8, wantAnalysis: AnalysisDuplicateAck},
		{name: "same ID, a millisecond apart", id1: 7, id2: 7, gapNs: 1e6, wantAnalysis: AnalysisDuplicateAck},
		{name: "ID 0, nothing else known", wantAnalysis: AnalysisDuplicateAck},
		{name: "ID 0 on two interfaces", if1: 3, if2: 4, wantDup: true, wantAnalysis: AnalysisDuplicateAck},
		{name: "ID 0 on one interface", if1: 3, if2: 3, wantAnalysis: AnalysisDuplicateAck},
		{name: "ID 0 out, then in (loopback)", dir1: DirOutgoing, dir2: DirIncoming, wantDup: true, wantAnalysis: AnalysisDuplicateAck},
		{name: "ID 0 in, in", dir1: DirIncoming, dir2: DirIncoming, wantAnalysis: AnalysisDuplicateAck},
		{name: "ID differs on two interfaces", id1: 7, id2: 9, if1: 3, if2: 4, wantAnalysis: AnalysisDuplicateAck},
		{name: "IPv6, nothing known", v6: true, wantAnalysis: AnalysisDuplicateAck},
		{name: "IPv6 on two interfaces", v6: true, if1: 1, if2: 2, wantDup: true, wantAnalysis: AnalysisDuplicateAck},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, s := cliAddr, srvAddr
			if tc.v6 {
				c, s = v6, v6b
			}
			base := int64(1_700_000_000e9)
			mk := func(at int64, from Side, flags Flags, seq, ack Seq, n uint32) Segment {
				g := Segment{Time: base + at, Flags: flags, Seq: seq, Ack: ack, Len: n, Window: 500}
				g.Opt.WScale = -1
				g.Src, g.SrcPort, g.Dst, g.DstPort = c, 41001, s, 8080
				if from == Server {
					g.Src, g.SrcPort, g.Dst, g.DstPort = s, 8080, c, 41001
				}
				return g
			}
			segs := []Segment{
				mk(0, Client, SYN, 100, 0, 0),
				mk(1e6, Server, SYN|ACK, 500, 101, 0),
				mk(2e6, Client, ACK, 101, 501, 0),
				mk(3e6, Server, ACK, 501, 101, 0),
			}
			a, b := mk(10e6, Server, ACK, 501, 101, 0), mk(10e6+tc.gapNs, Server, ACK, 501, 101, 0)
			a.IPID, b.IPID, a.Dir, b.Dir, a.Iface, b.Iface = tc.id1, tc.id2, tc.dir1, tc.dir2, tc.if1, tc.if2
			if tc.v6 {
				a.IPID, b.IPID = 0, 0
			}
			segs = append(segs, a, b)
			f := NewFlow(&segs[0], Config{Record: true})
			for i := range segs {
				f.Process(&segs[i])
			}
			f.Finish(base+1e9, "end of capture")
			last := f.Packets[len(f.Packets)-1]
			if last.Duplicate != tc.wantDup || f.Duplicates != map[bool]int{true: 1}[tc.wantDup] {
				t.Errorf("duplicate %v (flow %d), want %v", last.Duplicate, f.Duplicates, tc.wantDup)
			}
			if last.Analysis != tc.wantAnalysis {
				t.Errorf("Wireshark's view %v, want %v: a copy is a duplicate ACK to Wireshark either way", last.Analysis, tc.wantAnalysis)
			}
			if n := int(f.Stats[Server].DupAcks); n != 3-map[bool]int{true: 1}[tc.wantDup] {
				t.Errorf("dup ACKs counted %d", n)
			}
		})
	}
}

func TestHoles(t *testing.T) {
	var h holes
	var g gaps
	type r struct{ gap, beyond, seen uint32 }
	step := func(s, e Seq, want r) {
		t.Helper()
		g, b, n, known := h.add(&g, s, e)
		if !known || (r{g, b, n}) != want {
			t.Errorf("add [%d,%d): gap %d beyond %d seen %d known %v, want %+v", s, e, g, b, n, known, want)
		}
	}
	step(1000, 1100, r{0, 100, 0})
	step(1200, 1300, r{0, 100, 0}) // leaves [1100,1200)
	step(1050, 1150, r{50, 0, 50}) // half seen, half filling
	step(1150, 1250, r{50, 0, 50}) // fills the rest
	if h.n != 0 {
		t.Errorf("%d holes left", h.n)
	}
	step(1400, 1500, r{0, 100, 0}) // [1300,1400)
	step(1320, 1340, r{20, 0, 0})  // splits it
	if h.n != 2 {
		t.Fatalf("%d holes, want 2", h.n)
	}
	if !h.acked(&g, 1330) || h.n != 1 {
		t.Errorf("an ACK over the first gap covered nothing, or left %d holes", h.n)
	}
	if h.acked(&g, 1330) {
		t.Error("the same ACK covered a gap twice")
	}
	if !h.acked(&g, 1600) || h.n != 0 {
		t.Error("an ACK past everything left a gap")
	}
	// Wrapping sequence numbers.
	h, g = holes{}, gaps{}
	step(0xffffff00, 0xffffff80, r{0, 0x80, 0})
	step(0x40, 0x80, r{0, 0x40, 0}) // leaves [0xffffff80, 0x40)
	step(0xfffffff0, 0x10, r{0x20, 0, 0})
	if h.n != 2 {
		t.Errorf("%d holes around the wrap, want 2", h.n)
	}
	for i := 0; i < maxHoles+1; i++ {
		h.add(&g, Seq(0x1000+0x100*i), Seq(0x1000+0x100*i+0x10))
	}
	if _, _, _, known := h.add(&g, 0x1008, 0x1009); known {
		t.Error("overflowing gaps still known")
	}
}

// The analysis bookkeeping is the start of a Flow, and its per-direction
// blocks start cache lines; WarmRange covers the rest.
func TestAnalysisLayout(t *testing.T) {
	var f Flow
	from, to := WarmRange()
	if unsafe.Offsetof(f.an) != 0 || from != unsafe.Sizeof(f.an) || to != unsafe.Sizeof(f) {
		t.Errorf("bookkeeping at %d, warm range %d..%d of %d", unsafe.Offsetof(f.an), from, to, unsafe.Sizeof(f))
	}
	if off := unsafe.Offsetof(f.an.ws) + unsafe.Offsetof(f.an.ws.dir); off%64 != 0 || unsafe.Sizeof(wsFlow{})%64 != 0 {
		t.Errorf("direction blocks at offset %d, %d bytes each: not on cache lines", off, unsafe.Sizeof(wsFlow{}))
	}
}
