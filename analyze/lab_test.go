package analyze

// The capture lab's truth-driven regression suite.
//
// Every scenario under ../testdata/lab/ holds two captures of one run on a
// real kernel (server.pcap, client.pcap) and truth.json: what each client's
// system calls returned, what ss(8) showed of the server's sockets every
// 50 ms, what the server accepted and read, the sysctls and the nstat
// counters. The rules below turn those facts into the labels the analysis
// must (or must not) put on each client's flow, from the truth file, the
// scenario's sysctls and raw packet times only: no port numbers and no
// scenario names, so that a re-recorded lab (new ports, new timings, another
// winner of a freed queue slot) still passes. Where a rule needs to know when
// a packet was on the wire it takes the time from the capture (the client's
// handshake ACK, the SYN the server answered), never a label.

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// labTruth is the part of truth.json (cmd/tcplab's Truth) the rules read.
type labTruth struct {
	Server      string             `json:"server"`
	Backlog     int                `json:"backlog"`
	Sysctls     map[string]string  `json:"sysctls"`
	Qdisc       string             `json:"qdisc"`
	End         time.Time          `json:"end"`
	Clients     []labClient        `json:"clients"`
	Accepts     []labAccept        `json:"accepts"`
	SSFirstSeen map[string]labSS   `json:"ss_first_seen"`
	SSHistory   map[string][]labSS `json:"ss_history"`
	SSPollMS    int                `json:"ss_poll_ms"`
	Nstat       map[string]int64   `json:"nstat"`
	// The look-alike scenarios' own facts: an nftables ruleset on the
	// server, the router namespace's path and every frame it dropped or
	// held, which capture holds one direction only.
	Firewall               string          `json:"firewall"`
	Path                   json.RawMessage `json:"path"`
	PathLog                []labPathEvent  `json:"path_log"`
	ServerCaptureDirection string          `json:"server_capture_direction"`
	Flood                  json.RawMessage `json:"flood"`
	Listeners              []struct {
		Local        string `json:"local"`
		DeferAcceptS int    `json:"defer_accept_s"`
	} `json:"listeners"`
	ListenerEvents []struct {
		T     time.Time `json:"t"`
		Event string    `json:"event"` // closed, listening
	} `json:"listener_events"`
}

// deferAccept is the TCP_DEFER_ACCEPT seconds of the scenario's listener.
func (tr *labTruth) deferAccept() int {
	for _, l := range tr.Listeners {
		if l.Local == tr.Server {
			return l.DeferAcceptS
		}
	}
	return 0
}

// closedBetween reports whether the listener was closed between a and b.
func (tr *labTruth) closedBetween(a, b time.Time) bool {
	for _, e := range tr.ListenerEvents {
		if e.Event == "closed" && !e.T.Before(a) && !e.T.After(b) {
			return true
		}
	}
	return false
}

// labPathEvent is a frame the router dropped or held.
type labPathEvent struct {
	Dir    string `json:"dir"` // c2s, s2c
	Src    string `json:"src"`
	Dst    string `json:"dst"`
	Flags  string `json:"flags"`
	Action string `json:"action"` // drop, hold
	RelSeq uint32 `json:"rel_seq"`
	RelAck uint32 `json:"rel_ack"`
	Len    uint32 `json:"len"`
}

// pathDropped reports whether the router dropped a frame of the given
// direction and flags (tcpdump notation) of any connection.
func (tr *labTruth) pathDropped(dir, flags string) bool {
	for _, e := range tr.PathLog {
		if e.Action == "drop" && e.Dir == dir && (flags == "" || e.Flags == flags) {
			return true
		}
	}
	return false
}

type labClient struct {
	Local        string   `json:"local"`
	Server       string   `json:"server"` // absent in older truth files: the scenario's server
	ConnectMS    *float64 `json:"connect_ms"`
	ConnectError string   `json:"connect_error"`
	Sends        []struct {
		T     string `json:"t"`
		Bytes int    `json:"bytes"`
		Error string `json:"error"`
	} `json:"sends"`
	Reply *struct {
		FirstT string `json:"first_t"`
		Bytes  int    `json:"bytes"`
		End    string `json:"end"`
		EndT   string `json:"end_t"`
	} `json:"reply"`
	ResetSeen bool   `json:"reset_seen"`
	Close     string `json:"close"`
	CloseT    string `json:"close_t"`
}

type labAccept struct {
	Peer       string `json:"peer"`
	T          string `json:"t"`
	FirstRead  string `json:"first_read"`
	ReplyError string `json:"reply_error"`
}

type labSS struct {
	T     time.Time `json:"t"`
	State string    `json:"state"`
}

// Thresholds, each with the reason for its size.
const (
	// labHeld: a server socket first seen by ss more than this after the
	// client's handshake ACK reached the server was not created by that
	// ACK. The ACK's time is taken from the capture (both captures see a
	// client packet when it leaves the client's qdisc, and the veth
	// delivers it at once), so tbf on either side does not enter; what is
	// left is the 50 ms ss poll, the time ss itself takes, and scheduling.
	labHeld = 500 * time.Millisecond
	// labPrompt: a server socket first seen within this of the client's
	// handshake ACK was created by that ACK (or by the next segment, a
	// few ms later): one ss poll, with room for the poll's own run time.
	labPrompt = 200 * time.Millisecond
	// labSynRTO: the client's first SYN retransmission comes 1 s after the
	// SYN (TCP_TIMEOUT_INIT, tcp_syn_linear_timeouts keeps it at 1 s); a
	// connect() shorter than this never needed a second SYN.
	labSynRTO = 900 * time.Millisecond
)

// The listen-queue labels: everything but synack-retransmit, which alone
// is harmless (a lost SYN-ACK or ACK).
var labQueueLabels = []flowstate.Label{
	flowstate.LabelSynDropped, flowstate.LabelSynUnanswered,
	flowstate.LabelSynAckAfterAck, flowstate.LabelDataWhileSynRecv,
	flowstate.LabelFinBeforeQueued, flowstate.LabelGhostConnection,
	flowstate.LabelSynAckRetriesExhausted, flowstate.LabelRstOnOverflow,
	flowstate.LabelSynCookieSuspected,
}

// labStallScenarios names the negative controls built to stall every
// connection without going near the listen queues: a reader that stops for
// 4 s (zero-window: both directions' windows close) and idle connections
// kept open by keep-alives (keepalive). Each of their flows must carry that
// stall label and nothing else; every other negative control no label.
var labStallScenarios = map[string]flowstate.Label{
	"zero-window": flowstate.LabelZeroWindowStall,
	"keepalive":   flowstate.LabelKeepaliveOnly,
}

// labCase is one truth client and what one capture's analysis made of it.
type labCase struct {
	t      *testing.T
	tr     *labTruth
	cl     *labClient
	flows  []*labFlow // normally one
	hs     *labFlow   // the flow with the handshake (its SYN), nil if none
	labels flowstate.Labels
	fired  []string
}

