package flowstate

import (
	"math"
	"math/bits"
	"strconv"
	"strings"
	"unsafe"
)

// Analysis is the set of Wireshark's tcp.analysis flags on one packet, as
// Wireshark 4.0 (epan/dissectors/packet-tcp.c) gives them: the same names
// and the same rules, applied in the same order, so that a timeline and
// Wireshark use the same words for the same frames. It holds Wireshark's
// names only; the sharper facts of our own (a frame captured twice, a
// segment Wireshark calls out-of-order whose bytes the capture had seen)
// are kept beside it in PacketAnalysis and never change it.
//
// Like a Wireshark filter field, a fast or spurious retransmission also
// carries AnalysisRetransmission: tshark shows tcp.analysis.retransmission
// on both (tcp_sequence_number_analysis_print_retransmission adds its
// expert info to each).
type Analysis uint32

// Wireshark's analysis flags (packet-tcp.c TCP_A_*), in the order of
// analysisNames. The rule of each is in wsAnalyze, in packet-tcp.c's order.
const (
	// AnalysisRetransmission ("retransmission"): the segment carries data
	// (or SYN/FIN) and does not advance the sender's highest sequence
	// number, and none of the finer kinds below applies first.
	AnalysisRetransmission Analysis = 1 << iota
	// AnalysisFastRetransmission ("fast_retransmission"): a
	// retransmission at the sequence number the peer's last two or more
	// duplicate ACKs asked for, within 20 ms of the last of them.
	AnalysisFastRetransmission
	// AnalysisSpuriousRetransmission ("spurious_retransmission"): a
	// retransmission of data the peer had already acknowledged.
	AnalysisSpuriousRetransmission
	// AnalysisOutOfOrder ("out_of_order"): a segment behind the highest
	// one that came within the initial RTT (3 ms without one) of it.
	AnalysisOutOfOrder
	// AnalysisDuplicateAck ("duplicate_ack"): no payload, and the same
	// window, sequence and acknowledgment numbers as the sender's
	// previous segment; PacketAnalysis.DupAckNum counts them.
	AnalysisDuplicateAck
	// AnalysisLostSegment ("lost_segment", "previous segment not
	// captured"): the segment starts beyond the sender's highest sequence
	// number: the capture missed what came between.
	AnalysisLostSegment
	// AnalysisAckLostSegment ("ack_lost_segment", "ACKed unseen
	// segment"): the segment acknowledges beyond what the peer was seen
	// to send contiguously.
	AnalysisAckLostSegment
	// AnalysisZeroWindow ("zero_window"): the sender advertises a zero
	// receive window (not on SYN, FIN or RST).
	AnalysisZeroWindow
	// AnalysisZeroWindowProbe ("zero_window_probe"): one byte at the next
	// sequence number while the peer's window is zero.
	AnalysisZeroWindowProbe
	// AnalysisZeroWindowProbeAck ("zero_window_probe_ack"): the answer to
	// a zero-window probe: the same zero window, seq and ack again.
	AnalysisZeroWindowProbeAck
	// AnalysisWindowFull ("window_full"): the segment fills the peer's
	// advertised window to its edge (only once the window scale is known).
	AnalysisWindowFull
	// AnalysisWindowUpdate ("window_update"): no payload, the same seq and
	// ack as before, and a new non-zero window.
	AnalysisWindowUpdate
	// AnalysisKeepAlive ("keep_alive"): zero or one byte at the sender's
	// next sequence number minus one (not on SYN, FIN or RST).
	AnalysisKeepAlive
	// AnalysisKeepAliveAck ("keep_alive_ack"): the answer to a keep-alive:
	// the same window, seq and ack again.
	AnalysisKeepAliveAck
	// AnalysisReusedPorts ("reused_ports"): a SYN with another initial
	// sequence number on a 4-tuple already seen: a new connection.
	AnalysisReusedPorts
	numAnalysis = iota
)

var analysisNames = [numAnalysis]string{
	"retransmission", "fast_retransmission", "spurious_retransmission", "out_of_order",
	"duplicate_ack", "lost_segment", "ack_lost_segment", "zero_window", "zero_window_probe",
	"zero_window_probe_ack", "window_full", "window_update", "keep_alive", "keep_alive_ack",
	"reused_ports",
}

// Has reports whether every flag of b is in a.
func (a Analysis) Has(b Analysis) bool { return a&b == b }

