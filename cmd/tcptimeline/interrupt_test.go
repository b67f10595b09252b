package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
)

// A live capture on stdin (tcpdump -U -w - | tcptimeline timeline -) is
// interrupted while tcpdump is still running: what was read is analysed
// and printed, and the run says it was interrupted.
func TestInterruptPrintsWhatWasRead(t *testing.T) {
	data, err := os.ReadFile(formats + "eth.pcap")
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// io.Pipe's Write returns once the reader has taken the bytes:
		// then the whole capture is in, and the "tcpdump" stays open.
		pw.Write(data)
		cancel()
	}()
	var out, errOut bytes.Buffer
	code := Main(ctx, []string{"timeline", "--color", "never", "-"}, &IOStreams{In: pr, Out: &out, ErrOut: &errOut})
	pw.Close()
	if code != 0 {
		t.Errorf("exit %d: %s", code, errOut.String())
	}
	s := out.String()
	if !strings.Contains(s, "6 flows, 44 TCP segments") || !strings.Contains(s, "interrupted") {
		t.Errorf("want the 6 flows read before the interrupt and a note of it:\n%s", s)
	}
}
