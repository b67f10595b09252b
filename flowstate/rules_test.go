package flowstate

import "testing"

// The look-alikes each rule must refuse, as segment literals: shapes the
// capture lab records on a real kernel too (analyze's lab tests), here
// reduced to the packets that decide. Times in milliseconds; a capture at
// the client sees SYN -> SYN-ACK take the round trip (10 ms here) and
// SYN-ACK -> ACK none; at the server it is the other way round.

// A lost SYN-ACK seen from the client: the first SYN-ACK never arrives,
// the client's retransmitted SYN is held on the path, and the server's
// timer copy and its answer to that SYN both leave before the client's
// ACK arrives. At the client the answer follows the ACK by microseconds:
// not synack-after-ack, and nothing was ignored.
func TestLostSynAckFromTheClientIsNotAfterAck(t *testing.T) {
	s := newScript(t, 100, 900)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(1000, Client, S, 0, 0, 0)    // held on the path
	s.seg(1010, Server, SA, 0, 1, 0)   // the timer's copy (the first was lost)
	s.seg(1010.05, Client, A, 1, 1, 0) // the client's ACK of it
	s.seg(1010.1, Server, SA, 0, 1, 0) // the answer to the held SYN, sent before the ACK arrived
	s.seg(1010.15, Client, A, 1, 1, 0)
	s.seg(1011, Client, PA, 1, 1, 20)
	s.seg(1021, Server, A, 1, 21, 0)
	s.finish(2000)
	s.flowLabels("syn-dropped", "synack-retransmit")
	checkTransitions(t, s.f)
}

// TCP_DEFER_ACCEPT (3 s): the bare ACK is held on purpose, the SYN-ACK is
// resent only late in the deferral (no copy at the timer's 1 s expiry),
// and the first data is acknowledged at once: defer-accept, no
// synack-after-ack, nothing ignored.
func TestDeferAccept(t *testing.T) {
	s := newScript(t, 10, 20)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(0.05, Server, SA, 0, 1, 0)
	s.seg(10, Client, A, 1, 1, 0)
	s.seg(3000, Server, SA, 0, 1, 0)
	s.seg(3010, Client, A, 1, 1, 0)
	s.seg(4000, Client, PA, 1, 1, 20)
	s.seg(4000.05, Server, A, 1, 21, 0)
	s.finish(5000)
	s.flowLabels("synack-retransmit", "defer-accept")
	s.expect(3, []string{"synack-retransmit", "defer-accept"}, EST, StateSynReceivedAckIgnored)
	s.expect(5, nil, EST, EST)
	if !s.f.FirstDataPrompt {
		t.Error("FirstDataPrompt not set")
	}
	checkTransitions(t, s.f)
}

// The same with a resend at the timer's first expiry: an accept queue full
// at the ACK that freed before the data looks the same (and so does a 1 s
// deferral): synack-after-ack stays, FirstDataPrompt lets the wording name
// the alternative.
func TestSynAckAfterAckThenPromptDataIsNotDefer(t *testing.T) {
	s := newScript(t, 10, 20)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(0.05, Server, SA, 0, 1, 0)
	s.seg(10, Client, A, 1, 1, 0)
	s.seg(1000, Server, SA, 0, 1, 0)
	s.seg(1010, Client, A, 1, 1, 0)
	s.seg(2000, Client, PA, 1, 1, 20)
	s.seg(2000.05, Server, A, 1, 21, 0)
	s.finish(5000)
	s.flowLabels("synack-retransmit", "synack-after-ack")
	if !s.f.FirstDataPrompt {
		t.Error("FirstDataPrompt not set")
	}
	checkTransitions(t, s.f)
}

// An application that accepts and closes with SO_LINGER {1,0} sends R.
// (ACK set): app-reset, not rst-on-overflow.
func TestAppResetIsNotOverflowReset(t *testing.T) {
	s := newScript(t, 10, 20)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(0.05, Server, SA, 0, 1, 0)
	s.seg(10, Client, A, 1, 1, 0)
	s.seg(10.05, Server, RA, 1, 1, 0)
	s.finish(1000)
	s.flowLabels("app-reset")
	s.expect(2, nil, EST, EST)
	s.expect(3, []string{"app-reset"}, StateClosed, StateClosed)
	checkTransitions(t, s.f)

	// After a request and a reply too.
	s = newScript(t, 10, 20)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(0.05, Server, SA, 0, 1, 0)
	s.seg(10, Client, A, 1, 1, 0)
	s.seg(10.1, Client, PA, 1, 1, 50)
	s.seg(10.15, Server, A, 1, 51, 0)
	s.seg(20, Server, RA, 1, 51, 0)
	s.finish(1000)
	s.flowLabels("app-reset")
	checkTransitions(t, s.f)
}

