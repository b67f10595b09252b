package analyze

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

const formats = "../testdata/formats/"

// readAll reads every segment of c.
func readAll(t testing.TB, c *CaptureReader) []flowstate.Segment {
	t.Helper()
	var segs []flowstate.Segment
	for {
		var s flowstate.Segment
		err := c.Next(&s)
		if err == io.EOF {
			return segs
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		segs = append(segs, s)
	}
}

// conversations counts the segments of each TCP 4-tuple, either
// direction, keyed by convKey.
func conversations(segs []flowstate.Segment) map[string]int {
	conv := map[string]int{}
	for _, s := range segs {
		conv[convKey(netip.AddrPortFrom(s.Src.Netip(), s.SrcPort), netip.AddrPortFrom(s.Dst.Netip(), s.DstPort))]++
	}
	return conv
}

// convKey names a conversation by its two endpoints, in a fixed order.
func convKey(a, b netip.AddrPort) string {
	if a.Compare(b) > 0 {
		a, b = b, a
	}
	return a.String() + " <-> " + b.String()
}

// tsharkConversations reads conv.tsv: per file, the frames of each of
// tshark's TCP conversations, keyed by convKey.
func tsharkConversations(t *testing.T) map[string]map[string]int {
	t.Helper()
	b, err := os.ReadFile(formats + "conv.tsv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if lines[0] != "file\ta\tb\tframes" {
		t.Fatalf("conv.tsv: unexpected header %q", lines[0])
	}
	// tshark prints an endpoint as address:port, IPv6 addresses unbracketed.
	endpoint := func(s string) netip.AddrPort {
		i := strings.LastIndexByte(s, ':')
		a, err := netip.ParseAddr(s[:i])
		p, err2 := strconv.ParseUint(s[i+1:], 10, 16)
		if i < 0 || err != nil || err2 != nil {
			t.Fatalf("conv.tsv: bad endpoint %q", s)
		}
		return netip.AddrPortFrom(a, uint16(p))
	}
	out := map[string]map[string]int{}
	for _, l := range lines[1:] {
		col := strings.Split(l, "\t")
		n, err := strconv.Atoi(col[3])
		if len(col) != 4 || err != nil {
			t.Fatalf("conv.tsv: bad line %q", l)
		}
		if out[col[0]] == nil {
			out[col[0]] = map[string]int{}
		}
		out[col[0]][convKey(endpoint(col[1]), endpoint(col[2]))] += n
	}
	return out
}

// tsharkWrong names the fixtures where tshark 4.0.17 does not see the TCP
// conversations that are there, and why (testdata/formats/README.md): for
// these the conversations must be eth.pcap's instead.
var tsharkWrong = map[string]string{
	"mpls-pw-cw.pcap": "its pseudowire heuristic (packet-pw-eth.c, OUI lookup) reads the zero control word and the start of the MAC as a Xerox OUI and decodes the frame 4 bytes early",
}

// pcapRecordOffset walks a classic little-endian pcap file to the byte
// offset of record n (1-based), independently of the reader under test.
func pcapRecordOffset(t *testing.T, path string, n int) int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	off := int64(24)
	for range n - 1 {
		off += 16 + int64(binary.LittleEndian.Uint32(b[off+8:]))
	}
	return off
}

