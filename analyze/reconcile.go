package analyze

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// KernelEvidence is what the kernel said beside the capture: a counter
// snapshot, or the difference of two (nstat, /proc/net/netstat, netstat
// -s), and ss's listening sockets. Either may be nil.
type KernelEvidence struct {
	Counters *KernelStats
	SS       *SSListing
	// Filtered says the run kept only some of the capture's packets
	// (--port, --host): its counts cover that part only.
	Filtered bool
}

// Reconciliation sets the kernel's evidence beside what the capture
// shows: per counter the two values and what explains a difference, and
// per listener whether ss's backlog agrees with the measured capacity.
type Reconciliation struct {
	// Counters has a row per counter of CounterNames that the counter file
	// holds (zeros included), in Counter order; Missing names those it
	// does not hold. Both are empty without a counter file.
	Counters []CounterRow
	Missing  []string
	// Stats is the counter file's content (nil without one); SS the ss
	// file's (nil without one).
	Stats *KernelStats
	SS    *SSListing
	// Listeners has a row per listener of the run, in the run's order,
	// when an ss file was given; Unmatched counts the other LISTEN
	// sockets ss shows (by local address), which the capture has no
	// traffic for.
	Listeners []SSRow
	Unmatched int
	// Origin is the run's first packet: times of day on another day
	// carry their date (Clock).
	Origin int64
}

// CounterRow is one counter: the kernel's value, what the capture
// accounts for (the sum of its listeners' Counts), and in words what
// explains the difference.
type CounterRow struct {
	Counter Counter
	Kernel  int64
	// KernelImplied: the file leaves zero counters out (netstat -s) and
	// printed none for this one, so it is read as 0.
	KernelImplied bool
	Capture       int64
	// Listeners are the listeners whose packets account for some of
	// Capture, in the run's order.
	Listeners []ListenerCount
	Note      string
}

// ListenerCount is one listener's share of a counter.
type ListenerCount struct {
	Server netip.AddrPort
	N      int64
}

// SSAgreement is how ss's Send-Q compares with the capacity the capture
// measured.
type SSAgreement string

// The comparisons.
const (
	SSAgree       SSAgreement = "agree"        // Send-Q + 1 is the measured capacity
	SSDisagree    SSAgreement = "disagree"     // they differ; the note says what can explain it
	SSNotMeasured SSAgreement = "not measured" // the capture does not show the queue full
	SSSeveral     SSAgreement = "several sockets"
	SSChanged     SSAgreement = "changed" // Send-Q differs between snapshots
	SSNoSocket    SSAgreement = "no socket"
)

// SSRow compares one listener of the run with the ss sockets a
// connection to it would reach: the exact address and port, else a
// wildcard of that port (the kernel prefers the exact one:
// compute_score in inet_hashtables.c).
type SSRow struct {
	Server netip.AddrPort
	// Sockets are the matching sockets of the last snapshot that had any;
	// Snapshots counts the snapshots that had any.
	Sockets   []SSSocket
	Snapshots int
	// SendQ is the least and the most Send-Q seen.
	SendQ [2]int64
	// Capacity and Backlog are the listener's AcceptQueueCapacity and
	// BacklogEstimate (0: not measured).
	Capacity, Backlog int
	// RecvQPeak is the most connections ss saw waiting, first at
	// RecvQPeakTime (0 when the file has no times) on RecvQPeakLine;
	// RecvQFull says the queue was full then (Recv-Q above Send-Q:
	// sk_acceptq_is_full).
	RecvQPeak     int64
	RecvQPeakTime int64
	RecvQPeakLine int
	RecvQFull     bool
	// CapturePeak is the listener's PeakAcceptQueue, for comparison.
	CapturePeak Peak
	Agreement   SSAgreement
	Note        string
}

