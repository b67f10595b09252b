package render

import (
	"bytes"
	"html"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/tcptimeline/tcptimeline/analyze"
	"github.com/tcptimeline/tcptimeline/flowstate"
)

// ghostFlow is the first flow of the ghost fixture that carries the
// ghost-connection label.
func ghostFlow(t *testing.T) *analyze.Flow {
	t.Helper()
	for _, f := range analyzeFixture(t, "lab/ghost/server.pcap").flows {
		if f.Labels.Has(flowstate.LabelGhostConnection) {
			return f
		}
	}
	t.Fatal("no ghost-connection flow in the ghost fixture")
	return nil
}

// flowByID returns flow id of a fixture.
func flowByID(t *testing.T, rel string, id int) *analyze.Flow {
	t.Helper()
	for _, f := range analyzeFixture(t, rel).flows {
		if f.ID == id {
			return f
		}
	}
	t.Fatalf("%s has no flow %d", rel, id)
	return nil
}

func renderLadder(t *testing.T, f *analyze.Flow, opts LadderOptions) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Ladder(&b, f, opts); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// ladderGroups returns the packet groups of a ladder, checking there is
// exactly one per packet, in packet order.
func ladderGroups(t *testing.T, root *node, f *analyze.Flow) []*node {
	t.Helper()
	groups := root.find("g", "pkt")
	if len(groups) != len(f.Packets) {
		t.Fatalf("%d packet arrows, want one per packet: %d", len(groups), len(f.Packets))
	}
	for i, g := range groups {
		if g.attr["data-n"] != strconv.FormatInt(f.Packets[i].Frame, 10) {
			t.Errorf("arrow %d is frame %s, want %d", i, g.attr["data-n"], f.Packets[i].Frame)
		}
		// An arrow is a line (with a head, or a cross where it stops).
		if len(g.find("line", "")) == 0 {
			t.Errorf("arrow %d (frame %d) has no line", i, f.Packets[i].Frame)
		}
	}
	return groups
}

// checkLadder checks what every ladder must satisfy.
func checkLadder(t *testing.T, f *analyze.Flow, doc []byte) (*node, []*node) {
	t.Helper()
	root, w, h := parseSVG(t, doc)
	groups := ladderGroups(t, root, f)
	checkTextInside(t, root, w, h)
	var states []string
	for _, s := range root.find("g", "state") {
		states = append(states, strings.TrimSpace(s.text))
	}
	prev := [2]flowstate.State{flowstate.StateClosed, flowstate.StateListen}
	if f.MidStream {
		prev = [2]flowstate.State{}
	}
	// Every state change is written in its column, in order.
	var want []string
	want = append(want, prev[0].String(), prev[1].String())
	for i, p := range f.Packets {
		if p.Duplicate {
			// Not fed to the state machine: no state change, faint, no cross.
			g := groups[i]
			if len(g.find("g", "state")) != 0 || hasCross(g) || g.attr["data-duplicate"] != "true" || g.attr["opacity"] == "" {
				t.Errorf("frame %d: a duplicate drawn with a state change, a cross, or not faint", p.Frame)
			}
			continue
		}
		for _, side := range []flowstate.Side{flowstate.Client, flowstate.Server} {
			if p.State[side] != prev[side] {
				want = append(want, p.State[side].String())
				found := false
				for _, s := range groups[i].find("g", "state") {
					if s.attr["data-side"] == side.String() && strings.TrimSpace(s.text) == p.State[side].String() {
						found = true
					}
				}
				if !found {
					t.Errorf("frame %d: %s's new state %s not drawn with the packet", p.Frame, side, p.State[side])
				}
			}
		}
		prev = p.State
	}
	if len(states) != len(want) {
		t.Errorf("state boxes %q, want %q", states, want)
	}
	for i, g := range groups {
		p := &f.Packets[i]
		if p.Labels == 0 {
			continue
		}
		labels := g.find("text", "label")
		if len(labels) != 1 || labels[0].text != strings.Join(p.Labels.Strings(), ", ") {
			t.Errorf("frame %d: label annotation %v, want %q", p.Frame, labels, p.Labels.Strings())
		}
		if len(g.find("circle", "marker")) != 1 {
			t.Errorf("frame %d: labelled packet without a marker", p.Frame)
		}
		if f.Notes[i] != "" && len(g.find("text", "note")) == 0 {
			t.Errorf("frame %d: note %q not drawn", p.Frame, f.Notes[i])
		}
		if !strings.Contains(g.find("title", "")[0].text, f.Notes[i]) {
			t.Errorf("frame %d: tooltip lacks the full note", p.Frame)
		}
	}
	return root, groups
}

