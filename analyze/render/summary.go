package render

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/tcptimeline/tcptimeline/analyze"
	"github.com/tcptimeline/tcptimeline/flowstate"
)

// SummaryOptions tune the summary renderer.
type SummaryOptions struct {
	Options
	// Format is "text", "json", "jsonl" or "csv".
	Format string
	// All lists every flow, even when a flood of unanswered SYNs would
	// otherwise be summarised.
	All bool
}

// floodListed is how many half-open flows (a SYN and nothing back) per
// listener are listed one per row before the rest are summarised.
const floodListed = 20

// maxFloodSources bounds the distinct sources counted per listener.
const maxFloodSources = 1 << 16

// SummaryRow is one flow of the summary: a connection log line with Zeek's
// conn_state and history next to our labels.
type SummaryRow struct {
	ID          int      `json:"id"`
	Client      string   `json:"client"`
	Server      string   `json:"server"`
	Start       string   `json:"start"`
	Duration    float64  `json:"duration"`
	Packets     int      `json:"packets"`
	ConnState   string   `json:"conn_state"`
	History     string   `json:"history"`
	ClientState string   `json:"client_state"`
	ServerState string   `json:"server_state"`
	Labels      []string `json:"labels"`
	// Bytes, PacketsByDir, Retransmissions and RetransmittedBytes are each
	// way; InitialRTT is Wireshark's initial_rtt (seconds, omitted when
	// not seen); StallTime the time the flow stood still.
	Bytes              JSONDirs `json:"bytes"`
	PacketsByDir       JSONDirs `json:"packets_by_dir"`
	Retransmissions    JSONDirs `json:"retransmissions"`
	RetransmittedBytes JSONDirs `json:"retransmitted_bytes"`
	InitialRTT         *float64 `json:"initial_rtt,omitempty"`
	StallTime          float64  `json:"stall_time"`
}

// halfOpen summarises the unanswered SYNs to one listener that were not
// listed one by one.
type halfOpen struct {
	server      netip.AddrPort
	flows       int
	listed      int
	first, last int64
	// The distinct sources: the first one alone until a second comes (a
	// flood of one source to each of many listeners costs no map each).
	source      netip.Addr
	sources     map[netip.Addr]struct{}
	manySources bool
}

// addSource counts a source, up to maxFloodSources distinct ones.
func (h *halfOpen) addSource(a netip.Addr) {
	switch {
	case !h.source.IsValid():
		h.source = a
		return
	case h.sources == nil:
		if a == h.source {
			return
		}
		h.sources = map[netip.Addr]struct{}{h.source: {}}
	}
	if len(h.sources) < maxFloodSources {
		h.sources[a] = struct{}{}
	} else if _, ok := h.sources[a]; !ok {
		h.manySources = true
	}
}

// sourceCount is how many distinct sources addSource counted.
func (h *halfOpen) sourceCount() int {
	if h.sources == nil && h.source.IsValid() {
		return 1
	}
	return len(h.sources)
}

// Summary renders one row per flow, then the listener views and totals:
// an aligned table for people, CSV or JSON for machines.
type Summary struct {
	w     *bufio.Writer
	opts  SummaryOptions
	pal   palette
	tab   *columns
	csv   *csv.Writer
	rows  int
	flood map[netip.AddrPort]*halfOpen
	order []*halfOpen
	buf   []byte
	cut   cutoff
}

// NewSummary returns a summary renderer writing to w.
func NewSummary(w io.Writer, opts SummaryOptions) *Summary {
	s := &Summary{w: bufio.NewWriterSize(w, 64<<10), opts: opts, pal: newPalette(opts.Color), flood: map[netip.AddrPort]*halfOpen{}, cut: cutoff{stop: opts.Stop}}
	switch opts.Format {
	case "csv":
		s.csv = csv.NewWriter(s.w)
		s.csv.Write(csvColumns)
	case "json":
		s.w.WriteString(`{"schema":"` + Schema + `","flows":[`)
	case "jsonl":
	default:
		s.tab = &columns{w: s.w}
		s.header()
	}
	return s
}

func (s *Summary) header() {
	s.tab.row([]byte("#\tclient\tserver\tstart (UTC)\tduration\tpackets\tbytes ->/<-\tretx ->/<-\tstate\thistory\tlabels\n"))
}

