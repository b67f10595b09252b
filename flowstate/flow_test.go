package flowstate

import (
	"slices"
	"testing"
)

// script builds a flow from segment literals: times in milliseconds,
// sequence and acknowledgment numbers relative to each side's ISN.
type script struct {
	t          *testing.T
	f          *Flow
	cISN, sISN Seq
	base       int64
	// ipid is the IPv4 ID of the segments seg sends (1 unless a test
	// sets another: two identical segments within a millisecond are then
	// one frame captured twice).
	ipid uint16
}

var (
	cliAddr = AddrFrom4([4]byte{10, 0, 0, 2})
	srvAddr = AddrFrom4([4]byte{10, 0, 0, 1})
)

func newScript(t *testing.T, cISN, sISN Seq) *script {
	return &script{t: t, cISN: cISN, sISN: sISN, base: 1_700_000_000e9, ipid: 1}
}

// seg sends one segment. rseq/rack are relative; rack is ignored without ACK.
func (s *script) seg(ms float64, from Side, flags Flags, rseq, rack, length uint32) []Event {
	return s.segWith(ms, from, flags, rseq, rack, length, nil)
}

// segWith sends one segment after opt has set what seg does not (options,
// a D-SACK).
func (s *script) segWith(ms float64, from Side, flags Flags, rseq, rack, length uint32, opt func(*Segment)) []Event {
	g := Segment{Time: s.base + int64(ms*1e6), Flags: flags, Len: length, Window: 512, IPID: s.ipid}
	g.Opt.WScale = -1
	if from == Client {
		g.Src, g.SrcPort, g.Dst, g.DstPort = cliAddr, 41001, srvAddr, 8080
		g.Seq, g.Ack = s.cISN+Seq(rseq), s.sISN+Seq(rack)
	} else {
		g.Src, g.SrcPort, g.Dst, g.DstPort = srvAddr, 8080, cliAddr, 41001
		g.Seq, g.Ack = s.sISN+Seq(rseq), s.cISN+Seq(rack)
	}
	if flags&ACK == 0 {
		g.Ack = 0
	}
	if opt != nil {
		opt(&g)
	}
	if s.f == nil {
		s.f = NewFlow(&g, Config{Record: true, Events: true})
	}
	return s.f.Process(&g)
}

func (s *script) finish(ms float64) { s.f.Finish(s.base+int64(ms*1e6), "end of capture") }

// expect checks the labels on packet i (0-based) and its states after it.
func (s *script) expect(i int, labels []string, client, server State) {
	s.t.Helper()
	p := s.f.Packets[i]
	got := p.Labels.Strings()
	if labels == nil {
		labels = []string{}
	}
	if !slices.Equal(got, labels) {
		s.t.Errorf("packet %d: labels %v, want %v", i, got, labels)
	}
	if p.State[Client] != client || p.State[Server] != server {
		s.t.Errorf("packet %d: states %v/%v, want %v/%v", i, p.State[Client], p.State[Server], client, server)
	}
}

func (s *script) flowLabels(want ...string) {
	s.t.Helper()
	if want == nil {
		want = []string{}
	}
	if got := s.f.Labels.Strings(); !slices.Equal(got, want) {
		s.t.Errorf("flow labels %v, want %v", got, want)
	}
}

// checkTransitions asserts that each side's states move only along
// allowed transitions, packet by packet.
func checkTransitions(t *testing.T, f *Flow) {
	t.Helper()
	for side := Client; side <= Server; side++ {
		prev := f.Initial[side]
		for i, p := range f.Packets {
			if !Allowed(prev, p.State[side]) {
				t.Errorf("%v: packet %d moves %v -> %v", side, i, prev, p.State[side])
			}
			prev = p.State[side]
		}
	}
}

const (
	S   = SYN
	SA  = SYN | ACK
	A   = ACK
	PA  = PSH | ACK
	FA  = FIN | ACK
	R   = RST
	RA  = RST | ACK
	EST = StateEstablished
)

