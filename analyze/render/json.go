package render

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/tcptimeline/tcptimeline/analyze"
	"github.com/tcptimeline/tcptimeline/flowstate"
)

// Schema names the JSON document's format.
const Schema = "tcptimeline/v1"

// JSON renders one document {"schema", "flows", "captures", "listeners",
// "totals"}. Flows are written as they finish, so the document streams;
// the capture and listener views, known only at the end, follow them.
type JSON struct {
	w     *bufio.Writer
	opts  Options
	n     int
	lines bool // one object per line (jsonl) instead of one document
	cut   cutoff
}

// NewJSON returns a renderer of the JSON document.
func NewJSON(w io.Writer, opts Options) *JSON {
	return &JSON{w: bufio.NewWriterSize(w, 64<<10), opts: opts, cut: cutoff{stop: opts.Stop}}
}

// NewJSONLines returns a renderer that writes one JSON object per line:
// {"type":"flow",...} per finished flow, then {"type":"capture",...} and
// {"type":"listener",...} objects and a {"type":"totals",...} line.
func NewJSONLines(w io.Writer, opts Options) *JSON {
	return &JSON{w: bufio.NewWriterSize(w, 64<<10), opts: opts, lines: true, cut: cutoff{stop: opts.Stop}}
}

// JSONFlow is a flow in the v1 schema.
type JSONFlow struct {
	Type          string   `json:"type,omitempty"`
	ID            int      `json:"id"`
	Client        string   `json:"client"`
	Server        string   `json:"server"`
	ClientGuessed bool     `json:"client_guessed,omitempty"`
	Start         string   `json:"start"`
	Duration      float64  `json:"duration"`
	EndReason     string   `json:"end_reason"`
	ClientState   string   `json:"client_state"`
	ServerState   string   `json:"server_state"`
	Labels        []string `json:"labels"`
	Vantage       string   `json:"vantage"`
	// VantageEvidence says what Vantage rests on: packet direction or
	// handshake timing.
	VantageEvidence string   `json:"vantage_evidence"`
	ConnectTime     *float64 `json:"connect_time,omitempty"`
	// InitialRTT is Wireshark's initial_rtt (the most recent SYN to the
	// first ACK), seconds.
	InitialRTT *float64 `json:"initial_rtt,omitempty"`
	// Bytes, Retransmissions and RetransmittedBytes are each way; the
	// windows are the largest and smallest each side advertised, scaled.
	Bytes              JSONDirs     `json:"bytes"`
	PacketsByDir       JSONDirs     `json:"packets_by_dir"`
	Retransmissions    JSONDirs     `json:"retransmissions"`
	RetransmittedBytes JSONDirs     `json:"retransmitted_bytes"`
	MaxWindow          JSONDirs     `json:"max_window"`
	MinWindow          JSONDirs     `json:"min_window"`
	StallTime          float64      `json:"stall_time"`
	Stalls             []JSONStall  `json:"stalls"`
	Packets            []JSONPacket `json:"packets"`
}

// JSONDirs is a figure each way: from the client (c2s) and from the server
// (s2c).
type JSONDirs struct {
	C2S int64 `json:"c2s"`
	S2C int64 `json:"s2c"`
}

// JSONStall is a stall or loss finding (flowstate.Stall).
type JSONStall struct {
	Label      string    `json:"label"`
	Side       string    `json:"side"`
	N          int64     `json:"n"` // frame of the packet with the label
	Start      string    `json:"start"`
	End        string    `json:"end"`
	Duration   float64   `json:"duration"`
	Open       bool      `json:"open,omitempty"`
	Count      int       `json:"count"`
	Times      []float64 `json:"times,omitempty"` // seconds after start
	Seq        uint32    `json:"seq,omitempty"`
	LostBefore int       `json:"lost_before_capture,omitempty"`
	LostAfter  int       `json:"lost_after_capture,omitempty"`
	Answered   int       `json:"answered,omitempty"`
	Needless   bool      `json:"needless,omitempty"`
}

