package flowstate

// Config tunes a Flow.
type Config struct {
	// Record keeps every packet with its annotations (Flow.Packets), for
	// timelines. Without it a flow keeps only counters, labels and
	// findings, so memory does not grow with the flow's length.
	Record bool
	// Events makes Process and Finish return what they concluded. Without
	// it they return nil and the flow allocates nothing for events.
	Events bool
	// RecordLimit, with Record, bounds the packets kept: the first half
	// and the last half of a longer flow are kept, the middle is not
	// (Flow.Elided counts it, Flow.ElidedAt says where it was). 0 keeps
	// every packet.
	RecordLimit int
	// MultiVantage: the run reads several captures that may have seen
	// the same packets at different points (sighting.go). Vantages maps a
	// capture file to its vantage point (files of one ring share one);
	// without it, each file is its own.
	MultiVantage bool
	Vantages     []int32
}

// Packet is one packet of a flow with what the analysis concluded about
// it. States are those after the packet, as known when the flow finished.
type Packet struct {
	Time  int64 // nanoseconds since the Unix epoch
	File  int32
	Frame int64
	From  Side
	Flags Flags
	Seq   uint32 // relative to the sender's ISS
	Ack   uint32 // relative to the receiver's ISS; 0 without ACK
	Len   uint32
	Win   uint16
	NSACK uint8 // number of SACK blocks it carried

	State  [2]State // indexed by Side
	Labels Labels
	// Retransmit: the segment repeats sequence space already sent (SYN,
	// SYN-ACK, data or FIN).
	Retransmit bool
	// Duplicate: the same frame seen twice (as tcpdump -i any records on
	// some setups); it is shown but not fed to the state machine.
	Duplicate bool
	// NotReceived: the receiver's own later segments prove this packet
	// never reached it (an ACK of a FIN, followed by a copy of that FIN
	// from its sender: close.go), although the capture saw it.
	NotReceived bool
	// PacketAnalysis is Wireshark's view of the packet, and ours beside
	// it (analysis.go).
	PacketAnalysis
}

// Finding is a label on one packet, with its time, kept even when packets
// are not recorded so summaries and charts can place it in time.
type Finding struct {
	Label  Label
	Packet int // index of the packet in the flow
	Time   int64
}

// maxFindings bounds the findings kept per flow.
const maxFindings = 64

// EventKind tells what an Event reports.
type EventKind uint8

// Event kinds.
const (
	// EventState: side Side is in State after packet Packet.
	EventState EventKind = iota
	// EventLabel: packet Packet carries Label.
	EventLabel
)

// Event is what processing a segment concluded. Packet may name an earlier
// packet of the flow: facts known in hindsight (an ACK proved ignored by a
// later SYN-ACK) revise earlier packets.
type Event struct {
	Kind   EventKind
	Packet int
	Side   Side
	State  State
	Label  Label
}

