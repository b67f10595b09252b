package flowstate

import "strconv"

// The label rules: one function per label, each with the evidence it
// needs, the look-alikes it refuses and the kernel code it mirrors. A
// reader asking "why did this flow get label X?" starts at ruleX. Most
// rules read the outcome of a resolved handshake (handshake.go); the SYN
// rules run when the server first answers, syn-unanswered when the flow
// finishes, synack-retransmit on the packet itself. The tests that prove
// each rule and its look-alikes: rules_test.go here (segment literals)
// and analyze/rules_test.go (the lab's real captures, one table).

// ruleSynAckRetransmit labels a SYN-ACK that repeats an earlier one (the
// same ISN): a wire fact, harmless alone. Kernel: reqsk_timer_handler
// (inet_rtx_syn_ack from the request timer) and tcp_check_req (a
// retransmitted SYN is answered with the SYN-ACK again).
func (f *Flow) ruleSynAckRetransmit(idx int, t int64) {
	f.addLabel(idx, LabelSynAckRetransmit, t)
}

// ruleSynDropped runs when the server's first SYN-ACK arrives: the SYN
// copies sent before the copy the server answered got no SYN-ACK, so the
// server dropped them (or they were lost on the way) and connect() stalled
// until a retransmission got through. Each retransmitted SYN up to the
// answered one carries the label.
//
// Which copy the server answered: the SYN-ACK echoes that SYN's timestamp
// (RFC 7323; tcp_check_req keeps the request's ts_recent from the SYN);
// without timestamps, the last copy before the SYN-ACK. A SYN-ACK that
// answers the first copy late (a queue in front of the server) therefore
// marks no copy dropped.
//
// Look-alikes refused: a server that never answers (down, filtered,
// blackholed, or a capture without its replies) gives syn-unanswered, not
// syn-dropped: nothing shows it dropped rather than never saw the SYNs; a
// refused connection (RST to a SYN) and a SYN whose SYN-ACK the capture
// holds (the SYN-ACK was lost after the capture point) are not drops;
// with captures at both ends, a SYN seen leaving the client and never at
// the server's capture point, which saw a later copy, was lost on the path
// (pathLost), not dropped.
// Kernel: tcp_conn_request drops a SYN when the accept queue is full
// (sk_acceptq_is_full; before about 4.x only while a young request sat in
// the SYN queue) and, with syncookies off, when the SYN queue is full
// (inet_csk_reqsk_queue_is_full, TCPReqQFullDrop).
func (f *Flow) ruleSynDropped(synAck *Segment) {
	hs := &f.hs
	answered := len(hs.syns) - 1
	if synAck.Opt.HasTS && synAck.Opt.TSEcr != 0 {
		for i, s := range hs.syns {
			if s.tsVal == synAck.Opt.TSEcr {
				answered = i
				break
			}
		}
	}
	if answered >= 0 {
		hs.reqSyn = answered
	}
	rst := f.EP[Server].RSTTime
	server := f.cfg.VantageOf(synAck.File) // the SYN-ACK's first record is the server's nearest
	for k := 1; k <= answered && k < len(hs.syns); k++ {
		if rst != 0 && hs.syns[k-1].t <= rst && rst <= hs.syns[k].t {
			continue // the earlier copy was refused, not dropped
		}
		if answered < len(hs.syns) && f.pathLost(int(hs.syns[k-1].pkt), int(hs.syns[answered].pkt), server) {
			// Seen leaving, never at the server's capture point, which
			// saw the answered copy: lost on the path.
			f.notePathLoss(PathLoss{Packet: int(hs.syns[k-1].pkt), Side: Client, MissedAt: server})
			continue
		}
		f.addLabel(int(hs.syns[k].pkt), LabelSynDropped, hs.syns[k].t)
	}
}