// JSONPacket is a packet in the v1 schema.
type JSONPacket struct {
	File        int32    `json:"file"`
	N           int64    `json:"n"`
	T           float64  `json:"t"`
	Time        string   `json:"time"`
	Dir         string   `json:"dir"`
	Flags       string   `json:"flags"`
	Seq         uint32   `json:"seq"`
	Ack         uint32   `json:"ack"`
	Len         uint32   `json:"len"`
	ClientState string   `json:"client_state"`
	ServerState string   `json:"server_state"`
	Labels      []string `json:"labels"`
	Note        string   `json:"note"`
	Duplicate   bool     `json:"duplicate,omitempty"`
	// Wireshark's analysis: its tcp.analysis flag names, the duplicate
	// ACK's number and the frame it duplicates, the scaled window, ack_rtt
	// (seconds) and bytes_in_flight.
	Analysis      []string `json:"analysis"`
	DupAckNum     uint32   `json:"dup_ack_num,omitempty"`
	DupAckOf      int64    `json:"dup_ack_of,omitempty"`
	Win           uint32   `json:"win"`
	AckRTT        float64  `json:"ack_rtt,omitempty"`
	BytesInFlight uint32   `json:"bytes_in_flight,omitempty"`
	// ReallyRetransmission: Wireshark says out_of_order, but the capture
	// had seen every byte of it before.
	ReallyRetransmission bool `json:"really_retransmission,omitempty"`
	// Seen, in a run of several captures, lists every capture that
	// recorded the packet (file index, frame, seconds since the run's
	// first packet on the first file's clock), first record first.
	Seen []JSONSeen `json:"seen,omitempty"`
}

// JSONSeen is one capture's record of a packet.
type JSONSeen struct {
	File int32   `json:"file"`
	N    int64   `json:"n"`
	T    float64 `json:"t"`
}

// JSONListener is a listener in the v1 schema.
type JSONListener struct {
	Type                     string            `json:"type,omitempty"`
	Server                   string            `json:"server"`
	Flows                    int               `json:"flows"`
	Verdict                  string            `json:"verdict"`
	VerdictEvidence          []string          `json:"verdict_evidence"`
	Notes                    []string          `json:"notes"`
	AcceptQueueCapacity      int               `json:"accept_queue_capacity,omitempty"`
	AcceptQueueCapacityRange []int             `json:"accept_queue_capacity_range,omitempty"`
	BacklogEstimate          *int              `json:"backlog_estimate,omitempty"`
	CapacityEvidence         string            `json:"capacity_evidence"`
	LabelFlows               map[string]int    `json:"label_flows"`
	Episodes                 []JSONEpisode     `json:"overflow_episodes"`
	SynRetransmitSchedule    []float64         `json:"syn_retransmit_schedule"`
	SynAckRetransmitSchedule []float64         `json:"synack_retransmit_schedule"`
	InferredSysctls          map[string]string `json:"inferred_sysctls"`
	Vantage                  string            `json:"vantage"`
	VantageEvidence          string            `json:"vantage_evidence"`
	ConnectTime              *JSONPercentiles  `json:"connect_time,omitempty"`
	CaptureLossFlows         int               `json:"capture_loss_flows"`
	RepliesMissingFlows      int               `json:"replies_missing_flows"`
	// Hidden counts the listener's flows a filter kept out of the output;
	// the view covers all of them.
	Hidden int `json:"hidden_flows"`
	// Counters is what the capture shows the kernel counted for this
	// listener, by nstat name; PeakSYNQueue and PeakAcceptQueue are the
	// queues at their fullest.
	Counters        map[string]int64 `json:"counters"`
	PeakSYNQueue    JSONPeak         `json:"peak_syn_queue"`
	PeakAcceptQueue JSONPeak         `json:"peak_accept_queue"`
	Queues          JSONQueues       `json:"queues"`
	// Established is how many connections each side believes
	// ESTABLISHED over time.
	Established JSONEstablished `json:"established"`
	JSONTraffic
}

// JSONEstablished is a listener's connections that each side (clients,
// the server) believes ESTABLISHED: a point per change, counts as at the
// end of each bin of res seconds, and each side's peak.
type JSONEstablished struct {
	Res    float64                `json:"res"`
	Points []JSONEstablishedPoint `json:"points"`
	Peak   struct {
		Client JSONPeak `json:"client"`
		Server JSONPeak `json:"server"`
	} `json:"peak"`
}

