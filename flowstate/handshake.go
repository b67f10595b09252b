package flowstate

// This file holds what the server did with the handshake, which the wire
// shows only in hindsight. While the server holds the connection as a
// request (from its first SYN-ACK until it acknowledges something), the
// client's ACK-bearing segments are logged; when the server finally shows
// its hand (its first ACK-bearing segment other than a SYN-ACK, a RST, or
// the end of the flow), the log is resolved into an outcome: which
// segments the server is proven to have ignored, which one got the
// connection queued, and the server's states. The labels that follow from
// an outcome are decided by the rules in rules.go, one function per label.

// maxHandshakeLog bounds the logged client segments of one handshake. A
// client that is never answered stops sending long before that.
const maxHandshakeLog = 256

// hsEntry is one client ACK-bearing segment sent while the server still
// held the request.
type hsEntry struct {
	pkt       int32
	t         int64
	seq, end  Seq
	ack       Seq    // its acknowledgment number
	tsVal     uint32 // its timestamp option, 0 without one
	data, fin bool
}

// synCopy is one copy of the client's SYN.
type synCopy struct {
	pkt   int32
	t     int64
	tsVal uint32 // 0 without the timestamp option
}

// synAckCopy is one copy of the server's SYN-ACK sent while it held the
// request (the first one included).
type synAckCopy struct {
	pkt int32
	t   int64
}

type handshake struct {
	pending bool // the server sent a SYN-ACK and has not shown its hand

	syns    []synCopy    // the client's SYN copies, at most maxTimes
	synAcks []synAckCopy // the server's SYN-ACK copies while opening, at most maxTimes
	// reqSyn indexes syns: the SYN the first SYN-ACK answered, which
	// created the request and started its timer; -1 before a SYN-ACK.
	reqSyn int

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

	// The first SYN-ACK's options, for the SYN-cookie fingerprint.
	saTSVal  uint32
	saHasTS  bool
	saWScale bool
	saSACK   bool
	// cookieLag is the least upper bound found on how far the first
	// SYN-ACK's TSval lags behind the server clock implied by its later
	// segments, in TSval ticks; lagSamples counts the bounds taken.
	cookieLag  int64
	lagSamples int
	// lastClientTime is the time of the client's latest segment, and
	// lastClientData the sequence number just past it when it carried
	// data (0 otherwise): the data a server ACK may be answering at once.
	lastClientTime int64
	lastClientData Seq

	log []hsEntry
	// dataRTT: the time from the client's first data to the server's prompt
	// acknowledgment of it, when resolving found one (0 otherwise).
	dataRTT int64
	// appReset: the RST being resolved is an application's (ruleAppReset).
	appReset bool
	// heldUntil: when resolved with client segments proved ignored, the
	// latest time the server is known to have still held the request
	// (the resolution's time, or the last ignored segment's); 0 otherwise.
	heldUntil int64
}

func (h *handshake) init() {
	h.lastSynIdx, h.firstSynAckIdx, h.lastSynAckIdx, h.reqSyn = -1, -1, -1, -1
}

func (h *handshake) addEntry(idx int, seg *Segment) {
	if len(h.log) == 0 {
		h.saBeforeAck = h.lastSynAckTime
	}
	if len(h.log) >= maxHandshakeLog {
		return
	}
	h.log = append(h.log, hsEntry{
		pkt: int32(idx), t: seg.Time, seq: seg.Seq, end: seg.SeqEnd(), ack: seg.Ack, tsVal: seg.Opt.TSVal,
		data: seg.Len > 0, fin: seg.Flags&FIN != 0,
	})
}

// addSynAck records a SYN-ACK copy sent while the server held the
// request.
func (h *handshake) addSynAck(idx int, t int64) {
	if len(h.synAcks) < maxTimes {
		h.synAcks = append(h.synAcks, synAckCopy{pkt: int32(idx), t: t})
	}
}

// isAnswer reports whether SYN-ACK copy i came right after a retransmitted
// client SYN (within two round trips, or 5 ms): tcp_check_req's answer to
// that SYN (inet_rtx_syn_ack), which does not advance the request timer's
// backoff, not a timer retransmission.
func (f *Flow) isAnswer(i int) bool {
	hs := &f.hs
	if i <= 0 {
		return false
	}
	window := max(2*f.serverRTT(), 5e6)
	t := hs.synAcks[i].t
	for _, s := range hs.syns[min(1, len(hs.syns)):] {
		if d := t - s.t; d >= 0 && d <= window {
			return true
		}
	}
	return false
}

