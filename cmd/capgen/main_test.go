package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// small is a configuration that covers every kind of connection: with
// -concurrency 20 the 200 connections span an overload episode.
var small = config{Conns: 200, Seed: 7, Concurrency: 20, Flood: 300, FloodSecs: 1, FloodSynAcks: 2, V6: 0.2}

func generateBytes(t *testing.T, cfg config) ([]byte, stats) {
	t.Helper()
	var buf bytes.Buffer
	st, err := generate(&buf, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), st
}

func TestDeterministic(t *testing.T) {
	a, _ := generateBytes(t, small)
	b, _ := generateBytes(t, small)
	if !bytes.Equal(a, b) {
		t.Fatal("same config and seed gave different bytes")
	}
	other := small
	other.Seed++
	c, _ := generateBytes(t, other)
	if bytes.Equal(a, c) {
		t.Fatal("another seed gave the same bytes")
	}
}

func TestRecordsParse(t *testing.T) {
	data, st := generateBytes(t, small)
	if st.Packets < 200*8 || st.Abnormal == 0 || st.FloodSYNs != 300 {
		t.Fatalf("stats = %+v: too few packets, no abnormal connection, or flood SYNs missing", st)
	}
	if st.Bytes != int64(len(data)) {
		t.Fatalf("stats say %d bytes, wrote %d", st.Bytes, len(data))
	}
	r, err := pcapgo.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeEthernet || r.Snaplen() != snaplen {
		t.Fatalf("link type %v, snaplen %d", r.LinkType(), r.Snaplen())
	}
	var (
		n, v6, syn, synack, rst, fin, noOpt, truncated int
		last                                           int64
	)
	for {
		pkt, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("record %d: %v", n+1, err)
		}
		n++
		if ci.CaptureLength != len(pkt) || ci.CaptureLength > snaplen || ci.Length < ci.CaptureLength {
			t.Fatalf("record %d: caplen %d, len %d, data %d", n, ci.CaptureLength, ci.Length, len(pkt))
		}
		if ci.Length > ci.CaptureLength {
			truncated++
		}
		ts := ci.Timestamp.UnixMicro()
		if ts < last {
			t.Fatalf("record %d: time goes back", n)
		}
		last = ts
		p := gopacket.NewPacket(pkt, layers.LayerTypeEthernet, gopacket.Default)
		if el := p.ErrorLayer(); el != nil {
			t.Fatalf("record %d: %v", n, el.Error())
		}
		ipLen, ipHdr := 0, 0
		switch ip := p.NetworkLayer().(type) {
		case *layers.IPv4:
			ipLen, ipHdr = int(ip.Length), int(ip.IHL)*4
			if ip.Protocol != layers.IPProtocolTCP {
				t.Fatalf("record %d: protocol %v", n, ip.Protocol)
			}
		case *layers.IPv6:
			ipLen, ipHdr = 40+int(ip.Length), 40
			v6++
		default:
			t.Fatalf("record %d: no IPv4 or IPv6 layer", n)
		}
		if 14+ipLen != ci.Length {
			t.Fatalf("record %d: IP length %d, frame %d", n, ipLen, ci.Length)
		}
		tcp, ok := p.TransportLayer().(*layers.TCP)
		if !ok {
			t.Fatalf("record %d: no TCP layer", n)
		}
		hdr := int(tcp.DataOffset) * 4
		if hdr < 20 || len(tcp.Contents) != hdr {
			t.Fatalf("record %d: TCP header %d bytes, decoded %d", n, hdr, len(tcp.Contents))
		}
		// The payload is what the IP length leaves, cut at the snaplen.
		if want := min(ipLen-ipHdr-hdr, ci.CaptureLength-14-ipHdr-hdr); len(tcp.Payload) != want {
			t.Fatalf("record %d: payload %d bytes, want %d", n, len(tcp.Payload), want)
		}
		switch {
		case tcp.SYN && tcp.ACK:
			synack++
		case tcp.SYN:
			syn++
			if len(tcp.Options) == 0 {
				noOpt++
			}
		case tcp.RST:
			rst++
		case tcp.FIN:
			fin++
		}
	}
	if int64(n) != st.Packets {
		t.Fatalf("read %d records, stats say %d", n, st.Packets)
	}
	if v6 == 0 || rst == 0 || fin == 0 || truncated == 0 {
		t.Fatalf("v6 %d, RST %d, FIN %d, truncated %d: some kind is missing", v6, rst, fin, truncated)
	}
	// Flood SYNs carry no options; each gets two SYN-ACKs here. Dropped
	// SYNs and SYN-ACK retransmissions come on top.
	if noOpt != 300 || syn <= 200+300 || synack <= 200+2*300 {
		t.Fatalf("SYN %d (no options %d), SYN-ACK %d", syn, noOpt, synack)
	}
}

func TestRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.pcap")
	if code := run([]string{"-conns", "50", "-seed", "3", "-o", path}, io.Discard); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := generateBytes(t, config{Conns: 50, Seed: 3, Concurrency: 6000, FloodSecs: 10, FloodSynAcks: 1, V6: 0.1})
	if !bytes.Equal(got, want) {
		t.Fatal("the command's file differs from generate's output with the default flags")
	}
	for _, args := range [][]string{{"-conns", "5"}, {"-conns", "0", "-o", path}, {"-v6", "2", "-o", path}, {"-o", path, "extra"}} {
		if code := run(args, io.Discard); code != 2 {
			t.Errorf("%q: exit code %d, want 2", args, code)
		}
	}
}

// The hostile shapes write what they say: the servers shape two SYNs per
// server a gap apart, the long flows the packets asked for.
func TestShapes(t *testing.T) {
	for _, c := range []struct {
		shape string
		sc    shapeConfig
		want  int
	}{
		{"servers", shapeConfig{Servers: 300, Gap: 2000000, Packets: 16}, 600},
		{"long-flow", shapeConfig{Servers: 1, Packets: 1001}, 1001},
		{"labelled-flow", shapeConfig{Servers: 1, Packets: 1001}, 1001},
	} {
		var buf bytes.Buffer
		st, err := writeShape(&buf, c.shape, c.sc)
		if err != nil || c.sc.check(c.shape) != nil {
			t.Fatalf("%s: %v", c.shape, err)
		}
		r, err := pcapgo.NewReader(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		var first, last int64
		for {
			_, ci, err := r.ReadPacketData()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				first = ci.Timestamp.Unix()
			}
			last = ci.Timestamp.Unix()
			n++
		}
		if n != c.want || st.Packets != int64(n) {
			t.Errorf("%s: %d packets (stats %d), want %d", c.shape, n, st.Packets, c.want)
		}
		if c.shape == "servers" && last-first < c.sc.Gap {
			t.Errorf("servers: span %d s, want the gap of %d s", last-first, c.sc.Gap)
		}
	}
	if (shapeConfig{Servers: 1, Packets: 16}).check("no-such-shape") == nil {
		t.Error("an unknown shape was accepted")
	}
}
