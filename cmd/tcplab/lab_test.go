package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

const labDir = "../../testdata/lab"

// TestScenariosValidate parses and validates every scenario file.
func TestScenariosValidate(t *testing.T) {
	files, err := scenarioFiles(labDir)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			sc, err := LoadScenario(f)
			if err != nil {
				t.Fatal(err)
			}
			names[sc.Name] = true
			plans := sc.Plans()
			if len(plans) == 0 || plans[0].Port != FirstClientPort {
				t.Errorf("plans start at port %v, want %d", plans, FirstClientPort)
			}
		})
	}
	if len(files) < 8 {
		t.Errorf("%d scenarios, want at least 8", len(files))
	}
}

// TestValidateRejects checks that Validate catches what the lab cannot run.
func TestValidateRejects(t *testing.T) {
	good := func() *Scenario {
		return &Scenario{
			Name: "x", Description: "d", Family: 4, DurationMS: 1000,
			Server:  ServerSpec{Backlog: 1, Accept: AcceptSchedule{Mode: "never"}},
			Clients: []ClientGroup{{Count: 1, Close: "none"}},
		}
	}
	if err := good().Validate(); err != nil {
		t.Fatalf("good scenario: %v", err)
	}
	cases := map[string]func(s *Scenario){
		"family":       func(s *Scenario) { s.Family = 5 },
		"duration":     func(s *Scenario) { s.DurationMS = 120000 },
		"sysctl key":   func(s *Scenario) { s.Sysctls = map[string]string{"net.ipv4.ip_forward": "1"} },
		"sysctl value": func(s *Scenario) { s.Sysctls = map[string]string{"net.core.somaxconn": "-1"} },
		"accept mode":  func(s *Scenario) { s.Server.Accept.Mode = "sometimes" },
		"interval":     func(s *Scenario) { s.Server.Accept.Mode = "interval" },
		"close":        func(s *Scenario) { s.Clients[0].Close = "rst" },
		"no clients":   func(s *Scenario) { s.Clients = nil },
		"qdisc side":   func(s *Scenario) { s.Qdisc = &Qdisc{Side: "both", Rate: "8kbit", Burst: 100, Latency: "20s"} },
		"qdisc arg":    func(s *Scenario) { s.Qdisc = &Qdisc{Side: "client", Rate: "8kbit; rm", Burst: 100, Latency: "20s"} },
		"qdisc burst": func(s *Scenario) {
			s.Qdisc = &Qdisc{Side: "client", Rate: "8kbit", Burst: 80, Latency: "20s"}
			s.Clients[0].Sends = []Send{{Bytes: 50}}
		},
		"late start": func(s *Scenario) { s.Clients[0].StartMS = 1000 },

		// Listeners.
		"main listener port": func(s *Scenario) { s.Server.Port = 8001 },
		"extra without port": func(s *Scenario) {
			s.ExtraListeners = []ServerSpec{{Backlog: 1, Accept: AcceptSchedule{Mode: "never"}}}
		},
		"extra on the main port": func(s *Scenario) {
			s.ExtraListeners = []ServerSpec{{Port: 8000, Accept: AcceptSchedule{Mode: "never"}}}
		},
		"extra on a client port": func(s *Scenario) {
			s.ExtraListeners = []ServerSpec{{Port: 41001, Accept: AcceptSchedule{Mode: "never"}}}
		},
		"extra accept mode":      func(s *Scenario) { s.ExtraListeners = []ServerSpec{{Port: 8001, Accept: AcceptSchedule{Mode: "x"}}} },
		"close_when":             func(s *Scenario) { s.Server.CloseWhen = "later" },
		"defer accept":           func(s *Scenario) { s.Server.DeferAcceptS = -1 },
		"rcvbuf":                 func(s *Scenario) { s.Server.RcvBuf = -1 },
		"pause window":           func(s *Scenario) { s.Server.PauseReading = &Window{FromMS: 500, ToMS: 500} },
		"close listener late":    func(s *Scenario) { s.Server.CloseListenerMS = 1000 },
		"relisten without close": func(s *Scenario) { s.Server.RelistenMS = 500 },
		"relisten before close":  func(s *Scenario) { s.Server.CloseListenerMS, s.Server.RelistenMS = 500, 400 },
		"blackhole port 0":       func(s *Scenario) { s.BlackholePorts = []int{0} },
		"blackhole client port":  func(s *Scenario) { s.BlackholePorts = []int{41001} },

		// Clients.
		"group port":       func(s *Scenario) { s.Clients[0].Port = 70000 },
		"keepalive":        func(s *Scenario) { s.Clients[0].Keepalive = &Keepalive{IdleS: 1, IntervalS: 0, Count: 3} },
		"client pause":     func(s *Scenario) { s.Clients[0].PauseReading = &Window{FromMS: -1, ToMS: 10} },
		"client rcvbuf":    func(s *Scenario) { s.Clients[0].RcvBuf = -5 },
		"repeat left open": func(s *Scenario) { s.Clients[0].Connections = 3 },
		"negative gap":     func(s *Scenario) { s.Clients[0].GapMS = -1 },
		"too many":         func(s *Scenario) { s.Clients[0].Count, s.Clients[0].Connections, s.Clients[0].Close = 100, 31, "reply" },
		"close reply typo": func(s *Scenario) { s.Clients[0].Close = "replied" },
		"client sysctl":    func(s *Scenario) { s.ClientSysctls = map[string]string{"net.ipv4.tcp_syncookies": "0"} },
		"sysctl change key": func(s *Scenario) {
			s.ClientSysctlChanges = []SysctlChange{{AtMS: 10, Name: "net.ipv4.ip_forward", Value: "1"}}
		},
		"sysctl change value": func(s *Scenario) {
			s.ClientSysctlChanges = []SysctlChange{{AtMS: 10, Name: "net.ipv4.tcp_sack", Value: "on"}}
		},
		"sysctl change late": func(s *Scenario) {
			s.ClientSysctlChanges = []SysctlChange{{AtMS: 1000, Name: "net.ipv4.tcp_sack", Value: "1"}}
		},

		// Captures and the flood.
		"capture direction": func(s *Scenario) { s.Capture = &CaptureSpec{Server: "both"} },
		"capture both":      func(s *Scenario) { s.Capture = &CaptureSpec{Server: "in", Client: "out"} },
		"flood v6": func(s *Scenario) {
			s.Family = 6
			s.Flood = &Flood{Count: 10, Sources: 2, DurationMS: 100}
		},
		"flood sources":  func(s *Scenario) { s.Flood = &Flood{Count: 10, Sources: 20, DurationMS: 100} },
		"flood too long": func(s *Scenario) { s.Flood = &Flood{Count: 10, Sources: 2, StartMS: 500, DurationMS: 500} },
		"flood prefix":   func(s *Scenario) { s.Flood = &Flood{Count: 10, Sources: 2, DurationMS: 100, Prefix: "10.77.0.0/16"} },
		"flood prefix6":  func(s *Scenario) { s.Flood = &Flood{Count: 10, Sources: 2, DurationMS: 100, Prefix: "fd78::/64"} },

		// The path.
		"path and qdisc": func(s *Scenario) {
			s.Path = &Path{}
			s.Qdisc = &Qdisc{Side: "client", Rate: "8kbit", Burst: 100, Latency: "20s"}
		},
		"path delay": func(s *Scenario) { s.Path = &Path{ClientToServer: PathDirection{DelayMS: -1}} },
		"path loss":  func(s *Scenario) { s.Path = &Path{ServerToClient: PathDirection{Loss: 0.9}} },
		"rule dir":   func(s *Scenario) { s.Path = pathWith(PathRule{Name: "r", Dir: "up", Match: "any", Action: "drop"}) },
		"rule match": func(s *Scenario) {
			s.Path = pathWith(PathRule{Name: "r", Dir: "c2s", Match: "syn-ack", Action: "drop"})
		},
		"rule action": func(s *Scenario) {
			s.Path = pathWith(PathRule{Name: "r", Dir: "c2s", Match: "any", Action: "delay"})
		},
		"rule name": func(s *Scenario) {
			s.Path = pathWith(PathRule{Name: "random", Dir: "c2s", Match: "any", Action: "drop"})
		},
		"rule twice": func(s *Scenario) { s.Path = pathWith(goodRule(), goodRule()) },
		"hold no ms": func(s *Scenario) {
			s.Path = pathWith(PathRule{Name: "r", Dir: "c2s", Match: "data", Action: "hold", HoldFrames: 1})
		},
		"drop hold": func(s *Scenario) {
			s.Path = pathWith(PathRule{Name: "r", Dir: "c2s", Match: "data", Action: "drop", HoldMS: 5})
		},
		"rule window": func(s *Scenario) {
			s.Path = pathWith(PathRule{Name: "r", Dir: "c2s", Match: "any", Action: "drop", FromMS: 500, UntilMS: 400})
		},
		"rule nth": func(s *Scenario) {
			s.Path = pathWith(PathRule{Name: "r", Dir: "c2s", Match: "any", Action: "drop", Nth: -1})
		},
	}
	for name, mutate := range cases {
		s := good()
		mutate(s)
		if err := s.Validate(); err == nil {
			t.Errorf("%s: Validate accepted a bad scenario", name)
		}
	}
}