// Flow is one TCP connection seen from the wire, with both endpoints'
// state machines. Create it with NewFlow from its first segment and feed
// every later segment of the same 4-tuple to Process, then call Finish.
type Flow struct {
	// an is the bookkeeping of the Wireshark-style analysis and the stall
	// rules (analysis.go): first, so that its per-direction blocks start
	// cache lines (a Flow is allocated on a 64-byte boundary).
	an analysisState

	EP [2]Endpoint // indexed by Side
	// ClientGuessed is set when the flow was caught mid-stream and the
	// client was taken to be the side with the ephemeral (higher) port.
	ClientGuessed bool
	// MidStream is set when the flow's first segment was not a SYN.
	MidStream bool
	// Initial holds each side's state before the first packet: CLOSED and
	// LISTEN for a flow opened by a SYN, SYN-SENT and LISTEN when the
	// capture begins with the SYN-ACK, UNKNOWN for a flow caught mid-stream.
	Initial [2]State

	FirstTime, LastTime int64
	// Wireshark's base sequence numbers, per direction, kept here for
	// ConvMemo; wsReused: the next packet reuses the 4-tuple (analysis.go).
	wsBase    [2]Seq
	wsBaseSet [2]bool
	wsReused  bool
	// Order is the Order of the flow's first segment; FinishTime the
	// capture time Finish was given.
	Order      int64
	FinishTime int64
	NPackets   int
	Duplicates int
	// AckedUnseen counts segments that acknowledge sequence space the
	// capture never saw sent (Wireshark's "ACKed unseen segment"): the
	// capture itself lost packets, which can look like drops.
	AckedUnseen int
	// RepliesMissing is set when the client acknowledged a SYN-ACK the
	// capture never held: the capture misses the server's direction of
	// this flow (asymmetric routing, a one-direction filter).
	RepliesMissing bool
	// RequestForgotten is set when the server answered the client's
	// segment with a bare RST while its request timer could not yet have
	// run out: the request vanished (a listener closed with requests
	// pending, a service restart), not by synack-retries-exhausted.
	RequestForgotten bool
	// RequestEnd is when the server's request for the connection left its
	// SYN queue: the connection was queued, reset or forgotten, or its
	// timer ran out; 0 without a request (no SYN-ACK, or a SYN cookie,
	// which keeps none). A request still held when the flow ended ends
	// then.
	RequestEnd int64
	// FirstDataPrompt is set when the server's first acknowledgment
	// covered the client's first data, sent once, within an established
	// server's prompt time: the data created the connection at once.
	FirstDataPrompt bool
	// IgnoredSegments counts the client's ACK-bearing segments the server
	// is believed to have dropped on a full accept queue while it held the
	// request (each counts ListenOverflows: tcp_v4_syn_recv_sock's
	// exit_overflow, or the cookie path's tcp_get_cookie_sock), the one an
	// overflow reset answered included; DeferDrops those it held on
	// purpose under TCP_DEFER_ACCEPT (TCPDeferAcceptDrop). At most the
	// first 256 client segments of a handshake are judged.
	IgnoredSegments, DeferDrops int
	// RequestReset is set when a reset ended the request: the server's
	// overflow reset or the client's RST (tcp_check_req ->
	// embryonic_reset counts EmbryonicRsts).
	RequestReset bool
	// Unacknowledged lists the packets (indexes) of client data or FINs
	// that the server left unacknowledged while it held the request,
	// without proof either way: its ACK was lost, or it ignored them.
	Unacknowledged []int
	Labels         Labels
	Findings       []Finding
	Packets        []Packet // only with Config.Record
	// Elided counts the packets not kept under Config.RecordLimit: they
	// came between Packets[ElidedAt-1] and Packets[ElidedAt].
	Elided, ElidedAt int

	// Handshake milestones, 0 when not seen.
	SynTime             int64 // client's first SYN
	SynAckTime          int64 // server's first SYN-ACK
	HandshakeAckTime    int64 // client's first ACK of the SYN-ACK
	ServerEstablishTime int64 // when the server queued the connection (hindsight)
	// ServerEstablishPacket is the index of the client segment that got the
	// connection queued, -1 when none did (or it is not known).
	ServerEstablishPacket int
	ServerResolved        bool // the server's handshake outcome is known

	Closed    bool // both FINs acknowledged, or a RST seen
	Finished  bool
	EndReason string // "closed", "reset", "idle", "end of capture"

	cfg    Config
	hs     handshake
	events []Event
	last   digest // previous segment, for duplicate detection
	// sight is what a run of several vantage points (Config.MultiVantage)
	// matches and learns: nil otherwise, so a flow of one capture pays a
	// pointer (sighting.go).
	sight *sightState
	// revisedNow: a revision reported a state for the packet being
	// processed, so its final state must be reported after it.
	revisedNow [2]bool
	// finAcks: per side, the ACK that moved its state on its FIN, until
	// a copy of the FIN proves it lost (close.go).
	finAcks [2]finAck

	zeek zeekTracker // Zeek's conn_state and history (zeek.go)

	// FlowAnalysis is Wireshark's view of the flow and its stall
	// findings (analysis.go, stall.go).
	FlowAnalysis
}

// digest is what duplicate detection compares of a segment: its time,
// the rest, which must be equal, and what the capture says of the frame.
type digest struct {
	time  int64
	rest  digestRest
	ipid  uint16
	dir   Dir
	iface uint8
}

type digestRest struct {
	seq, ack     Seq
	tsVal, tsEcr uint32
	len          uint32
	window       uint16
	srcPort      uint16
	flags        Flags
	srcLow       byte // last byte of the source address: with the port, enough to tell the direction
}

