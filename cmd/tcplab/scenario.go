package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Scenario is one declarative lab experiment, read from testdata/lab/<name>.json.
// All times are milliseconds relative to the scenario start (t0), except where
// a field says otherwise. Every field added after the first ten scenarios is
// optional, and a scenario without them runs exactly as those did.
type Scenario struct {
	// Name is the scenario name; it must equal the file name without ".json"
	// and names the output directory.
	Name string `json:"name"`
	// Description says in a sentence or two what the scenario aims to show.
	Description string `json:"description"`
	// Family is the address family: 4 (10.77.0.0/24) or 6 (fd77::/64).
	Family int `json:"family"`
	// Port is the server's listening port (default 8000).
	Port int `json:"port,omitempty"`
	// DurationMS is how long the scenario runs after t0; captures stop then.
	DurationMS int `json:"duration_ms"`
	// Sysctls are set in the server namespace (lab-srv) before the server
	// starts. Keys must be in AllowedServerSysctls; unset keys take the
	// defaults in DefaultServerSysctls.
	Sysctls map[string]string `json:"sysctls,omitempty"`
	// ClientSysctls are set in the client namespace (lab-cli). Keys must be in
	// AllowedClientSysctls; unset keys take DefaultClientSysctls.
	ClientSysctls map[string]string `json:"client_sysctls,omitempty"`
	// ClientSysctlChanges change client sysctls during the run (the clients
	// process writes /proc/sys in lab-cli at each AtMS), so that groups
	// started later connect with other settings, e.g. without TCP timestamps:
	// these sysctls are per namespace, not per socket. Each change is
	// recorded with its time in the truth file.
	ClientSysctlChanges []SysctlChange `json:"client_sysctl_changes,omitempty"`
	// Qdisc optionally shapes one side's egress with a token bucket.
	Qdisc *Qdisc `json:"qdisc,omitempty"`
	// Path, when set, puts a third namespace (lab-rtr) between the client
	// and the server: a user-space bridge that delays, drops, and holds back
	// frames (see Path). Without it the two namespaces share one veth pair.
	Path *Path `json:"path,omitempty"`
	// NoOffload turns TSO, GSO and transmit checksum offload off on both
	// endpoints' interfaces (ethtool -K DEV tx off tso off gso off), so that
	// every segment is on the wire as TCP sent it, at most one MSS, with its
	// checksum filled in. Always so with a Path.
	NoOffload bool `json:"no_offload,omitempty"`
	// BlackholePorts are server ports whose incoming SYNs (SYN without ACK)
	// nftables drops in lab-srv (table inet tcplab, input hook) before TCP
	// sees them. server.pcap still shows them: tcpdump taps the interface
	// before netfilter.
	BlackholePorts []int `json:"blackhole_ports,omitempty"`
	// Capture optionally records only one direction in one of the files.
	Capture *CaptureSpec `json:"capture,omitempty"`
	// Flood, when set, sends raw SYNs from spoofed IPv4 sources out of the
	// client's interface (see Flood).
	Flood *Flood `json:"flood,omitempty"`
	// Server says how the server listens, accepts and answers.
	Server ServerSpec `json:"server"`
	// ExtraListeners are more listening sockets of the same server process,
	// each with its own Port (required) and behaviour, e.g. a working
	// listener beside a blackholed port.
	ExtraListeners []ServerSpec `json:"extra_listeners,omitempty"`
	// Clients are groups of clients; local ports are assigned in order from
	// FirstClientPort across all groups (see Plans).
	Clients []ClientGroup `json:"clients"`
}

