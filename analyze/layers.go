package analyze

import (
	"encoding/binary"
	"errors"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// The decoding layers one DecodingLayerParser walks. Where gopacket's own
// layer decodes a header without allocating and correctly, it is used,
// wrapped when only the choice of the next layer differs (our choice lives
// in etherNext, ipNext and udpNext, so that every protocol number we follow
// is listed once). The others are ours: gopacket has no DecodeFromBytes for
// MPLS, PPPoE and PPP, its GRE allocates for source routes and knows
// neither ERSPAN type I nor III, its Geneve allocates for options, its SNAP
// ignores the OUI, and it has no NFLOG, PBB, FabricPath, AYIYA or Teredo.
//
// Each of our layers consumes at least one byte or hands its bytes to
// another layer type, so the parser's loop always ends.

// Layer types of our own decoders (gopacket reserves 1000-1999 for
// application types). Where gopacket has a layer type for the protocol,
// ours decodes under that type instead.
var (
	layerTypeFabricPath = gopacket.RegisterLayerType(1760, gopacket.LayerTypeMetadata{Name: "FabricPath (tcptimeline)", Decoder: noDecoder})
	layerTypePBB        = gopacket.RegisterLayerType(1761, gopacket.LayerTypeMetadata{Name: "802.1ah I-TAG (tcptimeline)", Decoder: noDecoder})
	layerTypeERSPAN     = gopacket.RegisterLayerType(1762, gopacket.LayerTypeMetadata{Name: "ERSPAN II/III (tcptimeline)", Decoder: noDecoder})
	layerTypeNFLOG      = gopacket.RegisterLayerType(1763, gopacket.LayerTypeMetadata{Name: "NFLOG (tcptimeline)", Decoder: noDecoder})
	layerTypeAYIYA      = gopacket.RegisterLayerType(1764, gopacket.LayerTypeMetadata{Name: "AYIYA (tcptimeline)", Decoder: noDecoder})
	layerTypeTeredo     = gopacket.RegisterLayerType(1765, gopacket.LayerTypeMetadata{Name: "Teredo (tcptimeline)", Decoder: noDecoder})
	layerTypeCHDLC      = gopacket.RegisterLayerType(1766, gopacket.LayerTypeMetadata{Name: "Cisco HDLC (tcptimeline)", Decoder: noDecoder})
)

// noDecoder is the gopacket.Decoder of our layer types: they are only
// decoded by a DecodingLayerParser.
var noDecoder = gopacket.DecodeFunc(func([]byte, gopacket.PacketBuilder) error {
	return errors.New("decoded by tcptimeline's DecodingLayerParser only")
})

// Errors of our layers. They are values, so a malformed packet allocates
// nothing; errIPVersion is told apart and counted.
var (
	errShort     = errors.New("header cut short")
	errMalformed = errors.New("malformed header")
	errIPVersion = errors.New("IP version nibble does not match the header's type")
)

// EtherTypes, PPP protocol numbers and UDP ports we follow (IANA, IEEE
// registries). The EtherTypes are also GRE protocol types (RFC 2784 2.4).
const (
	etherIPv4       = 0x0800
	etherIPv6       = 0x86dd
	etherDot1Q      = 0x8100
	etherQinQ       = 0x88a8 // IEEE 802.1ad
	etherQinQOld    = 0x9100 // pre-standard QinQ, still seen
	etherMPLS       = 0x8847
	etherMPLSMulti  = 0x8848
	etherPPPoEDisc  = 0x8863
	etherPPPoESess  = 0x8864
	etherTEB        = 0x6558 // transparent Ethernet bridging (GRE, NVGRE, Geneve)
	etherPBB        = 0x88e7 // IEEE 802.1ah I-TAG
	etherFabricPath = 0x8903 // Cisco FabricPath ("DCE")
	etherERSPAN     = 0x88be // ERSPAN type I and II (GRE protocol)
	etherERSPAN3    = 0x22eb // ERSPAN type III (GRE protocol)
	etherPPP        = 0x880b // PPP in PPTP's enhanced GRE (RFC 2637)

	pppIPv4      = 0x0021
	pppIPv6      = 0x0057
	pppMPLS      = 0x0281
	pppMPLSMulti = 0x0283

	portVXLAN     = 4789 // RFC 7348
	portGeneve    = 6081 // RFC 8926
	portGTPU      = 2152 // 3GPP TS 29.281
	portGREinUDP  = 4754 // RFC 8086
	portMPLSinUDP = 6635 // RFC 7510
	portAYIYA     = 5072 // draft-massar-v6ops-ayiya
	portTeredo    = 3544 // RFC 4380

	protoEtherIP = 97  // RFC 3378
	protoMPLS    = 137 // MPLS in IP, RFC 4023
)

// etherNext names the layer that follows an EtherType (an Ethernet or
// 802.1Q type, an SLL protocol, a GRE, Geneve or SNAP protocol type).
func etherNext(et uint16) gopacket.LayerType {
	switch et {
	case etherIPv4:
		return layers.LayerTypeIPv4
	case etherIPv6:
		return layers.LayerTypeIPv6
	case etherDot1Q, etherQinQ, etherQinQOld:
		return layers.LayerTypeDot1Q
	case etherMPLS, etherMPLSMulti:
		return layers.LayerTypeMPLS
	case etherPPPoEDisc, etherPPPoESess:
		return layers.LayerTypePPPoE
	case etherTEB:
		return layers.LayerTypeEthernet
	case etherPBB:
		return layerTypePBB
	case etherFabricPath:
		return layerTypeFabricPath
	}
	return gopacket.LayerTypeZero
}

// ipNext names the layer after an IP header for the protocols decoded by
// the parser itself; TCP, the IPv6 extension headers and everything else
// end the parse (TCP and extension headers are read by hand).
func ipNext(p uint8) gopacket.LayerType {
	switch p {
	case protoIPIP:
		return layers.LayerTypeIPv4
	case protoIPv6:
		return layers.LayerTypeIPv6
	case protoUDP:
		return layers.LayerTypeUDP
	case protoGRE:
		return layers.LayerTypeGRE
	case protoMPLS:
		return layers.LayerTypeMPLS
	case protoEtherIP:
		return layers.LayerTypeEtherIP
	}
	return gopacket.LayerTypeZero
}

// udpPortNext names the tunnel a UDP port carries, by the IANA
// assignments Wireshark also follows by default.
func udpPortNext(port uint16) gopacket.LayerType {
	switch port {
	case portVXLAN:
		return layers.LayerTypeVXLAN
	case portGeneve:
		return layers.LayerTypeGeneve
	case portGTPU:
		return layers.LayerTypeGTPv1U
	case portGREinUDP:
		return layers.LayerTypeGRE
	case portMPLSinUDP:
		return layers.LayerTypeMPLS
	case portAYIYA:
		return layerTypeAYIYA
	case portTeredo:
		return layerTypeTeredo
	}
	return gopacket.LayerTypeZero
}

// ipByNibble names the IP layer the first nibble of b announces, for
// payloads whose carrier does not say (MPLS, GTP-U, ERSPAN III).
func ipByNibble(b []byte) gopacket.LayerType {
	if len(b) > 0 {
		switch b[0] >> 4 {
		case 4:
			return layers.LayerTypeIPv4
		case 6:
			return layers.LayerTypeIPv6
		}
	}
	return gopacket.LayerTypeZero
}

// hop is what each of our layers leaves for the parser: the bytes after
// its header and the layer they hold.
type hop struct {
	payload []byte
	next    gopacket.LayerType
}

func (h *hop) LayerPayload() []byte              { return h.payload }
func (h *hop) NextLayerType() gopacket.LayerType { return h.next }

func (h *hop) set(payload []byte, next gopacket.LayerType) {
	h.payload, h.next = payload, next
}

// Wrappers of gopacket's layers: their decoding, our next layer.

type ethernetLayer struct{ layers.Ethernet }

func (e *ethernetLayer) NextLayerType() gopacket.LayerType {
	if e.EthernetType == layers.EthernetTypeLLC { // an 802.3 length: 802.2 LLC follows
		return layers.LayerTypeLLC
	}
	return etherNext(uint16(e.EthernetType))
}

type dot1qLayer struct{ layers.Dot1Q }

func (d *dot1qLayer) NextLayerType() gopacket.LayerType {
	if d.Type < 0x0600 {
		return layers.LayerTypeLLC
	}
	return etherNext(uint16(d.Type))
}

// Linux cooked-capture protocol types that are not EtherTypes
// (libpcap pcap-linktype(7), LINKTYPE_LINUX_SLL).
const (
	sllProtoLLC   = 0x0004 // an 802.2 LLC header follows
	arphrdFRAD    = 770
	arphrdNetlink = 824
	arphrdRadiotp = 803
)

type sllLayer struct{ layers.LinuxSLL }

func (s *sllLayer) NextLayerType() gopacket.LayerType {
	return sllNext(uint16(s.EthernetType), s.AddrType)
}

type sll2Layer struct{ layers.LinuxSLL2 }

func (s *sll2Layer) NextLayerType() gopacket.LayerType {
	return sllNext(uint16(s.ProtocolType), uint16(s.ARPHardwareType))
}

// sllNext follows an SLL or SLL2 protocol type. For ARPHRD_IPGRE it is a
// GRE protocol type, which etherNext reads as well.
func sllNext(proto, arphrd uint16) gopacket.LayerType {
	switch arphrd {
	case arphrdFRAD, arphrdNetlink, arphrdRadiotp:
		return gopacket.LayerTypeZero
	}
	if proto == sllProtoLLC {
		return layers.LayerTypeLLC
	}
	return etherNext(proto)
}

// ipv4Layer is layers.IPv4 that insists on version 4 and leaves TCP and
// fragments to the decoder.
type ipv4Layer struct{ layers.IPv4 }

func (ip *ipv4Layer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) > 0 && data[0]>>4 != 4 {
		return errIPVersion
	}
	return ip.IPv4.DecodeFromBytes(data, df)
}

