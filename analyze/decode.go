package analyze

import (
	"encoding/binary"
	"strconv"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// result says what decoding one record gave.
type result uint8

const (
	resTCP          result = iota // a TCP segment, written to the Segment
	resNonTCP                     // a well-formed packet that carries no TCP
	resUndecodable                // headers malformed, or cut before the TCP header
	resTruncatedTCP               // a TCP header cut short, or its data offset below 5 or past the packet
	resBadIPVersion               // an IP header whose version nibble is not its type's
	resFragment                   // an IP fragment, held for reassembly or of a datagram without TCP
	resUnsupported                // the record's link type is not one we decode
)

var resultNames = [...]string{
	resTCP: "TCP", resNonTCP: "non-TCP", resUndecodable: "undecodable", resTruncatedTCP: "truncated TCP header",
	resBadIPVersion: "IP version mismatch", resFragment: "IP fragment", resUnsupported: "unsupported link type",
}

func (r result) String() string {
	if int(r) < len(resultNames) {
		return resultNames[r]
	}
	return "result(" + strconv.Itoa(int(r)) + ")"
}

// start is the first layer a parser decodes.
type start uint8

const (
	startEthernet start = iota
	startSLL
	startSLL2
	startIPv4
	startIPv6
	startUDP
	startGRE
	startMPLS
	startEtherIP
	startNFLOG
	startPPP
	startPPPoE
	startCHDLC
	nStarts
)

var startLayer = [nStarts]gopacket.LayerType{
	startEthernet: layers.LayerTypeEthernet,
	startSLL:      layers.LayerTypeLinuxSLL,
	startSLL2:     layers.LayerTypeLinuxSLL2,
	startIPv4:     layers.LayerTypeIPv4,
	startIPv6:     layers.LayerTypeIPv6,
	startUDP:      layers.LayerTypeUDP,
	startGRE:      layers.LayerTypeGRE,
	startMPLS:     layers.LayerTypeMPLS,
	startEtherIP:  layers.LayerTypeEtherIP,
	startNFLOG:    layerTypeNFLOG,
	startPPP:      layers.LayerTypePPP,
	startPPPoE:    layers.LayerTypePPPoE,
	startCHDLC:    layerTypeCHDLC,
}

// startAfterIP gives the parser for what an IP header's protocol field
// announces, for the packets reached by hand (after IPv6 extension
// headers, or reassembled): the tunnels ipNext lists.
func startAfterIP(proto uint8) (start, bool) {
	switch ipNext(proto) {
	case layers.LayerTypeIPv4:
		return startIPv4, true
	case layers.LayerTypeIPv6:
		return startIPv6, true
	case layers.LayerTypeUDP:
		return startUDP, true
	case layers.LayerTypeGRE:
		return startGRE, true
	case layers.LayerTypeMPLS:
		return startMPLS, true
	case layers.LayerTypeEtherIP:
		return startEtherIP, true
	}
	return 0, false
}

// maxTunnelDepth bounds how many times decoding re-enters a parser for a
// packet carried inside another (after IPv6 extension headers, or in a
// reassembled datagram).
const maxTunnelDepth = 4

// IP protocol numbers walked by hand (IANA "Assigned Internet Protocol
// Numbers"). gopacket's layers decode Hop-by-Hop and Destination options but
// not Routing or Fragment, so the IPv6 extension-header chain is walked here.
const (
	protoHopByHop = 0
	protoIPIP     = 4
	protoTCP      = 6
	protoUDP      = 17
	protoIPv6     = 41
	protoRouting  = 43
	protoFragment = 44
	protoGRE      = 47
	protoAH       = 51
	protoDstOpts  = 60
	protoMobility = 135
	protoHIP      = 139
	protoShim6    = 140
	protoExp1     = 253
	protoExp2     = 254
)

// decoder turns one record into a flowstate.Segment. It owns preallocated
// layers shared by one DecodingLayerParser per first layer, so decoding a
// packet allocates nothing. Tunnels are decoded by the same parser: an
// inner IPv4 header overwrites the outer one in d.ip4, which is what we
// want, since only the innermost IP header and its TCP header matter.
// IP fragments are held in frags until their datagram is whole (see
// reassembly.go); now is the time of the record being decoded, which
// their timeouts count in.
type decoder struct {
	eth    ethernetLayer
	dot1q  dot1qLayer
	sll    sllLayer
	sll2   sll2Layer
	ip4    ipv4Layer
	ip6    ipv6Layer
	udp    udpLayer
	vxlan  layers.VXLAN
	geneve geneveLayer
	gre    greLayer
	erspan erspanLayer
	mpls   mplsLayer
	pppoe  pppoeLayer
	ppp    pppLayer
	chdlc  chdlcLayer
	llc    llcLayer
	pbb    pbbLayer
	fp     fabricPathLayer
	gtpu   gtpuLayer
	ayiya  ayiyaLayer
	teredo teredoLayer
	nflog  nflogLayer
	eip    layers.EtherIP

	parsers [nStarts]*gopacket.DecodingLayerParser
	decoded []gopacket.LayerType

	now   int64
	frags *fragTable
	// fragState says what the record being decoded did to frags;
	// reassembling is set while a reassembled datagram is decoded.
	fragState    fragState
	reassembling bool
}

func newDecoder() *decoder {
	d := &decoder{decoded: make([]gopacket.LayerType, 0, 32)}
	var dlc gopacket.DecodingLayerContainer = gopacket.DecodingLayerSparse(nil)
	for _, l := range []gopacket.DecodingLayer{
		&d.eth, &d.dot1q, &d.sll, &d.sll2, &d.ip4, &d.ip6, &d.udp, &d.vxlan, &d.geneve,
		&d.gre, &d.erspan, &d.mpls, &d.pppoe, &d.ppp, &d.chdlc, &d.llc, &d.pbb, &d.fp,
		&d.gtpu, &d.ayiya, &d.teredo, &d.nflog, &d.eip,
	} {
		dlc = dlc.Put(l)
	}
	for i := range d.parsers {
		p := gopacket.NewDecodingLayerParser(startLayer[i])
		p.SetDecodingLayerContainer(dlc)
		// Stop quietly at the first layer we do not decode (TCP among
		// them: its header is read by hand below) and look at what was
		// decoded last.
		p.IgnoreUnsupported = true
		d.parsers[i] = p
	}
	return d
}

// Link types decoded besides those gopacket names (libpcap
// pcap-linktype(7)).
const (
	linkTypeNFLOG layers.LinkType = 239
)

// supportedLinkType reports whether records of link type lt are decoded.
func supportedLinkType(lt layers.LinkType) bool {
	switch lt {
	case layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
		layers.LinkTypeNull, layers.LinkTypeLoop,
		layers.LinkTypeRaw, linkTypeRaw12, linkTypeRaw14,
		layers.LinkTypeIPv4, layers.LinkTypeIPv6,
		linkTypeNFLOG, layers.LinkTypePPP, layers.LinkTypePPP_HDLC, layers.LinkTypePPPEthernet,
		layers.LinkTypeC_HDLC:
		return true
	}
	return false
}

// DLT_RAW as some systems write it into files instead of LINKTYPE_RAW
// (libpcap pcap-common.c: 12 on most BSDs, 14 on OpenBSD).
const (
	linkTypeRaw12 layers.LinkType = 12
	linkTypeRaw14 layers.LinkType = 14
)

// decode decodes one record of link type lt. For resTCP it fills seg's
// addresses, ports, TTL, sequence numbers, flags, window, Len and options
// (not Time, File or Frame), and cut reports whether the captured payload
// is shorter than Len. Set d.now to the record's time first: IP fragments
// are held across calls, and the record that completes a datagram returns
// its segment.
func (d *decoder) decode(data []byte, lt layers.LinkType, seg *flowstate.Segment) (res result, cut bool) {
	d.fragState = fragNone
	seg.Dir, seg.Iface = flowstate.DirUnknown, 0
	switch lt {
	case layers.LinkTypeEthernet:
		return d.parse(startEthernet, data, seg, 0)
	case layers.LinkTypeLinuxSLL:
		res, cut = d.parse(startSLL, data, seg, 0)
		if res == resTCP {
			seg.Dir = sllDir(uint8(d.sll.PacketType))
		}
		return res, cut
	case layers.LinkTypeLinuxSLL2:
		res, cut = d.parse(startSLL2, data, seg, 0)
		if res == resTCP {
			seg.Dir = sllDir(uint8(d.sll2.PacketType))
			seg.Iface = uint8(d.sll2.InterfaceIndex)
		}
		return res, cut
	case layers.LinkTypeRaw, linkTypeRaw12, linkTypeRaw14:
		// No link header: the IP version nibble says which IP.
		if len(data) == 0 {
			return resUndecodable, false
		}
		switch data[0] >> 4 {
		case 4:
			return d.parse(startIPv4, data, seg, 0)
		case 6:
			return d.parse(startIPv6, data, seg, 0)
		}
		return resUndecodable, false
	case layers.LinkTypeIPv4:
		return d.parse(startIPv4, data, seg, 0)
	case layers.LinkTypeIPv6:
		return d.parse(startIPv6, data, seg, 0)
	case linkTypeNFLOG:
		return d.parse(startNFLOG, data, seg, 0)
	case layers.LinkTypePPP:
		return d.parse(startPPP, data, seg, 0)
	case layers.LinkTypePPP_HDLC:
		// PPP in HDLC-like framing, or Cisco PPP with HDLC framing,
		// whose first byte is 0x0F or 0x8F (pcap-linktype(7)).
		if len(data) > 0 && data[0]&0x7f == 0x0f {
			return d.parse(startCHDLC, data, seg, 0)
		}
		return d.parse(startPPP, data, seg, 0)
	case layers.LinkTypePPPEthernet:
		return d.parse(startPPPoE, data, seg, 0)
	case layers.LinkTypeC_HDLC:
		return d.parse(startCHDLC, data, seg, 0)
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		// A 4-byte address family: in the writer's byte order for NULL,
		// in network order for LOOP. The family is small, so a NULL
		// header starting with two zero bytes is big-endian (as
		// layers.Loopback guesses too).
		if len(data) < 4 {
			return resUndecodable, false
		}
		var fam uint32
		if lt == layers.LinkTypeLoop || data[0] == 0 && data[1] == 0 {
			fam = binary.BigEndian.Uint32(data)
		} else {
			fam = binary.LittleEndian.Uint32(data)
		}
		switch fam {
		case 2: // AF_INET everywhere
			return d.parse(startIPv4, data[4:], seg, 0)
		case 10, 24, 28, 30: // AF_INET6: Linux, OpenBSD/NetBSD, FreeBSD, macOS
			return d.parse(startIPv6, data[4:], seg, 0)
		}
		return resNonTCP, false
	}
	return resUnsupported, false
}

// sllDir maps a cooked header's packet type (packet(7), the same values in
// LINUX_SLL and LINUX_SLL2) to a capture direction.
func sllDir(t uint8) flowstate.Dir {
	switch t {
	case 0, 1, 2: // PACKET_HOST, PACKET_BROADCAST, PACKET_MULTICAST
		return flowstate.DirIncoming
	case 3: // PACKET_OTHERHOST
		return flowstate.DirOtherHost
	case 4: // PACKET_OUTGOING
		return flowstate.DirOutgoing
	}
	return flowstate.DirUnknown
}

// parse runs the parser for st and looks at the last layer it decoded.
func (d *decoder) parse(st start, data []byte, seg *flowstate.Segment, depth int) (result, bool) {
	err := d.parsers[st].DecodeLayers(data, &d.decoded)
	n := len(d.decoded)
	if err == errIPVersion {
		return resBadIPVersion, false
	}
	if err != nil || n == 0 {
		return resUndecodable, false
	}
	switch d.decoded[n-1] {
	case layers.LayerTypeIPv4:
		return d.ipv4(seg, depth)
	case layers.LayerTypeIPv6:
		return d.ipv6(seg, depth)
	}
	return resNonTCP, false
}

// ipv4 reads what follows d.ip4 when the parser stopped there: TCP, a
// fragment, or anything else.
func (d *decoder) ipv4(seg *flowstate.Segment, depth int) (result, bool) {
	ip := &d.ip4
	src, dst := flowstate.AddrFrom4([4]byte(ip.SrcIP)), flowstate.AddrFrom4([4]byte(ip.DstIP))
	// ip.Length is the total length (layers.IPv4 already replaced a
	// zero left by TCP segmentation offload with the captured length).
	declared := int(ip.Length) - int(ip.IHL)*4
	if ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
		// RFC 791 3.2: fragments are matched by source, destination,
		// protocol and identification.
		k := fragKey{src: src, dst: dst, id: uint32(ip.Id), proto: uint8(ip.Protocol)}
		return d.fragment(seg, k, int(ip.FragOffset)*8, declared, ip.Flags&layers.IPv4MoreFragments != 0, ip.Payload, ip.TTL, depth)
	}
	if ip.Protocol != layers.IPProtocolTCP {
		return resNonTCP, false
	}
	return d.tcp(seg, src, dst, ip.TTL, ip.Id, ip.Payload, declared)
}

