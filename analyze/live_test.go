package analyze

import (
	"context"
	"io"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// quietPipe gives a capture's bytes, then waits as a live pipe would,
// telling the run a second of silence at a time (QuietSource) until the
// test lets it end.
type quietPipe struct {
	data  []byte
	quiet func(int64)
	end   chan struct{}
	ended atomic.Bool
	ticks int
}

func (q *quietPipe) OnQuiet(f func(int64)) { q.quiet = f }

func (q *quietPipe) Read(p []byte) (int, error) {
	if len(q.data) > 0 {
		n := copy(p, q.data)
		q.data = q.data[n:]
		return n, nil
	}
	for {
		select {
		case <-q.end:
			q.ended.Store(true)
			return 0, io.EOF
		case <-time.After(5 * time.Millisecond):
			if q.ticks < 100 {
				q.ticks++
				q.quiet(1e9)
			}
		}
	}
}

// On live input the silence of the input moves the capture's time on: a
// closed flow is handed out once its linger passed, before the input ends,
// and the flows of a live run are not held for late packets.
func TestQuietInputHandsOutFinishedFlows(t *testing.T) {
	data, err := os.ReadFile("../testdata/streams/port-reuse.pcap")
	if err != nil {
		t.Fatal(err)
	}
	q := &quietPipe{data: data, end: make(chan struct{})}
	r, err := NewCaptureReader("pipe", q, 0)
	if err != nil {
		t.Fatal(err)
	}
	var before, after int
	sum, err := Run(context.Background(), []*CaptureReader{r}, Options{Live: true}, func(f *Flow) error {
		if q.ended.Load() {
			after++
		} else {
			before++
		}
		if before+after == 3 {
			close(q.end)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if before != 3 || after != 0 || sum.Flows != 3 || sum.Interrupted {
		t.Errorf("%d flows handed out before the input ended, %d after, %d in all (want 3, 0, 3)", before, after, sum.Flows)
	}
	if q.ticks < 2 {
		t.Errorf("%d seconds of silence before the last flow, want at least its 2 s linger", q.ticks)
	}
}