func (ip *ipv4Layer) NextLayerType() gopacket.LayerType {
	if ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
		return gopacket.LayerTypeZero
	}
	return ipNext(uint8(ip.Protocol))
}

// ipv6Layer is layers.IPv6 that insists on version 6 and leaves TCP and
// the extension headers to the decoder.
type ipv6Layer struct{ layers.IPv6 }

func (ip *ipv6Layer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) > 0 && data[0]>>4 != 6 {
		return errIPVersion
	}
	if len(data) >= 40 && data[4] == 0 && data[5] == 0 && data[6] != protoHopByHop {
		// Payload length 0 and no Hop-by-Hop header: an empty packet (a
		// Teredo bubble says No Next Header), which layers.IPv6 would
		// take for a jumbogram without its option and reject.
		v := &ip.IPv6
		v.Version, v.Length, v.NextHeader, v.HopLimit = 6, 0, layers.IPProtocol(data[6]), data[7]
		v.SrcIP, v.DstIP, v.HopByHop = data[8:24], data[24:40], nil
		v.BaseLayer = layers.BaseLayer{Contents: data[:40], Payload: data[40:40]}
		return nil
	}
	return ip.IPv6.DecodeFromBytes(data, df)
}

func (ip *ipv6Layer) NextLayerType() gopacket.LayerType {
	next := ip.NextHeader
	if ip.HopByHop != nil {
		next = ip.HopByHop.NextHeader
	}
	return ipNext(uint8(next))
}

