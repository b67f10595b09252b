package flowstate

import "strconv"

// State is what one endpoint of a connection believes, in RFC 793 terms,
// inferred from the wire. The zero value is StateUnknown.
type State uint8

// Endpoint states. SYN-RECEIVED-ACK-IGNORED is the Linux substate that
// matters for listen-queue overflow: the request is still in the SYN queue
// after the client's ACK arrived, because tcp_check_req found the accept
// queue full (syn_recv_sock -> tcp_v4_syn_recv_sock -> exit_overflow) and
// only marked the request "acked" (inet_rsk(req)->acked = 1).
const (
	StateUnknown State = iota // a side not yet seen in a flow caught mid-stream
	StateClosed
	StateListen
	StateSynSent
	StateSynReceived
	StateSynReceivedAckIgnored
	StateEstablished
	StateFinWait1
	StateFinWait2
	StateCloseWait
	StateClosing
	StateLastAck
	StateTimeWait
	numStates
)

var stateNames = [numStates]string{
	StateUnknown:               "UNKNOWN",
	StateClosed:                "CLOSED",
	StateListen:                "LISTEN",
	StateSynSent:               "SYN-SENT",
	StateSynReceived:           "SYN-RECEIVED",
	StateSynReceivedAckIgnored: "SYN-RECEIVED-ACK-IGNORED",
	StateEstablished:           "ESTABLISHED",
	StateFinWait1:              "FIN-WAIT-1",
	StateFinWait2:              "FIN-WAIT-2",
	StateCloseWait:             "CLOSE-WAIT",
	StateClosing:               "CLOSING",
	StateLastAck:               "LAST-ACK",
	StateTimeWait:              "TIME-WAIT",
}

// String gives the RFC 793 spelling ("SYN-RECEIVED"); an out-of-range
// value prints as "State(N)".
func (s State) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// ParseState is the inverse of String.
func ParseState(name string) (State, bool) {
	for i, n := range stateNames {
		if n == name {
			return State(i), true
		}
	}
	return 0, false
}

// Handshaking reports whether the endpoint is opening the connection:
// SYN-SENT, SYN-RECEIVED or SYN-RECEIVED-ACK-IGNORED.
func (s State) Handshaking() bool {
	return s == StateSynSent || s == StateSynReceived || s == StateSynReceivedAckIgnored
}

// Synchronized reports whether the endpoint has completed its handshake
// (RFC 793's synchronized states: ESTABLISHED and the closing states).
func (s State) Synchronized() bool { return s >= StateEstablished && s < numStates }

// allowed[from] is the set of states an endpoint may move to from "from",
// as a bit mask; every state may also stay where it is. UNKNOWN may move
// anywhere (a flow caught mid-stream). RFC 793 figure 6, plus the Linux
// SYN-RECEIVED-ACK-IGNORED substate and the moves the wire can show:
// any state may become CLOSED on a RST or when a request is forgotten; a
// closed server may answer a later SYN (its listener came up: LISTEN was
// not a packet of its own); and the server's first segment after the
// handshake may also carry its FIN (queued and closing in one packet).
var allowed = [numStates]uint16{
	StateClosed:                bit(StateSynSent, StateListen, StateSynReceived),
	StateListen:                bit(StateSynReceived, StateClosed),
	StateSynSent:               bit(StateEstablished, StateSynReceived, StateFinWait1, StateClosed),
	StateSynReceived:           bit(StateSynReceivedAckIgnored, StateEstablished, StateCloseWait, StateFinWait1, StateLastAck, StateClosed),
	StateSynReceivedAckIgnored: bit(StateEstablished, StateCloseWait, StateFinWait1, StateLastAck, StateClosed),
	StateEstablished:           bit(StateFinWait1, StateCloseWait, StateClosed),
	StateFinWait1:              bit(StateFinWait2, StateClosing, StateTimeWait, StateClosed),
	StateFinWait2:              bit(StateTimeWait, StateClosed),
	StateCloseWait:             bit(StateLastAck, StateClosed),
	StateClosing:               bit(StateTimeWait, StateClosed),
	StateLastAck:               bit(StateClosed),
	StateTimeWait:              bit(StateClosed),
}

func bit(states ...State) uint16 {
	var m uint16
	for _, s := range states {
		m |= 1 << s
	}
	return m
}

// Allowed reports whether an endpoint may move from one state to another.
func Allowed(from, to State) bool {
	if from == to || from == StateUnknown {
		return true
	}
	if from >= numStates || to >= numStates {
		return false
	}
	return allowed[from]&(1<<to) != 0
}

// Side names an endpoint of a flow: the client (the side that sent the
// first SYN) or the server.
type Side uint8

// The two sides of a flow.
const (
	Client Side = 0
	Server Side = 1
)

// Peer returns the other side.
func (s Side) Peer() Side { return s ^ 1 }

// String gives "client" or "server".
func (s Side) String() string {
	if s == Client {
		return "client"
	}
	return "server"
}