func TestHealthyFlowHasNoLabels(t *testing.T) {
	s := newScript(t, 1000, 5000)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(0.05, Server, SA, 0, 1, 0)
	s.seg(0.1, Client, A, 1, 1, 0)
	s.seg(0.2, Client, PA, 1, 1, 100)
	s.seg(0.25, Server, A, 1, 101, 0)
	s.seg(5, Server, PA, 1, 101, 50)
	s.seg(5.1, Client, A, 101, 51, 0)
	s.seg(6, Client, FA, 101, 51, 0)
	s.seg(6.1, Server, FA, 51, 102, 0)
	s.seg(6.2, Client, A, 102, 52, 0)
	s.finish(10)
	s.flowLabels()
	s.expect(0, nil, StateSynSent, StateSynReceived)
	s.expect(1, nil, EST, StateSynReceived)
	s.expect(2, nil, EST, EST)
	s.expect(7, nil, StateFinWait1, StateCloseWait)
	s.expect(8, nil, StateTimeWait, StateLastAck)
	s.expect(9, nil, StateTimeWait, StateClosed)
	if !s.f.Closed {
		t.Error("flow not closed after both FINs were acknowledged")
	}
	checkTransitions(t, s.f)
}

func TestConnectThenImmediateCloseIsNotAGhost(t *testing.T) {
	s := newScript(t, 1000, 5000)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(0.05, Server, SA, 0, 1, 0)
	s.seg(0.1, Client, A, 1, 1, 0)
	s.seg(0.2, Client, FA, 1, 1, 0)
	s.seg(0.3, Server, FA, 1, 2, 0)
	s.seg(0.4, Client, A, 2, 2, 0)
	s.finish(1)
	s.flowLabels()
	s.expect(2, nil, EST, EST)
	s.expect(3, nil, StateFinWait1, StateCloseWait)
	checkTransitions(t, s.f)
}

// Seed 002, connection 3: the accept queue is full, so the server ignores
// the ACK and retransmits its SYN-ACK; the client re-ACKs each copy.
func TestSynAckAfterAck(t *testing.T) {
	s := newScript(t, 3828629154, 3833556338)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(0.012, Server, SA, 0, 1, 0)
	s.seg(0.018, Client, A, 1, 1, 0)
	s.seg(3399.6, Server, SA, 0, 1, 0)
	s.seg(3399.6, Client, A, 1, 1, 0)
	s.seg(9605.7, Server, SA, 0, 1, 0)
	s.seg(9605.8, Client, A, 1, 1, 0)
	s.finish(21620)
	s.flowLabels("synack-retransmit", "synack-after-ack")
	s.expect(1, nil, EST, StateSynReceived)
	s.expect(2, nil, EST, StateSynReceivedAckIgnored)
	s.expect(3, []string{"synack-retransmit", "synack-after-ack"}, EST, StateSynReceivedAckIgnored)
	s.expect(6, nil, EST, StateSynReceivedAckIgnored)
	checkTransitions(t, s.f)
}

func TestSynDroppedThenAnswered(t *testing.T) {
	s := newScript(t, 3824454212, 3832652478)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(3000.6, Client, S, 0, 0, 0)
	s.seg(3000.7, Server, SA, 0, 1, 0)
	s.seg(3000.7, Client, A, 1, 1, 0)
	s.finish(4000)
	s.flowLabels("syn-dropped")
	s.expect(0, nil, StateSynSent, StateListen)
	s.expect(1, []string{"syn-dropped"}, StateSynSent, StateSynReceived)
	s.expect(3, nil, EST, EST)
	checkTransitions(t, s.f)
}