// A bare RST whose sequence number is not the ACK's acknowledgment number
// is not the kernel's overflow reset (tcp_v4_send_reset answers an ACK
// with seq = its ack_seq).
func TestRstOnOverflowNeedsTheKernelFormat(t *testing.T) {
	s := newScript(t, 10, 20)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(0.1, Server, SA, 0, 1, 0)
	s.seg(0.2, Client, A, 1, 1, 0)
	s.seg(0.25, Server, R, 7, 0, 0)
	s.finish(1000)
	s.flowLabels()
}

// The request vanished between timer expiries (a listener closed with
// requests pending): the client's segment 1.2 s after the SYN gets a bare
// RST, long before the timer's next expiry at 3 s: not retries exhausted.
func TestRequestForgottenBetweenExpiriesIsNotExhausted(t *testing.T) {
	s := newScript(t, 10, 20)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(0.05, Server, SA, 0, 1, 0)
	s.seg(10, Client, A, 1, 1, 0)
	s.seg(1000, Server, SA, 0, 1, 0)
	s.seg(1010, Client, A, 1, 1, 0)
	s.seg(1200, Client, PA, 1, 1, 20)
	s.seg(1200.05, Server, R, 1, 0, 0)
	s.finish(5000)
	s.flowLabels("synack-retransmit", "synack-after-ack")
	if !s.f.RequestForgotten {
		t.Error("RequestForgotten not set")
	}
	checkTransitions(t, s.f)
}

// A single SYN-ACK whose ACK went unanswered, then a RST: no request timer
// ever ran (a cookie, or tcp_synack_retries=0), so nothing was exhausted.
func TestNoRetransmissionIsNeverExhausted(t *testing.T) {
	s := newScript(t, 10, 20)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(0.05, Server, SA, 0, 1, 0)
	s.seg(0.1, Client, A, 1, 1, 0)
	s.seg(0.2, Client, PA, 1, 1, 20)
	s.seg(400, Client, PA, 1, 1, 20)
	s.seg(5000, Client, PA, 1, 1, 20)
	s.seg(5000.05, Server, R, 1, 0, 0)
	s.finish(6000)
	if s.f.Labels.Has(LabelSynAckRetriesExhausted) {
		t.Errorf("labels %v: a request never retransmitted cannot run out", s.f.Labels)
	}
	checkTransitions(t, s.f)
}

// Seen from the client, data resent whose acknowledgment carries a D-SACK
// for the earlier copy: the server had it, its first ACK was lost. No
// data-while-syn-recv, nothing unacknowledged.
func TestResentDataWithDSACKIsALostAck(t *testing.T) {
	s := newScript(t, 10, 20)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(10, Server, SA, 0, 1, 0)
	s.seg(10.05, Client, A, 1, 1, 0)
	s.seg(10.1, Client, PA, 1, 1, 20)
	s.seg(220, Client, PA, 1, 1, 20)
	s.segWith(230, Server, A, 1, 21, 0, func(g *Segment) { g.Opt.NSACK, g.Opt.DSACK = 1, true })
	s.finish(1000)
	s.flowLabels()
	if len(s.f.Unacknowledged) != 0 {
		t.Errorf("unacknowledged %v, want none", s.f.Unacknowledged)
	}
	checkTransitions(t, s.f)
}

// The same without a D-SACK (or SACK off) and no SYN-ACK after the data:
// from the client the capture cannot tell a lost ACK from ignored data:
// no label, the data listed as unacknowledged.
func TestResentDataWithoutProofIsUnacknowledged(t *testing.T) {
	s := newScript(t, 10, 20)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(10, Server, SA, 0, 1, 0)
	s.seg(10.05, Client, A, 1, 1, 0)
	s.seg(10.1, Client, PA, 1, 1, 20)
	s.seg(220, Client, PA, 1, 1, 20)
	s.seg(230, Server, A, 1, 21, 0)
	s.finish(1000)
	s.flowLabels()
	if len(s.f.Unacknowledged) != 1 || s.f.Unacknowledged[0] != 3 {
		t.Errorf("unacknowledged %v, want packet 3", s.f.Unacknowledged)
	}
	checkTransitions(t, s.f)
}