// Row converts a finished flow to its summary row.
func Row(f *analyze.Flow, an *Anonymizer) SummaryRow {
	r := SummaryRow{
		ID: f.ID, Client: an.AddrPort(f.Client), Server: an.AddrPort(f.Server),
		Start: absTime(f.FirstTime), Duration: secs(f.LastTime - f.FirstTime), Packets: f.NPackets,
		ConnState: f.ZeekConnState(), History: f.ZeekHistory(),
		ClientState: f.EP[flowstate.Client].State.String(), ServerState: f.EP[flowstate.Server].State.String(),
		Labels: f.Labels.Strings(),
	}
	c, sv := &f.EP[flowstate.Client], &f.EP[flowstate.Server]
	cs, ss := &f.Stats[flowstate.Client], &f.Stats[flowstate.Server]
	r.Bytes = JSONDirs{c.Bytes, sv.Bytes}
	r.PacketsByDir = JSONDirs{int64(c.Packets), int64(sv.Packets)}
	r.Retransmissions = JSONDirs{int64(cs.Retransmissions), int64(ss.Retransmissions)}
	r.RetransmittedBytes = JSONDirs{cs.RetransmittedBytes, ss.RetransmittedBytes}
	if rtt := f.InitialRTT(); rtt != 0 {
		v := secs(rtt)
		r.InitialRTT = &v
	}
	r.StallTime = secs(f.StallTime())
	return r
}

// isHalfOpen reports whether a flow is a bare connection attempt: the
// client sent SYNs and nothing else (the server may have answered, with a
// SYN cookie say): what a SYN flood leaves.
func isHalfOpen(f *analyze.Flow) bool {
	c := &f.EP[flowstate.Client]
	return !f.MidStream && c.Packets > 0 && c.Packets == c.SYNs
}

// Flow writes one finished flow's row, or counts it in its listener's
// half-open summary once floodListed of them were listed.
func (s *Summary) Flow(f *analyze.Flow) error {
	if s.opts.Anomalies && f.Labels == 0 {
		return nil
	}
	if s.cut.done() {
		s.cut.flows++
		return nil
	}
	if isHalfOpen(f) {
		h := s.flood[f.Server]
		if h == nil {
			h = &halfOpen{server: f.Server, first: f.FirstTime}
			s.flood[f.Server] = h
			s.order = append(s.order, h)
		}
		h.flows++
		h.first, h.last = min(h.first, f.FirstTime), max(h.last, f.LastTime)
		h.addSource(f.Client.Addr())
		if !s.opts.All && h.listed >= floodListed {
			return nil
		}
		h.listed++
	}
	s.rows++
	if s.tab != nil {
		return s.textRow(f)
	}
	r := Row(f, s.opts.Anon)
	switch {
	case s.csv != nil:
		rtt := ""
		if r.InitialRTT != nil {
			rtt = strconv.FormatFloat(*r.InitialRTT, 'f', 6, 64)
		}
		i := func(n int64) string { return strconv.FormatInt(n, 10) }
		return s.csv.Write([]string{strconv.Itoa(r.ID), r.Client, r.Server, r.Start, strconv.FormatFloat(r.Duration, 'f', 6, 64),
			strconv.Itoa(r.Packets), r.ConnState, r.History, r.ClientState, r.ServerState, strings.Join(r.Labels, ";"),
			i(r.Bytes.C2S), i(r.Bytes.S2C), i(r.PacketsByDir.C2S), i(r.PacketsByDir.S2C),
			i(r.Retransmissions.C2S), i(r.Retransmissions.S2C), i(r.RetransmittedBytes.C2S), i(r.RetransmittedBytes.S2C),
			rtt, strconv.FormatFloat(r.StallTime, 'f', 6, 64)})
	}
	if s.opts.Format == "jsonl" {
		return s.line(struct {
			Type string `json:"type"`
			SummaryRow
		}{"flow", r})
	}
	if s.rows > 1 {
		s.w.WriteString(",")
	}
	s.w.WriteString("\n")
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = s.w.Write(b)
	return err
}

func (s *Summary) line(v any) error { return writeLine(s.w, v) }

// textRow writes a flow's row of the table. It appends the fields itself:
// a summary of a million flows spends its time here otherwise.
func (s *Summary) textRow(f *analyze.Flow) error {
	b := s.buf[:0]
	b = strconv.AppendInt(b, int64(f.ID), 10)
	b = append(b, '\t')
	b = s.appendAddr(b, f.Client)
	b = append(b, '\t')
	b = s.appendAddr(b, f.Server)
	b = append(b, '\t')
	b = analyze.AppendClock(b, f.Origin, f.FirstTime)
	b = append(b, '\t')
	b = strconv.AppendFloat(b, secs(f.LastTime-f.FirstTime), 'f', 3, 64)
	b = append(b, " s\t"...)
	b = strconv.AppendInt(b, int64(f.NPackets), 10)
	b = append(b, '\t')
	b = appendSize(b, f.EP[flowstate.Client].Bytes)
	b = append(b, '/')
	b = appendSize(b, f.EP[flowstate.Server].Bytes)
	b = append(b, '\t')
	b = strconv.AppendInt(b, int64(f.Stats[flowstate.Client].Retransmissions), 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(f.Stats[flowstate.Server].Retransmissions), 10)
	b = append(b, '\t')
	b = append(b, f.ZeekConnState()...)
	b = append(b, '\t')
	b = append(b, f.ZeekHistory()...)
	b = append(b, '\t')
	if f.Labels == 0 {
		b = append(b, '-')
	} else {
		var l []byte
		for i, lb := range f.Labels.List() {
			if i > 0 {
				l = append(l, ',')
			}
			l = append(l, lb.String()...)
		}
		b = append(b, s.pal.warn.Sprint(string(l))...)
	}
	b = append(b, '\n')
	s.buf = b
	s.tab.row(b)
	if s.rows%512 == 0 {
		// Flush in blocks: aligned within a block, and output streams.
		return s.tab.flush()
	}
	return nil
}