// ipv6 walks the IPv6 extension-header chain (RFC 8200 section 4) from the
// header after d.ip6 (and its Hop-by-Hop header, which layers.IPv6 decodes
// itself) to TCP.
func (d *decoder) ipv6(seg *flowstate.Segment, depth int) (result, bool) {
	ip := &d.ip6
	proto := uint8(ip.NextHeader)
	payload := ip.Payload // bounded by the payload length, without Hop-by-Hop
	declared := int(ip.Length)
	if ip.HopByHop != nil {
		proto = uint8(ip.HopByHop.NextHeader)
		declared -= ip.HopByHop.ActualLength
	}
	if ip.Length == 0 { // jumbogram: layers.IPv6 bounded the payload by the jumbo length
		declared = len(payload)
	}
	return d.walk6(seg, flowstate.Addr(ip.SrcIP), flowstate.Addr(ip.DstIP), ip.HopLimit, proto, payload, declared, depth)
}

// walk6 follows IPv6 extension headers from proto, the type of the header
// at payload, to TCP or a tunnel; declared is what the IPv6 header says
// payload's length is.
func (d *decoder) walk6(seg *flowstate.Segment, src, dst flowstate.Addr, ttl uint8, proto uint8, payload []byte, declared, depth int) (result, bool) {
	for range 32 {
		var hl int
		switch proto {
		case protoTCP:
			return d.tcp(seg, src, dst, ttl, 0, payload, declared)
		case protoHopByHop, protoRouting, protoDstOpts, protoMobility, protoHIP, protoShim6, protoExp1, protoExp2:
			if len(payload) < 2 {
				return resUndecodable, false
			}
			hl = (int(payload[1]) + 1) * 8
		case protoAH: // RFC 4302 2.2: length in 4-byte units, minus 2
			if len(payload) < 2 {
				return resUndecodable, false
			}
			hl = (int(payload[1]) + 2) * 4
		case protoFragment:
			if len(payload) < 8 {
				return resUndecodable, false
			}
			offM := binary.BigEndian.Uint16(payload[2:4])
			if offM&0xfff9 != 0 { // an offset, or M: a real fragment (RFC 8200 4.5)
				// Matched by source, destination and identification.
				k := fragKey{src: src, dst: dst, id: binary.BigEndian.Uint32(payload[4:8]), proto: payload[0], v6: true}
				return d.fragment(seg, k, int(offM>>3)*8, declared-8, offM&1 != 0, payload[8:], ttl, depth)
			}
			hl = 8 // an atomic fragment (RFC 6946): the packet is whole
		default:
			// A tunnel after extension headers: decode the inner packet.
			if st, ok := startAfterIP(proto); ok {
				if depth >= maxTunnelDepth {
					return resNonTCP, false
				}
				return d.parse(st, payload, seg, depth+1)
			}
			return resNonTCP, false // ICMPv6, No Next Header (59), anything else
		}
		if len(payload) < hl {
			return resUndecodable, false
		}
		proto = payload[0]
		payload = payload[hl:]
		declared -= hl
	}
	return resUndecodable, false
}