// reqSynTime is when the SYN that created the request passed the capture
// point (0 when unknown).
func (h *handshake) reqSynTime() int64 {
	if h.reqSyn < 0 || h.reqSyn >= len(h.syns) {
		return h.rttSyn
	}
	return h.syns[h.reqSyn].t
}

type resolveKind uint8

const (
	resolveServerSegment resolveKind = iota // the server acknowledged something
	resolveRST                              // the server sent a RST
	resolveClientRST                        // the client sent a RST
	resolveFinish                           // the flow ended first
)

// Timer facts of the Linux request socket (net/ipv4/inet_connection_sock.c,
// reqsk_timer_handler; include/net/tcp.h): the request timer starts at
// TCP_TIMEOUT_INIT (1 s) when the SYN creates the request and doubles at
// each expiry. Old kernels (2.6.x, seed 002) started at 3 s.
const (
	// minSynAckTimer: no timer retransmission of a SYN-ACK comes sooner
	// than this after the SYN that created the request (1 s less jiffy
	// granularity and clock slack).
	minSynAckTimer = 900e6
	// minRoundTrip: the least time a server segment can follow a client
	// segment it reacts to, wherever the capture was taken.
	minRoundTrip = 1e6
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

// serverRTT is the round trip between the capture point and the server:
// the time from the SYN that created the request to the first SYN-ACK (at
// the server it is the kernel's processing time, at the client the whole
// round trip). A queue in front of the server's link makes it longer,
// which only makes the rules that use it more cautious.
//
// When the first SYN-ACK the capture holds is not the answer to the SYN
// just before it (it echoes an earlier SYN's timestamp, or came a timer
// expiry after it: the original was lost before the capture point), that
// leg is no round trip; the server's prompt acknowledgment of the client's
// first data, when resolving found one, measures it instead.
func (f *Flow) serverRTT() int64 {
	hs := &f.hs
	if hs.dataRTT > 0 {
		if !f.cleanHandshakeLeg() {
			return hs.dataRTT
		}
		return min(hs.dataRTT, f.SynAckTime-hs.rttSyn)
	}
	if f.SynAckTime == 0 || hs.rttSyn == 0 || f.SynAckTime < hs.rttSyn {
		return 0
	}
	return f.SynAckTime - hs.rttSyn
}

// cleanHandshakeLeg reports whether the first SYN-ACK answered the SYN
// just before it, so that the time between them is a round trip.
func (f *Flow) cleanHandshakeLeg() bool {
	hs := &f.hs
	if f.SynAckTime == 0 || hs.rttSyn == 0 || f.SynAckTime < hs.rttSyn {
		return false
	}
	if hs.reqSyn >= 0 && hs.reqSyn < len(hs.syns)-1 && hs.syns[hs.reqSyn].t < hs.rttSyn {
		return false // it answered (or the timer resent) an earlier copy
	}
	return f.SynAckTime-hs.rttSyn < minSynAckTimer
}

// afterRoundTrip is the least time after a client segment passed the
// capture point that a server segment reacting to it can pass there.
func (f *Flow) afterRoundTrip() int64 { return max(f.serverRTT(), minRoundTrip) }

// capturedAtServer reports whether the capture point sees the server's
// packets leave at once, so that a server packet the capture does not
// hold was not sent: SYN to SYN-ACK takes no time there (or both
// handshake legs take none: client and server on one host).
func (f *Flow) capturedAtServer() bool {
	d1, d2, ok := f.HandshakeLegs()
	if !ok || d1 < 0 || d2 < 0 {
		return false
	}
	return d1 < 200e3 && d2 < 200e3 || d1 < 1e6 && d1*4 <= d2
}

// isTimerSynAck reports whether SYN-ACK copy c is a retransmission by the
// request timer: not the first copy, not an answer to a retransmitted SYN,
// and no sooner than the timer's first expiry after the SYN that created
// the request.
func (f *Flow) isTimerSynAck(i int) bool {
	hs := &f.hs
	if i <= 0 || i >= len(hs.synAcks) || f.isAnswer(i) {
		return false
	}
	req := hs.reqSynTime()
	return req != 0 && hs.synAcks[i].t-req >= minSynAckTimer
}

// timerSynAcks returns the indexes (into hs.synAcks) of the timer
// retransmissions.
func (f *Flow) timerSynAcks() []int {
	var out []int
	for i := range f.hs.synAcks {
		if f.isTimerSynAck(i) {
			out = append(out, i)
		}
	}
	return out
}

// TimerSynAckRetransmits counts the SYN-ACK copies the server's request
// timer sent (reqsk_timer_handler -> inet_rtx_syn_ack): not the first
// copy, not an answer to a retransmitted SYN (tcp_check_req), and no
// sooner than the timer's first expiry. One is proof that the timer
// retried at this listener, so that its retry limit (tcp_synack_retries,
// or TCP_SYNCNT on the listener) was not 0.
func (f *Flow) TimerSynAckRetransmits() int {
	n := 0
	for i := range f.hs.synAcks {
		if f.isTimerSynAck(i) {
			n++
		}
	}
	return n
}

// synAckFollows reports whether a timer retransmission of the SYN-ACK
// passed the capture point at least a round trip after t: the server
// still held the request after a segment sent at t reached it.
func (f *Flow) synAckFollows(t int64) (int, bool) {
	rtt := f.afterRoundTrip()
	for i := range f.hs.synAcks {
		if f.isTimerSynAck(i) && f.hs.synAcks[i].t-t >= rtt {
			return i, true
		}
	}
	return -1, false
}

// outcome is what resolving a handshake found: the facts the label rules
// (rules.go) read.
type outcome struct {
	kind resolveKind
	idx  int   // the packet that resolved it
	now  int64 // its time (the finish time for resolveFinish)
	seg  *Segment
	log  []hsEntry
	// ignored is the index in log of the last entry proved ignored (-1:
	// none); held the last entry the server is believed to have ignored
	// (proved, or unproven after a proved one); accepted the index of the
	// entry that got the connection queued (len(log): none did, or it is
	// not known).
	ignored, held, accepted int
	// unproven lists entries (data or FIN) that went unacknowledged
	// without proof that the server ignored them: a lost ACK looks the
	// same.
	unproven []int
	firstFin int // index in log of the client's first FIN, -1
	// afterAck lists the SYN-ACK copies (indexes into hs.synAcks) that the
	// request timer sent at least a round trip after the client's first
	// handshake ACK: the ACK reached a server that kept the request.
	afterAck []int
	// deferAccept is set by ruleDeferAccept: the server held a bare ACK on
	// purpose (TCP_DEFER_ACCEPT).
	deferAccept bool
	// exhausted is set by ruleSynAckRetriesExhausted, overflowReset by
	// ruleRstOnOverflow, appReset by ruleAppReset, forgotten when the
	// server forgot the request before its timer could have run out.
	exhausted, overflowReset, appReset, forgotten bool
	// trigger is the log entry the server's reset answered (-1).
	trigger int
	tl      serverTimeline
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
// first ACK-bearing segment or its RST (seg), the client's RST, or the
// flow's end (seg nil).
func (f *Flow) resolve(idx int, now int64, kind resolveKind, seg *Segment) {
	hs := &f.hs
	hs.pending = false
	f.ServerResolved = true
	o := &outcome{kind: kind, idx: idx, now: now, seg: seg, log: hs.log, firstFin: -1, trigger: -1, appReset: hs.appReset,
		tl: serverTimeline{ignoredFrom: -1, established: -1, fin: -1, closed: -1}}
	for i, e := range o.log {
		if e.fin {
			o.firstFin = i
			break
		}
	}
	if d, ok := f.firstDataPrompt(o); ok {
		hs.dataRTT = max(now-o.log[d].t, 1)
	}
	f.findAfterAck(o)
	f.findIgnored(o)
	// What the server is believed to have held: once it is proved to have
	// ignored the client, segments it left unacknowledged without proof
	// are taken as held too (the state columns show the belief; only
	// proof gives labels).
	o.held = o.ignored
	if o.ignored >= 0 {
		for _, i := range o.unproven {
			o.held = max(o.held, i)
		}
		// The server, proved to be ignoring the client, is believed to have
		// gone on until the segment its first acknowledgment answers: the
		// first one since that the acknowledgment covers, sent within an
		// established server's prompt time of it. (A bare ACK in between
		// draws no answer from an established server either way.)
		if kind == resolveServerSegment && seg != nil {
			prompt := f.promptAck()
			for i := o.held + 1; i < len(o.log); i++ {
				if e := o.log[i]; now-e.t <= prompt && e.end.LessThanEq(seg.Ack) {
					o.held = i - 1
					break
				}
			}
		}
	}
	o.accepted = o.held + 1
	_, f.FirstDataPrompt = f.firstDataPrompt(o)

	// The rules, in the order their conclusions depend on each other:
	// whether the server held a bare ACK on purpose decides what a SYN-ACK
	// after the ACK means; how a reset is read decides which entries
	// count as ignored before it.
	f.ruleDeferAccept(o)
	f.ruleSynAckAfterAck(o)
	switch kind {
	case resolveRST:
		f.ruleRstOnOverflow(o)
		f.ruleSynAckRetriesExhausted(o)
	case resolveFinish:
		f.ruleSynAckRetriesExhausted(o)
	}
	f.ruleDataWhileSynRecv(o)
	f.ruleFinBeforeQueued(o)
	f.ruleGhostConnection(o)
	if o.ignored >= 0 && len(o.log) > 0 {
		hs.heldUntil = max(o.log[min(o.ignored, len(o.log)-1)].t, now)
	}
	f.RequestForgotten = o.forgotten

	f.serverTimelineOf(o)
	f.RequestEnd = f.requestEnd(o)
	f.countDrops(o)
	if hs.firstSynAckIdx >= 0 {
		for i := hs.firstSynAckIdx; i <= idx; i++ {
			f.reviseState(i, Server, o.tl.at(i))
		}
	}
	f.EP[Server].State = o.tl.at(idx)
	if o.tl.established >= 0 {
		f.ServerEstablishPacket = o.tl.established
	}
	if kind == resolveFinish && o.exhausted {
		f.EP[Server].State = StateClosed
	}
}

// findAfterAck finds the SYN-ACK copies the request timer sent a round
// trip or more after the client's first handshake ACK.
func (f *Flow) findAfterAck(o *outcome) {
	if len(o.log) == 0 {
		return
	}
	rtt := f.afterRoundTrip()
	first := o.log[0].t
	for i := range f.hs.synAcks {
		if f.isTimerSynAck(i) && f.hs.synAcks[i].t-first >= rtt {
			o.afterAck = append(o.afterAck, i)
		}
	}
}

// findIgnored decides which logged client segments the server is proved
// to have ignored. Proof is one of:
//   - a SYN-ACK from the request timer passed the capture point at least
//     a round trip after the segment: the request still existed after the
//     segment reached the server (any vantage point);
//   - at a capture on the server, data or a FIN that the server did not
//     acknowledge before the client sent it again, or for longer than an
//     established server takes: the capture would hold the ACK;
//   - for a cookie connection (no request, so no SYN-ACK retransmission to
//     go by), data the client sent again whose first acknowledgment
//     carries no D-SACK: the server never received the earlier copy, or
//     dropped it (cookie_v4_check -> tcp_get_cookie_sock on a full queue).
//
// Disproof: the server's acknowledgment echoes the timestamp of the
// segment (RFC 7323 TS.Recent: it took that segment), or carries a D-SACK
// (RFC 2883: it had the earlier copy already, so its ACK was lost).
// Data or a FIN left unacknowledged without proof is listed as unproven.
// If the server was not established at a segment, it was not at any
// earlier one either.
func (f *Flow) findIgnored(o *outcome) {
	log := o.log
	o.ignored = -1
	prompt := f.promptAck()
	atServer := f.capturedAtServer()
	cookie := f.cookieLikely(o.now)

	// The server's answer echoes the timestamp of the newest segment it
	// processed: that segment, and all after it, were not ignored, however
	// late the answer left (a queue in front of the server's link can hold
	// it while the client retransmits).
	limit := len(log)
	dsack := false
	var ackTo Seq
	if o.kind == resolveServerSegment && o.seg != nil {
		dsack, ackTo = o.seg.Opt.DSACK, o.seg.Ack
		if tsEcr := o.seg.Opt.TSEcr; tsEcr != 0 && o.seg.Opt.HasTS {
			for i, e := range log {
				if e.tsVal == tsEcr && (e.data || e.fin) {
					limit = i
					break
				}
			}
		}
	}
	o.ignored = min(o.ignored, limit-1)
	for i := o.ignored + 1; i < limit; i++ {
		e := log[i]
		if _, ok := f.synAckFollows(e.t); ok {
			o.ignored = i
			continue
		}
		if !e.data && !e.fin {
			continue
		}
		if (o.kind == resolveRST || o.kind == resolveClientRST) && i == len(log)-1 {
			continue // answered, by the reset
		}
		resent := false
		for _, l := range log[i+1:] {
			if (l.data || l.fin) && l.seq.LessThan(e.end) {
				resent = true
				break
			}
		}
		late := o.now-e.t > prompt
		if !resent && !late {
			continue
		}
		covered := o.kind == resolveServerSegment && e.end.LessThanEq(ackTo)
		switch {
		case resent && covered && dsack:
			// The earlier copy had arrived: the server's ACK of it was lost.
		case atServer:
			o.ignored = i
		case cookie && resent && covered:
			o.ignored = i
		default:
			o.unproven = append(o.unproven, i)
		}
	}
	// Entries before a proven one were ignored too: drop them from the
	// unproven list.
	n := 0
	for _, i := range o.unproven {
		if i > o.ignored {
			o.unproven[n] = i
			n++
		}
	}
	o.unproven = o.unproven[:n]
}

// firstDataPrompt finds the client's first data (its index in the log)
// when the resolving server segment acknowledges it within an
// established server's prompt time and the client sent it only once:
// the data got the connection created at once.
func (f *Flow) firstDataPrompt(o *outcome) (int, bool) {
	if o.kind != resolveServerSegment || o.seg == nil {
		return -1, false
	}
	d := -1
	for i, e := range o.log {
		if e.data {
			d = i
			break
		}
	}
	if d < 0 || !o.log[d].end.LessThanEq(o.seg.Ack) || o.now-o.log[d].t > f.promptAck() {
		return -1, false
	}
	for _, e := range o.log[d+1:] {
		if e.data && e.seq.LessThan(o.log[d].end) {
			return -1, false // sent again: not acknowledged at once
		}
	}
	return d, true
}

// serverTimelineOf fills o.tl from the outcome the rules settled.
func (f *Flow) serverTimelineOf(o *outcome) {
	log := o.log
	tl := &o.tl
	if o.ignored >= 0 || o.deferAccept {
		if len(log) > 0 {
			tl.ignoredFrom = int(log[0].pkt)
		}
	}
	establish := func(i int) {
		if i < len(log) {
			tl.established = int(log[i].pkt)
			f.ServerEstablishTime = log[i].t
		}
	}
	switch o.kind {
	case resolveServerSegment:
		if o.accepted < len(log) {
			establish(o.accepted)
		} else {
			tl.established = o.idx
			f.ServerEstablishTime = o.now
		}
		if o.firstFin >= 0 && o.firstFin <= o.accepted {
			tl.fin = tl.established
		} else if o.firstFin >= 0 {
			tl.fin = int(log[o.firstFin].pkt)
		}
	case resolveRST:
		switch {
		case o.appReset:
			// The ACK was taken and the application reset the connection.
			establish(o.accepted)
			if o.firstFin >= o.accepted && tl.established >= 0 {
				tl.fin = int(log[o.firstFin].pkt)
			}
			tl.closed = o.idx
		case o.exhausted || o.forgotten:
			if o.trigger >= 0 {
				tl.closed = int(log[o.trigger].pkt)
			} else {
				tl.closed = o.idx
			}
		default:
			tl.closed = o.idx
		}
	case resolveClientRST:
		tl.closed = o.idx
	case resolveFinish:
		switch {
		case o.exhausted:
			if o.trigger >= 0 {
				tl.closed = int(log[o.trigger].pkt)
			}
		case o.ignored < 0 && o.accepted < len(log):
			// Without a server segment, a connection is taken as queued only
			// when nothing showed the server ignoring the client: once it has
			// ignored an ACK, a later bare ACK proves nothing.
			establish(o.accepted)
			if o.firstFin >= o.accepted {
				tl.fin = int(log[o.firstFin].pkt)
			}
		}
	}
}

// countDrops counts the client segments the outcome says the server
// dropped while it held the request, as the kernel's counters would:
// every ACK-bearing segment that met the request before the one that got
// the connection queued, or before the one that met a forgotten request;
// when the request never became a connection after the server was shown
// ignoring the client, every one.
func (f *Flow) countDrops(o *outcome) {
	n := 0
	switch {
	case o.kind == resolveServerSegment || o.kind == resolveRST && o.appReset:
		n = o.accepted
	case o.trigger >= 0 && (o.exhausted || o.forgotten || o.overflowReset):
		n = o.trigger
		if o.overflowReset {
			n++ // the segment the reset answered met the full queue too
		}
	case o.ignored >= 0:
		n = len(o.log)
	}
	n = min(n, len(o.log))
	if o.deferAccept {
		f.DeferDrops = n
	} else {
		f.IgnoredSegments = n
	}
	f.RequestReset = o.overflowReset || o.kind == resolveClientRST
}

// requestEnd is when the request left the SYN queue, by the outcome.
func (f *Flow) requestEnd(o *outcome) int64 {
	switch {
	case f.hs.firstSynAckIdx < 0 || f.cookieLikely(o.now) && len(f.timerSynAcks()) == 0 && f.cookieFingerprint() != "":
		return 0 // no request: a cookie keeps none
	case o.tl.established >= 0:
		return f.ServerEstablishTime
	case o.trigger >= 0 && (o.exhausted || o.forgotten):
		return o.log[o.trigger].t
	case o.kind != resolveFinish:
		return o.now
	case o.exhausted || f.synAcksStopped(o.now):
		return min(f.timerDeadline(), o.now)
	}
	return o.now
}

// timerDeadline is when the request timer's next expiry was due at the
// latest after its last retransmission: the interval doubles at each
// expiry (reqsk_timer_handler), starting from 1 s (TCP_TIMEOUT_INIT) after
// the SYN that created the request; half an interval and 200 ms of slack
// absorb timer granularity and queues in front of the link.
func (f *Flow) timerDeadline() int64 {
	hs := &f.hs
	req := hs.reqSynTime()
	last, prev := req, int64(0)
	for i := range hs.synAcks {
		if f.isTimerSynAck(i) {
			prev, last = last, hs.synAcks[i].t
		}
	}
	next := int64(1e9)
	if prev != 0 && last > prev {
		next = 2 * (last - prev)
	}
	if last == 0 {
		last = hs.lastSynAckTime
	}
	return last + next + next/2 + 200e6
}

// timerEarliest is the earliest the request timer's next expiry could
// come after its last retransmission: the doubled interval, less slack.
func (f *Flow) timerEarliest() int64 {
	hs := &f.hs
	req := hs.reqSynTime()
	last, prev := req, int64(0)
	for i := range hs.synAcks {
		if f.isTimerSynAck(i) {
			prev, last = last, hs.synAcks[i].t
		}
	}
	next := int64(minSynAckTimer)
	if prev != 0 && last > prev {
		next = 2 * (last - prev) * 9 / 10
	}
	return last + next
}

// synAcksStopped reports whether the capture went on past the time the
// next SYN-ACK retransmission was due without one.
func (f *Flow) synAcksStopped(now int64) bool {
	return now > f.timerDeadline()
}

// noteServerSegment records, for the SYN-cookie fingerprint, a bound on
// the first SYN-ACK's timestamp lag from a later server segment that
// acknowledges the client's latest segment, its data: the server sent it
// no sooner than that data arrived, so the server clock at the SYN's
// arrival was at most its TSval less the time between the data and the
// SYN (both taken at the capture point, where one-way delays cancel out).
// Only such ACKs are used: Linux acknowledges a connection's first data
// at once (tcp_event_data_recv enters quick-ack mode), while its other
// segments may leave a delayed-ACK timer or an application later, which
// would loosen the bound. The server segment's own capture time is never
// used: a queue on its way out stamps it late.
func (f *Flow) noteServerSegment(seg *Segment) {
	hs := &f.hs
	if !hs.saHasTS || !seg.Opt.HasTS || seg.Flags&(SYN|ACK) != ACK || hs.lagSamples >= 16 ||
		hs.lastClientData == 0 || seg.Ack != hs.lastClientData {
		return
	}
	req := hs.reqSynTime()
	if req == 0 || hs.lastClientTime < req {
		return
	}
	ticks := int64(int32(seg.Opt.TSVal - hs.saTSVal))
	elapsed := (hs.lastClientTime - req) / 1e6 // ms: Linux's TSval clock (TCP_TS_HZ, since 4.13)
	bound := ticks - elapsed
	if hs.lagSamples == 0 || bound < hs.cookieLag {
		hs.cookieLag = bound
	}
	hs.lagSamples++
}
