package analyze

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// Flows and tshark's streams: on the captures of testdata/streams/ (a FIN
// retransmitted after the close, an idle gap longer than the idle
// timeout, quick port reuse with a retransmitted SYN), each flow is one
// tshark tcp.stream, frame for frame: what tshark 4.0.17 said is in
// NAME.tshark.tsv (scripts/stream-fixtures.sh tshark), so the test needs
// no tshark.

const streamsDir = "../testdata/streams/"

// tsharkStreams reads NAME.tshark.tsv: the frames of each stream, in
// stream order.
func tsharkStreams(t *testing.T, path string) [][]int64 {
	t.Helper()
	var streams [][]int64
	for _, row := range readTSV(t, path, 2) {
		frame, err1 := strconv.ParseInt(row.f[0], 10, 64)
		stream, err2 := strconv.Atoi(row.f[1])
		if err1 != nil || err2 != nil || stream < 0 || stream > len(streams) {
			t.Fatalf("%s:%d: bad line %q", path, row.line, strings.Join(row.f, "\t"))
		}
		if stream == len(streams) {
			streams = append(streams, nil)
		}
		streams[stream] = append(streams[stream], frame)
	}
	return streams
}

// flowFrames analyses a capture and returns each flow's frames, flows in
// the order they were handed out, and the summary.
func flowFrames(t *testing.T, path string, opts Options, shards int) ([][]int64, *Summary) {
	t.Helper()
	r, err := Open(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	opts.Record = true
	var flows [][]int64
	sum, err := run(context.Background(), []*CaptureReader{r}, opts, func(f *Flow) error {
		var frames []int64
		for i := range f.Packets {
			frames = append(frames, f.Packets[i].Frame)
		}
		if len(frames) != f.NPackets {
			t.Errorf("%s: flow %d records %d packets of %d", path, f.ID, len(frames), f.NPackets)
		}
		flows = append(flows, frames)
		return nil
	}, shards)
	if err != nil {
		t.Fatal(err)
	}
	return flows, sum
}

func TestFlowsAreTsharkStreams(t *testing.T) {
	caps, _ := filepath.Glob(streamsDir + "*.pcap")
	if len(caps) < 3 {
		t.Fatalf("want the 3 captures of %s, found %v", streamsDir, caps)
	}
	// Every frame twice: packets counts both, as tshark does.
	caps = append(caps, "../testdata/formats/dup-frames.pcap")
	for _, p := range caps {
		want := tsharkStreams(t, streamsDir+strings.TrimSuffix(filepath.Base(p), ".pcap")+".tshark.tsv")
		for _, shards := range []int{1, 3} {
			got, sum := flowFrames(t, p, Options{}, shards)
			// In the order of tcp.stream too: flow N is stream N-1.
			if !slices.EqualFunc(got, want, slices.Equal[[]int64]) {
				t.Errorf("%s (%d tables): flows (their frames) %v, tshark's tcp.stream %v", filepath.Base(p), shards, got, want)
			}
			if len(sum.Warnings) > 0 || sum.HeldEarly > 0 {
				t.Errorf("%s: warnings %q", filepath.Base(p), sum.Warnings)
			}
		}
	}
}

// Live input hands flows out as they finish: a FIN retransmitted more
// than the linger after the close then starts a flow of its own (where
// the file's held flow takes it), the late-fin capture's point.
func TestLiveDoesNotHold(t *testing.T) {
	p := streamsDir + "late-fin.pcap"
	file, _ := flowFrames(t, p, Options{}, 1)
	live, _ := flowFrames(t, p, Options{Live: true}, 1)
	if len(file) != 1 || len(live) < 2 {
		t.Errorf("late-fin: %d flows from the file (want 1), %d live (want more: the late FINs split off)", len(file), len(live))
	}
}

// closedFlow is a whole connection from port, opened at ms: handshake,
// FIN both ways, last ACK; and its server's FIN again at late ms, the
// last ACK lost.
func closedFlow(port uint16, ms, late int64) (conn []flowstate.Segment, lateFIN flowstate.Segment) {
	c := syn(ms, 1000)
	c.SrcPort = port
	at := func(d int64, fromServer bool, flags flowstate.Flags, seq, ack flowstate.Seq) flowstate.Segment {
		s := flowstate.Segment{Time: c.Time + d*1e6, Src: c.Src, SrcPort: c.SrcPort, Dst: c.Dst, DstPort: c.DstPort,
			Flags: flags, Seq: seq, Ack: ack, Opt: flowstate.Options{WScale: -1}}
		if fromServer {
			s.Src, s.SrcPort, s.Dst, s.DstPort = c.Dst, c.DstPort, c.Src, c.SrcPort
		}
		return s
	}
	conn = []flowstate.Segment{c,
		at(1, true, flowstate.SYN|flowstate.ACK, 5000, 1001),
		at(2, false, flowstate.ACK, 1001, 5001),
		at(3, false, flowstate.FIN|flowstate.ACK, 1001, 5001),
		at(4, true, flowstate.FIN|flowstate.ACK, 5001, 1002),
		at(5, false, flowstate.ACK, 1002, 5002)}
	return conn, at(late-ms, true, flowstate.FIN|flowstate.ACK, 5001, 1002)
}

// The cap on held flows: past it, the oldest held flow is handed out
// early; a late packet for it then starts a new flow, which the run
// counts (and warns of). Under the cap the late FIN joins its flow.
func TestHeldFlowsCap(t *testing.T) {
	a, lateA := closedFlow(41001, 0, 20_000) // its server's FIN again 20 s later
	b, _ := closedFlow(41002, 1_000, 0)
	segs := append(append(a, b...), lateA)
	for _, max := range []int{2, 1} {
		var out []finished
		tbl := newTable(flowstate.Config{}, Timeouts{}, keyHasher(1), func(x finished) { out = append(out, x) })
		tbl.holdMax = max
		var last int64
		for i := range segs {
			segs[i].Order = int64(i)
			k := keyOf(&segs[i])
			last = segs[i].Time
			tbl.add(&segs[i], tbl.hasher.hash(&k), last)
		}
		tbl.flush(last)
		wantFlows, wantEarly := 2, int64(0)
		if max == 1 {
			wantFlows, wantEarly = 3, 1
		}
		if len(out) != wantFlows || tbl.early != wantEarly || tbl.cut != wantEarly {
			t.Errorf("hold at most %d: %d flows, %d handed out early, %d cut; want %d, %d, %d", max, len(out), tbl.early, tbl.cut, wantFlows, wantEarly, wantEarly)
		}
		if max == 2 && (out[0].F.NPackets != 7 || out[0].F.EndReason != "closed" || out[0].F.FinishTime != lateA.Time) {
			t.Errorf("held flow: %d packets, %q at %d: want the 7 with the late FIN, closed, at the end of the input", out[0].F.NPackets, out[0].F.EndReason, out[0].F.FinishTime-lateA.Time)
		}
	}
}

// A RST that comes after the close, later than the linger (the client's
// answer to a segment of the old connection), joins the held flow as it
// joins tshark's stream; on live input it starts a flow of its own.
func TestLateRSTJoinsTheHeldFlow(t *testing.T) {
	conn, _ := closedFlow(41001, 0, 0)
	rst := conn[5]
	rst.Time += 10e9
	rst.Flags = flowstate.RST
	segs := append(conn, rst)
	for _, live := range []bool{false, true} {
		var out []finished
		tbl := newTable(flowstate.Config{}, Timeouts{}, keyHasher(1), func(x finished) { out = append(out, x) })
		tbl.holdFlows = !live
		for i := range segs {
			segs[i].Order = int64(i)
			k := keyOf(&segs[i])
			tbl.add(&segs[i], tbl.hasher.hash(&k), segs[i].Time)
		}
		tbl.flush(rst.Time)
		want := 1
		if live {
			want = 2
		}
		if len(out) != want || out[0].F.NPackets != 8-want {
			t.Errorf("live %v: %d flows, the first of %d packets; want %d, of %d", live, len(out), out[0].F.NPackets, want, 8-want)
		}
	}
}

// A flow whose hold ends in the same sweep in which the cap is passed is
// handed out once: the cap does not take it a second time.
func TestHoldEndAndCapInOneSweep(t *testing.T) {
	a, _ := closedFlow(41001, 0, 0)       // held from 2 s, until 120 s
	b, _ := closedFlow(41002, 118_500, 0) // held from about 120.5 s
	c := syn(121_000, 7)                  // its time sweeps both
	c.SrcPort = 41003
	segs := append(append(a, b...), c)
	var out []finished
	tbl := newTable(flowstate.Config{}, Timeouts{}, keyHasher(1), func(x finished) { out = append(out, x) })
	tbl.holdMax = 1
	for i := range segs {
		segs[i].Order = int64(i)
		k := keyOf(&segs[i])
		tbl.add(&segs[i], tbl.hasher.hash(&k), segs[i].Time)
	}
	tbl.flush(c.Time)
	ports := map[uint16]int{}
	for _, x := range out {
		ports[x.F.EP[flowstate.Client].Port]++
	}
	if len(out) != 3 || ports[41001] != 1 || ports[41002] != 1 || tbl.held != 0 {
		t.Errorf("flows handed out per port %v (%d in all), %d still counted held; want each once", ports, len(out), tbl.held)
	}
}

// With a tiny cap, busy captures hand most flows out early: every
// segment still lands in exactly one flow, whatever the number of tables.
func TestTinyHoldCapKeepsEverySegment(t *testing.T) {
	defer func(n int) { holdAbove = n }(holdAbove)
	holdAbove = 2
	var early int64
	for _, p := range []string{"../testdata/lab/load/server.pcap", "../testdata/lab/synflood-cookies/server.pcap",
		"../testdata/lab/client-rst/server.pcap", "../testdata/stalls/reuse/server.pcap"} {
		for _, shards := range []int{1, 2} {
			flows, sum := flowFrames(t, p, Options{}, shards)
			seen := map[int64]bool{}
			for _, frames := range flows {
				for _, f := range frames {
					if seen[f] {
						t.Fatalf("%s (%d tables): frame %d in two flows", p, shards, f)
					}
					seen[f] = true
				}
			}
			if int64(len(seen)) != sum.Segments {
				t.Errorf("%s (%d tables): %d frames in flows, %d segments read", p, shards, len(seen), sum.Segments)
			}
			early += sum.HeldEarly
		}
	}
	if early == 0 {
		t.Error("the cap of 2 never handed a flow out early: the test tests nothing")
	}
}

// late-fin.pcap: the server's firewall drops the client's ACKs of its FIN
// (frames 10, 12, ..., 22) after the capture point, and the server sends
// its FIN again after each. The server is shown in LAST-ACK from frame 9
// until the ACK after the last copy (frame 24) closes it, and every ACK a
// copy follows carries the note that says it did not reach the server.
func TestLateFinServerStaysInLastAck(t *testing.T) {
	f := onlyFlow(t, streamsDir+"late-fin.pcap", 24)
	const note = "the server retransmits its FIN afterwards: this ACK did not reach it (lost after the capture point)"
	for i := range f.Packets {
		p := &f.Packets[i]
		wantServer := flowstate.StateLastAck
		switch {
		case p.Frame < 8:
			continue
		case p.Frame == 8:
			wantServer = flowstate.StateCloseWait
		case p.Frame == 24:
			wantServer = flowstate.StateClosed
		}
		if p.Frame >= 9 && p.State[flowstate.Client] != flowstate.StateTimeWait {
			t.Errorf("frame %d: client %v, want TIME-WAIT", p.Frame, p.State[flowstate.Client])
		}
		if p.State[flowstate.Server] != wantServer {
			t.Errorf("frame %d: server %v, want %v", p.Frame, p.State[flowstate.Server], wantServer)
		}
		lost := p.From == flowstate.Client && p.Frame >= 10 && p.Frame <= 22
		if p.NotReceived != lost || (f.Notes[i] == note) != lost {
			t.Errorf("frame %d: NotReceived %v, note %q; want lost %v", p.Frame, p.NotReceived, f.Notes[i], lost)
		}
	}
	if c, s := f.EP[flowstate.Client].State, f.EP[flowstate.Server].State; c != flowstate.StateTimeWait || s != flowstate.StateClosed {
		t.Errorf("end states %v/%v, want TIME-WAIT/CLOSED", c, s)
	}
	if f.EndReason != "closed" || f.Vantage != VantageSameHost {
		t.Errorf("end reason %q, vantage %v: the note's wording assumes a closed flow seen same-host", f.EndReason, f.Vantage)
	}
}

// onlyFlow analyses a capture of one flow of n packets, recorded.
func onlyFlow(t *testing.T, path string, n int) *Flow {
	t.Helper()
	r, err := Open(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var flows []*Flow
	if _, err := Run(context.Background(), []*CaptureReader{r}, Options{Record: true}, func(f *Flow) error {
		flows = append(flows, f)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(flows) != 1 || len(flows[0].Packets) != n {
		t.Fatalf("%s: %d flows, want 1 of %d packets", path, len(flows), n)
	}
	return flows[0]
}

// late-fin-client.pcap, the other direction: the client closes first and
// its namespace drops the server's ACKs of its FIN for 1.5 s (frames 9,
// 11, 13, 15) after the capture point; the client sends its FIN again
// after each, so it stays in FIN-WAIT-1 until frame 17 gets through
// (FIN-WAIT-2), and the server's FIN (18) puts it in TIME-WAIT.
func TestLateFinClientStaysInFinWait1(t *testing.T) {
	f := onlyFlow(t, streamsDir+"late-fin-client.pcap", 19)
	const note = "the client retransmits its FIN afterwards: this ACK did not reach it (lost after the capture point)"
	for i := range f.Packets {
		p := &f.Packets[i]
		want := [2]flowstate.State{flowstate.StateFinWait1, flowstate.StateCloseWait}
		switch {
		case p.Frame < 8:
			continue
		case p.Frame == 17:
			want[flowstate.Client] = flowstate.StateFinWait2
		case p.Frame == 18:
			want = [2]flowstate.State{flowstate.StateTimeWait, flowstate.StateLastAck}
		case p.Frame == 19:
			want = [2]flowstate.State{flowstate.StateTimeWait, flowstate.StateClosed}
		}
		if p.State != want {
			t.Errorf("frame %d: states %v, want %v", p.Frame, p.State, want)
		}
		lost := p.From == flowstate.Server && p.Frame >= 9 && p.Frame <= 15
		if p.NotReceived != lost || (f.Notes[i] == note) != lost {
			t.Errorf("frame %d: NotReceived %v, note %q; want lost %v", p.Frame, p.NotReceived, f.Notes[i], lost)
		}
	}
	if c, s := f.EP[flowstate.Client].State, f.EP[flowstate.Server].State; c != flowstate.StateTimeWait || s != flowstate.StateClosed {
		t.Errorf("end states %v/%v, want TIME-WAIT/CLOSED", c, s)
	}
}

// The note on an ACK proved lost says where, as far as the vantage
// tells: the FIN's sender is X, the ACK came from its peer.
func TestNotReceivedNoteByVantage(t *testing.T) {
	ack := &flowstate.Packet{From: flowstate.Client, Flags: flowstate.ACK} // the client's ACK of the server's FIN
	base := "the server retransmits its FIN afterwards: this ACK did not reach it"
	for _, tc := range []struct {
		v    Vantage
		want string
	}{
		{VantageServer, base + " (dropped on its host after the capture point: a firewall, or its TCP discarded it)"},
		{VantageClient, base + " (lost on the way)"},
		{VantageBetween, base + " (lost after the capture point)"},
		{VantageSameHost, base + " (lost after the capture point)"},
		{VantageUnknown, base},
	} {
		f := &Flow{Vantage: tc.v}
		if got := f.notReceivedNote(ack); got != tc.want {
			t.Errorf("vantage %s: %q, want %q", tc.v, got, tc.want)
		}
	}
	srvAck := &flowstate.Packet{From: flowstate.Server, Flags: flowstate.ACK}
	f := &Flow{Vantage: VantageClient}
	if got, want := f.notReceivedNote(srvAck), "the client retransmits its FIN afterwards: this ACK did not reach it (dropped on its host after the capture point: a firewall, or its TCP discarded it)"; got != want {
		t.Errorf("the server's ACK at the client: %q, want %q", got, want)
	}
}

// A SYN dropped at the server's capture point names the look-alike one
// capture cannot refuse: the port-reuse capture's first SYN was dropped
// by an nftables rule on the server host, after tcpdump's tap, and looks
// exactly like a listen queue's drop.
func TestSynDroppedNoteNamesAFilterOnTheServerHost(t *testing.T) {
	r, err := Open(streamsDir+"port-reuse.pcap", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var note string
	_, err = run(context.Background(), []*CaptureReader{r}, Options{Record: true}, func(f *Flow) error {
		for i := range f.Packets {
			if f.Packets[i].Labels.Has(flowstate.LabelSynDropped) && i < len(f.Notes) {
				note = f.Notes[i]
			}
		}
		return nil
	}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(note, "the server dropped it") || !strings.Contains(note, "a filter on the server host") {
		t.Errorf("syn-dropped note %q: want the queue and a filter on the server host", note)
	}
}
