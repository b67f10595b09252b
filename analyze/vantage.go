package analyze

import "github.com/tcptimeline/tcptimeline/flowstate"

// Vantage is where the capture was taken, relative to a flow's endpoints,
// as inferred from the timing of its handshake.
type Vantage string

// Vantage points.
const (
	VantageServer   Vantage = "server"    // on the server: SYN to SYN-ACK takes no time
	VantageClient   Vantage = "client"    // on the client: SYN-ACK to ACK takes no time
	VantageSameHost Vantage = "same-host" // both legs take no time: loopback or namespaces on one host
	VantageBetween  Vantage = "between"   // both legs take a share of the round trip
	VantageUnknown  Vantage = "unknown"   // no complete handshake to judge by
)

// flowVantage judges a flow's vantage point from its two handshake legs.
// At the server, SYN -> SYN-ACK is the kernel's processing time (tens of
// microseconds) and SYN-ACK -> ACK a full round trip; at the client it is
// the other way round.
func flowVantage(f *flowstate.Flow) Vantage {
	d1, d2, ok := f.HandshakeLegs()
	if !ok || d1 < 0 || d2 < 0 {
		return VantageUnknown
	}
	const quick = 200e3 // 200 µs
	const local = 1e6   // 1 ms: more is no longer "no time"
	switch {
	case d1 < quick && d2 < quick:
		return VantageSameHost
	case d1 < local && d1*4 <= d2:
		return VantageServer
	case d2 < local && d2*4 <= d1:
		return VantageClient
	}
	return VantageBetween
}
