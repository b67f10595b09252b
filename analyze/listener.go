package analyze

import (
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strings"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// Listener is what the capture shows of one server address:port across
// its flows: the overflow evidence, the retransmission schedules, the
// accept queue's capacity when the capture shows it, and the settings
// that can be inferred. It is plain data.
type Listener struct {
	Server netip.AddrPort
	Flows  int
	// LabelFlows counts, per label, the flows that carry it.
	LabelFlows map[flowstate.Label]int
	// Episodes are the overflow episodes: stretches of overflow evidence
	// (dropped SYNs, ignored ACKs, overflow resets) with gaps of less than
	// EpisodeGap between them. Empty when the listener never overflowed.
	Episodes []Episode
	// SynRetransmitSchedule and SynAckRetransmitSchedule are the longest
	// schedules seen, as offsets in nanoseconds from the first copy (the
	// first copy's 0 is left out): e.g. 1 s, 3 s, 7 s for Linux's doubling
	// timer from 1 s.
	SynRetransmitSchedule    []int64
	SynAckRetransmitSchedule []int64
	// AcceptQueueCapacity is the most connections the accept queue held at
	// once (the listen backlog + 1 on Linux), 0 when the capture does not
	// show it; CapacityEvidence says what the figure rests on, or why
	// there is none.
	AcceptQueueCapacity int
	BacklogEstimate     int
	CapacityEvidence    string
	// InferredSysctls maps a sysctl name to what the capture implies,
	// e.g. "tcp_synack_retries": ">= 2 (a lower bound: ...)".
	InferredSysctls map[string]string
	Vantage         Vantage
	VantageEvidence string
	// ConnectTimes are the durations from each client's first SYN to its
	// handshake ACK, sorted; at most maxConnectTimes of them.
	ConnectTimes []int64
	// Series counts, per second of capture time, what the incident chart
	// draws.
	Series Series
	// CaptureLossFlows counts the flows in which a side acknowledged data
	// the capture never saw: the capture lost packets, so drop labels are
	// less certain.
	CaptureLossFlows int
	// Traffic: bytes, retransmissions and stalls of its flows (traffic.go).
	Traffic
}

// SeriesKind names one count of the per-second series.
type SeriesKind int

// The per-second counts.
const (
	SeriesNewSYN         SeriesKind = iota // connections opened (first SYNs)
	SeriesSynDropped                       // SYNs retransmitted after a drop (syn-dropped)
	SeriesSynAckAfterAck                   // SYN-ACKs retransmitted after the client's ACK
	SeriesDataIgnored                      // client data segments ignored (data-while-syn-recv)
	SeriesGhost                            // ghost connections queued
	SeriesReset                            // connections reset (first RST of a flow)
	NumSeriesKinds
)

// SeriesNames are the series' stable IDs, in SeriesKind order.
var SeriesNames = [NumSeriesKinds]string{"new-syn", "syn-dropped", "synack-after-ack", "data-ignored", "ghost-connection", "reset"}

// Series is a set of per-second counts: Counts[kind][i] is the count in
// the second starting at Start + i seconds.
type Series struct {
	Start  int64 // nanoseconds since the Unix epoch, a whole second
	Counts [NumSeriesKinds][]int32
}

// Seconds is the number of seconds the series covers.
func (s *Series) Seconds() int { return len(s.Counts[0]) }

// maxSeriesSeconds bounds a listener's series (about eleven days); later
// seconds are folded into the last bin.
const maxSeriesSeconds = 1 << 20

// Episode is one stretch of overflow evidence.
type Episode struct {
	Start, End int64 // nanoseconds since the Unix epoch
	Evidence   int   // pieces of evidence (labelled packets) in it
}

// EpisodeGap separates overflow episodes.
const EpisodeGap = 10e9

const (
	maxConnectTimes  = 1 << 21
	maxEvidence      = 1 << 20
	maxQueueRecords  = 1 << 18
	maxHeldExamples  = 4
	queueNoneWording = "the capture does not show it"
)

// overflowLabels are the labels that show a listen queue overflowing.
var overflowLabels = []flowstate.Label{
	flowstate.LabelSynDropped, flowstate.LabelSynAckAfterAck, flowstate.LabelDataWhileSynRecv,
	flowstate.LabelFinBeforeQueued, flowstate.LabelGhostConnection, flowstate.LabelSynAckRetriesExhausted,
	flowstate.LabelRstOnOverflow, flowstate.LabelSynCookieSuspected,
}

// acceptOverflowLabels show the accept queue itself full: the server
// ignored or reset a handshake ACK.
var acceptOverflowLabels = flowstate.Labels(0).
	Add(flowstate.LabelSynAckAfterAck).Add(flowstate.LabelDataWhileSynRecv).
	Add(flowstate.LabelGhostConnection).Add(flowstate.LabelRstOnOverflow)

// queueRecord is what the capacity estimate needs of one flow.
type queueRecord struct {
	client      flowstate.Addr // with clientPort; no pointer, so the records cost the collector nothing
	clientPort  uint16
	established int64 // server queued it (0: never)
	end         int64 // when it closed; math.MaxInt64 if it did not
	served      int64 // server's first payload or FIN (0: never)
	overflow    int64 // when this flow met a full accept queue (0: never)
}

func (r *queueRecord) addrPort() netip.AddrPort {
	return netip.AddrPortFrom(r.client.Netip(), r.clientPort)
}

// listenerAgg accumulates one listener's view as flows finish.
type listenerAgg struct {
	l              Listener
	evidence       []int64
	records        chunked[queueRecord]
	recordsDropped bool
	votes          map[Vantage]int
	maxExhausted   int // most SYN-ACK retransmissions before a server forgot
	maxUnanswered  int // most SYN retransmissions of an unanswered connect
	rstOverflow    int
	ackIgnored     int
	cookies        int
	bins           map[int64]*[NumSeriesKinds]int32 // per Unix second
}

type listenerKey struct {
	addr flowstate.Addr
	port uint16
}

// listeners aggregates finished flows per server address:port.
type listeners struct {
	m     map[listenerKey]*listenerAgg
	order []*listenerAgg // in order of first flow, for deterministic output
}

func newListeners() *listeners { return &listeners{m: make(map[listenerKey]*listenerAgg)} }

func (ls *listeners) get(f *flowstate.Flow) *listenerAgg {
	s := &f.EP[flowstate.Server]
	k := listenerKey{s.Addr, s.Port}
	a := ls.m[k]
	if a == nil {
		a = &listenerAgg{votes: make(map[Vantage]int), bins: make(map[int64]*[NumSeriesKinds]int32)}
		a.l.Server = addrPort(s)
		a.l.LabelFlows = make(map[flowstate.Label]int)
		a.l.InferredSysctls = make(map[string]string)
		ls.m[k] = a
		ls.order = append(ls.order, a)
	}
	return a
}

// vantage is the listener's vantage point so far: the most common among
// its flows with a complete handshake.
func (a *listenerAgg) vantage() Vantage {
	best, n := VantageUnknown, 0
	for _, v := range []Vantage{VantageServer, VantageClient, VantageSameHost, VantageBetween} {
		if a.votes[v] > n {
			best, n = v, a.votes[v]
		}
	}
	return best
}

// add takes one finished flow.
func (a *listenerAgg) add(f *flowstate.Flow, v Vantage) {
	l := &a.l
	l.Flows++
	if f.AckedUnseen > 0 {
		l.CaptureLossFlows++
	}
	if v != VantageUnknown {
		a.votes[v]++
	}
	for _, lb := range f.Labels.List() {
		l.LabelFlows[lb]++
	}
	for _, fd := range f.Findings {
		if len(a.evidence) < maxEvidence && isOverflowLabel(fd.Label) {
			a.evidence = append(a.evidence, fd.Time)
		}
	}
	// The overflow began before the packets that prove it: at the dropped
	// SYN, or at the ACK the server ignored.
	if len(a.evidence) < maxEvidence-1 {
		if f.Labels.Has(flowstate.LabelSynDropped) && f.SynTime != 0 {
			a.evidence = append(a.evidence, f.SynTime)
		}
		if f.Labels&acceptOverflowLabels != 0 && f.HandshakeAckTime != 0 {
			a.evidence = append(a.evidence, f.HandshakeAckTime)
		}
	}
	a.count(f)
	l.Traffic.add(f)
	if d, ok := f.ConnectTime(); ok && len(l.ConnectTimes) < maxConnectTimes {
		l.ConnectTimes = append(l.ConnectTimes, d)
	}
	c, s := &f.EP[flowstate.Client], &f.EP[flowstate.Server]
	if len(c.SYNTimes)-1 > len(l.SynRetransmitSchedule) {
		l.SynRetransmitSchedule = offsets(c.SYNTimes)
	}
	if len(s.SYNTimes)-1 > len(l.SynAckRetransmitSchedule) {
		l.SynAckRetransmitSchedule = offsets(s.SYNTimes)
	}
	if f.Labels.Has(flowstate.LabelSynAckRetriesExhausted) && s.SYNRetransmits > a.maxExhausted {
		a.maxExhausted = s.SYNRetransmits
	}
	if f.Labels.Has(flowstate.LabelSynUnanswered) && c.SYNRetransmits > a.maxUnanswered {
		a.maxUnanswered = c.SYNRetransmits
	}
	if f.Labels.Has(flowstate.LabelRstOnOverflow) {
		a.rstOverflow++
	}
	if f.Labels.Has(flowstate.LabelSynAckAfterAck) {
		a.ackIgnored++
	}
	if f.Labels.Has(flowstate.LabelSynCookieSuspected) {
		a.cookies++
	}
	if a.records.len() >= maxQueueRecords {
		a.recordsDropped = true
		return
	}
	// A flow not seen closing was open until the end of the capture.
	r := queueRecord{client: c.Addr, clientPort: c.Port, established: f.ServerEstablishTime, end: math.MaxInt64}
	if f.Closed {
		r.end = f.LastTime
	}
	r.served = s.FirstDataTime
	if s.SentFIN && len(s.FINTimes) > 0 && (r.served == 0 || s.FINTimes[0] < r.served) {
		r.served = s.FINTimes[0]
	}
	if f.Labels&acceptOverflowLabels != 0 && f.HandshakeAckTime != 0 {
		r.overflow = f.HandshakeAckTime
	}
	*a.records.add() = r
}

// count adds a flow's events to the per-second bins.
func (a *listenerAgg) count(f *flowstate.Flow) {
	bump := func(t int64, k SeriesKind) {
		if t == 0 {
			return
		}
		sec := t / 1e9
		b := a.bins[sec]
		if b == nil {
			b = new([NumSeriesKinds]int32)
			a.bins[sec] = b
		}
		b[k]++
	}
	bump(f.SynTime, SeriesNewSYN)
	for _, fd := range f.Findings {
		switch fd.Label {
		case flowstate.LabelSynDropped:
			bump(fd.Time, SeriesSynDropped)
		case flowstate.LabelSynAckAfterAck:
			bump(fd.Time, SeriesSynAckAfterAck)
		case flowstate.LabelDataWhileSynRecv:
			bump(fd.Time, SeriesDataIgnored)
		case flowstate.LabelGhostConnection:
			bump(fd.Time, SeriesGhost)
		}
	}
	first := f.EP[flowstate.Client].RSTTime
	if s := f.EP[flowstate.Server].RSTTime; s != 0 && (first == 0 || s < first) {
		first = s
	}
	bump(first, SeriesReset)
}

// series turns the bins into dense per-second counts.
func (a *listenerAgg) series() Series {
	var s Series
	if len(a.bins) == 0 {
		return s
	}
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for sec := range a.bins {
		lo, hi = min(lo, sec), max(hi, sec)
	}
	n := min(hi-lo+1, maxSeriesSeconds)
	s.Start = lo * 1e9
	for k := range s.Counts {
		s.Counts[k] = make([]int32, n)
	}
	for sec, b := range a.bins {
		i := min(sec-lo, n-1)
		for k := range b {
			s.Counts[k][i] += b[k]
		}
	}
	return s
}

func isOverflowLabel(l flowstate.Label) bool {
	for _, o := range overflowLabels {
		if o == l {
			return true
		}
	}
	return false
}

func offsets(ts []int64) []int64 {
	if len(ts) < 2 {
		return nil
	}
	out := make([]int64, 0, len(ts)-1)
	for _, t := range ts[1:] {
		out = append(out, t-ts[0])
	}
	return out
}

// finish computes what needs every flow: episodes, the queue capacity,
// the inferred settings, the vantage point.
func (a *listenerAgg) finish() *Listener {
	l := &a.l
	sort.Slice(l.ConnectTimes, func(i, j int) bool { return l.ConnectTimes[i] < l.ConnectTimes[j] })
	sort.Slice(a.evidence, func(i, j int) bool { return a.evidence[i] < a.evidence[j] })
	for _, t := range a.evidence {
		if n := len(l.Episodes); n > 0 && t-l.Episodes[n-1].End < EpisodeGap {
			l.Episodes[n-1].End = t
			l.Episodes[n-1].Evidence++
			continue
		}
		l.Episodes = append(l.Episodes, Episode{Start: t, End: t, Evidence: 1})
	}
	a.estimateCapacity()
	l.Series = a.series()
	a.bins = nil

	if a.ackIgnored > 0 {
		l.InferredSysctls["net.ipv4.tcp_abort_on_overflow"] = fmt.Sprintf("0 (the server ignored handshake ACKs in %d flows instead of resetting them)", a.ackIgnored)
	} else if a.rstOverflow > 0 {
		l.InferredSysctls["net.ipv4.tcp_abort_on_overflow"] = fmt.Sprintf("1 (the server reset %d connections right after their handshake ACK)", a.rstOverflow)
	}
	if a.maxExhausted > 0 {
		l.InferredSysctls["net.ipv4.tcp_synack_retries"] = fmt.Sprintf(">= %d (a lower bound: the server forgot requests after %d SYN-ACK retransmissions; the kernel retries fewer times when the SYN queue is over half full of old requests, and TCP_SYNCNT overrides the sysctl)", a.maxExhausted, a.maxExhausted)
	}
	if a.maxUnanswered > 0 {
		l.InferredSysctls["net.ipv4.tcp_syn_retries"] = fmt.Sprintf(">= %d on the clients (a lower bound: they retransmitted unanswered SYNs %d times)", a.maxUnanswered, a.maxUnanswered)
	}
	if a.cookies > 0 {
		l.InferredSysctls["net.ipv4.tcp_syncookies"] = fmt.Sprintf("likely 1 or 2 (%d flows had a single, never retransmitted SYN-ACK while the client went unanswered)", a.cookies)
	}
	if l.AcceptQueueCapacity > 0 {
		l.InferredSysctls["listen_backlog"] = fmt.Sprintf("%d (min(listen() backlog, net.core.somaxconn): the accept queue held %d)", l.BacklogEstimate, l.AcceptQueueCapacity)
	}

	l.Vantage = a.vantage()
	total := 0
	for _, n := range a.votes {
		total += n
	}
	if total > 0 {
		l.VantageEvidence = fmt.Sprintf("%d of %d complete handshakes look like %s", a.votes[l.Vantage], total, vantageWhy(l.Vantage))
	} else {
		l.VantageEvidence = "no complete handshake to judge by"
	}
	return l
}

func vantageWhy(v Vantage) string {
	switch v {
	case VantageServer:
		return "a capture on the server (SYN-ACK follows the SYN at once)"
	case VantageClient:
		return "a capture on the client (ACK follows the SYN-ACK at once)"
	case VantageSameHost:
		return "client and server on one host (both handshake legs under 200 µs)"
	case VantageBetween:
		return "a capture between client and server (both handshake legs take time)"
	}
	return "nothing"
}

// estimateCapacity reads the accept queue's capacity off the first
// overflow: the connections the server had queued and still held, open
// and not yet served, when it first ignored (or reset) a handshake ACK.
// That count is the capacity only if the application was not accepting
// meanwhile, so no estimate is given when a handshake completed after the
// overflow began in the same episode.
func (a *listenerAgg) estimateCapacity() {
	l := &a.l
	var first *queueRecord
	a.records.each(func(r *queueRecord) {
		if r.overflow != 0 && (first == nil || r.overflow < first.overflow) {
			first = r
		}
	})
	if first == nil {
		l.CapacityEvidence = "no handshake ACK was ignored or reset, so " + queueNoneWording
		return
	}
	t0 := first.overflow
	episodeEnd := t0
	for _, e := range l.Episodes {
		if e.Start <= t0 && t0 <= e.End {
			episodeEnd = e.End
		}
	}
	var held []netip.AddrPort
	acceptedLater := 0
	a.records.each(func(r *queueRecord) {
		if r.established == 0 {
			return
		}
		if r.established < t0 && r.end >= t0 && (r.served == 0 || r.served > t0) {
			held = append(held, r.addrPort())
		}
		if r.established > t0 && r.established <= episodeEnd {
			acceptedLater++
		}
	})
	at := fmtClock(t0)
	switch {
	case a.recordsDropped:
		l.CapacityEvidence = "too many flows to keep the per-flow records the estimate needs, so " + queueNoneWording
	case len(held) == 0:
		l.CapacityEvidence = fmt.Sprintf("at %s the server ignored the handshake ACK of %s, but no connection it had queued earlier is in the capture, so %s", at, first.addrPort(), queueNoneWording)
	case acceptedLater > 0:
		l.CapacityEvidence = fmt.Sprintf("the application was accepting during the overflow (%d handshakes completed after it began at %s), so the number the queue held at once is not visible", acceptedLater, at)
	default:
		sort.Slice(held, func(i, j int) bool { return held[i].Compare(held[j]) < 0 })
		ex := make([]string, 0, maxHeldExamples)
		for _, h := range held[:min(len(held), maxHeldExamples)] {
			ex = append(ex, h.String())
		}
		more := ""
		if len(held) > maxHeldExamples {
			more = fmt.Sprintf(" and %d more", len(held)-maxHeldExamples)
		}
		l.AcceptQueueCapacity = len(held)
		l.BacklogEstimate = len(held) - 1
		l.CapacityEvidence = fmt.Sprintf("at %s the server ignored the handshake ACK of %s while %d earlier connections (%s%s) were queued, still open and not answered by the server, and no handshake completed after the overflow began: the queue held %d (listen backlog %d + 1), assuming the application had accepted none of them",
			at, first.addrPort(), len(held), strings.Join(ex, ", "), more, len(held), len(held)-1)
	}
}

// Percentiles of a distribution of durations, in nanoseconds.
type Percentiles struct {
	P50, P90, P99, Max int64
}

// ConnectPercentiles gives the nearest-rank percentiles of sorted
// durations; ok is false when there are none.
func ConnectPercentiles(sorted []int64) (q Percentiles, ok bool) {
	n := len(sorted)
	if n == 0 {
		return q, false
	}
	rank := func(p int) int64 { return sorted[(p*n+99)/100-1] }
	return Percentiles{P50: rank(50), P90: rank(90), P99: rank(99), Max: sorted[n-1]}, true
}

// chunked is an append-only list in chunks that double up to a fixed
// size: it grows without copying what it holds, which for a list of a
// quarter million records appended one per flow was most of the cost of
// keeping it, and a listener with few flows still holds a small one.
type chunked[T any] struct {
	chunks [][]T
	n      int
}

const maxChunkLen = 4096

func (c *chunked[T]) len() int { return c.n }

// add appends a zero element and returns it.
func (c *chunked[T]) add() *T {
	last := len(c.chunks) - 1
	if last < 0 || len(c.chunks[last]) == cap(c.chunks[last]) {
		size := 16
		if last >= 0 {
			size = min(2*cap(c.chunks[last]), maxChunkLen)
		}
		c.chunks = append(c.chunks, make([]T, 0, size))
		last++
	}
	var zero T
	c.chunks[last] = append(c.chunks[last], zero)
	c.n++
	return &c.chunks[last][len(c.chunks[last])-1]
}

// each calls fn on every element, in order.
func (c *chunked[T]) each(fn func(*T)) {
	for _, ch := range c.chunks {
		for i := range ch {
			fn(&ch[i])
		}
	}
}
