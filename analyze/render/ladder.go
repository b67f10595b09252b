package render

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"strings"
	"time"

	"github.com/tcptimeline/tcptimeline/analyze"
	"github.com/tcptimeline/tcptimeline/flowstate"
)

// LadderOptions tune Ladder and LadderHTML.
type LadderOptions struct {
	// Anonymize, when set, replaces each endpoint's address:port in the
	// output (the CLI passes a stable pseudonymiser); nil shows the real
	// addresses.
	Anonymize func(netip.AddrPort) string
	// AbsTime labels packets with their UTC time of day, to the
	// microsecond, instead of milliseconds since the run's first packet.
	AbsTime bool
	// Interrupted says the run was interrupted: the flow may be cut
	// short, and the header says so.
	Interrupted bool
}

func (o *LadderOptions) addr(a netip.AddrPort) string {
	if o.Anonymize != nil {
		return o.Anonymize(a)
	}
	return a.String()
}

// Ladder geometry, in pixels. Text is 12 px (arrow labels, headers) or
// 11 px (times, states, notes) monospace.
const (
	ldMargin     = 16.0
	ldFont       = 12.0
	ldSmall      = 11.0
	ldLine       = 15.0 // line height of wrapped notes
	ldStateH     = 16.0 // height of a state box
	ldBreakH     = 24.0 // extra room for a "… 3.40 s …" break marker
	ldCrossGap   = 16.0 // an ignored packet's arrow stops this far from the lifeline
	ldNoteWidth  = 64   // characters per note line
	ldNoteLines  = 5    // lines of a note before it is truncated
	ldBreakAfter = 1e9  // gaps longer than this (ns) get a break marker
	ldMaxSlope   = 0.2  // steepest arrow: drop / width (about 11 degrees)
)

// ldGapPx maps a time gap (ns) to vertical pixels on the ladder's
// compressed scale: a square root up to a second (so 0.1 ms, 10 ms and
// 200 ms stay distinguishable), logarithmic beyond.
func ldGapPx(ns int64) float64 {
	if ns <= 0 {
		return 0
	}
	s := float64(ns) / 1e9
	if s <= 1 {
		return 48 * math.Sqrt(s)
	}
	return 48 + 10*math.Log2(s)
}

// ladderPacket is one arrow's layout.
type ladderPacket struct {
	p            *flowstate.Packet
	row          float64 // y of the capture point
	startY, endY float64 // arrow's ends, relative to row
	text         string  // flags, seq, ack, len, window, marks, frame
	seg          string  // the same without the frame
	when         string
	cross        bool
	labels       string
	note         []string
	noteFull     string
	changed      [2]bool
	top, bottom  float64 // extent relative to row
	labelY       float64 // baseline of the arrow's text, relative to row
	breakBefore  bool    // a break marker in the gap before this packet
	gapBefore    int64
	elided       int // packets left out before this one
	breakY       float64
	sideStateY   [2]float64 // top of each side's state box, relative to row
}

// Ladder writes a ladder (sequence) diagram of one recorded flow as a
// standalone SVG document.
//
// The client's column is on the left, the server's on the right, with
// their addresses on top; time flows downwards on a compressed scale
// (square root up to a second, logarithmic beyond; a gap over a second is
// cut by a "… 3.40 s …" marker). Each packet is an arrow from its sender
// to its receiver labelled with its flags (tcpdump notation), relative
// seq and ack, length and frame number, and with its time (milliseconds
// since the run's first packet, or UTC with AbsTime) at its start. An
// arrow is slanted by the one-way delay the capture's vantage point
// implies (half the handshake leg the capture sees as a round trip, on
// the same compressed scale, at most about 11 degrees); flat for a
// capture of both ends on one host or an unknown vantage point. The time
// shown is the packet's capture time.
//
// Each endpoint's state is written in its column whenever it changes,
// after the packet that changed it (blue); labelled packets are red, with
// a marker, their label IDs and the plain-language note beside them
// (wrapped, the full text in a tooltip); a cross at the receiving end
// marks a packet the receiver ignored or dropped (a client segment while
// the server is SYN-RECEIVED-ACK-IGNORED, a SYN that got no answer, data
// labelled data-while-syn-recv); duplicate frames are faint.
//
// The flow must have been recorded (analyze.Options.Record). Every packet
// is a <g class="pkt" data-n="FRAME" data-file="FILE"> element, in packet
// order. Output depends only on the flow and the options.
func Ladder(w io.Writer, f *analyze.Flow, opts LadderOptions) error {
	svg, _, err := ladderSVG(f, opts)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, svg)
	return err
}

