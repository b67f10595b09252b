package analyze

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
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
	// Verdict is what kind of endpoint the listener was;
	// VerdictEvidence has one sentence per verdict that applies, the
	// winner first ("serving: 12 of 14 connections completed the
	// handshake").
	Verdict         Verdict
	VerdictEvidence []string
	// LabelFlows counts, per label, the flows that carry it.
	LabelFlows map[flowstate.Label]int
	// Episodes are the overflow episodes: stretches of evidence for one
	// queue (dropped SYNs, ignored ACKs and data, overflow resets, SYN
	// cookies) with gaps of less than EpisodeGap between them, each with
	// its confidence and the alternatives the capture cannot rule out.
	// Empty when no queue is shown to have overflowed (verdict.go).
	Episodes []Episode
	// Notes are listener-level findings in words: a SYN flood, a listener
	// closed with connections queued.
	Notes []string
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
	// AcceptQueueCapacityRange is the least and the most the queue was
	// seen to hold when full, when they differ ({0, 0} otherwise).
	AcceptQueueCapacityRange [2]int
	BacklogEstimate          int
	CapacityEvidence         string
	// Settings are the server settings the capture implies, sorted by
	// name (sysctl.go): read them with Setting, never decide one again.
	Settings        []Inferred
	Vantage         Vantage
	VantageEvidence string
	// ConnectTimes are the durations from each client's first SYN to its
	// handshake ACK, sorted; at most maxConnectTimes of them.
	ConnectTimes []int64
	// Series holds what the incident chart draws, over the capture's
	// time (series.go).
	Series Series
	// Established is how many connections each side believes
	// ESTABLISHED over time (established.go).
	Established Established
	// CaptureLossFlows counts the flows in which a side acknowledged data
	// the capture never saw: the capture lost packets, so drop labels are
	// less certain.
	CaptureLossFlows int
	// RepliesMissingFlows counts the flows whose client acknowledged a
	// SYN-ACK the capture never held: it misses the server's direction.
	RepliesMissingFlows int
	// Queues is both queues' occupancy over time, as the wire shows it.
	Queues QueueLevels
	// PeakSYNQueue and PeakAcceptQueue are the most each queue held at
	// once as the wire shows it: requests pending in SYN-RECEIVED, and
	// connections queued and not shown accepted (an upper bound).
	PeakSYNQueue, PeakAcceptQueue Peak
	// Hidden counts the listener's flows a filter kept from the output
	// (Options.Show): the view itself covers all Flows.
	Hidden int
	// Counts is what the capture shows the kernel counted for this
	// listener (ListenOverflows and the others, counters.go).
	Counts WireCounts
	// Traffic: bytes, retransmissions and stalls of its flows (traffic.go).
	Traffic
}

const (
	// A SYN flood: this many half-open connections from this many sources.
	minFloodHalfOpen = 64
	minFloodSources  = 16
	maxFloodSources  = 1 << 16
	// closeBurst: resets this close together came from one close.
	closeBurst = 50e6

	maxConnectTimes  = 1 << 21
	maxEvidence      = 1 << 20
	maxQueueRecords  = 1 << 18
	maxHeldExamples  = 4
	queueNoneWording = "the capture does not show it"
)

// queueRecord is what the queue model needs of one flow.
type queueRecord struct {
	client      flowstate.Addr // with clientPort; no pointer, so the records cost the collector nothing
	clientPort  uint16
	cookie      bool  // its SYN-ACK was a cookie: no request was kept
	synAck      int64 // the server's first SYN-ACK: its request existed from then (0: none)
	reqEnd      int64 // the request left the SYN queue
	established int64 // server queued it (0: never)
	end         int64 // when it closed; math.MaxInt64 if it did not
	served      int64 // server's first payload or FIN, or its reset (0: never): the application had it
	overflow    int64 // when this flow's handshake ACK met a full accept queue (0: never)
	reset       bool  // and the server answered it with the overflow reset
}

