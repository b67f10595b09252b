package flowstate

import (
	"net/netip"
	"strconv"
	"strings"
)

// Flags holds the TCP header flags.
type Flags uint8

// TCP header flags, in header bit order.
const (
	FIN Flags = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
)

// Has reports whether every flag in g is set in f.
func (f Flags) Has(g Flags) bool { return f&g == g }

// String gives the flags in tcpdump's notation: "S", "S.", ".", "P.",
// "F.", "R", "FP.", "SEW"; "none" when no flag is set. The order is
// tcpdump's (print-tcp.c tcp_flag_values): F S R P . U E W.
func (f Flags) String() string {
	if f == 0 {
		return "none"
	}
	var b strings.Builder
	for _, x := range [...]struct {
		f Flags
		c byte
	}{{FIN, 'F'}, {SYN, 'S'}, {RST, 'R'}, {PSH, 'P'}, {ACK, '.'}, {URG, 'U'}, {ECE, 'E'}, {CWR, 'W'}} {
		if f&x.f != 0 {
			b.WriteByte(x.c)
		}
	}
	return b.String()
}

// Addr is an IP address as a fixed-size value: IPv4 addresses are stored
// IPv4-mapped (::ffff:a.b.c.d). It holds no pointer, so flow keys built
// from it cost the garbage collector nothing.
type Addr [16]byte

// AddrFrom4 returns the Addr of an IPv4 address.
func AddrFrom4(b [4]byte) Addr {
	var a Addr
	a[10], a[11] = 0xff, 0xff
	copy(a[12:], b[:])
	return a
}

// AddrFromNetip converts a netip.Addr.
func AddrFromNetip(ip netip.Addr) Addr { return Addr(ip.As16()) }

// Is4 reports whether a is an IPv4-mapped address.
func (a Addr) Is4() bool { return netip.AddrFrom16(a).Is4In6() }

// Netip returns a as a netip.Addr, unmapped for IPv4.
func (a Addr) Netip() netip.Addr { return netip.AddrFrom16(a).Unmap() }

// String formats the address as netip does.
func (a Addr) String() string { return a.Netip().String() }

// Options holds the TCP options the analysis uses.
type Options struct {
	TSVal, TSEcr  uint32
	MSS           uint16 // 0 when absent
	WScale        int8   // -1 when absent
	SACKPermitted bool
	HasTS         bool
	NSACK         uint8 // number of SACK blocks (their edges are not kept)
	// DSACK: the first SACK block reports data already acknowledged (RFC
	// 2883: it lies below the cumulative ACK, or inside the second block):
	// the receiver got a segment twice.
	DSACK bool
	// SACKBytes is the sum of the lengths (right edge - left edge) of the
	// first three SACK blocks, what Wireshark subtracts from the bytes in
	// flight (packet-tcp.c dissect_tcpopt_sack keeps at most
	// MAX_TCP_SACK_RANGES-1 blocks for it).
	SACKBytes uint32
}

// Dir is the direction in which the capture recorded a frame, when the
// capture says so: the packet type of a LINUX_SLL or LINUX_SLL2 header
// (packet(7): PACKET_HOST 0, PACKET_BROADCAST 1, PACKET_MULTICAST 2,
// PACKET_OTHERHOST 3, PACKET_OUTGOING 4) or the direction bits of a pcapng
// Enhanced Packet Block's epb_flags (01 inbound, 10 outbound). It is proof
// of which host captured a frame, and of two copies of one packet being
// two records (outgoing, then incoming on loopback).
type Dir uint8

// Capture directions.
const (
	DirUnknown   Dir = iota // the capture does not say (Ethernet, RAW, ...)
	DirIncoming             // to this host: SLL host, broadcast or multicast; EPB inbound
	DirOutgoing             // sent by this host: SLL outgoing; EPB outbound
	DirOtherHost            // seen passing, to another host: SLL otherhost (promiscuous)
)

// String gives "unknown", "incoming", "outgoing" or "otherhost".
func (d Dir) String() string {
	switch d {
	case DirUnknown:
		return "unknown"
	case DirIncoming:
		return "incoming"
	case DirOutgoing:
		return "outgoing"
	case DirOtherHost:
		return "otherhost"
	}
	return "Dir(" + strconv.Itoa(int(d)) + ")"
}

// DirSet is a set of capture directions, one bit per Dir.
type DirSet uint8

// DirSetTwoIfaces, in a DirSet, says a packet was recorded on two
// interfaces (a copy with another Iface): forwarded, or bridged.
const DirSetTwoIfaces DirSet = 1 << 7

// Add adds d; DirUnknown is not recorded.
func (s *DirSet) Add(d Dir) {
	if d != DirUnknown && d < 7 {
		*s |= 1 << d
	}
}

// Has reports whether d is in the set.
func (s DirSet) Has(d Dir) bool { return d < 7 && s&(1<<d) != 0 }

// Only reports whether d is the one direction in the set.
func (s DirSet) Only(d Dir) bool { return d < 7 && s&^DirSetTwoIfaces == 1<<d }

// Segment is one TCP segment as the wire showed it: what the state
// machine consumes. It is a plain value with no pointers, 104 bytes, its
// fields ordered so that no padding is wasted: a segment is copied from
// the goroutine that decodes it to the one that analyses its flow.
type Segment struct {
	Time  int64 // capture timestamp, nanoseconds since the Unix epoch
	Frame int64 // 1-based frame number within its file (File)
	// Order is the segment's position in the run (all files merged), set
	// by the analysis; flows that finish together are ordered by the
	// Order of their first segments.
	Order int64

	Src, Dst         Addr
	File             int32 // index of the capture file in the run
	SrcPort, DstPort uint16

	Seq, Ack Seq
	// Len is the TCP payload length computed from the IP header, so a
	// packet cut by the snaplen keeps its true length.
	Len    uint32
	Window uint16 // as on the wire, not scaled
	TTL    uint8  // IPv4 TTL or IPv6 hop limit
	Flags  Flags
	Opt    Options
	// IPID is the IPv4 header's identification field; 0 for IPv6, which
	// has none. Linux numbers a socket's packets from a counter, but sends
	// SYN-ACKs and RSTs (no full socket yet, or none) with ID 0.
	IPID uint16
	// Dir is the direction the capture recorded the frame in, when known.
	Dir Dir
	// Iface tells the capturing interfaces apart: the low byte of a
	// LINUX_SLL2 header's interface index, else of a pcapng interface's
	// index in the file plus one; 0 when the capture does not say. Two
	// records of one packet on two interfaces (a bridge and its port) have
	// different Ifaces.
	Iface uint8
}

// SeqEnd is the sequence number just past the segment: SYN and FIN each
// take one number of sequence space.
func (s *Segment) SeqEnd() Seq {
	n := s.Len
	if s.Flags&SYN != 0 {
		n++
	}
	if s.Flags&FIN != 0 {
		n++
	}
	return s.Seq.Add(n)
}