// JSONEstablishedPoint is both sides' counts from time on.
type JSONEstablishedPoint struct {
	Time   string `json:"time"`
	Client int32  `json:"client"`
	Server int32  `json:"server"`
}

// JSONTraffic rolls up bytes, retransmissions and stalls (analyze.Traffic).
type JSONTraffic struct {
	Bytes              JSONDirs `json:"bytes"`
	Retransmissions    JSONDirs `json:"retransmissions"`
	RetransmittedBytes JSONDirs `json:"retransmitted_bytes"`
	StalledFlows       int      `json:"stalled_flows"`
	StallTime          float64  `json:"stall_time"`
	LossFlows          int      `json:"loss_flows"`
	LostBeforeCapture  int64    `json:"lost_before_capture"`
	LostAfterCapture   int64    `json:"lost_after_capture"`
	KeepaliveFlows     int      `json:"keepalive_flows"`
}

func trafficObject(t *analyze.Traffic) JSONTraffic {
	return JSONTraffic{
		Bytes:              JSONDirs{t.Bytes[flowstate.Client], t.Bytes[flowstate.Server]},
		Retransmissions:    JSONDirs{t.Retransmissions[flowstate.Client], t.Retransmissions[flowstate.Server]},
		RetransmittedBytes: JSONDirs{t.RetransmittedBytes[flowstate.Client], t.RetransmittedBytes[flowstate.Server]},
		StalledFlows:       t.StalledFlows, StallTime: secs(t.StallTime), LossFlows: t.LossFlows,
		LostBeforeCapture: t.LostBefore, LostAfterCapture: t.LostAfter, KeepaliveFlows: t.KeepaliveFlows,
	}
}

// JSONQueues is a listener's queue occupancy over time: a level per
// change (res 0), or per stretch of res seconds when there were too many.
type JSONQueues struct {
	Res    float64          `json:"res"`
	Levels []JSONQueueLevel `json:"levels"`
}

// JSONQueueLevel is both queues' occupancy from time on: the most each
// held until the next level and what each held at its end.
type JSONQueueLevel struct {
	Time      string `json:"time"`
	SYNMax    int32  `json:"syn_max"`
	SYN       int32  `json:"syn"`
	AcceptMax int32  `json:"accept_max"`
	Accept    int32  `json:"accept"`
}

// JSONPeak is a queue's peak occupancy.
type JSONPeak struct {
	N    int    `json:"n"`
	Time string `json:"time,omitempty"`
}

func peakObject(p analyze.Peak) JSONPeak {
	j := JSONPeak{N: p.N}
	if p.N > 0 {
		j.Time = absTime(p.T)
	}
	return j
}

// JSONEpisode is an overflow episode of one queue.
type JSONEpisode struct {
	Start        string         `json:"start"`
	End          string         `json:"end"`
	Evidence     int            `json:"evidence"`
	Queue        string         `json:"queue"`
	Confidence   string         `json:"confidence"`
	Alternatives []string       `json:"alternatives"`
	Causes       map[string]int `json:"causes"`
}

// JSONPercentiles is a distribution of durations in seconds.
type JSONPercentiles struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// JSONTotals are the run's totals.
type JSONTotals struct {
	Type     string `json:"type,omitempty"`
	Flows    int    `json:"flows"`
	Segments int64  `json:"segments"`
	// SeenAgain: in a run of several vantage points, the segments that
	// were another point's record of a packet already counted.
	SeenAgain   int64          `json:"seen_again,omitempty"`
	LabelFlows  map[string]int `json:"label_flows"`
	CaptureLoss int            `json:"capture_loss_flows"`
	// RepliesMissing counts flows whose client acknowledged a SYN-ACK the
	// capture never held (one-sided capture).
	RepliesMissing int `json:"replies_missing_flows"`
	// Hidden counts the flows a filter kept out of the output.
	Hidden      int    `json:"hidden_flows"`
	Start       string `json:"start,omitempty"`
	End         string `json:"end,omitempty"`
	Interrupted bool   `json:"interrupted,omitempty"`
	// FlowsNotShown counts the flows that finished after an interrupt
	// and were not written, to end the output in time.
	FlowsNotShown int `json:"flows_not_shown,omitempty"`
	JSONTraffic
}