// No SYN-ACK ever: syn-unanswered on the last SYN, and no syn-dropped:
// nothing shows that a server dropped the SYNs rather than never saw them
// (down, filtered, replies not captured).
func TestSynUnanswered(t *testing.T) {
	s := newScript(t, 7, 0)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(1000, Client, S, 0, 0, 0)
	s.seg(3000, Client, S, 0, 0, 0)
	s.finish(10000)
	s.flowLabels("syn-unanswered")
	s.expect(1, nil, StateSynSent, StateListen)
	s.expect(2, []string{"syn-unanswered"}, StateSynSent, StateListen)
	checkTransitions(t, s.f)
}

// A capture that holds only the client's direction: the client's ACK and
// data prove a SYN-ACK came, so the flow is not syn-unanswered.
func TestRepliesMissingIsNotUnanswered(t *testing.T) {
	s := newScript(t, 7, 100)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(0.2, Client, A, 1, 1, 0)
	s.seg(0.3, Client, PA, 1, 1, 20)
	s.finish(10000)
	s.flowLabels()
	if !s.f.RepliesMissing {
		t.Error("RepliesMissing not set")
	}
}

// SYN-ACK lost on the way to the client (capture at the server): the client
// retransmits its SYN, the server its SYN-ACK. Not a drop by the server.
func TestSynAckLostIsNotSynDropped(t *testing.T) {
	s := newScript(t, 100, 900)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(0.1, Server, SA, 0, 1, 0)
	s.seg(1000, Client, S, 0, 0, 0)
	s.seg(1000.1, Server, SA, 0, 1, 0)
	s.seg(1000.2, Client, A, 1, 1, 0)
	s.finish(2000)
	s.flowLabels("synack-retransmit")
	s.expect(1, nil, StateSynSent, StateSynReceived)
	s.expect(2, nil, StateSynSent, StateSynReceived)
	s.expect(4, nil, EST, EST)
	checkTransitions(t, s.f)
}

// Seed 000: the request is ignored, data retransmitted, the client gives
// up with FIN, and the FIN's retransmission gets the connection queued.
func TestGhostConnection(t *testing.T) {
	s := newScript(t, 1, 2)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(0.1, Server, SA, 0, 1, 0)
	s.seg(0.2, Client, A, 1, 1, 0)
	s.seg(0.3, Client, PA, 1, 1, 200)
	s.seg(200, Client, PA, 1, 1, 200)
	s.seg(1000, Server, SA, 0, 1, 0)
	s.seg(1000.1, Client, A, 201, 1, 0)
	s.seg(3000, Server, SA, 0, 1, 0)
	s.seg(3000.1, Client, A, 201, 1, 0)
	s.seg(3500, Client, FA, 201, 1, 0)
	s.seg(4000, Client, FA, 201, 1, 0)
	s.seg(4000.1, Server, A, 1, 202, 0)
	s.finish(10000)
	s.flowLabels("synack-retransmit", "synack-after-ack", "data-while-syn-recv", "fin-before-queued", "ghost-connection")
	s.expect(2, nil, EST, StateSynReceivedAckIgnored)
	s.expect(3, []string{"data-while-syn-recv"}, EST, StateSynReceivedAckIgnored)
	s.expect(4, []string{"data-while-syn-recv"}, EST, StateSynReceivedAckIgnored)
	s.expect(9, []string{"fin-before-queued"}, StateFinWait1, StateSynReceivedAckIgnored)
	s.expect(10, []string{"fin-before-queued"}, StateFinWait1, StateCloseWait)
	s.expect(11, []string{"ghost-connection"}, StateFinWait2, StateCloseWait)
	if got := s.f.ServerEstablishTime - s.base; got != 4000e6 {
		t.Errorf("server established at %d ns, want the FIN retransmission at 4 s", got)
	}
	checkTransitions(t, s.f)
}

