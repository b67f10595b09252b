package analyze

import (
	"encoding/binary"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// The frames in this file are built by hand (headers as bytes, the inner
// IP and TCP by gopacket.SerializeLayers); they are not captures of
// anything. testdata/formats holds the same encapsulations around
// recorded traffic, checked against tshark.

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// Inner packets every encapsulation below carries: a data segment of 5
// bytes, over IPv4 or IPv6, and the same as an Ethernet frame.
func innerIP4(t testing.TB) []byte {
	return serialize(t, ip4Hdr(), dataTCP(), gopacket.Payload("hello"))
}

func innerIP6(t testing.TB) []byte {
	return serialize(t, ip6Hdr(layers.IPProtocolTCP), dataTCP(), gopacket.Payload("hello"))
}

func innerEth(t testing.TB) []byte {
	return serialize(t, ethHdr(layers.EthernetTypeIPv4), ip4Hdr(), dataTCP(), gopacket.Payload("hello"))
}

// macs is a destination and source MAC, then an EtherType.
func macs(et uint16) []byte { return cat(macB, macA, be16(et)) }

// outer4 is Ethernet/IPv4 with protocol proto around payload, addresses
// 192.168.0.1 -> 192.168.0.2 (lengths filled in; checksum left zero).
func outer4(proto byte, payload []byte) []byte {
	ip := []byte{0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, proto, 0, 0, 192, 168, 0, 1, 192, 168, 0, 2}
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(payload)))
	return cat(macs(0x0800), ip, payload)
}

// outer6 is Ethernet/IPv6 with next header next around payload.
func outer6(next byte, payload []byte) []byte {
	ip := make([]byte, 40)
	ip[0] = 0x60
	binary.BigEndian.PutUint16(ip[4:], uint16(len(payload)))
	ip[6], ip[7] = next, 64
	copy(ip[8:], []byte{0xfd, 0, 15: 1})
	copy(ip[24:], []byte{0xfd, 0, 15: 2})
	return cat(macs(0x86dd), ip, payload)
}

// udp4 is outer4 around a UDP header (ports sport, dport) and payload.
func udp4(sport, dport uint16, payload []byte) []byte {
	return outer4(17, cat(be16(sport), be16(dport), be16(uint16(8+len(payload))), be16(0), payload))
}

func mplsEntry(label uint32, bottom bool) []byte {
	v := label<<12 | 64
	if bottom {
		v |= 1 << 8
	}
	return be32(v)
}

// nflog is an NFLOG record of family fam carrying pkt, TLVs in order.
func nflog(order binary.ByteOrder, fam byte, typeFlags uint16, pkt []byte) []byte {
	tlv := func(typ uint16, v []byte) []byte {
		h := make([]byte, 4)
		order.PutUint16(h, uint16(4+len(v)))
		order.PutUint16(h[2:], typ|typeFlags)
		out := cat(h, v)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
		return out
	}
	return cat([]byte{fam, 0, 0, 5}, tlv(1, []byte{0x08, 0, 1, 0}), tlv(10, []byte("pfx\x00x")), tlv(9, pkt))
}

