package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// longCapture spans more than a day: lab captures retimed to start at
// +0, +1 h 2 min 3 s and +1 d 2 h 3 min 4 s (testdata/long/make.sh).
const longCapture = "../../testdata/long/server.pcap"

// flowBlock returns the timeline text of flow n: its header to the line
// before the next flow.
func flowBlock(t *testing.T, out string, n string) string {
	t.Helper()
	i := strings.Index(out, "flow "+n+"  ")
	if i < 0 {
		t.Fatalf("no flow %s in the output", n)
	}
	rest := out[i:]
	if j := strings.Index(rest[1:], "\nflow "); j >= 0 {
		rest = rest[:j+1]
	}
	return rest
}

// A flow's relative times are milliseconds within the first hour,
// h:mm:ss.µs within the first day, and UTC dates after: chosen per flow,
// so that one column reads one way down a flow.
func TestLongCaptureTimelineTimes(t *testing.T) {
	out, stderr, code := run(t, nil, "timeline", "--color", "never", longCapture)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, c := range []struct {
		flow, header, first string
	}{
		{"4", "        t ms   frame", "       0.000       1  -> S"},                                    // the run's first packet
		{"8", "        t h:mm:ss   frame", "   1:02:03.000000      85  -> S"},                          // 3723 s later
		{"13", "  time (UTC)                    frame", "  2026-11-23T03:13:34.130151Z     135  -> S"}, // the next day
	} {
		b := flowBlock(t, out, c.flow)
		lines := strings.Split(b, "\n")
		hdr := 1
		if strings.HasPrefix(lines[1], "  labels:") {
			hdr = 2
		}
		if !strings.HasPrefix(lines[hdr], c.header) {
			t.Errorf("flow %s: header %q, want it to start %q", c.flow, lines[hdr], c.header)
		}
		if !strings.HasPrefix(lines[hdr+1], c.first) {
			t.Errorf("flow %s: first packet %q, want it to start %q", c.flow, lines[hdr+1], c.first)
		}
	}
	if strings.Contains(out, "3723000.") || strings.Contains(out, "93784") {
		t.Error("a time past an hour is still written in milliseconds")
	}
	// No flow mixes forms: every packet line of flow 8 is h:mm:ss.
	for _, l := range strings.Split(flowBlock(t, out, "8"), "\n")[2:] {
		if m, _ := regexp.MatchString(`^\s+\d+\s+\d+\s+(->|<-)`, l); m {
			t.Errorf("flow 8: a packet in milliseconds: %q", l)
		}
	}
	if !strings.Contains(out, "the capture spans days: 2026-11-22T01:10:30.130151Z .. 2026-11-23T03:13:43.449614Z (1 d 2 h); times of day are UTC, on 2026-11-22 unless they carry their date") {
		t.Error("the views do not say the capture spans days")
	}
}

// JSON keeps numeric seconds since the run's first packet, whatever the
// span: only what people read changes.
func TestLongCaptureJSONSeconds(t *testing.T) {
	out, stderr, code := run(t, nil, "timeline", "--format", "json", longCapture)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct {
		Flows []struct {
			ID      int `json:"id"`
			Packets []struct {
				T float64 `json:"t"`
			} `json:"packets"`
		} `json:"flows"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	want := map[int]float64{8: 3723, 13: 93784}
	for _, f := range doc.Flows {
		if w, ok := want[f.ID]; ok {
			if got := f.Packets[0].T; got != w {
				t.Errorf("flow %d: first packet t = %v, want %v", f.ID, got, w)
			}
			delete(want, f.ID)
		}
	}
	if len(want) > 0 {
		t.Errorf("flows not found: %v", want)
	}
}

// The summary's start column is a time of day on the capture's first day
// and carries the date on a later one.
func TestLongCaptureSummaryStart(t *testing.T) {
	out, stderr, code := run(t, nil, "summary", "--color", "never", longCapture)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rows := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) > 4 && regexp.MustCompile(`^\d+$`).MatchString(f[0]) {
			rows[f[0]] = strings.Join(f[3:5], " ")
		}
	}
	for id, want := range map[string]string{
		"4":  "01:10:30.130151 6.042",
		"8":  "02:12:33.130151 0.499",
		"13": "2026-11-23 03:13:34.130151",
	} {
		if got := rows[id]; got != want {
			t.Errorf("flow %s: start %q, want %q", id, got, want)
		}
	}
}

// report --time abs writes the representative flows' timelines in UTC;
// by default they take the timeline's forms; another value is a usage error.
func TestReportTimeAbs(t *testing.T) {
	abs, stderr, code := run(t, nil, "report", "--time", "abs", longCapture)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rel, _, _ := run(t, nil, "report", longCapture)
	// By default the ghost flows are in milliseconds, the keep-alive one
	// (the next day) in UTC.
	if !strings.Contains(rel, "        t ms   frame") || !strings.Contains(rel, "  2026-11-23T03:13:34.130151Z     135  -> S") {
		t.Error("report: the timelines are not in the timeline's forms")
	}
	if strings.Contains(abs, "t ms") || !strings.Contains(abs, "  time (UTC)                    frame") ||
		!strings.Contains(abs, "  2026-11-22T01:10:30.633610Z      16  -> S") {
		t.Errorf("report --time abs: the timelines are not in UTC:\n%s", abs)
	}
	if _, stderr, code := run(t, nil, "report", "--time", "utc", longCapture); code != 2 || !strings.Contains(stderr, "--time must be rel or abs") {
		t.Errorf("report --time utc: exit %d, %q; want 2 and the usage message", code, stderr)
	}
}
