package analyze

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// maxRecycledPackets is the most recorded packets a recycled flow keeps
// room for.
const maxRecycledPackets = 1 << 12

// Options configure a run.
type Options struct {
	// Record keeps every packet of every flow with its annotations, for
	// timelines. Summaries leave it off, so memory holds only counters
	// per live flow; then the *Flow handed to emit is recycled once emit
	// returns, and emit must not keep it.
	Record bool
	// RecordLimit, with Record, keeps at most this many packets of a flow:
	// its first and last halves; the middle is counted (Flow.Elided). 0
	// keeps every packet.
	RecordLimit int
	// Reuse, with Record, promises that emit does not keep the *Flow
	// after it returns (a renderer that writes each flow at once): it is
	// then recycled as without Record, and a long run of short flows
	// costs no garbage per flow.
	Reuse bool
	// Timeouts decide when live flows are finished; zero fields take the
	// defaults.
	Timeouts Timeouts
	// Live says the input is live (a pipe from tcpdump -w -): a flow is
	// handed out as soon as it finishes (its close plus Linger, or its
	// idle timeout). Otherwise a finished flow is held for late packets
	// (Timeouts.Hold) before it is handed out, so that one flow is one
	// tshark tcp.stream (see table.holdExtra).
	Live bool
	// Match, when set, keeps only the segments it accepts: the rest are
	// not analysed at all, and listener views cover only those kept.
	Match func(*flowstate.Segment) bool
	// Show, when set, picks the finished flows handed to emit; the others
	// are analysed (flow numbers and listener views cover them) and
	// counted in Summary.Hidden and Listener.Hidden. The command line's
	// filters use it, so that a filter never changes a conclusion.
	Show func(*Flow) bool
	// Addresses, when set, numbers the addresses of every packet read,
	// before Match, in order of first appearance (AddrOrder).
	Addresses *AddrOrder
	// Progress, when set, counts the TCP segments read so far, for a
	// progress line; it is updated every few thousand segments.
	Progress *atomic.Int64
	// Vantages maps each input file (by index) to its vantage point, when
	// the caller says (--vantage): files of one vantage are pieces of one
	// capture (a ring), files of different vantages captured the same
	// packets at different points. Without it, every file is its own
	// vantage: pieces of a ring never share a packet, so it matters only
	// when one does.
	Vantages []int32
	// VantageNames names each file's vantage as the caller gave it
	// (Capture.VantageName); "" for none.
	VantageNames []string

	multiVantage bool // set by run: several files
}

// flowConfig is the state machine's configuration for a run.
func (o *Options) flowConfig() flowstate.Config {
	return flowstate.Config{Record: o.Record, RecordLimit: o.RecordLimit, MultiVantage: o.multiVantage, Vantages: o.Vantages}
}

// Summary is what a run reports once every flow has been handed out: the
// per-capture and per-listener views, and totals.
type Summary struct {
	Captures  []*Capture
	Listeners []*Listener
	// Origin and End are the times of the run's first and last TCP
	// segments, in nanoseconds since the Unix epoch, when HasTime (the
	// run read a TCP segment; 0 is a time like any other).
	Origin, End int64
	HasTime     bool
	Segments    int64 // TCP segments analysed (after Match)
	// SeenAgain counts, in a run of several vantage points, the segments
	// that were another point's record of a packet already held: Segments
	// minus SeenAgain packets were analysed.
	SeenAgain int64
	Flows     int
	// LabelFlows counts, per label, the flows that carry it.
	LabelFlows map[flowstate.Label]int
	// CaptureLossFlows counts flows in which a side acknowledged data the
	// capture never saw.
	CaptureLossFlows int
	// Hidden counts the flows Options.Show did not hand out.
	Hidden int
	// RepliesMissingFlows counts flows whose client acknowledged a SYN-ACK
	// the capture never held: the capture misses the server's direction
	// of their traffic (asymmetric routing, a one-direction filter).
	RepliesMissingFlows int
	// MaxLive is the most flows live at once: with several flow tables,
	// the sum of each table's most, an upper bound.
	MaxLive int
	// Interrupted is set when the run was cancelled before the end of its
	// input; everything read until then was analysed.
	Interrupted bool
	// HeldEarly counts the finished flows handed out before their hold
	// was over because the tables held as many as they may (holdAbove);
	// HeldCut counts the flows a late packet on one of them started, each
	// a piece of a tshark stream. Warnings then says so.
	HeldEarly, HeldCut int64
	// Warnings are the run's own warnings (the captures' are in
	// Captures).
	Warnings []string
	// Traffic: bytes, retransmissions and stalls of all flows (traffic.go).
	Traffic
}