// Len is the number of flags in the set.
func (a Analysis) Len() int { return bits.OnesCount32(uint32(a)) }

// Strings returns Wireshark's field names (without "tcp.analysis."), in
// the order of the constants; never nil.
func (a Analysis) Strings() []string {
	out := make([]string, 0, a.Len())
	for i := 0; i < numAnalysis; i++ {
		if a&(1<<i) != 0 {
			out = append(out, analysisNames[i])
		}
	}
	if rest := a &^ (1<<numAnalysis - 1); rest != 0 {
		out = append(out, "Analysis(0x"+strconv.FormatUint(uint64(rest), 16)+")")
	}
	return out
}

// String joins the names with commas; "" for none.
func (a Analysis) String() string { return strings.Join(a.Strings(), ",") }

// ParseAnalysis returns the flag with Wireshark's field name (with or
// without the "tcp.analysis." prefix).
func ParseAnalysis(name string) (Analysis, bool) {
	name = strings.TrimPrefix(name, "tcp.analysis.")
	for i, s := range analysisNames {
		if s == name {
			return 1 << i, true
		}
	}
	return 0, false
}

// AllAnalysis lists every flag in order.
func AllAnalysis() []Analysis {
	out := make([]Analysis, numAnalysis)
	for i := range out {
		out[i] = 1 << i
	}
	return out
}

// PacketAnalysis is what the Wireshark-style analysis says of one packet,
// with the numbers Wireshark shows beside the flags, and our own facts
// beside them. It is embedded in Packet.
type PacketAnalysis struct {
	Analysis Analysis
	// DupAckNum is Wireshark's duplicate_ack_num (1 for the first
	// duplicate), 0 when the packet is not a duplicate ACK.
	DupAckNum uint32
	// DupAckOf is the index in Flow.Packets of the ACK this one
	// duplicates (Wireshark's duplicate_ack_frame), -1 when none.
	DupAckOf int32
	// WinScaled is the receive window as Wireshark shows it
	// (tcp.window_size): scaled by the sender's window scale once its SYN
	// showed one, as on the wire when the scale is unknown or not used,
	// and never scaled on a SYN.
	WinScaled uint32
	// BytesInFlight is Wireshark's bytes_in_flight after this data
	// segment (the span of the sender's unacknowledged segments less what
	// the peer's last SACK blocks covered); 0 when not shown.
	BytesInFlight uint32
	// AckRTT is Wireshark's ack_rtt: for a segment that acknowledges one of
	// the peer's segments exactly, the time since the first such segment
	// was captured, in nanoseconds; 0 when none.
	AckRTT int64
	// ReallyRetransmit is our fact beside Wireshark's out_of_order: the
	// segment came soon after the sender's highest one, so Wireshark calls
	// it out-of-order, but the capture had already seen every byte of it:
	// the sender sent it again.
	ReallyRetransmit bool
}

// DirStats are per-direction totals of a flow, counted on every packet
// but the duplicate frames (which Wireshark counts as retransmissions).
type DirStats struct {
	// RetransmittedBytes is the payload of the sender's segments Wireshark
	// flags as retransmissions (fast and spurious ones included), and
	// Retransmissions their number.
	RetransmittedBytes int64
	Retransmissions    int32
	ZeroWindows        int32 // segments advertising a zero window
	DupAcks            int32 // duplicate ACKs sent
	LostSegments       int32 // "previous segment not captured" on its segments

	// Our own facts on the side's data and FIN segments once the
	// handshake is over (before, a server holding the connection as a
	// request drops segments on purpose):
	// LostBeforeCapture counts resent segments that filled a gap of the
	// capture (it never saw the original: lost between the sender and the
	// capture point, or by the capture itself); LostAfterCapture resent
	// segments whose bytes the capture had seen, not yet acknowledged (lost
	// after the capture point, or their ACK was); Undone the resent
	// segments the peer's ACK proved needless (it echoed the original's
	// timestamp: RFC 3522, Linux's tcp_packet_delayed); Reordered segments
	// that filled a gap soon after (Wireshark's out-of-order) without
	// being resent.
	LostBeforeCapture, LostAfterCapture, Undone, Reordered int32
	// AckedUnseen counts the peer's ACKs that covered bytes of this side
	// the capture never saw.
	AckedUnseen int32
}

