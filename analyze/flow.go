package analyze

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

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
	// Origin is the time of the run's first packet: relative times in
	// output count from it.
	Origin int64
	// Notes has one entry per recorded packet: a one-line explanation for
	// every labelled packet, and for the segment that got a connection
	// queued late; "" elsewhere.
	Notes []string
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

// explain writes the notes of a finished, recorded flow.
func (f *Flow) explain() {
	if len(f.Packets) == 0 {
		return
	}
	f.Notes = make([]string, len(f.Packets))
	local := f.Vantage == VantageServer || f.Vantage == VantageSameHost
	var lastClientAck, lastSyn, lastSynAck int64
	synAcks := 0
	for i := range f.Packets {
		p := &f.Packets[i]
		var notes []string
		l := p.Labels
		switch {
		case l.Has(flowstate.LabelSynDropped):
			why := "the server dropped it (accept queue full, or SYN queue full without syncookies)"
			if !local {
				why = "it was dropped by the server (accept or SYN queue full) or lost on the way"
			}
			notes = append(notes, fmt.Sprintf("client sends its SYN again %s after the last one, which got no SYN-ACK: %s", seconds(p.Time-lastSyn), why))
		}
		if l.Has(flowstate.LabelSynUnanswered) {
			notes = append(notes, "no SYN-ACK ever came for this connection: connect() timed out or the capture ended first")
		}
		if p.From == flowstate.Server && p.Flags&(flowstate.SYN|flowstate.ACK) == flowstate.SYN|flowstate.ACK && !p.Duplicate {
			synAcks++
			switch {
			case l.Has(flowstate.LabelSynAckAfterAck):
				why := "the server ignored it, its accept queue is full"
				if !local {
					why = "the server ignored it (accept queue full) or it was lost on the way"
				}
				notes = append(notes, fmt.Sprintf("server retransmits its SYN-ACK (copy %d) although the client's ACK went out %s ago: %s", synAcks, seconds(p.Time-lastClientAck), why))
			case l.Has(flowstate.LabelSynAckRetransmit):
				notes = append(notes, fmt.Sprintf("server retransmits its SYN-ACK (copy %d, %s after the previous)", synAcks, seconds(p.Time-lastSynAck)))
			}
			if l.Has(flowstate.LabelSynCookieSuspected) {
				notes = append(notes, "this SYN-ACK is never retransmitted although the client's ACK goes unanswered: a SYN cookie (no request kept) is suspected")
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
			n := f.EP[flowstate.Server].SYNRetransmits
			notes = append(notes, fmt.Sprintf("the server has forgotten this connection: it gave up after %d SYN-ACK retransmissions (tcp_synack_retries >= %d) while the client believes it is ESTABLISHED", n, n))
		}
		if l.Has(flowstate.LabelRstOnOverflow) {
			notes = append(notes, "server resets the connection right after the handshake, having acknowledged nothing: accept queue full with tcp_abort_on_overflow=1")
		}
		if i == f.ServerEstablishPacket && f.ServerEstablishPacket >= 0 && len(notes) == 0 && f.Labels.Has(flowstate.LabelSynAckAfterAck) {
			notes = append(notes, "the server queues the connection now: a slot in its accept queue freed")
		}
		if len(notes) > 0 && f.AckedUnseen > 0 && (l.Has(flowstate.LabelSynDropped) || l.Has(flowstate.LabelDataWhileSynRecv) || l.Has(flowstate.LabelSynAckAfterAck)) {
			notes = append(notes, "caution: this flow acknowledges data the capture never saw, so the capture lost packets and this may be its own loss")
		}
		notes = append(notes, f.stallNotes(i)...) // traffic.go
		if p.Duplicate {
			notes = append(notes, "the same frame seen twice (as tcpdump -i any can record); not counted")
		}
		f.Notes[i] = strings.Join(notes, "; ")

		if p.From == flowstate.Client && p.Flags&flowstate.ACK != 0 && p.Flags&flowstate.SYN == 0 {
			lastClientAck = p.Time
		}
		if p.From == flowstate.Client && p.Flags&(flowstate.SYN|flowstate.ACK) == flowstate.SYN {
			lastSyn = p.Time
		}
	}
}

// fmtClock formats a capture time as a UTC time of day with microseconds,
// the way tcpdump prints it, to line up with logs.
func fmtClock(ns int64) string {
	return time.Unix(0, ns).UTC().Format("15:04:05.000000")
}
