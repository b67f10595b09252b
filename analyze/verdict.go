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

// This file decides what kind of endpoint a listener was and whether, and
// which of, its queues overflowed: each verdict, episode and capacity
// rests on evidence that rules out the look-alikes (field notes, section
// 5), and says what it rests on and what one capture cannot rule out.

// Verdict is what kind of endpoint a listener was, judged from the whole
// capture.
type Verdict string

// The verdicts, in the order they win when several apply.
const (
	// VerdictOverflowing: positive evidence that a listen queue overflowed
	// (Listener.Episodes).
	VerdictOverflowing Verdict = "overflowing"
	// VerdictServing: handshakes completed, no overflow evidence.
	VerdictServing Verdict = "serving"
	// VerdictRefused: SYNs answered by RST: nothing listening.
	VerdictRefused Verdict = "refused"
	// VerdictSilent: SYNs and no SYN-ACK to anyone, ever: the server is
	// down, blackholed or filtered, or the capture misses its direction.
	VerdictSilent Verdict = "silent"
)

// Queue names a listen queue.
type Queue string

// The two listen queues of a Linux listener.
const (
	QueueAccept Queue = "accept" // established connections waiting for accept()
	QueueSYN    Queue = "syn"    // half-open requests in SYN-RECEIVED
)

// Confidence says how far an episode's evidence goes.
type Confidence string

// Confidences.
const (
	// ConfidenceProven: the capture shows the server itself doing it (a
	// capture at the server, or a reset in the kernel's overflow format).
	ConfidenceProven Confidence = "proven"
	// ConfidenceLikely: the evidence fits an overflow best, and the
	// episode's Alternatives say what else the capture cannot rule out.
	ConfidenceLikely Confidence = "likely"
)

// Cause is one kind of overflow evidence, named after what the kernel does
// (and counts: see the comment of each).
type Cause uint8

// The causes.
const (
	// CauseSynDropped: a SYN got no SYN-ACK (tcp_conn_request: a full
	// accept queue counts ListenOverflows and ListenDrops; a full SYN queue
	// with cookies off, TCPReqQFullDrop and ListenDrops).
	CauseSynDropped Cause = iota
	// CauseAckIgnored: a handshake ACK (or a cookie ACK) met a full accept
	// queue and was dropped (tcp_check_req -> syn_recv_sock: ListenOverflows).
	CauseAckIgnored
	// CauseDataIgnored: data that met a full accept queue (ListenOverflows).
	CauseDataIgnored
	// CauseOverflowReset: the overflow reset of tcp_abort_on_overflow=1
	// (embryonic_reset, EmbryonicRsts).
	CauseOverflowReset
	// CauseGhost: a connection queued only by the client's FIN.
	CauseGhost
	// CauseCookie: a SYN cookie was sent (SyncookiesSent).
	CauseCookie
	NumCauses
)

// CauseNames are the causes' stable IDs, in Cause order.
var CauseNames = [NumCauses]string{"syn-dropped", "ack-ignored", "data-ignored", "overflow-reset", "ghost-connection", "syn-cookie"}

// Episode is one stretch of overflow evidence for one queue.
type Episode struct {
	Start, End int64 // nanoseconds since the Unix epoch
	Evidence   int   // pieces of evidence in it
	Queue      Queue
	Confidence Confidence
	// Alternatives are what the capture cannot rule out, in words.
	Alternatives []string
	// Causes counts the evidence by kind.
	Causes [NumCauses]int
}

// EpisodeGap separates overflow episodes.
const EpisodeGap = 10e9

// alternative is one thing a piece of evidence cannot rule out.
type alternative uint16

const (
	altAckLost alternative = 1 << iota
	altSynLost
	altDefer1s
	altCookiesForced
	altForgedReset
	altPreQueued
	altSynQueueFirst
	altSynAckRetriesZero
	altAckAfterTap
)

