package flowstate

// This file holds the stall and loss findings of a flow: the rules of
// LabelZeroWindowStall, LabelRTORetransmission, LabelLoss and
// LabelKeepaliveOnly (label.go documents each), one function each, fed
// every segment that is not a duplicate frame after the state machine and
// Wireshark's analysis have seen it.

// StallThreshold is how long a zero window or a keep-alive-only idle
// period must last to be a finding: longer than a reading application's
// ordinary pause (scheduling, a collection) and than Linux's first
// persist-timer probe (tcp_probe_timer, at the RTO: 200 ms or more).
const StallThreshold = int64(1e9)

// RTOMin is Linux's TCP_RTO_MIN (include/net/tcp.h, 200 ms): no
// retransmission timer fires sooner after the last progress.
const RTOMin = int64(200e6)

// maxStalls bounds the stalls kept per flow; maxStallTimes the times kept
// per stall.
const (
	maxStalls     = 32
	maxStallTimes = 16
)

// Stall is one stall or loss finding of a flow, with its evidence.
type Stall struct {
	Label Label
	// Side is the side whose behaviour shows it: the receiver that
	// advertised a zero window, the sender that retransmitted on its timer
	// or lost segments, the side that sent the keep-alives.
	Side Side
	// Packet is the index in the flow of the packet that carries the label.
	Packet int
	// Start and End bound the stall, in nanoseconds since the Unix epoch:
	// a zero window from its first advertisement to the window update; an
	// RTO from the last progress to the ACK that covered the retransmitted
	// segment; keep-alives from the last packet with payload (or SYN, FIN,
	// RST) to the next; loss from the first lost segment to the last.
	Start, End int64
	// Open says the stall had not ended when the flow did (End is then
	// the flow's last packet).
	Open bool
	// Count is the peer's probes into a zero window, the retransmissions
	// of one segment on the timer, the keep-alives sent, or the segments
	// lost (LostBefore + LostAfter).
	Count int
	// Times are the times of the retransmissions (the backoff series) or
	// of the keep-alives, the first maxStallTimes.
	Times []int64
	// Seq is the relative sequence number of the retransmitted segment
	// (rto-retransmission).
	Seq uint32
	// LostBefore and LostAfter split a loss finding's segments by where
	// they were lost, relative to the capture point (DirStats).
	LostBefore, LostAfter int
	// Answered counts the peer's answers to keep-alives (bare ACKs).
	Answered int
	// Needless says the ACK that ended an RTO stall echoed the timestamp
	// of the original transmission (RFC 3522): the data had arrived, its
	// ACK was late or lost, and the timer fired needlessly.
	Needless bool
}

// Duration is End - Start.
func (s *Stall) Duration() int64 { return s.End - s.Start }

// Stalled reports whether the stall counts as time the connection stood
// still (a zero window, a retransmission timeout), as against loss or an
// idle connection kept alive.
func (s *Stall) Stalled() bool {
	return s.Label == LabelZeroWindowStall || s.Label == LabelRTORetransmission
}

// StallTime is the time the flow stood still: the sum of its zero-window
// and RTO stalls.
func (f *Flow) StallTime() int64 {
	var d int64
	for i := range f.Stalls {
		if f.Stalls[i].Stalled() {
			d += f.Stalls[i].Duration()
		}
	}
	return d
}

// stallState is the bookkeeping behind the findings.
// The per-packet part (each side's zero window and retransmission timer,
// how many resent segments wait) is in wsFlow, beside Wireshark's state of
// the same direction, so that a segment touches few cache lines.
type stallState struct {
	loss [2]int32 // index + 1 in Stalls of the side's loss finding
	// resent: the side's resent segments whose bytes the capture had
	// seen, waiting for the ACK that tells lost from needless.
	resent [2][maxResent]resentSeg
	// pendLost: a lost segment found on the packet being processed, to be
	// recorded by ruleLoss once the packet is in the flow (havePend, in
	// analysisState's hot head, says there is one).
	pendLost lostSeg
	// idle is the keep-alive period being followed (idleOpen, in the hot
	// head, says there is one).
	idle Stall
}

// maxResent bounds the resent segments waiting for their ACK per side;
// the oldest is taken as lost when another comes.
const maxResent = 4

type resentSeg struct {
	end   Seq
	tsVal uint32
	hasTS bool
	idx   int32
	t     int64
}

