package analyze

// Hostile input, one test per class: what a file that is not a capture,
// is cut short, lies about its lengths or its clock, repeats its frames,
// wraps its sequence numbers or carries bad checksums does to the whole
// analysis. The reader-level checks (exact messages of every malformed
// fixture, damaged classic pcap and pcapng records, gzip) are in
// capture_test.go (TestFixtures, TestPcapDamagedRecords, TestPcapng,
// TestGzip, TestFileErrors) and not repeated here; these tests add what
// the analysis makes of the input: flows, labels, states, the Summary.
//
// Captures built here are hand-made in memory from the fixtures in
// testdata/formats (see its README) or with gopacket; none is a recording.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// analyse runs the whole analysis, recording packets, over one capture
// given as bytes.
func analyse(t *testing.T, name string, data []byte) ([]*Flow, *Summary) {
	t.Helper()
	r, err := NewCaptureReader(name, bytes.NewReader(data), 0)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var flows []*Flow
	sum, err := Run(context.Background(), []*CaptureReader{r}, Options{Record: true}, func(f *Flow) error {
		flows = append(flows, f)
		return nil
	})
	if err != nil {
		t.Fatalf("%s: Run: %v", name, err)
	}
	if sum.Flows != len(flows) || len(sum.Captures) != 1 {
		t.Fatalf("%s: Summary.Flows %d, %d flows emitted, %d captures", name, sum.Flows, len(flows), len(sum.Captures))
	}
	return flows, sum
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(formats + name)
	if err != nil {
		t.Skipf("fixtures not there: %v", err)
	}
	return b
}

// packetView is what the analysis concluded about one packet, without
// its time or frame number.
func packetView(p *flowstate.Packet) string {
	return fmt.Sprintf("%v %v seq %d ack %d len %d %v/%v [%v] rexmit %v", p.From, p.Flags, p.Seq, p.Ack, p.Len,
		p.State[flowstate.Client], p.State[flowstate.Server], p.Labels, p.Retransmit)
}

// flowView is what the analysis concluded about a flow, without times:
// one line for the flow, one per packet. With skipDup, duplicate frames
// are left out, and so is Zeek's history, which counts them as
// retransmissions (as Zeek does).
func flowView(f *Flow, skipDup bool) string {
	var b strings.Builder
	zeek := f.ZeekHistory() + " " + f.ZeekConnState()
	if skipDup {
		zeek = "-"
	}
	fmt.Fprintf(&b, "%v -> %v [%v] %v/%v closed %v %s zeek %s\n", f.Client, f.Server, f.Labels,
		f.EP[flowstate.Client].State, f.EP[flowstate.Server].State, f.Closed, f.EndReason, zeek)
	for i := range f.Packets {
		if skipDup && f.Packets[i].Duplicate {
			continue
		}
		b.WriteString("  " + packetView(&f.Packets[i]) + "\n")
	}
	return b.String()
}

// views gives the flows' views ordered by client and server, so that
// analyses whose flows finish in another order compare equal.
func views(flows []*Flow, skipDup bool) []string {
	out := make([]string, len(flows))
	for i, f := range flows {
		out[i] = flowView(f, skipDup)
	}
	slices.Sort(out)
	return out
}

func sameViews(t *testing.T, what string, got, want []*Flow) {
	t.Helper()
	g, w := views(got, false), views(want, false)
	if !slices.Equal(g, w) {
		t.Errorf("%s: the analysis differs from eth.pcap's:\n got %d flows\n%s\nwant %d flows\n%s", what, len(g), strings.Join(g, ""), len(w), strings.Join(w, ""))
	}
}

// splitPcap cuts a little-endian classic pcap into its file header and
// records (each with its 16-byte header).
func splitPcap(t *testing.T, b []byte) (hdr []byte, recs [][]byte) {
	t.Helper()
	if len(b) < 24 || binary.LittleEndian.Uint32(b) != magicMicro {
		t.Fatal("not a little-endian microsecond pcap")
	}
	for off := 24; off < len(b); {
		n := 16 + int(binary.LittleEndian.Uint32(b[off+8:]))
		recs = append(recs, b[off:off+n])
		off += n
	}
	return b[:24], recs
}

func joinPcap(hdr []byte, recs [][]byte) []byte {
	out := slices.Clone(hdr)
	for _, r := range recs {
		out = append(out, r...)
	}
	return out
}

// tcpHeaderAt returns the offset of the TCP header in an Ethernet frame
// carrying IPv4 or IPv6 (no extension headers), and its length.
func tcpHeaderAt(frame []byte) (off, n int, ok bool) {
	if len(frame) < 14 {
		return 0, 0, false
	}
	switch binary.BigEndian.Uint16(frame[12:]) {
	case 0x0800:
		if len(frame) < 34 || frame[23] != 6 {
			return 0, 0, false
		}
		off = 14 + int(frame[14]&15)*4
	case 0x86dd:
		if len(frame) < 54 || frame[20] != 6 {
			return 0, 0, false
		}
		off = 54
	default:
		return 0, 0, false
	}
	if len(frame) < off+20 {
		return 0, 0, false
	}
	return off, int(frame[off+12]>>4) * 4, true
}

// TestHostileNotACapture: a file that is not a capture at all is an error
// matching ErrNotCapture (exit status 2 in the CLI) whose message names
// the file; nothing is analysed. Exact messages of notcapture.pcap:
// TestFixtures; short and gzip inputs: TestFileErrors, TestGzip.
func TestHostileNotACapture(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	garbage[0] = 0x42 // no magic by chance
	eth := readFixture(t, "eth.pcapng")
	badBOM := slices.Clone(eth)
	copy(badBOM[8:], "\xde\xad\xbe\xef")
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"notcapture.pcap", readFixture(t, "notcapture.pcap"), "not a pcap or pcapng capture (starts with 0x54686973)"},
		{"random.bin", garbage, "not a pcap or pcapng capture (starts with 0x42"},
		{"page.html", []byte("<!DOCTYPE html><html><body>404</body></html>\n"), "not a pcap or pcapng capture (starts with 0x3c21444f)"},
		{"bad-bom.pcapng", badBOM, "bad pcapng byte-order magic 0xdeadbeef"},
		{"text.gz", gzipOf([]byte("tcpdump: listening on eth0\n")), "not a pcap or pcapng capture (starts with 0x74637064)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewCaptureReader(tc.name, bytes.NewReader(tc.data), 0)
			var fe *FileError
			if !errors.Is(err, ErrNotCapture) || !errors.As(err, &fe) || fe.Name != tc.name {
				t.Fatalf("error %v (%T), want a *FileError for %s matching ErrNotCapture", err, err, tc.name)
			}
			if !strings.HasPrefix(err.Error(), tc.name+": ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to name %s and say %q", err, tc.name, tc.want)
			}
		})
	}
	// Through Open, the path is the name.
	_, err := Open(formats+"notcapture.pcap", 0)
	if !errors.Is(err, ErrNotCapture) || !strings.HasPrefix(err.Error(), formats+"notcapture.pcap: ") {
		t.Errorf("Open: %v", err)
	}
}

