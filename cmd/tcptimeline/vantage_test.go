package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
)

// splitPcap writes the records of a pcap file into two files, the first
// n records and the rest: the pieces of a ring, as tcpdump -C would cut
// them (derived from a real capture at test time).
func splitPcap(t *testing.T, path string, n int) (string, string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	names := []string{filepath.Join(dir, "client.pcap0"), filepath.Join(dir, "client.pcap1")}
	var ws []*pcapgo.Writer
	for _, name := range names {
		out, err := os.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { out.Close() })
		w := pcapgo.NewWriterNanos(out)
		if err := w.WriteFileHeader(r.Snaplen(), r.LinkType()); err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	for i := 0; ; i++ {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		if err := ws[min(i/n, 1)].WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	return names[0], names[1]
}

// --vantage names the capture points and groups a ring's pieces: the
// lab's random-loss server capture and its client capture cut in two
// merge into the flows of the server's capture alone, the two pieces
// named client, and the same labels as without --vantage.
func TestVantageFlag(t *testing.T) {
	srv := "../../testdata/lab/random-loss/server.pcap"
	c0, c1 := splitPcap(t, "../../testdata/lab/random-loss/client.pcap", 100)
	type doc struct {
		Captures []struct {
			Vantage     string   `json:"vantage"`
			VantageName string   `json:"vantage_name"`
			ClockOffset *float64 `json:"clock_offset"`
		} `json:"captures"`
		Totals struct {
			Flows      int            `json:"flows"`
			LabelFlows map[string]int `json:"label_flows"`
		} `json:"totals"`
	}
	parse := func(args ...string) doc {
		stdout, stderr, code := run(t, nil, append([]string{"summary", "--format", "json"}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		var d doc
		if err := json.Unmarshal([]byte(stdout), &d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	alone := parse(srv)
	got := parse("--vantage", "server="+srv, "--vantage", "client="+c0+","+c1)
	plain := parse(srv, c0, c1)
	if got.Totals.Flows != alone.Totals.Flows || plain.Totals.Flows != alone.Totals.Flows {
		t.Errorf("flows: %d with --vantage, %d without, %d in the server's capture", got.Totals.Flows, plain.Totals.Flows, alone.Totals.Flows)
	}
	if len(got.Captures) != 3 {
		t.Fatalf("%d captures", len(got.Captures))
	}
	for i, want := range [][2]string{{"server", "server"}, {"client", "client"}, {"client", "client"}} {
		if c := got.Captures[i]; c.Vantage != want[0] || c.VantageName != want[1] || c.ClockOffset == nil {
			t.Errorf("capture %d: vantage %q name %q offset %v, want %s named %s", i, c.Vantage, c.VantageName, c.ClockOffset, want[0], want[1])
		}
	}
	for l, n := range alone.Totals.LabelFlows {
		if got.Totals.LabelFlows[l] != n {
			t.Errorf("label %s: %d flows with --vantage, %d in the server's capture", l, got.Totals.LabelFlows[l], n)
		}
	}
	if _, stderr, code := run(t, nil, "summary", "--vantage", "client"); code != 2 {
		t.Errorf("--vantage without files: exit %d (%s), want 2", code, stderr)
	}
}

// The report of captures at several points counts each packet once, as
// the totals line does (the records are each file's), and names each
// capture with its vantage and clock: the lab's lost-synack pair holds
// 60 packets in 116 records.
func TestReportOfSeveralPointsCountsPacketsOnce(t *testing.T) {
	lab := "../../testdata/lab/lost-synack/"
	stdout, stderr, code := run(t, nil, "report", "--vantage", "server="+lab+"server.pcap", "--vantage", "client="+lab+"client.pcap")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"5 TCP flows, 60 TCP packets seen at several capture points (116 records in the files, 56 of them another point's record of a packet already counted)",
		"- capture 0: server.pcap; vantage server",
		"- capture 1: client.pcap; vantage client",
		"against capture 0",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout[:min(len(stdout), 1500)])
		}
	}
	if strings.Contains(stdout, "116 TCP segments") {
		t.Error("report counts the records of both captures as segments")
	}
}