type lostSeg struct {
	side   Side
	before bool
	idx    int32
	t      int64
}

type zeroWindow struct {
	start  int64
	pkt    int32
	probes int32
	open   bool
}

// rtoTimer is a sender's retransmission timer as the rule follows it.
type rtoTimer struct {
	una        Seq  // the peer's highest acknowledgment of this side
	seq        Seq  // the segment retransmitted on the timer (open)
	haveUna    bool // una is set
	idle       bool // nothing was outstanding: the timer starts at the next send
	open       bool // an episode of retransmissions of seq on the timer
	hasTS      bool // the first retransmission had a timestamp, tsVal
	tsVal      uint32
	timerStart int64 // when the retransmission timer last (re)started
	lastDupAck int64
	stall      int32 // index + 1 in Stalls
}

// stallStep runs the stall rules on packet idx, seg from side from.
func (f *Flow) stallStep(seg *Segment, from Side, idx int, an *wsOut) {
	f.ruleZeroWindow(seg, from, idx, an)
	f.ruleRTO(seg, from, idx, an)
	f.ruleLoss()
	f.ruleKeepalive(seg, from, idx, an)
}

// stallFinish closes the stalls still open at the end of the flow, at
// its last packet.
func (f *Flow) stallFinish() {
	if !f.an.busy && !f.an.idleOpen && !f.an.havePend {
		return // nothing open: most flows
	}
	end := f.LastTime

	// Resent segments never acknowledged: lost, as far as the capture
	// shows.
	for side := range f.an.ws.dir {
		for f.an.ws.dir[side].nres > 0 {
			f.settleOldest(Side(side), false)
		}
	}
	f.ruleLoss()
	for side := range f.an.ws.dir {
		if z := &f.an.ws.dir[side].zw; z.open {
			f.closeZeroWindow(Side(side), end, true)
		}
	}
	for side := range f.an.ws.dir {
		if r := &f.an.ws.dir[side].rto; r.open {
			r.open = false
			if s := f.stallAt(r.stall); s != nil {
				s.End, s.Open = end, true
			}
		}
	}
	if f.an.idleOpen {
		f.closeIdle(end, true)
	}
}

// stallAt returns the stall at index i-1, or nil.
func (f *Flow) stallAt(i int32) *Stall {
	if i <= 0 || int(i) > len(f.Stalls) {
		return nil
	}
	return &f.Stalls[i-1]
}

// addStall records a stall and labels its packet; it returns its index + 1,
// 0 when the flow holds maxStalls already (the label still counts).
func (f *Flow) addStall(s Stall) int32 {
	f.addLabel(s.Packet, s.Label, s.Start)
	if len(f.Stalls) >= maxStalls {
		return 0
	}
	f.Stalls = append(f.Stalls, s)
	return int32(len(f.Stalls))
}

func appendStallTime(ts []int64, t int64) []int64 {
	if len(ts) < maxStallTimes {
		ts = append(ts, t)
	}
	return ts
}

// ruleZeroWindow: LabelZeroWindowStall. The receiver's zero window opens
// an episode (Wireshark's zero_window: window 0 without SYN, FIN or RST);
// its next non-zero window, or a RST from either side, closes it; the
// episode is a finding when it lasted StallThreshold or more.
func (f *Flow) ruleZeroWindow(seg *Segment, from Side, idx int, an *wsOut) {
	if an.flags&AnalysisZeroWindow == 0 && !f.an.zwOpen[0] && !f.an.zwOpen[1] {
		return // no zero window: most segments
	}
	z := &f.an.ws.dir[from].zw
	switch {
	case an.flags&AnalysisZeroWindow != 0:
		if !z.open {
			*z = zeroWindow{open: true, start: seg.Time, pkt: int32(idx)}
			f.an.zwOpen[from], f.an.busy = true, true
		}
	case z.open && seg.Flags&SYN == 0 && seg.Window != 0:
		f.closeZeroWindow(from, seg.Time, false)
	}
	if p := &f.an.ws.dir[from.Peer()].zw; p.open {
		if seg.Flags&RST != 0 {
			f.closeZeroWindow(from.Peer(), seg.Time, false)
		} else {
			p.probes++ // what the sender could send: probes
		}
	}
	if z.open && seg.Flags&RST != 0 {
		f.closeZeroWindow(from, seg.Time, false)
	}
}

