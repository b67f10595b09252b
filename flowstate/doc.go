// Package flowstate is the per-flow TCP state machine of tcptimeline: pure
// logic, no I/O and no packet library. It consumes Segment values, keeps
// for every flow what the client believes and what the server believes,
// inferred from the wire, and labels the patterns of a Linux listen-queue
// overflow and their look-alikes (see Label). Each label is decided by one
// rule function in rules.go, named for it, which holds its evidence, the
// look-alikes it refuses and the kernel code it mirrors.
//
// Some facts are only known in hindsight: that the server ignored the
// client's handshake ACK is proved by the SYN-ACK it retransmits a second
// later; that a connection was queued only after the client's FIN is
// proved by the server's first acknowledgment. A Flow therefore logs the
// client's segments while the server holds the connection as a request,
// and settles them when the server shows its hand (its first ACK-bearing
// segment other than a SYN-ACK, a RST, or the end of the flow). Process
// returns events that may revise earlier packets; the states and labels a
// finished Flow holds are the final ones, as known at its end. The close
// has its own hindsight (close.go): a side that sends its FIN again after
// the capture showed the peer's ACK of it never took that ACK, so it is
// shown in LAST-ACK, FIN-WAIT-1 or CLOSING from the ACK on, and the ACK is
// marked Packet.NotReceived.
//
// Beside its own view, a Flow keeps Zeek's per-endpoint states and
// history, so that a summary can give Zeek's conn_state and history
// strings (zeek.go says where Zeek's own code is followed and where not).
// A server's acknowledgment that echoes a client segment's timestamp (RFC
// 7323 TS.Recent) proves that segment was taken, even when the
// acknowledgment left late.
//
// Every packet also gets Wireshark 4.0's TCP analysis (analysis.go: the
// tcp.analysis flags by Wireshark's names, decided by packet-tcp.c's rules
// in its order, with the scaled window, ack_rtt and bytes in flight), fed
// every segment, duplicate frames included, as Wireshark sees them. Beside
// it, our own facts (a frame captured twice, what the capture saw of each
// direction's sequence space: holes.go) and the stall and loss findings
// (stall.go: zero-window-stall, rto-retransmission, loss, keepalive-only).
//
// Known limits:
//   - States are inferred: a side's state after a packet assumes the
//     packet reached it, unless later packets prove otherwise. The last
//     ACK of a FIN is taken to have arrived: only a copy of the FIN sent
//     after it proves otherwise, and only in a flow whose handshake
//     measured the round trip to the FIN's sender.
//   - A client that sent no data and whose last bare ACK followed the
//     server's last SYN-ACK cannot be told queued or ignored until the
//     server answers something.
//   - "Prompt" acknowledgment is judged with Linux's delayed-ACK bound
//     (200 ms) plus two handshake round trips; a server stalled longer
//     than that in softirq would look like one that ignored the data.
//   - Per endpoint, at most 16 retransmission times are kept per kind, and
//     at most 256 client segments per handshake; counts stay exact.
//   - A SYN cookie is recognised by its timestamp (it lags the server's
//     clock, measured against the server's ACKs of the client's first data)
//     or, without timestamps, by its missing options; about one cookie in
//     sixteen has a lag too small to tell. A single SYN-ACK never
//     retransmitted while the client went unanswered is weaker evidence
//     (tcp_synack_retries=0 looks the same).
//   - Where the capture was taken matters: at the server a missing reply
//     was not sent; elsewhere it may have been lost. The flow judges its
//     own vantage from its handshake's timing, which a queue in front of
//     the server's link distorts (then it is more careful, not less).
//   - Wireshark's analysis of a flow starts afresh with the Flow; what a
//     caller keeps of finished flows (ConvMemo) serves only the port-reuse
//     rule. ack_rtt and bytes in flight are computed only with
//     Config.Record. At most 4 gaps per direction are followed; beyond,
//     losses are no longer placed before or after the capture point.
package flowstate
