package render

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fatih/color"

	"github.com/tcptimeline/tcptimeline/analyze"
	"github.com/tcptimeline/tcptimeline/flowstate"
)

// Options tune the renderers.
type Options struct {
	// Color turns on ANSI colours (the CLI decides from --color, NO_COLOR
	// and whether stdout is a terminal).
	Color bool
	// AbsTime prints absolute UTC times with microseconds instead of
	// milliseconds since the run's first packet.
	AbsTime bool
	// Anomalies keeps only flows that carry a label.
	Anomalies bool
	// MultiFile prints frames as file:frame.
	MultiFile bool
	// Anon, when set, replaces addresses with stable pseudonyms.
	Anon *Anonymizer
	// Kernel, when set, is the kernel's own evidence (--nstat, --ss),
	// reconciled with the run after the views (counters.go).
	Kernel *analyze.KernelEvidence
	// Stop, when closed, ends the output early after an interrupt: no
	// more packets or flows are written, only the views and the partial
	// marker (partial.go).
	Stop <-chan struct{}
}

// palette holds the colours, chosen by meaning: warn for what went
// wrong (labels, losses), notice for a receiver holding its sender back
// (zero and full windows), change for a state that changed, muted for
// bookkeeping.
type palette struct {
	warn, notice, change, header, muted *color.Color
}