func (r *queueRecord) addrPort() netip.AddrPort {
	return netip.AddrPortFrom(r.client.Netip(), r.clientPort)
}

// listenerAgg accumulates one listener's view as flows finish.
type listenerAgg struct {
	l              Listener
	evidence       []evidence
	drops          []dropInstant
	records        chunked[queueRecord]
	recordsDropped bool
	votes          [numVantages]int // by vantageIndex
	timer          synAckTimer      // what the flows show of the request timer (sysctl.go)
	dirVotes       [numVantages]int // the votes that rest on packet direction
	untimed        [numVantages]int // the direction votes of flows without a complete handshake
	mergedVotes    [numVantages]int // the votes of flows seen at several capture points
	endVotes       [numVantages]int // of those, the flows seen at the server's end of the points (BasisMergedEnd)
	rstOverflow    int
	ackIgnored     int
	answered       int                         // flows whose SYN the server answered with a SYN-ACK
	completed      int                         // flows whose handshake completed (the client acknowledged a SYN-ACK)
	refused        int                         // flows whose SYN the server answered with a RST
	unanswered     int                         // flows whose SYNs got no answer at all
	syns           int                         // flows that began with the client's SYN
	halfOpen       int                         // flows with a SYN-ACK the client never acknowledged
	attempts       int                         // flows whose handshake never completed: half-open or unanswered
	halfOpenSrc    map[flowstate.Addr]struct{} // the sources of attempts, once there are two
	firstSrc       flowstate.Addr
	deferAccept    int // flows that show TCP_DEFER_ACCEPT
	resetTimes     []int64
	cookies        int
	// cookieFingerprints counts the cookies found by their timestamp or
	// options, not only by a missing retransmission.
	cookieFingerprints int
	// zeroOffered counts the flows whose notes offered
	// tcp_synack_retries=0 (synAckRetriesZero, as the listener was then).
	zeroOffered int
	series      seriesBuilder
	estab       establishedBuilder
}

type listenerKey struct {
	addr flowstate.Addr
	port uint16
}

// listeners aggregates finished flows per server address:port.
type listeners struct {
	origin int64 // the run's first packet: where the series' bins start
	m      map[listenerKey]*listenerAgg
	order  []*listenerAgg // in order of first flow, for deterministic output
}

func newListeners() *listeners { return &listeners{m: make(map[listenerKey]*listenerAgg)} }

func (ls *listeners) get(f *flowstate.Flow) *listenerAgg {
	s := &f.EP[flowstate.Server]
	k := listenerKey{s.Addr, s.Port}
	a := ls.m[k]
	if a == nil {
		// Maps are made when first needed: a capture can hold tens of
		// thousands of listeners seen for a packet or two.
		a = &listenerAgg{series: seriesBuilder{origin: ls.origin}, estab: establishedBuilder{origin: ls.origin}}
		a.l.Server = addrPort(s)
		ls.m[k] = a
		ls.order = append(ls.order, a)
	}
	return a
}

// vantage is the listener's vantage point so far: the most common among
// its flows with a complete handshake.
// Flows whose direction marks name an end but that had no complete
// handshake to time count for same-host once another flow proved the
// peer is on the same host (sameHostVotes).
func (a *listenerAgg) vantage() Vantage {
	votes := a.sameHostVotes()
	best, n := VantageUnknown, 0
	for _, v := range []Vantage{VantageServer, VantageClient, VantageSameHost, VantageBetween} {
		if votes[vantageIndex(v)] > n {
			best, n = v, votes[vantageIndex(v)]
		}
	}
	return best
}

// sameHostVotes returns the listener's vantage votes with the untimed
// client and server direction votes moved to same-host when some flow
// showed both packet direction and a peer within 200 µs (BasisBoth): the
// marks say which end captured, the timed flows that the other end is on
// the same host.
func (a *listenerAgg) sameHostVotes() [numVantages]int {
	votes := a.votes
	sh := vantageIndex(VantageSameHost)
	if a.dirVotes[sh] == 0 {
		return votes
	}
	for _, v := range []Vantage{VantageServer, VantageClient} {
		i := vantageIndex(v)
		votes[i] -= a.untimed[i]
		votes[sh] += a.untimed[i]
	}
	return votes
}