// TestHostileEmpty: an empty file is an ErrNotCapture error naming the
// file; a capture with a file header and no record is not an error but an
// empty analysis without warnings. (empty.pcap's message: TestFixtures;
// an empty gzip stream: TestGzip.)
func TestHostileEmpty(t *testing.T) {
	_, err := Open(formats+"empty.pcap", 0)
	if !errors.Is(err, ErrNotCapture) || err.Error() != formats+"empty.pcap: empty file, not a capture" {
		t.Errorf("empty.pcap: %v", err)
	}
	eth := pcapgo.NgInterface{LinkType: layers.LinkTypeEthernet, SnapLength: 65535}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"header-only.pcap", readFixture(t, "eth.pcap")[:24]},
		{"header-only.pcapng", buildNg(t, []pcapgo.NgInterface{eth}, nil, nil, nil)},
		{"header-only.pcap.gz", gzipOf(readFixture(t, "eth.pcap")[:24])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			flows, sum := analyse(t, tc.name, tc.data)
			c := sum.Captures[0]
			if len(flows) != 0 || sum.Segments != 0 || c.Packets != 0 || len(c.Warnings) != 0 || sum.Origin != 0 || len(sum.Listeners) != 0 {
				t.Errorf("%d flows, %d segments, capture %+v", len(flows), sum.Segments, c)
			}
		})
	}
}

// TestHostileTruncatedFileHeader: every prefix of a capture shorter than
// its file header is an ErrNotCapture error naming the file and how many
// bytes of the header there were; a prefix that ends inside the first
// record opens, analyses nothing and warns at byte offset 24.
// (truncated-header.pcap's message: TestFixtures.)
func TestHostileTruncatedFileHeader(t *testing.T) {
	pcap := readFixture(t, "eth.pcap")
	for n := 1; n <= 40; n++ {
		r, err := NewCaptureReader("cut.pcap", bytes.NewReader(pcap[:n]), 0)
		switch {
		case n < 4:
			if want := fmt.Sprintf("cut.pcap: not a pcap or pcapng capture (only %d bytes: 0x%x)", n, pcap[:n]); err == nil || err.Error() != want {
				t.Errorf("%d bytes: error %v, want %q", n, err, want)
			}
		case n < 24:
			if want := fmt.Sprintf("cut.pcap: truncated file header (%d of 24 bytes), not a capture", n); err == nil || err.Error() != want {
				t.Errorf("%d bytes: error %v, want %q", n, err, want)
			}
		default:
			if err != nil {
				t.Fatalf("%d bytes: %v", n, err)
			}
			readAll(t, r)
			w := r.Info().Warnings
			if n == 24 && len(w) != 0 || n > 24 && (len(w) != 1 || !strings.HasPrefix(w[0], "cut.pcap: truncated record at byte offset 24 (packet 1)")) {
				t.Errorf("%d bytes: warnings %q", n, w)
			}
			continue
		}
		if !errors.Is(err, ErrNotCapture) {
			t.Errorf("%d bytes: %v does not match ErrNotCapture", n, err)
		}
	}
	ng := readFixture(t, "eth.pcapng")
	shb := int(binary.LittleEndian.Uint32(ng[4:]))
	for n := 4; n < shb; n++ {
		_, err := NewCaptureReader("cut.pcapng", bytes.NewReader(ng[:n]), 0)
		if !errors.Is(err, ErrNotCapture) || !strings.HasPrefix(err.Error(), "cut.pcapng: truncated file header (") {
			t.Errorf("%d of the %d bytes of the section header: error %v", n, shb, err)
		}
	}
}

// TestHostileTruncatedRecord: a capture cut anywhere inside a record
// (its header or its data) is analysed exactly like the capture that ends
// at the record before, with one warning naming the file, the record's
// byte offset and its packet number. (truncated.pcap's exact warning:
// TestFixtures; the CLI's exit status 0: cmd/tcptimeline.)
func TestHostileTruncatedRecord(t *testing.T) {
	data := readFixture(t, "eth.pcap")
	hdr, recs := splitPcap(t, data)
	off := len(hdr)
	for n := range recs {
		whole := joinPcap(hdr, recs[:n])
		want, wantSum := analyse(t, "whole", whole)
		if len(wantSum.Captures[0].Warnings) != 0 {
			t.Fatalf("%d whole records: warnings %q", n, wantSum.Captures[0].Warnings)
		}
		for _, cut := range []int{off + 7, off + 16 + (len(recs[n])-16)/2} {
			name := fmt.Sprintf("cut at %d in record %d", cut, n+1)
			flows, sum := analyse(t, "cut.pcap", data[:cut])
			w := sum.Captures[0].Warnings
			prefix := fmt.Sprintf("cut.pcap: truncated record at byte offset %d (packet %d): the capture ends mid-packet", off, n+1)
			if len(w) != 1 || !strings.HasPrefix(w[0], prefix) {
				t.Fatalf("%s: warnings %q, want one starting %q", name, w, prefix)
			}
			if sum.Captures[0].Packets != int64(n) || sum.Segments != wantSum.Segments || sum.Flows != wantSum.Flows {
				t.Errorf("%s: %d packets, %d segments, %d flows; want %d, %d, %d", name,
					sum.Captures[0].Packets, sum.Segments, sum.Flows, n, wantSum.Segments, wantSum.Flows)
			}
			if !slices.Equal(views(flows, false), views(want, false)) {
				t.Errorf("%s: the flows differ from those of the %d whole records", name, n)
			}
		}
		off += len(recs[n])
	}

	// The fixture: 56 whole records, the cut 57th is not TCP.
	ref, _ := analyse(t, "eth.pcap", data)
	flows, sum := analyse(t, "truncated.pcap", readFixture(t, "truncated.pcap"))
	if sum.Flows != 6 || sum.Segments != 44 || len(sum.Captures[0].Warnings) != 1 ||
		!strings.Contains(sum.Captures[0].Warnings[0], "byte offset 5368 (packet 57)") {
		t.Errorf("truncated.pcap: %d flows, %d segments, warnings %q", sum.Flows, sum.Segments, sum.Captures[0].Warnings)
	}
	sameViews(t, "truncated.pcap", flows, ref)
}

