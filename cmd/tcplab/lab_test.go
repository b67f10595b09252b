package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
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
	}
	for name, mutate := range cases {
		s := good()
		mutate(s)
		if err := s.Validate(); err == nil {
			t.Errorf("%s: Validate accepted a bad scenario", name)
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
	in := "#kernel\nTcpExtListenOverflows           7                  0.0\nTcpExtListenDrops 9 0.0\nIpInReceives 3 0.0\n"
	m := parseNstat(strings.NewReader(in), []string{"TcpExtListenOverflows", "TcpExtListenDrops", "TcpExtSyncookiesSent"})
	if m["TcpExtListenOverflows"] != 7 || m["TcpExtListenDrops"] != 9 || m["TcpExtSyncookiesSent"] != 0 || len(m) != 3 {
		t.Errorf("parseNstat = %v", m)
	}
}

func TestSSPollerRecord(t *testing.T) {
	p := newSSPoller(8000)
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
	p6 := newSSPoller(8000)
	p6.record(t0, "ESTAB 0 0 [fd77::1]:8000 [fd77::2]:41001\n")
	if _, ok := p6.history["[fd77::2]:41001"]; !ok {
		t.Errorf("IPv6 peer not recorded: %v", p6.history)
	}
}
