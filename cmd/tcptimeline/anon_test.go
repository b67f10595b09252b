package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcptimeline/tcptimeline/analyze"
)

// vlanPcapng writes eth.pcap's packets as a pcapng whose interface has a
// name and a description that name a host and an address, plus one
// packet on an interface of an unsupported link type, so that a warning
// names that interface too. Hand-made, from a fixture.
func vlanPcapng(t *testing.T, path string) {
	t.Helper()
	in, err := os.Open(formats + "eth.pcap")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r, err := pcapgo.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&out, pcapgo.NgInterface{Name: "vlan7-192.168.7.20", Description: "uplink of db1.corp.example to 192.168.7.1",
		LinkType: layers.LinkTypeEthernet, SnapLength: 65535, OS: "Linux db1.corp.example"}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	odd, err := w.AddInterface(pcapgo.NgInterface{Name: "mon0-10.66.6.6", LinkType: layers.LinkType(147), SnapLength: 65535})
	if err != nil {
		t.Fatal(err)
	}
	var last gopacket.CaptureInfo
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ci.InterfaceIndex = 0
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
		last = ci
	}
	last.InterfaceIndex, last.CaptureLength, last.Length = odd, 4, 4
	if err := w.WritePacket(last, []byte{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// captureAddrs lists every address of every TCP flow of the files.
func captureAddrs(t *testing.T, files ...string) []netip.Addr {
	t.Helper()
	seen := map[netip.Addr]bool{}
	var out []netip.Addr
	for _, name := range files {
		r, err := analyze.Open(name, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = analyze.Run(context.Background(), []*analyze.CaptureReader{r}, analyze.Options{}, func(f *analyze.Flow) error {
			for _, a := range []netip.Addr{f.Client.Addr(), f.Server.Addr()} {
				if !seen[a] {
					seen[a] = true
					out = append(out, a)
				}
			}
			return nil
		})
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// addrForms are the ways an address can be written: netip's, IPv6
// expanded with and without leading zeros, IPv4-mapped (dotted and hex).
func addrForms(a netip.Addr) []string {
	forms := []string{a.String()}
	b := a.As16()
	if a.Is4() {
		v4 := a.As4()
		forms = append(forms, "::ffff:"+a.String(), fmt.Sprintf("::ffff:%x:%x", binary.BigEndian.Uint16(v4[:2]), binary.BigEndian.Uint16(v4[2:])),
			fmt.Sprintf("%d.%d.%d.%d", v4[0], v4[1], v4[2], v4[3]))
		return forms
	}
	forms = append(forms, a.StringExpanded())
	var groups []string
	for i := 0; i < 16; i += 2 {
		groups = append(groups, fmt.Sprintf("%x", binary.BigEndian.Uint16(b[i:])))
	}
	forms = append(forms, strings.Join(groups, ":"), hex.EncodeToString(b[:]))
	return forms
}

// TestAnonymizeLeavesNoTrace runs every command and format with
// --anonymize over several captures (IPv4, IPv6, a pcapng whose
// interfaces name hosts and addresses, a capture cut short whose warning
// names its file, a file that cannot be opened) and greps everything
// written, stdout, stderr and files, for every address the captures hold
// in every textual form, for the files' names and paths, and for the
// interfaces' names and descriptions.
func TestAnonymizeLeavesNoTrace(t *testing.T) {
	dir := t.TempDir()
	secretDir := filepath.Join(dir, "alice-home")
	if err := os.Mkdir(secretDir, 0o755); err != nil {
		t.Fatal(err)
	}
	ng := filepath.Join(secretDir, "prod-db1-incident.pcapng")
	vlanPcapng(t, ng)
	trunc := filepath.Join(secretDir, "edge-router-7.pcap")
	data, err := os.ReadFile(formats + "truncated.pcap")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(trunc, data, 0o644)
	missing := filepath.Join(secretDir, "missing-secret.pcap")
	ghostCopy := filepath.Join(secretDir, "ghost-web7.pcap")
	data, _ = os.ReadFile(ghost)
	os.WriteFile(ghostCopy, data, 0o644)
	v6 := "../../testdata/lab/never-accept-v6/server.pcap"
	seed := "../../testdata/seed002/seed002.pcap"

	sets := [][]string{{ghostCopy}, {v6}, {ng}, {trunc, seed}, {ghostCopy, missing}}
	var forbidden []string
	for _, set := range sets {
		var readable []string
		for _, f := range set {
			if f != missing {
				readable = append(readable, f)
			}
		}
		for _, a := range captureAddrs(t, readable...) {
			forbidden = append(forbidden, addrForms(a)...)
		}
	}
	for _, f := range []string{ghostCopy, v6, ng, trunc, seed, missing} {
		forbidden = append(forbidden, f, filepath.Base(f))
	}
	forbidden = append(forbidden, "alice-home", "vlan7", "192.168.7.20", "192.168.7.1", "db1.corp.example", "mon0", "10.66.6.6", "seed002.pcap", "server.pcap")

	type output struct{ what, text string }
	var outs []output
	runAll := func(files []string) {
		name := filepath.Base(files[0])
		o := filepath.Join(dir, "out-"+strings.ReplaceAll(name, ".", "-"))
		variants := [][]string{
			{"timeline", "--anonymize", "--color", "never", "--fail-on", "syn-unanswered", "--fail-on", "synack-after-ack"},
			{"timeline", "--anonymize", "--format", "json"},
			{"timeline", "--anonymize", "--format", "jsonl"},
			{"summary", "--anonymize", "--fail-on", "ghost-connection"},
			{"summary", "--anonymize", "--format", "json"},
			{"summary", "--anonymize", "--format", "jsonl"},
			{"summary", "--anonymize", "--format", "csv"},
			{"check", "--anonymize", "--forbid", "syn-unanswered", "--forbid", "ghost-connection", "--expect", "rst-on-overflow"},
			{"report", "--anonymize"},
			{"report", "--anonymize", "-o", o + ".md"},
			{"report", "--anonymize", "-o", o + ".html"},
			{"ladder", "--anonymize"},
			{"ladder", "--anonymize", "--flow", "1", "-o", o + "-ladder.html"},
			{"chart", "--anonymize"},
			{"chart", "--anonymize", "-o", o + "-chart.html"},
			{"timeline", "--anonymize", "--flow", "10.77.0.2:41005"},
		}
		for _, v := range variants {
			args := append(append([]string{}, v...), files...)
			stdout, stderr, _ := run(t, nil, args...)
			what := strings.Join(v, " ") + " " + strings.Join(files, " ")
			outs = append(outs, output{what + " (stdout)", stdout}, output{what + " (stderr)", stderr})
		}
		for _, f := range []string{o + ".md", o + ".svg", o + ".html", o + "-ladder.html", o + "-chart.html"} {
			if b, err := os.ReadFile(f); err == nil {
				outs = append(outs, output{f, string(b)})
			}
		}
	}
	for _, set := range sets {
		runAll(set)
	}
	hosts := regexp.MustCompile(`host-[0-9]+`)
	sawPseudonym := false
	for _, o := range outs {
		for _, f := range forbidden {
			if strings.Contains(o.text, f) {
				i := strings.Index(o.text, f)
				t.Errorf("%s: %q is written (at %q)", o.what, f, o.text[max(0, i-60):min(len(o.text), i+len(f)+60)])
			}
		}
		sawPseudonym = sawPseudonym || hosts.MatchString(o.text)
	}
	if !sawPseudonym || len(outs) < 100 {
		t.Errorf("%d outputs, pseudonyms seen %v: the test looked at nothing", len(outs), sawPseudonym)
	}
}

// Pseudonyms are the addresses' order of first appearance in the
// capture: the same in every command, with or without filters, and
// --flow takes one.
func TestPseudonymsAreTheSameEverywhere(t *testing.T) {
	// In the ghost capture 10.77.0.2 sends the first SYN: host-1, and its
	// server 10.77.0.1 is host-2.
	checks := []struct {
		args []string
		want []string
	}{
		{[]string{"summary", "--anonymize", ghost}, []string{"host-1:41005", "listener host-2:8000"}},
		{[]string{"summary", "--anonymize", "--port", "8000", "--anomalies", ghost}, []string{"host-1:41005  host-2:8000"}},
		{[]string{"timeline", "--anonymize", "--color", "never", "--flow", "5", ghost}, []string{"flow 5  host-1:41005 -> host-2:8000"}},
		{[]string{"report", "--anonymize", ghost}, []string{"Listener host-2:8000", "host-1:41005 -> host-2:8000"}},
		{[]string{"ladder", "--anonymize", "--flow", "5", ghost}, []string{">host-1:41005</text>", ">host-2:8000</text>"}},
		{[]string{"chart", "--anonymize", ghost}, []string{`data-listener="host-2:8000"`}},
		{[]string{"timeline", "--anonymize", "--color", "never", "--flow", "host-1:41005", ghost}, []string{"flow 5  host-1:41005 -> host-2:8000"}},
		{[]string{"timeline", "--color", "never", "--flow", "host-1:41005-host-2:8000", ghost}, []string{"flow 5  10.77.0.2:41005 -> 10.77.0.1:8000"}},
	}
	for _, c := range checks {
		stdout, stderr, code := run(t, nil, c.args...)
		if code != 0 {
			t.Errorf("%v: exit %d: %s", c.args, code, stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(stdout, w) {
				t.Errorf("%v: %q not in the output:\n%s", c.args, w, stdout[:min(len(stdout), 1500)])
			}
		}
	}
	stdout, _, _ := run(t, nil, "timeline", "--color", "never", "--flow", "host-1:41005", ghost)
	if strings.Count(stdout, "\nflow ")+strings.Count(stdout[:min(5, len(stdout))], "flow ") != 1 {
		t.Errorf("--flow host-1:41005 did not select one flow:\n%s", stdout)
	}
	if _, _, code := run(t, nil, "timeline", "--flow", "host-x:1", ghost); code != 2 {
		t.Errorf("--flow host-x:1: exit %d, want 2", code)
	}
}