// add takes one finished flow.
func (a *listenerAgg) add(f *flowstate.Flow, v Vantage, basis VantageBasis) {
	l := &a.l
	l.Flows++
	if f.SynAckTime != 0 {
		a.answered++
	}
	if f.SynTime != 0 && !f.MidStream {
		a.syns++
		switch {
		case f.HandshakeAckTime != 0 || f.RepliesMissing:
			a.completed++
		case f.SynAckTime == 0 && f.EP[flowstate.Server].SentRST:
			a.refused++
		case f.SynAckTime == 0:
			a.unanswered++
			a.incomplete(f)
		case f.SynAckTime != 0:
			a.halfOpen++
			a.incomplete(f)
		}
	}
	if f.RepliesMissing {
		l.RepliesMissingFlows++
	}
	if f.Labels.Has(flowstate.LabelDeferAccept) {
		a.deferAccept++
	}
	if f.AckedUnseen > 0 {
		l.CaptureLossFlows++
	}
	if v != VantageUnknown {
		a.votes[vantageIndex(v)]++
		switch basis {
		case BasisDirectionOnly:
			a.untimed[vantageIndex(v)]++
			fallthrough
		case BasisDirection, BasisBoth:
			a.dirVotes[vantageIndex(v)]++
		case BasisMerged, BasisMergedEnd:
			a.mergedVotes[vantageIndex(v)]++
			if basis == BasisMergedEnd {
				a.endVotes[vantageIndex(v)]++
			}
		}
	}
	for _, lb := range f.Labels.List() {
		if l.LabelFlows == nil {
			l.LabelFlows = make(map[flowstate.Label]int)
		}
		l.LabelFlows[lb]++
	}
	if len(a.evidence) < maxEvidence {
		a.evidence = append(a.evidence, evidenceOf(f, v)...)
	}
	l.Counts.countFlow(f)
	if times, n := f.DroppedSYNs(); len(a.drops) < maxEvidence {
		for i, t := range times {
			w := int32(1)
			if i == len(times)-1 {
				w = int32(n - len(times) + 1) // the copies past those timed count like the last
			}
			a.drops = append(a.drops, dropInstant{t: t, n: w})
		}
	}
	if s := f.EP[flowstate.Server].RSTTime; s != 0 && f.SynAckTime != 0 && len(a.resetTimes) < maxEvidence &&
		(f.Labels.Has(flowstate.LabelAppReset) || f.RequestForgotten) {
		a.resetTimes = append(a.resetTimes, s)
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
	a.timer.see(f)
	if f.Labels.Has(flowstate.LabelRstOnOverflow) {
		a.rstOverflow++
	}
	if f.Labels.Has(flowstate.LabelSynAckAfterAck) {
		a.ackIgnored++
	}
	if f.Labels.Has(flowstate.LabelSynCookieSuspected) {
		a.cookies++
		if f.CookieEvidence() != "" {
			a.cookieFingerprints++
		}
	}
	if a.records.len() >= maxQueueRecords {
		a.recordsDropped = true
		return
	}
	// A flow not seen closing was open until the end of the capture.
	r := queueRecord{client: c.Addr, clientPort: c.Port, established: f.ServerEstablishTime, end: math.MaxInt64,
		synAck: f.SynAckTime, reqEnd: requestEnd(f),
		cookie: f.CookieEvidence() != "" || f.Labels.Has(flowstate.LabelSynCookieSuspected)}
	if r.synAck != 0 && r.reqEnd == 0 {
		r.reqEnd = r.synAck // a cookie, or no request kept
	}
	if f.Closed {
		r.end = f.LastTime
	}
	r.served = s.FirstDataTime
	if s.SentFIN && len(s.FINTimes) > 0 && (r.served == 0 || s.FINTimes[0] < r.served) {
		r.served = s.FINTimes[0]
	}
	if f.Labels.Has(flowstate.LabelAppReset) && (r.served == 0 || s.RSTTime < r.served) {
		r.served = s.RSTTime
	}
	// The handshake ACK met a full accept queue: ignored (the timer resent
	// the SYN-ACK, or a cookie's data went unanswered) or reset.
	if f.HandshakeAckTime != 0 && (f.Labels.Has(flowstate.LabelSynAckAfterAck) || f.Labels.Has(flowstate.LabelRstOnOverflow) ||
		f.Labels.Has(flowstate.LabelSynCookieSuspected) && f.Labels.Has(flowstate.LabelDataWhileSynRecv)) {
		r.overflow = f.HandshakeAckTime
		r.reset = f.Labels.Has(flowstate.LabelRstOnOverflow)
	}
	*a.records.add() = r
}

// incomplete counts a connection attempt that never completed its
// handshake, and its source, for the SYN flood note.
func (a *listenerAgg) incomplete(f *flowstate.Flow) {
	a.attempts++
	src := f.EP[flowstate.Client].Addr
	if a.halfOpenSrc == nil {
		// One source needs no map: a listener tried once or twice, as most
		// are, costs nothing more.
		if a.attempts == 1 || a.firstSrc == src {
			a.firstSrc = src
			return
		}
		a.halfOpenSrc = map[flowstate.Addr]struct{}{a.firstSrc: {}}
	}
	if len(a.halfOpenSrc) < maxFloodSources {
		a.halfOpenSrc[src] = struct{}{}
	}
}

// count adds a flow's events to the listener's series.
func (a *listenerAgg) count(f *flowstate.Flow) {
	a.estab.add(f)
	bump := func(t int64, k SeriesKind) {
		if t != 0 {
			a.series.add(t, k, 1)
		}
	}
	bump(f.SynTime, SeriesNewSYN)
	for _, fd := range f.Findings {
		switch fd.Label {
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

// finish computes what needs every flow: the vantage point, the verdict,
// episodes and queue capacity, the inferred settings.
func (a *listenerAgg) finish() *Listener {
	l := &a.l
	sort.Slice(l.ConnectTimes, func(i, j int) bool { return l.ConnectTimes[i] < l.ConnectTimes[j] })
	l.Vantage = a.vantage()
	total := 0
	for _, n := range a.votes {
		total += n
	}
	if total > 0 {
		l.VantageEvidence = a.vantageEvidence(l.Vantage, total)
	} else {
		l.VantageEvidence = "no complete handshake to judge by"
	}
	a.decide()
	a.notes()
	l.Series = a.series.series()
	a.series = seriesBuilder{}
	l.Established = a.estab.established()
	a.estab = establishedBuilder{}
	a.inferSysctls()
	return l
}

// notes names the listener-level patterns: a SYN flood, and a listener
// closed with connections queued (a service restart).
func (a *listenerAgg) notes() {
	l := &a.l
	if a.attempts >= minFloodHalfOpen && len(a.halfOpenSrc) >= minFloodSources && a.attempts >= 4*a.completed {
		src := fmt.Sprint(len(a.halfOpenSrc))
		if len(a.halfOpenSrc) >= maxFloodSources {
			src = "at least " + src
		}
		l.Notes = append(l.Notes, fmt.Sprintf("SYN flood: %d connection attempts that never completed a handshake (%d half-open: a SYN-ACK the client never acknowledged; %d never answered) from %s sources, against %d handshakes completed",
			a.attempts, a.halfOpen, a.attempts-a.halfOpen, src, a.completed))
	}
	slices.Sort(a.resetTimes)
	for i := 0; i < len(a.resetTimes); {
		j := i + 1
		for j < len(a.resetTimes) && a.resetTimes[j]-a.resetTimes[i] <= closeBurst {
			j++
		}
		if j-i >= 2 {
			l.Notes = append(l.Notes, fmt.Sprintf("listener closed (a restart?): at %s the server reset or forgot %d connections at once, as closing a listening socket resets what it has queued (inet_csk_listen_stop); requests it forgot then were not SYN-ACK retries running out", Clock(a.series.origin, a.resetTimes[i]), j-i))
		}
		i = j
	}
}

// numVantages is how many Vantage values there are; vantageIndex
// numbers them for the listener's votes.
const numVantages = 5

func vantageIndex(v Vantage) int {
	switch v {
	case VantageServer:
		return 1
	case VantageClient:
		return 2
	case VantageSameHost:
		return 3
	case VantageBetween:
		return 4
	}
	return 0
}

// vantageEvidence says what the listener's vantage v rests on: the
// capture's packet direction marks, handshake timing, or both, in how
// many of the total flows that had either.
func (a *listenerAgg) vantageEvidence(v Vantage, total int) string {
	i := vantageIndex(v)
	votes, dirVotes := a.sameHostVotes(), a.dirVotes
	if votes != a.votes {
		for _, u := range []Vantage{VantageServer, VantageClient} {
			dirVotes[i] += a.untimed[vantageIndex(u)]
		}
	}
	byDir, byTiming := dirVotes[i], votes[i]-dirVotes[i]
	if m, e := a.mergedVotes[i], a.endVotes[i]; e > 0 {
		return fmt.Sprintf("%d of %d flows take the server's vantage: %s", votes[i], total, countedBases(
			basis{e, "seen at several capture points at the server's end of them (the point that recorded the flow's server packets first and the client's last, named server as captures[].vantage names it; its handshake timing has both legs take time, as a shaper on the server's interface makes them, or a point on the path short of the server)"},
			basis{m - e, "by the handshake at the capture point nearest the server"},
			basis{byDir, "by packet direction"},
			basis{byTiming - m, "by handshake timing"}))
	} else if m > 0 {
		return fmt.Sprintf("%d of %d flows look like %s: %s", votes[i], total, vantageWhy(v), countedBases(
			basis{m, "seen at several capture points, by the handshake at the one nearest the server (its timing weak on a shaped link)"},
			basis{byDir, "by packet direction"},
			basis{byTiming - m, "by handshake timing"}))
	}
	switch {
	case byTiming == 0:
		return fmt.Sprintf("packet direction: in %d of %d flows the capture marks %s", byDir, total, directionWhy(v))
	case byDir == 0:
		return fmt.Sprintf("handshake timing, weak on a shaped link: %d of %d complete handshakes look like %s", byTiming, total, vantageWhy(v))
	}
	return fmt.Sprintf("%d of %d flows look like %s: %d by packet direction, %d by handshake timing (weak on a shaped link)", votes[i], total, vantageWhy(v), byDir, byTiming)
}

// basis is how many flows' vantage rests on one kind of evidence.
type basis struct {
	n   int
	why string
}

// countedBases lists the kinds of evidence that some flows rest on, "3
// by packet direction, 1 by handshake timing", leaving out those none do.
func countedBases(bs ...basis) string {
	var parts []string
	for _, b := range bs {
		if b.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", b.n, b.why))
		}
	}
	return strings.Join(parts, ", ")
}

// directionWhy says what the direction marks of a vantage are.
func directionWhy(v Vantage) string {
	switch v {
	case VantageServer:
		return "the server's packets outgoing and the client's incoming: a capture on the server"
	case VantageClient:
		return "the client's packets outgoing and the server's incoming: a capture on the client"
	case VantageSameHost:
		return "one end's packets outgoing (or both ends' out and in again on one interface, loopback) and the other end answering within 200 µs: client and server on one host"
	case VantageBetween:
		return "packets passing through (both incoming and outgoing, one direction for both sides, or to another host): a router, bridge or container host between client and server"
	}
	return "nothing"
}

// plural writes a count and a noun, plural unless the count is one.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
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
// keeping it, and a listener with few flows holds a small one (two
// records first: a capture of 60,000 listeners seen twice each spent
// 83 MB on chunks of 16).
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
		size := 2
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