// udpLayer is layers.UDP with our port table, the lower port tried first
// as Wireshark's decode_udp_ports does.
type udpLayer struct{ layers.UDP }

func (u *udpLayer) NextLayerType() gopacket.LayerType {
	lo, hi := uint16(u.SrcPort), uint16(u.DstPort)
	if lo > hi {
		lo, hi = hi, lo
	}
	if lt := udpPortNext(lo); lt != gopacket.LayerTypeZero {
		return lt
	}
	return udpPortNext(hi)
}

// Our own layers.

// greLayer is a GRE header: RFC 2784 with the key and sequence number of
// RFC 2890 and the source routes of RFC 1701 (version 0), or PPTP's
// enhanced GRE (RFC 2637, version 1).
type greLayer struct{ hop }

func (g *greLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeGRE }

func (g *greLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < 4 {
		return errShort
	}
	flags, version := data[0], data[1]&0x07
	proto := binary.BigEndian.Uint16(data[2:4])
	seq := flags&0x10 != 0
	hl := 4
	switch version {
	case 0:
		routing := flags&0x40 != 0
		if flags&0x80 != 0 || routing { // checksum and offset
			hl += 4
		}
		if flags&0x20 != 0 { // key
			hl += 4
		}
		if seq {
			hl += 4
		}
		// RFC 1701 source route entries, up to a null one.
		for routing {
			if len(data) < hl+4 {
				return errShort
			}
			family, n := binary.BigEndian.Uint16(data[hl:]), int(data[hl+3])
			hl += 4 + n
			routing = family != 0 || n != 0
		}
	case 1:
		hl += 4 // payload length and call id, always present
		if seq {
			hl += 4
		}
		if data[1]&0x80 != 0 { // acknowledgment number
			hl += 4
		}
	default:
		g.set(nil, gopacket.LayerTypeZero)
		return nil
	}
	if len(data) < hl {
		return errShort
	}
	next := etherNext(proto)
	switch proto {
	case etherERSPAN:
		// Type I has no header of its own and GRE no sequence number
		// (Wireshark's dissect_erspan_88BE tells them apart so too).
		next = layers.LayerTypeEthernet
		if seq {
			next = layerTypeERSPAN
		}
	case etherERSPAN3:
		next = layerTypeERSPAN
	case etherPPP:
		next = layers.LayerTypePPP
	}
	g.set(data[hl:], next)
	return nil
}