// The client's data is ignored (no SYN-ACK retransmission yet) and then
// accepted when retransmitted: data-while-syn-recv, no ghost.
func TestDataIgnoredThenAccepted(t *testing.T) {
	s := newScript(t, 10, 20)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(0.1, Server, SA, 0, 1, 0)
	s.seg(0.2, Client, A, 1, 1, 0)
	s.seg(0.3, Client, PA, 1, 1, 100)
	s.seg(210, Client, PA, 1, 1, 100)
	s.seg(210.1, Server, A, 1, 101, 0)
	s.finish(1000)
	s.flowLabels("data-while-syn-recv")
	s.expect(3, []string{"data-while-syn-recv"}, EST, StateSynReceivedAckIgnored)
	s.expect(4, nil, EST, EST)
	checkTransitions(t, s.f)
}

func TestRstOnOverflow(t *testing.T) {
	s := newScript(t, 10, 20)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(0.1, Server, SA, 0, 1, 0)
	s.seg(0.2, Client, A, 1, 1, 0)
	s.seg(0.25, Server, R, 1, 0, 0)
	s.finish(1000)
	s.flowLabels("rst-on-overflow")
	s.expect(2, nil, EST, StateSynReceived)
	s.expect(3, []string{"rst-on-overflow"}, StateClosed, StateClosed)
	checkTransitions(t, s.f)
}

func TestSynAckRetriesExhaustedWithReset(t *testing.T) {
	s := newScript(t, 10, 20)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(0.1, Server, SA, 0, 1, 0)
	s.seg(0.2, Client, A, 1, 1, 0)
	s.seg(1000, Server, SA, 0, 1, 0)
	s.seg(1000.1, Client, A, 1, 1, 0)
	s.seg(3000, Server, SA, 0, 1, 0)
	s.seg(3000.1, Client, A, 1, 1, 0)
	s.seg(9000, Client, PA, 1, 1, 10)
	s.seg(9000.1, Server, R, 1, 0, 0)
	s.finish(10000)
	s.flowLabels("synack-retransmit", "synack-after-ack", "synack-retries-exhausted")
	s.expect(6, nil, EST, StateSynReceivedAckIgnored)
	s.expect(7, []string{"synack-retries-exhausted"}, EST, StateClosed)
	s.expect(8, nil, StateClosed, StateClosed)
	checkTransitions(t, s.f)
}

func TestSynAckRetriesExhaustedSilently(t *testing.T) {
	s := newScript(t, 10, 20)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(0.1, Server, SA, 0, 1, 0)
	s.seg(0.2, Client, A, 1, 1, 0)
	s.seg(1000, Server, SA, 0, 1, 0)
	s.seg(1000.1, Client, A, 1, 1, 0)
	s.seg(8000, Client, PA, 1, 1, 10)
	s.finish(20000)
	s.flowLabels("synack-retransmit", "synack-after-ack", "synack-retries-exhausted")
	s.expect(5, []string{"synack-retries-exhausted"}, EST, StateClosed)
	if s.f.EP[Server].State != StateClosed || s.f.EP[Client].State != EST {
		t.Errorf("final states %v/%v, want ESTABLISHED/CLOSED", s.f.EP[Client].State, s.f.EP[Server].State)
	}
	checkTransitions(t, s.f)
}

func TestSynCookieSuspected(t *testing.T) {
	s := newScript(t, 10, 20)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(0.1, Server, SA, 0, 1, 0)
	s.seg(0.2, Client, A, 1, 1, 0)
	s.seg(0.3, Client, PA, 1, 1, 10)
	s.seg(210, Client, PA, 1, 1, 10)
	s.seg(630, Client, PA, 1, 1, 10)
	s.seg(1470, Client, PA, 1, 1, 10)
	s.finish(4000)
	if !s.f.Labels.Has(LabelSynCookieSuspected) || !s.f.Labels.Has(LabelDataWhileSynRecv) {
		t.Errorf("labels %v, want syncookie-suspected and data-while-syn-recv", s.f.Labels)
	}
	checkTransitions(t, s.f)
}

