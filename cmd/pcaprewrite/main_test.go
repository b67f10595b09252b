package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
)

const formats = "../../testdata/formats"

// TestFixturesUpToDate reruns every rewrite on eth.pcap and compares the
// result with the fixture stored in testdata/formats, so the stored files
// are exactly what this program makes.
func TestFixturesUpToDate(t *testing.T) {
	cases := []struct {
		mode, out string
		record    int
		linkType  uint32
	}{
		{mode: "vlan"}, {mode: "qinq"}, {mode: "null"}, {mode: "loop"}, {mode: "raw"},
		{mode: "be"}, {mode: "vxlan"}, {mode: "gre"}, {mode: "geneve"},
		{mode: "ipv4-options"}, {mode: "ipv6-ext"},
		{mode: "truncate-last", out: "truncated"},
		{mode: "linktype", out: "unknown-linktype", linkType: 147},
		{mode: "absurd-length", out: "absurd-length", record: 5},
		{mode: "dup-tcp", out: "dup-frames"},
		{mode: "swap-time", out: "backwards-time", record: 10},
	}
	for m := range encapModes {
		cases = append(cases, struct {
			mode, out string
			record    int
			linkType  uint32
		}{mode: m})
	}
	for _, tc := range cases {
		name := tc.out
		if name == "" {
			name = tc.mode
		}
		t.Run(name, func(t *testing.T) {
			got := filepath.Join(t.TempDir(), name+".pcap")
			var stdout bytes.Buffer
			if err := run(tc.mode, filepath.Join(formats, "eth.pcap"), got, tc.record, tc.linkType, &stdout); err != nil {
				t.Fatal(err)
			}
			a, err := os.ReadFile(got)
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(formats, name+".pcap"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Errorf("%s.pcap differs from what -mode %s makes now; rerun testdata/formats/make.sh --derive", name, tc.mode)
			}
		})
	}
}

// TestReadableByPcapgo checks that every well-formed rewritten file reads to
// the end with pcapgo, with as many records as eth.pcap (or fewer where
// non-IP frames were dropped).
func TestReadableByPcapgo(t *testing.T) {
	want := countRecords(t, filepath.Join(formats, "eth.pcap"))
	names := []string{"vlan", "qinq", "null", "loop", "raw", "be", "vxlan", "gre", "geneve", "ipv4-options", "ipv6-ext", "backwards-time"}
	for m := range encapModes {
		if m != "ip-fragments" {
			names = append(names, m)
		}
	}
	for _, name := range names {
		n := countRecords(t, filepath.Join(formats, name+".pcap"))
		if n > want || n < want-2 {
			t.Errorf("%s.pcap: %d records, want %d (or %d without ARP)", name, n, want, want-2)
		}
	}
	// Fragments: 44 TCP and 2 UDP packets in 2 or 3 pieces each, 11 others.
	if n := countRecords(t, filepath.Join(formats, "ip-fragments.pcap")); n != 127 {
		t.Errorf("ip-fragments.pcap: %d records, want 127", n)
	}
}

func countRecords(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	n := 0
	for {
		_, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			t.Fatalf("%s: record %d: %v", path, n+1, err)
		}
		n++
	}
}

func TestAddIPv4OptionsChecksum(t *testing.T) {
	frame := make([]byte, 14+20+20)
	binary.BigEndian.PutUint16(frame[12:], 0x0800)
	ip := frame[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], 40)
	ip[8], ip[9] = 64, 6
	copy(ip[12:], []byte{10, 99, 0, 1, 10, 99, 0, 2})
	binary.BigEndian.PutUint16(ip[10:], checksum(ip[:20]))

	out := addIPv4Options(frame)
	h := out[14 : 14+24]
	if h[0] != 0x46 || binary.BigEndian.Uint16(h[2:]) != 44 {
		t.Fatalf("IHL/length not fixed: % x", h)
	}
	if !bytes.Equal(h[20:24], []byte{1, 1, 1, 0}) {
		t.Errorf("options = % x, want 01 01 01 00", h[20:24])
	}
	if checksum(h) != 0 {
		t.Errorf("header checksum does not verify")
	}
}