// FlowAnalysis is the Wireshark-style view of a whole flow. It is
// embedded in Flow.
type FlowAnalysis struct {
	// Stats is indexed by Side.
	Stats [2]DirStats
	// Stalls are the flow's stall and loss findings (stall.go), at most
	// maxStalls, in the order they were found.
	Stalls []Stall
}

// WarmRange is the part of a Flow a reader of a finished flow reads:
// everything after the analysis bookkeeping at its start.
func WarmRange() (from, to uintptr) { return unsafe.Sizeof(analysisState{}), unsafe.Sizeof(Flow{}) }

// analysisState is a flow's analysis bookkeeping: Wireshark's
// conversation, what the capture saw of each direction, the stall rules'
// state.
type analysisState struct {
	analysisHot
	ws wsConv
	// c is the rest, allocated the first time a flow needs it (a resent
	// segment, a keep-alive, a loss, or recording): most flows never do,
	// and a recycled flow keeps it.
	c *analysisCold
}

// analysisCold is the analysis bookkeeping few flows need.
type analysisCold struct {
	stall   stallState
	wsSlots [2][]wsSeg
}

// cold returns the flow's rarely needed bookkeeping, allocating it once.
func (f *Flow) cold() *analysisCold {
	if f.an.c == nil {
		f.an.c = new(analysisCold)
	}
	return f.an.c
}

// analysisHot is what every packet reads of the flow-wide bookkeeping,
// first, with Wireshark's per-direction state right after it.
type analysisHot struct {
	lastActive int64 // the last packet with payload, SYN, FIN or RST (keep-alive rule)
	havePend   bool  // stall.pendLost holds a lost segment to record
	idleOpen   bool  // a keep-alive period is being followed (stall.idle)
	// busy: a zero window, a timer retransmission or a resent segment was
	// met, so the end of the flow has something to settle (stallFinish).
	busy bool
	// Mirrors, so that a segment reads the rest only when there is
	// something there: a direction's zero window is open (wsFlow.zw.open),
	// some direction has gaps (wsFlow.holes.n > 0).
	zwOpen   [2]bool
	anyHoles bool
}

// Wireshark's window-scale states (packet-tcp.c tcp_flow_t win_scale).
const (
	wsScaleUnknown = -1 // no SYN seen, or not yet
	wsScaleNone    = -2 // the handshake showed that no scaling is used
)

// wsMaxUnacked is packet-tcp.h TCP_MAX_UNACKED_SEGMENTS: the most
// unacknowledged segments kept per direction for ack_rtt and bytes in
// flight.
const wsMaxUnacked = 10000

// wsSeg is one unacknowledged segment (packet-tcp.c tcp_unacked_t).
type wsSeg struct {
	seq, nextseq Seq
	time         int64
	idx          int32 // index of its packet in the flow
}

// wsFlow is one direction's analysis state: packet-tcp.c's tcp_flow_t and
// tcp_analyze_seq_flow_info_t, with their names. Sequence numbers are the
// raw ones, and 0 means "not set", as in Wireshark.
type wsFlow struct {
	// Line 1: what every segment of either direction reads.
	nextseqTime     int64
	lastackTime     int64
	baseSeq         Seq
	nextseq         Seq
	maxseqtobeacked Seq
	lastack         Seq
	window          uint32 // unscaled; MaxUint32 before the first segment
	dupacknum       int32  // -1 after an "ACKed unseen segment"
	maxWin, minWin  uint32 // ours: the window's extremes (scaled)
	lastSegFlags    uint16 // Analysis flags of the last segment (all fit)
	winScale        int8
	baseSet         bool
	isFirstAck      bool
	validBIF        bool
	haveWin         bool
	nres            uint8 // ours: resent segments waiting for their ACK (stall.go)
	holes           holes // ours: what the capture saw of the sequence space

	// Line 2: the sender's retransmission timer (stall.go), read on its
	// data and on the peer's ACKs; what only recording reads.
	rto           rtoTimer
	lastnondupack int32  // packet index + 1 of the last ACK that changed the ack number (recording)
	sacked        uint32 // SACK bytes of the last segment (recording)
	_             [16]byte

	// Line 3: read only when there are gaps or a zero window.
	gaps gaps
	zw   zeroWindow // as the receiver
	_    [8]byte
}

// wsConv is a conversation's analysis state (packet-tcp.c tcp_analysis).
type wsConv struct {
	tsMruSyn int64 // the most recent SYN without ACK; 0 none
	firstRTT int64 // ts_first_rtt; 0 while not known
	started  bool
	_        [24]byte // with analysisHot before it, dir starts a cache line (the Flow's first field is the bookkeeping)
	dir      [2]wsFlow
}