func newPalette(on bool) palette {
	p := palette{
		warn:   color.New(color.FgRed, color.Bold),
		notice: color.New(color.FgYellow),
		change: color.New(color.FgCyan),
		header: color.New(color.Bold),
		muted:  color.New(color.Faint),
	}
	for _, c := range []*color.Color{p.warn, p.notice, p.change, p.header, p.muted} {
		if on {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
	}
	return p
}

// Text renders the annotated timeline for people: a header per flow, a
// line per packet, the explanation of each labelled packet under it, and
// the listener and capture views at the end.
type Text struct {
	w     *bufio.Writer
	opts  Options
	pal   palette
	cut   cutoff
	marks []mark
	line  []byte  // the packet line being built
	num   []byte  // a number being formatted
	form  relForm // the current flow's relative times (relFormOf)
}

// NewText returns a text renderer writing to w.
func NewText(w io.Writer, opts Options) *Text {
	return &Text{w: bufio.NewWriterSize(w, 64<<10), opts: opts, pal: newPalette(opts.Color), cut: cutoff{stop: opts.Stop}}
}

// Flush writes out what is buffered: on live input, after each flow.
func (t *Text) Flush() error { return t.w.Flush() }

// Flow writes one finished flow.
func (t *Text) Flow(f *analyze.Flow) error {
	if t.opts.Anomalies && f.Labels == 0 {
		return nil
	}
	if t.cut.done() {
		t.cut.flows++
		return nil
	}
	w, pal := t.w, t.pal
	fmt.Fprintf(w, "%s  %s -> %s", pal.header.Sprintf("flow %d", f.ID), t.opts.Anon.AddrPort(f.Client), t.opts.Anon.AddrPort(f.Server))
	fmt.Fprintf(w, "  %d packets, %s, %s", f.NPackets, dur(f.LastTime-f.FirstTime), f.EndReason)
	if f.ClientGuessed {
		fmt.Fprint(w, ", caught mid-stream: client guessed from the ports")
	}
	fmt.Fprintln(w)
	if f.Labels != 0 {
		fmt.Fprintf(w, "  labels: %s\n", pal.warn.Sprint(strings.Join(f.Labels.Strings(), ", ")))
	}
	t.form = relFormOf(f)
	timeHdr := "      t ms"
	switch {
	case t.absolute():
		timeHdr = fmt.Sprintf("%-27s", "time (UTC)")
	case t.form == relHMS:
		timeHdr = "      t h:mm:ss"
	}
	fmt.Fprintln(w, pal.muted.Sprintf("  %s %7s %3s %-5s %10s %10s %6s %8s  %-13s %s", timeHdr, "frame", "dir", "flags", "seq", "ack", "len", "win", "client", "server"))
	prev := [2]flowstate.State{flowstate.StateClosed, flowstate.StateListen}
	if f.MidStream {
		prev = [2]flowstate.State{}
	}
	for i := range f.Packets {
		if i%checkEvery == checkEvery-1 && t.cut.done() {
			fmt.Fprintf(w, "  %s\n", pal.warn.Sprintf("… interrupted: the other %d packets of this flow are not shown", len(f.Packets)-i))
			break
		}
		if f.Elided > 0 && i == f.ElidedAt {
			fmt.Fprintf(w, "  %s\n", pal.muted.Sprint(elidedText(f)))
		}
		p := &f.Packets[i]
		b := t.packetLine(t.line[:0], f, i, prev)
		t.line = b
		w.Write(b)
		if i < len(f.Notes) && f.Notes[i] != "" {
			fmt.Fprintf(w, "  %s %s\n", strings.Repeat(" ", len(timeHdr)), pal.warn.Sprint("^ "+f.Notes[i]))
		}
		prev = p.State
	}
	fmt.Fprintf(w, "  end: client %s, server %s\n\n", f.EP[flowstate.Client].State, f.EP[flowstate.Server].State)
	return nil
}

// packetLine appends packet i's line: the columns of the header, then
// the Wireshark marks and the labels, and a newline. It appends the fields
// itself (fmt was most of a long timeline's time).
func (t *Text) packetLine(b []byte, f *analyze.Flow, i int, prev [2]flowstate.State) []byte {
	p := &f.Packets[i]
	b = append(b, "  "...)
	switch {
	case t.absolute():
		b = padRight(b, absTime(p.Time), 27)
	case t.form == relHMS:
		b = padLeftBytes(b, appendHMS(t.num[:0], p.Time-f.Origin), 15)
	default:
		b = padLeftBytes(b, strconv.AppendFloat(t.num[:0], float64(p.Time-f.Origin)/1e6, 'f', 3, 64), 10)
	}
	b = append(b, ' ')
	n := t.num[:0]
	if t.opts.MultiFile {
		n = strconv.AppendInt(n, int64(p.File), 10)
		n = append(n, ':')
	}
	n = strconv.AppendInt(n, p.Frame, 10)
	b = padLeftBytes(b, n, 7)
	if p.From == flowstate.Server {
		b = append(b, "  <- "...)
	} else {
		b = append(b, "  -> "...)
	}
	b = padRight(b, p.Flags.String(), 5)
	b = append(b, ' ')
	b = padLeftBytes(b, strconv.AppendUint(t.num[:0], uint64(p.Seq), 10), 10)
	b = append(b, ' ')
	if p.Flags&flowstate.ACK == 0 {
		b = padRight(b, "         -", 10)
	} else {
		b = padLeftBytes(b, strconv.AppendUint(t.num[:0], uint64(p.Ack), 10), 10)
	}
	b = append(b, ' ')
	b = padLeftBytes(b, strconv.AppendUint(t.num[:0], uint64(p.Len), 10), 6)
	b = append(b, ' ')
	b = padLeftBytes(b, strconv.AppendUint(t.num[:0], uint64(p.WinScaled), 10), 8)
	b = append(b, "  "...)
	b = t.appendState(b, p.State[flowstate.Client], prev[flowstate.Client], 13)
	b = append(b, ' ')
	b = t.appendState(b, p.State[flowstate.Server], prev[flowstate.Server], 24)
	t.marks = marks(f, i, t.opts.MultiFile, t.marks)
	for _, m := range t.marks {
		b = append(b, ' ')
		b = t.paint(b, t.pal.markColor(m.kind), m.text)
	}
	if p.Labels != 0 {
		b = append(b, ' ')
		b = t.paint(b, t.pal.warn, p.Labels.String())
	}
	if i < len(f.Seen) && len(f.Seen[i]) > 1 {
		// Where else it was seen (a run of several vantage points):
		// file:frame and how much later than the first record.
		b = append(b, ' ')
		b = t.paint(b, t.pal.muted, seenText(f.Seen[i]))
	}
	for len(b) > 0 && b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	return append(b, '\n')
}

// paint appends s in colour c, or as it is without colours.
func (t *Text) paint(b []byte, c *color.Color, s string) []byte {
	if !t.opts.Color {
		return append(b, s...)
	}
	return append(b, c.Sprint(s)...)
}

// appendState appends a state padded to width, in the change colour when
// it differs from the state before.
func (t *Text) appendState(b []byte, s, prev flowstate.State, width int) []byte {
	if s != prev && t.opts.Color {
		return append(b, t.state(s, prev, width)...)
	}
	return padRight(b, s.String(), width)
}

func padRight(b []byte, s string, w int) []byte {
	b = append(b, s...)
	for n := len(s); n < w; n++ {
		b = append(b, ' ')
	}
	return b
}

func padLeftBytes(b, s []byte, w int) []byte {
	for n := len(s); n < w; n++ {
		b = append(b, ' ')
	}
	return append(b, s...)
}

func (p palette) markColor(k markKind) *color.Color {
	switch k {
	case markLoss:
		return p.warn
	case markWindow:
		return p.notice
	case markNew:
		return p.change
	}
	return p.muted
}

func (t *Text) state(s, prev flowstate.State, width int) string {
	txt := fmt.Sprintf("%-*s", width, s)
	if s != prev {
		return t.pal.change.Sprint(txt)
	}
	return txt
}

// absolute reports whether the current flow's times are written as UTC
// dates and times: asked for (--time abs), or the flow is a day or more
// from the run's first packet.
func (t *Text) absolute() bool { return t.opts.AbsTime || t.form == relDate }

// absTime formats a capture time as RFC 3339 UTC with microseconds.
func absTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format("2006-01-02T15:04:05.000000Z07:00")
}