// ruleSynUnanswered runs when the flow finishes: the client sent SYNs and
// no SYN-ACK was ever seen: connect() timed out, or the capture ended
// first. On the last SYN.
//
// Look-alikes refused: a connection refused with a RST is not unanswered;
// a client that went on to acknowledge a SYN-ACK the capture never held
// (RepliesMissing: the capture misses the server's direction, as with
// asymmetric routing or a one-direction filter) was answered. What it
// cannot tell apart: a server that is down, a filter that drops the SYNs,
// a full listen queue dropping every SYN, and replies lost after the
// capture point; the listener view and the wording say which the capture
// allows.
func (f *Flow) ruleSynUnanswered() {
	if f.SynTime != 0 && f.SynAckTime == 0 && f.hs.lastSynIdx >= 0 && !f.EP[Server].SentRST && !f.RepliesMissing {
		f.addLabel(f.hs.lastSynIdx, LabelSynUnanswered, f.hs.lastSynTime)
	}
}

// ruleDeferAccept decides whether the server held the client's bare
// handshake ACK on purpose (TCP_DEFER_ACCEPT), before the overflow rules
// read a SYN-ACK after the ACK. Evidence, all of:
//   - the request timer retransmitted the SYN-ACK a round trip or more
//     after the client's bare ACK, with no data or FIN from the client
//     before that retransmission;
//   - that first retransmission skipped the timer's first expiry (1 s
//     after the SYN): syn_ack_recalc does not resend a deferred, acked
//     request until the deferral is nearly over ("start to resend on end
//     of deferring period"), while an overflowing server resends at every
//     expiry;
//   - the server acknowledged the client's first data at once, sent once:
//     tcp_check_req creates the socket as soon as data arrives.
//
// Kernel: tcp_check_req drops the bare ACK while req->num_timeout <
// rskq_defer_accept (TCPDeferAcceptDrop) and sets inet_rsk(req)->acked;
// syn_ack_recalc. Look-alikes: an accept queue full at the ACK that had
// room again by the time data came (it resends at the first expiry, so
// the deferral's skipped expiry tells them apart; with a 1 s deferral
// nothing does, and synack-after-ack stays with the alternative named);
// on a kernel whose request timer starts at 3 s (2.6.x) a skipped first
// expiry cannot be seen, so the prompt ACK of data is needed too.
func (f *Flow) ruleDeferAccept(o *outcome) {
	hs := &f.hs
	if len(o.afterAck) == 0 || o.kind != resolveServerSegment || o.seg == nil {
		return
	}
	first := hs.synAcks[o.afterAck[0]]
	for _, e := range o.log {
		if e.t >= first.t {
			break
		}
		if e.data || e.fin {
			return
		}
	}
	// The first timer retransmission of all: did it skip the 1 s expiry?
	timers := f.timerSynAcks()
	if len(timers) == 0 || hs.synAcks[timers[0]].t-hs.reqSynTime() < 2*int64(minSynAckTimer)+500e6 {
		return
	}
	// The first data, sent once, acknowledged by this very segment at once.
	d, ok := f.firstDataPrompt(o)
	if !ok {
		return
	}
	o.deferAccept = true
	// The bare ACKs before the data were held, not ignored for a full
	// queue; the data got the socket created.
	o.ignored = min(o.ignored, d-1)
	o.held = min(o.held, d-1)
	o.accepted = o.held + 1
	for _, i := range o.afterAck {
		f.addLabel(int(hs.synAcks[i].pkt), LabelDeferAccept, hs.synAcks[i].t)
	}
}

