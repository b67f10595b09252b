package analyze

import (
	"cmp"
	"crypto/rand"
	"encoding/binary"
	"math"
	"slices"
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
	// Hold is how long after its last packet a closed flow is held, when
	// the table holds flows (file input), before it is handed out: a FIN
	// or RST retransmitted after the close, or any late packet, joins it,
	// as it joins tshark's tcp.stream. Default 120 s, twice Linux's
	// TIME-WAIT (TCP_TIMEWAIT_LEN, 60 s), within which the peer still
	// answers the old connection. An idle flow is held one more Idle.
	Hold int64
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
	if t.Hold <= 0 {
		t.Hold = 120e9
	}
	t.Hold = max(t.Hold, t.Linger)
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
	h    uint64 // hash of key
	f    *flowstate.Flow
	seq  int64 // Order of the first segment, the tie-break for finish order
	slot int   // index in table.live and table.until
	// hold: heldNot, or the flow's timeout passed at heldAt and it is
	// held for late packets (heldCounted: counted in table.held; heldOut:
	// released by the cap or its hold over, finishing).
	hold   uint8
	heldAt int64
	gen    uint64 // its entry in table.heldQ, when heldCounted
}

const (
	heldNot = iota
	heldCounted
	heldOut
	heldEarly // released by the cap
)

// heldRef is an entry of the queue of held flows: stale once the flow's
// gen differs (it was revived, finished, or its record reused).
type heldRef struct {
	lf  *liveFlow
	gen uint64
}

// table holds the live flows. It hands each finished flow to finish, in
// the order flows finish (ties by first packet), so memory holds live
// flows only.
//
// Its clock is the run's, given with each segment: the latest segment
// time read so far, which never goes backwards even where a capture's
// timestamps do. Timeouts and finish times are measured on it, so a
// flow's finish time depends on its own segments and that clock only,
// never on which other flows share its table: the merged order of the
// tables' outputs is the same for any number of tables.
//
// Flows are found through a flowIndex by a seeded 64-bit hash of their
// key, computed once per segment by the reading goroutine. Expiry is
// checked by sweeping a dense array of expiry times every sweepEvery of
// capture time; a flow met past its expiry forces a sweep first, and so
// does anything else that finishes a flow, so flows still finish exactly
// in the order of their expiry times.
type table struct {
	cfg      flowstate.Config
	fullMax  int // full flows held before new ones are kept pending
	timeouts Timeouts
	hasher   keyHasher
	index    flowIndex
	live     []*liveFlow
	until    []int64 // expiry time of live[i]
	// pending flows: those that showed one or two handshake segments.
	pend *pendingStore
	// lastAt and lastSeq are the finish key of the last flow finished.
	lastAt    int64
	lastSeq   int64
	finish    func(finished)
	expired   []expiring
	nextSweep int64
	// swept is the latest time swept to: every flow that finishes later
	// finishes at or after it.
	swept int64
	// recycle brings back finished flows that their consumer is done
	// with, to start new flows on; nil when flows are kept.
	recycle <-chan *flowstate.Flow
	// spare holds liveFlow records to reuse.
	spare []*liveFlow
	// memo remembers the Wireshark analysis of finished flows, for a later
	// segment on the same 4-tuple (memo.go).
	memo memoCache
	// flushing: the input ended, no segment will ask the memo again.
	flushing bool

	// Held flows (file input, holdFlows): flows whose timeout passed
	// are kept, still live, until their hold is over (holdExtra), so that
	// a late packet joins them rather than start a new flow; at most
	// holdMax at once, the oldest handed out first past it (early counts
	// them). heldQ lists them in the order their timeouts passed, with
	// stale entries skipped.
	holdFlows bool
	holdMax   int
	held      int
	heldQ     []heldRef
	heldHead  int
	holdGen   uint64
	early     int64
	cut       int64 // flows started by a late packet on a flow handed out early
	newlyHeld []*liveFlow
}

