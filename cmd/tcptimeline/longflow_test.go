package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcptimeline/tcptimeline/analyze/render"
)

// capgen writes one of capgen's hostile shapes to a file in dir.
func capgen(t *testing.T, dir string, args ...string) string {
	t.Helper()
	bin := filepath.Join(filepath.Dir(testBinary(t)), "capgen")
	if _, err := os.Stat(bin); err != nil {
		if out, err := exec.Command("go", "build", "-o", bin, "../capgen").CombinedOutput(); err != nil {
			t.Fatalf("go build capgen: %v\n%s", err, out)
		}
	}
	out := filepath.Join(dir, "shape.pcap")
	if b, err := exec.Command(bin, append(args, "-q", "-o", out)...).CombinedOutput(); err != nil {
		t.Fatalf("capgen %v: %v\n%s", args, err, b)
	}
	return out
}

// A labelled flow of 100,000 packets (capgen -shape labelled-flow; a
// 200,000-packet one once made a 142 MB "self-contained" report): the
// ladder draws LadderMaxPackets arrows and says how many it left out; the
// HTML report stays small and says it shows the flow's first and last
// packets; the text timeline stays complete.
func TestLongFlowOutputsAreBounded(t *testing.T) {
	dir := t.TempDir()
	capture := capgen(t, dir, "-shape", "labelled-flow", "-packets", "100000")
	svg, stderr, code := run(t, nil, "ladder", "--flow", "1", capture)
	if code != 0 {
		t.Fatalf("ladder: exit %d: %s", code, stderr)
	}
	if n := strings.Count(svg, `class="pkt"`); n != render.LadderMaxPackets || !strings.Contains(svg, "packets not shown") || len(svg) > 2<<20 {
		t.Errorf("ladder: %d arrows, %d bytes, marker %v", n, len(svg), strings.Contains(svg, "packets not shown"))
	}
	page := filepath.Join(dir, "r.html")
	if _, stderr, code := run(t, nil, "report", capture, "-o", page); code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	b, _ := os.ReadFile(page)
	if len(b) > 1<<20 || !strings.Contains(string(b), "A flow of 100000 packets: its first 200 and last 200 are shown") {
		t.Errorf("report: %d bytes; says it elides: %v", len(b), strings.Contains(string(b), "are shown"))
	}
	text, _, _ := run(t, nil, "timeline", "--color", "never", capture)
	if n := strings.Count(text, "\n"); n < 100000 {
		t.Errorf("the timeline has %d lines for 100000 packets", n)
	}
}
