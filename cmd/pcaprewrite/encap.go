package main

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// The encapsulation modes: each wraps the frames (or the IP packets) of
// eth.pcap in the headers of one link type or tunnel, so that the same
// traffic reaches the decoder through every encapsulation it reads. The
// added headers carry fixed, made-up values (labels, session ids, keys);
// their lengths describe the original (uncut) packet.

// encapMode is one rewrite: its help text and what it does to the capture.
type encapMode struct {
	help string
	do   func(c *capture)
}

var encapModes = map[string]encapMode{
	"mpls": {"put a two-label MPLS stack (labels 1000, 2000; EtherType 0x8847) between the MACs and each IP packet", func(c *capture) {
		c.mapFrames(8, func(f []byte) []byte {
			if ip, _ := ipOf(f); ip != nil {
				return join(f[:12], u16(0x8847), mplsLabel(1000, false), mplsLabel(2000, true), ip)
			}
			return f
		})
	}},
	"mpls-pw": {"carry each frame over an Ethernet pseudowire without control word: outer Ethernet, MPLS label 3000 (bottom of stack), the original frame with its MACs replaced by Intel ones (client 00:1b:21:00:00:01, server 00:1b:21:00:00:02, group addresses kept)", func(c *capture) {
		c.mapFrames(18, func(f []byte) []byte {
			return join(outerDstMAC, outerSrcMAC, u16(0x8847), mplsLabel(3000, true), vendorMACs(f))
		})
	}},
	"mpls-pw-cw": {"carry each frame over an Ethernet pseudowire with a control word (RFC 4448): outer Ethernet, MPLS label 3001 (bottom of stack), a control word with sequence number 0, the original frame", func(c *capture) {
		c.mapFrames(22, func(f []byte) []byte {
			return join(outerDstMAC, outerSrcMAC, u16(0x8847), mplsLabel(3001, true), make([]byte, 4), f)
		})
	}},
	"pppoe": {"carry each IP packet in a PPPoE session (EtherType 0x8864, session 0x1234) and PPP (0x0021 IPv4, 0x0057 IPv6)", func(c *capture) {
		c.mapFramesOrig(8, func(f []byte, orig int) []byte { return pppoeFrame(f, orig, nil) })
	}},
	"pppoe-qinq": {"as pppoe, behind an 802.1ad outer tag (0x88a8, VID 200) and an 802.1Q inner tag (0x8100, VID 100)", func(c *capture) {
		c.mapFramesOrig(16, func(f []byte, orig int) []byte {
			return pppoeFrame(f, orig, join(u16(0x88a8), u16(200), u16(0x8100), u16(100)))
		})
	}},
	"gtpu": {"carry each IP packet in GTPv1-U (G-PDU, TEID 0x1234) over IPv4/UDP 2152; every second one also carries a sequence number and a PDU Session Container extension header", func(c *capture) {
		n := 0
		c.mapIPOrig(44, func(ip []byte, _ bool, orig int) []byte {
			n++
			g := gtpuHeader(orig, n%2 == 0)
			return outerUDP(2152, 2152, join(g, ip), orig+len(g))
		})
	}},
	"erspan1": {"carry each frame in ERSPAN type I: IPv4/GRE (no sequence number, protocol 0x88be), the frame right after the GRE header", func(c *capture) {
		c.mapFramesOrig(38, func(f []byte, orig int) []byte {
			gre := join(u16(0), u16(0x88be))
			return outerIPv4(47, join(gre, f), orig+len(gre))
		})
	}},
	"erspan2": {"carry each frame in ERSPAN type II: IPv4/GRE (sequence number, protocol 0x88be)/ERSPAN II header (version 1, session 5)", func(c *capture) {
		seq := uint32(0)
		c.mapFramesOrig(50, func(f []byte, orig int) []byte {
			seq++
			h := join(u16(0x1000|100), u16(5), u32(7))
			gre := join(u16(0x1000), u16(0x88be), u32(seq))
			return outerIPv4(47, join(gre, h, f), orig+len(gre)+len(h))
		})
	}},
	"erspan3": {"carry each frame in ERSPAN type III: IPv4/GRE (sequence number, protocol 0x22eb)/ERSPAN III header (version 2, session 6); every second frame also has the 8-byte platform-specific subheader (O flag)", func(c *capture) {
		seq := uint32(0)
		c.mapFramesOrig(62, func(f []byte, orig int) []byte {
			seq++
			last := uint16(4 << 4) // hardware id 4, frame type 0 (Ethernet), D 0, granularity 0
			var sub []byte
			if seq%2 == 0 {
				last |= 1 // O: the platform-specific subheader follows
				sub = join(u32(0x04000000), u32(seq))
			}
			h := join(u16(0x2000|100), u16(6), u32(seq*1000), u16(0), u16(last))
			gre := join(u16(0x1000), u16(0x22eb), u32(seq))
			return outerIPv4(47, join(gre, h, sub, f), orig+len(gre)+len(h)+len(sub))
		})
	}},
	"nflog": {"LINKTYPE_NFLOG (239): each IP packet as Linux NFLOG logs it (group 5, prefix \"tcptimeline\"), TLV lengths and types in the file's (little-endian) byte order; ARP dropped", func(c *capture) {
		c.linkType = 239
		c.mapIPOrig(18, func(ip []byte, v6 bool, orig int) []byte { return nflogRecord(c.order, ip, v6, orig) })
	}},
	"llc-snap": {"IEEE 802.3 frames: the EtherType replaced by the length, then an 802.2 LLC header (AA AA 03) and SNAP (OUI 00-00-00, the original EtherType)", func(c *capture) {
		c.mapFramesOrig(8, func(f []byte, orig int) []byte {
			if len(f) < 14 {
				return f
			}
			return join(f[:12], u16(uint16(8+orig-14)), []byte{0xaa, 0xaa, 0x03, 0, 0, 0}, f[12:])
		})
	}},
	"pbb": {"IEEE 802.1ah provider backbone bridging: backbone MACs, B-TAG (0x88a8, VID 300), I-TAG (0x88e7, I-SID 0x010000), then the original frame", func(c *capture) {
		c.mapFrames(22, func(f []byte) []byte {
			return join(outerDstMAC, outerSrcMAC, u16(0x88a8), u16(300), u16(0x88e7), u32(0x00010000), f)
		})
	}},
	"fabricpath": {"Cisco FabricPath: outer switch MACs, EtherType 0x8903, FTag 1 and TTL 32, the original frame, then a 4-byte FCS (CRC-32 of the whole frame; beyond the captured bytes when the snaplen cut the record)", func(c *capture) {
		c.snaplen += 16 + 4
		for i := range c.records {
			r := &c.records[i]
			whole := r.caplen == r.origlen
			d := join([]byte{0x02, 0, 0x0a, 0, 0, 0x01}, []byte{0x02, 0, 0x0b, 0, 0, 0x02}, u16(0x8903), u16(1<<6|32), r.data)
			if whole {
				d = binary.LittleEndian.AppendUint32(d, crc32.ChecksumIEEE(d))
			}
			r.data, r.caplen, r.origlen = d, uint32(len(d)), r.origlen+16+4
		}
	}},
	"ayiya": {"carry each IP packet in AYIYA (IPv4/UDP 5072, opcode forward, 16-byte identity, 20-byte SHA-1 signature, next header 4 or 41)", func(c *capture) {
		c.mapIPOrig(72, func(ip []byte, v6 bool, orig int) []byte {
			next := byte(4)
			if v6 {
				next = 41
			}
			h := join([]byte{4<<4 | 1, 5<<4 | 2, 1<<4 | 1, next}, u32(0x6565f000), make([]byte, 16+20))
			return outerUDP(5072, 5072, join(h, ip), orig+len(h))
		})
	}},
	"teredo": {"carry each IPv6 packet in Teredo (IPv4/UDP, port 3544 on the server side); server-to-client packets carry an origin indication, every fourth client packet an authentication header; IPv4 and ARP frames unchanged", func(c *capture) {
		n := 0
		c.mapFramesOrig(41, func(f []byte, orig int) []byte {
			ip, v6 := ipOf(f)
			if !v6 || len(ip) < 40 {
				return f
			}
			n++
			var h []byte
			sport, dport := uint16(40001), uint16(3544)
			if ip[8+15] == 2 { // from fd99::2, the server
				sport, dport = dport, sport
				h = join(u16(0), u16(^uint16(40001)), u32(^uint32(0x0a630101)))
			} else if n%4 == 1 {
				h = join(u16(1), []byte{0, 0}, make([]byte, 8), []byte{0})
			}
			return outerUDP(sport, dport, join(h, ip), orig-14+len(h))
		})
	}},
	"gre-csum-key-seq": {"as gre, with the checksum, key (0x00000042) and sequence number fields present", func(c *capture) {
		seq := uint32(0)
		c.mapIPOrig(36, func(ip []byte, v6 bool, orig int) []byte {
			seq++
			gre := join(u16(0xb000), u16(etherTypeOf(v6)), u32(0), u32(0x42), u32(seq))
			binary.BigEndian.PutUint16(gre[4:], checksum(join(gre, ip)))
			return outerIPv4(47, join(gre, ip), orig+len(gre))
		})
	}},
	"nvgre": {"carry each frame in NVGRE: IPv4/GRE with the key field (VSID 0x001234, flow id 7), protocol 0x6558, the original frame", func(c *capture) {
		c.mapFramesOrig(42, func(f []byte, orig int) []byte {
			gre := join(u16(0x2000), u16(0x6558), u32(0x1234<<8|7))
			return outerIPv4(47, join(gre, f), orig+len(gre))
		})
	}},
	"gre-pptp": {"carry each IP packet in PPTP's enhanced GRE (version 1, key with payload length and call id 0x4000, sequence number; every second one an acknowledgment number too) and PPP (FF 03, 0x0021 or 0x0057)", func(c *capture) {
		seq := uint32(0)
		c.mapIPOrig(40, func(ip []byte, v6 bool, orig int) []byte {
			seq++
			ppp := join([]byte{0xff, 0x03}, u16(pppProtoOf(v6)))
			flags := uint16(0x3001) // K, S, version 1
			var ack []byte
			if seq%2 == 0 {
				flags |= 0x0080 // A
				ack = u32(seq - 1)
			}
			gre := join(u16(flags), u16(0x880b), u16(uint16(len(ppp)+orig)), u16(0x4000), u32(seq), ack)
			return outerIPv4(47, join(gre, ppp, ip), orig+len(gre)+len(ppp))
		})
	}},
	"gre-udp": {"carry each IP packet in GRE-in-UDP (RFC 8086): IPv4/UDP 4754/GRE", func(c *capture) {
		c.mapIPOrig(32, func(ip []byte, v6 bool, orig int) []byte {
			gre := join(u16(0), u16(etherTypeOf(v6)))
			return outerUDP(49154, 4754, join(gre, ip), orig+len(gre))
		})
	}},
	"gre-mpls": {"carry each IP packet in IPv4/GRE (protocol 0x8847) with one MPLS label (4000, bottom of stack)", func(c *capture) {
		c.mapIPOrig(28, func(ip []byte, _ bool, orig int) []byte {
			gre := join(u16(0), u16(0x8847), mplsLabel(4000, true))
			return outerIPv4(47, join(gre, ip), orig+len(gre))
		})
	}},
	"gre6": {"as gre, over IPv6 (fd99:1::1 -> fd99:1::2, next header 47)", func(c *capture) {
		c.mapIPOrig(44, func(ip []byte, v6 bool, orig int) []byte {
			gre := join(u16(0), u16(etherTypeOf(v6)))
			return outerIPv6(47, join(gre, ip), orig+len(gre))
		})
	}},
	"etherip": {"carry each frame in EtherIP (RFC 3378): IPv4 protocol 97, the 2-byte header 0x3000, the original frame", func(c *capture) {
		c.mapFramesOrig(36, func(f []byte, orig int) []byte {
			return outerIPv4(97, join(u16(0x3000), f), orig+2)
		})
	}},

	// The IP and TCP edge cases: fragments, version nibbles and TCP
	// headers cut short, on chosen records of eth.pcap.
	"ip-fragments": {"fragment every TCP and UDP packet: IPv4 by its header (MF, offsets), IPv6 with a Fragment header (id 0x66000000+n); the first fragment carries 16 bytes of the transport header, the others 48; every second packet's fragments are written last first; all fragments keep the packet's timestamp. The 4 data segments the snaplen cut are filled out with zero bytes, so every fragment is whole", fragmentAll},
	"ip-version": {"patch the IP version nibble of three TCP packets: frame 4 (IPv4 header saying 6), frame 7 (IPv4 saying 5), frame 31 (IPv6 header saying 4)", func(c *capture) {
		for _, p := range []struct {
			frame int
			v     byte
		}{{4, 6}, {7, 5}, {31, 4}} {
			d := c.records[p.frame-1].data
			d[14] = p.v<<4 | d[14]&0x0f
		}
	}},
	"tcp-truncated": {"spoil four TCP headers: frame 4 cut by the snaplen 10 bytes into its TCP header, frame 31 cut 30 bytes into it (inside the options), frame 7 with data offset 4 (below 5), frame 8 with data offset 15 (60 bytes, beyond the packet)", func(c *capture) {
		cut := func(frame, keep int) {
			r := &c.records[frame-1]
			r.data = r.data[:keep]
			r.caplen = uint32(keep)
		}
		cut(4, 14+20+10)
		cut(31, 14+40+30)
		c.records[7-1].data[14+20+12] = 4 << 4
		c.records[8-1].data[14+20+12] = 15 << 4
	}},
}

