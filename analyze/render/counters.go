package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/tcptimeline/tcptimeline/analyze"
)

// This file renders the reconciliation of the capture with the kernel's
// own evidence (--nstat, --ss): the text table after the listener views,
// the JSON members, and the report's "Kernel counters" section.

// countersSource describes the counter file(s) in words.
func countersSource(k *analyze.KernelStats) string {
	if k.Difference() {
		f := string(k.Formats[1])
		if k.Formats[0] != k.Formats[1] {
			f += ", " + string(k.Formats[0])
		}
		return fmt.Sprintf("%s minus %s (%s): the counts between the two snapshots", safe(k.Files[1]), safe(k.Files[0]), f)
	}
	s := fmt.Sprintf("%s (%s): one snapshot, cumulative since the network namespace was made (boot, for the host's)", safe(k.Files[0]), k.Formats[0])
	if k.Formats[0] == analyze.FormatNstat || k.Formats[0] == analyze.FormatNstatJSON {
		s += ", or since the previous run for plain nstat (without -a)"
	}
	return s
}

// missingText says which reconciled counters the file lacks, and why a
// format leaves counters out.
func missingText(r *analyze.Reconciliation) string {
	if len(r.Missing) == 0 {
		return ""
	}
	why := ""
	for _, f := range r.Stats.Formats {
		if f == analyze.FormatNstat {
			why = " (nstat prints zeros only with -z)"
		}
	}
	return "not in the file, so not reconciled: " + strings.Join(r.Missing, ", ") + why
}

// ssSource describes the ss file: its snapshots and their times.
func ssSource(l *analyze.SSListing) string {
	s := fmt.Sprintf("%s, %s", safe(l.Name), many(len(l.Snapshots), "snapshot"))
	var first, last int64
	for _, sn := range l.Snapshots {
		if sn.Time == 0 {
			continue
		}
		if first == 0 {
			first = sn.Time
		}
		last = sn.Time
	}
	if first != 0 {
		s += fmt.Sprintf(", %s .. %s", absTime(first), absTime(last))
	}
	return s
}

// ssLocal writes a socket's local address, its address anonymized
// unless it is a wildcard.
func ssLocal(s analyze.SSSocket, an *Anonymizer) string {
	if an == nil || s.Wildcard != analyze.SSNotWildcard {
		return safe(s.Local)
	}
	out := an.Addr(s.Addr.Unmap())
	if s.Iface != "" {
		out += "%" + safe(s.Iface)
	}
	return fmt.Sprintf("%s:%d", out, s.Port)
}

func ssLocals(r *analyze.SSRow, an *Anonymizer) string {
	var parts []string
	for _, s := range r.Sockets {
		parts = append(parts, ssLocal(s, an))
	}
	return strings.Join(parts, ", ")
}

func sendQText(r *analyze.SSRow) string {
	if r.SendQ[0] == r.SendQ[1] {
		return fmt.Sprint(r.SendQ[0])
	}
	return fmt.Sprintf("%d..%d", r.SendQ[0], r.SendQ[1])
}

func capacityText(r *analyze.SSRow) string {
	if r.Capacity == 0 {
		return "not measured"
	}
	return fmt.Sprintf("%d (backlog %d)", r.Capacity, r.Backlog)
}

// recvQText describes ss's Recv-Q peak beside the capture's, for several
// snapshots; "" for one.
func recvQText(r *analyze.SSRow, origin int64) string {
	if r.Snapshots < 2 {
		return ""
	}
	s := fmt.Sprintf("Recv-Q at most %d", r.RecvQPeak)
	if r.RecvQFull {
		s += " (full: above Send-Q)"
	}
	if r.RecvQPeakTime != 0 {
		s += " at " + analyze.Clock(origin, r.RecvQPeakTime)
	}
	s += fmt.Sprintf(" (line %d)", r.RecvQPeakLine)
	if p := r.CapturePeak; p.N > 0 {
		s += fmt.Sprintf("; the capture's accept queue at its fullest: %s", peakText(p, "connection", origin))
	}
	return s
}

func listenerShares(ls []analyze.ListenerCount, an *Anonymizer) string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = fmt.Sprintf("%s %d", an.AddrPort(l.Server), l.N)
	}
	return strings.Join(parts, ", ")
}