// tcp reads the TCP header at b, the IP payload as captured. declared is
// the length of the TCP header and payload according to the IP header, so
// Len stays true when the snaplen cut the packet. Checksums are not
// verified: offload makes them wrong in many captures.
func (d *decoder) tcp(seg *flowstate.Segment, src, dst flowstate.Addr, ttl uint8, ipid uint16, b []byte, declared int) (result, bool) {
	if len(b) < 20 {
		return resTruncatedTCP, false
	}
	hl := int(b[12]>>4) * 4
	if hl < 20 || hl > len(b) || hl > declared {
		return resTruncatedTCP, false
	}
	seg.Src, seg.Dst = src, dst
	seg.SrcPort = binary.BigEndian.Uint16(b[0:2])
	seg.DstPort = binary.BigEndian.Uint16(b[2:4])
	seg.TTL, seg.IPID = ttl, ipid
	seg.Seq = flowstate.Seq(binary.BigEndian.Uint32(b[4:8]))
	seg.Ack = flowstate.Seq(binary.BigEndian.Uint32(b[8:12]))
	// flowstate.Flags follows the header's flag byte bit for bit (RFC
	// 9293 3.1); the NS bit (RFC 3540, historic) is left out.
	seg.Flags = flowstate.Flags(b[13])
	seg.Window = binary.BigEndian.Uint16(b[14:16])
	seg.Len = uint32(declared - hl)
	parseOptions(&seg.Opt, b[20:hl], seg.Ack)
	return resTCP, len(b) < declared
}

