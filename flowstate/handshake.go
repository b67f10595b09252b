package flowstate

// This file holds what the server did with the handshake, which the wire
// shows only in hindsight. While the server holds the connection as a
// request (from its first SYN-ACK until it acknowledges something), the
// client's ACK-bearing segments are logged; when the server finally shows
// its hand (its first ACK-bearing segment other than a SYN-ACK, a RST, or
// the end of the flow), the log is resolved: which segments the server
// ignored, which one got the connection queued, and the labels that
// follow.

// maxHandshakeLog bounds the logged client segments of one handshake. A
// client that is never answered stops sending long before that.
const maxHandshakeLog = 256

// hsEntry is one client ACK-bearing segment sent while the server still
// held the request.
type hsEntry struct {
	pkt       int32
	t         int64
	seq, end  Seq
	tsVal     uint32 // its timestamp option, 0 without one
	data, fin bool
}

type handshake struct {
	pending bool // the server sent a SYN-ACK and has not shown its hand

	lastSynIdx     int
	lastSynTime    int64
	synAckSinceSyn bool
	rstSinceSyn    bool // the server reset the connection since the last SYN
	clientAcked    bool

	firstSynAckIdx int
	lastSynAckIdx  int
	// firstSynAckSinceSyn is the first SYN-ACK after the client's last SYN;
	// synSentAtSyn says the client was in SYN-SENT after that SYN.
	firstSynAckSinceSyn int
	synSentAtSyn        bool
	lastSynAckTime      int64
	rttSyn              int64 // the SYN the first SYN-ACK answered
	saBeforeAck         int64 // the SYN-ACK the client's first ACK answered
	synAcks             []int64

	log         []hsEntry
	ignoredUpTo int // index in log of the last entry proved ignored, or -1
}

func (h *handshake) init() {
	h.lastSynIdx, h.firstSynAckIdx, h.lastSynAckIdx, h.ignoredUpTo = -1, -1, -1, -1
}

func (h *handshake) addEntry(idx int, seg *Segment) {
	if len(h.log) == 0 {
		h.saBeforeAck = h.lastSynAckTime
	}
	if len(h.log) >= maxHandshakeLog {
		return
	}
	h.log = append(h.log, hsEntry{
		pkt: int32(idx), t: seg.Time, seq: seg.Seq, end: seg.SeqEnd(), tsVal: seg.Opt.TSVal,
		data: seg.Len > 0, fin: seg.Flags&FIN != 0,
	})
}

type resolveKind uint8

const (
	resolveServerSegment resolveKind = iota // the server acknowledged something
	resolveRST                              // the server sent a RST
	resolveClientRST                        // the client sent a RST
	resolveFinish                           // the flow ended first
)

// promptAck is how long an established server may take to acknowledge
// data: Linux acknowledges the first segments at once (quick-ack mode) and
// delays an ACK by at most TCP_DELACK_MAX (200 ms); two round trips cover
// a capture taken away from the server.
func (f *Flow) promptAck() int64 {
	rtt, ok := f.HandshakeRTT()
	if !ok || rtt < 0 {
		rtt = 0
	}
	if rtt > 3e9 {
		rtt = 3e9
	}
	return 250e6 + 2*rtt
}

// serverTimeline says which state the server was in after each packet of
// the handshake window, once resolved. Indices are packet indices, -1 for
// "never".
type serverTimeline struct {
	ignoredFrom, established, fin, closed int
}

func (t serverTimeline) at(i int) State {
	switch {
	case t.closed >= 0 && i >= t.closed:
		return StateClosed
	case t.established >= 0 && i >= t.established:
		if t.fin >= 0 && i >= t.fin {
			return StateCloseWait
		}
		return StateEstablished
	case t.ignoredFrom >= 0 && i >= t.ignoredFrom:
		return StateSynReceivedAckIgnored
	}
	return StateSynReceived
}

