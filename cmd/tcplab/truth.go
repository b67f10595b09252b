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
	// Accept describes the server's accept schedule in words.
	Accept string `json:"accept"`
	// Start is t0 (the scenario's time zero); End is when the captures were stopped.
	Start string `json:"start"`
	End   string `json:"end"`
	// ServerCapture and ClientCapture name the capture files and say where they
	// were taken.
	ServerCapture string `json:"server_capture"`
	ClientCapture string `json:"client_capture"`
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
	// SSPollMS is the polling interval of ss.
	SSPollMS int `json:"ss_poll_ms"`
	// Nstat holds absolute counters of lab-srv at the end (`nstat -asz`).
	Nstat map[string]int64 `json:"nstat"`
	// ClientNstat holds the same counters of lab-cli.
	ClientNstat map[string]int64 `json:"client_nstat"`
}

// ClientTruth is what one client did and saw.
type ClientTruth struct {
	// Local is the client's "ip:port".
	Local string `json:"local"`
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
	// End is how reading ended: "eof", "reset", "timeout", "closed" (the
	// client closed the socket itself) or "error: ...".
	End  string `json:"end"`
	EndT string `json:"end_t"`
}

// AcceptTruth is one connection the server accepted.
type AcceptTruth struct {
	// Peer is the client "ip:port".
	Peer string `json:"peer"`
	// T is when accept(2) returned it.
	T string `json:"t"`
	// FirstRead is what the first read returned: "data", "eof", "reset" or
	// "timeout"; FirstReadT when.
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

// ListenSample is the listening socket's queue at one poll.
type ListenSample struct {
	T     string `json:"t"`
	RecvQ int    `json:"recv_q"`
	SendQ int    `json:"send_q"`
}

// NstatNames are the counters recorded in Truth.Nstat.
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

// ts formats a time the way truth files do.
func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