// heapDuring returns the bytes allocated while f ran.
func heapDuring(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHostileRecordLengths: a record header claiming gigabytes, or more
// than the packet's original length, ends the file there with a warning
// naming the byte offset and packet number, allocates nothing near what
// it claims, and leaves the records before it analysed. A record longer
// than the declared snaplen but of a sane length is read, with one
// warning. (Reader-level messages: TestFixtures' absurd-length.pcap,
// TestPcapDamagedRecords, TestPcapLongerThanSnaplen, TestPcapng.)
func TestHostileRecordLengths(t *testing.T) {
	data := readFixture(t, "eth.pcap")
	hdr, recs := splitPcap(t, data)
	ref, _ := analyse(t, "eth.pcap", data)
	const at = 30 // the record to damage (1-based); its offset:
	off := len(hdr)
	for _, r := range recs[:at-1] {
		off += len(r)
	}
	before, _ := analyse(t, "before", joinPcap(hdr, recs[:at-1]))
	patch := func(caplen uint32) []byte {
		b := slices.Clone(data)
		binary.LittleEndian.PutUint32(b[off+8:], caplen)
		return b
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"4 GiB", patch(0xffffffff), "captured length 4294967295 is above the 262144-byte maximum"},
		{"3.75 GiB", patch(0xf0000000), "captured length 4026531840 is above the 262144-byte maximum"},
		{"above the original length", patch(binary.LittleEndian.Uint32(data[off+12:]) + 1), "is above the original length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var (
				flows []*Flow
				sum   *Summary
			)
			alloc := heapDuring(func() { flows, sum = analyse(t, "absurd.pcap", tc.data) })
			if alloc > 64<<20 {
				t.Errorf("%d MiB allocated for a record that claims %s", alloc>>20, tc.name)
			}
			w := sum.Captures[0].Warnings
			prefix := fmt.Sprintf("absurd.pcap: absurd record length at byte offset %d (packet %d): ", off, at)
			if len(w) != 1 || !strings.HasPrefix(w[0], prefix) || !strings.Contains(w[0], tc.want) ||
				!strings.HasSuffix(w[0], fmt.Sprintf("the %d packets before it were analysed", at-1)) {
				t.Errorf("warnings %q, want one starting %q saying %q", w, prefix, tc.want)
			}
			if sum.Captures[0].Packets != at-1 {
				t.Errorf("%d packets read, want %d", sum.Captures[0].Packets, at-1)
			}
			if !slices.Equal(views(flows, false), views(before, false)) {
				t.Errorf("the flows differ from those of the %d records before the damaged one", at-1)
			}
		})
	}

	// The fixture: its 5th record claims 0xF0000000 bytes.
	_, sum := analyse(t, "absurd-length.pcap", readFixture(t, "absurd-length.pcap"))
	if c := sum.Captures[0]; c.Packets != 4 || sum.Segments != 1 || sum.Flows != 1 || len(c.Warnings) != 1 ||
		!strings.Contains(c.Warnings[0], "(packet 5): captured length 4026531840") {
		t.Errorf("absurd-length.pcap: %d packets, %d segments, %d flows, warnings %q", c.Packets, sum.Segments, sum.Flows, c.Warnings)
	}

	// A snaplen smaller than the records (a writer that does not
	// truncate): everything is read, one warning.
	small := slices.Clone(data)
	binary.LittleEndian.PutUint32(small[16:], 64)
	flows, s := analyse(t, "snaplen64.pcap", small)
	if w := s.Captures[0].Warnings; len(w) != 1 || !strings.Contains(w[0], "is longer than the snaplen") || !strings.Contains(w[0], "> 64 bytes): read anyway") {
		t.Errorf("snaplen 64: warnings %q", w)
	}
	sameViews(t, "snaplen 64", flows, ref)
}

// TestHostileCutBySnaplen: packets whose payload the snaplen cut keep
// their true length (from the IP header), and nothing else changes: the
// analysis of eth.pcap (snaplen 128, four 300-byte segments cut) and of
// the same capture with every TCP record cut right after its TCP header
// are the same.
func TestHostileCutBySnaplen(t *testing.T) {
	data := readFixture(t, "eth.pcap")
	ref, refSum := analyse(t, "eth.pcap", data)
	if n := refSum.Captures[0].CutBySnaplen; n != 4 {
		t.Errorf("eth.pcap: %d segments cut by the snaplen, want 4", n)
	}
	long := 0
	for _, f := range ref {
		for _, p := range f.Packets {
			if p.Len == 300 {
				long++ // 300 bytes on the wire, 128-14-20-32 = 62 of them captured
			}
		}
	}
	if long != 4 {
		t.Errorf("eth.pcap: %d packets of 300 bytes, want 4", long)
	}

	hdr, recs := splitPcap(t, data)
	cut := make([][]byte, len(recs))
	withData := int64(0)
	for i, r := range recs {
		frame := r[16:]
		off, n, ok := tcpHeaderAt(frame)
		if !ok || len(frame) <= off+n {
			cut[i] = r
			continue
		}
		withData++
		cut[i] = slices.Clone(r[:16+off+n])
		binary.LittleEndian.PutUint32(cut[i][8:], uint32(off+n))
	}
	flows, sum := analyse(t, "headers-only.pcap", joinPcap(hdr, cut))
	if got := sum.Captures[0].CutBySnaplen; got != withData || withData == 0 {
		t.Errorf("headers only: %d segments cut by the snaplen, want %d", got, withData)
	}
	if sum.Captures[0].Undecodable != 0 {
		t.Errorf("headers only: %d undecodable", sum.Captures[0].Undecodable)
	}
	sameViews(t, "headers only", flows, ref)
	for _, f := range flows {
		for side := range f.EP {
			var want int64
			for _, g := range ref {
				if g.Client == f.Client && g.Server == f.Server {
					want = g.EP[side].Bytes
				}
			}
			if f.EP[side].Bytes != want {
				t.Errorf("headers only, flow %v: %v sent %d bytes, want %d", f.Client, flowstate.Side(side), f.EP[side].Bytes, want)
			}
		}
	}
}