// A SYN cookie by its timestamp: the SYN-ACK's TSval lags the clock its
// server's prompt ACK of the first data implies (here by 37 ms); an
// ordinary SYN-ACK's does not.
func TestCookieTimestampFingerprint(t *testing.T) {
	for _, tc := range []struct {
		name   string
		saTS   uint32
		cookie bool
	}{
		{"cookie", 1000 - 37, true},
		{"ordinary", 1000, false},
		{"ordinary, clock rounding", 999, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScript(t, 10, 20)
			ts := func(v uint32) func(*Segment) {
				return func(g *Segment) { g.Opt.HasTS, g.Opt.TSVal, g.Opt.TSEcr = true, v, 1 }
			}
			s.segWith(0, Client, S, 0, 0, 0, ts(5))
			s.segWith(0.05, Server, SA, 0, 1, 0, ts(tc.saTS))
			s.segWith(10, Client, A, 1, 1, 0, ts(15))
			s.segWith(100, Client, PA, 1, 1, 20, ts(105))
			// The ACK of the data, at once: the server clock then reads
			// 1000 + 100 ms.
			s.segWith(100.05, Server, A, 1, 21, 0, ts(1100))
			s.finish(2000)
			if got := s.f.Labels.Has(LabelSynCookieSuspected); got != tc.cookie {
				t.Errorf("syncookie-suspected %v, want %v (labels %v, evidence %q)", got, tc.cookie, s.f.Labels, s.f.CookieEvidence())
			}
		})
	}
}

// A SYN cookie without timestamps: the SYN offered window scaling and
// SACK, the SYN-ACK carries neither.
func TestCookieOptionFingerprint(t *testing.T) {
	s := newScript(t, 10, 20)
	s.segWith(0, Client, S, 0, 0, 0, func(g *Segment) { g.Opt.WScale, g.Opt.SACKPermitted = 7, true })
	s.seg(0.05, Server, SA, 0, 1, 0)
	s.seg(10, Client, A, 1, 1, 0)
	s.finish(500)
	if !s.f.Labels.Has(LabelSynCookieSuspected) || s.f.CookieEvidence() == "" {
		t.Errorf("labels %v, evidence %q: want a cookie", s.f.Labels, s.f.CookieEvidence())
	}
	// An ordinary SYN-ACK echoes the options.
	s = newScript(t, 10, 20)
	s.segWith(0, Client, S, 0, 0, 0, func(g *Segment) { g.Opt.WScale, g.Opt.SACKPermitted = 7, true })
	s.segWith(0.05, Server, SA, 0, 1, 0, func(g *Segment) { g.Opt.WScale, g.Opt.SACKPermitted = 7, true })
	s.seg(10, Client, A, 1, 1, 0)
	s.finish(500)
	if s.f.Labels.Has(LabelSynCookieSuspected) {
		t.Errorf("labels %v: an ordinary SYN-ACK", s.f.Labels)
	}
}

// syn-dropped names the copies before the one the server answered; with
// timestamps the SYN-ACK's echo names it, so a SYN-ACK answering the
// first copy late marks nothing dropped.
func TestSynDroppedByTheEchoedTimestamp(t *testing.T) {
	ts := func(v, e uint32) func(*Segment) {
		return func(g *Segment) { g.Opt.HasTS, g.Opt.TSVal, g.Opt.TSEcr = true, v, e }
	}
	s := newScript(t, 10, 20)
	s.segWith(0, Client, S, 0, 0, 0, ts(100, 0))
	s.segWith(1000, Client, S, 0, 0, 0, ts(1100, 0))
	s.segWith(1000.1, Server, SA, 0, 1, 0, ts(7, 100)) // answers the first copy
	s.segWith(1000.2, Client, A, 1, 1, 0, ts(1101, 7))
	s.finish(2000)
	s.flowLabels()

	s = newScript(t, 10, 20)
	s.segWith(0, Client, S, 0, 0, 0, ts(100, 0))
	s.segWith(1000, Client, S, 0, 0, 0, ts(1100, 0))
	s.segWith(1000.1, Server, SA, 0, 1, 0, ts(7, 1100)) // answers the second
	s.segWith(1000.2, Client, A, 1, 1, 0, ts(1101, 7))
	s.finish(2000)
	s.flowLabels("syn-dropped")
}