// erspanLayer is an ERSPAN type II (version 1, 8 bytes) or type III
// (version 2, 12 bytes and an optional 8-byte platform-specific
// subheader) header (draft-foschiano-erspan).
type erspanLayer struct{ hop }

func (e *erspanLayer) CanDecode() gopacket.LayerClass { return layerTypeERSPAN }

func (e *erspanLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < 8 {
		return errShort
	}
	switch data[0] >> 4 {
	case 1:
		e.set(data[8:], layers.LayerTypeEthernet)
	case 2:
		if len(data) < 12 {
			return errShort
		}
		hl := 12
		if data[11]&0x01 != 0 { // O: platform-specific subheader
			hl += 8
		}
		if len(data) < hl {
			return errShort
		}
		switch frameType := data[10] >> 2 & 0x1f; frameType {
		case 0: // Ethernet
			e.set(data[hl:], layers.LayerTypeEthernet)
		case 2: // IP
			e.set(data[hl:], ipByNibble(data[hl:]))
		default:
			e.set(data[hl:], gopacket.LayerTypeZero)
		}
	default:
		e.set(nil, gopacket.LayerTypeZero)
	}
	return nil
}

// mplsLayer is an MPLS label stack (RFC 3032), all of it. MPLS does not
// say what the stack carries, so the first nibble after the bottom of the
// stack is read as Wireshark does by default (packet-mpls.c dissect_mpls,
// BCP 4928, RFC 4385): 4 is IPv4 and 6 is IPv6 when an IP header fits,
// 0 is an Ethernet pseudowire, with the control word of RFC 4448 unless
// the bytes read better as a bare Ethernet header (as packet-pw-eth.c's
// dissect_pw_eth_heuristic, after RFC 8469 made the control word the
// rule), 1 is a PW associated channel (OAM, nothing for us), and anything
// else is tried as an Ethernet pseudowire without a control word.
type mplsLayer struct{ hop }

func (m *mplsLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeMPLS }

