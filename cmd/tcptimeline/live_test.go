package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"sync"
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
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	var out, errOut lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(context.Background(), []string{"timeline", "--color", "never", "-"}, &IOStreams{In: pr, Out: &out, ErrOut: &errOut})
	}()
	if _, err := pw.Write(data); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(60 * time.Second)
	for !strings.Contains(out.String(), "\nflow 1 ") && !strings.HasPrefix(out.String(), "flow 1 ") {
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