// ruleSynAckAfterAck labels each SYN-ACK the request timer sent after the
// client's handshake ACK had reached the server: the server kept the
// request and ignored the ACK. Evidence: the copy is a timer
// retransmission (at least the timer's first expiry after the SYN that
// created the request, not tcp_check_req's answer to a retransmitted SYN)
// and it passed the capture point at least a round trip (capture point to
// server and back) after the ACK did, so the ACK had reached the server
// before the copy left it.
//
// Kernel: tcp_check_req -> syn_recv_sock (tcp_v4_syn_recv_sock) finds
// sk_acceptq_is_full, counts ListenOverflows and, with
// tcp_abort_on_overflow=0, sets inet_rsk(req)->acked and drops the ACK;
// the request timer keeps re-sending the SYN-ACK. Look-alikes refused: a
// lost SYN-ACK seen from the client (the timer's copy and the answer to
// the retransmitted SYN both leave before the client's ACK arrives: at
// the client they follow the ACK by less than a round trip);
// TCP_DEFER_ACCEPT (ruleDeferAccept). Not refused by one capture: the ACK
// lost between the capture point and the server (a capture away from the
// server), which the wording states.
func (f *Flow) ruleSynAckAfterAck(o *outcome) {
	if o.deferAccept {
		return
	}
	for _, i := range o.afterAck {
		c := f.hs.synAcks[i]
		f.addLabel(int(c.pkt), LabelSynAckAfterAck, c.t)
	}
}

// ruleDataWhileSynRecv labels the client's data segments the server is
// proved to have ignored while it still held the connection as a request
// (findIgnored says what proves it: a later timer SYN-ACK, a capture at
// the server that would hold the ACK, or a cookie connection's first ACK
// without a D-SACK). Kernel: the data takes the same path as the ignored
// ACK (tcp_check_req -> syn_recv_sock on a full accept queue). Look-alike
// refused: the client resending data because the server's ACK was lost
// (an ACK with a D-SACK for the earlier copy, or an echoed timestamp,
// proves the server had it; without proof either way the data is left
// "unacknowledged" in the notes, unlabelled). Data the server never
// acknowledged because it forgot the request (synack-retries-exhausted)
// before the data arrived is not labelled.
func (f *Flow) ruleDataWhileSynRecv(o *outcome) {
	upTo := min(o.ignored, len(o.log)-1)
	if o.trigger >= 0 && (o.exhausted || o.forgotten) {
		upTo = min(upTo, o.trigger-1)
	}
	for _, e := range o.log[:upTo+1] {
		if e.data {
			f.addLabel(int(e.pkt), LabelDataWhileSynRecv, e.t)
		}
	}
	for _, i := range o.unproven {
		if len(f.Unacknowledged) < maxFindings {
			f.Unacknowledged = append(f.Unacknowledged, int(o.log[i].pkt))
		}
	}
}

// ruleFinBeforeQueued labels the client's FINs sent while the server
// still held the connection as a request: the client gave up before the
// server's application could accept it. Evidence: the FIN came before the
// segment that got the connection queued (or the connection was never
// queued: reset, forgotten, or the flow ended with the request held).
// Kernel: tcp_check_req looks only at SYN, ACK and RST, so the FIN's ACK
// may still complete the handshake later. Look-alike refused: a client
// RST (SO_LINGER 0) sends no FIN; a FIN after the server acknowledged
// anything is an ordinary close.
func (f *Flow) ruleFinBeforeQueued(o *outcome) {
	upTo := o.accepted // FINs up to the one that got it queued, if it was
	switch {
	case o.kind == resolveRST && o.appReset:
	case o.kind == resolveRST || o.kind == resolveClientRST || o.exhausted:
		upTo = len(o.log) - 1
		if o.trigger >= 0 {
			upTo = o.trigger - 1
		}
	case o.kind == resolveFinish && o.ignored >= 0:
		upTo = len(o.log) - 1 // never shown queued
	case o.kind == resolveServerSegment && (o.firstFin < 0 || o.firstFin > o.accepted):
		return
	}
	for _, e := range o.log[:min(upTo+1, len(o.log))] {
		if e.fin {
			f.addLabel(int(e.pkt), LabelFinBeforeQueued, e.t)
		}
	}
}

