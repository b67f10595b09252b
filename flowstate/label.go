package flowstate

import (
	"math/bits"
	"strconv"
	"strings"
)

// Label names a pattern the analysis found. Labels are not exclusive: a
// packet or flow carries every label whose definition it meets. The string
// IDs are stable: JSON output and regression checks use them.
type Label uint8

const (
	// LabelSynDropped ("syn-dropped"): the client retransmitted its SYN
	// because the earlier copy got no SYN-ACK, and the server answered a
	// later copy: connect() stalled for the retransmission timeout. On each
	// retransmitted SYN up to the one answered (ruleSynDropped says how
	// that copy is found). Kernel: tcp_conn_request drops a SYN when the
	// accept queue is full (sk_acceptq_is_full; before about 4.x only
	// while a young request sat in the SYN queue,
	// inet_csk_reqsk_queue_young) and, with syncookies off, when the SYN
	// queue is full (inet_csk_reqsk_queue_is_full, TCPReqQFullDrop).
	// Look-alikes refused: a server that never answers (down, filtered,
	// replies not captured) is syn-unanswered instead; a refused SYN; a
	// SYN-ACK answering the first copy late. Not refused by one capture: a
	// SYN lost on the path (a capture away from the server), a firewall
	// that rate-limits SYNs, or a capture that dropped packets; the wording
	// says which the vantage allows.
	LabelSynDropped Label = iota
	// LabelSynUnanswered ("syn-unanswered"): no SYN-ACK was ever seen for
	// the flow's SYNs: connect() timed out, or the capture ended first. On
	// the last SYN. Look-alikes refused: a refused connection (RST); a
	// client that acknowledged a SYN-ACK the capture never held (the
	// capture misses the server's direction). Not told apart: a server
	// down or filtered, every SYN dropped on a full listen queue, replies
	// lost after the capture point; the listener's verdict says which the
	// capture supports.
	LabelSynUnanswered
	// LabelSynAckRetransmit ("synack-retransmit"): the server sent its
	// SYN-ACK again (same ISN). Kernel: reqsk_timer_handler re-sends from
	// the request timer with backoff (1 s, 2 s, 4 s, ...) up to
	// tcp_synack_retries; tcp_check_req also re-sends on a retransmitted
	// SYN (inet_rtx_syn_ack). Harmless on its own when the SYN-ACK or ACK
	// was lost: it is a wire fact, not an overflow claim.
	LabelSynAckRetransmit
	// LabelSynAckAfterAck ("synack-after-ack"): the request timer
	// retransmitted the SYN-ACK at least a round trip after the client's
	// ACK of it passed the capture point: the ACK reached a server that
	// kept the request, ignoring it. Kernel: tcp_check_req ->
	// syn_recv_sock (tcp_v4_syn_recv_sock) finds sk_acceptq_is_full,
	// counts ListenOverflows and, with tcp_abort_on_overflow=0, sets
	// inet_rsk(req)->acked and drops the ACK. Look-alikes refused: a lost
	// SYN-ACK seen from the client (copies that follow the ACK by less
	// than a round trip, or answer a retransmitted SYN); TCP_DEFER_ACCEPT
	// when the deferral shows (defer-accept). Not refused by one capture:
	// the ACK lost between a capture away from the server and the server;
	// a 1 s TCP_DEFER_ACCEPT, whose timer looks like an overflowing one.
	LabelSynAckAfterAck
	// LabelDataWhileSynRecv ("data-while-syn-recv"): the client sent or
	// retransmitted data that the server is proved to have ignored while
	// still in SYN-RECEIVED: a later timer SYN-ACK, a capture at the server
	// that holds no ACK for it before the client sent it again, or a
	// cookie connection whose first ACK of the resent data has no D-SACK.
	// The segment took the same path as the ignored ACK (tcp_check_req ->
	// syn_recv_sock overflow). On each such segment. Look-alike refused:
	// data resent because the server's ACK was lost (a D-SACK or an echoed
	// timestamp proves the server had it; without proof either way the
	// note says "unacknowledged" and no label is given).
	LabelDataWhileSynRecv
	// LabelFinBeforeQueued ("fin-before-queued"): the client sent FIN while
	// the server still held the connection as a request in SYN-RECEIVED:
	// the client gave up before the server's application could accept it.
	// tcp_check_req looks only at SYN, ACK and RST, so the FIN's ACK may
	// still complete the handshake later. Look-alikes refused: a client
	// RST (no FIN); a FIN after the server acknowledged anything.
	LabelFinBeforeQueued
	// LabelGhostConnection ("ghost-connection"): the server left
	// SYN-RECEIVED only after the client's FIN: its first segment other
	// than a SYN-ACK (an ACK of data or FIN, or a SACK'd duplicate ACK;
	// not a RST) comes after the client's FIN. When a slot freed, the
	// FIN's retransmission completed the handshake (tcp_check_req ->
	// inet_csk_complete_hashdance) and the application will accept a
	// connection whose peer has gone, then block in read() (seed 000's
	// nginx/FastCGI case). On the server's segment and the flow.
	// Look-alikes: none known when the handshake was captured; on a flow
	// seen from the middle it is not reported.
	LabelGhostConnection
	// LabelSynAckRetriesExhausted ("synack-retries-exhausted"): the
	// request timer had retransmitted the SYN-ACK at least once, then
	// stopped, and the server forgot the request at a timer expiry
	// (reqsk_timer_handler -> inet_csk_reqsk_queue_drop after
	// tcp_synack_retries, fewer when the queue is crowded, never below
	// min(tcp_synack_retries, 2)) while the client stays ESTABLISHED: its
	// next segment gets a RST (the listener answers an unknown ACK with a
	// reset) or nothing. On the client segment the server no longer knew.
	// Look-alikes refused: a SYN cookie connection (no request: nothing
	// can run out); a request that vanished between timer expiries (a
	// listener closed with requests pending: Flow.RequestForgotten); an
	// overflow reset. Not refused by one capture: replies lost after the
	// capture point.
	LabelSynAckRetriesExhausted
	// LabelRstOnOverflow ("rst-on-overflow"): the server answered the
	// handshake-completing ACK (or the client's first data) with a bare
	// RST (no ACK flag, sequence number = the ACK's acknowledgment number)
	// while the request was alive, having acknowledged nothing. Kernel:
	// tcp_check_req with tcp_abort_on_overflow=1 -> embryonic_reset ->
	// tcp_v4_send_reset when syn_recv_sock fails on a full accept queue.
	// Look-alikes refused: an application's reset after accept() (RST with
	// ACK: app-reset); a bare RST after the SYN-ACKs stopped (the request
	// was forgotten); a reset after an ignored ACK. Not refused: a firewall
	// or load balancer forging such a reset right after the handshake.
	LabelRstOnOverflow
	// LabelSynCookieSuspected ("syncookie-suspected"): the server answered
	// with a SYN cookie, keeping no request (tcp_conn_request with
	// want_cookie, cookie_v4_init_sequence): its SYN queue was full, or
	// tcp_syncookies=2. Evidence (ruleSynCookieSuspected): the cookie's
	// timestamp lag, or its missing options without timestamps, or a
	// single SYN-ACK never retransmitted although the client's ACK or data
	// went unanswered past the timer's first expiry. The cookie ACK that
	// meets a full accept queue is dropped by cookie_v4_check ->
	// tcp_get_cookie_sock. Look-alikes: tcp_synack_retries=0 (no
	// retransmission; the analysis rules it out where the listener's
	// request timer resent SYN-ACKs in other flows, a fact no one flow
	// holds: analyze's synAckRetriesZero), a server with window scaling and SACK off (no
	// options), a server whose later segments all left late (loose
	// timestamp bound); a SYN-ACK the timer retransmitted is never called
	// a cookie.
	LabelSynCookieSuspected
	// LabelDeferAccept ("defer-accept"): the server held the client's bare
	// handshake ACK on purpose: the listener has TCP_DEFER_ACCEPT. The
	// request timer resent the SYN-ACK after the bare ACK only late in
	// the deferral (it skipped the timer's first expiry), and the server
	// acknowledged the client's first data at once. Kernel: tcp_check_req
	// drops a bare ACK while req->num_timeout < rskq_defer_accept
	// (TCPDeferAcceptDrop, not ListenOverflows); syn_ack_recalc resends
	// only near the deferral's end. On the SYN-ACKs after the ACK, instead
	// of synack-after-ack. Look-alike refused: an accept queue full at the
	// ACK that freed a slot before the data (it resends at the first
	// expiry). Not told apart: a 1 s deferral (it resends at the first
	// expiry too), which stays synack-after-ack with the alternative
	// named.
	LabelDeferAccept
	// LabelAppReset ("app-reset"): the server reset a connection it had
	// accepted: a RST carrying ACK after the handshake, as
	// tcp_send_active_reset sends it (close with SO_LINGER {1,0} or with
	// unread data, the process exiting, the listener closing with the
	// connection queued). Look-alike refused: the overflow reset (a bare
	// RST answering the ACK: rst-on-overflow); a RST|ACK answering a SYN
	// (nothing listening: refused). No tcp_abort_on_overflow is inferred
	// from it.
	LabelAppReset
	// LabelZeroWindowStall ("zero-window-stall"): a receiver advertised a
	// zero window for longer than StallThreshold: its application stopped
	// reading, and the sender could only probe (Linux's persist timer,
	// tcp_probe_timer / tcp_send_probe0, probes at the RTO and backs off).
	// On the first zero-window segment; the Stall holds when the window
	// opened again (its window update) and the peer's probes. Evidence:
	// Wireshark's zero_window on the receiver's segments, then its
	// zero_window_probe or keep_alive on the sender's (Linux probes with a
	// bare ACK at snd_una-1, which Wireshark calls a keep-alive).
	// Look-alikes: a zero window shorter than the threshold is flow
	// control working (a reader briefly behind); a window that is only
	// small is not zero. Kernel: tcp_select_window advertises 0 when the
	// receive buffer is full (tcp_space).
	LabelZeroWindowStall
	// LabelRTORetransmission ("rto-retransmission"): the sender
	// retransmitted its oldest unacknowledged segment at least
	// TCP_RTO_MIN (200 ms) after the last progress (the peer's last ACK of
	// new data, or its first send after all was acknowledged) and after
	// the peer's last duplicate ACK: its retransmission timer fired
	// (tcp_retransmit_timer), not fast retransmit (tcp_fastretrans_alert
	// acts on an ACK's arrival). On the first such retransmission; the
	// Stall holds the backoff series (each later retransmission of the
	// same segment, the timer doubled: inet_csk_reset_xmit_timer with
	// icsk_backoff) and ends at the ACK that covers it. Wireshark calls
	// these "retransmission" and no more. Look-alikes: a tail loss probe
	// (RFC 8985, tcp_send_loss_probe) of a lone segment also waits up to
	// 2·SRTT + 200 ms; it is sent once, where an RTO backs off. Not during
	// the handshake, nor while the server holds the connection as a
	// request (the handshake labels speak then).
	LabelRTORetransmission
	// LabelLoss ("loss"): segments of the sender were lost, and the
	// capture tells where: a retransmission that filled a gap the capture
	// had seen ("previous segment not captured": lost between the sender
	// and the capture point, or by the capture) against one of bytes the
	// capture had seen unacknowledged (lost after the capture point, or
	// its ACK was). On the first such segment; the Stall and
	// DirStats.LostBeforeCapture/LostAfterCapture hold the counts, which
	// the vantage point turns into words. Look-alikes: reordering (a gap
	// filled soon, Wireshark's out-of-order, counted as Reordered, not
	// loss); a spurious retransmission (already acknowledged) is not a
	// loss; the capture's own loss (an ACK of bytes it never saw) is
	// AckedUnseen. Not during the handshake or while the server holds the
	// connection as a request.
	LabelLoss
	// LabelKeepaliveOnly ("keepalive-only"): the connection sat idle with
	// only keep-alives (and their ACKs) for longer than StallThreshold:
	// no payload, SYN, FIN or RST either way. Kernel: tcp_keepalive_timer
	// sends tcp_write_wakeup / tcp_xmit_probe_skb, a bare ACK at
	// snd_una-1, after tcp_keepalive_time (SO_KEEPALIVE, TCP_KEEPIDLE) and
	// every tcp_keepalive_intvl, and gives up after tcp_keepalive_probes
	// unanswered (the flow then ends with nothing, or a RST). On the first
	// keep-alive; the Stall holds the probe times and whether the period
	// was still open at the end (unanswered probes: the peer has gone).
	// Look-alikes: Linux's zero-window probes look the same to Wireshark;
	// those sent while the peer's window is zero belong to a
	// zero-window-stall instead.
	LabelKeepaliveOnly
	numLabels
)