func labTime(t *testing.T, s string) time.Time {
	t.Helper()
	if s == "" {
		return time.Time{}
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("truth time %q: %v", s, err)
	}
	return v
}

func (c *labCase) time(s string) time.Time { return labTime(c.t, s) }

func (c *labCase) sysctl(name string) string { return c.tr.Sysctls["net.ipv4."+name] }

func (c *labCase) connected() bool { return c.cl.ConnectMS != nil }

func (c *labCase) connectMS() float64 {
	if c.cl.ConnectMS == nil {
		return -1
	}
	return *c.cl.ConnectMS
}

// ackTime is when the client's handshake ACK was on the wire (capture).
func (c *labCase) ackTime() (time.Time, bool) {
	if c.hs == nil || c.hs.HandshakeAckTime == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, c.hs.HandshakeAckTime).UTC(), true
}

// firstSeen is the server's first full socket (any state but SYN-RECV).
func (c *labCase) firstSeen() (labSS, bool) {
	s, ok := c.tr.SSFirstSeen[c.cl.Local]
	return s, ok
}

func (c *labCase) history() []labSS { return c.tr.SSHistory[c.cl.Local] }

// requestSeen reports whether ss showed a request socket (SYN-RECV) for
// the client before any full socket.
func (c *labCase) requestSeen() bool {
	for _, h := range c.history() {
		if h.State == "SYN-RECV" {
			return true
		}
		if h.State != "gone" {
			return false
		}
	}
	return false
}

// requestGone returns when ss last showed the request socket vanish
// without a full socket ever appearing (SYN-RECV -> gone).
func (c *labCase) requestGone() (time.Time, bool) {
	if _, ok := c.firstSeen(); ok {
		return time.Time{}, false
	}
	h := c.history()
	for i := 1; i < len(h); i++ {
		if h[i].State == "gone" && h[i-1].State == "SYN-RECV" {
			return h[i].T, true
		}
	}
	return time.Time{}, false
}

func (c *labCase) accept() *labAccept {
	for i := range c.tr.Accepts {
		if c.tr.Accepts[i].Peer == c.cl.Local {
			return &c.tr.Accepts[i]
		}
	}
	return nil
}

// resetTime returns when the client first learnt of a reset: a read that
// ended with ECONNRESET or a write that failed with ECONNRESET/EPIPE.
func (c *labCase) resetTime() (time.Time, bool) {
	var ts []time.Time
	if r := c.cl.Reply; r != nil && r.End == "reset" {
		ts = append(ts, c.time(r.EndT))
	}
	for _, s := range c.cl.Sends {
		if strings.Contains(s.Error, "reset") || strings.Contains(s.Error, "broken pipe") {
			ts = append(ts, c.time(s.T))
		}
	}
	if len(ts) == 0 {
		if c.cl.ResetSeen {
			return c.tr.End, true // seen, time unknown: the latest it can be
		}
		return time.Time{}, false
	}
	return slices.MinFunc(ts, func(a, b time.Time) int { return a.Compare(b) }), true
}

func (c *labCase) poll() time.Duration {
	if c.tr.SSPollMS > 0 {
		return time.Duration(c.tr.SSPollMS) * time.Millisecond
	}
	return 50 * time.Millisecond
}

// shaped reports whether a qdisc delayed packets on the lab's path, or a
// router namespace delayed, dropped or held them, or a firewall dropped
// them: then a slow connect() need not be a listener's drop.
func (c *labCase) shaped() bool { return c.tr.Qdisc != "" || len(c.tr.Path) > 0 || c.tr.Firewall != "" }

func labMS(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 0, 64) + " ms" }

func (c *labCase) fail(rule, facts, want string) {
	c.t.Helper()
	c.t.Errorf("client %s: rule %s: truth: %s; want %s; labels found: [%s]",
		c.cl.Local, rule, facts, want, c.labels)
}

// expectAll: the flow must carry every label in want.
func (c *labCase) expectAll(rule, facts string, want ...flowstate.Label) {
	c.t.Helper()
	c.fired = append(c.fired, rule)
	for _, l := range want {
		if !c.labels.Has(l) {
			c.fail(rule, facts, "all of "+labLabelList(want))
			return
		}
	}
}

// expectAny: the flow must carry at least one label in want.
func (c *labCase) expectAny(rule, facts string, want ...flowstate.Label) {
	c.t.Helper()
	c.fired = append(c.fired, rule)
	for _, l := range want {
		if c.labels.Has(l) {
			return
		}
	}
	c.fail(rule, facts, "one of "+labLabelList(want))
}

// expectNone: the flow must carry no label in bad.
func (c *labCase) expectNone(rule, facts string, bad ...flowstate.Label) {
	c.t.Helper()
	c.fired = append(c.fired, rule)
	for _, l := range bad {
		if c.labels.Has(l) {
			c.fail(rule, facts, "none of "+labLabelList(bad))
			return
		}
	}
}

func labLabelList(ls []flowstate.Label) string {
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = l.String()
	}
	return "[" + strings.Join(s, ",") + "]"
}

// labFlowRules are the per-flow rules, applied in order to every truth
// client of every scenario and capture. A rule that does not apply says
// nothing; each rule that applies is named in the test log.
var labFlowRules = []struct {
	name string
	fn   func(c *labCase)
}{
	{"syn-timeout", ruleSynTimeout},
	{"ghost", ruleGhost},
	{"abort-reset", ruleAbortReset},
	{"request-expired", ruleRequestExpired},
	{"slow-connect", ruleSlowConnect},
	{"held-after-ack", ruleHeldAfterAck},
	{"deferred", ruleDeferred},
	{"listener-closed", ruleListenerClosed},
	{"client-rst", ruleClientRST},
	{"answered", ruleAnswered},
	{"no-server-socket", ruleNoServerSocket},
	{"socket-created", ruleSocketCreated},
	{"abort-off", ruleAbortOff},
	{"clean", ruleClean},
}

// ruleSynTimeout: connect() failed with a timeout. A SYN-ACK, any SYN-ACK
// (cookie or not), completes connect() at once, so the client never got
// one: syn-unanswered. Not syn-dropped, even with the SYN sent several
// times: that label needs a later copy answered, which shows the server
// alive and dropping; a flow alone cannot tell a listener dropping every
// SYN from a server that is down or filtered (the listener view does).
func ruleSynTimeout(c *labCase) {
	if !strings.HasPrefix(c.cl.ConnectError, "timeout") {
		return
	}
	facts := "connect_error " + strconv.Quote(c.cl.ConnectError)
	if c.hs != nil {
		facts += fmt.Sprintf(", the capture shows %d SYNs", c.hs.ClientSYNs)
	}
	c.expectAll("syn-timeout", facts, flowstate.LabelSynUnanswered)
	c.expectNone("syn-timeout", facts, flowstate.LabelSynDropped)
}

