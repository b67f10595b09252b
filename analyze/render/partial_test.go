package render

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tcptimeline/tcptimeline/analyze"
	"github.com/tcptimeline/tcptimeline/flowstate"
)

// longFlow returns a copy of flow f with its packets repeated to n.
func longFlow(f *analyze.Flow, n int) *analyze.Flow {
	ff := *f.Flow
	g := *f
	g.Flow = &ff
	ff.Packets = nil
	for len(ff.Packets) < n {
		ff.Packets = append(ff.Packets, f.Packets...)
	}
	ff.Packets = ff.Packets[:n]
	ff.NPackets = n
	g.Notes = nil
	return &g
}

// closer closes stop once more than after bytes were written through it.
type closer struct {
	w     io.Writer
	n     int
	after int
	stop  chan struct{}
}

func (c *closer) Write(p []byte) (int, error) {
	c.n += len(p)
	if c.n > c.after && c.stop != nil {
		close(c.stop)
		c.stop = nil
	}
	return c.w.Write(p)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// After Stop closes, renderers write no more packets or flows, only the
// views and the partial marker, last; a flow being written is cut with a
// line saying so.
func TestStopCutsTheOutput(t *testing.T) {
	r := analyzeFixture(t, "lab/ghost/server.pcap")
	sum := *r.sum
	sum.Interrupted = true
	big := longFlow(r.flows[0], 20000)

	// Text: a flow cut in the middle, then flows not written.
	var out bytes.Buffer
	stop := make(chan struct{})
	tx := NewText(&closer{w: &out, after: 100 << 10, stop: stop}, Options{Stop: stop})
	tx.Flow(big)
	for _, f := range r.flows {
		tx.Flow(f)
	}
	tx.Close(&sum)
	s := out.String()
	if !strings.Contains(s, "… interrupted: the other ") || strings.Count(s, "\n   ") > 15000 {
		t.Errorf("the long flow was not cut: %d lines", strings.Count(s, "\n"))
	}
	if want := "interrupted: the output covers the packets read until then; 7 flows finished after the interrupt not shown"; lastLine(s) != want {
		t.Errorf("last line %q, want %q", lastLine(s), want)
	}
	if !strings.Contains(s, "listener 10.77.0.1:8000") {
		t.Error("the listener views are missing")
	}

	closed := make(chan struct{})
	close(closed)
	// CSV: a trailer row as wide as the header.
	out.Reset()
	sr := NewSummary(&out, SummaryOptions{Format: "csv", Options: Options{Stop: closed}})
	for _, f := range r.flows {
		sr.Flow(f)
	}
	sr.Close(&sum)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "# interrupted,") || strings.Count(lines[1], ",") != strings.Count(lines[0], ",") {
		t.Errorf("CSV:\n%s", out.String())
	}
	// JSON: the totals say it, and how many flows were left out; a flow
	// cut in the middle says how many packets.
	for _, lines := range []bool{false, true} {
		out.Reset()
		stop := make(chan struct{})
		var j *JSON
		w := &closer{w: &out, after: 200 << 10, stop: stop}
		if lines {
			j = NewJSONLines(w, Options{Stop: stop})
		} else {
			j = NewJSON(w, Options{Stop: stop})
		}
		j.Flow(big)
		for _, f := range r.flows {
			j.Flow(f)
		}
		j.Close(r.sum)
		var totals JSONTotals
		var cut struct {
			Packets  []json.RawMessage `json:"packets"`
			NotShown int               `json:"packets_not_shown"`
		}
		if lines {
			ls := strings.Split(strings.TrimSpace(out.String()), "\n")
			json.Unmarshal([]byte(ls[len(ls)-1]), &totals)
			json.Unmarshal([]byte(ls[0]), &cut)
		} else {
			var doc struct {
				Flows  []json.RawMessage
				Totals JSONTotals
			}
			if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
				t.Fatalf("JSON: %v", err)
			}
			totals = doc.Totals
			json.Unmarshal(doc.Flows[0], &cut)
		}
		if !totals.Interrupted || totals.FlowsNotShown != 7 {
			t.Errorf("jsonl %v: totals %+v", lines, totals)
		}
		if cut.NotShown == 0 || len(cut.Packets)+cut.NotShown != 20000 {
			t.Errorf("jsonl %v: the cut flow has %d packets and says %d not shown", lines, len(cut.Packets), cut.NotShown)
		}
	}
}