// newLive returns a liveFlow record for f.
func (t *table) newLive(k flowKey, h uint64, f *flowstate.Flow, seq int64) *liveFlow {
	var lf *liveFlow
	if n := len(t.spare); n > 0 {
		lf = t.spare[n-1]
		t.spare = t.spare[:n-1]
	} else {
		lf = new(liveFlow)
	}
	*lf = liveFlow{key: k, h: h, f: f, seq: seq}
	return lf
}

// pendingAbove is how many full flows (about 2 KiB each) the tables of a
// run hold together before they keep new ones as pending flows: below
// it, the compact form would only cost time. Shared among the tables, so
// that memory does not grow with the number of cores. 8,192 full flows
// are 16 MiB; at 32,768, 60,000 servers each sent one SYN held 122 MB of
// full flows on two cores, and a run of medium.pcap is as fast with
// either (summary, three alternating runs each). The outcome is the same
// either way. A variable, so tests can lower it.
var pendingAbove = 1 << 13

// holdAbove is how many finished flows the tables of a run hold together
// for late packets (file input) before they hand out the oldest early:
// the same 8,192 full flows as pendingAbove, 16 MiB of counters. Past it,
// which flows are handed out early depends on how the flows fall into
// the tables (the number of cores), so the run warns. A variable, so
// tests can lower it.
var holdAbove = 1 << 13

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

func (t *table) insert(lf *liveFlow) {
	t.index.insert(lf.h, lf)
	lf.slot = len(t.live)
	t.live = append(t.live, lf)
	t.until = append(t.until, math.MaxInt64)
}

func (t *table) drop(lf *liveFlow) {
	t.index.remove(lf.h, lf)
	last := len(t.live) - 1
	moved := t.live[last]
	t.live[lf.slot], t.until[lf.slot] = moved, t.until[last]
	moved.slot = lf.slot
	t.live, t.until = t.live[:last], t.until[:last]
}

// touch records a live flow's expiry after its latest packet, seen at now.
func (t *table) touch(lf *liveFlow, now int64) {
	t.until[lf.slot] = now + t.timeout(t.classOf(lf.f))
}

// expiring is a flow to finish: a full flow or a SYN-only one.
type expiring struct {
	at      int64
	seq     int64
	lf      *liveFlow
	pend    *pendingFlow // when lf is nil
	reason  string       // when not "idle" or the close
	dropped bool         // lf is out of the table already
}

// finished is a flow the table has finished: a full flow, already
// Finish'ed, or a pending one (F nil), to be replayed and finished by
// whoever takes it, at At for Reason. Order is its first segment's.
type finished struct {
	F       *flowstate.Flow
	Pending pendingFlow
	At      int64
	Order   int64
	Reason  string
}

// flow returns the finished flow, replaying a pending one on recycled.
func (x *finished) flow(cfg flowstate.Config, recycled *flowstate.Flow) *flowstate.Flow {
	if x.F != nil {
		return x.F
	}
	f := x.Pending.replay(cfg, recycled)
	f.Finish(x.At, x.Reason)
	return f
}