// ruleGhostConnection labels the server's first acknowledgment when it
// came only after (or because of) the client's FIN: the server left
// SYN-RECEIVED after the client had gone, so the application will accept
// a connection whose peer has gone and block reading it (seed 000's
// nginx/FastCGI case). Evidence: the segment that got the connection
// queued is the FIN or comes after it. Kernel: when a slot frees, the
// FIN's retransmission completes the handshake (tcp_check_req ->
// inet_csk_complete_hashdance). Look-alikes: none known when the
// handshake was captured; a flow seen from the middle is not judged.
func (f *Flow) ruleGhostConnection(o *outcome) {
	if o.kind == resolveServerSegment && o.firstFin >= 0 && o.firstFin <= o.accepted {
		f.addLabel(o.idx, LabelGhostConnection, o.now)
	}
}

// ruleAppReset labels a server RST that carries the ACK flag after the
// handshake: the application (or the kernel on its behalf: close with
// unread data, SO_LINGER {1,0}, the process exiting or the listener
// closing with the connection queued) reset a connection it had. Kernel:
// tcp_send_active_reset (tcp_disconnect, tcp_close) sends RST|ACK with the
// socket's snd_nxt. Look-alikes refused: the overflow reset
// (embryonic_reset -> tcp_v4_send_reset answering an ACK) has no ACK flag
// and is rst-on-overflow; a RST|ACK answering a SYN (nothing listening)
// is a refused connection. No tcp_abort_on_overflow is inferred from it.
// It returns whether the label was given.
func (f *Flow) ruleAppReset(idx int, seg *Segment) bool {
	if seg.Flags&(RST|ACK) != RST|ACK || f.SynAckTime == 0 || f.hs.lastSynIdx == idx {
		return false
	}
	f.addLabel(idx, LabelAppReset, seg.Time)
	return true
}

// ruleRstOnOverflow labels the kernel's overflow reset: with
// tcp_abort_on_overflow=1, tcp_check_req answers the handshake ACK (or
// the first data) that finds the accept queue full with embryonic_reset
// -> tcp_v4_send_reset. Evidence, all of: the server had acknowledged
// nothing; the RST carries no ACK flag and its sequence number is the
// acknowledgment number of a client segment it answers (that is how
// tcp_v4_send_reset answers an ACK); it came within an established
// server's prompt time of that segment; the request was still alive (no
// SYN-ACK had followed the client's ACK, so no ACK had been kept ignored,
// and the request timer had not yet run out).
//
// Look-alikes refused: an application's reset after accept() carries ACK
// (app-reset); a bare RST after the SYN-ACKs stopped answers a request
// the server forgot (synack-retries-exhausted, or a closed listener);
// a reset for a segment that followed an ignored ACK is not the first
// answer to it. Not refused: a firewall or load balancer forging such a
// reset right after the handshake.
func (f *Flow) ruleRstOnOverflow(o *outcome) {
	if o.appReset || o.seg == nil || o.seg.Flags&ACK != 0 || len(o.log) == 0 || len(o.afterAck) > 0 {
		return
	}
	// The first client segment it can answer: later ones met no request
	// (the reset dropped it) and get the listener's own resets.
	trig := -1
	for i, e := range o.log {
		if e.ack == o.seg.Seq {
			trig = i
			break
		}
	}
	if trig < 0 {
		return
	}
	e := o.log[trig]
	if o.now-e.t > f.promptAck() || e.t > f.timerEarliest() {
		return
	}
	o.overflowReset, o.trigger = true, trig
	f.addLabel(o.idx, LabelRstOnOverflow, o.now)
}

