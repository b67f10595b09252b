package main

import "time"

// Truth is what the lab knows happened in one run, written as truth.json next
// to the captures. Times are RFC 3339 with nanoseconds in UTC, taken from the
// same clock as the capture timestamps (CLOCK_REALTIME), so they line up with
// the packets to within scheduling delay.
type Truth struct {
	// Scenario is the scenario name; Description repeats its description.
	Scenario    string `json:"scenario"`
	Description string `json:"description"`
	// Command is the command line that made this run.
	Command string `json:"command"`
	// Kernel is `uname -r` of the machine that ran it.
	Kernel string `json:"kernel"`
	// Sched is the priority the lab processes ran at (newer runs): nice -15,
	// or SCHED_FIFO with `run --rt`; a path's router always runs SCHED_FIFO
	// (see Topology).
	Sched string `json:"sched,omitempty"`
	// Family is 4 or 6.
	Family int `json:"family"`
	// Server is the listening address, "ip:port" ("[ip]:port" for IPv6).
	Server string `json:"server"`
	// Backlog is the listen(2) backlog the server used.
	Backlog int `json:"backlog"`
	// Sysctls are the values read back from lab-srv after setting them;
	// ClientSysctls those from lab-cli.
	Sysctls       map[string]string `json:"sysctls"`
	ClientSysctls map[string]string `json:"client_sysctls"`
	// Qdisc is the tc qdisc command in force, or empty.
	Qdisc string `json:"qdisc,omitempty"`
	// Topology says how client and server were joined, when not by one
	// veth pair alone (a path through lab-rtr); Offload says which
	// interface offloads were turned off, if any.
	Topology string `json:"topology,omitempty"`
	Offload  string `json:"offload,omitempty"`
	// Path is the router's settings (the scenario's path), PathLog every
	// frame it dropped or held, in time of arrival at the router, and
	// PathStats its per-direction counts.
	Path      *Path       `json:"path,omitempty"`
	PathLog   []PathEvent `json:"path_log,omitempty"`
	PathStats []PathStats `json:"path_stats,omitempty"`
	// Listeners are every listening socket of the server (the main one
	// first) with their settings; ListenerEvents says when a listening
	// socket was closed or opened again during the run.
	Listeners      []ListenerTruth `json:"listeners,omitempty"`
	ListenerEvents []ListenerEvent `json:"listener_events,omitempty"`
	// Firewall is `nft list ruleset` in lab-srv when the scenario
	// blackholes ports.
	Firewall string `json:"firewall,omitempty"`
	// Flood says what the SYN flood sent.
	Flood *FloodTruth `json:"flood,omitempty"`
	// ClientSysctlChanges are the client sysctls written during the run.
	ClientSysctlChanges []SysctlChangeTruth `json:"client_sysctl_changes,omitempty"`
	// Accept describes the server's accept schedule in words.
	Accept string `json:"accept"`
	// Start is t0 (the scenario's time zero); End is when the captures were stopped.
	Start string `json:"start"`
	End   string `json:"end"`
	// ServerCapture and ClientCapture name the capture files and say where they
	// were taken.
	ServerCapture string `json:"server_capture"`
	ClientCapture string `json:"client_capture"`
	// ServerCaptureDirection and ClientCaptureDirection are "in" or "out"
	// when that file holds only one direction of the traffic (tcpdump -Q):
	// "in" means only the frames that namespace received.
	ServerCaptureDirection string `json:"server_capture_direction,omitempty"`
	ClientCaptureDirection string `json:"client_capture_direction,omitempty"`
	// CaptureStats are tcpdump's own counts per file; the lab fails a run in
	// which the kernel dropped any frame before tcpdump read it.
	CaptureStats map[string]CaptureStats `json:"capture_stats,omitempty"`
	// Clients holds one entry per client, in port order.
	Clients []ClientTruth `json:"clients"`
	// Accepts holds one entry per accept(2) that returned a connection, in order.
	Accepts []AcceptTruth `json:"accepts"`
	// SSFirstSeen maps a client "ip:port" to the first poll of `ss -tan` in
	// lab-srv that showed a full server socket (any state but SYN-RECV) for it.
	// A socket first seen in CLOSE-WAIT was created only after the client's FIN
	// arrived: the ghost connection.
	SSFirstSeen map[string]SSSeen `json:"ss_first_seen"`
	// SSHistory maps a client "ip:port" to every state change `ss -tan` showed
	// for it, SYN-RECV (a request socket) included; "gone" when it disappeared.
	SSHistory map[string][]SSSeen `json:"ss_history"`
	// ListenQueue holds the LISTEN socket's Recv-Q (connections waiting for
	// accept) and Send-Q (backlog in force) each time they changed.
	ListenQueue []ListenSample `json:"listen_queue"`
	// SSPollMS is the polling interval of ss; SSPolls how many polls ran
	// and SSMaxGapMS the longest time between two of them returning (newer
	// runs): a busy machine stretches it, and every ss time is an upper
	// bound by that much.
	SSPollMS   int     `json:"ss_poll_ms"`
	SSPolls    int     `json:"ss_polls,omitempty"`
	SSMaxGapMS float64 `json:"ss_max_gap_ms,omitempty"`
	// Nstat holds absolute counters of lab-srv at the end (`nstat -asz`):
	// NstatNames in older runs, every Tcp and TcpExt counter in newer ones.
	Nstat map[string]int64 `json:"nstat"`
	// ClientNstat holds the same counters of lab-cli.
	ClientNstat map[string]int64 `json:"client_nstat"`
}

