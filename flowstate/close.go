package flowstate

// The close in hindsight: an ACK of a FIN that never reached the FIN's
// sender. The state machine moves a side on as soon as the capture shows
// the peer's ACK of its FIN (FIN-WAIT-1 to FIN-WAIT-2, CLOSING to
// TIME-WAIT, LAST-ACK to CLOSED), assuming the ACK arrived. The side's
// own FIN sent again later, with the same sequence number, proves it did
// not: the same idea as the handshake's SYN-RECEIVED-ACK-IGNORED, where a
// SYN-ACK resent after the client's ACK revises the server's state.

// finAck is what a side's close holds of the ACK that completed it in the
// state machine: the packet, its time and the side's state just before it.
type finAck struct {
	idx  int // -1: no ACK of the side's FIN has moved its state (or it was proved lost)
	t    int64
	prev State
	// lost: the last such ACK was proved lost, so the next ACK of the
	// FIN moves the side on again.
	lost bool
}

// reviseFinAckLost applies the rule when side from sends a FIN: seg, at
// packet idx, repeats from's FIN (finRetrans: track saw the same FIN
// sequence number before).
//
// Rule: a FIN retransmitted by side X after the capture showed the
// peer's ACK covering that FIN means X had not taken the ACK when it sent
// the copy. Kernel: the FIN stays in X's write queue until an ACK covering
// it is processed (tcp_ack -> tcp_clean_rtx_queue); only then does
// tcp_rcv_state_process move FIN-WAIT-1 to FIN-WAIT-2, CLOSING to
// TIME-WAIT (tcp_time_wait) and LAST-ACK to CLOSED (tcp_done, the socket
// gone): none of them retransmits anything, so a FIN sent again by the
// retransmission timer (tcp_retransmit_timer) or a tail-loss probe comes
// from a side still in FIN-WAIT-1, CLOSING or LAST-ACK. X's state after
// the ACK is therefore revised, on every packet from the ACK to this one,
// to the state it held before the ACK (LAST-ACK if it closed second,
// FIN-WAIT-1 if it closed first, CLOSING after a simultaneous close;
// where the peer's FIN came after the lost ACK, a side in FIN-WAIT-1 is
// CLOSING from that FIN on when its copy acknowledges the FIN, and stays
// in FIN-WAIT-1 when it does not), and the ACK is marked NotReceived.
// The next ACK covering the FIN moves X on again (and may be proved lost
// by the next copy in turn).
//
// Evidence: the copy's sequence number is the FIN's; the ACK covered it;
// the copy follows the ACK by at least the round trip between the capture
// point and X, as the handshake measured it (SYN to SYN-ACK for the
// server, SYN-ACK to ACK for the client). Look-alikes refused: a FIN
// retransmitted before any ACK of it (a plain retransmission: nothing to
// revise); a copy the timer sent while the ACK was still on its way to X
// (it follows the ACK by less than that round trip: X took the ACK just
// after); a flow without a measured handshake, where that round trip is
// not known (no revision); a reset seen before the copy (no revision).
// Tests: close_test.go, and analyze's late-fin captures (both directions). Not told apart by one capture, and all the same
// for X's belief: the ACK lost between the capture point and X, dropped
// on X's host after the capture point (a firewall: AF_PACKET taps before
// netfilter), or discarded by X's TCP (PAWS, a bad checksum).
func (f *Flow) reviseFinAckLost(seg *Segment, from Side, idx int, finRetrans bool) {
	fa := &f.finAcks[from]
	if !finRetrans || fa.idx < 0 || fa.idx >= idx || f.EP[Client].SentRST || f.EP[Server].SentRST {
		return
	}
	rtt, ok := f.roundTripTo(from)
	if !ok || seg.Time-fa.t < rtt {
		return
	}
	peer := &f.EP[from.Peer()]
	gotPeerFIN := peer.SentFIN && seg.Flags&ACK != 0 && peer.FINSeq.LessThan(seg.Ack)
	unacked := func(st State) State {
		switch {
		case fa.prev == StateLastAck:
			return StateLastAck
		case fa.prev == StateClosing:
			return StateClosing
		case fa.prev != StateFinWait1:
			return st
		case st == StateTimeWait && gotPeerFIN:
			return StateClosing // the peer's FIN came after the lost ACK, and reached X
		case st == StateFinWait2 || st == StateTimeWait:
			return StateFinWait1
		}
		return st
	}
	if p := f.packet(fa.idx); p != nil {
		p.NotReceived = true
	}
	for i := fa.idx; i < idx; i++ {
		if p := f.packet(i); p != nil && !p.Duplicate {
			f.reviseState(i, from, unacked(p.State[from]))
		}
	}
	f.EP[from].State = unacked(f.EP[from].State)
	fa.idx, fa.lost = -1, true
}

// noteFinAck records that the ACK at packet idx moved side's state on its
// FIN from prev.
func (f *Flow) noteFinAck(side Side, idx int, t int64, prev State) {
	f.finAcks[side] = finAck{idx: idx, t: t, prev: prev}
}

// roundTripTo is the least time after a segment to side passed the
// capture point that a segment side sent in reaction to it (or before
// taking it) can pass there, as the handshake measured it: SYN to SYN-ACK
// for the server, SYN-ACK to ACK for the client. ok is false without a
// complete handshake.
func (f *Flow) roundTripTo(side Side) (rtt int64, ok bool) {
	toServer, toClient, ok := f.HandshakeLegs()
	if !ok || toServer < 0 || toClient < 0 {
		return 0, false
	}
	if side == Server {
		return f.afterRoundTrip(), true
	}
	return max(toClient, minRoundTrip), true
}