func digestOf(s *Segment) digest {
	return digest{time: s.Time, rest: digestRest{seq: s.Seq, ack: s.Ack, tsVal: s.Opt.TSVal, tsEcr: s.Opt.TSEcr,
		len: s.Len, window: s.Window, srcPort: s.SrcPort, flags: s.Flags, srcLow: s.Src[15]},
		ipid: s.IPID, dir: s.Dir, iface: s.Iface}
}

// NewFlow starts a flow from its first segment. The client is the sender
// of a SYN without ACK, the receiver of a SYN-ACK, or, for a flow caught
// mid-stream, the side with the higher (ephemeral) port.
func NewFlow(first *Segment, cfg Config) *Flow {
	f := new(Flow)
	f.init(first, cfg)
	return f
}

// Reset makes f a new flow started by first, as NewFlow would, reusing
// the memory of its slices: for callers that recycle finished flows.
func (f *Flow) Reset(first *Segment, cfg Config) {
	findings, packets, events, unacked := f.Findings[:0], f.Packets[:0], f.events[:0], f.Unacknowledged[:0]
	log, syns, synAcks := f.hs.log[:0], f.hs.syns[:0], f.hs.synAcks[:0]
	stalls, cold := f.Stalls[:0], f.an.c
	var times [2][3][]int64
	for i := range f.EP {
		e := &f.EP[i]
		times[i] = [3][]int64{e.SYNTimes[:0], e.DataRetransmitTimes[:0], e.FINTimes[:0]}
	}
	*f = Flow{}
	f.Findings, f.Packets, f.events, f.Unacknowledged = findings, packets, events, unacked
	f.hs.log, f.hs.syns, f.hs.synAcks = log, syns, synAcks
	f.Stalls, f.an.c = stalls, cold
	if cold != nil {
		slots := [2][]wsSeg{cold.wsSlots[0][:0], cold.wsSlots[1][:0]}
		*cold = analysisCold{wsSlots: slots}
	}
	for i := range f.EP {
		e := &f.EP[i]
		e.SYNTimes, e.DataRetransmitTimes, e.FINTimes = times[i][0], times[i][1], times[i][2]
	}
	f.init(first, cfg)
}

func (f *Flow) init(first *Segment, cfg Config) {
	f.cfg, f.FirstTime, f.Order, f.ServerEstablishPacket = cfg, first.Time, first.Order, -1
	clientIsSrc := true
	switch {
	case first.Flags&(SYN|ACK) == SYN:
	case first.Flags&(SYN|ACK) == SYN|ACK:
		clientIsSrc = false
	default:
		f.MidStream = true
		f.ClientGuessed = true
		clientIsSrc = first.SrcPort > first.DstPort ||
			(first.SrcPort == first.DstPort && string(first.Src[:]) > string(first.Dst[:]))
	}
	c, s := &f.EP[Client], &f.EP[Server]
	if clientIsSrc {
		c.Addr, c.Port, s.Addr, s.Port = first.Src, first.SrcPort, first.Dst, first.DstPort
	} else {
		c.Addr, c.Port, s.Addr, s.Port = first.Dst, first.DstPort, first.Src, first.SrcPort
	}
	for i := range f.EP {
		f.EP[i].WScale = -1
	}
	if !f.MidStream {
		c.State = StateClosed
		s.State = StateListen
		if !clientIsSrc {
			c.State = StateSynSent // its SYN came before the capture did
		}
	}
	f.Initial = [2]State{c.State, s.State}
	f.finAcks = [2]finAck{{idx: -1}, {idx: -1}}
	f.hs.init()
}

// SideOf returns which side sent seg.
func (f *Flow) SideOf(seg *Segment) Side {
	if seg.Src == f.EP[Client].Addr && seg.SrcPort == f.EP[Client].Port &&
		(seg.Dst != f.EP[Client].Addr || seg.DstPort != f.EP[Client].Port || seg.Flags&(SYN|ACK) == SYN) {
		return Client
	}
	return Server
}

// StartsNewConnection reports whether seg opens a new connection on the
// flow's 4-tuple (port reuse): a SYN without ACK whose sequence number is
// not the flow's client ISN. The caller then finishes this flow and starts
// a new one with seg.
func (f *Flow) StartsNewConnection(seg *Segment) bool {
	if seg.Flags&(SYN|ACK|RST) != SYN {
		return false
	}
	c := &f.EP[Client]
	return !c.HaveISS || f.MidStream || seg.Seq != c.ISS || f.SideOf(seg) != Client
}

