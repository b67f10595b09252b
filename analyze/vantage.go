package analyze

import "github.com/tcptimeline/tcptimeline/flowstate"

// Vantage is where the capture was taken, relative to a flow's endpoints:
// from the directions the capture recorded its packets in when it says,
// else from the timing of its handshake.
type Vantage string

// Vantage points.
const (
	VantageServer   Vantage = "server"    // on the server: SYN to SYN-ACK takes no time
	VantageClient   Vantage = "client"    // on the client: SYN-ACK to ACK takes no time
	VantageSameHost Vantage = "same-host" // both legs take no time: loopback or namespaces on one host
	VantageBetween  Vantage = "between"   // both legs take a share of the round trip
	VantageUnknown  Vantage = "unknown"   // no complete handshake to judge by
)

// VantageBasis is what a flow's vantage rests on.
type VantageBasis uint8

// Vantage bases, strongest first.
const (
	BasisNone      VantageBasis = iota // unknown: nothing to judge by
	BasisDirection                     // the capture's own direction marks
	BasisTiming                        // handshake timing
	BasisListener                      // the flow had neither: its listener's vantage
	BasisBoth                          // direction marks, and both legs take no time: one host
	// BasisDirectionOnly is direction marks in a flow without a complete
	// handshake: they name the capturing host's end, but cannot tell a
	// peer one veth away (same-host) from one across a network, so the
	// listener's same-host, when other flows show it, prevails.
	BasisDirectionOnly
)

// String says what the vantage rests on, as flows[].vantage_evidence.
func (b VantageBasis) String() string {
	switch b {
	case BasisDirection, BasisDirectionOnly:
		return "packet direction (SLL/SLL2 packet type or pcapng epb_flags)"
	case BasisTiming:
		return "handshake timing (weak on a shaped link)"
	case BasisBoth:
		return "packet direction (SLL/SLL2 packet type or pcapng epb_flags) and handshake timing (the peer answers within 200 µs: on the same host)"
	case BasisMerged:
		return "captures at several points, matched packet by packet: the vantage of the capture nearest the server, by its handshake timing"
	case BasisMergedEnd:
		return "captures at several points, matched packet by packet: the flow's server packets were recorded first at one point and its client packets at another, so it was seen at the server's end of them (captures[].vantage server) and takes that point's vantage, server; the handshake timing there (both legs take time) is that of a shaper on the server's interface holding its packets before its capture, or of a point on the path short of the server with no capture given nearer it"
	case BasisListener:
		return "the listener's vantage (no direction marks or complete handshake in this flow)"
	}
	return "nothing to judge by"
}

// flowVantage judges a flow's vantage point: from the capture's direction
// marks first (directionVantage), else from its handshake timing
// (timingVantage).
func flowVantage(f *flowstate.Flow) (Vantage, VantageBasis) {
	timing := timingVantage(f)
	if v, ok := directionVantage(f, timing); ok {
		switch {
		case v == VantageSameHost:
			return v, BasisBoth
		case timing == VantageUnknown && (v == VantageClient || v == VantageServer):
			return v, BasisDirectionOnly
		}
		return v, BasisDirection
	}
	if timing != VantageUnknown {
		return timing, BasisTiming
	}
	return VantageUnknown, BasisNone
}

