package render

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/tcptimeline/tcptimeline/analyze"
)

func renderChart(t *testing.T, s *analyze.Summary, opts ChartOptions) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Chart(&b, s, opts); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// checkChart checks what every chart must satisfy and returns its panels.
func checkChart(t *testing.T, s *analyze.Summary, doc []byte) []*node {
	t.Helper()
	root, w, h := parseSVG(t, doc)
	checkTextInside(t, root, w, h)
	var series []string
	for _, n := range root.find("g", "legend-item") {
		series = append(series, n.attr["data-series"])
	}
	if strings.Join(series, ",") != strings.Join(analyze.SeriesNames[:], ",") {
		t.Errorf("legend series %q, want %q", series, analyze.SeriesNames)
	}
	panels := root.find("g", "panel")
	byAddr := map[string]*analyze.Listener{}
	for _, l := range s.Listeners {
		byAddr[l.Server.String()] = l
	}
	for _, p := range panels {
		l := byAddr[p.attr["data-listener"]]
		if l == nil {
			t.Errorf("panel for unknown listener %q", p.attr["data-listener"])
			continue
		}
		if got := len(p.find("rect", "episode")); got != len(l.Episodes) {
			t.Errorf("listener %s: %d episode rects, want %d", l.Server, got, len(l.Episodes))
		}
		// Shading is behind the data: every episode comes before the bars.
		seenBar := false
		for _, c := range p.children {
			if c.class() == "bar" {
				seenBar = true
			}
			if c.class() == "episode" && seenBar {
				t.Errorf("listener %s: an episode drawn over the bars", l.Server)
			}
		}
		// The bars add up to the series.
		var want, got int64
		for k := range l.Series.Counts {
			for _, c := range l.Series.Counts[k] {
				want += int64(c)
			}
		}
		for _, b := range p.find("rect", "bar") {
			got += int64(attrNum(t, b, "data-v"))
			if attrNum(t, b, "height") <= 0 || attrNum(t, b, "width") <= 0 {
				t.Errorf("listener %s: empty bar", l.Server)
			}
		}
		if got != want {
			t.Errorf("listener %s: the bars add up to %d, the series to %d", l.Server, got, want)
		}
	}
	return panels
}

func TestChartFixtures(t *testing.T) {
	for _, c := range []struct{ rel, golden string }{
		{"lab/ghost/server.pcap", "chart-ghost.svg"},
		{"lab/burst-slow-accept/server.pcap", "chart-burst-slow-accept.svg"},
		{"seed002/seed002.pcap", ""},
		{"lab/never-accept-v6/server.pcap", ""},
	} {
		t.Run(c.rel, func(t *testing.T) {
			s := analyzeFixture(t, c.rel).sum
			doc := renderChart(t, s, ChartOptions{})
			panels := checkChart(t, s, doc)
			want := 0
			for _, l := range s.Listeners {
				if l.Series.Seconds() > 0 {
					want++
				}
			}
			if len(panels) != want || want == 0 {
				t.Errorf("%d panels, want one per listener with counts: %d", len(panels), want)
			}
			withEpisodes := 0
			for _, l := range s.Listeners {
				withEpisodes += len(l.Episodes)
			}
			if withEpisodes == 0 {
				t.Error("fixture without overflow episodes: the shading is not tested")
			}
			if again := renderChart(t, s, ChartOptions{}); !bytes.Equal(doc, again) {
				t.Error("output differs between two runs")
			}
			if c.golden != "" {
				golden(t, c.golden, doc)
			}
		})
	}
}

func TestChartNoListeners(t *testing.T) {
	for _, s := range []*analyze.Summary{
		{},
		{Listeners: []*analyze.Listener{{Server: netip.MustParseAddrPort("10.0.0.1:80"), Flows: 1}}},
	} {
		doc := renderChart(t, s, ChartOptions{Title: "empty & <nothing>"})
		root, w, h := parseSVG(t, doc)
		checkTextInside(t, root, w, h)
		if len(root.find("g", "panel")) != 0 || len(root.find("text", "empty")) != 1 {
			t.Errorf("no listeners: %s", doc)
		}
		if !strings.Contains(root.text, "empty & <nothing>") {
			t.Error("title not shown")
		}
	}
	if err := Chart(&bytes.Buffer{}, nil, ChartOptions{}); err == nil {
		t.Error("nil summary: no error")
	}
}

