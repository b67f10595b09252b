package analyze

import (
	"context"
	"slices"
	"testing"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// The stall and loss findings on the real captures of testdata/stalls/
// (recorded on Linux 6.18 by testdata/stalls/make.sh; its README says what
// each scenario did). Every scenario is checked from both capture points.

const stalls = "../testdata/stalls/"

func recordedFlows(t *testing.T, path string) []*Flow {
	t.Helper()
	r, err := Open(path, 0)
	if err != nil {
		t.Skipf("fixture not there: %v", err)
	}
	defer r.Close()
	var flows []*Flow
	if _, err := Run(context.Background(), []*CaptureReader{r}, Options{Record: true}, func(f *Flow) error {
		flows = append(flows, f)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return flows
}

// oneFlow returns the capture's only flow.
func oneFlow(t *testing.T, path string) *Flow {
	t.Helper()
	flows := recordedFlows(t, path)
	if len(flows) != 1 {
		t.Fatalf("%s: %d flows, want 1", path, len(flows))
	}
	return flows[0]
}

func stallsOf(f *Flow, l flowstate.Label) []flowstate.Stall {
	var out []flowstate.Stall
	for _, s := range f.Stalls {
		if s.Label == l {
			out = append(out, s)
		}
	}
	return out
}

func labelsAre(t *testing.T, f *Flow, want ...flowstate.Label) {
	t.Helper()
	var w flowstate.Labels
	for _, l := range want {
		w = w.Add(l)
	}
	if f.Labels != w {
		t.Errorf("labels [%v], want [%v]", f.Labels, w)
	}
}

// The server stops reading for 2.5 s with a 4 KB receive buffer: its
// window closes, the client probes (Linux's probes are keep-alive-like
// ACKs), and the window opens when it reads again. Before the window
// closed, the client sent a tail loss probe (7 ms after its last segment)
// that the server's ACK proves needless: its timestamp echo is the
// original's. That is not a loss.
func TestStallZeroWindow(t *testing.T) {
	for _, side := range []string{"server", "client"} {
		t.Run(side, func(t *testing.T) {
			f := oneFlow(t, stalls+"zero-window/"+side+".pcap")
			labelsAre(t, f, flowstate.LabelZeroWindowStall)
			zw := stallsOf(f, flowstate.LabelZeroWindowStall)
			if len(zw) != 1 {
				t.Fatalf("%d zero-window stalls, want 1", len(zw))
			}
			s := zw[0]
			first := f.Packets[s.Packet]
			if s.Side != flowstate.Server || first.From != flowstate.Server || first.Win != 0 ||
				!first.Analysis.Has(flowstate.AnalysisZeroWindow) || !first.Labels.Has(flowstate.LabelZeroWindowStall) {
				t.Errorf("the stall starts at packet %d (%v, window %d, %v): want the server's first zero window", s.Packet, first.From, first.Win, first.Analysis)
			}
			// It ends at the server's window update, the first non-zero
			// window after it.
			var update *flowstate.Packet
			for i := s.Packet + 1; i < len(f.Packets); i++ {
				if p := &f.Packets[i]; p.From == flowstate.Server && p.Win != 0 {
					update = p
					break
				}
			}
			if update == nil || s.End != update.Time || s.Open {
				t.Errorf("the stall ends at %d (open %v), want the window update", s.End, s.Open)
			}
			if d := s.Duration(); d < 2e9 || d > 2.6e9 {
				t.Errorf("stall of %.3f s, want the 2.5 s the server did not read (less its first 40 ms)", float64(d)/1e9)
			}
			if s.Count < 3 {
				t.Errorf("%d probes counted, want the client's 3 or more", s.Count)
			}
			if u := f.Stats[flowstate.Client].Undone; u != 1 || f.Stats[flowstate.Client].Retransmissions != 1 {
				t.Errorf("client: %d retransmissions, %d undone; want the tail loss probe, undone", f.Stats[flowstate.Client].Retransmissions, u)
			}
			if f.StallTime() != s.Duration() {
				t.Errorf("stall time %d, want the zero window's %d", f.StallTime(), s.Duration())
			}
		})
	}
}

// The client keeps the connection idle with keep-alives (1 s idle, 1 s
// apart, 2 probes): three are answered; then the server host drops
// everything, two go unanswered, and the client gives up with a RST.
func TestStallKeepalive(t *testing.T) {
	for _, side := range []string{"server", "client"} {
		t.Run(side, func(t *testing.T) {
			f := oneFlow(t, stalls+"keepalive/"+side+".pcap")
			labelsAre(t, f, flowstate.LabelKeepaliveOnly)
			ka := stallsOf(f, flowstate.LabelKeepaliveOnly)
			if len(ka) != 1 {
				t.Fatalf("%d keep-alive periods, want 1", len(ka))
			}
			s := ka[0]
			if s.Side != flowstate.Client || s.Count != 5 || s.Answered != 3 || len(s.Times) != 5 {
				t.Errorf("keep-alives by %v: %d sent, %d answered, %d times; want the client's 5, 3 answered", s.Side, s.Count, s.Answered, len(s.Times))
			}
			for i, at := range s.Times {
				p := packetAt(f, at)
				if p == nil || !p.Analysis.Has(flowstate.AnalysisKeepAlive) || p.From != flowstate.Client {
					t.Errorf("keep-alive %d at %d: not a client keep-alive in Wireshark's terms", i, at)
				}
			}
			last := &f.Packets[len(f.Packets)-1]
			if s.End != last.Time || last.Flags&flowstate.RST == 0 {
				t.Errorf("the period ends at %d, want the client's RST at %d", s.End, last.Time)
			}
			if f.StallTime() != 0 {
				t.Errorf("stall time %d: an idle connection kept alive has not stalled", f.StallTime())
			}
		})
	}
}

func packetAt(f *Flow, t int64) *flowstate.Packet {
	for i := range f.Packets {
		if f.Packets[i].Time == t {
			return &f.Packets[i]
		}
	}
	return nil
}

// The server host drops the client's data after both capture points for
// 1.7 s: the client retransmits on its timer, backing off (about 0.2, 0.2,
// 0.4, 0.8, 1.7 s apart), and the fifth retransmission gets through.
func TestStallRTO(t *testing.T) {
	for _, side := range []string{"server", "client"} {
		t.Run(side, func(t *testing.T) {
			f := oneFlow(t, stalls+"rto/"+side+".pcap")
			labelsAre(t, f, flowstate.LabelRTORetransmission, flowstate.LabelLoss)
			rto := stallsOf(f, flowstate.LabelRTORetransmission)
			if len(rto) != 1 {
				t.Fatalf("%d RTO stalls, want 1", len(rto))
			}
			s := rto[0]
			if s.Side != flowstate.Client || s.Count != 5 || len(s.Times) != 5 || s.Seq != 1001 {
				t.Errorf("RTO stall: side %v, %d retransmissions of seq %d; want the client's 5 of seq 1001", s.Side, s.Count, s.Seq)
			}
			// The backoff series: each wait at least as long as the one
			// before (the timer doubles, after Linux's first linear ones).
			prev := int64(0)
			at := s.Start
			for i, r := range s.Times {
				gap := r - at
				if gap < flowstate.RTOMin || gap+5e6 < prev {
					t.Errorf("retransmission %d waited %.3f s after %.3f s: not a backoff", i, float64(gap)/1e9, float64(prev)/1e9)
				}
				prev, at = gap, r
			}
			// From the original (the last progress) to the ACK that
			// covered the retransmission.
			orig := f.Packets[s.Packet]
			if !orig.Labels.Has(flowstate.LabelRTORetransmission) || !orig.Analysis.Has(flowstate.AnalysisRetransmission) ||
				orig.Analysis.Has(flowstate.AnalysisFastRetransmission) {
				t.Errorf("labelled packet %d: %v, %v", s.Packet, orig.Labels, orig.Analysis)
			}
			if d := s.Duration(); d < 3.3e9 || d > 3.4e9 || s.Open || s.Needless {
				t.Errorf("stall %.3f s (open %v, needless %v), want 3.35 s", float64(d)/1e9, s.Open, s.Needless)
			}
			loss := stallsOf(f, flowstate.LabelLoss)
			if len(loss) != 1 || loss[0].LostAfter != 5 || loss[0].LostBefore != 0 {
				t.Errorf("loss %+v: want 5 transmissions lost after the capture point (dropped at the server's input)", loss)
			}
		})
	}
}

// A 300 KB upload with every 19th data segment dropped at the server's
// input, after both capture points: the losses are all after the capture
// point, and both captures count the same ones. (The drops at the client's
// output never reach a wire: the kernel learns of them at once and sends
// again.) Two timer retransmissions come where the fast ones were lost
// too.
func TestStallLoss(t *testing.T) {
	var counts [][2]int
	for _, side := range []string{"server", "client"} {
		t.Run(side, func(t *testing.T) {
			f := oneFlow(t, stalls+"loss/"+side+".pcap")
			labelsAre(t, f, flowstate.LabelLoss, flowstate.LabelRTORetransmission)
			st := f.Stats[flowstate.Client]
			if st.LostBeforeCapture != 0 || st.LostAfterCapture < 10 || st.LostAfterCapture > 14 {
				t.Errorf("lost before %d, after %d: want about 11 after (1 in 19 of ~210 segments)", st.LostBeforeCapture, st.LostAfterCapture)
			}
			if f.Stats[flowstate.Server].DupAcks == 0 || f.Duplicates != 0 {
				t.Errorf("%d dup ACKs, %d duplicate frames", f.Stats[flowstate.Server].DupAcks, f.Duplicates)
			}
			counts = append(counts, [2]int{int(st.LostBeforeCapture), int(st.LostAfterCapture)})
		})
	}
	if len(counts) == 2 && counts[0] != counts[1] {
		t.Errorf("the two capture points count %v and %v lost segments", counts[0], counts[1])
	}
}

// The same capture with a few frames cut out (the capture's own loss):
// Wireshark says "previous segment not captured" and "ACKed unseen
// segment"; those are the capture's losses, not the network's: the loss
// counts stay those of the whole capture.
func TestStallCaptureLossIsNotLoss(t *testing.T) {
	whole := oneFlow(t, stalls+"loss/server.pcap")
	f := oneFlow(t, stalls+"loss/server-gaps.pcap")
	var lost, ackedUnseen int
	for _, p := range f.Packets {
		if p.Analysis.Has(flowstate.AnalysisLostSegment) {
			lost++
		}
		if p.Analysis.Has(flowstate.AnalysisAckLostSegment) {
			ackedUnseen++
		}
	}
	if lost == 0 || ackedUnseen == 0 || f.AckedUnseen == 0 || f.Stats[flowstate.Client].AckedUnseen == 0 {
		t.Fatalf("lost_segment %d, ack_lost_segment %d, AckedUnseen %d: the test needs the capture's gaps", lost, ackedUnseen, f.AckedUnseen)
	}
	if g, w := f.Stats[flowstate.Client].LostBeforeCapture, whole.Stats[flowstate.Client].LostBeforeCapture; g != w {
		t.Errorf("lost before the capture point: %d, the whole capture %d", g, w)
	}
}

// Distinct duplicate ACKs sent within a millisecond, alike in every TCP
// field the duplicate rule compares but their SACK blocks, have
// incrementing IPv4 IDs: they are not one frame captured twice.
func TestDistinctDupAcksAreNotDuplicates(t *testing.T) {
	r, err := Open(stalls+"loss/client.pcap", 0)
	if err != nil {
		t.Skip(err)
	}
	segs := readAll(t, r)
	r.Close()
	alike := 0
	for i := 1; i < len(segs); i++ {
		a, b := &segs[i-1], &segs[i]
		if a.Src == b.Src && a.SrcPort == b.SrcPort && a.Seq == b.Seq && a.Ack == b.Ack && a.Len == b.Len && a.Window == b.Window &&
			a.Flags == b.Flags && a.Opt.TSVal == b.Opt.TSVal && a.Opt.TSEcr == b.Opt.TSEcr && b.Time-a.Time < 1e6 {
			alike++
			if a.IPID == b.IPID {
				t.Errorf("frames %d and %d share IPv4 ID %d", a.Frame, b.Frame, a.IPID)
			}
		}
	}
	if alike < 10 {
		t.Fatalf("%d alike pairs of dup ACKs; the test needs them", alike)
	}
	f := oneFlow(t, stalls+"loss/client.pcap")
	if f.Duplicates != 0 {
		t.Errorf("%d frames taken as duplicates, want none", f.Duplicates)
	}
	n := 0
	for _, p := range f.Packets {
		if p.Analysis.Has(flowstate.AnalysisDuplicateAck) {
			n++
		}
	}
	if n != int(f.Stats[flowstate.Server].DupAcks) || n < alike {
		t.Errorf("%d Wireshark dup ACKs, %d counted, %d alike pairs", n, f.Stats[flowstate.Server].DupAcks, alike)
	}
}

// The same client port three times, the server closing first: the second
// and third SYNs are new connections on a reused 4-tuple, the third one 3 s
// after the second closed (long after its flow was finished here).
func TestReusedPorts(t *testing.T) {
	flows := recordedFlows(t, stalls+"reuse/server.pcap")
	if len(flows) != 3 {
		t.Fatalf("%d flows, want 3", len(flows))
	}
	var got []bool
	for _, f := range flows {
		got = append(got, f.Packets[0].Analysis.Has(flowstate.AnalysisReusedPorts))
		if f.Labels != 0 {
			t.Errorf("flow %d: labels %v", f.ID, f.Labels)
		}
	}
	if !slices.Equal(got, []bool{false, true, true}) {
		t.Errorf("reused_ports on the first SYNs: %v, want false, true, true", got)
	}
}

// No stall on the captures that have none: the healthy lab run, and the
// overflow runs, whose retransmissions while the server holds the
// connection as a request are the handshake labels' business.
func TestNoStallLookAlikes(t *testing.T) {
	stall := []flowstate.Label{flowstate.LabelZeroWindowStall, flowstate.LabelKeepaliveOnly, flowstate.LabelLoss}
	for _, path := range []string{"../testdata/lab/healthy/server.pcap", "../testdata/lab/healthy/client.pcap",
		"../testdata/lab/ghost/server.pcap", "../testdata/lab/never-accept/server.pcap",
		"../testdata/lab/synack-exhausted/server.pcap", "../testdata/seed002/seed002.pcap"} {
		for _, f := range recordedFlows(t, path) {
			for _, l := range stall {
				if f.Labels.Has(l) {
					t.Errorf("%s flow %d: %v", path, f.ID, l)
				}
			}
			if path == "../testdata/lab/healthy/server.pcap" && f.Labels.Has(flowstate.LabelRTORetransmission) {
				t.Errorf("%s flow %d: rto-retransmission", path, f.ID)
			}
		}
	}
}

// In the lab's burst-slow-accept run, the server's first response is
// retransmitted on its timer three times, backing off, while a token bucket
// holds the client's ACKs back: the ACK that ends the stall echoes the
// original's timestamp. The timer fired needlessly: no data was lost.
func TestStallNeedlessRTO(t *testing.T) {
	flows := recordedFlows(t, "../testdata/lab/burst-slow-accept/server.pcap")
	n := 0
	for _, f := range flows {
		for _, s := range stallsOf(f, flowstate.LabelRTORetransmission) {
			n++
			if !s.Needless || s.Side != flowstate.Server || s.Count < 2 || f.Labels.Has(flowstate.LabelLoss) {
				t.Errorf("flow %d: RTO stall needless %v, side %v, %d retransmissions, labels %v", f.ID, s.Needless, s.Side, s.Count, f.Labels)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d RTO stalls, want 1", n)
	}
}
