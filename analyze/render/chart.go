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
	// Shown, when not nil, limits the panels to the listeners it holds:
	// those of the flows a filter (--flow, --port, --host) showed. Each
	// panel still counts all of its listener's flows, and the subtitle
	// says so.
	Shown map[netip.AddrPort]bool
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

// chQueues are the queue occupancy lines' legend texts and colours.
var chQueues = [2]struct{ text, color, id string }{
	{"SYN queue (requests pending)", "#2e7d32", "syn-queue"},
	{"accept queue (unaccepted, at most)", "#00838f", "accept-queue"},
}

// chEstab are the lines of the connections each side believes
// ESTABLISHED (analyze.Established), dashed to tell them from the queues.
var chEstab = [2]struct{ text, color, id string }{
	{"clients ESTABLISHED", "#8d6e63", "established-client"},
	{"server ESTABLISHED", "#37474f", "established-server"},
}

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
// left out), each showing the series of Listener.Series (new SYNs, SYNs
// dropped, SYN-ACKs retransmitted after the client's ACK, client data
// ignored, ghost connections, resets) as grouped bars over the capture's
// own clock, with the overflow episodes shaded behind them.
//
// The x axis is the time since the run's first packet (Summary.Origin,
// whose UTC time is in the subtitle), labelled in the unit its step
// reads best in ("500 ms", "2.5 s", "3 h"). Bins start at the first
// packet and are as narrow as the plot allows (at least chMinBin pixels)
// among 1, 2, 5 ms, ... 1 s, ... 1 min, ... 1 h, ... 1 d, ..., so their
// width follows the capture's span; every event is drawn in the bin that
// holds its time, and an episode's shading covers the bins of its first
// and last evidence.
//
// Each panel is a <g class="panel" data-listener="ADDR"> element, each
// legend entry a <g class="legend-item" data-series="ID"> with the IDs of
// analyze.SeriesNames, each episode a <rect class="episode">, each bar a
// <rect class="bar" data-series="ID" data-v="COUNT" data-from-ns="A"
// data-to-ns="B"> for its bin from A to B nanoseconds after the first
// packet. A summary without listeners gives a small SVG saying so.
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
	l     *analyze.Listener
	addr  string
	head  string
	bins  []analyze.SeriesBin
	ymax  float64
	ystep float64
	// qmax and qstep scale the queue lines on their own axis (at the
	// right) when the bars would flatten them; 0: the bars' axis.
	qmax, qstep float64
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
		if l == nil || l.Series.Empty() || opts.Shown != nil && !opts.Shown[l.Server] {
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
		if s.Interrupted {
			msg += "; interrupted: partial data"
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
	// The x domain, nanoseconds since origin: the capture, and every
	// drawn series (a packet whose time went backwards may lie before
	// the first).
	lo, hi := int64(0), s.End-origin
	var res int64
	for _, p := range panels {
		sr := &p.l.Series
		if a, b, ok := sr.Span(); ok {
			lo, hi = min(lo, a-origin), max(hi, b-origin)
		}
		res = max(res, sr.Res)
	}
	hi = max(hi, lo+nsMS)
	interrupted := ""
	if s.Interrupted {
		interrupted = "; interrupted: partial data"
	}
	filtered := ""
	if opts.Shown != nil {
		filtered = fmt.Sprintf("; the listeners of the flows the filter shows (%d of %d), each counted over all its flows", len(opts.Shown), len(s.Listeners))
	}
	subtitle := fmt.Sprintf("capture start (first packet) %s UTC, span %s; x: time since then%s%s", time.Unix(0, origin).UTC().Format("2006-01-02 15:04:05.000000"), humanDur(s.End-origin), filtered, interrupted)
	width = math.Ceil(max(width, textWidth(title, 15)+2*chMargin, textWidth(subtitle, chSmall)+2*chMargin))
	plotX := chMargin + chAxisW
	plotW := width - plotX - chMargin - 24 // room for a queue axis at the right

	// Bins: the narrowest nice width that leaves chMinBin pixels per bin
	// and is a multiple of every series' resolution; the domain is then
	// widened to whole bins.
	binW := niceWidth(int64(math.Ceil(float64(hi-lo)*chMinBin/plotW)), res)
	lo = floorDiv(lo, binW) * binW
	hi = (floorDiv(hi-1, binW) + 1) * binW
	xscale := plotW / float64(hi-lo)
	xat := func(ns int64) float64 { return plotX + float64(ns-lo)*xscale }

	for _, p := range panels {
		p.bins = p.l.Series.Rebin(binW)
		top := int64(0)
		for _, b := range p.bins {
			for _, v := range b.V {
				top = max(top, int64(v))
			}
		}
		qtop := int64(0)
		for _, q := range p.l.Queues.Levels {
			qtop = max(qtop, int64(q.SYNMax), int64(q.AcceptMax))
		}
		qtop = max(qtop, int64(p.l.Established.Peak[0]), int64(p.l.Established.Peak[1]))
		if qtop > 0 && top > 4*qtop {
			p.qstep = niceStep(float64(qtop) / 4)
			p.qmax = p.qstep * math.Ceil(float64(qtop)/p.qstep)
		} else {
			top = max(top, qtop)
		}
		p.ystep = niceStep(float64(max(top, 1)) / 4)
		p.ymax = p.ystep * math.Ceil(float64(max(top, 1))/p.ystep)
		var parts []string
		parts = append(parts, fmt.Sprintf("listener %s", p.addr), many(p.l.Flows, "flow"))
		switch n := len(p.l.Episodes); n {
		case 0:
			parts = append(parts, "no overflow episode")
		case 1:
			parts = append(parts, "1 overflow episode (shaded)")
		default:
			parts = append(parts, fmt.Sprintf("%d overflow episodes (shaded)", n))
		}
		parts = append(parts, "counts per "+humanDur(binW))
		if p.qmax > 0 {
			parts = append(parts, "queues on the right axis")
		}
		p.head = strings.Join(parts, ", ")
	}

	// Title, subtitle, legend.
	d.text(chMargin, titleY, title, textOpts{size: 15, weight: "bold", fill: colInk, class: "title"})
	d.text(chMargin, titleY+20, subtitle, textOpts{size: chSmall, fill: colMuted, class: "subtitle"})
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
	for _, q := range chQueues {
		iw := 22 + textWidth(q.text, chSmall) + 20
		if lx > chMargin && lx+iw > width-chMargin {
			lx, ly = chMargin, ly+18
		}
		d.raw(`<g class="legend-item" data-series="%s">`, q.id)
		d.line(lx, ly-4, lx+14, ly-4, q.color, 2, "")
		d.text(lx+20, ly, q.text, textOpts{size: chSmall, fill: colInk})
		d.raw("</g>\n")
		lx += iw
	}
	for _, q := range chEstab {
		iw := 22 + textWidth(q.text, chSmall) + 20
		if lx > chMargin && lx+iw > width-chMargin {
			lx, ly = chMargin, ly+18
		}
		d.raw(`<g class="legend-item" data-series="%s">`, q.id)
		d.raw(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2" stroke-dasharray="4 2"/>`, num(lx), num(ly-4), num(lx+14), num(ly-4), q.color)
		d.text(lx+20, ly, q.text, textOpts{size: chSmall, fill: colInk})
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

	ax := chAxis{plotX: plotX, plotW: plotW, lo: lo, hi: hi, binW: binW, origin: origin, xat: xat}
	for _, p := range panels {
		chDrawPanel(&d, p, y, &ax)
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

// tickLabel writes the time of an x tick: steps under a second in
// milliseconds while the axis stays under a second, else as seconds
// with decimals; longer steps in compound units ("1 h 30 min").
func tickLabel(t, step, hi int64) string {
	switch {
	case t == 0:
		return "0"
	case step < nsSec && hi <= nsSec:
		return decimal(float64(t)/1e6, 3) + " ms"
	case step < nsSec:
		return decimal(float64(t)/1e9, 3) + " s"
	}
	return humanDur(t)
}

// chAxis is the time axis the panels share: the plot's left edge and
// width in pixels, its domain lo..hi in nanoseconds since origin, and the
// bin width.
type chAxis struct {
	plotX, plotW float64
	lo, hi, binW int64
	origin       int64
	xat          func(ns int64) float64
}

// bin returns the start of the bin holding t (nanoseconds since origin).
func (ax *chAxis) bin(t int64) int64 { return floorDiv(t, ax.binW) * ax.binW }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func chDrawPanel(d *svgDoc, p *chPanel, y0 float64, ax *chAxis) {
	l := p.l
	plotX, plotW := ax.plotX, ax.plotW
	d.raw(`<g class="panel" data-listener="%s">`+"\n", xmlText(p.addr))
	d.text(chMargin, y0+4, p.head, textOpts{size: chFont, weight: "bold", fill: colInk, class: "panel-title"})
	top := y0 + 18
	bottom := top + chPlotH
	yat := func(v float64) float64 { return bottom - v/p.ymax*chPlotH }
	// Episodes behind everything, over the bins of their first and last
	// evidence, so that every bar of their evidence lies inside.
	for _, e := range l.Episodes {
		x1 := ax.xat(ax.bin(e.Start - ax.origin))
		x2 := ax.xat(ax.bin(e.End-ax.origin) + ax.binW)
		x1, x2 = max(x1, plotX), min(x2, plotX+plotW)
		d.raw(`<rect class="episode" x="%s" y="%s" width="%s" height="%s" fill="%s">`, num(x1), num(top), num(x2-x1), num(chPlotH), colShade)
		d.raw("<title>%s</title></rect>\n", xmlText(fmt.Sprintf("%s-queue overflow episode %s .. %s (%s, %s, %d pieces of evidence)", e.Queue, absTime(e.Start), absTime(e.End), humanDur(e.End-e.Start), e.Confidence, e.Evidence)))
	}
	// Y grid and ticks.
	for i := 0.0; i*p.ystep <= p.ymax+1e-9; i++ {
		v := i * p.ystep
		yy := yat(v)
		d.line(plotX, yy, plotX+plotW, yy, "#ececec", 1, "")
		d.text(plotX-6, yy+4, fmt.Sprintf("%g", v), textOpts{size: chSmall, anchor: "end", fill: colMuted})
	}
	// Bars: per bin, one per series, side by side.
	binPx := float64(ax.binW) * plotW / float64(ax.hi-ax.lo)
	// Bars at most 8 px wide, the group centred in its bin.
	barW := min(binPx*0.84/float64(analyze.NumSeriesKinds), 8)
	pad := (binPx - barW*float64(analyze.NumSeriesKinds)) / 2
	for k := range analyze.SeriesNames {
		for _, b := range p.bins {
			v := b.V[k]
			if v == 0 {
				continue
			}
			t0 := b.Index * ax.binW
			x := ax.xat(t0) + pad + float64(k)*barW
			yy := yat(float64(v))
			d.raw(`<rect class="bar" data-series="%s" data-v="%d" data-from-ns="%d" data-to-ns="%d" x="%s" y="%s" width="%s" height="%s" fill="%s">`,
				analyze.SeriesNames[k], v, t0, t0+ax.binW, num(x), num(yy), num(max(barW-0.5, 0.8)), num(bottom-yy), chSeries[k].color)
			d.raw("<title>%s</title></rect>\n", xmlText(fmt.Sprintf("%s: %d from %s to %s", chSeries[k].text, v, humanDur(t0), humanDur(t0+ax.binW))))
		}
	}
	if p.qmax > 0 {
		qat := func(v float64) float64 { return bottom - v/p.qmax*chPlotH }
		for i := 0.0; i*p.qstep <= p.qmax+1e-9; i++ {
			v := i * p.qstep
			d.text(plotX+plotW+4, qat(v)+4, fmt.Sprintf("%g", v), textOpts{size: chSmall, fill: chQueues[0].color, class: "queue-tick"})
		}
		chDrawQueues(d, p, ax, qat)
		chDrawEstablished(d, p, ax, qat)
	} else {
		chDrawQueues(d, p, ax, yat)
		chDrawEstablished(d, p, ax, yat)
	}
	// Axes and x ticks.
	d.line(plotX, bottom, plotX+plotW, bottom, colInk, 1, "")
	d.line(plotX, top, plotX, bottom, colInk, 1, "")
	step := niceWidth((ax.hi-ax.lo+11)/12, 0)
	for t := floorDiv(ax.lo+step-1, step) * step; t <= ax.hi; t += step {
		xx := ax.xat(t)
		d.line(xx, bottom, xx, bottom+4, colInk, 1, "")
		d.text(xx, bottom+16, tickLabel(t, step, ax.hi), textOpts{size: chSmall, anchor: "middle", fill: colInk, class: "tick"})
	}
	d.text(plotX+plotW, bottom+32, "time since capture start", textOpts{size: chSmall, anchor: "end", fill: colMuted})
	d.raw("</g>\n")
}

// chDrawQueues draws both queues' occupancy as step lines over the bars:
// in each bin its largest level, held across bins without a change.
func chDrawQueues(d *svgDoc, p *chPanel, ax *chAxis, yat func(float64) float64) {
	lv := p.l.Queues.Levels
	if len(lv) == 0 {
		return
	}
	for qi, q := range chQueues {
		get := func(l analyze.QueueLevel) (peak, end int32) {
			if qi == 0 {
				return l.SYNMax, l.SYNEnd
			}
			return l.AcceptMax, l.AcceptEnd
		}
		var pts []string
		level := int32(0)
		drawn := false
		for i := 0; i < len(lv); {
			bin := ax.bin(lv[i].T - ax.origin)
			peak, end := level, level
			for ; i < len(lv) && ax.bin(lv[i].T-ax.origin) == bin; i++ {
				pk, e := get(lv[i])
				peak, end = max(peak, pk), e
			}
			if !drawn && peak == 0 {
				level = end
				continue
			}
			x0, x1 := ax.xat(bin), ax.xat(bin+ax.binW)
			pts = append(pts, num(x0)+","+num(yat(float64(level))), num(x0)+","+num(yat(float64(peak))), num(x1)+","+num(yat(float64(peak))))
			if end != peak {
				pts = append(pts, num(x1)+","+num(yat(float64(end))))
			}
			drawn, level = true, end
		}
		if !drawn {
			continue
		}
		pts = append(pts, num(ax.xat(ax.hi))+","+num(yat(float64(level))))
		d.raw(`<polyline class="level" data-series="%s" fill="none" stroke="%s" stroke-width="2" points="%s"><title>%s</title></polyline>`+"\n",
			q.id, q.color, strings.Join(pts, " "), xmlText(q.text+": the largest in each "+humanDur(ax.binW)))
	}
}

// chDrawEstablished draws how many connections each side believes
// ESTABLISHED as dashed step lines: in each bin the count at its end,
// held across bins without a change.
func chDrawEstablished(d *svgDoc, p *chPanel, ax *chAxis, yat func(float64) float64) {
	pts := p.l.Established.Points
	if len(pts) == 0 {
		return
	}
	for side, q := range chEstab {
		get := func(e analyze.EstablishedPoint) int32 {
			if side == 0 {
				return e.Client
			}
			return e.Server
		}
		var xy []string
		level := int32(0)
		drawn := false
		for i := 0; i < len(pts); {
			bin := ax.bin(pts[i].T - ax.origin)
			end := level
			for ; i < len(pts) && ax.bin(pts[i].T-ax.origin) == bin; i++ {
				end = get(pts[i])
			}
			if !drawn && end == 0 {
				continue
			}
			x0 := ax.xat(bin)
			xy = append(xy, num(x0)+","+num(yat(float64(level))), num(x0)+","+num(yat(float64(end))))
			drawn, level = true, end
		}
		if !drawn {
			continue
		}
		xy = append(xy, num(ax.xat(ax.hi))+","+num(yat(float64(level))))
		d.raw(`<polyline class="level" data-series="%s" fill="none" stroke="%s" stroke-width="2" stroke-dasharray="4 2" points="%s"><title>%s</title></polyline>`+"\n",
			q.id, q.color, strings.Join(xy, " "), xmlText(q.text+" (as that side believes), at the end of each "+humanDur(ax.binW)))
	}
}
