package flowstate

// Stall is one stall or loss finding of a flow, with its evidence.
type Stall struct {
	Label Label
	Side  Side // the side whose behaviour shows it
	// Packet is the index in the flow of the packet that carries the label.
	Packet int
	// Start and End bound the stall, in nanoseconds since the Unix epoch.
	Start, End int64
}

// stallState is the flow's bookkeeping for its stall findings.
type stallState struct{}