// Process feeds the flow's next segment and returns what it concluded.
// The returned slice is reused by the next call.
func (f *Flow) Process(seg *Segment) []Event {
	f.events = f.events[:0]
	f.revisedNow = [2]bool{}
	if f.cfg.MultiVantage && f.sighted(seg, f.NPackets) {
		return f.events
	}
	idx := f.NPackets
	f.NPackets++
	f.LastTime = seg.Time
	from := f.SideOf(seg)
	f.zeek.process(seg, from)         // duplicates too: Zeek sees retransmissions
	an := f.wsAnalyze(seg, from, idx) // duplicates too: Wireshark knows none

	f.EP[from].Dirs.Add(seg.Dir) // duplicates too: a copy in the other direction shows a forwarding host

	d := digestOf(seg)
	if idx > 0 && f.isDuplicate(&d) {
		f.Duplicates++
		if d.iface != 0 && f.last.iface != 0 && d.iface != f.last.iface {
			f.EP[from].Dirs |= DirSetTwoIfaces
		}
		if f.cfg.Record {
			p := f.packetOf(seg, from)
			p.Duplicate = true
			p.State = [2]State{f.EP[Client].State, f.EP[Server].State}
			p.PacketAnalysis = an.packet()
			f.record(idx, p)
		}
		return f.events
	}
	f.last = d

	before := [2]State{f.EP[Client].State, f.EP[Server].State}
	retrans, finRetrans := f.track(seg, from)
	really := f.observe(seg, from, idx, &an)
	if f.cfg.Record {
		// Appended before the handlers run, so that labels and revisions
		// can reach this packet too; its states are set last.
		p := f.packetOf(seg, from)
		p.Retransmit = retrans
		p.PacketAnalysis = an.packet()
		p.ReallyRetransmit = really
		f.record(idx, p)
	}
	switch {
	case seg.Flags&RST != 0:
		f.onRST(seg, from, idx)
	case seg.Flags&(SYN|ACK) == SYN:
		f.onSYN(seg, from, idx, retrans)
	case seg.Flags&(SYN|ACK) == SYN|ACK:
		f.onSYNACK(seg, from, idx, retrans)
	default:
		f.onSegment(seg, from, idx, finRetrans)
	}
	f.stallStep(seg, from, idx, &an)
	f.setStates(idx, before)
	if from == Client {
		f.hs.lastClientTime, f.hs.lastClientData = seg.Time, 0
		if seg.Len > 0 {
			f.hs.lastClientData = seg.SeqEnd()
		}
	}
	return f.events
}

// isDuplicate reports whether seg is the previous segment captured again:
// every TCP field the same within a millisecond (a retransmission is
// spaced further apart by the sender's timers), and proof that it is one
// packet, not two alike. A non-zero IPv4 ID must match: a sender numbers
// its packets, so two distinct zero-window ACKs or duplicate ACKs differ
// there. Without an ID (IPv6, or IPv4 ID 0: Linux's SYN-ACKs and RSTs)
// only the capture can prove a copy: the two records came from different
// interfaces (a bridge and its port), or in opposite directions (out, then
// in again on loopback); otherwise they are two packets.
func (f *Flow) isDuplicate(d *digest) bool {
	p := &f.last
	dt := d.time - p.time
	if dt < 0 || dt >= 1e6 || d.rest != p.rest {
		return false
	}
	if d.ipid != 0 || p.ipid != 0 {
		return d.ipid == p.ipid
	}
	return d.iface != 0 && p.iface != 0 && d.iface != p.iface ||
		d.dir != DirUnknown && p.dir != DirUnknown && d.dir != p.dir
}

func (f *Flow) packetOf(seg *Segment, from Side) Packet {
	p := Packet{
		Time: seg.Time, File: seg.File, Frame: seg.Frame, From: from,
		Flags: seg.Flags, Len: seg.Len, Win: seg.Window, NSACK: seg.Opt.NSACK,
		Seq: f.EP[from].Rel(seg.Seq),
	}
	if seg.Flags&ACK != 0 {
		p.Ack = f.EP[from.Peer()].Rel(seg.Ack)
	}
	return p
}

