package analyze

import (
	"context"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// zeroOffer is how a flow note offers tcp_synack_retries=0 as the
// look-alike of a SYN cookie found by its missing retransmission.
const zeroOffer = "tcp_synack_retries=0"

// synAckZeroRun analyses captures as one run and returns, per listener,
// the flows whose notes offer tcp_synack_retries=0, the flows whose
// SYN-ACK the request timer demonstrably resent, and the listeners.
// The timer's resend is read off the wire, not the analysis: a second
// SYN-ACK copy in a flow whose client sent one SYN (so it answers no
// retransmitted SYN), at least 900 ms after it (the timer's first
// expiry is 1 s), in a flow that does not show TCP_DEFER_ACCEPT.
func synAckZeroRun(t *testing.T, paths []string, match func(*flowstate.Segment) bool) (offers, resent map[netip.AddrPort]int, ls map[netip.AddrPort]*Listener) {
	t.Helper()
	var readers []*CaptureReader
	for i, p := range paths {
		r, err := Open(p, i)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		readers = append(readers, r)
	}
	offers, resent = map[netip.AddrPort]int{}, map[netip.AddrPort]int{}
	sum, err := Run(context.Background(), readers, Options{Record: true, Match: match}, func(f *Flow) error {
		for _, n := range f.Notes {
			if strings.Contains(n, zeroOffer) {
				offers[f.Server]++
				break
			}
		}
		c, s := &f.EP[flowstate.Client], &f.EP[flowstate.Server]
		if len(c.SYNTimes) == 1 && len(s.SYNTimes) > 1 && s.SYNTimes[1]-c.SYNTimes[0] >= 900e6 && !f.Labels.Has(flowstate.LabelDeferAccept) {
			resent[f.Server]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ls = map[netip.AddrPort]*Listener{}
	for _, l := range sum.Listeners {
		ls[l.Server] = l
	}
	return offers, resent, ls
}

// No flow note offers tcp_synack_retries=0 at a listener whose request
// timer resent a SYN-ACK in another flow (lab burst-slow-accept and
// synflood-cookies: SYN cookies found by their missing retransmission
// beside requests the timer retried), and the listener's inferred
// tcp_synack_retries, the one decider, rules it out; on every lab
// capture.
func TestSynAckRetriesZeroRuledOut(t *testing.T) {
	paths, _ := filepath.Glob("../testdata/lab/*/*.pcap")
	if len(paths) == 0 {
		t.Fatal("no lab captures")
	}
	suspects, bounded := 0, 0
	for _, p := range paths {
		offers, resent, ls := synAckZeroRun(t, []string{p}, nil)
		// The bound holds against the sysctl the lab set (no lab server
		// sets TCP_SYNCNT).
		truth, err := strconv.Atoi(labScenario(t, filepath.Join(filepath.Dir(p), "truth.json")).Sysctls["net.ipv4.tcp_synack_retries"])
		if err != nil {
			t.Fatalf("%s: truth has no tcp_synack_retries: %v", p, err)
		}
		for _, l := range ls {
			if in, ok := l.Setting(SysctlSynAckRetries); ok {
				bounded++
				if in.least > truth {
					t.Errorf("%s: listener %s: tcp_synack_retries %s, but the lab set %d", p, l.Server, in.Value, truth)
				}
			}
		}
		for srv, n := range resent {
			l := ls[srv]
			if l == nil {
				t.Fatalf("%s: no listener %s", p, srv)
			}
			if !l.RulesOutSynAckRetriesZero() {
				t.Errorf("%s: listener %s: the timer resent SYN-ACKs in %d flows, but its settings do not rule out tcp_synack_retries=0: %v", p, srv, n, l.Settings)
			}
			if offers[srv] > 0 {
				t.Errorf("%s: listener %s: the timer resent SYN-ACKs in %d flows, yet %d flow notes offer %s", p, srv, n, offers[srv], zeroOffer)
			}
			if in, ok := l.Setting(SysctlSyncookies); ok && strings.Contains(in.String(), zeroOffer) {
				t.Errorf("%s: listener %s: inferred tcp_syncookies %q names %s, which the timer rules out", p, srv, in, zeroOffer)
			}
			if alts := episodeAlternatives(l); strings.Contains(alts, zeroOffer) {
				t.Errorf("%s: listener %s: an episode names %s, which the timer rules out: %s", p, srv, zeroOffer, alts)
			}
			if l.LabelFlows[flowstate.LabelSynCookieSuspected] > 0 {
				suspects++
			}
		}
	}
	if bounded == 0 {
		t.Error("no lab listener bounds tcp_synack_retries")
	}
	if suspects < 2 {
		t.Errorf("only %d lab captures hold SYN cookies beside a retrying timer: the test lost its case", suspects)
	}
}

// Where nothing rules it out, tcp_synack_retries=0 is still offered:
// lab burst-slow-accept's flow of port 41012 alone (its cookie has no
// fingerprint, only a missing retransmission), whose listener then shows
// no SYN-ACK resent. Read before the flood of lab synflood-cookies, at
// the same address (one run), the flood's flows finish later and rule
// it out: the note, written first, stands, and the listener says that
// a later flow ruled it out (zeroOfferedNote).
func TestSynAckRetriesZeroOffered(t *testing.T) {
	burst := "../testdata/lab/burst-slow-accept/server.pcap"
	flood := "../testdata/lab/synflood-cookies/server.pcap"
	only41012 := func(s *flowstate.Segment) bool { return s.File != 0 || s.SrcPort == 41012 || s.DstPort == 41012 }
	srv := netip.MustParseAddrPort("10.77.0.1:8000")

	offers, resent, ls := synAckZeroRun(t, []string{burst}, only41012)
	l := ls[srv]
	if l == nil || l.Flows != 1 {
		t.Fatalf("want one flow at %s: %v", srv, l)
	}
	if resent[srv] != 0 || offers[srv] != 1 {
		t.Fatalf("alone: %d flows resent, %d notes offer %s; want 0 and 1", resent[srv], offers[srv], zeroOffer)
	}
	if l.RulesOutSynAckRetriesZero() {
		t.Errorf("alone: the listener rules out tcp_synack_retries=0: %v", l.Settings)
	}
	in, ok := l.Setting(SysctlSyncookies)
	if !ok || !strings.Contains(in.Evidence, zeroOffer) || in.Value == "1 or 2" {
		t.Errorf("alone: inferred tcp_syncookies %q (%v) does not name the look-alike %s", in, ok, zeroOffer)
	}
	for _, n := range l.Notes {
		if strings.Contains(n, "rules it out") {
			t.Errorf("alone: listener note %q", n)
		}
	}
	if alts := episodeAlternatives(l); !strings.Contains(alts, zeroOffer) {
		t.Errorf("alone: the SYN-queue episode's alternatives do not name %s: %s", zeroOffer, alts)
	}

	offers, resent, ls = synAckZeroRun(t, []string{burst, flood}, only41012)
	l = ls[srv]
	if resent[srv] == 0 || offers[srv] != 1 || !l.RulesOutSynAckRetriesZero() {
		t.Fatalf("with the flood: %d flows resent, %d notes offer %s, ruled out %v; want some, 1, true", resent[srv], offers[srv], zeroOffer, l.RulesOutSynAckRetriesZero())
	}
	found := false
	for _, n := range l.Notes {
		if strings.HasPrefix(n, "the notes of 1 flow offered "+zeroOffer) && strings.Contains(n, "rules it out") {
			found = true
		}
	}
	if !found {
		t.Errorf("with the flood: no listener note corrects the note written first: %q", l.Notes)
	}
	if in, _ := l.Setting(SysctlSyncookies); strings.Contains(in.String(), zeroOffer) {
		t.Errorf("with the flood: inferred tcp_syncookies %q", in)
	}
	if alts := episodeAlternatives(l); strings.Contains(alts, zeroOffer) {
		t.Errorf("with the flood: an episode names %s: %s", zeroOffer, alts)
	}
}

// episodeAlternatives joins the alternatives of every episode of l.
func episodeAlternatives(l *Listener) string {
	var all []string
	for _, e := range l.Episodes {
		all = append(all, e.Alternatives...)
	}
	return strings.Join(all, "; ")
}

// The deciders, from counts: the bound is the larger of the exhausted
// and resent counts, 0 only is never ruled out, and the correction note
// appears only when notes offered what the listener rules out.
func TestSynAckRetriesDeciders(t *testing.T) {
	for _, c := range []struct {
		timer   synAckTimer
		value   string
		offered bool
	}{
		{synAckTimer{}, "", true},
		{synAckTimer{exhausted: 5}, ">= 5", false},
		{synAckTimer{resent: 2}, ">= 2", false},
		{synAckTimer{exhausted: 2, resent: 4}, ">= 4", false},
	} {
		in, ok := inferSynAckRetries(c.timer)
		if in.Value != c.value || ok != (c.value != "") {
			t.Errorf("%+v: %q %v, want %q", c.timer, in.Value, ok, c.value)
		}
		clause, offered := synAckRetriesZero(in, ok)
		if offered != c.offered || strings.Contains(clause, zeroOffer) != c.offered {
			t.Errorf("%+v: clause %q offered %v, want %v", c.timer, clause, offered, c.offered)
		}
		if n := zeroOfferedNote(3, in, ok); (n != "") == c.offered {
			t.Errorf("%+v: note %q", c.timer, n)
		}
		if n := zeroOfferedNote(0, in, ok); n != "" {
			t.Errorf("%+v: note %q with no offer", c.timer, n)
		}
	}
}

// The reconciliation's SyncookiesSent row, when the capture shows more
// cookies than the kernel counted, offers tcp_synack_retries=0 as a
// fingerprint's look-alike only while a listener with cookies does not
// rule it out (synAckRetriesZero): lab synflood-cookies, whose timer
// resent SYN-ACKs, against a kernel count of 1, and the same listener
// with its settings taken away.
func TestReconcileCookiesZero(t *testing.T) {
	sum := labSummary(t, "../testdata/lab/synflood-cookies/server.pcap")
	k, err := ParseKernelStats("nstat.txt", []byte(nstatText(map[string]int64{"TcpExtSyncookiesSent": 1})))
	if err != nil {
		t.Fatal(err)
	}
	row := func() string {
		for _, r := range (&KernelEvidence{Counters: k}).Reconcile(sum).Counters {
			if r.Counter == CounterSyncookiesSent {
				return r.Note
			}
		}
		t.Fatal("no SyncookiesSent row")
		return ""
	}
	if n := row(); strings.Contains(n, zeroOffer+",") || !strings.Contains(n, "ruled out") {
		t.Errorf("the timer resent SYN-ACKs, yet: %s", n)
	}
	for _, l := range sum.Listeners {
		l.Settings = nil
	}
	if n := row(); !strings.Contains(n, "("+zeroOffer+",") {
		t.Errorf("nothing rules it out, yet: %s", n)
	}
}