// batch is a slice of segments handed from the reading goroutine to a
// shard's flow table. Watermark is the time of the latest segment read so
// far: the shard may sweep its table up to it even when the batch is empty.
type batch struct {
	segs   []flowstate.Segment
	hashes []uint64 // hashes[i] is the hash of segs[i]'s flow key
	// clock[i] is the run's clock when segs[i] was read: the latest segment
	// time so far, which never goes backwards (see table).
	clock     []int64
	tick      bool  // sent because the input was silent: sweep to watermark, and say so
	origin    int64 // the run's first segment time, when hasOrigin
	hasOrigin bool
	watermark int64
	err       error // io.EOF at the end
}

// flowBatch carries finished flows from a shard to the goroutine that
// merges, aggregates and emits them. Every flow the shard finishes later
// finishes after Safe (strictly), so the merge can release flows that
// finish before it.
type flowBatch struct {
	shard     int
	flows     []finished
	origin    int64 // the run's first segment time, when hasOrigin
	hasOrigin bool
	last      int64 // the latest segment time the shard heard of
	safe      int64
	segments  int64
	maxLive   int
	early     int64 // flows handed out before their hold was over, since the last batch
	cut       int64 // flows started by a late packet on one of them, since the last batch
	final     bool
	err       error
}

const (
	batchSize     = 512
	flowBatchSize = 256
	// batchesQueued is how many batches may wait for each shard. With
	// four, the reader and the shards took turns blocking on each other
	// (summary 10% slower on the medium benchmark capture); sixteen let
	// each side work through the other's bursts, for about 1 MB a shard.
	batchesQueued = 16
	// staleBatches: a shard that got no segments while this many batches
	// went to others is sent its partial batch anyway, so that its sweeps,
	// and the merge, keep up.
	staleBatches = 4
)

// readerGrace is how long, after an interrupt, the run waits for a
// reader blocked on its input (a live capture on a pipe) before it
// finishes without it, and again for its counters: together well under
// the second within which an interrupted run must end.
const readerGrace = 250 * time.Millisecond

// shardCount is how many flow tables share the analysis: one per core, so
// that with the decoder they keep the cores busy; at most 8.
func shardCount() int { return min(max(runtime.GOMAXPROCS(0), 1), 8) }

// Run reads the captures as one capture merged by timestamp, analyses
// every TCP flow, and hands each finished flow to emit in the order flows
// finish (ties by first packet). The work is shared by a goroutine that
// reads and decodes, flow tables sharded by flow (one goroutine each), and
// the caller's goroutine, which merges the shards' finished flows into that
// one order, builds the listener views and calls emit; the output does not
// depend on the number of shards or on scheduling. When ctx is cancelled,
// Run stops reading, finishes the flows it has, and returns with
// Summary.Interrupted set. An error from emit stops the run and is
// returned.
func Run(ctx context.Context, readers []*CaptureReader, opts Options, emit func(*Flow) error) (*Summary, error) {
	return run(ctx, readers, opts, emit, shardCount())
}