// setStates records the states after packet idx and reports changes (or
// a state a revision of this very packet reported differently).
func (f *Flow) setStates(idx int, before [2]State) {
	for _, side := range [...]Side{Client, Server} {
		st := f.EP[side].State
		if p := f.packet(idx); p != nil {
			p.State[side] = st
		}
		if st != before[side] || idx == 0 || f.revisedNow[side] {
			f.event(Event{Kind: EventState, Packet: idx, Side: side, State: st})
		}
	}
}

func (f *Flow) event(e Event) {
	if f.cfg.Events {
		f.events = append(f.events, e)
	}
}

// reviseState changes the recorded state of side after packet idx.
func (f *Flow) reviseState(idx int, side Side, st State) {
	p := f.packet(idx)
	if p == nil {
		return
	}
	if p.State[side] != st {
		p.State[side] = st
		f.event(Event{Kind: EventState, Packet: idx, Side: side, State: st})
		if idx == f.NPackets-1 {
			f.revisedNow[side] = true
		}
	}
}

// addLabel puts l on packet idx and on the flow.
func (f *Flow) addLabel(idx int, l Label, t int64) {
	f.Labels = f.Labels.Add(l)
	if p := f.packet(idx); p != nil {
		if p.Labels.Has(l) {
			return
		}
		p.Labels = p.Labels.Add(l)
	} else {
		for _, fd := range f.Findings {
			if fd.Packet == idx && fd.Label == l {
				return
			}
		}
	}
	if len(f.Findings) < maxFindings {
		f.Findings = append(f.Findings, Finding{Label: l, Packet: idx, Time: t})
	}
	f.event(Event{Kind: EventLabel, Packet: idx, Label: l})
}

// track updates the sender's sequence bookkeeping and reports whether seg
// retransmits sequence space already sent, and whether it repeats the
// sender's FIN (the same FIN sequence number).
func (f *Flow) track(seg *Segment, from Side) (retrans, finRetrans bool) {
	e, peer := &f.EP[from], &f.EP[from.Peer()]
	e.Packets++
	e.Bytes += int64(seg.Len)
	e.Window = seg.Window
	if e.Packets == 1 {
		e.TTL = seg.TTL
	}
	if seg.Flags&SYN != 0 {
		if e.HaveISS && seg.Seq == e.ISS && e.SYNs > 0 {
			e.SYNRetransmits++
			retrans = true
		} else if !e.HaveISS || e.SYNs == 0 {
			e.ISS, e.HaveISS, e.SndNxt = seg.Seq, true, seg.Seq.Add(1)
			e.WScale, e.MSS = seg.Opt.WScale, seg.Opt.MSS
			e.SACKPermitted, e.Timestamps = seg.Opt.SACKPermitted, seg.Opt.HasTS
		}
		e.SYNs++
		e.SYNTimes = appendTime(e.SYNTimes, seg.Time)
	} else if !e.HaveISS {
		e.ISS, e.HaveISS, e.SndNxt = seg.Seq-1, true, seg.Seq
	}
	if seg.Flags&ACK != 0 {
		if !peer.HaveISS {
			peer.ISS, peer.HaveISS, peer.SndNxt = seg.Ack-1, true, seg.Ack
		} else if peer.Packets > 0 && peer.SndNxt.LessThan(seg.Ack) && seg.Flags&RST == 0 {
			f.AckedUnseen++
			peer.SndNxt = seg.Ack
		}
		if e.RcvNxt == 0 || e.RcvNxt.LessThan(seg.Ack) {
			e.RcvNxt = seg.Ack
		}
		if peer.SndUna == 0 || peer.SndUna.LessThan(seg.Ack) {
			peer.SndUna = seg.Ack
		}
	}
	if seg.Len > 0 {
		e.DataSegments++
		if e.FirstDataTime == 0 {
			e.FirstDataTime = seg.Time
		}
		start := seg.Seq
		if seg.Flags&SYN != 0 {
			start++
		}
		if start.LessThan(e.SndNxt) && e.SYNs+e.DataSegments > 1 {
			e.DataRetransmits++
			e.DataRetransmitTimes = appendTime(e.DataRetransmitTimes, seg.Time)
			retrans = true
		}
	}
	if seg.Flags&FIN != 0 {
		finSeq := seg.Seq.Add(seg.Len)
		if seg.Flags&SYN != 0 {
			finSeq++
		}
		if e.SentFIN && finSeq == e.FINSeq {
			e.FINRetransmits++
			retrans, finRetrans = true, true
		}
		e.SentFIN, e.FINSeq = true, finSeq
		e.FINs++
		e.FINTimes = appendTime(e.FINTimes, seg.Time)
	}
	if end := seg.SeqEnd(); e.SndNxt.LessThan(end) {
		e.SndNxt = end
	}
	return retrans, finRetrans
}