var alternativeText = []struct {
	a    alternative
	text string
}{
	{altAckLost, "the client's ACKs or data lost between the capture point and the server (a capture away from the server cannot see them arrive)"},
	{altAckAfterTap, "the client's ACKs or data dropped after the capture recorded them: by a filter on the server host after the capture's tap (nftables), or on the way on to the server, since these flows' own handshake timing puts the capture away from it (both legs take time: a shaper on the server's interface, or a capture on the path), though the listener's other flows put it at the server's host"},
	{altSynLost, "SYNs lost on the path before the server"},
	{altDefer1s, "a listener with a 1 s TCP_DEFER_ACCEPT (the server acknowledged the first data at once)"},
	{altCookiesForced, "tcp_syncookies=2 (every SYN-ACK a cookie, whether the SYN queue was full or not)"},
	{altForgedReset, "a middlebox or firewall forging resets right after the handshake"},
	{altPreQueued, "a full accept queue holding connections queued before the capture began"},
	{altSynAckRetriesZero, "tcp_synack_retries=0 (some of these cookies show only a SYN-ACK never retransmitted, as a request timer that never retries gives too)"},
	{altSynQueueFirst, "a SYN queue at its bound as well: Linux 4.4 and later bound it by the backlog and check it first (TCPReqQFullDrop with syncookies off), older kernels hold at least 8 requests"},
}

// evidence is one piece of overflow evidence.
type evidence struct {
	t      int64
	queue  Queue
	cause  Cause
	proven bool
	// atServer: the flow's own timing places the capture at the server
	// (or on the same host); unknown flows take the listener's vantage.
	vantage Vantage
	alts    alternative
}

// evidenceOf lists what one finished flow shows.
func evidenceOf(f *flowstate.Flow, v Vantage) []evidence {
	var out []evidence
	add := func(t int64, q Queue, c Cause, proven bool, alts alternative) {
		if t != 0 {
			out = append(out, evidence{t: t, queue: q, cause: c, proven: proven, vantage: v, alts: alts})
		}
	}
	ackAlts := altAckLost
	if f.FirstDataPrompt {
		ackAlts |= altDefer1s
	}
	cookie := f.Labels.Has(flowstate.LabelSynCookieSuspected)
	if f.Labels.Has(flowstate.LabelSynAckAfterAck) || cookie && f.Labels.Has(flowstate.LabelDataWhileSynRecv) {
		add(f.HandshakeAckTime, QueueAccept, CauseAckIgnored, false, ackAlts)
	}
	for _, fd := range f.Findings {
		switch fd.Label {
		case flowstate.LabelDataWhileSynRecv:
			add(fd.Time, QueueAccept, CauseDataIgnored, false, altAckLost)
		case flowstate.LabelGhostConnection:
			add(fd.Time, QueueAccept, CauseGhost, false, altAckLost)
		case flowstate.LabelRstOnOverflow:
			// The kernel's overflow reset has its own format (no ACK flag,
			// seq = the ACK's ack number) and came while the request lived.
			add(fd.Time, QueueAccept, CauseOverflowReset, true, altForgedReset)
		case flowstate.LabelSynCookieSuspected:
			// A cookie: the SYN queue was full, unless cookies are forced;
			// one found only by its missing retransmission may be no
			// cookie at all (tcp_synack_retries=0, until the listener's
			// timer is shown to retry: decide).
			fp := f.CookieEvidence() != ""
			alts := altCookiesForced
			if !fp {
				alts |= altSynAckRetriesZero
			}
			add(fd.Time, QueueSYN, CauseCookie, fp, alts)
		}
	}
	return out
}

// dropInstant is a SYN that got no SYN-ACK; n is how many copies it
// stands for (those past the timed ones count like the last).
type dropInstant struct {
	t int64
	n int32
}

// queueCounts are the occupancies the wire implies at one instant.
type queueCounts struct {
	pending int // requests in SYN-RECEIVED (SYN-ACK sent, not yet queued)
	held    int // connections queued and not shown accepted
}

// occupancy answers pending and held counts at many instants with one
// sweep over the records' intervals.
type occupancy struct {
	pendStart, pendEnd, heldStart, heldEnd []int64
}

