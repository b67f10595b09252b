package analyze

import (
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// The packets in this file are hand-built with gopacket.SerializeLayers
// (and a few bytes patched by hand); they are not captures of anything.

var (
	macA = net.HardwareAddr{2, 0, 0, 0, 0, 1}
	macB = net.HardwareAddr{2, 0, 0, 0, 0, 2}
	ip4A = net.IP{10, 0, 0, 1}
	ip4B = net.IP{10, 0, 0, 2}
	ip6A = net.ParseIP("fd00::1")
	ip6B = net.ParseIP("fd00::2")
)

// serialize builds a packet with lengths and checksums filled in.
// serialize builds a packet with lengths filled in, and checksums when a
// network layer is among ls (checksums do not matter to the decoder).
func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	var nl gopacket.NetworkLayer
	for _, l := range ls {
		if n, ok := l.(gopacket.NetworkLayer); ok {
			nl = n
		}
	}
	for _, l := range ls {
		if c, ok := l.(interface {
			SetNetworkLayerForChecksum(gopacket.NetworkLayer) error
		}); ok && nl != nil {
			if err := c.SetNetworkLayerForChecksum(nl); err != nil {
				t.Fatal(err)
			}
		}
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: nl != nil}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func ethHdr(et layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: et}
}

func ip4Hdr() *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 61, Protocol: layers.IPProtocolTCP, SrcIP: ip4A, DstIP: ip4B}
}

func ip6Hdr(next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 57, NextHeader: next, SrcIP: ip6A, DstIP: ip6B}
}

// synTCP is a SYN with the options Linux sends.
func synTCP() *layers.TCP {
	return &layers.TCP{
		SrcPort: 40000, DstPort: 8080, Seq: 0xfffffff0, SYN: true, Window: 64240,
		Options: []layers.TCPOption{
			{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}},
			{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
			{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{0, 0, 0, 7, 0, 0, 0, 0}},
			{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
			{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}},
		},
	}
}

func dataTCP() *layers.TCP {
	return &layers.TCP{SrcPort: 40000, DstPort: 8080, Seq: 1000, Ack: 2000, ACK: true, PSH: true, Window: 501}
}

func decodeOne(t testing.TB, data []byte, lt layers.LinkType) (flowstate.Segment, result, bool) {
	t.Helper()
	var seg flowstate.Segment
	res, cut := newDecoder().decode(data, lt, &seg)
	return seg, res, cut
}

func TestDecodeSYNFields(t *testing.T) {
	data := serialize(t, ethHdr(layers.EthernetTypeIPv4), ip4Hdr(), synTCP())
	seg, res, cut := decodeOne(t, data, layers.LinkTypeEthernet)
	if res != resTCP || cut {
		t.Fatalf("result %v cut %v, want TCP, not cut", res, cut)
	}
	want := flowstate.Segment{
		Src: flowstate.AddrFrom4([4]byte(ip4A)), Dst: flowstate.AddrFrom4([4]byte(ip4B)),
		SrcPort: 40000, DstPort: 8080, TTL: 61,
		Seq: 0xfffffff0, Flags: flowstate.SYN, Window: 64240,
		Opt: flowstate.Options{MSS: 1460, WScale: 7, SACKPermitted: true, HasTS: true, TSVal: 7},
	}
	if seg != want {
		t.Errorf("segment\n got %+v\nwant %+v", seg, want)
	}
}