func (m *mplsLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	off := 0
	for {
		if len(data) < off+4 {
			return errShort
		}
		bottom := data[off+2]&0x01 != 0
		off += 4
		if bottom {
			break
		}
	}
	b := data[off:]
	if len(b) == 0 {
		m.set(nil, gopacket.LayerTypeZero)
		return nil
	}
	switch b[0] >> 4 {
	case 4:
		if b[0]&0x0f >= 5 {
			m.set(b, layers.LayerTypeIPv4)
			return nil
		}
	case 6:
		if len(b) >= 40 {
			m.set(b, layers.LayerTypeIPv6)
			return nil
		}
	case 1:
		m.set(b, gopacket.LayerTypeZero)
		return nil
	case 0:
		if len(b) > 4 && plainEthernet(b[4:]) >= plainEthernet(b) {
			m.set(b[4:], layers.LayerTypeEthernet)
			return nil
		}
	}
	if plainEthernet(b) > 0 {
		m.set(b, layers.LayerTypeEthernet)
		return nil
	}
	m.set(b, gopacket.LayerTypeZero)
	return nil
}

// plainEthernet scores how much b looks like the start of an Ethernet
// frame: 0 not at all; 1 a unicast source address and an EtherType we
// know (or an 802.3 length and an LLC header we know); 2 when the bytes
// after an IPv4, IPv6 or ARP EtherType also start like that header.
// Wireshark's looks_like_plain_eth asks its vendor (OUI) table instead,
// which we do not carry.
func plainEthernet(b []byte) int {
	if len(b) < 14 || b[6]&0x01 != 0 { // the source is never a group address
		return 0
	}
	et, p := binary.BigEndian.Uint16(b[12:14]), b[14:]
	switch {
	case et == etherIPv4:
		if len(p) > 0 && p[0]>>4 == 4 && p[0]&0x0f >= 5 {
			return 2
		}
		return 1
	case et == etherIPv6:
		if len(p) > 0 && p[0]>>4 == 6 {
			return 2
		}
		return 1
	case et == 0x0806: // ARP
		if len(p) >= 4 && binary.BigEndian.Uint16(p[2:4]) == etherIPv4 {
			return 2
		}
		return 1
	case etherNext(et) != gopacket.LayerTypeZero:
		return 1
	case et <= 1500 && len(p) >= 3 && p[0] == p[1]&0xfe:
		switch p[0] {
		case 0xaa, 0x42, 0x06, 0xe0, 0xfe, 0xf0:
			return 1
		}
	}
	return 0
}

// pppoeLayer is a PPPoE header (RFC 2516): a session packet carries PPP,
// discovery packets nothing for us.
type pppoeLayer struct{ hop }

func (p *pppoeLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypePPPoE }

func (p *pppoeLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < 6 {
		return errShort
	}
	if data[0] != 0x11 { // version 1, type 1
		return errMalformed
	}
	end := min(6+int(binary.BigEndian.Uint16(data[4:6])), len(data))
	next := gopacket.LayerTypeZero
	if data[1] == 0 { // code 0: session data
		next = layers.LayerTypePPP
	}
	p.set(data[6:end], next)
	return nil
}

// pppLayer is a PPP header (RFC 1661), with or without the HDLC-like
// address and control bytes (RFC 1662) and with a 1- or 2-byte protocol.
type pppLayer struct{ hop }

func (p *pppLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypePPP }

func (p *pppLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	b := data
	if len(b) >= 2 && b[0] == 0xff && b[1] == 0x03 {
		b = b[2:]
	}
	if len(b) < 1 {
		return errShort
	}
	var proto uint16
	if b[0]&0x01 != 0 { // protocol field compression (RFC 1661 6.5)
		proto, b = uint16(b[0]), b[1:]
	} else {
		if len(b) < 2 {
			return errShort
		}
		proto, b = binary.BigEndian.Uint16(b), b[2:]
	}
	next := gopacket.LayerTypeZero
	switch proto {
	case pppIPv4:
		next = layers.LayerTypeIPv4
	case pppIPv6:
		next = layers.LayerTypeIPv6
	case pppMPLS, pppMPLSMulti:
		next = layers.LayerTypeMPLS
	}
	p.set(b, next)
	return nil
}

// chdlcLayer is a Cisco HDLC header (LINKTYPE_C_HDLC): address, control
// and an EtherType.
type chdlcLayer struct{ hop }