func hasCross(g *node) bool { return len(g.find("g", "cross")) > 0 }

func TestLadderGhost(t *testing.T) {
	f := ghostFlow(t)
	doc := renderLadder(t, f, LadderOptions{})
	_, groups := checkLadder(t, f, doc)
	var ghost, afterAck, ignored int
	for i, g := range groups {
		p := &f.Packets[i]
		if p.Labels.Has(flowstate.LabelGhostConnection) {
			ghost++
			if !strings.Contains(g.find("text", "label")[0].text, "ghost-connection") {
				t.Errorf("frame %d: ghost-connection not annotated", p.Frame)
			}
		}
		if p.Labels.Has(flowstate.LabelSynAckAfterAck) {
			afterAck++
		}
		// The server ignores every client segment while it holds the
		// connection as a request with the ACK ignored.
		want := p.From == flowstate.Client && p.State[flowstate.Server] == flowstate.StateSynReceivedAckIgnored
		if hasCross(g) != want {
			t.Errorf("frame %d (%s, server %s): cross %v, want %v", p.Frame, p.Flags, p.State[flowstate.Server], hasCross(g), want)
		}
		if want {
			ignored++
			if g.attr["data-ignored"] != "true" {
				t.Errorf("frame %d: no data-ignored", p.Frame)
			}
		}
	}
	if ghost != 1 || afterAck == 0 || ignored == 0 {
		t.Errorf("ghost flow: %d ghost-connection packets, %d synack-after-ack, %d ignored; want 1, >0, >0", ghost, afterAck, ignored)
	}
	golden(t, "ladder-ghost.svg", doc)
}

func TestLadderSeed002(t *testing.T) {
	f := flowByID(t, "seed002/seed002.pcap", 5)
	doc := renderLadder(t, f, LadderOptions{})
	_, groups := checkLadder(t, f, doc)
	// The first SYN was dropped (the server stayed in LISTEN); the
	// retransmission labelled syn-dropped got through.
	for i, g := range groups {
		p := &f.Packets[i]
		syn := p.From == flowstate.Client && p.Flags&(flowstate.SYN|flowstate.ACK) == flowstate.SYN
		if syn && p.State[flowstate.Server] == flowstate.StateListen && !hasCross(g) {
			t.Errorf("frame %d: the dropped SYN has no cross", p.Frame)
		}
		if syn && p.Labels.Has(flowstate.LabelSynDropped) && hasCross(g) {
			t.Errorf("frame %d: the SYN that got through has a cross", p.Frame)
		}
	}
	if !hasCross(groups[0]) {
		t.Error("the first SYN of seed 002's flow 5 has no cross")
	}
	golden(t, "ladder-seed002-flow5.svg", doc)
}

// TestLadderEveryFlow draws every flow of the lab fixtures, with both time
// formats, and checks the structure and that output is deterministic.
func TestLadderEveryFlow(t *testing.T) {
	for _, rel := range []string{"lab/ghost/server.pcap", "lab/ghost/client.pcap", "lab/burst-slow-accept/server.pcap",
		"lab/never-accept/server.pcap", "lab/never-accept-v6/client.pcap", "seed002/seed002.pcap",
		"formats/dup-frames.pcap", "formats/multi-if.pcapng"} {
		for _, f := range analyzeFixture(t, rel).flows {
			for _, abs := range []bool{false, true} {
				opts := LadderOptions{AbsTime: abs}
				doc := renderLadder(t, f, opts)
				checkLadder(t, f, doc)
				if again := renderLadder(t, f, opts); !bytes.Equal(doc, again) {
					t.Errorf("%s flow %d: output differs between two runs", rel, f.ID)
				}
			}
		}
	}
}

func TestLadderAnonymizeEscapes(t *testing.T) {
	f := ghostFlow(t)
	anon := func(a netip.AddrPort) string {
		if a == f.Client {
			return `<client & "friends">`
		}
		return "server\x01'"
	}
	doc := renderLadder(t, f, LadderOptions{Anonymize: anon})
	root, _ := checkLadder(t, f, doc)
	if bytes.Contains(doc, []byte(f.Client.Addr().String())) || bytes.Contains(doc, []byte(f.Server.Addr().String())) {
		t.Error("a real address is in the anonymised output")
	}
	var addrs []string
	for _, n := range root.find("text", "addr") {
		addrs = append(addrs, n.text)
	}
	if len(addrs) != 2 || addrs[0] != `<client & "friends">` || addrs[1] != "server\uFFFD'" {
		t.Errorf("column addresses %q", addrs)
	}
}