// ruleSynAckRetriesExhausted labels the client segment that met a server
// which had forgotten the request after its SYN-ACK retries ran out,
// while the client stayed ESTABLISHED: its later segments get a RST (the
// listener answers an ACK for no connection with a reset) or nothing.
// Evidence, all of: the client acknowledged the SYN-ACK; the request timer
// retransmitted the SYN-ACK at least once (a request it never retransmits
// is a cookie or tcp_synack_retries=0); no SYN cookie fingerprint (a
// cookie keeps no request, so nothing can run out: cookie_v4_check); the
// retransmissions then stopped, and the segment that met the forgotten
// request came no sooner than the timer's next expiry (the request is
// dropped at an expiry: reqsk_timer_handler -> inet_csk_reqsk_queue_drop
// after tcp_synack_retries, fewer when the queue is crowded but never
// below min(tcp_synack_retries, 2)).
//
// Look-alikes refused: a request that vanished between expiries (a
// listener closed with requests pending, a service restart) is reported
// as forgotten, not exhausted; an overflow reset (ruleRstOnOverflow); a
// cookie connection whose ACK was dropped on a full queue. Not refused by
// one capture: replies lost after the capture point.
func (f *Flow) ruleSynAckRetriesExhausted(o *outcome) {
	if o.overflowReset || o.appReset || len(o.log) == 0 {
		return
	}
	timers := f.timerSynAcks()
	switch o.kind {
	case resolveRST:
		if o.seg == nil || o.seg.Flags&ACK != 0 {
			return
		}
		o.trigger = len(o.log) - 1
		if len(timers) == 0 || f.cookieFingerprint() != "" || o.log[o.trigger].t < f.timerEarliest() {
			// The request vanished before its timer could have run out.
			o.forgotten = true
			return
		}
	case resolveFinish:
		if len(timers) == 0 || f.cookieFingerprint() != "" || !f.synAcksStopped(o.now) || o.ignored < 0 {
			return
		}
		deadline := f.timerDeadline()
		for i, e := range o.log {
			if e.t > deadline {
				o.trigger = i
				break
			}
		}
	default:
		return
	}
	o.exhausted = true
	if o.trigger >= 0 {
		e := o.log[o.trigger]
		// Everything before it reached a live request that kept ignoring it.
		o.ignored = max(o.ignored, o.trigger-1)
		o.held = max(o.held, o.ignored)
		f.addLabel(int(e.pkt), LabelSynAckRetriesExhausted, e.t)
	} else {
		o.ignored, o.held = len(o.log)-1, len(o.log)-1
		f.addLabel(f.hs.lastSynAckIdx, LabelSynAckRetriesExhausted, f.hs.lastSynAckTime)
	}
	o.accepted = len(o.log)
}

// ruleSynCookieSuspected labels a SYN-ACK that was a SYN cookie: the
// server's SYN queue was full (or tcp_syncookies=2), so it kept no
// request (tcp_conn_request with want_cookie, cookie_v4_init_sequence).
// Evidence, one of (the fingerprint, field notes section 5):
//   - with timestamps, the SYN-ACK's TSval lags the server clock implied
//     by its later segments by 4 to 66 ms: cookie_init_timestamp puts the
//     options into the low 6 bits and never rounds up, before the
//     connection's ts_off is added;
//   - without timestamps, it carries neither window scale nor
//     SACK-permitted although the SYN offered them (tcp_conn_request
//     clears the options of a cookie without a timestamp);
//   - the single SYN-ACK was never retransmitted although the client's
//     ACK or data went unanswered past the timer's first expiry, or,
//     for a half-open connection (the client never acknowledged it: a
//     SYN flood's spoofed source), although the capture went on past that
//     expiry.
//
// A fingerprinted SYN-ACK that the request timer retransmitted was not a
// cookie: the fingerprint is then ignored. Look-alikes: a server with
// tcp_window_scaling=0 and tcp_sack=0 (the option fingerprint), a server
// whose every later segment left late (the timestamp bound is loose), and
// tcp_synack_retries=0 (the missing retransmission). The cookie ACK that
// meets a full accept queue is dropped by cookie_v4_check ->
// tcp_get_cookie_sock and counted in ListenOverflows.
//
// It runs when the flow finishes, when the server's later segments have
// given the timestamp bound all they can.
func (f *Flow) ruleSynCookieSuspected() {
	hs := &f.hs
	if hs.firstSynAckIdx < 0 || len(f.timerSynAcks()) > 0 {
		return
	}
	if f.cookieFingerprint() != "" {
		f.addLabel(hs.firstSynAckIdx, LabelSynCookieSuspected, hs.lastSynAckTime)
		return
	}
	if hs.heldUntil != 0 && f.neverRetransmitted(hs.heldUntil) || f.halfOpenNeverRetransmitted() {
		f.addLabel(hs.firstSynAckIdx, LabelSynCookieSuspected, hs.lastSynAckTime)
	}
}