func (c *wsConv) init() {
	for i := range c.dir {
		c.dir[i] = wsFlow{window: math.MaxUint32, winScale: wsScaleUnknown, validBIF: true}
	}
	c.started = true
}

// wsSince mirrors Wireshark's guint64 time differences: a time before the
// reference (time going backwards, or no reference yet) is never "within".
func wsWithin(now, ref, limit int64) bool {
	d := now - ref
	return d >= 0 && d < limit
}

// wsOut is what wsAnalyze concluded about one segment.
type wsOut struct {
	flags     Analysis
	dupAckNum uint32
	dupAckOf  int32
	win       uint32
	bif       uint32
	ackRTT    int64
}

// NoteReusedPorts tells a new flow that its first packet reuses the
// 4-tuple of a flow that came before it (see ConvMemo.ReusedBy): Wireshark
// then flags that packet reused_ports.
func (f *Flow) NoteReusedPorts() { f.wsReused = true }

// ConvMemo is what a flow table keeps of a finished flow for Wireshark's
// port-reuse rule: Wireshark never forgets a conversation, and flags
// reused_ports on a later SYN of the same 4-tuple whose sequence number is
// not the base its sender had. It holds each direction's base sequence
// number; dir 0 is the direction of endpoint (A, PA).
type ConvMemo struct {
	A    Addr
	PA   uint16
	Base [2]Seq
	Set  [2]bool
}

// ConvMemo returns the flow's memo.
func (f *Flow) ConvMemo() ConvMemo {
	c := &f.EP[Client]
	return ConvMemo{A: c.Addr, PA: c.Port, Base: f.wsBase, Set: f.wsBaseSet}
}

// MemoOf returns the memo of a flow made of segs alone (a flow a table kept
// as a few handshake segments and never made a full Flow).
func MemoOf(segs ...*Segment) ConvMemo {
	var m ConvMemo
	if len(segs) == 0 {
		return m
	}
	var c wsConv
	m.A, m.PA = segs[0].Src, segs[0].SrcPort
	for i, s := range segs {
		c.step(s, m.sideOf(s), i, false, nil)
	}
	for i := range c.dir {
		m.Base[i], m.Set[i] = c.dir[i].baseSeq, c.dir[i].baseSet
	}
	return m
}

func (m *ConvMemo) sideOf(seg *Segment) Side {
	if seg.Src == m.A && seg.SrcPort == m.PA {
		return 0
	}
	return 1
}

// ReusedBy reports whether Wireshark starts a new conversation on seg, a
// SYN without ACK, and flags it reused_ports: the sender's direction was
// seen before and seg's sequence number is not its base (dissect_tcp: "If
// this is a SYN packet, then check if its seq-nr is different from the
// base_seq").
func (m *ConvMemo) ReusedBy(seg *Segment) bool {
	d := m.sideOf(seg)
	return seg.Flags&(SYN|ACK) == SYN && m.Set[d] && seg.Seq != m.Base[d]
}

// wsAnalyze runs Wireshark's per-packet TCP analysis on seg, sent by side
// from, the packet at index idx of the flow. Every packet goes through
// it, the duplicate frames too: Wireshark has no notion of them.
func (f *Flow) wsAnalyze(seg *Segment, from Side, idx int) wsOut {
	var slots *[2][]wsSeg
	if f.cfg.Record {
		slots = &f.cold().wsSlots
	}
	reused := f.wsReused
	f.wsReused = false
	out := f.an.ws.step(seg, from, idx, reused, slots)
	// The bases, where a finished flow's memo reads them (ConvMemo): they
	// are set by a direction's first segment or the peer's first ACK, and
	// change only on a SYN-ACK.
	if !f.wsBaseSet[0] || !f.wsBaseSet[1] || seg.Flags&SYN != 0 {
		d := &f.an.ws.dir
		f.wsBase = [2]Seq{d[0].baseSeq, d[1].baseSeq}
		f.wsBaseSet = [2]bool{d[0].baseSet, d[1].baseSet}
	}
	return out
}

