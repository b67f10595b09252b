package analyze

import (
	"maps"
	"slices"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// Both hosts' view over time: per listener, how many connections each
// side believes ESTABLISHED. In an accept-queue overflow the two part:
// clients hold connections ESTABLISHED (their handshake ACK went out)
// that the server still holds as requests, or has forgotten.

// EstablishedPoint is the count of connections each side believes
// ESTABLISHED from T (ns since the Unix epoch) until the next point.
type EstablishedPoint struct {
	T              int64
	Client, Server int32
}

// Established is a listener's counts over time: a point wherever a count
// changed, in bins of Res nanoseconds (counts as at the end of each bin:
// a connection that comes and goes within one bin is not seen), and the
// peaks of each side with when they were first reached.
type Established struct {
	Res    int64
	Points []EstablishedPoint
	// Peak[side] is the most connections that side held ESTABLISHED at a
	// bin's end, first at PeakTime[side].
	Peak     [2]int32
	PeakTime [2]int64
}

// Empty reports whether no side was ever ESTABLISHED.
func (e *Established) Empty() bool { return len(e.Points) == 0 }

// establishedSpan is when a side of a flow believed it ESTABLISHED:
// from its handshake milestone (the client's first ACK of the SYN-ACK;
// the server's queueing of the connection, ServerEstablishTime, in
// hindsight) to the first FIN or RST either way after it (a FIN sent
// leaves for FIN-WAIT, one received for CLOSE-WAIT; a reset ends both),
// or open (end 0) to the capture's end. ok is false when it never was,
// or for a flow caught mid-stream (its states are guesses).
func establishedSpan(f *flowstate.Flow, side flowstate.Side) (start, end int64, ok bool) {
	if f.MidStream {
		return 0, 0, false
	}
	start = f.HandshakeAckTime
	if side == flowstate.Server {
		start = f.ServerEstablishTime
	}
	if start == 0 {
		return 0, 0, false
	}
	for _, e := range f.EP {
		for _, t := range e.FINTimes {
			if t >= start && (end == 0 || t < end) {
				end = t
			}
		}
		if t := e.RSTTime; t != 0 && t >= start && (end == 0 || t < end) {
			end = t
		}
	}
	if end != 0 && end <= start {
		return 0, 0, false
	}
	return start, end, true
}

// establishedBuilder gathers a listener's changes as flows finish, in
// any order: per bin, the change of each side's count.
type establishedBuilder struct {
	origin int64
	res    int // index into SeriesResolutions
	delta  map[int64][2]int32
}

// maxEstablishedBins bounds the bins kept, as MaxSeriesBins does.
const maxEstablishedBins = MaxSeriesBins

func (b *establishedBuilder) add(f *flowstate.Flow) {
	for _, side := range []flowstate.Side{flowstate.Client, flowstate.Server} {
		start, end, ok := establishedSpan(f, side)
		if !ok {
			continue
		}
		b.bump(start, side, +1)
		if end != 0 {
			b.bump(end, side, -1)
		}
	}
}

func (b *establishedBuilder) bump(t int64, side flowstate.Side, d int32) {
	if b.delta == nil {
		b.delta = make(map[int64][2]int32)
	}
	i := floorDiv(t-b.origin, SeriesResolutions[b.res])
	if _, ok := b.delta[i]; !ok && len(b.delta) >= maxEstablishedBins && b.res < len(SeriesResolutions)-1 {
		b.coarsen()
		i = floorDiv(t-b.origin, SeriesResolutions[b.res])
	}
	v := b.delta[i]
	v[side] += d
	b.delta[i] = v
}

// coarsen moves to wider bins until at most half the bound are kept.
func (b *establishedBuilder) coarsen() {
	for len(b.delta) > maxEstablishedBins/2 && b.res < len(SeriesResolutions)-1 {
		factor := SeriesResolutions[b.res+1] / SeriesResolutions[b.res]
		b.res++
		out := make(map[int64][2]int32, len(b.delta))
		for i, v := range b.delta {
			j := floorDiv(i, factor)
			w := out[j]
			w[0], w[1] = w[0]+v[0], w[1]+v[1]
			out[j] = w
		}
		b.delta = out
	}
}

// established returns the counts over time.
func (b *establishedBuilder) established() Established {
	res := SeriesResolutions[b.res]
	out := Established{Res: res}
	var level [2]int32
	for _, i := range slices.Sorted(maps.Keys(b.delta)) {
		v := b.delta[i]
		if v == [2]int32{} {
			continue
		}
		level[0] += v[0]
		level[1] += v[1]
		t := b.origin + i*res
		out.Points = append(out.Points, EstablishedPoint{T: t, Client: level[0], Server: level[1]})
		for s := range level {
			if level[s] > out.Peak[s] {
				out.Peak[s], out.PeakTime[s] = level[s], t
			}
		}
	}
	return out
}