// ruleGhost: ss first saw the server socket in CLOSE-WAIT: the client's
// FIN had been processed before any poll saw the socket established. When
// the client's handshake ACK came at least two polls before its FIN (wire
// times), a socket created by that ACK would have been seen ESTAB; so the
// server still held a request when the FIN came and created the socket
// only later, from the FIN's retransmission (tcp_check_req looks at ACK,
// not FIN, and inet_csk_complete_hashdance queues a connection whose peer
// is gone): fin-before-queued and ghost-connection.
func ruleGhost(c *labCase) {
	fs, ok := c.firstSeen()
	if !ok || fs.State != "CLOSE-WAIT" || c.hs == nil {
		return
	}
	ack, ok := c.ackTime()
	fins := c.hs.ClientFINTimes
	if c.hs.RepliesMissing {
		return // a capture of the client's direction only: no handshake to read
	}
	if !ok || len(fins) == 0 {
		c.t.Errorf("client %s: rule ghost: truth: server socket first seen CLOSE-WAIT at %s, but the capture shows no handshake ACK or no client FIN", c.cl.Local, fs.T.Format(time.StampMicro))
		return
	}
	fin := time.Unix(0, fins[0]).UTC()
	if fin.Sub(ack) < 2*c.poll() {
		return // ACK and FIN too close for ss to tell: no claim
	}
	if c.hs.ServerFirstAck != 0 && c.hs.ServerFirstAck < fins[0] {
		// The wire shows the socket before the FIN: the server
		// acknowledged the client's data first (it was created by a data
		// retransmission less than a poll before the FIN).
		return
	}
	c.expectAll("ghost", fmt.Sprintf("server socket first seen CLOSE-WAIT at %s, %s after the client's FIN and %s after its handshake ACK",
		fs.T.Format(time.StampMicro), labMS(fs.T.Sub(fin)), labMS(fs.T.Sub(ack))),
		flowstate.LabelFinBeforeQueued, flowstate.LabelGhostConnection)
}

// ruleAbortReset: tcp_abort_on_overflow=1, the client's connect()
// succeeded, it later saw a reset, and the server never had a full socket
// for it (ss never saw one, the application never accepted it). With
// abort_on_overflow, tcp_check_req answers the handshake ACK (or first
// data) that finds the accept queue full with embryonic_reset: a RST,
// having acknowledged nothing: rst-on-overflow.
func ruleAbortReset(c *labCase) {
	if c.sysctl("tcp_abort_on_overflow") != "1" || !c.connected() {
		return
	}
	rt, ok := c.resetTime()
	if !ok {
		return
	}
	if _, seen := c.firstSeen(); seen || c.accept() != nil {
		return
	}
	c.expectAll("abort-reset", fmt.Sprintf("tcp_abort_on_overflow=1, connect %.1f ms, reset seen at %s, no server socket ever",
		c.connectMS(), rt.Format(time.StampMicro)), flowstate.LabelRstOnOverflow)
}

// ruleRequestExpired: tcp_abort_on_overflow=0, connect() succeeded, ss
// showed the request (SYN-RECV) vanish without a full socket ever
// appearing, the client had not reset it, and the client saw a reset after
// the request vanished. With abort_on_overflow off the server never resets
// or drops an acked request on overflow; reqsk_timer_handler drops it after
// tcp_synack_retries SYN-ACK retransmissions, and the listener answers the
// client's next segment (an ACK for no connection) with RST:
// synack-retries-exhausted.
func ruleRequestExpired(c *labCase) {
	if c.sysctl("tcp_abort_on_overflow") != "0" || !c.connected() {
		return
	}
	gone, ok := c.requestGone()
	if !ok {
		return
	}
	if c.cl.Close == "rst" && c.time(c.cl.CloseT).Before(gone) {
		return // the client's RST removed it
	}
	if c.tr.closedBetween(gone.Add(-time.Minute), gone) {
		return // the listener's close removed it (ruleListenerClosed)
	}
	rt, ok := c.resetTime()
	// ss's "gone" is an upper bound: the request vanished after the poll before.
	if !ok || rt.Before(gone.Add(-c.poll())) {
		return
	}
	c.expectAll("request-expired", fmt.Sprintf("connect %.1f ms, request (SYN-RECV) gone by %s with no server socket, tcp_synack_retries=%s, client reset at %s",
		c.connectMS(), gone.Format(time.StampMicro), c.sysctl("tcp_synack_retries"), rt.Format(time.StampMicro)),
		flowstate.LabelSynAckRetriesExhausted)
}

// ruleSlowConnect: connect() took at least about the first SYN
// retransmission timeout (1 s) on an unshaped path (no qdisc, no router,
// no firewall). A veth handshake takes
// well under a millisecond, so only a dropped SYN and its retransmission
// can make it that slow: syn-dropped. Not claimed when a qdisc shaped the
// path: a SYN (or SYN-ACK) queued in tbf for a second makes connect() as
// slow, and the client's retransmitted SYN may then be answered by the
// SYN-ACK of the first copy, which no label calls dropped.
func ruleSlowConnect(c *labCase) {
	if !c.connected() || c.shaped() || c.connectMS() < float64(labSynRTO)/1e6 {
		return
	}
	c.expectAll("slow-connect", fmt.Sprintf("connect %.1f ms, no qdisc", c.connectMS()), flowstate.LabelSynDropped)
}

