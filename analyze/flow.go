package analyze

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// Flow is a finished flow, ready for rendering: the state machine's final
// view plus what the analysis adds (its number, addresses, the capture's
// vantage point, and a plain-language note per packet).
type Flow struct {
	*flowstate.Flow
	// ID numbers flows 1, 2, ... in the order they finished.
	ID             int
	Client, Server netip.AddrPort
	Vantage        Vantage
	VantageBasis   VantageBasis // what Vantage rests on
	// Origin is the time of the run's first packet: relative times in
	// output count from it.
	Origin int64
	// Notes has one entry per recorded packet: a one-line explanation for
	// every labelled packet, and for the segment that got a connection
	// queued late; "" elsewhere.
	Notes []string
	// Seen, in a run of several captures, has one entry per recorded
	// packet: every capture file that recorded it, the first record
	// first (the packet's own File, Frame and Time); nil otherwise.
	Seen [][]Seen
}

// Seen is one capture file's record of a packet.
type Seen struct {
	File  int32
	Frame int64
	Time  int64 // on the first file's clock
}

// collectSeen fills f.Seen from the flow's packets and its sightings
// (flowstate.Flow.Sightings): the packets kept under a record limit.
func (f *Flow) collectSeen() {
	f.Seen = make([][]Seen, len(f.Packets))
	for i := range f.Packets {
		p := &f.Packets[i]
		f.Seen[i] = []Seen{{File: p.File, Frame: p.Frame, Time: p.Time}}
	}
	for _, x := range f.Sightings() {
		i := x.Packet
		switch {
		case f.Elided == 0 || i < f.ElidedAt:
		case i >= f.ElidedAt+f.Elided:
			i -= f.Elided
		default:
			continue
		}
		if i >= 0 && i < len(f.Seen) {
			f.Seen[i] = append(f.Seen[i], Seen{File: x.File, Frame: x.Frame, Time: x.Time})
		}
	}
}

// AddrPort returns side's address and port.
func (f *Flow) AddrPort(side flowstate.Side) netip.AddrPort {
	if side == flowstate.Client {
		return f.Client
	}
	return f.Server
}

func addrPort(e *flowstate.Endpoint) netip.AddrPort {
	return netip.AddrPortFrom(e.Addr.Netip(), e.Port)
}

// seconds formats a duration in nanoseconds as seconds with two decimals.
func seconds(ns int64) string { return fmt.Sprintf("%.2f s", float64(ns)/1e9) }

// noteContext is what a flow's notes read of its listener, as the flows
// finished so far (this one included) show it: the notes are written as
// each flow is handed out, before the listener is complete.
type noteContext struct {
	// answered says whether the server answered any SYN: what an
	// unanswered connection's note can say depends on it.
	answered bool
	// timer is what the listener's flows showed of its request timer,
	// for the notes that offer tcp_synack_retries=0 (synAckRetriesZero,
	// from inferSynAckRetries: decided only where a note needs it, so
	// that a flow without one costs nothing).
	timer synAckTimer
}

// noteContext is the listener as the flows finished so far show it.
func (a *listenerAgg) noteContext() noteContext {
	return noteContext{answered: a.answered > 0, timer: a.timer}
}

