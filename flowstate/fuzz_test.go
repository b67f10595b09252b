package flowstate

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The fuzz input of FuzzFlowstate is a sequence of 16-byte blocks, each
// one segment between two fixed endpoints (client 10.0.0.2:41001, server
// 10.0.0.1:8080); a last partial block is ignored:
//
//	byte  0     bit 0: direction (0 client to server, 1 server to client)
//	            bit 1: the time delta is in seconds, not milliseconds
//	            bit 2: the time delta goes backwards (as a capture's
//	                   timestamps may)
//	            bit 3: no ACK number even with the ACK flag (Ack = 0)
//	byte  1     TCP flags (FIN SYN RST PSH ACK URG ECE CWR, bit 0 first)
//	bytes 2-5   sequence number minus the sender's ISN, big-endian
//	bytes 6-9   acknowledgment number minus the receiver's ISN
//	bytes 10-11 payload length
//	bytes 12-13 time since the previous segment (ms or s, byte 0)
//	byte  14    options: bit 0 timestamps (TSval = block index), bit 1
//	            one SACK block, bit 2 MSS 1460, bit 3 window scale 7;
//	            what the capture says: bit 4 the IPv4 ID repeats the
//	            previous segment's (else it is the block index + 1),
//	            bit 5 IPv4 ID 0, bit 6 captured outgoing (else incoming),
//	            bit 7 on interface 2 (else 1)
//	byte  15    window (times 256); in the first block, also the ISNs:
//	            client wrapISN[b&7], server wrapISN[b>>3&7]
//
// Deltas relative to the ISNs make handshakes and in-window segments
// common; the ISNs are mostly near the 2^32 wrap.
const fuzzBlock = 16

var wrapISN = [8]Seq{0, 1, 0xffffffff, 0xfffffff0, 0xffffff00, 0x7fffffff, 0x80000000, 0x12345678}

var (
	fuzzCli = AddrFrom4([4]byte{10, 0, 0, 2})
	fuzzSrv = AddrFrom4([4]byte{10, 0, 0, 1})
)

// transition is one move of one side's state between two recorded
// packets (from the flow's Initial states for the first).
type transition struct {
	pkt      int
	side     Side
	from, to State
}

// badTransitions lists the moves of f's recorded states that Allowed
// forbids.
func badTransitions(f *Flow) []transition {
	var bad []transition
	prev := f.Initial
	for i := range f.Packets {
		p := &f.Packets[i]
		for _, side := range [...]Side{Client, Server} {
			if !Allowed(prev[side], p.State[side]) {
				bad = append(bad, transition{i, side, prev[side], p.State[side]})
			}
		}
		prev = p.State
	}
	return bad
}

// fuzzSegments decodes a fuzz input into segments.
func fuzzSegments(data []byte) []Segment {
	n := len(data) / fuzzBlock
	if n == 0 {
		return nil
	}
	isn := [2]Seq{wrapISN[data[15]&7], wrapISN[data[15]>>3&7]}
	t := int64(1_700_000_000e9)
	segs := make([]Segment, 0, n)
	for i := range n {
		b := data[i*fuzzBlock : (i+1)*fuzzBlock]
		from := Side(b[0] & 1)
		g := Segment{Frame: int64(i + 1), Flags: Flags(b[1]), Len: uint32(binary.BigEndian.Uint16(b[10:])),
			Window: uint16(b[15]) << 8, TTL: 64}
		d := int64(binary.BigEndian.Uint16(b[12:])) * 1e6
		if b[0]&2 != 0 {
			d *= 1000
		}
		if b[0]&4 != 0 {
			d = -d
		}
		t += d
		g.Time = t
		g.Seq = isn[from] + Seq(binary.BigEndian.Uint32(b[2:]))
		if g.Flags&ACK != 0 && b[0]&8 == 0 {
			g.Ack = isn[from.Peer()] + Seq(binary.BigEndian.Uint32(b[6:]))
		}
		if from == Client {
			g.Src, g.SrcPort, g.Dst, g.DstPort = fuzzCli, 41001, fuzzSrv, 8080
		} else {
			g.Src, g.SrcPort, g.Dst, g.DstPort = fuzzSrv, 8080, fuzzCli, 41001
		}
		g.Opt.WScale = -1
		if b[14]&1 != 0 {
			g.Opt.HasTS, g.Opt.TSVal, g.Opt.TSEcr = true, uint32(i), uint32(i/2)
		}
		if b[14]&2 != 0 {
			g.Opt.NSACK, g.Opt.SACKBytes = 1, uint32(b[11])
		}
		g.IPID = uint16(i + 1)
		if b[14]&16 != 0 && len(segs) > 0 {
			g.IPID = segs[len(segs)-1].IPID
		}
		if b[14]&32 != 0 {
			g.IPID = 0
		}
		g.Dir, g.Iface = DirIncoming, 1
		if b[14]&64 != 0 {
			g.Dir = DirOutgoing
		}
		if b[14]&128 != 0 {
			g.Iface = 2
		}
		if b[14]&4 != 0 {
			g.Opt.MSS = 1460
		}
		if b[14]&8 != 0 {
			g.Opt.WScale = 7
		}
		segs = append(segs, g)
	}
	return segs
}

