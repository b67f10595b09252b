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
			if q.ticks == 100 {
				q.ended.Store(true) // the test failed: end anyway
				return 0, io.EOF
			}
			q.ticks++
			q.quiet(1e9)
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

// On live input a record is handed out as it comes, not held until the
// next one to judge its timestamp: a lone SYN, unanswered, is finished
// once its handshake timeout passed in silence, before the input ends.
func TestQuietInputLoneSYN(t *testing.T) {
	data, err := os.ReadFile("../testdata/streams/port-reuse.pcap")
	if err != nil {
		t.Fatal(err)
	}
	// The file header and the first record, a SYN (16-byte record header
	// and its captured length).
	n := 24 + 16 + int(uint32(data[24+8])|uint32(data[24+9])<<8|uint32(data[24+10])<<16|uint32(data[24+11])<<24)
	q := &quietPipe{data: data[:n], end: make(chan struct{})}
	r, err := NewCaptureReader("pipe", q, 0)
	if err != nil {
		t.Fatal(err)
	}
	var before int
	_, err = Run(context.Background(), []*CaptureReader{r}, Options{Live: true, Timeouts: Timeouts{Handshake: 2e9}}, func(f *Flow) error {
		if !q.ended.Load() {
			before++
			close(q.end)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if before != 1 {
		t.Errorf("the lone SYN's flow came out after the input ended")
	}
}