// resolve settles the handshake at packet idx (time now): the server's
// first ACK-bearing segment, its RST, or the flow's end.
func (f *Flow) resolve(idx int, now int64, kind resolveKind) {
	hs := &f.hs
	hs.pending = false
	f.ServerResolved = true
	log := hs.log
	prompt := f.promptAck()

	// Which client segments did the server ignore? A segment was ignored
	// if a SYN-ACK followed it (the request was still there), if the
	// client had to send its data or FIN again, or if the data or FIN went
	// unacknowledged for longer than an established server takes. If the
	// server was not established at a segment, it was not at any earlier
	// one either.
	ignored := hs.ignoredUpTo
	// The server's answer echoes the timestamp of the newest segment it
	// processed (RFC 7323 TS.Recent): that segment, and all after it, were
	// not ignored, however late the answer left (a queue in front of the
	// server's link can hold it while the client retransmits).
	limit := len(log)
	if kind == resolveServerSegment && f.last.rest.tsEcr != 0 {
		for i, e := range log {
			if e.tsVal == f.last.rest.tsEcr && (e.data || e.fin) {
				limit = i
				break
			}
		}
	}
	ignored = min(ignored, limit-1)
	for i := ignored + 1; i < limit; i++ {
		e := log[i]
		if e.t < hs.lastSynAckTime {
			ignored = i
			continue
		}
		if !e.data && !e.fin {
			continue
		}
		if (kind == resolveRST || kind == resolveClientRST) && i == len(log)-1 {
			continue // answered, by the reset
		}
		resent := false
		for _, l := range log[i+1:] {
			if (l.data || l.fin) && l.seq.LessThan(e.end) {
				resent = true
				break
			}
		}
		if resent || now-e.t > prompt {
			ignored = i
		}
	}
	accepted := ignored + 1 // index in log of the segment that got the connection queued

	firstFin := -1
	for i, e := range log {
		if e.fin {
			firstFin = i
			break
		}
	}
	tl := serverTimeline{ignoredFrom: -1, established: -1, fin: -1, closed: -1}
	if ignored >= 0 {
		tl.ignoredFrom = int(log[0].pkt)
	}
	labelIgnoredData := func(upTo int) {
		for _, e := range log[:upTo] {
			if e.data {
				f.addLabel(int(e.pkt), LabelDataWhileSynRecv, e.t)
			}
		}
	}

	switch kind {
	case resolveServerSegment:
		if accepted < len(log) {
			tl.established = int(log[accepted].pkt)
			f.ServerEstablishTime = log[accepted].t
		} else {
			tl.established = idx
			f.ServerEstablishTime = now
		}
		labelIgnoredData(min(accepted, len(log)))
		if firstFin >= 0 && firstFin <= accepted {
			for _, e := range log[:min(accepted+1, len(log))] {
				if e.fin {
					f.addLabel(int(e.pkt), LabelFinBeforeQueued, e.t)
				}
			}
			// Queued only by (or after) the client's FIN: the application
			// will accept a connection whose peer has already gone.
			f.addLabel(idx, LabelGhostConnection, now)
			tl.fin = tl.established
		} else if firstFin >= 0 {
			tl.fin = int(log[firstFin].pkt)
		}
		f.checkSynCookie(ignored, log, now)

	case resolveRST:
		after := len(log)
		for i, e := range log {
			if e.t > hs.lastSynAckTime {
				after = i
				break
			}
		}
		switch {
		case after == len(log):
			// Reset with no client segment since the last SYN-ACK: not an
			// answer to the handshake.
			tl.closed = idx
		case now-log[after].t <= prompt && !f.synAcksStopped(now):
			// The first client segment after the (last) SYN-ACK was
			// answered with a reset while the request was still alive:
			// tcp_abort_on_overflow=1.
			f.addLabel(idx, LabelRstOnOverflow, now)
			tl.closed = idx
		default:
			// Earlier segments went unanswered; this one met a server that
			// had forgotten the request.
			trigger := log[len(log)-1]
			f.addLabel(int(trigger.pkt), LabelSynAckRetriesExhausted, trigger.t)
			labelIgnoredData(len(log) - 1)
			tl.ignoredFrom = int(log[0].pkt)
			tl.closed = int(trigger.pkt)
		}
		for _, e := range log {
			if e.fin && (tl.closed < 0 || int(e.pkt) < tl.closed) {
				f.addLabel(int(e.pkt), LabelFinBeforeQueued, e.t)
			}
		}

	case resolveClientRST:
		// The client gave up with a reset: the request is dropped
		// (tcp_check_req -> embryonic reset), and nothing is queued later.
		labelIgnoredData(len(log))
		for _, e := range log {
			if e.fin {
				f.addLabel(int(e.pkt), LabelFinBeforeQueued, e.t)
			}
		}
		tl.closed = idx

	case resolveFinish:
		// Without a server segment, a connection is taken as queued only
		// when nothing showed the server ignoring the client: once it has
		// ignored an ACK, a later bare ACK proves nothing.
		if ignored >= 0 {
			accepted = len(log)
		}
		if ignored >= 0 && f.synAcksStopped(now) {
			// The server stopped retransmitting: it dropped the request
			// after tcp_synack_retries while the client was established.
			deadline := f.nextSynAckDeadline()
			at, atTime := hs.lastSynAckIdx, hs.lastSynAckTime
			for i, e := range log {
				if e.t > deadline {
					at, atTime = int(e.pkt), e.t
					tl.closed = at
					accepted = i
					break
				}
			}
			f.addLabel(at, LabelSynAckRetriesExhausted, atTime)
			labelIgnoredData(accepted)
			accepted = len(log)
		} else {
			if accepted < len(log) {
				tl.established = int(log[accepted].pkt)
				f.ServerEstablishTime = log[accepted].t
				if firstFin >= accepted {
					tl.fin = int(log[firstFin].pkt)
				}
			}
			labelIgnoredData(min(accepted, len(log)))
		}
		for _, e := range log[:min(accepted+1, len(log))] {
			if e.fin && (tl.closed < 0 || int(e.pkt) < tl.closed) {
				f.addLabel(int(e.pkt), LabelFinBeforeQueued, e.t)
			}
		}
		f.checkSynCookie(ignored, log, now)
	}

	if hs.firstSynAckIdx >= 0 {
		for i := hs.firstSynAckIdx; i <= idx; i++ {
			f.reviseState(i, Server, tl.at(i))
		}
	}
	f.EP[Server].State = tl.at(idx)
	if tl.established >= 0 {
		f.ServerEstablishPacket = tl.established
	}
	if kind == resolveFinish && f.Labels.Has(LabelSynAckRetriesExhausted) {
		f.EP[Server].State = StateClosed
	}
}

