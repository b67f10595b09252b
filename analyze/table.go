package analyze

import (
	"crypto/rand"
	"encoding/binary"
	"math"
	"sort"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// flowKey is a 4-tuple in canonical order (lower address:port first), a
// fixed-size comparable value with no pointers, so a million live flows
// cost the garbage collector nothing to scan in the key space.
type flowKey struct {
	a, b   flowstate.Addr
	pa, pb uint16
}

func keyOf(s *flowstate.Segment) flowKey {
	if less(s.Src, s.SrcPort, s.Dst, s.DstPort) {
		return flowKey{s.Src, s.Dst, s.SrcPort, s.DstPort}
	}
	return flowKey{s.Dst, s.Src, s.DstPort, s.SrcPort}
}

func less(a flowstate.Addr, pa uint16, b flowstate.Addr, pb uint16) bool {
	if x, y := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8]); x != y {
		return x < y
	}
	if x, y := binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:]); x != y {
		return x < y
	}
	return pa < pb
}

// Timeouts decide when a live flow is finished without a packet that ends
// it. They are measured in capture time: the analysis has no other clock.
type Timeouts struct {
	// Linger is how long a closed flow (both FINs acknowledged, or a RST)
	// stays live to collect stragglers (a last ACK, a RST answering a
	// retransmission) before it is finished. Default 2 s.
	Linger int64
	// Handshake is the idle time after which a flow still opening is
	// finished: a half-open flow from a SYN flood ends once its retries
	// would have expired. Default 75 s, above Linux's longest gap between
	// SYN retransmissions (64 s) and SYN-ACK retransmissions (32 s).
	Handshake int64
	// Idle is the idle time after which any other flow is finished.
	// Default 300 s, Zeek's tcp_inactivity_timeout.
	Idle int64
}

func (t Timeouts) withDefaults() Timeouts {
	if t.Linger <= 0 {
		t.Linger = 2e9
	}
	if t.Handshake <= 0 {
		t.Handshake = 75e9
	}
	if t.Idle <= 0 {
		t.Idle = 300e9
	}
	return t
}

// Timeout classes, by what a flow is waiting for.
const (
	classClosed = iota
	classHandshake
	classIdle
)

// liveFlow is a flow in the table.
type liveFlow struct {
	key  flowKey
	f    *flowstate.Flow
	seq  int64     // Order of the first segment, the tie-break for finish order
	slot int       // index in table.live and table.until
	next *liveFlow // next flow in the same hash chain
}

// synOnly is a flow that has shown nothing but one SYN: what a SYN flood
// leaves by the million. It is kept as a small value without pointers, in
// a map the garbage collector does not scan, until a second packet
// promotes it to a full flow or its handshake timeout finishes it. It
// holds every field of the SYN that the state machine reads, so the
// promoted flow is exactly what it would have been.
type synOnly struct {
	seq       int64 // the SYN's Order
	time      int64
	frame     int64
	file      int32
	isn       flowstate.Seq
	tsVal     uint32
	tsEcr     uint32
	window    uint16
	mss       uint16
	srcIsA    bool // the SYN's source is the key's first endpoint
	ttl       uint8
	wscale    int8
	sackPerm  bool
	hasTS     bool
	flagsRest flowstate.Flags // ECE, CWR, PSH... set beside SYN
	length    uint32
}

func synOnlyOf(s *flowstate.Segment, k flowKey) synOnly {
	return synOnly{seq: s.Order, time: s.Time, frame: s.Frame, file: s.File, isn: s.Seq, tsVal: s.Opt.TSVal, tsEcr: s.Opt.TSEcr,
		window: s.Window, mss: s.Opt.MSS, srcIsA: s.Src == k.a && s.SrcPort == k.pa, ttl: s.TTL, wscale: s.Opt.WScale,
		sackPerm: s.Opt.SACKPermitted, hasTS: s.Opt.HasTS, flagsRest: s.Flags, length: s.Len}
}

// segment rebuilds the SYN.
func (o *synOnly) segment(k flowKey) flowstate.Segment {
	s := flowstate.Segment{Time: o.time, Frame: o.frame, File: o.file, Order: o.seq, Seq: o.isn, Window: o.window, TTL: o.ttl,
		Flags: o.flagsRest, Len: o.length}
	s.Src, s.SrcPort, s.Dst, s.DstPort = k.b, k.pb, k.a, k.pa
	if o.srcIsA {
		s.Src, s.SrcPort, s.Dst, s.DstPort = k.a, k.pa, k.b, k.pb
	}
	s.Opt = flowstate.Options{MSS: o.mss, WScale: o.wscale, SACKPermitted: o.sackPerm, HasTS: o.hasTS, TSVal: o.tsVal, TSEcr: o.tsEcr}
	return s
}

