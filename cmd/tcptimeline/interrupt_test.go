package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"
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
	if code != 130 {
		t.Errorf("exit %d, want 130 (interrupted): %s", code, errOut.String())
	}
	s := out.String()
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if !strings.Contains(s, "6 flows, 44 TCP segments") || !strings.HasPrefix(lines[len(lines)-1], "interrupted: ") {
		t.Errorf("want the 6 flows read before the interrupt and the partial marker last:\n%s", s)
	}
	if !strings.Contains(errOut.String(), "interrupted by SIGINT") {
		t.Errorf("no notice on stderr: %q", errOut.String())
	}
}

// On a terminal, a long read shows a progress line on stderr (bytes read,
// packets per second); --quiet, or stderr not a terminal, shows none.
func TestProgressLine(t *testing.T) {
	data, err := os.ReadFile(formats + "eth.pcap")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tty, quiet, want bool
	}{{true, false, true}, {true, true, false}, {false, false, false}} {
		pr, pw := io.Pipe()
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			pw.Write(data)
			if tc.tty {
				// A slow producer: the line refreshes every 500 ms.
				time.Sleep(1500 * time.Millisecond)
			}
			pw.Close()
		}()
		args := []string{"summary", "-"}
		if tc.quiet {
			args = append(args, "--quiet")
		}
		var out, errOut bytes.Buffer
		Main(ctx, args, &IOStreams{In: pr, Out: &out, ErrOut: &errOut, ErrTTY: tc.tty})
		cancel()
		if got := strings.Contains(errOut.String(), "reading: "); got != tc.want {
			t.Errorf("tty %v quiet %v: progress line %v, want %v (stderr %q)", tc.tty, tc.quiet, got, tc.want, errOut.String())
		}
	}
}