// explain writes the notes of a finished, recorded flow; offeredZero
// says whether one offered tcp_synack_retries=0 (the listener corrects
// such notes when a later flow rules it out: zeroOfferedNote).
func (f *Flow) explain(c noteContext) (offeredZero bool) {
	if len(f.Packets) == 0 {
		return false
	}
	answered := c.answered
	f.Notes = make([]string, len(f.Packets))
	local := f.Vantage == VantageServer || f.Vantage == VantageSameHost
	unacked := make(map[int]bool, len(f.Unacknowledged))
	for _, i := range f.Unacknowledged {
		unacked[i] = true
	}
	promptData := f.firstDataAckedPromptly()
	near := f.vantageSides()
	lastClientAckIdx, lastSynIdx := -1, -1
	var lastClientAck, lastSyn, lastSynAck int64
	synAcks := 0
	for i := range f.Packets {
		p := &f.Packets[i]
		var notes []string
		l := p.Labels
		switch {
		case l.Has(flowstate.LabelSynDropped):
			// A SYN seen reaching the server and never answered: its
			// listen queue dropped it, or a filter on the server host
			// did (netfilter's input hook runs after the capture's tap);
			// one capture cannot tell them apart.
			why := "the server dropped it (accept queue full, or SYN queue full without syncookies; or a filter on the server host)"
			switch {
			case f.reachedServer(lastSynIdx, near):
				why = fmt.Sprintf("it reached the server's capture point (capture %d), so the server dropped it (accept queue full, or SYN queue full without syncookies; or a filter on the server host)", near[flowstate.Server])
			case !local:
				why = "it was dropped by the server (accept or SYN queue full) or lost on the way"
			}
			notes = append(notes, fmt.Sprintf("client sends its SYN again %s after the last one, which got no SYN-ACK: %s", seconds(p.Time-lastSyn), why))
		}
		if l.Has(flowstate.LabelSynUnanswered) {
			switch {
			case !answered:
				notes = append(notes, "no answer from the server (down, filtered, or not captured): no SYN-ACK ever came; connect() timed out or the capture ended first")
			case local:
				notes = append(notes, "no SYN-ACK ever came for this connection, while the server answered others: it received these SYNs and dropped them (a full listen queue, or a filter on the host); connect() timed out or the capture ended first")
			default:
				notes = append(notes, "no SYN-ACK ever came for this connection, while the server answered others: its listen queue dropped these SYNs, or they were lost on the way; connect() timed out or the capture ended first")
			}
		}
		if p.From == flowstate.Server && p.Flags&(flowstate.SYN|flowstate.ACK) == flowstate.SYN|flowstate.ACK && !p.Duplicate {
			synAcks++
			switch {
			case l.Has(flowstate.LabelDeferAccept):
				notes = append(notes, fmt.Sprintf("server retransmits its SYN-ACK (copy %d) late, not at its timer's first expiry, and later acknowledges the client's first data at once: the listener uses TCP_DEFER_ACCEPT and holds a bare ACK until data comes (not an overflow)", synAcks))
			case l.Has(flowstate.LabelSynAckAfterAck):
				why := "the server ignored it, its accept queue is full"
				switch {
				case f.reachedServer(lastClientAckIdx, near):
					why = fmt.Sprintf("it reached the server's capture point (capture %d), so the server ignored it: its accept queue is full", near[flowstate.Server])
				case !local:
					why = "the server ignored it (accept queue full) or it was lost on the way"
				}
				if promptData {
					why += "; since the server later acknowledged the first data at once, a 1 s TCP_DEFER_ACCEPT looks the same"
				}
				notes = append(notes, fmt.Sprintf("server retransmits its SYN-ACK (copy %d) although the client's ACK went out %s ago: %s", synAcks, seconds(p.Time-lastClientAck), why))
			case l.Has(flowstate.LabelSynAckRetransmit):
				notes = append(notes, fmt.Sprintf("server retransmits its SYN-ACK (copy %d, %s after the previous)", synAcks, seconds(p.Time-lastSynAck)))
			}
			if l.Has(flowstate.LabelSynCookieSuspected) {
				if ev := f.CookieEvidence(); ev != "" {
					notes = append(notes, "this SYN-ACK is a SYN cookie: "+ev+"; the server kept no request (its SYN queue was full, or tcp_syncookies=2)")
				} else {
					clause, offered := synAckRetriesZero(inferSynAckRetries(c.timer))
					offeredZero = offeredZero || offered
					unanswered := "the client's ACK goes unanswered"
					if f.HandshakeAckTime == 0 {
						unanswered = "the capture goes on past the request timer's first expiry" // half-open (flowstate: halfOpenNeverRetransmitted)
					}
					notes = append(notes, "this SYN-ACK is never retransmitted although "+unanswered+": a SYN cookie (no request kept) is suspected, "+clause)
				}
			}
			lastSynAck = p.Time
		}
		if l.Has(flowstate.LabelDataWhileSynRecv) {
			verb := "sends"
			if p.Retransmit {
				verb = "retransmits"
			}
			notes = append(notes, fmt.Sprintf("client %s %d bytes that the server does not acknowledge: it still holds the connection as a request (SYN-RECEIVED) and drops the data", verb, p.Len))
		}
		if l.Has(flowstate.LabelFinBeforeQueued) {
			notes = append(notes, "client gives up and closes (FIN) while the server has not yet queued the connection")
		}
		if l.Has(flowstate.LabelGhostConnection) {
			notes = append(notes, "server acknowledges for the first time, after the client's FIN: the connection is queued only now, and the application will accept a connection whose client has gone (a ghost) and block reading it")
		}
		if l.Has(flowstate.LabelSynAckRetriesExhausted) {
			// The flow's own bound, as the listener's decider writes it
			// (inferSynAckRetries): the listener's is at least as high.
			n := f.TimerSynAckRetransmits()
			bound := "tcp_synack_retries >= 1"
			if in, ok := inferSynAckRetries(synAckTimer{exhausted: n}); ok {
				bound = "tcp_synack_retries " + in.Value
			}
			notes = append(notes, fmt.Sprintf("the server has forgotten this connection: it gave up after %s from its request timer (%s, or TCP_SYNCNT on the listener) while the client believes it is ESTABLISHED", plural(n, "SYN-ACK retransmission"), bound))
		}
		if l.Has(flowstate.LabelRstOnOverflow) {
			// The behaviour's value, not the listener's: a listener can
			// show both (inferAbortOnOverflow's "0 and 1"), and the note is
			// written before the listener is complete.
			notes = append(notes, "server resets the connection right after the handshake, having acknowledged nothing: accept queue full, reset as tcp_abort_on_overflow=1 does")
		}
		if l.Has(flowstate.LabelAppReset) {
			notes = append(notes, "server resets a connection it had accepted (RST with ACK): the application closed it with SO_LINGER 0 or unread data, or exited, or the listener closed; not an overflow")
		}
		if p.From == flowstate.Server && p.Flags&flowstate.RST != 0 && f.RequestForgotten && i == f.firstServerRST() {
			notes = append(notes, "the server no longer knows this connection, although its SYN-ACK timer had not run out: the listener was closed (a restart?) or the request dropped; not retries exhausted")
		}
		if p.From == flowstate.Server && p.Flags&flowstate.RST != 0 && f.SynAckTime == 0 && !f.MidStream && p.Labels == 0 && i == f.firstServerRST() {
			notes = append(notes, "refused: the server answers the SYN with a reset (nothing listens on the port)")
		}
		if f.PacketIndex(i) == f.ServerEstablishPacket && f.ServerEstablishPacket >= 0 && len(notes) == 0 && f.Labels.Has(flowstate.LabelSynAckAfterAck) {
			notes = append(notes, "the server queues the connection now: a slot in its accept queue freed")
		}
		if unacked[f.PacketIndex(i)] && len(notes) == 0 {
			notes = append(notes, "the server does not acknowledge this segment: its ACK was lost on the way, or it ignored the segment while holding the connection as a request; this capture cannot tell which")
		}
		if len(notes) > 0 && f.AckedUnseen > 0 && (l.Has(flowstate.LabelSynDropped) || l.Has(flowstate.LabelDataWhileSynRecv) || l.Has(flowstate.LabelSynAckAfterAck)) {
			notes = append(notes, "caution: this flow acknowledges data the capture never saw, so the capture lost packets and this may be its own loss")
		}
		if p.NotReceived {
			notes = append(notes, f.notReceivedNote(p))
		}
		notes = append(notes, f.stallNotes(i)...) // traffic.go
		if p.Duplicate {
			notes = append(notes, "the same frame seen twice (as tcpdump -i any can record); not counted")
		}
		if n := f.seenNote(i, near); n != "" {
			notes = append(notes, n)
		}
		f.Notes[i] = strings.Join(notes, "; ")

		if p.From == flowstate.Client && p.Flags&flowstate.ACK != 0 && p.Flags&flowstate.SYN == 0 {
			lastClientAck, lastClientAckIdx = p.Time, i
		}
		if p.From == flowstate.Client && p.Flags&(flowstate.SYN|flowstate.ACK) == flowstate.SYN {
			lastSyn, lastSynIdx = p.Time, i
		}
	}
	return offeredZero
}