// join concatenates byte slices into a new one.
func join(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// vendorMACs replaces the fmt-a and fmt-b MACs of a frame by globally
// administered ones of a known vendor (Intel's OUI 00-1B-21): their first
// nibble 0 makes tshark 4.0 try a pseudowire, and it knows the vendor.
func vendorMACs(f []byte) []byte {
	out := append([]byte{}, f...)
	for _, a := range [][]byte{out[0:6], out[6:12]} {
		switch {
		case a[0] == 0x02 && a[1] == 0x99 && a[5] == 1:
			copy(a, []byte{0x00, 0x1b, 0x21, 0, 0, 1})
		case a[0] == 0x02 && a[1] == 0x99 && a[5] == 2:
			copy(a, []byte{0x00, 0x1b, 0x21, 0, 0, 2})
		}
	}
	return out
}

// mplsLabel is one label stack entry (RFC 3032), traffic class 0, TTL 64.
func mplsLabel(label uint32, bottom bool) []byte {
	v := label<<12 | 64
	if bottom {
		v |= 1 << 8
	}
	return u32(v)
}

func etherTypeOf(v6 bool) uint16 {
	if v6 {
		return 0x86dd
	}
	return 0x0800
}

func pppProtoOf(v6 bool) uint16 {
	if v6 {
		return 0x0057
	}
	return 0x0021
}

// pppoeFrame puts tags (may be nil) and a PPPoE session header and PPP
// protocol between the MACs and the IP packet of f; other frames stay.
func pppoeFrame(f []byte, orig int, tags []byte) []byte {
	ip, v6 := ipOf(f)
	if ip == nil {
		return f
	}
	ppp := u16(pppProtoOf(v6))
	pppoe := join([]byte{0x11, 0x00}, u16(0x1234), u16(uint16(len(ppp)+orig-14)))
	return join(f[:12], tags, u16(0x8864), pppoe, ppp, ip)
}

// gtpuHeader is a GTPv1-U G-PDU header for an IP packet of orig bytes; with
// ext, the optional fields and one PDU Session Container extension header
// (3GPP TS 29.281 5.1, 5.2.2.7).
func gtpuHeader(orig int, ext bool) []byte {
	if !ext {
		return join([]byte{0x30, 0xff}, u16(uint16(orig)), u32(0x1234))
	}
	opt := join(u16(0), []byte{0, 0x85})     // sequence 0, N-PDU 0, next: PDU Session Container
	container := []byte{1, 0x10, 0x09, 0x00} // 4 bytes, UL PDU session information, QFI 9, no next
	return join([]byte{0x34, 0xff}, u16(uint16(len(opt)+len(container)+orig)), u32(0x1234), opt, container)
}

// nflogRecord is an NFLOG record (libpcap's LINKTYPE_NFLOG: the nflog
// header, then TLVs whose length and type are in the host byte order of
// the capturing machine, order).
func nflogRecord(order binary.ByteOrder, ip []byte, v6 bool, orig int) []byte {
	tlv := func(typ uint16, declared int, v []byte) []byte {
		h := make([]byte, 4)
		order.PutUint16(h[0:], uint16(4+declared))
		order.PutUint16(h[2:], typ)
		out := join(h, v)
		for len(out)%4 != 0 && declared == len(v) {
			out = append(out, 0)
		}
		return out
	}
	family := byte(2) // AF_INET
	if v6 {
		family = 10 // AF_INET6
	}
	hdr := join([]byte{family, 0}, u16(5))
	pkthdr := tlv(1, 4, join(u16(etherTypeOf(v6)), []byte{1, 0})) // NFULA_PACKET_HDR, hook NF_INET_LOCAL_IN
	prefix := tlv(10, 12, []byte("tcptimeline\x00"))              // NFULA_PREFIX
	payload := tlv(9, orig, ip)                                   // NFULA_PAYLOAD, last
	return join(hdr, pkthdr, prefix, payload)
}

// outerIPv6 returns Ethernet/IPv6(next) around payload; origPayload is the
// payload's uncut length.
func outerIPv6(next byte, payload []byte, origPayload int) []byte {
	ip := make([]byte, 40)
	ip[0] = 0x60
	binary.BigEndian.PutUint16(ip[4:], uint16(origPayload))
	ip[6], ip[7] = next, 64
	copy(ip[8:], []byte{0xfd, 0x99, 0, 1, 14: 0, 15: 1})
	copy(ip[24:], []byte{0xfd, 0x99, 0, 1, 14: 0, 15: 2})
	return join(outerDstMAC, outerSrcMAC, u16(0x86dd), ip, payload)
}

// encapHelp lists the encapsulation modes for the usage text.
func encapHelp() map[string]string {
	m := map[string]string{}
	for name, e := range encapModes {
		m[name] = e.help
	}
	return m
}

func init() {
	for name, help := range encapHelp() {
		if _, dup := modes[name]; dup {
			panic(fmt.Sprintf("pcaprewrite: mode %s defined twice", name))
		}
		modes[name] = help
	}
}

// fragmentAll replaces each TCP or UDP packet by its fragments.
func fragmentAll(c *capture) {
	var out []record
	n := 0
	for _, r := range c.records {
		ip, v6 := ipOf(r.data)
		proto := byte(0)
		switch {
		case ip != nil && !v6 && len(ip) >= 20:
			proto = ip[9]
		case v6 && len(ip) >= 40:
			proto = ip[6]
		}
		if proto != 6 && proto != 17 {
			out = append(out, r)
			continue
		}
		n++
		// The whole packet: what was captured, then zeros up to its length.
		whole := make([]byte, int(r.origlen)-14)
		copy(whole, ip)
		var frags [][]byte
		if v6 {
			frags = fragment6(whole, 0x66000000+uint32(n))
		} else {
			frags = fragment4(whole)
		}
		if n%2 == 0 {
			for i, j := 0, len(frags)-1; i < j; i, j = i+1, j-1 {
				frags[i], frags[j] = frags[j], frags[i]
			}
		}
		for _, f := range frags {
			d := join(r.data[:14], f)
			out = append(out, record{ts: r.ts, caplen: uint32(len(d)), origlen: uint32(len(d)), data: d})
		}
	}
	c.records = out
}

// fragmentSizes splits n bytes of payload: 16, then 48 at a time.
func fragmentSizes(n int) []int {
	var s []int
	for size := 16; n > 0; size = 48 {
		k := min(size, n)
		s = append(s, k)
		n -= k
	}
	return s
}

// fragment4 splits an IPv4 packet without options (RFC 791 3.2): each
// fragment copies the header, with its own total length, MF and offset.
func fragment4(ip []byte) [][]byte {
	payload := ip[20:]
	var out [][]byte
	off := 0
	for _, k := range fragmentSizes(len(payload)) {
		h := append([]byte{}, ip[:20]...)
		binary.BigEndian.PutUint16(h[2:], uint16(20+k))
		ff := uint16(off / 8)
		if off+k < len(payload) {
			ff |= 0x2000 // MF
		}
		binary.BigEndian.PutUint16(h[6:], ff) // DF cleared
		h[10], h[11] = 0, 0
		binary.BigEndian.PutUint16(h[10:], checksum(h))
		out = append(out, join(h, payload[off:off+k]))
		off += k
	}
	return out
}

// fragment6 splits an IPv6 packet without extension headers (RFC 8200
// 4.5): each fragment is the IPv6 header, a Fragment header and a piece.
func fragment6(ip []byte, id uint32) [][]byte {
	payload := ip[40:]
	var out [][]byte
	off := 0
	for _, k := range fragmentSizes(len(payload)) {
		h := append([]byte{}, ip[:40]...)
		binary.BigEndian.PutUint16(h[4:], uint16(8+k))
		h[6] = 44
		fo := uint16(off/8) << 3
		if off+k < len(payload) {
			fo |= 1 // M
		}
		fh := join([]byte{ip[6], 0}, u16(fo), u32(id))
		out = append(out, join(h, fh, payload[off:off+k]))
		off += k
	}
	return out
}