// The JSON renderers stream a flow's packets, and write exactly what
// marshalling FlowObject gives.
func TestJSONStreamsFlowObject(t *testing.T) {
	r := analyzeFixture(t, "lab/ghost/server.pcap")
	var out bytes.Buffer
	j := NewJSONLines(&out, Options{})
	for _, f := range r.flows {
		j.Flow(f)
	}
	j.w.Flush()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for i, f := range r.flows {
		obj := FlowObject(f, nil)
		obj.Type = "flow"
		want, _ := json.Marshal(obj)
		if lines[i] != string(want) {
			t.Errorf("flow %d:\n got %s\nwant %s", f.ID, lines[i], want)
		}
	}
}

// A flow recorded under a limit, or too long to draw, is drawn with its
// first and last packets and a marker saying how many were left out;
// the text timeline says so where they were.
func TestLongFlowsElided(t *testing.T) {
	rd, err := analyze.Open(filepath.Join("..", "..", "testdata", "lab", "ghost", "server.pcap"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var flows []*analyze.Flow
	if _, err := analyze.Run(context.Background(), []*analyze.CaptureReader{rd}, analyze.Options{Record: true, RecordLimit: 6}, func(f *analyze.Flow) error {
		flows = append(flows, f)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var f *analyze.Flow
	for _, g := range flows {
		if g.Elided > 0 {
			f = g
			break
		}
	}
	if f == nil {
		t.Fatal("no flow was elided")
	}
	var b bytes.Buffer
	if err := Ladder(&b, f, LadderOptions{}); err != nil {
		t.Fatal(err)
	}
	root, w, h := parseSVG(t, b.Bytes())
	checkTextInside(t, root, w, h)
	if n := len(root.find("g", "pkt")); n != len(f.Packets) {
		t.Errorf("%d arrows, want the %d kept", n, len(f.Packets))
	}
	if m := root.find("text", "elided"); len(m) != 1 || !strings.Contains(m[0].text, strings.TrimSpace(strings.Fields(elidedText(f))[1])+" packets not shown") {
		t.Errorf("marker %v, want one saying %d packets not shown", m, f.Elided)
	}
	b.Reset()
	tx := NewText(&b, Options{})
	tx.Flow(f)
	tx.w.Flush()
	if !strings.Contains(b.String(), elidedText(f)) {
		t.Errorf("the timeline does not say what it left out:\n%s", b.String())
	}

	// Too long to draw: the ladder leaves out the middle itself.
	long := longFlow(flows[0], 3*LadderMaxPackets)
	b.Reset()
	if err := Ladder(&b, long, LadderOptions{}); err != nil {
		t.Fatal(err)
	}
	root, _, _ = parseSVG(t, b.Bytes())
	if n := len(root.find("g", "pkt")); n != LadderMaxPackets || len(root.find("text", "elided")) != 1 || b.Len() > 2<<20 {
		t.Errorf("%d arrows, %d markers, %d bytes for a flow of %d packets", n, len(root.find("text", "elided")), b.Len(), 3*LadderMaxPackets)
	}
}

// Text from the input reaches a Markdown or HTML report escaped: a
// capture named like markup stays text.
func TestReportEscapesInput(t *testing.T) {
	r := analyzeFixture(t, "lab/ghost/server.pcap")
	sum := *r.sum
	c := *sum.Captures[0]
	c.Name = "<img src=x onerror=alert(1)>*[x](javascript:alert(2))*`x`\n# heading.pcap"
	c.InterfaceDropsKnown, c.InterfaceDrops = true, 3
	sum.Captures = []*analyze.Capture{&c}
	sum.Interrupted = true
	rep := &Report{Summary: &sum, Examples: map[flowstate.Label]*analyze.Flow{}}
	var md, page bytes.Buffer
	if err := rep.Markdown(&md, ReportOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := rep.HTML(&page, ReportOptions{}); err != nil {
		t.Fatal(err)
	}
	// What a Markdown renderer sees once the escaped characters are gone.
	unescaped := regexp.MustCompile(`\\.`).ReplaceAllString(md.String(), "")
	for _, bad := range []string{"<img", "[x](", "*[", "`x`", "\n# heading", "\x00", "\x01"} {
		if strings.Contains(unescaped, bad) {
			t.Errorf("Markdown holds %q:\n%s", bad, md.String()[:400])
		}
	}
	if !strings.Contains(md.String(), `\<img src=x onerror=alert\(1\)\>`) {
		t.Errorf("the name is not escaped as expected:\n%s", md.String()[:400])
	}
	if strings.Contains(page.String(), "<img") || !strings.Contains(page.String(), "&lt;img src=x") {
		t.Error("HTML holds the name's markup")
	}
	if !strings.Contains(md.String(), "> **Partial report:**") || !strings.Contains(page.String(), `class="partial"`) {
		t.Error("an interrupted run's report has no partial banner")
	}
}