func secs(ns int64) float64 { return float64(ns) / 1e9 }

// FlowObject converts a finished flow to its v1 JSON shape; an, when not
// nil, anonymizes the addresses. (The JSON renderers write the same
// object without building it: its packets one at a time.)
func FlowObject(f *analyze.Flow, an *Anonymizer) JSONFlow {
	out := flowHeader(f, an)
	out.Packets = make([]JSONPacket, 0, len(f.Packets))
	for i := range f.Packets {
		out.Packets = append(out.Packets, packetObject(f, i))
	}
	return out
}

// flowHeader is a flow's v1 object without its packets (an empty list).
func flowHeader(f *analyze.Flow, an *Anonymizer) JSONFlow {
	out := JSONFlow{
		ID: f.ID, Client: an.AddrPort(f.Client), Server: an.AddrPort(f.Server), ClientGuessed: f.ClientGuessed,
		Start: absTime(f.FirstTime), Duration: secs(f.LastTime - f.FirstTime), EndReason: f.EndReason,
		ClientState: f.EP[flowstate.Client].State.String(), ServerState: f.EP[flowstate.Server].State.String(),
		Labels: f.Labels.Strings(), Vantage: string(f.Vantage), VantageEvidence: f.VantageBasis.String(), Packets: []JSONPacket{},
	}
	if d, ok := f.ConnectTime(); ok {
		s := secs(d)
		out.ConnectTime = &s
	}
	if rtt := f.InitialRTT(); rtt != 0 {
		s := secs(rtt)
		out.InitialRTT = &s
	}
	c, sv := &f.EP[flowstate.Client], &f.EP[flowstate.Server]
	cs, ss := &f.Stats[flowstate.Client], &f.Stats[flowstate.Server]
	out.Bytes = JSONDirs{c.Bytes, sv.Bytes}
	out.PacketsByDir = JSONDirs{int64(c.Packets), int64(sv.Packets)}
	out.Retransmissions = JSONDirs{int64(cs.Retransmissions), int64(ss.Retransmissions)}
	out.RetransmittedBytes = JSONDirs{cs.RetransmittedBytes, ss.RetransmittedBytes}
	cmax, cmin, _ := f.Window(flowstate.Client)
	smax, smin, _ := f.Window(flowstate.Server)
	out.MaxWindow = JSONDirs{int64(cmax), int64(smax)}
	out.MinWindow = JSONDirs{int64(cmin), int64(smin)}
	out.StallTime = secs(f.StallTime())
	out.Stalls = stallObjects(f)
	return out
}

// packetObject is recorded packet i of f in its v1 shape.
func packetObject(f *analyze.Flow, i int) JSONPacket {
	p := &f.Packets[i]
	dir := "c2s"
	if p.From == flowstate.Server {
		dir = "s2c"
	}
	jp := JSONPacket{
		File: p.File, N: p.Frame, T: secs(p.Time - f.Origin), Time: absTime(p.Time), Dir: dir,
		Flags: p.Flags.String(), Seq: p.Seq, Ack: p.Ack, Len: p.Len,
		ClientState: p.State[flowstate.Client].String(), ServerState: p.State[flowstate.Server].String(),
		Labels: p.Labels.Strings(), Duplicate: p.Duplicate,
		Analysis: p.Analysis.Strings(), DupAckNum: p.DupAckNum, Win: p.WinScaled, AckRTT: secs(p.AckRTT),
		BytesInFlight: p.BytesInFlight, ReallyRetransmission: p.ReallyRetransmit,
	}
	if j := int(p.DupAckOf); p.DupAckNum != 0 && j >= 0 && j < len(f.Packets) {
		jp.DupAckOf = f.Packets[j].Frame
	}
	if i < len(f.Notes) {
		jp.Note = f.Notes[i]
	}
	if i < len(f.Seen) {
		for _, x := range f.Seen[i] {
			jp.Seen = append(jp.Seen, JSONSeen{File: x.File, N: x.Frame, T: secs(x.Time - f.Origin)})
		}
	}
	return jp
}

// packetsKey is where writeFlow splits a flow's object to stream its
// packets in.
var packetsKey = []byte(`"packets":[]`)