// Reconcile compares the evidence with the run's summary. It only reads
// both.
func (e *KernelEvidence) Reconcile(s *Summary) *Reconciliation {
	r := &Reconciliation{Stats: e.Counters, SS: e.SS, Origin: s.Origin}
	if e.Counters != nil {
		ctx := newReconcileContext(e, s)
		for c := Counter(0); c < NumCounters; c++ {
			k, ok := e.Counters.Values[c.String()]
			if !ok {
				r.Missing = append(r.Missing, c.String())
				continue
			}
			row := CounterRow{Counter: c, Kernel: k, KernelImplied: e.Counters.Implied[c.String()]}
			for _, l := range s.Listeners {
				if n := l.Counts[c]; n != 0 {
					row.Capture += n
					row.Listeners = append(row.Listeners, ListenerCount{l.Server, n})
				}
			}
			row.Note = ctx.note(&row)
			r.Counters = append(r.Counters, row)
		}
	}
	if e.SS != nil {
		r.Listeners, r.Unmatched = compareSS(e.SS, s)
	}
	return r
}

// reconcileContext holds the facts of the run the notes draw on.
type reconcileContext struct {
	e              *KernelEvidence
	s              *Summary
	diff           bool
	loss           string   // the capture's own losses, in words; "" for none
	away           []string // vantages of listeners not at the server
	sameHostSYNRtx []string // listeners whose clients, on the server's host, retransmitted SYNs
}

func newReconcileContext(e *KernelEvidence, s *Summary) *reconcileContext {
	ctx := &reconcileContext{e: e, s: s, diff: e.Counters.Difference()}
	var drops uint64
	for _, c := range s.Captures {
		if c.InterfaceDropsKnown {
			drops += c.InterfaceDrops
		}
	}
	var loss []string
	if s.CaptureLossFlows > 0 {
		loss = append(loss, fmt.Sprintf("in %d flows a side acknowledged data the capture never saw", s.CaptureLossFlows))
	}
	if drops > 0 {
		loss = append(loss, fmt.Sprintf("the capturing interface dropped %d packets", drops))
	}
	ctx.loss = strings.Join(loss, ", ")
	for _, l := range s.Listeners {
		switch l.Vantage {
		case VantageServer, VantageSameHost, VantageUnknown:
		default:
			if !slices.Contains(ctx.away, string(l.Vantage)) {
				ctx.away = append(ctx.away, string(l.Vantage))
			}
		}
		if l.Vantage == VantageSameHost && len(l.SynRetransmitSchedule) > 0 {
			ctx.sameHostSYNRtx = append(ctx.sameHostSYNRtx, l.Server.String())
		}
	}
	return ctx
}

