package render

import (
	"bytes"
	"context"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tcptimeline/tcptimeline/analyze"
)

var update = flag.Bool("update", false, "rewrite the golden SVGs in testdata/ with the renderers' output")

// fixtureRun is the analysis of one committed capture, recorded.
type fixtureRun struct {
	sum   *analyze.Summary
	flows []*analyze.Flow
}

var (
	fixtureMu    sync.Mutex
	fixtureCache = map[string]*fixtureRun{}
)

// analyzeFixture runs the analysis on a capture under the repository's
// testdata, once per test binary.
func analyzeFixture(t *testing.T, rel string) *fixtureRun {
	t.Helper()
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	if r := fixtureCache[rel]; r != nil {
		return r
	}
	rd, err := analyze.Open(filepath.Join("..", "..", "testdata", rel), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	r := &fixtureRun{}
	r.sum, err = analyze.Run(context.Background(), []*analyze.CaptureReader{rd}, analyze.Options{Record: true}, func(f *analyze.Flow) error {
		r.flows = append(r.flows, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	fixtureCache[rel] = r
	return r
}

// node is an element of a parsed SVG document.
type node struct {
	name     string
	attr     map[string]string
	children []*node
	text     string // character data of the element and its descendants
}

func (n *node) class() string { return n.attr["class"] }

// walk calls fn on n and every descendant, in document order.
func (n *node) walk(fn func(*node)) {
	fn(n)
	for _, c := range n.children {
		c.walk(fn)
	}
}

// find returns the descendants (and n itself) with the given name and,
// when class is not "", that class.
func (n *node) find(name, class string) []*node {
	var out []*node
	n.walk(func(m *node) {
		if m.name == name && (class == "" || m.class() == class) {
			out = append(out, m)
		}
	})
	return out
}

// parseXML decodes a whole document with encoding/xml and returns its
// root element; it fails the test on any syntax error, on content after
// the root, or on a second root.
func parseXML(t *testing.T, doc []byte) *node {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var root *node
	var stack []*node
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			n := &node{name: tk.Name.Local, attr: map[string]string{}}
			for _, a := range tk.Attr {
				n.attr[a.Name.Local] = a.Value
			}
			if len(stack) == 0 {
				if root != nil {
					t.Fatal("a second root element")
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			for _, n := range stack {
				n.text += string(tk)
			}
		}
	}
	if root == nil {
		t.Fatal("no root element")
	}
	return root
}

// parseSVG parses an SVG document and checks its root: width and height
// match the viewBox "0 0 W H".
func parseSVG(t *testing.T, doc []byte) (root *node, w, h float64) {
	t.Helper()
	root = parseXML(t, doc)
	if root.name != "svg" {
		t.Fatalf("root element %q, want svg", root.name)
	}
	w, h = attrNum(t, root, "width"), attrNum(t, root, "height")
	if vb := root.attr["viewBox"]; vb != "0 0 "+num(w)+" "+num(h) {
		t.Fatalf("viewBox %q does not match width %v and height %v", vb, w, h)
	}
	return root, w, h
}

func attrNum(t *testing.T, n *node, name string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(n.attr[name], 64)
	if err != nil {
		t.Fatalf("<%s %s=%q>: %v", n.name, name, n.attr[name], err)
	}
	return v
}

// checkTextInside checks every <text> lies inside the w x h canvas, with
// its width estimated as the renderers do (monospace, charWidth of the
// font size) and its anchor taken into account.
func checkTextInside(t *testing.T, root *node, w, h float64) {
	t.Helper()
	texts := root.find("text", "")
	if len(texts) == 0 {
		t.Fatal("no text")
	}
	for _, n := range texts {
		x, y, size := attrNum(t, n, "x"), attrNum(t, n, "y"), attrNum(t, n, "font-size")
		tw := textWidth(n.text, size)
		x0 := x
		switch n.attr["text-anchor"] {
		case "middle":
			x0 = x - tw/2
		case "end":
			x0 = x - tw
		}
		if x0 < 0 || x0+tw > w+0.5 || y-size < 0 || y+0.3*size > h {
			t.Errorf("text %q at x=%v y=%v (%v px wide, anchor %q) leaves the %vx%v canvas", n.text, x, y, tw, n.attr["text-anchor"], w, h)
		}
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./analyze/render -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (go test ./analyze/render -update rewrites it):\n%s", path, shortDiff(string(want), string(got)))
	}
}

// shortDiff shows the first differing lines of two texts.
func shortDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(wl), len(gl)) && shown < 6; i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			fmt.Fprintf(&b, "line %d:\n  - %s\n  + %s\n", i+1, w, g)
			shown++
		}
	}
	if len(wl) != len(gl) {
		fmt.Fprintf(&b, "(%d lines in the golden file, %d in the output)\n", len(wl), len(gl))
	}
	return b.String()
}

func TestXMLText(t *testing.T) {
	for in, want := range map[string]string{
		`a<b>&"c'`:     "a&lt;b&gt;&amp;&#34;c&#39;",
		"tab\there":    "tab here",
		"bell\x07":     "bell\uFFFD",
		"bad\xffutf8":  "bad\uFFFDutf8",
		"ok → ünïcödé": "ok → ünïcödé",
	} {
		if got := xmlText(in); got != want {
			t.Errorf("xmlText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWrap(t *testing.T) {
	lines, cut := wrap("the quick brown fox jumps over the lazy dog", 10, 10)
	if cut || strings.Join(lines, " ") != "the quick brown fox jumps over the lazy dog" {
		t.Errorf("wrap: %q, truncated %v", lines, cut)
	}
	for _, l := range lines {
		if len(l) > 10 {
			t.Errorf("line %q longer than 10", l)
		}
	}
	lines, cut = wrap("the quick brown fox jumps over the lazy dog", 10, 2)
	if !cut || len(lines) != 2 || !strings.HasSuffix(lines[1], "…") {
		t.Errorf("wrap to 2 lines: %q, truncated %v", lines, cut)
	}
	lines, _ = wrap("abcdefghijklmnopqrstuvwxyz", 10, 5)
	if strings.Join(lines, "") != "abcdefghijklmnopqrstuvwxyz" || len(lines) != 3 {
		t.Errorf("long word: %q", lines)
	}
}