func TestSequenceWraparound(t *testing.T) {
	s := newScript(t, 0xffffff00, 0xfffffff0)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(0.1, Server, SA, 0, 1, 0)
	s.seg(0.2, Client, A, 1, 1, 0)
	s.seg(0.3, Client, PA, 1, 1, 1000) // crosses 2^32
	s.seg(0.4, Server, A, 1, 1001, 0)
	s.seg(0.5, Client, PA, 1001, 1, 1000)
	s.seg(0.6, Server, A, 1, 2001, 0)
	s.seg(300, Client, PA, 1001, 1, 1000) // a real retransmission
	s.seg(301, Client, FA, 2001, 1, 0)
	s.seg(302, Server, FA, 1, 2002, 0)
	s.seg(303, Client, A, 2002, 2, 0)
	s.finish(400)
	s.flowLabels()
	c := s.f.EP[Client]
	if c.DataRetransmits != 1 {
		t.Errorf("data retransmits %d, want 1", c.DataRetransmits)
	}
	if got := s.f.Packets[5].Seq; got != 1001 {
		t.Errorf("relative seq after the wrap %d, want 1001", got)
	}
	if !s.f.Closed {
		t.Error("flow not closed across the wrap")
	}
	checkTransitions(t, s.f)
}

func TestMidStreamFlow(t *testing.T) {
	s := newScript(t, 5000, 9000)
	// The capture starts with client data: no SYN seen.
	s.seg(0, Client, PA, 100, 50, 10)
	if !s.f.ClientGuessed || !s.f.MidStream {
		t.Fatal("mid-stream flow not marked as guessed")
	}
	if s.f.EP[Client].Port != 41001 {
		t.Fatalf("client port %d, want the ephemeral 41001", s.f.EP[Client].Port)
	}
	s.expect(0, nil, EST, StateUnknown)
	s.seg(1, Server, A, 50, 110, 0)
	s.expect(1, nil, EST, EST)
	if got := s.f.Packets[0].Seq; got != 1 {
		t.Errorf("first relative seq %d, want 1", got)
	}
	s.finish(2)
	s.flowLabels()
	checkTransitions(t, s.f)
}

func TestDuplicateFrameIsNotARetransmission(t *testing.T) {
	s := newScript(t, 1, 2)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(0.001, Client, S, 0, 0, 0)
	s.seg(0.1, Server, SA, 0, 1, 0)
	s.finish(1)
	if s.f.Duplicates != 1 || !s.f.Packets[1].Duplicate {
		t.Errorf("duplicates %d, want the second SYN marked duplicate", s.f.Duplicates)
	}
	s.flowLabels()
}

func TestStartsNewConnection(t *testing.T) {
	s := newScript(t, 1, 2)
	s.seg(0, Client, S, 0, 0, 0)
	same := Segment{Src: cliAddr, SrcPort: 41001, Dst: srvAddr, DstPort: 8080, Flags: SYN, Seq: 1}
	if s.f.StartsNewConnection(&same) {
		t.Error("a retransmitted SYN starts a new connection")
	}
	other := same
	other.Seq = 99
	if !s.f.StartsNewConnection(&other) {
		t.Error("a SYN with another ISN does not start a new connection")
	}
}

func TestEventsReportHindsight(t *testing.T) {
	s := newScript(t, 1, 2)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(0.1, Server, SA, 0, 1, 0)
	s.seg(0.2, Client, A, 1, 1, 0)
	ev := append([]Event(nil), s.seg(1000, Server, SA, 0, 1, 0)...)
	// The label waits for the server to show its hand (here: the end).
	ev = append(ev, s.f.Finish(s.base+5000e6, "end of capture")...)
	var revised, labelled bool
	for _, e := range ev {
		if e.Kind == EventState && e.Packet == 2 && e.Side == Server && e.State == StateSynReceivedAckIgnored {
			revised = true
		}
		if e.Kind == EventLabel && e.Packet == 3 && e.Label == LabelSynAckAfterAck {
			labelled = true
		}
	}
	if !revised || !labelled {
		t.Errorf("events %+v: want the ACK revised to SYN-RECEIVED-ACK-IGNORED and the SYN-ACK labelled", ev)
	}
}