// TCP option kinds (IANA "TCP Option Kind Numbers").
const (
	optEnd       = 0
	optNOP       = 1
	optMSS       = 2 // RFC 9293 3.2
	optWScale    = 3 // RFC 7323 2
	optSACKPerm  = 4 // RFC 2018
	optSACK      = 5 // RFC 2018
	optTimestamp = 8 // RFC 7323 3
)

// parseOptions reads the options the analysis uses; ack is the segment's
// acknowledgment number, against which a D-SACK block is recognised. A
// malformed option ends parsing, keeping what came before it, as Linux's
// tcp_parse_options does.
func parseOptions(o *flowstate.Options, b []byte, ack flowstate.Seq) {
	*o = flowstate.Options{WScale: -1}
	for len(b) > 0 {
		switch b[0] {
		case optEnd:
			return
		case optNOP:
			b = b[1:]
			continue
		}
		if len(b) < 2 {
			return
		}
		l := int(b[1])
		if l < 2 || l > len(b) {
			return
		}
		v := b[2:l]
		switch b[0] {
		case optMSS:
			if len(v) == 2 {
				o.MSS = binary.BigEndian.Uint16(v)
			}
		case optWScale:
			if len(v) == 1 {
				// RFC 7323 2.3: a shift above 14 is used as 14.
				o.WScale = int8(min(v[0], 14))
			}
		case optSACKPerm:
			if len(v) == 0 {
				o.SACKPermitted = true
			}
		case optSACK:
			if len(v) > 0 && len(v)%8 == 0 {
				o.NSACK = uint8(min(len(v)/8, 4))
				// RFC 2883 4 (and tcp_check_dsack): the first block is a D-SACK when it starts
				// below the cumulative ACK or lies inside the second block.
				l0 := flowstate.Seq(binary.BigEndian.Uint32(v[0:4]))
				r0 := flowstate.Seq(binary.BigEndian.Uint32(v[4:8]))
				o.DSACK = l0.LessThan(ack)
				if !o.DSACK && len(v) >= 16 {
					l1 := flowstate.Seq(binary.BigEndian.Uint32(v[8:12]))
					r1 := flowstate.Seq(binary.BigEndian.Uint32(v[12:16]))
					o.DSACK = l1.LessThanEq(l0) && r0.LessThanEq(r1)
				}
				// Wireshark's bytes in flight subtract the first
				// three blocks (dissect_tcpopt_sack), in 32 bits.
				for i := 0; i+8 <= len(v) && i < 24; i += 8 {
					o.SACKBytes += binary.BigEndian.Uint32(v[i+4:]) - binary.BigEndian.Uint32(v[i:])
				}
			}
		case optTimestamp:
			if len(v) == 8 {
				o.HasTS = true
				o.TSVal = binary.BigEndian.Uint32(v[0:4])
				o.TSEcr = binary.BigEndian.Uint32(v[4:8])
			}
		}
		b = b[l:]
	}
}