// onSYN handles a SYN without ACK.
func (f *Flow) onSYN(seg *Segment, from Side, idx int, retrans bool) {
	e := &f.EP[from]
	if from != Client {
		// A SYN from the server side: simultaneous open, or a flow whose
		// roles were guessed. Track it plainly.
		if e.State == StateUnknown || e.State == StateClosed || e.State == StateListen {
			e.State = StateSynSent
		}
		return
	}
	if f.SynTime == 0 {
		f.SynTime = seg.Time
	}
	hs := &f.hs
	if len(hs.syns) < maxTimes && (len(hs.syns) == 0 || retrans) {
		hs.syns = append(hs.syns, synCopy{pkt: int32(idx), t: seg.Time, tsVal: seg.Opt.TSVal})
	}
	switch {
	case e.State == StateClosed || e.State == StateUnknown || e.State == StateSynSent:
		e.State = StateSynSent
	case e.State == StateEstablished && retrans && hs.synAckSinceSyn && !hs.clientAcked && hs.synSentAtSyn:
		// The client got none of the SYN-ACKs since its last SYN: it was
		// still in SYN-SENT.
		for i := hs.firstSynAckSinceSyn; i < idx; i++ {
			f.reviseState(i, Client, StateSynSent)
		}
		e.State = StateSynSent
	}
	// A SYN after a late one, or after the client's close, leaves its
	// state alone: a retransmission the capture saw late.
	if f.SynAckTime == 0 && f.EP[Server].State != StateSynReceived {
		f.EP[Server].State = StateListen
	}
	hs.lastSynIdx = idx
	hs.lastSynTime = seg.Time
	hs.synAckSinceSyn = false
	hs.synSentAtSyn = e.State == StateSynSent
	hs.rstSinceSyn = false
}

// onSYNACK handles a SYN-ACK.
func (f *Flow) onSYNACK(seg *Segment, from Side, idx int, retrans bool) {
	e := &f.EP[from]
	if from != Server {
		// A SYN-ACK from the client side: simultaneous open, or roles
		// guessed wrong. Only an opening side can move to SYN-RECEIVED.
		if e.State == StateUnknown || e.State == StateClosed || e.State == StateListen || e.State == StateSynSent {
			e.State = StateSynReceived
		}
		return
	}
	s, c := &f.EP[Server], &f.EP[Client]
	hs := &f.hs
	opening := s.State == StateListen || s.State == StateUnknown || s.State == StateSynReceived
	switch {
	case f.SynAckTime == 0 && opening:
		f.SynAckTime = seg.Time
		hs.firstSynAckIdx = idx
		hs.pending = true
		hs.rttSyn = hs.lastSynTime
		hs.saTSVal, hs.saHasTS = seg.Opt.TSVal, seg.Opt.HasTS
		hs.saWScale, hs.saSACK = seg.Opt.WScale >= 0, seg.Opt.SACKPermitted
		f.ruleSynDropped(seg)
		s.State = StateSynReceived
		// The SYN this answers reached the server: it left LISTEN then,
		// and every packet since shows it in SYN-RECEIVED.
		if hs.lastSynIdx >= 0 {
			for i := hs.lastSynIdx; i < idx; i++ {
				f.reviseState(i, Server, StateSynReceived)
			}
		}
	case f.SynAckTime == 0:
		// A SYN-ACK met by a server already past its handshake (a flow
		// caught mid-stream, or closed): a straggler, it changes nothing.
		f.SynAckTime = seg.Time
	case retrans:
		f.ruleSynAckRetransmit(idx, seg.Time)
		if hs.pending {
			hs.addSynAck(idx, seg.Time)
		}
		if n := len(hs.synAcks) - 1; hs.pending && len(hs.log) > 0 && f.isTimerSynAck(n) && hs.synAcks[n].t-hs.log[0].t >= f.afterRoundTrip() {
			// The client's ACK of this SYN-ACK reached the server, yet its
			// request timer sends it again: the server kept the request
			// after the ACK (the rules decide why, when it resolves).
			if s.State == StateSynReceived {
				s.State = StateSynReceivedAckIgnored
			}
			first := int(hs.log[0].pkt)
			for i := first; i < idx; i++ {
				f.reviseState(i, Server, StateSynReceivedAckIgnored)
			}
		}
	}
	if hs.pending {
		if len(hs.synAcks) == 0 {
			hs.addSynAck(idx, seg.Time)
		}
		hs.lastSynAckTime = seg.Time
	}
	if !hs.synAckSinceSyn {
		hs.firstSynAckSinceSyn = idx
	}
	hs.lastSynAckIdx = idx
	hs.synAckSinceSyn = true
	if c.State == StateSynSent || c.State == StateUnknown {
		c.State = StateEstablished
	}
}