// step is Wireshark's analysis of one segment of the conversation: it
// follows dissect_tcp and tcp_analyze_sequence_number of Wireshark 4.0.17
// in their order, and each step cites what it mirrors. reused says that
// the table started this flow for a SYN on a reused 4-tuple; slots, when
// not nil, keeps the unacknowledged segments for ack_rtt and bytes in
// flight.
func (c *wsConv) step(seg *Segment, from Side, idx int, reused bool, slots *[2][]wsSeg) wsOut {
	if !c.started {
		c.init()
	}
	fwd, rev := &c.dir[from], &c.dir[from.Peer()]
	seq, ack, seglen, flags := seg.Seq, seg.Ack, seg.Len, seg.Flags
	window := uint32(seg.Window)
	now := seg.Time
	var out wsOut
	out.dupAckOf = -1

	// dissect_tcp: a new conversation on a reused 4-tuple (the table
	// started this flow for it), or a SYN repeating the base: "restore
	// the nextseq value" (issue 17616).
	if reused {
		out.flags |= AnalysisReusedPorts
	}
	if flags&(SYN|ACK) == SYN && fwd.baseSet && seq == fwd.baseSeq {
		fwd.nextseq = fwd.maxseqtobeacked
	}
	// A SYN-ACK whose sequence number differs from a base already set
	// (issue 16944): the base moves, and the port reuse is flagged.
	if flags&(SYN|ACK) == SYN|ACK && fwd.baseSet && seq != fwd.baseSeq {
		fwd.baseSeq = seq
		out.flags |= AnalysisReusedPorts
	}
	// Base sequence numbers: the SYN's, or seq-1 (bug 1542); the peer's
	// from the first ACK, ack-1.
	if !fwd.baseSet {
		fwd.baseSeq, fwd.baseSet = seq, true
		if flags&SYN == 0 {
			fwd.baseSeq--
		}
	}
	if !rev.baseSet && flags&ACK != 0 {
		rev.baseSeq, rev.baseSet = ack-1, true
	}

	// tcp_analyze_sequence_number.
	if flags&ACK != 0 {
		rev.validBIF = true
	}
	ta := out.flags
	finishedFwd := false
	// ZERO WINDOW PROBE: one byte at the next sequence number while the
	// peer's window is zero.
	if seglen == 1 && seq == fwd.nextseq && rev.window == 0 {
		ta |= AnalysisZeroWindowProbe
		finishedFwd = true
	}
	if !finishedFwd {
		// ZERO WINDOW: window 0 without SYN, FIN or RST.
		if window == 0 && flags&(RST|FIN|SYN) == 0 {
			ta |= AnalysisZeroWindow
		}
		// LOST PACKET: beyond the highest sequence number seen (not on
		// RST); bytes in flight are off until the peer ACKs again.
		if fwd.nextseq != 0 && fwd.nextseq.LessThan(seq) && flags&RST == 0 {
			ta |= AnalysisLostSegment
			fwd.validBIF = false
		}
		// KEEP ALIVE: 0 or 1 byte at nextseq-1, no SYN, FIN or RST.
		if seglen <= 1 && seq == fwd.nextseq-1 && flags&(SYN|FIN|RST) == 0 {
			ta |= AnalysisKeepAlive
		}
		// WINDOW UPDATE: no payload, a new non-zero window, the same
		// seq and ack as before.
		if seglen == 0 && window != 0 && window != fwd.window && seq == fwd.nextseq && ack == fwd.lastack &&
			flags&(SYN|FIN|RST) == 0 {
			ta |= AnalysisWindowUpdate
		}
		// WINDOW FULL: data up to the edge of the peer's window, once the
		// scale is known (the peer's first ACK ends is_first_ack).
		if seglen > 0 && rev.winScale != wsScaleUnknown && flags&(SYN|FIN|RST) == 0 {
			shift := uint(0)
			if !rev.isFirstAck && rev.winScale >= 0 {
				shift = uint(rev.winScale)
			}
			if seq.Add(seglen) == rev.lastack.Add(rev.window<<shift) {
				ta |= AnalysisWindowFull
			}
		}
		same := seglen == 0 && window == fwd.window && seq == fwd.nextseq && ack == fwd.lastack && flags&(SYN|FIN|RST) == 0
		switch {
		// KEEP ALIVE ACK: a repeated ACK after the peer's keep-alive.
		case same && window != 0 && Analysis(rev.lastSegFlags)&AnalysisKeepAlive != 0:
			ta |= AnalysisKeepAliveAck
			finishedFwd = true
		// ZERO WINDOW PROBE ACK: the same zero window after the peer's
		// zero-window probe.
		case same && window == 0 && Analysis(rev.lastSegFlags)&AnalysisZeroWindowProbe != 0:
			ta |= AnalysisZeroWindowProbeAck
			finishedFwd = true
		// DUPLICATE ACK: the same window, seq and ack, no payload.
		case same && window != 0:
			if fwd.dupacknum == -1 {
				fwd.dupacknum = 1 // neutralize an "ACKed unseen segment"
			} else {
				fwd.dupacknum++
			}
			ta |= AnalysisDuplicateAck
			out.dupAckNum = uint32(fwd.dupacknum)
			out.dupAckOf = fwd.lastnondupack - 1 // 0 when not recording
		}
	}
	// finished_fwd: a new ack number resets the duplicate-ACK count.
	if ack != fwd.lastack {
		if slots != nil {
			fwd.lastnondupack = int32(idx) + 1 // only shown: kept when recording
		}
		fwd.dupacknum = 0
	}
	// ACKED LOST PACKET: an ACK beyond the peer's highest contiguous
	// sequence number; once per hole ("max seq to be acked" jumps).
	if rev.maxseqtobeacked != 0 && rev.maxseqtobeacked.LessThan(ack) && flags&ACK != 0 {
		if rev.maxseqtobeacked.LessThan(rev.nextseq) {
			rev.maxseqtobeacked = rev.nextseq
			ta |= AnalysisAckLostSegment
		} else {
			if rev.dupacknum == 0 {
				ta |= AnalysisAckLostSegment
			}
			rev.dupacknum = -1
		}
	}
	// RETRANSMISSION / FAST RETRANSMISSION / OUT-OF-ORDER / SPURIOUS, for a
	// segment with data, SYN or FIN that does not advance nextseq. A
	// keep-alive is none of them.
	if (seglen > 0 || flags&(SYN|FIN) != 0) && ta&AnalysisKeepAlive == 0 {
		notAdvanced := fwd.nextseq != 0 && seq.LessThan(fwd.nextseq)
		// More than one byte at nextseq-1 (after a possible zero-window
		// probe) adds new data.
		if seglen > 1 && fwd.nextseq-1 == seq {
			notAdvanced = false
		}
		oooThres := int64(3e6)
		if c.firstRTT != 0 {
			oooThres = c.firstRTT
		}
		switch {
		// SPURIOUS: all of it already acknowledged by the peer.
		case seglen > 0 && rev.lastack != 0 && seq.Add(seglen).LessThanEq(rev.lastack):
			ta |= AnalysisSpuriousRetransmission | AnalysisRetransmission
		// FAST RETRANSMISSION (tcp.fastrt_supersedes_ooo, the default,
		// checks it before out-of-order): two or more duplicate ACKs
		// asked for this seq within the last 20 ms.
		case notAdvanced && rev.dupacknum >= 2 && rev.lastack == seq && wsWithin(now, rev.lastackTime, 20e6):
			ta |= AnalysisFastRetransmission | AnalysisRetransmission
		// OUT-OF-ORDER: within the first RTT (3 ms without one) of the
		// highest segment, and not ending where it ended.
		case notAdvanced && wsWithin(now, fwd.nextseqTime, oooThres) && fwd.nextseq != wsEnd(seg):
			ta |= AnalysisOutOfOrder
		case notAdvanced:
			ta |= AnalysisRetransmission
		}
	}
	// finished_checking_retransmission_type: keep the segment, advance
	// nextseq (not for a zero-window probe), and "max seq to be acked" when
	// the segment is contiguous with it. (Wireshark skips the FIN's +1
	// when it already holds TCP_MAX_UNACKED_SEGMENTS of the direction; we
	// do not.)
	nextseq := wsEnd(seg)
	if slots != nil && (seglen > 0 || flags&(SYN|FIN) != 0) && len(slots[from]) < wsMaxUnacked {
		slots[from] = append(slots[from], wsSeg{seq: seq, nextseq: nextseq, time: now, idx: int32(idx)})
	}
	if fwd.nextseq.LessThan(nextseq) || fwd.nextseq == 0 {
		if ta&AnalysisZeroWindowProbe == 0 {
			fwd.nextseq, fwd.nextseqTime = nextseq, now
		}
	}
	if seq == fwd.maxseqtobeacked || fwd.maxseqtobeacked == 0 {
		if ta&AnalysisZeroWindowProbe == 0 {
			fwd.maxseqtobeacked = fwd.nextseq
		}
	}
	fwd.window = window
	fwd.lastack, fwd.lastackTime = ack, now
	fwd.lastSegFlags = uint16(ta)

	if slots != nil {
		out.ackRTT = wsAcked(slots, from, ack, now)
		out.bif = c.bytesInFlight(slots, from, seg)
	}

	// dissect_tcp after the analysis: the window as shown (scaled with
	// the sender's scale before this packet's own options; a SYN never),
	// the most recent SYN and the initial RTT, is_first_ack, then the
	// options (a window scale option sets the sender's scale on any
	// packet; the SACK blocks are kept for bytes in flight) and, on a SYN,
	// verify_tcp_window_scaling.
	out.win = window
	if flags&SYN == 0 && fwd.winScale >= 0 {
		out.win = window << uint(fwd.winScale)
	}
	if flags&SYN != 0 {
		if flags&ACK == 0 {
			c.tsMruSyn = now
		}
		fwd.isFirstAck = true
	}
	if flags&(SYN|ACK) == ACK {
		if c.tsMruSyn != 0 && c.firstRTT == 0 {
			c.firstRTT = now - c.tsMruSyn
		}
		fwd.isFirstAck = false
	}
	if seg.Opt.WScale >= 0 {
		fwd.winScale = seg.Opt.WScale
	}
	if slots != nil {
		fwd.sacked = seg.Opt.SACKBytes // for bytes in flight, when recording
	}
	if flags&SYN != 0 {
		switch {
		case fwd.winScale == wsScaleUnknown:
			fwd.winScale, rev.winScale = wsScaleNone, wsScaleNone
		case flags&ACK != 0 && rev.winScale == wsScaleNone:
			fwd.winScale = wsScaleNone
		}
	}
	out.flags = ta
	return out
}

