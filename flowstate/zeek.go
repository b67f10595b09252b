package flowstate

// This file computes, packet by packet, the conn_state and history fields
// Zeek writes to conn.log, so that a summary can be compared line for line
// with Zeek's. It follows Zeek's implementation, not only its
// documentation:
//
//   - src/packet_analysis/protocol/tcp/TCP.cc, TCPAnalyzer::DeliverPacket:
//     the order of the per-packet steps (init_endpoint, update_history,
//     update_window, init_peer/update_ack_seq, update_last_seq, the state
//     machine, AckReceived, DataSent) and WantConnection (who is the
//     originator);
//   - src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc:
//     UpdateStateMachine and its Update*State helpers (the per-endpoint
//     states), SetPartialStatus;
//   - src/analyzer/protocol/tcp/TCP_Endpoint.cc: CheckHistory, AddHistory,
//     DidRxmit, ZeroWindow, Gap, Size; TCP_Endpoint.h: the HIST_* masks;
//   - src/analyzer/protocol/tcp/TCP_Reassembler.cc: AckReceived,
//     Undelivered and Gap (content gaps);
//   - src/Conn.cc and Conn.h (Session.h in newer trees): CheckHistory,
//     ScaledHistoryEntry, FlipRoles ('^');
//   - scripts/base/protocols/conn/main.zeek: function conn_state.
//
// Zeek's endpoint states are not our RFC states: Zeek has no LISTEN and no
// SYN-RECEIVED, a responder is ESTABLISHED as soon as it sends a SYN-ACK,
// and an originator only when the SYN-ACK arrives. They are tracked here
// separately, per endpoint.
//
// Listen-queue incidents: Zeek cannot see that a server ignored the
// client's handshake ACK. A connection stuck in the server's SYN queue
// (SYN-ACK retransmitted after the ACK, the client's data ignored and
// retransmitted) is "ShA" or "ShADT" with conn_state S1 to Zeek, and SF
// once both sides sent FIN; a ghost connection (the client's FIN while the
// server still held the request) is S2 or SF. That is what Zeek prints, so
// that is what we print: the labels say the rest.
//
// Where we knowingly differ from Zeek:
//
//   - C (bad checksum) is never emitted: tcptimeline does not verify
//     checksums (offload makes them wrong in most captures), so a packet
//     Zeek would drop with only a 'C' is analysed like any other.
//   - Originator. Zeek's originator is the sender of the first packet,
//     flipped ('^' first in the history) when that packet is not a plain
//     SYN and its source port is in likely_server_ports
//     (TCPAnalyzer::WantConnection), a set that depends on the analyzers
//     Zeek loaded. We take the side the Flow calls server to be on a likely
//     server port and the client's ephemeral port not to be: Zeek's
//     originator starts as our client, with '^' when the first packet came
//     from the server. A flow whose server port Zeek does not know keeps
//     the first sender as originator in Zeek ("Ha..." where we print
//     "^hA..."). The later SYN/SYN-ACK reversal flip (UpdateInactiveState)
//     is mirrored, though with this choice of originator it cannot occur.
//   - G (content gap) is approximated. Zeek's reassembler reports a gap
//     when an ACK covers bytes it never received. We keep, per sender, the
//     end of the data seen in order and at most one island of data seen
//     beyond a hole (several islands are merged, as if the holes between
//     them had been seen); an ACK beyond the in-order end is a gap, under
//     Zeek's own conditions (both endpoints established or cleanly closing,
//     the FIN's sequence number not counted, not an ACK in a RST), and with
//     reassembly on, as Zeek's default dpd_reassemble_first_packets has it.
//     Segment has no captured length, so payload cut by the snaplen counts
//     as seen, where Zeek, which does not reassemble it, reports gaps.
//   - Relative sequence numbers are kept in 32 bits where Zeek counts
//     wraps in 64: S, H, F and R repeat decisions and connection sizes can
//     differ on connections of more than 2 GB.
//   - A Flow is one conn.log line. Zeek splits differently in places: its
//     attempt timer (tcp_attempt_delay, 5 s) ends a connection whose SYN is
//     unanswered, so later SYN retransmissions start new conn.log lines
//     (zeek/zeek issue #863); its inactivity timeouts and IsReuse rules are
//     not the flow table's.
//   - The history keeps at most zeekMaxHistory letters; Zeek's is
//     unbounded. Only S, H, F and R repeated with ever new sequence
//     numbers can reach that.
//   - 'x' (analysis partial, limits exceeded) is never emitted.

