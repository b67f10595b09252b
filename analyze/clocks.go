package analyze

import (
	"errors"
	"io"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// Captures taken at several points run on several clocks. The merge
// matches a packet's records within a couple of seconds
// (flowstate.sightWindow), so before it, each file's clock offset against
// the first file is estimated from the handshakes both recorded near
// their beginnings, and the file's times are put on the first file's
// clock: the merged timeline, packets[].seen included, is on that clock.
// What the whole run then shows of the clocks is reported per capture
// (vantageStats.finish), the shift included.

// clockPrepass is how many TCP segments of each file the estimate reads.
const clockPrepass = 20000

// hsKey identifies a handshake packet across captures: its direction,
// initial sequence number (and acknowledgment), flags and timestamp.
type hsKey struct {
	src, dst flowstate.Addr
	sp, dp   uint16
	seq, ack flowstate.Seq
	flags    flowstate.Flags
	tsVal    uint32
	ipid     uint16
}

// prepass is what the first clockPrepass TCP segments of a file hold:
// when each SYN and SYN-ACK was first recorded, and the times they span.
type prepass struct {
	hs          map[hsKey]int64
	first, last int64
}

// handshakes reads the first clockPrepass TCP segments of the file at
// path.
func handshakes(path string) (prepass, error) {
	r, err := Open(path, 0)
	if err != nil {
		return prepass{}, err
	}
	defer r.Close()
	out := make(map[hsKey]int64)
	p := prepass{hs: out}
	var seg flowstate.Segment
	for n := 0; n < clockPrepass; n++ {
		if err := r.Next(&seg); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return p, err
		}
		if n == 0 {
			p.first = seg.Time
		}
		p.first, p.last = min(p.first, seg.Time), max(p.last, seg.Time)
		if seg.Flags&(flowstate.SYN|flowstate.RST|flowstate.FIN) != flowstate.SYN {
			continue
		}
		k := hsKey{seg.Src, seg.Dst, seg.SrcPort, seg.DstPort, seg.Seq, seg.Ack, seg.Flags, seg.Opt.TSVal, seg.IPID}
		if _, ok := out[k]; !ok {
			out[k] = seg.Time
		}
	}
	return p, nil
}

// alignClocks shifts each file's times by its clock offset against the
// first file, estimated as clockOf does from the SYNs (the client's
// packets) and SYN-ACKs (the server's) both recorded near their
// beginnings, when the bounds exclude zero (a clock provably apart) and
// the two files' times overlap (the rule: files that do not
// overlap are pieces of a ring, or unrelated, merged by time). A
// file the estimate cannot reach (a stream, no handshake in common: a
// later piece of a ring) takes the shift of the file before it of the
// same vantage (vantages, by file), else none.
func alignClocks(readers []*CaptureReader, vantages []int32) {
	if len(readers) < 2 || readers[0].path == "" {
		return
	}
	ref, err := handshakes(readers[0].path)
	if err != nil || len(ref.hs) == 0 {
		return
	}
	vantageOf := func(i int) int32 {
		if i < len(vantages) {
			return vantages[i]
		}
		return int32(i)
	}
	shifts := make(map[int32]int64) // by vantage, the latest estimate
	shifts[vantageOf(0)] = 0
	for i := 1; i < len(readers); i++ {
		r := readers[i]
		g := vantageOf(i)
		if g == vantageOf(0) {
			continue // the first file's own vantage: its clock
		}
		shift, known := shifts[g]
		// A file not yet opened whose first packet comes after the first
		// file's pre-pass ended cannot overlap it: not read again.
		if r.path != "" && (r.later == nil || r.later.first <= ref.last) {
			// Only files that overlap the first in time are vantage
			// points of its incident; others (the same connections
			// again, far apart: copies of one capture) are merged in
			// time as they are.
			if p, err := handshakes(r.path); err == nil && p.first <= ref.last && p.last >= ref.first {
				m := make(map[pairKey]*copyStats)
				for k, t := range p.hs {
					t0, ok := ref.hs[k]
					if !ok {
						continue
					}
					side := flowstate.Client
					if k.flags&flowstate.ACK != 0 {
						side = flowstate.Server
					}
					pk := pairKey{0, 1, side}
					dt := t - t0
					if s := m[pk]; s == nil {
						m[pk] = &copyStats{min: dt, max: dt, n: 1}
					} else {
						s.min, s.max, s.n = min(s.min, dt), max(s.max, dt), s.n+1
					}
				}
				if pc := clockOf(m, 0, 1); pc.ok {
					shift, known = 0, true
					if pc.offset > pc.uncertainty || -pc.offset > pc.uncertainty {
						shift = pc.offset
					}
					shifts[g] = shift
				}
			}
		}
		if known && shift != 0 {
			r.setShift(shift)
		}
	}
}

// setShift puts the reader's times on another clock: shift is subtracted
// from every segment's time (and from a closed file's first time, by
// which the merge opens it).
func (c *CaptureReader) setShift(shift int64) {
	if c.later != nil {
		c.later.first -= shift - c.shift
	}
	c.shift = shift
}