// ruleHeldAfterAck: tcp_abort_on_overflow=0, connect() succeeded, and the
// server had no full socket for more than labHeld after the client's
// handshake ACK reached it (ss first saw one much later, or never, while
// the client stayed: it had not reset the connection and the capture went
// on). The ACK did not create the socket, which on Linux means
// syn_recv_sock found the accept queue full and the ACK was dropped
// (ListenOverflows): the server kept the connection as a request after the
// client's ACK. The analysis must say so with at least one of
// synack-after-ack (the request's timer retransmitted the SYN-ACK),
// data-while-syn-recv (the client's data was dropped too),
// syncookie-suspected (no request: a cookie) or ghost-connection (the FIN
// got it queued).
//
// Two refinements follow from ss_history:
//   - tcp_syncookies=2, or no request socket (SYN-RECV) was ever seen
//     although the connection was held for more than ten polls: there was
//     no request, the SYN-ACK was a cookie (always with 2; with 1 when the
//     SYN queue was full), and a cookie SYN-ACK is never retransmitted
//     (tcp_conn_request does not hash a request for it): syncookie-suspected or
//     data-while-syn-recv, and neither synack-retransmit nor
//     synack-after-ack;
//   - a request socket was seen and lived past one of its first two timer
//     expiries after the ACK (1 s and 3 s after the SYN that created it;
//     the first two retransmissions happen whenever tcp_synack_retries
//     allows them, as reqsk_timer_handler's young-request shortening never
//     goes below 2): the retransmitted SYN-ACK followed the ACK on the
//     wire: synack-after-ack.
func ruleHeldAfterAck(c *labCase) {
	if c.sysctl("tcp_abort_on_overflow") != "0" || !c.connected() || c.tr.deferAccept() > 0 {
		return
	}
	ack, ok := c.ackTime()
	if !ok {
		return
	}
	deadline := ack.Add(labHeld)
	// holdEnd: the latest time the server is known to have still held
	// the connection as a request (or nothing, for a cookie).
	holdEnd := c.tr.End
	fs, seen := c.firstSeen()
	if seen {
		holdEnd = fs.T.Add(-c.poll()) // created after the poll before
	}
	if gone, ok := c.requestGone(); ok && gone.Add(-c.poll()).Before(holdEnd) {
		holdEnd = gone.Add(-c.poll())
	}
	if c.cl.Close == "rst" {
		if t := c.time(c.cl.CloseT); t.Before(holdEnd) {
			holdEnd = t
		}
	}
	if rt, ok := c.resetTime(); ok && rt.Before(holdEnd) {
		holdEnd = rt
	}
	// The wire can prove the socket existed earlier than a lagging ss
	// poll saw it (the lab's polls slip when the machine is busy): the
	// server acknowledged the client's data or FIN.
	if c.hs != nil && c.hs.ServerFirstAck != 0 {
		if t := time.Unix(0, c.hs.ServerFirstAck).UTC(); t.Before(holdEnd) {
			holdEnd = t
		}
	}
	if !holdEnd.After(deadline) {
		return
	}
	facts := fmt.Sprintf("tcp_abort_on_overflow=0, connect %.1f ms, handshake ACK on the wire at %s, ", c.connectMS(), ack.Format(time.StampMicro))
	if seen {
		facts += fmt.Sprintf("server socket first seen %s at %s (%s after the ACK)", fs.State, fs.T.Format(time.StampMicro), labMS(fs.T.Sub(ack)))
	} else {
		facts += "no server socket ever seen"
	}
	c.expectAny("held-after-ack", facts, flowstate.LabelSynAckAfterAck, flowstate.LabelDataWhileSynRecv,
		flowstate.LabelSynCookieSuspected, flowstate.LabelGhostConnection)

	if cookie := c.sysctl("tcp_syncookies") == "2"; cookie || !c.requestSeen() {
		if !cookie && holdEnd.Sub(ack) < 10*c.poll() {
			return
		}
		if cookie {
			facts += ", tcp_syncookies=2: every SYN-ACK a cookie"
		} else {
			facts += ", ss never showed a request (SYN-RECV): a cookie"
		}
		c.expectAny("held-after-ack/cookie", facts, flowstate.LabelSynCookieSuspected, flowstate.LabelDataWhileSynRecv)
		c.expectNone("held-after-ack/cookie", facts, flowstate.LabelSynAckRetransmit, flowstate.LabelSynAckAfterAck)
		return
	}
	retries, err := strconv.Atoi(c.sysctl("tcp_synack_retries"))
	if err != nil || c.hs == nil || c.hs.SynAckTime == 0 {
		return
	}
	// The request was created (and its timer started) by the last SYN
	// before the first SYN-ACK on the wire: the server answers at once,
	// only its egress qdisc delays the SYN-ACK.
	var syn int64
	for _, s := range c.hs.ClientSYNTimes {
		if s <= c.hs.SynAckTime {
			syn = s
		}
	}
	if syn == 0 {
		return
	}
	for k := 1; k <= min(retries, 2); k++ {
		fire := time.Unix(0, syn).UTC().Add(time.Duration(1<<k-1) * time.Second)
		// Fired after the ACK, while the request was still held, early
		// enough for the copy to leave a busy tbf before the capture ended.
		if fire.After(ack.Add(c.poll())) && fire.Before(holdEnd) && fire.Before(c.tr.End.Add(-time.Second)) {
			c.expectAll("held-after-ack/request", facts+fmt.Sprintf(", ss showed a request (SYN-RECV) that outlived its SYN-ACK timer at %s", fire.Format(time.StampMicro)),
				flowstate.LabelSynAckRetransmit, flowstate.LabelSynAckAfterAck)
			return
		}
	}
}

// ruleDeferred: the listener has TCP_DEFER_ACCEPT. Its kernel holds a
// bare handshake ACK on purpose (tcp_check_req: TCPDeferAcceptDrop, not
// ListenOverflows), so no overflow label; when the capture shows the
// SYN-ACK resent after the ACK (syn_ack_recalc resends only late in the
// deferral), defer-accept.
func ruleDeferred(c *labCase) {
	if c.tr.deferAccept() == 0 || !c.connected() {
		return
	}
	facts := fmt.Sprintf("TCP_DEFER_ACCEPT %d s, connect %.1f ms", c.tr.deferAccept(), c.connectMS())
	c.expectNone("deferred", facts, flowstate.LabelSynAckAfterAck, flowstate.LabelDataWhileSynRecv, flowstate.LabelGhostConnection,
		flowstate.LabelFinBeforeQueued, flowstate.LabelSynCookieSuspected, flowstate.LabelSynAckRetriesExhausted)
	if c.hs != nil && c.hs.ServerSYNs > 1 && c.hs.ServerSYNTimes[1] > c.hs.HandshakeAckTime {
		c.expectAll("deferred", facts+fmt.Sprintf(", the SYN-ACK resent %s after the ACK", labMS(time.Duration(c.hs.ServerSYNTimes[1]-c.hs.HandshakeAckTime))),
			flowstate.LabelDeferAccept)
	}
}

// ruleListenerClosed: the server closed its listening socket while the
// client's request was pending (ss saw the request vanish after the
// close, with no socket): the request was dropped with the listener, not
// at a timer expiry: neither synack-retries-exhausted nor rst-on-overflow.
func ruleListenerClosed(c *labCase) {
	gone, ok := c.requestGone()
	if !ok || !c.tr.closedBetween(gone.Add(-time.Minute), gone) {
		return
	}
	c.expectNone("listener-closed", "request gone by "+gone.Format(time.StampMicro)+" after the listener closed",
		flowstate.LabelSynAckRetriesExhausted, flowstate.LabelRstOnOverflow)
}

// ruleClientRST: the client closed with RST (SO_LINGER 0). Such a close
// sends a RST and never a FIN (tcp_disconnect -> tcp_send_active_reset),
// and a RST on a request makes tcp_check_req drop it (EmbryonicRsts): no
// FIN, no ghost: neither fin-before-queued nor ghost-connection.
func ruleClientRST(c *labCase) {
	if c.cl.Close != "rst" {
		return
	}
	facts := "client closed with RST at " + c.time(c.cl.CloseT).Format(time.StampMicro)
	if c.accept() == nil {
		facts += ", never accepted"
	}
	c.expectNone("client-rst", facts, flowstate.LabelFinBeforeQueued, flowstate.LabelGhostConnection)
}