// LadderHTML writes a self-contained HTML page (no external resources)
// with the ladder of Ladder inline: a title, the flow's endpoints, end
// states and labels, a legend, then the SVG (whose own header says how
// long the flow lasted, its vantage point and how times are shown).
func LadderHTML(w io.Writer, f *analyze.Flow, opts LadderOptions) error {
	svg, lay, err := ladderSVG(f, opts)
	if err != nil {
		return err
	}
	title := fmt.Sprintf("tcptimeline: flow %d, %s → %s", f.ID, lay.client, lay.server)
	return htmlPage(w, title, func(b *strings.Builder) error {
		b.WriteString("<h1>" + xmlText(title) + "</h1>\n")
		fmt.Fprintf(b, "<p>client <b>%s</b> &#8594; server <b>%s</b></p>\n", xmlText(lay.client), xmlText(lay.server))
		fmt.Fprintf(b, "<p>end: client <span class=\"change\">%s</span>, server <span class=\"change\">%s</span></p>\n",
			xmlText(f.EP[flowstate.Client].State.String()), xmlText(f.EP[flowstate.Server].State.String()))
		if f.Labels != 0 {
			b.WriteString("<p>labels: <span class=\"warn\">" + xmlText(strings.Join(f.Labels.Strings(), ", ")) + "</span></p>\n")
		} else {
			b.WriteString("<p class=\"muted\">no labels</p>\n")
		}
		b.WriteString("<ul class=\"legend\">\n")
		b.WriteString("<li><span class=\"warn\">&#8594; red</span>: a labelled packet, its labels and note beside it</li>\n")
		b.WriteString("<li><span class=\"change\">STATE</span>: an endpoint's state after the packet that changed it</li>\n")
		b.WriteString("<li><span class=\"warn\">&#10005;</span>: ignored or dropped by the receiver</li>\n")
		b.WriteString("<li><span class=\"muted\">faint, dashed</span>: a duplicate frame</li>\n")
		b.WriteString("</ul>\n")
		b.WriteString(svg)
		return nil
	})
}

// LadderMaxPackets is the most packets a ladder draws: of a longer flow,
// the first and last halves, with a marker saying how many were left out
// between them (a drawing of millions of arrows helps no one and would
// take gigabytes).
const LadderMaxPackets = 1000

// ldDrawn returns the indexes of f.Packets to draw, where in that list
// the packets left out were (gapAt), and how many (hidden: those the
// recording left out, Flow.Elided, and those the ladder leaves out).
func ldDrawn(f *analyze.Flow) (draw []int, gapAt, hidden int) {
	n := len(f.Packets)
	gapAt, hidden = f.ElidedAt, f.Elided
	if n <= LadderMaxPackets {
		draw = make([]int, n)
		for i := range draw {
			draw[i] = i
		}
		return draw, gapAt, hidden
	}
	head := LadderMaxPackets / 2
	tail := LadderMaxPackets - head
	for i := 0; i < head; i++ {
		draw = append(draw, i)
	}
	for i := n - tail; i < n; i++ {
		draw = append(draw, i)
	}
	return draw, head, hidden + n - head - tail
}

// ladderLayout is what LadderHTML reuses of the SVG's layout.
type ladderLayout struct {
	client, server      string
	summary             string
	timeNote, slopeNote string
}

// ldDelays gives, per sending side, how long before its capture time a
// packet left its sender and how long after it reached its receiver, as
// the flow's vantage point implies: half the handshake leg that is a
// round trip from the capture point.
func ldDelays(f *analyze.Flow) (before, after [2]int64) {
	d1, d2, ok := f.HandshakeLegs()
	if !ok || d1 < 0 || d2 < 0 {
		return
	}
	c, s := flowstate.Client, flowstate.Server
	switch f.Vantage {
	case analyze.VantageServer:
		before[c], after[s] = d2/2, d2/2
	case analyze.VantageClient:
		after[c], before[s] = d1/2, d1/2
	case analyze.VantageBetween:
		before[c], after[c] = d2/2, d1/2
		before[s], after[s] = d1/2, d2/2
	}
	return
}