// table holds the live flows. It hands each finished flow to finish, in
// the order flows finish (ties by first packet), so memory holds live
// flows only.
//
// Flows are found through a map from a seeded 64-bit hash of their key
// (collisions chained), which is cheaper than hashing the 36-byte key in
// the map itself. Expiry is checked by sweeping a dense array of expiry
// times every sweepEvery of capture time; a flow met past its expiry forces
// a sweep first, and so does anything else that finishes a flow, so flows
// still finish exactly in the order of their expiry times.
type table struct {
	cfg      flowstate.Config
	timeouts Timeouts
	seed     uint64
	index    map[uint64]*liveFlow
	live     []*liveFlow
	until    []int64 // expiry time of live[i]
	// synOnly flows, and their keys in arrival order (their expiry order);
	// keys of flows promoted or finished meanwhile are skipped when met.
	syns      map[flowKey]synOnly
	synQueue  []queued
	synHead   int
	finish    func(f *flowstate.Flow)
	expired   []expiring
	nextSweep int64
	// swept is the time of the last sweep: every flow that finishes later
	// finishes after it.
	swept int64
	// recycle brings back finished flows that their consumer is done
	// with, to start new flows on; nil when flows are kept.
	recycle <-chan *flowstate.Flow
}

// sweepEvery is how much capture time passes between expiry sweeps.
const sweepEvery = 250e6

// newFlow starts a flow, on a recycled one when there is one.
func (t *table) newFlow(first *flowstate.Segment) *flowstate.Flow {
	select {
	case f := <-t.recycle:
		f.Reset(first, t.cfg)
		return f
	default:
		return flowstate.NewFlow(first, t.cfg)
	}
}