// TestFixtures reads every capture in testdata/formats and compares what
// it finds with what tshark reported (counts.tsv), and the malformed ones
// with the exact error or warnings.
func TestFixtures(t *testing.T) {
	tsv, err := os.ReadFile(formats + "counts.tsv")
	if err != nil {
		t.Skipf("fixtures not there: %v", err)
	}
	truncOff := func() int64 {
		b, err := os.ReadFile(formats + "truncated.offset")
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "last_record_offset\t"); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				return n
			}
		}
		t.Fatal("no last_record_offset in truncated.offset")
		return 0
	}()
	absurdOff := pcapRecordOffset(t, formats+"absurd-length.pcap", 5)

	// Files that cannot be read at all, and the exact error. Where
	// tshark differs: it reads empty.pcap as 0 frames, and
	// unknown-linktype.pcap as 57 frames of nothing.
	wantErr := map[string]string{
		"empty.pcap":            formats + "empty.pcap: empty file, not a capture",
		"notcapture.pcap":       formats + "notcapture.pcap: not a pcap or pcapng capture (starts with 0x54686973)",
		"truncated-header.pcap": formats + "truncated-header.pcap: truncated file header (10 of 24 bytes), not a capture",
		"unknown-linktype.pcap": formats + "unknown-linktype.pcap: unsupported link type 147 (USER0)",
	}
	wantWarnings := map[string][]string{
		"truncated.pcap": {formats + "truncated.pcap: truncated record at byte offset " + strconv.FormatInt(truncOff, 10) +
			" (packet 57): the capture ends mid-packet; the 56 packets before it were analysed"},
		"absurd-length.pcap": {formats + "absurd-length.pcap: absurd record length at byte offset " + strconv.FormatInt(absurdOff, 10) +
			" (packet 5): captured length 4026531840 is above the 262144-byte maximum; reading stopped there; the 4 packets before it were analysed"},
		"backwards-time.pcap": {formats + "backwards-time.pcap: timestamps go backwards once (packet 11 is older than the packet before it)"},
		"mixed-bad-if.pcapng": {formats + "mixed-bad-if.pcapng: interface 1 of section 0 has an unsupported link type (USER0): its 20 packets were counted as undecodable"},
		// Two sections written one after the other: the second starts
		// at the first one's beginning again.
		"multi-section.pcapng": {formats + "multi-section.pcapng: timestamps go backwards once (packet 58 is older than the packet before it)"},
	}
	wantLinkTypes := map[string]string{
		"sll.pcap": "LINUX_SLL", "sll2.pcap": "LINUX_SLL2", "null.pcap": "NULL", "loop.pcap": "LOOP", "raw.pcap": "RAW",
		"multi-if.pcapng": "EN10MB,LINUX_SLL2", "multi-section.pcapng": "EN10MB,LINUX_SLL2", "mixed-bad-if.pcapng": "EN10MB,USER0",
	}

	wantLinkTypes["nflog.pcap"] = "NFLOG"
	// What tshark counted as TCP but is not a TCP segment we can read.
	wantTruncatedTCP := map[string]int64{"tcp-truncated.pcap": 4}
	wantBadIPVersion := map[string]int64{"ip-version.pcap": 3}
	convs := tsharkConversations(t)

	lines := strings.Split(strings.TrimSpace(string(tsv)), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "file\tframes\ttcp_frames\tconv_tcp\tconv_tcp_frames\t") {
		t.Fatalf("counts.tsv: unexpected header %q", lines[0])
	}
	for _, line := range lines[1:] {
		col := strings.Split(line, "\t")
		name := col[0]
		t.Run(name, func(t *testing.T) {
			path := formats + name
			c, err := Open(path, 3)
			if want, ok := wantErr[name]; ok {
				if err == nil {
					c.Close()
					t.Fatalf("no error, want %q", want)
				}
				if err.Error() != want || !errors.Is(err, ErrNotCapture) {
					t.Fatalf("error %q (ErrNotCapture: %v), want %q", err, errors.Is(err, ErrNotCapture), want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			frames, _ := strconv.Atoi(col[1])
			conv, _ := strconv.Atoi(col[3])
			convFrames, _ := strconv.Atoi(col[4])
			want := convs[name]
			if why, ok := tsharkWrong[name]; ok {
				t.Logf("tshark 4.0.17 is wrong here: %s", why)
				want = convs["eth.pcap"]
				conv, convFrames = len(want), 0
				for _, n := range want {
					convFrames += n
				}
			}

			segs := readAll(t, c)
			info := c.Info()
			if info.Packets != int64(frames) {
				t.Errorf("records %d, tshark read %d frames", info.Packets, frames)
			}
			if len(segs) != convFrames || info.TCPPackets != int64(convFrames) {
				t.Errorf("TCP segments %d (counted %d), tshark's conversations have %d frames", len(segs), info.TCPPackets, convFrames)
			}
			got := conversations(segs)
			if len(got) != conv {
				t.Errorf("TCP conversations %d, tshark saw %d", len(got), conv)
			}
			for k, n := range want {
				if got[k] != n {
					t.Errorf("conversation %s: %d segments, tshark saw %d frames", k, got[k], n)
				}
			}
			for k, n := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("conversation %s (%d segments): tshark has none", k, n)
				}
			}
			if sum := info.TCPPackets + info.NonTCP + info.Undecodable + info.IPFragments; sum != info.Packets {
				t.Errorf("TCP %d + non-TCP %d + undecodable %d + fragments %d != records %d",
					info.TCPPackets, info.NonTCP, info.Undecodable, info.IPFragments, info.Packets)
			}
			if info.TruncatedTCP != wantTruncatedTCP[name] || info.BadIPVersion != wantBadIPVersion[name] {
				t.Errorf("truncated TCP headers %d, IP version mismatches %d; want %d, %d",
					info.TruncatedTCP, info.BadIPVersion, wantTruncatedTCP[name], wantBadIPVersion[name])
			}
			if got, want := strings.Join(info.Warnings, "\n"), strings.Join(wantWarnings[name], "\n"); got != want {
				t.Errorf("warnings\n got %q\nwant %q", got, want)
			}
			wantLT := "EN10MB"
			if lt, ok := wantLinkTypes[name]; ok {
				wantLT = lt
			}
			if got := strings.Join(info.LinkTypes, ","); got != wantLT {
				t.Errorf("link types %s, want %s", got, wantLT)
			}
			// Every segment names its file and a 1-based record number,
			// growing.
			last := int64(0)
			for _, s := range segs {
				if s.File != 3 || s.Frame <= last || s.Frame > info.Packets {
					t.Fatalf("segment file %d frame %d after frame %d", s.File, s.Frame, last)
				}
				last = s.Frame
			}
			if info.Gzip != strings.HasSuffix(name, ".gz") || info.Nanosecond != (name == "eth-nsec.pcap") {
				t.Errorf("gzip %v nanosecond %v", info.Gzip, info.Nanosecond)
			}
			if wantFmt := map[bool]string{true: "pcapng", false: "pcap"}[strings.Contains(name, ".pcapng")]; info.Format != wantFmt {
				t.Errorf("format %q, want %q", info.Format, wantFmt)
			}
		})
	}
}

// key is what a segment says apart from where it was found.
func key(s flowstate.Segment) flowstate.Segment {
	s.File, s.Frame, s.Time = 0, 0, s.Time/1000
	return s
}