var labelIDs = [numLabels]string{
	LabelSynDropped:             "syn-dropped",
	LabelSynUnanswered:          "syn-unanswered",
	LabelSynAckRetransmit:       "synack-retransmit",
	LabelSynAckAfterAck:         "synack-after-ack",
	LabelDataWhileSynRecv:       "data-while-syn-recv",
	LabelFinBeforeQueued:        "fin-before-queued",
	LabelGhostConnection:        "ghost-connection",
	LabelSynAckRetriesExhausted: "synack-retries-exhausted",
	LabelRstOnOverflow:          "rst-on-overflow",
	LabelSynCookieSuspected:     "syncookie-suspected",
	LabelDeferAccept:            "defer-accept",
	LabelAppReset:               "app-reset",
	LabelZeroWindowStall:        "zero-window-stall",
	LabelRTORetransmission:      "rto-retransmission",
	LabelLoss:                   "loss",
	LabelKeepaliveOnly:          "keepalive-only",
}

// String returns the label's stable ID, e.g. "synack-after-ack".
func (l Label) String() string {
	if l < numLabels {
		return labelIDs[l]
	}
	return "Label(" + strconv.Itoa(int(l)) + ")"
}

// AllLabels lists every label in ID order.
func AllLabels() []Label {
	out := make([]Label, numLabels)
	for i := range out {
		out[i] = Label(i)
	}
	return out
}

// ParseLabel returns the label with the given stable ID.
func ParseLabel(id string) (Label, bool) {
	for i, s := range labelIDs {
		if s == id {
			return Label(i), true
		}
	}
	return 0, false
}

// Labels is a set of labels.
type Labels uint32

// Add returns the set with l added.
func (s Labels) Add(l Label) Labels { return s | 1<<l }

// Has reports whether l is in the set.
func (s Labels) Has(l Label) bool { return s&(1<<l) != 0 }

// Len is the number of labels in the set.
func (s Labels) Len() int { return bits.OnesCount32(uint32(s)) }

// List returns the labels in ID order.
func (s Labels) List() []Label {
	out := make([]Label, 0, s.Len())
	for l := Label(0); l < numLabels; l++ {
		if s.Has(l) {
			out = append(out, l)
		}
	}
	return out
}

// Strings returns the stable IDs in ID order (never nil).
func (s Labels) Strings() []string {
	out := make([]string, 0, s.Len())
	for _, l := range s.List() {
		out = append(out, l.String())
	}
	return out
}

// String joins the IDs with commas.
func (s Labels) String() string { return strings.Join(s.Strings(), ",") }