// notReceivedNote explains an ACK of a FIN that its sender's copy of the
// FIN, sent after it, proves lost (flowstate's reviseFinAckLost: the
// sender's state is shown as before the ACK). Where it was lost depends on
// the vantage: at the FIN's sender it arrived and was dropped on that host
// (a firewall: AF_PACKET taps before netfilter) or discarded by its TCP;
// between the ends, or with both on one host, after the capture point; at
// the ACK's sender, on the way.
func (f *Flow) notReceivedNote(p *flowstate.Packet) string {
	x := p.From.Peer()
	where := ""
	switch {
	case f.Vantage == VantageServer && x == flowstate.Server || f.Vantage == VantageClient && x == flowstate.Client:
		where = " (dropped on its host after the capture point: a firewall, or its TCP discarded it)"
	case f.Vantage == VantageServer || f.Vantage == VantageClient:
		where = " (lost on the way)"
	case f.Vantage == VantageBetween || f.Vantage == VantageSameHost:
		where = " (lost after the capture point)"
	}
	return fmt.Sprintf("the %s retransmits its FIN afterwards: this ACK did not reach it%s", x, where)
}

// firstServerRST is the index of the server's first RST, -1 when none.
func (f *Flow) firstServerRST() int {
	for i := range f.Packets {
		if p := &f.Packets[i]; p.From == flowstate.Server && p.Flags&flowstate.RST != 0 {
			return i
		}
	}
	return -1
}

// firstDataAckedPromptly reports whether the server's first
// acknowledgment of the client's data came within half a second of the
// data's first copy, sent once.
func (f *Flow) firstDataAckedPromptly() bool {
	for i := range f.Packets {
		p := &f.Packets[i]
		if p.From != flowstate.Client || p.Len == 0 {
			continue
		}
		end := p.Seq + p.Len
		for j := i + 1; j < len(f.Packets); j++ {
			q := &f.Packets[j]
			if q.From == flowstate.Client && q.Len > 0 && q.Seq < end {
				return false // sent again before an ACK came
			}
			if q.From == flowstate.Server && q.Flags&flowstate.ACK != 0 && q.Flags&flowstate.SYN == 0 && q.Ack >= end {
				return q.Time-p.Time <= 500e6
			}
		}
		return false
	}
	return false
}