func (s *Summary) appendAddr(b []byte, ap netip.AddrPort) []byte {
	if s.opts.Anon != nil {
		return append(b, s.opts.Anon.AddrPort(ap)...)
	}
	return ap.AppendTo(b)
}

// HalfOpenSummary is a listener's unanswered SYNs beyond those listed.
type HalfOpenSummary struct {
	Server     string `json:"server"`
	Flows      int    `json:"flows"`
	Listed     int    `json:"listed"`
	Sources    int    `json:"sources"`
	SourcesMin bool   `json:"sources_at_least,omitempty"` // the count is a lower bound
	First      string `json:"first"`
	Last       string `json:"last"`
}

func (s *Summary) halfOpen() []HalfOpenSummary {
	out := []HalfOpenSummary{}
	for _, h := range s.order {
		if h.flows <= h.listed {
			continue
		}
		out = append(out, HalfOpenSummary{Server: s.opts.Anon.AddrPort(h.server), Flows: h.flows, Listed: h.listed,
			Sources: h.sourceCount(), SourcesMin: h.manySources, First: absTime(h.first), Last: absTime(h.last)})
	}
	return out
}

// csvColumns is the CSV summary's header row.
var csvColumns = []string{"id", "client", "server", "start", "duration", "packets", "conn_state", "history", "client_state", "server_state", "labels",
	"bytes_c2s", "bytes_s2c", "packets_c2s", "packets_s2c", "retransmissions_c2s", "retransmissions_s2c",
	"retransmitted_bytes_c2s", "retransmitted_bytes_s2c", "initial_rtt", "stall_time"}

// Close writes the half-open summaries, the listener views and totals.
func (s *Summary) Close(sum *analyze.Summary) error {
	switch {
	case s.csv != nil:
		if msg := partialText(sum, &s.cut); msg != "" {
			// A trailer row as wide as the others, its first cell starting
			// with '#' (a comment to readers that take one).
			row := make([]string, len(csvColumns))
			row[0], row[len(row)-1] = "# interrupted", msg
			s.csv.Write(row)
		}
		s.csv.Flush()
		if err := s.csv.Error(); err != nil {
			return err
		}
	case s.tab != nil:
		if err := s.tab.flush(); err != nil {
			return err
		}
		fmt.Fprintln(s.w)
		for _, h := range s.halfOpen() {
			more := ""
			if h.SourcesMin {
				more = "at least "
			}
			fmt.Fprintf(s.w, "%s %d connection attempts that never went past the client's SYN (a SYN flood, or clients that gave up) to %s from %s%d sources, %s .. %s: %d listed above, the rest summarised here (--all lists every one)\n\n",
				s.pal.warn.Sprint("half-open:"), h.Flows, h.Server, more, h.Sources, h.First, h.Last, h.Listed)
		}
		writeViews(s.w, s.pal, sum, s.opts.Options, &s.cut)
	default:
		v := viewsOf(sum, s.opts.Options, &s.cut)
		v.halfOpen = s.halfOpen()
		var err error
		if s.opts.Format == "jsonl" {
			err = v.writeLines(s.w)
		} else {
			err = v.writeTail(s.w)
		}
		if err != nil {
			return err
		}
	}
	return s.w.Flush()
}

// appendSize appends a byte count in at most four characters and a unit
// letter: 999, 1.5k, 300k, 23M, 4.5G.
func appendSize(b []byte, n int64) []byte {
	if n < 1000 {
		return strconv.AppendInt(b, n, 10)
	}
	unit, div := byte('k'), int64(1e3)
	switch {
	case n >= 1e12:
		unit, div = 'T', 1e12
	case n >= 1e9:
		unit, div = 'G', 1e9
	case n >= 1e6:
		unit, div = 'M', 1e6
	}
	if n < 10*div {
		tenths := n * 10 / div
		b = strconv.AppendInt(b, tenths/10, 10)
		b = append(b, '.', byte('0'+tenths%10))
	} else {
		b = strconv.AppendInt(b, n/div, 10)
	}
	return append(b, unit)
}