// halfOpenNeverRetransmitted reports whether a SYN-ACK the client never
// acknowledged (a half-open connection: a spoofed SYN of a flood, or a
// client gone) was never retransmitted although the capture went on past
// the request timer's first expiry with room to spare: a request is
// retransmitted at 1 s, a cookie never (field notes section 5). The SYN
// must have offered no timestamp, which would have given the stronger
// fingerprint, or none came of it (no data to measure against).
func (f *Flow) halfOpenNeverRetransmitted() bool {
	hs := &f.hs
	return len(hs.synAcks) == 1 && len(hs.log) == 0 && !f.RepliesMissing && len(f.timerSynAcks()) == 0 &&
		f.FinishTime-hs.reqSynTime() > minSynAckTimer+600e6 && !f.EP[Server].SentRST && f.SynTime != 0
}

// neverRetransmitted reports whether the server's SYN-ACK was never
// retransmitted by a request timer although the client had acknowledged
// it and the server held it unanswered until now, past the timer's first
// expiry with room to spare: the other half of field notes section 5's
// cookie fingerprint (no request is kept for a cookie), weaker than the
// timestamp or option fingerprint since tcp_synack_retries=0 looks the
// same.
func (f *Flow) neverRetransmitted(now int64) bool {
	hs := &f.hs
	return len(hs.synAcks) > 0 && len(hs.log) > 0 && len(f.timerSynAcks()) == 0 &&
		now-hs.lastSynAckTime > minSynAckTimer+600e6
}

// cookieLikely reports whether the flow's SYN-ACK was a SYN cookie by any
// part of its fingerprint.
func (f *Flow) cookieLikely(now int64) bool {
	return f.cookieFingerprint() != "" || f.neverRetransmitted(now)
}

// minCookieLag is the least timestamp lag taken for a cookie's: an
// ordinary SYN-ACK's lag bound comes out 0 to 2 ms (the 1 ms TSval clock
// and capture timestamps), a cookie's anywhere from 0 to 63 ms, so about
// one cookie in sixteen goes unrecognised by its timestamp.
const minCookieLag = 4

// cookieFingerprint says why the first SYN-ACK looks like a SYN cookie
// (see ruleSynCookieSuspected), or "" when it does not.
func (f *Flow) cookieFingerprint() string {
	hs := &f.hs
	if hs.firstSynAckIdx < 0 {
		return ""
	}
	c := &f.EP[Client]
	if hs.saHasTS {
		if hs.lagSamples > 0 && hs.cookieLag >= minCookieLag && hs.cookieLag <= 66 {
			return "its timestamp lags the server's clock by " + strconv.FormatInt(hs.cookieLag, 10) + " ms (a cookie carries its options in the low 6 bits of the timestamp)"
		}
		return ""
	}
	if !c.HaveISS || c.SYNs == 0 || c.Timestamps {
		return ""
	}
	if (c.WScale >= 0 || c.SACKPermitted) && !hs.saWScale && !hs.saSACK {
		return "it carries neither window scale nor SACK-permitted although the SYN offered them (a cookie without timestamps drops them)"
	}
	return ""
}

// CookieEvidence says why the flow's SYN-ACK looks like a SYN cookie, or
// "" when it does not; "" also when only its missing retransmission
// suggests one.
func (f *Flow) CookieEvidence() string { return f.cookieFingerprint() }