func TestDecodeEncapsulations(t *testing.T) {
	ip4, ip6, eth := innerIP4(t), innerIP6(t), innerEth(t)
	gtp := func(flags byte, opt []byte, pkt []byte) []byte {
		return udp4(2152, 2152, cat([]byte{flags, 0xff}, be16(uint16(len(opt)+len(pkt))), be32(7), opt, pkt))
	}
	gre := func(first, second byte, proto uint16, fields []byte, payload []byte) []byte {
		return outer4(47, cat([]byte{first, second}, be16(proto), fields, payload))
	}
	erspan2 := cat(be16(0x1000|10), be16(3), be32(9))
	erspan3 := func(ft byte, sub bool) []byte {
		last := uint16(ft)<<10 | 4<<4
		var s []byte
		if sub {
			last |= 1
			s = make([]byte, 8)
		}
		return cat(be16(0x2000|10), be16(3), be32(1234), be16(0), be16(last), s)
	}
	ayiya := func(next byte, pkt []byte) []byte {
		return udp4(5072, 5072, cat([]byte{4<<4 | 1, 5<<4 | 2, 1<<4 | 1, next}, be32(1), make([]byte, 16+20), pkt))
	}
	teredoAuth := cat([]byte{0, 1, 2, 3}, []byte{'i', 'd'}, []byte{'a', 'u', 't'}, make([]byte, 8), []byte{0})
	teredoOrigin := cat([]byte{0, 0}, be16(^uint16(40001)), be32(^uint32(0xc0a80001)))
	snap := func(oui []byte, et uint16) []byte { return cat([]byte{0xaa, 0xaa, 0x03}, oui, be16(et)) }
	dot3 := func(llc []byte, pkt []byte) []byte { return cat(macB, macA, be16(uint16(len(llc)+len(pkt))), llc, pkt) }
	pppoe := func(ppp []byte, pkt []byte) []byte {
		return cat([]byte{0x11, 0x00}, be16(0x1234), be16(uint16(len(ppp)+len(pkt))), ppp, pkt)
	}
	sll2 := func(proto, arphrd uint16, pkt []byte) []byte {
		h := make([]byte, 20)
		binary.BigEndian.PutUint16(h[0:], proto)
		binary.BigEndian.PutUint32(h[4:], 3)
		binary.BigEndian.PutUint16(h[8:], arphrd)
		return cat(h, pkt)
	}
	sll := func(proto uint16, pkt []byte) []byte {
		h := make([]byte, 16)
		binary.BigEndian.PutUint16(h[2:], 1)
		binary.BigEndian.PutUint16(h[4:], 6)
		copy(h[6:], macA)
		binary.BigEndian.PutUint16(h[14:], proto)
		return cat(h, pkt)
	}
	geneveOpts := cat([]byte{0x02, 0, 0x65, 0x58, 0, 0, 42, 0}, []byte{0x01, 0x02, 0x03, 0x01, 0xde, 0xad, 0xbe, 0xef})

	for _, tc := range []struct {
		name string
		lt   layers.LinkType
		pkt  []byte
		v6   bool
	}{
		// MPLS (RFC 3032) and what its payload is guessed to be.
		{"MPLS one label IPv4", 1, cat(macs(0x8847), mplsEntry(16, true), ip4), false},
		{"MPLS three labels IPv6", 1, cat(macs(0x8847), mplsEntry(16, false), mplsEntry(17, false), mplsEntry(18, true), ip6), true},
		{"MPLS multicast", 1, cat(macs(0x8848), mplsEntry(16, true), ip4), false},
		{"MPLS Ethernet pseudowire with control word", 1, cat(macs(0x8847), mplsEntry(16, true), be32(0x00000007), eth), false},
		{"MPLS Ethernet pseudowire without control word", 1, cat(macs(0x8847), mplsEntry(16, true), eth), false},
		{"MPLS Ethernet pseudowire, MAC starting with 3", 1, cat(macs(0x8847), mplsEntry(16, true), []byte{0x3c, 0xfd, 0xfe, 0, 0, 2}, eth[6:]), false},
		{"MPLS over GRE", 1, gre(0, 0, 0x8847, nil, cat(mplsEntry(16, true), ip4)), false},
		{"MPLS in UDP", 1, udp4(49152, 6635, cat(mplsEntry(16, true), ip6)), true},
		{"MPLS in IP", 1, outer4(137, cat(mplsEntry(16, true), ip4)), false},
		{"MPLS over PPP", layers.LinkTypePPP, cat([]byte{0xff, 0x03}, be16(0x0281), mplsEntry(16, true), ip4), false},

		// PPPoE (RFC 2516) and PPP.
		{"PPPoE session IPv4", 1, cat(macs(0x8864), pppoe(be16(0x0021), ip4)), false},
		{"PPPoE session IPv6", 1, cat(macs(0x8864), pppoe(be16(0x0057), ip6)), true},
		{"PPPoE over 802.1Q", 1, cat(macs(0x8100), be16(5), be16(0x8864), pppoe(be16(0x0021), ip4)), false},
		{"PPPoE over QinQ", 1, cat(macs(0x88a8), be16(200), be16(0x8100), be16(100), be16(0x8864), pppoe(be16(0x0021), ip4)), false},
		{"PPPoE, PPP protocol compressed", 1, cat(macs(0x8864), pppoe([]byte{0x21}, ip4)), false},
		{"PPPoE with an Ethernet trailer", 1, cat(macs(0x8864), pppoe(be16(0x0021), ip4), []byte{0, 0, 0, 0}), false},
		{"LINKTYPE_PPP with address and control", layers.LinkTypePPP, cat([]byte{0xff, 0x03}, be16(0x0021), ip4), false},
		{"LINKTYPE_PPP without", layers.LinkTypePPP, cat(be16(0x0057), ip6), true},
		{"LINKTYPE_PPP_HDLC", layers.LinkTypePPP_HDLC, cat([]byte{0xff, 0x03}, be16(0x0021), ip4), false},
		{"LINKTYPE_PPP_HDLC, Cisco framing", layers.LinkTypePPP_HDLC, cat([]byte{0x0f, 0x00}, be16(0x86dd), ip6), true},
		{"LINKTYPE_C_HDLC", layers.LinkTypeC_HDLC, cat([]byte{0x8f, 0x00}, be16(0x0800), ip4), false},
		{"LINKTYPE_PPP_ETHER", layers.LinkTypePPPEthernet, pppoe(be16(0x0021), ip4), false},

		// GTP-U (3GPP TS 29.281).
		{"GTP-U", 1, gtp(0x30, nil, ip4), false},
		{"GTP-U IPv6", 1, gtp(0x30, nil, ip6), true},
		{"GTP-U with sequence number", 1, gtp(0x32, []byte{0, 9, 0, 0}, ip4), false},
		{"GTP-U with two extension headers", 1, gtp(0x34, cat([]byte{0, 0, 0, 0x85}, []byte{1, 0x10, 0x09, 0x40}, []byte{2, 1, 2, 3, 4, 5, 6, 0}), ip4), false},

		// ERSPAN (draft-foschiano-erspan) over GRE.
		{"ERSPAN type I", 1, gre(0, 0, 0x88be, nil, eth), false},
		{"ERSPAN type II", 1, gre(0x10, 0, 0x88be, be32(1), cat(erspan2, eth)), false},
		{"ERSPAN type III", 1, gre(0x10, 0, 0x22eb, be32(1), cat(erspan3(0, false), eth)), false},
		{"ERSPAN type III with subheader", 1, gre(0x10, 0, 0x22eb, be32(1), cat(erspan3(0, true), eth)), false},
		{"ERSPAN type III carrying IP", 1, gre(0x10, 0, 0x22eb, be32(1), cat(erspan3(2, false), ip6)), true},
		{"ERSPAN type II over GRE over IPv6", 1, outer6(47, cat([]byte{0x10, 0}, be16(0x88be), be32(1), erspan2, eth)), false},

		// GRE variants.
		{"GRE with checksum, key and sequence number", 1, gre(0xb0, 0, 0x0800, cat(be32(0), be32(0x42), be32(7)), ip4), false},
		{"GRE with a source route (RFC 1701)", 1, gre(0x40, 0, 0x86dd, cat(be32(0), be16(0x0800), []byte{0, 8}, make([]byte, 8), be32(0)), ip6), true},
		{"NVGRE", 1, gre(0x20, 0, 0x6558, be32(0x123407), eth), false},
		{"PPTP enhanced GRE", 1, gre(0x30, 0x01, 0x880b, cat(be16(uint16(4+len(ip4))), be16(0x4000), be32(1)), cat([]byte{0xff, 0x03}, be16(0x0021), ip4)), false},
		{"PPTP enhanced GRE with acknowledgment", 1, gre(0x30, 0x81, 0x880b, cat(be16(uint16(2+len(ip6))), be16(0x4000), be32(2), be32(1)), cat(be16(0x0057), ip6)), true},
		{"GRE in UDP", 1, udp4(49152, 4754, cat(be16(0), be16(0x0800), ip4)), false},
		{"GRE over IPv6", 1, outer6(47, cat(be16(0), be16(0x0800), ip4)), false},

		// 802.2 LLC/SNAP (RFC 1042).
		{"802.3 LLC/SNAP", 1, dot3(snap([]byte{0, 0, 0}, 0x0800), ip4), false},
		{"802.3 LLC/SNAP, OUI 00-00-F8", 1, dot3(snap([]byte{0, 0, 0xf8}, 0x86dd), ip6), true},
		{"802.3 LLC/SNAP with padding", 1, cat(dot3(snap([]byte{0, 0, 0}, 0x0800), ip4), make([]byte, 6)), false},
		{"802.3 LLC SAP 06", 1, dot3([]byte{0x06, 0x06, 0x03}, ip4), false},
		{"802.1Q, 802.3 length, LLC/SNAP", 1, cat(macs(0x8100), be16(9), be16(uint16(8+len(ip4))), snap([]byte{0, 0, 0}, 0x0800), ip4), false},
		{"LINUX_SLL, LLC/SNAP", layers.LinkTypeLinuxSLL, sll(0x0004, cat(snap([]byte{0, 0, 0}, 0x0800), ip4)), false},

		// Provider backbone bridging, FabricPath.
		{"PBB: B-TAG and I-TAG", 1, cat(macs(0x88a8), be16(300), be16(0x88e7), be32(0x00010000), eth), false},
		{"PBB: I-TAG alone", 1, cat(macs(0x88e7), be32(0x00010000), eth), false},
		{"FabricPath", 1, cat(macs(0x8903), be16(1<<6|32), eth), false},
		{"FabricPath after an 802.1Q tag", 1, cat(macs(0x8100), be16(3), be16(0x8903), be16(1<<6|32), eth), false},

		// IPv6 tunnels over UDP.
		{"AYIYA IPv6", 1, ayiya(41, ip6), true},
		{"AYIYA IPv4", 1, ayiya(4, ip4), false},
		// Zeek's ayiya-large-identity trace: the identity length nibble 8
		// is 256 bytes, which once wrapped to 0 in a uint8.
		{"AYIYA with a 256-byte identity", 1, udp4(40000, 5072, cat([]byte{8<<4 | 1, 5<<4 | 2, 1<<4 | 1, 41}, be32(0), make([]byte, 256+20), ip6)), true},
		{"Teredo", 1, udp4(3544, 40001, ip6), true},
		{"Teredo from the client", 1, udp4(40001, 3544, ip6), true},
		{"Teredo with origin indication", 1, udp4(3544, 40001, cat(teredoOrigin, ip6)), true},
		{"Teredo with authentication and origin", 1, udp4(3544, 40001, cat(teredoAuth, teredoOrigin, ip6)), true},

		// NFLOG (LINKTYPE_NFLOG).
		{"NFLOG little-endian", linkTypeNFLOG, nflog(binary.LittleEndian, 2, 0, ip4), false},
		{"NFLOG big-endian", linkTypeNFLOG, nflog(binary.BigEndian, 2, 0, ip4), false},
		{"NFLOG IPv6", linkTypeNFLOG, nflog(binary.LittleEndian, 10, 0, ip6), true},
		{"NFLOG, NLA flags in the types", linkTypeNFLOG, nflog(binary.LittleEndian, 2, 0x4000, ip4), false},
		{"NFLOG big-endian, NLA flags in the types", linkTypeNFLOG, nflog(binary.BigEndian, 2, 0x4000, ip4), false},

		// Others.
		{"Geneve with options", 1, udp4(49152, 6081, cat(geneveOpts, eth)), false},
		{"Geneve carrying IPv6", 1, udp4(49152, 6081, cat([]byte{0, 0, 0x86, 0xdd, 0, 0, 42, 0}, ip6)), true},
		{"EtherIP", 1, outer4(97, cat(be16(0x3000), eth)), false},
		{"LINUX_SLL2 on an IPGRE device", layers.LinkTypeLinuxSLL2, sll2(0x0800, 778, ip4), false},
		{"IPv6 in IPv4", 1, outer4(41, ip6), true},
		{"IPv4 in IPv6", 1, outer6(4, ip4), false},
		{"IPv6 in IPv6", 1, outer6(41, ip6), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seg, res, _ := decodeOne(t, tc.pkt, tc.lt)
			if res != resTCP {
				t.Fatalf("result %v, want TCP", res)
			}
			src := flowstate.AddrFrom4([4]byte(ip4A))
			if tc.v6 {
				src = flowstate.Addr(ip6A.To16())
			}
			if seg.Src != src || seg.SrcPort != 40000 || seg.DstPort != 8080 || seg.Seq != 1000 || seg.Len != 5 {
				t.Errorf("inner segment wrong: %+v", seg)
			}
		})
	}
}