func (c *chdlcLayer) CanDecode() gopacket.LayerClass { return layerTypeCHDLC }

func (c *chdlcLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < 4 {
		return errShort
	}
	c.set(data[4:], etherNext(binary.BigEndian.Uint16(data[2:4])))
	return nil
}

// llcLayer is an 802.2 LLC header and, for SAP 0xAA, its SNAP header
// (RFC 1042): the OUIs 00-00-00 and 00-00-F8 (802.1H) carry an EtherType,
// as in Wireshark's packet-llc.c. SAP 0x06 carries IPv4 directly.
type llcLayer struct{ hop }

func (l *llcLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeLLC }

func (l *llcLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < 3 {
		return errShort
	}
	dsap, ssap, control := data[0], data[1]&0xfe, data[2]
	switch {
	case dsap == 0xaa && ssap == 0xaa && control == 0x03:
		if len(data) < 8 {
			return errShort
		}
		next := gopacket.LayerTypeZero
		if data[3] == 0 && data[4] == 0 && (data[5] == 0 || data[5] == 0xf8) {
			next = etherNext(binary.BigEndian.Uint16(data[6:8]))
		}
		l.set(data[8:], next)
	case dsap == 0x06 && ssap == 0x06 && control == 0x03:
		l.set(data[3:], layers.LayerTypeIPv4)
	default:
		l.set(nil, gopacket.LayerTypeZero)
	}
	return nil
}

// pbbLayer is the I-TAG of IEEE 802.1ah provider backbone bridging: 4
// bytes of priority, flags and service id, then the customer's frame.
type pbbLayer struct{ hop }

func (p *pbbLayer) CanDecode() gopacket.LayerClass { return layerTypePBB }

func (p *pbbLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < 4 {
		return errShort
	}
	p.set(data[4:], layers.LayerTypeEthernet)
	return nil
}

// fabricPathLayer is the rest of Cisco's FabricPath tag after its
// EtherType: FTag and TTL, then the original frame (Zeek's FabricPath
// analyzer skips the same 16 bytes from the frame's start).
type fabricPathLayer struct{ hop }

func (f *fabricPathLayer) CanDecode() gopacket.LayerClass { return layerTypeFabricPath }

func (f *fabricPathLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < 2 {
		return errShort
	}
	f.set(data[2:], layers.LayerTypeEthernet)
	return nil
}

// geneveLayer is a Geneve header (RFC 8926 3.4): 8 bytes and the options,
// which we skip.
type geneveLayer struct{ hop }

func (g *geneveLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeGeneve }

func (g *geneveLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < 8 {
		return errShort
	}
	if data[0]>>6 != 0 { // version
		g.set(nil, gopacket.LayerTypeZero)
		return nil
	}
	hl := 8 + int(data[0]&0x3f)*4
	if len(data) < hl {
		return errShort
	}
	g.set(data[hl:], etherNext(binary.BigEndian.Uint16(data[2:4])))
	return nil
}

// gtpuLayer is a GTPv1-U header (3GPP TS 29.281 5.1): 8 bytes, 4 more when
// any of E, S or PN is set, then the chain of extension headers. A G-PDU
// (message type 255) carries an IP packet; other messages are signalling.
type gtpuLayer struct{ hop }

func (g *gtpuLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeGTPv1U }

func (g *gtpuLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < 8 {
		return errShort
	}
	flags := data[0]
	if flags>>5 != 1 || flags&0x10 == 0 { // version 1, protocol type GTP (not GTP')
		g.set(nil, gopacket.LayerTypeZero)
		return nil
	}
	hl := 8
	if flags&0x07 != 0 {
		hl = 12
		if len(data) < hl {
			return errShort
		}
		for next := data[11]; next != 0 && flags&0x04 != 0; {
			if len(data) < hl+1 {
				return errShort
			}
			n := int(data[hl]) * 4 // length in 4-byte units, including itself and the next type
			if n == 0 {
				return errMalformed
			}
			if len(data) < hl+n {
				return errShort
			}
			next = data[hl+n-1]
			hl += n
		}
	}
	end := 8 + int(binary.BigEndian.Uint16(data[2:4]))
	if end < hl {
		return errMalformed
	}
	end = min(end, len(data))
	if data[1] != 0xff {
		g.set(data[hl:end], gopacket.LayerTypeZero)
		return nil
	}
	g.set(data[hl:end], ipByNibble(data[hl:end]))
	return nil
}