func TestDecodeOptions(t *testing.T) {
	// dataTCP acknowledges 2000: blocks above it report out-of-order data,
	// a first block below it is a D-SACK (RFC 2883).
	sack := make([]byte, 0, 32)
	for i := range uint32(4) {
		sack = binary.BigEndian.AppendUint32(sack, 3000+100*i+1)
		sack = binary.BigEndian.AppendUint32(sack, 3000+100*i+50)
	}
	dsack := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 1001), 1050)
	inside := append(binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 3010), 3020), sack[:8]...)
	for _, tc := range []struct {
		name string
		opts []layers.TCPOption
		want flowstate.Options
	}{
		{"none", nil, flowstate.Options{WScale: -1}},
		{"four SACK blocks", []layers.TCPOption{
			{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
			{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
			{OptionType: layers.TCPOptionKindSACK, OptionLength: 34, OptionData: sack},
		}, flowstate.Options{WScale: -1, NSACK: 4, SACKBytes: 3 * 49}}, // Wireshark counts the first three
		{"D-SACK and timestamps", []layers.TCPOption{
			{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
			{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
			{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{0, 0, 1, 0, 0, 0, 2, 0}},
			{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
			{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
			{OptionType: layers.TCPOptionKindSACK, OptionLength: 10, OptionData: dsack},
		}, flowstate.Options{WScale: -1, HasTS: true, TSVal: 256, TSEcr: 512, NSACK: 1, DSACK: true, SACKBytes: 49}},
		{"one SACK block above the ACK is no D-SACK", []layers.TCPOption{
			{OptionType: layers.TCPOptionKindSACK, OptionLength: 10, OptionData: sack[:8]},
		}, flowstate.Options{WScale: -1, NSACK: 1, SACKBytes: 49}},
		{"a first block inside the second is a D-SACK", []layers.TCPOption{
			{OptionType: layers.TCPOptionKindSACK, OptionLength: 18, OptionData: inside},
		}, flowstate.Options{WScale: -1, NSACK: 2, DSACK: true, SACKBytes: 59}},
		{"window scale above 14 is 14 (RFC 7323 2.3)", []layers.TCPOption{
			{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{200}},
		}, flowstate.Options{WScale: 14}},
		{"options after end of list are ignored", []layers.TCPOption{
			{OptionType: layers.TCPOptionKindEndList, OptionLength: 1},
			{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
			{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{1, 0}},
		}, flowstate.Options{WScale: -1}},
		{"bad MSS length skipped", []layers.TCPOption{
			{OptionType: layers.TCPOptionKindMSS, OptionLength: 3, OptionData: []byte{1}},
			{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
		}, flowstate.Options{WScale: -1, SACKPermitted: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tcp := dataTCP()
			tcp.Options = tc.opts
			seg, res, _ := decodeOne(t, serialize(t, ethHdr(layers.EthernetTypeIPv4), ip4Hdr(), tcp), layers.LinkTypeEthernet)
			if res != resTCP {
				t.Fatalf("result %v, want TCP", res)
			}
			if seg.Opt != tc.want {
				t.Errorf("options\n got %+v\nwant %+v", seg.Opt, tc.want)
			}
		})
	}
}

func TestParseOptionsMalformed(t *testing.T) {
	// An option whose length runs past the header ends parsing; what came
	// before it is kept.
	var o flowstate.Options
	parseOptions(&o, []byte{2, 4, 5, 0xb4, 3, 3, 7, 8, 10, 0, 0}, 0)
	if o.MSS != 1460 || o.WScale != 7 || o.HasTS {
		t.Errorf("got %+v", o)
	}
	parseOptions(&o, []byte{1, 1, 5}, 0)
	if o != (flowstate.Options{WScale: -1}) {
		t.Errorf("got %+v", o)
	}
	parseOptions(&o, []byte{4, 0, 4, 2}, 0)
	if o != (flowstate.Options{WScale: -1}) {
		t.Errorf("zero-length option: got %+v", o)
	}
}

func TestDecodeLenFromIPHeader(t *testing.T) {
	payload := make([]byte, 300)
	for _, tc := range []struct {
		name string
		pkt  []byte
	}{
		{"IPv4", serialize(t, ethHdr(layers.EthernetTypeIPv4), ip4Hdr(), dataTCP(), gopacket.Payload(payload))},
		{"IPv6", serialize(t, ethHdr(layers.EthernetTypeIPv6), ip6Hdr(layers.IPProtocolTCP), dataTCP(), gopacket.Payload(payload))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seg, res, cut := decodeOne(t, tc.pkt, layers.LinkTypeEthernet)
			if res != resTCP || cut || seg.Len != 300 {
				t.Fatalf("whole: result %v cut %v Len %d, want TCP, false, 300", res, cut, seg.Len)
			}
			// Cut by a snaplen of 128: the length still comes from IP.
			seg, res, cut = decodeOne(t, tc.pkt[:128], layers.LinkTypeEthernet)
			if res != resTCP || !cut || seg.Len != 300 {
				t.Fatalf("cut: result %v cut %v Len %d, want TCP, true, 300", res, cut, seg.Len)
			}
			// An Ethernet trailer after the IP packet is not payload.
			seg, res, cut = decodeOne(t, append(append([]byte(nil), tc.pkt...), 0, 0, 0, 0), layers.LinkTypeEthernet)
			if res != resTCP || cut || seg.Len != 300 {
				t.Fatalf("trailer: result %v cut %v Len %d, want TCP, false, 300", res, cut, seg.Len)
			}
		})
	}
}

func TestDecodeBadChecksumKept(t *testing.T) {
	pkt := serialize(t, ethHdr(layers.EthernetTypeIPv4), ip4Hdr(), dataTCP())
	pkt[14+20+16] ^= 0xff // TCP checksum
	pkt[14+10] ^= 0xff    // IPv4 header checksum
	if _, res, _ := decodeOne(t, pkt, layers.LinkTypeEthernet); res != resTCP {
		t.Errorf("result %v, want TCP", res)
	}
}

func TestDecodeUndecodable(t *testing.T) {
	good := serialize(t, ethHdr(layers.EthernetTypeIPv4), ip4Hdr(), synTCP())
	patch := func(off int, b byte) []byte {
		p := append([]byte(nil), good...)
		p[off] = b
		return p
	}
	for _, tc := range []struct {
		name string
		pkt  []byte
		want result
	}{
		{"TCP header cut by the snaplen", good[:14+20+30], resTruncatedTCP},
		{"TCP header cut inside the fixed part", good[:14+20+12], resTruncatedTCP},
		{"TCP header missing", good[:14+20], resTruncatedTCP},
		{"TCP data offset below 5", patch(14+20+12, 0x40), resTruncatedTCP},
		{"TCP data offset beyond the IP length", patch(14+20+12, 0xf0), resTruncatedTCP},
		{"IPv4 header cut", good[:14+12], resUndecodable},
		{"Ethernet header cut", good[:10], resUndecodable},
		{"IPv4 header length below 5", patch(14, 0x44), resUndecodable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, res, _ := decodeOne(t, tc.pkt, layers.LinkTypeEthernet); res != tc.want {
				t.Errorf("result %v, want %v", res, tc.want)
			}
		})
	}
}

func TestDecodeNonTCP(t *testing.T) {
	udp := &layers.UDP{SrcPort: 5000, DstPort: 53}
	ip := ip4Hdr()
	ip.Protocol = layers.IPProtocolUDP
	icmp := ip4Hdr()
	icmp.Protocol = layers.IPProtocolICMPv4
	arp := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: 1, SourceHwAddress: macA, SourceProtAddress: ip4A, DstHwAddress: macB, DstProtAddress: ip4B}
	for _, tc := range []struct {
		name string
		pkt  []byte
	}{
		{"UDP", serialize(t, ethHdr(layers.EthernetTypeIPv4), ip, udp, gopacket.Payload("hello"))},
		{"ICMP", serialize(t, ethHdr(layers.EthernetTypeIPv4), icmp, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0)})},
		{"ARP", serialize(t, ethHdr(layers.EthernetTypeARP), arp)},
		{"ICMPv6", serialize(t, ethHdr(layers.EthernetTypeIPv6), ip6Hdr(layers.IPProtocolICMPv6), gopacket.Payload{128, 0, 0, 0, 0, 1, 0, 1})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, res, _ := decodeOne(t, tc.pkt, layers.LinkTypeEthernet); res != resNonTCP {
				t.Errorf("result %v, want non-TCP", res)
			}
		})
	}
}

func TestDecodeIPv4Fragments(t *testing.T) {
	// Each fragment alone: held, never a segment (reassembly_test.go
	// puts them together).
	first := ip4Hdr()
	first.Flags = layers.IPv4MoreFragments
	later := ip4Hdr()
	later.FragOffset = 185
	if _, res, _ := decodeOne(t, serialize(t, ethHdr(layers.EthernetTypeIPv4), first, dataTCP(), gopacket.Payload("abc")), layers.LinkTypeEthernet); res != resFragment {
		t.Errorf("first fragment: result %v, want fragment", res)
	}
	if _, res, _ := decodeOne(t, serialize(t, ethHdr(layers.EthernetTypeIPv4), later, gopacket.Payload(make([]byte, 40))), layers.LinkTypeEthernet); res != resFragment {
		t.Errorf("later fragment: result %v, want fragment", res)
	}
}

// ipv6Ext builds Ethernet/IPv6 with the given raw extension headers
// (each: next header, then its bytes) before the transport bytes.
func ipv6Ext(t testing.TB, first layers.IPProtocol, ext []byte, transport []byte) []byte {
	t.Helper()
	return serialize(t, ethHdr(layers.EthernetTypeIPv6), ip6Hdr(first), gopacket.Payload(append(append([]byte(nil), ext...), transport...)))
}

func TestDecodeIPv6ExtensionHeaders(t *testing.T) {
	tcp := serialize(t, dataTCP(), gopacket.Payload("hello"))
	hbh := []byte{60, 0, 1, 4, 0, 0, 0, 0}                                               // Hop-by-Hop, PadN, next: Destination
	dst := []byte{43, 0, 1, 4, 0, 0, 0, 0}                                               // Destination, PadN, next: Routing
	rt := []byte{44, 2, 0, 0, 0, 0, 0, 0}                                                // Routing type 0, 1 address, next: Fragment
	rt = append(rt, ip6B...)                                                             //
	frag0 := []byte{6, 0, 0x00, 0x00, 0, 0, 0, 1}                                        // Fragment offset 0, next: TCP
	frag8 := []byte{6, 0, 0x00, 0x40, 0, 0, 0, 1}                                        // Fragment offset 8 (bytes 64)
	ah := []byte{6, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0} // AH, 24 bytes, next: TCP
	chain := append(append(append(append([]byte(nil), hbh...), dst...), rt...), frag0...)

	seg, res, _ := decodeOne(t, ipv6Ext(t, layers.IPProtocolIPv6HopByHop, chain, tcp), layers.LinkTypeEthernet)
	if res != resTCP || seg.Len != 5 || seg.DstPort != 8080 || seg.TTL != 57 || seg.Src != flowstate.Addr(ip6A.To16()) {
		t.Errorf("HBH/DST/RT/FRAG chain: result %v, segment %+v", res, seg)
	}
	// The same packet cut in the middle of the TCP payload.
	pkt := ipv6Ext(t, layers.IPProtocolIPv6HopByHop, chain, tcp)
	seg, res, cut := decodeOne(t, pkt[:len(pkt)-2], layers.LinkTypeEthernet)
	if res != resTCP || !cut || seg.Len != 5 {
		t.Errorf("cut chain: result %v cut %v Len %d", res, cut, seg.Len)
	}
	if seg, res, _ := decodeOne(t, ipv6Ext(t, layers.IPProtocolAH, ah, tcp), layers.LinkTypeEthernet); res != resTCP || seg.Len != 5 {
		t.Errorf("AH: result %v Len %d", res, seg.Len)
	}
	if _, res, _ := decodeOne(t, ipv6Ext(t, layers.IPProtocolIPv6Fragment, frag8, tcp[8:]), layers.LinkTypeEthernet); res != resFragment {
		t.Errorf("later fragment: result %v, want fragment", res)
	}
	if _, res, _ := decodeOne(t, ipv6Ext(t, layers.IPProtocolIPv6Destination, dst[:4], nil), layers.LinkTypeEthernet); res != resUndecodable {
		t.Errorf("extension header cut: result %v, want undecodable", res)
	}
}

func TestDecodeTunnels(t *testing.T) {
	inner := serialize(t, ethHdr(layers.EthernetTypeIPv4), ip4Hdr(), dataTCP(), gopacket.Payload("hello"))
	innerIP := inner[14:]
	outer := func(proto layers.IPProtocol) *layers.IPv4 {
		ip := ip4Hdr()
		ip.Protocol = proto
		ip.SrcIP, ip.DstIP = net.IP{192, 168, 0, 1}, net.IP{192, 168, 0, 2}
		return ip
	}
	vxlan := serialize(t, &layers.VXLAN{ValidIDFlag: true, VNI: 42}, gopacket.Payload(inner))
	geneve := []byte{0, 0, 0x65, 0x58, 0, 0, 42, 0}
	gre := []byte{0, 0, 0x08, 0x00}
	greEth := []byte{0, 0, 0x65, 0x58}
	dstOpts := []byte{17, 0, 1, 4, 0, 0, 0, 0}
	for _, tc := range []struct {
		name string
		pkt  []byte
	}{
		{"VXLAN", serialize(t, ethHdr(layers.EthernetTypeIPv4), outer(layers.IPProtocolUDP), &layers.UDP{SrcPort: 49152, DstPort: 4789}, gopacket.Payload(vxlan))},
		{"Geneve", serialize(t, ethHdr(layers.EthernetTypeIPv4), outer(layers.IPProtocolUDP), &layers.UDP{SrcPort: 49152, DstPort: 6081}, gopacket.Payload(append(geneve, inner...)))},
		{"GRE with IP", serialize(t, ethHdr(layers.EthernetTypeIPv4), outer(layers.IPProtocolGRE), gopacket.Payload(append(gre, innerIP...)))},
		{"GRE with Ethernet", serialize(t, ethHdr(layers.EthernetTypeIPv4), outer(layers.IPProtocolGRE), gopacket.Payload(append(greEth, inner...)))},
		{"IP in IP", serialize(t, ethHdr(layers.EthernetTypeIPv4), outer(layers.IPProtocolIPv4), gopacket.Payload(innerIP))},
		{"VXLAN after IPv6 destination options", ipv6Ext(t, layers.IPProtocolIPv6Destination, dstOpts,
			serialize(t, &layers.UDP{SrcPort: 49152, DstPort: 4789, Length: uint16(8 + len(vxlan))}, gopacket.Payload(vxlan)))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seg, res, _ := decodeOne(t, tc.pkt, layers.LinkTypeEthernet)
			if res != resTCP {
				t.Fatalf("result %v, want TCP", res)
			}
			if seg.Src != flowstate.AddrFrom4([4]byte(ip4A)) || seg.Len != 5 || seg.Seq != 1000 {
				t.Errorf("inner segment wrong: %+v", seg)
			}
		})
	}
}

