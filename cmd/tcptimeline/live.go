package main

import (
	"io"
	"os"
	"time"
)

// Live input. A capture read from a pipe or a FIFO (tcpdump -U -w - |
// tcptimeline timeline -) is live: the analysis hands each flow out as
// soon as it finishes instead of holding it for late packets
// (analyze.Options.Live), the timeline is flushed after each flow, and the
// input tells the analysis when no data came for a second of wall time
// (analyze.QuietSource), so that flows whose linger or idle timeout passed
// are printed while tcpdump is still running. The wall clock is read here,
// on the input side, never in the analysis.

// quietAfter is how long the input is silent before the analysis is told.
const quietAfter = time.Second

// isLive reports whether f is a pipe, a FIFO or a socket: input that
// arrives while it is read, not a file.
func isLive(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&(os.ModeNamedPipe|os.ModeSocket) != 0
}

// liveInput reads r in a goroutine of its own, so that a Read waiting for
// data can tell the analysis, every quietAfter, that none came.
type liveInput struct {
	chunks chan []byte
	free   chan []byte
	err    error // the reader's error, once chunks is closed
	rest   []byte
	back   []byte // the chunk rest is in, to give back
	quiet  func(int64)
	every  time.Duration
	timer  *time.Timer
	since  time.Time // the last data, or the last silence told
}

func newLiveInput(r io.Reader, every time.Duration) *liveInput {
	l := &liveInput{chunks: make(chan []byte, 4), free: make(chan []byte, 5), every: every}
	for i := 0; i < 5; i++ {
		l.free <- make([]byte, 64<<10)
	}
	go func() {
		defer close(l.chunks)
		for {
			buf := <-l.free
			n, err := r.Read(buf[:cap(buf)])
			if n > 0 {
				l.chunks <- buf[:n]
			} else {
				l.free <- buf
			}
			if err != nil {
				l.err = err // read by Read after chunks is closed
				return
			}
		}
	}()
	return l
}

// OnQuiet implements analyze.QuietSource.
func (l *liveInput) OnQuiet(f func(int64)) { l.quiet = f }

func (l *liveInput) Read(p []byte) (int, error) {
	if len(l.rest) == 0 {
		if l.back != nil {
			l.free <- l.back
			l.back = nil
		}
		for l.rest == nil {
			var chunk []byte
			var ok bool
			if l.quiet == nil {
				chunk, ok = <-l.chunks
			} else {
				if l.timer == nil {
					l.timer = time.NewTimer(l.every)
				} else {
					l.timer.Reset(l.every)
				}
				if l.since.IsZero() {
					l.since = time.Now()
				}
				select {
				case chunk, ok = <-l.chunks:
					l.timer.Stop()
					l.since = time.Time{}
				case <-l.timer.C:
					// The silence as measured (at least every): a timer
					// fires late, never early.
					now := time.Now()
					l.quiet(int64(now.Sub(l.since)))
					l.since = now
					continue
				}
			}
			if !ok {
				if l.err == nil {
					return 0, io.EOF
				}
				return 0, l.err
			}
			l.rest, l.back = chunk, chunk
		}
	}
	n := copy(p, l.rest)
	l.rest = l.rest[n:]
	if len(l.rest) == 0 {
		l.rest = nil
	}
	return n, nil
}