// wsEnd is where Wireshark takes a segment to end: its payload plus one
// for SYN or FIN (one, not two, for a SYN with FIN).
func wsEnd(seg *Segment) Seq {
	end := seg.Seq.Add(seg.Len)
	if seg.Flags&(SYN|FIN) != 0 {
		end++
	}
	return end
}

// wsAcked removes the peer's segments that ack covers and returns the
// ack_rtt: the time since the oldest kept segment that ends exactly at ack
// (tcp_analyze_sequence_number, "remove all segments this ACKs").
func wsAcked(slots *[2][]wsSeg, from Side, ack Seq, now int64) (rtt int64) {
	list := slots[from.Peer()]
	n := 0
	found := false
	for i := range list {
		s := &list[i]
		switch {
		case ack == s.nextseq:
			// Wireshark walks its list newest first and keeps the last
			// match, the oldest; ours is oldest first.
			if !found {
				rtt, found = now-s.time, true
			}
			continue
		case s.seq.LessThan(ack) && ack.LessThanEq(s.nextseq):
			s.seq = ack // partly acknowledged
		case !ack.LessThan(s.nextseq):
			continue // acknowledged: removed
		}
		list[n] = *s
		n++
	}
	slots[from.Peer()] = list[:n]
	return rtt
}

// wsBytesInFlight is Wireshark's bytes_in_flight after a data segment
// (tcp_bif_seq_based off, the default): from the lowest to the highest
// sequence number of the sender's unacknowledged segments, relative to
// its base, less the peer's last SACK blocks; only while no segment went
// missing since the peer's last ACK (valid_bif).
func (c *wsConv) bytesInFlight(slots *[2][]wsSeg, from Side, seg *Segment) uint32 {
	fwd, rev := &c.dir[from], &c.dir[from.Peer()]
	list := slots[from]
	if seg.Len == 0 || len(list) == 0 || !fwd.validBIF {
		return 0
	}
	base := fwd.baseSeq
	first, last := uint32(list[len(list)-1].seq-base), uint32(list[len(list)-1].nextseq-base)
	for i := range list {
		first = min(first, uint32(list[i].seq-base))
		last = max(last, uint32(list[i].nextseq-base))
	}
	inFlight := last - first - rev.sacked
	if inFlight == 0 || inFlight >= 2000000000 {
		return 0
	}
	if seg.Flags&(SYN|FIN) != 0 {
		inFlight-- // SYN and FIN are only virtual bytes
	}
	return inFlight
}