func TestDecodeLinkTypes(t *testing.T) {
	ip4 := serialize(t, ip4Hdr(), synTCP())
	ip6 := serialize(t, ip6Hdr(layers.IPProtocolTCP), synTCP())
	fam := func(order binary.AppendByteOrder, f uint32, pkt []byte) []byte {
		return append(order.AppendUint32(nil, f), pkt...)
	}
	sll := func(proto uint16, pkt []byte) []byte {
		h := make([]byte, 16)
		binary.BigEndian.PutUint16(h[0:], 0) // to us
		binary.BigEndian.PutUint16(h[2:], 1) // ARPHRD_ETHER
		binary.BigEndian.PutUint16(h[4:], 6)
		copy(h[6:], macA)
		binary.BigEndian.PutUint16(h[14:], proto)
		return append(h, pkt...)
	}
	sll2 := func(proto uint16, pkt []byte) []byte {
		h := make([]byte, 20)
		binary.BigEndian.PutUint16(h[0:], proto)
		binary.BigEndian.PutUint32(h[4:], 9) // ifindex
		binary.BigEndian.PutUint16(h[8:], 1) // ARPHRD_ETHER
		h[10], h[11] = 4, 6                  // outgoing, address length
		copy(h[12:], macA)
		return append(h, pkt...)
	}
	vlan := serialize(t, ethHdr(layers.EthernetTypeDot1Q), &layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetTypeIPv4}, gopacket.Payload(ip4))
	qinq := serialize(t, ethHdr(layers.EthernetTypeQinQ), &layers.Dot1Q{VLANIdentifier: 200, Type: layers.EthernetTypeDot1Q},
		&layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetTypeIPv6}, gopacket.Payload(ip6))
	for _, tc := range []struct {
		name string
		lt   layers.LinkType
		pkt  []byte
		v6   bool
	}{
		{"Ethernet 802.1Q", layers.LinkTypeEthernet, vlan, false},
		{"Ethernet QinQ 802.1ad", layers.LinkTypeEthernet, qinq, true},
		{"LINUX_SLL", layers.LinkTypeLinuxSLL, sll(0x0800, ip4), false},
		{"LINUX_SLL IPv6", layers.LinkTypeLinuxSLL, sll(0x86dd, ip6), true},
		{"LINUX_SLL2", layers.LinkTypeLinuxSLL2, sll2(0x86dd, ip6), true},
		{"NULL little-endian AF_INET", layers.LinkTypeNull, fam(binary.LittleEndian, 2, ip4), false},
		{"NULL big-endian AF_INET", layers.LinkTypeNull, fam(binary.BigEndian, 2, ip4), false},
		{"NULL AF_INET6 Linux", layers.LinkTypeNull, fam(binary.LittleEndian, 10, ip6), true},
		{"NULL AF_INET6 BSD", layers.LinkTypeNull, fam(binary.LittleEndian, 24, ip6), true},
		{"NULL AF_INET6 FreeBSD", layers.LinkTypeNull, fam(binary.LittleEndian, 28, ip6), true},
		{"NULL AF_INET6 macOS", layers.LinkTypeNull, fam(binary.BigEndian, 30, ip6), true},
		{"LOOP", layers.LinkTypeLoop, fam(binary.BigEndian, 2, ip4), false},
		{"RAW 101 IPv4", layers.LinkTypeRaw, ip4, false},
		{"RAW 101 IPv6", layers.LinkTypeRaw, ip6, true},
		{"RAW 12", 12, ip4, false},
		{"RAW 14", 14, ip6, true},
		{"IPV4", layers.LinkTypeIPv4, ip4, false},
		{"IPV6", layers.LinkTypeIPv6, ip6, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seg, res, _ := decodeOne(t, tc.pkt, tc.lt)
			if res != resTCP {
				t.Fatalf("result %v, want TCP", res)
			}
			if seg.Src.Is4() == tc.v6 || seg.Flags != flowstate.SYN || seg.Opt.MSS != 1460 {
				t.Errorf("segment wrong: %+v", seg)
			}
		})
	}
	if _, res, _ := decodeOne(t, ip4, 147); res != resUnsupported {
		t.Errorf("USER0: result %v, want unsupported", res)
	}
	if _, res, _ := decodeOne(t, fam(binary.LittleEndian, 7, ip4), layers.LinkTypeNull); res != resNonTCP {
		t.Errorf("NULL unknown family: result %v, want non-TCP", res)
	}
	if _, res, _ := decodeOne(t, append([]byte{0x50}, ip4[1:]...), layers.LinkTypeRaw); res != resUndecodable {
		t.Errorf("RAW version 5: result %v, want undecodable", res)
	}
}

