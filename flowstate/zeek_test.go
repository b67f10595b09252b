package flowstate

import (
	"strings"
	"testing"
)

// zp is one packet of a Zeek test case: time in milliseconds, sequence and
// acknowledgment numbers relative to each side's ISN, as in script.seg.
type zp struct {
	ms         float64
	from       Side
	flags      Flags
	seq, ack   uint32
	length     uint32
	zeroWindow bool
}

// FN is a FIN without ACK (flow_test.go has the other flag sets).
const FN = FIN

// zeekRun feeds the packets to a flow that does not record packets, as
// the summary command runs it, and to one that does, and checks that both
// agree.
func zeekRun(t *testing.T, pkts []zp) (hist, state string, f *Flow) {
	t.Helper()
	const cISN, sISN = Seq(4294967000), Seq(77) // the client's wraps
	for _, rec := range []bool{false, true} {
		f = nil
		for _, p := range pkts {
			g := Segment{Time: 1_700_000_000e9 + int64(p.ms*1e6), Flags: p.flags, Len: p.length, Window: 512, IPID: 1}
			g.Opt.WScale = -1
			if p.zeroWindow {
				g.Window = 0
			}
			if p.from == Client {
				g.Src, g.SrcPort, g.Dst, g.DstPort = cliAddr, 41001, srvAddr, 8080
				g.Seq, g.Ack = cISN+Seq(p.seq), sISN+Seq(p.ack)
			} else {
				g.Src, g.SrcPort, g.Dst, g.DstPort = srvAddr, 8080, cliAddr, 41001
				g.Seq, g.Ack = sISN+Seq(p.seq), cISN+Seq(p.ack)
			}
			if p.flags&ACK == 0 {
				g.Ack = 0
			}
			if f == nil {
				f = NewFlow(&g, Config{Record: rec})
			}
			f.Process(&g)
		}
		h, s := f.ZeekHistory(), f.ZeekConnState()
		if rec && (h != hist || s != state) {
			t.Errorf("with Record: %q %s, without: %q %s", h, s, hist, state)
		}
		hist, state = h, s
	}
	return hist, state, f
}

// handshake is the three packets every established case starts with.
var zeekHandshake = []zp{
	{0, Client, S, 0, 0, 0, false},
	{0.1, Server, SA, 0, 1, 0, false},
	{0.2, Client, A, 1, 1, 0, false},
}

func hs(more ...zp) []zp { return append(append([]zp{}, zeekHandshake...), more...) }