func goodRule() PathRule {
	return PathRule{Name: "drop the first SYN-ACK", Dir: "s2c", ClientPort: 41001, Match: "synack", Nth: 1, Action: "drop"}
}

func pathWith(rs ...PathRule) *Path { return &Path{Rules: rs} }

// TestValidateAccepts checks that a scenario using every optional feature
// validates, and what it implies.
func TestValidateAccepts(t *testing.T) {
	s := &Scenario{
		Name: "x", Description: "d", Family: 4, DurationMS: 5000,
		Sysctls:             map[string]string{"net.ipv4.tcp_timestamps": "0", "net.ipv4.tcp_sack": "1"},
		ClientSysctls:       map[string]string{"net.ipv4.tcp_timestamps": "0"},
		ClientSysctlChanges: []SysctlChange{{AtMS: 1000, Name: "net.ipv4.tcp_timestamps", Value: "1"}},
		Path: &Path{ClientToServer: PathDirection{DelayMS: 5, Loss: 0.04}, ServerToClient: PathDirection{DelayMS: 5}, Seed: 3,
			Rules: []PathRule{goodRule(), {Name: "hold", Dir: "c2s", Match: "data", Nth: 2, Action: "hold", HoldFrames: 1, HoldMS: 100}}},
		BlackholePorts: []int{8002},
		Capture:        &CaptureSpec{Server: "in"},
		Flood:          &Flood{StartMS: 100, DurationMS: 500, Count: 100, Sources: 10, Seed: 1},
		Server: ServerSpec{Backlog: 16, DeferAcceptS: 3, RcvBuf: 4096, Accept: AcceptSchedule{Mode: "immediate"},
			PauseReading: &Window{FromMS: 0, ToMS: 1000}, Close: "rst", CloseWhen: "first-read", CloseListenerMS: 2000, RelistenMS: 3000},
		ExtraListeners: []ServerSpec{{Port: 8001, Backlog: 5, Accept: AcceptSchedule{Mode: "interval", IntervalMS: 20}, CloseWhen: "accept"}},
		Clients: []ClientGroup{
			{Count: 2, Connections: 3, GapMS: 10, ConnectUntilMS: 3000, Close: "reply", CloseAtMS: 500, Port: 8001,
				Keepalive: &Keepalive{IdleS: 1, IntervalS: 1, Count: 3}, RcvBuf: 4096, PauseReading: &Window{FromMS: 0, ToMS: 100}},
			{Count: 1, Port: 8005, Close: "none"},
		},
	}
	if err := s.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if s.Offload() {
		t.Error("a path keeps the offloads on")
	}
	if got := s.WatchedPorts(); !reflect.DeepEqual(got, []int{8000, 8001, 8005}) {
		t.Errorf("WatchedPorts = %v", got)
	}
	if l, ok := s.Listener(8001); !ok || l.CloseWhen != "accept" {
		t.Errorf("Listener(8001) = %+v, %v", l, ok)
	}
	// Ports: the first group's two clients make three connections each,
	// connection j of client i on 41001 + j*2 + i; the next group follows.
	var got []string
	for _, p := range s.Plans() {
		got = append(got, fmt.Sprintf("%d:w%d/%d->%d", p.Port, p.Worker, p.Seq, p.ServerPort))
	}
	want := []string{"41001:w0/0->8001", "41002:w1/0->8001", "41003:w0/1->8001", "41004:w1/1->8001", "41005:w0/2->8001", "41006:w1/2->8001", "41007:w2/0->8005"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Plans = %v, want %v", got, want)
	}
}

