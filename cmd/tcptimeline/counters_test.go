package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// TestDecodeCountersShown: what the decoder counted apart (IP fragments,
// truncated TCP headers, IP version mismatches) is in the capture line,
// the warnings and the JSON captures.
func TestDecodeCountersShown(t *testing.T) {
	for _, tc := range []struct {
		file, line, warning string
		json                map[string]float64
	}{
		{"ip-fragments.pcap", "127 packets, 44 TCP, 11 non-TCP, 0 undecodable, 72 IP fragments (44 TCP segments reassembled)", "",
			map[string]float64{"ip_fragments": 72, "reassembled": 44, "fragments_incomplete": 0}},
		{"tcp-truncated.pcap", "57 packets, 40 TCP, 13 non-TCP, 4 undecodable (4 truncated TCP headers)",
			"tcp-truncated.pcap: 4 packets could not be decoded and were skipped (4 with a truncated TCP header)",
			map[string]float64{"undecodable": 4, "truncated_tcp_header": 4}},
		{"ip-version.pcap", "57 packets, 41 TCP, 13 non-TCP, 3 undecodable (3 IP version mismatches)",
			"ip-version.pcap: 3 packets could not be decoded and were skipped (3 with an IP version nibble that does not match the header type)",
			map[string]float64{"undecodable": 3, "ip_version_mismatch": 3}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			stdout, stderr, code := run(t, nil, "summary", "--color", "never", formats+tc.file)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.Contains(stdout, tc.line) {
				t.Errorf("no %q in\n%s", tc.line, stdout)
			}
			if tc.warning != "" && !strings.Contains(stderr, tc.warning) {
				t.Errorf("no warning %q in %q", tc.warning, stderr)
			}
			stdout, _, _ = run(t, nil, "summary", "--format", "json", formats+tc.file)
			var doc struct {
				Captures []map[string]any `json:"captures"`
			}
			if err := json.Unmarshal([]byte(stdout), &doc); err != nil || len(doc.Captures) != 1 {
				t.Fatalf("JSON: %v", err)
			}
			for k, v := range tc.json {
				if doc.Captures[0][k] != v {
					t.Errorf("captures[0].%s = %v, want %v", k, doc.Captures[0][k], v)
				}
			}
		})
	}
}

// TestIncompleteFragmentsWarned: a fragment whose datagram never
// completes is named in a warning. The capture is built here (one first
// fragment of a TCP segment), not recorded.
func TestIncompleteFragmentsWarned(t *testing.T) {
	frame := []byte{
		2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00, // Ethernet
		0x45, 0, 0, 44, 0x12, 0x34, 0x20, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, // IPv4, MF, offset 0
		0x9c, 0x40, 0x1f, 0x90, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, // TCP SYN, 4 bytes of data
	}
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: len(frame), Length: len(frame)}, frame); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := run(t, buf.Bytes(), "summary", "--color", "never", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if want := "stdin: 1 fragmented IP datagram was never completed"; !strings.Contains(stderr, want) {
		t.Errorf("no %q in %q", want, stderr)
	}
	if want := "1 packets, 0 TCP, 0 non-TCP, 0 undecodable, 1 IP fragments (0 TCP segments reassembled), 1 fragmented datagrams never completed"; !strings.Contains(stdout, want) {
		t.Errorf("no %q in\n%s", want, stdout)
	}
}
