package analyze

import (
	"encoding/binary"
	"math/bits"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// Wireshark never forgets a TCP conversation: a SYN that comes on a 4-tuple
// after its flow was finished, with another initial sequence number, is
// flagged reused_ports ("TCP Port numbers reused"). A table finishes flows
// (closed ones 2 s after the close, idle ones after their timeout), so it
// keeps, for each finished flow, the base sequence numbers Wireshark would
// compare with, for memoTTL of capture time: a memoCache. Entries sit
// in a ring in the order the table finished their flows (finish times only
// grow), found through an open-addressing index; they leave the ring when
// older than the timeout, so what is remembered depends on each flow's own
// history only, never on the other flows sharing the table (nor on how
// many tables there are). Segments after a flow was finished that are not
// SYNs start a new flow caught mid-stream, whose analysis starts afresh
// where Wireshark's continues (README, Wireshark parity).

// memoTTL is how long a finished flow is remembered: twice Linux's
// TIME-WAIT (TCP_TIMEWAIT_LEN, 60 s), within which a client reusing its
// port meets the server's old connection. Memory holds the flows
// finished in the last memoTTL, 48 bytes each.
const memoTTL = 120e9

// memoEntry is one finished flow's memo, 32 bytes: the key is kept as its
// 64-bit hash (memoSlot, unseeded, so what matches never changes from run
// to run). The memo's endpoint A is the key's a when aIsKeyA.
type memoEntry struct {
	hash    uint64
	at      int64 // when the flow finished
	base    [2]flowstate.Seq
	set     [2]bool
	aIsKeyA bool
	live    bool // not superseded by a later entry of the same key
	early   bool // handed out before its hold was over (the cap on held flows)
}

type memoCache struct {
	ring []memoEntry // a ring of entries in finish order: ring[head], ring[head+1], ...
	head int
	n    int
	// index is open addressing over memoSlot(key): each slot holds the
	// hash's low 32 bits above the ring position + 1 (0: empty), so a probe
	// reads the ring only when the hash matches.
	index []uint64
	shift uint8 // 64 - log2(len(index))
	ttl   int64
}

// memoSlot hashes a key without a seed: the index's layout then never
// changes the outcome, only its speed (a probe sequence is deterministic).
// The index takes the product's high bits (multiplicative hashing).
func memoSlot(k *flowKey) uint64 {
	h := uint64(k.pa)<<16 | uint64(k.pb)
	h ^= binary.LittleEndian.Uint64(k.a[8:])*0xff51afd7ed558ccd ^ binary.LittleEndian.Uint64(k.b[8:])*0xc4ceb9fe1a85ec53 ^
		binary.LittleEndian.Uint64(k.a[:8]) ^ binary.LittleEndian.Uint64(k.b[:8])<<1
	return h * 0x9e3779b97f4a7c15
}

// home is the first slot in the index of a key hashing to h.
func (c *memoCache) home(h uint64) uint64 { return h >> c.shift }

// find returns the live entry of k, or nil.
func (c *memoCache) find(k *flowKey) *memoEntry {
	if c.n == 0 {
		return nil
	}
	h := memoSlot(k)
	mask := uint64(len(c.index) - 1)
	tag := h << 32
	for i := c.home(h); ; i = (i + 1) & mask {
		p := c.index[i]
		if p == 0 {
			return nil
		}
		if p&^0xffffffff != tag {
			continue
		}
		if e := &c.ring[uint32(p)-1]; e.live && e.hash == h {
			return e
		}
	}
}

// expire drops the entries older than the timeout at time now.
func (c *memoCache) expire(now int64) {
	for c.n > 0 && c.ring[c.head].at+c.ttl < now {
		c.removeHead()
	}
}

func (c *memoCache) removeHead() {
	e := &c.ring[c.head]
	mask := uint64(len(c.index) - 1)
	pos := uint32(c.head + 1)
	// Find its slot and delete it, moving later entries of the probe run
	// back (linear-probing deletion without tombstones).
	i := c.home(e.hash)
	for uint32(c.index[i]) != pos {
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; c.index[j] != 0; j = (j + 1) & mask {
		home := c.home(c.ring[uint32(c.index[j])-1].hash)
		if (j-home)&mask >= (j-i)&mask {
			c.index[i] = c.index[j]
			i = j
		}
	}
	c.index[i] = 0
	*e = memoEntry{}
	c.head = (c.head + 1) % len(c.ring)
	c.n--
}

// add remembers a finished flow's memo, finished at time at. An older
// entry of the same key, met on the way to a free slot, is superseded.
func (c *memoCache) add(k *flowKey, at int64, m flowstate.ConvMemo, early bool) {
	c.expire(at)
	if c.n == len(c.ring) {
		c.grow()
	}
	pos := (c.head + c.n) % len(c.ring)
	h := memoSlot(k)
	c.ring[pos] = memoEntry{hash: h, at: at, base: m.Base, set: m.Set, live: true,
		aIsKeyA: m.A == k.a && m.PA == k.pa, early: early}
	c.n++
	mask := uint64(len(c.index) - 1)
	tag := h << 32
	i := c.home(h)
	for ; c.index[i] != 0; i = (i + 1) & mask {
		if c.index[i]&^0xffffffff == tag {
			if e := &c.ring[uint32(c.index[i])-1]; e.live && e.hash == h {
				e.live = false
			}
		}
	}
	c.index[i] = tag | uint64(pos+1)
}

// grow doubles the ring (and the index, kept at most half full).
func (c *memoCache) grow() {
	size := max(2*len(c.ring), 1024)
	ring := make([]memoEntry, size)
	for i := 0; i < c.n; i++ {
		ring[i] = c.ring[(c.head+i)%len(c.ring)]
	}
	c.ring, c.head = ring, 0
	c.index = make([]uint64, 2*size)
	c.shift = uint8(64 - bits.TrailingZeros(uint(len(c.index))))
	mask := uint64(len(c.index) - 1)
	for p := 0; p < c.n; p++ {
		i := c.home(c.ring[p].hash)
		for c.index[i] != 0 {
			i = (i + 1) & mask
		}
		c.index[i] = c.ring[p].hash<<32 | uint64(p+1)
	}
}

// has reports whether a flow on k finished within the timeout.
func (c *memoCache) has(k *flowKey, now int64) bool {
	c.expire(now)
	return c.find(k) != nil
}

// cutEarly reports whether seg, starting a new flow on k, would have
// joined the flow finished there before, had the cap on held flows not
// handed that flow out early: seg is not a SYN opening a connection.
func (c *memoCache) cutEarly(k *flowKey, seg *flowstate.Segment) bool {
	if seg.Flags&(flowstate.SYN|flowstate.ACK) == flowstate.SYN || c.n == 0 {
		return false
	}
	c.expire(seg.Time)
	e := c.find(k)
	return e != nil && e.early
}

// resume tells f, a new flow on k started by seg at its time, whether
// seg reuses the ports of the flow that finished there before it.
func (c *memoCache) resume(k *flowKey, f *flowstate.Flow, seg *flowstate.Segment) {
	if seg.Flags&(flowstate.SYN|flowstate.ACK) != flowstate.SYN || c.n == 0 {
		return
	}
	c.expire(seg.Time)
	e := c.find(k)
	if e == nil {
		return
	}
	m := flowstate.ConvMemo{A: k.b, PA: k.pb, Base: e.base, Set: e.set}
	if e.aIsKeyA {
		m.A, m.PA = k.a, k.pa
	}
	if m.ReusedBy(seg) {
		f.NoteReusedPorts()
	}
}