func (f *Flow) closeZeroWindow(side Side, end int64, open bool) {
	z := &f.an.ws.dir[side].zw
	z.open, f.an.zwOpen[side] = false, false
	if end-z.start < StallThreshold {
		return
	}
	f.addStall(Stall{Label: LabelZeroWindowStall, Side: side, Packet: int(z.pkt), Start: z.start, End: end,
		Open: open, Count: int(z.probes)})
}

// ruleRTO: LabelRTORetransmission. Each side's retransmission timer is
// followed from the peer's ACKs: it restarts on an ACK of new data while
// data stays outstanding (tcp_rearm_rto), or at the first send after
// everything was acknowledged. A Wireshark retransmission (not a fast one)
// of the oldest unacknowledged byte at least RTOMin after both that start
// and the peer's last duplicate ACK is a timeout; the same segment again
// extends the backoff series; the ACK that covers it ends the stall.
func (f *Flow) ruleRTO(seg *Segment, from Side, idx int, an *wsOut) {
	peer := from.Peer()
	// The peer's ACK: progress for this side's peer timer.
	if seg.Flags&ACK != 0 && seg.Flags&RST == 0 {
		r := &f.an.ws.dir[peer].rto
		switch {
		case !r.haveUna || r.una.LessThan(seg.Ack):
			r.una, r.haveUna = seg.Ack, true
			r.timerStart = seg.Time
			r.idle = !seg.Ack.LessThan(f.EP[peer].SndNxt)
			if r.open && r.seq.LessThan(seg.Ack) {
				r.open = false
				if s := f.stallAt(r.stall); s != nil {
					s.End = seg.Time
					s.Needless = r.hasTS && seg.Opt.HasTS && int32(seg.Opt.TSEcr-r.tsVal) < 0
				}
			}
		case an.flags&AnalysisDuplicateAck != 0:
			r.lastDupAck = seg.Time
		}
	}
	r := &f.an.ws.dir[from].rto
	if seg.Len == 0 && seg.Flags&FIN == 0 || seg.Flags&(SYN|RST) != 0 {
		return
	}
	if an.flags&AnalysisRetransmission == 0 {
		if r.idle {
			r.timerStart, r.idle = seg.Time, false // new data: the timer starts
		}
		return
	}
	if an.flags&AnalysisFastRetransmission != 0 || f.hs.pending || !r.haveUna || seg.Seq != r.una {
		return
	}
	if r.open && seg.Seq == r.seq {
		if s := f.stallAt(r.stall); s != nil {
			s.Count++
			s.Times = appendStallTime(s.Times, seg.Time)
		}
		return
	}
	ref := max(r.timerStart, r.lastDupAck)
	if seg.Time-ref < RTOMin {
		return
	}
	r.open, r.seq = true, seg.Seq
	f.an.busy = true
	r.hasTS, r.tsVal = seg.Opt.HasTS, seg.Opt.TSVal
	r.stall = f.addStall(Stall{Label: LabelRTORetransmission, Side: from, Packet: idx, Start: ref, End: seg.Time,
		Count: 1, Times: appendStallTime(nil, seg.Time), Seq: f.EP[from].Rel(seg.Seq)})
}

// lostBefore notes a resent segment that filled a gap of the capture: the
// capture never saw the original, which was lost between the sender and
// the capture point (or by the capture).
func (f *Flow) lostBefore(seg *Segment, from Side, idx int) {
	f.Stats[from].LostBeforeCapture++
	f.noteLost(lostSeg{side: from, before: true, idx: int32(idx), t: seg.Time})
}

// resentSeen notes a resent segment whose bytes the capture had seen: lost
// after the capture point, unless the ACK that covers it proves the
// original arrived (settleResent).
func (f *Flow) resentSeen(seg *Segment, from Side, idx int) {
	st, d := &f.cold().stall, &f.an.ws.dir[from]
	f.an.busy = true
	if d.nres == maxResent {
		f.settleOldest(from, false)
	}
	st.resent[from][d.nres] = resentSeg{end: seg.SeqEnd(), tsVal: seg.Opt.TSVal, hasTS: seg.Opt.HasTS, idx: int32(idx), t: seg.Time}
	d.nres++
}

