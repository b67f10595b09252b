package analyze

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const kernelDir = "../testdata/kernel/"

func readKernel(t *testing.T, name string) (*KernelStats, error) {
	t.Helper()
	data, err := os.ReadFile(kernelDir + name)
	if err != nil {
		t.Fatal(err)
	}
	return ParseKernelStats(name, data)
}

// The fixtures were recorded in one namespace after the same workload
// (testdata/kernel/README.md): every format must give the same values of
// the counters tcptimeline reconciles, read from the lines they are on.
func TestParseKernelStatsEveryFormatOfOneSnapshot(t *testing.T) {
	want := map[string]int64{
		"TcpExtListenOverflows": 15, "TcpExtListenDrops": 15, "TcpExtTCPReqQFullDrop": 0, "TcpExtSyncookiesSent": 3,
		"TcpExtTCPSynRetrans": 15, "TcpExtTCPDeferAcceptDrop": 0, "TcpExtEmbryonicRsts": 0,
	}
	for _, tc := range []struct {
		file    string
		format  KernelFormat
		implied []string // read as 0: netstat -s prints no line for them
		absent  []string // not in the file at all
		others  map[string]int64
	}{
		{file: "nstat-after.txt", format: FormatNstat, others: map[string]int64{"TcpPassiveOpens": 9, "TcpExtTCPReqQFullDoCookies": 3}},
		{file: "nstat-az.txt", format: FormatNstat},
		{file: "nstat-asjz.json", format: FormatNstatJSON, others: map[string]int64{"TcpPassiveOpens": 9}},
		{file: "proc-netstat-snmp.txt", format: FormatProc, others: map[string]int64{"TcpPassiveOpens": 9, "TcpMaxConn": -1, "IpExtInOctets": 5432}},
		{file: "proc-netstat-snmp-snmp6.txt", format: FormatProc, others: map[string]int64{"Ip6InReceives": 0, "TcpPassiveOpens": 9}},
		{file: "netstat-s-after.txt", format: FormatNetstatS, implied: []string{"TcpExtTCPReqQFullDrop", "TcpExtTCPDeferAcceptDrop", "TcpExtEmbryonicRsts"},
			others: map[string]int64{"TcpPassiveOpens": 9, "TcpExtTCPReqQFullDoCookies": 3, "IpExtInOctets": 5432}},
		// Plain nstat without -z: the increase since nstat -n, zeros left out.
		{file: "nstat-delta.txt", format: FormatNstat, absent: []string{"TcpExtTCPReqQFullDrop", "TcpExtTCPDeferAcceptDrop", "TcpExtEmbryonicRsts"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			k, err := readKernel(t, tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if len(k.Formats) != 1 || k.Formats[0] != tc.format {
				t.Errorf("format %v, want %s", k.Formats, tc.format)
			}
			for n, v := range want {
				got, ok := k.Values[n]
				switch {
				case contains(tc.absent, n):
					if ok {
						t.Errorf("%s = %d, want it absent", n, got)
					}
				case !ok:
					t.Errorf("%s missing", n)
				case got != v:
					t.Errorf("%s = %d, want %d", n, got, v)
				case k.Implied[n] != contains(tc.implied, n):
					t.Errorf("%s implied %v, want %v", n, k.Implied[n], !k.Implied[n])
				case !k.Implied[n] && k.Lines[n] == 0:
					t.Errorf("%s has no line", n)
				}
			}
			for n, v := range tc.others {
				if got, ok := k.Values[n]; !ok || got != v {
					t.Errorf("%s = %d (%v), want %d", n, got, ok, v)
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestParseKernelStatsLinesPointAtTheCounter(t *testing.T) {
	for _, file := range []string{"nstat-after.txt", "proc-netstat-snmp.txt", "netstat-s-after.txt", "nstat-asjz.json"} {
		data, _ := os.ReadFile(kernelDir + file)
		k, err := ParseKernelStats(file, data)
		if err != nil {
			t.Fatal(err)
		}
		line := strings.Split(string(data), "\n")[k.Lines["TcpExtListenOverflows"]-1]
		if !strings.Contains(line, "15") {
			t.Errorf("%s: TcpExtListenOverflows read from line %d %q, which does not hold 15", file, k.Lines["TcpExtListenOverflows"], line)
		}
	}
}

// Two snapshots give the difference; plain nstat's delta, taken over
// the same stretch (nstat -n beside the first, nstat beside the second),
// says the same.
func TestKernelStatsDifference(t *testing.T) {
	before, err := readKernel(t, "nstat-before.txt")
	if err != nil {
		t.Fatal(err)
	}
	after, err := readKernel(t, "nstat-after.txt")
	if err != nil {
		t.Fatal(err)
	}
	delta, err := readKernel(t, "nstat-delta.txt")
	if err != nil {
		t.Fatal(err)
	}
	d, err := before.Sub(after)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Difference() || d.Files[0] != "nstat-before.txt" || d.Files[1] != "nstat-after.txt" {
		t.Errorf("files %v", d.Files)
	}
	for _, n := range CounterNames {
		if want := delta.Values[n]; d.Values[n] != want {
			t.Errorf("%s: after - before = %d, nstat's delta %d", n, d.Values[n], want)
		}
	}
	// netstat -s before and after: implied zeros subtract as zeros.
	nb, err := readKernel(t, "netstat-s-before.txt")
	if err != nil {
		t.Fatal(err)
	}
	na, err := readKernel(t, "netstat-s-after.txt")
	if err != nil {
		t.Fatal(err)
	}
	nd, err := nb.Sub(na)
	if err != nil {
		t.Fatal(err)
	}
	if nd.Values["TcpExtListenOverflows"] != 15 || nd.Values["TcpExtEmbryonicRsts"] != 0 || !nd.Implied["TcpExtEmbryonicRsts"] || nd.Implied["TcpExtListenOverflows"] {
		t.Errorf("netstat -s difference: %v, implied %v", nd.Values, nd.Implied)
	}
	// In the wrong order, the counters went down: an error naming the
	// later file's line.
	_, err = after.Sub(before)
	var le *LineError
	if !errors.As(err, &le) || le.Name != "nstat-before.txt" || le.Line == 0 || !strings.Contains(err.Error(), "counters only grow") {
		t.Errorf("reversed snapshots: %v", err)
	}
}

func TestParseKernelStatsErrorsNameFileAndLine(t *testing.T) {
	for _, tc := range []struct {
		file string
		line int
		want string
	}{
		{"bad/nstat-bad-value.txt", 185, "TcpExtListenOverflows: value \"1.5e1\" is not an integer"},
		{"bad/proc-short-values.txt", 2, "TcpExt: 134 values for 135 names"},
		{"bad/netstat-s-bad-value.txt", 3, "value \"many\" is not an integer"},
		{"bad/nstat-no-tcpext.txt", 0, "without any counter tcptimeline reconciles"},
		{"bad/unrelated.txt", 1, "not the output of nstat"},
		{"ss-lnt.txt", 1, "not the output of nstat"},
		{"overflow.pcap", 0, "binary data"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			_, err := readKernel(t, tc.file)
			var le *LineError
			if !errors.As(err, &le) {
				t.Fatalf("error %v, want a *LineError", err)
			}
			if le.Name != tc.file || le.Line != tc.line || !strings.Contains(le.Msg, tc.want) {
				t.Errorf("got %q (line %d), want line %d and %q", err, le.Line, tc.line, tc.want)
			}
		})
	}
	for _, tc := range []struct{ name, text, want string }{
		{"empty", "\n\n", "empty file"},
		{"twice", "TcpExtListenOverflows 1 0.0\nTcpExtListenOverflows 2 0.0\n", "given twice (lines 1 and 2)"},
		{"proc names without values", "TcpExt: ListenOverflows ListenDrops\n", "names without their values"},
		{"proc values of another group", "TcpExt: ListenOverflows\nIpExt: 1\n", "names without their values"},
		{"nstat stray line", "#kernel\nTcpExtListenOverflows 1 0.0\nhello there world again\n", "want \"Name value [rate]\""},
		{"netstat stray line", "TcpExt:\n    1 times the listen queue of a socket overflowed\nnot a section\n", "not netstat -s output"},
		{"json not an integer", `{"kernel":{"TcpExtListenOverflows":1.5}}`, "is not an integer"},
		{"json no kernel", `{"other":{}}`, "no \"kernel\" object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseKernelStats(tc.name, []byte(tc.text))
			if err == nil || !strings.HasPrefix(err.Error(), tc.name+":") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestParseKernelStatsNstatWithoutHeader(t *testing.T) {
	k, err := ParseKernelStats("x", []byte("TcpExtListenOverflows  7\nTcpExtListenDrops 9 0.5\n"))
	if err != nil || k.Values["TcpExtListenOverflows"] != 7 || k.Values["TcpExtListenDrops"] != 9 {
		t.Errorf("%v %v", k, err)
	}
}

func readSS(t *testing.T, name string) (*SSListing, error) {
	t.Helper()
	data, err := os.ReadFile(kernelDir + name)
	if err != nil {
		t.Fatal(err)
	}
	return ParseSS(name, data)
}

// Every ss fixture lists the same six listeners; the one on
// 127.0.0.1:8000 (backlog 2) was full.
func TestParseSSEveryForm(t *testing.T) {
	for _, tc := range []struct {
		file      string
		snapshots int
		timed     bool
	}{
		{"ss-lnt.txt", 1, false},
		{"ss-lntH.txt", 1, false},
		{"ss-lntp.txt", 1, false},
		{"ss-lnt-state-listening.txt", 1, false},
		{"ss-tanH.txt", 1, false},
		{"ss-snapshots.txt", 8, true},
		{"ss-date-u.txt", 8, true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			ss, err := readSS(t, tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if len(ss.Snapshots) != tc.snapshots {
				t.Fatalf("%d snapshots, want %d", len(ss.Snapshots), tc.snapshots)
			}
			for _, snap := range ss.Snapshots {
				if (snap.Time != 0) != tc.timed {
					t.Errorf("snapshot at line %d: time %d", snap.Line, snap.Time)
				}
			}
			byLocal := map[string]SSSocket{}
			for _, s := range ss.Snapshots[0].Sockets {
				byLocal[s.Local] = s
			}
			for _, w := range []struct {
				local string
				wild  SSWildcard
				addr  string
				port  uint16
				iface string
				sendQ int64
			}{
				{"127.0.0.1:8000", SSNotWildcard, "127.0.0.1", 8000, "", 2},
				{"[::]:8001", SSAnyV6Only, "", 8001, "", 5},
				{"*:8002", SSAny, "", 8002, "", 7},
				{"0.0.0.0%lo:8003", SSAnyV4, "", 8003, "lo", 9},
				{"[::1]%lo:8004", SSNotWildcard, "::1", 8004, "lo", 11},
				{"[::ffff:127.0.0.1]:8006", SSNotWildcard, "::ffff:127.0.0.1", 8006, "", 11},
			} {
				s, ok := byLocal[w.local]
				if !ok {
					t.Errorf("no socket %s in %v", w.local, ss.Snapshots[0].Sockets)
					continue
				}
				if s.Wildcard != w.wild || s.Port != w.port || s.Iface != w.iface || s.SendQ != w.sendQ || (w.addr != "" && s.Addr.String() != w.addr) {
					t.Errorf("%s: %+v", w.local, s)
				}
			}
			if len(byLocal) != 6 {
				t.Errorf("%d listening sockets, want 6 (ESTAB and SYN-SENT rows left out)", len(byLocal))
			}
		})
	}
}

func TestSSMatches(t *testing.T) {
	ss, err := readSS(t, "ss-lnt.txt")
	if err != nil {
		t.Fatal(err)
	}
	find := func(local string) *SSSocket {
		for i, s := range ss.Snapshots[0].Sockets {
			if s.Local == local {
				return &ss.Snapshots[0].Sockets[i]
			}
		}
		t.Fatalf("no %s", local)
		return nil
	}
	for _, tc := range []struct {
		local, server string
		want          bool
	}{
		{"127.0.0.1:8000", "127.0.0.1:8000", true},
		{"127.0.0.1:8000", "127.0.0.2:8000", false},
		{"127.0.0.1:8000", "127.0.0.1:8001", false},
		{"[::]:8001", "[fd00::1]:8001", true},
		{"[::]:8001", "10.0.0.1:8001", false}, // v6only
		{"*:8002", "10.0.0.1:8002", true},
		{"*:8002", "[fd00::1]:8002", true},
		{"0.0.0.0%lo:8003", "10.0.0.1:8003", true},
		{"0.0.0.0%lo:8003", "[fd00::1]:8003", false},
		{"[::ffff:127.0.0.1]:8006", "127.0.0.1:8006", true},
	} {
		if got := find(tc.local).Matches(mustAddrPort(t, tc.server)); got != tc.want {
			t.Errorf("%s matches %s: %v, want %v", tc.local, tc.server, got, tc.want)
		}
	}
}

func TestParseSSErrorsNameFileAndLine(t *testing.T) {
	for _, tc := range []struct {
		file string
		line int
		want string
	}{
		{"bad/ss-service-names.txt", 2, "port \"irdmi\" is not a number"},
		{"bad/ss-zone-name.txt", 1, "zone CET"},
		{"bad/ss-bad-queue.txt", 2, "Recv-Q \"x\" is not a count"},
		{"bad/unrelated.txt", 1, "not an ss row"},
		{"nstat-after.txt", 2, "not an ss row"},
		{"overflow.pcap", 0, "binary data"},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			_, err := readSS(t, tc.file)
			var le *LineError
			if !errors.As(err, &le) || le.Line != tc.line || !strings.Contains(le.Msg, tc.want) {
				t.Errorf("got %v, want line %d and %q", err, tc.line, tc.want)
			}
		})
	}
}

func mustAddrPort(t *testing.T, s string) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

// FuzzKernelText feeds the same bytes to both parsers. Properties: no
// panic; an error is a *LineError naming the file, at a line the input
// has (0 for the whole file); a snapshot read holds a counter tcptimeline
// reconciles, each counter from a line of the input unless implied; an
// ss listing holds a LISTEN socket, each from a line of the input, and a
// socket bound to an address matches a connection to it.
func FuzzKernelText(f *testing.F) {
	for _, name := range []string{"nstat-after.txt", "nstat-delta.txt", "nstat-asjz.json", "proc-netstat-snmp.txt", "netstat-s-after.txt", "ss-snapshots.txt", "ss-date-u.txt", "ss-tanH.txt", "ss-lnt-state-listening.txt"} {
		data, err := os.ReadFile(kernelDir + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("TcpExt: ListenOverflows\nTcpExt: 1\n"))
	f.Add([]byte("Wed Dec  2 02:22:37 UTC 2026\n0 2 [::1]%lo:80 [::]:*\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := strings.Count(string(data), "\n") + 1
		checkErr := func(err error) {
			var le *LineError
			if !errors.As(err, &le) || le.Name != "f" || le.Line < 0 || le.Line > lines {
				t.Fatalf("error %v (%T), want a *LineError for f at a line <= %d", err, err, lines)
			}
		}
		if k, err := ParseKernelStats("f", data); err != nil {
			checkErr(err)
		} else {
			found := false
			for _, n := range CounterNames {
				if _, ok := k.Values[n]; ok {
					found = true
				}
			}
			if !found {
				t.Fatal("a snapshot without a reconciled counter")
			}
			for n := range k.Values {
				if l := k.Lines[n]; !k.Implied[n] && (l < 1 || l > lines) {
					t.Fatalf("%s from line %d of %d", n, l, lines)
				}
			}
		}
		if ss, err := ParseSS("f", data); err != nil {
			checkErr(err)
		} else {
			n := 0
			for _, snap := range ss.Snapshots {
				for _, s := range snap.Sockets {
					n++
					if s.Line < 1 || s.Line > lines {
						t.Fatalf("socket from line %d of %d", s.Line, lines)
					}
					if s.Wildcard == SSNotWildcard && !s.Matches(netip.AddrPortFrom(s.Addr, s.Port)) {
						t.Fatalf("%s does not match its own address", s.Local)
					}
				}
			}
			if n == 0 {
				t.Fatal("an ss listing without a socket")
			}
		}
	})
}