// note explains one row in plain words: equal, or which explanations of
// the difference the data leaves open. It never picks one it cannot
// tell.
func (ctx *reconcileContext) note(r *CounterRow) string {
	k, c := r.Kernel, r.Capture
	implied := ""
	if r.KernelImplied {
		implied = " (netstat -s prints no line for a counter that is zero)"
	}
	if k == c {
		if k == 0 {
			return "equal: neither counted any" + implied
		}
		return "equal: the capture accounts for as many as the kernel counted"
	}
	var why []string
	add := func(s string) { why = append(why, s) }
	fact := "" // a sentence the values prove, before the possibilities
	if k > c {
		lead := fmt.Sprintf("the kernel counted %d more", k-c)
		switch r.Counter {
		case CounterSynRetrans:
			if len(ctx.sameHostSYNRtx) > 0 {
				add("clients on the server's own host retransmitted SYNs in this capture, and TCPSynRetrans counts a host's SYN retransmissions as a client too (__tcp_retransmit_skb), which the capture's count leaves out")
			} else {
				add("TCPSynRetrans also counts the host's own SYN retransmissions as a client (__tcp_retransmit_skb)")
			}
		case CounterListenDrops:
			v := ctx.e.Counters.Values
			ov, ok1 := v[CounterNames[CounterListenOverflows]]
			qf, ok2 := v[CounterNames[CounterReqQFullDrop]]
			switch other := k - ov - qf; {
			case ok1 && ok2 && other > 0:
				add(fmt.Sprintf("%d of the kernel's are neither ListenOverflows nor TCPReqQFullDrop: tcp_listendrop also counts SYNs and handshakes dropped for want of memory or a route, by a security hook, or sent to a broadcast address, none of which the wire shows", other))
			case ok1 && ok2 && other == 0:
				fact = ". The kernel's ListenDrops is its ListenOverflows plus TCPReqQFullDrop: the difference is theirs"
			default:
				add("tcp_listendrop also counts SYNs and handshakes dropped for want of memory or a route, by a security hook, or sent to a broadcast address, none of which the wire shows")
			}
		case CounterSyncookiesSent:
			add("cookie SYN-ACKs the capture could not tell from ordinary ones (it reads a cookie from the timestamp's lag or the options it lacks)")
		}
		add("other listeners or ports in the server's network namespace (the counters are not per listener)")
		if ctx.diff {
			add("packets between the two snapshots but outside the capture")
		} else {
			add("packets outside the capture (the value counts from boot, or from when the namespace was made, to when it was read; plain nstat's, from its previous run)")
		}
		if ctx.loss != "" {
			add("the capture's own losses (" + ctx.loss + ")")
		}
		if len(ctx.away) > 0 {
			add("a capture away from the server (vantage " + strings.Join(ctx.away, ", ") + "), which counts a drop only when the packets prove it and misses what was lost between it and the server")
		}
		if ctx.s.RepliesMissingFlows > 0 && (r.Counter == CounterSynRetrans || r.Counter == CounterSyncookiesSent) {
			add(fmt.Sprintf("the capture misses the server's direction in %d flows", ctx.s.RepliesMissingFlows))
		}
		if ctx.e.Filtered {
			add("--port or --host kept only part of the capture")
		}
		if ctx.s.Interrupted {
			add("the analysis was interrupted before the end of the capture")
		}
		return lead + implied + fact + ". Possible: " + strings.Join(why, "; ") + "."
	}
	lead := fmt.Sprintf("the capture shows %d more than the kernel counted", c-k)
	add("counters read on another host, or in another network namespace, than the capture's server")
	if ctx.diff {
		add("snapshots that do not span the capture (the first read after it began, or the second before it ended)")
	} else {
		add("a snapshot read before the capture ended, or plain nstat's output (it counts only from its previous run)")
	}
	add("a counter reset (a reboot, the namespace made again)")
	if len(ctx.away) > 0 {
		add("a capture away from the server (vantage " + strings.Join(ctx.away, ", ") + "), where a packet lost on the way looks dropped")
	}
	if r.Counter == CounterSyncookiesSent {
		// tcp_synack_retries=0 only where a listener's timer is not shown
		// to retry (synAckRetriesZero).
		zero := false
		for _, l := range ctx.s.Listeners {
			if l.Counts[CounterSyncookiesSent] > 0 && !l.RulesOutSynAckRetriesZero() {
				zero = true
			}
		}
		if zero {
			add("a cookie fingerprint's look-alike (tcp_synack_retries=0, a server with window scaling and SACK off)")
		} else {
			add("a cookie fingerprint's look-alike (a server with window scaling and SACK off; tcp_synack_retries=0 is ruled out, the request timer having resent SYN-ACKs)")
		}
	}
	return lead + implied + ". Possible: " + strings.Join(why, "; ") + "."
}