// ruleAnswered: connect() succeeded, so a SYN-ACK reached the client:
// never syn-unanswered, on either capture (a capture that misses the
// SYN-ACK shows the client acknowledging it: RepliesMissing).
func ruleAnswered(c *labCase) {
	if !c.connected() {
		return
	}
	c.expectNone("answered", fmt.Sprintf("connect %.1f ms", c.connectMS()), flowstate.LabelSynUnanswered)
}

// ruleNoServerSocket: connect() succeeded but the server never had a full
// socket (ss never saw one, the application never accepted one). A ghost is
// a socket the server created after the client's FIN; a socket created
// and queued stays visible until accepted: ghost-connection is impossible.
func ruleNoServerSocket(c *labCase) {
	if !c.connected() || c.accept() != nil {
		return
	}
	if _, ok := c.firstSeen(); ok {
		return
	}
	c.expectNone("no-server-socket", "connect succeeded, no server socket ever seen, never accepted", flowstate.LabelGhostConnection)
}

// ruleSocketCreated: ss saw a full server socket for the client. The
// request became a socket through a successful syn_recv_sock: its timer
// is gone (it cannot expire) and no overflow reset can follow:
// neither synack-retries-exhausted nor rst-on-overflow.
func ruleSocketCreated(c *labCase) {
	fs, ok := c.firstSeen()
	if !ok {
		return
	}
	c.expectNone("socket-created", fmt.Sprintf("server socket first seen %s at %s", fs.State, fs.T.Format(time.StampMicro)),
		flowstate.LabelSynAckRetriesExhausted, flowstate.LabelRstOnOverflow)
}

// ruleAbortOff: tcp_abort_on_overflow=0. The server never answers an
// overflow with a reset (tcp_check_req sets inet_rsk(req)->acked and drops
// the ACK instead), and the lab's server never resets a connection it has
// not accepted: no rst-on-overflow.
func ruleAbortOff(c *labCase) {
	if c.sysctl("tcp_abort_on_overflow") != "0" {
		return
	}
	c.expectNone("abort-off", "tcp_abort_on_overflow=0", flowstate.LabelRstOnOverflow)
}

// labIsClean reports whether the truth shows a connection the listen
// queues never touched, and why: connect() succeeded without needing a
// second SYN; the server socket was first seen established within
// labPrompt of the client's handshake ACK on the wire (so that ACK created
// it); the application either accepted it and its first read was
// consistent with what the client sent (data if the client wrote before
// the accept; otherwise data, EOF or a timeout), or never accepted it and
// it waited in the queue; no reset on either side, no write error.
func labIsClean(c *labCase) (string, bool) {
	if !c.connected() || c.connectMS() >= float64(labSynRTO)/1e6 {
		return "", false
	}
	ack, ok := c.ackTime()
	if !ok {
		return "", false
	}
	// Queued at once: ss saw the socket established soon after the ACK,
	// or, when a busy machine delayed ss's polls, the wire shows it: the
	// client's first data followed its ACK promptly and the server
	// acknowledged that data promptly (a request in SYN-RECEIVED
	// acknowledges nothing).
	fs, seen := c.firstSeen()
	ssPrompt := seen && fs.State == "ESTAB" && fs.T.Sub(ack) <= labPrompt
	wirePrompt := c.hs != nil && c.hs.ClientFirstData != 0 && c.hs.ServerFirstAck != 0 &&
		time.Duration(c.hs.ClientFirstData-ack.UnixNano()) <= labPrompt &&
		time.Duration(c.hs.ServerFirstAck-c.hs.ClientFirstData) >= 0 &&
		time.Duration(c.hs.ServerFirstAck-c.hs.ClientFirstData) <= labPrompt
	if !ssPrompt && !wirePrompt {
		return "", false
	}
	if c.cl.ResetSeen || c.cl.Close == "rst" || (c.cl.Reply != nil && c.cl.Reply.End == "reset") {
		return "", false
	}
	for _, s := range c.cl.Sends {
		if s.Error != "" {
			return "", false
		}
	}
	why := fmt.Sprintf("connect %.1f ms, server socket ESTAB %s after the handshake ACK, no reset", c.connectMS(), labMS(fs.T.Sub(ack)))
	if !ssPrompt {
		why = fmt.Sprintf("connect %.1f ms, the server acknowledged the client's first data %s after it, no reset", c.connectMS(),
			labMS(time.Duration(c.hs.ServerFirstAck-c.hs.ClientFirstData)))
	}
	if a := c.accept(); a != nil {
		if a.ReplyError != "" || a.FirstRead == "reset" {
			return "", false
		}
		wrote := len(c.cl.Sends) > 0 && c.time(c.cl.Sends[0].T).Before(c.time(a.T))
		if wrote && a.FirstRead != "data" {
			return "", false
		}
		why += ", accepted, first read " + a.FirstRead
	} else {
		why += ", queued and never accepted"
	}
	return why, true
}

// ruleClean: the truth shows the listen queues never touched the
// connection (labIsClean): none of the listen-queue labels. A SYN cookie
// is the exception unless syncookies are off: with tcp_syncookies=2 every
// SYN-ACK is one, and with 1 a connection can get one and go through (its
// ACK finding room in the accept queue) without ss or the client seeing
// anything; syncookie-suspected says the SYN-ACK was a cookie, not that
// the connection suffered.
func ruleClean(c *labCase) {
	why, ok := labIsClean(c)
	if !ok {
		return
	}
	bad := labQueueLabels
	if c.sysctl("tcp_syncookies") != "0" {
		bad = slices.DeleteFunc(slices.Clone(bad), func(l flowstate.Label) bool { return l == flowstate.LabelSynCookieSuspected })
	}
	c.expectNone("clean", why, bad...)
}

// labScenario loads one scenario's truth.
func labScenario(t *testing.T, path string) *labTruth {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tr labTruth
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(tr.Clients) == 0 {
		t.Fatalf("%s: no clients", path)
	}
	return &tr
}

// labFlow is what the rules read of a finished flow, copied in emit: a
// run without Options.Record recycles the *Flow once emit returns.
type labFlow struct {
	Client                                netip.AddrPort
	Labels                                flowstate.Labels
	SynTime, SynAckTime, HandshakeAckTime int64
	ClientSYNs, ServerSYNs                int
	ClientSYNTimes, ClientFINTimes        []int64
	ServerSYNTimes                        []int64
	// Wire facts, read off the packets, not the analysis: the client's
	// first payload, and the server's first segment (not a SYN-ACK) that
	// acknowledged anything of the client's beyond its SYN: a request in
	// SYN-RECEIVED acknowledges nothing, so by then the socket existed.
	ClientFirstData, ServerFirstAck int64
	RepliesMissing                  bool
}

