package analyze

import (
	"fmt"
	"sort"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// What a capture shows of the server's settings. One function decides
// each setting, from the listener's aggregated evidence; the listener
// keeps the outcome (Listener.Settings), and every sentence of every
// output that names a setting's value reads it from there (Setting), so
// that no sentence says one value while the inferred list says another.

// The settings inferred, by the name outputs show (the keys of the JSON
// inferred_sysctls).
const (
	SysctlAbortOnOverflow = "net.ipv4.tcp_abort_on_overflow"
	SysctlSynAckRetries   = "net.ipv4.tcp_synack_retries"
	SysctlSyncookies      = "net.ipv4.tcp_syncookies"
	SockoptDeferAccept    = "TCP_DEFER_ACCEPT"
	SettingListenBacklog  = "listen_backlog"
)

// The values inferAbortOnOverflow gives.
const (
	AbortIgnores = "0"       // the server ignored handshake ACKs on overflow
	AbortResets  = "1"       // it reset them
	AbortBoth    = "0 and 1" // both, at one listener
)

// SyncookiesIfCookies is inferSyncookies' value when every cookie rests
// on a missing retransmission and nothing rules out tcp_synack_retries=0.
const SyncookiesIfCookies = "1 or 2, if these were cookies"

// Inferred is one setting as a capture shows it: its value, as far as
// the capture bounds it ("0", ">= 3", "1 or 2"), and what that rests on.
type Inferred struct {
	Name, Value, Evidence string
	// least is the value's lower bound, for a setting inferred as one
	// (">= 3"); 0 otherwise.
	least int
	// doubt: the behaviour the value rests on has a look-alike that the
	// capture does not rule out (named in Value and Evidence).
	doubt bool
}

// String is how the inferred list writes it: "VALUE (EVIDENCE)".
func (i Inferred) String() string { return i.Value + " (" + i.Evidence + ")" }

// Setting returns what the capture shows of the named setting at this
// listener; false when it shows nothing of it (a sentence then says so,
// or names the value only as what a behaviour implies).
func (l *Listener) Setting(name string) (Inferred, bool) {
	for _, s := range l.Settings {
		if s.Name == name {
			return s, true
		}
	}
	return Inferred{}, false
}

// InferredSysctls maps each inferred setting's name to "VALUE
// (EVIDENCE)": the JSON inferred_sysctls object. Never nil.
func (l *Listener) InferredSysctls() map[string]string {
	m := make(map[string]string, len(l.Settings))
	for _, s := range l.Settings {
		m[s.Name] = s.String()
	}
	return m
}

// inferSysctls decides every setting the capture implies; Settings is
// sorted by name.
func (a *listenerAgg) inferSysctls() {
	l := &a.l
	l.Settings = nil
	add := func(in Inferred, ok bool) {
		if ok {
			l.Settings = append(l.Settings, in)
		}
	}
	add(inferAbortOnOverflow(a.ackIgnored, a.rstOverflow))
	retries, retriesOK := inferSynAckRetries(a.timer)
	add(retries, retriesOK)
	add(a.syncookies())
	if n := zeroOfferedNote(a.zeroOffered, retries, retriesOK); n != "" {
		l.Notes = append(l.Notes, n)
	}
	add(inferDeferAccept(a.deferAccept))
	add(inferListenBacklog(l.AcceptQueueCapacity, l.BacklogEstimate))
	sort.Slice(l.Settings, func(i, j int) bool { return l.Settings[i].Name < l.Settings[j].Name })
}

// inferAbortOnOverflow: net.ipv4.tcp_abort_on_overflow, from the flows
// whose handshake ACK met a full accept queue. tcp_check_req ->
// listen_overflow: with the sysctl 0 the kernel sets
// inet_rsk(req)->acked and drops the ACK, so the request timer resends
// the SYN-ACK after it (synack-after-ack); with 1 it answers with
// embryonic_reset, a bare RST (rst-on-overflow). Both at one listener:
// the sysctl (per network namespace) changed during the capture, or the
// address leads to more than one host or namespace. Look-alikes, named
// by the labels' own rules: a lost ACK seen away from the server (0), a
// middlebox forging the reset (1). Nothing is inferred without such a
// flow: an application's reset (app-reset) says nothing of it.
func inferAbortOnOverflow(ignored, reset int) (Inferred, bool) {
	in := Inferred{Name: SysctlAbortOnOverflow}
	switch {
	case ignored > 0 && reset > 0:
		in.Value = AbortBoth
		in.Evidence = fmt.Sprintf("the server ignored the handshake ACK in %s, as 0 does, and answered it with the overflow reset in %s, as 1 does: the setting changed during the capture, or the address leads to more than one host or network namespace (a load balancer, NAT), the sysctl being per namespace",
			plural(ignored, "flow"), plural(reset, "flow"))
	case ignored > 0:
		in.Value = AbortIgnores
		in.Evidence = fmt.Sprintf("in %s the request timer resent the SYN-ACK after the handshake ACK reached the server: it ignored the ACK instead of resetting", plural(ignored, "flow"))
	case reset > 0:
		in.Value = AbortResets
		in.Evidence = fmt.Sprintf("the server answered %s with the kernel's overflow reset: a bare RST with the ACK's acknowledgment number, while the request was alive", plural(reset, "handshake ACK"))
	default:
		return in, false
	}
	return in, true
}

// synAckTimer is what a listener's flows show of its request timer
// (reqsk_timer_handler): the most SYN-ACK retransmissions before the
// server forgot a request at a timer expiry (synack-retries-exhausted),
// and the most SYN-ACKs the timer resent in one flow
// (flowstate.Flow.TimerSynAckRetransmits; flows that show
// TCP_DEFER_ACCEPT left out, the deferral stretching the timer past the
// retry limit for a request whose ACK came).
type synAckTimer struct {
	exhausted, resent int
}

// see adds one finished flow.
// Both count the timer's SYN-ACKs only: an answer to a retransmitted
// SYN does not advance the request's num_timeout (field notes).
func (t *synAckTimer) see(f *flowstate.Flow) {
	n := f.TimerSynAckRetransmits()
	if f.Labels.Has(flowstate.LabelSynAckRetriesExhausted) {
		t.exhausted = max(t.exhausted, n)
	}
	if !f.Labels.Has(flowstate.LabelDeferAccept) {
		t.resent = max(t.resent, n)
	}
}

// inferSynAckRetries: net.ipv4.tcp_synack_retries, a lower bound from
// the request timer: the most SYN-ACK retransmissions before the server
// forgot a request at a timer expiry (synack-retries-exhausted), or the
// most the timer resent in one flow, whichever is more. The timer
// resends while req->num_timeout is below the limit (syn_ack_recalc), so
// k resends mean a limit of at least k. reqsk_timer_handler retries
// fewer times when the queue is crowded (never below
// min(tcp_synack_retries, 2)), and TCP_SYNCNT on the listener overrides
// the sysctl: so ">=", never "=". A SYN-ACK answering a retransmitted
// SYN (tcp_check_req -> inet_rtx_syn_ack) is not the timer's and counts
// for nothing. Any bound of 1 or more rules out the look-alike
// tcp_synack_retries=0 at this listener (synAckRetriesZero).
func inferSynAckRetries(t synAckTimer) (Inferred, bool) {
	in := Inferred{Name: SysctlSynAckRetries}
	const caveats = "the kernel retries fewer times when the SYN queue is crowded, and TCP_SYNCNT on the listener overrides the sysctl"
	switch {
	case t.exhausted > 0 && t.exhausted >= t.resent:
		in.least = t.exhausted
		in.Evidence = fmt.Sprintf("a lower bound: the server forgot requests at the timer expiry after %s; %s", plural(t.exhausted, "SYN-ACK retransmission"), caveats)
	case t.resent > 0:
		in.least = t.resent
		in.Evidence = fmt.Sprintf("a lower bound: the request timer resent a SYN-ACK %s in one flow, answers to retransmitted SYNs not counted; %s", times(t.resent), caveats)
	default:
		return in, false
	}
	in.Value = fmt.Sprintf(">= %d", in.least)
	return in, true
}

// times writes a count of times: "once", "twice", "3 times".
func times(n int) string {
	switch n {
	case 1:
		return "once"
	case 2:
		return "twice"
	}
	return fmt.Sprintf("%d times", n)
}

// synAckRetriesZero is the one place that says whether
// tcp_synack_retries=0 can explain a SYN-ACK never retransmitted (the
// look-alike of a SYN cookie found by its missing retransmission,
// ruleSynCookieSuspected): it can unless the listener's request timer
// is shown to retry (inferSynAckRetries bounds the limit at 1 or more).
// It returns the clause a sentence writes: the alternative offered, or
// why it is ruled out. Tests (lab captures): TestSynAckRetriesZeroRuledOut
// and TestSynAckRetriesZeroOffered (sysctl_test.go), and the report's
// story in render's TestReportCookiesSynAckRetriesZero.
func synAckRetriesZero(in Inferred, ok bool) (clause string, offered bool) {
	if ok && in.least >= 1 {
		return "not a request timer that never fires: this listener's timer resent SYN-ACKs in other flows (tcp_synack_retries " + in.Value + ", or TCP_SYNCNT on the listener)", false
	}
	return "or tcp_synack_retries=0, which no flow of this listener has ruled out so far", true
}

// RulesOutSynAckRetriesZero reports whether the listener's inferred
// tcp_synack_retries rules out 0 (synAckRetriesZero): its request timer
// was seen retrying.
func (l *Listener) RulesOutSynAckRetriesZero() bool {
	_, offered := synAckRetriesZero(l.Setting(SysctlSynAckRetries))
	return !offered
}

// inferSyncookies: net.ipv4.tcp_syncookies, 1 or 2 when a SYN cookie
// answered a SYN (syncookie-suspected: its timestamp or options, or a
// SYN-ACK never retransmitted while the client went unanswered). One
// capture cannot tell 1 (cookies when the SYN queue is full) from 2
// (always), nor say 0 from the absence of cookies. When every cookie
// was found only by its missing retransmission, the look-alike
// tcp_synack_retries=0 is named unless the listener's timer rules it
// out (synAckRetriesZero, from the listener's retries).
func inferSyncookies(cookies, fingerprinted int, retries Inferred, retriesOK bool) (Inferred, bool) {
	if cookies <= 0 {
		return Inferred{}, false
	}
	in := Inferred{Name: SysctlSyncookies, Value: "1 or 2",
		Evidence: fmt.Sprintf("%s got a SYN cookie: its timestamp or options, or a SYN-ACK never retransmitted while the client went unanswered", plural(cookies, "flow"))}
	if fingerprinted == 0 {
		if _, offered := synAckRetriesZero(retries, retriesOK); offered {
			in.Value, in.doubt = SyncookiesIfCookies, true
			in.Evidence = fmt.Sprintf("%s had a SYN-ACK never retransmitted while the client went unanswered, as a SYN cookie has; tcp_synack_retries=0 looks the same, and no flow of this listener rules it out", plural(cookies, "flow"))
		}
	}
	return in, true
}

// syncookies is the listener's tcp_syncookies (inferSyncookies).
func (a *listenerAgg) syncookies() (Inferred, bool) {
	retries, ok := inferSynAckRetries(a.timer)
	return inferSyncookies(a.cookies, a.cookieFingerprints, retries, ok)
}

// zeroOfferedNote is the listener's note on flow notes that offered
// tcp_synack_retries=0 (synAckRetriesZero) before a later flow ruled it
// out: the notes are written as each flow is handed out, the listener's
// settings once every flow is in. "" when there is nothing to correct.
func zeroOfferedNote(offered int, retries Inferred, retriesOK bool) string {
	if _, still := synAckRetriesZero(retries, retriesOK); offered == 0 || still {
		return ""
	}
	return fmt.Sprintf("the notes of %s offered tcp_synack_retries=0 for a SYN-ACK never retransmitted, before a later flow showed this listener's request timer resending SYN-ACKs: that rules it out (tcp_synack_retries %s, or TCP_SYNCNT on the listener), so those SYN-ACKs were SYN cookies",
		plural(offered, "flow"), retries.Value)
}

// inferDeferAccept: the TCP_DEFER_ACCEPT socket option, on when flows
// show it (defer-accept).
func inferDeferAccept(flows int) (Inferred, bool) {
	if flows <= 0 {
		return Inferred{}, false
	}
	return Inferred{Name: SockoptDeferAccept, Value: "on",
		Evidence: fmt.Sprintf("socket option; in %s the server held a bare handshake ACK, resent its SYN-ACK only late in the deferral and took the first data at once", plural(flows, "flow"))}, true
}

// inferListenBacklog: the listen backlog in force, min(listen()
// backlog, net.core.somaxconn), from the accept queue's capacity
// (estimateCapacity): at most capacity - 1.
func inferListenBacklog(capacity, backlog int) (Inferred, bool) {
	if capacity <= 0 {
		return Inferred{}, false
	}
	return Inferred{Name: SettingListenBacklog, Value: fmt.Sprint(backlog),
		Evidence: fmt.Sprintf("min(listen() backlog, net.core.somaxconn): the accept queue held %d when full, an upper bound", capacity)}, true
}