// TestFixturesSameSegments checks that every container, link type and
// encapsulation of eth.pcap's traffic gives the same segments.
func TestFixturesSameSegments(t *testing.T) {
	ref, err := Open(formats+"eth.pcap", 0)
	if err != nil {
		t.Skipf("fixtures not there: %v", err)
	}
	want := readAll(t, ref)
	if len(want) != 44 {
		t.Fatalf("eth.pcap: %d segments, want 44", len(want))
	}
	// A closer look at two of them (tcpdump -nr eth.pcap -tt).
	syn := want[0]
	if syn.Frame != 4 || syn.Time != 1795309150765504000 || syn.Src.String() != "10.99.0.1" || syn.Dst.String() != "10.99.0.2" ||
		syn.SrcPort != 52816 || syn.DstPort != 8080 || syn.Seq != 2780855158 || syn.Flags != flowstate.SYN || syn.Window != 64240 ||
		syn.Len != 0 || syn.Opt != (flowstate.Options{MSS: 1460, WScale: 10, SACKPermitted: true, HasTS: true, TSVal: 3132843544}) {
		t.Errorf("first SYN: %+v", syn)
	}
	cut := want[13] // frame 17: 300 bytes, cut to 128 by the snaplen
	if cut.Frame != 17 || cut.Len != 300 || cut.Seq != 1556341305 || cut.Flags != flowstate.PSH|flowstate.ACK {
		t.Errorf("frame 17: %+v", cut)
	}
	if n := ref.Info().CutBySnaplen; n != 4 {
		t.Errorf("cut by snaplen: %d, want 4", n)
	}

	for _, name := range []string{
		"be.pcap", "eth-nsec.pcap", "eth.pcap.gz", "eth.pcapng", "eth.pcapng.gz", "vlan.pcap", "qinq.pcap",
		"null.pcap", "loop.pcap", "raw.pcap", "vxlan.pcap", "gre.pcap", "geneve.pcap", "ipv4-options.pcap", "ipv6-ext.pcap",
		"sll.pcap", "sll2.pcap",
		"mpls.pcap", "mpls-pw.pcap", "mpls-pw-cw.pcap", "pppoe.pcap", "pppoe-qinq.pcap", "gtpu.pcap",
		"erspan1.pcap", "erspan2.pcap", "erspan3.pcap", "nflog.pcap", "llc-snap.pcap", "pbb.pcap", "fabricpath.pcap",
		"ayiya.pcap", "teredo.pcap", "gre-csum-key-seq.pcap", "nvgre.pcap", "gre-pptp.pcap", "gre-udp.pcap",
		"gre-mpls.pcap", "gre6.pcap", "etherip.pcap", "ip-fragments.pcap",
	} {
		t.Run(name, func(t *testing.T) {
			c, err := Open(formats+name, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			got := readAll(t, c)
			if len(got) != len(want) {
				t.Fatalf("%d segments, want %d", len(got), len(want))
			}
			for i := range got {
				g, w := key(got[i]), key(want[i])
				if name == "sll.pcap" || name == "sll2.pcap" {
					g.Time, w.Time = 0, 0 // recorded by another tcpdump at the same time
				}
				// What the container says of the capture: the cooked
				// header's direction (the capture was taken on the
				// server, fmt-b, 10.99.0.2) and interface (ifindex 9),
				// or the pcapng interface.
				wantDir, wantIface := flowstate.DirUnknown, uint8(0)
				switch name {
				case "sll.pcap", "sll2.pcap":
					wantDir = flowstate.DirIncoming
					if g.Src == flowstate.AddrFrom4([4]byte{10, 99, 0, 2}) || g.Src.Netip().String() == "fd99::2" {
						wantDir = flowstate.DirOutgoing
					}
					if name == "sll2.pcap" {
						wantIface = 9
					}
				case "eth.pcapng", "eth.pcapng.gz":
					wantIface = 1
				}
				if g.Dir != wantDir || g.Iface != wantIface {
					t.Fatalf("segment %d (frame %d): direction %s, interface %d; want %s, %d", i, got[i].Frame, g.Dir, g.Iface, wantDir, wantIface)
				}
				g.Dir, g.Iface = 0, 0
				if g != w {
					t.Fatalf("segment %d (frame %d)\n got %+v\nwant %+v", i, got[i].Frame, g, w)
				}
			}
		})
	}
}

// Captures built in memory with pcapgo's writers: hand-built, not
// recordings of anything.

type record struct {
	t    time.Time
	data []byte
	orig int // original length, if larger than the data
}

// tcpFrame is a 60-byte Ethernet frame (59 bytes padded to the minimum).
func tcpFrame(t testing.TB, sport uint16, seq uint32) []byte {
	tcp := dataTCP()
	tcp.SrcPort, tcp.Seq = layers.TCPPort(sport), seq
	return serialize(t, ethHdr(layers.EthernetTypeIPv4), ip4Hdr(), tcp, gopacket.Payload("hello"))
}

func buildPcap(t testing.TB, lt layers.LinkType, snaplen uint32, recs []record) []byte {
	t.Helper()
	var b bytes.Buffer
	w := pcapgo.NewWriterNanos(&b)
	if err := w.WriteFileHeader(snaplen, lt); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		ci := gopacket.CaptureInfo{Timestamp: r.t, CaptureLength: len(r.data), Length: max(r.orig, len(r.data))}
		if err := w.WritePacket(ci, r.data); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

var t0 = time.Unix(1700000000, 0)

func someRecords(t testing.TB, n int) []record {
	recs := make([]record, n)
	for i := range recs {
		recs[i] = record{t: t0.Add(time.Duration(i) * time.Millisecond), data: tcpFrame(t, 1000, uint32(i))}
	}
	return recs
}

func mustReader(t testing.TB, name string, b []byte) *CaptureReader {
	t.Helper()
	c, err := NewCaptureReader(name, bytes.NewReader(b), 0)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPcapDamagedRecords(t *testing.T) {
	good := buildPcap(t, layers.LinkTypeEthernet, 65535, someRecords(t, 3))
	recOff := func(i int) int { // byte offset of record i (1-based) in good
		off := 24
		for range i - 1 {
			off += 16 + int(binary.LittleEndian.Uint32(good[off+8:]))
		}
		return off
	}
	setCaplen := func(rec int, v uint32) []byte {
		b := append([]byte(nil), good...)
		binary.LittleEndian.PutUint32(b[recOff(rec)+8:], v)
		return b
	}
	third := strconv.Itoa(recOff(3))
	for _, tc := range []struct {
		name     string
		data     []byte
		packets  int64
		segments int
		warning  string
	}{
		{"whole", good, 3, 3, ""},
		{"cut in the record data", good[:len(good)-5], 2, 2,
			"x: truncated record at byte offset " + third + " (packet 3): the capture ends mid-packet; the 2 packets before it were analysed"},
		{"cut in the record header", good[:recOff(3)+7], 2, 2,
			"x: truncated record at byte offset " + third + " (packet 3): the capture ends mid-packet; the 2 packets before it were analysed"},
		{"first record cut", good[:30], 0, 0,
			"x: truncated record at byte offset 24 (packet 1): the capture ends mid-packet; no packet came before it"},
		{"captured length above the original", setCaplen(3, 100), 2, 2,
			"x: absurd record length at byte offset " + third + " (packet 3): captured length 100 is above the original length 60; reading stopped there; the 2 packets before it were analysed"},
		{"captured length 4 GiB", setCaplen(2, 0xffffffff), 1, 1,
			"x: absurd record length at byte offset " + strconv.Itoa(recOff(2)) + " (packet 2): captured length 4294967295 is above the 262144-byte maximum; reading stopped there; the 1 packet before it was analysed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustReader(t, "x", tc.data)
			segs := readAll(t, c)
			if c.Info().Packets != tc.packets || len(segs) != tc.segments {
				t.Errorf("records %d segments %d, want %d and %d", c.Info().Packets, len(segs), tc.packets, tc.segments)
			}
			if got := strings.Join(c.Info().Warnings, "\n"); got != tc.warning {
				t.Errorf("warnings\n got %q\nwant %q", got, tc.warning)
			}
			// Next keeps returning io.EOF.
			var s flowstate.Segment
			if err := c.Next(&s); err != io.EOF {
				t.Errorf("Next after the end: %v", err)
			}
		})
	}
}

func TestPcapLongerThanSnaplen(t *testing.T) {
	// Some writers (dpkt) do not truncate to the snaplen they declare;
	// tcpdump and Wireshark read such records, and so do we.
	c := mustReader(t, "x", buildPcap(t, layers.LinkTypeEthernet, 40, someRecords(t, 2)))
	if segs := readAll(t, c); len(segs) != 2 {
		t.Fatalf("%d segments, want 2", len(segs))
	}
	want := "x: record at byte offset 24 (packet 1) is longer than the snaplen (60 > 40 bytes): read anyway, as tcpdump does"
	if got := strings.Join(c.Info().Warnings, "\n"); got != want {
		t.Errorf("warnings\n got %q\nwant %q", got, want)
	}
}

func TestGzip(t *testing.T) {
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(buildPcap(t, layers.LinkTypeEthernet, 65535, someRecords(t, 50)))
	zw.Close()
	c := mustReader(t, "x.gz", z.Bytes())
	if segs := readAll(t, c); len(segs) != 50 || len(c.Info().Warnings) != 0 || !c.Info().Gzip {
		t.Errorf("whole: %d segments, warnings %q", len(segs), c.Info().Warnings)
	}

	// Cut the compressed stream: what was decompressed is kept, and the
	// offset is one of the decompressed stream.
	c = mustReader(t, "x.gz", z.Bytes()[:z.Len()/2])
	segs := readAll(t, c)
	w := c.Info().Warnings
	if len(segs) == 0 || len(segs) >= 50 || len(w) != 1 ||
		!strings.HasPrefix(w[0], "x.gz: truncated record at byte offset ") || !strings.Contains(w[0], " of the decompressed stream (packet ") {
		t.Errorf("cut: %d segments, warnings %q", len(segs), w)
	}

	for _, tc := range []struct {
		name, data, want string
	}{
		{"bad gzip header", "\x1f\x8b\x00", "x.gz: bad gzip header: unexpected EOF"},
		{"empty gzip", string(gzipOf(nil)), "x.gz: gzip stream holds no data, not a capture"},
		{"gzip of text", string(gzipOf([]byte("hello world"))), "x.gz: not a pcap or pcapng capture (starts with 0x68656c6c)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewCaptureReader("x.gz", strings.NewReader(tc.data), 0)
			if err == nil || err.Error() != tc.want || !errors.Is(err, ErrNotCapture) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func gzipOf(b []byte) []byte {
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(b)
	zw.Close()
	return z.Bytes()
}

func TestFileErrors(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "missing.pcap"), 0)
	var fe *FileError
	if !errors.Is(err, ErrNotCapture) || !errors.Is(err, os.ErrNotExist) || !errors.As(err, &fe) ||
		!strings.HasSuffix(err.Error(), "missing.pcap: cannot open: no such file or directory") {
		t.Errorf("missing file: %v", err)
	}
	for _, tc := range []struct {
		name, data, want string
	}{
		{"short", "ab", "x: not a pcap or pcapng capture (only 2 bytes: 0x6162)"},
		{"pcapng header cut", "\x0a\x0d\x0d\x0a\x1c\x00\x00\x00", "x: truncated file header (8 of at least 28 bytes of the section header), not a capture"},
		{"pcap version 3", "\xd4\xc3\xb2\xa1\x03\x00\x04\x00" + strings.Repeat("\x00", 16), "x: bad pcap file header: Unknown major version 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewCaptureReader("x", strings.NewReader(tc.data), 0)
			if err == nil || err.Error() != tc.want || !errors.Is(err, ErrNotCapture) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// buildNg writes a pcapng capture with the given interfaces; packets go
// to interface ifaceOf(i).
func buildNg(t testing.TB, ifaces []pcapgo.NgInterface, recs []record, ifaceOf func(int) int, stats map[int]uint64) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&b, ifaces[0], pcapgo.NgWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ifc := range ifaces[1:] {
		if _, err := w.AddInterface(ifc); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range recs {
		ci := gopacket.CaptureInfo{Timestamp: r.t, CaptureLength: len(r.data), Length: max(r.orig, len(r.data)), InterfaceIndex: ifaceOf(i)}
		if err := w.WritePacket(ci, r.data); err != nil {
			t.Fatal(err)
		}
	}
	for id, dropped := range stats {
		if err := w.WriteInterfaceStats(id, pcapgo.NgInterfaceStatistics{LastUpdate: t0, PacketsDropped: dropped, PacketsReceived: pcapgo.NgNoValue64}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestPcapng(t *testing.T) {
	eth := pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet, SnapLength: 262144}
	user := pcapgo.NgInterface{Name: "usb0", LinkType: 147, SnapLength: 65535}
	nsec := pcapgo.NgInterface{Name: "any", LinkType: layers.LinkTypeRaw, SnapLength: 128, TimestampResolution: 9}
	recs := someRecords(t, 10)

	t.Run("interface drops", func(t *testing.T) {
		c := mustReader(t, "x", buildNg(t, []pcapgo.NgInterface{eth, eth}, recs, func(i int) int { return i % 2 }, map[int]uint64{0: 3, 1: 4}))
		if segs := readAll(t, c); len(segs) != 10 {
			t.Fatalf("%d segments", len(segs))
		}
		info := c.Info()
		if !info.InterfaceDropsKnown || info.InterfaceDrops != 7 || len(info.Interfaces) != 2 ||
			info.Interfaces[1].Dropped != 4 || !info.Interfaces[1].DropsKnown || info.Interfaces[1].Packets != 5 || info.Interfaces[0].Name != "eth0" {
			t.Errorf("info %+v", info)
		}
		want := "x: the capturing interfaces dropped 7 packets (pcapng interface statistics): the capture misses packets"
		if got := strings.Join(info.Warnings, "\n"); got != want {
			t.Errorf("warnings\n got %q\nwant %q", got, want)
		}
	})

	t.Run("no statistics", func(t *testing.T) {
		c := mustReader(t, "x", buildNg(t, []pcapgo.NgInterface{eth}, recs, func(int) int { return 0 }, nil))
		readAll(t, c)
		if c.Info().InterfaceDropsKnown {
			t.Errorf("drops known without statistics")
		}
	})

	t.Run("only unsupported interfaces", func(t *testing.T) {
		_, err := NewCaptureReader("x", bytes.NewReader(buildNg(t, []pcapgo.NgInterface{user}, recs, func(int) int { return 0 }, nil)), 0)
		if err == nil || err.Error() != "x: unsupported link type 147 (USER0)" || !errors.Is(err, ErrNotCapture) {
			t.Errorf("error %v", err)
		}
	})

	t.Run("nanosecond RAW interface", func(t *testing.T) {
		raw := make([]record, len(recs))
		for i, r := range recs {
			raw[i] = record{t: r.t.Add(123 * time.Nanosecond), data: r.data[14:]}
		}
		c := mustReader(t, "x", buildNg(t, []pcapgo.NgInterface{nsec}, raw, func(int) int { return 0 }, nil))
		segs := readAll(t, c)
		if len(segs) != 10 || !c.Info().Nanosecond || segs[0].Time != t0.UnixNano()+123 || c.Info().Snaplen != 128 {
			t.Errorf("%d segments, info %+v", len(segs), c.Info())
		}
	})

	good := buildNg(t, []pcapgo.NgInterface{eth}, recs[:3], func(int) int { return 0 }, nil)
	// Find the blocks: section header, interface, three packets.
	var offs []int
	for off := 0; off < len(good); off += int(binary.LittleEndian.Uint32(good[off+4:])) {
		offs = append(offs, off)
	}
	if len(offs) != 5 {
		t.Fatalf("%d blocks", len(offs))
	}
	third := strconv.Itoa(offs[4])
	patch := func(off int, v uint32) []byte {
		b := append([]byte(nil), good...)
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	for _, tc := range []struct {
		name    string
		data    []byte
		packets int64
		warning string
	}{
		{"cut in a packet block", good[:len(good)-10], 2,
			"x: truncated record at byte offset " + third + " (packet 3): the capture ends mid-packet; the 2 packets before it were analysed"},
		{"cut in a block header", good[:offs[4]+6], 2,
			"x: truncated record at byte offset " + third + " (packet 3): the capture ends mid-packet; the 2 packets before it were analysed"},
		{"captured length 4 GiB", patch(offs[4]+20, 0xfffffff0), 2,
			"x: absurd record length at byte offset " + third + " (packet 3): captured length 4294967280 is above the 262144-byte maximum; reading stopped there; the 2 packets before it were analysed"},
		{"block length not a multiple of 4", patch(offs[4]+4, 13), 2,
			"x: corrupt pcapng block at byte offset " + third + " (packet 3): block length 13; the 2 packets before it were analysed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustReader(t, "x", tc.data)
			readAll(t, c)
			if c.Info().Packets != tc.packets {
				t.Errorf("records %d, want %d", c.Info().Packets, tc.packets)
			}
			if got := strings.Join(c.Info().Warnings, "\n"); got != tc.warning {
				t.Errorf("warnings\n got %q\nwant %q", got, tc.warning)
			}
		})
	}
}

// TestNextDoesNotAllocate checks that reading and decoding a packet
// allocates nothing once the buffers are in place.
func TestNextDoesNotAllocate(t *testing.T) {
	recs := someRecords(t, 5000)
	for i := range recs { // mix in IPv6, VLAN and non-TCP records
		switch i % 4 {
		case 1:
			recs[i].data = serialize(t, ethHdr(layers.EthernetTypeIPv6), ip6Hdr(layers.IPProtocolTCP), synTCP())
		case 2:
			recs[i].data = serialize(t, ethHdr(layers.EthernetTypeDot1Q), &layers.Dot1Q{VLANIdentifier: 7, Type: layers.EthernetTypeIPv4}, ip4Hdr(), dataTCP(), gopacket.Payload(make([]byte, 1000)))
		case 3:
			ip := ip4Hdr()
			ip.Protocol = layers.IPProtocolUDP
			recs[i].data = serialize(t, ethHdr(layers.EthernetTypeIPv4), ip, &layers.UDP{SrcPort: 1, DstPort: 2}, gopacket.Payload("x"))
		}
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"pcap", buildPcap(t, layers.LinkTypeEthernet, 65535, recs)},
		{"pcapng", buildNg(t, []pcapgo.NgInterface{{LinkType: layers.LinkTypeEthernet, SnapLength: 65535}}, recs, func(int) int { return 0 }, nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustReader(t, "x", tc.data)
			var seg flowstate.Segment
			allocs := testing.AllocsPerRun(3000, func() {
				if err := c.Next(&seg); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%v allocations per Next", allocs)
			}
		})
	}
}

// FuzzCaptureReader feeds damaged captures to the reader: it must never
// panic, Next must return only nil or io.EOF (and keep returning io.EOF),
// and what it reports must hold together: the counts add up; segments
// name growing frames of this file within the records read, with times
// within the capture's first and last timestamps; pcapng interfaces'
// packets add up to the records (listed or not; at most 64 listed); the
// warnings are bounded (32, a count of the rest, and the one that stopped
// reading); every warning names the file, and a
// byte offset within the input (uncompressed) and a packet number at most
// one past the records read.
func FuzzCaptureReader(f *testing.F) {
	for _, name := range []string{"eth.pcap", "eth.pcapng", "multi-if.pcapng", "sll2.pcap", "ipv6-ext.pcap", "vxlan.pcap", "truncated.pcap"} {
		if b, err := os.ReadFile(formats + name); err == nil {
			f.Add(b[:min(len(b), 2000)])
		}
	}
	f.Add(buildPcap(f, layers.LinkTypeEthernet, 65535, someRecords(f, 3)))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := NewCaptureReader("x", bytes.NewReader(data), 2)
		if err != nil {
			if !errors.Is(err, ErrNotCapture) || !strings.HasPrefix(err.Error(), "x: ") {
				t.Fatalf("error %v does not match ErrNotCapture or name the file", err)
			}
			return
		}
		var s flowstate.Segment
		var segs []flowstate.Segment
		last := int64(0)
		for {
			err := c.Next(&s)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if s.Frame <= last || s.File != 2 {
				t.Fatalf("file %d frame %d after %d", s.File, s.Frame, last)
			}
			last = s.Frame
			segs = append(segs, s)
		}
		if err := c.Next(&s); err != io.EOF {
			t.Fatalf("Next after the end: %v", err)
		}
		info := c.Info()
		n := int64(len(segs))
		if info.TCPPackets != n || info.TCPPackets+info.NonTCP+info.Undecodable+info.IPFragments != info.Packets || info.CutBySnaplen > n ||
			info.TruncatedTCP+info.BadIPVersion > info.Undecodable || info.Reassembled > n || info.FragmentsIncomplete > info.IPFragments {
			t.Fatalf("counts do not add up: %+v (segments %d)", info, n)
		}
		for _, s := range segs {
			if s.Frame > info.Packets || s.Time < info.FirstTime || s.Time > info.LastTime {
				t.Fatalf("segment frame %d time %d; %d records, times [%d, %d]", s.Frame, s.Time, info.Packets, info.FirstTime, info.LastTime)
			}
		}
		if info.Format == "pcapng" {
			sum := info.MoreInterfacesPackets
			for _, ifc := range info.Interfaces {
				sum += ifc.Packets
			}
			if sum != info.Packets || len(info.Interfaces) > maxInterfaces {
				t.Fatalf("%d interfaces listed and %d more hold %d packets, %d records read", len(info.Interfaces), info.MoreInterfaces, sum, info.Packets)
			}
		}
		if len(info.Warnings) > maxWarnings+2 || info.CorruptTimes > info.Packets {
			t.Fatalf("%d warnings, %d corrupt times of %d records", len(info.Warnings), info.CorruptTimes, info.Packets)
		}
		// number returns the integer after the first occurrence of p in w.
		number := func(w, p string) (int64, bool) {
			i := strings.Index(w, p)
			if i < 0 {
				return 0, false
			}
			j := i + len(p)
			for j < len(w) && w[j] >= '0' && w[j] <= '9' {
				j++
			}
			v, err := strconv.ParseInt(w[i+len(p):j], 10, 64)
			return v, err == nil
		}
		for _, w := range info.Warnings {
			if !strings.HasPrefix(w, "x: ") {
				t.Fatalf("warning %q does not name the file", w)
			}
			if off, ok := number(w, "byte offset "); ok && !info.Gzip && (off < 0 || off >= int64(len(data))) {
				t.Fatalf("warning %q: offset beyond the %d-byte input", w, len(data))
			}
			if p, ok := number(w, "(packet "); ok && (p < 1 || p > info.Packets+1) {
				t.Fatalf("warning %q: packet number after %d records", w, info.Packets)
			}
		}
	})
}

// BenchmarkDecode decodes the records of a committed fixture in a loop.
func BenchmarkDecode(b *testing.B) {
	f, err := os.Open(formats + "eth.pcap")
	if err != nil {
		b.Skip(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	var pkts [][]byte
	for {
		data, _, err := r.ReadPacketData()
		if err != nil {
			break
		}
		pkts = append(pkts, data)
	}
	d := newDecoder()
	var seg flowstate.Segment
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		d.decode(pkts[i%len(pkts)], layers.LinkTypeEthernet, &seg)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}

// BenchmarkDecodeEncapsulations decodes every record of the fixtures of
// each encapsulation (testdata/formats), one sub-benchmark per file.
func BenchmarkDecodeEncapsulations(b *testing.B) {
	for _, name := range []string{
		"vlan.pcap", "vxlan.pcap", "mpls.pcap", "mpls-pw-cw.pcap", "pppoe-qinq.pcap", "gtpu.pcap", "erspan3.pcap",
		"nflog.pcap", "llc-snap.pcap", "teredo.pcap", "gre-pptp.pcap", "ip-fragments.pcap",
	} {
		b.Run(name, func(b *testing.B) {
			f, err := os.Open(formats + name)
			if err != nil {
				b.Skip(err)
			}
			defer f.Close()
			r, err := pcapgo.NewReader(f)
			if err != nil {
				b.Fatal(err)
			}
			var pkts [][]byte
			for {
				data, _, err := r.ReadPacketData()
				if err != nil {
					break
				}
				pkts = append(pkts, data)
			}
			d := newDecoder()
			var seg flowstate.Segment
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				d.now = int64(i) * 1000
				d.decode(pkts[i%len(pkts)], r.LinkType(), &seg)
			}
		})
	}
}

// benchFile is a large capture to read, named by TCPTIMELINE_BENCH_PCAP,
// for instance one written by ../shared/tools/pcapgen.
func benchFile(b *testing.B) string {
	path := os.Getenv("TCPTIMELINE_BENCH_PCAP")
	if path == "" {
		b.Skip("set TCPTIMELINE_BENCH_PCAP to a capture to read")
	}
	return path
}

// BenchmarkRead reads and decodes the whole of $TCPTIMELINE_BENCH_PCAP.
func BenchmarkRead(b *testing.B) {
	path := benchFile(b)
	b.ReportAllocs()
	var packets int64
	for b.Loop() {
		c, err := Open(path, 0)
		if err != nil {
			b.Fatal(err)
		}
		var seg flowstate.Segment
		for c.Next(&seg) == nil {
		}
		packets += c.Info().Packets
		c.Close()
	}
	b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "packets/s")
}

// BenchmarkReadBare is the floor to compare BenchmarkRead with: pcapgo
// zero-copy reads over a 1 MiB bufio.Reader and a DecodingLayerParser
// down to IPv4/IPv6, nothing else.
func BenchmarkReadBare(b *testing.B) {
	path := benchFile(b)
	var (
		eth  layers.Ethernet
		ip4  layers.IPv4
		ip6  layers.IPv6
		pkts int64
	)
	p := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &ip6)
	p.IgnoreUnsupported = true
	decoded := make([]gopacket.LayerType, 0, 8)
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		r, err := pcapgo.NewReader(bufio.NewReaderSize(f, 1<<20))
		if err != nil {
			b.Fatal(err)
		}
		for {
			data, _, err := r.ZeroCopyReadPacketData()
			if err != nil {
				break
			}
			p.DecodeLayers(data, &decoded)
			pkts++
		}
		f.Close()
	}
	b.ReportMetric(float64(pkts)/b.Elapsed().Seconds(), "packets/s")
}

// ngWithResolution is a pcapng of one Ethernet interface with the given
// if_tsresol (none when resol is -1) and if_tsoffset, and one packet per
// raw timestamp.
func ngWithResolution(t testing.TB, resol int, offset int64, units ...uint64) []byte {
	var opts []byte
	if resol >= 0 {
		opts = ngOpt(opts, ifTsresol, []byte{byte(resol)})
	}
	if offset != 0 {
		opts = ngOpt(opts, ifTsoffset, binary.LittleEndian.AppendUint64(nil, uint64(offset)))
	}
	out := ngBlock(nil, ngSHB, ngSHBBody())
	out = ngBlock(out, ngIDB, ngIDBBody(opts))
	for i, u := range units {
		b := binary.LittleEndian.AppendUint32(nil, 0)
		b = binary.LittleEndian.AppendUint32(b, uint32(u>>32))
		b = binary.LittleEndian.AppendUint32(b, uint32(u))
		frame := tcpFrame(t, 1000, uint32(i))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(frame)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(frame)))
		out = ngBlock(out, ngEPB, append(b, frame...))
	}
	return out
}

// TestPcapngTimestampResolutions: every if_tsresol a 64-bit timestamp can
// carry, decimal (10^-0 to 10^-19 s) and binary (2^-0 to 2^-63 s), and
// if_tsoffset, give the time written; finer ones, which no 64-bit count
// can use, are a warning and read as microseconds.
func TestPcapngTimestampResolutions(t *testing.T) {
	const sec = 1700000000
	for _, tc := range []struct {
		name   string
		resol  int
		offset int64
		units  uint64
		want   int64 // ns
		warn   string
		nsec   bool
	}{
		{"default microseconds", -1, 0, sec*1e6 + 123456, sec*1e9 + 123456000, "", false},
		{"10^-6", 6, 0, sec*1e6 + 123456, sec*1e9 + 123456000, "", false},
		{"10^-9", 9, 0, sec*1e9 + 123456789, sec*1e9 + 123456789, "", true},
		{"10^-0", 0, 0, sec, sec * 1e9, "", false},
		{"10^-12, cut to ns", 12, 0, 1e6*1e12 + 123456789012, 1e6*1e9 + 123456789, "", true},
		{"10^-19", 19, 0, 1e19 + 5e18, 1e9 + 5e8, "", true},
		{"2^-0", 0x80, 0, sec, sec * 1e9, "", false},
		{"2^-20", 0x80 | 20, 0, sec<<20 | 1<<19, sec*1e9 + 5e8, "", true},
		{"2^-32", 0x80 | 32, 0, sec<<32 | 1<<30, sec*1e9 + 25e7, "", true},
		{"2^-63", 0x80 | 63, 0, 1<<63 | 1<<61, 1e9 + 25e7, "", true},
		{"offset", 6, -100, sec * 1e6, (sec - 100) * 1e9, "", false},
		{"10^-30", 30, 0, sec * 1e6, sec * 1e9,
			"x: interface 0 of section 0: if_tsresol 0x1e (10^-30 s): unsupported timestamp resolution, read as microseconds (the pcapng default)", false},
		{"2^-70", 0x80 | 70, 0, sec * 1e6, sec * 1e9,
			"x: interface 0 of section 0: if_tsresol 0xc6 (2^-70 s): unsupported timestamp resolution, read as microseconds (the pcapng default)", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustReader(t, "x", ngWithResolution(t, tc.resol, tc.offset, tc.units))
			segs := readAll(t, c)
			if len(segs) != 1 || segs[0].Time != tc.want {
				t.Fatalf("%d segments, time %d; want %d", len(segs), segs[0].Time, tc.want)
			}
			if got := strings.Join(c.Info().Warnings, "\n"); got != tc.warn {
				t.Errorf("warnings %q, want %q", got, tc.warn)
			}
			if c.Info().Nanosecond != tc.nsec {
				t.Errorf("Nanosecond %v", c.Info().Nanosecond)
			}
		})
	}
}

// TestPcapFractionOutOfRange: a classic pcap record whose microsecond
// field is 1e6 or more (or nanosecond field 1e9 or more) is read as
// written, the excess carried into the seconds, with one warning for the
// file; the 32-bit field is not wrapped.
func TestPcapFractionOutOfRange(t *testing.T) {
	for _, tc := range []struct {
		name  string
		magic uint32
		frac  uint32
		want  int64
		warn  string
	}{
		{"microseconds", magicMicro, 10_000_123, 10*1e9 + 123000, "x: microsecond field of 3 records (first packet 2: 10000123) at or above 1000000: the excess was carried into the seconds, as written"},
		{"nanoseconds", magicNano, 1_500_000_000, 1.5e9, "x: nanosecond field of 3 records (first packet 2: 1500000000) at or above 1000000000: the excess was carried into the seconds, as written"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := buildPcap(t, layers.LinkTypeEthernet, 65535, someRecords(t, 4))
			binary.LittleEndian.PutUint32(b, magicMicro)
			hdr, recs := splitPcap(t, b)
			binary.LittleEndian.PutUint32(hdr, tc.magic)
			for i, r := range recs {
				binary.LittleEndian.PutUint32(r[0:], 1700000000)
				binary.LittleEndian.PutUint32(r[4:], 0)
				if i >= 1 {
					binary.LittleEndian.PutUint32(r[4:], tc.frac)
				}
			}
			c := mustReader(t, "x", joinPcap(hdr, recs))
			segs := readAll(t, c)
			if len(segs) != 4 || segs[1].Time != 1700000000*1e9+tc.want {
				t.Fatalf("%d segments, second at %d; want %d", len(segs), segs[1].Time, 1700000000*1e9+tc.want)
			}
			if got := strings.Join(c.Info().Warnings, "\n"); got != tc.warn {
				t.Errorf("warnings\n got %q\nwant %q", got, tc.warn)
			}
		})
	}
}

