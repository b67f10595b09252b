package flowstate

import "testing"

// openScript starts a flow whose handshake measures 10 ms each way
// between the capture point and either end (SYN at 0, SYN-ACK at 10 ms,
// ACK at 20 ms): packets 0 to 2.
func openScript(t *testing.T) *script {
	s := newScript(t, 1000, 5000)
	s.seg(0, Client, S, 0, 0, 0)
	s.seg(10, Server, SA, 0, 1, 0)
	s.seg(20, Client, A, 1, 1, 0)
	return s
}

// notReceived lists the packets marked NotReceived.
func notReceived(f *Flow) []int {
	var out []int
	for i := range f.Packets {
		if f.Packets[i].NotReceived {
			out = append(out, i)
		}
	}
	return out
}

// states checks the states after packet i only: the stall rules put
// their own labels (loss, rto-retransmission) on the FIN's copies.
func (s *script) states(i int, client, server State) {
	s.t.Helper()
	if p := s.f.Packets[i]; p.State[Client] != client || p.State[Server] != server {
		s.t.Errorf("packet %d: states %v/%v, want %v/%v", i, p.State[Client], p.State[Server], client, server)
	}
}

func wantNotReceived(t *testing.T, f *Flow, want ...int) {
	t.Helper()
	got := notReceived(f)
	if len(got) != len(want) {
		t.Errorf("NotReceived on %v, want %v", got, want)
		return
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("NotReceived on %v, want %v", got, want)
			return
		}
	}
}

// late-fin.pcap's shape: the client closes first and acknowledges the
// server's FIN, the server sends its FIN again and again (its firewall
// drops the ACKs), and the ACK after the last copy ends it. Each copy
// proves the ACK before it lost: the server stays in LAST-ACK until the
// last ACK, and only that one closes it.
func TestFinRetransmittedAfterAckKeepsLastAck(t *testing.T) {
	s := openScript(t)
	s.seg(30, Client, FA, 1, 1, 0) // 3
	s.seg(40, Server, FA, 1, 2, 0) // 4
	var ev []Event
	s.seg(50, Client, A, 2, 2, 0)                       // 5: lost
	ev = append(ev, s.seg(250, Server, FA, 1, 2, 0)...) // 6: copy
	s.seg(260, Client, A, 2, 2, 0)                      // 7: lost
	s.seg(660, Server, FA, 1, 2, 0)                     // 8: copy
	s.seg(670, Client, A, 2, 2, 0)                      // 9: reaches it
	s.finish(5000)
	s.states(3, StateFinWait1, StateCloseWait)
	s.states(4, StateTimeWait, StateLastAck)
	for i := 5; i <= 8; i++ {
		s.states(i, StateTimeWait, StateLastAck)
	}
	s.states(9, StateTimeWait, StateClosed)
	wantNotReceived(t, s.f, 5, 7)
	if s.f.EP[Server].State != StateClosed || s.f.EP[Client].State != StateTimeWait {
		t.Errorf("end states %v/%v, want TIME-WAIT/CLOSED", s.f.EP[Client].State, s.f.EP[Server].State)
	}
	if !s.f.Closed || !s.f.EP[Server].FINAcked {
		t.Error("the wire's facts changed: both FINs were seen acknowledged")
	}
	revised := false
	for _, e := range ev {
		if e.Kind == EventState && e.Packet == 5 && e.Side == Server && e.State == StateLastAck {
			revised = true
		}
	}
	if !revised {
		t.Errorf("events %+v: want packet 5 revised to LAST-ACK for the server", ev)
	}
	checkTransitions(t, s.f)
}

// The other direction, closing first: the client's FIN is acknowledged
// on its own, the client sends it again, so it was still in FIN-WAIT-1;
// the server's next ACK moves it to FIN-WAIT-2.
func TestFinRetransmittedAfterAckKeepsFinWait1(t *testing.T) {
	s := openScript(t)
	s.seg(30, Client, FA, 1, 1, 0)  // 3
	s.seg(40, Server, A, 1, 2, 0)   // 4: lost
	s.seg(240, Client, FA, 1, 1, 0) // 5: copy
	s.seg(250, Server, A, 1, 2, 0)  // 6
	s.seg(300, Server, FA, 1, 2, 0) // 7
	s.seg(310, Client, A, 2, 2, 0)  // 8
	s.finish(5000)
	s.states(4, StateFinWait1, StateCloseWait)
	s.states(5, StateFinWait1, StateCloseWait)
	s.states(6, StateFinWait2, StateCloseWait)
	s.states(7, StateTimeWait, StateLastAck)
	s.states(8, StateTimeWait, StateClosed)
	wantNotReceived(t, s.f, 4)
	checkTransitions(t, s.f)
}

