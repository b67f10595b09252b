package analyze

import (
	"fmt"
	"strings"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// Traffic rolls up what flows carried and where they stood still: bytes
// and retransmissions each way, and the stall findings (flowstate.Stall).
// It is embedded in Listener and Summary.
type Traffic struct {
	// Bytes and Packets are indexed by flowstate.Side: payload bytes the
	// clients and the servers sent (retransmissions included, duplicate
	// frames not), and their segments.
	Bytes   [2]int64
	Packets [2]int64
	// Retransmissions and RetransmittedBytes count the segments Wireshark
	// flags as retransmissions, each way.
	Retransmissions    [2]int64
	RetransmittedBytes [2]int64
	// StalledFlows counts the flows that stood still (a zero-window stall
	// or a retransmission timeout) and StallTime sums how long
	// (flowstate.Flow.StallTime).
	StalledFlows int
	StallTime    int64
	// LossFlows counts the flows with lost segments, and LostBefore and
	// LostAfter the segments lost before and after the capture point.
	LossFlows             int
	LostBefore, LostAfter int64
	// KeepaliveFlows counts the flows that sat idle on keep-alives.
	KeepaliveFlows int
}

// add counts one finished flow.
func (t *Traffic) add(f *flowstate.Flow) {
	for side := range f.EP {
		e, st := &f.EP[side], &f.Stats[side]
		t.Bytes[side] += e.Bytes
		t.Packets[side] += int64(e.Packets)
		t.Retransmissions[side] += int64(st.Retransmissions)
		t.RetransmittedBytes[side] += st.RetransmittedBytes
		t.LostBefore += int64(st.LostBeforeCapture)
		t.LostAfter += int64(st.LostAfterCapture)
	}
	if d := f.StallTime(); d > 0 || f.Labels.Has(flowstate.LabelZeroWindowStall) || f.Labels.Has(flowstate.LabelRTORetransmission) {
		t.StalledFlows++
		t.StallTime += d
	}
	if f.Labels.Has(flowstate.LabelLoss) {
		t.LossFlows++
	}
	if f.Labels.Has(flowstate.LabelKeepaliveOnly) {
		t.KeepaliveFlows++
	}
}

// stallNotes explains the stall findings whose label packet i carries.
func (f *Flow) stallNotes(i int) []string {
	var notes []string
	for k := range f.Stalls {
		s := &f.Stalls[k]
		if s.Packet != i {
			continue
		}
		who, peer := s.Side.String(), s.Side.Peer().String()
		switch s.Label {
		case flowstate.LabelZeroWindowStall:
			n := fmt.Sprintf("%s advertises a zero window: its application stopped reading, for %s", who, seconds(s.Duration()))
			if s.Open {
				n += " (still zero when the flow ended)"
			} else {
				n += " until its window update"
			}
			notes = append(notes, n+fmt.Sprintf("; the %s could only probe (%d segments meanwhile)", peer, s.Count))
		case flowstate.LabelRTORetransmission:
			n := fmt.Sprintf("%s retransmits on its retransmission timer, %s after the last progress, no ACK having come (seq %d)",
				who, seconds(s.Times[0]-s.Start), s.Seq)
			if len(s.Times) > 1 {
				n += "; backoff: " + sinceStart(s.Start, s.Times)
			}
			if s.Open {
				n += "; still unacknowledged when the flow ended"
			} else {
				n += fmt.Sprintf("; acknowledged %s after the stall began", seconds(s.Duration()))
			}
			if s.Needless {
				n += ("; the ACK echoes the original's timestamp: the data had arrived, its ACK was late or lost, and the timer fired needlessly")
			}
			notes = append(notes, n)
		case flowstate.LabelLoss:
			notes = append(notes, f.lossNote(s))
		case flowstate.LabelKeepaliveOnly:
			n := fmt.Sprintf("the connection sits idle with only keep-alives from the %s: %d over %s, %d answered", who, s.Count, seconds(s.Duration()), s.Answered)
			if s.Open {
				n += "; still idle when the flow ended"
			} else if last := &f.Packets[len(f.Packets)-1]; s.End == last.Time && last.Flags&flowstate.RST != 0 {
				n += fmt.Sprintf("; then the %s resets the connection", last.From)
			}
			notes = append(notes, n)
		}
	}
	return notes
}

// lossNote says where a side's segments were lost, in the vantage's words.
func (f *Flow) lossNote(s *flowstate.Stall) string {
	who, peer := s.Side.String(), s.Side.Peer().String()
	atSender := f.Vantage == VantageClient && s.Side == flowstate.Client || f.Vantage == VantageServer && s.Side == flowstate.Server
	atReceiver := f.Vantage == VantageClient && s.Side == flowstate.Server || f.Vantage == VantageServer && s.Side == flowstate.Client
	var parts []string
	if s.LostBefore > 0 {
		where := fmt.Sprintf("lost between the %s and this capture point (the capture never saw the originals)", who)
		switch {
		case atSender:
			where = fmt.Sprintf("missing from the capture on the %s itself (it never saw the originals): the capture dropped them", who)
		case atReceiver:
			where = fmt.Sprintf("lost on the way from the %s (the capture at the %s never saw the originals)", who, peer)
		}
		parts = append(parts, fmt.Sprintf("%d %s", s.LostBefore, where))
	}
	if s.LostAfter > 0 {
		where := "lost after this capture point (it saw them go by), or their ACKs were"
		switch {
		case atSender:
			where = fmt.Sprintf("lost on the way to the %s, or their ACKs on the way back", peer)
		case atReceiver:
			where = fmt.Sprintf("dropped inside the %s after the capture point, or their ACKs lost on the way back", peer)
		}
		parts = append(parts, fmt.Sprintf("%d %s", s.LostAfter, where))
	}
	return fmt.Sprintf("%s's segments are lost, then sent again: %s", who, strings.Join(parts, "; "))
}

// sinceStart formats times as +s offsets from start.
func sinceStart(start int64, ts []int64) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = fmt.Sprintf("+%.2f s", float64(t-start)/1e9)
	}
	return strings.Join(parts, ", ")
}
