package main

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const ghost = "../../testdata/lab/ghost/server.pcap"

// wellFormed decodes s as XML to its end.
func wellFormed(t *testing.T, what, s string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("%s is not well-formed XML: %v", what, err)
		}
	}
}

func TestLadderCommand(t *testing.T) {
	stdout, stderr, code := run(t, nil, "ladder", ghost, "--flow", "10.77.0.2:41005")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	wellFormed(t, "ladder SVG", stdout)
	js, _, _ := run(t, nil, "timeline", "--format", "json", "--flow", "10.77.0.2:41005", ghost)
	var doc struct {
		Flows []struct{ Packets []json.RawMessage }
	}
	if err := json.Unmarshal([]byte(js), &doc); err != nil || len(doc.Flows) != 1 {
		t.Fatalf("timeline of the flow: %v, %d flows", err, len(doc.Flows))
	}
	if n, want := strings.Count(stdout, `class="pkt"`), len(doc.Flows[0].Packets); n != want {
		t.Errorf("%d arrows, want one per packet of flow 41005 (%d)", n, want)
	}
	if !strings.Contains(stdout, "ghost-connection") {
		t.Error("the ghost-connection label is not drawn")
	}
	// Without --flow: the first labelled flow.
	stdout, _, code = run(t, nil, "ladder", "--anonymize", ghost)
	if code != 0 || strings.Contains(stdout, "10.77.0.") || !strings.Contains(stdout, "host-1") {
		t.Errorf("ladder --anonymize: exit %d, addresses left or pseudonyms missing", code)
	}
	_, stderr, code = run(t, nil, "ladder", ghost, "--flow", "10.9.9.9:1")
	if code != 2 || !strings.Contains(stderr, "no flow matches") {
		t.Errorf("unknown flow: exit %d, %q", code, stderr)
	}
	_, _, code = run(t, nil, "ladder", ghost, "-o", "flow.png")
	if code != 2 {
		t.Errorf("-o flow.png: exit %d, want 2", code)
	}
}

func TestChartCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "incident.html")
	_, stderr, code := run(t, nil, "chart", ghost, "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	i, j := strings.Index(page, "<svg"), strings.LastIndex(page, "</svg>")
	if !strings.Contains(page, "<body") || i < 0 || j < i {
		t.Fatal("no SVG inside the page")
	}
	wellFormed(t, "chart SVG", page[i:j+len("</svg>")])
	if !strings.Contains(page, `class="episode"`) {
		t.Error("the overflow episode is not shaded")
	}
}

func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "incident.md")
	if _, stderr, code := run(t, nil, "report", ghost, "-o", md); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, _ := os.ReadFile(md)
	svg, err := os.ReadFile(filepath.Join(dir, "incident.svg"))
	if err != nil {
		t.Fatalf("the chart was not written beside the report: %v", err)
	}
	wellFormed(t, "report chart", string(svg))
	for _, want := range []string{"## What happened", "](incident.svg)", "ghost connections", "## Remedies", "SO_LINGER", "Read with a timeout"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("report lacks %q", want)
		}
	}

	html := filepath.Join(dir, "incident.html")
	if _, stderr, code := run(t, nil, "report", "--anonymize", ghost, "-o", html); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, _ = os.ReadFile(html)
	page := string(b)
	if strings.Contains(page, "10.77.0.") {
		t.Error("--anonymize left an address in the HTML report")
	}
	for _, id := range []string{`id="chart"`, `id="ladder"`} {
		k := strings.Index(page, id)
		if k < 0 {
			t.Fatalf("no %s figure", id)
		}
		rest := page[k:]
		i, j := strings.Index(rest, "<svg"), strings.Index(rest, "</svg>")
		if i < 0 || j < i {
			t.Fatalf("%s holds no SVG", id)
		}
		wellFormed(t, id, rest[i:j+len("</svg>")])
	}
	_, _, code := run(t, nil, "report", ghost, "-o", "incident.pdf")
	if code != 2 {
		t.Errorf("-o incident.pdf: exit %d, want 2", code)
	}
}