// Expected values are derived from Zeek's source (see zeek.go); where a
// Zeek test baseline shows the same history, the case names it. Packet
// orders for baselines are reconstructions that yield them.
func TestZeekConnStateAndHistory(t *testing.T) {
	cases := []struct {
		name        string
		pkts        []zp
		hist, state string
	}{
		{
			// Client closes first. Letters in packet order; A, D once per
			// direction.
			name: "normal connection",
			pkts: hs(
				zp{1, Client, PA, 1, 1, 100, false},
				zp{1.1, Server, A, 1, 101, 0, false},
				zp{5, Server, PA, 1, 101, 50, false},
				zp{5.1, Client, A, 101, 51, 0, false},
				zp{6, Client, FA, 101, 51, 0, false},
				zp{6.1, Server, FA, 51, 102, 0, false},
				zp{6.2, Client, A, 102, 52, 0, false},
			),
			hist: "ShADadFf", state: "SF",
		},
		{
			name: "server closes first",
			pkts: hs(
				zp{1, Client, PA, 1, 1, 100, false},
				zp{1.1, Server, A, 1, 101, 0, false},
				zp{5, Server, PA, 1, 101, 50, false},
				zp{5.1, Server, FA, 51, 101, 0, false},
				zp{5.2, Client, FA, 101, 52, 0, false},
				zp{5.3, Server, A, 52, 102, 0, false},
			),
			hist: "ShADadfF", state: "SF",
		},
		{
			name: "rejected",
			pkts: []zp{
				{0, Client, S, 0, 0, 0, false},
				{0.1, Server, RA, 0, 1, 0, false},
			},
			hist: "Sr", state: "REJ",
		},
		{
			// Same SYN and same RST again: S and R repeat only with a new
			// sequence number.
			name: "rejected twice",
			pkts: []zp{
				{0, Client, S, 0, 0, 0, false},
				{0.1, Server, RA, 0, 1, 0, false},
				{500, Client, S, 0, 0, 0, false},
				{500.1, Server, RA, 0, 1, 0, false},
			},
			hist: "Sr", state: "REJ",
		},
		{
			name: "unanswered SYN retried",
			pkts: []zp{
				{0, Client, S, 0, 0, 0, false},
				{1000, Client, S, 0, 0, 0, false},
				{3000, Client, S, 0, 0, 0, false},
			},
			hist: "S", state: "S0",
		},
		{
			// Accept queue full: the server ignores the ACK and
			// retransmits its SYN-ACK (same ISN: no second h); the client
			// re-ACKs. Zeek sees an established connection.
			name: "SYN-ACK retransmitted after the ACK",
			pkts: hs(
				zp{1000, Server, SA, 0, 1, 0, false},
				zp{1000.1, Client, A, 1, 1, 0, false},
				zp{3000, Server, SA, 0, 1, 0, false},
				zp{3000.1, Client, A, 1, 1, 0, false},
			),
			hist: "ShA", state: "S1",
		},
		{
			// The client's request is ignored with the ACK and sent again.
			name: "data ignored while in the SYN queue",
			pkts: hs(
				zp{0.3, Client, PA, 1, 1, 100, false},
				zp{1000, Server, SA, 0, 1, 0, false},
				zp{1000.1, Client, A, 101, 1, 0, false},
				zp{1200, Client, PA, 1, 1, 100, false},
			),
			hist: "ShADT", state: "S1",
		},
		{
			// Ghost connection: the client gives up while the server holds
			// the request; its FIN retransmission has the same sequence
			// number, so one F.
			name: "client FIN, no reply",
			pkts: hs(
				zp{1000, Server, SA, 0, 1, 0, false},
				zp{1000.1, Client, A, 1, 1, 0, false},
				zp{5000, Client, FA, 1, 1, 0, false},
				zp{5200, Client, FA, 1, 1, 0, false},
			),
			hist: "ShAF", state: "S2",
		},
		{
			name: "server FIN, no reply",
			pkts: hs(zp{1, Server, FA, 1, 1, 0, false}),
			hist: "ShAf", state: "S3",
		},
		{
			name: "originator resets",
			pkts: hs(
				zp{1, Client, PA, 1, 1, 100, false},
				zp{2, Client, RA, 101, 1, 0, false},
			),
			hist: "ShADR", state: "RSTO",
		},
		{
			// tcp_abort_on_overflow=1: the server answers the ACK with a
			// reset.
			name: "responder resets",
			pkts: hs(zp{0.3, Server, R, 1, 0, 0, false}),
			hist: "ShAr", state: "RSTR",
		},
		{
			// Baseline scripts.base.protocols.conn.conn_state-RST-behavior:
			// "SR, RSTOS0".
			name: "SYN then RST",
			pkts: []zp{
				{0, Client, S, 0, 0, 0, false},
				{100, Client, R, 1, 0, 0, false},
			},
			hist: "SR", state: "RSTOS0",
		},
		{
			// Same baseline: "SaR, RSTOS0". A bare ACK of the SYN leaves
			// the responder inactive.
			name: "SYN, ACK, RST",
			pkts: []zp{
				{0, Client, S, 0, 0, 0, false},
				{0.1, Server, A, 0, 1, 0, false},
				{100, Client, R, 1, 0, 0, false},
			},
			hist: "SaR", state: "RSTOS0",
		},
		{
			// Same baseline: "SaFR, OTH": the F breaks RSTOS0's pattern.
			name: "SYN, ACK, FIN, RST",
			pkts: []zp{
				{0, Client, S, 0, 0, 0, false},
				{0.1, Server, A, 0, 1, 0, false},
				{50, Client, FN, 1, 0, 0, false},
				{100, Client, R, 2, 0, 0, false},
			},
			hist: "SaFR", state: "OTH",
		},
		{
			// SYN missed: WantConnection flips the roles ('^').
			name: "SYN-ACK then RST",
			pkts: []zp{
				{0, Server, SA, 0, 1, 0, false},
				{1, Server, R, 1, 0, 0, false},
			},
			hist: "^hr", state: "RSTRH",
		},
		{
			name: "SYN then FIN",
			pkts: []zp{
				{0, Client, S, 0, 0, 0, false},
				{100, Client, FN, 1, 0, 0, false},
			},
			hist: "SF", state: "SH",
		},
		{
			name: "SYN-ACK then FIN",
			pkts: []zp{
				{0, Server, SA, 0, 1, 0, false},
				{1, Server, FA, 1, 1, 0, false},
			},
			hist: "^hf", state: "SHR",
		},
		{
			// Baseline core.tcp.rxmit-history/conn-2.log: "^h", OTH.
			name: "lone SYN-ACK",
			pkts: []zp{{0, Server, SA, 0, 1, 0, false}},
			hist: "^h", state: "OTH",
		},
		{
			// Baseline core.tcp.rxmit-history/conn-2.log: "DdA", OTH.
			name: "mid-stream, client first",
			pkts: []zp{
				{0, Client, PA, 1, 1, 100, false},
				{0.1, Server, PA, 1, 101, 50, false},
				{0.2, Client, A, 101, 51, 0, false},
			},
			hist: "DdA", state: "OTH",
		},
		{
			// The first packet came from the server's port: flipped.
			name: "mid-stream, server first",
			pkts: []zp{
				{0, Server, PA, 1, 1, 50, false},
				{0.1, Client, A, 1, 51, 0, false},
			},
			hist: "^dA", state: "OTH",
		},
		{
			// Baseline core.history-flip and core.tcp.missing-syn:
			// "^hADdFaf", SF.
			name: "SYN missed, connection completes",
			pkts: []zp{
				{0, Server, SA, 0, 1, 0, false},
				{0.1, Client, A, 1, 1, 0, false},
				{0.2, Client, PA, 1, 1, 98, false},
				{10, Server, PA, 1, 99, 9417, false},
				{10.1, Client, A, 99, 9418, 0, false},
				{11, Client, FA, 99, 9418, 0, false},
				{11.1, Server, A, 9418, 100, 0, false},
				{11.2, Server, FA, 9418, 100, 0, false},
				{11.3, Client, A, 100, 9419, 0, false},
			},
			hist: "^hADdFaf", state: "SF",
		},
		{
			// Baseline core.tcp.miss-end-data: "ShADafgF", SF. The
			// server's data is missing from the capture; the client's ACK
			// of it and the FIN reveals the gap (the FIN's number is not
			// counted), after the server closed cleanly.
			name: "missed data before the FIN",
			pkts: hs(
				zp{1, Client, PA, 1, 1, 538, false},
				zp{1.1, Server, A, 1, 539, 0, false},
				zp{2, Server, FA, 2903, 539, 0, false},
				zp{2.1, Client, A, 539, 2904, 0, false},
				zp{3, Client, FA, 539, 2904, 0, false},
			),
			hist: "ShADafgF", state: "SF",
		},
		{
			// Baseline core.tcp.fin-rst-timeout: "ShADadtFRfr", SF. Each
			// side's RST after its FIN does not spoil a FIN exchange.
			name: "FIN then RST from both sides",
			pkts: hs(
				zp{1, Client, PA, 1, 1, 100, false},
				zp{1.1, Server, A, 1, 101, 0, false},
				zp{2, Server, PA, 1, 101, 500, false},
				zp{200, Server, PA, 1, 101, 500, false},
				zp{201, Client, FA, 101, 501, 0, false},
				zp{201.1, Client, RA, 102, 501, 0, false},
				zp{202, Server, FA, 501, 102, 0, false},
				zp{202.1, Server, R, 502, 0, 0, false},
			),
			hist: "ShADadtFRfr", state: "SF",
		},
		{
			name: "zero window",
			pkts: hs(
				zp{1, Client, PA, 1, 1, 100, false},
				zp{1.1, Server, A, 1, 101, 0, true},
			),
			hist: "ShADaw", state: "S1",
		},
		{
			// The capture missed [101, 201): the ACK of 301 reveals it.
			name: "content gap",
			pkts: hs(
				zp{1, Client, PA, 1, 1, 100, false},
				zp{3, Client, PA, 201, 1, 100, false},
				zp{3.1, Server, A, 1, 301, 0, false},
			),
			hist: "ShADaG", state: "S1",
		},
		{
			// The same segments out of order: no gap, but Zeek counts the
			// late segment as a retransmission (it does not advance
			// last_seq).
			name: "reordering is not a gap",
			pkts: hs(
				zp{1, Client, PA, 1, 1, 100, false},
				zp{3, Client, PA, 201, 1, 100, false},
				zp{3.05, Client, PA, 101, 1, 100, false},
				zp{3.1, Server, A, 1, 301, 0, false},
			),
			hist: "ShADTa", state: "S1",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hist, state, f := zeekRun(t, c.pkts)
			if hist != c.hist || state != c.state {
				t.Errorf("got %q %s, want %q %s", hist, state, c.hist, c.state)
			}
			if o := f.ZeekOriginator(); o != Client {
				t.Errorf("originator %v, want client", o)
			}
		})
	}
}