// labRun analyses one capture and returns its flows.
// labReaders opens path, or the files "dir/a.pcap+b.pcap" names (a
// merged run of two vantage points).
func labReaders(t *testing.T, path string) []*CaptureReader {
	t.Helper()
	dir, base := filepath.Split(path)
	var rs []*CaptureReader
	for i, name := range strings.Split(base, "+") {
		r, err := Open(filepath.Join(dir, name), i)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		rs = append(rs, r)
	}
	return rs
}

// labMerged is the capture name of the merged run of a scenario's two
// captures.
const labMerged = "server.pcap+client.pcap"

func labRun(t *testing.T, path string) []*labFlow {
	t.Helper()
	var flows []*labFlow
	if _, err := Run(context.Background(), labReaders(t, path), Options{Record: true}, func(f *Flow) error {
		cep := &f.EP[flowstate.Client]
		lf := &labFlow{
			Client: f.Client, Labels: f.Labels, RepliesMissing: f.RepliesMissing,
			SynTime: f.SynTime, SynAckTime: f.SynAckTime, HandshakeAckTime: f.HandshakeAckTime,
			ClientSYNs: cep.SYNs, ServerSYNs: f.EP[flowstate.Server].SYNs,
			ServerSYNTimes: slices.Clone(f.EP[flowstate.Server].SYNTimes),
			ClientSYNTimes: slices.Clone(cep.SYNTimes), ClientFINTimes: slices.Clone(cep.FINTimes),
		}
		for _, p := range f.Packets {
			switch {
			case p.From == flowstate.Client && p.Len > 0 && lf.ClientFirstData == 0:
				lf.ClientFirstData = p.Time
			case p.From == flowstate.Server && p.Flags&(flowstate.SYN|flowstate.RST) == 0 && p.Flags&flowstate.ACK != 0 &&
				p.Ack > 1 && lf.ServerFirstAck == 0:
				lf.ServerFirstAck = p.Time
			}
		}
		flows = append(flows, lf)
		return nil
	}); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return flows
}

// labCases matches the flows to the truth's clients by the client's
// address and port.
func labCases(t *testing.T, tr *labTruth, flows []*labFlow) []*labCase {
	t.Helper()
	byClient := map[netip.AddrPort][]*labFlow{}
	for _, f := range flows {
		byClient[f.Client] = append(byClient[f.Client], f)
	}
	var cases []*labCase
	known := map[netip.AddrPort]bool{}
	for i := range tr.Clients {
		cl := &tr.Clients[i]
		ap, err := netip.ParseAddrPort(cl.Local)
		if err != nil {
			t.Fatalf("truth client %q: %v", cl.Local, err)
		}
		known[ap] = true
		fs := byClient[ap]
		if len(fs) == 0 {
			t.Errorf("client %s: no flow in the capture (truth: connect %s)", cl.Local, labConnect(cl))
			continue
		}
		c := &labCase{t: t, tr: tr, cl: cl, flows: fs}
		for _, f := range fs {
			c.labels |= f.Labels
			if c.hs == nil && f.SynTime != 0 {
				c.hs = f
			}
		}
		if len(fs) > 1 {
			t.Logf("client %s: %d flows; their labels are taken together", cl.Local, len(fs))
		}
		cases = append(cases, c)
	}
	for ap, fs := range byClient {
		if !known[ap] {
			t.Logf("flow of %s matches no truth client (labels [%s])", ap, fs[0].Labels)
		}
	}
	return cases
}

func labConnect(cl *labClient) string {
	if cl.ConnectMS != nil {
		return strconv.FormatFloat(*cl.ConnectMS, 'f', 1, 64) + " ms"
	}
	return strconv.Quote(cl.ConnectError)
}

// labScenarioChecks are the scenario-level cross-checks of the flows'
// labels against the server's nstat counters (absolute, read at the end of
// the run: each counts at least what the capture shows).
func labScenarioChecks(t *testing.T, tr *labTruth, flows []*labFlow) {
	t.Helper()
	count := func(l flowstate.Label) int {
		n := 0
		for _, f := range flows {
			if f.Labels.Has(l) {
				n++
			}
		}
		return n
	}
	forbid := func(counter string, ls ...flowstate.Label) {
		t.Helper()
		for _, f := range flows {
			for _, l := range ls {
				if f.Labels.Has(l) {
					t.Errorf("client %s: rule nstat: truth: %s=0; want none of %s; labels found: [%s]", f.Client, counter, labLabelList(ls), f.Labels)
					break
				}
			}
		}
	}
	n := func(name string) int64 {
		v, ok := tr.Nstat[name]
		if !ok {
			t.Errorf("truth nstat has no %s", name)
		}
		return v
	}

	// Every overflow label stems from syn_recv_sock (or the cookie path's
	// tcp_get_cookie_sock) failing on a full accept queue, which counts
	// ListenOverflows: with it 0, no handshake ACK, data or FIN was
	// dropped for a full queue. (A SYN cookie is the SYN queue's, counted
	// in SyncookiesSent below.)
	if n("TcpExtListenOverflows") == 0 {
		forbid("TcpExtListenOverflows", flowstate.LabelSynAckAfterAck, flowstate.LabelDataWhileSynRecv,
			flowstate.LabelRstOnOverflow, flowstate.LabelFinBeforeQueued, flowstate.LabelGhostConnection)
	}
	// The lab's veth loses nothing and its tbf (latency 20 s) drops no
	// frame it accepted: without a firewall or a router dropping SYNs or
	// SYN-ACKs, a SYN disappears only in the listener, and every listener
	// drop (full accept queue, full SYN queue) counts ListenDrops.
	if n("TcpExtListenDrops") == 0 && tr.Firewall == "" && !tr.pathDropped("c2s", "S") && !tr.pathDropped("s2c", "S.") {
		forbid("TcpExtListenDrops", flowstate.LabelSynDropped, flowstate.LabelSynUnanswered)
	}
	// TCPSynRetrans on the server counts its SYN-ACK retransmissions
	// (tcp_rtx_synack): every flow showing one is counted at least once.
	if v := n("TcpExtTCPSynRetrans"); int64(count(flowstate.LabelSynAckRetransmit)) > v {
		t.Errorf("rule nstat: truth: TcpExtTCPSynRetrans=%d; %d flows carry synack-retransmit", v, count(flowstate.LabelSynAckRetransmit))
	} else if v == 0 {
		forbid("TcpExtTCPSynRetrans", flowstate.LabelSynAckRetransmit, flowstate.LabelSynAckAfterAck)
	}
	// With tcp_syncookies=2 every SYN-ACK is a cookie; the timestamp
	// fingerprint (ruleSynCookieSuspected) misses about one in sixteen, so
	// at least half of the flows whose data the server acknowledged must
	// be recognised. With 0, none may be.
	switch tr.Sysctls["net.ipv4.tcp_syncookies"] {
	case "2":
		acked := 0
		for _, f := range flows {
			if f.ServerFirstAck != 0 && f.ClientFirstData != 0 {
				acked++
			}
		}
		if got := count(flowstate.LabelSynCookieSuspected); 2*got < acked {
			t.Errorf("rule cookies-forced: truth: tcp_syncookies=2, %d flows had data acknowledged; %d carry syncookie-suspected, want at least half", acked, got)
		}
	case "0":
		forbid("tcp_syncookies=0", flowstate.LabelSynCookieSuspected)
	}
	// A cookie flow got at least one cookie SYN-ACK (SyncookiesSent).
	// Without cookies, a request whose SYN-ACK went unanswered is
	// retransmitted by its timer unless tcp_synack_retries=0 (the label's
	// documented look-alike).
	if v := n("TcpExtSyncookiesSent"); int64(count(flowstate.LabelSynCookieSuspected)) > v {
		t.Errorf("rule nstat: truth: TcpExtSyncookiesSent=%d; %d flows carry syncookie-suspected", v, count(flowstate.LabelSynCookieSuspected))
	}
	// EmbryonicRsts counts every embryonic_reset in tcp_check_req: one
	// per request reset on overflow with tcp_abort_on_overflow=1 (the
	// request is dropped with it, so later segments get the listener's
	// RST, OutRsts, not another embryonic one), and one per client RST
	// that hit a request. So, with abort_on_overflow=1, the rst-on-overflow
	// flows number at most EmbryonicRsts and at least EmbryonicRsts less
	// the clients that closed with RST.
	if tr.Sysctls["net.ipv4.tcp_abort_on_overflow"] == "1" {
		e := n("TcpExtEmbryonicRsts")
		rstClients := 0
		for _, cl := range tr.Clients {
			if cl.Close == "rst" {
				rstClients++
			}
		}
		if got := int64(count(flowstate.LabelRstOnOverflow)); got > e || got < e-int64(rstClients) {
			t.Errorf("rule nstat: truth: tcp_abort_on_overflow=1, TcpExtEmbryonicRsts=%d, %d clients closed with RST; %d flows carry rst-on-overflow, want %d..%d",
				e, rstClients, got, max(0, e-int64(rstClients)), e)
		}
	}
}

