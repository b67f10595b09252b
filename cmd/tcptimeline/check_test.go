package main

import (
	"strings"
	"testing"
)

const seed002 = "../../testdata/seed002/seed002.pcap"

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout []string // substrings
		stderr []string
	}{
		{"pass", []string{"--expect", "synack-after-ack=3", "--expect", "syn-dropped", "--forbid", "ghost-connection"}, 0,
			[]string{"ok: synack-after-ack in 3 flows, as expected", "ok: syn-dropped in 1 flow", "ok: ghost-connection absent", "5 flows checked"}, nil},
		{"wrong count", []string{"--expect", "synack-after-ack=2"}, 1, nil,
			[]string{"check failed:", "expected synack-after-ack in exactly 2 flows, found 3: flow 3 (192.168.172.128:53993 -> 192.168.172.128:8000), flow 4 ("}},
		{"zero expected, some found", []string{"--expect", "syn-dropped=0"}, 1, nil,
			[]string{"expected syn-dropped in exactly 0 flows, found 1"}},
		{"missing", []string{"--expect", "ghost-connection"}, 1, nil,
			[]string{"expected ghost-connection in at least 1 flow, found none"}},
		{"forbidden present", []string{"--forbid", "syn-dropped"}, 1, nil,
			[]string{"forbidden syn-dropped found in 1 flow: flow 5 (192.168.172.128:53995 -> 192.168.172.128:8000)"}},
		{"every mismatch listed", []string{"--expect", "ghost-connection", "--forbid", "syn-dropped"}, 1, nil,
			[]string{"expected ghost-connection", "forbidden syn-dropped"}},
		{"unknown label", []string{"--expect", "ghosts"}, 2, nil, []string{`unknown label "ghosts"`}},
		{"bad count", []string{"--expect", "syn-dropped=many"}, 2, nil, []string{"must be a whole number"}},
		{"unknown forbidden label", []string{"--forbid", "nope"}, 2, nil, []string{`unknown label "nope"`}},
		{"nothing to check", nil, 2, nil, []string{"nothing to check"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := run(t, nil, append([]string{"check", seed002}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout %s\nstderr %s", code, tc.code, stdout, stderr)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			for _, s := range tc.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
		})
	}
	_, stderr, code := run(t, nil, "check", formats+"notcapture.pcap", "--expect", "syn-dropped")
	if code != 2 || !strings.Contains(stderr, "notcapture.pcap") {
		t.Errorf("unreadable capture: exit %d, %q", code, stderr)
	}
}

func TestSummaryFailOnAndFormats(t *testing.T) {
	_, stderr, code := run(t, nil, "summary", "--fail-on", "syn-dropped", seed002)
	if code != 1 || !strings.Contains(stderr, "found syn-dropped in flow 5") {
		t.Errorf("--fail-on: exit %d, %q", code, stderr)
	}
	stdout, _, code := run(t, nil, "summary", "--format", "csv", seed002)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if code != 0 || len(lines) != 6 || !strings.HasPrefix(lines[0], "id,client,server,") {
		t.Errorf("csv: exit %d, %d lines:\n%s", code, len(lines), stdout)
	}
	stdout, _, _ = run(t, nil, "summary", "--anonymize", seed002)
	if strings.Contains(stdout, "192.168.") || !strings.Contains(stdout, "host-1:53995") {
		t.Errorf("--anonymize left an address or lost the port:\n%s", stdout)
	}
	_, _, code = run(t, nil, "summary", "--format", "xml", seed002)
	if code != 2 {
		t.Errorf("--format xml: exit %d, want 2", code)
	}
}

// The stall findings are labels like any other for check and --fail-on.
func TestCheckStalls(t *testing.T) {
	const stalls = "../../testdata/stalls/"
	for _, tc := range []struct {
		file string
		args []string
		code int
	}{
		{"zero-window/server.pcap", []string{"--expect", "zero-window-stall=1", "--forbid", "loss"}, 0},
		{"rto/client.pcap", []string{"--expect", "rto-retransmission=1", "--expect", "loss=1"}, 0},
		{"keepalive/server.pcap", []string{"--expect", "keepalive-only=1", "--forbid", "zero-window-stall"}, 0},
		{"keepalive/server.pcap", []string{"--forbid", "keepalive-only"}, 1},
	} {
		stdout, stderr, code := run(t, nil, append([]string{"check", stalls + tc.file}, tc.args...)...)
		if code != tc.code {
			t.Errorf("check %s %v: exit %d, want %d\nstdout %s\nstderr %s", tc.file, tc.args, code, tc.code, stdout, stderr)
		}
	}
	_, stderr, code := run(t, nil, "timeline", "-q", "--fail-on", "zero-window-stall", stalls+"zero-window/client.pcap")
	if code != 1 || !strings.Contains(stderr, "zero-window-stall") {
		t.Errorf("timeline --fail-on zero-window-stall: exit %d, %q", code, stderr)
	}
}
