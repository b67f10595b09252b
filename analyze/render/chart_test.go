package render

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tcptimeline/tcptimeline/analyze"
	"github.com/tcptimeline/tcptimeline/flowstate"
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
	want := append(analyze.SeriesNames[:], "syn-queue", "accept-queue", "established-client", "established-server")
	if strings.Join(series, ",") != strings.Join(want, ",") {
		t.Errorf("legend series %q, want %q", series, want)
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
		for k := range analyze.SeriesNames {
			want += l.Series.Total(analyze.SeriesKind(k))
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
				if !l.Series.Empty() {
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

// synthListener is a listener with n seconds of series from origin at
// 1 s resolution, a count every tenth second, and one episode.
func synthListener(addr string, origin int64, n int) *analyze.Listener {
	l := &analyze.Listener{Server: netip.MustParseAddrPort(addr), Flows: n / 10}
	l.Series = analyze.Series{Origin: origin, Res: 1e9}
	for i := 0; i < n; i++ {
		b := analyze.SeriesBin{Index: int64(i)}
		for k := range b.V {
			if (i-k)%10 == 0 {
				b.V[k] = int32(k + 1)
			}
		}
		if b.V != ([analyze.NumSeriesKinds]int32{}) {
			l.Series.Bins = append(l.Series.Bins, b)
		}
	}
	l.Episodes = []analyze.Episode{{Start: origin + int64(n/4)*1e9, End: origin + int64(n/2)*1e9, Evidence: 3, Queue: analyze.QueueAccept}}
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
	root, _, _ := parseSVG(t, []byte(doc))
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

// chartEvent is one thing the chart counts, from the recorded flows.
type chartEvent struct {
	listener string
	kind     string
	t        int64 // ns since the run's first packet
}

// eventsOf lists what the chart must draw, from the flows' packets and
// findings: a listener's new SYNs, its drops, ignored ACKs and data,
// ghosts, and first resets.
func eventsOf(r *fixtureRun) []chartEvent {
	var out []chartEvent
	// Dropped SYNs are drawn where the listener view counts them as
	// evidence: at each copy that got no answer.
	kinds := map[flowstate.Label]analyze.SeriesKind{flowstate.LabelSynAckAfterAck: analyze.SeriesSynAckAfterAck,
		flowstate.LabelDataWhileSynRecv: analyze.SeriesDataIgnored, flowstate.LabelGhostConnection: analyze.SeriesGhost}
	for _, f := range r.flows {
		add := func(t int64, k analyze.SeriesKind) {
			out = append(out, chartEvent{f.Server.String(), analyze.SeriesNames[k], t - r.sum.Origin})
		}
		if f.SynTime != 0 {
			add(f.SynTime, analyze.SeriesNewSYN)
		}
		if times, _ := f.DroppedSYNs(); len(times) > 0 {
			for _, l := range r.sum.Listeners {
				if l.Server == f.Server && l.Counts[analyze.CounterListenDrops] > 0 {
					for _, t := range times {
						add(t, analyze.SeriesSynDropped)
					}
				}
			}
		}
		for _, fd := range f.Findings {
			if k, ok := kinds[fd.Label]; ok {
				add(fd.Time, k)
			}
		}
		for i := range f.Packets {
			if p := &f.Packets[i]; p.Flags&flowstate.RST != 0 {
				add(p.Time, analyze.SeriesReset)
				break
			}
		}
	}
	return out
}

// tickScale reads the x axis of a panel from its ticks: pixels at time
// 0 and per nanosecond.
func tickScale(t *testing.T, panel *node) (x0, perNS float64) {
	t.Helper()
	type tick struct{ x, ns float64 }
	var ticks []tick
	for _, n := range panel.find("text", "tick") {
		if n.text == "0" {
			ticks = append(ticks, tick{attrNum(t, n, "x"), 0})
			continue
		}
		// "2.5 s", "1 h", or two units, "1 d 3 h".
		f := strings.Fields(n.text)
		if len(f) != 2 && len(f) != 4 {
			t.Fatalf("tick %q: not a duration", n.text)
		}
		ns := 0.0
		for i := 0; i < len(f); i += 2 {
			var v float64
			if _, err := fmt.Sscanf(f[i], "%g", &v); err != nil {
				t.Fatalf("tick %q: %v", n.text, err)
			}
			mult := map[string]float64{"ms": 1e6, "s": 1e9, "min": 60e9, "h": 3600e9, "d": 86400e9}[f[i+1]]
			if mult == 0 {
				t.Fatalf("tick %q: unit %q", n.text, f[i+1])
			}
			ns += v * mult
		}
		ticks = append(ticks, tick{attrNum(t, n, "x"), ns})
	}
	if len(ticks) < 2 {
		t.Fatalf("%d ticks", len(ticks))
	}
	a, b := ticks[0], ticks[len(ticks)-1]
	perNS = (b.x - a.x) / (b.ns - a.ns)
	return a.x - a.ns*perNS, perNS
}

// TestChartEventsInTheirBins: every event of the fixtures is drawn in the
// bar of its series whose bin holds its time, at the x of that bin on
// the axis the ticks label, and inside the shading of the episode that
// holds it; bins start at the first packet. long/server.pcap spans a day:
// hour bins, ticks in hours and days.
func TestChartEventsInTheirBins(t *testing.T) {
	for _, rel := range []string{"lab/ghost/server.pcap", "lab/burst-slow-accept/server.pcap", "seed002/seed002.pcap", "long/server.pcap"} {
		t.Run(rel, func(t *testing.T) {
			r := analyzeFixture(t, rel)
			doc := renderChart(t, r.sum, ChartOptions{})
			panels := checkChart(t, r.sum, doc)
			byAddr := map[string]*node{}
			for _, p := range panels {
				byAddr[p.attr["data-listener"]] = p
			}
			episodes := map[string][]analyze.Episode{}
			for _, l := range r.sum.Listeners {
				episodes[l.Server.String()] = l.Episodes
			}
			events := eventsOf(r)
			if len(events) == 0 {
				t.Fatal("no events")
			}
			for _, e := range events {
				p := byAddr[e.listener]
				if p == nil {
					t.Fatalf("no panel for %s", e.listener)
				}
				x0, perNS := tickScale(t, p)
				var bar *node
				for _, b := range p.find("rect", "bar") {
					from, to := attrNum(t, b, "data-from-ns"), attrNum(t, b, "data-to-ns")
					if b.attr["data-series"] == e.kind && from <= float64(e.t) && float64(e.t) < to {
						bar = b
						if from < 0 && e.t >= 0 || int64(from)%int64(to-from) != 0 {
							t.Errorf("%s %s at %d ns: bin %v..%v does not start on a bin boundary from the first packet", e.listener, e.kind, e.t, from, to)
						}
						bx, bw := attrNum(t, b, "x"), attrNum(t, b, "width")
						if lo, hi := x0+from*perNS-1, x0+to*perNS+1; bx < lo || bx+bw > hi {
							t.Errorf("%s %s at %d ns: bar at x %.1f..%.1f, its bin is at %.1f..%.1f", e.listener, e.kind, e.t, bx, bx+bw, lo, hi)
						}
					}
				}
				if bar == nil {
					t.Errorf("%s %s at %d ns: no bar holds it", e.listener, e.kind, e.t)
					continue
				}
				rects := p.find("rect", "episode")
				for i, ep := range episodes[e.listener] {
					if e.t < ep.Start-r.sum.Origin || e.t > ep.End-r.sum.Origin || i >= len(rects) {
						continue
					}
					ex, ew := attrNum(t, rects[i], "x"), attrNum(t, rects[i], "width")
					if bx, bw := attrNum(t, bar, "x"), attrNum(t, bar, "width"); bx < ex-0.1 || bx+bw > ex+ew+0.1 {
						t.Errorf("%s %s at %d ns: bar at x %.1f..%.1f outside its episode's shading %.1f..%.1f", e.listener, e.kind, e.t, bx, bx+bw, ex, ex+ew)
					}
				}
			}
			// No tick reads like a float's noise, and none is negative.
			for _, n := range panels[0].find("text", "tick") {
				if len(n.text) > 12 || strings.HasPrefix(n.text, "-") || strings.Contains(n.text, "e+") {
					t.Errorf("tick label %q", n.text)
				}
			}
		})
	}
}

func TestHumanDur(t *testing.T) {
	for _, c := range []struct {
		ns   int64
		want string
	}{
		{0, "0 s"}, {250e3, "0.25 ms"}, {450e6, "450 ms"}, {2500e6, "2.5 s"}, {59999e6, "59.999 s"},
		{90e9, "1 min 30 s"}, {3 * 3600e9, "3 h"}, {5400e9, "1 h 30 min"}, {86400e9 * 2, "2 d"}, {86400e9*2 + 12*3600e9, "2 d 12 h"},
		{-1500e6, "-1.5 s"},
	} {
		if got := humanDur(c.ns); got != c.want {
			t.Errorf("humanDur(%d) = %q, want %q", c.ns, got, c.want)
		}
	}
}

// Every resolution a series may have is a nice width, so the chart
// always finds a bin width that fits every listener.
func TestNiceWidthsHoldSeriesResolutions(t *testing.T) {
	for _, r := range analyze.SeriesResolutions {
		if !slices.Contains(niceWidths, r) {
			t.Errorf("series resolution %d ns is not a nice width", r)
		}
		if niceWidth(1, r) != r {
			t.Errorf("niceWidth(1, %d) = %d", r, niceWidth(1, r))
		}
	}
}

// A multi-year capture reads in days, not 1e+07 seconds.
func TestChartMultiYear(t *testing.T) {
	const origin = int64(1_500_000_000e9)
	l := &analyze.Listener{Server: netip.MustParseAddrPort("10.0.0.1:80"), Flows: 3}
	l.Series = analyze.Series{Origin: origin, Res: 86400e9, Bins: []analyze.SeriesBin{{Index: 0, V: [analyze.NumSeriesKinds]int32{1}}, {Index: 1000, V: [analyze.NumSeriesKinds]int32{2}}}}
	s := &analyze.Summary{Origin: origin, End: origin + 1000*86400e9 + 5e9, Listeners: []*analyze.Listener{l}}
	doc := renderChart(t, s, ChartOptions{})
	panels := checkChart(t, s, doc)
	if len(panels) != 1 || strings.Contains(string(doc), "e+") || !strings.Contains(panels[0].text, "counts per ") || !strings.Contains(panels[0].text, " d") {
		t.Errorf("multi-year chart:\n%s", doc)
	}
}

// An overflowing listener's chart draws both queues' occupancy as lines.
func TestChartQueueLines(t *testing.T) {
	fx := analyzeFixture(t, "lab/syncookies-off/server.pcap")
	doc, _, err := chartSVG(fx.sum, ChartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	root, _, _ := parseSVG(t, []byte(doc))
	got := map[string]bool{}
	for _, n := range root.find("polyline", "level") {
		got[n.attr["data-series"]] = n.attr["points"] != ""
	}
	if !got["syn-queue"] || !got["accept-queue"] {
		t.Errorf("queue lines %v, want syn-queue and accept-queue", got)
	}
}

// The seed's trace: the clients' ESTABLISHED line climbs to 5 while the
// server's stays at its accept queue's 2, and each ends at its level.
func TestChartEstablishedLines(t *testing.T) {
	fx := analyzeFixture(t, "seed002/seed002.pcap")
	doc, _, err := chartSVG(fx.sum, ChartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	root, _, _ := parseSVG(t, []byte(doc))
	ends := map[string]float64{}
	for _, n := range root.find("polyline", "level") {
		pts := strings.Fields(n.attr["points"])
		if len(pts) == 0 {
			continue
		}
		_, y, _ := strings.Cut(pts[len(pts)-1], ",")
		v, err := strconv.ParseFloat(y, 64)
		if err != nil {
			t.Fatal(err)
		}
		ends[n.attr["data-series"]] = v
	}
	c, okc := ends["established-client"]
	s, oks := ends["established-server"]
	if !okc || !oks || !(c < s) { // SVG y grows downwards: 5 is above 2
		t.Errorf("established lines end at y %v: want the clients' above the server's", ends)
	}
}
