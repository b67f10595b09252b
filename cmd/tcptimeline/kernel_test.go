package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

const kernelDir = "../../testdata/kernel/"

// TestLabKernelFiles keeps testdata/kernel/lab/<scenario>/ in step with
// the lab's truth: nstat.txt is the server's nstat -asz as nstat prints
// it, ss.txt its LISTEN socket as a loop of "date; ss -ltn" would have
// shown it. After a new lab run, go test -update rewrites them (they are
// derived from truth.json, never edited by hand).
func TestLabKernelFiles(t *testing.T) {
	for _, name := range []string{"ghost", "syncookies-off"} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("../../testdata/lab", name, "truth.json"))
			if err != nil {
				t.Fatal(err)
			}
			var tr struct {
				Server      string           `json:"server"`
				Nstat       map[string]int64 `json:"nstat"`
				ListenQueue []struct {
					T     time.Time `json:"t"`
					RecvQ int64     `json:"recv_q"`
					SendQ int64     `json:"send_q"`
				} `json:"listen_queue"`
			}
			if err := json.Unmarshal(b, &tr); err != nil {
				t.Fatal(err)
			}
			names := make([]string, 0, len(tr.Nstat))
			for n := range tr.Nstat {
				names = append(names, n)
			}
			sort.Strings(names)
			var nstat strings.Builder
			nstat.WriteString("#kernel\n")
			for _, n := range names {
				fmt.Fprintf(&nstat, "%-32s%-16d%6.1f\n", n, tr.Nstat[n], 0.0)
			}
			checkGolden(t, filepath.Join(kernelDir, "lab", name, "nstat.txt"), nstat.String())
			var ss strings.Builder
			for _, q := range tr.ListenQueue {
				fmt.Fprintf(&ss, "# %s\nState  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\nLISTEN %-6d %-6d %s 0.0.0.0:*\n",
					q.T.UTC().Format(time.RFC3339Nano), q.RecvQ, q.SendQ, tr.Server)
			}
			checkGolden(t, filepath.Join(kernelDir, "lab", name, "ss.txt"), ss.String())
		})
	}
}

// kernelGoldens pin the reconciliation's text table and report section
// on the recorded fixture and on two lab scenarios; only that part of
// the output is compared (the rest is pinned by TestGolden).
var kernelGoldens = []struct {
	name    string
	capture string
	args    []string
}{
	{"overflow", kernelDir + "overflow.pcap", []string{"--nstat", kernelDir + "nstat-before.txt", "--nstat", kernelDir + "nstat-after.txt", "--ss", kernelDir + "ss-snapshots.txt"}},
	{"overflow-netstat-s", kernelDir + "overflow.pcap", []string{"--nstat", kernelDir + "netstat-s-after.txt", "--ss", kernelDir + "ss-lnt.txt"}},
	{"ghost", "../../testdata/lab/ghost/server.pcap", []string{"--nstat", kernelDir + "lab/ghost/nstat.txt", "--ss", kernelDir + "lab/ghost/ss.txt"}},
	{"syncookies-off", "../../testdata/lab/syncookies-off/server.pcap", []string{"--nstat", kernelDir + "lab/syncookies-off/nstat.txt", "--ss", kernelDir + "lab/syncookies-off/ss.txt"}},
}

func TestKernelGolden(t *testing.T) {
	for _, g := range kernelGoldens {
		t.Run(g.name, func(t *testing.T) {
			stdout, stderr, code := run(t, nil, append(append([]string{"summary", "--color", "never"}, g.args...), g.capture)...)
			if code != 0 {
				t.Fatalf("summary: exit %d: %s", code, stderr)
			}
			i := strings.Index(stdout, "\nkernel counters:")
			if i < 0 {
				t.Fatalf("no kernel counters table after the views:\n%s", stdout)
			}
			checkGolden(t, filepath.Join("testdata", "golden", "kernel-"+g.name+".txt"), stdout[i+1:])

			stdout, stderr, code = run(t, nil, append(append([]string{"report"}, g.args...), g.capture)...)
			if code != 0 {
				t.Fatalf("report: exit %d: %s", code, stderr)
			}
			checkGolden(t, filepath.Join("testdata", "golden", "kernel-"+g.name+".md"), section(t, stdout, "## Kernel counters"))
		})
	}
}

// section cuts a Markdown section from its heading to the next heading
// of its level.
func section(t *testing.T, doc, heading string) string {
	t.Helper()
	i := strings.Index(doc, heading+"\n")
	if i < 0 {
		t.Fatalf("no %q in:\n%s", heading, doc)
	}
	rest := doc[i+len(heading):]
	if j := strings.Index(rest, "\n## "); j >= 0 {
		rest = rest[:j+1]
	}
	return heading + rest
}