func run(ctx context.Context, readers []*CaptureReader, opts Options, emit func(*Flow) error, shards int) (*Summary, error) {
	opts.multiVantage = len(readers) > 1
	if opts.multiVantage {
		alignClocks(readers, opts.Vantages)
	}
	hasher := keyHasher(maphashSeed())
	// Stage 1: read, decode, dispatch by flow.
	in := make([]chan *batch, shards)
	free := make([]chan *batch, shards)
	for i := range in {
		in[i] = make(chan *batch, batchesQueued)
		free[i] = make(chan *batch, batchesQueued+4) // room for every batch in circulation: none is allocated twice
	}
	stopRead := make(chan struct{})
	stopTables := make(chan struct{})
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		var origin, last int64
		hasOrigin := false
		cur := make([]*batch, shards)
		age := make([]int, shards)
		get := func(i int) *batch {
			select {
			case b := <-free[i]:
				b.segs, b.hashes, b.clock, b.err, b.tick = b.segs[:0], b.hashes[:0], b.clock[:0], nil, false
				return b
			default:
				return &batch{segs: make([]flowstate.Segment, 0, batchSize), hashes: make([]uint64, 0, batchSize), clock: make([]int64, 0, batchSize)}
			}
		}
		for i := range cur {
			cur[i] = get(i)
		}
		send := func(i int, err error) bool {
			b := cur[i]
			b.origin, b.hasOrigin, b.watermark, b.err = origin, hasOrigin, last, err
			select {
			case in[i] <- b:
			case <-stopTables:
				return false // the tables are gone: an emit error, or a reader stuck after an interrupt
			}
			cur[i], age[i] = get(i), 0
			return true
		}
		defer func() {
			for i := range in {
				close(in[i])
			}
		}()
		src := NewMerger(readers)
		// Before a read that may wait (a live capture between packets),
		// hand out what was read, so that it is analysed meanwhile; after
		// an interrupt, hand it out and end here: everything read until
		// then is analysed.
		onRead := func() {
			for i := range cur {
				if len(cur[i].segs) > 0 && !send(i, nil) {
					runtime.Goexit()
				}
			}
			select {
			case <-stopRead:
				for i := range cur {
					send(i, io.EOF)
				}
				runtime.Goexit() // runs the deferred closes
			default:
			}
		}
		jump := max(opts.Timeouts.withDefaults().Handshake, opts.Timeouts.withDefaults().Idle)
		for _, r := range readers {
			r.OnRead(onRead)
			r.jump = jump
		}
		// A live input silent for a while: the capture's time moves on
		// by as much (the run's clock), every table sweeps to it and says
		// so, and the flows finished by then are handed out. One input
		// only: with others merged beside it, their records would be
		// behind the clock.
		if len(readers) == 1 && readers[0].quiet != nil {
			readers[0].jump = liveJump
			readers[0].quiet.OnQuiet(func(quiet int64) {
				onRead()
				if !hasOrigin || quiet <= 0 {
					return
				}
				last += quiet
				for i := range cur {
					cur[i].tick = true
					if !send(i, nil) {
						runtime.Goexit()
					}
				}
			})
		}
		var seg flowstate.Segment
		for order := int64(0); ; order++ {
			if opts.Progress != nil && order&4095 == 0 {
				opts.Progress.Store(order)
			}
			err := src.Next(&seg)
			seg.Order = order
			if err != nil {
				for i := range cur {
					if !send(i, err) {
						return
					}
				}
				return
			}
			if !hasOrigin {
				origin, last, hasOrigin = seg.Time, seg.Time, true
			}
			last = max(last, seg.Time)
			if opts.Addresses != nil {
				opts.Addresses.see(&seg)
			}
			if opts.Match != nil && !opts.Match(&seg) {
				continue
			}
			k := keyOf(&seg)
			h := hasher.hash(&k)
			i := shardOf(&k, shards)
			cur[i].segs = append(cur[i].segs, seg)
			cur[i].hashes = append(cur[i].hashes, h)
			cur[i].clock = append(cur[i].clock, last)
			if len(cur[i].segs) < batchSize {
				continue
			}
			if !send(i, nil) {
				return
			}
			for j := range cur {
				if j != i {
					if age[j]++; age[j] >= staleBatches && !send(j, nil) {
						return
					}
				}
			}
		}
	}()

	// Stage 2: the flow tables, one goroutine per shard.
	out := make(chan *flowBatch, 4*shards)
	spareBatches := make(chan *flowBatch, 8*shards)
	var recycle chan *flowstate.Flow
	if !opts.Record || opts.Reuse {
		recycle = make(chan *flowstate.Flow, 4096)
	}
	var tables sync.WaitGroup
	for i := 0; i < shards; i++ {
		tables.Add(1)
		go func() {
			defer tables.Done()
			runShard(i, shards, in[i], free[i], out, spareBatches, stopTables, recycle, hasher, opts)
		}()
	}
	go func() { tables.Wait(); close(out) }()

	// Stage 3, here: merge, listener views, emit.
	sum := &Summary{LabelFlows: make(map[flowstate.Label]int)}
	ls := newListeners()
	var vs vantageStats
	var emitErr error
	id := 0
	var fl Flow // reused for every flow when nothing is recorded
	// stop ends reading; stopAll ends the tables too. After an interrupt
	// the reader hands over what it read and ends by itself; if it is stuck
	// waiting for input, the tables are stopped readerGrace later anyway.
	var readStop, tablesStop sync.Once
	stopReading := func() { readStop.Do(func() { close(stopRead) }) }
	stopAll := func() {
		stopReading()
		tablesStop.Do(func() { close(stopTables) })
	}
	var grace *time.Timer
	defer func() {
		if grace != nil {
			grace.Stop()
		}
	}()
	cfg := opts.flowConfig()
	handle := func(x *finished) {
		var recycled *flowstate.Flow
		if x.F == nil && recycle != nil {
			select {
			case recycled = <-recycle:
			default:
			}
		}
		f := x.flow(cfg, recycled)
		agg := ls.get(f)
		vs.add(f, agg.l.Server)
		v, basis := flowVantage(f)
		if mv, mb, ok := mergedVantage(f); ok {
			v, basis = mv, mb
		}
		agg.add(f, v, basis)
		if lv := agg.vantage(); v == VantageUnknown && lv != VantageUnknown || basis == BasisDirectionOnly && lv == VantageSameHost {
			v, basis = lv, BasisListener
		}
		sum.Flows++
		sum.SeenAgain += int64(f.Sighted())
		if f.AckedUnseen > 0 {
			sum.CaptureLossFlows++
		}
		if f.RepliesMissing {
			sum.RepliesMissingFlows++
		}
		sum.Traffic.add(f)
		for _, l := range f.Labels.List() {
			sum.LabelFlows[l]++
		}
		if emitErr == nil {
			id++
			p := &fl
			if opts.Record && !opts.Reuse {
				p = new(Flow)
			}
			*p = Flow{Flow: f, ID: id, Client: addrPort(&f.EP[flowstate.Client]),
				Server: addrPort(&f.EP[flowstate.Server]), Vantage: v, VantageBasis: basis, Origin: sum.Origin}
			if opts.multiVantage && opts.Record {
				p.collectSeen()
			}
			if opts.Show != nil && !opts.Show(p) {
				sum.Hidden++
				agg.l.Hidden++
			} else {
				if p.explain(agg.noteContext()) {
					agg.zeroOffered++
				}
				if emitErr = emit(p); emitErr != nil {
					stopAll()
				}
			}
		}
		if recycle != nil {
			if cap(f.Packets) > maxRecycledPackets {
				f.Packets = nil // a huge flow's record is not kept for the next
			}
			select {
			case recycle <- f:
			default:
			}
		}
	}
	m := newShardMerge(shards)
	done := ctx.Done()
	for {
		var fb *flowBatch
		var ok bool
		select {
		case <-done:
			sum.Interrupted = true
			stopReading()
			grace = time.AfterFunc(readerGrace, stopAll)
			done = nil
			continue
		case fb, ok = <-out:
		}
		if !ok {
			break
		}
		if fb.err != nil && emitErr == nil {
			emitErr = fb.err
		}
		sum.Segments += fb.segments
		sum.HeldEarly += fb.early
		sum.HeldCut += fb.cut
		if !sum.HasTime && fb.hasOrigin {
			sum.Origin, sum.End, sum.HasTime = fb.origin, fb.last, true
			ls.origin = sum.Origin
		}
		if fb.hasOrigin {
			sum.End = max(sum.End, fb.last)
		}
		if fb.final {
			sum.MaxLive += fb.maxLive
		}
		m.add(fb)
		clear(fb.flows)
		select {
		case spareBatches <- fb:
		default:
		}
		m.release(handle)
	}
	m.release(handle)
	stopAll()
	// The reader may be blocked on a pipe; wait for it briefly so that its
	// counters can be read safely, and report them only if it stopped.
	select {
	case <-readDone:
		for _, r := range readers {
			sum.Captures = append(sum.Captures, r.Info())
		}
		vs.finish(sum.Captures)
		for i, r := range readers {
			// Offsets measured on shifted times: add the shift back.
			if c := sum.Captures[i]; r.shift != 0 && c.ClockOffset != nil {
				off := *c.ClockOffset + float64(r.shift)/1e9
				c.ClockOffset = &off
			}
		}
		for i, c := range sum.Captures {
			if i < len(opts.VantageNames) {
				c.VantageName = opts.VantageNames[i]
			}
		}
	case <-time.After(readerGrace):
	}
	for _, a := range ls.order {
		sum.Listeners = append(sum.Listeners, a.finish())
	}
	if sum.HeldCut > 0 {
		// Only then: a busy capture often holds more than the cap, and
		// handing flows out early changes nothing until a late packet
		// comes for one.
		sum.Warnings = append(sum.Warnings, fmt.Sprintf("more than %d finished flows were held at once for late packets, so %d were reported before their hold was over; "+
			"late packets on %d of them started new flows caught mid-stream where tshark keeps one stream (which flows, depends on the number of cores)",
			holdAbove, sum.HeldEarly, sum.HeldCut))
	}
	return sum, emitErr
}