func TestTcpdumpArgs(t *testing.T) {
	got := strings.Join(tcpdumpArgs("any", "c.pcap", "in"), " ")
	if want := "tcpdump -Z root -i any -s 128 -B 32768 --immediate-mode -U -n -Q in -w c.pcap tcp"; got != want {
		t.Errorf("tcpdumpArgs = %q, want %q", got, want)
	}
	if got := strings.Join(tcpdumpArgs("lab-srv0", "s.pcap", ""), " "); strings.Contains(got, "-Q") {
		t.Errorf("a two-sided capture with -Q: %q", got)
	}
}

func TestParseTcpdumpStats(t *testing.T) {
	out := "tcpdump: listening on any, link-type LINUX_SLL2 (Linux cooked v2), snapshot length 128 bytes\n" +
		"6134 packets captured\n6142 packets received by filter\n3 packets dropped by kernel\n"
	st, err := parseTcpdumpStats(out)
	if err != nil || st != (CaptureStats{Captured: 6134, ReceivedByFilter: 6142, DroppedByKernel: 3}) {
		t.Errorf("parseTcpdumpStats = %+v, %v", st, err)
	}
	if _, err := parseTcpdumpStats("tcpdump: listening on any\n"); err == nil {
		t.Error("no statistics accepted")
	}
}

