package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Scenario is one declarative lab experiment, read from testdata/lab/<name>.json.
// All times are milliseconds relative to the scenario start (t0), except where
// a field says otherwise.
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
	// Qdisc optionally shapes one side's egress with a token bucket.
	Qdisc *Qdisc `json:"qdisc,omitempty"`
	// Server says how the server listens, accepts and answers.
	Server ServerSpec `json:"server"`
	// Clients are groups of clients; local ports are assigned in order from
	// FirstClientPort across all groups.
	Clients []ClientGroup `json:"clients"`
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

// ServerSpec describes the server application.
type ServerSpec struct {
	// Backlog is the listen(2) backlog; the kernel uses min(backlog, somaxconn)
	// and holds backlog+1 completed connections.
	Backlog int `json:"backlog"`
	// Accept is when the application calls accept(2).
	Accept AcceptSchedule `json:"accept"`
	// ReadTimeoutMS bounds each read after accept (default 5000).
	ReadTimeoutMS int `json:"read_timeout_ms,omitempty"`
	// ReplyBytes, when positive, is written once after the first read returned data.
	ReplyBytes int `json:"reply_bytes,omitempty"`
	// Close is how the server closes an accepted connection once reading ended:
	// "fin" (default) or "rst" (SO_LINGER 0).
	Close string `json:"close,omitempty"`
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
	// StartMS is when the group's first client calls connect(2).
	StartMS int `json:"start_ms"`
	// SpacingMS is the time between the connect calls of consecutive clients.
	SpacingMS int `json:"spacing_ms,omitempty"`
	// SynRetries, when positive, sets TCP_SYNCNT on the socket.
	SynRetries int `json:"syn_retries,omitempty"`
	// ConnectTimeoutMS bounds connect(2) (default: until the scenario ends).
	ConnectTimeoutMS int `json:"connect_timeout_ms,omitempty"`
	// Sends are writes made after connect(2) returned.
	Sends []Send `json:"sends,omitempty"`
	// Close is "fin" (close(2)), "rst" (SO_LINGER 0 then close) or "none"
	// (left open until the lab stops, after the captures ended).
	Close string `json:"close"`
	// CloseAtMS is when the client closes, relative to its own connect start.
	CloseAtMS int `json:"close_at_ms,omitempty"`
}

// Send is one write(2) of Bytes bytes, AfterMS after connect(2) returned.
type Send struct {
	AfterMS int `json:"after_ms"`
	Bytes   int `json:"bytes"`
}

// FirstClientPort is the local port of the first client; client i (from 0)
// uses FirstClientPort+i.
const FirstClientPort = 41001

// DefaultPort is the server port when a scenario does not name one.
const DefaultPort = 8000

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
}

// DefaultClientSysctls are applied in lab-cli unless a scenario overrides them.
var DefaultClientSysctls = map[string]string{
	"net.ipv4.tcp_syn_retries": "3",
}

// AllowedClientSysctls are the keys a scenario may set in lab-cli.
var AllowedClientSysctls = map[string]bool{
	"net.ipv4.tcp_syn_retries": true,
}

// maxDurationMS keeps every scenario well under a minute.
const maxDurationMS = 45000

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

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
	if s.Port < 0 || s.Port > 65535 || (s.Port >= FirstClientPort && s.Port < FirstClientPort+1000) {
		bad("port %d out of range or among the client ports", s.Port)
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
	if q := s.Qdisc; q != nil {
		if q.Side != "client" && q.Side != "server" {
			bad("qdisc side %q: want client or server", q.Side)
		}
		for _, f := range []string{q.Rate, q.Latency} {
			if !regexp.MustCompile(`^[0-9]+[a-z]*$`).MatchString(f) {
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
			largest = max(largest, 14+ip+32+s.Server.ReplyBytes)
		}
		if q.Burst < largest {
			bad("qdisc burst %d bytes: tbf would drop frames of up to %d bytes the %s sends", q.Burst, largest, q.Side)
		}
	}
	sv := s.Server
	if sv.Backlog < 0 || sv.Backlog > 65535 {
		bad("server backlog %d out of range", sv.Backlog)
	}
	switch sv.Accept.Mode {
	case "never", "immediate":
	case "interval":
		if sv.Accept.IntervalMS <= 0 {
			bad("accept interval_ms must be positive")
		}
	default:
		bad("accept mode %q: want never, immediate or interval", sv.Accept.Mode)
	}
	if sv.Accept.StartMS < 0 || sv.ReadTimeoutMS < 0 || sv.ReplyBytes < 0 {
		bad("server times and sizes must not be negative")
	}
	if sv.Close != "" && sv.Close != "fin" && sv.Close != "rst" {
		bad("server close %q: want fin or rst", sv.Close)
	}
	n := 0
	for i, g := range s.Clients {
		if g.Count <= 0 {
			bad("client group %d: count must be positive", i)
		}
		n += g.Count
		if g.StartMS < 0 || g.SpacingMS < 0 || g.SynRetries < 0 || g.ConnectTimeoutMS < 0 || g.CloseAtMS < 0 {
			bad("client group %d: times and counts must not be negative", i)
		}
		if g.StartMS+g.SpacingMS*(g.Count-1) >= s.DurationMS {
			bad("client group %d starts after the scenario ends", i)
		}
		switch g.Close {
		case "fin", "rst":
			if g.CloseAtMS <= 0 {
				bad("client group %d: close %q needs close_at_ms", i, g.Close)
			}
		case "none":
		default:
			bad("client group %d: close %q: want fin, rst or none", i, g.Close)
		}
		for j, snd := range g.Sends {
			if snd.AfterMS < 0 || snd.Bytes <= 0 {
				bad("client group %d send %d: want after_ms >= 0 and bytes > 0", i, j)
			}
		}
	}
	if n == 0 || n > 200 {
		bad("%d clients: want 1..200", n)
	}
	return errors.Join(errs...)
}

func isUint(s string) bool { return regexp.MustCompile(`^[0-9]+$`).MatchString(s) }

// ServerPort returns the port the server listens on.
func (s *Scenario) ServerPort() int {
	if s.Port == 0 {
		return DefaultPort
	}
	return s.Port
}

// ServerSysctls returns the sysctls to set in lab-srv: defaults overridden
// by the scenario.
func (s *Scenario) ServerSysctls() map[string]string { return merge(DefaultServerSysctls, s.Sysctls) }

// CliSysctls returns the sysctls to set in lab-cli.
func (s *Scenario) CliSysctls() map[string]string {
	return merge(DefaultClientSysctls, s.ClientSysctls)
}

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

// ClientPlan is one client's behaviour, flattened from its group.
type ClientPlan struct {
	Port  int
	Group ClientGroup
	// StartMS is the client's own connect time relative to t0.
	StartMS int
}

// Plans flattens the client groups into one plan per client, in port order.
func (s *Scenario) Plans() []ClientPlan {
	var ps []ClientPlan
	port := FirstClientPort
	for _, g := range s.Clients {
		for i := 0; i < g.Count; i++ {
			ps = append(ps, ClientPlan{Port: port, Group: g, StartMS: g.StartMS + i*g.SpacingMS})
			port++
		}
	}
	return ps
}
