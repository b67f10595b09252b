package analyze

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// Several captures of one incident (vantage points): the run matches the
// packets they share (flowstate's sightings), so each connection is one
// flow and each packet one entry with every place it was seen. This file
// says what the merge proves.

// BasisMerged: the vantage of a flow seen at several capture points
// rests on the capture nearest the server (mergedVantage).
const BasisMerged VantageBasis = 100

// BasisMergedEnd: a flow seen at several capture points, one of which
// recorded the server's packets before every other and another the
// client's: the flow was seen at the server's end of the points
// (mergedVantage), whatever the handshake timing there says.
const BasisMergedEnd VantageBasis = 101

// mergedVantage is the vantage of a flow seen at several capture points:
// that of the capture point nearest the server (the one that recorded the
// SYN-ACK first), judged by the handshake as it recorded it. At the
// server, the merged run sees what reached the server and what it sent, so
// its wording need not hedge.
//
// Where that timing says between (both legs take time there), the flow's
// own records decide first (serverEnd): when one capture recorded every
// server packet it shares with each other capture before that capture
// did, and the other captures the client's first, it is the server's end
// of the points, named server as captures[].vantage names it, and the
// flow is server (BasisMergedEnd): the merge sees what reached that
// point and what the server sent from it. Timing alone cannot say so: a
// shaper on the server's interface (tbf, as the lab's ghost and
// abort-on-overflow have) holds its SYN-ACKs before its own capture sees
// them, so the SYN to SYN-ACK leg takes time at the server itself.
// Look-alike: a point on the path short of the server, named server
// because no capture nearer it was given; the merge cannot tell it from
// one, as captures[].vantage cannot. Otherwise a nearest capture away
// from the server is between. ok is false for a flow seen at one point
// only.
func mergedVantage(f *flowstate.Flow) (Vantage, VantageBasis, bool) {
	d1, d2, ok := f.ServerCaptureLegs()
	if !ok || d1 < 0 || d2 < 0 {
		return VantageUnknown, BasisNone, false
	}
	const quick, local = 200e3, 1e6 // as timingVantage
	switch {
	case d1 < quick && d2 < quick:
		return VantageSameHost, BasisMerged, true
	case d1 < local && d1*4 <= d2:
		return VantageServer, BasisMerged, true
	case serverEnd(f):
		return VantageServer, BasisMergedEnd, true
	}
	return VantageBetween, BasisMerged, true
}

// serverEnd reports whether, among the capture points a flow was seen at,
// one is at the server's end: nearer the server than every other it
// shares packets with, by the order in which the points recorded each
// end's packets (captureVantage over the flow's own CopyDelays: the rule
// captures[].vantage uses over the whole run).
func serverEnd(f *flowstate.Flow) bool {
	cds := f.CopyDelays()
	if len(cds) == 0 {
		return false
	}
	m := make(map[pairKey]*copyStats, len(cds))
	n := int32(0)
	for _, c := range cds {
		m[pairKey{c.A, c.B, c.Side}] = &copyStats{min: c.Min, max: c.Max, n: c.N}
		n = max(n, c.B+1)
	}
	for i := int32(0); i < n; i++ {
		if captureVantage(m, nil, i, int(n)) == VantageServer {
			return true
		}
	}
	return false
}

