package flowstate

// maxTimes bounds the retransmission times kept per endpoint and kind, so
// a pathological flow cannot grow memory; the counts stay exact.
const maxTimes = 16

// Endpoint is what the wire shows of one side of a flow. Field names follow
// RFC 793's variables where one fits.
type Endpoint struct {
	Addr  Addr
	Port  uint16
	State State // current belief, final once the flow is finished

	// ISS is the initial send sequence number: the SYN's sequence number,
	// or for a side first seen mid-stream its first sequence number - 1,
	// as Wireshark's relative numbers do. HaveISS says whether it is known.
	ISS     Seq
	HaveISS bool
	SndNxt  Seq // highest sequence number sent, plus its length
	SndUna  Seq // highest acknowledgment received from the peer
	RcvNxt  Seq // highest acknowledgment sent to the peer

	Window        uint16 // last advertised window, unscaled
	WScale        int8   // window scale from its SYN, -1 if none
	MSS           uint16 // MSS from its SYN, 0 if none
	SACKPermitted bool
	Timestamps    bool
	TTL           uint8 // TTL or hop limit of its first packet
	// Dirs is the set of capture directions its packets were recorded
	// in (SLL/SLL2 packet type, pcapng epb_flags), copies included: what
	// the capture itself says of which host sent them (vantage.go in
	// package analyze).
	Dirs DirSet

	Packets int
	Bytes   int64 // payload bytes sent, retransmissions included

	SYNs           int     // SYN (or SYN-ACK) segments sent, copies included
	SYNRetransmits int     // copies of the SYN or SYN-ACK with the same ISN
	SYNTimes       []int64 // times of the first maxTimes SYN or SYN-ACK copies

	DataSegments        int
	DataRetransmits     int
	DataRetransmitTimes []int64 // first maxTimes
	FirstDataTime       int64   // 0 if it sent no payload

	FINs           int
	FINRetransmits int
	FINTimes       []int64 // first maxTimes
	SentFIN        bool
	FINSeq         Seq // sequence number of its FIN
	FINAcked       bool
	SentRST        bool
	RSTTime        int64 // its first RST, 0 if none
}

func appendTime(ts []int64, t int64) []int64 {
	if len(ts) < maxTimes {
		ts = append(ts, t)
	}
	return ts
}

// Rel returns seq relative to the endpoint's ISS, as Wireshark shows it.
func (e *Endpoint) Rel(seq Seq) uint32 {
	if !e.HaveISS {
		return 0
	}
	return uint32(seq - e.ISS)
}
