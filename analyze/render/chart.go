package render

import (
	"fmt"
	"io"
	"math"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/tcptimeline/tcptimeline/analyze"
)

// ChartOptions tune Chart and ChartHTML.
type ChartOptions struct {
	// Anonymize, when set, replaces each listener's address:port in the
	// output; nil shows the real addresses.
	Anonymize func(netip.AddrPort) string
	// Title replaces the chart's default title.
	Title string
}

func (o *ChartOptions) addr(a netip.AddrPort) string {
	if o.Anonymize != nil {
		return o.Anonymize(a)
	}
	return a.String()
}

// MaxChartPanels is the most listeners Chart draws; the rest are named in
// a note.
const MaxChartPanels = 8

// Chart geometry, in pixels.
const (
	chMargin  = 16.0
	chWidth   = 960.0 // default canvas width
	chAxisW   = 48.0  // room for the y tick labels
	chPlotH   = 130.0 // height of a panel's plot area
	chPanelH  = chPlotH + 72
	chMinBin  = 24.0 // narrowest bin: six bars of 4 px
	chFont    = 12.0
	chSmall   = 11.0
	chDefault = "tcptimeline: listen-queue overflow, counts over time"
)

// chSeries are the series' legend texts and colours, in SeriesKind order.
var chSeries = [analyze.NumSeriesKinds]struct{ text, color string }{
	analyze.SeriesNewSYN:         {"new SYNs", "#9e9e9e"},
	analyze.SeriesSynDropped:     {"SYNs dropped", "#ef6c00"},
	analyze.SeriesSynAckAfterAck: {"SYN-ACKs retransmitted after the ACK", "#c62828"},
	analyze.SeriesDataIgnored:    {"client data ignored", "#6a1b9a"},
	analyze.SeriesGhost:          {"ghost connections", "#212121"},
	analyze.SeriesReset:          {"resets", "#1565c0"},
}

// chNiceBins are the bin widths, in seconds, a long capture is aggregated
// into.
var chNiceBins = []int64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400}

// niceStep returns the smallest of 1, 2, 5 times a power of ten that is at
// least v.
func niceStep(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v-1e-9 {
			return m * p
		}
	}
	return 10 * p
}

// Chart writes the incident chart of a run as an SVG document: one panel
// per listener (stacked, at most MaxChartPanels, those with overflow
// episodes and most flows first; listeners whose series are empty are
// left out), each showing the six per-second series of Listener.Series
// (new SYNs, SYNs dropped, SYN-ACKs retransmitted after the client's ACK,
// client data ignored, ghost connections, resets) as grouped bars over
// the capture's time, with the overflow episodes shaded behind them. The
// x axis counts seconds since the run's first packet (Summary.Origin),
// whose UTC time is in the title. When the capture has more seconds than
// the plot has room for, seconds are summed into wider bins (2 s, 5 s,
// 10 s, ... 1 day) and the y axis says so.
//
// Each panel is a <g class="panel" data-listener="ADDR"> element, each
// legend entry a <g class="legend-item" data-series="ID"> with the IDs of
// analyze.SeriesNames, each episode a <rect class="episode">. A summary
// without listeners gives a small SVG saying so.
func Chart(w io.Writer, s *analyze.Summary, opts ChartOptions) error {
	svg, _, err := chartSVG(s, opts)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, svg)
	return err
}

// ChartHTML writes a self-contained HTML page with the chart of Chart
// inline, under its title.
func ChartHTML(w io.Writer, s *analyze.Summary, opts ChartOptions) error {
	svg, title, err := chartSVG(s, opts)
	if err != nil {
		return err
	}
	return htmlPage(w, title, func(b *strings.Builder) error {
		b.WriteString("<h1>" + xmlText(title) + "</h1>\n")
		b.WriteString(svg)
		return nil
	})
}

// chPanel is one listener's panel, laid out.
type chPanel struct {
	l      *analyze.Listener
	addr   string
	head   string
	binSec int64
	bins   [analyze.NumSeriesKinds][]int64
	ymax   float64
	ystep  float64
}