// labOverflowCounters are the server counters that move when a listen
// queue overflows or a request is reset.
var labOverflowCounters = []string{
	"TcpExtListenOverflows", "TcpExtListenDrops", "TcpExtTCPReqQFullDrop",
	"TcpExtTCPReqQFullDoCookies", "TcpExtSyncookiesSent", "TcpExtEmbryonicRsts",
}

func TestLabTruth(t *testing.T) {
	paths, err := filepath.Glob("../testdata/lab/*/truth.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no ../testdata/lab/*/truth.json")
	}
	negativeControls := 0
	for _, path := range paths {
		dir := filepath.Dir(path)
		name := filepath.Base(dir)
		tr := labScenario(t, path)
		for _, capture := range []string{"server.pcap", "client.pcap", labMerged} {
			t.Run(name+"/"+capture, func(t *testing.T) {
				flows := labRun(t, filepath.Join(dir, capture))
				cases := labCases(t, tr, flows)
				clean := 0
				for _, c := range cases {
					c.t = t
					for _, r := range labFlowRules {
						r.fn(c)
					}
					if slices.Contains(c.fired, "clean") {
						clean++
					}
					asserted := slices.DeleteFunc(slices.Compact(slices.Clone(c.fired)), func(s string) bool {
						return s == "abort-off" || s == "socket-created" || s == "no-server-socket"
					})
					if len(asserted) == 0 {
						t.Logf("client %s: no positive rule and not clean (labels [%s], connect %s)", c.cl.Local, c.labels, labConnect(c.cl))
					} else {
						t.Logf("client %s: rules %s; labels [%s]", c.cl.Local, strings.Join(slices.Compact(c.fired), ","), c.labels)
					}
				}
				labScenarioChecks(t, tr, flows)

				// A scenario in which the truth shows every client clean is
				// a negative control: its overflow counters must be 0 and
				// the analysis must put no label at all on any flow. (A
				// SYN flood's clients can all be clean while the flood
				// fills the SYN queue: not a control.)
				if clean == len(tr.Clients) && len(tr.Flood) == 0 {
					negativeControls++
					for _, k := range labOverflowCounters {
						if tr.Nstat[k] != 0 {
							t.Errorf("rule negative-control: every client clean, but truth nstat %s=%d", k, tr.Nstat[k])
						}
					}
					var allowed flowstate.Labels
					stall, stalls := labStallScenarios[name]
					if stalls {
						allowed = allowed.Add(stall)
					}
					for _, f := range flows {
						if f.Labels&^allowed != 0 {
							t.Errorf("client %s: rule negative-control: every client clean; want no label but [%s]; labels found: [%s]", f.Client, allowed, f.Labels)
						}
						if stalls && !f.Labels.Has(stall) {
							t.Errorf("client %s: rule stall: the scenario stalls every connection; want %s; labels found: [%s]", f.Client, stall, f.Labels)
						}
					}
				}
			})
		}
	}
	// The lab must keep its negative control (healthy): without one the
	// clean rule would never be tested against a whole capture.
	if negativeControls == 0 {
		t.Error("no scenario has every client clean: the lab lost its negative control")
	}
}