// Closing first, the ACK of the client's FIN is lost and the server's FIN
// follows it: the client's copy acknowledges the server's FIN, so it took
// that one and was in CLOSING (not TIME-WAIT) from it on; without that
// acknowledgment it had not, and stays in FIN-WAIT-1.
func TestFinRetransmittedAfterAckThenPeerFin(t *testing.T) {
	for _, tc := range []struct {
		name         string
		copyAck      uint32
		afterFIN     State
		serverAfter6 State // the copy's ACK may complete the server's close
	}{
		{"copy acknowledges the server's FIN", 2, StateClosing, StateClosed},
		{"copy does not", 1, StateFinWait1, StateLastAck},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openScript(t)
			s.seg(30, Client, FA, 1, 1, 0)           // 3
			s.seg(40, Server, A, 1, 2, 0)            // 4: lost
			s.seg(50, Server, FA, 1, 2, 0)           // 5
			s.seg(240, Client, FA, 1, tc.copyAck, 0) // 6: copy
			s.finish(5000)
			s.states(4, StateFinWait1, StateCloseWait)
			s.states(5, tc.afterFIN, StateLastAck)
			s.states(6, tc.afterFIN, tc.serverAfter6)
			wantNotReceived(t, s.f, 4)
			checkTransitions(t, s.f)
		})
	}
}

// Both close at once: the client is in CLOSING when the ACK of its FIN
// comes (the capture saw its FIN first, so the server is in LAST-ACK);
// its copy proves it stayed in CLOSING.
func TestFinRetransmittedAfterAckKeepsClosing(t *testing.T) {
	s := openScript(t)
	s.seg(30, Client, FA, 1, 1, 0)  // 3
	s.seg(31, Server, FA, 1, 1, 0)  // 4: crossed
	s.seg(40, Server, A, 2, 2, 0)   // 5: the server's ACK of the client's FIN, lost
	s.seg(41, Client, A, 2, 2, 0)   // 6: the client's ACK of the server's FIN
	s.seg(240, Client, FA, 1, 2, 0) // 7: copy
	s.finish(5000)
	s.states(4, StateClosing, StateLastAck)
	s.states(5, StateClosing, StateLastAck)
	s.states(6, StateClosing, StateClosed)
	s.states(7, StateClosing, StateClosed)
	wantNotReceived(t, s.f, 5)
	checkTransitions(t, s.f)
}

// Look-alikes: a FIN sent again before any ACK of it is a plain
// retransmission; a copy that follows the ACK by less than the round trip
// to its sender crossed the ACK on its way (the sender took it just
// after); a flow without a handshake has no round trip to judge by.
func TestFinRetransmittedNotProvingAckLost(t *testing.T) {
	t.Run("before any ACK", func(t *testing.T) {
		s := openScript(t)
		s.seg(30, Client, FA, 1, 1, 0)  // 3
		s.seg(40, Server, FA, 1, 2, 0)  // 4
		s.seg(240, Server, FA, 1, 2, 0) // 5: copy, the client has not acknowledged yet
		s.seg(250, Client, A, 2, 2, 0)  // 6
		s.finish(5000)
		s.states(5, StateTimeWait, StateLastAck)
		s.states(6, StateTimeWait, StateClosed)
		wantNotReceived(t, s.f)
	})
	t.Run("crossing the ACK", func(t *testing.T) {
		s := openScript(t)
		s.seg(30, Client, FA, 1, 1, 0) // 3
		s.seg(40, Server, FA, 1, 2, 0) // 4
		s.seg(50, Client, A, 2, 2, 0)  // 5
		s.seg(55, Server, FA, 1, 2, 0) // 6: 5 ms after, the round trip to the server is 10 ms
		s.finish(5000)
		s.states(5, StateTimeWait, StateClosed)
		wantNotReceived(t, s.f)
	})
	t.Run("after a reset", func(t *testing.T) {
		s := openScript(t)
		s.seg(30, Client, FA, 1, 1, 0)  // 3
		s.seg(40, Server, FA, 1, 2, 0)  // 4
		s.seg(50, Client, A, 2, 2, 0)   // 5
		s.seg(60, Client, R, 2, 0, 0)   // 6
		s.seg(250, Server, FA, 1, 2, 0) // 7
		s.finish(5000)
		s.states(5, StateTimeWait, StateClosed)
		wantNotReceived(t, s.f)
	})
	t.Run("no handshake", func(t *testing.T) {
		s := newScript(t, 1000, 5000)
		s.seg(0, Client, PA, 1, 1, 10)  // 0: mid-stream
		s.seg(10, Server, A, 1, 11, 0)  // 1
		s.seg(30, Client, FA, 11, 1, 0) // 2
		s.seg(40, Server, FA, 1, 12, 0) // 3
		s.seg(50, Client, A, 12, 2, 0)  // 4
		s.seg(250, Server, FA, 1, 12, 0)
		s.finish(5000)
		s.states(4, StateTimeWait, StateClosed)
		wantNotReceived(t, s.f)
	})
}