// TestCorruptTimestamps: a record far (beyond 300 s) from both neighbours,
// which agree with each other, is read at its neighbour's time with a
// warning; a jump that the records after it keep, or records far apart
// all along (keepalives two hours apart), are left as they are.
func TestCorruptTimestamps(t *testing.T) {
	const s = int64(1e9)
	base := t0.UnixNano()
	for _, tc := range []struct {
		name  string
		times []int64 // seconds after t0
		want  []int64
		warns int
	}{
		{"one far ahead", []int64{0, 1, 2, 1 << 28, 3, 4}, []int64{0, 1, 2, 2, 3, 4}, 1},
		{"one far behind", []int64{0, 1, 2, -1 << 28, 3, 4}, []int64{0, 1, 2, 2, 3, 4}, 1},
		{"the first", []int64{1 << 28, 1, 2, 3}, []int64{1, 1, 2, 3}, 1},
		{"two in a row are a gap", []int64{0, 1, 1000, 1001, 2, 3}, []int64{0, 1, 1000, 1001, 2, 3}, 0},
		{"a gap kept", []int64{0, 1, 2, 1000, 1001, 1002}, []int64{0, 1, 2, 1000, 1001, 1002}, 0},
		{"a gap back kept", []int64{5000, 5001, 1000, 1001, 1002}, []int64{5000, 5001, 1000, 1001, 1002}, 0},
		{"keepalives", []int64{0, 7200, 14400, 21600}, []int64{0, 7200, 14400, 21600}, 0},
		{"within the timeout", []int64{0, 1, 299, 2, 3}, []int64{0, 1, 299, 2, 3}, 0},
		{"the last, without successor", []int64{0, 1, 2, 1 << 28}, []int64{0, 1, 2, 1 << 28}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs := someRecords(t, len(tc.times))
			for i := range recs {
				recs[i].t = time.Unix(0, base+tc.times[i]*s)
			}
			c := mustReader(t, "x", buildPcap(t, layers.LinkTypeEthernet, 65535, recs))
			segs := readAll(t, c)
			for i := range segs {
				if segs[i].Time != base+tc.want[i]*s || segs[i].Frame != int64(i+1) {
					t.Errorf("packet %d: frame %d at %+d s, want %+d s", i+1, segs[i].Frame, (segs[i].Time-base)/s, tc.want[i])
				}
			}
			if c.Info().CorruptTimes != int64(tc.warns) || len(c.Info().Warnings) < tc.warns {
				t.Errorf("%d corrupt, warnings %q", c.Info().CorruptTimes, c.Info().Warnings)
			}
			if tc.warns > 0 && !strings.Contains(c.Info().Warnings[0], "has a corrupt timestamp") {
				t.Errorf("warnings %q", c.Info().Warnings)
			}
		})
	}
}

// An input that cannot be read names the file once, then why: a
// directory given as a capture is "dir: cannot read: is a directory",
// not "dir: cannot read: read dir: is a directory".
func TestFileErrorNamesTheFileOnce(t *testing.T) {
	dir := t.TempDir()
	r, err := Open(dir, 0)
	if err == nil {
		r.Close()
		t.Fatal("a directory opened as a capture")
	}
	if want := dir + ": cannot read: is a directory"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if !errors.Is(err, ErrNotCapture) {
		t.Errorf("%v is not ErrNotCapture", err)
	}
}