// TestHostileUnknownLinkTypeInOneInterface: in a pcapng file with one
// interface of a link type we do not decode among good ones, that
// interface's packets are counted undecodable with one warning, and the
// good interface's packets are analysed as if alone. (The reader's
// warning text: TestFixtures; a file whose every interface is unknown is
// an error: TestPcapng.)
func TestHostileUnknownLinkTypeInOneInterface(t *testing.T) {
	// mixed-bad-if.pcapng: eth.pcap's first 20 frames on an Ethernet
	// interface and again on a USER0 one.
	hdr, recs := splitPcap(t, readFixture(t, "eth.pcap"))
	want, wantSum := analyse(t, "first 20", joinPcap(hdr, recs[:20]))
	flows, sum := analyse(t, "mixed-bad-if.pcapng", readFixture(t, "mixed-bad-if.pcapng"))
	c := sum.Captures[0]
	if c.Packets != 40 || c.Undecodable != 20 || len(c.Interfaces) != 2 || !c.Interfaces[1].Unsupported || c.Interfaces[0].Unsupported {
		t.Errorf("capture %+v", c)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "interface 1 of section 0 has an unsupported link type (USER0)") {
		t.Errorf("warnings %q", c.Warnings)
	}
	if sum.Segments != 17 || sum.Segments != wantSum.Segments || sum.Flows != wantSum.Flows {
		t.Errorf("%d segments, %d flows; want 17 and %d", sum.Segments, sum.Flows, wantSum.Flows)
	}
	sameViews(t, "mixed-bad-if.pcapng", flows, want)
}

// TestHostileTimeBackwards: timestamps that go backwards are counted
// (Capture.TimeBackwards, one warning) and the analysis is still
// complete: the file's order is kept, every flow is there with the same
// conclusions. Once with the fixture (two records' times swapped), once
// with the clock stepped back an hour in the middle of the capture.
func TestHostileTimeBackwards(t *testing.T) {
	data := readFixture(t, "eth.pcap")
	ref, _ := analyse(t, "eth.pcap", data)

	flows, sum := analyse(t, "backwards-time.pcap", readFixture(t, "backwards-time.pcap"))
	if c := sum.Captures[0]; c.TimeBackwards != 1 || c.Packets != 57 || sum.Segments != 44 || len(c.Warnings) != 1 {
		t.Errorf("backwards-time.pcap: %d backwards, %d packets, %d segments, warnings %q", c.TimeBackwards, c.Packets, sum.Segments, c.Warnings)
	}
	sameViews(t, "backwards-time.pcap", flows, ref)

	hdr, recs := splitPcap(t, data)
	stepped := make([][]byte, len(recs))
	for i, r := range recs {
		stepped[i] = slices.Clone(r)
		if i >= 20 {
			binary.LittleEndian.PutUint32(stepped[i], binary.LittleEndian.Uint32(r)-3600)
		}
	}
	flows, sum = analyse(t, "stepped.pcap", joinPcap(hdr, stepped))
	c := sum.Captures[0]
	if c.TimeBackwards != 1 || sum.Segments != 44 || sum.Flows != 6 || c.LastTime-c.FirstTime < 3500e9 {
		t.Errorf("clock stepped back: %d backwards, %d segments, %d flows, span %d s", c.TimeBackwards, sum.Segments, sum.Flows, (c.LastTime-c.FirstTime)/1e9)
	}
	if len(c.Warnings) != 1 || c.Warnings[0] != "stepped.pcap: timestamps go backwards once (packet 21 is older than the packet before it)" {
		t.Errorf("clock stepped back: warnings %q", c.Warnings)
	}
	sameViews(t, "clock stepped back", flows, ref)
}

// TestHostileDuplicateFrames: the same frame recorded twice in a row (as
// tcpdump -i any does when a packet crosses two interfaces) is counted in
// the flow's Duplicates and changes nothing else: no retransmission, no
// label, the same states. multi-if.pcapng holds every packet of eth.pcap
// twice, on two interfaces (Ethernet and LINUX_SLL2): every copy is proved
// one. dup-frames.pcap is eth.pcap with every TCP frame doubled on the
// same Ethernet link, so only the IPv4 ID can prove a copy: the copies of
// IPv4 packets with an ID are duplicates; those of Linux's SYN-ACKs and
// RSTs (ID 0) and of IPv6 packets (no ID) are two packets as far as the
// capture can tell, as Wireshark sees every copy.
func TestHostileDuplicateFrames(t *testing.T) {
	ref, _ := analyse(t, "eth.pcap", readFixture(t, "eth.pcap"))
	byClient := map[string]*Flow{}
	for _, f := range ref {
		byClient[f.Client.String()] = f
	}

	flows, sum := analyse(t, "multi-if.pcapng", readFixture(t, "multi-if.pcapng"))
	if sum.Segments != 88 || len(flows) != len(ref) {
		t.Fatalf("multi-if.pcapng: %d segments, %d flows; want 88 and %d", sum.Segments, len(flows), len(ref))
	}
	if g, w := views(flows, true), views(ref, true); !slices.Equal(g, w) {
		t.Errorf("multi-if.pcapng: without the copies, the analysis differs from eth.pcap's:\n got\n%s\nwant\n%s", strings.Join(g, ""), strings.Join(w, ""))
	}
	for _, f := range flows {
		w := byClient[f.Client.String()]
		if w == nil {
			t.Fatalf("flow %v not in eth.pcap", f.Client)
		}
		if f.NPackets != 2*w.NPackets || f.Duplicates != w.NPackets {
			t.Errorf("multi-if.pcapng flow %v: %d packets, %d duplicates; want %d and %d", f.Client, f.NPackets, f.Duplicates, 2*w.NPackets, w.NPackets)
		}
		for side := range f.EP {
			g, e := &f.EP[side], &w.EP[side]
			if g.SYNRetransmits != e.SYNRetransmits || g.DataRetransmits != e.DataRetransmits || g.FINRetransmits != e.FINRetransmits {
				t.Errorf("flow %v %v: retransmits SYN %d data %d FIN %d; eth.pcap %d %d %d", f.Client, flowstate.Side(side),
					g.SYNRetransmits, g.DataRetransmits, g.FINRetransmits, e.SYNRetransmits, e.DataRetransmits, e.FINRetransmits)
			}
		}
		for i, p := range f.Packets {
			if p.Duplicate != (i%2 == 1) || p.Duplicate && p.Retransmit {
				t.Errorf("multi-if.pcapng flow %v packet %d: duplicate %v retransmit %v", f.Client, i, p.Duplicate, p.Retransmit)
			}
		}
		if f.Labels != w.Labels {
			t.Errorf("flow %v: labels %v, eth.pcap %v", f.Client, f.Labels, w.Labels)
		}
	}

	// dup-frames.pcap: which copies the IPv4 ID proves.
	r, err := NewCaptureReader("dup-frames.pcap", bytes.NewReader(readFixture(t, "dup-frames.pcap")), 0)
	if err != nil {
		t.Fatal(err)
	}
	provable := map[int64]bool{}
	var withID, without int
	for _, s := range readAll(t, r) {
		provable[s.Frame] = s.Src.Is4() && s.IPID != 0
		if provable[s.Frame] {
			withID++
		} else {
			without++
		}
	}
	if withID == 0 || without == 0 {
		t.Fatalf("dup-frames.pcap: %d frames with an IPv4 ID, %d without; the test needs both", withID, without)
	}
	flows, _ = analyse(t, "dup-frames.pcap", readFixture(t, "dup-frames.pcap"))
	for _, f := range flows {
		for i, p := range f.Packets {
			if want := i%2 == 1 && provable[p.Frame]; p.Duplicate != want {
				t.Errorf("dup-frames.pcap flow %v packet %d (frame %d, IPv4 ID proves a copy: %v): duplicate %v, want %v",
					f.Client, i, p.Frame, provable[p.Frame], p.Duplicate, want)
			}
		}
	}
}