// ldIgnored reports whether the receiver ignored or dropped packet i.
func ldIgnored(f *analyze.Flow, i int) bool {
	p := &f.Packets[i]
	if p.NotReceived && !p.Duplicate {
		return true // an ACK of a FIN its sender sent again after it (flowstate's close.go)
	}
	if p.Duplicate || p.From != flowstate.Client || p.Flags&flowstate.RST != 0 {
		return false
	}
	if p.Labels.Has(flowstate.LabelDataWhileSynRecv) {
		return true
	}
	if p.Flags&(flowstate.SYN|flowstate.ACK) == flowstate.SYN {
		if p.State[flowstate.Server] != flowstate.StateListen {
			return false
		}
		if p.Labels.Has(flowstate.LabelSynDropped) || f.Labels.Has(flowstate.LabelSynUnanswered) {
			return true
		}
		for j := i + 1; j < len(f.Packets); j++ {
			q := &f.Packets[j]
			if q.From == flowstate.Client && q.Flags&(flowstate.SYN|flowstate.ACK) == flowstate.SYN && q.Labels.Has(flowstate.LabelSynDropped) {
				return true
			}
		}
		return false
	}
	return p.State[flowstate.Server] == flowstate.StateSynReceivedAckIgnored && (p.Flags&flowstate.ACK != 0 || p.Len > 0)
}

// ldPacketText is packet i's arrow text: flags, seq, ack, len and window,
// then our duplicate mark or Wireshark's analysis marks.
func ldPacketText(f *analyze.Flow, i int) string {
	p := &f.Packets[i]
	var b strings.Builder
	fmt.Fprintf(&b, "%s  seq %d", p.Flags, p.Seq)
	if p.Flags&flowstate.ACK != 0 {
		fmt.Fprintf(&b, "  ack %d", p.Ack)
	}
	fmt.Fprintf(&b, "  len %d  win %d", p.Len, p.WinScaled)
	if p.Duplicate {
		b.WriteString("  dup")
	}
	ms := marks(f, i, false, nil)
	for _, m := range ms {
		b.WriteString(" " + m.text)
	}
	if len(ms) == 0 && p.Retransmit && !p.Duplicate {
		b.WriteString("  retx")
	}
	return b.String()
}

func ldFrame(p *flowstate.Packet) string {
	if p.File != 0 {
		return fmt.Sprintf("#%d:%d", p.File, p.Frame)
	}
	return fmt.Sprintf("#%d", p.Frame)
}

// ldWhen writes a packet's time at its arrow: the UTC time of day with
// abs (--time abs, or a flow a day or more from the run's first packet:
// relFormOf), else since the run's first packet, in ms or h:mm:ss.µs.
func ldWhen(f *analyze.Flow, ns int64, abs bool, form relForm) string {
	switch {
	case abs:
		// On the day the time note names (the flow's first packet's),
		// and dated past its midnight.
		return analyze.Clock(f.FirstTime, ns)
	case form == relHMS:
		return string(appendHMS(nil, ns-f.Origin))
	}
	return fmt.Sprintf("%.3f ms", float64(ns-f.Origin)/1e6)
}