// dur writes a duration in seconds, "5.430 s", and past an hour in its
// two largest units, "1 h 30 min", "1 d 2 h", so that a long capture's
// spans read at a glance (the times at either end are exact, and JSON
// keeps seconds).
func dur(ns int64) string {
	if abs64(ns) >= nsHour {
		return humanDur(ns)
	}
	return fmt.Sprintf("%.3f s", float64(ns)/1e9)
}

// Close writes the listener and capture views and flushes.
func (t *Text) Close(s *analyze.Summary) error {
	writeViews(t.w, t.pal, s, t.opts, &t.cut)
	return t.w.Flush()
}

// writeViews writes the listener views, the totals and the capture views,
// and last the partial marker of an interrupted run.
func writeViews(w io.Writer, pal palette, s *analyze.Summary, opts Options, cut *cutoff) {
	an := opts.Anon
	for _, l := range s.Listeners {
		if opts.Anomalies && len(l.LabelFlows) == 0 {
			continue
		}
		fmt.Fprintf(w, "%s  %s; %s; vantage %s (%s)\n", pal.header.Sprintf("listener %s", an.AddrPort(l.Server)), many(l.Flows, "flow"), verdictText(pal, l.Verdict), l.Vantage, an.Text(l.VantageEvidence))
		fmt.Fprintf(w, "  verdict: %s\n", an.Text(strings.Join(l.VerdictEvidence, "; ")))
		if l.Hidden > 0 {
			fmt.Fprintf(w, "  %s\n", pal.muted.Sprintf("a filter hid %d of its %d flows from the output above; this view covers all %d", l.Hidden, l.Flows, l.Flows))
		}
		if len(l.LabelFlows) > 0 {
			fmt.Fprintf(w, "  flows per label: %s\n", pal.warn.Sprint(labelCounts(l.LabelFlows)))
		}
		if l.CaptureLossFlows > 0 {
			fmt.Fprintf(w, "  %s\n", pal.warn.Sprintf("capture loss: in %s a side acknowledged data the capture never saw; the capture dropped packets, so drop labels are less certain", many(l.CaptureLossFlows, "flow")))
		}
		if l.RepliesMissingFlows > 0 {
			fmt.Fprintf(w, "  %s\n", pal.warn.Sprintf("one-sided: in %s the client acknowledged a SYN-ACK the capture never saw: the capture misses the server's direction, so nothing is concluded from its silence", many(l.RepliesMissingFlows, "flow")))
		}
		writeTraffic(w, pal, &l.Traffic)
		for i, e := range l.Episodes {
			fmt.Fprintf(w, "  %s\n", episodeText(i, e))
			if len(e.Alternatives) > 0 {
				fmt.Fprintf(w, "    cannot rule out: %s\n", an.Text(strings.Join(e.Alternatives, "; ")))
			}
		}
		for _, n := range l.Notes {
			fmt.Fprintf(w, "  %s\n", pal.warn.Sprint(an.Text(n)))
		}
		if l.AcceptQueueCapacity > 0 {
			rng := ""
			if r := l.AcceptQueueCapacityRange; r[1] > r[0] {
				rng = fmt.Sprintf(", %d..%d seen", r[0], r[1])
			}
			fmt.Fprintf(w, "  accept queue capacity: at most %d (listen backlog %d%s): %s\n", l.AcceptQueueCapacity, l.BacklogEstimate, rng, an.Text(l.CapacityEvidence))
		} else {
			fmt.Fprintf(w, "  accept queue capacity: unknown: %s\n", an.Text(l.CapacityEvidence))
		}
		if p, q := l.PeakSYNQueue, l.PeakAcceptQueue; l.Verdict == analyze.VerdictOverflowing && (p.N > 0 || q.N > 0) {
			fmt.Fprintf(w, "  queues at their fullest: SYN queue %s, accept queue %s (as the wire shows them: accepts the application made silently look queued)\n", peakText(p, "request", s.Origin), peakText(q, "connection", s.Origin))
		}
		if c := countersText(&l.Counts); c != "" {
			fmt.Fprintf(w, "  kernel counters this capture accounts for: %s\n", c)
		}
		if len(l.SynRetransmitSchedule) > 0 {
			fmt.Fprintf(w, "  SYN retransmissions at %s after the first SYN\n", schedule(l.SynRetransmitSchedule))
		}
		if len(l.SynAckRetransmitSchedule) > 0 {
			fmt.Fprintf(w, "  SYN-ACK retransmissions at %s after the first SYN-ACK\n", schedule(l.SynAckRetransmitSchedule))
		}
		if q, ok := analyze.ConnectPercentiles(l.ConnectTimes); ok {
			fmt.Fprintf(w, "  connect time (first SYN to handshake ACK, %s): p50 %s, p90 %s, p99 %s, max %s\n", many(len(l.ConnectTimes), "flow"), ms(q.P50), ms(q.P90), ms(q.P99), ms(q.Max))
		}
		if e := &l.Established; !e.Empty() {
			fmt.Fprintf(w, "  %s\n", establishedText(e, s.Origin))
		}
		for _, in := range l.Settings {
			fmt.Fprintf(w, "  inferred %s = %s\n", in.Name, an.Text(in.String()))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%s, %s", many(s.Flows, "flow"), many(int(s.Segments), "TCP segment"))
	if s.SeenAgain > 0 {
		fmt.Fprintf(w, " (%d packets, the other %d records of packets seen at another capture point)", s.Segments-s.SeenAgain, s.SeenAgain)
	}
	if s.Hidden > 0 {
		fmt.Fprintf(w, " (%s not shown: --flow, --port and --host pick what is shown, the views cover all)", many(s.Hidden, "flow"))
	}
	if len(s.LabelFlows) > 0 {
		fmt.Fprintf(w, "; flows per label: %s", pal.warn.Sprint(labelCounts(s.LabelFlows)))
	}
	fmt.Fprintln(w)
	if s.RepliesMissingFlows > 0 {
		fmt.Fprintln(w, pal.warn.Sprintf("one-sided capture: in %s the client acknowledged a SYN-ACK the capture never saw: it holds only one direction of their traffic, and no label that needs the server's replies is given to them", many(s.RepliesMissingFlows, "flow")))
	}
	an.Learn(s.Captures)
	if s.Flows > 0 {
		writeTraffic(w, pal, &s.Traffic)
	}
	for _, c := range s.Captures {
		fmt.Fprintf(w, "capture %d: %s (%s%s, %s): %d packets, %d TCP, %d non-TCP, %d undecodable",
			c.Index, safe(an.CaptureName(c)), c.Format, gz(c.Gzip), strings.Join(c.LinkTypes, ","), c.Packets, c.TCPPackets, c.NonTCP, c.Undecodable)
		if why := undecodableWhy(c); why != "" {
			fmt.Fprintf(w, " (%s)", why)
		}
		if c.IPFragments > 0 || c.Reassembled > 0 {
			fmt.Fprintf(w, ", %d IP fragments (%d TCP segments reassembled)", c.IPFragments, c.Reassembled)
		}
		if c.FragmentsIncomplete > 0 {
			fmt.Fprintf(w, ", %s", pal.warn.Sprintf("%d fragmented datagrams never completed", c.FragmentsIncomplete))
		}
		if c.CutBySnaplen > 0 {
			fmt.Fprintf(w, ", %d cut by the snaplen", c.CutBySnaplen)
		}
		if c.InterfaceDropsKnown && c.InterfaceDrops > 0 {
			fmt.Fprintf(w, ", %s", pal.warn.Sprintf("%d dropped by the capturing interface: drop labels may be the capture's own losses", c.InterfaceDrops))
		}
		fmt.Fprint(w, vantageText(c, an))
		fmt.Fprintln(w)
	}
	if s.HasTime && !analyze.SameDay(s.Origin, s.End) {
		fmt.Fprintf(w, "the capture spans days: %s .. %s (%s); times of day are UTC, on %s unless they carry their date\n",
			absTime(s.Origin), absTime(s.End), humanDur(s.End-s.Origin), time.Unix(0, s.Origin).UTC().Format("2006-01-02"))
	}
	if msg := partialText(s, cut); msg != "" {
		fmt.Fprintln(w, pal.warn.Sprint(msg))
	}
	if opts.Kernel != nil {
		writeKernel(w, pal, opts.Kernel.Reconcile(s), an)
	}
}

// peakText describes a queue's peak occupancy.
func peakText(p analyze.Peak, noun string, origin int64) string {
	if p.N == 0 {
		return "empty"
	}
	s := noun + "s"
	if p.N == 1 {
		s = noun
	}
	return fmt.Sprintf("%d %s at %s", p.N, s, analyze.Clock(origin, p.T))
}

// countersText lists the non-zero counters a listener's packets account for.
func countersText(w *analyze.WireCounts) string {
	var parts []string
	for c := analyze.Counter(0); c < analyze.NumCounters; c++ {
		if w[c] != 0 {
			parts = append(parts, fmt.Sprintf("%s %d", c, w[c]))
		}
	}
	return strings.Join(parts, ", ")
}

// verdictText gives a listener's verdict, coloured by meaning.
func verdictText(pal palette, v analyze.Verdict) string {
	if v == analyze.VerdictServing {
		return "verdict " + string(v)
	}
	return pal.warn.Sprintf("verdict %s", v)
}

// episodeText describes one overflow episode on a line.
func episodeText(i int, e analyze.Episode) string {
	return fmt.Sprintf("%s-queue overflow %d: %s .. %s (%s, %s: %s)", e.Queue, i+1, absTime(e.Start), absTime(e.End), dur(e.End-e.Start), e.Confidence, causeCounts(e.Causes))
}

// causeCounts lists an episode's evidence by kind.
func causeCounts(c [analyze.NumCauses]int) string {
	words := [analyze.NumCauses]string{"SYN dropped", "handshake ACK ignored", "data segment ignored", "overflow reset", "ghost connection", "SYN cookie"}
	var parts []string
	for k, n := range c {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s x%d", words[k], n))
		}
	}
	return strings.Join(parts, ", ")
}

// undecodableWhy names the reasons counted among a capture's undecodable
// packets, or "" when none is.
func undecodableWhy(c *analyze.Capture) string {
	var why []string
	if c.TruncatedTCP > 0 {
		why = append(why, fmt.Sprintf("%d truncated TCP %s", c.TruncatedTCP, plural(c.TruncatedTCP, "header", "headers")))
	}
	if c.BadIPVersion > 0 {
		why = append(why, fmt.Sprintf("%d IP version %s", c.BadIPVersion, plural(c.BadIPVersion, "mismatch", "mismatches")))
	}
	return strings.Join(why, ", ")
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func gz(b bool) string {
	if b {
		return ", gzip"
	}
	return ""
}

// safe escapes text that came from a capture file before it reaches a
// terminal.
func safe(s string) string {
	q := fmt.Sprintf("%q", s)
	return q[1 : len(q)-1]
}

func ms(ns int64) string {
	if ns >= 1e9 {
		return fmt.Sprintf("%.2f s", float64(ns)/1e9)
	}
	return fmt.Sprintf("%.1f ms", float64(ns)/1e6)
}

func schedule(offs []int64) string {
	parts := make([]string, len(offs))
	for i, o := range offs {
		parts[i] = fmt.Sprintf("+%.2f s", float64(o)/1e9)
	}
	return strings.Join(parts, ", ")
}

// labelCounts formats label -> count in label order.
func labelCounts(m map[flowstate.Label]int) string {
	var parts []string
	for _, l := range flowstate.AllLabels() {
		if n := m[l]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", l, n))
		}
	}
	return strings.Join(parts, ", ")
}

// writeTraffic writes the bytes each way and, when there were any, the
// retransmissions, stalls and losses.
func writeTraffic(w io.Writer, pal palette, t *analyze.Traffic) {
	c, sv := flowstate.Client, flowstate.Server
	fmt.Fprintf(w, "  traffic: %s in %d segments client to server, %s in %d back", bytesText(t.Bytes[c]), t.Packets[c], bytesText(t.Bytes[sv]), t.Packets[sv])
	if n := t.Retransmissions[c] + t.Retransmissions[sv]; n > 0 {
		fmt.Fprintf(w, "; retransmissions %d (%s) and %d (%s)", t.Retransmissions[c], bytesText(t.RetransmittedBytes[c]),
			t.Retransmissions[sv], bytesText(t.RetransmittedBytes[sv]))
	}
	fmt.Fprintln(w)
	if t.StalledFlows > 0 {
		fmt.Fprintf(w, "  %s\n", pal.notice.Sprintf("stalls: %s stood still (zero window or retransmission timeout), %s in all", many(t.StalledFlows, "flow"), seconds(t.StallTime)))
	}
	if t.LossFlows > 0 {
		fmt.Fprintf(w, "  %s\n", pal.warn.Sprintf("loss: %s lost segments: %d before the capture point, %d after it", many(t.LossFlows, "flow"), t.LostBefore, t.LostAfter))
	}
	if t.KeepaliveFlows > 0 {
		fmt.Fprintf(w, "  idle: %s sat idle on keep-alives\n", many(t.KeepaliveFlows, "flow"))
	}
}

// bytesText writes a byte count with a decimal unit: 999 B, 1.5 kB,
// 23 MB.
func bytesText(n int64) string {
	switch {
	case n < 1000:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1e6:
		return strconv.FormatFloat(float64(n)/1e3, 'f', decimals(n, 1e3), 64) + " kB"
	case n < 1e9:
		return strconv.FormatFloat(float64(n)/1e6, 'f', decimals(n, 1e6), 64) + " MB"
	}
	return strconv.FormatFloat(float64(n)/1e9, 'f', decimals(n, 1e9), 64) + " GB"
}

// decimals keeps three significant digits.
func decimals(n int64, unit float64) int {
	switch v := float64(n) / unit; {
	case v < 10:
		return 2
	case v < 100:
		return 1
	}
	return 0
}

func seconds(ns int64) string { return fmt.Sprintf("%.2f s", float64(ns)/1e9) }

// vantageText says where a capture of a run of several vantage points
// sits and what its clock is against the first one's, "" otherwise.
func vantageText(c *analyze.Capture, an *Anonymizer) string {
	var b strings.Builder
	switch {
	case c.Vantage == "mixed":
		keys := make([]string, 0, len(c.VantageByListener))
		for k := range c.VantageByListener {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s of %s", c.VantageByListener[k], an.Text(k))
		}
		fmt.Fprintf(&b, "; vantage mixed (%s)", strings.Join(parts, ", "))
	case c.Vantage != "":
		fmt.Fprintf(&b, "; vantage %s", c.Vantage)
	}
	if c.VantageName != "" {
		fmt.Fprintf(&b, " (--vantage %s)", safe(c.VantageName))
	}
	if c.Index > 0 && c.ClockOffset != nil && c.ClockOffsetUncertainty != nil {
		off := fmt.Sprintf("%+.6f", *c.ClockOffset)
		if off == "-0.000000" {
			off = "+0.000000" // half a microsecond or less: no "-0"
		}
		fmt.Fprintf(&b, "; clock %s s ± %.6f s against capture 0", off, *c.ClockOffsetUncertainty)
		if d := c.OneWayDelay; d != nil {
			fmt.Fprintf(&b, " (least one-way delay between their points %.3f ms toward the server, %.3f ms back; %d packets seen at both)", d.C2S*1e3, d.S2C*1e3, c.SharedPackets)
		}
	}
	return b.String()
}

// establishedText says how many connections each side believed
// ESTABLISHED: at most, and at the capture's end.
func establishedText(e *analyze.Established, origin int64) string {
	last := e.Points[len(e.Points)-1]
	peak := func(side flowstate.Side) string {
		if e.Peak[side] == 0 {
			return "none"
		}
		return fmt.Sprintf("up to %d (first at %s)", e.Peak[side], analyze.Clock(origin, e.PeakTime[side]))
	}
	return fmt.Sprintf("ESTABLISHED as each side believes: clients %s, the server %s; at the capture's end %d and %d",
		peak(flowstate.Client), peak(flowstate.Server), last.Client, last.Server)
}

// seenText lists a packet's other records: "(also 0:38 +5.130 ms)".
func seenText(seen []analyze.Seen) string {
	var b strings.Builder
	b.WriteString("(also")
	for j, x := range seen[1:] {
		if j > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, " %d:%d %+.3f ms", x.File, x.Frame, float64(x.Time-seen[0].Time)/1e6)
	}
	b.WriteByte(')')
	return b.String()
}
