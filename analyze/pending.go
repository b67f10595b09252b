package analyze

import (
	"cmp"
	"math"
	"slices"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// A SYN flood leaves a million flows that never get past a SYN, or a SYN
// and a (cookie) SYN-ACK. Such a flow is kept as a pending flow: a small
// value without pointers in a chunked arena, found through a map of
// pointer-free keys, so the garbage collector scans none of it. A third
// packet, or any packet that is not a bare SYN or SYN-ACK, promotes it to a
// full flow by replaying what it kept; its handshake timeout finishes it.
// It keeps every field of its segments that the state machine reads, so the
// outcome is exactly the full flow's.

// compactSeg is one handshake segment, without the addresses (the flow's
// key has them).
type compactSeg struct {
	time         int64
	frame        uint32 // a pending flow's segments are among the first 4 billion of their file
	seq, ack     flowstate.Seq
	tsVal, tsEcr uint32
	file         uint16
	window, mss  uint16
	flags        flowstate.Flags
	ttl          uint8
	wscale       int8
	bits         uint8 // srcIsA, sackPerm, hasTS
	ipid         uint16
	dir          flowstate.Dir
	iface        uint8
	// In a run of several vantage points, another point's record of the
	// same packet (flowstate's sighting rule): its file, frame and time
	// after this one's (within the sighting window, which fits).
	hasCopy   bool
	copyFile  uint16
	copyFrame uint32
	copyDT    int32
	// arr and copyArr number the segment and its copy in the order they
	// were read, which replay keeps (a file's time may go backwards).
	arr, copyArr uint8
}

const (
	bitSrcIsA = 1 << iota
	bitSACKPerm
	bitHasTS
)

func compact(s *flowstate.Segment, k *flowKey) compactSeg {
	c := compactSeg{time: s.Time, frame: uint32(s.Frame), seq: s.Seq, ack: s.Ack, tsVal: s.Opt.TSVal, tsEcr: s.Opt.TSEcr,
		file: uint16(s.File), window: s.Window, mss: s.Opt.MSS, flags: s.Flags, ttl: s.TTL, wscale: s.Opt.WScale,
		ipid: s.IPID, dir: s.Dir, iface: s.Iface}
	if s.Src == k.a && s.SrcPort == k.pa {
		c.bits |= bitSrcIsA
	}
	if s.Opt.SACKPermitted {
		c.bits |= bitSACKPerm
	}
	if s.Opt.HasTS {
		c.bits |= bitHasTS
	}
	return c
}

// segment rebuilds the segment.
func (c *compactSeg) segment(k *flowKey, order int64) flowstate.Segment {
	s := flowstate.Segment{Time: c.time, Frame: int64(c.frame), File: int32(c.file), Order: order, Seq: c.seq, Ack: c.ack,
		Window: c.window, TTL: c.ttl, Flags: c.flags, IPID: c.ipid, Dir: c.dir, Iface: c.iface}
	s.Src, s.SrcPort, s.Dst, s.DstPort = k.b, k.pb, k.a, k.pa
	if c.bits&bitSrcIsA != 0 {
		s.Src, s.SrcPort, s.Dst, s.DstPort = k.a, k.pa, k.b, k.pb
	}
	s.Opt = flowstate.Options{MSS: c.mss, WScale: c.wscale, SACKPermitted: c.bits&bitSACKPerm != 0,
		HasTS: c.bits&bitHasTS != 0, TSVal: c.tsVal, TSEcr: c.tsEcr}
	return s
}

// handshakeOnly reports whether a segment may stay in a pending flow: a
// SYN or SYN-ACK without payload, FIN or RST, whose frame number and file
// index fit the compact form.
func handshakeOnly(s *flowstate.Segment) bool {
	return s.Flags&(flowstate.SYN|flowstate.FIN|flowstate.RST) == flowstate.SYN && s.Len == 0 && s.Opt.NSACK == 0 &&
		s.Frame >= 0 && s.Frame <= math.MaxUint32 && s.File >= 0 && s.File <= math.MaxUint16
}

// pendingFlow is a flow that has shown one or two handshake segments.
type pendingFlow struct {
	key   flowKey
	slot  uint32 // its own slot in the arena
	first int64  // Order of its first segment
	until int64  // when it expires, in the run's clock (see table)
	segs  [2]compactSeg
	n     uint8 // segments kept; 0 for a free slot
	// read counts the segments and other points' records kept, in the
	// order they came (compactSeg.arr).
	read uint8
	// queued: an expiry sweep has taken it (it is removed once finished).
	queued bool
}

func (p *pendingFlow) order() int64 { return p.first }

// expiry is when a pending flow times out.
func (p *pendingFlow) expiry() int64 { return p.until }

// timeout is how long a pending flow waits after its last segment: what
// its full flow would (table.classOf). A SYN answered by a SYN-ACK from
// the other side leaves the full flow's client ESTABLISHED, so it waits
// the idle timeout; any other pending flow waits the handshake timeout.
func (p *pendingFlow) timeout(t Timeouts) int64 {
	if p.n == 2 && p.segs[1].flags&flowstate.ACK != 0 && (p.segs[0].bits^p.segs[1].bits)&bitSrcIsA != 0 {
		return t.Idle
	}
	return t.Handshake
}

// replay builds the full flow of a pending one, on recycled when not nil:
// its segments and the other points' records of them in the order they
// were read.
func (p *pendingFlow) replay(cfg flowstate.Config, recycled *flowstate.Flow) *flowstate.Flow {
	var segs [4]flowstate.Segment
	n := 0
	for i := 0; i < int(p.n); i++ {
		c := &p.segs[i]
		segs[n] = c.segment(&p.key, p.first)
		n++
		if c.hasCopy {
			cp := segs[n-1]
			cp.File, cp.Frame, cp.Time = int32(c.copyFile), int64(c.copyFrame), c.time+int64(c.copyDT)
			segs[n] = cp
			n++
		}
	}
	order := segs[:n]
	if n > int(p.n) {
		var arr [4]uint8
		j := 0
		for i := 0; i < int(p.n); i++ {
			arr[j] = p.segs[i].arr
			j++
			if p.segs[i].hasCopy {
				arr[j] = p.segs[i].copyArr
				j++
			}
		}
		// Insertion sort by arrival: at most four.
		for i := 1; i < n; i++ {
			for k := i; k > 0 && arr[k] < arr[k-1]; k-- {
				arr[k], arr[k-1] = arr[k-1], arr[k]
				order[k], order[k-1] = order[k-1], order[k]
			}
		}
	}
	f := recycled
	if f == nil {
		f = flowstate.NewFlow(&order[0], cfg)
	} else {
		f.Reset(&order[0], cfg)
	}
	for i := range order {
		f.Process(&order[i])
	}
	return f
}

// keepCopy keeps seg as another vantage point's record of one of the
// pending flow's segments, as flowstate's sighting rule would match it
// (the same direction and TCP fields, IP ID and timestamps, another
// vantage, within the window; the newest first), when that segment has
// no record from elsewhere yet; it reports whether it did. A second
// record from elsewhere, or a frame copy at the same point, is left to
// the full flow.
func (p *pendingFlow) keepCopy(seg *flowstate.Segment, cfg *flowstate.Config) bool {
	if !cfg.MultiVantage || seg.Frame < 0 || seg.Frame > math.MaxUint32 || seg.File < 0 || seg.File > math.MaxUint16 {
		return false
	}
	c := compact(seg, &p.key)
	for i := int(p.n) - 1; i >= 0; i-- {
		k := &p.segs[i]
		if c.bits&bitSrcIsA != k.bits&bitSrcIsA || c.seq != k.seq || c.ack != k.ack || c.flags != k.flags ||
			c.tsVal != k.tsVal || c.tsEcr != k.tsEcr || c.window != k.window || c.ipid != k.ipid {
			continue
		}
		dt := c.time - k.time
		if cfg.VantageOf(int32(k.file)) == cfg.VantageOf(seg.File) || k.hasCopy {
			return false // a frame copy at one point, or a third record: the full flow decides
		}
		bare := c.ipid == 0 && c.bits&bitHasTS == 0 || k.ipid == 0 && k.bits&bitHasTS == 0
		if w := flowstate.SightWindow(bare); dt > w || dt < -w {
			continue
		}
		k.hasCopy, k.copyFile, k.copyFrame, k.copyDT, k.copyArr = true, uint16(seg.File), uint32(seg.Frame), int32(dt), p.read
		p.read++
		return true
	}
	return false
}

// memo is the flow's memo for Wireshark's port-reuse rule (memo.go).
func (p *pendingFlow) memo() flowstate.ConvMemo {
	var segs [2]flowstate.Segment
	var ptrs [2]*flowstate.Segment
	for i := 0; i < int(p.n); i++ {
		segs[i] = p.segs[i].segment(&p.key, p.first)
		ptrs[i] = &segs[i]
	}
	return flowstate.MemoOf(ptrs[:p.n]...)
}

// queuedPending is a pending flow in the expiry queue, a min-heap by
// expiry (timestamps can go backwards, so arrival order is not enough). A
// flow is queued when it starts and again when it gets its second segment;
// the entry that no longer matches its flow's expiry is skipped.
type queuedPending struct {
	expiry int64
	slot   uint32
}

const pendingChunk = 4096

// pendingStore holds the pending flows, found through a slotIndex by a
// seeded hash of their key.
type pendingStore struct {
	hasher keyHasher
	index  slotIndex
	count  int
	chunks [][]pendingFlow
	free   []uint32
	queue  []queuedPending // a min-heap by expiry
}

// push adds an entry to the expiry heap.
func (s *pendingStore) push(q queuedPending) {
	s.queue = append(s.queue, q)
	h := s.queue
	for i := len(h) - 1; i > 0; {
		parent := (i - 1) / 2
		if h[parent].expiry <= h[i].expiry {
			break
		}
		h[parent], h[i] = h[i], h[parent]
		i = parent
	}
}

// pop removes the entry with the earliest expiry.
func (s *pendingStore) pop() queuedPending {
	h := s.queue
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && h[l].expiry < h[m].expiry {
			m = l
		}
		if r < len(h) && h[r].expiry < h[m].expiry {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	s.queue = h
	return top
}

func newPendingStore(hasher keyHasher) *pendingStore {
	return &pendingStore{hasher: hasher}
}

func (s *pendingStore) len() int { return s.count }

func (s *pendingStore) at(slot uint32) *pendingFlow {
	return &s.chunks[slot/pendingChunk][slot%pendingChunk]
}

// get returns the pending flow of k, whose hash is h, or nil.
func (s *pendingStore) get(k *flowKey, h uint64) *pendingFlow {
	return s.index.find(h, k, s)
}

// add starts a pending flow of key k (hash h) with its first segment,
// expiring at expiry.
func (s *pendingStore) add(k *flowKey, h uint64, seg *flowstate.Segment, expiry int64) {
	var slot uint32
	if n := len(s.free); n > 0 {
		slot = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		if n := len(s.chunks); n == 0 || len(s.chunks[n-1]) == pendingChunk {
			s.chunks = append(s.chunks, make([]pendingFlow, 0, pendingChunk))
		}
		c := &s.chunks[len(s.chunks)-1]
		*c = append(*c, pendingFlow{})
		slot = uint32((len(s.chunks)-1)*pendingChunk + len(*c) - 1)
	}
	p := s.at(slot)
	*p = pendingFlow{key: *k, first: seg.Order, until: expiry, n: 1, slot: slot, read: 1}
	p.segs[0] = compact(seg, k)
	s.index.insert(h, slot)
	s.count++
	s.push(queuedPending{slot: slot, expiry: expiry})
}

// remove forgets a pending flow.
func (s *pendingStore) remove(p *pendingFlow) {
	s.index.remove(s.hasher.hash(&p.key), p.slot)
	p.n = 0
	s.count--
	s.free = append(s.free, p.slot)
}

// second adds a pending flow's second segment, seen at now in the run's
// clock, moving its expiry.
func (s *pendingStore) second(p *pendingFlow, seg *flowstate.Segment, t Timeouts, now int64) {
	p.segs[1] = compact(seg, &p.key)
	p.segs[1].arr, p.read = p.read, p.read+1
	p.n = 2
	p.until = now + p.timeout(t)
	s.push(queuedPending{slot: p.slot, expiry: p.until})
}

// touch moves a pending flow's expiry after another point's record of
// one of its segments, as a full flow's would move (its state is
// unchanged).
func (s *pendingStore) touch(p *pendingFlow, t Timeouts, now int64) {
	p.until = now + p.timeout(t)
	s.push(queuedPending{slot: p.slot, expiry: p.until})
}

// expired appends to out the pending flows whose expiry (their last
// segment's time plus their timeout) is at or before now, each once.
func (s *pendingStore) expired(now int64, out []expiring) []expiring {
	for len(s.queue) > 0 && s.queue[0].expiry <= now {
		q := s.pop()
		p := s.at(q.slot)
		if p.n == 0 || p.expiry() != q.expiry || p.queued {
			// Promoted or finished since, queued again, or taken already
			// through another entry with the same expiry (a slot reused).
			continue
		}
		p.queued = true
		out = append(out, expiring{at: q.expiry, seq: p.order(), pend: p})
	}
	return out
}

// sortedSlots returns the slots of the pending flows in the order of
// their first segments.
func (s *pendingStore) sortedSlots() []uint32 {
	slots := make([]uint32, 0, s.count)
	for ci, c := range s.chunks {
		for i := range c {
			if c[i].n > 0 {
				slots = append(slots, uint32(ci*pendingChunk+i))
			}
		}
	}
	slices.SortFunc(slots, func(a, b uint32) int { return cmp.Compare(s.at(a).first, s.at(b).first) })
	return slots
}

// reset empties the store.
func (s *pendingStore) reset() { *s = *newPendingStore(s.hasher) }

// slotIndex finds pending flows by key hash: open addressing with linear
// probing over a power-of-two array, at most half full, of 8-byte entries
// (the hash's low 32 bits and the flow's arena slot), so a million
// pending flows cost 16 MB of index and nothing for the collector to
// scan. A match on the 32 bits is confirmed on the flow's key. The low
// bits are also each entry's home position, which removal (shifting the
// following entries back) needs.
type slotIndex struct {
	slots []slotEntry
	n     int
}

type slotEntry struct {
	h    uint32 // low 32 bits of the key's hash
	slot uint32 // arena slot + 1; 0: empty
}

// find returns the flow of key k, whose hash is h, from s's arena.
func (x *slotIndex) find(h uint64, k *flowKey, s *pendingStore) *pendingFlow {
	if len(x.slots) == 0 {
		return nil
	}
	mask := uint32(len(x.slots) - 1)
	for i := uint32(h) & mask; ; i = (i + 1) & mask {
		e := x.slots[i]
		if e.slot == 0 {
			return nil
		}
		if e.h == uint32(h) {
			if p := s.at(e.slot - 1); p.key == *k {
				return p
			}
		}
	}
}

func (x *slotIndex) insert(h uint64, slot uint32) {
	if 2*(x.n+1) > len(x.slots) {
		old := x.slots
		x.slots = make([]slotEntry, max(2*len(old), 1024))
		for _, e := range old {
			if e.slot != 0 {
				x.place(e)
			}
		}
	}
	x.place(slotEntry{h: uint32(h), slot: slot + 1})
	x.n++
}

func (x *slotIndex) place(e slotEntry) {
	mask := uint32(len(x.slots) - 1)
	i := e.h & mask
	for x.slots[i].slot != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = e
}

// remove forgets the entry of slot, whose key hashes to h.
func (x *slotIndex) remove(h uint64, slot uint32) {
	if len(x.slots) == 0 {
		return
	}
	mask := uint32(len(x.slots) - 1)
	i := uint32(h) & mask
	for x.slots[i].slot != slot+1 {
		if x.slots[i].slot == 0 {
			return
		}
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; x.slots[j].slot != 0; j = (j + 1) & mask {
		if fillsHole(uint64(i), uint64(j), uint64(x.slots[j].h&mask), uint64(mask)) {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = slotEntry{}
	x.n--
}
