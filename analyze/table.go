package analyze

import (
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

// Timeout classes: each live flow sits on exactly one list, ordered by its
// last packet, so the expired ones are always at the front.
const (
	classClosed = iota
	classHandshake
	classIdle
	numClasses
)

type liveFlow struct {
	key        flowKey
	f          *flowstate.Flow
	seq        uint64 // creation order, the tie-break for finish order
	last       int64  // the flow's last packet time, kept here for the expiry scan
	class      int
	prev, next *liveFlow
}

// lruList is an intrusive doubly linked list of live flows.
type lruList struct{ head, tail *liveFlow }

func (l *lruList) pushBack(n *liveFlow) {
	n.prev, n.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = n
	} else {
		l.head = n
	}
	l.tail = n
}

func (l *lruList) remove(n *liveFlow) {
	if n.prev != nil {
		n.prev.next = n.next
	} else {
		l.head = n.next
	}
	if n.next != nil {
		n.next.prev = n.prev
	} else {
		l.tail = n.prev
	}
	n.prev, n.next = nil, nil
}

// synOnly is a flow that has shown nothing but one SYN: what a SYN flood
// leaves by the million. It is kept as a small value without pointers, in
// a map the garbage collector does not scan, until a second packet
// promotes it to a full flow or its handshake timeout finishes it. It
// holds every field of the SYN that the state machine reads, so the
// promoted flow is exactly what it would have been.
type synOnly struct {
	seq       uint64 // creation order
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

func synOnlyOf(s *flowstate.Segment, k flowKey, seq uint64) synOnly {
	return synOnly{seq: seq, time: s.Time, frame: s.Frame, file: s.File, isn: s.Seq, tsVal: s.Opt.TSVal, tsEcr: s.Opt.TSEcr,
		window: s.Window, mss: s.Opt.MSS, srcIsA: s.Src == k.a && s.SrcPort == k.pa, ttl: s.TTL, wscale: s.Opt.WScale,
		sackPerm: s.Opt.SACKPermitted, hasTS: s.Opt.HasTS, flagsRest: s.Flags, length: s.Len}
}

// segment rebuilds the SYN.
func (o *synOnly) segment(k flowKey) flowstate.Segment {
	s := flowstate.Segment{Time: o.time, Frame: o.frame, File: o.file, Seq: o.isn, Window: o.window, TTL: o.ttl,
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
type table struct {
	cfg      flowstate.Config
	timeouts Timeouts
	flows    map[flowKey]*liveFlow
	lists    [numClasses]lruList
	// synOnly flows, and their keys in arrival order (their expiry order);
	// keys of flows promoted or finished meanwhile are skipped when met.
	syns     map[flowKey]synOnly
	synQueue []queued
	synHead  int
	nextSeq  uint64
	finish   func(f *flowstate.Flow)
	expired  []expiring
	// nextCheck is a lower bound of the earliest expiry of any live flow:
	// before it, expire has nothing to do.
	nextCheck int64
	// recycle brings back finished flows that their consumer is done
	// with, to start new flows on; nil when flows are kept.
	recycle <-chan *flowstate.Flow
}

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

// push puts a live flow at the back of its class's list.
func (t *table) push(lf *liveFlow) {
	lf.class = t.classOf(lf.f)
	lf.last = lf.f.LastTime
	t.lists[lf.class].pushBack(lf)
	t.nextCheck = min(t.nextCheck, lf.last+t.timeout(lf.class))
}

// queued is a SYN-only flow in the expiry queue.
type queued struct {
	key flowKey
	seq uint64
}

// expiring is a flow whose timeout passed: a full flow or a SYN-only one.
type expiring struct {
	at  int64
	seq uint64
	lf  *liveFlow
	key flowKey // of a SYN-only flow when lf is nil
}

func newTable(cfg flowstate.Config, t Timeouts, finish func(*flowstate.Flow)) *table {
	return &table{cfg: cfg, timeouts: t.withDefaults(), flows: make(map[flowKey]*liveFlow),
		syns: make(map[flowKey]synOnly), finish: finish, nextCheck: math.MaxInt64}
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
	t.expire(seg.Time)
	k := keyOf(seg)
	lf := t.flows[k]
	if lf == nil {
		if o, ok := t.syns[k]; ok {
			lf = t.promote(k, o)
		} else if seg.Flags&(flowstate.SYN|flowstate.ACK|flowstate.RST|flowstate.FIN) == flowstate.SYN {
			t.syns[k] = synOnlyOf(seg, k, t.nextSeq)
			t.nextSeq++
			t.synQueue = append(t.synQueue, queued{k, t.nextSeq - 1})
			t.nextCheck = min(t.nextCheck, seg.Time+t.timeouts.Handshake)
			return
		}
	}
	if lf != nil && seg.Flags&(flowstate.SYN|flowstate.ACK) == flowstate.SYN && lf.f.StartsNewConnection(seg) {
		// Port reuse: a new SYN with another ISN on a known tuple.
		t.drop(lf)
		t.finishFlow(lf.f, seg.Time, "port reused")
		lf = nil
	}
	if lf == nil {
		lf = &liveFlow{key: k, f: t.newFlow(seg), seq: t.nextSeq}
		t.nextSeq++
		t.flows[k] = lf
	} else {
		t.lists[lf.class].remove(lf)
	}
	lf.f.Process(seg)
	t.push(lf)
}

// promote turns a SYN-only flow into a full one, replaying its SYN.
func (t *table) promote(k flowKey, o synOnly) *liveFlow {
	delete(t.syns, k)
	syn := o.segment(k)
	lf := &liveFlow{key: k, f: t.newFlow(&syn), seq: o.seq}
	lf.f.Process(&syn)
	t.flows[k] = lf
	t.push(lf)
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

func (t *table) drop(lf *liveFlow) {
	t.lists[lf.class].remove(lf)
	delete(t.flows, lf.key)
}

func (t *table) finishFlow(f *flowstate.Flow, at int64, reason string) {
	f.Finish(at, reason)
	t.finish(f)
}

// expire finishes every flow whose timeout passed before now, in the order
// of their expiry times, ties by first packet.
func (t *table) expire(now int64) {
	if now < t.nextCheck {
		return
	}
	t.expired = t.expired[:0]
	for c := range t.lists {
		to := t.timeout(c)
		for n := t.lists[c].head; n != nil && n.last+to <= now; n = n.next {
			t.expired = append(t.expired, expiring{at: n.last + to, seq: n.seq, lf: n})
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
	defer t.recheck()
	if len(t.expired) == 0 {
		return
	}
	sort.Slice(t.expired, func(i, j int) bool {
		a, b := t.expired[i], t.expired[j]
		if a.at != b.at {
			return a.at < b.at
		}
		return a.seq < b.seq
	})
	for _, e := range t.expired {
		if e.lf == nil {
			t.finishSynOnly(e.key, t.syns[e.key], e.at, "idle")
			continue
		}
		t.drop(e.lf)
		reason := "idle"
		if e.lf.class == classClosed {
			reason = closeReason(e.lf.f)
		}
		t.finishFlow(e.lf.f, e.at, reason)
	}
	t.expired = t.expired[:0]
}

// recheck recomputes nextCheck from the heads of the lists and the queue.
func (t *table) recheck() {
	t.nextCheck = math.MaxInt64
	for c := range t.lists {
		if n := t.lists[c].head; n != nil {
			t.nextCheck = min(t.nextCheck, n.last+t.timeout(c))
		}
	}
	for i := t.synHead; i < len(t.synQueue); i++ {
		if o, ok := t.syns[t.synQueue[i].key]; ok && o.seq == t.synQueue[i].seq {
			t.nextCheck = min(t.nextCheck, o.time+t.timeouts.Handshake)
			break
		}
	}
}

func closeReason(f *flowstate.Flow) string {
	if f.EP[flowstate.Client].SentRST || f.EP[flowstate.Server].SentRST {
		return "reset"
	}
	return "closed"
}

// flush finishes every live flow at the end of the input, in the order of
// their first packets.
func (t *table) flush(now int64) {
	all := make([]expiring, 0, len(t.flows)+len(t.syns))
	for _, n := range t.flows {
		all = append(all, expiring{seq: n.seq, lf: n})
	}
	for k, o := range t.syns {
		all = append(all, expiring{seq: o.seq, key: k})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].seq < all[j].seq })
	for _, e := range all {
		if e.lf == nil {
			t.finishSynOnly(e.key, t.syns[e.key], now, "end of capture")
			continue
		}
		t.drop(e.lf)
		reason := "end of capture"
		if e.lf.f.Closed {
			reason = closeReason(e.lf.f)
		}
		t.finishFlow(e.lf.f, now, reason)
	}
	t.synQueue, t.synHead = nil, 0
}

// live is the number of live flows.
func (t *table) live() int { return len(t.flows) + len(t.syns) }