// runShard is one shard's flow table: it analyses the segments it is
// given and sends its finished flows on, in order, with how far it has
// swept.
func runShard(shard, shards int, in <-chan *batch, free chan<- *batch, out chan<- *flowBatch, spare <-chan *flowBatch,
	stop <-chan struct{}, recycle chan *flowstate.Flow, hasher keyHasher, opts Options) {
	cur := &flowBatch{shard: shard}
	var segments int64
	maxLive := 0
	var origin, last, safe, early, cut int64
	hasOrigin := false
	var tbl *table
	send := func(final bool, err error) {
		cur.final, cur.err, cur.segments, cur.safe = final, err, segments, safe
		cur.maxLive, cur.origin, cur.hasOrigin, cur.last = maxLive, origin, hasOrigin, last
		cur.early, early = tbl.early-early, tbl.early
		cur.cut, cut = tbl.cut-cut, tbl.cut
		out <- cur
		segments = 0
		select {
		case cur = <-spare:
			*cur = flowBatch{shard: shard, flows: cur.flows[:0]}
		default:
			cur = &flowBatch{shard: shard, flows: make([]finished, 0, flowBatchSize)}
		}
	}
	// Flows go out in batches of at most flowBatchSize, also in the middle
	// of a sweep (then with the safe time from before it), so that a sweep
	// that finishes a million flows holds none of them for long.
	tbl = newTable(opts.flowConfig(), opts.Timeouts, hasher, func(x finished) {
		cur.flows = append(cur.flows, x)
		if len(cur.flows) >= flowBatchSize {
			send(false, nil)
		}
	})
	tbl.recycle = recycle
	tbl.fullMax = pendingAbove / shards
	tbl.holdFlows = !opts.Live
	tbl.holdMax = max(holdAbove/shards, 1)
	var err error
loop:
	for {
		select {
		case <-stop:
			// Interrupted: analyse what was already handed over, then
			// finish.
			for {
				select {
				case b, ok := <-in:
					if ok {
						for i := range b.segs {
							tbl.add(&b.segs[i], b.hashes[i], b.clock[i])
						}
						segments += int64(len(b.segs))
						if !hasOrigin && b.hasOrigin {
							origin, last, hasOrigin = b.origin, b.watermark, true
						}
						last = max(last, b.watermark)
						continue
					}
				default:
				}
				break
			}
			break loop
		case b, ok := <-in:
			if !ok {
				break loop
			}
			for i := range b.segs {
				tbl.add(&b.segs[i], b.hashes[i], b.clock[i])
				maxLive = max(maxLive, tbl.liveFlows())
			}
			segments += int64(len(b.segs))
			if !hasOrigin && b.hasOrigin {
				origin, last, hasOrigin = b.origin, b.watermark, true
			}
			last = max(last, b.watermark)
			if b.err != nil {
				if !errors.Is(b.err, io.EOF) {
					err = b.err
				}
				break loop
			}
			if b.watermark >= tbl.nextSweep || b.tick {
				tbl.expire(b.watermark)
			}
			tick := b.tick
			select {
			case free <- b:
			default:
			}
			safe = tbl.swept
			if len(cur.flows) > 0 || segments > 0 || tick {
				send(false, nil)
			}
		}
	}
	tbl.flush(last)
	safe = math.MaxInt64
	send(true, err)
}

