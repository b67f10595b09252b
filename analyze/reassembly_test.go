package analyze

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// Fragments here are cut by hand from packets built with gopacket; they
// are not captures of anything (testdata/formats/ip-fragments.pcap is
// recorded traffic fragmented by cmd/pcaprewrite, checked against tshark).

// piece is one fragment of a datagram's payload: [off, off+n).
type piece struct{ off, n int }

// split cuts n bytes into pieces of the given sizes (the last takes the
// rest).
func split(n int, sizes ...int) []piece {
	var ps []piece
	off := 0
	for _, s := range sizes {
		if off+s >= n {
			break
		}
		ps = append(ps, piece{off, s})
		off += s
	}
	return append(ps, piece{off, n - off})
}

// frag4 is the IPv4 fragment of ip (an Ethernet/IPv4 frame without
// options) covering p; last says MF is clear.
func frag4(ip []byte, p piece, last bool) []byte {
	h := append([]byte(nil), ip[:14+20]...)
	binary.BigEndian.PutUint16(h[14+2:], uint16(20+p.n))
	ff := uint16(p.off / 8)
	if !last {
		ff |= 0x2000
	}
	binary.BigEndian.PutUint16(h[14+6:], ff)
	return cat(h, ip[14+20+p.off:14+20+p.off+p.n])
}

// frag6 is the IPv6 fragment of ip (an Ethernet/IPv6 frame without
// extension headers) covering p.
func frag6(ip []byte, p piece, last bool, id uint32) []byte {
	h := append([]byte(nil), ip[:14+40]...)
	binary.BigEndian.PutUint16(h[14+4:], uint16(8+p.n))
	h[14+6] = protoFragment
	fo := uint16(p.off/8) << 3
	if !last {
		fo |= 1
	}
	return cat(h, []byte{ip[14+6], 0}, be16(fo), be32(id), ip[14+40+p.off:14+40+p.off+p.n])
}

// fragments cuts a frame into fragments of the given payload sizes.
func fragments(frame []byte, v6 bool, sizes ...int) [][]byte {
	hl := 14 + 20
	if v6 {
		hl = 14 + 40
	}
	ps := split(len(frame)-hl, sizes...)
	var out [][]byte
	for i, p := range ps {
		if v6 {
			out = append(out, frag6(frame, p, i == len(ps)-1, 0xabcd))
		} else {
			out = append(out, frag4(frame, p, i == len(ps)-1))
		}
	}
	return out
}

// feed decodes frames in order with one decoder, at the given times (1 ms
// apart when nil), and returns every result and the last segment.
func feed(d *decoder, frames [][]byte, times []int64) ([]result, flowstate.Segment, bool) {
	var (
		seg  flowstate.Segment
		res  []result
		last bool
	)
	for i, f := range frames {
		d.now = int64(i) * 1e6
		if times != nil {
			d.now = times[i]
		}
		var s flowstate.Segment
		r, cut := d.decode(f, layers.LinkTypeEthernet, &s)
		res = append(res, r)
		if r == resTCP {
			seg, last = s, cut
		}
	}
	return res, seg, last
}

func synFrame(t testing.TB, v6 bool, payload int) []byte {
	data := make([]byte, payload)
	for i := range data {
		data[i] = byte(i)
	}
	if v6 {
		return serialize(t, ethHdr(layers.EthernetTypeIPv6), ip6Hdr(layers.IPProtocolTCP), synTCP(), gopacket.Payload(data))
	}
	return serialize(t, ethHdr(layers.EthernetTypeIPv4), ip4Hdr(), synTCP(), gopacket.Payload(data))
}

