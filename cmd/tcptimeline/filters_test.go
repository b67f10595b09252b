package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// Filters pick what is shown, never what is concluded: flow numbers and
// listener views are those of the whole capture, and the views say that a
// filter hid flows.
func TestFiltersKeepNumbersAndListenerViews(t *testing.T) {
	const fx = "../../testdata/lab/ghost/server.pcap"
	full, _, code := run(t, nil, "summary", "--format", "json", fx)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	part, _, code := run(t, nil, "summary", "--format", "json", "--port", "41003", fx)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	type doc struct {
		Flows []struct {
			ID     int    `json:"id"`
			Client string `json:"client"`
		} `json:"flows"`
		Listeners []struct {
			Flows   int    `json:"flows"`
			Verdict string `json:"verdict"`
			Vantage string `json:"vantage"`
			Hidden  int    `json:"hidden_flows"`
		} `json:"listeners"`
		Totals struct {
			Hidden int `json:"hidden_flows"`
		} `json:"totals"`
	}
	var a, b doc
	if err := json.Unmarshal([]byte(full), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(part), &b); err != nil {
		t.Fatal(err)
	}
	want := -1
	for _, f := range a.Flows {
		if strings.HasSuffix(f.Client, ":41003") {
			want = f.ID
		}
	}
	if len(b.Flows) != 1 || b.Flows[0].ID != want {
		t.Errorf("--port 41003: flows %+v, want the one flow numbered %d as in the whole capture", b.Flows, want)
	}
	if len(b.Listeners) != 1 || b.Listeners[0].Flows != a.Listeners[0].Flows || b.Listeners[0].Verdict != a.Listeners[0].Verdict ||
		b.Listeners[0].Vantage != a.Listeners[0].Vantage {
		t.Errorf("--port 41003: listener %+v, want the whole capture's %+v", b.Listeners, a.Listeners)
	}
	if n := a.Listeners[0].Flows - 1; b.Listeners[0].Hidden != n || b.Totals.Hidden != n {
		t.Errorf("hidden: listener %d, totals %d, want %d", b.Listeners[0].Hidden, b.Totals.Hidden, n)
	}
	text, _, _ := run(t, nil, "summary", "--port", "41003", fx)
	if !strings.Contains(text, "a filter hid 6 of its 7 flows") {
		t.Errorf("text listener view does not say the filter hid flows:\n%s", text)
	}
	md, _, _ := run(t, nil, "report", "--port", "41003", fx)
	for _, want := range []string{"A filter (--flow, --port, --host) showed 1 of the 7 flows", "- A filter hid 6 of its 7 flows from the representative flows; this evidence covers all 7."} {
		if !strings.Contains(md, want) {
			t.Errorf("report --port: no %q", want)
		}
	}
	// The chart draws the listeners of the flows shown, each over all its
	// flows, and says so (lab refused: listeners :8000 and :8001).
	const two = "../../testdata/lab/refused/server.pcap"
	svg, _, code := run(t, nil, "chart", "--port", "8001", two)
	if code != 0 || strings.Count(svg, "data-listener=") != 1 || !strings.Contains(svg, `data-listener="10.77.0.1:8001"`) ||
		!strings.Contains(svg, "the listeners of the flows the filter shows (1 of 2), each counted over all its flows") {
		t.Errorf("chart --port 8001: exit %d; want the :8001 panel alone, and the subtitle naming the filter", code)
	}
	if svg, _, _ := run(t, nil, "chart", two); strings.Count(svg, "data-listener=") != 2 || strings.Contains(svg, "the filter shows") {
		t.Error("chart without a filter: want both listeners and no filter note")
	}
}

// --flow that matches nothing exits 2 with the same message in every
// command; a ladder selector that matches several flows lists them.
func TestFlowSelectorsEverywhere(t *testing.T) {
	const fx = "../../testdata/lab/ghost/server.pcap"
	for _, args := range [][]string{
		{"timeline", "--flow", "99", fx},
		{"summary", "--flow", "99", fx},
		{"report", "--flow", "99", fx},
		{"ladder", "--flow", "99", fx},
		{"chart", "--flow", "99", fx},
		{"check", "--forbid", "syn-dropped", "--flow", "99", fx},
		{"timeline", "--flow", "10.9.9.9:1", fx},
	} {
		stdout, stderr, code := run(t, nil, args...)
		if code != 2 || !strings.Contains(stderr, "no flow matches --flow") {
			t.Errorf("%v: exit %d, stderr %q, stdout %d bytes; want exit 2 and \"no flow matches --flow\"", args, code, stderr, len(stdout))
		}
	}
	_, stderr, code := run(t, nil, "ladder", "--flow", "10.77.0.1:8000", fx)
	if code != 2 || !strings.Contains(stderr, "matches several flows") || !strings.Contains(stderr, "5 (10.77.0.2:41005 -> 10.77.0.1:8000)") {
		t.Errorf("ladder --flow matching 7 flows: exit %d, stderr %q; want exit 2 listing them", code, stderr)
	}
	if _, _, code := run(t, nil, "ladder", "--flow", "10.77.0.2:41005", fx); code != 0 {
		t.Errorf("ladder --flow matching one flow: exit %d", code)
	}
}

// The demo names its embedded capture, not "stdin".
func TestDemoNamesItsCapture(t *testing.T) {
	stdout, _, code := run(t, nil, "demo", "--color", "never")
	if code != 0 || !strings.Contains(stdout, "capture 0: "+demoName) {
		t.Errorf("exit %d; the capture line does not name the embedded capture:\n%s", code, stdout[max(0, len(stdout)-300):])
	}
}

// A report's title is the capture's base name, and its timelines wrap
// long lines, so that nothing is cut when it is printed.
func TestReportTitleAndWrapping(t *testing.T) {
	stdout, _, code := run(t, nil, "report", "../../testdata/lab/ghost/server.pcap")
	if code != 0 || !strings.HasPrefix(stdout, "# TCP incident report: server.pcap\n") {
		t.Fatalf("exit %d, title: %q", code, strings.SplitN(stdout, "\n", 2)[0])
	}
	inCode := false
	for _, line := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
			continue
		}
		if inCode && len(line) > 120 {
			t.Errorf("a timeline line of %d characters: %q", len(line), line)
		}
	}
}