// compareSS builds a row per listener of the run from the ss snapshots,
// and counts the LISTEN sockets that match none.
func compareSS(ss *SSListing, s *Summary) ([]SSRow, int) {
	rows := make([]SSRow, 0, len(s.Listeners))
	matched := map[string]bool{}
	for _, l := range s.Listeners {
		row := SSRow{Server: l.Server, Capacity: l.AcceptQueueCapacity, Backlog: l.BacklogEstimate, CapturePeak: l.PeakAcceptQueue}
		several, inWindow, timed, seenQ := 0, false, false, false
		for si := range ss.Snapshots {
			snap := &ss.Snapshots[si]
			var exact, wild []SSSocket
			for _, sk := range snap.Sockets {
				if sk.Matches(l.Server) {
					if sk.Wildcard == SSNotWildcard {
						exact = append(exact, sk)
					} else {
						wild = append(wild, sk)
					}
				}
			}
			m := exact
			if len(m) == 0 {
				m = wild
			}
			if len(m) == 0 {
				continue
			}
			row.Snapshots++
			row.Sockets = m
			several = max(several, len(m))
			if snap.Time != 0 {
				timed = true
				inWindow = inWindow || snap.Time >= s.Origin && snap.Time <= s.End
			}
			for _, sk := range m {
				matched[sk.Local] = true
				if !seenQ {
					row.SendQ, seenQ = [2]int64{sk.SendQ, sk.SendQ}, true
				}
				row.SendQ = [2]int64{min(row.SendQ[0], sk.SendQ), max(row.SendQ[1], sk.SendQ)}
				if sk.RecvQ > row.RecvQPeak || row.RecvQPeakLine == 0 {
					row.RecvQPeak, row.RecvQPeakTime, row.RecvQPeakLine = sk.RecvQ, snap.Time, sk.Line
					row.RecvQFull = sk.RecvQ > sk.SendQ
				}
			}
		}
		row.Agreement, row.Note = ssVerdict(&row, several)
		if timed && !inWindow && s.Origin != 0 {
			row.Note += "; every ss snapshot of it was taken outside the capture"
		}
		rows = append(rows, row)
	}
	unmatched := map[string]bool{}
	for _, snap := range ss.Snapshots {
		for _, sk := range snap.Sockets {
			if !matched[sk.Local] {
				unmatched[sk.Local] = true
			}
		}
	}
	return rows, len(unmatched)
}

// ssVerdict compares ss's Send-Q, the backlog in force, with the
// capacity the capture measured (the backlog + 1: the kernel counts the
// queue full only above the backlog, sk_acceptq_is_full).
func ssVerdict(r *SSRow, several int) (SSAgreement, string) {
	switch {
	case r.Snapshots == 0:
		return SSNoSocket, "no LISTEN socket in the ss output has this port and address: ss was read on another host or network namespace, or while the listener was not open"
	case several > 1:
		return SSSeveral, fmt.Sprintf("%d sockets listen on this address and port (SO_REUSEPORT), each with its own accept queue of Send-Q + 1; the capture sees them as one", several)
	case r.SendQ[0] != r.SendQ[1]:
		return SSChanged, fmt.Sprintf("Send-Q changed between snapshots (%d to %d): the listener was made again with another backlog, or net.core.somaxconn changed before a listen()", r.SendQ[0], r.SendQ[1])
	}
	q := r.SendQ[0]
	switch c := int64(r.Capacity); {
	case c == 0:
		return SSNotMeasured, fmt.Sprintf("ss says the accept queue holds %d (Send-Q + 1); the capture does not show it full", q+1)
	case c == q+1:
		return SSAgree, fmt.Sprintf("Send-Q %d is the listen backlog in force: the queue holds %d, as the capture measured", q, q+1)
	case c > q+1:
		return SSDisagree, fmt.Sprintf("the capture saw %d connections queued when the queue was full, more than Send-Q + 1 = %d: connections the application accepted without a word on the wire look queued; or ss was read from another socket, or before the backlog changed", c, q+1)
	default:
		return SSDisagree, fmt.Sprintf("the capture saw the queue full with %d connections, fewer than Send-Q + 1 = %d: connections queued before the capture began, or lost by it, are not counted; or ss was read at another time (a restart with another backlog) or on another host", c, q+1)
	}
}