// InitialRTT is Wireshark's initial_rtt: from the most recent SYN to the
// first ACK without SYN, in nanoseconds; 0 when not seen. Like Window, it
// reads the flow's analysis state: valid until the flow is Reset.
func (f *Flow) InitialRTT() int64 { return f.an.ws.firstRTT }

// Window returns the largest and smallest receive window side advertised,
// scaled as Wireshark shows it (SYNs excluded); ok is false when it
// advertised none.
func (f *Flow) Window(side Side) (largest, smallest uint32, ok bool) {
	d := &f.an.ws.dir[side]
	return d.maxWin, d.minWin, d.haveWin
}

// packet gives the per-packet view of a wsAnalyze result.
func (o *wsOut) packet() PacketAnalysis {
	return PacketAnalysis{Analysis: o.flags, DupAckNum: o.dupAckNum, DupAckOf: o.dupAckOf,
		WinScaled: o.win, BytesInFlight: o.bif, AckRTT: o.ackRTT}
}

// observe updates the flow's totals and our own facts with a segment that
// is not a duplicate frame, after the state machine tracked it; it reports whether the segment is really a retransmission where
// Wireshark says out-of-order (PacketAnalysis.ReallyRetransmit).
func (f *Flow) observe(seg *Segment, from Side, idx int, an *wsOut) (really bool) {
	st := &f.Stats[from]
	if an.flags&AnalysisRetransmission != 0 {
		st.Retransmissions++
		st.RetransmittedBytes += int64(seg.Len)
	}
	if seg.Flags&SYN == 0 {
		d := &f.an.ws.dir[from]
		if !d.haveWin {
			d.maxWin, d.minWin, d.haveWin = an.win, an.win, true
		}
		d.maxWin, d.minWin = max(d.maxWin, an.win), min(d.minWin, an.win)
	}
	if an.flags&(AnalysisZeroWindow|AnalysisDuplicateAck|AnalysisLostSegment) != 0 {
		if an.flags&AnalysisZeroWindow != 0 {
			st.ZeroWindows++
		}
		if an.flags&AnalysisDuplicateAck != 0 {
			st.DupAcks++
		}
		if an.flags&AnalysisLostSegment != 0 {
			st.LostSegments++
		}
	}

	// What the capture saw of the sender's sequence space, and an ACK of
	// the peer's bytes it never saw (capture loss, also in the middle of
	// what it saw, which the state machine's count misses). The ACK also
	// settles the peer's resent segments it covers (stall.go).
	if seg.Flags&ACK != 0 && seg.Flags&RST == 0 {
		if pd := &f.an.ws.dir[from.Peer()]; f.an.anyHoles && pd.holes.n > 0 {
			h := &pd.holes
			// The state machine counts an ACK beyond everything the
			// peer was seen to send (track); this one, in a gap below
			// it, it misses.
			beyond := h.have && h.next.LessThan(seg.Ack)
			if h.acked(&pd.gaps, seg.Ack) {
				f.Stats[from.Peer()].AckedUnseen++
				if !beyond {
					f.AckedUnseen++
				}
			}
			f.an.anyHoles = f.an.ws.dir[0].holes.n|f.an.ws.dir[1].holes.n != 0
		}
		f.settleResent(seg, from.Peer())
	}
	if seg.Len == 0 && seg.Flags&(SYN|FIN) == 0 {
		return false
	}
	start := seg.Seq
	if seg.Flags&SYN != 0 {
		start++ // the SYN's own number is the handshake's business
	}
	fd := &f.an.ws.dir[from]
	h := &fd.holes
	gap, _, seen, known := h.add(&fd.gaps, start, seg.SeqEnd())
	if h.n != 0 {
		f.an.anyHoles = true
	} else if f.an.anyHoles {
		f.an.anyHoles = f.an.ws.dir[from.Peer()].holes.n != 0
	}
	if !known || seg.Flags&SYN != 0 || f.hs.pending {
		return false
	}
	ooo := an.flags&AnalysisOutOfOrder != 0
	resent := an.flags&AnalysisRetransmission != 0 && an.flags&AnalysisSpuriousRetransmission == 0
	switch {
	case gap > 0 && seen == 0 && ooo:
		st.Reordered++ // a gap filled soon after: the network reordered
	case gap > 0 && (resent || ooo):
		f.lostBefore(seg, from, idx) // resent into a gap: the capture never saw the original
	case ooo && seen > 0:
		really = true
		f.resentSeen(seg, from, idx)
	case resent && seen > 0:
		f.resentSeen(seg, from, idx)
	}
	return really
}