// writeFlow writes f's v1 object as FlowObject would marshal it, but one
// packet at a time, so that a flow of millions of packets never exists
// as one value; after Stop closes it ends the packets early and says how
// many it left out ("packets_not_shown").
func (j *JSON) writeFlow(f *analyze.Flow, typ string) error {
	obj := flowHeader(f, j.opts.Anon)
	obj.Type = typ
	head, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	k := bytes.LastIndex(head, packetsKey)
	if k < 0 {
		return fmt.Errorf("render: no packets in the JSON of flow %d", f.ID)
	}
	open := k + len(packetsKey) - 1 // just past '['
	j.w.Write(head[:open])
	notShown := 0
	for i := range f.Packets {
		if i%checkEvery == checkEvery-1 && j.cut.done() {
			notShown = len(f.Packets) - i
			break
		}
		if i > 0 {
			j.w.WriteByte(',')
		}
		b, err := json.Marshal(packetObject(f, i))
		if err != nil {
			return err
		}
		j.w.Write(b)
	}
	j.w.WriteByte(']')
	if notShown > 0 {
		fmt.Fprintf(j.w, `,"packets_not_shown":%d`, notShown)
	}
	_, err = j.w.Write(head[open+1:])
	return err
}

// stallObjects converts a flow's stall findings.
func stallObjects(f *analyze.Flow) []JSONStall {
	out := make([]JSONStall, 0, len(f.Stalls))
	for i := range f.Stalls {
		s := &f.Stalls[i]
		js := JSONStall{Label: s.Label.String(), Side: s.Side.String(), Start: absTime(s.Start), End: absTime(s.End),
			Duration: secs(s.Duration()), Open: s.Open, Count: s.Count, Seq: s.Seq,
			LostBefore: s.LostBefore, LostAfter: s.LostAfter, Answered: s.Answered, Needless: s.Needless}
		if s.Packet >= 0 && s.Packet < len(f.Packets) {
			js.N = f.Packets[s.Packet].Frame
		}
		for _, t := range s.Times {
			js.Times = append(js.Times, secs(t-s.Start))
		}
		out = append(out, js)
	}
	return out
}

// ListenerObject converts a listener view to its v1 JSON shape; an, when
// not nil, anonymizes the addresses.
func ListenerObject(l *analyze.Listener, an *Anonymizer) JSONListener {
	out := JSONListener{
		Server: an.AddrPort(l.Server), Flows: l.Flows, AcceptQueueCapacity: l.AcceptQueueCapacity,
		CapacityEvidence: an.Text(l.CapacityEvidence), LabelFlows: labelMap(l.LabelFlows),
		Episodes:                 []JSONEpisode{},
		SynRetransmitSchedule:    secsList(l.SynRetransmitSchedule),
		SynAckRetransmitSchedule: secsList(l.SynAckRetransmitSchedule),
		InferredSysctls:          anonValues(l.InferredSysctls(), an), Vantage: string(l.Vantage), VantageEvidence: an.Text(l.VantageEvidence),
		CaptureLossFlows: l.CaptureLossFlows, RepliesMissingFlows: l.RepliesMissingFlows, Hidden: l.Hidden, JSONTraffic: trafficObject(&l.Traffic),
		Verdict: string(l.Verdict), VerdictEvidence: make([]string, 0, len(l.VerdictEvidence)), Notes: make([]string, 0, len(l.Notes)),
	}
	out.Counters = make(map[string]int64, analyze.NumCounters)
	for c := analyze.Counter(0); c < analyze.NumCounters; c++ {
		out.Counters[c.String()] = l.Counts[c]
	}
	out.PeakSYNQueue, out.PeakAcceptQueue = peakObject(l.PeakSYNQueue), peakObject(l.PeakAcceptQueue)
	out.Queues = JSONQueues{Res: secs(l.Queues.Res), Levels: make([]JSONQueueLevel, 0, len(l.Queues.Levels))}
	for _, q := range l.Queues.Levels {
		out.Queues.Levels = append(out.Queues.Levels, JSONQueueLevel{Time: absTime(q.T), SYNMax: q.SYNMax, SYN: q.SYNEnd, AcceptMax: q.AcceptMax, Accept: q.AcceptEnd})
	}
	e := &l.Established
	out.Established = JSONEstablished{Res: secs(e.Res), Points: make([]JSONEstablishedPoint, 0, len(e.Points))}
	for _, p := range e.Points {
		out.Established.Points = append(out.Established.Points, JSONEstablishedPoint{Time: absTime(p.T), Client: p.Client, Server: p.Server})
	}
	out.Established.Peak.Client = peakObject(analyze.Peak{N: int(e.Peak[flowstate.Client]), T: e.PeakTime[flowstate.Client]})
	out.Established.Peak.Server = peakObject(analyze.Peak{N: int(e.Peak[flowstate.Server]), T: e.PeakTime[flowstate.Server]})
	for _, v := range l.VerdictEvidence {
		out.VerdictEvidence = append(out.VerdictEvidence, an.Text(v))
	}
	for _, n := range l.Notes {
		out.Notes = append(out.Notes, an.Text(n))
	}
	if r := l.AcceptQueueCapacityRange; r[1] > r[0] {
		out.AcceptQueueCapacityRange = []int{r[0], r[1]}
	}
	if l.AcceptQueueCapacity > 0 {
		b := l.BacklogEstimate
		out.BacklogEstimate = &b
	}
	for _, e := range l.Episodes {
		causes := make(map[string]int)
		for k, n := range e.Causes {
			if n > 0 {
				causes[analyze.CauseNames[k]] = n
			}
		}
		out.Episodes = append(out.Episodes, JSONEpisode{Start: absTime(e.Start), End: absTime(e.End), Evidence: e.Evidence,
			Queue: string(e.Queue), Confidence: string(e.Confidence), Alternatives: anonList(e.Alternatives, an), Causes: causes})
	}
	if q, ok := analyze.ConnectPercentiles(l.ConnectTimes); ok {
		out.ConnectTime = &JSONPercentiles{Count: len(l.ConnectTimes), P50: secs(q.P50), P90: secs(q.P90), P99: secs(q.P99), Max: secs(q.Max)}
	}
	return out
}

