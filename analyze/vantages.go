package analyze

import (
	"fmt"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// Several captures of one incident (vantage points): the run matches the
// packets they share (flowstate's sightings), so each connection is one
// flow and each packet one entry with every place it was seen. This file
// says what the merge proves.

// BasisMerged: the vantage of a flow seen at several capture points
// rests on the capture nearest the server (mergedVantage).
const BasisMerged VantageBasis = 100

// mergedVantage is the vantage of a flow seen at several capture points:
// that of the capture point nearest the server (the one that recorded the
// SYN-ACK first), judged by the handshake as it recorded it. At the
// server, the merged run sees what reached the server and what it sent, so
// its wording need not hedge; a nearest capture away from the server
// (both legs take time there) is between. ok is false for a flow seen at
// one point only.
func mergedVantage(f *flowstate.Flow) (Vantage, bool) {
	d1, d2, ok := f.ServerCaptureLegs()
	if !ok || d1 < 0 || d2 < 0 {
		return VantageUnknown, false
	}
	const quick, local = 200e3, 1e6 // as timingVantage
	switch {
	case d1 < quick && d2 < quick:
		return VantageSameHost, true
	case d1 < local && d1*4 <= d2:
		return VantageServer, true
	}
	return VantageBetween, true
}

// vantageSides names, for a flow of a merged run, the capture file
// nearest each end: the file that first recorded most of the packets of
// that end which another file recorded too. -1 when none.
func (f *Flow) vantageSides() (near [2]int32) {
	var votes [2]map[int32]int
	for i, seen := range f.Seen {
		if len(seen) < 2 {
			continue
		}
		side := f.Packets[i].From
		if votes[side] == nil {
			votes[side] = make(map[int32]int)
		}
		votes[side][seen[0].File]++
	}
	for side := range near {
		near[side] = -1
		best := 0
		for file, n := range votes[side] {
			if n > best || n == best && file < near[side] {
				near[side], best = file, n
			}
		}
	}
	return near
}

// seenNote says what a packet recorded at one capture point only means,
// in a run of several (the merge's path-loss rule): sent by one end and
// seen at the capture nearest it, never at the capture nearest the other
// end, which recorded the flow's packets after it, it was lost on the
// path between them; with nothing of the flow recorded there after it,
// that capture may also have ended first. Seen only at the capture
// nearest the receiver, the sender's capture missed it. "" otherwise.
func (f *Flow) seenNote(i int, near [2]int32) string {
	if i >= len(f.Seen) || len(f.Seen[i]) != 1 || near[0] < 0 || near[1] < 0 || near[0] == near[1] {
		return ""
	}
	p := &f.Packets[i]
	at := f.Seen[i][0].File
	from, to := p.From, p.From.Peer()
	name := [2]string{"client", "server"}
	switch at {
	case near[from]:
		other := near[to]
		later := false
		for j := i + 1; j < len(f.Seen) && !later; j++ {
			for _, x := range f.Seen[j] {
				if x.File == other {
					later = true
					break
				}
			}
		}
		if later {
			return fmt.Sprintf("left the %s (seen at capture %d), never reached the %s's capture point (capture %d): lost on the path", name[from], at, name[to], other)
		}
		return fmt.Sprintf("seen leaving the %s (capture %d), never at the %s's capture point (capture %d), which recorded nothing of this flow after it: lost on the path, or that capture had ended", name[from], at, name[to], other)
	case near[to]:
		return fmt.Sprintf("reached the %s's capture point (capture %d) but is missing from the %s's (capture %d): that capture missed it", name[to], at, name[from], near[from])
	}
	return ""
}