// onRST handles a reset from either side.
func (f *Flow) onRST(seg *Segment, from Side, idx int) {
	if !f.EP[from].SentRST {
		f.EP[from].SentRST = true
		f.EP[from].RSTTime = seg.Time
	}
	if from == Server {
		f.hs.rstSinceSyn = true
		f.hs.appReset = f.ruleAppReset(idx, seg)
	}
	if f.hs.pending {
		kind := resolveRST
		if from == Client {
			kind = resolveClientRST
		}
		f.resolve(idx, seg.Time, kind, seg)
	}
	f.EP[Client].State = StateClosed
	f.EP[Server].State = StateClosed
	f.Closed = true
}

// onSegment handles a segment without SYN or RST; finRetrans: it repeats
// the sender's FIN.
func (f *Flow) onSegment(seg *Segment, from Side, idx int, finRetrans bool) {
	e, peer := &f.EP[from], &f.EP[from.Peer()]
	hs := &f.hs

	if e.State == StateUnknown {
		e.State = StateEstablished
		if peer.SentFIN {
			e.State = StateCloseWait
		}
	}
	if from == Client && f.SynTime != 0 && f.SynAckTime == 0 && seg.Flags&ACK != 0 {
		f.RepliesMissing = true
	}
	if from == Server && f.SynAckTime != 0 {
		f.noteServerSegment(seg)
	}

	if from == Client && hs.pending && seg.Flags&ACK != 0 && f.EP[Server].HaveISS &&
		f.EP[Server].ISS.Add(1).LessThanEq(seg.Ack) {
		if f.HandshakeAckTime == 0 {
			f.HandshakeAckTime = seg.Time
		}
		hs.clientAcked = true
		hs.addEntry(idx, seg)
	}
	if from == Server && hs.pending && seg.Flags&ACK != 0 {
		f.resolve(idx, seg.Time, resolveServerSegment, seg)
	}

	// A copy of the sender's FIN may prove the peer's ACK of it lost.
	if seg.Flags&FIN != 0 {
		f.reviseFinAckLost(seg, from, idx, finRetrans) // close.go
	}
	// The ACK first: it may complete the peer's close. FINAcked is the
	// wire's fact (the capture saw the FIN acknowledged); the first ACK
	// of it moves the peer on, and the next one after a copy of the FIN
	// proved that one lost (close.go).
	if seg.Flags&ACK != 0 && peer.SentFIN && peer.FINSeq.LessThan(seg.Ack) && (!peer.FINAcked || f.finAcks[from.Peer()].lost) {
		peer.FINAcked = true
		f.noteFinAck(from.Peer(), idx, seg.Time, peer.State)
		switch peer.State {
		case StateFinWait1:
			peer.State = StateFinWait2
		case StateClosing:
			peer.State = StateTimeWait
		case StateLastAck:
			peer.State = StateClosed
		}
	}
	if seg.Flags&FIN != 0 {
		switch e.State {
		case StateEstablished, StateSynReceived, StateSynSent:
			e.State = StateFinWait1
		case StateCloseWait:
			e.State = StateLastAck
		}
		if from == Server || !hs.pending {
			switch peer.State {
			case StateEstablished:
				peer.State = StateCloseWait
			case StateFinWait1:
				peer.State = StateClosing
			case StateFinWait2:
				peer.State = StateTimeWait
			}
		}
	}
	if e.SentFIN && e.FINAcked && peer.SentFIN && peer.FINAcked {
		f.Closed = true
	}
}

