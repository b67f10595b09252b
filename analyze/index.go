package analyze

import "encoding/binary"

// keyHasher hashes flow keys with a seed chosen per run, so that hostile
// input cannot aim at the flow index. The reading goroutine hashes each
// segment's key and hands the hash on with it, so the shard's index does
// not hash again.
type keyHasher uint64

func (s keyHasher) hash(k *flowKey) uint64 {
	const m = 0x9e3779b97f4a7c15
	h := uint64(s)
	for _, w := range [4]uint64{
		binary.LittleEndian.Uint64(k.a[:8]), binary.LittleEndian.Uint64(k.a[8:]),
		binary.LittleEndian.Uint64(k.b[:8]), binary.LittleEndian.Uint64(k.b[8:]),
	} {
		h = (h ^ w) * m
		h ^= h >> 32
	}
	h = (h ^ (uint64(k.pa)<<16 | uint64(k.pb))) * m
	return h ^ h>>29
}

// shardOf picks one of n shards for a flow key. It takes no seed: which
// flows share a table must not change from run to run, since a table
// keeps its output in order by moving a flow that would finish before one
// it already finished (timestamps gone backwards) to just after it, and
// that depends on the table's other flows. The range is reduced by a
// multiplication rather than a division.
func shardOf(k *flowKey, n int) int {
	h := uint64(k.pa)<<16 | uint64(k.pb)
	h ^= binary.LittleEndian.Uint64(k.a[8:]) ^ binary.LittleEndian.Uint64(k.b[8:])<<1
	h *= 0x9e3779b97f4a7c15
	return int((h >> 32) * uint64(n) >> 32)
}

// flowIndex finds live flows by key hash: open addressing with linear
// probing over a power-of-two array of (hash, flow) pairs, at most half
// full. A lookup compares full 64-bit hashes in the array and reads the
// flow's key only on a match, so it usually touches one cache line of the
// index and the flow's own record; Go's map with chained collisions touched
// more. Removal shifts the following entries back, so no tombstones build
// up over a long capture.
type flowIndex struct {
	slots []indexSlot
	n     int
}

type indexSlot struct {
	h  uint64
	lf *liveFlow // nil: empty
}

func (x *flowIndex) find(h uint64, k *flowKey) *liveFlow {
	if len(x.slots) == 0 {
		return nil
	}
	mask := uint64(len(x.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.lf == nil {
			return nil
		}
		if s.h == h && s.lf.key == *k {
			return s.lf
		}
	}
}

func (x *flowIndex) insert(h uint64, lf *liveFlow) {
	if 2*(x.n+1) > len(x.slots) {
		x.grow()
	}
	x.place(h, lf)
	x.n++
}

func (x *flowIndex) place(h uint64, lf *liveFlow) {
	mask := uint64(len(x.slots) - 1)
	i := h & mask
	for x.slots[i].lf != nil {
		i = (i + 1) & mask
	}
	x.slots[i] = indexSlot{h, lf}
}

func (x *flowIndex) grow() {
	old := x.slots
	x.slots = make([]indexSlot, max(2*len(old), 1024))
	for _, s := range old {
		if s.lf != nil {
			x.place(s.h, s.lf)
		}
	}
}

// remove forgets lf, indexed under h.
func (x *flowIndex) remove(h uint64, lf *liveFlow) {
	if len(x.slots) == 0 {
		return
	}
	mask := uint64(len(x.slots) - 1)
	i := h & mask
	for x.slots[i].lf != lf {
		if x.slots[i].lf == nil {
			return
		}
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; x.slots[j].lf != nil; j = (j + 1) & mask {
		if fillsHole(i, j, x.slots[j].h&mask, mask) {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = indexSlot{}
	x.n--
}

// fillsHole is the removal rule of linear probing, for both indexes: after
// the entry at hole was removed, the entry at j, whose home position is
// home, moves back into the hole unless its home lies cyclically within
// (hole, j], where a lookup starting there would no longer pass the hole.
func fillsHole(hole, j, home, mask uint64) bool {
	return (j-home)&mask >= (j-hole)&mask
}