// TestTruthIncomplete checks that a run which lost frames is refused.
func TestTruthIncomplete(t *testing.T) {
	ok := Truth{CaptureStats: map[string]CaptureStats{"server.pcap": {Captured: 5, ReceivedByFilter: 5}},
		PathStats: []PathStats{{Dir: "c2s"}}, Flood: &FloodTruth{}, ClientSysctlChanges: []SysctlChangeTruth{{Name: "x"}}}
	if err := ok.incomplete(); err != nil {
		t.Errorf("complete run refused: %v", err)
	}
	for name, tr := range map[string]Truth{
		"tcpdump": {CaptureStats: map[string]CaptureStats{"client.pcap": {DroppedByKernel: 1}}},
		"router":  {PathStats: []PathStats{{Dir: "s2c", SocketDrops: 2}}},
		"send":    {PathStats: []PathStats{{Dir: "s2c", SendErrors: 1}}},
		"flood":   {Flood: &FloodTruth{SendErrors: 1}},
		"sysctl":  {ClientSysctlChanges: []SysctlChangeTruth{{Name: "x", Error: "denied"}}},
	} {
		if err := tr.incomplete(); err == nil {
			t.Errorf("%s: an incomplete run accepted", name)
		}
	}
}

func TestReadEnd(t *testing.T) {
	wrap := func(e error) error { return &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", e)} }
	for want, err := range map[string]error{
		"eof": io.EOF, "reset": wrap(syscall.ECONNRESET), "etimedout": wrap(syscall.ETIMEDOUT),
		"timeout": os.ErrDeadlineExceeded, "closed": net.ErrClosed,
	} {
		if got := readEnd(err); got != want {
			t.Errorf("readEnd(%v) = %q, want %q", err, got, want)
		}
	}
}

// TestTruthFilesParse decodes every recorded truth file strictly and checks
// that it belongs to its scenario and that its times parse.
func TestTruthFilesParse(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(labDir, "*", "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no recorded fixtures")
	}
	for _, f := range files {
		t.Run(filepath.Base(filepath.Dir(f)), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			var tr Truth
			if err := dec.Decode(&tr); err != nil {
				t.Fatal(err)
			}
			if want := filepath.Base(filepath.Dir(f)); tr.Scenario != want {
				t.Errorf("scenario %q in directory %q", tr.Scenario, want)
			}
			if _, err := LoadScenario(filepath.Join(labDir, tr.Scenario+".json")); err != nil {
				t.Errorf("its scenario file: %v", err)
			}
			for _, p := range []string{"server.pcap", "client.pcap"} {
				if st, err := os.Stat(filepath.Join(filepath.Dir(f), p)); err != nil || st.Size() <= 24 {
					t.Errorf("%s missing or empty", p)
				}
			}
			times := []string{tr.Start, tr.End}
			for _, c := range tr.Clients {
				times = append(times, c.ConnectStart, c.CloseT)
				for _, s := range c.Sends {
					times = append(times, s.T)
				}
				if c.ConnectMS == nil && c.ConnectError == "" {
					t.Errorf("client %s: neither connect_ms nor connect_error", c.Local)
				}
			}
			for _, a := range tr.Accepts {
				times = append(times, a.T, a.FirstReadT, a.CloseT)
			}
			for _, s := range tr.SSFirstSeen {
				times = append(times, s.T)
			}
			for _, s := range times {
				if s == "" {
					continue
				}
				if _, err := time.Parse(time.RFC3339Nano, s); err != nil || !strings.HasSuffix(s, "Z") {
					t.Errorf("time %q: not RFC 3339 UTC: %v", s, err)
				}
			}
			for _, n := range NstatNames {
				if _, ok := tr.Nstat[n]; !ok {
					t.Errorf("nstat lacks %s", n)
				}
			}
		})
	}
}