// TotalsObject converts the run's totals.
func TotalsObject(s *analyze.Summary) JSONTotals {
	t := JSONTotals{Flows: s.Flows, Segments: s.Segments, SeenAgain: s.SeenAgain, LabelFlows: labelMap(s.LabelFlows), Interrupted: s.Interrupted, CaptureLoss: s.CaptureLossFlows, RepliesMissing: s.RepliesMissingFlows, Hidden: s.Hidden,
		JSONTraffic: trafficObject(&s.Traffic)}
	if s.HasTime {
		t.Start, t.End = absTime(s.Origin), absTime(s.End)
	}
	return t
}

// anonValues returns m with its values through an.Text (m itself
// without an anonymizer).
func anonValues(m map[string]string, an *Anonymizer) map[string]string {
	if an == nil {
		return m
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = an.Text(v)
	}
	return out
}

// anonList returns l through an.Text (l itself without an anonymizer).
func anonList(l []string, an *Anonymizer) []string {
	if an == nil || l == nil {
		return l
	}
	out := make([]string, len(l))
	for i, v := range l {
		out[i] = an.Text(v)
	}
	return out
}

func labelMap(m map[flowstate.Label]int) map[string]int {
	out := make(map[string]int, len(m))
	for l, n := range m {
		out[l.String()] = n
	}
	return out
}

func secsList(ns []int64) []float64 {
	out := make([]float64, len(ns))
	for i, v := range ns {
		out[i] = secs(v)
	}
	return out
}

// Flush writes out what is buffered: on live input, after each flow.
func (j *JSON) Flush() error { return j.w.Flush() }

// Flow writes one finished flow.
func (j *JSON) Flow(f *analyze.Flow) error {
	if j.opts.Anomalies && f.Labels == 0 {
		return nil
	}
	if j.cut.done() {
		j.cut.flows++
		return nil
	}
	if j.lines {
		if err := j.writeFlow(f, "flow"); err != nil {
			return err
		}
		return j.w.WriteByte('\n')
	}
	if j.n == 0 {
		j.w.WriteString(`{"schema":"` + Schema + `","flows":[` + "\n")
	} else {
		j.w.WriteString(",\n")
	}
	j.n++
	return j.writeFlow(f, "")
}