// fuzzEncode is the inverse of fuzzSegments for segments between the
// fixed endpoints, for seeds: times in ms since the previous segment.
type fuzzSeg struct {
	from      Side
	flags     Flags
	seq, ack  uint32 // relative to the ISNs
	len       uint16
	dtMs      uint16
	opts      byte
	windowMSB byte
}

func fuzzEncode(isnSel byte, segs []fuzzSeg) []byte {
	out := make([]byte, 0, len(segs)*fuzzBlock)
	for i, s := range segs {
		b := make([]byte, fuzzBlock)
		b[0] = byte(s.from)
		b[1] = byte(s.flags)
		binary.BigEndian.PutUint32(b[2:], s.seq)
		binary.BigEndian.PutUint32(b[6:], s.ack)
		binary.BigEndian.PutUint16(b[10:], s.len)
		binary.BigEndian.PutUint16(b[12:], s.dtMs)
		b[14] = s.opts
		b[15] = s.windowMSB
		if i == 0 {
			b[15] = isnSel
		}
		out = append(out, b...)
	}
	return out
}

// connectionsOfCapture turns the TCP connections of a classic pcap
// (either byte order, Ethernet or RAW framing, IPv4) into fuzz inputs, one
// per connection that starts with a SYN, at most limit of them: the
// client's and the server's segments, sequence numbers relative to each
// side's first one. It is a seed helper: it decodes just enough and skips
// the rest.
func connectionsOfCapture(b []byte, limit int) [][]byte {
	if len(b) < 24 {
		return nil
	}
	var order binary.ByteOrder = binary.LittleEndian
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xa1b23c4d:
	case 0xd4c3b2a1, 0x4d3cb2a1:
		order = binary.BigEndian
	default:
		return nil
	}
	lt := order.Uint32(b[20:])
	type tuple struct{ sp, dp uint16 }
	type conn struct {
		isn     [2]uint32
		haveISN [2]bool
		prevT   int64
		segs    []fuzzSeg
	}
	conns := map[tuple]*conn{}
	var tuples []tuple
	for off := 24; off+16 <= len(b); {
		caplen := int(order.Uint32(b[off+8:]))
		t := int64(order.Uint32(b[off:]))*1000 + int64(order.Uint32(b[off+4:]))/1000
		p := b[off+16 : min(len(b), off+16+caplen)]
		off += 16 + caplen
		switch lt {
		case 1:
			if len(p) < 14 || p[12] != 8 || p[13] != 0 {
				continue
			}
			p = p[14:]
		case 101:
		default:
			return nil
		}
		if len(p) < 20 || p[0]>>4 != 4 || p[9] != 6 {
			continue
		}
		ihl := int(p[0]&15) * 4
		tot := int(binary.BigEndian.Uint16(p[2:]))
		if len(p) < ihl+20 {
			continue
		}
		tcp := p[ihl:]
		doff := int(tcp[12]>>4) * 4
		sp, dp := binary.BigEndian.Uint16(tcp), binary.BigEndian.Uint16(tcp[2:])
		flags := Flags(tcp[13])
		from := Client
		c := conns[tuple{sp, dp}]
		if c == nil {
			if c = conns[tuple{dp, sp}]; c != nil {
				from = Server
			}
		}
		if c == nil {
			if flags&(SYN|ACK) != SYN || len(conns) >= limit {
				continue
			}
			c = &conn{prevT: t}
			conns[tuple{sp, dp}] = c
			tuples = append(tuples, tuple{sp, dp})
		}
		if len(c.segs) >= 64 {
			continue
		}
		seq, ack := binary.BigEndian.Uint32(tcp[4:]), binary.BigEndian.Uint32(tcp[8:])
		if !c.haveISN[from] {
			c.isn[from], c.haveISN[from] = seq, true
		}
		s := fuzzSeg{from: from, flags: flags, seq: seq - c.isn[from], len: uint16(max0(tot - ihl - doff)),
			dtMs: uint16(min(max0(int(t-c.prevT)), 65535)), windowMSB: tcp[14]}
		if flags&ACK != 0 {
			if !c.haveISN[from.Peer()] {
				c.isn[from.Peer()], c.haveISN[from.Peer()] = ack-1, true
			}
			s.ack = ack - c.isn[from.Peer()]
		}
		c.prevT = t
		c.segs = append(c.segs, s)
	}
	var out [][]byte
	for _, k := range tuples {
		out = append(out, fuzzEncode(0x13, conns[k].segs)) // client ISN 0xffffffff, server 0xfffffff0
	}
	return out
}

