package analyze

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// IP reassembly, of headers only. The analysis reads the TCP header and
// the length of each segment, never its payload, so a fragmented datagram
// is rebuilt from what its fragments say: which byte ranges arrived (to
// know when it is whole) and, from the fragments that cover its first
// fragPrefix bytes, the headers there (TCP, or a tunnel and the TCP inside
// it). The segment comes out at the record that completes the datagram,
// with the datagram's length, as Wireshark shows a reassembled packet in
// the frame of its last fragment. Unfragmented packets never touch any of
// this; the table is allocated at the first fragment and its size is
// fixed, so a capture full of fragments costs bounded memory and no
// allocation per packet.

const (
	// fragSlots is how many datagrams are reassembled at once; when all
	// are taken, the one waiting longest is given up.
	fragSlots   = 512
	fragBuckets = 1024
	// fragPrefix is how many bytes at the start of a datagram's payload
	// are kept: room for a tunnel's headers and the TCP header inside.
	fragPrefix = 256
	// fragRanges is how many separate byte ranges one datagram may have
	// while incomplete (fragments arriving out of order); past that it is
	// given up.
	fragRanges = 16
	// Reassembly timeouts of Linux: net.ipv4.ipfrag_time (IP_FRAG_TIME)
	// and IPV6_FRAG_TIMEOUT, 30 s and 60 s.
	fragTimeout4 = 30e9
	fragTimeout6 = 60e9
	// maxDatagram is the largest payload a fragment may reach: offset and
	// length stay within the 16-bit total length (RFC 791, RFC 8200 4.5).
	maxDatagram = 65535
)

// fragState says what decoding one record did about fragments.
type fragState uint8

const (
	fragNone        fragState = iota // the record is not a fragment
	fragHeld                         // a fragment, its datagram incomplete (or not TCP)
	fragReassembled                  // a fragment that completed a datagram carrying TCP
)

// fragKey identifies a datagram's fragments: source, destination and
// identification, and for IPv4 the protocol (RFC 791 3.2); for IPv6,
// proto is the Fragment header's next header, not part of the match.
type fragKey struct {
	src, dst flowstate.Addr
	id       uint32
	proto    uint8
	v6       bool
}

type byteRange struct{ lo, hi int32 }

// fragEntry is one datagram being reassembled.
type fragEntry struct {
	key    fragKey
	first  int64 // time of its first fragment
	total  int32 // the payload's length, known from the last fragment; -1 before
	n      uint8 // ranges in use
	r      [fragRanges]byteRange
	have   [fragPrefix / 64]uint64 // which bytes of prefix were captured
	prefix [fragPrefix]byte
	ttl    uint8 // of the fragment at offset 0
	proto  uint8 // the protocol (IPv6: next header) of the fragment at offset 0
	cut    bool  // a fragment was cut by the snaplen
	used   bool
	next   int32 // hash chain; -1 ends it
}

// fragTable holds the datagrams being reassembled, in fixed arrays.
type fragTable struct {
	seed      maphash.Seed
	head      [fragBuckets]int32
	e         [fragSlots]fragEntry
	free      []int32
	lastSweep int64
	// incomplete counts datagrams given up: timed out, evicted, or with
	// fragments that contradict each other. Those still held at the end
	// are added by pending.
	incomplete int64
	// buf receives a whole datagram's prefix, so that its slot is free
	// before the datagram is decoded.
	buf [fragPrefix]byte
}

func newFragTable() *fragTable {
	t := &fragTable{seed: maphash.MakeSeed(), free: make([]int32, fragSlots)}
	for i := range t.head {
		t.head[i] = -1
	}
	for i := range t.free {
		t.free[i] = int32(fragSlots - 1 - i) // slot 0 is taken first
	}
	return t
}

func (t *fragTable) bucket(k *fragKey) int {
	var b [16 + 16 + 4 + 2]byte
	copy(b[0:], k.src[:])
	copy(b[16:], k.dst[:])
	binary.LittleEndian.PutUint32(b[32:], k.id)
	b[36] = k.proto
	if k.v6 {
		b[36] = 0 // the next header does not identify an IPv6 datagram
		b[37] = 1
	}
	return int(maphash.Bytes(t.seed, b[:]) % fragBuckets)
}

// same reports whether a fragment of key k belongs to e's datagram.
func (e *fragEntry) same(k *fragKey) bool {
	if e.key.src != k.src || e.key.dst != k.dst || e.key.id != k.id || e.key.v6 != k.v6 {
		return false
	}
	return k.v6 || e.key.proto == k.proto
}

// lookup finds the slot of k's datagram, or starts one (giving up the
// oldest when the table is full).
func (t *fragTable) lookup(k *fragKey, now int64) int {
	b := t.bucket(k)
	for i := t.head[b]; i >= 0; i = t.e[i].next {
		if t.e[i].same(k) {
			return int(i)
		}
	}
	if len(t.free) == 0 {
		oldest := 0
		for i := range t.e {
			if t.e[i].first < t.e[oldest].first {
				oldest = i
			}
		}
		t.remove(oldest)
		t.incomplete++
	}
	i := t.free[len(t.free)-1]
	t.free = t.free[:len(t.free)-1]
	e := &t.e[i]
	*e = fragEntry{key: *k, first: now, total: -1, used: true, next: t.head[b]}
	t.head[b] = i
	return int(i)
}

// remove frees slot i.
func (t *fragTable) remove(i int) {
	b := t.bucket(&t.e[i].key)
	for p := &t.head[b]; *p >= 0; p = &t.e[*p].next {
		if int(*p) == i {
			*p = t.e[i].next
			break
		}
	}
	t.e[i].used = false
	t.free = append(t.free, int32(i))
}