// ladderSVG lays out and draws the ladder; it returns the document and
// what the HTML page shows around it.
func ladderSVG(f *analyze.Flow, opts LadderOptions) (string, ladderLayout, error) {
	var lay ladderLayout
	if f == nil || f.Flow == nil {
		return "", lay, errors.New("render: no flow to draw")
	}
	if len(f.Packets) == 0 {
		return "", lay, fmt.Errorf("render: flow %d has no recorded packets (analyze.Options.Record is off)", f.ID)
	}
	lay.client, lay.server = opts.addr(f.Client), opts.addr(f.Server)
	c, s := flowstate.Client, flowstate.Server

	// Texts first: the canvas is sized from them.
	title := fmt.Sprintf("flow %d: %s → %s", f.ID, lay.client, lay.server)
	lay.summary = fmt.Sprintf("%d packets, %s, %s; capture vantage point: %s", f.NPackets, dur(f.LastTime-f.FirstTime), f.EndReason, f.Vantage)
	if f.ClientGuessed {
		lay.summary += "; caught mid-stream: client guessed from the ports"
	}
	if opts.Interrupted {
		lay.summary += "; interrupted: partial data, the flow may go on"
	}
	var labelsLine string
	if f.Labels != 0 {
		labelsLine = "labels: " + strings.Join(f.Labels.Strings(), ", ")
	}
	form := relFormOf(f)
	abs := opts.AbsTime || form == relDate
	switch {
	case abs:
		lay.timeNote = "times: UTC time of day on " + time.Unix(0, f.FirstTime).UTC().Format("2006-01-02") + ": capture times, written at each arrow's start"
	case form == relHMS:
		lay.timeNote = "times: h:mm:ss.µs since the run's first packet (" + time.Unix(0, f.Origin).UTC().Format("2006-01-02 15:04:05.000000") + " UTC): capture times, written at each arrow's start"
	default:
		lay.timeNote = "times: ms since the run's first packet (" + time.Unix(0, f.Origin).UTC().Format("2006-01-02 15:04:05.000000") + " UTC): capture times, written at each arrow's start"
	}
	before, after := ldDelays(f)
	switch {
	case before == [2]int64{} && after == [2]int64{}:
		lay.slopeNote = "arrows are flat: the capture shows no one-way delay (vantage point " + string(f.Vantage) + ")"
	default:
		lay.slopeNote = "arrow slope: the one-way delay implied by the capture's vantage point (" + string(f.Vantage) + ")"
	}
	endLine := fmt.Sprintf("end: client %s, server %s", f.EP[c].State, f.EP[s].State)

	prev := [2]flowstate.State{flowstate.StateClosed, flowstate.StateListen}
	if f.MidStream {
		prev = [2]flowstate.State{}
	}
	initial := prev
	stateW := max(textWidth(initial[c].String(), ldSmall), textWidth(initial[s].String(), ldSmall))
	draw, gapAt, hidden := ldDrawn(f)
	if hidden > 0 {
		lay.summary += fmt.Sprintf("; drawn: the first %d and the last %d packets, the %d between them left out", gapAt, len(draw)-gapAt, hidden)
	}
	pk := make([]ladderPacket, len(draw))
	textW, whenW, annW := 0.0, 0.0, 0.0
	for n, i := range draw {
		p := &f.Packets[i]
		lp := &pk[n]
		if hidden > 0 && n == gapAt {
			lp.elided = hidden
		}
		lp.p = p
		lp.seg = ldPacketText(f, i)
		lp.text = lp.seg + "  " + ldFrame(p)
		lp.when = ldWhen(f, p.Time, abs, form)
		lp.cross = ldIgnored(f, i)
		if p.Labels != 0 {
			lp.labels = strings.Join(p.Labels.Strings(), ", ")
			annW = max(annW, textWidth(lp.labels, ldFont))
		}
		if i < len(f.Notes) && f.Notes[i] != "" {
			lp.noteFull = f.Notes[i]
			lp.note, _ = wrap(f.Notes[i], ldNoteWidth, ldNoteLines)
			for _, l := range lp.note {
				annW = max(annW, textWidth(l, ldSmall))
			}
		}
		// A duplicate frame is not fed to the state machine: it changes
		// no state, whatever its recorded states say.
		if !p.Duplicate {
			for _, side := range []flowstate.Side{c, s} {
				if p.State[side] != prev[side] {
					lp.changed[side] = true
					stateW = max(stateW, textWidth(p.State[side].String(), ldSmall))
				}
			}
			prev = p.State
		}
		textW = max(textW, textWidth(lp.text, ldFont))
		whenW = max(whenW, textWidth(lp.when, ldSmall))
	}
	stateHalf := stateW/2 + 6

	// Columns.
	addrHalf := max(textWidth(lay.client, ldFont), textWidth(lay.server, ldFont), textWidth("server", ldFont)) / 2
	cx := ldMargin + max(stateHalf, addrHalf)
	span := max(360, textW+2*(whenW+14)+24, 2*stateHalf+60, 2*addrHalf+30)
	sx := cx + span
	annX := sx + max(stateHalf, 8) + 16
	right := max(sx+max(stateHalf, addrHalf), annX+annW)
	maxDrop := span * ldMaxSlope

	// Rows. Offsets are relative to each packet's row (its capture time).
	for i := range pk {
		lp := &pk[i]
		p := lp.p
		from, to := p.From, p.From.Peer()
		// A duplicate is drawn flat: it is the same frame seen again.
		sy, ey := 0.0, 0.0
		if !p.Duplicate {
			sy, ey = -min(ldGapPx(before[from]), maxDrop/2), min(ldGapPx(after[from]), maxDrop/2)
		}
		lp.startY, lp.endY = sy, ey
		slope := (ey - sy) / span
		lp.labelY = (sy+ey)/2 - slope*textWidth(lp.text, ldFont)/2 - 5
		lp.top = min(sy-16, lp.labelY-12)
		bottom := ey + 6
		for _, side := range []flowstate.Side{from, to} {
			if !lp.changed[side] {
				continue
			}
			y := ey + 7
			if side == from {
				y = sy + 7 + slope*stateHalf
			}
			lp.sideStateY[side] = y
			bottom = max(bottom, y+ldStateH+4)
		}
		// Annotations: label IDs on the arrow's text baseline, the note
		// lines under them.
		n := len(lp.note)
		if lp.labels != "" {
			n++
		}
		if n > 0 {
			bottom = max(bottom, sy-5+float64(n-1)*ldLine+6)
		}
		lp.bottom = bottom
	}
	// Header.
	y := ldMargin + 14.0
	headerLines := []string{title, lay.summary}
	if labelsLine != "" {
		headerLines = append(headerLines, labelsLine)
	}
	headerLines = append(headerLines, lay.timeNote, lay.slopeNote)
	for i, l := range headerLines {
		size := 13.0
		if i == 0 {
			size = 14 // the title
		}
		right = max(right, ldMargin+textWidth(l, size))
	}
	headerY := y
	y += 18*float64(len(headerLines)) + 14 // column names
	colNameY := y
	addrY := y + 16
	initY := addrY + 8
	y = initY + ldStateH + 10
	lifeTop := colNameY + 22
	// Place rows.
	var breaks []float64
	for i := range pk {
		lp := &pk[i]
		if i == 0 {
			lp.row = y - lp.top
			continue
		}
		prevP := &pk[i-1]
		gap := lp.p.Time - prevP.p.Time
		gapPx := ldGapPx(gap)
		base := prevP.row + prevP.bottom
		if gap > ldBreakAfter || lp.elided > 0 {
			lp.breakBefore, lp.gapBefore = true, gap
			gapPx += ldBreakH
			lp.breakY = base + gapPx/2 + 4
			breaks = append(breaks, lp.breakY)
		}
		lp.row = base + gapPx - lp.top + 4
	}
	last := &pk[len(pk)-1]
	lifeBottom := last.row + last.bottom + 10
	legendY := lifeBottom + 24

	// Legend items, laid out left to right, wrapping.
	type legendItem struct {
		kind, text string
	}
	items := []legendItem{
		{"warn", "labelled packet"},
		{"state", "state after the packet that changed it"},
		{"cross", "ignored or dropped by the receiver"},
		{"dup", "duplicate frame"},
	}
	itemW := func(it legendItem) float64 { return 34 + textWidth(it.text, ldSmall) + 22 }
	lx, ly := ldMargin, legendY
	type placed struct {
		legendItem
		x, y float64
	}
	var legend []placed
	for _, it := range items {
		if lx > ldMargin && lx+itemW(it) > right {
			lx, ly = ldMargin, ly+20
		}
		legend = append(legend, placed{it, lx, ly})
		right = max(right, lx+itemW(it))
		lx += itemW(it)
	}
	endY := ly + 22
	right = max(right, ldMargin+textWidth(endLine, ldSmall))
	width := math.Ceil(right + ldMargin)
	height := math.Ceil(endY + ldMargin)

	// Draw.
	var d svgDoc
	for i, l := range headerLines {
		o := textOpts{size: 13, fill: colMuted}
		switch {
		case i == 0:
			o = textOpts{size: 14, weight: "bold", fill: colInk}
		case l == labelsLine:
			o = textOpts{size: 13, weight: "bold", fill: colWarn, class: "flow-labels"}
		}
		d.text(ldMargin, headerY+18*float64(i), l, o)
	}
	d.text(cx, colNameY, "client", textOpts{size: ldFont, anchor: "middle", weight: "bold", fill: colInk})
	d.text(sx, colNameY, "server", textOpts{size: ldFont, anchor: "middle", weight: "bold", fill: colInk})
	d.text(cx, addrY, lay.client, textOpts{size: ldFont, anchor: "middle", fill: colInk, class: "addr"})
	d.text(sx, addrY, lay.server, textOpts{size: ldFont, anchor: "middle", fill: colInk, class: "addr"})

	// Lifelines, cut at the break markers.
	for _, x := range []float64{cx, sx} {
		y0 := lifeTop
		for _, b := range breaks {
			d.line(x, y0, x, b-7, colFaint, 2, "")
			d.line(x-6, b-4, x+6, b-8, colMuted, 1.2, "")
			d.line(x-6, b+8, x+6, b+4, colMuted, 1.2, "")
			y0 = b + 7
		}
		d.line(x, y0, x, lifeBottom, colFaint, 2, "")
	}
	for _, lp := range pk {
		switch {
		case lp.elided > 0:
			d.text((cx+sx)/2, lp.breakY+4, fmt.Sprintf("… %d packets not shown, %s …", lp.elided, humanDur(lp.gapBefore)),
				textOpts{size: ldSmall, anchor: "middle", fill: colMuted, italic: true, class: "elided"})
		case lp.breakBefore:
			d.text((cx+sx)/2, lp.breakY+4, fmt.Sprintf("… %.2f s …", float64(lp.gapBefore)/1e9),
				textOpts{size: ldSmall, anchor: "middle", fill: colMuted, italic: true, class: "gap"})
		}
	}
	ldStateBox(&d, cx, initY, initial[c].String(), colMuted, "client")
	ldStateBox(&d, sx, initY, initial[s].String(), colMuted, "server")

	colX := [2]float64{cx, sx}
	for _, lp := range pk {
		ldDrawPacket(&d, &lp, colX, annX)
	}

	// Legend and end states.
	for _, it := range legend {
		x, y := it.x, it.y
		switch it.kind {
		case "warn":
			ldArrow(&d, x, y-4, x+26, y-4, colWarn, 1.6, "")
			d.raw(`<circle cx="%s" cy="%s" r="3.5" fill="%s"/>`+"\n", num(x+10), num(y-4), colWarn)
		case "state":
			d.rect(x, y-12, 26, 14, "#ffffff", colChange, ` rx="3"`)
		case "cross":
			ldCross(&d, x+13, y-4)
		case "dup":
			d.raw(`<g opacity="0.35">`)
			ldArrow(&d, x, y-4, x+26, y-4, colInk, 1.4, ` stroke-dasharray="4 3"`)
			d.raw("</g>\n")
		}
		d.text(x+34, y, it.text, textOpts{size: ldSmall, fill: colInk})
	}
	d.text(ldMargin, endY, endLine, textOpts{size: ldSmall, fill: colMuted})

	var out strings.Builder
	if err := d.write(&out, width, height, title); err != nil {
		return "", lay, err
	}
	return out.String(), lay, nil
}

