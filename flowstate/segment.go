package flowstate

import (
	"net/netip"
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
}

// Segment is one TCP segment as the wire showed it: what the state
// machine consumes. It is a plain value with no pointers, 96 bytes, its
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