func max0(n int) int { return max(n, 0) }

// FuzzFlowstate feeds a sequence of segments between two endpoints to
// flows, as the flow table does (a new SYN with another ISN starts a new
// flow), and checks the state machine's invariants on every flow:
//
//   - no panic; len(Packets) == NPackets;
//   - each side's recorded states, from CLOSED/LISTEN (a flow started by
//     a SYN or SYN-ACK) or UNKNOWN (mid-stream), move packet by packet
//     only along Allowed transitions, and from the last packet's to the
//     flow's final states;
//   - every packet label is on the flow, and every flow label on a
//     packet; every Finding and Event names a packet in range, and an
//     Event's last word on a packet is what the packet holds;
//     ServerEstablishPacket is -1 or in range;
//   - a flow run with Record false (and no events) ends with the same
//     labels, final states, counters and Zeek history and conn_state, the
//     same Wireshark totals and the same stall findings;
//   - Wireshark's analysis flags sit only on packets where their rule can
//     apply (a duplicate ACK carries no payload, a zero window is a zero
//     window, a fast retransmission is a retransmission, ...), and every
//     stall finding's label is on its packet.
//
// Seeds: hand-written handshakes and the TCP segments of the committed
// captures (testdata/formats, testdata/lab, testdata/seed002), each file's
// connections (up to 8 per file) re-encoded.
func FuzzFlowstate(f *testing.F) {
	A, S, F, R, P := ACK, SYN, FIN, RST, PSH
	f.Add(fuzzEncode(0x13, []fuzzSeg{ // healthy, wrapping at once
		{Client, S, 0, 0, 0, 0, 5, 0xfa}, {Server, S | A, 0, 1, 0, 1, 5, 0xfa}, {Client, A, 1, 1, 0, 1, 1, 2},
		{Client, P | A, 1, 1, 100, 5, 1, 2}, {Server, A, 1, 101, 0, 1, 1, 2}, {Server, P | A, 1, 101, 1000, 10, 1, 2},
		{Client, A, 101, 1001, 0, 1, 1, 2}, {Client, F | A, 101, 1001, 0, 50, 1, 2}, {Server, F | A, 1001, 102, 0, 1, 1, 2},
		{Client, A, 102, 1002, 0, 1, 1, 2},
	}))
	f.Add(fuzzEncode(0x2a, []fuzzSeg{ // ACK ignored, SYN-ACK retransmitted, ghost
		{Client, S, 0, 0, 0, 0, 0, 0xfa}, {Server, S | A, 0, 1, 0, 1, 0, 0xfa}, {Client, A, 1, 1, 0, 1, 0, 2},
		{Client, P | A, 1, 1, 10, 1, 0, 2}, {Server, S | A, 0, 1, 0, 1000, 0, 0xfa}, {Client, A, 11, 1, 0, 1, 0, 2},
		{Client, P | A, 1, 1, 10, 200, 0, 2}, {Client, F | A, 11, 1, 0, 3000, 0, 2}, {Server, S | A, 0, 1, 0, 1000, 0, 0xfa},
		{Client, F | A, 11, 1, 0, 5000, 0, 2}, {Server, A, 1, 12, 0, 100, 0, 2},
	}))
	f.Add(fuzzEncode(0x05, []fuzzSeg{ // SYN dropped, then RST on overflow
		{Client, S, 0, 0, 0, 0, 0, 0xfa}, {Client, S, 0, 0, 0, 1000, 0, 0xfa}, {Server, S | A, 0, 1, 0, 1, 0, 0xfa},
		{Client, A, 1, 1, 0, 1, 0, 2}, {Server, R, 1, 0, 0, 1, 0, 0},
	}))
	f.Add(fuzzEncode(0x00, []fuzzSeg{ // mid-stream, then a new connection on the tuple
		{Server, P | A, 5000, 700, 100, 0, 0, 2}, {Client, A, 700, 5100, 0, 1, 0, 2},
		{Client, S, 123456, 0, 0, 10, 0, 0xfa}, {Server, S | A, 999, 123457, 0, 1, 0, 0xfa},
	}))
	var files []string
	for _, g := range []string{"../testdata/formats/*.pcap*", "../testdata/lab/*/server.pcap", "../testdata/seed002/seed002.pcap"} {
		m, _ := filepath.Glob(g)
		files = append(files, m...)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		for _, seed := range connectionsOfCapture(b, 8) {
			f.Add(seed)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		segs := fuzzSegments(data)
		if len(segs) == 0 {
			return
		}
		nflows := 0
		var fr, fc *Flow
		var evs [][]Event // events of the current flow, copied: one batch per packet, then Finish's
		finish := func() {
			last := fr.LastTime
			evs = append(evs, append([]Event(nil), fr.Finish(last, "end of capture")...))
			if ev := fc.Finish(last, "end of capture"); ev != nil {
				t.Fatalf("Finish: events %v without Config.Events", ev)
			}
			nflows++
			checkFlow(t, nflows, fr, fc, evs)
			evs = nil
		}
		for i := range segs {
			s := &segs[i]
			if fr != nil && fr.StartsNewConnection(s) {
				if !fc.StartsNewConnection(s) {
					t.Fatalf("segment %d: StartsNewConnection differs with Record off", i)
				}
				finish()
				fr = nil
			}
			if fr == nil {
				fr = NewFlow(s, Config{Record: true, Events: true})
				fc = NewFlow(s, Config{})
			}
			evs = append(evs, append([]Event(nil), fr.Process(s)...))
			if ev := fc.Process(s); ev != nil {
				t.Fatalf("segment %d: events %v without Config.Events", i, ev)
			}
		}
		finish()
		// Finish twice changes nothing.
		if ev := fr.Finish(fr.LastTime+1e9, "idle"); len(ev) != 0 || fr.EndReason != "end of capture" {
			t.Fatalf("second Finish: events %v, reason %q", ev, fr.EndReason)
		}
	})
}