// writeKernel writes the reconciliation as text, after the listener and
// capture views.
func writeKernel(w io.Writer, pal palette, r *analyze.Reconciliation, an *Anonymizer) {
	if r.Stats != nil {
		fmt.Fprintf(w, "\n%s %s\n", pal.header.Sprint("kernel counters:"), countersSource(r.Stats))
		width := len("counter")
		for _, row := range r.Counters {
			width = max(width, len(row.Counter.String()))
		}
		fmt.Fprintf(w, "  %-*s  %8s  %8s  %s\n", width, "counter", "kernel", "capture", "note")
		for _, row := range r.Counters {
			note := an.Text(row.Note)
			if row.Kernel != row.Capture {
				note = pal.warn.Sprint(note)
			}
			fmt.Fprintf(w, "  %-*s  %8d  %8d  %s\n", width, row.Counter, row.Kernel, row.Capture, note)
			if len(row.Listeners) > 1 {
				fmt.Fprintf(w, "  %-*s  by listener: %s\n", width+20, "", listenerShares(row.Listeners, an))
			}
		}
		if m := missingText(r); m != "" {
			fmt.Fprintf(w, "  %s\n", m)
		}
	}
	if r.SS != nil {
		fmt.Fprintf(w, "\n%s %s\n", pal.header.Sprint("ss:"), ssSource(r.SS))
		for i := range r.Listeners {
			row := &r.Listeners[i]
			fmt.Fprintf(w, "  listener %s: ", an.AddrPort(row.Server))
			if row.Snapshots > 0 {
				fmt.Fprintf(w, "ss %s Send-Q %s; capture capacity %s: ", ssLocals(row, an), sendQText(row), capacityText(row))
			}
			verdict := string(row.Agreement)
			if row.Agreement != analyze.SSAgree {
				verdict = pal.warn.Sprint(verdict)
			}
			fmt.Fprintf(w, "%s: %s\n", verdict, an.Text(row.Note))
			if q := recvQText(row, r.Origin); q != "" {
				fmt.Fprintf(w, "    %s\n", q)
			}
		}
		if r.Unmatched > 0 {
			fmt.Fprintf(w, "  %s in the ss output had no traffic in the capture\n", many(r.Unmatched, "other listening socket"))
		}
	}
}

// JSONCounter is one row of the top-level "counters" array: a counter
// as nstat names it, the kernel's value, what the capture accounts for
// (always an integer), and what explains the difference.
type JSONCounter struct {
	Name    string `json:"name"`
	Kernel  int64  `json:"kernel"`
	Capture int64  `json:"capture"`
	Note    string `json:"note"`
	// KernelImplied: the file leaves zero counters out (netstat -s) and
	// had no line for this one.
	KernelImplied bool `json:"kernel_implied,omitempty"`
	// Listeners are the listeners whose packets account for Capture.
	Listeners []JSONListenerCount `json:"listeners"`
}

// JSONListenerCount is one listener's share of a counter.
type JSONListenerCount struct {
	Server  string `json:"server"`
	Capture int64  `json:"capture"`
}

// JSONCountersSource says where the kernel column came from.
type JSONCountersSource struct {
	Files      []string `json:"files"`
	Formats    []string `json:"formats"`
	Difference bool     `json:"difference"`
	// Missing names the counters tcptimeline reconciles that the file
	// does not hold.
	Missing []string `json:"missing"`
}

// JSONSS is the top-level "ss" object: ss's sockets set beside each
// listener of the run.
type JSONSS struct {
	File      string           `json:"file"`
	Snapshots int              `json:"snapshots"`
	First     string           `json:"first,omitempty"`
	Last      string           `json:"last,omitempty"`
	Listeners []JSONSSListener `json:"listeners"`
	Unmatched int              `json:"unmatched_sockets"`
}

// JSONSSListener compares one listener with ss.
type JSONSSListener struct {
	Server              string   `json:"server"`
	Sockets             []string `json:"sockets"`
	Snapshots           int      `json:"snapshots"`
	SendQMin            int64    `json:"send_q_min"`
	SendQMax            int64    `json:"send_q_max"`
	AcceptQueueCapacity int      `json:"accept_queue_capacity"`
	Agreement           string   `json:"agreement"`
	Note                string   `json:"note"`
	RecvQPeak           int64    `json:"recv_q_peak"`
	RecvQPeakTime       string   `json:"recv_q_peak_time,omitempty"`
	RecvQPeakLine       int      `json:"recv_q_peak_line,omitempty"`
	RecvQFull           bool     `json:"recv_q_full"`
	CapturePeak         JSONPeak `json:"capture_peak_accept_queue"`
}