// ldStateBox draws a state name in a box centred on a lifeline, its top at
// y.
func ldStateBox(d *svgDoc, x, y float64, name, stroke, side string) {
	w := textWidth(name, ldSmall) + 10
	fill := colChange
	if stroke == colMuted {
		fill = colMuted
	}
	d.raw(`<g class="state" data-side="%s">`, side)
	d.rect(x-w/2, y, w, ldStateH, "#ffffff", stroke, ` rx="3"`)
	d.text(x, y+12, name, textOpts{size: ldSmall, anchor: "middle", fill: fill})
	d.raw("</g>\n")
}

// ldArrow draws a line with an arrowhead at its end.
func ldArrow(d *svgDoc, x1, y1, x2, y2 float64, stroke string, width float64, extra string) {
	dx, dy := x2-x1, y2-y1
	l := math.Hypot(dx, dy)
	if l == 0 {
		return
	}
	ux, uy := dx/l, dy/l
	const head, half = 9.0, 4.0
	bx, by := x2-ux*head, y2-uy*head
	d.line(x1, y1, bx, by, stroke, width, extra)
	d.raw(`<polygon points="%s,%s %s,%s %s,%s" fill="%s"/>`+"\n",
		num(x2), num(y2), num(bx-uy*half), num(by+ux*half), num(bx+uy*half), num(by-ux*half), stroke)
}