func permutations(n int) [][]int {
	if n == 1 {
		return [][]int{{0}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int{}, p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}

// TestReassembly: every order of the fragments gives, at the last one,
// the segment the whole packet gives; the others are held.
func TestReassembly(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		for _, sizes := range [][]int{{8, 24}, {16, 48}, {40, 8, 8}, {24, 24, 24, 24}} {
			whole := synFrame(t, v6, 100)
			want, res, _ := decodeOne(t, whole, layers.LinkTypeEthernet)
			if res != resTCP {
				t.Fatal(res)
			}
			frags := fragments(whole, v6, sizes...)
			for _, perm := range permutations(len(frags)) {
				t.Run(fmt.Sprintf("v6=%v sizes=%v order=%v", v6, sizes, perm), func(t *testing.T) {
					d := newDecoder()
					in := make([][]byte, len(perm))
					for i, j := range perm {
						in[i] = frags[j]
					}
					results, seg, cut := feed(d, in, nil)
					for i, r := range results {
						want := resFragment
						if i == len(results)-1 {
							want = resTCP
						}
						if r != want {
							t.Fatalf("fragment %d: %v, want %v", i, r, want)
						}
					}
					if seg != want || cut {
						t.Errorf("reassembled %+v (cut %v)\n want %+v", seg, cut, want)
					}
					if d.fragState != fragReassembled || d.fragmentsIncomplete() != 0 {
						t.Errorf("state %v, %d incomplete", d.fragState, d.fragmentsIncomplete())
					}
				})
			}
		}
	}
}

func TestReassemblyEdges(t *testing.T) {
	whole := synFrame(t, false, 100)
	want, _, _ := decodeOne(t, whole, layers.LinkTypeEthernet)
	f := fragments(whole, false, 24, 48)
	dup := func(b []byte) []byte { return append([]byte(nil), b...) }

	t.Run("duplicates and overlaps", func(t *testing.T) {
		over := frag4(whole, piece{16, 32}, false) // overlaps the first two
		results, seg, _ := feed(newDecoder(), [][]byte{f[0], dup(f[0]), over, f[1], f[2]}, nil)
		if fmt.Sprint(results) != "[IP fragment IP fragment IP fragment IP fragment TCP]" || seg != want {
			t.Errorf("results %v, segment %+v", results, seg)
		}
	})
	t.Run("a copy of the last fragment after completion", func(t *testing.T) {
		d := newDecoder()
		results, _, _ := feed(d, [][]byte{f[0], f[1], f[2], dup(f[2])}, nil)
		if fmt.Sprint(results) != "[IP fragment IP fragment TCP IP fragment]" || d.fragmentsIncomplete() != 1 {
			t.Errorf("results %v, %d incomplete", results, d.fragmentsIncomplete())
		}
	})
	t.Run("a fragment missing", func(t *testing.T) {
		d := newDecoder()
		results, _, _ := feed(d, [][]byte{f[0], f[2]}, nil)
		if fmt.Sprint(results) != "[IP fragment IP fragment]" || d.fragmentsIncomplete() != 1 {
			t.Errorf("results %v, %d incomplete", results, d.fragmentsIncomplete())
		}
	})
	t.Run("timeout", func(t *testing.T) {
		// 31 s between the fragments: past Linux's 30 s, the first is
		// given up, and the rest never completes.
		d := newDecoder()
		results, _, _ := feed(d, [][]byte{f[0], f[1], f[2]}, []int64{0, 31e9, 31e9})
		if fmt.Sprint(results) != "[IP fragment IP fragment IP fragment]" || d.fragmentsIncomplete() != 2 {
			t.Errorf("results %v, %d incomplete", results, d.fragmentsIncomplete())
		}
		// Within it, the same fragments complete.
		if results, seg, _ := feed(newDecoder(), [][]byte{f[0], f[1], f[2]}, []int64{0, 29e9, 29e9}); results[2] != resTCP || seg != want {
			t.Errorf("within the timeout: results %v", results)
		}
	})
	t.Run("two last fragments that disagree", func(t *testing.T) {
		d := newDecoder()
		short := frag4(whole, piece{24, 16}, true)
		results, _, _ := feed(d, [][]byte{f[0], short, f[2], f[1]}, nil)
		if results[3] == resTCP || d.fragmentsIncomplete() == 0 {
			t.Errorf("results %v, %d incomplete", results, d.fragmentsIncomplete())
		}
	})
	t.Run("a later fragment cut by the snaplen", func(t *testing.T) {
		results, seg, cut := feed(newDecoder(), [][]byte{f[0], f[1], f[2][:len(f[2])-10]}, nil)
		if results[2] != resTCP || seg != want || !cut {
			t.Errorf("results %v cut %v segment %+v", results, cut, seg)
		}
	})
	t.Run("the first fragment cut inside the TCP header", func(t *testing.T) {
		results, _, _ := feed(newDecoder(), [][]byte{f[0][:14+20+12], f[1], f[2]}, nil)
		if results[2] != resTruncatedTCP {
			t.Errorf("results %v", results)
		}
	})
	t.Run("same id, other protocol", func(t *testing.T) {
		other := dup(f[2])
		other[14+9] = 17 // the same identification, UDP: another datagram
		results, _, _ := feed(newDecoder(), [][]byte{f[0], f[1], other}, nil)
		if results[2] != resFragment {
			t.Errorf("results %v", results)
		}
	})
	t.Run("past 65535 bytes", func(t *testing.T) {
		big := dup(f[2])
		binary.BigEndian.PutUint16(big[14+6:], 8190) // offset 65520, 36 more bytes
		if results, _, _ := feed(newDecoder(), [][]byte{big}, nil); results[0] != resUndecodable {
			t.Errorf("results %v", results)
		}
	})
	t.Run("fragmented UDP", func(t *testing.T) {
		ip := ip4Hdr()
		ip.Protocol = layers.IPProtocolUDP
		udp := serialize(t, ethHdr(layers.EthernetTypeIPv4), ip, &layers.UDP{SrcPort: 5, DstPort: 53}, gopacket.Payload(make([]byte, 60)))
		d := newDecoder()
		results, _, _ := feed(d, fragments(udp, false, 32), nil)
		if fmt.Sprint(results) != "[IP fragment IP fragment]" || d.fragmentsIncomplete() != 0 {
			t.Errorf("results %v, %d incomplete", results, d.fragmentsIncomplete())
		}
	})
	t.Run("IPv6 with a Destination Options header after the Fragment header", func(t *testing.T) {
		tcp := serialize(t, synTCP(), gopacket.Payload(make([]byte, 50)))
		pkt := serialize(t, ethHdr(layers.EthernetTypeIPv6), ip6Hdr(layers.IPProtocolIPv6Destination), gopacket.Payload(cat([]byte{6, 0, 1, 4, 0, 0, 0, 0}, tcp)))
		want, _, _ := decodeOne(t, pkt, layers.LinkTypeEthernet)
		results, seg, _ := feed(newDecoder(), fragments(pkt, true, 32, 32), nil)
		if results[len(results)-1] != resTCP || seg != want {
			t.Errorf("results %v segment %+v\nwant %+v", results, seg, want)
		}
	})
	t.Run("a tunnel inside a fragmented datagram", func(t *testing.T) {
		inner := synFrame(t, true, 40)
		pkt := outer4(47, cat(be16(0), be16(0x6558), inner)) // GRE, Ethernet inside
		want, _, _ := decodeOne(t, inner, layers.LinkTypeEthernet)
		results, seg, _ := feed(newDecoder(), fragments(pkt, false, 48, 48), nil)
		if results[len(results)-1] != resTCP || seg != want {
			t.Errorf("results %v segment %+v\nwant %+v", results, seg, want)
		}
	})
	t.Run("fragments inside a tunnel", func(t *testing.T) {
		var in [][]byte
		for _, fr := range fragments(synFrame(t, false, 100), false, 32, 32) {
			in = append(in, outer4(47, cat(be16(0), be16(0x6558), fr)))
		}
		results, seg, _ := feed(newDecoder(), in, nil)
		if results[len(results)-1] != resTCP || seg != want {
			t.Errorf("results %v segment %+v", results, seg)
		}
	})
	t.Run("a fragmented datagram inside a reassembled one", func(t *testing.T) {
		inner := fragments(synFrame(t, false, 100), false, 32)[0]
		pkt := outer4(47, cat(be16(0), be16(0x6558), inner))
		if results, _, _ := feed(newDecoder(), fragments(pkt, false, 48), nil); results[1] != resFragment {
			t.Errorf("results %v", results)
		}
	})
}

// TestReassemblyBounded: past fragSlots datagrams in reassembly at once,
// the oldest are given up; the table never grows.
func TestReassemblyBounded(t *testing.T) {
	d := newDecoder()
	whole := synFrame(t, false, 100)
	first := frag4(whole, piece{0, 24}, false)
	var seg flowstate.Segment
	n := fragSlots + 100
	for i := range n {
		f := append([]byte(nil), first...)
		binary.BigEndian.PutUint16(f[14+4:], uint16(i)) // identification
		d.now = int64(i)
		if res, _ := d.decode(f, layers.LinkTypeEthernet, &seg); res != resFragment {
			t.Fatalf("fragment %d: %v", i, res)
		}
	}
	if got := d.frags.pending(); got != fragSlots {
		t.Errorf("%d pending, want %d", got, fragSlots)
	}
	if got := d.fragmentsIncomplete(); got != int64(n) {
		t.Errorf("%d incomplete, want %d", got, n)
	}
	// The newest ones are still there and complete.
	f := frag4(whole, piece{24, len(whole) - 14 - 20 - 24}, true)
	binary.BigEndian.PutUint16(f[14+4:], uint16(n-1))
	if res, _ := d.decode(f, layers.LinkTypeEthernet, &seg); res != resTCP {
		t.Errorf("the newest datagram: %v", res)
	}
}

// TestReassemblyDoesNotAllocate: once the table exists, fragments cost no
// allocation either.
func TestReassemblyDoesNotAllocate(t *testing.T) {
	frags := fragments(synFrame(t, true, 100), true, 48)
	d := newDecoder()
	var seg flowstate.Segment
	feed(d, frags, nil)
	if n := testing.AllocsPerRun(1000, func() {
		for _, f := range frags {
			d.decode(f, layers.LinkTypeEthernet, &seg)
		}
	}); n != 0 {
		t.Errorf("%v allocations per datagram", n)
	}
}

// FuzzReassembly cuts a TCP packet into fragments (sizes and order from
// the input) and checks that the last one gives the whole packet's
// segment, whatever the order, and every other one is held.
func FuzzReassembly(f *testing.F) {
	f.Add(false, uint16(300), []byte{2, 3, 1}, uint64(0))
	f.Add(true, uint16(80), []byte{1, 1, 1, 1}, uint64(12345))
	f.Fuzz(func(t *testing.T, v6 bool, size uint16, sizes []byte, order uint64) {
		whole := synFrame(t, v6, int(size%1400))
		want, _, _ := decodeOne(t, whole, layers.LinkTypeEthernet)
		var s []int
		// At most 2*fragRanges fragments: however they arrive, no more
		// than fragRanges separate ranges.
		for _, b := range sizes[:min(len(sizes), 2*fragRanges-1)] {
			s = append(s, 8*(1+int(b%16)))
		}
		frags := fragments(whole, v6, s...)
		// Shuffle by order, deterministically.
		for i := len(frags) - 1; i > 0; i-- {
			j := int(order % uint64(i+1))
			order = order/uint64(i+1) + order%7
			frags[i], frags[j] = frags[j], frags[i]
		}
		d := newDecoder()
		results, seg, _ := feed(d, frags, nil)
		for i, r := range results {
			if (r == resTCP) != (i == len(results)-1) || r != resTCP && r != resFragment {
				t.Fatalf("%d fragments: results %v", len(frags), results)
			}
		}
		if seg != want {
			t.Fatalf("reassembled %+v\n want %+v", seg, want)
		}
	})
}

func TestFragEntryMarkCaptured(t *testing.T) {
	for _, tc := range []struct {
		marks [][2]int
		want  int
	}{
		{nil, 0},
		{[][2]int{{0, 64}}, 64},
		{[][2]int{{0, 63}}, 63},
		{[][2]int{{0, 60}, {60, 70}}, 70},
		{[][2]int{{0, 16}, {24, 40}}, 16},
		{[][2]int{{24, 40}, {0, 24}}, 40},
		{[][2]int{{128, 256}, {0, 128}}, 256},
		{[][2]int{{1, 256}}, 0},
	} {
		var e fragEntry
		for _, m := range tc.marks {
			e.mark(m[0], m[1])
		}
		if got := e.captured(); got != tc.want {
			t.Errorf("marks %v: captured %d, want %d", tc.marks, got, tc.want)
		}
	}
}
