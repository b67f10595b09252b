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
	// per live flow.
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
// analysing one, so that decoding and analysis use both cores.
type batch struct {
	segs []flowstate.Segment
	err  error
}

const batchSize = 512

// Run reads the captures as one capture merged by timestamp, analyses
// every TCP flow, and hands each finished flow to emit in the order flows
// finish (ties by first packet). Reading and decoding run in their own
// goroutine. When ctx is cancelled, Run stops reading, finishes the flows
// it has, and returns with Summary.Interrupted set. An error from emit
// stops the run and is returned.
func Run(ctx context.Context, readers []*CaptureReader, opts Options, emit func(*Flow) error) (*Summary, error) {
	sum := &Summary{LabelFlows: make(map[flowstate.Label]int)}
	ls := newListeners()
	var emitErr error
	id := 0
	tbl := newTable(flowstate.Config{Record: opts.Record}, opts.Timeouts, func(f *flowstate.Flow) {
		agg := ls.get(f)
		v := flowVantage(f)
		if v == VantageUnknown {
			v = agg.vantage()
		}
		agg.add(f, flowVantage(f))
		sum.Flows++
		for _, l := range f.Labels.List() {
			sum.LabelFlows[l]++
		}
		if emitErr != nil {
			return
		}
		id++
		out := &Flow{Flow: f, ID: id, Client: addrPort(&f.EP[flowstate.Client]),
			Server: addrPort(&f.EP[flowstate.Server]), Vantage: v, Origin: sum.Origin}
		out.explain()
		emitErr = emit(out)
	})

	free := make(chan *batch, 8)
	full := make(chan *batch, 8)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(full)
		src := NewMerger(readers)
		for {
			var b *batch
			select {
			case b = <-free:
				b.segs = b.segs[:0]
			default:
				b = &batch{segs: make([]flowstate.Segment, 0, batchSize)}
			}
			for len(b.segs) < batchSize {
				b.segs = b.segs[:len(b.segs)+1]
				if err := src.Next(&b.segs[len(b.segs)-1]); err != nil {
					b.segs = b.segs[:len(b.segs)-1]
					if !errors.Is(err, io.EOF) {
						b.err = err
					} else {
						b.err = io.EOF
					}
					break
				}
			}
			select {
			case full <- b:
			case <-stop:
				return
			}
			if b.err != nil {
				return
			}
		}
	}()

	var last int64
loop:
	for {
		select {
		case <-ctx.Done():
			sum.Interrupted = true
			break loop
		case b, ok := <-full:
			if !ok {
				break loop
			}
			for i := range b.segs {
				seg := &b.segs[i]
				if sum.Origin == 0 {
					sum.Origin = seg.Time
				}
				if seg.Time > last {
					last = seg.Time
				}
				if opts.Match != nil && !opts.Match(seg) {
					continue
				}
				sum.Segments++
				tbl.add(seg)
				if n := tbl.live(); n > sum.MaxLive {
					sum.MaxLive = n
				}
				if emitErr != nil {
					break loop
				}
			}
			if b.err != nil && !errors.Is(b.err, io.EOF) && emitErr == nil {
				emitErr = b.err
			}
			if b.err != nil {
				break loop
			}
			select {
			case free <- b:
			default:
			}
		}
	}
	close(stop)
	// The reader may be blocked on a pipe; wait for it briefly so that its
	// counters can be read safely, and report them only if it stopped.
	readerDone := true
	select {
	case <-done:
	case <-time.After(time.Second):
		readerDone = false
	}
	sum.End = last
	tbl.flush(last)
	if readerDone {
		for _, r := range readers {
			sum.Captures = append(sum.Captures, r.Info())
		}
	}
	for _, a := range ls.order {
		sum.Listeners = append(sum.Listeners, a.finish())
	}
	return sum, emitErr
}