func newOccupancy(records *chunked[queueRecord]) *occupancy {
	o := &occupancy{}
	records.each(func(r *queueRecord) {
		if r.synAck != 0 && !r.cookie && r.reqEnd > r.synAck {
			o.pendStart = append(o.pendStart, r.synAck)
			o.pendEnd = append(o.pendEnd, r.reqEnd)
		}
		if end := r.heldUntil(); r.established != 0 && end > r.established {
			o.heldStart = append(o.heldStart, r.established)
			o.heldEnd = append(o.heldEnd, end)
		}
	})
	for _, s := range [][]int64{o.pendStart, o.pendEnd, o.heldStart, o.heldEnd} {
		slices.Sort(s)
	}
	return o
}

// Peak is the most a queue held at once, and when it first did.
type Peak struct {
	N int
	T int64 // nanoseconds since the Unix epoch; 0 when N is 0
}

// peaks finds each queue's peak occupancy: the SYN queue's pending
// requests and the accept queue's connections queued and not shown
// accepted (an upper bound: silent accepts look queued).
func (o *occupancy) peaks() (syn, accept Peak) {
	peak := func(starts, ends []int64) Peak {
		var p Peak
		n, j := 0, 0
		for _, s := range starts {
			for j < len(ends) && ends[j] <= s {
				j++
				n--
			}
			n++
			if n > p.N {
				p = Peak{N: n, T: s}
			}
		}
		return p
	}
	return peak(o.pendStart, o.pendEnd), peak(o.heldStart, o.heldEnd)
}

// QueueLevel is both queues' occupancy over one stretch of time: from T
// to the next level's T, the most each held (Max) and what each held at
// the end (End). SYN counts the requests pending in SYN-RECEIVED; Accept
// the connections queued and not shown accepted (an upper bound: silent
// accepts look queued).
type QueueLevel struct {
	T                    int64 // nanoseconds since the Unix epoch
	SYNMax, SYNEnd       int32
	AcceptMax, AcceptEnd int32
}

// QueueLevels is a listener's queue occupancy over time: a level per
// change while there are at most MaxSeriesBins changes, else per stretch
// of Res (one of SeriesResolutions), so that it stays bounded.
type QueueLevels struct {
	Res    int64 // 0: one level per change
	Levels []QueueLevel
}

// levels sweeps both queues' intervals into their levels over time.
func (o *occupancy) levels() QueueLevels {
	type change struct {
		t          int64
		dSYN, dAcc int32
	}
	var ch []change
	for _, t := range o.pendStart {
		ch = append(ch, change{t: t, dSYN: 1})
	}
	for _, t := range o.pendEnd {
		if t != noEnd {
			ch = append(ch, change{t: t, dSYN: -1})
		}
	}
	for _, t := range o.heldStart {
		ch = append(ch, change{t: t, dAcc: 1})
	}
	for _, t := range o.heldEnd {
		if t != noEnd {
			ch = append(ch, change{t: t, dAcc: -1})
		}
	}
	slices.SortStableFunc(ch, func(a, b change) int { return cmpInt64(a.t, b.t) })
	// One level per distinct time.
	var lv []QueueLevel
	var syn, acc int32
	for i := 0; i < len(ch); {
		t := ch[i].t
		smax, amax := syn, acc
		for ; i < len(ch) && ch[i].t == t; i++ {
			syn += ch[i].dSYN
			acc += ch[i].dAcc
			smax, amax = max(smax, syn), max(amax, acc)
		}
		lv = append(lv, QueueLevel{T: t, SYNMax: smax, SYNEnd: syn, AcceptMax: amax, AcceptEnd: acc})
	}
	q := QueueLevels{Levels: lv}
	for _, r := range SeriesResolutions {
		if len(q.Levels) <= MaxSeriesBins {
			break
		}
		q = coarsenLevels(lv, r)
	}
	return q
}

