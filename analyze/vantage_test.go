package analyze

import (
	"cmp"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// TestVantageFromDirection checks the vantage read from the capture's own
// direction marks on real captures (testdata/vantage/make.sh and the lab):
// a router's tcpdump -i any sees every packet In on one interface and Out
// on the other (between); the client's SLL v1 capture and the server's
// dumpcap pcapng, whose peers are one forwarding namespace away, are
// same-host by direction and timing; the lab's ghost client capture, 10 ms
// from the server through the router, is the client; an Ethernet capture
// carries no marks and keeps to handshake timing (the lab's random-loss
// server capture, 10 ms from the client).
func TestVantageFromDirection(t *testing.T) {
	for _, c := range []struct {
		path  string
		want  Vantage
		basis VantageBasis
	}{
		{"../testdata/vantage/router.pcap", VantageBetween, BasisDirection},
		{"../testdata/vantage/client-sll1.pcap", VantageSameHost, BasisBoth},
		{"../testdata/vantage/server.pcapng", VantageSameHost, BasisBoth},
		{"../testdata/lab/ghost/client.pcap", VantageClient, BasisDirection},
		{"../testdata/lab/random-loss/server.pcap", VantageServer, BasisTiming},
	} {
		t.Run(c.path, func(t *testing.T) {
			flows, sum := runFiles(t, false, c.path)
			if len(sum.Listeners) != 1 || sum.Listeners[0].Vantage != c.want {
				t.Fatalf("listeners %v, want one with vantage %s", sum.Listeners, c.want)
			}
			n := 0
			for _, f := range flows {
				if f.VantageBasis == c.basis {
					n++
					if f.Vantage != c.want {
						t.Errorf("flow %s: vantage %s by %s, want %s", f.Client, f.Vantage, f.VantageBasis, c.want)
					}
				}
			}
			if n == 0 {
				t.Errorf("no flow's vantage rests on %s", c.basis)
			}
			t.Logf("%s: %s", sum.Listeners[0].Vantage, sum.Listeners[0].VantageEvidence)
		})
	}
}

// TestDirectionVantageRules checks directionVantage's cases on hand-built
// handshakes (no capture here records a server 10 ms from its client with
// direction marks: the lab's server capture is Ethernet), 10 ms of path
// each way, the marks as the capturing host would write them.
func TestDirectionVantageRules(t *testing.T) {
	const ms = int64(1e6)
	cli, srv := flowstate.AddrFrom4([4]byte{10, 0, 0, 2}), flowstate.AddrFrom4([4]byte{10, 0, 0, 1})
	handshake := func(times [3]int64, dirs [3]flowstate.Dir) *flowstate.Flow {
		segs := []flowstate.Segment{
			{Src: cli, Dst: srv, SrcPort: 40000, DstPort: 80, Seq: 100, Flags: flowstate.SYN},
			{Src: srv, Dst: cli, SrcPort: 80, DstPort: 40000, Seq: 500, Ack: 101, Flags: flowstate.SYN | flowstate.ACK},
			{Src: cli, Dst: srv, SrcPort: 40000, DstPort: 80, Seq: 101, Ack: 501, Flags: flowstate.ACK},
		}
		var f *flowstate.Flow
		for i := range segs {
			segs[i].Time, segs[i].Dir = 1e9+times[i], dirs[i]
			segs[i].Frame = int64(i + 1)
			segs[i].Opt.WScale = -1
			if f == nil {
				f = flowstate.NewFlow(&segs[i], flowstate.Config{})
			}
			f.Process(&segs[i])
		}
		return f
	}
	in, out, unk := flowstate.DirIncoming, flowstate.DirOutgoing, flowstate.DirUnknown
	atClient := [3]int64{0, 20 * ms, 20*ms + 50e3}
	atServer := [3]int64{0, 50e3, 20 * ms}
	for _, c := range []struct {
		name  string
		times [3]int64
		dirs  [3]flowstate.Dir
		want  Vantage
		basis VantageBasis
	}{
		{"client marks", atClient, [3]flowstate.Dir{out, in, out}, VantageClient, BasisDirection},
		{"server marks", atServer, [3]flowstate.Dir{in, out, in}, VantageServer, BasisDirection},
		// A shaper on the server holds its SYN-ACK 15 ms before the
		// capture: timing calls the capture between, the marks the server.
		{"server marks, shaped", [3]int64{0, 15 * ms, 35 * ms}, [3]flowstate.Dir{in, out, in}, VantageServer, BasisDirection},
		{"forwarding host, -Q in", atClient, [3]flowstate.Dir{in, in, in}, VantageBetween, BasisDirection},
		{"server marks, shaped, no marks", [3]int64{0, 15 * ms, 35 * ms}, [3]flowstate.Dir{unk, unk, unk}, VantageBetween, BasisTiming},
		{"no marks", atClient, [3]flowstate.Dir{unk, unk, unk}, VantageClient, BasisTiming},
		{"one side marked", atClient, [3]flowstate.Dir{out, unk, out}, VantageClient, BasisTiming},
	} {
		f := handshake(c.times, c.dirs)
		if v, b := flowVantage(f); v != c.want || b != c.basis {
			t.Errorf("%s: vantage %s by %s, want %s by %s", c.name, v, b, c.want, c.basis)
		}
	}
}

// TestThreeVantages merges the router's, the client's and the server's
// captures of testdata/vantage (recorded at once): each capture is named
// by its place (the router between), one flow per connection.
func TestThreeVantages(t *testing.T) {
	flows, sum := runFiles(t, true, "../testdata/vantage/router.pcap", "../testdata/vantage/client-sll1.pcap", "../testdata/vantage/server.pcapng")
	if len(flows) != 5 {
		t.Errorf("%d flows, want 5", len(flows))
	}
	want := []string{"between", "client", "server"}
	for i, c := range sum.Captures {
		if c.Vantage != want[i] {
			t.Errorf("capture %d: vantage %q, want %q", i, c.Vantage, want[i])
		}
		if c.ClockOffset == nil || *c.ClockOffset < -1e-3 || *c.ClockOffset > 1e-3 {
			t.Errorf("capture %d: clock offset %v, want near 0 (one clock)", i, c.ClockOffset)
		}
	}
	for _, f := range flows {
		for i, seen := range f.Seen {
			if !f.Packets[i].Duplicate && len(seen) != 3 {
				t.Errorf("flow %s packet %d: seen %v, want at all three points", f.Client, i, seen)
			}
		}
	}
}

// A host that is the client of one listener and the server of another
// is mixed, with its place per listener (hand-made sighting statistics:
// no capture here has such a host).
func TestCaptureVantageMixed(t *testing.T) {
	l1, l2 := netip.MustParseAddrPort("10.0.0.1:80"), netip.MustParseAddrPort("10.0.0.2:443")
	var v vantageStats
	v.all = map[pairKey]*copyStats{}
	v.byListener = map[netip.AddrPort]map[pairKey]*copyStats{
		// File 0 sees l1's client packets 5 ms before file 1, its server
		// packets 5 ms after: file 0 is at l1's client.
		l1: {{0, 1, flowstate.Client}: {min: 5e6, max: 6e6, n: 3}, {0, 1, flowstate.Server}: {min: -6e6, max: -5e6, n: 3}},
		// And the other way round for l2: file 0 is at l2's server.
		l2: {{0, 1, flowstate.Client}: {min: -6e6, max: -5e6, n: 3}, {0, 1, flowstate.Server}: {min: 5e6, max: 6e6, n: 3}},
	}
	v.order = []netip.AddrPort{l1, l2}
	for k, s := range v.byListener[l1] {
		c := *s
		v.all[k] = &c
	}
	caps := []*Capture{{Index: 0}, {Index: 1}}
	v.finish(caps)
	if caps[0].Vantage != "mixed" || caps[0].VantageByListener[l1.String()] != "client" || caps[0].VantageByListener[l2.String()] != "server" {
		t.Errorf("capture 0: %q %v, want mixed: client of %s, server of %s", caps[0].Vantage, caps[0].VantageByListener, l1, l2)
	}
	if caps[1].Vantage != "mixed" || caps[1].VantageByListener[l1.String()] != "server" {
		t.Errorf("capture 1: %q %v", caps[1].Vantage, caps[1].VantageByListener)
	}
	if o := *caps[1].ClockOffset; o != 0 || *caps[1].ClockOffsetUncertainty != 5e-3 {
		t.Errorf("offset %v ± %v, want 0 ± 0.005", o, *caps[1].ClockOffsetUncertainty)
	}
}

// establishedAt is the count of each side at t from a listener's points.
func establishedAt(e *Established, t int64) (client, server int32) {
	for _, p := range e.Points {
		if p.T > t {
			break
		}
		client, server = p.Client, p.Server
	}
	return client, server
}

// TestEstablishedSeed002: the seed's trace, where the server holds its
// accept queue's two connections ESTABLISHED while the clients believe
// five are.
func TestEstablishedSeed002(t *testing.T) {
	_, sum := runFiles(t, false, "../testdata/seed002/seed002.pcap")
	l := sum.Listeners[0]
	e := &l.Established
	if e.Peak[flowstate.Client] != 5 || e.Peak[flowstate.Server] != 2 || int(e.Peak[flowstate.Server]) != l.AcceptQueueCapacity {
		t.Errorf("peaks: clients %d, server %d (accept queue capacity %d); want 5 and 2", e.Peak[0], e.Peak[1], l.AcceptQueueCapacity)
	}
}

// TestEstablishedLab compares the server's side with what ss -tan showed
// in the server's namespace every 50 ms (truth ss_history): between two
// of its changes more than 200 ms apart, the count of connections to the
// listener ss shows ESTAB equals the capture's server side.
//
// The server side rests on hindsight milestones (its queueing of the
// connection, the first FIN or RST either way), so a few stretches of
// the look-alike scenarios disagree; at least 90% of all must agree, and
// every disagreement is logged.
func TestEstablishedLab(t *testing.T) {
	paths, _ := filepath.Glob("../testdata/lab/*/truth.json")
	total, agree := 0, 0
	defer func() {
		t.Logf("%d of %d stretches agree with ss", agree, total)
		if total == 0 || agree*10 < total*9 {
			t.Errorf("%d of %d stretches agree with ss, want 90%%", agree, total)
		}
	}()
	for _, path := range paths {
		tr := labScenario(t, path)
		if len(tr.SSHistory) == 0 || tr.ServerCaptureDirection != "" || len(tr.Flood) > 0 {
			continue
		}
		dir := filepath.Dir(path)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			_, sum := runFiles(t, false, filepath.Join(dir, "server.pcap"))
			var l *Listener
			for _, x := range sum.Listeners {
				if x.Server.String() == tr.Server {
					l = x
				}
			}
			if l == nil {
				t.Skip("no listener")
			}
			type change struct {
				t     int64
				port  string
				estab bool
			}
			var changes []change
			for port, h := range tr.SSHistory {
				for _, s := range h {
					changes = append(changes, change{s.T.UnixNano(), port, s.State == "ESTAB"})
				}
			}
			slices.SortFunc(changes, func(a, b change) int { return cmp.Compare(a.t, b.t) })
			state := map[string]bool{}
			compared, bad := 0, 0
			for i, c := range changes {
				state[c.port] = c.estab
				if i+1 == len(changes) || changes[i+1].t-c.t < 200e6 {
					continue
				}
				n := int32(0)
				for _, e := range state {
					if e {
						n++
					}
				}
				at := c.t + 100e6 // ss polls every 50 ms: well after this change
				_, got := establishedAt(&l.Established, at)
				compared++
				total++
				if got == n {
					agree++
				} else if bad < 5 {
					bad++
					t.Logf("at %s ss shows %d ESTAB, the capture's server side %d", time.Unix(0, at).UTC().Format("15:04:05.000"), n, got)
				}
			}
			t.Logf("%d stretches compared", compared)
		})
	}
}