// ClientTruth is what one client connection did and saw.
type ClientTruth struct {
	// Local is the client's "ip:port".
	Local string `json:"local"`
	// Server is the "ip:port" it connected to, when the scenario has more
	// than one server port.
	Server string `json:"server,omitempty"`
	// ConnectStart is when connect(2) was called.
	ConnectStart string `json:"connect_start"`
	// ConnectMS is how long connect(2) took when it succeeded.
	ConnectMS *float64 `json:"connect_ms,omitempty"`
	// ConnectError is connect(2)'s error when it failed.
	ConnectError string `json:"connect_error,omitempty"`
	// Sends are the writes made.
	Sends []SendTruth `json:"sends"`
	// Reply is what reading the connection returned.
	Reply *ReadTruth `json:"reply,omitempty"`
	// ResetSeen is true when a read or write failed with ECONNRESET or EPIPE.
	ResetSeen bool `json:"reset_seen"`
	// Close is "fin", "rst" or "none" (left open until after the captures
	// stopped, or never connected).
	Close string `json:"close"`
	// CloseT is when the client closed the socket.
	CloseT string `json:"close_t,omitempty"`
}

// SendTruth is one write: T is when write(2) was called.
type SendTruth struct {
	T     string `json:"t"`
	Bytes int    `json:"bytes"`
	Error string `json:"error,omitempty"`
}

// ReadTruth summarises the reads on one connection.
type ReadTruth struct {
	// FirstT is when the first byte arrived, if any did.
	FirstT string `json:"first_t,omitempty"`
	// Bytes is the total read.
	Bytes int `json:"bytes"`
	// End is how reading ended: "eof", "reset", "timeout" (the read
	// deadline), "etimedout" (ETIMEDOUT: the kernel gave the connection up,
	// e.g. keep-alive probes unanswered), "closed" (the client closed the
	// socket itself), "none" (still open at the end) or "error: ...".
	End  string `json:"end"`
	EndT string `json:"end_t"`
}

// AcceptTruth is one connection the server accepted.
type AcceptTruth struct {
	// Peer is the client "ip:port".
	Peer string `json:"peer"`
	// Local is the listener's "ip:port" (newer runs).
	Local string `json:"local,omitempty"`
	// T is when accept(2) returned it.
	T string `json:"t"`
	// FirstRead is what the first read returned: "data", "eof", "reset",
	// "timeout", or "none" (closed without reading); FirstReadT when.
	FirstRead  string `json:"first_read"`
	FirstReadT string `json:"first_read_t"`
	// Read summarises all reads until the end.
	Read ReadTruth `json:"read"`
	// ReplyBytes is how much the server wrote back; ReplyError its error.
	ReplyBytes int    `json:"reply_bytes,omitempty"`
	ReplyError string `json:"reply_error,omitempty"`
	// Close is "fin" or "rst"; CloseT when.
	Close  string `json:"close"`
	CloseT string `json:"close_t"`
}

// SSSeen is one observation from ss.
type SSSeen struct {
	T     string `json:"t"`
	State string `json:"state"`
}

// ListenSample is a listening socket's queue at one poll.
type ListenSample struct {
	T string `json:"t"`
	// Port is the listener's port (newer runs; older ones had one listener).
	Port  int `json:"port,omitempty"`
	RecvQ int `json:"recv_q"`
	SendQ int `json:"send_q"`
}