// The same reconciliation shows in every output: the timeline's text,
// the JSON document (top-level counters, with every counter of the file,
// zeros included, and capture an integer), JSON lines, and the HTML
// report; under --anonymize no address is printed raw.
func TestKernelOutputs(t *testing.T) {
	args := kernelGoldens[0].args
	capture := kernelGoldens[0].capture
	stdout, _, code := run(t, nil, append(append([]string{"timeline", "--color", "never"}, args...), capture)...)
	if code != 0 || !strings.Contains(stdout, "\nkernel counters: ") || !strings.Contains(stdout, "\nss: ") {
		t.Errorf("timeline: exit %d, no kernel table:\n%s", code, stdout)
	}
	for _, cmd := range [][]string{{"timeline", "--format", "json"}, {"summary", "--format", "json"}} {
		stdout, _, code = run(t, nil, append(append(cmd, args...), capture)...)
		var doc struct {
			Counters []struct {
				Name    string `json:"name"`
				Kernel  *int64 `json:"kernel"`
				Capture *int64 `json:"capture"`
				Note    string `json:"note"`
			} `json:"counters"`
			SS struct {
				Listeners []struct {
					Server    string `json:"server"`
					Agreement string `json:"agreement"`
				} `json:"listeners"`
			} `json:"ss"`
		}
		if err := json.Unmarshal([]byte(stdout), &doc); err != nil || code != 0 {
			t.Fatalf("%v: exit %d, %v", cmd, code, err)
		}
		if len(doc.Counters) != 7 {
			t.Errorf("%v: %d counters, want the 7 the file holds", cmd, len(doc.Counters))
		}
		for _, c := range doc.Counters {
			if !strings.HasPrefix(c.Name, "TcpExt") || c.Kernel == nil || c.Capture == nil || c.Note == "" {
				t.Errorf("%v: counter %+v", cmd, c)
			}
		}
		if len(doc.SS.Listeners) != 2 || doc.SS.Listeners[0].Agreement != "agree" {
			t.Errorf("%v: ss %+v", cmd, doc.SS)
		}
	}
	stdout, _, _ = run(t, nil, append(append([]string{"timeline", "--format", "jsonl"}, args...), capture)...)
	if !strings.Contains(stdout, `{"counters":[`) || !strings.Contains(stdout, `"type":"kernel"`) {
		t.Errorf("jsonl: no kernel line")
	}
	out := filepath.Join(t.TempDir(), "r.html")
	_, stderr, code := run(t, nil, append(append([]string{"report", "--anonymize", "-o", out}, args...), capture)...)
	if code != 0 {
		t.Fatalf("report html: exit %d %s", code, stderr)
	}
	html, _ := os.ReadFile(out)
	if !strings.Contains(string(html), "<h2>Kernel counters</h2>") || !strings.Contains(string(html), "<code>TcpExtListenOverflows</code>") {
		t.Errorf("html report lacks the kernel counters section")
	}
	if strings.Contains(string(html), "127.0.0.1") {
		t.Errorf("--anonymize report prints 127.0.0.1")
	}
}

// Bad kernel files stop the command before any analysis output: exit 2,
// nothing on stdout, one line naming the file and the line.
func TestKernelInputErrors(t *testing.T) {
	pcap := kernelDir + "overflow.pcap"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--nstat", kernelDir + "bad/nstat-bad-value.txt"}, "bad/nstat-bad-value.txt:185: TcpExtListenOverflows: value \"1.5e1\" is not an integer"},
		{[]string{"--nstat", kernelDir + "bad/proc-short-values.txt"}, "bad/proc-short-values.txt:2: TcpExt: 134 values for 135 names"},
		{[]string{"--nstat", kernelDir + "bad/unrelated.txt"}, "bad/unrelated.txt:1: not the output of nstat"},
		{[]string{"--nstat", kernelDir + "ss-lnt.txt"}, "ss-lnt.txt:1: not the output of nstat"},
		{[]string{"--nstat", pcap}, "overflow.pcap: binary data"},
		{[]string{"--nstat", kernelDir + "bad/nstat-no-tcpext.txt"}, "without any counter tcptimeline reconciles"},
		{[]string{"--nstat", kernelDir + "nstat-after.txt", "--nstat", kernelDir + "nstat-before.txt"}, "nstat-before.txt:185: TcpExtListenOverflows is 0, less than 15 in"},
		{[]string{"--nstat", kernelDir + "no-such-file"}, "no-such-file: cannot open"},
		{[]string{"--ss", kernelDir + "bad/ss-service-names.txt"}, "bad/ss-service-names.txt:2: local address"},
		{[]string{"--ss", kernelDir + "bad/ss-zone-name.txt"}, "bad/ss-zone-name.txt:1: timestamp"},
		{[]string{"--ss", kernelDir + "nstat-after.txt"}, "nstat-after.txt:2: not an ss row"},
	} {
		for _, cmd := range [][]string{{"timeline"}, {"summary"}, {"report"}} {
			stdout, stderr, code := run(t, nil, append(append(append(cmd, "--color", "never"), tc.args...), pcap)...)
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if code != 2 || stdout != "" || len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
				t.Errorf("%s %v: exit %d, stdout %d bytes, stderr %q; want 2, nothing, one line with %q", cmd[0], tc.args, code, len(stdout), stderr, tc.want)
			}
		}
	}
	for _, args := range [][]string{
		{"summary", "--nstat", kernelDir + "nstat-before.txt", "--nstat", kernelDir + "nstat-after.txt", "--nstat", kernelDir + "nstat-az.txt", pcap},
		{"summary", "--format", "csv", "--nstat", kernelDir + "nstat-after.txt", pcap},
	} {
		stdout, stderr, code := run(t, nil, args...)
		if code != 2 || stdout != "" || !strings.HasPrefix(stderr, "tcptimeline: --nstat") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
}