// synthListener is a listener with n seconds of series, a count every
// tenth second, and one episode.
func synthListener(addr string, start int64, n int) *analyze.Listener {
	l := &analyze.Listener{Server: netip.MustParseAddrPort(addr), Flows: n / 10}
	l.Series.Start = start
	for k := range l.Series.Counts {
		l.Series.Counts[k] = make([]int32, n)
		for i := k; i < n; i += 10 {
			l.Series.Counts[k][i] = int32(k + 1)
		}
	}
	l.Episodes = []analyze.Episode{{Start: start + int64(n/4)*1e9, End: start + int64(n/2)*1e9, Evidence: 3}}
	return l
}

func TestChartLongCaptureAggregates(t *testing.T) {
	const origin = int64(1_700_000_000e9)
	const n = 86400 // a day
	s := &analyze.Summary{Origin: origin + 3e8, End: origin + n*1e9, Listeners: []*analyze.Listener{synthListener("[2001:db8::1]:443", origin, n)}}
	doc := renderChart(t, s, ChartOptions{})
	panels := checkChart(t, s, doc)
	if len(panels) != 1 {
		t.Fatalf("%d panels", len(panels))
	}
	bars := panels[0].find("rect", "bar")
	root, w, _ := parseSVG(t, doc)
	if len(bars) == 0 || float64(len(bars)) > w*float64(len(analyze.SeriesNames)) {
		t.Errorf("%d bars for a %v px wide chart", len(bars), w)
	}
	if !strings.Contains(panels[0].text, "counts per ") || strings.Contains(panels[0].text, "counts per second") {
		t.Errorf("panel does not say its bins: %q", panels[0].find("text", "panel-title")[0].text)
	}
	_ = root
	// Bars are at least a pixel wide and inside the plot.
	for _, b := range bars {
		if x := attrNum(t, b, "x"); x < 0 || x+attrNum(t, b, "width") > w {
			t.Errorf("bar at x=%v outside the canvas", x)
		}
	}
}

func TestChartCapsPanels(t *testing.T) {
	const origin = int64(1_700_000_000e9)
	s := &analyze.Summary{Origin: origin, End: origin + 60e9}
	for i := range MaxChartPanels + 3 {
		s.Listeners = append(s.Listeners, synthListener(fmt.Sprintf("10.0.0.%d:80", i+1), origin, 60))
	}
	s.Listeners = append(s.Listeners, &analyze.Listener{Server: netip.MustParseAddrPort("10.0.1.1:80")}) // no series: skipped
	anon := func(a netip.AddrPort) string { return "L" + a.Addr().String()[7:] }
	doc := renderChart(t, s, ChartOptions{Anonymize: anon})
	root, _, _ := parseSVG(t, doc)
	panels := root.find("g", "panel")
	if len(panels) != MaxChartPanels {
		t.Errorf("%d panels, want %d", len(panels), MaxChartPanels)
	}
	more := root.find("text", "more")
	if len(more) != 1 || !strings.HasPrefix(more[0].text, "3 more listeners") {
		t.Errorf("note on the hidden listeners: %v", more)
	}
	if bytes.Contains(doc, []byte("10.0.0.")) {
		t.Error("a real address is in the anonymised chart")
	}
}

func TestChartHTML(t *testing.T) {
	s := analyzeFixture(t, "lab/ghost/server.pcap").sum
	var b bytes.Buffer
	if err := ChartHTML(&b, s, ChartOptions{}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	body, end := strings.Index(page, "<body>"), strings.Index(page, "</body>")
	start, stop := strings.Index(page, "<svg"), strings.LastIndex(page, "</svg>")
	if body < 0 || start < body || stop < start || stop > end {
		t.Fatal("the SVG is not inside <body>")
	}
	checkChart(t, s, []byte(page[start:stop+len("</svg>")]))
	root := parseXML(t, []byte(strings.TrimPrefix(page, "<!DOCTYPE html>")))
	if root.name != "html" || len(root.find("svg", "")) != 1 {
		t.Error("html > svg not found")
	}
}
