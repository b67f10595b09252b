package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Lines as printed in seed 002 (old tcpdump, -nn -S), including a missing
// space before '>' and a no-break space after it.
const (
	synLine  = "20:26:01.645291 IP 192.168.172.128.53995>\u00a0192.168.172.128.8000: S 3824454212:3824454212(0) win 32792 <mss 16396,sackOK,timestamp 254826 0,nop,wscale 6>"
	dsackACK = "20:26:03.040332 IP 192.168.172.128.53993 > 192.168.172.128.8000: . ack 3833556339 win 513 <nop,nop,timestamp 256221 256221,nop,nop,sack 1 {3833556338:3833556339}>"
)

func TestParseLine(t *testing.T) {
	p, ok, err := parseLine(synLine)
	if err != nil || !ok {
		t.Fatalf("parseLine(syn) = ok %v, err %v", ok, err)
	}
	wantTime := 20*time.Hour + 26*time.Minute + 1*time.Second + 645291*time.Microsecond
	if p.TimeOfDay != wantTime || p.Src.String() != "192.168.172.128:53995" || p.Dst.String() != "192.168.172.128:8000" {
		t.Errorf("got %v %v > %v", p.TimeOfDay, p.Src, p.Dst)
	}
	if p.Flags != flagSYN || !p.HasSeq || p.Seq != 3824454212 || p.Len != 0 || p.Win != 32792 {
		t.Errorf("got flags %#x seq %d (%v) len %d win %d", p.Flags, p.Seq, p.HasSeq, p.Len, p.Win)
	}
	wantOpts := []byte{2, 4, 0x40, 0x0c, 4, 2, 8, 10, 0, 3, 0xe3, 0x6a, 0, 0, 0, 0, 1, 3, 3, 6}
	if !bytes.Equal(p.Options, wantOpts) {
		t.Errorf("options % x, want % x", p.Options, wantOpts)
	}

	a, ok, err := parseLine(dsackACK)
	if err != nil || !ok {
		t.Fatalf("parseLine(ack) = ok %v, err %v", ok, err)
	}
	if a.Flags != flagACK || a.HasSeq || a.Ack != 3833556339 || a.Win != 513 {
		t.Errorf("got flags %#x seq printed %v ack %d win %d", a.Flags, a.HasSeq, a.Ack, a.Win)
	}
	if len(a.Options) != 24 || a.Options[14] != 5 || a.Options[15] != 10 {
		t.Errorf("sack option not encoded: % x", a.Options)
	}

	for _, s := range []string{"3.", "", "总共5个连接"} {
		if _, ok, err := parseLine(s); ok || err != nil {
			t.Errorf("parseLine(%q) = ok %v, err %v; want a skipped line", s, ok, err)
		}
	}
	if _, _, err := parseLine("20:25:57.637476 IP 1.2.3.4.5 > 1.2.3.4.6: S 1:1(0) win 1 <bogus 3>"); err == nil {
		t.Error("unknown option accepted")
	}
}

// TestFrameRoundTrip decodes a built frame with gopacket and checks that the
// TCP fields and options come back, and what tcpdump 4.99 would print.
func TestFrameRoundTrip(t *testing.T) {
	pkts, err := parseTrace(strings.NewReader(strings.Join([]string{
		"3.", dsackACK,
		"20:25:59.640713 IP 192.168.172.128.8000 > 192.168.172.128.53993: S 3833556338:3833556338(0) ack 3828629155 win 32768 <mss 16396,sackOK,timestamp 252821 252821,nop,wscale 6>",
	}, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	if len(pkts) != 2 || pkts[0].Flags != flagSYN|flagACK {
		t.Fatalf("not sorted by time: %+v", pkts)
	}
	// The ACK prints no seq: it takes what the SYN-ACK acknowledged.
	ack := pkts[1]
	if ack.Seq != 3828629155 {
		t.Errorf("inferred seq %d, want 3828629155", ack.Seq)
	}
	pkt := gopacket.NewPacket(ack.frame(7), layers.LinkTypeEthernet, gopacket.Default)
	ip, _ := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	tcp, _ := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if ip == nil || tcp == nil {
		t.Fatalf("frame does not decode: %v", pkt)
	}
	if ip.TTL != 64 || ip.Id != 7 || ip.Length != 20+20+24 {
		t.Errorf("IPv4 ttl %d id %d length %d", ip.TTL, ip.Id, ip.Length)
	}
	if !tcp.ACK || tcp.SYN || tcp.Ack != 3833556339 || tcp.Seq != 3828629155 || tcp.Window != 513 {
		t.Errorf("TCP %+v", tcp)
	}
	var kinds []layers.TCPOptionKind
	for _, o := range tcp.Options {
		kinds = append(kinds, o.OptionType)
	}
	wantKinds := []layers.TCPOptionKind{1, 1, 8, 1, 1, 5}
	if len(kinds) != len(wantKinds) {
		t.Fatalf("option kinds %v, want %v", kinds, wantKinds)
	}
	for i := range kinds {
		if kinds[i] != wantKinds[i] {
			t.Fatalf("option kinds %v, want %v", kinds, wantKinds)
		}
	}
	want := "20:26:03.040332 IP 192.168.172.128.53993 > 192.168.172.128.8000: Flags [.], ack 3833556339, win 513, options [nop,nop,TS val 256221 ecr 256221,nop,nop,sack 1 {3833556338:3833556339}], length 0"
	if got := ack.tcpdumpLine(); got != want {
		t.Errorf("tcpdumpLine:\n got %s\nwant %s", got, want)
	}
}