// checkFlow checks the invariants of flow n (recorded with events, evs)
// against itself and against fc, the same flow without recording.
func checkFlow(t *testing.T, n int, f, fc *Flow, evs [][]Event) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("flow %d: "+format, append([]any{n}, args...)...)
	}
	if len(f.Packets) != f.NPackets {
		fail("%d packets recorded, NPackets %d", len(f.Packets), f.NPackets)
	}
	if len(fc.Packets) != 0 {
		fail("%d packets recorded without Config.Record", len(fc.Packets))
	}

	// States start from CLOSED/LISTEN (SYN), SYN-SENT/LISTEN (the capture
	// begins with the SYN-ACK) or UNKNOWN (mid-stream), and move along
	// Allowed transitions.
	want := [2]State{StateClosed, StateListen}
	switch {
	case f.MidStream:
		want = [2]State{StateUnknown, StateUnknown}
	case len(f.Packets) > 0 && f.Packets[0].Flags&(SYN|ACK) == SYN|ACK:
		want = [2]State{StateSynSent, StateListen}
	}
	if f.Initial != want {
		fail("initial states %v, want %v", f.Initial, want)
	}
	for _, tr := range badTransitions(f) {
		p := &f.Packets[tr.pkt]
		fail("packet %d (%v len %d, from %v): %v moves %v -> %v, not allowed\n%s",
			tr.pkt, p.Flags, p.Len, p.From, tr.side, tr.from, tr.to, dumpFlow(f))
	}
	var union Labels
	for i := range f.Packets {
		p := &f.Packets[i]
		if p.Labels&^f.Labels != 0 {
			fail("packet %d labels %v not all on the flow (%v)", i, p.Labels, f.Labels)
		}
		union |= p.Labels
	}
	// The final states may differ from the last packet's only by a move
	// no packet shows (the server forgetting a request after the capture
	// ended), itself allowed.
	if n := len(f.Packets); n > 0 {
		last := f.Packets[n-1].State
		for _, side := range [...]Side{Client, Server} {
			if !Allowed(last[side], f.EP[side].State) {
				fail("%v: last packet's state %v, final state %v\n%s", side, last[side], f.EP[side].State, dumpFlow(f))
			}
		}
	}
	if union != f.Labels {
		fail("flow labels %v, packets carry %v", f.Labels, union)
	}

	for _, fl := range []*Flow{f, fc} {
		for _, fd := range fl.Findings {
			if fd.Packet < 0 || fd.Packet >= fl.NPackets {
				fail("finding %v on packet %d of %d", fd.Label, fd.Packet, fl.NPackets)
			}
			if !fl.Labels.Has(fd.Label) {
				fail("finding %v not among the flow's labels %v", fd.Label, fl.Labels)
			}
		}
		if p := fl.ServerEstablishPacket; p != -1 && (p < 0 || p >= fl.NPackets) {
			fail("ServerEstablishPacket %d of %d", p, fl.NPackets)
		}
	}

	// Events name packets in range, and their last word on a packet is
	// what it holds.
	type at struct {
		pkt  int
		side Side
	}
	type said struct {
		state State
		batch int // the packet whose processing said it; NPackets for Finish
	}
	lastState := map[at]said{}
	for k, batch := range evs {
		for _, e := range batch {
			if e.Packet < 0 || e.Packet > k || e.Packet >= f.NPackets { // batch NPackets is Finish's
				fail("event %+v after packet %d of %d", e, k, f.NPackets)
			}
			switch e.Kind {
			case EventState:
				lastState[at{e.Packet, e.Side}] = said{e.State, k}
			case EventLabel:
				if !f.Packets[e.Packet].Labels.Has(e.Label) {
					fail("event %+v: packet %d has labels %v", e, e.Packet, f.Packets[e.Packet].Labels)
				}
			}
		}
	}
	for a, s := range lastState {
		got := f.Packets[a.pkt].State[a.side]
		if got != s.state {
			fail("last event says %v is %v after packet %d, the packet says %v\n%s", a.side, s.state, a.pkt, got, dumpFlow(f))
		}
	}

	for i := range f.Packets {
		if msg := analysisMisplaced(f, i); msg != "" {
			fail("packet %d (%v len %d win %d): %s\n%s", i, f.Packets[i].Flags, f.Packets[i].Len, f.Packets[i].Win, msg, dumpFlow(f))
		}
	}
	for _, fl := range []*Flow{f, fc} {
		for k := range fl.Stalls {
			st := &fl.Stalls[k]
			if st.Packet < 0 || st.Packet >= fl.NPackets || !fl.Labels.Has(st.Label) {
				fail("stall %+v: packet out of range, or its label not on the flow (%v)", st, fl.Labels)
			}
			if fl == f && !f.Packets[st.Packet].Labels.Has(st.Label) {
				fail("stall %v on packet %d, which carries %v", st.Label, st.Packet, f.Packets[st.Packet].Labels)
			}
		}
	}
	win := func(fl *Flow) (w [2][3]any) {
		for side := range w {
			mx, mn, ok := fl.Window(Side(side))
			w[side] = [3]any{mx, mn, ok}
		}
		return w
	}
	if a, b := fmt.Sprintf("%+v %d %v %+v", f.Stats, f.InitialRTT(), win(f), f.Stalls), fmt.Sprintf("%+v %d %v %+v", fc.Stats, fc.InitialRTT(), win(fc), fc.Stalls); a != b {
		fail("Wireshark totals or stalls differ with Record on and off:\n on  %s\n off %s", a, b)
	}

	// Recording changes nothing the flow concludes.
	type outcome struct {
		Labels                      Labels
		States                      [2]State
		NPackets, Duplicates        int
		Closed, ServerResolved      bool
		ServerEstablishPacket       int
		ServerEstablishTime         int64
		SynTime, SynAckTime         int64
		HandshakeAckTime            int64
		ZeekHistory, ZeekConnState  string
		ZeekOriginator              Side
		SYNRetransmits, DataRetrans [2]int
	}
	of := func(fl *Flow) outcome {
		return outcome{fl.Labels, [2]State{fl.EP[Client].State, fl.EP[Server].State}, fl.NPackets, fl.Duplicates,
			fl.Closed, fl.ServerResolved, fl.ServerEstablishPacket, fl.ServerEstablishTime,
			fl.SynTime, fl.SynAckTime, fl.HandshakeAckTime,
			fl.ZeekHistory(), fl.ZeekConnState(), fl.ZeekOriginator(),
			[2]int{fl.EP[Client].SYNRetransmits, fl.EP[Server].SYNRetransmits},
			[2]int{fl.EP[Client].DataRetransmits, fl.EP[Server].DataRetransmits}}
	}
	if a, b := of(f), of(fc); a != b {
		fail("Record on and off differ:\n on  %+v\n off %+v", a, b)
	}
	// Without recording, findings stand for the labels (while they fit).
	var fl Labels
	for _, fd := range fc.Findings {
		fl = fl.Add(fd.Label)
	}
	if len(fc.Findings) < maxFindings && fl != fc.Labels {
		fail("without Record: findings carry %v, the flow %v", fl, fc.Labels)
	}
}