// TestDecodeEncapsulationsNotTCP: well-formed encapsulations that carry no
// TCP, and malformed ones.
func TestDecodeEncapsulationsNotTCP(t *testing.T) {
	ip4, eth := innerIP4(t), innerEth(t)
	for _, tc := range []struct {
		name string
		lt   layers.LinkType
		pkt  []byte
		want result
	}{
		{"PPPoE discovery (PADI)", 1, cat(macs(0x8863), []byte{0x11, 0x09, 0, 0, 0, 4, 1, 1, 0, 0}), resNonTCP},
		{"PPP LCP", 1, cat(macs(0x8864), []byte{0x11, 0, 0, 1, 0, 6}, be16(0xc021), []byte{1, 1, 0, 4}), resNonTCP},
		{"GTP-U echo request", 1, udp4(2152, 2152, cat([]byte{0x32, 0x01, 0, 4}, be32(0), []byte{0, 1, 0, 0})), resNonTCP},
		{"GTP' (protocol type 0)", 1, udp4(2152, 2152, cat([]byte{0x20, 0xff}, be16(uint16(len(ip4))), be32(0), ip4)), resNonTCP},
		{"AYIYA heartbeat", 1, udp4(5072, 5072, cat([]byte{0, 0, 1<<4 | 0, 59}, be32(1), []byte{1})), resNonTCP},
		{"Teredo bubble", 1, udp4(3544, 40001, cat([]byte{0x60, 0, 0, 0, 0, 0, 59, 64}, make([]byte, 32))), resNonTCP},
		{"MPLS OAM (PW associated channel)", 1, cat(macs(0x8847), mplsEntry(13, true), be32(0x10000007)), resNonTCP},
		{"LLC STP", 1, cat(macB, macA, be16(38), []byte{0x42, 0x42, 0x03}, make([]byte, 35)), resNonTCP},
		{"SNAP with Cisco's OUI (CDP)", 1, cat(macB, macA, be16(20), []byte{0xaa, 0xaa, 0x03, 0, 0, 0x0c, 0x20, 0}, make([]byte, 12)), resNonTCP},
		{"GRE version 2", 1, outer4(47, cat([]byte{0, 2}, be16(0x0800), ip4)), resNonTCP},
		{"GRE keepalive (protocol 0)", 1, outer4(47, cat(be16(0), be16(0))), resNonTCP},
		{"ERSPAN version 3", 1, outer4(47, cat([]byte{0x10, 0}, be16(0x88be), be32(1), be16(0x3000), make([]byte, 6), eth)), resNonTCP},
		{"NFLOG without a payload", linkTypeNFLOG, []byte{2, 0, 0, 5, 8, 0, 1, 0, 8, 0, 0, 0}, resNonTCP},
		{"Geneve version 1", 1, udp4(49152, 6081, cat([]byte{0x40, 0, 0x65, 0x58, 0, 0, 42, 0}, eth)), resNonTCP},
		{"SLL2 netlink", layers.LinkTypeLinuxSLL2, cat([]byte{0, 0, 0, 0, 0, 0, 0, 1, 0x03, 0x38, 0, 0}, make([]byte, 8), []byte{16, 0, 0, 0}), resNonTCP},

		{"MPLS stack without bottom", 1, cat(macs(0x8847), mplsEntry(16, false), mplsEntry(17, false)), resUndecodable},
		{"PPPoE version 2", 1, cat(macs(0x8864), []byte{0x21, 0, 0, 1, 0, 2}, be16(0x0021)), resUndecodable},
		{"PPPoE header cut", 1, cat(macs(0x8864), []byte{0x11, 0, 0}), resUndecodable},
		{"GTP-U extension header of length 0", 1, udp4(2152, 2152, cat([]byte{0x34, 0xff, 0, 8}, be32(0), []byte{0, 0, 0, 0x85}, []byte{0, 0, 0, 0})), resUndecodable},
		{"GTP-U extension headers past the packet", 1, udp4(2152, 2152, cat([]byte{0x34, 0xff, 0, 8}, be32(0), []byte{0, 0, 0, 0x85}, []byte{9, 0, 0, 0})), resUndecodable},
		{"GRE cut inside the key", 1, outer4(47, cat([]byte{0x20, 0}, be16(0x0800), []byte{0, 0})), resUndecodable},
		{"GRE source routes without end", 1, outer4(47, cat([]byte{0x40, 0}, be16(0x0800), be32(0), be16(0x0800), []byte{0, 200}, make([]byte, 8))), resUndecodable},
		{"ERSPAN III cut before its subheader", 1, outer4(47, cat([]byte{0x10, 0}, be16(0x22eb), be32(1), be16(0x2000), be16(0), be32(0), be16(0), be16(1), []byte{0, 0})), resUndecodable},
		{"NFLOG TLV length below 4", linkTypeNFLOG, []byte{2, 0, 0, 5, 2, 0, 1, 0}, resUndecodable},
		{"NFLOG version 1", linkTypeNFLOG, []byte{2, 1, 0, 5, 8, 0, 1, 0, 8, 0, 0, 0}, resUndecodable},
		{"Teredo authentication cut", 1, udp4(3544, 40001, []byte{0, 1, 9, 9, 0}), resUndecodable},
		{"AYIYA cut in its identity", 1, udp4(5072, 5072, cat([]byte{4<<4 | 1, 5<<4 | 2, 1<<4 | 1, 41}, be32(1), make([]byte, 10))), resUndecodable},
		{"FabricPath tag cut", 1, cat(macs(0x8903), []byte{0}), resUndecodable},
		{"PBB I-TAG cut", 1, cat(macs(0x88e7), []byte{0, 1}), resUndecodable},
		{"PPP with an even one-byte protocol", layers.LinkTypePPP, []byte{0x02}, resUndecodable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, res, _ := decodeOne(t, tc.pkt, tc.lt); res != tc.want {
				t.Errorf("result %v, want %v", res, tc.want)
			}
		})
	}
}

