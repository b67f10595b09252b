package main

import (
	"encoding/binary"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

var (
	tCli = netip.MustParseAddrPort("10.77.0.2:41001")
	tSrv = netip.MustParseAddrPort("10.77.0.1:8000")
	t0   = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

// seg builds a frame's decoded view for the engine, as parseFrame would
// return it.
func seg(d pathDir, client netip.AddrPort, flags uint8, seq, ack uint32, payload int) frameInfo {
	f := frameInfo{tcp: true, flags: flags, seq: seq, ack: ack, payload: payload}
	if d == c2s {
		f.src, f.dst = client, tSrv
	} else {
		f.src, f.dst = tSrv, client
	}
	return f
}

// tcpFrame serialises an Ethernet/IP/TCP frame with gopacket, so that
// parseFrame is checked against an independent encoder.
func tcpFrame(t *testing.T, src, dst netip.AddrPort, flags uint8, seq, ack uint32, payload int, ipid uint16) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0x77, 0, 0, 0, 2}, DstMAC: net.HardwareAddr{2, 0x77, 0, 0, 0, 1}}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()), Seq: seq, Ack: ack, Window: 1000,
		SYN: flags&tcpSYN != 0, ACK: flags&tcpACK != 0, FIN: flags&tcpFIN != 0, RST: flags&tcpRST != 0, PSH: flags&tcpPSH != 0}
	var ip gopacket.SerializableLayer
	if src.Addr().Is4() {
		eth.EthernetType = layers.EthernetTypeIPv4
		ip4 := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, Id: ipid, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
		tcp.SetNetworkLayerForChecksum(ip4)
		ip = ip4
	} else {
		eth.EthernetType = layers.EthernetTypeIPv6
		ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, FlowLabel: uint32(ipid), SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
		tcp.SetNetworkLayerForChecksum(ip6)
		ip = ip6
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip, tcp, gopacket.Payload(make([]byte, payload))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestParseFrame(t *testing.T) {
	v6c, v6s := netip.MustParseAddrPort("[fd77::2]:41001"), netip.MustParseAddrPort("[fd77::1]:8000")
	cases := []struct {
		name     string
		src, dst netip.AddrPort
		flags    uint8
		payload  int
	}{
		{"v4 syn", tCli, tSrv, tcpSYN, 0},
		{"v4 data", tCli, tSrv, tcpPSH | tcpACK, 1448},
		{"v4 rst", tSrv, tCli, tcpRST | tcpACK, 0},
		{"v6 fin", v6c, v6s, tcpFIN | tcpACK, 0},
		{"v6 data", v6s, v6c, tcpACK, 100},
	}
	for _, c := range cases {
		b := tcpFrame(t, c.src, c.dst, c.flags, 123456, 654321, c.payload, 777)
		f := parseFrame(b)
		want := frameInfo{tcp: true, src: c.src, dst: c.dst, flags: c.flags, seq: 123456, ack: 654321, payload: c.payload, ipID: 777}
		if f != want {
			t.Errorf("%s: parseFrame = %+v, want %+v", c.name, f, want)
		}
	}
	// Not TCP: an ARP frame, a UDP datagram, a truncated frame.
	arp := make([]byte, 42)
	binary.BigEndian.PutUint16(arp[12:], 0x0806)
	udp := tcpFrame(t, tCli, tSrv, tcpSYN, 1, 0, 0, 1)
	udp[14+9] = 17
	for name, b := range map[string][]byte{"arp": arp, "udp": udp, "short": tcpFrame(t, tCli, tSrv, tcpSYN, 1, 0, 0, 1)[:40]} {
		if f := parseFrame(b); f.tcp {
			t.Errorf("%s: parsed as TCP: %+v", name, f)
		}
	}
}

func TestTCPFlags(t *testing.T) {
	for fl, want := range map[uint8]string{tcpSYN: "S", tcpSYN | tcpACK: "S.", tcpACK: ".", tcpPSH | tcpACK: "P.", tcpFIN | tcpACK: "F.", tcpRST: "R", tcpRST | tcpACK: "R.", 0: "none"} {
		if got := tcpFlags(fl); got != want {
			t.Errorf("tcpFlags(%#x) = %q, want %q", fl, got, want)
		}
	}
}

// TestPathRules runs one connection's frames through rules of every kind
// and checks which frames each rule takes.
func TestPathRules(t *testing.T) {
	other := netip.MustParseAddrPort("10.77.0.2:41002")
	p := &Path{Rules: []PathRule{
		{Name: "first synack", Dir: "s2c", ClientPort: 41001, Match: "synack", Nth: 1, Action: "drop"},
		{Name: "second syn", Dir: "c2s", ClientPort: 41001, Match: "syn", Nth: 2, Action: "hold", HoldMS: 5},
		{Name: "ack of data", Dir: "s2c", ClientPort: 41001, Match: "ack-of-data", Nth: 1, Action: "drop"},
		{Name: "second data", Dir: "c2s", Match: "data", Nth: 2, Action: "hold", HoldFrames: 1, HoldMS: 100},
		{Name: "late", Dir: "s2c", ClientPort: 41002, Match: "any", FromMS: 3000, Action: "drop"},
		{Name: "to 8001", Dir: "c2s", ServerPort: 8001, Match: "any", Action: "drop"},
		{Name: "fin", Dir: "c2s", ClientPort: 41002, Match: "fin", Action: "drop", UntilMS: 2000},
	}}
	e := newPathEngine(p, t0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	steps := []struct {
		d    pathDir
		f    frameInfo
		t    int
		want string // "pass" or the rule
	}{
		{c2s, seg(c2s, tCli, tcpSYN, 1000, 0, 0), 0, "pass"},
		{s2c, seg(s2c, tCli, tcpSYN|tcpACK, 5000, 1001, 0), 1, "first synack"},
		{c2s, seg(c2s, tCli, tcpSYN, 1000, 0, 0), 1000, "second syn"},
		{s2c, seg(s2c, tCli, tcpSYN|tcpACK, 5000, 1001, 0), 1001, "pass"},
		{c2s, seg(c2s, tCli, tcpACK, 1001, 5001, 0), 1002, "pass"},
		// A pure ACK acknowledging only the SYN is no ack-of-data.
		{s2c, seg(s2c, tCli, tcpACK, 5001, 1001, 0), 1003, "pass"},
		{c2s, seg(c2s, tCli, tcpACK|tcpPSH, 1001, 5001, 100), 1004, "pass"},
		{c2s, seg(c2s, tCli, tcpACK|tcpPSH, 1101, 5001, 100), 1005, "second data"},
		// Data from the server acknowledging the client's is not a pure ACK.
		{s2c, seg(s2c, tCli, tcpACK|tcpPSH, 5001, 1101, 10), 1006, "pass"},
		{s2c, seg(s2c, tCli, tcpACK, 5011, 1201, 0), 1007, "ack of data"},
		{s2c, seg(s2c, tCli, tcpACK, 5011, 1201, 0), 1008, "pass"},
		// Another connection: its second data segment is held (the rule
		// counts per connection), its FIN dropped before 2 s only, and
		// everything the server sends it after 3 s.
		{c2s, seg(c2s, other, tcpACK, 1, 1, 10), 1100, "pass"},
		{c2s, seg(c2s, other, tcpACK, 11, 1, 10), 1101, "second data"},
		{c2s, seg(c2s, other, tcpACK|tcpFIN, 21, 1, 0), 1500, "fin"},
		{c2s, seg(c2s, other, tcpACK|tcpFIN, 21, 1, 0), 2500, "pass"},
		{s2c, seg(s2c, other, tcpACK, 1, 22, 0), 2999, "pass"},
		{s2c, seg(s2c, other, tcpACK, 1, 22, 0), 3000, "late"},
		{c2s, frameInfo{tcp: true, src: tCli, dst: netip.MustParseAddrPort("10.77.0.1:8001"), flags: tcpSYN}, 3001, "to 8001"},
		{c2s, frameInfo{}, 3002, "pass"}, // not TCP
	}
	for i, s := range steps {
		v := e.decide(&s.f, s.d, at(s.t))
		got := v.action
		if got != "pass" {
			got = v.rule
		}
		if got != s.want {
			t.Errorf("step %d (%s %s at %d ms): %s, want %s", i, s.d, tcpFlags(s.f.flags), s.t, got, s.want)
		}
		if v.rule == "second data" && (v.action != "hold" || v.holdFrames != 1 || v.holdMS != 100) {
			t.Errorf("step %d: verdict %+v, want a hold behind 1 frame, at most 100 ms", i, v)
		}
	}
	// Relative numbers come from the ISNs the router saw.
	f := seg(s2c, tCli, tcpACK, 5011, 1201, 0)
	if seq, ack := e.relSeq(&f, s2c); seq == nil || *seq != 11 || ack == nil || *ack != 201 {
		t.Errorf("relSeq = %v, %v, want 11, 201", seq, ack)
	}
}

// TestPathRandomLoss checks the seeded loss: the same seed drops the same
// frames, another seed other frames, the rate is near the setting, and a
// rule taking a frame does not shift the pattern of the others.
func TestPathRandomLoss(t *testing.T) {
	run := func(seed uint64, rules []PathRule) []int {
		e := newPathEngine(&Path{Seed: seed, ClientToServer: PathDirection{Loss: 0.05}, Rules: rules}, t0)
		var dropped []int
		for i := 0; i < 4000; i++ {
			f := seg(c2s, tCli, tcpACK, uint32(i), 1, 100)
			if v := e.decide(&f, c2s, t0); v.action == "drop" && v.rule == "random" {
				dropped = append(dropped, i)
			}
			// The other direction has no loss and draws nothing.
			g := seg(s2c, tCli, tcpACK, 1, uint32(i), 0)
			if v := e.decide(&g, s2c, t0); v.action != "pass" {
				t.Fatalf("s2c frame %d: %+v with no loss set", i, v)
			}
		}
		return dropped
	}
	a, b, c := run(1, nil), run(1, nil), run(2, nil)
	if !reflect.DeepEqual(a, b) {
		t.Error("the same seed dropped different frames")
	}
	if reflect.DeepEqual(a, c) {
		t.Error("seeds 1 and 2 dropped the same frames")
	}
	if n := len(a); n < 140 || n > 260 {
		t.Errorf("%d of 4000 frames dropped at 5 %%", n)
	}
	// A rule that takes the 10th data frame leaves the others' fate alone.
	withRule := run(1, []PathRule{{Name: "r", Dir: "c2s", Match: "data", Nth: 10, Action: "hold", HoldMS: 1}})
	var want []int
	for _, i := range a {
		if i != 9 {
			want = append(want, i)
		}
	}
	if !reflect.DeepEqual(withRule, want) {
		t.Errorf("a rule shifted the random drops: %v... vs %v...", withRule[:min(5, len(withRule))], want[:min(5, len(want))])
	}
}

// TestPathQueue checks the order frames leave in: delayed frames in
// arrival order, a held frame after the frames of its flow that arrived
// after it (not before it, not of other flows), or when its time is up.
func TestPathQueue(t *testing.T) {
	fa := flowKey{client: tCli, server: tSrv}
	fb := flowKey{client: netip.MustParseAddrPort("10.77.0.2:41002"), server: tSrv}
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	item := func(id byte, flow flowKey, due int) pathItem {
		return pathItem{frame: []byte{id}, flow: flow, due: ms(due)}
	}
	held := func(id byte, flow flowKey, due, behind int) pathItem {
		it := item(id, flow, due)
		it.held, it.left = true, behind
		return it
	}
	ids := func(its []pathItem) string {
		var sb strings.Builder
		for _, it := range its {
			sb.WriteByte(it.frame[0])
			if it.held {
				sb.WriteString("(" + it.releasedBy + ")")
			}
		}
		return sb.String()
	}
	var q pathQueue
	q.push(item('1', fa, 10))     // before the held frame: does not count
	q.push(held('H', fa, 200, 2)) // behind two later frames of fa
	q.push(item('x', fb, 11))     // another flow: does not count
	q.push(item('2', fa, 12))
	q.push(item('3', fa, 13))
	q.push(item('4', fa, 14))
	if due, _ := q.nextDue(); !due.Equal(ms(10)) {
		t.Errorf("nextDue %v", due)
	}
	if got := ids(q.pop(ms(9))); got != "" {
		t.Errorf("pop before anything is due: %q", got)
	}
	if got := ids(q.pop(ms(20))); got != "1x23H(frames)4" {
		t.Errorf("order %q, want 1x23H(frames)4", got)
	}
	// A held frame with nothing behind it leaves at its time.
	q.push(held('T', fa, 50, 1))
	q.push(held('D', fb, 40, 0)) // a pure delay
	if due, _ := q.nextDue(); !due.Equal(ms(40)) {
		t.Errorf("nextDue %v, want 40 ms", due)
	}
	if got := ids(q.pop(ms(60))); got != "D(time)T(time)" {
		t.Errorf("order %q, want D(time)T(time)", got)
	}
	if _, ok := q.nextDue(); ok {
		t.Error("queue not empty")
	}
}

func TestSynFrame(t *testing.T) {
	s := floodSYN{src: netip.MustParseAddrPort("10.78.3.4:5555"), seq: 0xdeadbeef, ipID: 4242}
	b := synFrame(net.HardwareAddr{2, 0x77, 0, 0, 0, 1}, net.HardwareAddr{2, 0x77, 0, 0, 0, 2}, s, tSrv)
	pkt := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
	ip, _ := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	tcp, _ := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if ip == nil || tcp == nil {
		t.Fatalf("not IPv4/TCP: %v", pkt)
	}
	if !tcp.SYN || tcp.ACK || tcp.Seq != s.seq || tcp.SrcPort != 5555 || tcp.DstPort != 8000 || ip.Id != 4242 || ip.SrcIP.String() != "10.78.3.4" {
		t.Errorf("decoded %+v %+v", ip, tcp)
	}
	if len(tcp.Options) != 1 || tcp.Options[0].OptionType != layers.TCPOptionKindMSS || binary.BigEndian.Uint16(tcp.Options[0].OptionData) != floodMSS {
		t.Errorf("options %v, want MSS %d only", tcp.Options, floodMSS)
	}
	// Both checksums verify: the one's-complement sum over the header
	// (IP) and over pseudo header plus segment (TCP) is all ones.
	if c := checksum(0, b[14:34]); c != 0 {
		t.Errorf("IP checksum does not verify: %#x", c)
	}
	var sum uint32
	sum = sumBytes(sum, b[26:34]) // source and destination addresses
	sum += 6 + 24
	if c := checksum(sum, b[34:58]); c != 0 {
		t.Errorf("TCP checksum does not verify: %#x", c)
	}
	if f := parseFrame(b); !f.tcp || f.flags != tcpSYN || f.src != s.src || f.dst != tSrv || f.payload != 0 {
		t.Errorf("parseFrame of a flood SYN: %+v", f)
	}
}

func TestFloodPlan(t *testing.T) {
	f := &Flood{Count: 500, Sources: 50, Seed: 9}
	p := f.FloodPrefix()
	src := floodSources(p, f.Sources, f.Seed)
	seen := map[netip.Addr]bool{}
	for _, a := range src {
		if !p.Contains(a) || a == p.Addr() || seen[a] {
			t.Errorf("source %s: outside %s, the network address or repeated", a, p)
		}
		seen[a] = true
	}
	if len(src) != 50 || !reflect.DeepEqual(src, floodSources(p, 50, 9)) || reflect.DeepEqual(src, floodSources(p, 50, 10)) {
		t.Errorf("sources not 50, not the same for one seed, or the same for two")
	}
	plan := floodPlan(f, src)
	if len(plan) != 500 || !reflect.DeepEqual(plan, floodPlan(f, src)) {
		t.Fatalf("plan of %d SYNs, or not deterministic", len(plan))
	}
	used := map[netip.Addr]bool{}
	for _, s := range plan {
		if !seen[s.src.Addr()] || s.src.Port() < 1024 {
			t.Errorf("SYN from %s: not a drawn source or a low port", s.src)
		}
		used[s.src.Addr()] = true
	}
	if len(used) < 45 {
		t.Errorf("only %d of 50 sources used by 500 SYNs", len(used))
	}
	// A /24 cannot hold more than 254 sources.
	sc := &Scenario{Family: 4, DurationMS: 5000, Flood: &Flood{Count: 1000, Sources: 300, Prefix: "10.78.1.0/24", DurationMS: 100}}
	var errs []string
	sc.validateFlood(sc.Flood, func(format string, a ...any) { errs = append(errs, format) })
	if len(errs) == 0 {
		t.Error("300 sources in a /24 accepted")
	}
}