// vantageSides names, for a flow of a merged run, the capture file
// nearest each end: the file that first recorded most of the packets of
// that end which another file recorded too. -1 when none.
//
// When no packet of one end was seen twice (a capture of one direction
// only), the file that saw the other end's packets last stands for it.
func (f *Flow) vantageSides() (near [2]int32) {
	var first, last [2]map[int32]int
	for i, seen := range f.Seen {
		if len(seen) < 2 {
			continue
		}
		side := f.Packets[i].From
		if first[side] == nil {
			first[side], last[side] = make(map[int32]int), make(map[int32]int)
		}
		first[side][seen[0].File]++
		last[side][seen[len(seen)-1].File]++
	}
	best := func(votes map[int32]int) int32 {
		b, n := int32(-1), 0
		for file, k := range votes {
			if k > n || k == n && file < b {
				b, n = file, k
			}
		}
		return b
	}
	for side := range near {
		if near[side] = best(first[side]); near[side] < 0 {
			near[side] = best(last[flowstate.Side(side).Peer()])
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
		later := f.recordedAfter(i, other)
		switch {
		case f.ackedBeforeResent(i) && !later:
			return fmt.Sprintf("reached the %s, which acknowledged it before any retransmission, though the %s's capture point (capture %d), which recorded nothing of this flow after it, has no record of it: that capture missed it, or had ended", name[to], name[to], other)
		case f.ackedBeforeResent(i):
			return fmt.Sprintf("reached the %s, which acknowledged it before any retransmission, though the %s's capture point (capture %d) has no record of it: that capture missed it", name[to], name[to], other)
		case !later:
			return fmt.Sprintf("seen leaving the %s (capture %d), never at the %s's capture point (capture %d), which recorded nothing of this flow after it: lost on the path, or that capture had ended", name[from], at, name[to], other)
		case seqSpace(p) == 0 && !f.resentDespite(i):
			return fmt.Sprintf("left the %s (seen at capture %d), never reached the %s's capture point (capture %d): lost on the path, or missed by that capture (nothing acknowledges a bare ACK to tell)", name[from], at, name[to], other)
		}
		return fmt.Sprintf("left the %s (seen at capture %d), never reached the %s's capture point (capture %d): lost on the path", name[from], at, name[to], other)
	case near[to]:
		if !f.recordedAfter(i, near[from]) {
			return fmt.Sprintf("reached the %s's capture point (capture %d) but is missing from the %s's (capture %d), which recorded nothing of this flow after it: that capture missed it, or had ended", name[to], at, name[from], near[from])
		}
		return fmt.Sprintf("reached the %s's capture point (capture %d) but is missing from the %s's (capture %d): that capture missed it", name[to], at, name[from], near[from])
	}
	return ""
}

// recordedAfter reports whether capture file recorded any packet of the
// flow after recorded packet i: if not, a packet it lacks may have come
// after it stopped (a capture cut short, or ended before the other).
func (f *Flow) recordedAfter(i int, file int32) bool {
	for j := i + 1; j < len(f.Seen); j++ {
		for _, x := range f.Seen[j] {
			if x.File == file {
				return true
			}
		}
	}
	return false
}

// copyStats gathers flowstate.CopyDelay values: for packets of one
// sender seen in files A and B (A < B), the least and most of
// (time in B) - (time in A).
type copyStats struct {
	min, max int64
	n        int
}

type pairKey struct {
	a, b int32
	side flowstate.Side
}

// vantageStats gathers what the sightings of a run say of its captures:
// over all flows, and per listener (in the order listeners appeared).
type vantageStats struct {
	all        map[pairKey]*copyStats
	byListener map[netip.AddrPort]map[pairKey]*copyStats
	order      []netip.AddrPort
	// marks and marksByListener: each file's direction marks on the
	// packets of each end (flowstate.FileMarks), over all flows and per
	// listener.
	marks           map[int32][2]flowstate.DirSet
	marksByListener map[netip.AddrPort]map[int32][2]flowstate.DirSet
}

func (v *vantageStats) add(f *flowstate.Flow, server netip.AddrPort) {
	if ms := f.CaptureMarks(); len(ms) > 0 {
		if v.marks == nil {
			v.marks = make(map[int32][2]flowstate.DirSet)
			v.marksByListener = make(map[netip.AddrPort]map[int32][2]flowstate.DirSet)
		}
		l := v.marksByListener[server]
		if l == nil {
			l = make(map[int32][2]flowstate.DirSet)
			v.marksByListener[server] = l
		}
		for _, m := range ms {
			for _, into := range []map[int32][2]flowstate.DirSet{v.marks, l} {
				d := into[m.File]
				d[0] |= m.Dirs[0]
				d[1] |= m.Dirs[1]
				into[m.File] = d
			}
		}
	}
	cds := f.CopyDelays()
	if len(cds) == 0 {
		return
	}
	if v.all == nil {
		v.all = make(map[pairKey]*copyStats)
		v.byListener = make(map[netip.AddrPort]map[pairKey]*copyStats)
	}
	l := v.byListener[server]
	if l == nil {
		l = make(map[pairKey]*copyStats)
		v.byListener[server] = l
		v.order = append(v.order, server)
	}
	for _, c := range cds {
		k := pairKey{c.A, c.B, c.Side}
		for _, m := range []map[pairKey]*copyStats{v.all, l} {
			s := m[k]
			if s == nil {
				m[k] = &copyStats{min: c.Min, max: c.Max, n: c.N}
				continue
			}
			s.min, s.max, s.n = min(s.min, c.Min), max(s.max, c.Max), s.n+c.N
		}
	}
}

// pairClock is what packets seen in both files a and b say of them.
type pairClock struct {
	ok bool
	// aNearClient: a saw the client's packets before b did, and b the
	// server's before a (on their clocks corrected by the offset).
	aNearClient bool
	// offset is b's clock minus a's, uncertainty its half-width, delays
	// the one-way delay between the two points each way (c2s, s2c), all
	// in nanoseconds; shared counts the packets seen in both.
	offset, uncertainty int64
	delays              [2]int64
	shared              int
	// tie: both orders fit alike (every packet recorded at both points
	// at the same instant, as two captures of one point): which is
	// nearer which end is not known.
	tie bool
}

// clockOf estimates two capture points' clock offset as NTP does, from
// the packets both recorded in both directions: for the client's packets,
// (t_b - t_a) = delay between the points + offset when a is nearer the
// client; for the server's, (t_b - t_a) = offset - the delay back. The
// least of the first and the most of the second bound the offset: it is
// their midpoint, give or take half their distance (the sum of the least
// one-way delays). The points' order along the path is the one whose
// bounds do not cross. Without packets each way, nothing.
func clockOf(m map[pairKey]*copyStats, a, b int32) pairClock {
	c, s := m[pairKey{a, b, flowstate.Client}], m[pairKey{a, b, flowstate.Server}]
	if c == nil || s == nil {
		return pairClock{}
	}
	// a nearer the client: min over the client's packets is d_cs + off,
	// max over the server's is off - d_sc.
	u1 := c.min - s.max
	// a nearer the server: min over the server's is d_sc + off, max over
	// the client's is off - d_cs.
	u2 := s.min - c.max
	out := pairClock{ok: true, shared: c.n + s.n, tie: u1 == u2}
	if u1 >= u2 {
		out.aNearClient = true
		out.offset = (c.min + s.max) / 2
		out.uncertainty = u1 / 2
		out.delays = [2]int64{c.min - out.offset, out.offset - s.max}
	} else {
		out.offset = (s.min + c.max) / 2
		out.uncertainty = u2 / 2
		out.delays = [2]int64{out.offset - c.max, s.min - out.offset}
	}
	return out
}

// marksVantage reads a capture's place from its direction marks on the
// packets of each end, as directionVantage does for one flow: the
// client's packets only outgoing and the server's only incoming is the
// client, the other way round the server, a packet both ways or another
// host's between; "" when the marks do not say.
func marksVantage(d [2]flowstate.DirSet) Vantage {
	c, s := d[flowstate.Client], d[flowstate.Server]
	in, out := flowstate.DirIncoming, flowstate.DirOutgoing
	switch {
	case c == 0 || s == 0:
		return ""
	case c.Has(flowstate.DirOtherHost) || s.Has(flowstate.DirOtherHost):
		return VantageBetween
	case c.Only(out) && s.Only(in):
		return VantageClient
	case c.Only(in) && s.Only(out):
		return VantageServer
	case c.Has(in) && c.Has(out) || s.Has(in) && s.Has(out) || c == s:
		return VantageBetween
	}
	return ""
}

// captureVantage names file i's place relative to the other files that
// share packets with it (through m): client when it is nearer the client
// than every other, server when nearer the server than every other,
// between otherwise; "" when it shares none. The file's own direction
// marks (marks), where present, come first.
func captureVantage(m map[pairKey]*copyStats, marks map[int32][2]flowstate.DirSet, i int32, n int) Vantage {
	if v := marksVantage(marks[i]); v != "" {
		return v
	}
	nearer, farther, any := true, true, false
	for j := int32(0); int(j) < n; j++ {
		if j == i {
			continue
		}
		a, b := min(i, j), max(i, j)
		pc := clockOf(m, a, b)
		if !pc.ok || pc.tie {
			continue
		}
		any = true
		iNearClient := pc.aNearClient == (a == i)
		nearer = nearer && iNearClient
		farther = farther && !iNearClient
	}
	switch {
	case !any:
		return ""
	case nearer:
		return VantageClient
	case farther:
		return VantageServer
	}
	return VantageBetween
}

// finish sets what the run's sightings say on its captures: clock
// offsets against the first file, one-way delays, and each capture's
// vantage relative to the listeners it shares with the others (mixed,
// with a map, when it differs between them).
func (v *vantageStats) finish(caps []*Capture) {
	if v.all == nil {
		return
	}

	for i, c := range caps {
		if i == 0 {
			zero := 0.0
			c.ClockOffset, c.ClockOffsetUncertainty = &zero, &zero
		} else if pc := clockOf(v.all, 0, int32(i)); pc.ok {
			off, unc := float64(pc.offset)/1e9, float64(pc.uncertainty)/1e9
			c.ClockOffset, c.ClockOffsetUncertainty = &off, &unc
			c.OneWayDelay = &OneWayDelay{C2S: float64(pc.delays[0]) / 1e9, S2C: float64(pc.delays[1]) / 1e9}
			c.SharedPackets = pc.shared
		}
		byL := make(map[string]string)
		var seen []Vantage
		for _, l := range v.order {
			if lv := captureVantage(v.byListener[l], v.marksByListener[l], int32(i), len(caps)); lv != "" {
				byL[l.String()] = string(lv)
				if !slices.Contains(seen, lv) {
					seen = append(seen, lv)
				}
			}
		}
		switch len(seen) {
		case 0:
		case 1:
			c.Vantage = string(seen[0])
		default:
			c.Vantage = "mixed"
			c.VantageByListener = byL
		}
	}
}

// reachedServer reports whether recorded packet i, the client's, was seen
// at the capture point nearest the server, in a run of several: then it
// was not lost before it, and what the server did with it is the
// server's doing as far as the captures can tell.
func (f *Flow) reachedServer(i int, near [2]int32) bool {
	if i < 0 || i >= len(f.Seen) || near[flowstate.Server] < 0 || near[flowstate.Server] == near[flowstate.Client] {
		return false
	}
	for _, x := range f.Seen[i] {
		if x.File == near[flowstate.Server] {
			return true
		}
	}
	return false
}

// seqSpace is how much sequence space a packet takes: its payload, and
// one each for SYN and FIN.
func seqSpace(p *flowstate.Packet) uint32 {
	n := p.Len
	if p.Flags&flowstate.SYN != 0 {
		n++
	}
	if p.Flags&flowstate.FIN != 0 {
		n++
	}
	return n
}

// ackedBeforeResent reports whether recorded packet i, which takes
// sequence space, was acknowledged by the receiver before its sender
// sent any of that space again: then it reached the receiver, whatever a
// capture near the receiver shows (that capture missed it). A packet lost
// on the path is acknowledged only after its retransmission.
func (f *Flow) ackedBeforeResent(i int) bool {
	p := &f.Packets[i]
	n := seqSpace(p)
	if n == 0 {
		return false
	}
	end := p.Seq + n
	for j := i + 1; j < len(f.Packets); j++ {
		q := &f.Packets[j]
		if q.From == p.From {
			if qn := seqSpace(q); qn > 0 && int32(q.Seq-end) < 0 && int32(q.Seq+qn-p.Seq) > 0 {
				return false // sent again before any acknowledgment
			}
			continue
		}
		if q.Flags&flowstate.ACK != 0 && int32(q.Ack-end) >= 0 {
			return true
		}
	}
	return false
}

// resentDespite reports whether the receiver of recorded packet i, a bare
// ACK, later sent again sequence space that ACK covered (not a
// keep-alive, which comes whatever the answer): it never got the ACK, so
// the ACK was lost on the path, not only missed by a capture.
func (f *Flow) resentDespite(i int) bool {
	p := &f.Packets[i]
	if p.Flags&flowstate.ACK == 0 {
		return false
	}
	for j := i + 1; j < len(f.Packets); j++ {
		q := &f.Packets[j]
		if q.From == p.From {
			if q.Flags&flowstate.ACK != 0 && int32(q.Ack-p.Ack) > 0 {
				return false // a later ACK covers more: the resend may answer its loss
			}
			continue
		}
		if q.Retransmit && seqSpace(q) > 0 && !q.Analysis.Has(flowstate.AnalysisKeepAlive) && int32(q.Seq-p.Ack) < 0 {
			return true
		}
	}
	return false
}