// copyCapture copies the capture at src into the test's temporary
// directory: the same file under another name.
func copyCapture(t *testing.T, src string) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(t.TempDir(), "copy.pcap")
	if err := os.WriteFile(cp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return cp
}

// Two copies of one capture: every packet at both "points" at the same
// instant, so neither is nearer an end: no vantage is named, the offset
// is 0 +- 0 (the lab's healthy server capture, copied at test time).
func TestSameCaptureTwice(t *testing.T) {
	src := "../testdata/lab/healthy/server.pcap"
	cp := copyCapture(t, src)
	flows, sum := runFiles(t, true, src, cp)
	alone, _ := runFiles(t, true, src)
	if len(flows) != len(alone) {
		t.Errorf("%d flows, %d in one copy", len(flows), len(alone))
	}
	for i, c := range sum.Captures {
		if c.Vantage != "" {
			t.Errorf("capture %d: vantage %q, want none (the same point twice)", i, c.Vantage)
		}
	}
	if c := sum.Captures[1]; c.ClockOffset == nil || *c.ClockOffset != 0 || *c.ClockOffsetUncertainty != 0 {
		t.Errorf("offset %v", c.ClockOffset)
	}
}

// Two copies of the client's SLL2 capture: timing cannot order them, the
// direction marks name both the client.
func TestSameClientCaptureTwice(t *testing.T) {
	src := "../testdata/lab/healthy/client.pcap"
	cp := copyCapture(t, src)
	_, sum := runFiles(t, false, src, cp)
	for i, c := range sum.Captures {
		if c.Vantage != "client" {
			t.Errorf("capture %d: vantage %q, want client by its marks", i, c.Vantage)
		}
	}
}