// newTable returns a table whose keys are hashed with hasher (the hashes
// given to add must come from it).
func newTable(cfg flowstate.Config, t Timeouts, hasher keyHasher, finish func(finished)) *table {
	tt := &table{cfg: cfg, fullMax: pendingAbove, timeouts: t.withDefaults(), hasher: hasher, finish: finish, lastAt: math.MinInt64,
		pend: newPendingStore(hasher), holdFlows: true, holdMax: holdAbove}
	tt.memo.ttl = memoTTL
	return tt
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

// add feeds one segment, whose key hashes to h, read when the run's clock
// was at now (at or after the segment's own time): it first finishes the
// flows that expired by now, then finds or starts the segment's flow.
func (t *table) add(seg *flowstate.Segment, h uint64, now int64) {
	if now >= t.nextSweep {
		t.expire(now)
	}
	k := keyOf(seg)
	lf := t.index.find(h, &k)
	if lf != nil && t.until[lf.slot] <= now {
		t.expire(now) // it expired between sweeps: finish (or hold) it, in order
		lf = t.index.find(h, &k)
	}
	if lf == nil {
		if p := t.pend.get(&k, h); p != nil {
			switch {
			case p.expiry() <= now:
				t.expire(now) // it expired between sweeps: finish it, in order
			case p.keepCopy(seg, &t.cfg):
				// Another vantage point's record of a kept segment: kept
				// with it, so a flood seen at two points stays compact.
				t.pend.touch(p, t.timeouts, now)
				return
			case p.n < 2 && handshakeOnly(seg) && !reusesPort(p, seg):
				t.pend.second(p, seg, t.timeouts, now)
				return
			default:
				lf = t.promote(p, h)
			}
		}
		if lf == nil && len(t.live) >= t.fullMax && seg.Flags&(flowstate.SYN|flowstate.ACK) == flowstate.SYN && handshakeOnly(seg) &&
			!t.memo.has(&k, now) {
			t.pend.add(&k, h, seg, now+t.timeouts.Handshake) // a bare SYN: still opening
			return
		}
	}
	if lf != nil && seg.Flags&(flowstate.SYN|flowstate.ACK) == flowstate.SYN && lf.f.StartsNewConnection(seg) {
		// Port reuse: a new SYN with another ISN on a known tuple.
		if lf.hold == heldCounted {
			lf.hold, lf.gen = heldOut, 0 // out of the hold queue: finished here
			t.held--
		}
		t.drop(lf)
		t.expire(now, expiring{at: now, seq: lf.seq, lf: lf, reason: "port reused", dropped: true})
		lf = nil
	}
	if lf == nil {
		f := t.newFlow(seg)
		if t.early > 0 && t.memo.cutEarly(&k, seg) {
			t.cut++
		}
		t.memo.resume(&k, f, seg)
		lf = t.newLive(k, h, f, seg.Order)
		t.insert(lf)
	} else if lf.hold != heldNot {
		t.revive(lf)
	}
	lf.f.Process(seg)
	t.touch(lf, now)
}

// reusesPort reports whether seg is a SYN opening a new connection on a
// pending flow's tuple: a SYN without ACK with another ISN. The pending
// flow is then promoted, so that the full flow's port-reuse rule finishes
// it.
func reusesPort(p *pendingFlow, seg *flowstate.Segment) bool {
	return seg.Flags&(flowstate.SYN|flowstate.ACK) == flowstate.SYN && seg.Seq != p.segs[0].seq
}

// promote turns a pending flow, whose key hashes to h, into a full one,
// replaying its segments.
func (t *table) promote(p *pendingFlow, h uint64) *liveFlow {
	f := t.replay(p)
	lf := t.newLive(p.key, h, f, p.order())
	t.pend.remove(p)
	t.insert(lf)
	t.until[lf.slot] = p.expiry()
	return lf
}

// replay builds the full flow of a pending one.
func (t *table) replay(p *pendingFlow) *flowstate.Flow {
	var recycled *flowstate.Flow
	select {
	case recycled = <-t.recycle:
	default:
	}
	return p.replay(t.cfg, recycled)
}

// finishFlow finishes f at time end and hands it out at time at (later,
// when it was held).
func (t *table) finishFlow(f *flowstate.Flow, at, end int64, reason string) {
	f.Finish(end, reason)
	t.finish(finished{F: f, At: at, Order: f.Order, Reason: reason})
}

// holdExtra is how long past its timeout a flow is held for late
// packets (0: not held). One rule: keep one flow where tshark keeps one
// tcp.stream. tshark never ends a stream but on a new SYN with another
// ISN (packet-tcp.c: a SYN whose seq differs from the direction's
// base_seq starts a new conversation), so a FIN or RST retransmitted
// after the close (the peer lost our last ACK: its RTO backs off past the
// 2 s linger) and traffic after an idle gap belong to the old flow. A
// closed flow is held until Hold after its last packet, an established
// idle one for one more Idle; a flow still opening is not held (its
// timeout already outlasts the SYN and SYN-ACK retries, and a SYN flood's
// half-open flows would fill the hold). Look-alike: a new connection on
// the same 4-tuple, which starts with a SYN, and ends the held flow
// (port reuse, in add).
func (t *table) holdExtra(f *flowstate.Flow) int64 {
	if !t.holdFlows {
		return 0
	}
	switch t.classOf(f) {
	case classClosed:
		return t.timeouts.Hold - t.timeouts.Linger
	case classIdle:
		return t.timeouts.Idle
	}
	return 0
}

// revive takes a held flow back: a packet came for it.
func (t *table) revive(lf *liveFlow) {
	if lf.hold == heldCounted {
		t.held--
	}
	lf.hold, lf.gen = heldNot, 0
}

// holdNew queues the flows newly held in a sweep, in the order their
// timeouts passed (ties by first packet), and hands out the oldest held
// flows at now while more than holdMax are held.
func (t *table) holdNew(now int64) {
	slices.SortFunc(t.newlyHeld, func(a, b *liveFlow) int {
		if c := cmp.Compare(a.heldAt, b.heldAt); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	for _, lf := range t.newlyHeld {
		t.holdGen++
		lf.gen = t.holdGen
		t.heldQ = append(t.heldQ, heldRef{lf, lf.gen})
	}
	clear(t.newlyHeld)
	t.newlyHeld = t.newlyHeld[:0]
	for t.held > t.holdMax {
		r := t.heldQ[t.heldHead]
		t.heldQ[t.heldHead] = heldRef{}
		t.heldHead++
		if r.lf.hold != heldCounted || r.lf.gen != r.gen {
			continue // stale
		}
		r.lf.hold, r.lf.gen = heldEarly, 0
		t.held--
		t.early++
		t.expired = append(t.expired, expiring{at: now, seq: r.lf.seq, lf: r.lf})
	}
	// Drop stale entries at the head, and compact a queue mostly stale.
	for t.heldHead < len(t.heldQ) {
		r := t.heldQ[t.heldHead]
		if r.lf.hold == heldCounted && r.lf.gen == r.gen {
			break
		}
		t.heldQ[t.heldHead] = heldRef{}
		t.heldHead++
	}
	if t.heldHead == len(t.heldQ) {
		t.heldQ, t.heldHead = t.heldQ[:0], 0
	} else if n := len(t.heldQ) - t.heldHead; n > 2*t.held+1024 || t.heldHead > n {
		q := t.heldQ[:0]
		for _, r := range t.heldQ[t.heldHead:] {
			if r.lf != nil && r.lf.hold == heldCounted && r.lf.gen == r.gen {
				q = append(q, r)
			}
		}
		clear(t.heldQ[len(q):])
		t.heldQ, t.heldHead = q, 0
	}
}

// expire finishes every flow whose timeout passed by now, together with
// the extra flows given (finished now by the caller, already dropped from
// the table), in the order of their finish times, ties by first packet; it
// schedules the next sweep. Each table's flows thus come out sorted by
// (finish time, first packet), which is what lets several tables' outputs
// be merged into one deterministic order.
func (t *table) expire(now int64, extra ...expiring) {
	t.nextSweep = now + sweepEvery
	// The last sweep's time may have been handed to the merge as the
	// table's safe time, a promise that nothing it finishes later
	// finishes before it. The run's clock never goes backwards, so every
	// expiry is after it; finishOne keeps the promise regardless.
	if t.swept > t.lastAt {
		t.lastAt, t.lastSeq = t.swept, math.MinInt64
	}
	t.swept = max(t.swept, now)
	t.expired = append(t.expired[:0], extra...)
	for i, u := range t.until {
		if u > now {
			continue
		}
		lf := t.live[i]
		switch lf.hold {
		case heldCounted:
			// Its hold is over: out of the queue, so that the cap below
			// cannot hand it out a second time.
			lf.hold, lf.gen = heldOut, 0
			t.held--
		case heldNot:
			if x := t.holdExtra(lf.f); x > 0 {
				// Its timeout passed: hold it for late packets, or, when
				// its hold is over already, finish it at the hold's end.
				lf.heldAt, t.until[i] = u, u+x
				if u+x > now {
					lf.hold = heldCounted
					t.held++
					t.newlyHeld = append(t.newlyHeld, lf)
					continue
				}
				lf.hold, u = heldOut, u+x
			}
		}
		t.expired = append(t.expired, expiring{at: u, seq: lf.seq, lf: lf})
	}
	if len(t.newlyHeld) > 0 || t.held > t.holdMax {
		t.holdNew(now)
	}
	t.expired = t.pend.expired(now, t.expired)
	t.finishAll(t.expired)
	t.expired = t.expired[:0]
}

// finishAll finishes flows in the order of (finish time, first packet).
func (t *table) finishAll(list []expiring) {
	slices.SortFunc(list, func(a, b expiring) int {
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	for _, e := range list {
		t.finishOne(e)
	}
}

// finishOne finishes one flow. A flow cannot finish before one finished
// already, or before the last sweep: on the run's clock, which never goes
// backwards, that cannot happen; if it did, the flow would be reported a
// nanosecond after it, so that the table's output stays sorted and its
// safe time holds.
func (t *table) finishOne(e expiring) {
	if e.at < t.lastAt || e.at == t.lastAt && e.seq < t.lastSeq {
		e.at = t.lastAt + 1
	}
	t.lastAt, t.lastSeq = e.at, e.seq
	if e.lf == nil {
		reason := e.reason
		if reason == "" {
			reason = "idle"
		}
		if !t.flushing {
			t.memo.add(&e.pend.key, e.at, e.pend.memo(), false)
		}
		t.finish(finished{Pending: *e.pend, At: e.at, Order: e.seq, Reason: reason})
		t.pend.remove(e.pend)
		return
	}
	if !t.flushing {
		t.memo.add(&e.lf.key, e.at, e.lf.f.ConvMemo(), e.lf.hold == heldEarly)
	}
	if !e.dropped {
		t.drop(e.lf)
	}
	reason, end := e.reason, e.at
	if e.lf.hold != heldNot {
		// Held since its timeout passed: it finishes as it would have
		// then, whatever handed it out (its hold over, the cap, a new
		// SYN on its tuple, the end of the input).
		if e.lf.hold == heldCounted {
			t.held--
		}
		reason, end = "", e.lf.heldAt
	}
	switch {
	case e.lf.f.Closed:
		reason = closeReason(e.lf.f)
	case reason == "":
		reason = "idle"
	}
	t.finishFlow(e.lf.f, e.at, end, reason)
	if len(t.spare) < 1024 {
		*e.lf = liveFlow{}
		t.spare = append(t.spare, e.lf)
	}
}

func closeReason(f *flowstate.Flow) string {
	if f.EP[flowstate.Client].SentRST || f.EP[flowstate.Server].SentRST {
		return "reset"
	}
	return "closed"
}

// flush finishes every live flow at the end of the input (time now): first
// those whose timeout had passed, then the rest, at now, in the order of
// their first segments. Pending flows are sorted as slot numbers, so that
// a million of them need little memory to flush.
func (t *table) flush(now int64) {
	t.expire(now)
	t.flushing = true
	live := make([]*liveFlow, len(t.live))
	copy(live, t.live)
	sort.Slice(live, func(i, j int) bool { return live[i].seq < live[j].seq })
	pend := t.pend.sortedSlots()
	for len(live) > 0 || len(pend) > 0 {
		if len(pend) == 0 || len(live) > 0 && live[0].seq < t.pend.at(pend[0]).order() {
			t.finishOne(expiring{at: now, seq: live[0].seq, lf: live[0], reason: "end of capture"})
			live = live[1:]
			continue
		}
		p := t.pend.at(pend[0])
		t.finishOne(expiring{at: now, seq: p.order(), pend: p, reason: "end of capture"})
		pend = pend[1:]
	}
	t.pend.reset()
}

// live is the number of live flows.
func (t *table) liveFlows() int { return len(t.live) + t.pend.len() }

// maphashSeed returns a random seed, so that hostile input cannot aim at
// the flow index's hash.
func maphashSeed() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}