// Finish ends the flow at capture time now (its last packet, an idle
// timeout, or the end of the capture): facts that only the end can prove
// (no SYN-ACK ever came; the server's retransmissions stopped) are
// settled, and the states become final.
func (f *Flow) Finish(now int64, reason string) []Event {
	f.events = f.events[:0]
	if f.Finished {
		return f.events
	}
	f.Finished = true
	f.EndReason = reason
	f.FinishTime = now
	f.stallFinish()
	f.ruleSynUnanswered()
	if f.hs.pending {
		f.resolve(f.NPackets-1, now, resolveFinish, nil)
	}
	f.ruleSynCookieSuspected()
	f.unrotate()
	// A duplicate frame changed nothing: it shows the states of the packet
	// before it, as revised since.
	for i := 1; i < len(f.Packets); i++ {
		if f.Packets[i].Duplicate && (f.Elided == 0 || i != f.ElidedAt) {
			f.Packets[i].State = f.Packets[i-1].State
		}
	}
	return f.events
}

// DroppedSYNs returns the times of the client's SYN copies that got no
// answer (the copies before the one the server answered with a SYN-ACK
// or a reset, or every copy when none was answered), at most 16, and how
// many there were in all. Copies lost on the path between two capture
// points (PathLosses) are not counted: the server never got them.
func (f *Flow) DroppedSYNs() (times []int64, n int) {
	hs := &f.hs
	c := &f.EP[Client]
	switch {
	case f.SynTime == 0 || f.MidStream:
		return nil, 0
	case f.SynAckTime != 0:
		k := max(hs.reqSyn, 0)
		n = k
		for _, s := range hs.syns[:min(k, len(hs.syns))] {
			if f.IsPathLoss(int(s.pkt)) {
				n-- // never reached the server: not its drop
				continue
			}
			times = append(times, s.t)
		}
		return times, n
	case f.RepliesMissing:
		return nil, 0
	case f.EP[Server].SentRST:
		// Refused: the copies before the one the reset answered got
		// nothing (a listener that was overflowing then, and closed).
		rst := f.EP[Server].RSTTime
		for i, s := range hs.syns {
			if i+1 < len(hs.syns) && hs.syns[i+1].t < rst {
				times = append(times, s.t)
			}
		}
		return times, len(times)
	}
	for _, s := range hs.syns {
		times = append(times, s.t)
	}
	return times, c.SYNs
}

// ConnectTime is the time from the client's first SYN to its handshake
// ACK, what connect() took as the client felt it; ok is false when the
// flow did not show both.
func (f *Flow) ConnectTime() (d int64, ok bool) {
	if f.SynTime == 0 || f.HandshakeAckTime == 0 {
		return 0, false
	}
	return f.HandshakeAckTime - f.SynTime, true
}

// HandshakeRTT estimates the round-trip time from the handshake: last SYN
// to SYN-ACK plus SYN-ACK to ACK, which is the full round trip wherever the
// capture was taken. ok is false without a complete handshake.
func (f *Flow) HandshakeRTT() (rtt int64, ok bool) {
	if f.hs.rttSyn == 0 || f.SynAckTime == 0 || f.HandshakeAckTime == 0 {
		return 0, false
	}
	return (f.SynAckTime - f.hs.rttSyn) + (f.HandshakeAckTime - f.hs.saBeforeAck), true
}

// HandshakeLegs returns the two legs of the handshake, SYN to SYN-ACK and
// SYN-ACK to ACK, from which the capture's vantage point is inferred.
func (f *Flow) HandshakeLegs() (synToSynAck, synAckToAck int64, ok bool) {
	if f.hs.rttSyn == 0 || f.SynAckTime == 0 || f.HandshakeAckTime == 0 {
		return 0, 0, false
	}
	return f.SynAckTime - f.hs.rttSyn, f.HandshakeAckTime - f.hs.saBeforeAck, true
}

// SynAckSchedule returns the server's SYN-ACK times while it held the
// request (the first and its retransmissions), at most 16.
func (f *Flow) SynAckSchedule() []int64 {
	out := make([]int64, len(f.hs.synAcks))
	for i, c := range f.hs.synAcks {
		out[i] = c.t
	}
	return out
}