// analysisMisplaced says what is wrong with packet i's Wireshark flags,
// "" when each flag sits where its rule (packet-tcp.c) can put it.
func analysisMisplaced(f *Flow, i int) string {
	p := &f.Packets[i]
	a := p.Analysis
	ctl := p.Flags&(SYN|FIN|RST) != 0
	switch {
	case a.Has(AnalysisFastRetransmission) && !a.Has(AnalysisRetransmission),
		a.Has(AnalysisSpuriousRetransmission) && !a.Has(AnalysisRetransmission):
		return "a fast or spurious retransmission without the retransmission flag"
	case a&(AnalysisRetransmission|AnalysisOutOfOrder) != 0 && p.Len == 0 && p.Flags&(SYN|FIN) == 0:
		return "a retransmission or out-of-order segment with neither data, SYN nor FIN"
	case a.Has(AnalysisSpuriousRetransmission) && p.Len == 0:
		return "a spurious retransmission without data"
	case a&(AnalysisDuplicateAck|AnalysisWindowUpdate|AnalysisKeepAliveAck|AnalysisZeroWindowProbeAck) != 0 && (p.Len != 0 || ctl):
		return "a duplicate ACK, window update or probe answer with data, SYN, FIN or RST"
	case a.Has(AnalysisDuplicateAck) != (p.DupAckNum > 0),
		a.Has(AnalysisDuplicateAck) && int(p.DupAckOf) >= i:
		return "a duplicate ACK's number or frame is wrong"
	case a.Has(AnalysisDuplicateAck) && p.Win == 0, a.Has(AnalysisWindowUpdate) && p.Win == 0:
		return "a duplicate ACK or window update with a zero window"
	case a.Has(AnalysisZeroWindow) && (p.Win != 0 || ctl), a.Has(AnalysisZeroWindowProbeAck) && p.Win != 0:
		return "a zero window that is not"
	case a.Has(AnalysisZeroWindowProbe) && p.Len != 1:
		return "a zero-window probe not of one byte"
	case a.Has(AnalysisKeepAlive) && (p.Len > 1 || ctl):
		return "a keep-alive with more than a byte, or with SYN, FIN or RST"
	case a.Has(AnalysisKeepAlive) && a&(AnalysisRetransmission|AnalysisOutOfOrder) != 0:
		return "a keep-alive also a retransmission"
	case a.Has(AnalysisWindowFull) && (p.Len == 0 || ctl):
		return "a full window without data, or with SYN, FIN or RST"
	case a.Has(AnalysisAckLostSegment) && p.Flags&ACK == 0:
		return "an ACKed unseen segment without ACK"
	case a.Has(AnalysisLostSegment) && p.Flags&RST != 0:
		return "a previous segment not captured on a RST"
	case p.ReallyRetransmit && !a.Has(AnalysisOutOfOrder):
		return "really a retransmission where Wireshark did not say out-of-order"
	case a.Has(AnalysisReusedPorts) && i != 0 && p.Flags&(SYN|ACK) != SYN|ACK:
		return "reused ports on a packet that does not open a conversation"
	}
	return ""
}

// dumpFlow prints a recorded flow, one packet a line, for failures.
func dumpFlow(f *Flow) string {
	var b strings.Builder
	for i, p := range f.Packets {
		fmt.Fprintf(&b, "  %d %v %v seq %d ack %d len %d  %v / %v %v\n",
			i, p.From, p.Flags, p.Seq, p.Ack, p.Len, p.State[Client], p.State[Server], p.Labels)
	}
	return b.String()
}