// SysctlChange is one client sysctl written at AtMS.
type SysctlChange struct {
	AtMS  int    `json:"at_ms"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Qdisc is a token-bucket filter (tc-tbf) on the egress of one side's veth.
// netem is not available on the lab kernel; tbf spaces packets out instead.
type Qdisc struct {
	// Side is "client" or "server": whose egress is shaped.
	Side string `json:"side"`
	// Rate and Latency are passed to tc as given, e.g. "8kbit" and "20s".
	// Burst is the bucket size in bytes; tbf drops every packet larger than
	// it, so it must hold the largest frame the shaped side sends (Validate
	// checks this against the scenario's writes).
	Rate    string `json:"rate"`
	Burst   int    `json:"burst"`
	Latency string `json:"latency"`
}

// TCArgs returns the tc arguments that add this qdisc to dev.
func (q *Qdisc) TCArgs(dev string) []string {
	return []string{"qdisc", "add", "dev", dev, "root", "tbf", "rate", q.Rate, "burst", strconv.Itoa(q.Burst), "latency", q.Latency}
}

// CaptureSpec limits a capture to one direction, as `tcpdump -Q`: "in"
// keeps only frames the namespace received, "out" only those it sent;
// empty keeps both. The truth file says which capture is one-sided.
type CaptureSpec struct {
	Server string `json:"server,omitempty"`
	Client string `json:"client,omitempty"`
}

// Flood is a SYN flood: Count raw SYNs (MSS option only, random ISN and
// source port) from Sources distinct addresses drawn from Prefix, spread
// evenly over DurationMS from StartMS, sent from lab-cli's interface
// straight to the server's MAC. The server routes Prefix back via the
// client's MAC, so its SYN-ACKs go onto the wire (and into both captures);
// lab-cli owns none of those addresses and drops them (no forwarding).
// Everything random comes from Seed. IPv4 only.
type Flood struct {
	StartMS    int    `json:"start_ms"`
	DurationMS int    `json:"duration_ms"`
	Count      int    `json:"count"`
	Sources    int    `json:"sources"`
	Prefix     string `json:"prefix,omitempty"` // default 10.78.0.0/16
	Port       int    `json:"port,omitempty"`   // default the server's port
	Seed       uint64 `json:"seed"`
}

// DefaultFloodPrefix is where spoofed flood sources come from.
const DefaultFloodPrefix = "10.78.0.0/16"

// FloodPrefix returns the flood's source prefix.
func (f *Flood) FloodPrefix() netip.Prefix {
	if f.Prefix == "" {
		return netip.MustParsePrefix(DefaultFloodPrefix)
	}
	p, _ := netip.ParsePrefix(f.Prefix)
	return p.Masked()
}

// ServerSpec describes the server application on one listening socket.
type ServerSpec struct {
	// Port is the listening port of an extra listener (Scenario.ExtraListeners,
	// required there); the main listener uses Scenario.Port and leaves it 0.
	Port int `json:"port,omitempty"`
	// Backlog is the listen(2) backlog; the kernel uses min(backlog, somaxconn)
	// and holds backlog+1 completed connections.
	Backlog int `json:"backlog"`
	// DeferAcceptS, when positive, sets TCP_DEFER_ACCEPT (seconds) on the
	// listener: the kernel drops a bare handshake ACK (TCPDeferAcceptDrop)
	// and queues the connection when data arrives or the deferral ends.
	DeferAcceptS int `json:"defer_accept_s,omitempty"`
	// RcvBuf, when positive, sets SO_RCVBUF (bytes; the kernel doubles it)
	// on the listener before listen(2); accepted connections inherit it, and
	// their window (and window scale) follow from it.
	RcvBuf int `json:"rcvbuf,omitempty"`
	// Accept is when the application calls accept(2).
	Accept AcceptSchedule `json:"accept"`
	// ReadTimeoutMS bounds each read after accept (default 5000).
	ReadTimeoutMS int `json:"read_timeout_ms,omitempty"`
	// PauseReading, when set, makes the application read nothing between
	// FromMS and ToMS after t0 (a read due in the window waits for its end):
	// with a small RcvBuf the window closes while the peer writes.
	PauseReading *Window `json:"pause_reading,omitempty"`
	// ReplyBytes, when positive, is written once after the first read returned data.
	ReplyBytes int `json:"reply_bytes,omitempty"`
	// Close is how the server closes an accepted connection:
	// "fin" (default) or "rst" (SO_LINGER {1, 0}: close sends RST, ACK set).
	Close string `json:"close,omitempty"`
	// CloseWhen is when: "eof" (default: once reading ended with EOF, reset
	// or timeout), "accept" (right after accept(2) returned, nothing read) or
	// "first-read" (after the first read returned and the reply, if any, was
	// written).
	CloseWhen string `json:"close_when,omitempty"`
	// CloseListenerMS, when positive, closes the listening socket at
	// t0+CloseListenerMS with whatever its queues hold (a service restart):
	// the kernel resets the connections waiting for accept and drops the
	// requests; connections already accepted are not touched.
	CloseListenerMS int `json:"close_listener_ms,omitempty"`
	// RelistenMS, when positive, opens the listening socket again at
	// t0+RelistenMS (after CloseListenerMS) with the same settings; the
	// accept schedule goes on.
	RelistenMS int `json:"relisten_ms,omitempty"`
}

// Window is a span of time [FromMS, ToMS).
type Window struct {
	FromMS int `json:"from_ms"`
	ToMS   int `json:"to_ms"`
}

// AcceptSchedule says when the server calls accept(2).
type AcceptSchedule struct {
	// Mode is "never", "immediate" (accept as soon as a connection is queued)
	// or "interval" (first accept call at StartMS, then IntervalMS after each
	// accept returned; a call blocks until a connection is queued).
	Mode string `json:"mode"`
	// StartMS is the time of the first accept call ("immediate" and "interval").
	StartMS int `json:"start_ms,omitempty"`
	// IntervalMS is the time from one accept(2) returning to the next call
	// ("interval").
	IntervalMS int `json:"interval_ms,omitempty"`
}

// ClientGroup is Count clients with the same behaviour.
type ClientGroup struct {
	// Count is the number of clients in the group.
	Count int `json:"count"`
	// Port is the server port the group connects to (default the scenario's
	// Port): an extra listener's, a blackholed one, or one nothing listens
	// on (connect is refused).
	Port int `json:"port,omitempty"`
	// StartMS is when the group's first client calls connect(2).
	StartMS int `json:"start_ms"`
	// SpacingMS is the time between the connect calls of consecutive clients.
	SpacingMS int `json:"spacing_ms,omitempty"`
	// SynRetries, when positive, sets TCP_SYNCNT on the socket.
	SynRetries int `json:"syn_retries,omitempty"`
	// ConnectTimeoutMS bounds connect(2) (default: until the scenario ends).
	ConnectTimeoutMS int `json:"connect_timeout_ms,omitempty"`
	// RcvBuf, when positive, sets SO_RCVBUF (bytes; doubled by the kernel)
	// before connect(2).
	RcvBuf int `json:"rcvbuf,omitempty"`
	// Keepalive, when set, turns SO_KEEPALIVE on with these timers. Without
	// it keep-alive is off (Go's dialer would otherwise enable it at 15 s).
	Keepalive *Keepalive `json:"keepalive,omitempty"`
	// PauseReading, when set, makes the client read nothing between FromMS
	// and ToMS after its own connect start.
	PauseReading *Window `json:"pause_reading,omitempty"`
	// Sends are writes made after connect(2) returned.
	Sends []Send `json:"sends,omitempty"`
	// Close is "fin" (close(2)), "rst" (SO_LINGER 0 then close), "reply"
	// (close(2) as soon as the server's whole reply was read or reading
	// ended: EOF, reset, error) or "none" (left open until the lab stops,
	// after the captures ended).
	Close string `json:"close"`
	// CloseAtMS is when the client closes, relative to its own connect
	// start ("fin", "rst"); with "reply" it is optional and bounds the wait
	// for the reply.
	CloseAtMS int `json:"close_at_ms,omitempty"`
	// Connections is how many connections each client of the group makes,
	// one after another (default 1), each from its own local port (see
	// Plans). The next starts GapMS after the previous one closed or failed
	// to connect; none starts after ConnectUntilMS (when positive).
	Connections    int `json:"connections,omitempty"`
	GapMS          int `json:"gap_ms,omitempty"`
	ConnectUntilMS int `json:"connect_until_ms,omitempty"`
}

// Keepalive is TCP keep-alive on a client socket: SO_KEEPALIVE with
// TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT.
type Keepalive struct {
	IdleS     int `json:"idle_s"`
	IntervalS int `json:"interval_s"`
	Count     int `json:"count"`
}

// Send is one write(2) of Bytes bytes, AfterMS after connect(2) returned.
type Send struct {
	AfterMS int `json:"after_ms"`
	Bytes   int `json:"bytes"`
}

// FirstClientPort is the local port of the first client connection; the
// others follow (see Plans).
const FirstClientPort = 41001

// DefaultPort is the server port when a scenario does not name one.
const DefaultPort = 8000

// maxConnections bounds the client connections of one scenario.
const maxConnections = 3000

// DefaultServerSysctls are applied in lab-srv unless a scenario overrides them.
// They are the kernel defaults except somaxconn, which is left high so that
// the listen backlog alone decides the queue size.
var DefaultServerSysctls = map[string]string{
	"net.core.somaxconn":             "4096",
	"net.ipv4.tcp_max_syn_backlog":   "128",
	"net.ipv4.tcp_synack_retries":    "5",
	"net.ipv4.tcp_abort_on_overflow": "0",
	"net.ipv4.tcp_syncookies":        "1",
}

// AllowedServerSysctls are the keys a scenario may set in lab-srv.
var AllowedServerSysctls = map[string]bool{
	"net.core.somaxconn":             true,
	"net.ipv4.tcp_max_syn_backlog":   true,
	"net.ipv4.tcp_synack_retries":    true,
	"net.ipv4.tcp_abort_on_overflow": true,
	"net.ipv4.tcp_syncookies":        true,
	"net.ipv4.tcp_timestamps":        true,
	"net.ipv4.tcp_sack":              true,
}

// DefaultClientSysctls are applied in lab-cli unless a scenario overrides them.
var DefaultClientSysctls = map[string]string{
	"net.ipv4.tcp_syn_retries": "3",
}

// AllowedClientSysctls are the keys a scenario may set in lab-cli.
var AllowedClientSysctls = map[string]bool{
	"net.ipv4.tcp_syn_retries": true,
	"net.ipv4.tcp_timestamps":  true,
	"net.ipv4.tcp_sack":        true,
}

// maxDurationMS keeps every scenario well under a minute.
const maxDurationMS = 45000

var (
	nameRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	uintRE  = regexp.MustCompile(`^[0-9]+$`)
	tcArgRE = regexp.MustCompile(`^[0-9]+[a-z]*$`)
)

// LoadScenario reads and validates a scenario file. The file name (without
// ".json") must equal the scenario's name.
func LoadScenario(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Scenario
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if base := strings.TrimSuffix(filepath.Base(path), ".json"); base != s.Name {
		return nil, fmt.Errorf("%s: name %q does not match the file name", path, s.Name)
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

// Validate checks a scenario for values the lab cannot run.
func (s *Scenario) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if !nameRE.MatchString(s.Name) {
		bad("name %q: want lower-case letters, digits and dashes", s.Name)
	}
	if s.Description == "" {
		bad("description is empty")
	}
	if s.Family != 4 && s.Family != 6 {
		bad("family %d: want 4 or 6", s.Family)
	}
	if s.DurationMS <= 0 || s.DurationMS > maxDurationMS {
		bad("duration_ms %d: want 1..%d", s.DurationMS, maxDurationMS)
	}
	for k, v := range s.Sysctls {
		if !AllowedServerSysctls[k] {
			bad("sysctl %q is not one the lab sets", k)
		}
		if !isUint(v) {
			bad("sysctl %s=%q: want a non-negative integer", k, v)
		}
	}
	for k, v := range s.ClientSysctls {
		if !AllowedClientSysctls[k] {
			bad("client sysctl %q is not one the lab sets", k)
		}
		if !isUint(v) {
			bad("client sysctl %s=%q: want a non-negative integer", k, v)
		}
	}
	for i, c := range s.ClientSysctlChanges {
		if !AllowedClientSysctls[c.Name] || !isUint(c.Value) {
			bad("client sysctl change %d: %s=%q: want an allowed client sysctl and a non-negative integer", i, c.Name, c.Value)
		}
		if c.AtMS < 0 || c.AtMS >= s.DurationMS {
			bad("client sysctl change %d: at_ms %d outside the scenario", i, c.AtMS)
		}
	}
	if q := s.Qdisc; q != nil {
		s.validateQdisc(q, bad)
	}
	if s.Qdisc != nil && s.Path != nil {
		bad("qdisc and path together: the path is the lab's way to delay, use its delay")
	}

	// Client connections and their ports.
	n := 0
	for i, g := range s.Clients {
		if g.Count <= 0 {
			bad("client group %d: count must be positive", i)
		}
		if g.Connections < 0 || g.GapMS < 0 || g.ConnectUntilMS < 0 {
			bad("client group %d: connections, gap_ms and connect_until_ms must not be negative", i)
		}
		n += g.Count * max(1, g.Connections)
	}
	if n == 0 || n > maxConnections {
		bad("%d client connections: want 1..%d", n, maxConnections)
	}
	clientPort := func(p int) bool { return p >= FirstClientPort && p < FirstClientPort+n }
	checkPort := func(what string, p int) {
		if p < 0 || p > 65535 || clientPort(p) {
			bad("%s %d out of range or among the client ports %d..%d", what, p, FirstClientPort, FirstClientPort+n-1)
		}
	}
	checkPort("port", s.Port)

	// Listeners.
	sv := s.Server
	if sv.Port != 0 {
		bad("server port %d: the main listener's port is the scenario's port", sv.Port)
	}
	s.validateServer("server", sv, bad)
	listening := map[int]bool{s.ServerPort(): true}
	for i, l := range s.ExtraListeners {
		what := fmt.Sprintf("extra listener %d", i)
		if l.Port <= 0 {
			bad("%s: port is required", what)
		}
		checkPort(what+" port", l.Port)
		if listening[l.Port] {
			bad("%s: port %d listened on twice", what, l.Port)
		}
		listening[l.Port] = true
		s.validateServer(what, l, bad)
	}
	for _, p := range s.BlackholePorts {
		checkPort("blackhole port", p)
		if p == 0 {
			bad("blackhole port 0")
		}
	}

	for i, g := range s.Clients {
		checkPort(fmt.Sprintf("client group %d server port", i), g.Port)
		if g.StartMS < 0 || g.SpacingMS < 0 || g.SynRetries < 0 || g.ConnectTimeoutMS < 0 || g.CloseAtMS < 0 || g.RcvBuf < 0 {
			bad("client group %d: times and counts must not be negative", i)
		}
		if g.Count > 0 && g.StartMS+g.SpacingMS*(g.Count-1) >= s.DurationMS {
			bad("client group %d starts after the scenario ends", i)
		}
		switch g.Close {
		case "fin", "rst":
			if g.CloseAtMS <= 0 {
				bad("client group %d: close %q needs close_at_ms", i, g.Close)
			}
		case "none", "reply":
		default:
			bad("client group %d: close %q: want fin, rst, reply or none", i, g.Close)
		}
		if g.Connections > 1 && g.Close == "none" {
			bad("client group %d: %d connections one after another need a close other than none", i, g.Connections)
		}
		for j, snd := range g.Sends {
			if snd.AfterMS < 0 || snd.Bytes <= 0 {
				bad("client group %d send %d: want after_ms >= 0 and bytes > 0", i, j)
			}
		}
		if k := g.Keepalive; k != nil && (k.IdleS <= 0 || k.IntervalS <= 0 || k.Count <= 0) {
			bad("client group %d: keepalive idle_s, interval_s and count must be positive", i)
		}
		if w := g.PauseReading; w != nil && (w.FromMS < 0 || w.ToMS <= w.FromMS) {
			bad("client group %d: pause_reading wants 0 <= from_ms < to_ms", i)
		}
	}
	if c := s.Capture; c != nil {
		for _, d := range []string{c.Server, c.Client} {
			if d != "" && d != "in" && d != "out" {
				bad("capture direction %q: want in, out or empty", d)
			}
		}
		if c.Server != "" && c.Client != "" {
			bad("capture: at most one capture may be one-sided")
		}
	}
	if f := s.Flood; f != nil {
		s.validateFlood(f, bad)
		if f.Port != 0 {
			checkPort("flood port", f.Port)
		}
	}
	if p := s.Path; p != nil {
		for _, e := range p.Validate(s.DurationMS) {
			bad("path: %v", e)
		}
	}
	return errors.Join(errs...)
}

func (s *Scenario) validateQdisc(q *Qdisc, bad func(string, ...any)) {
	if q.Side != "client" && q.Side != "server" {
		bad("qdisc side %q: want client or server", q.Side)
	}
	for _, f := range []string{q.Rate, q.Latency} {
		if !tcArgRE.MatchString(f) {
			bad("qdisc parameter %q: want a number with an optional unit", f)
		}
	}
	// Largest frame: Ethernet 14 + IP (20 or 40) + TCP with options 40
	// (SYN) or 32 (timestamps) + payload.
	ip := 20
	if s.Family == 6 {
		ip = 40
	}
	largest := 14 + ip + 40
	if q.Side == "client" {
		for _, g := range s.Clients {
			for _, snd := range g.Sends {
				largest = max(largest, 14+ip+32+snd.Bytes)
			}
		}
	} else {
		for _, l := range s.Listeners() {
			largest = max(largest, 14+ip+32+l.ReplyBytes)
		}
	}
	if q.Burst < largest {
		bad("qdisc burst %d bytes: tbf would drop frames of up to %d bytes the %s sends", q.Burst, largest, q.Side)
	}
}

func (s *Scenario) validateServer(what string, sv ServerSpec, bad func(string, ...any)) {
	if sv.Backlog < 0 || sv.Backlog > 65535 {
		bad("%s backlog %d out of range", what, sv.Backlog)
	}
	switch sv.Accept.Mode {
	case "never", "immediate":
	case "interval":
		if sv.Accept.IntervalMS <= 0 {
			bad("%s accept interval_ms must be positive", what)
		}
	default:
		bad("%s accept mode %q: want never, immediate or interval", what, sv.Accept.Mode)
	}
	if sv.Accept.StartMS < 0 || sv.ReadTimeoutMS < 0 || sv.ReplyBytes < 0 || sv.DeferAcceptS < 0 || sv.RcvBuf < 0 {
		bad("%s times and sizes must not be negative", what)
	}
	if sv.Close != "" && sv.Close != "fin" && sv.Close != "rst" {
		bad("%s close %q: want fin or rst", what, sv.Close)
	}
	switch sv.CloseWhen {
	case "", "eof", "accept", "first-read":
	default:
		bad("%s close_when %q: want eof, accept or first-read", what, sv.CloseWhen)
	}
	if w := sv.PauseReading; w != nil && (w.FromMS < 0 || w.ToMS <= w.FromMS) {
		bad("%s pause_reading wants 0 <= from_ms < to_ms", what)
	}
	if sv.CloseListenerMS < 0 || sv.CloseListenerMS >= s.DurationMS {
		bad("%s close_listener_ms %d outside the scenario", what, sv.CloseListenerMS)
	}
	if sv.RelistenMS != 0 && (sv.CloseListenerMS == 0 || sv.RelistenMS <= sv.CloseListenerMS || sv.RelistenMS >= s.DurationMS) {
		bad("%s relisten_ms %d: want close_listener_ms < relisten_ms < duration_ms", what, sv.RelistenMS)
	}
}

func (s *Scenario) validateFlood(f *Flood, bad func(string, ...any)) {
	if s.Family != 4 {
		bad("flood: IPv4 only")
	}
	if f.Count <= 0 || f.Count > 20000 || f.Sources <= 0 || f.Sources > f.Count {
		bad("flood: want 0 < sources <= count <= 20000")
	}
	if f.StartMS < 0 || f.DurationMS <= 0 || f.StartMS+f.DurationMS >= s.DurationMS {
		bad("flood: want start_ms >= 0, duration_ms > 0, ending before the scenario")
	}
	p := netip.MustParsePrefix(DefaultFloodPrefix)
	if f.Prefix != "" {
		var err error
		p, err = netip.ParsePrefix(f.Prefix)
		switch {
		case err != nil || !p.Addr().Is4():
			bad("flood prefix %q: want an IPv4 prefix", f.Prefix)
			return
		case p.Bits() < 8 || p.Bits() > 24:
			bad("flood prefix %q: want /8 to /24", f.Prefix)
			return
		case p.Overlaps(netip.MustParsePrefix("10.77.0.0/24")):
			bad("flood prefix %q overlaps the lab's own addresses", f.Prefix)
		}
	}
	if f.Sources > 1<<(32-p.Bits())-2 {
		bad("flood: %d sources do not fit in %s", f.Sources, p)
	}
}

func isUint(s string) bool { return uintRE.MatchString(s) }

// ServerPort returns the port the main listener uses.
func (s *Scenario) ServerPort() int {
	if s.Port == 0 {
		return DefaultPort
	}
	return s.Port
}

// Listeners returns every listening socket's spec, the main one first, each
// with its Port filled in.
func (s *Scenario) Listeners() []ServerSpec {
	main := s.Server
	main.Port = s.ServerPort()
	return append([]ServerSpec{main}, s.ExtraListeners...)
}

// Listener returns the spec of the listener on port, if any.
func (s *Scenario) Listener(port int) (ServerSpec, bool) {
	for _, l := range s.Listeners() {
		if l.Port == port {
			return l, true
		}
	}
	return ServerSpec{}, false
}

// GroupPort returns the server port group g connects to.
func (s *Scenario) GroupPort(g ClientGroup) int {
	if g.Port == 0 {
		return s.ServerPort()
	}
	return g.Port
}

// WatchedPorts are the server ports the ss poller follows: every listener's
// and every port a client connects to, in ascending order.
func (s *Scenario) WatchedPorts() []int {
	set := map[int]bool{}
	for _, l := range s.Listeners() {
		set[l.Port] = true
	}
	for _, g := range s.Clients {
		set[s.GroupPort(g)] = true
	}
	var ps []int
	for p := range set {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

// ServerSysctls returns the sysctls to set in lab-srv: defaults overridden
// by the scenario.
func (s *Scenario) ServerSysctls() map[string]string { return merge(DefaultServerSysctls, s.Sysctls) }

// CliSysctls returns the sysctls to set in lab-cli.
func (s *Scenario) CliSysctls() map[string]string {
	return merge(DefaultClientSysctls, s.ClientSysctls)
}

// Offload reports whether the endpoints keep their interfaces' offloads.
func (s *Scenario) Offload() bool { return !s.NoOffload && s.Path == nil }

func merge(def, over map[string]string) map[string]string {
	m := make(map[string]string, len(def))
	for k, v := range def {
		m[k] = v
	}
	for k, v := range over {
		m[k] = v
	}
	return m
}

// ClientPlan is one client connection's behaviour, flattened from its group.
type ClientPlan struct {
	Port  int
	Group ClientGroup
	// StartMS is the connection's own connect time relative to t0 (the
	// first connection of a client; later ones start when the one before
	// ended).
	StartMS int
	// Worker numbers the clients of the whole scenario from 0; Seq is the
	// connection's place in its client's sequence (from 0).
	Worker, Seq int
	// ServerPort is the port it connects to.
	ServerPort int
}

// Plans flattens the client groups into one plan per connection, in port
// order. Ports are assigned group by group: a group of Count clients making
// Connections connections each takes Count*Connections ports, connection j
// of client i (both from 0) getting the group's first port + j*Count + i.
// A scenario with one connection per client numbers its clients 41001,
// 41002, ... in group order, as the lab always has.
func (s *Scenario) Plans() []ClientPlan {
	var ps []ClientPlan
	port, worker := FirstClientPort, 0
	for _, g := range s.Clients {
		conns := max(1, g.Connections)
		for j := 0; j < conns; j++ {
			for i := 0; i < g.Count; i++ {
				ps = append(ps, ClientPlan{Port: port, Group: g, StartMS: g.StartMS + i*g.SpacingMS,
					Worker: worker + i, Seq: j, ServerPort: s.GroupPort(g)})
				port++
			}
		}
		worker += g.Count
	}
	return ps
}