// zeekState mirrors Zeek's EndpointState (TCP_Endpoint.h,
// TCP_ENDPOINT_*).
type zeekState uint8

const (
	zeekInactive zeekState = iota
	zeekSynSent
	zeekSynAckSent
	zeekPartial
	zeekEstablished
	zeekClosed
	zeekReset
)

// zeekTooLargeSeqDelta is TOO_LARGE_SEQ_DELTA in TCP.cc.
const zeekTooLargeSeqDelta = 1048576

// History masks, TCP_Endpoint.h HistoryMasks; a responder's are shifted
// left by 16 (TCP_Endpoint::CheckHistory).
const (
	zeekHistSYN    uint32 = 0x1
	zeekHistFIN    uint32 = 0x2
	zeekHistRST    uint32 = 0x4
	zeekHistFINRST uint32 = 0x8
	zeekHistData   uint32 = 0x10
	zeekHistACK    uint32 = 0x20
	zeekHistMulti  uint32 = 0x40
)

// zeekMaxHistory bounds the history kept per flow, to keep the tracker
// free of pointers.
const zeekMaxHistory = 40

// zeekScaled is one of Zeek's logarithmic history counters (gap_cnt and
// gap_thresh and their kin in TCP_Endpoint).
type zeekScaled struct{ cnt, thresh uint32 }

// zeekEndpoint is what Zeek's TCP_Endpoint holds that the history and
// conn_state depend on. Sequence numbers named rel are relative to start.
type zeekEndpoint struct {
	state, prev zeekState
	finCnt      uint8
	island      bool // an island of data was seen beyond a hole

	start, last, ack Seq // start_seq, last_seq, ack_seq
	finSeq           Seq // FIN_seq, rel
	// hist_last_SYN, hist_last_FIN, hist_last_RST, rel.
	lastSYN, lastFIN, lastRST Seq
	rxmt, win0, gap           zeekScaled

	// Reassembler approximation, rel: trim_seq, last_reassem_seq (data
	// seen in order), and the island [islandFrom, islandTo).
	trim, reassem        Seq
	islandFrom, islandTo Seq
}

func (e *zeekEndpoint) setState(s zeekState) {
	if s != e.state {
		e.prev, e.state = e.state, s
	}
}

// clean is is_clean in TCP_Reassembler.cc.
func (e *zeekEndpoint) clean() bool {
	return e.state == zeekEstablished || (e.state == zeekClosed && e.prev == zeekEstablished)
}

// zeekTracker follows one flow as Zeek would. It holds no pointer.
type zeekTracker struct {
	ep        [2]zeekEndpoint // indexed by our Side
	orig      Side            // which of our sides is Zeek's originator
	started   bool
	partial   bool   // is_partial
	firstSeen uint8  // first_packet_seen: 1 originator, 2 responder
	histSeen  uint32 // Connection::hist_seen
	n         uint8
	hist      [zeekMaxHistory]byte
}

// ZeekHistory returns the flow's history as Zeek's conn.log would show it
// (e.g. "ShADadFf"), computed packet by packet. See zeek.go for the rules
// and where they knowingly differ from Zeek; 'C' is never emitted.
func (f *Flow) ZeekHistory() string { return string(f.zeek.hist[:f.zeek.n]) }