func TestParseNstat(t *testing.T) {
	in := "#kernel\nTcpExtListenOverflows           7                  0.0\nTcpExtListenDrops 9 0.0\nIpInReceives 3 0.0\nTcpActiveOpens 2 0.0\n"
	m := parseNstatPrefix(strings.NewReader(in), "Tcp")
	if m["TcpExtListenOverflows"] != 7 || m["TcpExtListenDrops"] != 9 || m["TcpActiveOpens"] != 2 || len(m) != 3 {
		t.Errorf("parseNstatPrefix = %v", m)
	}
}

func TestSSPollerRecord(t *testing.T) {
	p := newSSPoller(false, 8000)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p.record(t0, "LISTEN 2 1 10.77.0.1:8000 0.0.0.0:*\nSYN-RECV 0 0 10.77.0.1:8000 10.77.0.2:41003\nESTAB 0 0 10.77.0.1:8000 10.77.0.2:41001\n")
	p.record(t0.Add(time.Second), "LISTEN 2 1 10.77.0.1:8000 0.0.0.0:*\nCLOSE-WAIT 1 0 10.77.0.1:8000 10.77.0.2:41003\n")
	first := p.firstSeen()
	if got := first["10.77.0.2:41003"]; got.State != "CLOSE-WAIT" {
		t.Errorf("41003 first seen %+v, want CLOSE-WAIT", got)
	}
	if got := p.history["10.77.0.2:41001"]; len(got) != 2 || got[1].State != "gone" {
		t.Errorf("41001 history %+v, want ESTAB then gone", got)
	}
	if len(p.listen) != 1 || p.listen[0].RecvQ != 2 || p.listen[0].SendQ != 1 {
		t.Errorf("listen samples %+v", p.listen)
	}
	p6 := newSSPoller(false, 8000)
	p6.record(t0, "ESTAB 0 0 [fd77::1]:8000 [fd77::2]:41001\n")
	if _, ok := p6.history["[fd77::2]:41001"]; !ok {
		t.Errorf("IPv6 peer not recorded: %v", p6.history)
	}
}