func TestStateAndLabelNames(t *testing.T) {
	if StateSynReceivedAckIgnored.String() != "SYN-RECEIVED-ACK-IGNORED" || State(99).String() != "State(99)" {
		t.Error("state names")
	}
	for _, l := range AllLabels() {
		if back, ok := ParseLabel(l.String()); !ok || back != l {
			t.Errorf("label %v does not round-trip", l)
		}
	}
	if (SYN|ACK).String() != "S." || (FIN|PSH|ACK).String() != "FP." || Flags(0).String() != "none" {
		t.Error("tcpdump flag notation")
	}
	if !Seq(0xfffffff0).LessThan(5) || Seq(5).LessThan(0xfffffff0) {
		t.Error("serial arithmetic across the wrap")
	}
}

// The client gives up with RST while the server still holds the request
// (seed 000's remedy): the request is dropped, no ghost, and the server did
// not "exhaust" anything.
func TestClientResetWhilePending(t *testing.T) {
	s := newScript(t, 10, 20)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(0.1, Server, SA, 0, 1, 0)
	s.seg(0.2, Client, A, 1, 1, 0)
	s.seg(1000, Server, SA, 0, 1, 0)
	s.seg(1000.1, Client, A, 1, 1, 0)
	s.seg(2500, Client, R, 1, 0, 0)
	s.finish(30000)
	s.flowLabels("synack-retransmit", "synack-after-ack")
	s.expect(5, nil, StateClosed, StateClosed)
	checkTransitions(t, s.f)
}

// With tcp_abort_on_overflow=1 the server resets the ACK and then the data
// that followed it; the reset may leave late behind a shaped link.
func TestRstOnOverflowAfterAckAndData(t *testing.T) {
	s := newScript(t, 10, 20)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(100, Server, SA, 0, 1, 0)
	s.seg(180, Client, A, 1, 1, 0)
	s.seg(181, Client, PA, 1, 1, 10)
	s.seg(460, Server, R, 1, 0, 0)
	s.seg(515, Server, R, 1, 0, 0)
	s.finish(1000)
	s.flowLabels("rst-on-overflow")
	s.expect(4, []string{"rst-on-overflow"}, StateClosed, StateClosed)
	checkTransitions(t, s.f)
}

// A reset flow behaves exactly like a new one.
func TestResetIsLikeNew(t *testing.T) {
	run := func(f *Flow) *Flow {
		s := newScript(t, 1, 2)
		s.f = f
		s.seg(0, Client, S, 0, 0, 0)
		s.seg(0.1, Server, SA, 0, 1, 0)
		s.seg(0.2, Client, A, 1, 1, 0)
		s.seg(1000, Server, SA, 0, 1, 0)
		s.finish(2000)
		return s.f
	}
	a := run(nil)
	b := run(nil)
	first := Segment{Src: cliAddr, SrcPort: 41001, Dst: srvAddr, DstPort: 8080, Flags: SYN, Seq: 1, Time: 1_700_000_000e9}
	b.Reset(&first, Config{Record: true, Events: true})
	b.NPackets = 0
	c := run(b)
	if a.Labels != c.Labels || a.EP[Server].State != c.EP[Server].State || len(a.Packets) != len(c.Packets) ||
		a.ZeekHistory() != c.ZeekHistory() || a.EP[Server].SYNRetransmits != c.EP[Server].SYNRetransmits {
		t.Errorf("reset flow differs: %v %v %d vs %v %v %d", a.Labels, a.EP[Server].State, len(a.Packets), c.Labels, c.EP[Server].State, len(c.Packets))
	}
}