func TestLadderErrors(t *testing.T) {
	var b bytes.Buffer
	if err := Ladder(&b, nil, LadderOptions{}); err == nil {
		t.Error("nil flow: no error")
	}
	f := ghostFlow(t)
	bare := *f
	bare.Flow = new(flowstate.Flow)
	*bare.Flow = *f.Flow
	bare.Packets = nil
	if err := Ladder(&b, &bare, LadderOptions{}); err == nil || !strings.Contains(err.Error(), "Record") {
		t.Errorf("flow without packets: %v", err)
	}
	if b.Len() != 0 {
		t.Errorf("wrote %d bytes on error", b.Len())
	}
}

func TestLadderHTML(t *testing.T) {
	f := ghostFlow(t)
	var b bytes.Buffer
	if err := LadderHTML(&b, f, LadderOptions{}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if !strings.HasPrefix(page, "<!DOCTYPE html>") {
		t.Error("no doctype")
	}
	body, end := strings.Index(page, "<body>"), strings.Index(page, "</body>")
	start, stop := strings.Index(page, "<svg"), strings.LastIndex(page, "</svg>")
	if body < 0 || end < 0 || start < body || stop < start || stop > end {
		t.Fatalf("the SVG is not inside <body>: body %d..%d, svg %d..%d", body, end, start, stop)
	}
	svg := page[start : stop+len("</svg>\n")]
	if svg != string(renderLadder(t, f, LadderOptions{})) {
		t.Error("the inline SVG differs from Ladder's")
	}
	checkLadder(t, f, []byte(svg))
	// The page around it is well-formed too (it is written as XHTML-clean
	// HTML): strip the doctype and parse.
	root := parseXML(t, []byte(strings.TrimPrefix(page, "<!DOCTYPE html>")))
	if root.name != "html" || len(root.find("body", "")) != 1 || len(root.find("body", "")[0].find("svg", "")) != 1 {
		t.Error("html > body > svg not found")
	}
	for _, want := range []string{f.Client.String(), f.Server.String(), "ghost-connection", "<title>"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// The ladder writes a flow's times as the timeline does: h:mm:ss.µs for a
// flow past the run's first hour, the UTC time of day (its date in the
// note) for one past its first day (testdata/long).
func TestLadderLongCaptureTimes(t *testing.T) {
	r := analyzeFixture(t, "long/server.pcap")
	for _, c := range []struct {
		id         int
		note, time string
	}{
		{8, "times: h:mm:ss.µs since the run's first packet (2026-11-22 01:10:30.130151 UTC)", "1:02:03.000017"},
		{13, "times: UTC time of day on 2026-11-23", "03:13:34.130189"},
	} {
		var f *analyze.Flow
		for _, g := range r.flows {
			if g.ID == c.id {
				f = g
			}
		}
		if f == nil {
			t.Fatalf("no flow %d", c.id)
		}
		var b strings.Builder
		if err := Ladder(&b, f, LadderOptions{}); err != nil {
			t.Fatal(err)
		}
		svg := html.UnescapeString(b.String())
		if !strings.Contains(svg, c.note) || !strings.Contains(svg, ">"+c.time+"<") {
			t.Errorf("flow %d: want the note %q and a time %q", c.id, c.note, c.time)
		}
	}
}

// The ACKs of a FIN that its sender sent again afterwards never reached
// it: crossed, in both directions (late-fin: the client's ACKs of the
// server's FIN; late-fin-client: the server's ACKs of the client's).
func TestLadderCrossesLostFinAcks(t *testing.T) {
	for _, rel := range []string{"streams/late-fin.pcap", "streams/late-fin-client.pcap"} {
		f := flowByID(t, rel, 1)
		_, groups := checkLadder(t, f, renderLadder(t, f, LadderOptions{}))
		crossed := 0
		for i, g := range groups {
			p := &f.Packets[i]
			if hasCross(g) != p.NotReceived {
				t.Errorf("%s frame %d: cross %v, NotReceived %v", rel, p.Frame, hasCross(g), p.NotReceived)
			}
			if hasCross(g) {
				crossed++
			}
		}
		if crossed == 0 {
			t.Errorf("%s: no ACK crossed", rel)
		}
	}
}