// TestDecodeIPVersionMismatch: an IPv4 header must say 4 and an IPv6
// header 6, whatever announced it.
func TestDecodeIPVersionMismatch(t *testing.T) {
	ip4, ip6 := innerIP4(t), innerIP6(t)
	as := func(v byte, pkt []byte) []byte { // pkt with its version nibble replaced
		p := append([]byte(nil), pkt...)
		p[0] = v<<4 | p[0]&0x0f
		return p
	}
	sll := func(proto uint16, pkt []byte) []byte {
		h := make([]byte, 16)
		binary.BigEndian.PutUint16(h[2:], 1)
		binary.BigEndian.PutUint16(h[14:], proto)
		return cat(h, pkt)
	}
	for _, tc := range []struct {
		name string
		lt   layers.LinkType
		pkt  []byte
	}{
		{"IPv6 packet after EtherType IPv4", 1, cat(macs(0x0800), ip6)},
		{"IPv4 packet after EtherType IPv6", 1, cat(macs(0x86dd), ip4)},
		{"IPv4 header saying 5", 1, cat(macs(0x0800), as(5, ip4))},
		{"IPv6 header saying 7", 1, cat(macs(0x86dd), as(7, ip6))},
		{"after an 802.1Q tag", 1, cat(macs(0x8100), be16(1), be16(0x0800), ip6)},
		{"after a LINUX_SLL protocol", layers.LinkTypeLinuxSLL, sll(0x86dd, ip4)},
		{"LINKTYPE_IPV4 holding IPv6", layers.LinkTypeIPv4, ip6},
		{"LINKTYPE_IPV6 holding IPv4", layers.LinkTypeIPv6, ip4},
		{"NULL AF_INET holding IPv6", layers.LinkTypeNull, cat([]byte{2, 0, 0, 0}, ip6)},
		{"IP in IP holding IPv6", 1, outer4(4, ip6)},
		{"IPv6 in IPv4 holding IPv4", 1, outer4(41, ip4)},
		{"GRE protocol IPv4 holding IPv6", 1, outer4(47, cat(be16(0), be16(0x0800), ip6))},
		{"PPP IPv6 holding IPv4", layers.LinkTypePPP, cat(be16(0x0057), ip4)},
		{"NFLOG AF_INET holding IPv6", linkTypeNFLOG, nflog(binary.LittleEndian, 2, 0, ip6)},
		{"AYIYA next header 41 holding IPv4", 1, udp4(5072, 5072, cat([]byte{0, 0, 1<<4 | 1, 41}, be32(1), make([]byte, 1), ip4))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, res, _ := decodeOne(t, tc.pkt, tc.lt); res != resBadIPVersion {
				t.Errorf("result %v, want IP version mismatch", res)
			}
		})
	}
}

