package analyze

import (
	"fmt"
	"github.com/gopacket/gopacket"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// flowDigests keys a run's flows by connection (client, server, ISN).
func flowDigests(flows []*Flow) map[string]*Flow {
	out := make(map[string]*Flow)
	for _, f := range flows {
		out[fmt.Sprintf("%s>%s@%d", f.Client, f.Server, f.EP[flowstate.Client].ISS)] = f
	}
	return out
}

// TestLabMergedVantages merges each lab scenario's server and client
// captures (recorded at once, on one clock) and checks that the merge is
// one capture, not two:
//   - one flow per connection, as many as the server's capture alone has
//     (the client's, where the server's holds one direction only), with
//     its labels and Zeek state; the Zeek history is one capture's (the
//     server's or the client's: reordering on the path shows in one);
//   - every record of both files appears once, as a packet or in its
//     seen list, each packet seen at most once per file;
//   - every frame the router dropped (path_log) is a packet seen only at
//     its sender's capture with a "lost on the path" note, and no other
//     packet carries that note;
//   - a SYN-ACK retransmitted after the handshake ACK, or a SYN sent
//     again, says the ACK or SYN reached the server's capture point,
//     without the single capture's "or lost on the way";
//   - the captures are named server and client, and the first's clock
//     offset against the other is 0 within its bounds (one clock);
//   - the flows seen at both points take the server capture's vantage
//     (server or same-host, also where a shaper on the server delays its
//     SYN-ACKs), and so do their listeners, whose episodes do not offer
//     ACKs lost before the server and, resting on ACKs or data the
//     server's capture saw, are proven.
func TestLabMergedVantages(t *testing.T) {
	paths, _ := filepath.Glob("../testdata/lab/*/truth.json")
	if len(paths) == 0 {
		t.Fatal("no lab scenarios")
	}
	for _, path := range paths {
		dir := filepath.Dir(path)
		tr := labScenario(t, path)
		srv, cli := filepath.Join(dir, "server.pcap"), filepath.Join(dir, "client.pcap")
		t.Run(filepath.Base(dir), func(t *testing.T) {
			ref := srv
			if tr.ServerCaptureDirection != "" {
				ref = cli
			}
			alone, _ := runFiles(t, true, ref)
			other, _ := runFiles(t, true, cli)
			merged, sum := runFiles(t, true, srv, cli)
			want, got, otherBy := flowDigests(alone), flowDigests(merged), flowDigests(other)
			if len(merged) != len(alone) {
				t.Errorf("%d flows merged, %d in %s alone", len(merged), len(alone), filepath.Base(ref))
			}
			var keys []string
			for k := range want {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			bad := 0
			for _, k := range keys {
				w, g := want[k], got[k]
				if g == nil {
					t.Errorf("%s: missing from the merge", k)
					continue
				}
				hist := g.ZeekHistory() == w.ZeekHistory() || otherBy[k] != nil && g.ZeekHistory() == otherBy[k].ZeekHistory()
				if (g.Labels != w.Labels || g.ZeekConnState() != w.ZeekConnState() || !hist) && bad < 5 {
					bad++
					t.Errorf("%s: merged [%s] %s %s, %s alone [%s] %s %s", k, g.Labels, g.ZeekConnState(), g.ZeekHistory(),
						filepath.Base(ref), w.Labels, w.ZeekConnState(), w.ZeekHistory())
				}
			}
			records, both, npackets := 0, 0, 0
			type key struct {
				dir           string
				port          uint16
				seq, ack, len uint32
				flags         string
			}
			lost := map[key][]int32{} // packets seen at one file only, noted lost on the path
			for _, f := range merged {
				if len(f.Seen) != len(f.Packets) {
					t.Fatalf("flow %s: %d packets, seen for %d", f.Client, len(f.Packets), len(f.Seen))
				}
				npackets += len(f.Packets)
				for i, seen := range f.Seen {
					records += len(seen)
					files := map[int32]bool{}
					for _, x := range seen {
						if files[x.File] {
							t.Errorf("flow %s packet %d: seen twice in file %d: %v", f.Client, i, x.File, seen)
						}
						files[x.File] = true
					}
					if len(seen) == 2 {
						both++
					}
					if l := f.Packets[i].Labels; (l.Has(flowstate.LabelSynAckAfterAck) || l.Has(flowstate.LabelSynDropped)) && i < len(f.Notes) &&
						(strings.Contains(f.Notes[i], "lost on the way") || !strings.Contains(f.Notes[i], "reached the server's capture point")) {
						t.Errorf("flow %s packet %d: with both captures, a hedged note: %s", f.Client, i, f.Notes[i])
					}
					if i < len(f.Notes) && strings.Contains(f.Notes[i], "lost on the path") {
						p := &f.Packets[i]
						d := "c2s"
						if p.From == flowstate.Server {
							d = "s2c"
						}
						k := key{d, f.Client.Port(), p.Seq, p.Ack, p.Len, p.Flags.String()}
						lost[k] = append(lost[k], seen[0].File)
					}
				}
			}
			if n := sum.Captures[0].TCPPackets + sum.Captures[1].TCPPackets; int64(records) != n {
				t.Errorf("%d records in the merged packets' seen lists, %d TCP segments in the two files", records, n)
			}
			if again := int64(records - npackets); sum.SeenAgain != again {
				t.Errorf("totals: %d seen again, the seen lists say %d", sum.SeenAgain, again)
			}
			for _, e := range tr.PathLog {
				if e.Action != "drop" {
					continue
				}
				port := e.Src
				if e.Dir == "s2c" {
					port = e.Dst
				}
				_, ps, _ := strings.Cut(port, ":")
				var p uint16
				fmt.Sscan(ps, &p)
				k := key{e.Dir, p, e.RelSeq, e.RelAck, e.Len, e.Flags}
				files := lost[k]
				want := int32(1) // the client's capture for c2s
				if e.Dir == "s2c" {
					want = 0
				}
				if len(files) == 0 || files[0] != want {
					t.Errorf("router dropped %+v: merged shows it lost on the path at files %v, want seen at file %d only", e, files, want)
				}
				if len(files) > 0 {
					lost[k] = files[1:]
				}
				if len(lost[k]) == 0 {
					delete(lost, k)
				}
			}
			for k := range lost {
				t.Errorf("noted lost on the path, but the router dropped no such frame: %+v", k)
			}
			vantages := map[Vantage]int{}
			for _, f := range merged {
				if f.VantageBasis == BasisMerged || f.VantageBasis == BasisMergedEnd {
					vantages[f.Vantage]++
				}
			}
			c0, c1 := sum.Captures[0], sum.Captures[1]
			if tr.ServerCaptureDirection != "" {
				// The server's capture holds one direction: no packet of
				// the server's is seen at both, nothing bounds the offset;
				// the client's capture is named by its SLL2 marks alone.
				if c1.ClockOffset != nil || c1.Vantage != "client" || c0.Vantage != "" {
					t.Errorf("one direction shared: clock offset %v, vantages %q, %q; want none, and client by its marks", c1.ClockOffset, c0.Vantage, c1.Vantage)
				}
				return
			}
			// Unnamed only when every packet was at both points at once
			// (no delay either way to order them by).
			tie := c1.OneWayDelay != nil && c1.OneWayDelay.C2S == 0 && c1.OneWayDelay.S2C == 0 && c0.Vantage == "" && c1.Vantage == ""
			if !tie && (c0.Vantage != "server" || c1.Vantage != "client") {
				t.Errorf("capture vantages %q, %q; want server, client", c0.Vantage, c1.Vantage)
			}
			// One clock: the true offset, 0, lies within the bounds, and
			// the bounds are the least one-way delays, a few ms here.
			if c0.ClockOffset == nil || *c0.ClockOffset != 0 || c1.ClockOffset == nil || c1.ClockOffsetUncertainty == nil || c1.OneWayDelay == nil {
				t.Fatalf("clock offsets %v, %v", c0.ClockOffset, c1.ClockOffset)
			}
			off, unc := *c1.ClockOffset, *c1.ClockOffsetUncertainty
			if off < -unc-1e-9 || off > unc+1e-9 || off < -2e-3 || off > 2e-3 || unc > 50e-3 {
				t.Errorf("clock offset %.6f s ± %.6f s, want 0 within the bounds and within 2 ms", off, unc)
			}
			t.Logf("%d flows, %d packets seen at both points; merged vantages %v; offset %.6f ± %.6f s, delays %+v", len(merged), both, vantages, off, unc, *c1.OneWayDelay)
			if both == 0 {
				t.Error("no packet seen at both points")
			}
			// The flows seen at both points take the server capture's
			// vantage, as captures[].vantage names it: server or
			// same-host, never between, even where a token bucket on the
			// server's interface holds its SYN-ACKs before its capture
			// sees them (then by which point saw each end first).
			for v := range vantages {
				if v != VantageServer && v != VantageSameHost {
					t.Errorf("merged vantage %s beside captures named server and client, want server or same-host: %v", v, vantages)
				}
			}
			// The listeners and their episodes say the same: the server's
			// capture saw the ignored ACKs and data arrive, so no episode
			// offers their loss before the server, and one that rests on
			// them (not on cookies) is proven.
			mergedAt := map[string]bool{} // listeners with a flow seen at both points
			for _, f := range merged {
				if f.VantageBasis == BasisMerged || f.VantageBasis == BasisMergedEnd {
					mergedAt[f.Server.String()] = true
				}
			}
			for _, l := range sum.Listeners {
				if mergedAt[l.Server.String()] && !atServer(l.Vantage) {
					t.Errorf("listener %s: vantage %s beside captures named server and client", l.Server, l.Vantage)
				}
				// The evidence names the bases some flows rest on, not
				// a list of zeros ("0 by packet direction").
				if zeroBasis.MatchString(l.VantageEvidence) {
					t.Errorf("listener %s: vantage evidence counts a basis no flow rests on: %q", l.Server, l.VantageEvidence)
				}
				for _, e := range l.Episodes {
					for _, a := range e.Alternatives {
						if strings.Contains(a, "a capture away from the server") || strings.Contains(a, "capture away from it") {
							t.Errorf("listener %s episode %s: alternative %q beside the server's capture", l.Server, e.Queue, a)
						}
					}
					if e.Queue == QueueAccept && e.Causes[CauseCookie] == 0 && e.Confidence != ConfidenceProven {
						t.Errorf("listener %s accept-queue episode %v: %s, want proven at the server's capture", l.Server, e.Causes, e.Confidence)
					}
				}
			}
		})
	}
}

// skewed writes a copy of the pcap at path with every timestamp moved by
// d: the same packets, captured on a clock d ahead (derived at test
// time from a real capture).
func skewed(t *testing.T, path string, d time.Duration) string {
	return rewritePcap(t, path, "skewed.pcap", func(_ int, ci *gopacket.CaptureInfo) bool {
		ci.Timestamp = ci.Timestamp.Add(d)
		return true
	})
}

// rewritePcap writes a copy of the pcap at path into the test's
// temporary directory as name, keeping each frame (1-based number n)
// for which keep returns true, with the capture info keep leaves.
func rewritePcap(t *testing.T, path, name string, keep func(n int, ci *gopacket.CaptureInfo) bool) string {
	t.Helper()
	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r, err := pcapgo.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	name = filepath.Join(t.TempDir(), name)
	out, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	w := pcapgo.NewWriterNanos(out)
	if err := w.WriteFileHeader(r.Snaplen(), r.LinkType()); err != nil {
		t.Fatal(err)
	}
	for n := 1; ; n++ {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		if !keep(n, &ci) {
			continue
		}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	return name
}

// A client capture whose clock runs 2.2 s ahead (beyond the 2 s in
// which the merge matches records, within the 2.6 s the captures span,
// so they still overlap) merges as well as on one
// clock: the offset is estimated from the handshakes both files hold,
// the client's times are put on the server's clock, and the merge gives
// the same flows, labels and sightings as the unskewed pair, with the
// offset reported.
func TestMergedClockOffset(t *testing.T) {
	dir := "../testdata/lab/random-loss"
	srv := filepath.Join(dir, "server.pcap")
	want, _ := runFiles(t, true, srv, filepath.Join(dir, "client.pcap"))
	got, sum := runFiles(t, true, srv, skewed(t, filepath.Join(dir, "client.pcap"), 2200*time.Millisecond))
	if len(got) != len(want) {
		t.Fatalf("%d flows with the skewed clock, %d without", len(got), len(want))
	}
	wf, gf := flowDigests(want), flowDigests(got)
	for k, w := range wf {
		g := gf[k]
		if g == nil || g.Labels != w.Labels || g.ZeekHistory() != w.ZeekHistory() || len(g.Seen) != len(w.Seen) {
			t.Errorf("%s: skewed %v, unskewed %v", k, g, w)
			continue
		}
		for i := range w.Seen {
			if len(g.Seen[i]) != len(w.Seen[i]) {
				t.Errorf("%s packet %d: seen %v, unskewed %v", k, i, g.Seen[i], w.Seen[i])
				continue
			}
			for j := range w.Seen[i] {
				// On the server's clock: within the estimate's few µs.
				if dt := g.Seen[i][j].Time - w.Seen[i][j].Time; dt < -1e6 || dt > 1e6 {
					t.Errorf("%s packet %d: seen %v, unskewed %v", k, i, g.Seen[i], w.Seen[i])
				}
			}
		}
	}
	c := sum.Captures[1]
	if c.ClockOffset == nil || *c.ClockOffset < 2.2-0.01 || *c.ClockOffset > 2.2+0.01 {
		t.Errorf("clock offset %v, want 2.2 s", c.ClockOffset)
	} else {
		t.Logf("clock offset %.6f s ± %.6f s", *c.ClockOffset, *c.ClockOffsetUncertainty)
	}
}

// dropFrames writes a copy of the pcap at path without the frames whose
// 1-based numbers drop reports: the capture's own loss (derived at test
// time from a real capture).
func dropFrames(t *testing.T, path string, drop func(n int) bool) string {
	return rewritePcap(t, path, "lossy.pcap", func(n int, _ *gopacket.CaptureInfo) bool { return !drop(n) })
}

// One side's capture loss: the client's capture of the lab's healthy run
// without every seventh frame merges with the server's into the server's
// flows and labels; each packet the client's capture lost is seen at the
// server's point only, noted as that capture missing it (the client
// acknowledged what the server sent before any retransmission), never as
// lost on the path but for bare ACKs, where the note names both.
func TestMergedCaptureLoss(t *testing.T) {
	dir := "../testdata/lab/healthy"
	srv := filepath.Join(dir, "server.pcap")
	alone, _ := runFiles(t, true, srv)
	lossy := dropFrames(t, filepath.Join(dir, "client.pcap"), func(n int) bool { return n%7 == 0 })
	merged, _ := runFiles(t, true, srv, lossy)
	want, got := flowDigests(alone), flowDigests(merged)
	if len(got) != len(want) {
		t.Fatalf("%d flows, %d in the server's capture", len(got), len(want))
	}
	missed := 0
	for k, w := range want {
		g := got[k]
		if g == nil || g.Labels != w.Labels || g.ZeekHistory() != w.ZeekHistory() {
			t.Errorf("%s: merged %v, server's %v", k, g, w)
			continue
		}
		for i, n := range g.Notes {
			// A bare ACK the capture lost cannot be told from one lost on
			// the path: the note says both; anything acknowledged can.
			if strings.Contains(n, "lost on the path") && !strings.Contains(n, "or missed by that capture") {
				t.Errorf("%s packet %d: %s", k, i, n)
			}
			if strings.Contains(n, "that capture missed it") || strings.Contains(n, "or missed by that capture") {
				missed++
				if len(g.Seen[i]) != 1 || g.Seen[i][0].File != 0 {
					t.Errorf("%s packet %d: noted missed, seen %v", k, i, g.Seen[i])
				}
			}
		}
	}
	if missed == 0 {
		t.Error("no packet noted as missed by the client's capture")
	}
	t.Logf("%d packets noted as missed by the client's capture", missed)
}

// A capture cut short (the client's capture of the lab's lost-synack run
// ending after its 28th frame) merged with the server's: a packet seen
// only at the server's point after the client's capture recorded the
// last of its flow may have come after that capture stopped, so its note
// says "or had ended"; one seen before that capture's last record of the
// flow does not.
func TestMergedCaptureCutShort(t *testing.T) {
	dir := "../testdata/lab/lost-synack"
	cut := dropFrames(t, filepath.Join(dir, "client.pcap"), func(n int) bool { return n > 28 })
	merged, _ := runFiles(t, true, filepath.Join(dir, "server.pcap"), cut)
	ended := 0
	for _, f := range merged {
		last := -1 // the client capture's last record of the flow
		for i, seen := range f.Seen {
			for _, x := range seen {
				if x.File == 1 {
					last = i
				}
			}
		}
		for i, n := range f.Notes {
			if !strings.Contains(n, "that capture missed it") {
				continue
			}
			if i > last {
				ended++
				if !strings.Contains(n, "or had ended") {
					t.Errorf("flow %d packet %d, after the cut capture's last record (%d): %s", f.ID, i, last, n)
				}
			} else if strings.Contains(n, "or had ended") {
				t.Errorf("flow %d packet %d, before the cut capture's last record (%d): %s", f.ID, i, last, n)
			}
		}
	}
	if ended == 0 {
		t.Error("no packet after the cut noted")
	}
	t.Logf("%d packets after the cut noted", ended)
}

// A single capture whose listener is judged at the server's host (server
// or same-host) never offers "a capture away from the server" for the
// ACKs and data its overflow rests on: evidence from flows whose own
// timing says otherwise (a shaper on the server's interface) is worded
// for what remains, a drop after the capture's tap or on the way on
// (altAckAfterTap), and at the listener's own vantage it is proven.
func TestAtServerAlternatives(t *testing.T) {
	paths, _ := filepath.Glob("../testdata/lab/*/server.pcap")
	paths = append(paths, "../testdata/long/server.pcap")
	reworded := 0
	for _, p := range paths {
		_, sum := runFiles(t, false, p)
		for _, l := range sum.Listeners {
			if !atServer(l.Vantage) {
				continue
			}
			for _, e := range l.Episodes {
				for _, a := range e.Alternatives {
					if strings.Contains(a, "a capture away from the server") {
						t.Errorf("%s listener %s (vantage %s): alternative %q", p, l.Server, l.Vantage, a)
					}
					if strings.Contains(a, "after the capture's tap") {
						reworded++
					}
				}
			}
		}
	}
	if reworded == 0 {
		t.Error("no episode worded for a drop after the capture's tap: the long capture's shaped flows should give one")
	}
}

// zeroBasis finds a basis counted zero in a vantage's evidence.
var zeroBasis = regexp.MustCompile(`\b0 (by|seen) `)
