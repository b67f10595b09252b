package analyze

import (
	"fmt"
	"sort"
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

// Inferred is one setting as a capture shows it: its value, as far as
// the capture bounds it ("0", ">= 3", "1 or 2"), and what that rests on.
type Inferred struct {
	Name, Value, Evidence string
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
	add(inferSynAckRetries(a.maxExhausted))
	add(inferSyncookies(a.cookies))
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

// inferSynAckRetries: net.ipv4.tcp_synack_retries, a lower bound from
// the most SYN-ACK retransmissions before the server forgot a request
// at a timer expiry (synack-retries-exhausted). reqsk_timer_handler
// retries fewer times when the queue is crowded (never below
// min(tcp_synack_retries, 2)), and TCP_SYNCNT on the listener overrides
// the sysctl: so ">=", never "=".
func inferSynAckRetries(maxExhausted int) (Inferred, bool) {
	if maxExhausted <= 0 {
		return Inferred{}, false
	}
	return Inferred{Name: SysctlSynAckRetries, Value: fmt.Sprintf(">= %d", maxExhausted),
		Evidence: fmt.Sprintf("a lower bound: the server forgot requests at the timer expiry after %s; the kernel retries fewer times when the SYN queue is crowded, and TCP_SYNCNT on the listener overrides the sysctl", plural(maxExhausted, "SYN-ACK retransmission"))}, true
}

// inferSyncookies: net.ipv4.tcp_syncookies, 1 or 2 when a SYN cookie
// answered a SYN (syncookie-suspected: its timestamp or options, or a
// SYN-ACK never retransmitted while the client went unanswered). One
// capture cannot tell 1 (cookies when the SYN queue is full) from 2
// (always), nor say 0 from the absence of cookies.
func inferSyncookies(cookies int) (Inferred, bool) {
	if cookies <= 0 {
		return Inferred{}, false
	}
	return Inferred{Name: SysctlSyncookies, Value: "1 or 2",
		Evidence: fmt.Sprintf("%s got a SYN cookie: its timestamp or options, or a SYN-ACK never retransmitted while the client went unanswered", plural(cookies, "flow"))}, true
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