// NstatNames are the counters every truth file holds in Truth.Nstat.
var NstatNames = []string{
	"TcpExtListenOverflows",
	"TcpExtListenDrops",
	"TcpExtTCPReqQFullDrop",
	"TcpExtTCPReqQFullDoCookies",
	"TcpExtSyncookiesSent",
	"TcpExtSyncookiesRecv",
	"TcpExtSyncookiesFailed",
	"TcpExtEmbryonicRsts",
	"TcpExtTCPSynRetrans",
	"TcpExtTCPTimeouts",
	"TcpAttemptFails",
	"TcpPassiveOpens",
	"TcpActiveOpens",
	"TcpOutRsts",
	"TcpRetransSegs",
}

// ListenerTruth is one listening socket and its settings.
type ListenerTruth struct {
	Local        string `json:"local"`
	Backlog      int    `json:"backlog"`
	Accept       string `json:"accept"`
	DeferAcceptS int    `json:"defer_accept_s,omitempty"`
	RcvBuf       int    `json:"rcvbuf,omitempty"`
	Close        string `json:"close"`
	CloseWhen    string `json:"close_when"`
	Blackholed   bool   `json:"blackholed,omitempty"`
}

// ListenerEvent is a listening socket closed ("closed": close(2) returned)
// or opened again ("listening": listen(2) returned) during the run.
type ListenerEvent struct {
	T     string `json:"t"`
	Local string `json:"local"`
	Event string `json:"event"`
}

// PathEvent is one frame the router dropped or held. T is its arrival at
// the router (kernel receive time); Seq and Ack are the header's values,
// RelSeq and RelAck relative to the ISNs the router saw (absent when it saw
// no SYN of that side); Len is the TCP payload; IPID the IPv4
// identification (the IPv6 flow label).
type PathEvent struct {
	T      string  `json:"t"`
	Dir    string  `json:"dir"`
	Src    string  `json:"src"`
	Dst    string  `json:"dst"`
	Flags  string  `json:"flags"`
	Seq    uint32  `json:"seq"`
	Ack    uint32  `json:"ack"`
	RelSeq *uint32 `json:"rel_seq,omitempty"`
	RelAck *uint32 `json:"rel_ack,omitempty"`
	Len    int     `json:"len"`
	IPID   uint32  `json:"ip_id"`
	// Action is "drop" or "hold"; Rule the rule that fired ("random": the
	// direction's random loss).
	Action string `json:"action"`
	Rule   string `json:"rule"`
	// A hold: its settings, when the frame was forwarded (ReleasedT) and why
	// ("frames": after HoldFrames later frames of its connection; "time":
	// HoldMS ran out).
	HoldFrames int    `json:"hold_frames,omitempty"`
	HoldMS     int    `json:"hold_ms,omitempty"`
	ReleasedT  string `json:"released_t,omitempty"`
	ReleasedBy string `json:"released_by,omitempty"`
}

// PathStats counts one direction's frames through the router. SocketDrops
// are frames the kernel could not queue to the router's socket (the lab
// fails a run with any, or with a send error).
type PathStats struct {
	Dir           string  `json:"dir"`
	DelayMS       float64 `json:"delay_ms"`
	Loss          float64 `json:"loss"`
	Frames        int     `json:"frames"`
	TCPFrames     int     `json:"tcp_frames"`
	Forwarded     int     `json:"forwarded"`
	DroppedRule   int     `json:"dropped_rule"`
	DroppedRandom int     `json:"dropped_random"`
	Held          int     `json:"held"`
	SendErrors    int     `json:"send_errors"`
	RecvErrors    int     `json:"recv_errors"`
	SocketDrops   int     `json:"socket_drops"`
}

// CaptureStats are the counts tcpdump prints when it stops.
type CaptureStats struct {
	Captured         int `json:"captured"`
	ReceivedByFilter int `json:"received_by_filter"`
	DroppedByKernel  int `json:"dropped_by_kernel"`
}

// FloodTruth is what the SYN flood sent: Sent SYNs (of Count planned) from
// the Sources addresses, the first at FirstT and the last at LastT, to Dst.
type FloodTruth struct {
	Count      int      `json:"count"`
	Sent       int      `json:"sent"`
	SendErrors int      `json:"send_errors"`
	Dst        string   `json:"dst"`
	Prefix     string   `json:"prefix"`
	Seed       uint64   `json:"seed"`
	Options    string   `json:"options"`
	FirstT     string   `json:"first_t"`
	LastT      string   `json:"last_t"`
	Route      string   `json:"route"`
	Sources    []string `json:"sources"`
}

// SysctlChangeTruth is one client sysctl written during the run, at T.
type SysctlChangeTruth struct {
	T     string `json:"t"`
	Name  string `json:"name"`
	Value string `json:"value"`
	Error string `json:"error,omitempty"`
}

// ts formats a time the way truth files do.
func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