// wrapConn builds a complete connection whose sequence numbers both wrap
// past 2^32 mid-connection, with pcapgo and gopacket (hand-made), and the
// relative seq/ack each packet must show. The client's ISN is 2^32-256,
// so its second 200-byte segment crosses zero; the server's is 2^32-16,
// so its first 1000-byte response does. With retransmit, the client's
// second segment is sent again 200 ms later.
func wrapConn(t *testing.T, retransmit bool) (data []byte, want []string) {
	t.Helper()
	const cISN, sISN = 0xffffff00, 0xfffffff0
	cli, srv := net4(10, 1, 0, 2), net4(10, 1, 0, 1)
	var b bytes.Buffer
	w := pcapgo.NewWriterNanos(&b)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	at := t0
	type seg struct {
		fromClient     bool
		flags          string
		relSeq, relAck uint32
		n              int
		dt             time.Duration
	}
	segs := []seg{
		{true, "S", 0, 0, 0, 0},
		{false, "SA", 0, 1, 0, time.Millisecond},
		{true, "A", 1, 1, 0, time.Millisecond},
		{true, "PA", 1, 1, 200, time.Millisecond},
		{false, "A", 1, 201, 0, time.Millisecond},
		{true, "PA", 201, 1, 200, time.Millisecond}, // crosses the client's wrap
		{false, "A", 1, 401, 0, time.Millisecond},
		{false, "PA", 1, 401, 1000, time.Millisecond}, // crosses the server's wrap
		{true, "A", 401, 1001, 0, time.Millisecond},
		{false, "PA", 1001, 401, 1000, time.Millisecond},
		{true, "A", 401, 2001, 0, time.Millisecond},
		{true, "FA", 401, 2001, 0, 10 * time.Millisecond},
		{false, "FA", 2001, 402, 0, time.Millisecond},
		{true, "A", 402, 2002, 0, time.Millisecond},
	}
	if retransmit {
		segs = slices.Insert(segs, 6, seg{true, "PA", 201, 1, 200, 200 * time.Millisecond})
	}
	for _, s := range segs {
		at = at.Add(s.dt)
		tcp := &layers.TCP{SrcPort: 40000, DstPort: 8080, Window: 502,
			SYN: strings.Contains(s.flags, "S"), ACK: strings.Contains(s.flags, "A"),
			PSH: strings.Contains(s.flags, "P"), FIN: strings.Contains(s.flags, "F")}
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: cli, DstIP: srv}
		tcp.Seq, tcp.Ack = cISN+s.relSeq, sISN+s.relAck
		dir := "client"
		if !s.fromClient {
			tcp.SrcPort, tcp.DstPort = 8080, 40000
			ip.SrcIP, ip.DstIP = srv, cli
			tcp.Seq, tcp.Ack = sISN+s.relSeq, cISN+s.relAck
			dir = "server"
		}
		if !tcp.ACK {
			tcp.Ack = 0
		}
		tcp.SetNetworkLayerForChecksum(ip)
		buf := gopacket.NewSerializeBuffer()
		err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
			ethHdr(layers.EthernetTypeIPv4), ip, tcp, gopacket.Payload(make([]byte, s.n)))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: at, CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
		ack := s.relAck
		if !tcp.ACK {
			ack = 0
		}
		want = append(want, fmt.Sprintf("%s seq %d ack %d len %d", dir, s.relSeq, ack, s.n))
	}
	return b.Bytes(), want
}

func net4(a, b, c, d byte) []byte { return []byte{a, b, c, d} }

