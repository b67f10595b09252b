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
)

// A pcapng capture at a server whose epb_flags mark its own packets
// outbound and the client's inbound (hand-built: no tool here writes
// epb_flags on Linux; dumpcap 4.0.17 leaves them out), with a shaper
// holding the SYN-ACK 15 ms before the capture: handshake timing alone
// calls the capture between, the direction bits the server. Without the
// flags the same packets keep to timing.
func TestVantageFromEPBFlags(t *testing.T) {
	cli, srv := net.ParseIP("10.9.0.2").To4(), net.ParseIP("10.9.0.1").To4()
	type pkt struct {
		at    time.Duration
		fromC bool
		syn   bool
		ack   bool
		seq   uint32
		ackN  uint32
	}
	pkts := []pkt{
		{0, true, true, false, 1000, 0},
		{15 * time.Millisecond, false, true, true, 5000, 1001},
		{35 * time.Millisecond, true, false, true, 1001, 5001},
	}
	build := func(flags bool) []byte {
		at := time.Unix(1_700_000_000, 0)
		var frames []dirFrame
		for i, p := range pkts {
			src, dst, sp, dp := cli, srv, layers.TCPPort(40000), layers.TCPPort(80)
			dir := pcapgo.NgEpbFlagDirectionInbound
			if !p.fromC {
				src, dst, sp, dp = srv, cli, 80, 40000
				dir = pcapgo.NgEpbFlagDirectionOutbound
			}
			if !flags {
				dir = pcapgo.NgEpbFlagDirectionUnknown
			}
			ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src, DstIP: dst, Id: uint16(100 + i)}
			tcp := &layers.TCP{SrcPort: sp, DstPort: dp, Seq: p.seq, Ack: p.ackN, SYN: p.syn, ACK: p.ack, Window: 500}
			tcp.SetNetworkLayerForChecksum(ip)
			buf := gopacket.NewSerializeBuffer()
			if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ethHdr(layers.EthernetTypeIPv4), ip, tcp); err != nil {
				t.Fatal(err)
			}
			frames = append(frames, dirFrame{at.Add(p.at), buf.Bytes(), dir})
		}
		return pcapngWithDirections(t, "eth0", frames)
	}
	for _, c := range []struct {
		flags bool
		want  Vantage
		basis VantageBasis
	}{{true, VantageServer, BasisDirection}, {false, VantageBetween, BasisTiming}} {
		r, err := NewCaptureReader("x.pcapng", bytes.NewReader(build(c.flags)), 0)
		if err != nil {
			t.Fatal(err)
		}
		var flows []*Flow
		sum, err := Run(context.Background(), []*CaptureReader{r}, Options{}, func(f *Flow) error {
			cp := *f
			flows = append(flows, &cp)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(flows) != 1 || flows[0].Vantage != c.want || flows[0].VantageBasis != c.basis || sum.Listeners[0].Vantage != c.want {
			t.Errorf("epb_flags %v: %d flows, vantage %v; want %s by %s", c.flags, len(flows), flows, c.want, c.basis)
		}
	}
}