func chartSVG(s *analyze.Summary, opts ChartOptions) (string, string, error) {
	if s == nil {
		return "", "", fmt.Errorf("render: no summary to chart")
	}
	title := opts.Title
	if title == "" {
		title = chDefault
	}
	var d svgDoc
	var panels []*chPanel
	hidden := 0
	for _, l := range s.Listeners {
		if l == nil || l.Series.Seconds() == 0 {
			continue
		}
		panels = append(panels, &chPanel{l: l, addr: opts.addr(l.Server)})
	}
	width := chWidth
	titleY := chMargin + 16
	if len(panels) == 0 {
		msg := "no listener in this capture has a counted event (no SYN, drop, ignored ACK or data, ghost or reset)"
		if len(s.Listeners) == 0 {
			msg = "no listeners in this capture: no TCP flow was seen"
		}
		width = math.Ceil(max(textWidth(title, 15), textWidth(msg, chFont)) + 2*chMargin)
		d.text(chMargin, titleY, title, textOpts{size: 15, weight: "bold", fill: colInk})
		d.text(chMargin, titleY+24, msg, textOpts{size: chFont, fill: colMuted, class: "empty"})
		var out strings.Builder
		err := d.write(&out, width, titleY+24+chMargin, title)
		return out.String(), title, err
	}
	// Listeners with overflow first, then by flows; stable otherwise.
	sort.SliceStable(panels, func(i, j int) bool {
		a, b := panels[i].l, panels[j].l
		if (len(a.Episodes) > 0) != (len(b.Episodes) > 0) {
			return len(a.Episodes) > 0
		}
		return a.Flows > b.Flows
	})
	if len(panels) > MaxChartPanels {
		hidden = len(panels) - MaxChartPanels
		panels = panels[:MaxChartPanels]
	}

	origin := s.Origin
	// The x domain, seconds relative to origin: the capture, and every
	// drawn series (a series starts at a whole second, before origin).
	xmin, xmax := 0.0, float64(s.End-origin)/1e9
	for _, p := range panels {
		sr := &p.l.Series
		xmin = min(xmin, float64(sr.Start-origin)/1e9)
		xmax = max(xmax, float64(sr.Start-origin)/1e9+float64(sr.Seconds()))
	}
	if xmax-xmin < 1 {
		xmax = xmin + 1
	}
	subtitle := fmt.Sprintf("capture start %s UTC, %s; x: seconds since then", time.Unix(0, origin).UTC().Format("2006-01-02 15:04:05.000000"), dur(s.End-origin))
	// Legend entries.
	legendW := 0.0
	for _, sr := range chSeries {
		legendW = max(legendW, 22+textWidth(sr.text, chSmall)+20)
	}
	width = math.Ceil(max(width, textWidth(title, 15)+2*chMargin, textWidth(subtitle, chSmall)+2*chMargin))
	plotX := chMargin + chAxisW
	plotW := width - plotX - chMargin - 8
	xscale := plotW / (xmax - xmin)
	xat := func(sec float64) float64 { return plotX + (sec-xmin)*xscale }

	// Bins: the narrowest nice width that leaves chMinBin pixels per bin.
	var binSec int64 = chNiceBins[len(chNiceBins)-1]
	for _, b := range chNiceBins {
		if float64(b)*xscale >= chMinBin {
			binSec = b
			break
		}
	}
	for _, p := range panels {
		p.binSec = binSec
		n := (int64(p.l.Series.Seconds()) + binSec - 1) / binSec
		top := int64(0)
		for k := range p.bins {
			p.bins[k] = make([]int64, n)
			for i, c := range p.l.Series.Counts[k] {
				p.bins[k][int64(i)/binSec] += int64(c)
			}
			for _, v := range p.bins[k] {
				top = max(top, v)
			}
		}
		p.ystep = niceStep(float64(max(top, 1)) / 4)
		p.ymax = p.ystep * math.Ceil(float64(max(top, 1))/p.ystep)
		var parts []string
		parts = append(parts, fmt.Sprintf("listener %s", p.addr), fmt.Sprintf("%d flows", p.l.Flows))
		switch n := len(p.l.Episodes); n {
		case 0:
			parts = append(parts, "no overflow episode")
		case 1:
			parts = append(parts, "1 overflow episode (shaded)")
		default:
			parts = append(parts, fmt.Sprintf("%d overflow episodes (shaded)", n))
		}
		if binSec == 1 {
			parts = append(parts, "counts per second")
		} else {
			parts = append(parts, fmt.Sprintf("counts per %d s", binSec))
		}
		p.head = strings.Join(parts, ", ")
	}

	// Title, subtitle, legend.
	d.text(chMargin, titleY, title, textOpts{size: 15, weight: "bold", fill: colInk, class: "title"})
	d.text(chMargin, titleY+20, subtitle, textOpts{size: chSmall, fill: colMuted})
	ly := titleY + 44
	lx := chMargin
	for k, sr := range chSeries {
		iw := 22 + textWidth(sr.text, chSmall) + 20
		if lx > chMargin && lx+iw > width-chMargin {
			lx, ly = chMargin, ly+18
		}
		d.raw(`<g class="legend-item" data-series="%s">`, analyze.SeriesNames[k])
		d.rect(lx, ly-10, 14, 11, sr.color, "", "")
		d.text(lx+20, ly, sr.text, textOpts{size: chSmall, fill: colInk})
		d.raw("</g>\n")
		lx += iw
	}
	lx += 6
	if lx+64+textWidth("overflow episode", chSmall) > width-chMargin {
		lx, ly = chMargin, ly+18
	}
	d.rect(lx, ly-10, 14, 11, colShade, "#e8a0a0", "")
	d.text(lx+20, ly, "overflow episode", textOpts{size: chSmall, fill: colInk})
	y := ly + 22

	for _, p := range panels {
		chDrawPanel(&d, p, y, plotX, plotW, xmin, xmax, xat, origin)
		y += chPanelH
	}
	if hidden > 0 {
		d.text(chMargin, y+4, fmt.Sprintf("%d more listeners not drawn: the chart shows %d, those with overflow episodes and the most flows first", hidden, MaxChartPanels),
			textOpts{size: chSmall, fill: colMuted, italic: true, class: "more"})
		y += 18
	}
	var out strings.Builder
	err := d.write(&out, width, math.Ceil(y+chMargin-8), title+" ("+subtitle+")")
	return out.String(), title, err
}