// A duplicate of the SYN shows the state the SYN has at the end, not the
// one it had before hindsight revised it.
func TestDuplicateShowsRevisedState(t *testing.T) {
	s := newScript(t, 1, 2)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(0.001, Client, S, 0, 0, 0)
	s.seg(0.1, Server, SA, 0, 1, 0)
	s.finish(1)
	s.expect(0, nil, StateSynSent, StateSynReceived)
	s.expect(1, nil, StateSynSent, StateSynReceived)
}

// The server's ACK leaves late (a queue in front of its link) and the
// client retransmits meanwhile; the ACK echoes the original segment's
// timestamp, so the original was accepted, not ignored (RFC 7323
// TS.Recent).
func TestEchoedTimestampProvesAcceptance(t *testing.T) {
	s := newScript(t, 10, 20)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(0.1, Server, SA, 0, 1, 0)
	s.seg(0.2, Client, A, 1, 1, 0)
	data := func(ms float64, tsval uint32) {
		g := Segment{Time: s.base + int64(ms*1e6), Flags: PA, Len: 10, Window: 512, Src: cliAddr, SrcPort: 41001, Dst: srvAddr, DstPort: 8080,
			Seq: s.cISN + 1, Ack: s.sISN + 1}
		g.Opt.WScale, g.Opt.HasTS, g.Opt.TSVal = -1, true, tsval
		s.f.Process(&g)
	}
	data(0.3, 1000)
	data(350, 1350) // the client's RTO fires before the late ACK arrives
	ack := Segment{Time: s.base + 380e6, Flags: A, Window: 512, Src: srvAddr, SrcPort: 8080, Dst: cliAddr, DstPort: 41001,
		Seq: s.sISN + 1, Ack: s.cISN + 11}
	ack.Opt.WScale, ack.Opt.HasTS, ack.Opt.TSVal, ack.Opt.TSEcr = -1, true, 5000, 1000
	s.f.Process(&ack)
	s.finish(1000)
	s.flowLabels()
	s.expect(2, nil, EST, EST)
	s.expect(3, nil, EST, EST)

	// Without the echo, the same wire shows the data ignored.
	s = newScript(t, 10, 20)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(0.1, Server, SA, 0, 1, 0)
	s.seg(0.2, Client, A, 1, 1, 0)
	s.seg(0.3, Client, PA, 1, 1, 10)
	s.seg(350, Client, PA, 1, 1, 10)
	s.seg(380, Server, A, 1, 11, 0)
	s.finish(1000)
	s.flowLabels("data-while-syn-recv")
}

// The server acknowledges bytes the capture never saw the client send: the
// capture lost packets, which the flow records.
func TestAckedUnseen(t *testing.T) {
	s := newScript(t, 1, 2)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(0.1, Server, SA, 0, 1, 0)
	s.seg(0.2, Client, A, 1, 1, 0)
	s.seg(0.3, Client, PA, 1, 1, 100)
	s.seg(0.4, Server, A, 1, 201, 0) // 100 more bytes than were seen
	s.seg(0.5, Server, A, 1, 201, 0) // counted once
	s.finish(1)
	if s.f.AckedUnseen != 1 {
		t.Errorf("AckedUnseen %d, want 1", s.f.AckedUnseen)
	}
}

// Two SYN-ACKs reach the capture but neither the client, which sends its
// SYN again: the client was in SYN-SENT through both (found by fuzzing).
func TestSynRetransmittedAfterTwoSynAcks(t *testing.T) {
	s := newScript(t, 1, 2)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(0.1, Server, SA, 0, 1, 0)
	s.seg(1000, Server, SA, 0, 1, 0)
	s.seg(1000.1, Client, S, 0, 0, 0)
	s.finish(2000)
	s.expect(1, nil, StateSynSent, StateSynReceived)
	s.expect(2, []string{"synack-retransmit"}, StateSynSent, StateSynReceived)
	checkTransitions(t, s.f)
}