// TestDecodeEncapsulationsDoNotAllocate decodes one packet of each kind
// repeatedly: the common paths allocate nothing.
func TestDecodeEncapsulationsDoNotAllocate(t *testing.T) {
	ip4, ip6, eth := innerIP4(t), innerIP6(t), innerEth(t)
	d := newDecoder()
	for _, tc := range []struct {
		name string
		lt   layers.LinkType
		pkt  []byte
	}{
		{"MPLS", 1, cat(macs(0x8847), mplsEntry(16, false), mplsEntry(17, true), ip4)},
		{"MPLS pseudowire", 1, cat(macs(0x8847), mplsEntry(16, true), be32(0), eth)},
		{"PPPoE over QinQ", 1, cat(macs(0x88a8), be16(200), be16(0x8100), be16(100), be16(0x8864), []byte{0x11, 0, 0x12, 0x34}, be16(uint16(2+len(ip6))), be16(0x0057), ip6)},
		{"GTP-U", 1, udp4(2152, 2152, cat([]byte{0x30, 0xff}, be16(uint16(len(ip4))), be32(7), ip4))},
		{"ERSPAN II", 1, outer4(47, cat([]byte{0x10, 0}, be16(0x88be), be32(1), be16(0x1000), be16(3), be32(9), eth))},
		{"NFLOG", linkTypeNFLOG, nflog(binary.LittleEndian, 2, 0, ip4)},
		{"LLC/SNAP", 1, cat(macB, macA, be16(uint16(8+len(ip4))), []byte{0xaa, 0xaa, 3, 0, 0, 0, 8, 0}, ip4)},
		{"Teredo", 1, udp4(3544, 40001, ip6)},
		{"Geneve with options", 1, udp4(49152, 6081, cat([]byte{0x01, 0, 0x65, 0x58, 0, 0, 42, 0}, []byte{0, 1, 2, 0}, eth))},
		{"IPv4 header saying 6", 1, cat(macs(0x0800), ip6)},
		{"truncated TCP header", 1, cat(macs(0x0800), ip4[:30])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var seg flowstate.Segment
			d.decode(tc.pkt, tc.lt, &seg)
			if n := testing.AllocsPerRun(1000, func() { d.decode(tc.pkt, tc.lt, &seg) }); n != 0 {
				t.Errorf("%v allocations per packet", n)
			}
		})
	}
}