// ldCross draws the red cross of an ignored or dropped packet.
func ldCross(d *svgDoc, x, y float64) {
	const r = 5.0
	d.raw(`<g class="cross">`)
	d.line(x-r, y-r, x+r, y+r, colWarn, 2.2, "")
	d.line(x-r, y+r, x+r, y-r, colWarn, 2.2, "")
	d.raw("</g>\n")
}

// ldDrawPacket draws one packet's group: arrow (or cross), marker, time,
// text, state changes and annotation.
func ldDrawPacket(d *svgDoc, lp *ladderPacket, colX [2]float64, annX float64) {
	p := lp.p
	from, to := p.From, p.From.Peer()
	x1, x2 := colX[from], colX[to]
	y1, y2 := lp.row+lp.startY, lp.row+lp.endY
	ink := colInk
	if p.Labels != 0 {
		ink = colWarn
	}
	attrs := fmt.Sprintf(` data-n="%d" data-file="%d"`, p.Frame, p.File)
	if p.Labels != 0 {
		attrs += ` data-labels="` + xmlText(p.Labels.String()) + `"`
	}
	if lp.cross {
		attrs += ` data-ignored="true"`
	}
	if p.Duplicate {
		attrs += ` data-duplicate="true" opacity="0.35"`
	}
	d.raw(`<g class="pkt"%s>`+"\n", attrs)
	dir := "client → server"
	if from == flowstate.Server {
		dir = "server → client"
	}
	tip := fmt.Sprintf("frame %s, %s, %s: %s; after it: client %s, server %s", ldFrame(p), lp.when, dir,
		lp.seg, p.State[flowstate.Client], p.State[flowstate.Server])
	if p.Labels != 0 {
		tip += "; labels: " + lp.labels
	}
	if lp.cross {
		tip += "; ignored or dropped by the receiver"
	}
	if lp.noteFull != "" {
		tip += "; " + lp.noteFull
	}
	d.title(tip)

	dash := ""
	if p.Duplicate {
		dash = ` stroke-dasharray="5 4"`
	}
	sign := 1.0
	if x2 < x1 {
		sign = -1
	}
	if lp.cross {
		// The line stops short of the receiver, where the cross is.
		t := (math.Abs(x2-x1) - ldCrossGap) / math.Abs(x2-x1)
		ex, ey := x1+(x2-x1)*t, y1+(y2-y1)*t
		d.line(x1, y1, ex, ey, ink, 1.6, dash)
		ldCross(d, x2-sign*(ldCrossGap-7), y1+(y2-y1)*(math.Abs(x2-x1)-ldCrossGap+7)/math.Abs(x2-x1))
	} else {
		ldArrow(d, x1, y1, x2, y2, ink, 1.6, dash)
	}
	if p.Labels != 0 {
		d.raw(`<circle class="marker" cx="%s" cy="%s" r="4.5" fill="%s"/>`+"\n", num(x1), num(y1), colWarn)
	}
	// Time at the arrow's start, the packet's text over its middle.
	if from == flowstate.Client {
		d.text(x1+8, y1-5, lp.when, textOpts{size: ldSmall, fill: colMuted, class: "when"})
	} else {
		d.text(x1-8, y1-5, lp.when, textOpts{size: ldSmall, anchor: "end", fill: colMuted, class: "when"})
	}
	d.text((x1+x2)/2, lp.row+lp.labelY, lp.text, textOpts{size: ldFont, anchor: "middle", fill: ink, class: "seg"})

	for _, side := range []flowstate.Side{flowstate.Client, flowstate.Server} {
		if lp.changed[side] {
			ldStateBox(d, colX[side], lp.row+lp.sideStateY[side], p.State[side].String(), colChange, side.String())
		}
	}
	// Annotation beside the arrow, right of the server's column.
	ay := y1 - 5
	if lp.labels != "" {
		d.text(annX, ay, lp.labels, textOpts{size: ldFont, weight: "bold", fill: colWarn, class: "label"})
		ay += ldLine
	}
	noteInk := colWarnInk
	if p.Labels == 0 {
		noteInk = colMuted
	}
	for _, l := range lp.note {
		d.text(annX, ay, l, textOpts{size: ldSmall, fill: noteInk, class: "note"})
		ay += ldLine
	}
	d.raw("</g>\n")
}