// settleResent settles side's resent segments that ack (from the peer)
// covers: needless when the ACK echoes a timestamp older than the
// retransmission's (RFC 3522; tcp_packet_delayed), lost otherwise.
func (f *Flow) settleResent(ack *Segment, side Side) {
	d := &f.an.ws.dir[side]
	if d.nres == 0 {
		return
	}
	st := &f.cold().stall
	for d.nres > 0 && st.resent[side][0].end.LessThanEq(ack.Ack) {
		r := st.resent[side][0]
		f.settleOldest(side, r.hasTS && ack.Opt.HasTS && int32(ack.Opt.TSEcr-r.tsVal) < 0)
	}
}

// settleOldest settles side's oldest waiting resent segment.
func (f *Flow) settleOldest(side Side, needless bool) {
	st := &f.cold().stall
	r := st.resent[side][0]
	d := &f.an.ws.dir[side]
	copy(st.resent[side][:], st.resent[side][1:d.nres])
	d.nres--
	if needless {
		f.Stats[side].Undone++
		return
	}
	f.Stats[side].LostAfterCapture++
	f.noteLost(lostSeg{side: side, idx: r.idx, t: r.t})
}

func (f *Flow) noteLost(l lostSeg) {
	if int(l.idx) >= f.NPackets-1 {
		// The packet being processed: it is not in the flow yet when
		// recording, so stallStep records it (in the same order whether
		// recording or not).
		f.cold().stall.pendLost, f.an.havePend = l, true
		return
	}
	f.recordLost(l)
}

// ruleLoss: LabelLoss. The first lost segment of a side labels its packet;
// the side's Stall follows the counts (DirStats.LostBeforeCapture and
// LostAfterCapture). Here: the lost segment of the packet just processed.
func (f *Flow) ruleLoss() {
	if f.an.havePend {
		f.an.havePend = false
		f.recordLost(f.cold().stall.pendLost)
	}
}

// recordLost records a lost segment in its side's loss Stall, starting it
// (and labelling the packet) with the side's first.
func (f *Flow) recordLost(l lostSeg) {
	st := &f.cold().stall
	s := f.stallAt(st.loss[l.side])
	if s == nil && st.loss[l.side] == 0 {
		st.loss[l.side] = -1
		if i := f.addStall(Stall{Label: LabelLoss, Side: l.side, Packet: int(l.idx), Start: l.t}); i > 0 {
			st.loss[l.side] = i
			s = f.stallAt(i)
		}
	}
	if s != nil {
		s.Start, s.End = min(s.Start, l.t), max(s.End, l.t)
		s.LostBefore, s.LostAfter = int(f.Stats[l.side].LostBeforeCapture), int(f.Stats[l.side].LostAfterCapture)
		s.Count = s.LostBefore + s.LostAfter
	}
}

// ruleKeepalive: LabelKeepaliveOnly. A keep-alive (Wireshark's
// keep_alive, while the peer's window is open: not a zero-window probe)
// opens an idle period that began at the last packet with payload, SYN,
// FIN or RST; the next such packet closes it; bare ACKs (the keep-alives'
// answers) change nothing. A period of StallThreshold or more is a
// finding.
func (f *Flow) ruleKeepalive(seg *Segment, from Side, idx int, an *wsOut) {
	a := &f.an.analysisHot
	active := seg.Len > 1 || seg.Len == 1 && an.flags&AnalysisKeepAlive == 0 || seg.Flags&(SYN|FIN|RST) != 0
	if active {
		if a.idleOpen {
			f.closeIdle(seg.Time, false)
		}
		a.lastActive = seg.Time
		return
	}
	if !a.idleOpen && (an.flags&AnalysisKeepAlive == 0 || f.an.zwOpen[from.Peer()]) {
		return // most segments
	}
	k := &f.cold().stall.idle
	if a.idleOpen && from != k.Side {
		k.Answered++
		return
	}
	if an.flags&AnalysisKeepAlive == 0 || f.an.zwOpen[from.Peer()] {
		return
	}
	if !a.idleOpen {
		start := a.lastActive
		if start == 0 {
			start = f.FirstTime
		}
		a.idleOpen = true
		*k = Stall{Label: LabelKeepaliveOnly, Side: from, Packet: idx, Start: start}
	}
	k.Count++
	k.Times = appendStallTime(k.Times, seg.Time)
}

func (f *Flow) closeIdle(end int64, open bool) {
	f.an.idleOpen = false
	s := f.cold().stall.idle
	f.cold().stall.idle = Stall{}
	s.End, s.Open = end, open
	if s.Duration() >= StallThreshold {
		f.addStall(s)
	}
}