// TestLabListeners checks each scenario's listener view against the
// server's own counters and the scenario's backlog, on both captures:
//   - no overflow episode, and no overflowing verdict, where the kernel
//     counted neither ListenOverflows (accept queue: tcp_check_req ->
//     syn_recv_sock, tcp_conn_request's sk_acceptq_is_full) nor
//     TCPReqQFullDrop or SyncookiesSent (SYN queue:
//     inet_csk_reqsk_queue_is_full);
//   - an accept-queue episode where ListenOverflows moved, a SYN-queue one
//     where TCPReqQFullDrop or SyncookiesSent did (the lab's captures hold
//     every packet of the server's port);
//   - the accept queue's capacity, when given, is the backlog + 1, and it
//     is given wherever ListenOverflows moved.
func TestLabListeners(t *testing.T) {
	paths, err := filepath.Glob("../testdata/lab/*/truth.json")
	if err != nil || len(paths) == 0 {
		t.Fatal("no ../testdata/lab/*/truth.json", err)
	}
	for _, path := range paths {
		dir := filepath.Dir(path)
		tr := labScenario(t, path)
		server, err := netip.ParseAddrPort(tr.Server)
		if err != nil {
			t.Fatalf("%s: server %q: %v", path, tr.Server, err)
		}
		for _, capture := range []string{"server.pcap", "client.pcap", labMerged} {
			t.Run(filepath.Base(dir)+"/"+capture, func(t *testing.T) {
				sum := labSummary(t, filepath.Join(dir, capture))
				var l *Listener
				for _, x := range sum.Listeners {
					if x.Server == server {
						l = x
					}
				}
				if l == nil {
					t.Fatalf("no listener %s", server)
				}
				queues := map[Queue]bool{}
				for _, e := range l.Episodes {
					queues[e.Queue] = true
				}
				ov, qf, cs := tr.Nstat["TcpExtListenOverflows"], tr.Nstat["TcpExtTCPReqQFullDrop"], tr.Nstat["TcpExtSyncookiesSent"]
				if tr.ServerCaptureDirection != "" && capture == "server.pcap" {
					// A capture of one direction only: the analysis must say
					// so, call the listener neither silent nor overflowing
					// (the evidence needs the server's replies), and give no
					// label that needs them.
					if sum.RepliesMissingFlows == 0 || l.RepliesMissingFlows == 0 {
						t.Errorf("a capture of the %s direction only, but no flow is flagged as missing the server's replies", tr.ServerCaptureDirection)
					}
					if l.Verdict == VerdictSilent || l.Verdict == VerdictOverflowing {
						t.Errorf("one-sided capture: verdict %s", l.Verdict)
					}
					return
				}
				t.Logf("verdict %s %q; episodes %v; capacity %d (%s); nstat ListenOverflows=%d TCPReqQFullDrop=%d SyncookiesSent=%d",
					l.Verdict, l.VerdictEvidence, queues, l.AcceptQueueCapacity, l.CapacityEvidence, ov, qf, cs)
				if ov == 0 && qf == 0 && cs == 0 && l.Verdict == VerdictOverflowing {
					t.Errorf("verdict overflowing, but the kernel counted no overflow")
				}
				if ov == 0 && queues[QueueAccept] {
					t.Errorf("accept-queue episode, but ListenOverflows=0")
				}
				if qf == 0 && cs == 0 && queues[QueueSYN] {
					t.Errorf("SYN-queue episode, but TCPReqQFullDrop=0 and SyncookiesSent=0")
				}
				if ov > 0 && !queues[QueueAccept] {
					t.Errorf("ListenOverflows=%d, but no accept-queue episode", ov)
				}
				if (qf > 0 || cs > 0) && !queues[QueueSYN] {
					t.Errorf("TCPReqQFullDrop=%d SyncookiesSent=%d, but no SYN-queue episode", qf, cs)
				}
				if c := l.AcceptQueueCapacity; c != 0 && c != tr.Backlog+1 {
					t.Errorf("accept queue capacity %d, want the backlog %d + 1", c, tr.Backlog)
				}
				if c := l.AcceptQueueCapacity; c > 0 && l.PeakAcceptQueue.N < c {
					t.Errorf("the accept queue's peak %d is below its measured capacity %d", l.PeakAcceptQueue.N, c)
				}
				if ov > 0 && l.AcceptQueueCapacity == 0 {
					t.Errorf("ListenOverflows=%d, but the capacity is withheld: %s", ov, l.CapacityEvidence)
				}
				// The counters the capture reconciles, on the server's own
				// capture (the client's may miss what the server dropped
				// late): within 5% (or 1) of the kernel's.
				if capture == "server.pcap" {
					for c := Counter(0); c < NumCounters; c++ {
						k, ok := tr.Nstat[c.String()]
						if !ok {
							continue
						}
						got := l.Counts[c]
						short := max(1, k/20)
						if c == CounterSyncookiesSent {
							// The cookie fingerprint misses a cookie whose
							// timestamp lag is under 4 ms (ruleSynCookieSuspected):
							// one in 16, so allow that many, and three
							// standard deviations more.
							short = max(short, int64(float64(k)/16+3*math.Sqrt(float64(k)/16)+0.5))
						}
						if d := got - k; d > max(1, k/20) || -d > short {
							t.Errorf("%s: the capture shows %d, the kernel counted %d", c, got, k)
						} else {
							t.Logf("%s: capture %d, kernel %d", c, got, k)
						}
					}
				}
			})
		}
	}
}

// labSummary analyses one capture for its listener views.
func labSummary(t *testing.T, path string) *Summary {
	t.Helper()
	sum, err := Run(context.Background(), labReaders(t, path), Options{}, func(*Flow) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// TestLabVerdicts checks every listener's verdict against what the truth
// says of the connections to it: all refused (nothing listened on the
// port) is refused; all timed out behind the scenario's firewall is
// silent; a kernel that counted no overflow and connections that got
// through is serving. On both captures.
func TestLabVerdicts(t *testing.T) {
	paths, _ := filepath.Glob("../testdata/lab/*/truth.json")
	checked := map[Verdict]int{}
	for _, path := range paths {
		dir := filepath.Dir(path)
		tr := labScenario(t, path)
		byServer := map[string][]*labClient{}
		for i := range tr.Clients {
			cl := &tr.Clients[i]
			srv := cl.Server
			if srv == "" {
				srv = tr.Server
			}
			byServer[srv] = append(byServer[srv], cl)
		}
		for _, capture := range []string{"server.pcap", "client.pcap", labMerged} {
			if tr.ServerCaptureDirection != "" && capture == "server.pcap" {
				continue // one direction: TestLabListeners checks it
			}
			sum := labSummary(t, filepath.Join(dir, capture))
			for _, l := range sum.Listeners {
				cls := byServer[l.Server.String()]
				if len(cls) == 0 {
					continue // a flood's or a flow of no truth client
				}
				refused, timedOut, connected := 0, 0, 0
				for _, cl := range cls {
					switch {
					case cl.ConnectError == "refused":
						refused++
					case strings.HasPrefix(cl.ConnectError, "timeout"):
						timedOut++
					case cl.ConnectMS != nil:
						connected++
					}
				}
				var want Verdict
				switch {
				case refused == len(cls):
					want = VerdictRefused
				case timedOut == len(cls) && tr.Firewall != "" && strings.Contains(tr.Firewall, fmt.Sprintf("dport %d ", l.Server.Port())):
					want = VerdictSilent
				case connected > 0 && tr.Nstat["TcpExtListenOverflows"] == 0 && tr.Nstat["TcpExtTCPReqQFullDrop"] == 0 && tr.Nstat["TcpExtSyncookiesSent"] == 0:
					want = VerdictServing
				default:
					continue
				}
				checked[want]++
				if l.Verdict != want {
					t.Errorf("%s/%s: listener %s: verdict %s (%q), want %s (truth: %d connections, %d refused, %d timed out, %d connected)",
						filepath.Base(dir), capture, l.Server, l.Verdict, l.VerdictEvidence, want, len(cls), refused, timedOut, connected)
				}
			}
		}
	}
	for _, v := range []Verdict{VerdictRefused, VerdictSilent, VerdictServing} {
		if checked[v] == 0 {
			t.Errorf("no lab listener checked for verdict %s: the lab lost its look-alike", v)
		}
	}
}