// coarsenLevels merges levels into stretches of r nanoseconds (aligned at
// the Unix epoch): the largest of each, and the last end.
func coarsenLevels(lv []QueueLevel, r int64) QueueLevels {
	q := QueueLevels{Res: r}
	for _, l := range lv {
		t := floorDiv(l.T, r) * r
		if n := len(q.Levels); n > 0 && q.Levels[n-1].T == t {
			p := &q.Levels[n-1]
			p.SYNMax, p.AcceptMax = max(p.SYNMax, l.SYNMax), max(p.AcceptMax, l.AcceptMax)
			p.SYNEnd, p.AcceptEnd = l.SYNEnd, l.AcceptEnd
			continue
		}
		l.T = t
		q.Levels = append(q.Levels, l)
	}
	return q
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// at returns the counts just before time t: intervals [start, end) that
// contain t.
func (o *occupancy) at(t int64) queueCounts {
	count := func(starts, ends []int64) int {
		s, _ := slices.BinarySearch(starts, t) // starts < t
		e, _ := slices.BinarySearch(ends, t+1) // ends <= t
		return s - e
	}
	return queueCounts{pending: count(o.pendStart, o.pendEnd), held: count(o.heldStart, o.heldEnd)}
}

// heldUntil is when the connection stopped counting as queued: the
// application showed it accepted it (it sent data or closed), or the
// connection closed.
func (r *queueRecord) heldUntil() int64 {
	end := r.end
	if r.served != 0 && r.served < end {
		end = r.served
	}
	return end
}

// atServer reports whether the vantage point sees the server's own
// packets as they leave: a capture at the server or on the same host.
func atServer(v Vantage) bool { return v == VantageServer || v == VantageSameHost }

// serverSawEvidence is the rule that makes a piece of overflow evidence
// proven: the capture saw it at the server. Evidence whose flow's vantage
// is server or same-host (atServer) was recorded where the server's own
// packets leave and its peers' arrive, so the handshake ACKs and data the
// server then ignored reached it, and its SYN-ACK retransmissions are its
// own: neither "ACKs lost before the server" (altAckLost) nor "SYNs lost on
// the path" (altSynLost) is left, and the evidence is proven. In a merged
// run this covers a flow seen at the server's end of several capture
// points (mergedVantage, BasisMergedEnd): the evidence packets reached
// that capture, named server in captures[].vantage. A cookie stays as it
// was (what it rests on is the SYN-ACK's form, not where it was seen).
//
// A flow whose own timing puts the capture away from the server (both
// handshake legs take time) while the listener's vantage, from its other
// flows, is server or same-host keeps its confidence, but its alternative
// is worded for what remains (altAckAfterTap): a drop on the server host
// after the capture's tap (nftables' input hook runs after tcpdump's
// packet socket sees the packet), or on the way on to the server when the
// timing is right after all (a capture on the path); not "a capture away
// from the server" as if the listener had not shown one at its host.
//
// Not refused here: a filter on the server host that drops the ACKs
// after the capture's tap looks the same on the wire; the kernel's
// ListenOverflows (--nstat) tells them apart.
// Tests (real lab captures): TestLabMergedVantages (merged pairs, shaped
// servers proven) and TestAtServerAlternatives (single captures at the
// server's host).
func serverSawEvidence(e evidence, listener Vantage) (proven bool, alts alternative) {
	switch {
	case e.cause == CauseCookie:
		return e.proven, e.alts
	case atServer(e.vantage):
		return true, e.alts &^ (altAckLost | altSynLost)
	case atServer(listener) && e.alts&altAckLost != 0:
		return e.proven, e.alts&^altAckLost | altAckAfterTap
	}
	return e.proven, e.alts
}

// decide sets the listener's verdict, episodes and capacity from
// everything the aggregate gathered. It runs once, at the end.
func (a *listenerAgg) decide() {
	l := &a.l
	occ := newOccupancy(&a.records)
	ev := a.evidence
	for i := range ev {
		if ev[i].vantage == VantageUnknown {
			ev[i].vantage = l.Vantage
		}
		ev[i].proven, ev[i].alts = serverSawEvidence(ev[i], l.Vantage)
	}
	accept := make([]int64, 0, len(ev))
	for _, e := range ev {
		if e.queue == QueueAccept {
			accept = append(accept, e.t)
		}
	}
	slices.Sort(accept)
	near := func(t int64) bool { // other accept-queue evidence within an episode gap
		i, _ := slices.BinarySearch(accept, t-EpisodeGap)
		return i < len(accept) && accept[i] <= t+EpisodeGap
	}

	// Moments the accept queue was certainly full: a handshake ACK ignored
	// or reset with connections queued, and, at a capture on the server, a
	// SYN dropped while fewer requests were pending than connections
	// queued (so the SYN queue, bounded by the backlog = capacity - 1, had
	// room).
	server := atServer(l.Vantage)
	var capInstants []capInstant
	a.records.each(func(r *queueRecord) {
		if r.overflow == 0 {
			return
		}
		if c := occ.at(r.overflow); c.held > 0 {
			verb := "ignored"
			if r.reset {
				verb = "reset"
			}
			capInstants = append(capInstants, capInstant{t: r.overflow, held: c.held, why: "the server " + verb + " the handshake ACK of " + r.addrPort().String()})
		}
	})
	if a.answered > 0 && server {
		for _, d := range a.drops {
			if c := occ.at(d.t); c.held >= 1 && c.pending < c.held {
				capInstants = append(capInstants, capInstant{t: d.t, held: c.held, why: "a SYN was dropped"})
			}
		}
	}
	capacity := 0
	for _, c := range capInstants {
		if capacity == 0 || c.held < capacity {
			capacity = c.held
		}
	}
	// Dropped SYNs: evidence only from a listener that answered others,
	// and only with the queue state that explains the drop
	// (tcp_conn_request checks the SYN queue, then the accept queue).
	synFull := 0 // the most requests pending at a SYN dropped on the SYN queue
	// With SYN cookies on, as inferred for this listener (sysctl.go, the
	// one place that decides it), a full SYN queue answers a SYN with a
	// cookie instead of dropping it (tcp_conn_request: want_cookie from
	// tcp_syn_flood_action), so a SYN dropped while the accept queue is
	// full is the accept queue's alone (sk_acceptq_is_full, ListenOverflows):
	// "a SYN queue at its bound" is no alternative then. Cookies found
	// only by a missing retransmission, at a listener whose timer is not
	// shown to retry, do not prove them on (tcp_synack_retries=0).
	cookies, cookiesOn := a.syncookies()
	cookiesOn = cookiesOn && !cookies.doubt
	if a.answered > 0 {
		for _, d := range a.drops {
			c := occ.at(d.t)
			var e *evidence
			switch {
			case !server:
				if near(d.t) {
					e = &evidence{queue: QueueAccept, alts: altSynLost}
				}
			case capacity > 0 && c.held >= capacity:
				e = &evidence{queue: QueueAccept, proven: true}
				if c.pending >= capacity-1 && !cookiesOn {
					e.proven, e.alts = false, altSynQueueFirst
				}
			case capacity == 0 && c.held >= 1 && c.pending < c.held:
				e = &evidence{queue: QueueAccept, proven: true}
			case c.pending >= 1 && c.pending >= capacity-1:
				e = &evidence{queue: QueueSYN, alts: altPreQueued}
			}
			if e == nil {
				continue
			}
			e.t, e.cause, e.vantage = d.t, CauseSynDropped, l.Vantage
			ev = append(ev, *e)
			a.series.add(d.t, SeriesSynDropped, d.n)
			if e.queue == QueueAccept {
				l.Counts[CounterListenOverflows] += int64(d.n)
			} else {
				l.Counts[CounterReqQFullDrop] += int64(d.n)
				synFull = max(synFull, c.pending)
			}
		}
	}
	l.Counts[CounterListenDrops] = l.Counts[CounterListenOverflows] + l.Counts[CounterReqQFullDrop]
	if synFull > 0 && capacity > 0 {
		// inet_csk_reqsk_queue_is_full: the SYN queue is full when the
		// pending requests exceed the backlog on Linux 6.18 (">"), reach it
		// on older kernels (">=").
		switch synFull - (capacity - 1) {
		case 1:
			l.Notes = append(l.Notes, fmt.Sprintf("the SYN queue dropped SYNs with %d requests pending, one more than the backlog (%d): it fits a current kernel (Linux 6.18 counts the queue full above the backlog)", synFull, capacity-1))
		case 0:
			l.Notes = append(l.Notes, fmt.Sprintf("the SYN queue dropped SYNs with %d requests pending, as many as the backlog: it fits an older kernel, full at the backlog", synFull))
		}
	}
	a.evidence = ev
	if _, offered := synAckRetriesZero(inferSynAckRetries(a.timer)); !offered {
		for i := range ev {
			ev[i].alts &^= altSynAckRetriesZero
		}
	}
	l.Episodes = episodesOf(ev)
	l.PeakSYNQueue, l.PeakAcceptQueue = occ.peaks()
	l.Queues = occ.levels()
	a.estimateCapacity(capInstants)
	a.verdict()
}

// episodesOf groups evidence into episodes, per queue: pieces less than
// EpisodeGap apart belong together.
func episodesOf(ev []evidence) []Episode {
	sort.Slice(ev, func(i, j int) bool {
		if ev[i].queue != ev[j].queue {
			return ev[i].queue < ev[j].queue
		}
		return ev[i].t < ev[j].t
	})
	var out []Episode
	var alts []alternative
	for _, e := range ev {
		n := len(out)
		if n == 0 || out[n-1].Queue != e.queue || e.t-out[n-1].End >= EpisodeGap {
			out = append(out, Episode{Start: e.t, End: e.t, Queue: e.queue, Confidence: ConfidenceLikely})
			alts = append(alts, 0)
			n++
		}
		ep := &out[n-1]
		ep.End = e.t
		ep.Evidence++
		ep.Causes[e.cause]++
		if e.proven {
			ep.Confidence = ConfidenceProven
		}
		alts[n-1] |= e.alts
	}
	for i := range out {
		if out[i].Confidence == ConfidenceProven {
			// Proof at the server leaves only what no capture can see.
			alts[i] &= altForgedReset | altCookiesForced | altDefer1s | altPreQueued | altSynQueueFirst
		}
		for _, at := range alternativeText {
			if alts[i]&at.a != 0 {
				out[i].Alternatives = append(out[i].Alternatives, at.text)
			}
		}
		if out[i].Alternatives == nil {
			out[i].Alternatives = []string{}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out
}

// capInstant is a moment the accept queue was full, with the connections
// the wire shows queued then.
type capInstant struct {
	t    int64
	held int
	why  string
}

// estimateCapacity reads the accept queue's capacity (backlog + 1:
// sk_acceptq_is_full is sk_ack_backlog > sk_max_ack_backlog) off the
// moments the queue was full: a SYN dropped on it while the SYN queue was
// below its bound, or a handshake ACK ignored. At each, the connections
// established at the server, still open and not shown accepted (the
// application sent nothing and did not close) are counted; each count is
// an upper bound (an application that accepted silently looks queued),
// so the least is reported, with the spread when they differ.
func (a *listenerAgg) estimateCapacity(inst []capInstant) {
	l := &a.l
	switch {
	case a.recordsDropped:
		l.CapacityEvidence = "too many flows to keep the per-flow records the estimate needs, so " + queueNoneWording
		return
	case len(inst) == 0 && l.RepliesMissingFlows > 0 && l.RepliesMissingFlows*2 >= l.Flows:
		l.CapacityEvidence = "the capture holds the clients' direction only, so " + queueNoneWording
		return
	case len(inst) == 0:
		l.CapacityEvidence = "no SYN was dropped on a full accept queue and no handshake ACK was ignored with connections queued, so " + queueNoneWording
		return
	}
	best := inst[0]
	hi := 0
	for _, c := range inst {
		if c.held < best.held || c.held == best.held && c.t < best.t {
			best = c
		}
		hi = max(hi, c.held)
	}
	var held []netip.AddrPort
	a.records.each(func(r *queueRecord) {
		if r.established != 0 && r.established < best.t && best.t < r.heldUntil() {
			held = append(held, r.addrPort())
		}
	})
	sort.Slice(held, func(i, j int) bool { return held[i].Compare(held[j]) < 0 })
	ex := make([]string, 0, maxHeldExamples)
	for _, h := range held[:min(len(held), maxHeldExamples)] {
		ex = append(ex, h.String())
	}
	more := ""
	if len(held) > maxHeldExamples {
		more = fmt.Sprintf(" and %d more", len(held)-maxHeldExamples)
	}
	l.AcceptQueueCapacity = best.held
	l.BacklogEstimate = best.held - 1
	spread := ""
	if hi != best.held {
		l.AcceptQueueCapacityRange = [2]int{best.held, hi}
		spread = fmt.Sprintf("; at the other %d moments it was full the capture shows up to %d queued, which counts connections the application had already accepted silently", len(inst)-1, hi)
	}
	l.CapacityEvidence = fmt.Sprintf("at %s %s while %d connections (%s%s) were queued: established, still open, not answered by the application; the queue holds the listen backlog + 1, so at most %d (backlog %d), assuming none was queued before the capture began and the application had accepted none of them silently%s",
		Clock(a.series.origin, best.t), best.why, len(held), strings.Join(ex, ", "), more, best.held, best.held-1, spread)
}

// verdict decides what kind of endpoint the listener was. Every verdict
// that applies is listed with its evidence; the first in the order
// overflowing, serving, refused, silent wins.
func (a *listenerAgg) verdict() {
	l := &a.l
	var ev []string
	var win Verdict
	pick := func(v Verdict, why string) {
		if win == "" {
			win = v
		}
		ev = append(ev, string(v)+": "+why)
	}
	if len(l.Episodes) > 0 {
		var parts []string
		for _, q := range []Queue{QueueAccept, QueueSYN} {
			var n [NumCauses]int
			eps := 0
			for _, e := range l.Episodes {
				if e.Queue == q {
					eps++
					for c := range n {
						n[c] += e.Causes[c]
					}
				}
			}
			if eps > 0 {
				parts = append(parts, fmt.Sprintf("%s queue (%s)", q, causeList(n)))
			}
		}
		pick(VerdictOverflowing, strings.Join(parts, "; "))
	}
	if a.completed > 0 {
		pick(VerdictServing, fmt.Sprintf("%d of %d connections completed the handshake", a.completed, l.Flows))
	}
	if a.refused > 0 {
		pick(VerdictRefused, fmt.Sprintf("%d connections' SYNs were answered by RST (nothing listening)", a.refused))
	}
	if a.answered == 0 && a.unanswered > 0 && a.completed == 0 {
		pick(VerdictSilent, fmt.Sprintf("%s sent SYNs that got no answer at all, and the server answered no one with a SYN-ACK: it is down, blackholed or filtered, or the capture misses its direction", plural(a.unanswered, "connection")))
	}
	if win == "" {
		win = VerdictServing
		ev = append(ev, "serving: only connections caught mid-stream")
	}
	l.Verdict, l.VerdictEvidence = win, ev
}

// causeList says what an episode's evidence was, in words.
func causeList(n [NumCauses]int) string {
	words := [NumCauses][2]string{
		{"SYN dropped", "SYNs dropped"},
		{"handshake ACK ignored", "handshake ACKs ignored"},
		{"data segment ignored", "data segments ignored"},
		{"overflow reset", "overflow resets"},
		{"ghost connection", "ghost connections"},
		{"SYN cookie sent", "SYN cookies sent"},
	}
	var parts []string
	for c, k := range n {
		switch {
		case k == 1:
			parts = append(parts, "1 "+words[c][0])
		case k > 1:
			parts = append(parts, fmt.Sprintf("%d %s", k, words[c][1]))
		}
	}
	return strings.Join(parts, ", ")
}

// requestEnd is when a flow's request left the SYN queue, for the
// occupancy: its end, or the flow's last packet when it was still held.
func requestEnd(f *flowstate.Flow) int64 {
	if f.RequestEnd != 0 {
		return f.RequestEnd
	}
	if f.SynAckTime == 0 {
		return 0
	}
	return f.LastTime
}

// noEnd marks an interval still open at the end of the capture.
const noEnd = math.MaxInt64