// C, G, T and W repeat logarithmically: a second letter at the 10th event,
// a third at the 100th (Connection::ScaledHistoryEntry).
func TestZeekLogarithmicLetters(t *testing.T) {
	for _, c := range []struct {
		n    int
		hist string
	}{{1, "ShADT"}, {9, "ShADT"}, {10, "ShADTT"}, {99, "ShADTT"}, {100, "ShADTTT"}} {
		pkts := hs(zp{1, Client, PA, 1, 1, 100, false})
		for i := 0; i < c.n; i++ {
			pkts = append(pkts, zp{float64(200 * (i + 1)), Client, PA, 1, 1, 100, false})
		}
		if hist, _, _ := zeekRun(t, pkts); hist != c.hist {
			t.Errorf("%d retransmissions: %q, want %q", c.n, hist, c.hist)
		}
	}
	pkts := hs(zp{1, Client, PA, 1, 1, 100, false})
	for i := 0; i < 10; i++ {
		pkts = append(pkts, zp{float64(2 + i), Server, A, 1, 101, 0, true})
	}
	if hist, _, _ := zeekRun(t, pkts); hist != "ShADaww" {
		t.Errorf("10 zero windows: %q, want %q", hist, "ShADaww")
	}
}

// A frame recorded twice is not fed to the state machine, but Zeek sees it
// as a retransmission.
func TestZeekDuplicateFrameIsRetransmission(t *testing.T) {
	hist, _, f := zeekRun(t, hs(
		zp{1, Client, PA, 1, 1, 100, false},
		zp{1.0001, Client, PA, 1, 1, 100, false},
	))
	if f.Duplicates != 1 {
		t.Fatalf("duplicates %d, want 1", f.Duplicates)
	}
	if hist != "ShADT" {
		t.Errorf("history %q, want %q", hist, "ShADT")
	}
}

// The history is bounded: resets with ever new sequence numbers each add
// a letter in Zeek; here they stop at zeekMaxHistory.
func TestZeekHistoryIsBounded(t *testing.T) {
	pkts := hs()
	for i := 0; i < 3*zeekMaxHistory; i++ {
		pkts = append(pkts, zp{float64(1 + i), Server, R, uint32(1 + i), 0, 0, false})
	}
	hist, state, _ := zeekRun(t, pkts)
	if len(hist) != zeekMaxHistory || !strings.HasPrefix(hist, "ShArrr") {
		t.Errorf("history %q (%d letters)", hist, len(hist))
	}
	if state != "RSTR" {
		t.Errorf("state %s, want RSTR", state)
	}
}

func TestZeekEmptyFlow(t *testing.T) {
	var f Flow
	if f.ZeekHistory() != "" || f.ZeekConnState() != "OTH" {
		t.Errorf("empty flow: %q %s", f.ZeekHistory(), f.ZeekConnState())
	}
}