// shardMerge merges the shards' finished flows, each shard's sorted by
// (finish time, first segment), into one such order. A flow is released
// when no shard can still finish one before it: every other shard either
// has a later flow waiting, or has swept past its finish time, or is done.
type shardMerge struct {
	queues [][]finished // per shard; the flows waiting are queues[i][heads[i]:]
	heads  []int
	safe   []int64
}

func newShardMerge(n int) *shardMerge {
	return &shardMerge{queues: make([][]finished, n), heads: make([]int, n), safe: make([]int64, n)}
}

func (m *shardMerge) add(fb *flowBatch) {
	i := fb.shard
	q := m.queues[i]
	if h := m.heads[i]; h > 0 && len(q)+len(fb.flows) > cap(q) {
		// Move the waiting flows down over the released ones rather than
		// grow the array.
		n := copy(q, q[h:])
		clear(q[n:])
		q, m.heads[i] = q[:n], 0
	}
	for j := range fb.flows {
		if f := fb.flows[j].F; f != nil {
			warm(f)
		}
	}
	m.queues[i] = append(q, fb.flows...)
	m.safe[i] = fb.safe
}

// head returns shard i's first waiting flow, or nil.
func (m *shardMerge) head(i int) *finished {
	if m.heads[i] < len(m.queues[i]) {
		return &m.queues[i][m.heads[i]]
	}
	return nil
}

func before(a, b *finished) bool {
	if a.At != b.At {
		return a.At < b.At
	}
	return a.Order < b.Order
}

func (m *shardMerge) release(handle func(*finished)) {
	for {
		var x *finished
		best := -1
		for i := range m.queues {
			if h := m.head(i); h != nil && (x == nil || before(h, x)) {
				x, best = h, i
			}
		}
		if x == nil {
			return
		}
		for i := range m.queues {
			if i != best && m.head(i) == nil && m.safe[i] <= x.At {
				return // shard i may still finish a flow before x
			}
		}
		handle(x)
		*x = finished{}
		if m.heads[best]++; m.heads[best] == len(m.queues[best]) {
			m.queues[best], m.heads[best] = m.queues[best][:0], 0
		}
	}
}