// ayiyaLayer is an AYIYA header (draft-massar-v6ops-ayiya 5): 8 bytes, an
// identity of 2^n bytes and a signature of 4n bytes. Only the forward
// opcode carries a packet.
type ayiyaLayer struct{ hop }

func (a *ayiyaLayer) CanDecode() gopacket.LayerClass { return layerTypeAYIYA }

func (a *ayiyaLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < 8 {
		return errShort
	}
	hl := 8 + 1<<(data[0]>>4) + int(data[1]>>4)*4
	if len(data) < hl {
		return errShort
	}
	next := gopacket.LayerTypeZero
	if data[2]&0x0f == 1 { // opcode forward
		switch data[3] {
		case protoIPIP:
			next = layers.LayerTypeIPv4
		case protoIPv6:
			next = layers.LayerTypeIPv6
		}
	}
	a.set(data[hl:], next)
	return nil
}

// teredoLayer skips Teredo's optional authentication and origin
// indication (RFC 4380 5.1.1) before the IPv6 packet.
type teredoLayer struct{ hop }

func (t *teredoLayer) CanDecode() gopacket.LayerClass { return layerTypeTeredo }

func (t *teredoLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	b := data
	if len(b) >= 4 && b[0] == 0 && b[1] == 1 { // authentication: ids, nonce, confirmation
		n := 4 + int(b[2]) + int(b[3]) + 9
		if len(b) < n {
			return errShort
		}
		b = b[n:]
	}
	if len(b) >= 2 && b[0] == 0 && b[1] == 0 { // origin indication
		if len(b) < 8 {
			return errShort
		}
		b = b[8:]
	}
	next := gopacket.LayerTypeZero
	if len(b) >= 40 && b[0]>>4 == 6 {
		next = layers.LayerTypeIPv6
	}
	t.set(b, next)
	return nil
}

// nflogLayer is a LINKTYPE_NFLOG record (libpcap's pcap/nflog.h): a
// 4-byte header (address family, version, group) and TLVs, the packet in
// NFULA_PAYLOAD. The TLV lengths and types are in the byte order of the
// machine that captured; types are small, so the first TLV's type tells
// which (the flag bits NLA_F_NESTED and NLA_F_NET_BYTEORDER masked off).
type nflogLayer struct{ hop }

// NFLOG constants (linux/netfilter/nfnetlink_log.h, linux/socket.h).
const (
	nfulaPayload = 9
	nlaTypeMask  = 0x3fff
	afInet       = 2
	afInet6      = 10
)

func (n *nflogLayer) CanDecode() gopacket.LayerClass { return layerTypeNFLOG }

func (n *nflogLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < 4 {
		return errShort
	}
	if data[1] != 0 { // version
		return errMalformed
	}
	var order binary.ByteOrder = binary.LittleEndian
	if len(data) >= 8 {
		le := binary.LittleEndian.Uint16(data[6:]) & nlaTypeMask
		be := binary.BigEndian.Uint16(data[6:]) & nlaTypeMask
		if be > 0 && be < 0x100 && (le == 0 || le >= 0x100) {
			order = binary.BigEndian
		}
	}
	for off := 4; off+4 <= len(data); {
		l, typ := int(order.Uint16(data[off:])), order.Uint16(data[off+2:])&nlaTypeMask
		if l < 4 {
			return errMalformed
		}
		if typ == nfulaPayload {
			b := data[off+4 : min(off+l, len(data))]
			next := ipByNibble(b)
			switch data[0] {
			case afInet:
				next = layers.LayerTypeIPv4
			case afInet6:
				next = layers.LayerTypeIPv6
			}
			n.set(b, next)
			return nil
		}
		off += (l + 3) &^ 3
	}
	n.set(nil, gopacket.LayerTypeZero) // no packet in this record
	return nil
}
