package analyze

import (
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
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
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

// table holds the live flows. It hands each finished flow to finish, in
// the order flows finish (ties by first packet), so memory holds live
// flows only.
type table struct {
	cfg      flowstate.Config
	timeouts Timeouts
	flows    map[flowKey]*liveFlow
	lists    [numClasses]lruList
	nextSeq  uint64
	finish   func(f *flowstate.Flow)
	expired  []*liveFlow
}

func newTable(cfg flowstate.Config, t Timeouts, finish func(*flowstate.Flow)) *table {
	return &table{cfg: cfg, timeouts: t.withDefaults(), flows: make(map[flowKey]*liveFlow), finish: finish}
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
	if lf != nil && lf.f.StartsNewConnection(seg) {
		// Port reuse: a new SYN with another ISN on a known tuple.
		t.drop(lf)
		t.finishFlow(lf.f, seg.Time, "port reused")
		lf = nil
	}
	if lf == nil {
		lf = &liveFlow{key: k, f: flowstate.NewFlow(seg, t.cfg), seq: t.nextSeq}
		t.nextSeq++
		t.flows[k] = lf
		lf.class = t.classOf(lf.f)
		t.lists[lf.class].pushBack(lf)
	} else {
		t.lists[lf.class].remove(lf)
		lf.class = -1
	}
	lf.f.Process(seg)
	if lf.class < 0 {
		lf.class = t.classOf(lf.f)
		t.lists[lf.class].pushBack(lf)
	}
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
	t.expired = t.expired[:0]
	for c := range t.lists {
		to := t.timeout(c)
		for n := t.lists[c].head; n != nil && n.f.LastTime+to <= now; n = n.next {
			t.expired = append(t.expired, n)
		}
	}
	if len(t.expired) == 0 {
		return
	}
	sort.Slice(t.expired, func(i, j int) bool {
		a, b := t.expired[i], t.expired[j]
		ea, eb := a.f.LastTime+t.timeout(a.class), b.f.LastTime+t.timeout(b.class)
		if ea != eb {
			return ea < eb
		}
		return a.seq < b.seq
	})
	for _, n := range t.expired {
		t.drop(n)
		reason := "idle"
		if n.class == classClosed {
			reason = closeReason(n.f)
		}
		t.finishFlow(n.f, n.f.LastTime+t.timeout(n.class), reason)
	}
	t.expired = t.expired[:0]
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
	all := make([]*liveFlow, 0, len(t.flows))
	for _, n := range t.flows {
		all = append(all, n)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].seq < all[j].seq })
	for _, n := range all {
		t.drop(n)
		reason := "end of capture"
		if n.f.Closed {
			reason = closeReason(n.f)
		}
		t.finishFlow(n.f, now, reason)
	}
}

// live is the number of live flows.
func (t *table) live() int { return len(t.flows) }
