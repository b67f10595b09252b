package analyze

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// What a pcapng capture says of each frame (hand-built with pcapgo's
// writer): the direction bits of epb_flags, and the interface. An IPv6
// segment written twice, outbound then inbound (loopback), is one packet
// captured twice; written twice without flags on one interface, it is
// two packets, since IPv6 has no ID to prove a copy.
func TestPcapngDirectionAndDuplicates(t *testing.T) {
	src, dst := net.ParseIP("fd00::1"), net.ParseIP("fd00::2")
	frame := func(flags byte, seq uint32) []byte {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: src, DstIP: dst}
		tcp := &layers.TCP{SrcPort: 40000, DstPort: 80, Seq: seq, Ack: 1, Window: 500, ACK: true, PSH: flags&1 != 0}
		tcp.SetNetworkLayerForChecksum(ip)
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
			ethHdr(layers.EthernetTypeIPv6), ip, tcp, gopacket.Payload([]byte("hello"))); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	build := func(dirs []pcapgo.NgEpbFlag) []byte {
		at := time.Unix(1_700_000_000, 0)
		frames := make([]dirFrame, len(dirs))
		for i, d := range dirs {
			frames[i] = dirFrame{at.Add(time.Duration(i) * 10 * time.Microsecond), frame(1, 1000), d}
		}
		return pcapngWithDirections(t, "lo", frames)
	}
	for _, tc := range []struct {
		name    string
		dirs    []pcapgo.NgEpbFlag
		want    []flowstate.Dir
		wantDup bool
	}{
		{"out then in", []pcapgo.NgEpbFlag{pcapgo.NgEpbFlagDirectionOutbound, pcapgo.NgEpbFlagDirectionInbound},
			[]flowstate.Dir{flowstate.DirOutgoing, flowstate.DirIncoming}, true},
		{"no flags", []pcapgo.NgEpbFlag{pcapgo.NgEpbFlagDirectionUnknown, pcapgo.NgEpbFlagDirectionUnknown},
			[]flowstate.Dir{flowstate.DirUnknown, flowstate.DirUnknown}, false},
		{"in, in", []pcapgo.NgEpbFlag{pcapgo.NgEpbFlagDirectionInbound, pcapgo.NgEpbFlagDirectionInbound},
			[]flowstate.Dir{flowstate.DirIncoming, flowstate.DirIncoming}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := build(tc.dirs)
			c, err := NewCaptureReader("x.pcapng", bytes.NewReader(data), 0)
			if err != nil {
				t.Fatal(err)
			}
			segs := readAll(t, c)
			if len(segs) != len(tc.want) {
				t.Fatalf("%d segments", len(segs))
			}
			for i, s := range segs {
				if s.Dir != tc.want[i] || s.Iface != 1 || s.IPID != 0 {
					t.Errorf("segment %d: direction %v, interface %d, IP ID %d; want %v, 1, 0", i, s.Dir, s.Iface, s.IPID, tc.want[i])
				}
			}
			r, err := NewCaptureReader("x.pcapng", bytes.NewReader(data), 0)
			if err != nil {
				t.Fatal(err)
			}
			var dups int
			if _, err := Run(context.Background(), []*CaptureReader{r}, Options{Record: true}, func(f *Flow) error {
				dups += f.Duplicates
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if (dups == 1) != tc.wantDup {
				t.Errorf("%d duplicates, want a copy: %v", dups, tc.wantDup)
			}
		})
	}
}

// dirFrame is one frame of a hand-built pcapng: when, its bytes, and the
// direction its EPB flags carry (NgEpbFlagDirectionUnknown: no flags).
type dirFrame struct {
	at   time.Time
	data []byte
	dir  pcapgo.NgEpbFlag
}

// pcapngWithDirections writes frames as a pcapng of one Ethernet
// interface named ifName, each EPB with its direction flags.
func pcapngWithDirections(t *testing.T, ifName string, frames []dirFrame) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&b, pcapgo.NgInterface{Name: ifName, LinkType: layers.LinkTypeEthernet, SnapLength: 65535}, pcapgo.NgWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		ci := gopacket.CaptureInfo{Timestamp: f.at, CaptureLength: len(f.data), Length: len(f.data)}
		opts := pcapgo.NgPacketOptions{}
		if f.dir != pcapgo.NgEpbFlagDirectionUnknown {
			opts.Flags = &pcapgo.NgEpbFlags{Direction: f.dir}
		}
		if err := w.WritePacketWithOptions(ci, f.data, opts); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
