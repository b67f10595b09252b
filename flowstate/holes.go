package flowstate

// maxHoles bounds the gaps kept per direction. A capture that loses more
// than that many separate stretches of one direction at once stops being
// classified (holes.lost): its facts are then unknown, never guessed.
const maxHoles = 4

// seqRange is the sequence space [a, b).
type seqRange struct{ a, b Seq }

// holes keeps what the capture saw of one direction's sequence space:
// everything below next, except the gaps in h (never seen). It is our own
// fact beside Wireshark's, which keeps only the highest sequence number:
// it tells a segment that fills a gap (its bytes new to the capture) from
// one that repeats bytes the capture saw, and an ACK that covers a gap
// (the capture lost what the receiver got).
//
// The gaps themselves are kept apart (gaps), in a colder place: most
// segments read only this header.
type holes struct {
	n    uint8
	have bool
	lost bool // a gap could not be kept: coverage is no longer known
	next Seq  // just past the highest byte seen
}

// gaps are a direction's gaps, holes.n of them.
type gaps [maxHoles]seqRange

// add records the segment [s, e) and returns how many of its bytes fill
// a gap (never seen, below the highest byte seen), how many are beyond
// everything seen (new), and how many the capture had seen already;
// known is false once the gaps overflowed.
func (h *holes) add(g *gaps, s, e Seq) (gap, beyond, seen uint32, known bool) {
	if !s.LessThan(e) {
		return 0, 0, 0, !h.lost
	}
	if !h.have {
		h.have, h.next = true, e
		return 0, uint32(e - s), 0, !h.lost
	}
	if h.next.LessThan(s) {
		h.insert(g, seqRange{h.next, s})
		h.next = e
		return 0, uint32(e - s), 0, !h.lost
	}
	if old := h.next; old.LessThan(e) {
		beyond = uint32(e - old)
		h.next, e = e, old
	}
	if s.LessThan(e) {
		gap = h.fill(g, s, e)
		seen = uint32(e-s) - gap
	}
	return gap, beyond, seen, !h.lost
}

// insert adds a gap, or marks the coverage lost when there is no room.
func (h *holes) insert(g *gaps, r seqRange) {
	if int(h.n) == maxHoles {
		h.lost = true
		return
	}
	g[h.n] = r
	h.n++
}

// fill removes [s, e) from the gaps and returns how many of its bytes
// were in them.
func (h *holes) fill(gs *gaps, s, e Seq) (in uint32) {
	for i := 0; i < int(h.n); i++ {
		g := gs[i]
		lo, hi := maxSeq(g.a, s), minSeq(g.b, e)
		if !lo.LessThan(hi) {
			continue
		}
		in += uint32(hi - lo)
		switch {
		case lo == g.a && hi == g.b: // filled
			gs[i] = gs[h.n-1]
			h.n--
			i--
		case lo == g.a:
			gs[i].a = hi
		case hi == g.b:
			gs[i].b = lo
		default: // split
			gs[i].b = lo
			h.insert(gs, seqRange{hi, g.b})
		}
	}
	return in
}

// acked drops the gaps below ack, the peer's acknowledgment, and reports
// whether it covered any byte of them: bytes the receiver got and the
// capture never saw.
func (h *holes) acked(gs *gaps, ack Seq) bool {
	covered := false
	for i := 0; i < int(h.n); i++ {
		g := gs[i]
		if !g.a.LessThan(ack) {
			continue
		}
		covered = true
		if g.b.LessThanEq(ack) {
			gs[i] = gs[h.n-1]
			h.n--
			i--
		} else {
			gs[i].a = ack
		}
	}
	return covered
}

func maxSeq(a, b Seq) Seq {
	if a.LessThan(b) {
		return b
	}
	return a
}

func minSeq(a, b Seq) Seq {
	if a.LessThan(b) {
		return a
	}
	return b
}