// FuzzDecode checks that no input panics, that a TCP result is
// consistent with the bytes given, that decoding leaves the bytes alone,
// and that it does not depend on what the decoder decoded before: a fresh
// decoder gives the same result. The one exception is an IP fragment,
// which may complete a datagram the decoder holds; alone, in a fresh
// decoder, a fragment never gives a segment. Seeds: the packets above and
// the first records of every fixture in testdata/formats.
func FuzzDecode(f *testing.F) {
	f.Add(serialize(f, ethHdr(layers.EthernetTypeIPv4), ip4Hdr(), synTCP()), uint16(1))
	f.Add(serialize(f, ethHdr(layers.EthernetTypeIPv6), ip6Hdr(layers.IPProtocolTCP), dataTCP(), gopacket.Payload("x")), uint16(1))
	f.Add(serialize(f, ip6Hdr(layers.IPProtocolTCP), dataTCP()), uint16(101))
	f.Add(append([]byte{2, 0, 0, 0}, serialize(f, ip4Hdr(), dataTCP())...), uint16(0))
	files, _ := filepath.Glob(formats + "*.pcap")
	for _, name := range files {
		fh, err := os.Open(name)
		if err != nil {
			continue
		}
		if r, err := pcapgo.NewReader(fh); err == nil {
			for range 6 {
				data, _, err := r.ReadPacketData()
				if err != nil {
					break
				}
				f.Add(data, uint16(r.LinkType()))
			}
		}
		fh.Close()
	}
	d := newDecoder()
	f.Fuzz(func(t *testing.T, data []byte, lt uint16) {
		orig := string(data)
		var seg flowstate.Segment
		res, cut := d.decode(data, layers.LinkType(lt), &seg)
		if string(data) != orig {
			t.Fatalf("decode changed its input")
		}
		fresh := newDecoder()
		var seg2 flowstate.Segment
		res2, cut2 := fresh.decode(data, layers.LinkType(lt), &seg2)
		switch {
		case fresh.fragState != fragNone:
			if res2 == resTCP || cut2 {
				t.Fatalf("a fragment alone gives %v (cut %v) %+v", res2, cut2, seg2)
			}
			if d.fragState == fragNone {
				t.Fatalf("a fragment for a fresh decoder, not for the used one")
			}
		case res2 != res || cut2 != cut || res == resTCP && seg2 != seg:
			t.Fatalf("a fresh decoder gives %v %v %+v, the used one %v %v %+v", res2, cut2, seg2, res, cut, seg)
		}
		if res != resTCP {
			if cut {
				t.Errorf("cut reported for result %v", res)
			}
			return
		}
		if seg.Opt.NSACK > 4 || seg.Opt.WScale > 14 || seg.Opt.WScale < -1 {
			t.Errorf("options out of range: %+v", seg.Opt)
		}
		if !cut && int(seg.Len) > len(data) && d.fragState != fragReassembled {
			t.Errorf("Len %d beyond the %d bytes given, not reported cut", seg.Len, len(data))
		}
	})
}
