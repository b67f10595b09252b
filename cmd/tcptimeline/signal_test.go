package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// testBinary builds tcptimeline once for the tests that need a process of
// their own (signals, /dev/full).
func testBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "tcptimeline-test-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "tcptimeline")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = errors.New(string(out))
		}
	})
	if binErr != nil {
		t.Fatalf("go build: %v", binErr)
	}
	return binPath
}

// readBytes is how many bytes process pid has read (Linux /proc), -1 if
// unknown.
func readBytes(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/io")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "rchar: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return -1
}

// interruptLive starts the binary with args on a live capture (stdin a
// pipe that stays open, as from tcpdump -U -w -), waits until it has read
// the capture, sends sig, and returns stdout, stderr and the exit status.
func interruptLive(t *testing.T, sig syscall.Signal, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	data, err := os.ReadFile(formats + "eth.pcap")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testBinary(t), args...)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if _, err := in.Write(data); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for readBytes(cmd.Process.Pid) < int64(len(data)) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	sent := time.Now()
	cmd.Process.Signal(sig)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("%v: still running 20 s after %v", args, sig)
	}
	t.Logf("%v: exited %v after the signal", args, time.Since(sent))
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// SIGINT and SIGTERM stop a live run: what was read is written with the
// partial marker last, a notice goes to stderr, and the status is 130 or
// 143, for every output format.
func TestSignalsStopALiveRun(t *testing.T) {
	for _, c := range []struct {
		sig    syscall.Signal
		code   int
		args   []string
		marker func(string) bool
	}{
		{syscall.SIGINT, 130, []string{"timeline", "-"}, func(s string) bool {
			return strings.Contains(s, "6 flows, 44 TCP segments") && strings.HasPrefix(lastLine(s), "interrupted: ")
		}},
		{syscall.SIGTERM, 143, []string{"summary", "-"}, func(s string) bool { return strings.HasPrefix(lastLine(s), "interrupted: ") }},
		{syscall.SIGTERM, 143, []string{"summary", "--format", "csv", "-"}, func(s string) bool { return strings.HasPrefix(lastLine(s), "# interrupted,") }},
		{syscall.SIGINT, 130, []string{"timeline", "--format", "json", "-"}, func(s string) bool { return strings.Contains(s, `"interrupted":true`) }},
		{syscall.SIGINT, 130, []string{"report", "-"}, func(s string) bool { return strings.Contains(s, "Partial report") }},
		{syscall.SIGINT, 130, []string{"timeline", "--fail-on", "synack-after-ack", "-"}, func(s string) bool { return strings.HasPrefix(lastLine(s), "interrupted: ") }},
	} {
		t.Run(strings.Join(c.args, " ")+" "+sigName(c.sig), func(t *testing.T) {
			stdout, stderr, code := interruptLive(t, c.sig, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr %q", code, c.code, stderr)
			}
			if !c.marker(stdout) {
				t.Errorf("no partial marker in the result:\n%s", stdout)
			}
			if !strings.Contains(stderr, "interrupted by "+sigName(c.sig)) {
				t.Errorf("stderr %q: no notice", stderr)
			}
		})
	}
}

// An interrupted check passes nothing: no "ok" on partial data, and the
// status is the signal's, not 0.
func TestInterruptedCheckIsNoPass(t *testing.T) {
	stdout, stderr, code := interruptLive(t, syscall.SIGINT, "check", "--forbid", "syn-dropped", "--expect", "synack-after-ack", "-")
	if code != 130 || strings.Contains(stdout, "ok") || !strings.HasPrefix(lastLine(stdout), "interrupted: ") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 130, no ok, the marker", code, stdout, stderr)
	}
}

// A write error on standard output exits 2 with a message, for every
// command that writes there.
func TestWriteErrorOnStdoutExitsTwo(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	bin := testBinary(t)
	seed := "../../testdata/seed002/seed002.pcap"
	for _, args := range [][]string{
		{"check", "--forbid", "ghost-connection", seed},
		{"timeline", seed},
		{"summary", "--format", "csv", seed},
		{"report", seed},
		{"chart", seed},
		{"ladder", seed},
	} {
		full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, args...)
		var errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = full, &errOut
		cmd.Run()
		full.Close()
		if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(errOut.String(), "cannot write standard output") {
			t.Errorf("%v > /dev/full: exit %d, stderr %q; want 2 and the write error", args, code, errOut.String())
		}
	}
	_ = io.Discard
}