func (j *JSON) line(v any) error { return writeLine(j.w, v) }

// writeLine writes v as one line of JSON.
func writeLine(w *bufio.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Write(b)
	return w.WriteByte('\n')
}

// views are the parts of a document that follow the flows: what is known
// only at the end of the run.
type views struct {
	halfOpen []HalfOpenSummary // summaries only; nil leaves it out
	// listeners are made into JSON one at a time as they are written
	// (eachListener): 60,000 listeners' objects would not all be held.
	listeners []*analyze.Listener
	anon      *Anonymizer
	captures  []*analyze.Capture
	totals    JSONTotals
	kernel    map[string]any // "counters", "counters_source", "ss" (counters.go); nil without --nstat and --ss
}

func viewsOf(s *analyze.Summary, opts Options, cut *cutoff) views {
	v := views{anon: opts.Anon, captures: s.Captures, totals: TotalsObject(s)}
	if cut.flows > 0 {
		v.totals.Interrupted, v.totals.FlowsNotShown = true, cut.flows
	}
	for _, l := range s.Listeners {
		if !opts.Anomalies || len(l.LabelFlows) > 0 {
			v.listeners = append(v.listeners, l)
		}
	}
	if v.captures == nil {
		v.captures = []*analyze.Capture{}
	}
	if opts.Kernel != nil {
		v.kernel = kernelMembers(opts.Kernel.Reconcile(s), opts.Anon)
	}
	if opts.Anon != nil {
		v.captures = make([]*analyze.Capture, len(s.Captures))
		for i, c := range s.Captures {
			v.captures[i] = opts.Anon.Capture(c)
		}
	}
	return v
}

// writeLines writes the views as JSON lines, each with its "type".
func (v views) writeLines(w *bufio.Writer) error {
	for _, h := range v.halfOpen {
		writeLine(w, struct {
			Type string `json:"type"`
			HalfOpenSummary
		}{"half_open", h})
	}
	for _, c := range v.captures {
		writeLine(w, struct {
			Type string `json:"type"`
			*analyze.Capture
		}{"capture", c})
	}
	for _, l := range v.listeners {
		o := ListenerObject(l, v.anon)
		o.Type = "listener"
		writeLine(w, o)
	}
	if len(v.kernel) > 0 {
		m := map[string]any{"type": "kernel"}
		for k, x := range v.kernel {
			m[k] = x
		}
		writeLine(w, m)
	}
	v.totals.Type = "totals"
	return writeLine(w, v.totals)
}

// writeListeners writes the "listeners" member, one listener's object at
// a time.
func (v views) writeListeners(w *bufio.Writer) error {
	w.WriteString(`"listeners":[`)
	for i, l := range v.listeners {
		b, err := json.Marshal(ListenerObject(l, v.anon))
		if err != nil {
			return err
		}
		if i > 0 {
			w.WriteByte(',')
		}
		w.Write(b)
	}
	_, err := w.WriteString("]")
	return err
}

// writeTail closes the document's "flows" array and writes the views as
// its remaining members, in key order.
func (v views) writeTail(w *bufio.Writer) error {
	w.WriteString("\n],\n")
	rest := map[string]any{"listeners": nil, "captures": v.captures, "totals": v.totals}
	if v.halfOpen != nil {
		rest["half_open"] = v.halfOpen
	}
	for k, x := range v.kernel {
		rest[k] = x
	}
	keys := make([]string, 0, len(rest))
	for k := range rest {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if k == "listeners" {
			if err := v.writeListeners(w); err != nil {
				return err
			}
		} else {
			b, err := json.Marshal(rest[k])
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "%q:%s", k, b)
		}
		if i < len(keys)-1 {
			w.WriteString(",\n")
		}
	}
	_, err := w.WriteString("}\n")
	return err
}

// Close writes the captures, listeners and totals, and flushes.
func (j *JSON) Close(s *analyze.Summary) error {
	v := viewsOf(s, j.opts, &j.cut)
	if j.lines {
		v.writeLines(j.w)
		return j.w.Flush()
	}
	if j.n == 0 {
		j.w.WriteString(`{"schema":"` + Schema + `","flows":[`)
	}
	if err := v.writeTail(j.w); err != nil {
		return err
	}
	return j.w.Flush()
}
