package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer written by the run and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Live input (tcpdump -U -w - | tcptimeline timeline -): on a pipe, a flow
// is printed once it finished, while the input is still open, without an
// interrupt: the pipe's silence moves the capture's time on (a second a
// second), past the 2 s linger of the closed flows.
func TestLivePrintsFlowsBeforeTheInputEnds(t *testing.T) {
	data, err := os.ReadFile(formats + "eth.pcap")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("stdin", func(t *testing.T) {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pr.Close()
		liveRun(t, data, pr, "-", func() (*os.File, error) { return pw, nil })
	})
	t.Run("fifo", func(t *testing.T) {
		fifo := filepath.Join(t.TempDir(), "capture.fifo")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Skip("no FIFO here:", err)
		}
		liveRun(t, data, nil, fifo, func() (*os.File, error) { return os.OpenFile(fifo, os.O_WRONLY, 0) })
	})
}

// liveRun runs the timeline on file (with in as stdin), writes data to
// the writer open gives, and waits for the first flow with the writer
// still open.
func liveRun(t *testing.T, data []byte, in *os.File, file string, open func() (*os.File, error)) {
	var out, errOut lockedBuffer
	done := make(chan int, 1)
	go func() {
		streams := &IOStreams{Out: &out, ErrOut: &errOut}
		if in != nil {
			streams.In = in
		}
		done <- Main(context.Background(), []string{"timeline", "--color", "never", file}, streams)
	}()
	pw, err := open() // a FIFO's opens for reading and writing wait for each other
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pw.Write(data); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(60 * time.Second)
	for !strings.HasPrefix(out.String(), "flow 1 ") {
		select {
		case code := <-done:
			t.Fatalf("the run ended (exit %d) with its input still open: %s", code, errOut.String())
		case <-deadline:
			pw.Close()
			t.Fatalf("no flow printed in 60 s of an open input; output so far:\n%s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if strings.Contains(out.String(), "TCP segments") {
		t.Errorf("the totals were printed before the input ended:\n%s", out.String())
	}
	pw.Close()
	if code := <-done; code != 0 {
		t.Errorf("exit %d: %s", code, errOut.String())
	}
	if s := out.String(); !strings.Contains(s, "6 flows, 44 TCP segments") || !strings.Contains(s, "flow 6 ") {
		t.Errorf("want the 6 flows and the totals once the input ended:\n%s", s)
	}
}