// sweep gives up the datagrams whose reassembly timed out, at most once a
// second of capture time.
func (t *fragTable) sweep(now int64) {
	if now-t.lastSweep < 1e9 && now >= t.lastSweep {
		return
	}
	t.lastSweep = now
	for i := range t.e {
		e := &t.e[i]
		timeout := int64(fragTimeout4)
		if e.key.v6 {
			timeout = fragTimeout6
		}
		if e.used && now-e.first > timeout {
			t.remove(i)
			t.incomplete++
		}
	}
}

// pending counts the datagrams still incomplete.
func (t *fragTable) pending() int64 {
	return int64(fragSlots - len(t.free))
}

// add records that bytes [lo, hi) arrived. It reports false when the
// datagram has more holes than an entry tracks.
func (e *fragEntry) add(lo, hi int32) bool {
	if lo >= hi {
		return true
	}
	// Merge with every range that overlaps or touches [lo, hi).
	var out [fragRanges + 1]byteRange
	n := 0
	placed := false
	for _, r := range e.r[:e.n] {
		switch {
		case r.hi < lo:
			out[n] = r
		case hi < r.lo:
			if !placed {
				out[n] = byteRange{lo, hi}
				n++
				placed = true
			}
			out[n] = r
		default:
			lo, hi = min(lo, r.lo), max(hi, r.hi)
			continue
		}
		n++
	}
	if !placed {
		out[n] = byteRange{lo, hi}
		n++
	}
	if n > fragRanges {
		return false
	}
	copy(e.r[:], out[:n])
	e.n = uint8(n)
	return true
}

// mark records that bytes [lo, hi) of the prefix were captured.
func (e *fragEntry) mark(lo, hi int) {
	for lo < hi {
		w, b := lo/64, lo%64
		n := min(64-b, hi-lo)
		e.have[w] |= (^uint64(0) >> (64 - n)) << b
		lo += n
	}
}

// captured is how many bytes from the start of the prefix were captured
// without a gap.
func (e *fragEntry) captured() int {
	n := 0
	for _, w := range e.have {
		if w == ^uint64(0) {
			n += 64
			continue
		}
		return n + bits.TrailingZeros64(^w)
	}
	return n
}

// fragment takes one fragment of datagram k: its payload starts at byte
// off of the datagram's, declared is its length by the IP header, more
// says more fragments follow, data is what was captured of its payload
// and ttl its header's TTL or hop limit. The fragment that completes a
// datagram decodes it; every other is resFragment.
func (d *decoder) fragment(seg *flowstate.Segment, k fragKey, off, declared int, more bool, data []byte, ttl uint8, depth int) (result, bool) {
	end := off + declared
	if declared < 0 || end > maxDatagram {
		return resUndecodable, false
	}
	if len(data) > declared {
		data = data[:declared]
	}
	d.fragState = fragHeld
	if d.reassembling {
		// A fragment inside a reassembled datagram: its prefix holds
		// too little to rebuild another.
		return resFragment, false
	}
	if d.frags == nil {
		d.frags = newFragTable()
	}
	t := d.frags
	t.sweep(d.now)
	slot := t.lookup(&k, d.now)
	e := &t.e[slot]
	giveUp := func() (result, bool) {
		t.remove(slot)
		t.incomplete++
		return resFragment, false
	}
	if !more {
		if e.total >= 0 && int(e.total) != end {
			return giveUp() // two last fragments that disagree
		}
		e.total = int32(end)
	}
	if e.total >= 0 && (end > int(e.total) || e.n > 0 && e.r[e.n-1].hi > e.total) {
		return giveUp() // bytes past the end
	}
	if !e.add(int32(off), int32(end)) {
		return giveUp()
	}
	if off < fragPrefix {
		c := data[:min(len(data), fragPrefix-off)]
		copy(e.prefix[off:], c)
		e.mark(off, off+len(c))
	}
	if len(data) < declared {
		e.cut = true
	}
	if off == 0 {
		e.ttl, e.proto = ttl, k.proto
	}
	if e.total < 0 || e.n != 1 || e.r[0].lo != 0 || e.r[0].hi != e.total {
		return resFragment, false
	}

	// Whole: decode the prefix as the datagram's payload, its length the
	// datagram's.
	total, cut, ttl, proto := int(e.total), e.cut, e.ttl, e.proto
	b := t.buf[:min(e.captured(), total)]
	copy(b, e.prefix[:len(b)])
	t.remove(slot)
	var res result
	d.reassembling = true
	if k.v6 {
		res, _ = d.walk6(seg, k.src, k.dst, ttl, proto, b, total, depth)
	} else {
		res, _ = d.transport4(seg, k.src, k.dst, ttl, uint16(k.id), proto, b, total, depth)
	}
	d.reassembling = false
	switch res {
	case resTCP:
		d.fragState = fragReassembled
		return resTCP, cut
	case resNonTCP, resFragment:
		return resFragment, false
	}
	return res, false
}

// transport4 decodes a reassembled IPv4 datagram's payload.
func (d *decoder) transport4(seg *flowstate.Segment, src, dst flowstate.Addr, ttl uint8, ipid uint16, proto uint8, b []byte, total, depth int) (result, bool) {
	if proto == protoTCP {
		return d.tcp(seg, src, dst, ttl, ipid, b, total) // the datagram's IP ID: its fragments all carry it
	}
	if st, ok := startAfterIP(proto); ok && depth < maxTunnelDepth {
		return d.parse(st, b, seg, depth+1)
	}
	return resNonTCP, false
}

// fragmentsIncomplete is how many fragmented datagrams were given up or are
// still incomplete.
func (d *decoder) fragmentsIncomplete() int64 {
	if d.frags == nil {
		return 0
	}
	return d.frags.incomplete + d.frags.pending()
}