func chDrawPanel(d *svgDoc, p *chPanel, y0, plotX, plotW, xmin, xmax float64, xat func(float64) float64, origin int64) {
	l := p.l
	d.raw(`<g class="panel" data-listener="%s">`+"\n", xmlText(p.addr))
	d.text(chMargin, y0+4, p.head, textOpts{size: chFont, weight: "bold", fill: colInk, class: "panel-title"})
	top := y0 + 18
	bottom := top + chPlotH
	yat := func(v float64) float64 { return bottom - v/p.ymax*chPlotH }
	// Episodes behind everything.
	for _, e := range l.Episodes {
		x1 := xat(float64(e.Start-origin) / 1e9)
		x2 := xat(float64(e.End-origin) / 1e9)
		x1, x2 = max(x1, plotX), min(x2, plotX+plotW)
		if x2-x1 < 3 {
			x1, x2 = (x1+x2)/2-1.5, (x1+x2)/2+1.5
		}
		d.raw(`<rect class="episode" x="%s" y="%s" width="%s" height="%s" fill="%s">`, num(x1), num(top), num(x2-x1), num(chPlotH), colShade)
		d.raw("<title>%s</title></rect>\n", xmlText(fmt.Sprintf("overflow episode %s .. %s (%s, %d pieces of evidence)", absTime(e.Start), absTime(e.End), dur(e.End-e.Start), e.Evidence)))
	}
	// Y grid and ticks.
	for i := 0.0; i*p.ystep <= p.ymax+1e-9; i++ {
		v := i * p.ystep
		yy := yat(v)
		d.line(plotX, yy, plotX+plotW, yy, "#ececec", 1, "")
		d.text(plotX-6, yy+4, fmt.Sprintf("%g", v), textOpts{size: chSmall, anchor: "end", fill: colMuted})
	}
	// Bars: per bin, one per series, side by side.
	sr := &l.Series
	binW := float64(p.binSec) * (plotW / (xmax - xmin))
	// Bars at most 8 px wide, the group centred in its bin.
	barW := min(binW*0.84/float64(analyze.NumSeriesKinds), 8)
	pad := (binW - barW*float64(analyze.NumSeriesKinds)) / 2
	for k := range p.bins {
		for i, v := range p.bins[k] {
			if v == 0 {
				continue
			}
			t0 := float64(sr.Start-origin)/1e9 + float64(int64(i)*p.binSec)
			x := xat(t0) + pad + float64(k)*barW
			yy := yat(float64(v))
			d.raw(`<rect class="bar" data-series="%s" data-v="%d" x="%s" y="%s" width="%s" height="%s" fill="%s">`,
				analyze.SeriesNames[k], v, num(x), num(yy), num(max(barW-0.5, 0.8)), num(bottom-yy), chSeries[k].color)
			d.raw("<title>%s</title></rect>\n", xmlText(fmt.Sprintf("%s: %d in %g..%g s", chSeries[k].text, v, t0, t0+float64(p.binSec))))
		}
	}
	// Axes and x ticks.
	d.line(plotX, bottom, plotX+plotW, bottom, colInk, 1, "")
	d.line(plotX, top, plotX, bottom, colInk, 1, "")
	step := niceStep((xmax - xmin) / 12)
	for i := math.Ceil(xmin / step); i*step <= xmax+1e-9; i++ {
		v := i * step
		if v == 0 {
			v = 0 // not -0
		}
		xx := xat(v)
		d.line(xx, bottom, xx, bottom+4, colInk, 1, "")
		d.text(xx, bottom+16, fmt.Sprintf("%g", v), textOpts{size: chSmall, anchor: "middle", fill: colInk})
	}
	d.text(plotX+plotW, bottom+32, "seconds since capture start", textOpts{size: chSmall, anchor: "end", fill: colMuted})
	d.raw("</g>\n")
}