// ZeekConnState returns the conn_state Zeek's conn.log would show for the
// flow as seen so far: S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH,
// SH, SHR or OTH (function conn_state in Zeek's
// base/protocols/conn/main.zeek, over Zeek's endpoint states).
func (f *Flow) ZeekConnState() string { return f.zeek.connState() }

// ZeekOriginator returns the side Zeek would log as the originator
// (id.orig_h): the client, unless Zeek's SYN/SYN-ACK reversal flipped it.
func (f *Flow) ZeekOriginator() Side { return f.zeek.orig }

func (z *zeekTracker) add(code byte) {
	if int(z.n) < len(z.hist) {
		z.hist[z.n] = code
		z.n++
	}
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// addFor is TCP_Endpoint::AddHistory: lower case for the responder.
func (z *zeekTracker) addFor(isOrig bool, code byte) {
	if !isOrig {
		code = lower(code)
	}
	z.add(code)
}

// check is TCP_Endpoint::CheckHistory with Connection::CheckHistory: the
// letter is added the first time only; it reports whether it was seen
// before.
func (z *zeekTracker) check(isOrig bool, mask uint32, code byte) bool {
	if !isOrig {
		mask <<= 16
		code = lower(code)
	}
	if z.histSeen&mask == 0 {
		z.histSeen |= mask
		z.add(code)
		return false
	}
	return true
}

// scaled is Connection::ScaledHistoryEntry with base 10: the letter at the
// 1st, 10th, 100th... event.
func (z *zeekTracker) scaled(isOrig bool, s *zeekScaled, code byte) {
	s.cnt++
	if s.cnt == s.thresh {
		z.addFor(isOrig, code)
		if t := s.thresh * 10; t <= s.thresh {
			s.cnt = 0 // wrapped: TCP_Endpoint keeps the threshold
		} else {
			s.thresh = t
		}
	}
}

// flip is Connection::FlipRoles: the roles swap and '^' is recorded.
func (z *zeekTracker) flip() {
	z.orig = z.orig.Peer()
	z.add('^')
}

// process feeds one segment sent by side from, duplicates included: Zeek
// sees a frame recorded twice as a retransmission.
func (z *zeekTracker) process(seg *Segment, from Side) {
	if !z.started {
		z.started = true
		for i := range z.ep {
			e := &z.ep[i]
			e.rxmt.thresh, e.win0.thresh, e.gap.thresh = 1, 1, 1
			e.trim, e.reassem = 1, 1 // TCP_Reassembler starts at 1
		}
		// The Flow's client is the SYN sender, or the SYN-ACK receiver or
		// the higher port when the handshake was missed: Zeek's
		// originator, flipped by WantConnection when the first packet came
		// from the server's (likely server) port.
		z.orig = from
		if from == Server {
			z.flip()
		}
	}
	fl := seg.Flags
	syn, fin, rst, ack := fl&SYN != 0, fl&FIN != 0, fl&RST != 0, fl&ACK != 0
	isOrig := from == z.orig
	e, peer := &z.ep[from], &z.ep[from.Peer()]
	length := seg.Len

	// get_segment_len: SYN and FIN take one number; a RST's payload is
	// not part of the stream.
	segLen := length
	if syn {
		segLen++
	}
	if fin {
		segLen++
	}
	if rst {
		segLen -= length
	}
	end := seg.Seq.Add(segLen) // seq_one_past_segment

	z.setPartial(syn, ack, isOrig)
	z.initEndpoint(e, syn, seg.Seq, end)
	rel := seg.Seq - e.start
	underflow := int32(rel) < 0

	z.updateHistory(e, isOrig, fl, rel, length)
	// update_window: a zero window, unless with or after a RST, or after
	// the peer's FIN.
	if seg.Window == 0 && !rst && peer.state != zeekClosed && e.state != zeekReset {
		z.scaled(isOrig, &e.win0, 'W')
	}
	if fin {
		if e.finCnt < 255 {
			e.finCnt++
		}
		e.finSeq = rel + Seq(segLen)
	}

	var relAck Seq
	if ack {
		if peer.state == zeekInactive {
			// init_peer: number the peer as if its SYN had been seen.
			relAck = 1
			peer.start, peer.ack, peer.last = seg.Ack-1, seg.Ack-1, seg.Ack-1
		} else {
			relAck = seg.Ack - peer.start
			if int32(relAck) < 0 {
				relAck = 0 // TCP_ack_underflow_or_misorder
			} else if !rst {
				// update_ack_seq; acks in RSTs are not trusted.
				d := int32(seg.Ack - peer.ack)
				if !(seg.Ack == 0 && d > zeekTooLargeSeqDelta) && d > 0 {
					peer.ack = seg.Ack
				}
			}
		}
	}

	z.updateLastSeq(e, isOrig, fl, end, length)
	z.updateState(e, peer, isOrig, fl, seg.Seq, length)
	if ack {
		// After the state machine, so that gaps revealed by a FIN or RST
		// are judged on the closing state (TCPAnalyzer::DeliverPacket).
		z.ackReceived(from.Peer(), relAck)
	}
	if length > 0 && !rst && !underflow {
		dataRel := rel
		if syn {
			dataRel++
		}
		z.dataSent(e, dataRel, dataRel+Seq(length))
	}
	// CheckPIA_FirstPacket.
	if isOrig {
		z.firstSeen |= 1
	} else {
		z.firstSeen |= 2
	}
}

// setPartial is TCPSessionAdapter::SetPartialStatus.
func (z *zeekTracker) setPartial(syn, ack, isOrig bool) {
	if isOrig {
		if z.firstSeen&1 == 0 {
			z.partial = !syn || ack
		}
	} else if z.firstSeen&2 == 0 && !z.partial {
		z.partial = !syn
	}
}

// initEndpoint is init_endpoint in TCP.cc: the first packet of a side (or
// a SYN that restarts it) sets its sequence numbering.
func (z *zeekTracker) initEndpoint(e *zeekEndpoint, syn bool, seq, end Seq) {
	restart := func() { e.start, e.ack, e.last = seq, seq, end }
	switch e.state {
	case zeekInactive:
		if syn {
			e.start, e.ack = seq, seq
		} else {
			// A partial connection: numbered as if a SYN had been seen,
			// and the first packet is not a retransmission.
			e.start, e.ack = seq-1, seq-1
			end = seq
		}
		e.last = end
	case zeekSynSent, zeekSynAckSent:
		if syn && seq != e.start {
			restart() // SYN_seq_jump
		}
	case zeekEstablished, zeekPartial:
		if syn {
			restart()
		}
	case zeekReset:
		if syn && e.prev == zeekInactive {
			restart()
		}
	}
}

// updateHistory is update_history in TCP.cc.
func (z *zeekTracker) updateHistory(e *zeekEndpoint, isOrig bool, fl Flags, rel Seq, length uint32) {
	syn, fin, rst := fl&SYN != 0, fl&FIN != 0, fl&RST != 0
	bits := 0
	for _, b := range [...]bool{syn, fin, rst} {
		if b {
			bits++
		}
	}
	switch {
	case bits > 1:
		if fin && rst {
			z.check(isOrig, zeekHistFINRST, 'I')
		} else {
			z.check(isOrig, zeekHistMulti, 'Q')
		}
	case bits == 1:
		// S, H, F and R repeat only with a new sequence number. A FIN's
		// number is the one after its data.
		if syn {
			code := byte('S')
			if fl&ACK != 0 {
				code = 'H'
			}
			if z.check(isOrig, zeekHistSYN, code) && rel != e.lastSYN {
				z.addFor(isOrig, code)
			}
			e.lastSYN = rel
		}
		if fin {
			if z.check(isOrig, zeekHistFIN, 'F') && rel+Seq(length) != e.lastFIN {
				z.addFor(isOrig, 'F')
			}
			e.lastFIN = rel + Seq(length)
		}
		if rst {
			if z.check(isOrig, zeekHistRST, 'R') && rel != e.lastRST {
				z.addFor(isOrig, 'R')
			}
			e.lastRST = rel
		}
	default:
		if length > 0 {
			z.check(isOrig, zeekHistData, 'D')
		} else if fl&ACK != 0 {
			z.check(isOrig, zeekHistACK, 'A')
		}
	}
}

// updateLastSeq is update_last_seq in TCP.cc: payload that does not
// advance the highest sequence number sent is a retransmission ('T'). A
// SYN carrying data counts as one too, as in Zeek (init_endpoint already
// set last_seq past it).
func (z *zeekTracker) updateLastSeq(e *zeekEndpoint, isOrig bool, fl Flags, end Seq, length uint32) {
	d := int32(end - e.last)
	switch {
	case fl&(SYN|RST) != 0 && (d > zeekTooLargeSeqDelta || d < -zeekTooLargeSeqDelta):
	case fl&FIN != 0 && e.last == e.start+1:
		e.last = end
	case e.state == zeekReset:
	case d > 0:
		e.last = end
	case length > 0:
		z.scaled(isOrig, &e.rxmt, 'T') // TCP_Endpoint::DidRxmit
	}
}

// updateState is TCPSessionAdapter::UpdateStateMachine.
func (z *zeekTracker) updateState(e, peer *zeekEndpoint, isOrig bool, fl Flags, seq Seq, length uint32) {
	syn, fin, rst, ack := fl&SYN != 0, fl&FIN != 0, fl&RST != 0, fl&ACK != 0
	switch e.state {
	case zeekInactive: // UpdateInactiveState
		if syn {
			if isOrig {
				if ack {
					e.setState(zeekSynAckSent)
				} else {
					e.setState(zeekSynSent)
				}
			} else {
				if !ack && peer.state == zeekSynAckSent && seq == e.start {
					// SYN/SYN-ACK reversal: flip the roles.
					z.partial = false
					z.flip()
					peer.setState(zeekEstablished)
				}
				if peer.state == zeekSynSent {
					peer.setState(zeekEstablished)
				}
				e.setState(zeekEstablished)
			}
		}
		if fin {
			e.setState(zeekClosed)
		}
		if rst {
			e.setState(zeekReset)
		}
		if e.state == zeekInactive {
			switch {
			case !isOrig && length == 0 && z.ep[z.orig].state == zeekSynSent:
				// An ACK of the SYN before the SYN-ACK: not a partial
				// connection.
			case ack && peer.state == zeekEstablished:
				// The SYN was missed but the SYN-ACK seen.
				e.setState(zeekEstablished)
				z.partial = false
			default:
				e.setState(zeekPartial)
			}
		}
	case zeekSynSent, zeekSynAckSent: // UpdateSYN_SentState
		if fin {
			e.setState(zeekClosed)
		}
		if rst {
			e.setState(zeekReset)
		}
	case zeekEstablished, zeekPartial: // UpdateEstablishedState
		if syn && e.state == zeekPartial && peer.state == zeekInactive && !ack {
			e.setState(zeekSynSent)
		}
		if fin && !rst {
			e.setState(zeekClosed)
			if peer.state == zeekReset && peer.prev == zeekClosed {
				// FIN then RST from the peer: a normal close after all.
				peer.setState(zeekClosed)
			}
		}
		if rst {
			e.setState(zeekReset)
		}
	case zeekClosed: // UpdateClosedState
		if rst && peer.state != zeekClosed {
			e.setState(zeekReset)
		}
	}
}

// ackReceived is TCP_Endpoint::AckReceived -> TCP_Reassembler::AckReceived
// for the data of side s: an ACK beyond the data seen in order is a
// content gap (Undelivered -> Gap), recorded only while both endpoints are
// established or cleanly closing.
func (z *zeekTracker) ackReceived(s Side, seq Seq) {
	e, peer := &z.ep[s], &z.ep[s.Peer()]
	if e.finCnt > 0 && e.finSeq.LessThanEq(seq) {
		seq = e.finSeq - 1
	}
	if seq.LessThanEq(e.trim) {
		return
	}
	if e.reassem.LessThan(seq) && !(seq.LessThanEq(2) && z.partial) {
		if e.clean() && peer.clean() {
			z.scaled(s == z.orig, &e.gap, 'G')
		}
		e.reassem = seq
		e.absorbIsland()
	}
	e.trim = seq
}

// dataSent records payload [from, to) (rel) as seen.
func (z *zeekTracker) dataSent(e *zeekEndpoint, from, to Seq) {
	switch {
	case to.LessThanEq(e.reassem):
	case from.LessThanEq(e.reassem):
		e.reassem = to
		e.absorbIsland()
	case !e.island:
		e.islandFrom, e.islandTo, e.island = from, to, true
	default:
		if from.LessThan(e.islandFrom) {
			e.islandFrom = from
		}
		if e.islandTo.LessThan(to) {
			e.islandTo = to
		}
	}
}

// absorbIsland joins the island to the in-order data once they meet.
func (e *zeekEndpoint) absorbIsland() {
	if e.island && e.islandFrom.LessThanEq(e.reassem) {
		if e.reassem.LessThan(e.islandTo) {
			e.reassem = e.islandTo
		}
		e.island = false
	}
}

// size is TCP_Endpoint::Size: payload bytes from the sequence numbers.
func (z *zeekTracker) size(s Side) uint32 {
	e, peer := &z.ep[s], &z.ep[s.Peer()]
	noDataAcked := e.ack == e.start || e.ack == e.start+1
	if e.prev == zeekSynSent && e.state == zeekReset && peer.state == zeekInactive && !noDataAcked {
		return 0
	}
	n := uint32(e.last - e.start)
	if a := uint32(e.ack - e.start); a > n {
		n = a
	}
	if n != 0 {
		n-- // the SYN
	}
	if e.finCnt > 0 && n != 0 {
		n-- // the FIN
	}
	return n
}

// connState is conn_state in base/protocols/conn/main.zeek.
func (z *zeekTracker) connState() string {
	os, rs := z.ep[z.orig].state, z.ep[z.orig.Peer()].state
	oInactive := os == zeekInactive || os == zeekPartial
	rInactive := rs == zeekInactive || rs == zeekPartial
	switch {
	case rs == zeekReset:
		if os == zeekSynSent || os == zeekSynAckSent ||
			(os == zeekReset && z.size(z.orig) == 0 && z.size(z.orig.Peer()) == 0) {
			return "REJ"
		}
		if oInactive {
			return "RSTRH"
		}
		return "RSTR"
	case os == zeekReset:
		if rInactive {
			if z.synThenRST() {
				return "RSTOS0"
			}
			return "OTH"
		}
		return "RSTO"
	case rs == zeekClosed && os == zeekClosed:
		return "SF"
	case os == zeekClosed:
		if rInactive {
			return "SH"
		}
		return "S2"
	case rs == zeekClosed:
		if oInactive {
			return "SHR"
		}
		return "S3"
	case os == zeekSynSent && rs == zeekInactive:
		return "S0"
	case os == zeekEstablished && rs == zeekEstablished:
		return "S1"
	}
	return "OTH"
}

// synThenRST matches the history against /^\^?S[^HAFGIQ]*R.*/ (a Zeek
// pattern compared with == matches the whole string).
func (z *zeekTracker) synThenRST() bool {
	h := z.hist[:z.n]
	if len(h) > 0 && h[0] == '^' {
		h = h[1:]
	}
	if len(h) == 0 || h[0] != 'S' {
		return false
	}
	for _, c := range h[1:] {
		switch c {
		case 'R':
			return true
		case 'H', 'A', 'F', 'G', 'I', 'Q':
			return false
		}
	}
	return false
}