// TestHostileSequenceWraparound: a connection whose sequence numbers wrap
// past 2^32 on both sides is one flow, closes cleanly, carries no label
// and no retransmission, and shows relative numbers that go on counting
// across the wrap. With one real retransmission across the wrap, exactly
// that one is counted (and labelled a timer retransmission and a loss).
func TestHostileSequenceWraparound(t *testing.T) {
	for _, rexmit := range []bool{false, true} {
		t.Run(fmt.Sprintf("retransmit=%v", rexmit), func(t *testing.T) {
			data, want := wrapConn(t, rexmit)
			flows, sum := analyse(t, "wrap.pcap", data)
			if len(flows) != 1 || sum.Segments != int64(len(want)) {
				t.Fatalf("%d flows, %d segments; want 1 and %d", len(flows), sum.Segments, len(want))
			}
			f := flows[0]
			// The retransmission comes 200 ms after the last progress:
			// the sender's timer (TCP_RTO_MIN), and so a loss.
			var labels flowstate.Labels
			if rexmit {
				labels = labels.Add(flowstate.LabelRTORetransmission).Add(flowstate.LabelLoss)
			}
			if f.Labels != labels || !f.Closed || f.EndReason != "closed" || f.MidStream ||
				f.EP[flowstate.Client].State != flowstate.StateTimeWait || f.EP[flowstate.Server].State != flowstate.StateClosed {
				t.Errorf("labels [%v], closed %v (%s), states %v/%v", f.Labels, f.Closed, f.EndReason,
					f.EP[flowstate.Client].State, f.EP[flowstate.Server].State)
			}
			if z := f.ZeekConnState(); z != "SF" {
				t.Errorf("Zeek conn_state %s (history %s), want SF", z, f.ZeekHistory())
			}
			wantRexmit := 0
			if rexmit {
				wantRexmit = 1
			}
			c, s := &f.EP[flowstate.Client], &f.EP[flowstate.Server]
			if c.DataRetransmits != wantRexmit || s.DataRetransmits != 0 || c.Bytes != int64(400+200*wantRexmit) || s.Bytes != 2000 {
				t.Errorf("client: %d retransmits, %d bytes; server: %d, %d", c.DataRetransmits, c.Bytes, s.DataRetransmits, s.Bytes)
			}
			rexmits := 0
			for i, p := range f.Packets {
				got := fmt.Sprintf("%v seq %d ack %d len %d", p.From, p.Seq, p.Ack, p.Len)
				if got != want[i] {
					t.Errorf("packet %d: %s, want %s", i, got, want[i])
				}
				if p.Retransmit {
					rexmits++
				}
			}
			if rexmits != wantRexmit {
				t.Errorf("%d packets marked retransmitted, want %d", rexmits, wantRexmit)
			}
		})
	}
}

// TestHostileIPOptionsAndExtensionHeaders: IPv4 options and IPv6
// extension headers (hop-by-hop, destination options, routing, fragment)
// change nothing in the analysis. (Segment by segment: the fixtures in
// TestFixturesSameSegments.)
func TestHostileIPOptionsAndExtensionHeaders(t *testing.T) {
	ref, _ := analyse(t, "eth.pcap", readFixture(t, "eth.pcap"))
	for _, name := range []string{"ipv4-options.pcap", "ipv6-ext.pcap"} {
		flows, sum := analyse(t, name, readFixture(t, name))
		if c := sum.Captures[0]; c.Undecodable != 0 || sum.Segments != 44 || len(c.Warnings) != 0 {
			t.Errorf("%s: %d undecodable, %d segments, warnings %q", name, c.Undecodable, sum.Segments, c.Warnings)
		}
		sameViews(t, name, flows, ref)
	}
}

// TestHostileBadChecksums: checksums are not verified (offload leaves
// them wrong in most captures), so a capture whose every TCP checksum,
// or every IPv4 header checksum, is wrong is analysed exactly like the
// original: no packet is dropped.
func TestHostileBadChecksums(t *testing.T) {
	data := readFixture(t, "eth.pcap")
	ref, refSum := analyse(t, "eth.pcap", data)
	hdr, recs := splitPcap(t, data)
	for _, which := range []string{"tcp", "ipv4"} {
		bad := make([][]byte, len(recs))
		n := 0
		for i, r := range recs {
			bad[i] = slices.Clone(r)
			frame := bad[i][16:]
			off, _, ok := tcpHeaderAt(frame)
			if !ok {
				continue
			}
			switch {
			case which == "tcp":
				frame[off+16] ^= 0xa5
				frame[off+17] ^= 0x5a
			case binary.BigEndian.Uint16(frame[12:]) == 0x0800:
				frame[24] ^= 0xff // IPv4 header checksum
			default:
				continue
			}
			n++
		}
		if n == 0 {
			t.Fatalf("%s: no checksum corrupted", which)
		}
		flows, sum := analyse(t, "bad-"+which+"-checksums.pcap", joinPcap(hdr, bad))
		c, rc := sum.Captures[0], refSum.Captures[0]
		if c.Packets != rc.Packets || c.TCPPackets != rc.TCPPackets || c.Undecodable != rc.Undecodable || sum.Segments != refSum.Segments {
			t.Errorf("%s checksums (%d corrupted): %d packets, %d TCP, %d undecodable; want %d, %d, %d",
				which, n, c.Packets, c.TCPPackets, c.Undecodable, rc.Packets, rc.TCPPackets, rc.Undecodable)
		}
		sameViews(t, "bad "+which+" checksums", flows, ref)
	}
}

// synFlood writes a classic pcap of n SYNs from n distinct random
// sources (IPv4 address and port) to 192.0.2.1:80, 50 µs apart: a
// hand-made flood, each frame a copy of one template with its source and
// checksums patched.
func synFlood(n int) []byte {
	frame := make([]byte, 14+20+20)
	copy(frame[0:], []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00})
	ip := frame[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(ip[2:], 40)
	copy(ip[16:], []byte{192, 0, 2, 1})
	tcp := frame[34:]
	binary.BigEndian.PutUint16(tcp[2:], 80)
	tcp[12], tcp[13] = 5<<4, 0x02 // data offset 5, SYN
	binary.BigEndian.PutUint16(tcp[14:], 64240)

	out := make([]byte, 24, 24+n*(16+len(frame)))
	binary.LittleEndian.PutUint32(out[0:], magicMicro)
	binary.LittleEndian.PutUint16(out[4:], 2)
	binary.LittleEndian.PutUint16(out[6:], 4)
	binary.LittleEndian.PutUint32(out[16:], 65535)
	binary.LittleEndian.PutUint32(out[20:], 1)
	rng := rand.New(rand.NewPCG(2, 3))
	seen := make(map[uint64]bool, n)
	start := t0.UnixMicro()
	var rec [16]byte
	for i := 0; i < n; {
		src, port := rng.Uint32(), uint16(1024+rng.IntN(64512))
		if k := uint64(src)<<16 | uint64(port); seen[k] || src>>24 == 0 || src>>24 >= 224 {
			continue
		} else {
			seen[k] = true
		}
		binary.BigEndian.PutUint32(ip[12:], src)
		binary.BigEndian.PutUint16(ip[4:], uint16(i))
		binary.BigEndian.PutUint16(tcp[0:], port)
		binary.BigEndian.PutUint32(tcp[4:], rng.Uint32())
		ip[10], ip[11] = 0, 0
		binary.BigEndian.PutUint16(ip[10:], checksum(ip, 0))
		tcp[16], tcp[17] = 0, 0
		pseudo := uint32(6 + 20)
		for j := 12; j < 20; j += 2 {
			pseudo += uint32(binary.BigEndian.Uint16(ip[j:]))
		}
		binary.BigEndian.PutUint16(tcp[16:], checksum(tcp, pseudo))
		us := start + int64(i)*50
		binary.LittleEndian.PutUint32(rec[0:], uint32(us/1e6))
		binary.LittleEndian.PutUint32(rec[4:], uint32(us%1e6))
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(frame)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(frame)))
		out = append(out, rec[:]...)
		out = append(out, frame...)
		i++
	}
	return out
}