// nextSynAckDeadline is when the server's next SYN-ACK retransmission was
// due at the latest: the request timer doubles its interval each time
// (reqsk_timer_handler), starting from 1 s (TCP_TIMEOUT_INIT); half an
// interval and 200 ms of slack absorb timer granularity.
func (f *Flow) nextSynAckDeadline() int64 {
	sa := f.hs.synAcks
	next := int64(1e9)
	if n := len(sa); n >= 2 {
		next = 2 * (sa[n-1] - sa[n-2])
	}
	return f.hs.lastSynAckTime + next + next/2 + 200e6
}

// synAcksStopped reports whether the capture went on past the time the
// next SYN-ACK retransmission was due without one.
func (f *Flow) synAcksStopped(now int64) bool {
	return now > f.nextSynAckDeadline()
}

// checkSynCookie labels a handshake whose single SYN-ACK was never
// retransmitted although the client's ACK or data was ignored for longer
// than the first SYN-ACK timer: the mark of a cookie SYN-ACK.
func (f *Flow) checkSynCookie(ignored int, log []hsEntry, now int64) {
	hs := &f.hs
	if len(hs.synAcks) != 1 || ignored < 0 || len(log) == 0 {
		return
	}
	last := log[min(ignored, len(log)-1)].t
	if now > last {
		last = now
	}
	if last-hs.lastSynAckTime > 1500e6 {
		f.addLabel(hs.firstSynAckIdx, LabelSynCookieSuspected, hs.lastSynAckTime)
	}
}