// directionVantage reads the vantage from the directions the capture
// recorded each side's packets in (flowstate.Endpoint.Dirs): a LINUX_SLL
// or LINUX_SLL2 packet type (packet(7): PACKET_OUTGOING is a packet this
// host sent, PACKET_HOST one addressed to it) or a pcapng EPB's epb_flags
// direction bits (pcapng spec 4.3.1: 01 inbound, 10 outbound). This is the
// capture's own fact, not an inference, so it comes before timing:
//
//   - the client's packets only outgoing and the server's only incoming:
//     the capturing host sent the SYN, it is the client (and the other way
//     round for the server);
//   - a side's packets seen both incoming and outgoing (one packet in on
//     one interface and out on another: a router, a bridge, a container
//     host; or out and in again on loopback, which records both copies
//     on one interface), or both sides' in the same
//     single direction (a forwarding host captured with -Q in or -Q out),
//     or PACKET_OTHERHOST (promiscuous capture of others' packets): the
//     host is on the path, between; the same-host case of loopback or
//     namespaces is told apart by its one interface and by timing, whose
//     legs then take no time;
//   - marks of one end with the round trip to the other end under 200
//     µs (peerNear): the other end is on the same host too (a namespace
//     one veth away), same-host.
//
// It decides nothing when a side has no marks (Ethernet or RAW captures,
// or a side never seen) or the marks mix otherwise.
func directionVantage(f *flowstate.Flow, timing Vantage) (Vantage, bool) {
	c, s := f.EP[flowstate.Client].Dirs, f.EP[flowstate.Server].Dirs
	if c == 0 || s == 0 {
		return VantageUnknown, false
	}
	in, out := flowstate.DirIncoming, flowstate.DirOutgoing
	both := func(d flowstate.DirSet) bool { return d.Has(in) && d.Has(out) }
	switch {
	case c.Has(flowstate.DirOtherHost) || s.Has(flowstate.DirOtherHost):
		return VantageBetween, true
	case c.Only(out) && s.Only(in) && peerNear(f, flowstate.Client), c.Only(in) && s.Only(out) && peerNear(f, flowstate.Server),
		both(c) && both(s) && (c|s)&flowstate.DirSetTwoIfaces == 0 && timing == VantageSameHost:
		// The capturing host is one end, and the other answers within
		// 200 µs: on the same host (loopback, or a namespace one veth
		// away), where the capture sees what the other end does as it
		// does it. The other leg may still be long: a qdisc on the
		// capturing host holds its own packets before the capture.
		return VantageSameHost, true
	case c.Only(out) && s.Only(in):
		return VantageClient, true
	case c.Only(in) && s.Only(out):
		return VantageServer, true
	case both(c) && both(s), c.Only(in) && s.Only(in), c.Only(out) && s.Only(out):
		return VantageBetween, true
	}
	return VantageUnknown, false
}

// peerNear reports whether, from a capture at end side, the handshake leg
// that crosses the path to the other end (SYN to SYN-ACK at the client,
// SYN-ACK to ACK at the server) took under 200 µs: the other end is on the
// same host. The other leg is left out: a shaper on the capturing host
// (tbf) delays its own packets before the capture sees them.
func peerNear(f *flowstate.Flow, side flowstate.Side) bool {
	d1, d2, ok := f.HandshakeLegs()
	if !ok || d1 < 0 || d2 < 0 {
		return false
	}
	const quick = 200e3 // 200 µs, as timingVantage's same-host
	if side == flowstate.Client {
		return d1 < quick
	}
	return d2 < quick
}

// timingVantage judges a flow's vantage point from its two handshake
// legs. At the server, SYN -> SYN-ACK is the kernel's processing time
// (tens of microseconds) and SYN-ACK -> ACK a full round trip; at the
// client it is the other way round. Weak evidence on a shaped link: a
// queue (tbf, a busy NIC) between the host and the capture point delays
// one leg and can make a client look like a capture between.
func timingVantage(f *flowstate.Flow) Vantage {
	d1, d2, ok := f.HandshakeLegs()
	if !ok || d1 < 0 || d2 < 0 {
		return VantageUnknown
	}
	const quick = 200e3 // 200 µs
	const local = 1e6   // 1 ms: more is no longer "no time"
	switch {
	case d1 < quick && d2 < quick:
		return VantageSameHost
	case d1 < local && d1*4 <= d2:
		return VantageServer
	case d2 < local && d2*4 <= d1:
		return VantageClient
	}
	return VantageBetween
}
