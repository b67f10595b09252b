package render

import (
	"strconv"

	"github.com/tcptimeline/tcptimeline/analyze"
	"github.com/tcptimeline/tcptimeline/flowstate"
)

// markKind is what a mark means, for its colour.
type markKind uint8

const (
	markLoss   markKind = iota // something was lost or resent: warn
	markWindow                 // the receiver holds the sender back: notice
	markInfo                   // ordinary bookkeeping: muted
	markNew                    // a new connection on old ports: change
)

// mark is one compact mark of a packet's Wireshark analysis.
type mark struct {
	text string
	kind markKind
}

// marks returns the compact marks of packet i's Wireshark analysis flags,
// in a fixed order: what was lost or resent first, then the window, then
// bookkeeping. A fast or spurious retransmission shows as that alone (it
// carries Wireshark's plain retransmission flag too). multi writes the
// duplicated ACK's frame as file:frame.
func marks(f *analyze.Flow, i int, multi bool, buf []mark) []mark {
	p := &f.Packets[i]
	a := p.Analysis
	out := buf[:0]
	if a == 0 {
		return out
	}
	switch {
	case a.Has(flowstate.AnalysisFastRetransmission):
		out = append(out, mark{"[fast retx]", markLoss})
	case a.Has(flowstate.AnalysisSpuriousRetransmission):
		out = append(out, mark{"[spurious retx]", markWindow})
	case a.Has(flowstate.AnalysisRetransmission):
		out = append(out, mark{"[retx]", markLoss})
	}
	if a.Has(flowstate.AnalysisOutOfOrder) {
		if p.ReallyRetransmit {
			out = append(out, mark{"[out of order: really a retx]", markLoss})
		} else {
			out = append(out, mark{"[out of order]", markLoss})
		}
	}
	if a.Has(flowstate.AnalysisLostSegment) {
		out = append(out, mark{"[prev not captured]", markLoss})
	}
	if a.Has(flowstate.AnalysisAckLostSegment) {
		out = append(out, mark{"[acked unseen]", markLoss})
	}
	if a.Has(flowstate.AnalysisDuplicateAck) {
		t := "[dup ack " + strconv.FormatUint(uint64(p.DupAckNum), 10)
		if j := int(p.DupAckOf); j >= 0 && j < len(f.Packets) {
			t += " of #"
			if multi {
				t += strconv.Itoa(int(f.Packets[j].File)) + ":"
			}
			t += strconv.FormatInt(f.Packets[j].Frame, 10)
		}
		out = append(out, mark{t + "]", markLoss})
	}
	for _, m := range [...]struct {
		a    flowstate.Analysis
		text string
		kind markKind
	}{
		{flowstate.AnalysisZeroWindow, "[zero win]", markWindow},
		{flowstate.AnalysisZeroWindowProbe, "[zero win probe]", markWindow},
		{flowstate.AnalysisZeroWindowProbeAck, "[zero win probe ack]", markInfo},
		{flowstate.AnalysisWindowFull, "[win full]", markWindow},
		{flowstate.AnalysisWindowUpdate, "[win update]", markInfo},
		{flowstate.AnalysisKeepAlive, "[keep-alive]", markInfo},
		{flowstate.AnalysisKeepAliveAck, "[keep-alive ack]", markInfo},
		{flowstate.AnalysisReusedPorts, "[ports reused]", markNew},
	} {
		if a.Has(m.a) {
			out = append(out, mark{m.text, m.kind})
		}
	}
	return out
}

// MarkTexts lists the text of every mark, for documentation and tests.
var MarkTexts = []string{"[retx]", "[fast retx]", "[spurious retx]", "[out of order]", "[out of order: really a retx]",
	"[prev not captured]", "[acked unseen]", "[dup ack N of #F]", "[zero win]", "[zero win probe]", "[zero win probe ack]",
	"[win full]", "[win update]", "[keep-alive]", "[keep-alive ack]", "[ports reused]"}
