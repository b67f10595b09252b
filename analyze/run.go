package analyze

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// Options configure a run.
type Options struct {
	// Record keeps every packet of every flow with its annotations, for
	// timelines. Summaries leave it off, so memory holds only counters
	// per live flow; then the *Flow handed to emit is recycled once emit
	// returns, and emit must not keep it.
	Record bool
	// Timeouts decide when live flows are finished; zero fields take the
	// defaults.
	Timeouts Timeouts
	// Match, when set, keeps only the segments it accepts (host and port
	// filters). Listener views then cover only those segments too.
	Match func(*flowstate.Segment) bool
}

// Summary is what a run reports once every flow has been handed out: the
// per-capture and per-listener views, and totals.
type Summary struct {
	Captures  []*Capture
	Listeners []*Listener
	// Origin and End are the times of the run's first and last TCP
	// segments, in nanoseconds since the Unix epoch.
	Origin, End int64
	Segments    int64 // TCP segments analysed (after Match)
	Flows       int
	// LabelFlows counts, per label, the flows that carry it.
	LabelFlows map[flowstate.Label]int
	// MaxLive is the most flows live at once.
	MaxLive int
	// Interrupted is set when the run was cancelled before the end of its
	// input; everything read until then was analysed.
	Interrupted bool
}

// batch is a slice of segments handed from the reading goroutine to the
// flow table's, so that decoding and analysis use both cores.
type batch struct {
	segs []flowstate.Segment
	err  error
}

// flowBatch carries finished flows from the flow table's goroutine to the
// one that aggregates and emits them, with the table's progress.
type flowBatch struct {
	flows    []*flowstate.Flow
	origin   int64 // the run's first segment time
	last     int64 // the latest segment time seen
	segments int64
	maxLive  int
	err      error
	final    bool
}

const (
	batchSize     = 512
	flowBatchSize = 256
)

// Run reads the captures as one capture merged by timestamp, analyses
// every TCP flow, and hands each finished flow to emit in the order flows
// finish (ties by first packet). Three goroutines share the work: reading
// and decoding, the flow table with its state machines, and this one,
// which builds the listener views and calls emit; emit is always called
// from the goroutine that called Run. When ctx is cancelled, Run stops
// reading, finishes the flows it has, and returns with
// Summary.Interrupted set. An error from emit stops the run and is
// returned.
func Run(ctx context.Context, readers []*CaptureReader, opts Options, emit func(*Flow) error) (*Summary, error) {
	// Stage 1: read and decode.
	freeSegs := make(chan *batch, 8)
	segs := make(chan *batch, 8)
	stopRead := make(chan struct{})
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer close(segs)
		src := NewMerger(readers)
		for {
			var b *batch
			select {
			case b = <-freeSegs:
				b.segs = b.segs[:0]
			default:
				b = &batch{segs: make([]flowstate.Segment, 0, batchSize)}
			}
			for len(b.segs) < batchSize {
				b.segs = b.segs[:len(b.segs)+1]
				if err := src.Next(&b.segs[len(b.segs)-1]); err != nil {
					b.segs = b.segs[:len(b.segs)-1]
					b.err = err
					break
				}
			}
			select {
			case segs <- b:
			case <-stopRead:
				return
			}
			if b.err != nil {
				return
			}
		}
	}()

	// Stage 2: the flow table.
	flows := make(chan *flowBatch, 8)
	stopTable := make(chan struct{})
	var recycle chan *flowstate.Flow
	if !opts.Record {
		recycle = make(chan *flowstate.Flow, 4096)
	}
	go func() {
		defer close(flows)
		cur := &flowBatch{}
		var origin, last, segments int64
		maxLive := 0
		send := func(final bool, err error) {
			cur.origin, cur.last, cur.segments, cur.maxLive, cur.final, cur.err = origin, last, segments, maxLive, final, err
			flows <- cur
			cur = &flowBatch{flows: make([]*flowstate.Flow, 0, flowBatchSize)}
		}
		tbl := newTable(flowstate.Config{Record: opts.Record}, opts.Timeouts, func(f *flowstate.Flow) {
			cur.flows = append(cur.flows, f)
			if len(cur.flows) >= flowBatchSize {
				send(false, nil)
			}
		})
		tbl.recycle = recycle
		var err error
	loop:
		for {
			select {
			case <-stopTable:
				break loop
			case b, ok := <-segs:
				if !ok {
					break loop
				}
				for i := range b.segs {
					seg := &b.segs[i]
					if origin == 0 {
						origin = seg.Time
					}
					last = max(last, seg.Time)
					if opts.Match != nil && !opts.Match(seg) {
						continue
					}
					segments++
					tbl.add(seg)
					maxLive = max(maxLive, tbl.liveFlows())
				}
				if b.err != nil {
					if !errors.Is(b.err, io.EOF) {
						err = b.err
					}
					break loop
				}
				select {
				case freeSegs <- b:
				default:
				}
				if len(cur.flows) > 0 {
					send(false, nil) // keep live captures flowing
				}
			}
		}
		tbl.flush(last)
		send(true, err)
	}()

	// Stage 3, here: listener views and emit.
	sum := &Summary{LabelFlows: make(map[flowstate.Label]int)}
	ls := newListeners()
	var emitErr error
	id := 0
	var out Flow // reused for every flow when nothing is recorded
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			close(stopTable)
			close(stopRead)
		}
	}
	handle := func(f *flowstate.Flow) {
		agg := ls.get(f)
		v := flowVantage(f)
		agg.add(f, v)
		if v == VantageUnknown {
			v = agg.vantage()
		}
		sum.Flows++
		for _, l := range f.Labels.List() {
			sum.LabelFlows[l]++
		}
		if emitErr != nil {
			return
		}
		id++
		fl := &out
		if opts.Record {
			fl = new(Flow)
		}
		*fl = Flow{Flow: f, ID: id, Client: addrPort(&f.EP[flowstate.Client]),
			Server: addrPort(&f.EP[flowstate.Server]), Vantage: v, Origin: sum.Origin}
		fl.explain()
		emitErr = emit(fl)
		if emitErr != nil {
			stop()
		}
	}
	done := ctx.Done()
	for fb := range orDone(done, flows, func() { sum.Interrupted = true; stop(); done = nil }) {
		sum.Origin, sum.End, sum.Segments, sum.MaxLive = fb.origin, fb.last, fb.segments, fb.maxLive
		for _, f := range fb.flows {
			handle(f)
			if recycle != nil {
				select {
				case recycle <- f:
				default:
				}
			}
		}
		if fb.err != nil && emitErr == nil {
			emitErr = fb.err
		}
	}
	stop()
	// The reader may be blocked on a pipe; wait for it briefly so that its
	// counters can be read safely, and report them only if it stopped.
	select {
	case <-readDone:
		for _, r := range readers {
			sum.Captures = append(sum.Captures, r.Info())
		}
	case <-time.After(time.Second):
	}
	for _, a := range ls.order {
		sum.Listeners = append(sum.Listeners, a.finish())
	}
	return sum, emitErr
}

// orDone yields the batches of flows until the channel closes; when done
// fires first, it calls cancel once and goes on draining, so that the flows
// finished on the way out are still reported.
func orDone(done <-chan struct{}, flows <-chan *flowBatch, cancel func()) func(func(*flowBatch) bool) {
	return func(yield func(*flowBatch) bool) {
		for {
			select {
			case <-done:
				cancel()
				done = nil
			case fb, ok := <-flows:
				if !ok || !yield(fb) {
					return
				}
			}
		}
	}
}