// checksum is the Internet checksum of b, starting from sum.
func checksum(b []byte, sum uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// TestHostileSynFlood: 20,000 SYNs from distinct random sources to one
// port, never answered, within one second: 20,000 flows, each labelled
// syn-unanswered, all at the one listener, all half-open at once.
func TestHostileSynFlood(t *testing.T) {
	const n = 20000
	start := time.Now()
	data := synFlood(n)
	var flows, unanswered int
	r := mustReader(t, "flood.pcap", data)
	sum, err := Run(context.Background(), []*CaptureReader{r}, Options{}, func(f *Flow) error {
		flows++
		if f.Labels == 0|1<<flowstate.LabelSynUnanswered && f.NPackets == 1 && f.Server.String() == "192.0.2.1:80" {
			unanswered++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if flows != n || unanswered != n || sum.Flows != n || sum.Segments != n {
		t.Errorf("%d flows (%d with only syn-unanswered, to 192.0.2.1:80), Summary %d flows %d segments; want %d", flows, unanswered, sum.Flows, sum.Segments, n)
	}
	if sum.LabelFlows[flowstate.LabelSynUnanswered] != n || len(sum.LabelFlows) != 1 {
		t.Errorf("label counts %v", sum.LabelFlows)
	}
	if len(sum.Listeners) != 1 || sum.Listeners[0].Server.String() != "192.0.2.1:80" || sum.Listeners[0].Flows != n ||
		sum.Listeners[0].LabelFlows[flowstate.LabelSynUnanswered] != n {
		t.Errorf("%d listeners, first %+v", len(sum.Listeners), sum.Listeners)
	}
	if sum.MaxLive != n {
		t.Errorf("MaxLive %d, want %d: all half-open at once", sum.MaxLive, n)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Logf("the flood took %v (want under 2 s on an idle machine)", d)
	}
}

// runHostile runs the analysis without recording over one capture given
// as bytes and returns the summary and the peak heap in use meanwhile.
func runHostile(t *testing.T, name string, data []byte) (*Summary, uint64) {
	t.Helper()
	var sum *Summary
	peak := peakHeap(func() {
		r, err := NewCaptureReader(name, bytes.NewReader(data), 0)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sum, err = Run(context.Background(), []*CaptureReader{r}, Options{}, func(*Flow) error { return nil })
		if err != nil {
			t.Fatalf("%s: Run: %v", name, err)
		}
	})
	return sum, peak
}

// TestHostileNameResolutionFlood: a pcapng whose name resolution blocks
// hold 256 MB of records (a 1 MB gzip file) costs the reader no memory for
// them: they are counted and skipped, and the 100 connections among them
// are analysed. (pcapgo's reader kept every record until the section
// ended: the 3 MB file took 2.9 GB.)
func TestHostileNameResolutionFlood(t *testing.T) {
	var gz bytes.Buffer
	genNRBFlood(&gz, 4000, 64, 1000)
	sum, peak := runHostile(t, "nrb.pcapng.gz", gz.Bytes())
	t.Logf("%d-byte file, peak heap %.1f MiB", gz.Len(), float64(peak)/(1<<20))
	c := sum.Captures[0]
	if c.OtherBlocks != 4000 || sum.Flows != 100 || c.TCPPackets != c.Packets || len(c.Warnings) != 0 {
		t.Errorf("%d other blocks, %d flows, %d of %d packets TCP, warnings %q; want 4000 blocks, 100 flows, all TCP, none",
			c.OtherBlocks, sum.Flows, c.TCPPackets, c.Packets, c.Warnings)
	}
	if peak > 16<<20 {
		t.Errorf("peak heap %d MiB reading %d MB of name records, want under 16 MiB", peak>>20, 4000*64*1000/1000000)
	}
}

// TestHostileInterfaceFlood: 1000 pcapng interfaces, each with a 65 KB
// name, a description and two comments as long: the capture lists the
// first 64 with names cut to 64 bytes and counts the rest; their packets
// are all analysed.
func TestHostileInterfaceFlood(t *testing.T) {
	var gz bytes.Buffer
	genInterfaces(&gz, 1000)
	sum, peak := runHostile(t, "ifaces.pcapng.gz", gz.Bytes())
	t.Logf("%d-byte file, peak heap %.1f MiB", gz.Len(), float64(peak)/(1<<20))
	c := sum.Captures[0]
	var listed int64
	for _, ifc := range c.Interfaces {
		listed += ifc.Packets
		if len(ifc.Name) > maxNameLen || !strings.HasPrefix(ifc.Name, "if"+strconv.Itoa(ifc.ID)+"-") {
			t.Fatalf("interface %d: name of %d bytes %.20q...", ifc.ID, len(ifc.Name), ifc.Name)
		}
	}
	if len(c.Interfaces) != maxInterfaces || c.MoreInterfaces != 1000-maxInterfaces || listed+c.MoreInterfacesPackets != c.Packets ||
		sum.Flows != 200 || c.TCPPackets != c.Packets {
		t.Errorf("%d interfaces listed, %d more, packets %d + %d of %d; %d flows", len(c.Interfaces), c.MoreInterfaces,
			listed, c.MoreInterfacesPackets, c.Packets, sum.Flows)
	}
	want := "ifaces.pcapng.gz: 936 interfaces beyond the first 64 are not listed (their " + strconv.FormatInt(c.MoreInterfacesPackets, 10) + " packets are in the totals)"
	if strings.Join(c.Warnings, "\n") != want {
		t.Errorf("warnings %q, want %q", c.Warnings, want)
	}
	if peak > 16<<20 {
		t.Errorf("peak heap %d MiB, want under 16 MiB", peak>>20)
	}
}

// TestHostileCorruptTimestamp: one bit flipped in the seconds of one
// record of the ghost lab capture (2^28 s: eight and a half years) leaves
// the analysis as it was: the same flows with the same IDs, labels,
// states and packets, no negative duration, and a warning naming the
// frame. (Before, such a flip split 12 flows into 19 and added a false
// synack-retries-exhausted.)
func TestHostileCorruptTimestamp(t *testing.T) {
	b, err := os.ReadFile("../testdata/lab/ghost/server.pcap")
	if err != nil {
		t.Skip(err)
	}
	ref, _ := analyse(t, "server.pcap", b)
	hdr, recs := splitPcap(t, b)
	for _, k := range []int{0, 5, len(recs) / 2, len(recs) - 2} {
		recs := slices.Clone(recs)
		r := slices.Clone(recs[k])
		binary.LittleEndian.PutUint32(r, binary.LittleEndian.Uint32(r)^1<<28)
		recs[k] = r
		flows, sum := analyse(t, "flipped.pcap", joinPcap(hdr, recs))
		if len(flows) != len(ref) {
			t.Fatalf("record %d flipped: %d flows, want %d", k+1, len(flows), len(ref))
		}
		for i, f := range flows {
			if f.ID != ref[i].ID || f.Client != ref[i].Client || f.Server != ref[i].Server || flowView(f, false) != flowView(ref[i], false) {
				t.Errorf("record %d flipped: flow %d is\n%s(ID %d), want\n%s(ID %d)", k+1, i, flowView(f, false), f.ID, flowView(ref[i], false), ref[i].ID)
			}
			if f.LastTime < f.FirstTime || f.FinishTime < f.LastTime {
				t.Errorf("record %d flipped: flow %d from %d to %d, finished %d", k+1, f.ID, f.FirstTime, f.LastTime, f.FinishTime)
			}
		}
		c := sum.Captures[0]
		want := fmt.Sprintf("flipped.pcap: packet %d has a corrupt timestamp (", k+1)
		if c.CorruptTimes != 1 || len(c.Warnings) != 1 || !strings.HasPrefix(c.Warnings[0], want) {
			t.Errorf("record %d flipped: %d corrupt, warnings %q; want one starting %q", k+1, c.CorruptTimes, c.Warnings, want)
		}
	}
}

// TestHostileTimeGap: a capture resumed 20 minutes later (every record
// after a point moved forward) is a gap, not corruption: no warning, and
// the flows open across the gap are finished by their timeouts before it.
func TestHostileTimeGap(t *testing.T) {
	b, err := os.ReadFile("../testdata/lab/ghost/server.pcap")
	if err != nil {
		t.Skip(err)
	}
	ref, _ := analyse(t, "server.pcap", b)
	hdr, recs := splitPcap(t, b)
	k := len(recs) / 2
	for i := k; i < len(recs); i++ {
		r := slices.Clone(recs[i])
		binary.LittleEndian.PutUint32(r, binary.LittleEndian.Uint32(r)+1200)
		recs[i] = r
	}
	flows, sum := analyse(t, "gap.pcap", joinPcap(hdr, recs))
	if c := sum.Captures[0]; c.CorruptTimes != 0 || len(c.Warnings) != 0 {
		t.Errorf("%d corrupt, warnings %q", c.CorruptTimes, c.Warnings)
	}
	if len(flows) <= len(ref) {
		t.Errorf("%d flows, want more than the %d without the gap: the flows open at the gap time out", len(flows), len(ref))
	}
}

// TestHostileEpochZero: the ghost lab capture moved back to the Unix
// epoch, its first packet at time 0 exactly (as a rewritten capture may
// be), gives the same analysis: 0 is a time, not "not seen". The run's
// origin is 0 and known.
func TestHostileEpochZero(t *testing.T) {
	b, err := os.ReadFile("../testdata/lab/ghost/server.pcap")
	if err != nil {
		t.Skip(err)
	}
	ref, refSum := analyse(t, "server.pcap", b)
	hdr, recs := splitPcap(t, b)
	sec0, us0 := binary.LittleEndian.Uint32(recs[0]), binary.LittleEndian.Uint32(recs[0][4:])
	shift := int64(sec0)*1e9 + int64(us0)*1e3
	for i, r := range recs {
		r = slices.Clone(r)
		ns := int64(binary.LittleEndian.Uint32(r))*1e9 + int64(binary.LittleEndian.Uint32(r[4:]))*1e3 - shift
		binary.LittleEndian.PutUint32(r, uint32(ns/1e9))
		binary.LittleEndian.PutUint32(r[4:], uint32(ns%1e9/1e3))
		recs[i] = r
	}
	flows, sum := analyse(t, "epoch.pcap", joinPcap(hdr, recs))
	if !sum.HasTime || sum.Origin != 0 || sum.End != refSum.End-shift {
		t.Errorf("origin %d (known %v), end %d; want 0, known, %d", sum.Origin, sum.HasTime, sum.End, refSum.End-shift)
	}
	sameViews(t, "epoch.pcap", flows, ref)
	for i, f := range flows {
		r := ref[i]
		if f.ID != r.ID || f.FirstTime != r.FirstTime-shift || f.FinishTime != r.FinishTime-shift {
			t.Errorf("flow %d: first %d, finish %d; want %d, %d", f.ID, f.FirstTime, f.FinishTime, r.FirstTime-shift, r.FinishTime-shift)
		}
	}
	if len(sum.Listeners) != len(refSum.Listeners) {
		t.Fatalf("%d listeners, want %d", len(sum.Listeners), len(refSum.Listeners))
	}
	t.Run("flowstate milestones", func(t *testing.T) {
		// flowstate keeps SynTime, SynAckTime, HandshakeAckTime and the
		// handshake's RTT marks as 0 for "not seen", so the flow whose SYN
		// is at time 0 loses its connect time; remove this skip once they
		// carry a seen flag.
		t.Skip("flowstate's milestone times use 0 for not seen (known, flowstate's to fix)")
		testEpochZeroListeners(t, sum, refSum)
	})
}

func testEpochZeroListeners(t *testing.T, sum, refSum *Summary) {
	for i, l := range sum.Listeners {
		rl := refSum.Listeners[i]
		if !slices.Equal(l.ConnectTimes, rl.ConnectTimes) || len(l.Episodes) != len(rl.Episodes) || !slices.Equal(l.SynAckRetransmitSchedule, rl.SynAckRetransmitSchedule) {
			t.Errorf("listener %v: connect time %+v, %d episodes; want %+v, %d", l.Server, l.ConnectTimes, len(l.Episodes), rl.ConnectTimes, len(rl.Episodes))
		}
	}
}
