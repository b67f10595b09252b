// Command synloop is the bare baseline that tcptimeline's speed is measured
// against (scripts/bench.sh): it reads a classic pcap with pcapgo.NewReader
// straight over the file (pcapgo's own buffering: the loop the issue and
// pcapgen's README give as the anchor, about 4.4 M packets/s here; -buf N
// puts an N-byte bufio.Reader under it instead), takes each record with
// ZeroCopyReadPacketData,
// decodes it with one gopacket.DecodingLayerParser (Ethernet, IPv4, IPv6 and
// TCP layers preallocated, unsupported layers ignored), counts the segments
// with SYN set, and prints the packet and SYN counts. Nothing else: no flow
// table, no analysis.
//
// Usage:
//
//	synloop [-buf BYTES] FILE
//
// It reads Ethernet captures only (what capgen writes); records that do not
// decode are counted as bad.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

func main() {
	buf := flag.Int("buf", 0, "read through a bufio.Reader of this many bytes (0: pcapgo's own)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: synloop [-buf BYTES] FILE")
		os.Exit(2)
	}
	n, syn, bad, err := count(flag.Arg(0), *buf)
	if err != nil {
		fmt.Fprintf(os.Stderr, "synloop: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("packets %d syn %d bad %d\n", n, syn, bad)
}

// count reads the capture at path and returns its packets, SYNs and
// records that did not decode.
func count(path string, buf int) (n, syn, bad int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, 0, err
	}
	defer f.Close()
	var in io.Reader = f
	if buf > 0 {
		in = bufio.NewReaderSize(f, buf)
	}
	r, err := pcapgo.NewReader(in)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	var (
		eth     layers.Ethernet
		ip4     layers.IPv4
		ip6     layers.IPv6
		tcp     layers.TCP
		decoded = make([]gopacket.LayerType, 0, 4)
	)
	p := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &ip6, &tcp)
	p.IgnoreUnsupported = true
	for {
		data, _, err := r.ZeroCopyReadPacketData()
		if errors.Is(err, io.EOF) {
			return n, syn, bad, nil
		}
		if err != nil {
			return n, syn, bad, fmt.Errorf("%s: record %d: %w", path, n+1, err)
		}
		n++
		if err := p.DecodeLayers(data, &decoded); err != nil {
			bad++
			continue
		}
		for _, t := range decoded {
			if t == layers.LayerTypeTCP && tcp.SYN {
				syn++
			}
		}
	}
}