func (t *table) hash(k *flowKey) uint64 {
	const m = 0x9e3779b97f4a7c15
	h := t.seed
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

func (t *table) lookup(k *flowKey) *liveFlow {
	for n := t.index[t.hash(k)]; n != nil; n = n.next {
		if n.key == *k {
			return n
		}
	}
	return nil
}

func (t *table) insert(lf *liveFlow) {
	h := t.hash(&lf.key)
	lf.next = t.index[h]
	t.index[h] = lf
	lf.slot = len(t.live)
	t.live = append(t.live, lf)
	t.until = append(t.until, math.MaxInt64)
}

func (t *table) drop(lf *liveFlow) {
	h := t.hash(&lf.key)
	if head := t.index[h]; head == lf {
		if lf.next == nil {
			delete(t.index, h)
		} else {
			t.index[h] = lf.next
		}
	} else {
		for n := head; n != nil && n.next != nil; n = n.next {
			if n.next == lf {
				n.next = lf.next
				break
			}
		}
	}
	last := len(t.live) - 1
	moved := t.live[last]
	t.live[lf.slot], t.until[lf.slot] = moved, t.until[last]
	moved.slot = lf.slot
	t.live, t.until = t.live[:last], t.until[:last]
	lf.next = nil
}

// touch records a live flow's expiry after its latest packet.
func (t *table) touch(lf *liveFlow) {
	t.until[lf.slot] = lf.f.LastTime + t.timeout(t.classOf(lf.f))
}

// queued is a SYN-only flow in the expiry queue.
type queued struct {
	key flowKey
	seq int64
}

// expiring is a flow to finish: a full flow or a SYN-only one.
type expiring struct {
	at      int64
	seq     int64
	lf      *liveFlow
	key     flowKey // of a SYN-only flow when lf is nil
	reason  string  // when not "idle" or the close
	dropped bool    // lf is out of the table already
}

func newTable(cfg flowstate.Config, t Timeouts, finish func(*flowstate.Flow)) *table {
	return &table{cfg: cfg, timeouts: t.withDefaults(), seed: maphashSeed(), index: make(map[uint64]*liveFlow),
		syns: make(map[flowKey]synOnly), finish: finish}
}

func (t *table) classOf(f *flowstate.Flow) int {
	switch {
	case f.Closed:
		return classClosed
	case f.EP[flowstate.Client].State.Synchronized() || f.EP[flowstate.Server].State.Synchronized():
		return classIdle
	}
	return classHandshake
}

func (t *table) timeout(class int) int64 {
	switch class {
	case classClosed:
		return t.timeouts.Linger
	case classHandshake:
		return t.timeouts.Handshake
	}
	return t.timeouts.Idle
}

// add feeds one segment: it first finishes the flows that expired before
// the segment's time, then finds or starts the segment's flow.
func (t *table) add(seg *flowstate.Segment) {
	now := seg.Time
	if now >= t.nextSweep {
		t.expire(now)
	}
	k := keyOf(seg)
	lf := t.lookup(&k)
	if lf != nil && t.until[lf.slot] <= now {
		t.expire(now) // it expired between sweeps: finish it, in order
		lf = nil
	}
	if lf == nil {
		if o, ok := t.syns[k]; ok {
			if o.time+t.timeouts.Handshake <= now {
				t.expire(now)
			} else {
				lf = t.promote(k, o)
			}
		}
		if lf == nil && seg.Flags&(flowstate.SYN|flowstate.ACK|flowstate.RST|flowstate.FIN) == flowstate.SYN {
			t.syns[k] = synOnlyOf(seg, k)
			t.synQueue = append(t.synQueue, queued{k, seg.Order})
			return
		}
	}
	if lf != nil && seg.Flags&(flowstate.SYN|flowstate.ACK) == flowstate.SYN && lf.f.StartsNewConnection(seg) {
		// Port reuse: a new SYN with another ISN on a known tuple.
		t.drop(lf)
		t.expire(now, expiring{at: now, seq: lf.seq, lf: lf, reason: "port reused", dropped: true})
		lf = nil
	}
	if lf == nil {
		lf = &liveFlow{key: k, f: t.newFlow(seg), seq: seg.Order}
		t.insert(lf)
	}
	lf.f.Process(seg)
	t.touch(lf)
}

// promote turns a SYN-only flow into a full one, replaying its SYN.
func (t *table) promote(k flowKey, o synOnly) *liveFlow {
	delete(t.syns, k)
	syn := o.segment(k)
	lf := &liveFlow{key: k, f: t.newFlow(&syn), seq: o.seq}
	lf.f.Process(&syn)
	t.insert(lf)
	t.touch(lf)
	return lf
}

// finishSynOnly finishes a SYN-only flow at time at.
func (t *table) finishSynOnly(k flowKey, o synOnly, at int64, reason string) {
	delete(t.syns, k)
	syn := o.segment(k)
	f := t.newFlow(&syn)
	f.Process(&syn)
	t.finishFlow(f, at, reason)
}

func (t *table) finishFlow(f *flowstate.Flow, at int64, reason string) {
	f.Finish(at, reason)
	t.finish(f)
}

// expire finishes every flow whose timeout passed by now, together with
// the extra flows given (finished now by the caller, already dropped from
// the table), in the order of their finish times, ties by first packet; it
// schedules the next sweep. Each table's flows thus come out sorted by
// (finish time, first packet), which is what lets several tables' outputs
// be merged into one deterministic order.
func (t *table) expire(now int64, extra ...expiring) {
	t.nextSweep = now + sweepEvery
	t.swept = now
	t.expired = append(t.expired[:0], extra...)
	for i, u := range t.until {
		if u <= now {
			t.expired = append(t.expired, expiring{at: u, seq: t.live[i].seq, lf: t.live[i]})
		}
	}
	hto := t.timeouts.Handshake
	for i := t.synHead; i < len(t.synQueue); i++ {
		k := t.synQueue[i].key
		o, ok := t.syns[k]
		ok = ok && o.seq == t.synQueue[i].seq // else promoted or finished: stale
		if ok && o.time+hto > now {
			break
		}
		t.synHead++
		if ok {
			t.expired = append(t.expired, expiring{at: o.time + hto, seq: o.seq, key: k})
		}
	}
	if t.synHead > 1024 && t.synHead*2 > len(t.synQueue) {
		n := copy(t.synQueue, t.synQueue[t.synHead:])
		t.synQueue = t.synQueue[:n]
		t.synHead = 0
	}
	t.finishAll(t.expired)
	t.expired = t.expired[:0]
}

// finishAll finishes flows in the order of (finish time, first packet).
func (t *table) finishAll(list []expiring) {
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.at != b.at {
			return a.at < b.at
		}
		return a.seq < b.seq
	})
	for _, e := range list {
		if e.lf == nil {
			reason := e.reason
			if reason == "" {
				reason = "idle"
			}
			t.finishSynOnly(e.key, t.syns[e.key], e.at, reason)
			continue
		}
		if !e.dropped {
			t.drop(e.lf)
		}
		reason := e.reason
		switch {
		case e.lf.f.Closed:
			reason = closeReason(e.lf.f)
		case reason == "":
			reason = "idle"
		}
		t.finishFlow(e.lf.f, e.at, reason)
	}
}

func closeReason(f *flowstate.Flow) string {
	if f.EP[flowstate.Client].SentRST || f.EP[flowstate.Server].SentRST {
		return "reset"
	}
	return "closed"
}

// flush finishes every live flow at the end of the input (time now): those
// whose timeout had passed at their expiry time, the rest now, all in the
// order of (finish time, first packet).
func (t *table) flush(now int64) {
	t.swept = now
	all := make([]expiring, 0, len(t.live)+len(t.syns))
	for i, n := range t.live {
		if u := t.until[i]; u <= now {
			all = append(all, expiring{at: u, seq: n.seq, lf: n})
		} else {
			all = append(all, expiring{at: now, seq: n.seq, lf: n, reason: "end of capture"})
		}
	}
	hto := t.timeouts.Handshake
	for k, o := range t.syns {
		if o.time+hto <= now {
			all = append(all, expiring{at: o.time + hto, seq: o.seq, key: k})
		} else {
			all = append(all, expiring{at: now, seq: o.seq, key: k, reason: "end of capture"})
		}
	}
	t.finishAll(all)
	t.synQueue, t.synHead = nil, 0
}

// live is the number of live flows.
func (t *table) liveFlows() int { return len(t.live) + len(t.syns) }

// maphashSeed returns a random seed, so that hostile input cannot aim at
// the flow index's hash.
func maphashSeed() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}