// kernelMembers gives the JSON members of the reconciliation, by key.
func kernelMembers(r *analyze.Reconciliation, an *Anonymizer) map[string]any {
	m := map[string]any{}
	if r.Stats != nil {
		rows := make([]JSONCounter, 0, len(r.Counters))
		for _, row := range r.Counters {
			j := JSONCounter{Name: row.Counter.String(), Kernel: row.Kernel, Capture: row.Capture, Note: an.Text(row.Note),
				KernelImplied: row.KernelImplied, Listeners: make([]JSONListenerCount, 0, len(row.Listeners))}
			for _, l := range row.Listeners {
				j.Listeners = append(j.Listeners, JSONListenerCount{an.AddrPort(l.Server), l.N})
			}
			rows = append(rows, j)
		}
		src := JSONCountersSource{Files: r.Stats.Files, Difference: r.Stats.Difference(), Missing: r.Missing}
		for _, f := range r.Stats.Formats {
			src.Formats = append(src.Formats, string(f))
		}
		if src.Missing == nil {
			src.Missing = []string{}
		}
		m["counters"], m["counters_source"] = rows, src
	}
	if r.SS != nil {
		j := JSONSS{File: r.SS.Name, Snapshots: len(r.SS.Snapshots), Listeners: make([]JSONSSListener, 0, len(r.Listeners)), Unmatched: r.Unmatched}
		for _, sn := range r.SS.Snapshots {
			if sn.Time != 0 {
				if j.First == "" {
					j.First = absTime(sn.Time)
				}
				j.Last = absTime(sn.Time)
			}
		}
		for i := range r.Listeners {
			row := &r.Listeners[i]
			l := JSONSSListener{Server: an.AddrPort(row.Server), Sockets: []string{}, Snapshots: row.Snapshots,
				SendQMin: row.SendQ[0], SendQMax: row.SendQ[1], AcceptQueueCapacity: row.Capacity,
				Agreement: string(row.Agreement), Note: an.Text(row.Note), RecvQPeak: row.RecvQPeak,
				RecvQPeakLine: row.RecvQPeakLine, RecvQFull: row.RecvQFull, CapturePeak: peakObject(row.CapturePeak)}
			for _, s := range row.Sockets {
				l.Sockets = append(l.Sockets, ssLocal(s, an))
			}
			if row.RecvQPeakTime != 0 {
				l.RecvQPeakTime = absTime(row.RecvQPeakTime)
			}
			j.Listeners = append(j.Listeners, l)
		}
		m["ss"] = j
	}
	return m
}

// kernelBlocks lays out the report's "Kernel counters" section.
func kernelBlocks(r *analyze.Reconciliation, an *Anonymizer) []block {
	var b []block
	add := func(kind, text string) { b = append(b, block{kind: kind, text: text}) }
	add("h2", "Kernel counters")
	if r.Stats != nil {
		add("p", "Kernel values from "+countersSource(r.Stats)+". The kernel counts per network namespace, for every listener in it; the capture column is what the capture's packets account for. The notes name what can explain a difference, without picking one the data cannot tell.")
		rows := [][]string{{"counter", "kernel", "capture", "what explains the difference"}}
		for _, row := range r.Counters {
			note := an.Text(row.Note)
			if len(row.Listeners) > 1 {
				note += " By listener: " + listenerShares(row.Listeners, an) + "."
			}
			rows = append(rows, []string{"`" + row.Counter.String() + "`", fmt.Sprint(row.Kernel), fmt.Sprint(row.Capture), note})
		}
		b = append(b, block{kind: "table", rows: rows})
		if m := missingText(r); m != "" {
			add("p", strings.ToUpper(m[:1])+m[1:]+".")
		}
	}
	if r.SS != nil {
		add("h3", "Listen backlog: ss against the capture")
		add("p", "From "+ssSource(r.SS)+". A listening socket's Send-Q is its listen backlog in force, min(backlog, `net.core.somaxconn`); the accept queue holds one more (the kernel counts it full only above the backlog), which is the capacity the capture measures.")
		rows := [][]string{{"listener", "ss socket", "Send-Q", "capacity measured", "comparison"}}
		for i := range r.Listeners {
			row := &r.Listeners[i]
			note := string(row.Agreement) + ": " + an.Text(row.Note) + "."
			if q := recvQText(row, r.Origin); q != "" {
				note += " " + strings.ToUpper(q[:1]) + q[1:] + "."
			}
			sock, q := "none", "-"
			if row.Snapshots > 0 {
				sock, q = ssLocals(row, an), sendQText(row)
			}
			rows = append(rows, []string{an.AddrPort(row.Server), sock, q, capacityText(row), note})
		}
		b = append(b, block{kind: "table", rows: rows})
		if r.Unmatched > 0 {
			add("p", many(r.Unmatched, "other listening socket")+" in the ss output had no traffic in the capture.")
		}
	}
	return b
}
