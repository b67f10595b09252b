package analyze

import "github.com/tcptimeline/tcptimeline/flowstate"

// Counter is one of the Linux TCP counters (nstat, netstat -s) that a
// capture lets one count: what the kernel would have counted for the
// packets the capture holds.
type Counter uint8

// The counters the capture reconciles, named as nstat prints them.
const (
	// CounterListenOverflows: a SYN that found the accept queue full
	// (tcp_conn_request: sk_acceptq_is_full), and every handshake ACK,
	// data segment or FIN that met a full accept queue (tcp_check_req ->
	// tcp_v4_syn_recv_sock: exit_overflow; for a cookie,
	// cookie_v4_check -> tcp_get_cookie_sock).
	CounterListenOverflows Counter = iota
	// CounterListenDrops: every ListenOverflows, plus SYNs dropped on a
	// full SYN queue (tcp_listendrop).
	CounterListenDrops
	// CounterReqQFullDrop: a SYN dropped because the SYN queue was full
	// with syncookies off (tcp_syn_flood_action, from tcp_conn_request's
	// inet_csk_reqsk_queue_is_full check).
	CounterReqQFullDrop
	// CounterSyncookiesSent: a SYN answered with a cookie
	// (cookie_v4_init_sequence).
	CounterSyncookiesSent
	// CounterSynRetrans: a SYN-ACK sent again, by the request timer or in
	// answer to a retransmitted SYN (tcp_rtx_synack).
	CounterSynRetrans
	// CounterDeferAcceptDrop: a bare handshake ACK held by TCP_DEFER_ACCEPT
	// (tcp_check_req).
	CounterDeferAcceptDrop
	// CounterEmbryonicRsts: a request reset, by the overflow reset of
	// tcp_abort_on_overflow=1 or by the client's RST (tcp_check_req ->
	// embryonic_reset).
	CounterEmbryonicRsts
	NumCounters
)

// CounterNames are the counters' names as nstat prints them, in Counter
// order.
var CounterNames = [NumCounters]string{
	"TcpExtListenOverflows", "TcpExtListenDrops", "TcpExtTCPReqQFullDrop", "TcpExtSyncookiesSent",
	"TcpExtTCPSynRetrans", "TcpExtTCPDeferAcceptDrop", "TcpExtEmbryonicRsts",
}

// String gives the counter's nstat name.
func (c Counter) String() string {
	if c < NumCounters {
		return CounterNames[c]
	}
	return "Counter(?)"
}

// WireCounts is, per counter, what the capture shows the kernel must have
// counted: for one listener, or summed over a run's listeners.
type WireCounts [NumCounters]int64

// Add adds o to w.
func (w *WireCounts) Add(o *WireCounts) {
	for i := range w {
		w[i] += o[i]
	}
}

// countFlow adds what one finished flow shows, except its dropped SYNs,
// which the listener counts once it knows which queue dropped them.
func (w *WireCounts) countFlow(f *flowstate.Flow) {
	s := &f.EP[flowstate.Server]
	w[CounterListenOverflows] += int64(f.IgnoredSegments)
	w[CounterDeferAcceptDrop] += int64(f.DeferDrops)
	if f.RequestReset {
		w[CounterEmbryonicRsts]++
	}
	if f.SynAckTime == 0 {
		return
	}
	if f.CookieEvidence() != "" || f.Labels.Has(flowstate.LabelSynCookieSuspected) {
		// Each copy answered a SYN with a fresh cookie: none is a
		// retransmission to the kernel.
		w[CounterSyncookiesSent] += int64(s.SYNs)
		return
	}
	w[CounterSynRetrans] += int64(s.SYNRetransmits)
}
